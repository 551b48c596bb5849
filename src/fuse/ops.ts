// The fuse-native handler object: each op resolves its path (namespace.ts),
// makes one Engine call and answers 0 / a value, or -errno. Handlers are
// synchronous (the engine is), so a reply is never raced by another op.
//
// Commit points: a writer's bytes become visible when one of its descriptors
// is closed (FUSE flush, which close(2) waits for; release is asynchronous to
// close(2) and would let a fresh open race the commit), on fsync, and before
// a time or size change by path (utimens/truncate): `cp -p` and `tar` set the
// mtime while the file is still open, and the session committing afterwards
// would otherwise overwrite that mtime with its own.
import type { Engine } from '../engine/engine.js';
import type { Stat } from '../engine/types.js';
import { S_IFDIR } from '../engine/types.js';
import { fail } from '../engine/errors.js';
import { E, errnoOf, isFault } from './errno.js';
import { toFuseStat, toFuseStatfs, toTimeSpec, direntStat } from './attr.js';
import { callerCred } from './context.js';
import { Namespace, type Route } from './namespace.js';
import { Handles } from './handles.js';
import type { Cb, FuseOps, FuseStat, NativeTime, ValueCb } from './binding.js';

const O_RDWR = 2;

export interface OpsOptions {
  readonly: boolean;
  /** Faults (not ordinary POSIX answers) are reported here. */
  log: (msg: string) => void;
}

