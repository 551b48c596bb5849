// Reading the namespace as it was at one commit on one branch.
//
// A Tree is a branch chain, newest first: [{branch, upto}, {parent, fork}, ...].
// A key's row is taken from the first branch in the chain that has one (a
// tombstone there hides the parents). The head Tree of the mounted branch
// uses upto = HEAD and keeps caches that the Engine updates on every write;
// a historical Tree is immutable, so its caches never go stale.
import { HEAD, verifiedInline, type MetaStore, type InodeRow, type DentryRow } from '../store/meta-store.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { fail } from './errors.js';
import { type Stat, type DirEntry, S_IFMT, S_IFDIR, S_IFLNK, S_IFREG, isDir, isLnk, NAME_MAX } from './types.js';

export interface ChainLink { branch: number; upto: number }

export const ROOT_INO = 1;

/** Chunks loaded and verified ahead of a sequential reader (2 MiB). */
const READ_AHEAD_CHUNKS = 4;

/** ENAMETOOLONG for a name over NAME_MAX bytes (UTF-8 takes at most 3
 * bytes per UTF-16 unit, so short names skip the byte count). */
export function checkName(s: string): void {
  if (s.length * 3 > NAME_MAX && Buffer.byteLength(s) > NAME_MAX) fail('ENAMETOOLONG');
}

/** No PATH_MAX here: the kernel limits the path of each system call, but a
 * tree may go deeper than PATH_MAX (mkdir -p, tar and git reach it with
 * relative calls: mkdirat, openat, chdir), and the FUSE adapter hands the
 * engine paths from the root. Each name is still at most NAME_MAX. */
export function splitPath(p: string): string[] {
  const parts = p.split('/').filter((s) => s.length > 0 && s !== '.');
  for (const s of parts) checkName(s);
  return parts;
}

export function statOf(n: InodeRow, blksize: number): Stat {
  return {
    ino: n.ino, mode: n.mode, nlink: n.nlink, uid: n.uid, gid: n.gid, rdev: n.rdev, size: n.size,
    blocks: Math.ceil(n.size / 512), blksize,
    atime: n.atime, mtime: n.mtime, ctime: n.ctime, btime: n.btime,
  };
}

/** Chunks (not holes) of a file version, by its row: st_blocks. */
const dataChunksOf = new WeakMap<InodeRow, number>();

export class Tree {
  /** Inode rows by ino (the row current at this tree's commit). */
  readonly inodes = new Map<number, InodeRow>();
  /** Directory path -> ino, for path resolution without one query per component. */
  readonly dirs = new Map<string, number>();

  constructor(
    readonly meta: MetaStore,
    readonly chunks: ChunkStore,
    readonly chain: ChainLink[],
    readonly chunkSize: number,
  ) {}

  get at(): number { return this.chain[0].upto; }
  get isHead(): boolean { return this.chain[0].upto === HEAD; }

  // --- raw lookups through the branch chain --------------------------------

  lookup(parent: number, name: string): number | undefined {
    for (const { branch, upto } of this.chain) {
      const row = this.meta.findDentry(branch, parent, name, upto);
      if (row) return row.until > upto && row.ino !== null ? row.ino : undefined;
    }
    return undefined;
  }

  inode(ino: number): InodeRow | undefined {
    const hit = this.inodes.get(ino);
    if (hit) return hit;
    for (const { branch, upto } of this.chain) {
      const row = this.meta.getInode(branch, ino, upto);
      if (row) {
        if (row.until <= upto) return undefined;
        // Past 100,000 rows the older half goes (a Map iterates in insertion
        // order): clearing all of it made a listing of a directory larger
        // than that miss on every entry, pass after pass.
        if (this.inodes.size > 100000) {
          let drop = 50000;
          for (const k of this.inodes.keys()) { if (drop-- <= 0) break; this.inodes.delete(k); }
        }
        this.inodes.set(ino, row);
        return row;
      }
    }
    return undefined;
  }

  mustInode(ino: number): InodeRow {
    return this.inode(ino) ?? fail('ENOENT');
  }

