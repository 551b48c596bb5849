// Turning failures into the negative errno a FUSE reply carries. Engine
// failures are FsErrors with the exact POSIX code; anything else reaching the
// adapter is a fault (SQLite, a bug) and becomes EIO, or the nearest honest
// code when SQLite says what went wrong (disk full, read-only).
import os from 'node:os';
import { FsError } from '../engine/errors.js';

/** Positive errno numbers of this platform (ENOENT = 2, ...). */
export const E = os.constants.errno;

const SQLITE: Record<string, number> = {
  SQLITE_FULL: E.ENOSPC,
  SQLITE_READONLY: E.EROFS,
  SQLITE_TOOBIG: E.EFBIG,
  SQLITE_NOMEM: E.ENOMEM,
  SQLITE_BUSY: E.EAGAIN,
};

/** The positive errno for an error thrown by the engine. */
export function errnoOf(e: unknown): number {
  if (e instanceof FsError) return e.errno;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return SQLITE[code] ?? SQLITE[code.replace(/_[A-Z]+$/, '')] ?? E.EIO;
    const n = (E as Record<string, number>)[code];
    if (n) return n;
  }
  return E.EIO;
}

/** Whether an error is a fault worth logging, not an ordinary POSIX answer
 * (nor corruption the store has logged once already: EIO). */
export function isFault(e: unknown): boolean {
  return !(e instanceof FsError) && !isDiskFull(e) && (e as { reported?: unknown } | null)?.reported !== true;
}

/** SQLite could not grow the store (ENOSPC): the disk's state, not a bug;
 * the store logs the changes it lost in one line (Store.loseGroup). */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC';
}
