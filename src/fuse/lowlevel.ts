// Serving the path-based handlers (ops.ts) through libfuse's low-level API
// on the main thread (the patched binding's mikofs-lowlevel.c).
//
// Why: fuse-native's high-level binding costs two thread handoffs per
// request, and libfuse's high-level layer caches attributes for one global
// timeout it can never invalidate, so mikofs had to run with attr_timeout=0:
// every stat, and every directory of every walked path, was a round trip.
// Here this module is libfuse's high-level layer: it keeps the table of
// kernel nodes (node id -> parent + name, with lookup counts), turns node
// ids back into paths for the handlers, and decides per reply how long the
// kernel may cache a name or attributes, invalidating them itself when they
// change behind the kernel's back. The live tree changes only through this
// mount (the store has one writer), so what the kernel caches of it stays
// valid until one of the events below drops it: live names and attributes
// are cached for long (CacheTimes.entry/attr, a minute by default), and so
// are views of history that name one state for good (FuseStat.stable;
// invalidateHistory drops them when thinning deleted commits); the rest of
// history (relative times, now, listings) keeps a passthrough's second:
//  - attributes are cached except for a file some process has
//    open for writing: each caller then sees its own view (getattr answers
//    per caller, see ops.ts viewOf), so those replies are not cached, and the
//    attributes cached before the first writer opened are dropped;
//  - a hard-linked inode has one kernel node per name (as libfuse gives): a
//    change made through one name (link, unlink, setattr, a commit) drops the
//    attributes cached for its other names;
//  - a rollback or restore through the control socket drops every cached
//    name and attribute, and every "no such name" still cacheable (those
//    answers are tracked: the kernel keeps no list of its negative entries).
// An open file that is unlinked (or replaced by rename) is hidden as
// `.fuse_hidden…` exactly as libfuse does (namespace.ts knows that name).
import fs from 'node:fs';
import type { FuseOps, FuseStat, OpenReply, CallerContext } from './binding.js';
import { loadLowLevel, WRITE_PAGE, type LowLevelBinding } from './binding.js';

/** Request kinds, numbered as in mikofs-lowlevel.c. */
const Op = {
  INIT: 0, LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, MKNOD: 6, MKDIR: 7, UNLINK: 8, RMDIR: 9,
  SYMLINK: 10, RENAME: 11, LINK: 12, OPEN: 13, READ: 14, WRITE: 15, FLUSH: 16, RELEASE: 17, FSYNC: 18,
  OPENDIR: 19, READDIR: 20, RELEASEDIR: 21, FSYNCDIR: 22, STATFS: 23, SETXATTR: 24, GETXATTR: 25,
  LISTXATTR: 26, REMOVEXATTR: 27, ACCESS: 28, CREATE: 29, DESTROY: 30, FALLOCATE: 31,
} as const;
const ROOT = 1;
/** Requests about an open file that its handle identifies, or (setattr)
 * its handle or live inode number. FSYNCDIR too: it names the directory
 * only for the log (it syncs the store), and fsync(2) of a descriptor of a
 * directory removed since succeeds on ext4 (it answered ENOENT here:
 * found by the differential sequences, 2026-12-05). */
const HANDLE_OPS = new Set<number>([Op.READ, Op.WRITE, Op.FLUSH, Op.RELEASE, Op.FSYNC, Op.FALLOCATE, Op.SETATTR, Op.FSYNCDIR]);
const join = (dir: string, name: string): string => (dir === '/' ? '/' + name : dir + '/' + name);
const ENOENT = 2, EIO = 5, ENODATA = 61, ERANGE = 34, ESTALE = 116;
const O_ACCMODE = 3, O_TRUNC = 0o1000;
/** Negative entries tracked at most (beyond: answered uncached). */
const MAX_ABSENT = 16384;
/** ll_reply_open flag: the kernel sends no FLUSH at close (FOPEN_NOFLUSH). */
const NO_FLUSH = 4;
const SET_MODE = 1, SET_UID = 2, SET_GID = 4, SET_SIZE = 8, SET_ATIME = 16, SET_MTIME = 32;
const S_IFMT = 0o170000, S_IFDIR = 0o040000;
/** The engine's root inode, and the first inode number of history trees. */
const ROOT_INO = 1, HISTORY_INO = 0x80000000;

/** libfuse prints why a mount failed to stderr (a background mount's log):
 * the error itself says only "fuse_mount failed". Name the usual causes. */
function explainMountFailure(e: Error): Error {
  if (!/fuse_mount failed/.test(e.message)) return e;
  let why = 'libfuse printed the reason (run with -f, or see --log)';
  try { fs.accessSync('/dev/fuse', fs.constants.R_OK | fs.constants.W_OK); } catch (err) {
    why = `/dev/fuse is not usable (${(err as NodeJS.ErrnoException).code}): load the fuse module (modprobe fuse) or run where FUSE is allowed`;
  }
  return Object.assign(new Error(`${e.message}: ${why}`), { code: 'EIO' });
}

export interface CacheTimes {
  /** Seconds the kernel may keep a name of the live tree. */
  entry: number;
  /** Seconds the kernel may keep attributes of a live file nobody writes. */
  attr: number;
  /** Seconds a "no such name" in a live directory may be kept (0: answered
   * as ENOENT). */
  negative: number;
}

/** Seconds the kernel may keep anything of history (names, attributes,
 * "no such name"): `.versions/10m/` and `name@10m` name another state a
 * second later, a label may move. */
const HISTORY_TIMEOUT = 1;

interface Node {
  id: number;
  parent: number; // 0: no name any more (unlinked, replaced)
  name: string;
  nlookup: number;
  ino: number;
  open: number;
  hidden: boolean;
  /** A directory (as its last entry reply said). */
  dir: boolean;
  /** Its inode is held in the store (keepIno) since its name went. */
  held?: boolean;
}

