// The fuse-native handler object: each op resolves its path (namespace.ts),
// makes one Engine call and answers 0 / a value, or -errno. Handlers are
// synchronous (the engine is), except readdir of a big directory, which
// yields between slices; the caller context (context.ts) is read at the
// start of a handler, while it is valid.
//
// Commit points: what the writers of a file wrote (they share one session,
// see handles.ts) becomes visible when any of their descriptors is closed
// (FUSE flush, which close(2) waits for; release is asynchronous to close(2)
// and would let a fresh open race the commit), on fsync, and before a time
// or size change by path (utimens/truncate): `cp -p` and `tar` set the mtime
// while the file is still open, and the session committing afterwards would
// otherwise overwrite that mtime with its own.
import type { Engine } from '../engine/engine.js';
import type { Cred, Stat } from '../engine/types.js';
import { S_IFDIR, S_IFMT, S_ISGID, S_ISUID } from '../engine/types.js';
import { fail } from '../engine/errors.js';
import { xattrNameError } from '../engine/engine.js';
import { E, errnoOf, isFault } from './errno.js';
import { toFuseStat, toFuseStatfs, toTimeSpec, direntStat } from './attr.js';
import { callerCred, callerProcess, callerInGroup } from './context.js';
import { Namespace, type Route } from './namespace.js';
import { Handles, type Handle } from './handles.js';
import { WRITE_APPEND, WRITE_PAGE, type Cb, type FuseOps, type FuseStat, type NativeTime, type ValueCb } from './binding.js';

const SECURITY_CAPABILITY = 'security.capability';
const ENOENT = 2;
const O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2, O_TRUNC = 0o1000, O_APPEND = 0o2000;
const isAcl = (name: string) => name.startsWith('system.posix_acl_');
/** Entries typed per event-loop turn (~8 us each). */
const READDIR_SLICE = 4096;

export interface OpsOptions {
  readonly: boolean;
  /** Faults (not ordinary POSIX answers) are reported here. */
  log: (msg: string) => void;
  /** Page-cache the reads of a process from a file it writes (handles.ts);
   * needs the server to answer a write after dropping pages. */
  cacheBorrowed?: boolean;
  /** Whether writers can map a file MAP_SHARED (their unsaved bytes may
   * then be in the kernel page cache; readers of other processes read
   * around it while a writer is open). Asked at each open: known after INIT. */
  sharedMapsAllowed?: () => boolean;
}

