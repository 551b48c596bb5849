// WriteSession: branch on write, merge on close.
//
// A session collects one open file handle's writes without touching the
// committed file. Other opens keep reading the last committed version. On
// commit (release or fsync) the session's changes are merged onto the file's
// *current* committed content in one commit: the byte ranges this session
// wrote replace those bytes, everything else keeps whatever other sessions
// committed meanwhile, so two sessions never corrupt each other and the last
// to close wins where they overlap.
//
// Memory stays bounded: a chunk that the session has completely overwritten
// is hashed and staged in the store at once (session_chunks, under a session
// branch row), so a sequential write of any size buffers at most one chunk.
// Partially written chunks stay in memory until commit (or, past a limit,
// are completed from the committed content and staged too).
import type { InodeRow } from '../store/meta-store.js';
import type { Tree } from './tree.js';
import { isZero } from './zeros.js';

/** What `staged` holds for a whole chunk of zeros: a hole, neither hashed
 * nor stored (fallocate's punched ranges, cp --sparse, dd of /dev/zero),
 * so st_blocks and du count it as the hole it is. Compared by identity. */
export const ZERO_CHUNK = Buffer.alloc(32);

/** Sorted, non-overlapping [start, end) ranges within one chunk. */
type Ranges = number[]; // flat: s0, e0, s1, e1, ...

function addRange(r: Ranges, s: number, e: number): Ranges {
  const out: Ranges = [];
  let placed = false;
  for (let i = 0; i < r.length; i += 2) {
    const a = r[i], b = r[i + 1];
    if (b < s) { out.push(a, b); continue; }
    if (a > e) {
      if (!placed) { out.push(s, e); placed = true; }
      out.push(a, b);
      continue;
    }
    s = Math.min(s, a);
    e = Math.max(e, b);
  }
  if (!placed) out.push(s, e);
  return out;
}

export class DirtyChunk {
  ranges: Ranges = [];
  /** Grows on demand up to the chunk size: a 1 KiB file must not cost a
   * 512 KiB allocation. */
  constructor(public buf: Buffer, private readonly cap: number) {}
  covers(len: number): boolean { return this.ranges.length === 2 && this.ranges[0] === 0 && this.ranges[1] >= len; }
  write(src: Buffer, srcOff: number, at: number, len: number): void {
    if (at + len > this.buf.length) {
      let n = Math.max(this.buf.length * 2, 4096);
      while (n < at + len) n *= 2;
      const grown = Buffer.alloc(Math.min(n, this.cap));
      this.buf.copy(grown);
      this.buf = grown;
    }
    src.copy(this.buf, at, srcOff, srcOff + len);
    this.ranges = addRange(this.ranges, at, at + len);
  }
  /** Overlays this chunk's written bytes onto base (same chunk index). */
  overlay(base: Buffer): void {
    for (let i = 0; i < this.ranges.length; i += 2) this.buf.copy(base, this.ranges[i], this.ranges[i], this.ranges[i + 1]);
  }
  /** Overlays the written bytes within [from, to) onto out, where chunk
   * offset x lands at out[shift + x]. */
  overlayRange(out: Buffer, shift: number, from: number, to: number): void {
    for (let i = 0; i < this.ranges.length; i += 2) {
      const s = Math.max(this.ranges[i], from), e = Math.min(this.ranges[i + 1], to);
      if (s < e) this.buf.copy(out, shift + s, s, e);
    }
  }
  get bytes(): number { let n = 0; for (let i = 0; i < this.ranges.length; i += 2) n += this.ranges[i + 1] - this.ranges[i]; return n; }
}

/** What the engine lends a session: staging storage and the current tree. */
export interface SessionHost {
  readonly chunkSize: number;
  headTree(): Tree;
  /** Stages a full chunk for this session: hashed on the hash worker, then
   * stored (creating the session's branch row) and entered in `staged`. The
   * chunk's memory is handed over. Until then its idx is in `pending`. */
  stage(session: WriteSession, idx: number, data: Buffer): void;
  /** Blocks until every chunk this session staged is stored. */
  settle(session: WriteSession): void;
  loadChunk(hash: Buffer): Buffer;
  /** The newest commit (made or amended), without referring to it. */
  lastCommit(): number;
}

