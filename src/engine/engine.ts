// Engine: the filesystem API over a Store, for one branch. Paths in, POSIX
// errors out; every change is one commit. No FUSE here: the FUSE adapter,
// the CLI and tests all use this API.
import { HEAD, LIVE, type InodeRow } from '../store/meta-store.js';
import { Store, INLINE_MAX, MAX_INO, diskFullError } from '../store/store.js';
import { fail, type ErrnoCode } from './errors.js';
import { Tree, ROOT_INO, statOf, type ChainLink } from './tree.js';
import { WriteSession, ZERO_CHUNK, type SessionHost } from './write-session.js';
import { isZero } from './zeros.js';
import { resolvePoint } from './points.js';
import { History } from './history.js';
import { Maintenance } from './maintenance.js';

const MAINTENANCE = new WeakMap<Store, Maintenance>();
import {
  type Stat, type Cred, type DirEntry, type TimeSpec, type StatFs, type PointInTime,
  S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_ISUID, S_ISGID, isDir, isReg,
  XATTR_CREATE, XATTR_REPLACE, RENAME_NOREPLACE, RENAME_EXCHANGE,
} from './types.js';
import fs from 'node:fs';
import path from 'node:path';

/** Extended attribute namespaces stored (see setxattr). */
const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.'];

/** What is wrong with an extended attribute name, as ext4 answers every
 * xattr call: too long or empty ERANGE, a namespace it does not keep
 * ENOTSUP (system.* names are the kernel's: ACLs, refused by the FUSE
 * adapter, see ops.ts), a prefix alone EINVAL. null: a good name. */
export function xattrNameError(name: string): 'ERANGE' | 'ENOTSUP' | 'EINVAL' | null {
  if (!name || Buffer.byteLength(name) > 255) return 'ERANGE';
  const ns = XATTR_NAMESPACES.find((x) => name.startsWith(x));
  if (ns === undefined) return 'ENOTSUP';
  return name.length === ns.length ? 'EINVAL' : null;
}

const O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2, O_TRUNC = 0o1000, O_APPEND = 0o2000, O_CREAT = 0o100, O_EXCL = 0o200;
const DAY_NS = 86400n * 1000000000n;
/** The largest file size (EFBIG beyond): sizes and offsets are JS numbers,
 * exact up to 2^53 - 1 (8 PiB). */
const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
/** How often a read-only engine asks whether the store changed (ms). */
const FRESH_MS = 0.25;
/** An open file handle. Writers own a WriteSession; readers read the
 * file's newest committed version: each read() here is of one version
 * whole, and a commit between two reads (a writer's close, an append by
 * `>>`) is seen by the next one, as `tail -f` and SQLite's read-only
 * connections expect of a file system. */
interface OpenFile {
  ino: number;
  flags: number;
  session: WriteSession | null;
  /** A reader's view, at commit `pinnedAt` (moved on by followCommits). */
  pinned: Tree | null;
  pinnedAt: number;
  read: boolean;
  /** Set when this handle created the file: abort() then removes it again. */
  created?: { dir: number; name: string };
}

export type OpenFlags = number | 'r' | 'r+' | 'w' | 'w+' | 'a' | 'a+';

function flagsOf(f: OpenFlags): number {
  if (typeof f === 'number') return f;
  switch (f) {
    case 'r': return 0;
    case 'r+': return O_RDWR;
    case 'w': return O_WRONLY | O_CREAT | O_TRUNC;
    case 'w+': return O_RDWR | O_CREAT | O_TRUNC;
    case 'a': return O_WRONLY | O_CREAT | O_APPEND;
    case 'a+': return O_RDWR | O_CREAT | O_APPEND;
  }
}

const processCred: Cred = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const defaultCred = (): Cred => processCred;

export class ReadView {
  constructor(readonly tree: Tree, readonly commit: number) {}
  stat(p: string): Stat { return this.tree.stat(p); }
  readdir(p: string): DirEntry[] { return this.tree.readdir(p); }
  readFile(p: string): Buffer { return this.tree.readFile(p); }
  read(p: string, pos: number, len: number): Buffer { return this.tree.readIno(this.tree.resolve(p, true), pos, len); }
  readlink(p: string): string { return this.tree.readlink(p); }
  getxattr(p: string, name: string): Buffer { return this.tree.getxattr(p, name); }
  listxattr(p: string): string[] { return this.tree.listxattr(p); }
  exists(p: string): boolean { return this.tree.exists(p); }
}

export class Engine implements SessionHost {
  private readonly headTree_: Tree;
  /** The live tree. On a read-only store another process may be writing:
   * its cached rows are dropped when the file changed (SQLite's data_version,
   * asked at most every FRESH_MS), else a `-o ro` mount beside a writer kept sizes and rows from
   * before (stale sizes, zeros where the new chunks were). */
  get head(): Tree {
    if (!this.writable) this.freshen();
    return this.headTree_;
  }
  private freshAt = 0;
  private freshen(): void {
    const now = performance.now();
    if (now - this.freshAt < FRESH_MS) return;
    this.freshAt = now;
    if (this.store.memory) return;
    const before = this.store.headCommit;
    if (!this.store.externalChange()) return;
    this.headTree_.inodes.clear();
    this.headTree_.dirs.clear();
    if (!this.externalListeners.length) return;
    // The inodes whose rows changed since (a mount drops what the kernel
    // cached of them: a new open read the new bytes cut to the old size).
    const inos = this.store.meta.changedKeys('inodes', this.branchId, before).map((r) => r.ino as number);
    for (const fn of this.externalListeners) fn(inos);
  }
  private readonly externalListeners: ((inos: number[]) => void)[] = [];
  /** Read-only stores: fn(inodes changed) when another process committed. */
  onExternalChange(fn: (inos: number[]) => void): void { this.externalListeners.push(fn); }
  private fds = new Map<number, OpenFile>();
  private held = new Map<number, number>();
  private nextFd = 1;
  private readonly writable: boolean;

  constructor(readonly store: Store, readonly branchId: number, readonly chain: ChainLink[]) {
    this.headTree_ = new Tree(store.meta, store.chunks, chain, store.chunkSize);
    this.writable = !store.readonly;
    store.watchWriter(this);
  }

