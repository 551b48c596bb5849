// The fuse-native binding (patched: see src/fuse/native-contract.md), typed
// for what the adapter uses. The patch (v3+) also carries what used to be
// JS-level fixes here (fgetattr gets the handle; getxattr/listxattr answer
// ERANGE and exact sizes), so the binding is used as is.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A stat as fuse-native takes it: times in ms (Date | number); the patched
 * binding (v2+) uses the bigint `*Ns` fields instead when present. */
export interface FuseStat {
  mode: number; uid: number; gid: number; size: number; dev: number; nlink: number; ino: number;
  rdev: number; blksize: number; blocks: number;
  atime: number; mtime: number; ctime: number;
  atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint;
  /** History only: the state shown cannot change but by thinning, which
   * drops what the kernel caches of history (lowlevel.ts), so it may be
   * cached as long as the live tree. */
  stable?: boolean;
}

export interface FuseStatfs {
  bsize: number; frsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; favail: number; fsid: number; flag: number; namemax: number;
}

export type Cb = (err: number) => void;
export type ValueCb<T> = (err: number, value?: T) => void;
/** A utimens time: ms (fractional), bigint ns (with utimensNs), or null = UTIME_OMIT. */
export type NativeTime = number | bigint | null;

/** What a WRITE is, beside its bytes (the binding's fourth dispatch
 * argument): the kernel writing back pages of a shared mapping, and whether
 * the descriptor has O_APPEND at the moment of this write (fcntl F_SETFL
 * changes it without telling the filesystem; writeback of a mapping never
 * appends, whatever descriptor it goes through). */
export const WRITE_PAGE = 1;
export const WRITE_APPEND = 2;