/** Partial chunks a session may hold in memory before staging them. */
const PARTIAL_LIMIT = 64 << 20;

export class WriteSession {
  /** branches.id of the staging branch, once something was staged. */
  branchId: number | null = null;
  dirty = new Map<number, DirtyChunk>();
  staged = new Map<number, Buffer>();
  /** Chunk indexes handed to the hash worker and not yet stored. */
  pending = new Set<number>();
  /** Lowest size set by truncate since the last commit (null: none). */
  truncatedTo: number | null = null;
  size: number;
  /** The end of what this session wrote or extended to since the last
   * commit. Without a truncation, the merged size is this or the file's
   * current committed size, whichever is larger: `size` also carries the
   * size the file had when the session began, which a rollback behind its
   * back may have made wrong (it came back as a run of zeros). */
  private grownTo = 0;
  mtime: bigint | null = null;
  changed = false;
  /** The commit that created the file, when this session's handle did and
   * every change of it since came before any other commit: the content can
   * then land in that commit (see Engine.commitSession). */
  createdAt: number | null = null;
  /** The group transaction holding what this session staged was rolled
   * back (Store.loseGroup): its commit must fail, not refer to lost chunks. */
  lost: false | 'EIO' | 'ENOSPC' = false;
  /** Store.group of the group transaction this session last staged in. */
  stagedIn = -1;
  /** Storing a chunk this session staged failed (disk full, I/O error):
   * its commit fails with this error instead of leaving the chunk out. */
  failure: unknown = null;
  private partialBytes = 0;

  /** Bytes written to this session that are not in the store yet: partial
   * chunks in memory, full ones still being hashed. */
  get unwritten(): number { return this.partialBytes + this.pending.size * this.host.chunkSize; }

  constructor(readonly host: SessionHost, readonly ino: number, committed: InodeRow) {
    this.size = committed.size;
    this.node = committed;
  }

  /** The file's committed inode as this session last knew it: what its
   * descriptors stat when a rollback took the file away while it was open. */
  node: InodeRow;

  /** Bytes of chunk idx as the session sees them before its own dirty bytes:
   * committed content (cut at a truncation), or the staged chunk. */
  private baseChunk(idx: number, len = this.host.chunkSize): Buffer {
    const cs = this.host.chunkSize;
    const staged = this.staged.get(idx);
    const out = Buffer.alloc(len);
    if (staged === ZERO_CHUNK) return out;
    if (staged) { this.host.loadChunk(staged).copy(out, 0, 0, len); return out; }
    const tree = this.host.headTree();
    const n = tree.inode(this.ino);
    if (!n) return out;
    let limit = n.size;
    if (this.truncatedTo !== null) limit = Math.min(limit, this.truncatedTo);
    const start = idx * cs;
    if (limit > start) tree.readContent(n, start, Math.min(len, limit - start)).copy(out);
    return out;
  }

  write(data: Buffer, pos: number, now: bigint): number {
    const cs = this.host.chunkSize;
    let off = 0;
    while (off < data.length) {
      const at = pos + off;
      const idx = Math.floor(at / cs);
      const inChunk = at - idx * cs;
      const n = Math.min(cs - inChunk, data.length - off);
      let d = this.dirty.get(idx);
      if (!d && this.pending.has(idx)) this.host.settle(this);
      if (!d) {
        const st = this.staged.get(idx);
        // Small files grow their buffer on demand; a write reaching past 16 KiB
        // into the chunk (a big file, 128 KiB FUSE writes) gets the whole
        // chunk at once instead of a chain of doubling copies.
        d = new DirtyChunk(st ? this.baseChunk(idx) : Buffer.alloc(inChunk + n > 16384 ? cs : 0), cs);
        if (st) { d.ranges = [0, cs]; this.staged.delete(idx); }
        this.dirty.set(idx, d);
      }
      const before = d.bytes;
      d.write(data, off, inChunk, n);
      this.partialBytes += d.bytes - before;
      if (d.covers(cs)) this.stageDirty(idx, d);
      off += n;
    }
    if (pos + data.length > this.size) this.size = pos + data.length;
    if (pos + data.length > this.grownTo) this.grownTo = pos + data.length;
    this.changing(now);
    if (this.partialBytes > PARTIAL_LIMIT) this.stagePartials();
    return data.length;
  }

