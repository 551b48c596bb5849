// Serving an Engine on a FUSE mountpoint: the mount options, the Fuse
// instance, noticing an unmount, and shutting down cleanly (unmount, commit
// open sessions, close the store).
//
// The process that mounts must never touch its own mountpoint synchronously:
// every FUSE request is answered on this thread, so a synchronous stat of the
// mountpoint would wait for itself. Checks of the mountpoint happen before
// the mount; afterwards only /proc and child processes (fusermount) look.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Engine } from '../engine/engine.js';
import { capabilities, Fuse, type FuseInstance } from './binding.js';
import { makeOps, instrument } from './ops.js';
import { FSTYPE, findMount, findMountSync, writeRecord, removeRecord, unmount } from './mounts.js';
import { ControlServer } from '../control/server.js';
import { LocalOps } from '../control/ops.js';
import { socketPathOf } from '../control/protocol.js';

// --- kernel caches --------------------------------------------------------
// Names (entry_timeout, negative_timeout): mikofs is the only writer of its
// store (single-writer lock), and a change of the namespace made through the
// mount goes through the kernel, which updates its dentry cache as it makes
// it (create replaces a negative entry, unlink and rename drop or move
// entries). Such changes never leave a stale name. Changes made behind the
// kernel's back do: a restore or rollback through the control socket
// (src/control) while mounted, or another mount writing a store this one
// mounts read-only. libfuse 2.9's high-level API cannot invalidate a name,
// so the timeout itself is the bound on that window: 1 s. Cheap: a name
// walked again after 1 s costs one lookup; a big tree walk stays ~1 lookup
// per name. (Without a control channel it could be made long.)
const ENTRY_TIMEOUT = 1;
// Negative entries ("no such name") are not cached: a restore or rollback
// through the control socket brings names back behind the kernel's back, and
// `mikofs rollback` must be visible the moment it returns. A positive entry
// left stale by a rollback is harmless: libfuse resolves every op by path,
// and attributes are not cached (below), so the next stat sees the restored
// file, or ENOENT.
const NEGATIVE_TIMEOUT = 0;
// Attributes (attr_timeout) are not cached at all, for reasons the kernel
// cannot see:
//  - a write session commits at close: size and mtime change at flush
//    without a setattr, so attributes another process fetched between the
//    last write and the close would stay stale for the timeout;
//  - libfuse 2.9's high-level API gives each *name* of a hard link its own
//    kernel inode, so a change through one name (link, unlink, chmod, write)
//    does not invalidate what is cached for the others (measured with
//    attr_timeout=1: `ln a b; ln b c; stat -c %h a` printed 1);
//  - getattr answers per caller: a process that has the file open for
//    writing sees its own size and mtime (fstat arrives as a path getattr).
// Cost: every stat is a round trip (~50 us here), and so is the permission
// check of every directory on a walked path (default_permissions refreshes
// expired attributes): `ls -lR` of 10,000 files took ~3.6 s, against ~2.4 s
// with attr_timeout=1 (`-o attr_timeout=N` overrides, at the price above).
// Residual window: none. File data is cached per open as handles.ts decides.
const ATTR_TIMEOUT = 0;

export interface ServeOptions {
  store: string;
  /** Canonical mountpoint (as /proc/self/mountinfo spells it). */
  mountpoint: string;
  readonly: boolean;
  allowOther: boolean;
  /** Further raw libfuse -o options. */
  options: string[];
  /** Allow a non-empty mountpoint (libfuse `nonempty`). */
  nonempty: boolean;
  debug: boolean;
  log: (msg: string) => void;
}

export interface Mounted {
  /** Settles when the mount is gone (unmounted by anyone) and the store is closed. */
  done: Promise<void>;
  /** Unmounts (lazily if busy), commits open sessions, closes the store. */
  shutdown(reason: string): Promise<void>;
  /** Op counts and times (with debug). */
  stats(): Record<string, { n: number; ms: number }>;
}

/** Refuses a mountpoint that is missing, not a directory, not empty, or
 * already a mountpoint. Synchronous: runs before anything is mounted here. */
export function checkMountpoint(mnt: string, nonempty: boolean): void {
  let st: fs.Stats;
  try { st = fs.statSync(mnt); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`mountpoint ${mnt} does not exist`);
    if (code === 'ENOTCONN') throw new Error(`${mnt} is a dead mount (run: mikofs umount ${mnt})`);
    throw e;
  }
  if (!st.isDirectory()) throw new Error(`mountpoint ${mnt} is not a directory`);
  const m = findMountSync(mnt);
  if (m) throw new Error(`${mnt} is already a mountpoint (${m.fstype} ${m.source})`);
  if (!nonempty && fs.readdirSync(mnt).length > 0) throw new Error(`mountpoint ${mnt} is not empty`);
}