export function makeOps(engine: Engine, opts: OpsOptions): FuseOps {
  const ns = new Namespace(engine);
  const handles = new Handles();

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
  const live = (r: Route): string => (r.kind === 'live' ? r.path : fail('ENOENT'));
  /** A path's target for attribute ops, which the engine takes by path or ino. */
  const target = (r: Route): string | number => (r.kind === 'live' ? r.path : r.ino);
  const statOf = (r: Route): Stat => (r.kind === 'live' ? engine.stat(r.path) : engine.head.statIno(r.ino));
  /** Commits what open writers of the file wrote so far (see header). */
  function commitWriters(r: Route): void {
    const ino = r.kind === 'live' ? engine.statFollow(r.path).ino : r.ino;
    for (const fh of handles.writersOf(ino)) engine.commit(fh);
  }
  function opened(path: string, fh: number, cb: (err: number, fh?: number, reply?: never) => void): void {
    const ino = engine.inoOf(fh);
    const reply = handles.add(fh, ino, path, engine.isWriter(fh), engine.head.inode(ino)?.since ?? 0);
    (cb as (err: number, fh: number, reply: unknown) => void)(0, fh, reply);
  }

  return {
    init: (cb) => cb(0),

    getattr: (path, cb) => answer<FuseStat>('getattr', path, cb, () => toFuseStat(statOf(ns.route(path)))),

    fgetattr: (path, fh, cb) => answer<FuseStat>('fgetattr', path, cb, () =>
      toFuseStat(handles.has(fh) ? engine.fstat(fh) : statOf(ns.route(path)))),

    readdir: (path, cb) => {
      let names: string[];
      let stats: ReturnType<typeof direntStat>[];
      try {
        const p = live(ns.route(path));
        const list = engine.readdir(p);
        const self = engine.stat(p).ino;
        const parent = p === '/' ? self : engine.stat(p.slice(0, p.lastIndexOf('/')) || '/').ino;
        names = ['.', '..'];
        stats = [direntStat(self, S_IFDIR), direntStat(parent, S_IFDIR)];
        for (const e of list) { names.push(e.name); stats.push(direntStat(e.ino, e.mode)); }
      } catch (e) { cb(failed('readdir', path, e)); return; }
      cb(0, names, stats);
    },

    open: (path, flags, cb) => {
      let fh: number;
      try { fh = engine.open(live(ns.route(path)), flags); } catch (e) { cb(failed('open', path, e)); return; }
      opened(path, fh, cb);
    },

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
        const data = engine.read(fh, len, pos);
        n = data.copy(buf, 0, 0, Math.min(len, data.length));
      } catch (e) { cb(failed('read', path, e)); return; }
      cb(n);
    },

    write: (path, fh, buf, len, pos, cb) => {
      let n: number;
      try { n = engine.write(fh, len === buf.length ? buf : buf.subarray(0, len), pos); } catch (e) { cb(failed('write', path, e)); return; }
      cb(n);
    },

    flush: (path, fh, cb) => answer('flush', path, cb, () => { if (handles.has(fh)) engine.commit(fh); }),

    release: (path, fh, cb) => answer('release', path, cb, () => {
      handles.remove(fh);
      engine.release(fh);
    }),

    fsync: (path, _datasync, fh, cb) => answer('fsync', path, cb, () => engine.fsync(fh)),
    fsyncdir: (path, _datasync, _fh, cb) => answer('fsyncdir', path, cb, () => engine.sync()),

    truncate: (path, size, cb) => answer('truncate', path, cb, () => {
      const r = ns.route(path);
      commitWriters(r);
      engine.truncate(target(r), size);
    }),
    ftruncate: (path, fh, size, cb) => answer('ftruncate', path, cb, () => engine.ftruncate(fh, size)),

    utimens: (path, atime: NativeTime, mtime: NativeTime, cb) => answer('utimens', path, cb, () => {
      const r = ns.route(path);
      commitWriters(r);
      engine.utimens(target(r), toTimeSpec(atime), toTimeSpec(mtime));
    }),
    chmod: (path, mode, cb) => answer('chmod', path, cb, () => engine.chmod(target(ns.route(path)), mode)),
    chown: (path, uid, gid, cb) => answer('chown', path, cb, () => engine.chown(target(ns.route(path)), uid, gid)),

    readlink: (path, cb) => answer('readlink', path, cb, () => engine.readlink(live(ns.route(path)))),

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
    link: (src, dest, cb) => answer('link', dest, cb, () => engine.link(live(ns.route(src)), live(ns.route(dest)))),

    unlink: (path, cb) => answer('unlink', path, cb, () => {
      const r = ns.route(path);
      if (r.kind === 'orphan') return ns.forget(r);
      engine.unlink(r.path);
      handles.forgetPath(r.path);
    }),
    rmdir: (path, cb) => answer('rmdir', path, cb, () => {
      engine.rmdir(live(ns.route(path)));
      handles.forgetPath(path);
    }),

    rename: (src: string, dest: string, a: Cb | number, b?: Cb) => {
      // A binding with renameat2 support may pass flags before or after cb.
      const cb = (typeof a === 'function' ? a : b) as Cb;
      const flags = typeof a === 'number' ? a : typeof b === 'number' ? b : 0;
      answer('rename', src, cb, () => {
        const from = live(ns.route(src));
        if (ns.isHide(dest) && handles.isOpen(engine.stat(from).ino)) ns.hide(from, dest);
        else engine.rename(from, live(ns.route(dest)), flags);
        handles.forgetPath(from);
        handles.forgetPath(dest);
      });
    },

    statfs: (path, cb) => answer('statfs', path, cb, () => toFuseStatfs(engine.statfs(), opts.readonly)),

    access: (path, mode, cb) => {
      const cred = callerCred();
      answer('access', path, cb, () => {
        const st = statOf(ns.route(path));
        if (mode === 0) return;
        if ((mode & 2) && opts.readonly) fail('EROFS');
        let bits: number;
        if (cred.uid === 0) bits = 6 | ((st.mode & 0o111) || (st.mode & S_IFDIR) === S_IFDIR ? 1 : 0);
        else bits = (cred.uid === st.uid ? st.mode >> 6 : cred.gid === st.gid ? st.mode >> 3 : st.mode) & 7;
        if ((mode & 7 & ~bits) !== 0) fail('EACCES');
      });
    },

    setxattr: (path, name, value, _position, flags, cb) => answer('setxattr', path, cb, () =>
      engine.setxattr(live(ns.route(path)), name, Buffer.from(value), flags)),
    getxattr: (path, name, _position, cb) => answer('getxattr', path, cb, () => {
      const r = ns.route(path);
      return r.kind === 'live' ? engine.getxattr(r.path, name) : fail('ENODATA');
    }),
    listxattr: (path, cb) => answer('listxattr', path, cb, () => {
      const r = ns.route(path);
      return r.kind === 'live' ? engine.listxattr(r.path) : [];
    }),
    removexattr: (path, name, cb) => answer('removexattr', path, cb, () => engine.removexattr(live(ns.route(path)), name)),
  };
}

/** Wraps every op to count calls and time their synchronous part, logging
 * any op that held the event loop for more than slowMs. */
export function instrument(ops: FuseOps, log: (msg: string) => void, slowMs = 100): { ops: FuseOps; stats: () => Record<string, { n: number; ms: number }> } {
  const stats: Record<string, { n: number; ms: number }> = {};
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops) as [string, (...a: unknown[]) => void][]) {
    const s = (stats[name] = { n: 0, ms: 0 });
    out[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      try { fn(...args); } finally {
        const dt = performance.now() - t0;
        s.n++;
        s.ms += dt;
        if (dt > slowMs) log(`slow ${name} ${String(args[0])}: ${dt.toFixed(0)} ms`);
      }
    };
  }
  return { ops: out as unknown as FuseOps, stats: () => stats };
}

export { E };