  /** The open group transaction was rolled back (Store.loseGroup): cached
   * rows may be of it, and what sessions staged in it is gone, so their
   * commit fails (EIO at close) instead of referring to missing chunks. */
  groupLost(group: number, err: unknown): void {
    this.head.inodes.clear();
    this.head.dirs.clear();
    // Only sessions that staged in the lost group lost anything; near a
    // full disk each change commits at once, and the others' chunks are safe.
    const cause: ErrnoCode = (err as { code?: string } | null)?.code === 'SQLITE_FULL' ? 'ENOSPC' : 'EIO';
    for (const f of this.fds.values()) if (f.session && f.session.stagedIn === group) f.session.lost = cause;
  }

  /** Bytes written to open files that are not in the store yet. */
  unwritten(): number {
    let n = 0;
    for (const f of this.fds.values()) if (f.session) n += f.session.unwritten;
    return n;
  }

  static async open(file: string, opts: import('../store/store.js').StoreOptions = {}): Promise<Engine> {
    const store = await Store.open(file, opts);
    return new Engine(store, store.main, [{ branch: store.main, upto: HEAD }]);
  }

  get chunkSize(): number { return this.store.chunkSize; }
  /** The newest commit. Whoever asks may come back to it (at(c), a label):
   * its state is final from now on (no later change amends it). */
  get headCommit(): number {
    const c = this.store.headCommit;
    this.store.seal(c);
    return c;
  }
  private get inherits(): boolean { return this.chain.length > 1; }

  // --- SessionHost ------------------------------------------------------------
  headTree(): Tree { return this.head; }
  loadChunk(hash: Buffer): Buffer { return this.store.chunks.get(hash); }
  lastCommit(): number { return this.store.headCommit; }
  stage(s: WriteSession, idx: number, data: Buffer): void {
    this.store.hasher.submit(data, (hash, bytes) => this.stored(s, idx, hash, bytes));
  }

  settle(s: WriteSession): void {
    if (s.pending.size) this.store.hasher.drain();
  }

  /** A staged chunk's hash is known: store it under the session's branch. */
  stored(s: WriteSession, idx: number, hash: Buffer, data: Buffer): void {
    if (!s.pending.delete(idx)) return; // the session moved on (reset or truncated)
    const st = this.store;
    // This runs whenever results are collected, often within another
    // request (or after the write was answered): a failure belongs to the
    // session, whose commit reports it, not to whoever collected it.
    try {
      st.begin();
      if (s.branchId === null) {
        s.branchId = st.meta.insertBranch(`session-${process.pid}-${s.ino}-${this.nextFd++}-${Date.now()}`, 'session',
          this.branchId, st.headCommit, st.now(), process.pid);
      }
      s.stagedIn = st.group;
      st.chunks.putHashed(hash, data);
      st.meta.putSessionChunk(s.branchId, idx, hash);
      s.staged.set(idx, hash);
      st.commitIfTight();
    } catch (e) {
      s.failure ??= diskFullError(e);
      st.failed(e);
    }
  }

  // --- helpers ------------------------------------------------------------------

  /** Runs one change as one commit. On error nothing of it remains and the
   * head caches are dropped (they may hold rows of the rolled-back change).
   * direct: fn only writes (every check it could fail was made before), so
   * no savepoint is needed (Store.direct). */
  private change<T>(kind: string, fn: (c: number) => T, message: string | null = null, direct = false, freeing = false): T {
    if (!this.writable) fail('EROFS');
    // Deleting is how a user makes room: never refused on a guess (near the
    // limit it commits at once, so a disk that cannot take even that fails it).
    if (!freeing && !this.store.space.admitRows()) fail('ENOSPC');
    const body = () => {
      const c = this.store.newCommit(this.branchId, kind, message);
      // Only plain changes are amended later; a snapshot, rollback or
      // restore is a state someone asked for by name.
      if (kind !== 'op' && kind !== 'write') this.store.seal(c);
      return fn(c);
    };
    try {
      return direct ? this.store.direct(body) : this.store.atomic(body);
    } catch (e) {
      this.head.inodes.clear();
      this.head.dirs.clear();
      throw e;
    }
  }

  /** A change whose checks are all made before it: it only writes. */
  private changeChecked<T>(fn: (c: number) => T, freeing = false): T { return this.change('op', fn, null, true, freeing); }

  /** Runs fn as part of an earlier commit of the open group transaction. */
  private changeAt(c: number, fn: (c: number) => void, direct = false): void {
    try {
      if (direct) this.store.direct(() => fn(c));
      else this.store.atomic(() => fn(c));
    } catch (e) {
      this.head.inodes.clear();
      this.head.dirs.clear();
      throw e;
    }
  }

  /** A change made directly on the store's rows (history operations):
   * afterwards every head cache is dropped. */
  changeRaw<T>(kind: string, fn: (c: number) => T, message: string | null = null): T {
    try {
      return this.change(kind, fn, message);
    } finally {
      this.head.inodes.clear();
      this.head.dirs.clear();
    }
  }

  /** Writes inode version n at commit c. A row from the head cache carries
   * the live version's since (ending it is one primary-key hit); a new
   * inode has no live row to end. */
  private putInode(c: number, n: InodeRow, isNew = false): void {
    this.store.meta.putInode(this.branchId, c, n, isNew ? null : n.until === LIVE ? n.since : undefined);
    this.head.inodes.set(n.ino, { ...n, since: c, until: LIVE });
  }


  private setDentry(c: number, parent: number, name: string, ino: number, isNew = false): void {
    this.store.meta.putDentry(this.branchId, c, parent, name, ino, isNew && !this.inherits);
  }

  private removeDentry(c: number, parent: number, name: string): void {
    if (this.inherits) this.store.meta.putDentry(this.branchId, c, parent, name, null);
    else this.store.meta.endDentry(this.branchId, c, parent, name);
  }

  /** A directory's mtime/ctime move with every entry change inside it. When
   * its live version was itself made within the open group transaction
   * (< 5 ms ago, not yet in the file), the times move in place instead of
   * making another version: a directory's entries are versioned on their
   * own (dentries), and history.diff finds changed directories from them.
   * A change of nlink always makes a version. */
  private touchDir(c: number, dir: InodeRow, now: bigint, nlinkDelta = 0): InodeRow {
    const n = { ...dir, mtime: now, ctime: now, nlink: dir.nlink + nlinkDelta };
    if (nlinkDelta === 0 && !this.inherits && dir.until === LIVE && this.store.amendable(dir.since)) {
      this.store.meta.setTimesInPlace(this.branchId, dir.ino, dir.since, now, now);
      this.head.inodes.set(dir.ino, n);
      return n;
    }
    this.putInode(c, n);
    return n;
  }

