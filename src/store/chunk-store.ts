// Content-addressed chunk storage inside the SQLite file. Knows nothing of
// files or paths: bytes in, BLAKE3 address out; address in, bytes out.
import type { Db } from './database.js';
import { blake3 } from './hash.js';
import type Database from 'better-sqlite3';
import { unpack, applyDelta, CODEC_MASK, DELTA } from './codec.js';

/** A chunk that cannot be read back exactly as written: missing, not
 * decodable, or decoding to bytes whose BLAKE3 is not its address. Carries
 * code EIO (errno 5): the FUSE adapter answers EIO, never wrong bytes. */
export class ChunkCorruptError extends Error {
  readonly code = 'EIO';
  readonly errno = 5;
  constructor(readonly hash: Buffer, readonly why = 'does not match its address') {
    super(`chunk ${hash.toString('hex')} ${why}`);
  }
}

/** Where corruption is reported (once per chunk per process). */
let corruptionLog: (msg: string) => void = (msg) => process.stderr.write(`mikofs: ${msg}\n`);
const reported = new Set<string>();
export function setCorruptionLogger(fn: (msg: string) => void): void { corruptionLog = fn; }
function report(e: ChunkCorruptError): ChunkCorruptError { return reportCorruption(e.hash.toString('hex'), e); }

/** Logs a corruption once per key (a chunk, an inline version) per process,
 * and returns the error for the caller to throw, marked `reported` so that
 * no caller logs it again (a program retrying a read must not flood the log). */
export function reportCorruption<E extends Error>(key: string, e: E): E & { reported: true } {
  if (!reported.has(key)) {
    reported.add(key);
    try { corruptionLog(`EIO: ${e.message}`); } catch { /* logging must not mask the error */ }
  }
  return Object.assign(e, { reported: true as const });
}

/** How a chunk is stored (for maintenance and statistics). */
export interface ChunkRow { id: number; size: number; encoding: number; base: Buffer | null; seq: number | null; stored: number }

/** Small LRU of decoded chunks keyed by hex address: sequential reads of a
 * chunk arrive as many 128 KiB FUSE reads and must not refetch the blob.
 * Chunks are immutable, so entries never need invalidation. */
class ChunkCache {
  private map = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly limit: number) {}
  get(key: string): Buffer | undefined {
    const v = this.map.get(key);
    if (v) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  has(key: string): boolean { return this.map.has(key); }
  clear(): void { this.map.clear(); this.bytes = 0; }
  set(key: string, v: Buffer): void {
    if (this.map.has(key)) return;
    this.map.set(key, v);
    this.bytes += v.length;
    while (this.bytes > this.limit) {
      const [k, old] = this.map.entries().next().value as [string, Buffer];
      this.map.delete(k);
      this.bytes -= old.length;
    }
  }
}

/** Hashes on another thread (the store's ParallelHasher): the bytes are
 * handed over and come back to `done`; drain() waits for every result. */
export interface Verifier {
  submit(data: Buffer, done: (hash: Buffer, data: Buffer) => void): void;
  /** Blocks until done() holds or nothing is in flight. */
  waitUntil(done: () => boolean): void;
}

export class ChunkStore {
  private insert: Database.Statement;
  private select: Database.Statement;
  private exists: Database.Statement;
  private cache = new ChunkCache(16 << 20);

  constructor(private readonly db: Db) {
    this.insert = db.prepare('INSERT OR IGNORE INTO chunks (hash, size, encoding, data) VALUES (?, ?, 0, ?)');
    this.select = db.prepare('SELECT size, encoding, base, data FROM chunks WHERE hash = ?');
    this.exists = db.prepare('SELECT 1 FROM chunks WHERE hash = ?').pluck();
  }

  /** Stores data (if not already present) and returns its address. Must run
   * inside the caller's transaction so the chunk and its references commit
   * together. */
  put(data: Buffer): Buffer {
    const hash = blake3(data);
    this.insert.run(hash, data.length, data);
    return hash;
  }

  /** Stores data under an address computed elsewhere (the hash worker). */
  putHashed(hash: Buffer, data: Buffer): void {
    this.insert.run(hash, data.length, data);
  }

  has(hash: Buffer): boolean {
    return this.exists.get(hash) !== undefined;
  }

  // --- reading ahead ----------------------------------------------------------
  // A sequential reader of a large file asks for chunk k+1 right after k.
  // Verifying a chunk (BLAKE3 of 512 KiB, ~1 ms) is most of what loading it
  // costs; done on the hash worker while this thread loads the next ones
  // and serves the reads of chunk k, it is off the reader's path. Only full chunks (raw or
  // compressed) are read ahead: a delta's decoding needs its base, which
  // the reader's own loads bring in. A chunk read ahead enters the cache
  // only once its address matched; one that does not is left to get(),
  // which reads it again and reports it.
  private verifier: Verifier | null = null;
  private ahead = new Set<string>();

  /** Turns read-ahead verification on (a store with a hash worker). */
  verifyAheadWith(v: Verifier): void { this.verifier = v; }