export function mountOptions(o: ServeOptions): string[] {
  return [
    'use_ino', // st_ino is the engine's inode number (hard links, git, find -inum)
    'big_writes', 'max_write=131072', // 128 KiB writes instead of 4 KiB
    // O_TRUNC arrives with open, so truncation happens inside the writer's
    // session: readers keep the old content until the writer closes.
    'atomic_o_trunc',
    // Page cache per open (handles.ts): writers direct_io, readers cached
    // while their version is what the kernel holds. Only a binding without
    // per-open flags gets the global direct_io instead (then no file data is
    // cached at all: every read is a round trip, MAP_SHARED is refused).
    ...(capabilities.openFlags ? [] : ['direct_io']),
    `entry_timeout=${ENTRY_TIMEOUT}`, `negative_timeout=${NEGATIVE_TIMEOUT}`, `attr_timeout=${ATTR_TIMEOUT}`,
    ...(o.readonly ? ['ro'] : []),
    ...(o.nonempty ? ['nonempty'] : []),
    ...o.options,
  ];
}

export async function serve(o: ServeOptions): Promise<Mounted> {
  checkMountpoint(o.mountpoint, o.nonempty);
  const engine = await Engine.open(o.store, { readonly: o.readonly, holder: `mount at ${o.mountpoint}` });
  let ops = makeOps(engine, { readonly: o.readonly, log: o.log });
  let stats = (): Record<string, { n: number; ms: number }> => ({});
  if (o.debug) {
    const inst = instrument(ops, o.log);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    ops = inst.ops;
    stats = () => ({ ...inst.stats(), eventLoopMaxDelay: { n: lag.count, ms: lag.max / 1e6 } });
  }
  const fuse: FuseInstance = new Fuse(o.mountpoint, ops, {
    timeout: false, // handlers are synchronous; no per-op timer needed
    defaultPermissions: true, // the kernel checks mode/uid/gid for non-root callers
    allowOther: o.allowOther,
    fsname: o.store.replace(/,/g, '_'),
    subtype: 'mikofs',
    utimensNs: true,
    extraOptions: mountOptions(o),
  });
  try {
    await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  } catch (e) {
    engine.close();
    throw new Error(`cannot mount ${o.mountpoint}: ${(e as Error).message}`);
  }
  // CLI commands (snapshot, label, rollback...) reach this store through the
  // mount process: the one writer, whose caches then stay right.
  let control: ControlServer | null = null;
  try {
    control = await ControlServer.start(new LocalOps(engine, o.store, true), socketPathOf(o.store));
  } catch (e) {
    o.log(`control socket unavailable (${(e as Error).message}); history commands cannot reach this mount`);
  }
  writeRecord({ mountpoint: o.mountpoint, store: o.store, readonly: o.readonly });
  // Storage maintenance (deltas, compression, retention, GC) in short slices
  // while the mount is idle; stopped by engine.close().
  if (!o.readonly) engine.maintenance.start({ log: o.log });
  const mountId = (await findMount(o.mountpoint))?.id;

  let closing: Promise<void> | null = null;
  let finish!: () => void;
  const done = new Promise<void>((r) => { finish = r; });

  const stillMounted = async () => {
    const m = await findMount(o.mountpoint);
    return m !== undefined && m.fstype === FSTYPE && m.id === mountId;
  };
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      clearInterval(watch);
      o.log(`unmounting ${o.mountpoint} (${reason})`);
      if (await stillMounted()) {
        try {
          await unmount(o.mountpoint, false);
        } catch {
          // Busy: detach it anyway. Files still open there fail from now on;
          // what they wrote is committed below.
          await unmount(o.mountpoint, true).catch((e: Error) => o.log(`cannot unmount: ${e.message}`));
        }
      }
      control?.close();
      try { engine.close(); } catch (e) { o.log(`closing the store: ${(e as Error).message}`); }
      removeRecord(o.mountpoint);
      finish();
    })();
    return closing;
  };
  // Unmounted by someone else (fusermount -u, umount): libfuse gives no
  // callback, so watch the mount table. The interval also keeps the event
  // loop alive: the binding's handles do not.
  const watch = setInterval(() => {
    stillMounted().then((m) => { if (!m) void shutdown('unmounted'); }, () => {});
  }, 500);

  return { done, shutdown, stats };
}

/** SIGINT, SIGTERM and SIGHUP do what `mikofs umount` does: unmount, commit
 * open sessions, close the store. A second signal while that runs exits at
 * once (open sessions are then discarded at the next open of the store). */
export function unmountOnSignals(m: Mounted): void {
  let signalled = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (signalled) process.exit(1);
      signalled = true;
      void m.shutdown(sig);
    });
  }
}