  private lookupIn(dir: number, name: string): number | undefined { return this.head.lookup(dir, name); }

  // --- reads (committed state) ------------------------------------------------

  stat(p: string): Stat { return this.head.stat(p); }
  /** stat following a final symlink. */
  statFollow(p: string): Stat { return this.head.statIno(this.head.resolve(p, true)); }
  readdir(p: string): DirEntry[] { return this.head.readdir(p); }
  /** A symlink's target; reading it is an access (atime, as read(2)). */
  readlink(p: string | number): string {
    const ino = typeof p === 'number' ? p : this.head.resolve(p);
    const target = this.head.readlinkIno(ino);
    if (this.writable) this.touchAtime(ino);
    return target;
  }
  readFile(p: string): Buffer { return this.head.readFile(p); }
  exists(p: string): boolean { return this.head.exists(p); }
  getxattr(p: string | number, name: string): Buffer { return this.xattr(p, name) ?? fail('ENODATA'); }
  /** getxattr without the ENODATA exception: null when absent. */
  xattr(p: string | number, name: string): Buffer | null {
    const bad = xattrNameError(name);
    if (bad) fail(bad);
    return this.head.xattr(p, name);
  }
  /** False when no file of this store, at any time, has had an attribute
   * called name (getxattr of it is then ENODATA wherever the path leads). */
  mayHaveXattr(name: string): boolean { return this.store.meta.mayHaveXattr(name); }
  listxattr(p: string | number): string[] { return this.head.listxattr(p); }

  /** Log, per-file versions, diff, restore, rollback. */
  get history(): History { return new History(this); }

  /** Background storage work (deltas, compression, retention, GC): one per
   * store, shared by every branch engine. */
  get maintenance(): Maintenance {
    let m = MAINTENANCE.get(this.store);
    if (!m) { m = new Maintenance(this); MAINTENANCE.set(this.store, m); }
    return m;
  }

  /** Inodes with open handles, or held (hold()): never retired meanwhile. */
  openInos(): Set<number> {
    const s = new Set([...this.fds.values()].map((f) => f.ino));
    for (const ino of this.held.keys()) s.add(ino);
    return s;
  }

  /** Keeps an inode with no name as it is (not retired by maintenance)
   * while someone can still reach it without a descriptor: the kernel's
   * node of a file whose last name went (a path walk in flight, an O_PATH
   * descriptor, a working directory). Counted; unhold() lets go. */
  hold(ino: number): void { this.held.set(ino, (this.held.get(ino) ?? 0) + 1); }
  unhold(ino: number): void {
    const n = (this.held.get(ino) ?? 0) - 1;
    if (n > 0) this.held.set(ino, n); else this.held.delete(ino);
  }

  /** Commits open read handles are pinned to: history thinning keeps them. */
  pinnedCommits(): number[] {
    const out = new Set<number>();
    for (const f of this.fds.values()) if (f.pinned) out.add(f.pinned.at);
    return [...out];
  }

  /** The commit a point names (commit id, time, time string, or label). */
  resolvePoint(point: PointInTime): number {
    const c = resolvePoint(this.store, this.branchId, point);
    this.store.seal(c);
    return c;
  }

  /** Read-only view of this branch at a commit, time or label. */
  at(point: PointInTime): ReadView {
    const c = this.resolvePoint(point);
    return new ReadView(new Tree(this.store.meta, this.store.chunks, this.chainAt(c), this.store.chunkSize), c);
  }

  chainAt(c: number): ChainLink[] {
    const out: ChainLink[] = [{ branch: this.branchId, upto: c }];
    for (const l of this.chain.slice(1)) out.push({ branch: l.branch, upto: Math.min(l.upto, c) });
    return out;
  }

  // --- namespace changes ------------------------------------------------------------

  private makeNode(p: string, mode: number, cred: Cred, rdev = 0, target: Buffer | null = null, kind = 'op'): number {
    return this.makeNodeIn(this.head.parentOf(p), mode, cred, rdev, target, kind);
  }

  private makeNodeIn([dir, name]: [number, string], mode: number, cred: Cred, rdev = 0, target: Buffer | null = null, kind = 'op'): number {
    if (this.lookupIn(dir, name) !== undefined) fail('EEXIST');
    const parent = this.head.mustInode(dir);
    if (parent.nlink === 0) fail('ENOENT');
    // Everything that can fail is checked above: the change only writes.
    const ino = this.store.allocIno();
    return this.change(kind, (c) => {
      const now = this.store.now();
      const d = isDir(mode);
      // A directory with the setgid bit passes its group (and the bit, to subdirectories) on.
      let gid = cred.gid;
      if (parent.mode & S_ISGID) { gid = parent.gid; if (d) mode |= S_ISGID; }
      this.putInode(c, {
        ino, since: c, until: LIVE, mode, uid: cred.uid, gid, nlink: d ? 2 : 1,
        size: target ? target.length : 0, rdev, atime: now, mtime: now, ctime: now, btime: now,
        target, inline: null,
      }, true);
      this.setDentry(c, dir, name, ino, true);
      this.touchDir(c, parent, now, d ? 1 : 0);
      return ino;
    }, null, true);
  }

  mkdir(p: string, mode = 0o755, cred: Cred = defaultCred()): void {
    this.makeNode(p, S_IFDIR | (mode & 0o7777), cred);
  }

  mknod(p: string, mode: number, rdev = 0, cred: Cred = defaultCred()): void {
    if ((mode & S_IFMT) === 0) mode |= S_IFREG;
    if ((mode & S_IFMT) === S_IFDIR) fail('EINVAL');
    this.makeNode(p, mode, cred, rdev);
  }

  symlink(target: string, p: string, cred: Cred = defaultCred()): void {
    if (target.length === 0) fail('ENOENT');
    this.makeNode(p, S_IFLNK | 0o777, cred, 0, Buffer.from(target));
  }