  /** Loads chunk `hash` and has it verified on the hash worker, so that a
   * get() soon after finds it ready. A no-op without a verifier. */
  prefetch(hash: Buffer): void {
    const v = this.verifier;
    if (!v) return;
    const key = hash.toString('hex');
    if (this.ahead.has(key) || this.cache.has(key)) return;
    const row = this.select.get(hash) as { size: number; encoding: number; data: Buffer } | undefined;
    if (!row || (row.encoding & DELTA)) return;
    let data: Buffer;
    try { data = unpack(row.encoding & CODEC_MASK, row.data); } catch { return; }
    if (data.length !== row.size) return;
    this.ahead.add(key);
    v.submit(data, (h, bytes) => {
      this.ahead.delete(key);
      if (h.equals(hash)) this.cache.set(key, bytes);
    });
  }

  /** Returns the chunk's bytes, decoded (decompressed, its delta applied to
   * its base, recursively) and verified against the address on first load. */
  get(hash: Buffer): Buffer {
    const key = hash.toString('hex');
    let hit = this.cache.get(key);
    if (hit) return hit;
    if (this.ahead.has(key)) {
      // Only this chunk: the ones read ahead after it go on being hashed.
      this.verifier!.waitUntil(() => !this.ahead.has(key));
      hit = this.cache.get(key);
      if (hit) return hit;
    }
    let data: Buffer;
    try { data = this.decode(hash); } catch (e) { throw e instanceof ChunkCorruptError ? report(e) : e; }
    this.cache.set(key, data);
    return data;
  }

  /** Reads a chunk's row from the file, decodes it (its delta base through
   * get) and checks its bytes against its address. Throws ChunkCorruptError,
   * unreported: get() reports, check() describes. */
  private decode(hash: Buffer): Buffer {
    const row = this.select.get(hash) as { size: number; encoding: number; base: Buffer | null; data: Buffer } | undefined;
    if (!row) throw new ChunkCorruptError(hash, 'is missing');
    let data: Buffer;
    try {
      const payload = unpack(row.encoding & CODEC_MASK, row.data);
      if (row.encoding & DELTA) {
        if (!row.base) throw new Error('delta without a base');
        let base: Buffer;
        try { base = this.get(row.base); } catch (e) {
          throw new ChunkCorruptError(hash, `cannot be decoded: its delta base ${row.base.toString('hex').slice(0, 16)}… ${(e as ChunkCorruptError).why ?? 'cannot be read'}`);
        }
        data = applyDelta(payload, base, row.size);
      } else {
        data = payload;
      }
    } catch (e) {
      if (e instanceof ChunkCorruptError) throw e;
      throw new ChunkCorruptError(hash, `cannot be decoded (${(e as Error).message})`);
    }
    if (data.length !== row.size) throw new ChunkCorruptError(hash, `decodes to ${data.length} bytes, not ${row.size}`);
    if (!blake3(data).equals(hash)) throw new ChunkCorruptError(hash);
    return data;
  }

  /** A scrub's look at one chunk: read from the file (never the cache, which
   * holds what was good when loaded), decoded and hashed. null when its
   * bytes are exactly those of its address, else why not. Reports nothing:
   * the caller lists what it found. */
  check(hash: Buffer): string | null {
    try { this.decode(hash); return null; } catch (e) {
      if (e instanceof ChunkCorruptError) return e.why;
      return `cannot be read (${(e as Error).message})`; // SQLite: a damaged page on its way
    }
  }

  /** How a chunk is stored, without its bytes. */
  row(hash: Buffer): ChunkRow | undefined {
    this.rowStmt ??= this.db.prepare('SELECT id, size, encoding, base, seq, length(data) AS stored FROM chunks WHERE hash = ?');
    return this.rowStmt.get(hash) as ChunkRow | undefined;
  }
  private rowStmt: Database.Statement | undefined;

  /** Replaces how a chunk is stored (same bytes, other encoding). The caller
   * has verified that the new form decodes to the chunk's bytes. */
  rewrite(hash: Buffer, encoding: number, base: Buffer | null, seq: number | null, data: Buffer): void {
    // Delete and insert anew rather than UPDATE: a row shrinking in place
    // leaves its leaf page mostly empty (SQLite merges pages on delete, not
    // on update), and the re-inserted small rows pack densely at the end.
    this.rewriteDel ??= this.db.prepare('DELETE FROM chunks WHERE hash = ? RETURNING size');
    this.rewriteIns ??= this.db.prepare('INSERT INTO chunks (hash, size, encoding, base, seq, data) VALUES (?, ?, ?, ?, ?, ?)');
    const r = this.rewriteDel.get(hash) as { size: number } | undefined;
    if (!r) return;
    this.rewriteIns.run(hash, r.size, encoding, base, seq, data);
  }
  private rewriteDel: Database.Statement | undefined;
  private rewriteIns: Database.Statement | undefined;

  /** Records a chunk's lineage position without changing its bytes. */
  setSeq(hash: Buffer, seq: number | null): void {
    this.seqStmt ??= this.db.prepare('UPDATE chunks SET seq = ? WHERE hash = ?');
    this.seqStmt.run(seq, hash);
  }
  private seqStmt: Database.Statement | undefined;

  /** Whether the decoded, verified bytes of a chunk are in the cache. */
  cached(hash: Buffer): boolean { return this.cache.has(hash.toString('hex')); }

  /** Drops decoded chunks from the cache (tests: force a read from disk). */
  clearCache(): void { this.cache.clear(); }
}