  private stageDirty(idx: number, d: DirtyChunk): void {
    this.partialBytes -= d.bytes;
    this.dirty.delete(idx);
    this.staged.delete(idx);
    if (isZero(d.buf)) { this.pending.delete(idx); this.staged.set(idx, ZERO_CHUNK); return; }
    this.pending.add(idx);
    this.host.stage(this, idx, d.buf);
  }

  /** Completes partial chunks from the committed content and stages them:
   * bounded memory for random writes, at the cost of byte-level merging. */
  private stagePartials(): void {
    this.host.settle(this);
    for (const [idx, d] of this.dirty) {
      const base = this.baseChunk(idx);
      d.overlay(base);
      d.buf = base;
      d.ranges = [0, this.host.chunkSize];
      this.stageDirty(idx, d);
    }
  }

  truncate(size: number, now: bigint): void {
    this.host.settle(this);
    const cs = this.host.chunkSize;
    if (size > this.size && size > this.grownTo) this.grownTo = size;
    if (size < this.size) {
      this.truncatedTo = this.truncatedTo === null ? size : Math.min(this.truncatedTo, size);
      for (const [idx, d] of this.dirty) {
        const start = idx * cs;
        if (start >= size) { this.partialBytes -= d.bytes; this.dirty.delete(idx); continue; }
        if (start + cs > size) {
          // Drop dirty bytes beyond the new end.
          const cut = size - start;
          const r: Ranges = [];
          for (let i = 0; i < d.ranges.length; i += 2) if (d.ranges[i] < cut) r.push(d.ranges[i], Math.min(cut, d.ranges[i + 1]));
          this.partialBytes -= d.bytes;
          d.ranges = r;
          this.partialBytes += d.bytes;
        }
      }
      for (const idx of [...this.staged.keys()]) {
        const start = idx * cs;
        if (start >= size) this.staged.delete(idx);
        else if (start + cs > size) {
          const d = new DirtyChunk(this.baseChunk(idx), cs);
          d.buf.fill(0, size - start);
          d.ranges = [0, size - start];
          this.staged.delete(idx);
          this.dirty.set(idx, d);
          this.partialBytes += d.bytes;
        }
      }
    }
    this.size = size;
    this.changing(now);
  }

  /** A modification that changes no byte (fallocate within the size). */
  touch(now: bigint): void {
    this.changing(now);
  }

  /** A change at `now`. One made after another commit than the creating one
   * cannot go into that commit: the states between would show bytes written
   * after them (a file written on after its directory's rename showed the
   * new bytes under the old name; found 2026-12-05). */
  private changing(now: bigint): void {
    this.mtime = now;
    this.changed = true;
    if (this.createdAt !== null && this.host.lastCommit() !== this.createdAt) this.createdAt = null;
  }

  /** Reads through the session: committed content with this session's writes on top. */
  read(pos: number, len: number): Buffer {
    this.host.settle(this);
    const end = Math.min(this.size, pos + len);
    if (end <= pos) return Buffer.alloc(0);
    const cs = this.host.chunkSize;
    const out = Buffer.alloc(end - pos);
    for (let idx = Math.floor(pos / cs); idx * cs < end; idx++) {
      const cStart = idx * cs;
      const from = Math.max(pos, cStart) - cStart;
      const to = Math.min(end, cStart + cs) - cStart;
      const at = cStart + from - pos;
      const d = this.dirty.get(idx);
      if (d && d.covers(cs)) { d.buf.copy(out, at, from, to); continue; }
      // Only the asked range of the base is read (a 128 KiB read of a
      // partly written chunk must not cost a 512 KiB copy), then this
      // session's bytes in that range go on top.
      this.baseRange(idx, from, to, out, at);
      if (d) d.overlayRange(out, at - from, from, to);
    }
    return out;
  }

