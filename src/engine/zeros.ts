// Runs of zeros: what a file's holes read as, and what a chunk of them is
// kept as (nothing).

/** Zeros to compare with, grown to the largest chunk asked about. (It was
 * one buffer per length, never dropped: a log appended to line by line
 * has a new last-chunk length at every save, and a mount kept 0.3 GB of
 * zeros after 600 appends; found by the exploratory hunt, 2026-12-05.) */
let zeros = Buffer.alloc(0);

/** Whether b holds only zero bytes (memcmp: stops at the first other byte,
 * so data costs next to nothing to ask about). */
export function isZero(b: Buffer): boolean {
  if (b.length > zeros.length) zeros = Buffer.alloc(b.length);
  return b.equals(zeros.subarray(0, b.length));
}