export function makeOps(engine: Engine, opts: OpsOptions): FuseOps {
  const ns = new Namespace(engine);
  const handles = new Handles(opts.cacheBorrowed ?? false, opts.sharedMapsAllowed);
  // Views of the past are kept by commit; thinning may delete one.
  if (!engine.store.readonly) engine.maintenance.onThinned(() => ns.history.forgetViews());

  function failed(op: string, path: string, e: unknown): number {
    if (isFault(e)) opts.log(`${op} ${path}: ${(e as Error)?.stack ?? String(e)}`);
    return -errnoOf(e);
  }
  /** Runs fn; answers cb(0, result) or cb(-errno). */
  function answer<T>(op: string, path: string, cb: ValueCb<T>, fn: () => T): void {
    let v: T;
    try { v = fn(); } catch (e) { cb(failed(op, path, e)); return; }
    cb(0, v);
  }
  /** The path of a route that names the live tree (what namespace changes
   * and opens need). A read-only view route (later issues) answers EROFS
   * here for changes; an orphan has no name any more. */
  const live = (r: Route): string => (r.kind === 'live' ? r.path : r.kind === 'view' ? fail('EROFS') : fail('ENOENT'));
  /** A path's target for attribute ops, which the engine takes by path or ino. */
  const target = (r: Route): string | number => (r.kind === 'live' ? r.path : r.kind === 'view' ? fail('EROFS') : r.ino);
  const tt = ns.history;
  /** getxattr answered without resolving anything: a bad name (the errno
   * ext4 gives), an ACL (`ls -l` asks every file for one), or a name no
   * file has (`ls -l` and every cached write ask for security.*). */
  function xattrShortcut(name: string, cb: ValueCb<Buffer | null>): boolean {
    const bad = isAcl(name) ? 'ENOTSUP' : xattrNameError(name);
    if (bad) { cb(-E[bad]); return true; }
    if (!engine.mayHaveXattr(name)) { cb(0, null); return true; }
    return false;
  }
  /** trusted.* is listed to CAP_SYS_ADMIN only, as ext4 does (the kernel
   * refuses the values to others, but the names would show). */
  const visibleXattrs = (names: string[]): string[] =>
    (callerCred().uid === 0 ? names : names.filter((n) => !n.startsWith('trusted.')));
  const statOf = (r: Route): Stat =>
    (r.kind === 'live' ? engine.stat(r.path) : r.kind === 'view' ? tt.stat(r.v) : engine.head.statIno(r.ino));
  /** Commits what open writers of the file wrote so far (see header). */
  function commitWriters(r: Route): void {
    if (r.kind === 'view') fail('EROFS');
    commitWritersOf(r.kind === 'live' ? engine.stat(r.path).ino : r.ino);
  }
  function commitWritersOf(ino: number): void {
    const efh = handles.writerOf(ino);
    if (efh !== undefined) engine.commit(efh);
  }
  /** The handle behind a FUSE handle number (EBADF if unknown). */
  const handle = (fh: number): Handle => handles.get(fh) ?? fail('EBADF');
  /** Attributes of a path as the caller sees them: the committed ones,
   * except for a process that has the file open for writing, which sees its
   * own writes (as fstat(2) must: the kernel sends fstat as a path getattr,
   * without the handle). While a file has a writer, its attributes are
   * not cached by the kernel (lowlevel.ts), so each caller gets its own answer. */
  function viewOf(r: Route): Stat {
    const st = statOf(r);
    return r.kind === 'view' ? st : callerView(st);
  }
  /** A route's attributes for the kernel, history marked stable or not. */
  function fuseStatOf(r: Route): FuseStat {
    const st = toFuseStat(viewOf(r));
    if (r.kind === 'view' && tt.isStable(r.v)) st.stable = true;
    return st;
  }
  /** Attributes as the caller sees them. The kernel applies the size it is
   * told to the one inode every process shares, and a size below a shared
   * mapping's cuts its pages: the mapping writer's next touch is SIGBUS
   * (seen with SQLite's WAL index when another process opened it). So when
   * a writer may have the file mapped, others see the committed content and
   * attributes but never a size below the writer's, in a name lookup and in
   * a stat alike: the cut comes from whichever answer reaches the kernel
   * between the writer's last extending write and its first touch of the
   * mapping (2026-12-04: a stat loop beside a writer that made, grew and
   * mapped a file killed it within seconds; SQLite's processes opening and
   * closing one WAL database, within 5 s). */
  function callerView(st: Stat): Stat {
    const efh = handles.writerOf(st.ino);
    if (efh === undefined) return st;
    // A file with no name left is what its session holds (nothing of it is
    // committed any more): that is what its descriptors must see.
    if (st.nlink === 0 || handles.writesTo(st.ino, callerProcess())) return engine.fstat(efh);
    if (handles.sizeMustCoverWriter(st.ino)) {
      const own = engine.fstat(efh);
      if (own.size > st.size) return { ...st, size: own.size, blocks: own.blocks };
    }
    return st;
  }
  /** A write or O_TRUNC by a process without CAP_FSETID (taken as: not
   * root) clears setuid, and setgid when the file is group-executable or the
   * caller is not in its group, as Linux does. The kernel does this itself
   * for cached writes and truncate(2), but not for direct_io writes nor for
   * an atomic O_TRUNC open, so the adapter must. */
  function killPrivileges(ino: number, cred: Cred): void {
    // File capabilities go with any change of content, by root too (Linux's
    // cap_inode_killpriv): a binary patched in place must not keep them.
    if (engine.mayHaveXattr(SECURITY_CAPABILITY) && engine.xattr(ino, SECURITY_CAPABILITY) !== null) {
      engine.removexattr(ino, SECURITY_CAPABILITY);
    }
    if (cred.uid === 0) return;
    const node = engine.head.inode(ino);
    if (!node || !(node.mode & (S_ISUID | S_ISGID))) return;
    let kill = node.mode & S_ISUID;
    if ((node.mode & S_ISGID) && ((node.mode & 0o010) || !callerInGroup(cred, node.gid))) kill |= S_ISGID;
    if (kill) engine.chmod(ino, node.mode & 0o7777 & ~kill);
  }
  /** After a commit of ino: whether pages cached for its open readers are
   * of an older version (they read the newest one; see handles.ts). */
  const readersMoveOn = (ino: number): boolean => handles.committed(ino, () => engine.head.inode(ino)?.since ?? 0);
  /** Records an open engine handle and answers with its FUSE handle. */
  function opened(path: string, efh: number, cb: (err: number, fh?: number, reply?: never) => void): void {
    const ino = engine.inoOf(efh);
    const writer = engine.isWriter(efh);
    const { fh, reply } = handles.add(efh, ino, path, {
      writer, owner: writer ? callerProcess() : 0, version: engine.head.inode(ino)?.since ?? 0,
    });
    (cb as (err: number, fh: number, reply: unknown) => void)(0, fh, reply);
  }

  /** Opens live inode ino (path: for the log) for a FUSE open. */
  function openInode(path: string, ino: number, flags: number, cb: (err: number, fh?: number, reply?: never) => void): void {
    const cred = callerCred();
    const acc = flags & O_ACCMODE;
    const writer = acc === O_WRONLY || acc === O_RDWR;
    let efh: number;
    try {
      if (!writer) {
        // Linux truncates on O_RDONLY|O_TRUNC too (POSIX leaves it open).
        // With writers open, through their session (then committed: no
        // flush comes from a reader): truncating only the committed file
        // left what they had not committed yet, which they went on
        // reading and their close put back (found by the differential
        // sequences, 2026-12-05).
        if (flags & O_TRUNC) {
          const w = handles.writerOf(ino);
          if (w !== undefined) { engine.ftruncate(w, 0); engine.commit(w); } else engine.truncate(ino, 0);
          killPrivileges(ino, cred);
        }
        // Isolation is between processes: a process that is writing the
        // file reads its own writes through any descriptor (git
        // index-pack reads back the pack it is writing).
        const shared = handles.writerOf(ino);
        if (shared !== undefined && handles.writesTo(ino, callerProcess())) {
          const { fh, reply } = handles.add(shared, ino, path, { writer: false, borrowed: true, version: 0 });
          (cb as (err: number, fh: number, reply: unknown) => void)(0, fh, reply);
          return;
        }
        efh = engine.openIno(ino, flags);
      } else {
        // Writers share the file's session (see handles.ts); the engine
        // handle reads and writes, the kernel enforces each descriptor's
        // mode, and appends are placed here, at each write (WRITE_APPEND).
        const shared = handles.writerOf(ino);
        if (shared === undefined) efh = engine.openIno(ino, (flags & ~(O_ACCMODE | O_APPEND)) | O_RDWR);
        else {
          efh = shared;
          if (flags & O_TRUNC) engine.ftruncate(efh, 0);
        }
        if (flags & O_TRUNC) killPrivileges(engine.inoOf(efh), cred);
      }
    } catch (e) { cb(failed('open', path, e)); return; }
    opened(path, efh, cb);
  }

  return {
    init: (cb) => cb(0),

    getattr: (path, cb) => answer<FuseStat>('getattr', path, cb, () => fuseStatOf(ns.route(path))),

    getattrIno: (ino, cb) => answer<FuseStat>('getattr', `inode ${ino}`, cb, () => {
      ns.touch();
      return toFuseStat(callerView(engine.head.statIno(ino)));
    }),

    lookupIno: (dir, name, path, cb) => {
      // /.versions and unlinked-open `.fuse_hidden…` names are the router's;
      // name@point only when no live entry has that name. An absent name
      // (git asks for several per object) is answered without an exception.
      const routed = () => fuseStatOf(ns.route(path() ?? fail('ENOENT')));
      answer<FuseStat | null>('lookup', name, (e, st) => (e || st ? cb(e, st ?? undefined) : cb(-ENOENT)), () => {
        if (!ns.plainLookup(dir, name)) return routed();
        const ino = ns.lookup(dir, name);
        if (ino !== undefined) return toFuseStat(callerView(engine.head.statIno(ino)));
        return name.includes('@') ? routed() : null;
      });
    },

    fgetattr: (path, fh, cb) => answer<FuseStat>('fgetattr', path, cb, () => {
      const h = handles.get(fh);
      return h ? toFuseStat(engine.fstat(h.efh)) : fuseStatOf(ns.route(path));
    }),

    // Directory listings: the entry list is one query; the file type of
    // each entry is one lookup, done in slices so that a huge directory
    // does not hold the event loop (other ops are served in between).
    readdir: (path, cb) => {
      const names = ['.', '..'];
      const stats = [] as ReturnType<typeof direntStat>[];
      let ents: { name: string; ino: number; mode: number }[];
      try {
        const r = ns.route(path);
        if (r.kind === 'view') {
          // History trees are bounded listings of one commit: no slicing.
          const self = tt.stat(r.v).ino;
          const list = tt.readdir(r.v);
          cb(0, [...names, ...list.map((e) => e.name)],
            [direntStat(self, S_IFDIR), direntStat(self, S_IFDIR), ...list.map((e) => direntStat(e.ino, e.mode))]);
          return;
        }
        const p = live(r);
        const dir = engine.statFollow(p);
        if ((dir.mode & S_IFMT) !== S_IFDIR) fail('ENOTDIR');
        const parent = p === '/' ? dir.ino : engine.stat(p.slice(0, p.lastIndexOf('/')) || '/').ino;
        stats.push(direntStat(dir.ino, S_IFDIR), direntStat(parent, S_IFDIR));
        ents = engine.head.entriesWithModes(dir.ino);
      } catch (e) { cb(failed('readdir', path, e)); return; }
      let i = 0;
      const step = (): void => {
        try {
          for (const end = Math.min(ents.length, i + READDIR_SLICE); i < end; i++) {
            const e = ents[i];
            names.push(e.name);
            stats.push(direntStat(e.ino, e.mode));
          }
        } catch (e) { cb(failed('readdir', path, e)); return; }
        if (i < ents.length) setImmediate(step);
        else cb(0, names, stats);
      };
      step();
    },

    open: (path, flags, cb) => {
      let ino: number;
      try {
        const r = ns.route(path);
        if (r.kind === 'view') {
          const vfh = tt.open(r.v, flags);
          // History is immutable, but a relative time (10m) names another
          // state later: let the kernel drop what it cached at each open.
          (cb as (err: number, fh: number, reply: unknown) => void)(0, vfh, { directIo: false, keepCache: false });
          return;
        }
        // An orphan (unlinked while open, hidden as .fuse_hidden…) is opened
        // again by its inode, as /proc/<pid>/fd/<n> does: as on any local
        // filesystem, its bytes stay reachable while a descriptor holds it.
        ino = r.kind === 'orphan' ? r.ino : engine.statFollow(live(r)).ino;
      } catch (e) { cb(failed('open', path, e)); return; }
      openInode(path, ino, flags, cb);
    },

    openIno: (ino, flags, cb) => {
      // A file whose last name went (unlinked, or replaced by a rename) while
      // the kernel still held it without a descriptor: a path walk that
      // found the old name, an O_PATH descriptor, a working directory. As on
      // a local file system, it opens what it found, as long as the store
      // keeps it (the mount holds it from retirement until the kernel lets go).
      ns.touch();
      if (!engine.head.inode(ino)) { cb(-ENOENT); return; }
      openInode(`(inode ${ino}, no name)`, ino, flags, cb);
    },

    keepIno: (ino, keep) => { if (keep) engine.hold(ino); else engine.unhold(ino); },

    create: (path, mode, cb) => {
      const cred = callerCred();
      let fh: number;
      // FUSE create does not tell the access mode: the handle may read and
      // write; the kernel enforces the descriptor's own mode.
      try { fh = engine.create(live(ns.route(path)), mode, O_RDWR, cred); } catch (e) { cb(failed('create', path, e)); return; }
      opened(path, fh, cb);
    },

    read: (path, fh, buf, len, pos, cb) => {
      let n: number;
      try {
        if (tt.owns(fh)) {
          const data = tt.read(fh, len, pos);
          n = data.copy(buf, 0, 0, Math.min(len, data.length));
        } else {
          const h = handle(fh);
          n = engine.readInto(h.efh, len === buf.length ? buf : buf.subarray(0, len), len, pos);
        }
      } catch (e) { cb(failed('read', path, e)); return; }
      cb(n);
    },

    write: (path, fh, buf, len, pos, how, cb) => {
      const cred = callerCred();
      let n: number, drop: number | undefined;
      try {
        const h = handle(fh);
        killPrivileges(h.ino, cred);
        // The end of file of the shared session, not the kernel's idea of
        // it: another name of the file (a separate kernel inode) may have
        // grown it. Writeback of a mapping goes where its pages are.
        const at = (how & (WRITE_APPEND | WRITE_PAGE)) === WRITE_APPEND ? engine.fstat(h.efh).size : pos;
        n = engine.write(h.efh, len === buf.length ? buf : buf.subarray(0, len), at);
        if (handles.pagesOfSession(h.ino)) drop = at;
      } catch (e) { cb(failed('write', path, e)); return; }
      cb(n, drop);
    },

    flush: (path, fh, cb) => answer('flush', path, cb, () => {
      const h = handles.get(fh);
      if (!h?.writer) return false;
      engine.commit(h.efh);
      return readersMoveOn(h.ino);
    }),

    release: (path, fh, cb) => answer('release', path, cb, () => {
      if (tt.owns(fh)) return tt.release(fh);
      const efh = handles.remove(fh);
      if (efh !== undefined) engine.release(efh);
    }),

    fsync: (path, _datasync, fh, cb) => answer('fsync', path, cb, () => {
      if (tt.owns(fh)) return false;
      const h = handle(fh);
      engine.fsync(h.efh);
      return h.writer && readersMoveOn(h.ino);
    }),
    fsyncdir: (path, _datasync, _fh, cb) => answer('fsyncdir', path, cb, () => engine.sync()),

    truncate: (path, size, cb) => answer('truncate', path, cb, () => {
      const r = ns.route(path);
      commitWriters(r);
      engine.truncate(target(r), size);
    }),
    ftruncate: (path, fh, size, cb) => answer('ftruncate', path, cb, () => engine.ftruncate(handle(fh).efh, size)),
    fallocate: (path, fh, mode, offset, length, cb) => answer('fallocate', path, cb, () => {
      if (tt.owns(fh)) fail('EROFS');
      engine.fallocate(handle(fh).efh, mode, offset, length);
    }),

    utimens: (path, atime: NativeTime, mtime: NativeTime, cb) => answer('utimens', path, cb, () => {
      const r = ns.route(path);
      commitWriters(r);
      engine.utimens(target(r), toTimeSpec(atime), toTimeSpec(mtime));
    }),
    chmod: (path, mode, cb) => answer('chmod', path, cb, () => engine.chmod(target(ns.route(path)), mode)),
    chown: (path, uid, gid, cb) => answer('chown', path, cb, () => engine.chown(target(ns.route(path)), uid, gid)),

    // The same by inode number (live inodes only; see binding.ts).
    chmodIno: (ino, mode, cb) => answer('chmod', `inode ${ino}`, cb, () => { ns.touch(); engine.chmod(ino, mode); }),
    chownIno: (ino, uid, gid, cb) => answer('chown', `inode ${ino}`, cb, () => { ns.touch(); engine.chown(ino, uid, gid); }),
    truncateIno: (ino, size, cb) => answer('truncate', `inode ${ino}`, cb, () => {
      ns.touch();
      commitWritersOf(ino);
      engine.truncate(ino, size);
    }),
    utimensIno: (ino, atime: NativeTime, mtime: NativeTime, cb) => answer('utimens', `inode ${ino}`, cb, () => {
      ns.touch();
      commitWritersOf(ino);
      engine.utimens(ino, toTimeSpec(atime), toTimeSpec(mtime));
    }),

    readlink: (path, cb) => answer('readlink', path, cb, () => {
      const r = ns.route(path);
      return r.kind === 'view' ? tt.readlink(r.v) : engine.readlink(live(r));
    }),

    // A symlink whose name a rename replaced while the kernel was walking
    // through it (deploy scripts swap `current` so): what it found.
    readlinkIno: (ino, cb) => answer('readlink', `inode ${ino}`, cb, () => { ns.touch(); return engine.readlink(ino); }),

    mknod: (path, mode, dev, cb) => {
      const cred = callerCred();
      answer('mknod', path, cb, () => engine.mknod(live(ns.route(path)), mode, dev, cred));
    },
    mkdir: (path, mode, cb) => {
      const cred = callerCred();
      answer('mkdir', path, cb, () => engine.mkdir(live(ns.route(path)), mode, cred));
    },
    symlink: (linkTarget, path, cb) => {
      const cred = callerCred();
      answer('symlink', path, cb, () => engine.symlink(linkTarget, live(ns.route(path)), cred));
    },
    // A hidden (unlinked-open) source is linked by its inode: the engine
    // answers ENOENT when it has no name left, and links it when the name
    // hidden was one of several (libfuse hides a file replaced by rename).
    link: (src, dest, cb) => answer('link', dest, cb, () => {
      const r = ns.route(src);
      engine.link(r.kind === 'orphan' ? r.ino : live(r), live(ns.route(dest)));
    }),
    linkIno: (ino, dest, cb) => answer('link', dest, cb, () => { ns.touch(); engine.link(ino, live(ns.route(dest))); }),

    unlink: (path, cb) => answer('unlink', path, cb, () => {
      const r = ns.route(path);
      if (r.kind === 'orphan') return ns.forget(r);
      const p = live(r);
      engine.unlink(p);
      handles.forgetPath(p);
    }),
    rmdir: (path, cb) => answer('rmdir', path, cb, () => {
      engine.rmdir(live(ns.route(path)));
      handles.forgetPath(path);
    }),

    rename: (src: string, dest: string, a: Cb | number, b?: number | Cb) => {
      // A binding with renameat2 support may pass flags before or after cb.
      const cb = (typeof a === 'function' ? a : b) as Cb;
      const flags = typeof a === 'number' ? a : typeof b === 'number' ? b : 0;
      answer('rename', src, cb, () => {
        const from = live(ns.route(src));
        const st = engine.stat(from);
        engine.rename(from, live(ns.route(dest)), flags);
        handles.forgetPath(from, (st.mode & S_IFMT) === S_IFDIR);
        handles.forgetPath(dest);
      });
    },

    viewIno: (path) => {
      try {
        const r = ns.route(path);
        return r.kind === 'view' ? fuseStatOf(r).ino : 0;
      } catch {
        return 0;
      }
    },

    renameOver: (src, dest, hidden, cb) => answer('rename', src, cb, () => {
      const from = live(ns.route(src)), to = live(ns.route(dest));
      const st = engine.stat(from);
      ns.renameOver(from, to, hidden);
      handles.forgetPath(from, (st.mode & S_IFMT) === S_IFDIR);
      handles.forgetPath(to);
    }),

    hide: (src, dest, cb) => answer('rename', src, cb, () => {
      const from = live(ns.route(src));
      ns.hide(from, dest);
      handles.forgetPath(from);
    }),

    statfs: (path, cb) => answer('statfs', path, cb, () => toFuseStatfs(engine.statfs(), opts.readonly)),

    access: (path, mode, cb) => {
      const cred = callerCred();
      answer('access', path, cb, () => {
        const r = ns.route(path);
        const st = statOf(r);
        if (mode === 0) return;
        if ((mode & 2) && (opts.readonly || r.kind === 'view')) fail('EROFS');
        let bits: number;
        if (cred.uid === 0) bits = 6 | ((st.mode & 0o111) || (st.mode & S_IFDIR) === S_IFDIR ? 1 : 0);
        else bits = (cred.uid === st.uid ? st.mode >> 6 : cred.gid === st.gid ? st.mode >> 3 : st.mode) & 7;
        if ((mode & 7 & ~bits) !== 0) fail('EACCES');
      });
    },

    // POSIX ACLs are not supported: the kernel only enforces them when the
    // filesystem negotiates FUSE_POSIX_ACL, which libfuse 2.9 cannot. Storing
    // system.posix_acl_* as plain xattrs would claim permissions nobody
    // checks (and a minimal ACL would not change the mode, as it must), so
    // they are refused; tools (cp -a, sed -i) then fall back to chmod.
    setxattr: (path, name, value, _position, flags, cb) => answer('setxattr', path, cb, () => {
      if (isAcl(name)) fail('ENOTSUP');
      engine.setxattr(live(ns.route(path)), name, Buffer.from(value), flags);
    }),
    getxattr: (path, name, _position, cb) => {
      if (xattrShortcut(name, cb)) return;
      answer('getxattr', path, cb, () => {
        const r = ns.route(path);
        // null: no such attribute (ENODATA), without an exception per file.
        return r.kind === 'live' ? engine.xattr(r.path, name) : r.kind === 'view' ? tt.getxattr(r.v, name) : null;
      });
    },
    listxattr: (path, cb) => answer('listxattr', path, cb, () => {
      const r = ns.route(path);
      return visibleXattrs(r.kind === 'live' ? engine.listxattr(r.path) : r.kind === 'view' ? tt.listxattr(r.v) : []);
    }),
    removexattr: (path, name, cb) => answer('removexattr', path, cb, () => {
      if (isAcl(name)) fail('ENOTSUP');
      engine.removexattr(live(ns.route(path)), name);
    }),

    // The same by inode number (live inodes only; see binding.ts).
    getxattrIno: (ino, name, cb) => {
      if (xattrShortcut(name, cb)) return;
      answer('getxattr', `inode ${ino}`, cb, () => { ns.touch(); return engine.xattr(ino, name); });
    },
    listxattrIno: (ino, cb) => answer('listxattr', `inode ${ino}`, cb, () => {
      ns.touch();
      return visibleXattrs(engine.listxattr(ino));
    }),
    setxattrIno: (ino, name, value, flags, cb) => answer('setxattr', `inode ${ino}`, cb, () => {
      if (isAcl(name)) fail('ENOTSUP');
      ns.touch();
      engine.setxattr(ino, name, Buffer.from(value), flags);
    }),
    removexattrIno: (ino, name, cb) => answer('removexattr', `inode ${ino}`, cb, () => {
      if (isAcl(name)) fail('ENOTSUP');
      ns.touch();
      engine.removexattr(ino, name);
    }),
  };
}

/** Wraps every op to count calls and time their synchronous part, logging
 * any op that held the event loop for more than slowMs. */
export function instrument(ops: FuseOps, log: (msg: string) => void, slowMs = 100): { ops: FuseOps; stats: () => Record<string, { n: number; ms: number }> } {
  const stats: Record<string, { n: number; ms: number }> = {};
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops) as [string, (...a: unknown[]) => unknown][]) {
    const s = (stats[name] = { n: 0, ms: 0 });
    out[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      try { return fn(...args); } finally {
        const dt = performance.now() - t0;
        s.n++;
        s.ms += dt;
        if (dt > slowMs) log(`slow ${name} ${String(args[0])}: ${dt.toFixed(0)} ms`);
      }
    };
  }
  return { ops: out as unknown as FuseOps, stats: () => stats };
}

