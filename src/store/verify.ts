// Scrub: reads everything the store keeps and checks it, as `zpool scrub` or
// `restic check --read-data` do. Bytes rot on disks and in copies of files;
// reads find it chunk by chunk (EIO), a scrub finds it before anyone needs
// the version. Three checks, each over the whole file:
//   structure   SQLite's own b-tree and index consistency (PRAGMA integrity_check:
//               quick_check does not compare indexes with their tables, and
//               one flipped bit in a chunk-map row read a chunk as a hole
//               while quick_check said ok; found 2026-12-05)
//   chunks      every chunk read from the file, decoded (decompressed, its
//               delta applied to its base) and hashed: its BLAKE3 must be
//               its address
//   small files every inline version's bytes against their checksum (schema 005)
//   references  every chunk a file version names is present
// Chunks are read in batches of short read transactions, so a scrub beside
// a mount never holds one snapshot (and the WAL) for the whole scan. Chunks
// stored after the scan began (new writes, maintenance re-encoding one) are
// not in it; what maintenance re-encodes it has verified itself.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import type { ChunkStore } from './chunk-store.js';
import { inlineSum } from './hash.js';

export interface ScrubProgress { stage: 'structure' | 'chunks' | 'inline' | 'references'; done: number; total: number }

export interface BadChunk { hash: Buffer; why: string }

export interface ScrubResult {
  /** integrity_check's complaints (empty when the b-trees are sound). */
  structure: string[];
  chunks: { checked: number; bytes: number; bad: BadChunk[] };
  /** Inline versions of small files: checked against their checksums; bad
   * ones as chunk-map-like uses (offset 0). */
  inline: { checked: number; bytes: number; bad: (ChunkUse & { length: number })[] };
  /** Chunks some file version names that the store does not hold. */
  missing: Buffer[];
}

/** Where a chunk is used: the chunk-map entries that name it. */
export interface ChunkUse { branch: number; ino: number; idx: number; since: number; until: number }

const BATCH = 64;

export class Scrubber {
  private readonly batch: Database.Statement;
  private readonly maxId: Database.Statement;
  private readonly missingRefs: Database.Statement;
  private readonly usesOf: Database.Statement;
  private readonly baseOf: Database.Statement;
  private readonly inlineBatch: Database.Statement;

  constructor(private readonly db: Db, private readonly chunks: ChunkStore) {
    this.batch = db.prepare('SELECT id, hash, size FROM chunks WHERE id > ? AND id <= ? ORDER BY id LIMIT ?');
    this.maxId = db.prepare('SELECT coalesce(max(id), 0) FROM chunks').pluck();
    this.missingRefs = db.prepare(`SELECT DISTINCT e.hash FROM extents e
      WHERE e.hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.hash = e.hash)`).pluck();
    this.usesOf = db.prepare('SELECT branch_id AS branch, ino, idx, since, until FROM extents WHERE hash = ? ORDER BY branch_id, ino, since');
    this.baseOf = db.prepare('SELECT hash FROM chunks WHERE base = ?').pluck();
    this.inlineBatch = db.prepare(`SELECT rowid AS rid, branch_id AS branch, ino, since, until, inline, inline_sum AS sum
      FROM inodes WHERE rowid > ? AND inline IS NOT NULL ORDER BY rowid LIMIT ?`);
  }