interface DirHandle { node: number; names: Buffer | null; ents: Float64Array | null; count: number }

export class LowLevelServer {
  private readonly b: LowLevelBinding;
  private handle: unknown = null;
  private readonly ctx = new Uint32Array(4);
  private readonly attr = new Float64Array(9);
  private readonly times = new BigInt64Array(5);
  private readonly statfsBuf = new Float64Array(11);
  private readonly nodes = new Map<number, Node>();
  private readonly children = new Map<string, number>();
  private readonly byIno = new Map<number, Set<number>>();
  /** ino -> number of open writer handles (attributes not cached meanwhile). */
  private readonly writers = new Map<number, number>();
  /** FUSE file handle -> node and whether it writes. */
  private readonly files = new Map<number, { node: number; ino: number; writer: boolean }>();
  private readonly dirs = new Map<number, DirHandle>();
  private nextNode = ROOT + 1;
  private nextDir = 1;
  private hideCounter = 0;
  private readBuf = Buffer.alloc(0);
  private onInit: (() => void) | null = null;
  private onDestroy: (() => void) | null = null;

  constructor(private readonly ops: FuseOps, private readonly times_: CacheTimes, private readonly log: (m: string) => void) {
    this.b = loadLowLevel();
    this.nodes.set(ROOT, { id: ROOT, parent: 0, name: '', nlookup: 1, ino: 0, open: 0, hidden: false, dir: true });
  }

  /** The server whose request is being dispatched (JS runs one at a time). */
  private static dispatching: LowLevelServer | null = null;

  /** The caller of the request being dispatched, whichever mount of this
   * process it came to; null outside a dispatch. */
  static context(): CallerContext | null {
    const s = LowLevelServer.dispatching;
    return s ? { uid: s.ctx[0], gid: s.ctx[1], pid: s.ctx[2], umask: s.ctx[3] } : null;
  }