/** The handler object (fuse-native's `ops`). Errors are negative errnos. */
export interface FuseOps {
  init(cb: Cb): void;
  access(path: string, mode: number, cb: Cb): void;
  statfs(path: string, cb: ValueCb<FuseStatfs>): void;
  getattr(path: string, cb: ValueCb<FuseStat>): void;
  fgetattr(path: string, fh: number, cb: ValueCb<FuseStat>): void;
  /** Attributes of a live inode by number, as the caller sees them (the
   * low-level loop knows the inode of every kernel node: no path to build
   * and walk). Live inode numbers are below 2^31. */
  getattrIno?(ino: number, cb: ValueCb<FuseStat>): void;
  /** The entry `name` of live directory `dir`; `path` builds its path for
   * names that may lead into history (name@time, /.versions). */
  lookupIno?(dir: number, name: string, path: () => string | null, cb: ValueCb<FuseStat>): void;
  /** open of a live inode the kernel holds that has no name any more
   * (unlinked, or replaced by a rename, without a descriptor open). */
  openIno?(ino: number, flags: number, cb: (err: number, fh?: number, reply?: never) => void): void;
  /** The low-level loop hides an open file about to lose its name (unlink,
   * or replaced by a rename) under `.fuse_hidden…`, as libfuse does: unlink
   * it in the store and keep the hidden name for its inode. A rename(2) to
   * such a name is an ordinary rename. */
  hide?(from: string, to: string, cb: Cb): void;
  /** rename(2) of `from` onto `to`, whose file is open: as one change (no
   * state of the store without `to`, which a hide and then a rename made),
   * the replaced file kept reachable under the hidden name `hidden`. */
  renameOver?(from: string, to: string, hidden: string, cb: Cb): void;
  /** The inode number a path of history (a view: /.versions/..., @label/...,
   * name@point) resolves to now, 0 when none: after a label change,
   * rollback or thinning, a view directory whose path still leads to the
   * same state keeps its name in the kernel (a shell or git working in it
   * goes on working). Synchronous. */
  viewIno?(path: string): number;
  /** readlink of a live symlink the kernel holds that has no name any more. */
  readlinkIno?(ino: number, cb: ValueCb<string>): void;
  /** The kernel holds (keep) or has let go of a live inode with no name:
   * while held, the store keeps it as it was (not retired). Counted. */
  keepIno?(ino: number, keep: boolean): void;
  /** Attribute changes of a live inode by number (setattr of a kernel node
   * the loop knows): no path to build, route and walk. */
  chmodIno?(ino: number, mode: number, cb: Cb): void;
  chownIno?(ino: number, uid: number, gid: number, cb: Cb): void;
  truncateIno?(ino: number, size: number, cb: Cb): void;
  utimensIno?(ino: number, atime: NativeTime, mtime: NativeTime, cb: Cb): void;
  /** A new name dest for a live inode by number: linkat(2) of a descriptor
   * (/proc/self/fd/N, AT_EMPTY_PATH) whose name went (replaced, or its
   * directory removed) while the file still has another. */
  linkIno?(ino: number, dest: string, cb: Cb): void;
  /** Extended attributes of a live inode by number: also reached through a
   * descriptor of a file that has no name any more (fgetxattr after unlink). */
  getxattrIno?(ino: number, name: string, cb: ValueCb<Buffer | null>): void;
  listxattrIno?(ino: number, cb: ValueCb<string[]>): void;
  setxattrIno?(ino: number, name: string, value: Buffer, flags: number, cb: Cb): void;
  removexattrIno?(ino: number, name: string, cb: Cb): void;
  /** cb's `dropPages`: the flush committed a version that open readers
   * follow, and the pages the kernel cached for them must go. */
  flush(path: string, fh: number, cb: (err: number, dropPages?: boolean) => void): void;
  fsync(path: string, datasync: number, fh: number, cb: (err: number, dropPages?: boolean) => void): void;
  fsyncdir(path: string, datasync: number, fh: number, cb: Cb): void;
  readdir(path: string, cb: (err: number, names?: string[], stats?: Partial<FuseStat>[]) => void): void;
  truncate(path: string, size: number, cb: Cb): void;
  ftruncate(path: string, fh: number, size: number, cb: Cb): void;
  /** fallocate(2) on an open file: mode is FALLOC_FL_* (the kernel passes
   * only KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE on). */
  fallocate?(path: string, fh: number, mode: number, offset: number, length: number, cb: Cb): void;
  utimens(path: string, atime: NativeTime, mtime: NativeTime, cb: Cb): void;
  readlink(path: string, cb: ValueCb<string>): void;
  chown(path: string, uid: number, gid: number, cb: Cb): void;
  chmod(path: string, mode: number, cb: Cb): void;
  mknod(path: string, mode: number, dev: number, cb: Cb): void;
  setxattr(path: string, name: string, value: Buffer, position: number, flags: number, cb: Cb): void;
  getxattr(path: string, name: string, position: number, cb: ValueCb<Buffer | null>): void;
  listxattr(path: string, cb: ValueCb<string[]>): void;
  removexattr(path: string, name: string, cb: Cb): void;
  open(path: string, flags: number, cb: (err: number, fh?: number, openFlags?: OpenReply) => void): void;
  read(path: string, fh: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  /** `how`: WRITE_PAGE and WRITE_APPEND bits. cb's `dropPagesAt`: where
   * the bytes went, when pages the kernel may have cached of them must be
   * dropped before the write is answered. */
  write(path: string, fh: number, buf: Buffer, len: number, pos: number, how: number, cb: (n: number, dropPagesAt?: number) => void): void;
  release(path: string, fh: number, cb: Cb): void;
  create(path: string, mode: number, cb: (err: number, fh?: number, openFlags?: OpenReply) => void): void;
  unlink(path: string, cb: Cb): void;
  rename(src: string, dest: string, cb: Cb | number, flags?: number | Cb): void;
  link(src: string, dest: string, cb: Cb): void;
  symlink(target: string, path: string, cb: Cb): void;
  mkdir(path: string, mode: number, cb: Cb): void;
  rmdir(path: string, cb: Cb): void;
}

/** What open/create would like the kernel to do with the page cache for a
 * handle (FOPEN_DIRECT_IO / FOPEN_KEEP_CACHE). Passed as a third callback
 * argument (contract §7); a global -o direct_io would override directIo. */
export interface OpenReply { directIo: boolean; keepCache: boolean }

export interface CallerContext { uid: number; gid: number; pid: number; umask: number | null }

export interface FuseOptions {
  timeout?: number | false;
  force?: boolean;
  mkdir?: boolean;
  debug?: boolean;
  allowOther?: boolean;
  defaultPermissions?: boolean;
  fsname?: string;
  subtype?: string;
  utimensNs?: boolean;
  extraOptions?: string[];
}

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  context?(): CallerContext | null;
}

interface FuseClass {
  new (mnt: string, ops: Partial<FuseOps>, opts: FuseOptions): FuseInstance;
  getContext?: () => CallerContext | null;
  MIKOFS_PATCH_VERSION?: number;
  /** The open/create callbacks honour OpenReply (patch v3+). */
  MIKOFS_OPEN_FLAGS?: boolean;
}