  /** A new name p for a file, by path or inode number (a descriptor's
   * file, whose own name may be gone: linkat of /proc/self/fd/N). A file
   * with no name left cannot get one back (ENOENT, as on Linux). */
  link(existing: string | number, p: string): void {
    const ino = typeof existing === 'number' ? existing : this.head.resolve(existing);
    const node = this.head.mustInode(ino);
    if (isDir(node.mode)) fail('EPERM');
    if (node.nlink === 0) fail('ENOENT');
    const [dir, name] = this.head.parentOf(p);
    if (this.lookupIn(dir, name) !== undefined) fail('EEXIST');
    const parent = this.head.mustInode(dir);
    const at = this.amendNameAt(node, node.nlink + 1, parent, name, true);
    const apply = (c: number) => {
      const now = this.store.now();
      this.putLinkCount(c, node, node.nlink + 1, now);
      this.setDentry(c, dir, name, ino);
      this.touchDir(c, parent, now);
    };
    if (at !== null) this.changeAt(at, apply, true); else this.changeChecked(apply);
  }

  /** The commit a link or unlink of `node` under dir/name is dated at when
   * it amends the file's live version instead of making one (null: it
   * makes one, at its own commit): git links every object it writes to
   * its final name and unlinks the temporary one within a millisecond.
   * That version must be one nothing can have seen yet (Store.amendable, as
   * setAttr), and the name changes at its commit too, so that every state
   * from there on shows names and link count agreeing: a count amended
   * alone showed a state with two names and nlink 1, which a rollback to
   * it made real (found by the history checker, 2026-12-05). The whole
   * change then joins that commit (git's object is one commit, one
   * version, its final name). A count that reaches 0 always makes a
   * version (the file's last state stays). */
  private amendNameAt(node: InodeRow, nlink: number, dir: InodeRow, name: string, adding: boolean): number | null {
    if (nlink === 0 || this.inherits || node.until !== LIVE || !this.store.amendable(node.since)) return null;
    // The directory's times move at that commit too: not if it has a later version.
    if (dir.until !== LIVE || dir.since > node.since) return null;
    const rows = this.store.meta.dentryHistory(this.branchId, dir.ino, name);
    // Adding: the name must have been free from that commit on; removing:
    // it must have been there already.
    const ok = adding ? rows.every((r) => r.until <= node.since) : rows.some((r) => r.until === LIVE && r.since <= node.since);
    return ok ? node.since : null;
  }

  /** A non-directory's new link count at commit c: the file's live version
   * rewritten in place when c is its own commit (amendNameAt), else a new
   * version. */
  private putLinkCount(c: number, node: InodeRow, nlink: number, now: bigint): void {
    const n = { ...node, nlink, ctime: now };
    if (c === node.since && node.until === LIVE) {
      this.store.meta.putInode(this.branchId, node.since, n, node.since);
      this.head.inodes.set(node.ino, { ...n, since: node.since, until: LIVE });
      return;
    }
    this.putInode(c, n);
  }

  unlink(p: string): void {
    const [dir, name] = this.head.parentOf(p);
    const ino = this.lookupIn(dir, name) ?? fail('ENOENT');
    const node = this.head.mustInode(ino);
    if (isDir(node.mode)) fail('EISDIR');
    this.dropName(dir, name, node);
  }

  /** Removes one name of a non-directory, as one commit. */
  private dropName(dir: number, name: string, node: InodeRow): void {
    const parent = this.head.mustInode(dir);
    const at = this.amendNameAt(node, node.nlink - 1, parent, name, false);
    const apply = (c: number) => {
      const now = this.store.now();
      this.removeDentry(c, dir, name);
      this.putLinkCount(c, node, node.nlink - 1, now);
      this.touchDir(c, parent, now);
    };
    if (at !== null) this.changeAt(at, apply, true); else this.changeChecked(apply, true);
  }

  rmdir(p: string): void {
    const parts = p.split('/').filter((s) => s && s !== '.');
    if (parts.length && parts[parts.length - 1] === '..') fail('ENOTEMPTY');
    const [dir, name] = this.head.parentOf(p);
    const ino = this.lookupIn(dir, name) ?? fail('ENOENT');
    const node = this.head.mustInode(ino);
    if (!isDir(node.mode)) fail('ENOTDIR');
    if (this.head.hasEntries(ino)) fail('ENOTEMPTY');
    const parent = this.head.mustInode(dir);
    this.changeChecked((c) => {
      const now = this.store.now();
      this.removeDentry(c, dir, name);
      this.putInode(c, { ...node, nlink: 0, ctime: now });
      this.touchDir(c, parent, now, -1);
    }, true);
    this.head.dirs.clear();
  }