  /** Mounts and starts serving; resolves once the kernel's INIT is answered. */
  mount(mountpoint: string, options: string[], spinUs = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onInit = resolve;
      try {
        this.handle = this.b.ll_mount(mountpoint, options.join(','), this.dispatch, this.ctx, this.attr, this.times);
        if (spinUs > 0) this.b.ll_spin?.(this.handle, spinUs);
      } catch (e) { reject(explainMountFailure(e as Error)); }
    });
  }

  /** Whether files opened direct_io (writers) may be mapped MAP_SHARED:
   * agreed on at INIT (patch v8, Linux 6.6+). */
  directIoMmap(): boolean {
    return !!this.handle && !!this.b.ll_direct_io_mmap?.(this.handle);
  }

  /** Settles when the session ends (unmounted, or close()). */
  readonly closed = new Promise<void>((r) => { this.onDestroy = r; });

  /** Stops serving (after the mount is gone, or to abandon it). */
  close(): void {
    if (this.handle) this.b.ll_close(this.handle);
  }

  /** Names answered "no such entry" that the kernel may still be caching:
   * parent/name -> until when (ms). A rollback brings names back behind the
   * kernel's back, and the kernel keeps no list of its negative entries, so
   * a negative answer is cacheable only while it is tracked here. */
  private readonly absent = new Map<string, { parent: number; name: string; until: number }>();

  /** How long "no such name" may be cached for parent/name (0: not at
   * all). A name with `@` may name history (name@10m exists ten minutes
   * after the file was made), so it gets history's timeout. */
  private negativeTimeout(parent: Node, name: string): number {
    const t = this.times_.negative;
    return this.liveIno(parent) === 0 || name.includes('@') ? Math.min(t, HISTORY_TIMEOUT) : t;
  }

  /** Whether "no such name" may be cached for `seconds` (then it is
   * tracked). Entries are kept in the order given, so the oldest expire
   * first; when the table is full of unexpired ones the answer is not
   * cached. */
  private rememberAbsent(parent: number, name: string, seconds: number): boolean {
    if (seconds <= 0) return false;
    const now = Date.now();
    const k = this.key(parent, name);
    this.absent.delete(k);
    while (this.absent.size >= MAX_ABSENT) {
      const first = this.absent.entries().next().value as [string, { until: number }];
      if (first[1].until > now) return false; // untracked: answered uncached
      this.absent.delete(first[0]);
    }
    this.absent.set(k, { parent, name, until: now + seconds * 1000 });
    return true;
  }

  /** Drops every attribute and page the kernel caches, and every name that
   * may have changed (after a rollback or restore changed the tree behind
   * its back). stillNamed(dirIno, name, ino): whether the live tree still
   * has that name for that inode; such a name stays (its node's attributes
   * and pages still go). Dropping the name of a directory some process
   * works in would leave that process in a deleted directory (getcwd:
   * ENOENT, git: "Unable to read current working directory") although the
   * directory is still there. Without stillNamed, every name goes. */
  invalidateAll(stillNamed?: (dirIno: number, name: string, ino: number) => boolean): void {
    if (!this.handle) return;
    const now = Date.now();
    // A name answered absent and made since (mkdir -p, a create, a rename
    // onto it) is a positive entry in the kernel now: the node loop below
    // decides about it. Dropping it here as a negative one dropped the
    // directory a shell had just cd'ed into (getcwd: ENOENT).
    for (const [k, a] of this.absent) if (a.until > now && !this.children.has(k)) this.b.ll_notify(this.handle, a.parent, -1, a.name);
    this.absent.clear();
    for (const n of this.nodes.values()) {
      // Attributes at once (before the control socket answers), pages and
      // names through the notifier thread.
      this.b.ll_notify(this.handle, n.id, -1, undefined);
      if (n.id !== ROOT) this.b.ll_notify(this.handle, n.id, 0, undefined);
      if (n.parent === 0) continue;
      const dir = this.nodes.get(n.parent);
      const dirIno = dir ? this.liveIno(dir) : 0, ino = this.liveIno(n);
      if (dirIno && ino && stillNamed?.(dirIno, n.name, ino)) continue;
      if (this.viewStillNamed(n)) continue;
      this.b.ll_notify(this.handle, n.parent, -1, n.name);
    }
    this.b.ll_notify(this.handle, ROOT, 0, undefined);
  }

  /** Drops the attributes (at once) and pages of these live inodes: on a
   * read-only mount, another process's commit changed them. */
  invalidateInodes(inos: number[]): void {
    if (!this.handle) return;
    for (const ino of inos) {
      for (const id of this.byIno.get(ino) ?? []) {
        this.b.ll_notify(this.handle, id, -1, undefined);
        this.b.ll_notify(this.handle, id, 0, undefined);
      }
    }
  }

  /** Resolves once the kernel has received every invalidation queued so
   * far (the notifier thread writes them; the main thread goes on serving
   * requests meanwhile, which a notice may wait for). A rollback through
   * the control socket is answered after this, so no name it dropped can
   * be looked up after the command returned. Gives up after maxMs. */
  async settled(maxMs = 2000): Promise<void> {
    const pending = this.b.ll_notify_pending;
    if (!this.handle || !pending) return;
    for (const t0 = Date.now(); pending.call(this.b, this.handle) > 0 && Date.now() - t0 < maxMs;) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Drops what the kernel caches of history (names, attributes, pages):
   * thinning deleted commits, so a view may now show another state. */
  invalidateHistory(): void {
    if (!this.handle) return;
    for (const n of this.nodes.values()) {
      if (n.ino < HISTORY_INO) continue;
      this.b.ll_notify(this.handle, n.id, -1, undefined);
      this.b.ll_notify(this.handle, n.id, 0, undefined);
      if (n.parent !== 0 && !this.viewStillNamed(n)) this.b.ll_notify(this.handle, n.parent, -1, n.name);
    }
  }

  /** Whether a directory of history whose path still leads to the same
   * state may keep its name in the kernel (its attributes and pages go
   * anyway). Dropping it left a shell or git working there in a deleted
   * directory (getcwd: ENOENT) after any label change, rollback or
   * thinning, though its view had not changed. Only directories: a
   * process can sit in one; a file's name is cheaply looked up again. */
  private viewStillNamed(n: Node): boolean {
    if (!n.dir || n.ino < HISTORY_INO || n.parent === 0 || !this.ops.viewIno) return false;
    const p = this.path(n.id);
    return p !== null && this.ops.viewIno(p) === n.ino;
  }

  // --- the node table ------------------------------------------------------

  private path(id: number): string | null {
    if (id === ROOT) return '/';
    let p = '';
    for (let n = this.nodes.get(id); n !== undefined && n.id !== ROOT; n = this.nodes.get(n.parent)) {
      if (n.parent === 0) return null;
      p = '/' + n.name + p;
    }
    return p;
  }

  private childPath(parent: number, name: string): string | null {
    const p = this.path(parent);
    return p === null ? null : join(p, name);
  }

  private key(parent: number, name: string): string { return parent + '/' + name; }

  private setIno(n: Node, ino: number): void {
    if (n.ino === ino) return;
    if (n.ino !== 0) this.byIno.get(n.ino)?.delete(n.id);
    n.ino = ino;
    let s = this.byIno.get(ino);
    if (!s) this.byIno.set(ino, (s = new Set()));
    s.add(n.id);
  }

  /** The node for parent/name, created if needed; counts one lookup. */
  private remember(parent: number, name: string, ino: number): Node {
    const k = this.key(parent, name);
    const id = this.children.get(k);
    let n = id === undefined ? undefined : this.nodes.get(id);
    if (!n) this.absent.delete(k);
    if (!n || n.ino !== ino) {
      if (n) this.detach(n);
      n = { id: this.nextNode++, parent, name, nlookup: 0, ino: 0, open: 0, hidden: false, dir: false };
      this.nodes.set(n.id, n);
      this.children.set(k, n.id);
    }
    this.setIno(n, ino);
    n.nlookup++;
    return n;
  }

  /** The name of n is gone (the node lives on while the kernel holds it). */
  private detach(n: Node): void {
    if (n.parent === 0) return;
    const k = this.key(n.parent, n.name);
    if (this.children.get(k) === n.id) this.children.delete(k);
    n.parent = 0;
    // The kernel may still reach the inode through this node (see openIno).
    if (n.nlookup > 0 && this.liveIno(n) && !n.held && this.ops.keepIno) {
      n.held = true;
      this.ops.keepIno(n.ino, true);
    }
  }

  private forget(id: number, count: number): void {
    const n = this.nodes.get(id);
    if (!n || id === ROOT) return;
    n.nlookup -= count;
    if (n.nlookup > 0) return;
    this.detach(n);
    if (n.held) this.ops.keepIno?.(n.ino, false);
    this.byIno.get(n.ino)?.delete(id);
    if (this.byIno.get(n.ino)?.size === 0) this.byIno.delete(n.ino);
    this.nodes.delete(id);
  }

  /** Drops the attributes the kernel caches for ino's nodes, except `but`. */
  private touchIno(ino: number, but = 0): void {
    const s = this.byIno.get(ino);
    if (!s || !this.handle) return;
    for (const id of s) if (id !== but) this.b.ll_notify(this.handle, id, -1, undefined);
  }

  /** Answers a FLUSH or FSYNC that committed a version ino's open readers
   * follow (handles.ts) once the kernel has dropped the pages it cached for
   * every node of ino: the close returns only when no old page can be read
   * (the notifier thread drops them and answers, since a reader holding a
   * page lock may wait for a READ this thread has yet to serve). */
  private replyAfterDroppingAll(req: number, ino: number): void {
    const ids = [...(this.byIno.get(ino) ?? [])];
    const last = ids.pop();
    if (last === undefined || !this.handle) return this.err(req, 0);
    for (const id of ids) this.b.ll_notify(this.handle, id, 0, undefined);
    if (this.b.ll_reply_err_inval) return this.b.ll_reply_err_inval(this.handle, req, 0, last);
    this.b.ll_notify(this.handle, last, 0, undefined);
    this.err(req, 0);
  }

  /** Answers a write of n bytes at `at` to ino once the kernel dropped the
   * pages of them it may have cached under any of ino's nodes (handles.ts:
   * the writer process reads the file through the page cache meanwhile). */
  private replyAfterDroppingPages(req: number, n: number, ino: number, at: number): void {
    const ids = [...(this.byIno.get(ino) ?? [])];
    const last = ids.pop();
    if (last === undefined) return this.b.ll_reply_write(req, n);
    this.heldWrites++;
    for (const id of ids) this.b.ll_notify(this.handle, id, at, undefined);
    this.b.ll_reply_write_inval!(this.handle, req, n, last, at, n);
  }

  /** How long the kernel may keep st: a live inode's attributes for long
   * (nothing changes them but this mount, which drops them), except while
   * a process writes the file (each caller then sees its own size and
   * times); history's for a second. */
  private attrTimeout(st: FuseStat): number {
    if (st.ino >= HISTORY_INO) return st.stable ? this.times_.attr : Math.min(this.times_.attr, HISTORY_TIMEOUT);
    return (st.mode & S_IFMT) !== S_IFDIR && this.writers.has(st.ino) ? 0 : this.times_.attr;
  }

  /** How long the kernel may keep a name leading to st. */
  private entryTimeout(st: FuseStat): number {
    return st.ino >= HISTORY_INO && !st.stable ? Math.min(this.times_.entry, HISTORY_TIMEOUT) : this.times_.entry;
  }

  private fill(st: FuseStat): void {
    const a = this.attr;
    a[0] = st.ino; a[1] = st.mode; a[2] = st.nlink; a[3] = st.uid; a[4] = st.gid;
    a[5] = st.rdev; a[6] = st.size; a[7] = st.blksize; a[8] = st.blocks;
    const t = this.times;
    t[0] = st.atimeNs; t[1] = st.mtimeNs; t[2] = st.ctimeNs;
  }

  // --- replies ---------------------------------------------------------------

  private err(req: number, e: number): void { this.b.ll_reply_err(req, e < 0 ? -e : e); }

  private entry(req: number, parent: number, name: string, st: FuseStat): void {
    const n = this.remember(parent, name, st.ino);
    n.dir = (st.mode & S_IFMT) === S_IFDIR;
    this.fill(st);
    this.b.ll_reply_entry(req, n.id, this.entryTimeout(st), this.attrTimeout(st));
  }

  /** The engine inode of a node when it is a live one (history inodes are
   * numbered from 2^31 up), else 0. */
  private liveIno(n: Node): number {
    if (n.id === ROOT) return ROOT_INO;
    return n.ino > 0 && n.ino < HISTORY_INO ? n.ino : 0;
  }

  /** getattr of a node (or of an open handle), then `then`: a live inode by
   * number, anything else by path. */
  private stat(n: Node, fh: number, then: (err: number, st?: FuseStat) => void): void {
    const ino = this.liveIno(n);
    if (fh >= 0 && this.files.has(fh)) this.ops.fgetattr(this.path(n.id) ?? '', fh, then);
    else if (ino && this.ops.getattrIno) this.ops.getattrIno(ino, then);
    else {
      const p = this.path(n.id);
      if (p === null) then(-ENOENT);
      else this.ops.getattr(p, then);
    }
  }

  /** Attributes of the entry `name` of directory node `dir`. */
  private lookupStat(dir: Node, name: string, then: (err: number, st?: FuseStat) => void): void {
    const ino = this.liveIno(dir);
    if (ino && this.ops.lookupIno) return this.ops.lookupIno(ino, name, () => this.childPath(dir.id, name), then);
    const p = this.childPath(dir.id, name);
    if (p === null) return then(-ENOENT);
    this.ops.getattr(p, then);
  }

  /** Replies with the entry of parent/name after a call that created it. */
  private created(req: number, parent: number, name: string): (err: number) => void {
    return (e) => {
      if (e) return this.err(req, e);
      const dir = this.nodes.get(parent);
      if (!dir) return this.err(req, ENOENT);
      this.lookupStat(dir, name, (e2, st) => (e2 || !st ? this.err(req, e2 || EIO) : this.entry(req, parent, name, st)));
    };
  }

  private openFlags(r: OpenReply | undefined): number {
    return (r?.directIo ? 1 : 0) | (r?.keepCache ? 2 : 0);
  }

  /** created: the open made the file (nothing of it can be cached yet). */
  private opened(n: Node, fh: number, writer: boolean, created = false): void {
    n.open++;
    this.files.set(fh, { node: n.id, ino: n.ino, writer });
    if (writer) {
      const c = this.writers.get(n.ino) ?? 0;
      this.writers.set(n.ino, c + 1);
      // Attributes cached before this writer are per-caller from now on.
      if (c === 0 && !created) this.touchIno(n.ino);
    }
  }

  private closedFile(fh: number): void {
    const f = this.files.get(fh);
    if (!f) return;
    this.files.delete(fh);
    if (f.writer) {
      const c = (this.writers.get(f.ino) ?? 1) - 1;
      if (c <= 0) this.writers.delete(f.ino); else this.writers.set(f.ino, c);
      // Nothing to drop here: attributes cached before the first writer
      // opened were dropped then, every reply since was uncacheable, and
      // the create reply's (cached) size and times were dropped by the
      // kernel itself at the first write. The commit at close changes only
      // those. (Dropping them again cost a round trip before git's link.)
    }
    const n = this.nodes.get(f.node);
    if (!n) return;
    n.open--;
    if (n.open === 0 && n.hidden) {
      const p = this.path(n.id);
      n.hidden = false;
      this.detach(n);
      if (p !== null) this.ops.unlink(p, () => {});
    }
  }

  /** libfuse's hiding of an open file about to lose its name: then(err,
   * whether it was hidden, i.e. already unlinked in the engine). */
  private hideIfOpen(parent: number, name: string, then: (err: number, hidden: boolean) => void): void {
    const n = this.openChild(parent, name);
    if (!n) return then(0, false);
    const from = this.childPath(parent, name);
    const hiddenName = this.hiddenName(n);
    const to = this.childPath(parent, hiddenName);
    if (from === null || to === null) return then(ENOENT, false);
    const hide = this.ops.hide ?? this.ops.rename;
    hide(from, to, (e: number) => {
      if (e) return then(e, false);
      this.markHidden(n, parent, hiddenName);
      then(0, true);
    });
  }

  /** The node of parent/name if a descriptor of it is open. */
  private openChild(parent: number, name: string): Node | undefined {
    const id = this.children.get(this.key(parent, name));
    const n = id === undefined ? undefined : this.nodes.get(id);
    return n && n.open > 0 ? n : undefined;
  }

  private hiddenName(n: Node): string {
    return `.fuse_hidden${(n.id >>> 0).toString(16).padStart(8, '0')}${(++this.hideCounter >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** The node table once n's name is the hidden one. */
  private markHidden(n: Node, parent: number, hiddenName: string): void {
    this.detach(n);
    n.parent = parent;
    n.name = hiddenName;
    n.hidden = true;
    this.children.set(this.key(parent, hiddenName), n.id);
    this.touchIno(n.ino, n.id);
  }

  // --- dispatch ------------------------------------------------------------------

  /** Requests received, by kind (what `--debug` reports as `req.<KIND>`):
   * the measure to compare with another FUSE filesystem's `-d` log. */
  private readonly received = new Float64Array(Op.FALLOCATE + 1);
  private heldWrites = 0;
  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, op] of Object.entries(Op)) if (this.received[op]) out[name] = this.received[op];
    if (this.heldWrites) out.WRITE_HELD = this.heldWrites; // answered after dropping pages
    return out;
  }

  private readonly dispatch = (op: number, req: number, id: number, a: unknown, b: unknown, c: unknown, d: unknown): void => {
    this.received[op]++;
    const outer = LowLevelServer.dispatching;
    LowLevelServer.dispatching = this;
    try {
      this.serve(op, req, id, a, b, c, d);
    } catch (e) {
      // Handlers answer errors through their callbacks; reaching here is a
      // bug in this adapter. The request is answered EIO if it was not.
      this.log(`fuse op ${op}: ${(e as Error)?.stack ?? String(e)}`);
      if (req !== 0 && op !== Op.FORGET) { try { this.err(req, EIO); } catch { /* answered */ } }
    } finally {
      LowLevelServer.dispatching = outer;
    }
  };

  private serve(op: number, req: number, id: number, a: unknown, b: unknown, c: unknown, d: unknown): void {
    const ops = this.ops;
    if (op === Op.FORGET) return this.forget(id, a as number);
    if (op === Op.INIT) { this.onInit?.(); this.onInit = null; return; }
    if (op === Op.DESTROY) { this.handle = null; this.onDestroy?.(); return; }
    const node = this.nodes.get(id);
    if (!node) return this.err(req, ENOENT);
    // The two most frequent requests need no path for a live inode.
    if (op === Op.LOOKUP) {
      const name = a as string;
      return this.lookupStat(node, name, (e, st) => {
        if (e || !st) {
          const seconds = e === -ENOENT || e === ENOENT ? this.negativeTimeout(node, name) : 0;
          if (seconds > 0 && this.rememberAbsent(id, name, seconds)) {
            this.b.ll_reply_entry(req, 0, seconds, 0);
            return;
          }
          return this.err(req, e || EIO);
        }
        this.entry(req, id, name, st);
      });
    }
    if (op === Op.GETATTR) {
      return this.stat(node, a as number, (e, st) => {
        if (e || !st) return this.err(req, e || EIO);
        this.fill(st);
        this.b.ll_reply_attr(req, this.attrTimeout(st));
      });
    }
    // Opening and closing a directory need no path: a directory removed
    // while a process has it open or as its working directory can, as on
    // ext4, still be opened and read (it lists nothing, see readdir).
    if (op === Op.OPENDIR) {
      const dh = this.nextDir++;
      this.dirs.set(dh, { node: id, names: null, ents: null, count: 0 });
      return this.b.ll_reply_open(req, dh, 0);
    }
    if (op === Op.RELEASEDIR) { this.dirs.delete(a as number); return this.err(req, 0); }
    if (op >= Op.SETXATTR && op <= Op.REMOVEXATTR) return this.xattr(op, req, node, a, b, c);
    // A link of a live inode goes by its number: the kernel links the node
    // a descriptor was opened through, whose name may be gone (hidden as
    // .fuse_hidden…, or its directory removed) while the file still has
    // another; ext4 links it then (by path it was ENOENT: found by the
    // differential sequences, linkat of /proc/self/fd/N, 2026-12-05). The
    // engine refuses an inode with no name left (ENOENT, as ext4 does).
    if (op === Op.LINK && this.liveIno(node) && ops.linkIno) {
      const dest = this.childPath(a as number, b as string);
      if (dest === null) return this.err(req, ENOENT);
      return ops.linkIno(this.liveIno(node), dest, (e) => {
        if (!e) this.touchIno(node.ino);
        this.created(req, a as number, b as string)(e);
      });
    }
    let path = this.path(id);
    if (op === Op.READDIR) return this.readdir(req, path, a as number, b as number, c as number);
    if (path === null) {
      // A file whose last name went, still held by the kernel: opened by
      // its inode, as a local file system would (a path walk that found the
      // name just before a rename replaced it must not fail).
      if (op === Op.OPEN && this.liveIno(node) && this.ops.openIno) return this.openNameless(req, node, a as number);
      if (op === Op.READLINK && this.liveIno(node) && this.ops.readlinkIno) {
        return this.ops.readlinkIno(node.ino, (e, target) => (e || target === undefined ? this.err(req, e || EIO) : this.b.ll_reply_readlink(req, target)));
      }
      // A descriptor outlives every name of its file, and the directory
      // where it was hidden (replaced by a rename, removed): what is done
      // through it goes by its handle, the path only names it in the log.
      if (!HANDLE_OPS.has(op)) return this.err(req, ENOENT);
      path = `(inode ${node.ino}, no name)`;
    }
    const done = (e: number) => this.err(req, e);

    switch (op) {
      case Op.SETATTR: return this.setattr(req, node, path, a as number, b as number);
      case Op.READLINK:
        return ops.readlink(path, (e, target) => (e || target === undefined ? this.err(req, e || EIO) : this.b.ll_reply_readlink(req, target)));
      case Op.MKNOD: {
        const p = join(path, a as string);
        return ops.mknod(p, b as number, c as number, this.created(req, id, a as string));
      }
      case Op.MKDIR: {
        const p = join(path, a as string);
        return ops.mkdir(p, b as number, this.created(req, id, a as string));
      }
      case Op.SYMLINK: {
        const p = join(path, b as string);
        return ops.symlink(a as string, p, this.created(req, id, b as string));
      }
      case Op.LINK: { // id: the inode linked; a: new parent, b: new name
        const dest = this.childPath(a as number, b as string);
        if (dest === null) return this.err(req, ENOENT);
        return ops.link(path, dest, (e) => {
          if (!e) this.touchIno(node!.ino);
          this.created(req, a as number, b as string)(e);
        });
      }
      case Op.UNLINK: return this.unlink(req, id, a as string);
      case Op.RMDIR: {
        const name = a as string;
        const p = join(path, name);
        return ops.rmdir(p, (e) => {
          if (!e) this.dropName(id, name);
          done(e);
        });
      }
      case Op.RENAME: return this.rename(req, id, a as string, b as number, c as string);
      case Op.OPEN: {
        const flags = a as number;
        return ops.open(path, flags, this.openReply(req, node, flags));
      }
      case Op.CREATE: {
        const name = a as string;
        const p = join(path, name);
        return ops.create(p, b as number, (e, fh, reply) => {
          // Likewise for a directory gone since the kernel looked it up.
          if (e === -ENOENT || e === ENOENT) return this.err(req, ESTALE);
          if (e || fh === undefined) return this.err(req, e || EIO);
          ops.fgetattr(p, fh, (e2, st) => {
            if (e2 || !st) { ops.release(p, fh, () => {}); return this.err(req, e2 || EIO); }
            const n = this.remember(id, name, st.ino);
            this.opened(n, fh, true, true);
            this.fill(st);
            // A new file's attributes are the same for its creator and for
            // everyone else until the creator's first write, and the kernel
            // itself drops size and times at every write: they may be
            // cached (saves the getattr the write would otherwise ask for).
            this.b.ll_reply_create(req, n.id, this.times_.entry, this.times_.attr, fh, this.openFlags(reply));
          });
        });
      }
      case Op.READ: {
        const size = a as number;
        if (this.readBuf.length < size) this.readBuf = Buffer.alloc(Math.max(size, 131072));
        const buf = this.readBuf;
        let sync = true;
        ops.read(path, c as number, buf, size, b as number, (n) => {
          if (n < 0) return this.err(req, n);
          // A late answer cannot use the shared buffer (another read may have
          // filled it meanwhile); handlers answer synchronously.
          if (!sync) return this.err(req, EIO);
          this.b.ll_reply_buf(req, buf, n);
        });
        sync = false;
        return;
      }
      case Op.WRITE: {
        const view = a as Uint8Array;
        const data = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
        // d, bit 1: the kernel writing back pages of a shared mapping. They
        // stay under writeback until this answer: dropping them first would
        // wait for itself. Bit 2: O_APPEND is in the descriptor's flags now.
        const writeback = ((d as number) & WRITE_PAGE) !== 0;
        return ops.write(path, c as number, data, data.length, b as number, d as number, (n, dropPagesAt) => {
          if (n < 0) return this.err(req, n);
          if (dropPagesAt === undefined || writeback || !this.handle || !this.b.ll_reply_write_inval) return this.b.ll_reply_write(req, n);
          this.replyAfterDroppingPages(req, n, node!.ino, dropPagesAt);
        });
      }
      case Op.FLUSH: return ops.flush(path, a as number, (e, dropPages) => {
        if (!e && this.files.get(a as number)?.writer) this.touchIno(node!.ino, id);
        if (!e && dropPages) return this.replyAfterDroppingAll(req, node!.ino);
        done(e);
      });
      case Op.RELEASE: return ops.release(path, a as number, (e) => { this.closedFile(a as number); done(e); });
      case Op.FSYNC: return ops.fsync(path, a as number, b as number, (e, dropPages) => {
        if (!e && dropPages) return this.replyAfterDroppingAll(req, node!.ino);
        done(e);
      });
      // a: mode (FALLOC_FL_*), b: offset, c: length, d: the file handle.
      case Op.FALLOCATE:
        if (!ops.fallocate) return this.err(req, 95 /* EOPNOTSUPP */);
        return ops.fallocate(path, d as number, a as number, b as number, c as number, done);
      case Op.FSYNCDIR: return ops.fsyncdir(path, a as number, b as number, done);
      case Op.STATFS:
        return ops.statfs(path, (e, s) => {
          if (e || !s) return this.err(req, e || EIO);
          const v = this.statfsBuf;
          v[0] = s.bsize; v[1] = s.frsize; v[2] = s.blocks; v[3] = s.bfree; v[4] = s.bavail;
          v[5] = s.files; v[6] = s.ffree; v[7] = s.favail; v[8] = s.fsid; v[9] = s.flag; v[10] = s.namemax;
          this.b.ll_reply_statfs(req, v);
        });
      case Op.ACCESS: return ops.access(path, a as number, done);
      default: return this.err(req, 38 /* ENOSYS */);
    }
  }

  /** Extended attributes: a live inode by number (its descriptors reach it
   * after its last name went, and no other file that took the name since),
   * anything else (history) by path. */
  private xattr(op: number, req: number, node: Node, a: unknown, b: unknown, c: unknown): void {
    const ops = this.ops;
    const ino = this.liveIno(node);
    const byIno = ino !== 0 && ops.getxattrIno && ops.listxattrIno && ops.setxattrIno && ops.removexattrIno;
    const path = byIno ? '' : this.path(node.id);
    if (path === null) return this.err(req, ENOENT);
    const done = (e: number) => this.err(req, e);
    const value = (e: number, v?: Buffer | null) => this.sized(req, e, v ?? null, b as number);
    const list = (e: number, names?: string[]) =>
      this.sized(req, e, names ? Buffer.from(names.map((x) => x + '\0').join('')) : Buffer.alloc(0), a as number);
    switch (op) {
      case Op.SETXATTR:
        return byIno ? ops.setxattrIno!(ino, a as string, b as Buffer, c as number, done) : ops.setxattr(path, a as string, b as Buffer, 0, c as number, done);
      case Op.GETXATTR: return byIno ? ops.getxattrIno!(ino, a as string, value) : ops.getxattr(path, a as string, 0, value);
      case Op.LISTXATTR: return byIno ? ops.listxattrIno!(ino, list) : ops.listxattr(path, list);
      default: return byIno ? ops.removexattrIno!(ino, a as string, done) : ops.removexattr(path, a as string, done);
    }
  }

  /** An xattr value or list: its size for a size query, ERANGE if the
   * caller's buffer is too small. */
  private sized(req: number, e: number, v: Buffer | null, size: number): void {
    if (e) return this.err(req, e);
    if (v === null) return this.err(req, ENODATA);
    if (size === 0) return this.b.ll_reply_xattr(req, v.length);
    if (v.length > size) return this.err(req, ERANGE);
    this.b.ll_reply_buf(req, v, v.length);
  }

  /** The answer to an OPEN of node (by path or by inode). */
  private openReply(req: number, node: Node, flags: number): (e: number, fh?: number, reply?: OpenReply) => void {
    const id = node.id;
    return (e, fh, reply) => {
      // The kernel found the name (its lookup, or a cached entry) and the
      // file has gone since (a rollback or restore between the two):
      // ESTALE makes it walk the path again asking afresh, and then fail
      // with ENOENT, create the file (O_CREAT, which OPEN does not
      // carry), or open what the name leads to now.
      if (e === -ENOENT || e === ENOENT) return this.err(req, ESTALE);
      if (e || fh === undefined) return this.err(req, e || EIO);
      const writer = (flags & O_ACCMODE) !== 0;
      this.opened(node, fh, writer);
      // An O_TRUNC open changed the size under the file's other names
      // (hard links: kernel nodes of their own), whose attributes the
      // kernel may keep: a reader open through one read its cached
      // pages past the new end (read-only O_TRUNC, found by the
      // differential sequences, 2026-12-05; a writer's open drops them
      // in opened()).
      if (flags & O_TRUNC) this.touchIno(node.ino, id);
      // Only a writer's close commits (ops.ts flush): a reader's close(2)
      // needs no round trip.
      this.b.ll_reply_open(req, fh, this.openFlags(reply) | (writer ? 0 : NO_FLUSH));
    };
  }

  private openNameless(req: number, node: Node, flags: number): void {
    this.ops.openIno!(node.ino, flags, this.openReply(req, node, flags) as (err: number, fh?: number) => void);
  }

  private dropName(parent: number, name: string): void {
    const id = this.children.get(this.key(parent, name));
    const n = id === undefined ? undefined : this.nodes.get(id);
    if (!n) return;
    this.detach(n);
    // Other names of a hard-linked inode: nlink changed.
    this.touchIno(n.ino, n.id);
  }

  private unlink(req: number, parent: number, name: string): void {
    this.hideIfOpen(parent, name, (e, hidden) => {
      if (e || hidden) return this.err(req, e);
      const p = this.childPath(parent, name);
      if (p === null) return this.err(req, ENOENT);
      this.ops.unlink(p, (e2) => {
        if (!e2) this.dropName(parent, name);
        this.err(req, e2);
      });
    });
  }

  private rename(req: number, parent: number, name: string, newParent: number, newName: string): void {
    const from = this.childPath(parent, name);
    const to = this.childPath(newParent, newName);
    if (from === null || to === null) return this.err(req, ENOENT);
    // Two names of one file (hard links are kernel nodes of their own, so
    // the kernel cannot tell): rename does nothing, and both names stay.
    const src = this.nodes.get(this.children.get(this.key(parent, name)) ?? 0);
    const dst = this.nodes.get(this.children.get(this.key(newParent, newName)) ?? 0);
    if (src && dst && src !== dst && this.liveIno(src) !== 0 && src.ino === dst.ino) {
      this.moved(parent, name, newParent, newName); // as the kernel now sees it
      return this.err(req, 0);
    }
    const done = (e2: number) => {
      if (e2) return this.err(req, e2);
      const n = this.moved(parent, name, newParent, newName);
      // A rename changes the inode's ctime: its other names (hard
      // links, each a kernel node of its own) must not keep the old one.
      if (n) this.touchIno(n.ino, n.id);
      this.err(req, 0);
    };
    // An open file replaced by the rename keeps a hidden name. In one
    // change with the rename: hidden first (an unlink), the store had a
    // commit without the name (mv new cfg with cfg open: history showed
    // no cfg between the two; found 2026-12-05), and a rename that then
    // failed in the store (ENOSPC: a rename needs rows, an unlink never
    // does) had removed the file.
    const open = this.openChild(newParent, newName);
    if (open && this.ops.renameOver) {
      const hiddenName = this.hiddenName(open);
      const hidden = this.childPath(newParent, hiddenName);
      if (hidden === null) return this.err(req, ENOENT);
      return this.ops.renameOver(from, to, hidden, (e2: number) => {
        if (!e2) this.markHidden(open, newParent, hiddenName);
        done(e2);
      });
    }
    this.hideIfOpen(newParent, newName, (e) => {
      if (e) return this.err(req, e);
      this.ops.rename(from, to, done);
    });
  }

  /** The node table after a rename: the kernel moved the source's node to
   * the new name, and the node that had it is gone from it. */
  private moved(parent: number, name: string, newParent: number, newName: string): Node | undefined {
    this.dropName(newParent, newName);
    const n = this.nodes.get(this.children.get(this.key(parent, name)) ?? 0);
    if (n) {
      this.detach(n);
      n.parent = newParent;
      n.name = newName;
      this.children.set(this.key(newParent, newName), n.id);
    }
    return n;
  }

  private setattr(req: number, node: Node, path: string, mask: number, fh: number): void {
    const ops = this.ops;
    const a = this.attr, t = this.times;
    const mode = a[1], uid = a[3], gid = a[4], size = a[6];
    const atime = t[3], mtime = t[4];
    // A live inode is changed by number; anything else (history answers
    // EROFS, an orphan) by path.
    const ino = this.liveIno(node);
    const { chmodIno, chownIno, truncateIno, utimensIno } = ops;
    const byIno = ino !== 0 && chmodIno && chownIno && truncateIno && utimensIno;
    const steps: ((next: (e: number) => void) => void)[] = [];
    const uidArg = mask & SET_UID ? uid : 0xffffffff, gidArg = mask & SET_GID ? gid : 0xffffffff;
    const at = mask & SET_ATIME ? atime : null, mt = mask & SET_MTIME ? mtime : null;
    if (mask & SET_MODE) steps.push((k) => (byIno ? chmodIno(ino, mode, k) : ops.chmod(path, mode, k)));
    if (mask & (SET_UID | SET_GID)) steps.push((k) => (byIno ? chownIno(ino, uidArg, gidArg, k) : ops.chown(path, uidArg, gidArg, k)));
    if (mask & SET_SIZE) {
      steps.push((k) => (fh >= 0 && this.files.has(fh) ? ops.ftruncate(path, fh, size, k)
        : byIno ? truncateIno(ino, size, k) : ops.truncate(path, size, k)));
    }
    if (mask & (SET_ATIME | SET_MTIME)) {
      steps.push((k) => (byIno ? utimensIno(ino, at, mt, k) : ops.utimens(path, at, mt, k)));
    }
    // Nothing to set: chown(f, -1, -1), which still changes ctime (without
    // writeback caching the kernel does not send the time itself).
    if (steps.length === 0) {
      steps.push((k) => (byIno ? chownIno(ino, 0xffffffff, 0xffffffff, k) : ops.chown(path, 0xffffffff, 0xffffffff, k)));
    }
    const run = (i: number): void => {
      if (i < steps.length) {
        steps[i]((e) => (e ? this.err(req, e) : run(i + 1)));
        return;
      }
      this.touchIno(node.ino, node.id);
      this.stat(node, fh, (e, st) => {
        if (e || !st) return this.err(req, e || EIO);
        this.fill(st);
        this.b.ll_reply_attr(req, this.attrTimeout(st));
      });
    };
    run(0);
  }

  /** path null: the directory's name is gone (removed while open): it lists nothing. */
  private readdir(req: number, path: string | null, size: number, off: number, dh: number): void {
    const d = this.dirs.get(dh);
    if (!d) return this.err(req, 9 /* EBADF */);
    if (path === null) return this.b.ll_reply_dir(req, size, off, Buffer.alloc(0), new Float64Array(0), 0);
    const reply = () => this.b.ll_reply_dir(req, size, off, d.names!, d.ents!, d.count);
    if (d.names !== null && off !== 0) return reply();
    // Listed at the first read (and again after rewinddir), as libfuse does.
    this.ops.readdir(path, (e, names, stats) => {
      if (e || !names) return this.err(req, e || EIO);
      const ents = new Float64Array(names.length * 2);
      for (let i = 0; i < names.length; i++) {
        ents[2 * i] = stats?.[i]?.ino ?? 0;
        ents[2 * i + 1] = stats?.[i]?.mode ?? 0;
      }
      d.names = Buffer.from(names.join('\0') + '\0');
      d.ents = ents;
      d.count = names.length;
      reply();
    });
  }
}