const Base = require('fuse-native') as FuseClass;
// fuse-native itself refuses a binding without the expected patch; this
// catches a different fuse-native copy being resolved from here.
if ((Base.MIKOFS_PATCH_VERSION ?? 0) < 3) {
  throw new Error(`fuse-native is not the mikofs-patched v3+ binding (patch version ${Base.MIKOFS_PATCH_VERSION}); run \`node scripts/build-fuse-native.js\``);
}

export const Fuse = Base;
const raw = require((Base as unknown as { BINDING_PATH: string }).BINDING_PATH) as LowLevelBinding;

/** What the loaded binding can do beyond upstream fuse-native. */
export const capabilities = {
  /** fuse.context()/Fuse.getContext(): the caller's uid/gid. */
  callerContext: typeof Base.getContext === 'function',
  /** Stat times with ns precision (*Ns fields) and utimensNs. */
  nsTimes: (Base.MIKOFS_PATCH_VERSION ?? 0) >= 2,
  /** Per-open FOPEN_DIRECT_IO / FOPEN_KEEP_CACHE from the open callback. */
  openFlags: Base.MIKOFS_OPEN_FLAGS === true,
  /** The low-level main-thread loop (lowlevel.ts). */
  lowLevel: raw.mikofs_lowlevel === 1,
  /** ll_reply_write_inval: a write answered after its pages are dropped (v6). */
  writeAfterInval: typeof raw.ll_reply_write_inval === 'function',
};

/** The low-level main-thread binding (fuse-native patch, mikofs-lowlevel.c).
 * Requests arrive at `dispatch(op, req, nodeid, a, b, c, d)`; each `req` is
 * answered once with one ll_reply_* call; `attr`/`times` carry stats. */
export interface LowLevelBinding {
  mikofs_lowlevel?: number;
  ll_mount(mountpoint: string, options: string, dispatch: (op: number, req: number, id: number, a: unknown, b: unknown, c: unknown, d: unknown) => void,
    ctx: Uint32Array, attr: Float64Array, times: BigInt64Array): unknown;
  ll_close(handle: unknown): void;
  /** After a request, keep reading for `us` microseconds before returning to
   * the event loop (0: never). */
  ll_spin?(handle: unknown, us: number): void;
  /** Whether INIT agreed that direct_io files may be mapped MAP_SHARED
   * (FUSE_DIRECT_IO_ALLOW_MMAP, patch v8, Linux 6.6+). */
  ll_direct_io_mmap?(handle: unknown): boolean;
  /** Queue an invalidation: off -1 = attributes, 0 = attributes and data;
   * with a name: the entry `name` in directory `id`. */
  ll_notify(handle: unknown, id: number, off: number, name: string | undefined): void;
  /** Answers a FLUSH/FSYNC once node `id`'s pages are dropped (patch v11). */
  ll_reply_err_inval?(handle: unknown, req: number, err: number, id: number): void;
  /** Queued invalidations not yet written to the kernel (patch v10). */
  ll_notify_pending?(handle: unknown): number;
  ll_reply_err(req: number, errno: number): void;
  ll_reply_entry(req: number, id: number, entryTimeout: number, attrTimeout: number): void;
  ll_reply_create(req: number, id: number, entryTimeout: number, attrTimeout: number, fh: number, openFlags: number): void;
  ll_reply_attr(req: number, attrTimeout: number): void;
  ll_reply_open(req: number, fh: number, openFlags: number): void;
  ll_reply_buf(req: number, buf: Buffer, length: number): void;
  ll_reply_write(req: number, count: number): void;
  /** Answers a WRITE from the notifier thread once the kernel dropped the
   * cached pages of [off, off + len) of node `id` (patch v6). */
  ll_reply_write_inval?(handle: unknown, req: number, count: number, id: number, off: number, len: number): void;
  ll_reply_readlink(req: number, target: string): void;
  ll_reply_xattr(req: number, size: number): void;
  ll_reply_statfs(req: number, v: Float64Array): void;
  ll_reply_dir(req: number, size: number, off: number, names: Buffer, ents: Float64Array, count: number): void;
}


/** The low-level binding, or an error naming the fix. */
export function loadLowLevel(): LowLevelBinding {
  if (raw.mikofs_lowlevel !== 1) throw new Error('the fuse-native binding lacks the mikofs low-level loop; run `node scripts/build-fuse-native.js`');
  return raw;
}

let contextSource: () => CallerContext | null = () => (Base.getContext ? Base.getContext() : null);
/** Where getCallerContext() reads from (the low-level server sets itself). */
export function setContextSource(fn: () => CallerContext | null): void { contextSource = fn; }

export function getCallerContext(): CallerContext | null {
  return contextSource();
}
