// Scrub as a user reads it: what the store-level scan found (store/verify.ts),
// told as the files and versions it hurts. A corrupt chunk is a byte range
// of every file version that names it, and of every version stored as a
// delta against it; those read as EIO until restored from a backup.
import { LIVE } from '../store/meta-store.js';
import { Scrubber, type ScrubProgress, type ChunkUse } from '../store/verify.js';
import type { Engine } from './engine.js';

export type { ScrubProgress };

/** One version of one file that a bad chunk makes unreadable (in part). */
export interface HurtVersion {
  /** Its path as of the version (null: it had no name then, or it lives on
   * another branch, see branch). */
  path: string | null;
  branch: string;
  ino: number;
  /** The byte range the chunk holds. */
  offset: number;
  length: number;
  /** The commits during which this was the file's content: [since, until);
   * until null while it is still the live content. */
  since: number;
  until: number | null;
}

export interface ScrubProblem {
  /** The chunk's address (null for a small file's inline bytes). */
  hash: string | null;
  problem: 'corrupt' | 'missing' | 'inline';
  why: string;
  /** Versions naming the chunk directly (a bad delta base hurts its
   * dependents too: they are problems of their own). */
  versions: HurtVersion[];
}

export interface ScrubReport {
  ok: boolean;
  /** SQLite's complaints about its b-trees (empty when sound). */
  structure: string[];
  chunks: { checked: number; bytes: number };
  /** Small files' versions kept inline in their inode rows. */
  inline: { checked: number; bytes: number };
  problems: ScrubProblem[];
}

/** Reads and checks everything the store holds (see store/verify.ts). */
export function scrub(e: Engine, progress?: (p: ScrubProgress) => void): ScrubReport {
  const s = new Scrubber(e.store.db, e.store.chunks);
  const r = s.run(progress);
  const history = e.history;
  const branchNames = new Map<number, string>();
  const branchName = (id: number) => {
    let n = branchNames.get(id);
    if (n === undefined) { n = e.store.meta.branchById(id)?.name ?? `#${id}`; branchNames.set(id, n); }
    return n;
  };
  const versionOf = (u: ChunkUse, length = e.chunkSize): HurtVersion => ({
    path: u.branch === e.branchId ? history.pathOf(u.ino, u.since) ?? null : null,
    branch: branchName(u.branch),
    ino: u.ino,
    offset: u.idx * e.chunkSize,
    length,
    since: u.since,
    until: u.until === LIVE ? null : u.until,
  });
  // A chunk covers its own size of the file (a file's last chunk is short);
  // a missing one, up to a whole chunk.
  const versionsOf = (hash: Buffer): HurtVersion[] => {
    const length = Math.min(e.chunkSize, e.store.chunks.row(hash)?.size ?? e.chunkSize);
    return s.uses(hash).map((u) => versionOf(u, length));
  };
  const problems: ScrubProblem[] = [
    ...r.chunks.bad.map((b) => ({ hash: b.hash.toString('hex'), problem: 'corrupt' as const, why: b.why, versions: versionsOf(b.hash) })),
    ...r.missing.map((h) => ({ hash: h.toString('hex'), problem: 'missing' as const, why: 'is named by a file version but not stored', versions: versionsOf(h) })),
    ...r.inline.bad.map((u) => ({ hash: null, problem: 'inline' as const, why: 'does not match its checksum', versions: [versionOf(u, u.length)] })),
  ];
  return {
    ok: r.structure.length === 0 && problems.length === 0,
    structure: r.structure,
    chunks: { checked: r.chunks.checked, bytes: r.chunks.bytes },
    inline: { checked: r.inline.checked, bytes: r.inline.bytes },
    problems,
  };
}