  /** Live entries of a directory: names hidden by a nearer branch are skipped. */
  entries(dir: number): { name: string; ino: number }[] {
    if (this.chain.length === 1) {
      const { branch, upto } = this.chain[0];
      return this.meta.listDentries(branch, dir, upto)
        .filter((r) => r.ino !== null)
        .map((r) => ({ name: r.name, ino: r.ino as number }));
    }
    const seen = new Set<string>();
    const out: { name: string; ino: number }[] = [];
    for (const { branch, upto } of this.chain) {
      const latest = new Map<string, DentryRow>();
      for (const r of this.meta.listDentryVersions(branch, dir, upto)) latest.set(r.name, r);
      for (const [name, r] of latest) {
        if (seen.has(name)) continue;
        seen.add(name);
        if (r.until > upto && r.ino !== null) out.push({ name, ino: r.ino });
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  hasEntries(dir: number): boolean {
    if (this.chain.length === 1) return this.meta.hasChildren(this.chain[0].branch, dir, this.at);
    return this.entries(dir).length > 0;
  }

  extentHash(ino: number, idx: number): Buffer | null {
    if (this.isHead) return this.lookupExtent(ino, idx);
    // A historical tree never changes: remember the addresses of the file
    // being read. A sequential reader asks for a chunk's address once per
    // 128 KiB read, and again for each read-ahead step (8 queries per chunk).
    let m = this.extentMemo;
    if (!m || m.ino !== ino) m = this.extentMemo = { ino, hashes: new Map() };
    const hit = m.hashes.get(idx);
    if (hit !== undefined) return hit;
    const hash = this.lookupExtent(ino, idx);
    if (m.hashes.size >= 64) m.hashes.delete(m.hashes.keys().next().value!);
    m.hashes.set(idx, hash);
    return hash;
  }
  private extentMemo: { ino: number; hashes: Map<number, Buffer | null> } | null = null;

  /** Indices from `from` up where the file has a row in some branch of
   * the chain (a superset of its chunks there: a child's tombstone of a
   * parent's chunk is listed too), in no particular order. */
  extentIndicesFrom(ino: number, from: number): number[] {
    if (this.chain.length === 1) return this.meta.extentIndicesAt(this.chain[0].branch, ino, from, this.chain[0].upto);
    const all = new Set<number>();
    for (const { branch, upto } of this.chain) for (const i of this.meta.extentIndicesAt(branch, ino, from, upto)) all.add(i);
    return [...all];
  }

  private lookupExtent(ino: number, idx: number): Buffer | null {
    for (const { branch, upto } of this.chain) {
      const row = this.meta.getExtent(branch, ino, idx, upto);
      if (row) return row.until > upto ? row.hash : null;
    }
    return null;
  }

  // --- paths ---------------------------------------------------------------

  /** Resolves a path whose intermediate components are directories (or
   * symlinks to them, followed). The last component is not followed unless
   * follow is set. Returns the ino. */
  resolve(path: string, follow = false): number {
    const parts = splitPath(path);
    // POSIX: a trailing slash names a directory (a symlink to one included).
    const dirOnly = path.length > 1 && path.endsWith('/');
    const ino = this.walk(ROOT_INO, parts, follow || dirOnly, 0, '');
    if (dirOnly && !isDir(this.mustInode(ino).mode)) fail('ENOTDIR');
    return ino;
  }

  /** out.at: the path where the walk ended, every symlink on the way
   * resolved ('' for the root). */
  private walk(start: number, parts: string[], follow: boolean, depth: number, prefix: string, out?: { at: string }): number {
    let ino = start;
    let at = prefix;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i];
      const last = i === parts.length - 1;
      const key = at + '/' + name;
      if (name === '..') {
        // Only reached through the API (the kernel resolves '..' itself).
        const idx = at.lastIndexOf('/');
        at = idx <= 0 ? '' : at.slice(0, idx);
        ino = at === '' ? ROOT_INO : this.resolve(at);
        continue;
      }
      const dirNode = this.mustInode(ino);
      if (!isDir(dirNode.mode)) fail('ENOTDIR');
      let next = this.isHead && this.chain.length === 1 ? this.dirs.get(key) : undefined;
      if (next === undefined) {
        next = this.lookup(ino, name);
        if (next === undefined) fail('ENOENT');
      }
      const node = this.mustInode(next);
      if (isLnk(node.mode) && (!last || follow)) {
        if (depth >= 40) fail('ELOOP');
        const target = (node.target as Buffer).toString();
        const rest = parts.slice(i + 1);
        if (target.startsWith('/')) return this.walk(ROOT_INO, [...splitPath(target), ...rest], follow, depth + 1, '', out);
        return this.walk(ino, [...splitPath(target), ...rest], follow, depth + 1, at, out);
      }
      if (isDir(node.mode) && this.chain.length === 1 && this.isHead) this.dirs.set(key, next);
      ino = next;
      at = key;
    }
    if (out) out.at = at;
    return ino;
  }

  /** The path of the directory holding path's last component with every
   * symlink and '..' on the way resolved ('' for the root): a directory
   * and its own subtree are told apart by this, not by the path as given
   * (rename('/d', '/link-to-d/x') moved d into itself, out of the tree). */
  realParent(path: string): string {
    const out = { at: '' };
    this.walk(ROOT_INO, splitPath(path).slice(0, -1), true, 0, '', out);
    return out.at;
  }

  /** Resolves the parent directory of path; returns [parentIno, name]. */
  parentOf(path: string): [number, string] {
    const parts = splitPath(path);
    if (parts.length === 0) fail('EBUSY', 'the root has no parent');
    const name = parts[parts.length - 1];
    if (name === '..') fail('EINVAL');
    const dir = this.walk(ROOT_INO, parts.slice(0, -1), true, 0, '');
    if (!isDir(this.mustInode(dir).mode)) fail('ENOTDIR');
    return [dir, name];
  }

  // --- file operations --------------------------------------------------------

  stat(path: string): Stat { return this.statRow(this.mustInode(this.resolve(path))); }
  statIno(ino: number): Stat { return this.statRow(this.mustInode(ino)); }

  /** statOf with st_blocks for what the file holds: a sparse file (a disk
   * image, `truncate -s 100G`) counts its chunks, not its size, so `du`
   * and the tools that look for holes (cp --sparse, tar -S, rsync -S) see
   * it as it is. Counted once per version of a file (a row is immutable). */
  statRow(n: InodeRow): Stat {
    const st = statOf(n, this.chunkSize);
    if ((n.mode & S_IFMT) !== S_IFREG || n.inline !== null || n.size === 0 || this.chain.length !== 1) return st;
    let chunks = dataChunksOf.get(n);
    if (chunks === undefined) {
      const { branch, upto } = this.chain[0];
      dataChunksOf.set(n, (chunks = this.meta.dataChunks(branch, n.ino, Math.min(upto, n.until - 1))));
    }
    st.blocks = Math.min(st.blocks, Math.ceil((chunks * this.chunkSize) / 512));
    return st;
  }

  readdir(path: string): DirEntry[] {
    const ino = this.resolve(path, true);
    if (!isDir(this.mustInode(ino).mode)) fail('ENOTDIR');
    return this.entriesWithModes(ino);
  }

  /** Live entries with their types. On one branch, one query: a point
   * query per entry for its inode took 1.7 s for a directory of 100,000
   * files (and emptied the inode cache), this 0.2 s. */
  entriesWithModes(dir: number): DirEntry[] {
    if (this.chain.length === 1) {
      const { branch, upto } = this.chain[0];
      return this.meta.listWithModes(branch, dir, upto);
    }
    return this.entries(dir).map((e) => ({ ...e, mode: this.inode(e.ino)?.mode ?? 0 }));
  }

  readlink(path: string): string { return this.readlinkIno(this.resolve(path)); }

  readlinkIno(ino: number): string {
    const n = this.mustInode(ino);
    if ((n.mode & S_IFMT) !== S_IFLNK) fail('EINVAL');
    return (n.target as Buffer).toString();
  }

  /** Reads committed content of ino (as of this tree) at [pos, pos + len). */
  readIno(ino: number, pos: number, len: number): Buffer {
    const n = this.mustInode(ino);
    if ((n.mode & S_IFMT) === S_IFDIR) fail('EISDIR');
    return this.readContent(n, pos, len);
  }

  readContent(n: InodeRow, pos: number, len: number): Buffer {
    const end = Math.min(n.size, pos + len);
    if (end <= pos) return Buffer.alloc(0);
    const inline = verifiedInline(n);
    if (inline) return Buffer.from(inline.subarray(pos, end));
    const out = Buffer.alloc(end - pos);
    this.copyContent(n, pos, end, out);
    return out;
  }

  /** Reads committed content of ino into out (a FUSE read buffer, reused):
   * no buffer per read, so reading a large file allocates only the chunks
   * it loads. Returns the number of bytes read. */
  readInoInto(ino: number, out: Buffer, pos: number, len: number): number {
    const n = this.mustInode(ino);
    if ((n.mode & S_IFMT) === S_IFDIR) fail('EISDIR');
    const end = Math.min(n.size, pos + len, pos + out.length);
    if (end <= pos) return 0;
    const inline = verifiedInline(n);
    if (inline) return inline.copy(out, 0, pos, end);
    out.fill(0, 0, end - pos); // holes and short chunks read as zeros
    this.copyContent(n, pos, end, out);
    return end - pos;
  }

  /** Copies the chunks' bytes of [pos, end) into out (zeroed beforehand). */
  private copyContent(n: InodeRow, pos: number, end: number, out: Buffer): void {
    const cs = this.chunkSize;
    for (let idx = Math.floor(pos / cs); idx * cs < end; idx++) {
      const hash = this.extentHash(n.ino, idx);
      if (!hash) continue; // hole: zeros
      const data = this.chunks.get(hash);
      const cStart = idx * cs;
      const from = Math.max(pos, cStart) - cStart;
      // A read from the start of a chunk that is not the file's first: a
      // sequential reader, who will want the next chunks next. Several are
      // read ahead so that loading one (this thread, often a disk read)
      // and verifying another (the hash worker) overlap: with one, each
      // waited for the other.
      if (from === 0 && idx > 0) {
        for (let k = idx + 1; k <= idx + READ_AHEAD_CHUNKS && k * cs < n.size; k++) {
          const next = this.extentHash(n.ino, k);
          if (next) this.chunks.prefetch(next);
        }
      }
      const to = Math.min(end, cStart + cs) - cStart;
      if (from < data.length) data.copy(out, cStart + from - pos, from, Math.min(to, data.length));
    }
  }

  readFile(path: string): Buffer {
    const ino = this.resolve(path, true);
    const n = this.mustInode(ino);
    if (isDir(n.mode)) fail('EISDIR');
    return this.readContent(n, 0, n.size);
  }

  getxattr(path: string | number, name: string): Buffer {
    return this.xattr(path, name) ?? fail('ENODATA');
  }

  /** An attribute's value, or null (no throw: absence is the common answer). */
  xattr(path: string | number, name: string): Buffer | null {
    const ino = typeof path === 'number' ? path : this.resolve(path);
    for (const { branch, upto } of this.chain) {
      const row = this.meta.getXattr(branch, ino, name, upto);
      if (row) {
        if (row.until > upto && row.value) return row.value;
        break;
      }
    }
    return null;
  }

  listxattr(path: string | number): string[] {
    return this.listxattrIno(typeof path === 'number' ? path : this.resolve(path)).map((x) => x.name);
  }

  listxattrIno(ino: number): { name: string; value: Buffer }[] {
    const seen = new Map<string, Buffer | null>();
    for (const { branch, upto } of this.chain) {
      const latest = new Map<string, { until: number; value: Buffer | null }>();
      for (const r of this.meta.listXattrVersions(branch, ino, upto)) latest.set(r.name, r);
      for (const [name, r] of latest) if (!seen.has(name)) seen.set(name, r.until > upto ? r.value : null);
    }
    return [...seen].filter(([, v]) => v !== null).map(([name, value]) => ({ name, value: value as Buffer }));
  }

  exists(path: string): boolean {
    try { this.resolve(path); return true; } catch { return false; }
  }
}