  /** Copies bytes [from, to) of chunk idx as baseChunk() would have them
   * into out at `at` (out is zero-filled: bytes past the end stay 0). */
  private baseRange(idx: number, from: number, to: number, out: Buffer, at: number): void {
    const staged = this.staged.get(idx);
    if (staged === ZERO_CHUNK) return;
    if (staged) { this.host.loadChunk(staged).copy(out, at, from, to); return; }
    const tree = this.host.headTree();
    const n = tree.inode(this.ino);
    if (!n) return;
    let limit = n.size;
    if (this.truncatedTo !== null) limit = Math.min(limit, this.truncatedTo);
    const start = idx * this.host.chunkSize + from;
    if (limit > start) tree.readContent(n, start, Math.min(to - from, limit - start)).copy(out, at);
  }

  /** The final content plan for merging onto the committed inode `cur`. */
  plan(cur: InodeRow): MergePlan {
    this.host.settle(this);
    const cs = this.host.chunkSize;
    const curSize = this.truncatedTo === null ? cur.size : Math.min(cur.size, this.truncatedTo);
    const finalSize = this.truncatedTo === null ? Math.max(cur.size, this.grownTo) : this.size;
    const touched = new Set<number>([...this.dirty.keys(), ...this.staged.keys()]);
    // The chunk holding the old end, when extending, must be rewritten so
    // stale bytes past the end never reappear.
    if (curSize % cs !== 0 && curSize < finalSize) touched.add(Math.floor(curSize / cs));
    // After a truncation, every old chunk from the cut up to the new end
    // (the file may have grown again since) holds bytes that are gone: the
    // ones the session did not write again become zeros (holes).
    // Only chunks the file has: the rest are holes and stay zeros.
    if (curSize < cur.size) {
      const end = Math.min(Math.ceil(cur.size / cs), Math.ceil(finalSize / cs));
      const cut = Math.floor(curSize / cs);
      if (cut < end) touched.add(cut);
      if (cur.inline === null) for (const i of this.host.headTree().extentIndicesFrom(this.ino, cut + 1)) if (i < end) touched.add(i);
    }
    return { finalSize, curSize, touched };
  }

  /** The address of chunk idx in the merged result when the session staged
   * it whole and it stays whole: no need to read it back. */
  stagedWhole(idx: number, plan: MergePlan): Buffer | undefined {
    if (this.dirty.has(idx) || (idx + 1) * this.host.chunkSize > plan.finalSize) return undefined;
    return this.staged.get(idx);
  }

  /** Whether chunk idx of the merged result is all zeros without reading
   * it: this session wrote nothing there and it lies past the committed
   * content it keeps (cut by a truncation, or never written). */
  mergedHole(idx: number, plan: MergePlan): boolean {
    return !this.dirty.has(idx) && !this.staged.has(idx) && idx * this.host.chunkSize >= plan.curSize;
  }

  /** Bytes of chunk idx in the merged result, trimmed to finalSize. */
  mergedChunk(idx: number, plan: MergePlan): Buffer {
    const cs = this.host.chunkSize;
    const len = Math.max(0, Math.min(cs, plan.finalSize - idx * cs));
    const d = this.dirty.get(idx);
    if (d && d.covers(cs)) return d.buf.subarray(0, len);
    const base = this.baseChunk(idx, Math.max(len, d ? d.buf.length : 0));
    if (d) d.overlay(base);
    return base.subarray(0, len);
  }

  /** After a commit the session continues from the merged state. */
  reset(committedSize: number): void {
    this.createdAt = null;
    this.dirty.clear();
    this.pending.clear();
    this.staged.clear();
    this.truncatedTo = null;
    this.partialBytes = 0;
    this.grownTo = 0;
    this.size = committedSize;
    this.changed = false;
    this.mtime = null;
  }
}

export interface MergePlan { finalSize: number; curSize: number; touched: Set<number> }