  /** The whole scan. progress is called between batches (cheap to ignore). */
  run(progress: (p: ScrubProgress) => void = () => {}): ScrubResult {
    progress({ stage: 'structure', done: 0, total: 1 });
    const structure = this.structure();
    progress({ stage: 'structure', done: 1, total: 1 });

    const last = this.maxId.get() as number;
    const total = (this.db.prepare('SELECT count(*) FROM chunks WHERE id <= ?').pluck().get(last) as number);
    const bad: BadChunk[] = [];
    let checked = 0, bytes = 0, after = 0;
    for (;;) {
      let rows: { id: number; hash: Buffer; size: number }[] = [];
      // One read transaction per batch: the chunks listed and the reads of
      // them (and of their delta bases) see one state of the file, so a gc
      // beside the scan cannot make a chunk it frees look missing.
      const own = !this.db.inTransaction; // (a caller's transaction is one state already)
      if (own) this.db.exec('BEGIN');
      try {
        try { rows = this.batch.all(after, last, BATCH) as typeof rows; } catch (e) {
          // The chunks table's own b-tree is damaged past this row: integrity_check
          // has said where; what lies beyond cannot be reached in order.
          structure.push(`the chunk scan stopped after chunk row ${after}: ${(e as Error).message}`);
          break;
        }
        for (const r of rows) {
          const why = this.chunks.check(r.hash);
          if (why !== null) bad.push({ hash: r.hash, why });
          checked++;
          bytes += r.size;
        }
      } finally {
        // Ending a read of damaged pages can fail as the read did (SQLite
        // says "malformed" again): the batch only read, so let it go.
        if (own) try { this.db.exec('COMMIT'); } catch { try { this.db.exec('ROLLBACK'); } catch { /* ended already */ } }
      }
      if (!rows.length) break;
      after = rows[rows.length - 1].id;
      progress({ stage: 'chunks', done: checked, total });
    }

    let inline: ScrubResult['inline'] = { checked: 0, bytes: 0, bad: [] };
    try { inline = this.checkInline(progress); } catch (e) {
      structure.push(`the check of small files stopped: ${(e as Error).message}`);
    }

    progress({ stage: 'references', done: 0, total: 1 });
    let missing: Buffer[] = [];
    try { missing = this.missingRefs.all() as Buffer[]; } catch (e) {
      structure.push(`the check of references stopped: ${(e as Error).message}`);
    }
    progress({ stage: 'references', done: 1, total: 1 });
    return { structure, chunks: { checked, bytes, bad }, inline, missing };
  }

  private checkInline(progress: (p: ScrubProgress) => void): ScrubResult['inline'] {
    const bad: ScrubResult['inline']['bad'] = [];
    let checked = 0, bytes = 0, after = 0;
    for (;;) {
      const rows = this.inlineBatch.all(after, 512) as
        { rid: number; branch: number; ino: number; since: number; until: number; inline: Buffer; sum: number | null }[];
      if (!rows.length) break;
      for (const r of rows) {
        // Every row has its sum (migration 005 computed those of older rows).
        if (r.sum === null || inlineSum(r.inline) !== r.sum) {
          bad.push({ branch: r.branch, ino: r.ino, idx: 0, since: r.since, until: r.until, length: r.inline.length });
        }
        checked++;
        bytes += r.inline.length;
      }
      after = rows[rows.length - 1].rid;
      progress({ stage: 'inline', done: checked, total: 0 });
    }
    return { checked, bytes, bad };
  }

  /** integrity_check's findings, one per line, each b-tree named ("Tree 25"
   * is the table or index whose root is page 25). */
  private structure(): string[] {
    const names = new Map<number, string>();
    for (const r of this.db.prepare("SELECT type, name, rootpage FROM sqlite_schema WHERE rootpage > 0").all() as
      { type: string; name: string; rootpage: number }[]) names.set(r.rootpage, `${r.type} ${r.name}`);
    const lines: string[] = [];
    try {
      for (const r of this.db.pragma('integrity_check') as { integrity_check: string }[]) {
        for (const line of r.integrity_check.split('\n')) {
          if (line === 'ok' || line.startsWith('*** in database')) continue;
          lines.push(line.replace(/^Tree (\d+)/, (m, n) => (names.has(Number(n)) ? `${m} (${names.get(Number(n))})` : m)));
        }
      }
    } catch (e) {
      lines.push(`integrity_check could not finish: ${(e as Error).message}`);
    }
    return lines;
  }

  /** The chunk-map entries naming a chunk, on every branch. */
  uses(hash: Buffer): ChunkUse[] { return this.usesOf.all(hash) as ChunkUse[]; }

  /** Chunks stored as deltas against this one. */
  dependents(hash: Buffer): Buffer[] { return this.baseOf.all(hash) as Buffer[]; }
}