  rename(from: string, to: string, flags = 0): void {
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) fail('EINVAL');
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) fail('EINVAL');
    const [sdir, sname] = this.head.parentOf(from);
    const [ddir, dname] = this.head.parentOf(to);
    const sino = this.lookupIn(sdir, sname) ?? fail('ENOENT');
    const src = this.head.mustInode(sino);
    const dino = this.lookupIn(ddir, dname);
    // A directory cannot move into its own subtree (nor, exchanged, one
    // into the other's). Compared on the paths with every symlink and '..'
    // resolved: the paths as given missed rename('/d', '/l/x') with l a
    // symlink to d, which cut d and all below it off the tree.
    const nf = `${this.head.realParent(from)}/${sname}`, nt = `${this.head.realParent(to)}/${dname}`;
    if (isDir(src.mode) && (nt + '/').startsWith(nf + '/') && nt !== nf) fail('EINVAL');
    if (flags & RENAME_EXCHANGE) {
      if (dino === undefined) fail('ENOENT');
      const dst = this.head.mustInode(dino);
      if (isDir(dst.mode) && (nf + '/').startsWith(nt + '/') && nt !== nf) fail('EINVAL');
      if (sino === dino) return;
      this.change('op', (c) => {
        const now = this.store.now();
        this.setDentry(c, sdir, sname, dino);
        this.setDentry(c, ddir, dname, sino);
        this.putInode(c, { ...src, ctime: now });
        this.putInode(c, { ...this.head.mustInode(dino), ctime: now });
        if (sdir !== ddir && isDir(src.mode) !== isDir(dst.mode)) {
          const delta = isDir(src.mode) ? 1 : -1;
          this.touchDir(c, this.head.mustInode(sdir), now, -delta);
          this.touchDir(c, this.head.mustInode(ddir), now, delta);
        } else {
          this.touchDir(c, this.head.mustInode(sdir), now);
          if (ddir !== sdir) this.touchDir(c, this.head.mustInode(ddir), now);
        }
      });
      this.head.dirs.clear();
      return;
    }
    let dst: InodeRow | undefined;
    if (dino !== undefined) {
      if (flags & RENAME_NOREPLACE) fail('EEXIST');
      if (dino === sino) return; // two names of one file: POSIX says do nothing
      dst = this.head.mustInode(dino);
      if (isDir(src.mode) && !isDir(dst.mode)) fail('ENOTDIR');
      if (!isDir(src.mode) && isDir(dst.mode)) fail('EISDIR');
      if (isDir(dst.mode) && this.head.hasEntries(dino)) fail('ENOTEMPTY');
    }
    this.change('op', (c) => {
      const now = this.store.now();
      this.removeDentry(c, sdir, sname);
      this.setDentry(c, ddir, dname, sino);
      this.putInode(c, { ...src, ctime: now });
      const srcIsDir = isDir(src.mode);
      let sDelta = 0, dDelta = 0;
      if (dst) {
        const cur = this.head.mustInode(dst.ino);
        this.putInode(c, { ...cur, nlink: isDir(cur.mode) ? 0 : cur.nlink - 1, ctime: now });
        if (isDir(cur.mode)) dDelta -= 1;
      }
      if (srcIsDir && sdir !== ddir) { sDelta -= 1; dDelta += 1; }
      if (sdir === ddir) this.touchDir(c, this.head.mustInode(sdir), now, sDelta + dDelta);
      else {
        this.touchDir(c, this.head.mustInode(sdir), now, sDelta);
        this.touchDir(c, this.head.mustInode(ddir), now, dDelta);
      }
    });
    this.head.dirs.clear();
  }

  // --- attributes -------------------------------------------------------------

  /** An attribute change. When the file's live version was made within
   * the open group transaction and nothing refers to it (Store.amendable),
   * the change amends that version in place (one UPDATE, no commit);
   * otherwise it is a commit of its own. */
  private setAttr(p: string | number, edit: (n: InodeRow, now: bigint) => InodeRow): void {
    const ino = typeof p === 'number' ? p : this.head.resolve(p);
    const node = this.head.mustInode(ino);
    if (this.writable && !this.inherits && node.until === LIVE && this.store.amendable(node.since)) {
      const n = { ...edit(node, this.store.now()), since: node.since, until: LIVE };
      this.store.meta.putInode(this.branchId, node.since, n, node.since);
      this.head.inodes.set(ino, n);
      return;
    }
    const n = edit(node, this.store.now());
    this.changeChecked((c) => this.putInode(c, n));
  }

  chmod(p: string | number, mode: number): void {
    this.setAttr(p, (n, now) => ({ ...n, mode: (n.mode & S_IFMT) | (mode & 0o7777), ctime: now }));
  }

  /** uid or gid of -1 (or 0xffffffff) leaves it unchanged. Like Linux, a
   * change of owner clears setuid, and setgid when group-executable, on
   * non-directories. */
  chown(p: string | number, uid: number, gid: number): void {
    const keep = (v: number) => v === -1 || v === 0xffffffff;
    this.setAttr(p, (n, now) => {
      let mode = n.mode;
      if (!isDir(mode) && (!keep(uid) || !keep(gid))) {
        mode &= ~S_ISUID;
        if (mode & 0o010) mode &= ~S_ISGID;
      }
      return { ...n, uid: keep(uid) ? n.uid : uid, gid: keep(gid) ? n.gid : gid, mode, ctime: now };
    });
  }

  utimens(p: string | number, atime: TimeSpec, mtime: TimeSpec): void {
    const ino = typeof p === 'number' ? p : this.head.resolve(p);
    this.setAttr(ino, (n, now) => ({
      ...n,
      atime: atime === 'omit' ? n.atime : atime === 'now' ? now : atime,
      mtime: mtime === 'omit' ? n.mtime : mtime === 'now' ? now : mtime,
      ctime: atime === 'omit' && mtime === 'omit' ? n.ctime : now,
    }));
    if (mtime === 'omit') return;
    // A writer's uncommitted session carries the time of its last write,
    // which its fstat shows and its commit writes: a time set since comes
    // after those writes and must win, as on ext4 (until 2026-12-05 the
    // descriptor of an unlinked file, whose session never commits, kept
    // showing its last write's time after futimens; and a commit after
    // utimens through this API put the write's time back).
    const set = this.head.mustInode(ino).mtime;
    for (const of of this.fds.values()) if (of.session && of.ino === ino && of.session.changed) of.session.mtime = set;
  }

  truncate(p: string | number, size: number): void {
    if (size < 0) fail('EINVAL');
    if (size > MAX_FILE_SIZE) fail('EFBIG');
    const ino = typeof p === 'number' ? p : this.head.resolve(p, true);
    const node = this.head.mustInode(ino);
    if (isDir(node.mode)) fail('EISDIR');
    if (!isReg(node.mode)) fail('EINVAL');
    const s = new WriteSession(this, ino, node);
    s.truncate(size, this.store.now());
    this.commitSession(s);
    // A writer's session with nothing uncommitted reads and appends from
    // here on at the new size (the FUSE layer commits writers first).
    for (const of of this.fds.values()) if (of.session && of.ino === ino && !of.session.changed) of.session.reset(size);
  }

  setxattr(p: string | number, name: string, value: Buffer, flags = 0): void {
    const bad = xattrNameError(name);
    if (bad) fail(bad);
    if (value.length > 65536) fail('E2BIG');
    const ino = typeof p === 'number' ? p : this.head.resolve(p);
    const exists = this.head.xattr(ino, name) !== null;
    if ((flags & XATTR_CREATE) && exists) fail('EEXIST');
    if ((flags & XATTR_REPLACE) && !exists) fail('ENODATA');
    const node = this.head.mustInode(ino);
    this.change('op', (c) => {
      this.store.meta.putXattr(this.branchId, c, ino, name, Buffer.from(value));
      this.putInode(c, { ...node, ctime: this.store.now() });
    });
  }

  removexattr(p: string | number, name: string): void {
    const ino = typeof p === 'number' ? p : this.head.resolve(p);
    this.getxattr(ino, name); // ENOTSUP/EINVAL for a bad name, ENODATA when absent
    const node = this.head.mustInode(ino);
    this.change('op', (c) => {
      if (this.inherits) this.store.meta.putXattr(this.branchId, c, ino, name, null);
      else this.store.meta.endXattr(this.branchId, c, ino, name);
      this.putInode(c, { ...node, ctime: this.store.now() });
    });
  }

  // --- file handles -------------------------------------------------------------

  /** Opens an existing file (or creates it with O_CREAT). Returns a handle. */
  open(p: string, flags: OpenFlags = 'r', mode = 0o644, cred: Cred = defaultCred()): number {
    const f = flagsOf(flags);
    let ino: number | undefined;
    try { ino = this.head.resolve(p, true); } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT' || !(f & O_CREAT)) throw e;
    }
    if (ino === undefined) return this.create(p, mode, f, cred);
    if ((f & O_CREAT) && (f & O_EXCL)) fail('EEXIST');
    return this.openIno(ino, f);
  }

  /** Creates a regular file and opens it for writing (O_EXCL implied by FUSE create). */
  create(p: string, mode = 0o644, flags: OpenFlags = O_WRONLY, cred: Cred = defaultCred()): number {
    const f = flagsOf(flags);
    const [dir, name] = this.head.parentOf(p);
    const ino = this.makeNodeIn([dir, name], S_IFREG | (mode & 0o7777), cred, 0, null, 'write');
    const fh = this.openIno(ino, (f & O_ACCMODE) === 0 ? f | O_WRONLY : f);
    const of = this.fds.get(fh)!;
    of.created = { dir, name };
    if (of.session) of.session.createdAt = this.head.mustInode(ino).since;
    return fh;
  }

  openIno(ino: number, flags: number): number {
    const node = this.head.mustInode(ino);
    const acc = flags & O_ACCMODE;
    const writes = acc === O_WRONLY || acc === O_RDWR;
    if (isDir(node.mode) && (writes || (flags & O_TRUNC))) fail('EISDIR');
    if (writes && !this.writable) fail('EROFS');
    const fh = this.nextFd++;
    const of: OpenFile = { ino, flags, session: null, pinned: null, pinnedAt: 0, read: false };
    if (writes) {
      of.session = new WriteSession(this, ino, node);
      if ((flags & O_TRUNC) && isReg(node.mode)) of.session.truncate(0, this.store.now());
    } else this.pin(of, node);
    this.fds.set(fh, of);
    return fh;
  }

  /** Points a reader at the head commit, where its file is `node`. */
  private pin(of: OpenFile, node: InodeRow): void {
    // What a reader has read must stay readable: no change amends it.
    this.store.seal(this.store.headCommit);
    of.pinned = new Tree(this.store.meta, this.store.chunks, this.chainAt(this.store.headCommit), this.store.chunkSize);
    of.pinned.inodes.set(of.ino, node);
    of.pinnedAt = this.store.headCommit;
  }

  /** Moves a reader on to its file's newest committed version, if one was
   * committed since it last looked. A file whose last name went reads its
   * last content (the version with no name has it, and is never retired
   * while open; nothing can change it any more), also when commits came
   * between this reader's last read and the unlink. One taken away by a
   * rollback keeps what this reader last saw. */
  private followCommits(of: OpenFile): Tree {
    const t = of.pinned as Tree;
    if (of.pinnedAt === this.store.headCommit) return t;
    const now = this.head.inode(of.ino);
    if (!now) return t;
    if (now.since === t.mustInode(of.ino).since) { of.pinnedAt = this.store.headCommit; return t; }
    this.pin(of, now);
    return of.pinned as Tree;
  }

  private fd(fh: number): OpenFile { return this.fds.get(fh) ?? fail('EBADF'); }

  /** Whether a handle writes (the FUSE layer bypasses the page cache for those). */
  isWriter(fh: number): boolean { return this.fd(fh).session !== null; }
  inoOf(fh: number): number { return this.fd(fh).ino; }

  read(fh: number, length: number, position: number): Buffer {
    const of = this.fd(fh);
    if ((of.flags & O_ACCMODE) === O_WRONLY) fail('EBADF');
    of.read = true;
    if (of.session) return of.session.read(position, length);
    return this.followCommits(of).readIno(of.ino, position, length);
  }

  /** read() into the caller's buffer (at most out.length bytes); returns
   * the count. A reader's bytes are copied straight from the chunks. */
  readInto(fh: number, out: Buffer, length: number, position: number): number {
    const of = this.fd(fh);
    if ((of.flags & O_ACCMODE) === O_WRONLY) fail('EBADF');
    of.read = true;
    if (of.session) return of.session.read(position, length).copy(out);
    return this.followCommits(of).readInoInto(of.ino, out, position, length);
  }

  write(fh: number, data: Buffer, position: number): number {
    const of = this.fd(fh);
    if (!of.session) fail('EBADF');
    const node = this.head.inode(of.ino); // none: removed by a rollback, still open
    if (node && !isReg(node.mode)) fail('EINVAL');
    const pos = of.flags & O_APPEND ? of.session.size : position;
    if (pos + data.length > MAX_FILE_SIZE) fail('EFBIG');
    if (!this.store.space.admitData(data.length)) fail('ENOSPC');
    return of.session.write(data, pos, this.store.now());
  }

  ftruncate(fh: number, size: number): void {
    const of = this.fd(fh);
    if (size < 0) fail('EINVAL');
    if (size > MAX_FILE_SIZE) fail('EFBIG');
    if (!of.session) fail('EINVAL');
    of.session.truncate(size, this.store.now());
  }

  /** fallocate(2) on a writer's handle. mode: FALLOC_FL_KEEP_SIZE (1),
   * PUNCH_HOLE (2, with KEEP_SIZE), ZERO_RANGE (16); others EOPNOTSUPP
   * (ENOTSUP, the same number on Linux). Allocating (no PUNCH/ZERO) grows the file unless KEEP_SIZE: the new
   * bytes are zeros that take no space (a file's unwritten chunks read as
   * zeros), so the promise that later writes find room can only be kept as
   * far as the disk keeps it: ENOSPC when the range would not fit now.
   * Punching and zeroing write zeros, which are stored once (one chunk of
   * zeros, deduplicated). */
  fallocate(fh: number, mode: number, offset: number, length: number): void {
    const KEEP_SIZE = 1, PUNCH_HOLE = 2, ZERO_RANGE = 16;
    const of = this.fd(fh);
    if (!of.session) fail('EBADF');
    if (!isReg((this.head.inode(of.ino) ?? of.session.node).mode)) fail('ENODEV');
    if (offset < 0 || length <= 0) fail('EINVAL');
    if (mode & ~(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE)) fail('ENOTSUP');
    if ((mode & PUNCH_HOLE) && !(mode & KEEP_SIZE)) fail('ENOTSUP');
    if ((mode & PUNCH_HOLE) && (mode & ZERO_RANGE)) fail('ENOTSUP');
    const end = offset + length;
    if (end > MAX_FILE_SIZE) fail('EFBIG');
    const s = of.session;
    const now = this.store.now();
    if (mode & (PUNCH_HOLE | ZERO_RANGE)) {
      const stop = mode & KEEP_SIZE ? Math.min(end, s.size) : end;
      const zeros = Buffer.alloc(Math.min(this.chunkSize, Math.max(0, stop - offset)));
      for (let at = offset; at < stop;) {
        // Up to the next chunk boundary: whole chunks are staged as they fill.
        const n = Math.min(stop - at, this.chunkSize - (at % this.chunkSize));
        s.write(zeros.subarray(0, n), at, now);
        at += n;
      }
      return;
    }
    const beyond = end - Math.max(offset, s.size);
    if (beyond > 0 && beyond > this.store.space.available()) fail('ENOSPC');
    // Like Linux filesystems, an allocation that leaves the size as it was
    // still counts as a modification (mtime, ctime).
    if (!(mode & KEEP_SIZE) && end > s.size) s.truncate(end, now);
    else s.touch(now);
  }

  /** Attributes as this handle sees them (a writer sees its own size). */
  fstat(fh: number): Stat {
    const of = this.fd(fh);
    const tree = of.pinned ? this.followCommits(of) : this.head;
    const row = tree.inode(of.ino);
    const node = of.pinned ? row ?? fail('ENOENT') : row ?? of.session?.node ?? fail('ENOENT');
    const st = row ? tree.statRow(row) : statOf(node, this.chunkSize);
    if (of.session && of.session.changed) {
      st.size = of.session.size;
      st.blocks = Math.ceil(st.size / 512);
      // (ctime never goes back: a time set in the past by utimens is
      // the mtime, the change itself happened now.)
      if (of.session.mtime !== null) {
        st.mtime = of.session.mtime;
        if (st.mtime > st.ctime) st.ctime = st.mtime;
      }
    }
    return st;
  }

  /** Commits the handle's session and makes the store durable. */
  fsync(fh: number): void {
    const of = this.fd(fh);
    if (of.session && of.session.changed) this.commitSession(of.session);
    if (this.writable) this.store.sync();
  }

  /** Commits what the handle wrote so far, without fsync's durability
   * barrier; the handle stays open (FUSE flush: close(2) of a descriptor). */
  commit(fh: number): void {
    const of = this.fd(fh);
    if (of.session && of.session.changed) this.commitSession(of.session);
  }

  /** Makes everything committed so far durable (fsyncdir, syncfs). */
  sync(): void {
    if (this.writable) this.store.sync();
  }

  /** Commits what the handle wrote (if anything) and closes it. */
  release(fh: number): void {
    const of = this.fds.get(fh);
    if (!of) return;
    this.fds.delete(fh);
    if (of.session) {
      const node = this.head.inode(of.ino);
      if (of.session.changed && node && node.nlink > 0) this.commitSession(of.session);
      else this.discardSession(of.session);
    }
    // Reads through a handle that also wrote count as well (O_RDWR).
    if (of.read && this.writable) this.touchAtime(of.ino);
  }

  /** Closes a handle dropping what it wrote: the committed file is untouched. */
  abort(fh: number): void {
    const of = this.fds.get(fh);
    if (!of) return;
    this.fds.delete(fh);
    if (of.session) this.discardSession(of.session);
    if (of.created && this.head.lookup(of.created.dir, of.created.name) === of.ino) {
      this.dropName(of.created.dir, of.created.name, this.head.mustInode(of.ino));
    }
  }

  /** relatime: atime moves only when not newer than mtime or ctime, or a day old; it is
   * updated in place on the current version and never makes a version. */
  private touchAtime(ino: number): void {
    const n = this.head.inode(ino);
    if (!n) return;
    const now = this.store.now();
    if (n.atime > n.mtime && n.atime > n.ctime && now - n.atime < DAY_NS) return; // (Linux relatime: either older)
    this.store.begin();
    this.store.meta.touchAtime(this.branchId, ino, now);
    this.head.inodes.set(ino, { ...n, atime: now });
  }

  private discardSession(s: WriteSession): void {
    if (s.branchId !== null) {
      const id = s.branchId;
      this.store.atomic(() => this.store.meta.dropSession(id));
      s.branchId = null;
    }
  }

  /** Merge on close: one commit applies the session's bytes onto the file's
   * current committed content. */
  commitSession(s: WriteSession): void {
    const cs = this.chunkSize;
    const meta = this.store.meta;
    const cur0 = this.head.inode(s.ino);
    // A file with no name left (unlinked, or gone with a rollback) has
    // nothing to merge onto: what its writers wrote stays theirs, readable
    // through their descriptors, until the last one closes (release drops
    // it), as an unlinked file's data does on any file system.
    if (!cur0 || cur0.nlink === 0) return;
    this.settle(s); // every staged chunk stored, or its failure known
    if (s.lost) {
      const code = s.lost;
      s.lost = false;
      this.discardSession(s);
      s.reset(cur0.size);
      fail(code, 'what this file was written with was lost with its group transaction');
    }
    if (s.failure) {
      const err = s.failure;
      s.failure = null;
      this.discardSession(s);
      s.reset(cur0.size);
      throw err;
    }
    let finalSize = 0;
    // A file created and first written within one group commit (tar, cp,
    // git: create, write, close in well under 5 ms) gets one version: the
    // content lands in the creating commit, which has not reached the file
    // yet, instead of an empty version followed by the real one.
    const c0 = s.createdAt !== null && cur0.since === s.createdAt && this.store.amendable(s.createdAt) ? s.createdAt : null;
    const cur = cur0;
    const plan = s.plan(cur);
    // A small file's content is merged (its old content read) before the
    // commit, which then only writes: no savepoint (Store.direct). A large
    // one reads chunks as it goes and keeps its savepoint.
    let small: Buffer | null = null;
    if (plan.finalSize <= INLINE_MAX) {
      small = Buffer.alloc(plan.finalSize);
      if (plan.finalSize > 0) s.mergedChunk(0, plan).copy(small);
    }
    const apply = (fn: (c: number) => void) => (c0 !== null
      ? this.changeAt(c0, fn, small !== null)
      : this.change('write', fn, null, small !== null));
    apply((c) => {
      finalSize = plan.finalSize;
      const nChunks = Math.ceil(finalSize / cs);
      const oldChunks = cur.inline !== null ? 0 : Math.ceil(cur.size / cs);
      let inline: Buffer | null = null;
      if (small !== null) {
        inline = small;
        if (oldChunks > 0) for (const i of this.head.extentIndicesFrom(s.ino, 0)) this.dropExtent(c, s.ino, i);
      } else {
        // Small old content (inline, or one short chunk) is all in chunk 0,
        // which must be written out; every other chunk is the session's or a
        // hole. (Every chunk of the new size was walked: a 3-byte file grown
        // to 256 TiB allocated a set of 500 million and killed the mount.)
        const touched = cur.inline !== null || (cur.size <= INLINE_MAX && cur.size > 0)
          ? new Set([0, ...plan.touched])
          : plan.touched;
        for (const idx of touched) {
          if (idx >= nChunks) continue;
          const whole = s.stagedWhole(idx, plan);
          let hash = whole === ZERO_CHUNK ? null : whole ?? null;
          if (!whole && !s.mergedHole(idx, plan)) {
            const data = s.mergedChunk(idx, plan);
            hash = isZero(data) ? null : this.store.chunks.put(data);
          }
          const old = this.head.extentHash(s.ino, idx);
          if ((old === null && hash === null) || (old && hash && old.equals(hash))) continue;
          meta.putExtent(this.branchId, c, s.ino, idx, hash);
        }
        if (nChunks < oldChunks) for (const i of this.head.extentIndicesFrom(s.ino, nChunks)) this.dropExtent(c, s.ino, i);
      }
      const now = this.store.now();
      const mtime = s.mtime ?? now;
      // The change happened at the last write (as fstat showed the writer),
      // not when it is committed; ctime never goes back.
      const ctime = mtime > cur.ctime ? mtime : cur.ctime;
      this.putInode(c, { ...cur, size: finalSize, mtime, ctime, inline });
      s.node = this.head.mustInode(s.ino);
      if (s.branchId !== null) meta.dropSession(s.branchId);
    });
    s.branchId = null;
    s.reset(finalSize);
  }

  private dropExtent(c: number, ino: number, idx: number): void {
    if (this.inherits) this.store.meta.putExtent(this.branchId, c, ino, idx, null);
    else this.store.meta.endExtent(this.branchId, c, ino, idx);
  }

  // --- whole-file conveniences --------------------------------------------------

  writeFile(p: string, data: Buffer | string, mode = 0o644): void {
    const fh = this.open(p, 'w', mode);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      this.write(fh, buf, 0);
    } finally {
      this.release(fh);
    }
  }

  appendFile(p: string, data: Buffer | string): void {
    const fh = this.open(p, 'a');
    try { this.write(fh, typeof data === 'string' ? Buffer.from(data) : data, 0); } finally { this.release(fh); }
  }

  // --- history --------------------------------------------------------------------

  /** Records an explicit point in history (optionally labelled). */
  snapshot(message: string | null = null, label?: string): number {
    const c = this.change('snapshot', (id) => id, message);
    if (label) this.label(label, c);
    return c;
  }

  label(name: string, commit: number = this.store.headCommit): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) fail('EINVAL', `bad label name ${JSON.stringify(name)}`);
    if (!this.store.meta.getCommit(commit)) fail('ENOENT', `no commit ${commit}`);
    this.store.seal(commit);
    this.store.atomic(() => this.store.meta.setLabel(name, commit, this.store.now()));
  }

  deleteLabel(name: string): void {
    if (!this.store.atomic(() => this.store.meta.deleteLabel(name))) fail('ENOENT', `no label ${name}`);
  }

  labels(): { name: string; commit: number }[] {
    return this.store.meta.listLabels().map((l) => ({ name: l.name, commit: l.commit_id }));
  }

  /** Creates a branch forked from this branch at a commit (default: now). */
  createBranch(name: string, from: number = this.store.headCommit): Engine {
    if (this.store.meta.branchByName(name)) fail('EEXIST', `branch ${name} exists`);
    this.store.flush();
    this.store.seal(from);
    const id = this.store.atomic(() =>
      this.store.meta.insertBranch(name, 'branch', this.branchId, from, this.store.now(), null));
    return this.branch(name, id);
  }

  /** The engine for an existing branch of the same store. */
  branch(name: string, knownId?: number): Engine {
    const b = this.store.meta.branchByName(name) ?? fail('ENOENT', `no branch ${name}`);
    const chain: ChainLink[] = [{ branch: knownId ?? b.id, upto: HEAD }];
    let cur = b;
    while (cur.parent_id !== null) {
      const parent = this.store.meta.branchById(cur.parent_id)!;
      chain.push({ branch: parent.id, upto: Math.min(cur.fork_commit ?? HEAD, chain[chain.length - 1].upto) });
      cur = parent;
    }
    return new Engine(this.store, b.id, chain);
  }

  statfs(): StatFs {
    const bsize = 4096;
    let blocks = 1 << 30, bfree = 1 << 29;
    if (!this.store.memory) {
      try {
        const s = fs.statfsSync(path.dirname(path.resolve(this.store.file)));
        blocks = Math.floor((s.blocks * s.bsize) / bsize);
        // What the store will still accept (it keeps a reserve free).
        bfree = Math.floor(Math.min(s.bavail * s.bsize, this.store.space.available()) / bsize);
      } catch { /* keep defaults */ }
    }
    const files = MAX_INO, ffree = Math.max(0, MAX_INO - this.store.inodesAllocated());
    return { bsize, frsize: bsize, blocks, bfree, bavail: bfree, files, ffree, favail: ffree, namemax: 255 };
  }

  /** Commits all open sessions, flushes and closes the store. */
  close(): void {
    for (const fh of [...this.fds.keys()]) {
      try { this.release(fh); } catch { /* best effort on shutdown */ }
    }
    MAINTENANCE.get(this.store)?.stop();
    this.store.close();
  }

  /** Pending commits reach the file now (they would within groupCommitMs). */
  flush(): void { this.store.flush(); }
  openHandles(): number { return this.fds.size; }
  rootIno(): number { return ROOT_INO; }
}
