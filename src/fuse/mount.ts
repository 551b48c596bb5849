// Serving an Engine on a FUSE mountpoint: the mount options, the Fuse
// instance, noticing an unmount, and shutting down cleanly (unmount, commit
// open sessions, close the store).
//
// The process that mounts must never touch its own mountpoint synchronously:
// every FUSE request is answered on this thread, so a synchronous stat of the
// mountpoint would wait for itself. Checks of the mountpoint happen before
// the mount; afterwards only /proc and child processes (fusermount) look.
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Engine } from '../engine/engine.js';
import { StoreLockedError } from '../engine/index.js';
import { capabilities, setContextSource } from './binding.js';
import { LowLevelServer, type CacheTimes } from './lowlevel.js';
import { makeOps, instrument } from './ops.js';
import { FSTYPE, findMount, findMountSync, writeRecord, removeRecord, unmount, controlSocketOf } from './mounts.js';
import { ControlServer } from '../control/server.js';
import { LocalOps } from '../control/ops.js';

// --- kernel caches --------------------------------------------------------
// The mount is served by lowlevel.ts, which decides per reply how long the
// kernel may keep a name or attributes and drops them itself when they
// change behind the kernel's back (a commit at close, another name of a
// hard link, a rollback, restore or label change through the control
// socket). A passthrough like bindfs must expire its caches within a second
// because anything may change the directory under it; the live tree of a
// store changes only through this mount (one writer), so its names and
// attributes are kept for a minute and what would be stale is invalidated,
// not waited out. So is a view of history that names one state for good
// (a past instant, a commit, a label; thinning drops them all); the rest of
// history (10m, now, listings of /.versions) keeps 1 s: a relative time
// names another state a second later.
// Not cached at all: attributes of a file some process has open for writing
// (each caller sees its own view of it, ops.ts viewOf). "No such name" is
// cached like a name: lowlevel.ts tracks the negative answers it gave, so a
// rollback or a new label that brings names back drops them. Repeated probes
// of an absent name (shells and interpreters walking search paths, build
// tools looking for outputs) then cost a round trip now and then, not each.
const ENTRY_TIMEOUT = 60;
const ATTR_TIMEOUT = 60;
const NEGATIVE_TIMEOUT = 30;

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

/** Options of libfuse's high-level layer, which lowlevel.ts replaces:
 * timeouts are taken from them, the rest have no meaning there. */
const HIGH_LEVEL = /^(use_ino|readdir_ino|direct_io|kernel_cache|auto_cache|hard_remove|noforget|intr|(entry_timeout|negative_timeout|attr_timeout|ac_attr_timeout|remember|intr_signal|modules|umask|uid|gid)=.*)$/;

/** A cache timeout option ("attr_timeout=1.5"): which one and its seconds;
 * undefined for any other option. A value that is not a number of seconds
 * ("abc", "1s", "-1") throws: skipped, it mounted with the defaults and
 * said nothing. (ac_attr_timeout has no meaning here, but is checked too.) */
export function timeoutOption(opt: string): { which: keyof CacheTimes | 'ac_attr'; seconds: number } | undefined {
  const m = /^(entry|attr|negative|ac_attr)_timeout=(.*)$/s.exec(opt);
  if (!m) return undefined;
  const seconds = Number(m[2]);
  if (!/^\d+(\.\d+)?$/.test(m[2]) || !Number.isFinite(seconds)) {
    throw new Error(`-o ${opt}: ${m[1]}_timeout is a number of seconds, such as 0, 1.5 or 60`);
  }
  return { which: m[1] as keyof CacheTimes | 'ac_attr', seconds };
}

/** The libfuse options of a mount (mount(2) options and low-level ones),
 * and the cache timeouts, overridable with -o entry_timeout=N etc. */
export function mountOptions(o: ServeOptions): { options: string[]; times: CacheTimes } {
  // A read-only mount holds no lock: a writer elsewhere may change the
  // store under it, so it keeps a passthrough's one second.
  const times: CacheTimes = o.readonly
    ? { entry: 1, attr: 1, negative: 1 }
    : { entry: ENTRY_TIMEOUT, attr: ATTR_TIMEOUT, negative: NEGATIVE_TIMEOUT };
  const extra: string[] = [];
  for (const opt of o.options) {
    const t = timeoutOption(opt);
    if (t) { if (t.which !== 'ac_attr') times[t.which] = t.seconds; }
    else if (!HIGH_LEVEL.test(opt)) extra.push(opt);
  }
  const options = [
    'default_permissions', // the kernel checks mode/uid/gid for non-root callers
    ...(o.allowOther ? ['allow_other'] : []),
    `fsname=${o.store.replace(/,/g, '_')}`, 'subtype=mikofs',
    'big_writes', 'max_write=131072', // 128 KiB writes instead of 4 KiB
    // O_TRUNC arrives with open, so truncation happens inside the writer's
    // session: readers keep the old content until the writer closes.
    'atomic_o_trunc',
    ...(o.readonly ? ['ro'] : []),
    ...(o.nonempty ? ['nonempty'] : []),
    ...extra,
  ];
  return { options, times };
}

/** How long the request loop keeps reading after a request before it
 * sleeps in the event loop. A workload's next request (tar, git: one file
 * is ten of them) comes within tens of microseconds, and waking an idle
 * vCPU for it costs 40-100 us here. When this process may only run on one
 * CPU, spinning would keep that CPU from the process we wait for: 0.
 * MIKOFS_SPIN_US overrides. */
export function spinMicros(): number {
  const env = process.env.MIKOFS_SPIN_US;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env))) return Math.max(0, Number(env));
  return os.availableParallelism() > 1 ? 50 : 0;
}

/** How long a mount waits for a CLI command that has the store open for
 * writing (a cron snapshot, a gc): CLI commands take turns the same way
 * (cli/target.ts). Another mount holding it is refused at once. */
const CLI_WAIT_MS = 10000;

async function openTakingTurns(store: string, opts: { readonly: boolean; holder: string }): Promise<Engine> {
  for (const t0 = Date.now(); ;) {
    try {
      return await Engine.open(store, opts);
    } catch (e) {
      if (!(e instanceof StoreLockedError) || !e.holder.startsWith('mikofs ') || Date.now() - t0 >= CLI_WAIT_MS) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function serve(o: ServeOptions): Promise<Mounted> {
  checkMountpoint(o.mountpoint, o.nonempty);
  const engine = await openTakingTurns(o.store, { readonly: o.readonly, holder: `mount at ${o.mountpoint}` });
  // What INIT agrees on is known once the server has mounted; the ops ask then.
  let mountedServer: LowLevelServer | null = null;
  let ops = makeOps(engine, {
    readonly: o.readonly, log: o.log, cacheBorrowed: capabilities.writeAfterInval,
    sharedMapsAllowed: () => mountedServer?.directIoMmap() ?? false,
  });
  let stats = (): Record<string, { n: number; ms: number }> => ({});
  if (o.debug) {
    const inst = instrument(ops, o.log);
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    ops = inst.ops;
    stats = () => ({ ...inst.stats(), eventLoopMaxDelay: { n: lag.count, ms: lag.max / 1e6 } });
  }
  const { options, times } = mountOptions(o);
  const server = new LowLevelServer(ops, times, o.log);
  mountedServer = server;
  // A lost group transaction (disk full at commit, an I/O error half way
  // through a change) takes back names and attributes the kernel was told.
  engine.store.onGroupLost(() => server.invalidateAll());
  // Thinning deletes commits: a view of the past may now show another state.
  if (!o.readonly) engine.maintenance.onThinned(() => server.invalidateHistory());
  // Read-only: the writer is another process; what it changed goes from the
  // kernel's caches as soon as this mount notices (at its next request).
  if (o.readonly) engine.onExternalChange((inos) => server.invalidateInodes(inos));
  if (o.debug) {
    const opStats = stats;
    const requests = () => Object.fromEntries(Object.entries(server.requestCounts()).map(([k, n]) => [`req.${k}`, { n, ms: 0 }]));
    stats = () => ({ ...opStats(), ...requests() });
  }
  setContextSource(LowLevelServer.context);
  try {
    await server.mount(o.mountpoint, options, spinMicros());
  } catch (e) {
    engine.close();
    throw new Error(`cannot mount ${o.mountpoint}: ${(e as Error).message}`);
  }
  // CLI commands (snapshot, label, rollback...) reach this store through the
  // mount process: the one writer, whose caches then stay right.
  let control: ControlServer | null = null;
  try {
    // After a rollback, restore or label change: names the live tree still
    // has for the same inode stay in the kernel (see invalidateAll).
    const stillNamed = (dir: number, name: string, ino: number) => {
      try { return engine.head.lookup(dir, name) === ino; } catch { return false; }
    };
    const treeChanged = () => { server.invalidateAll(stillNamed); return server.settled(); };
    control = await ControlServer.start(new LocalOps(engine, o.store, true, treeChanged), controlSocketOf({ store: o.store, mountpoint: o.mountpoint, readonly: o.readonly }));
  } catch (e) {
    o.log(`control socket unavailable (${(e as Error).message}); history commands cannot reach this mount`);
  }
  writeRecord({ mountpoint: o.mountpoint, store: o.store, readonly: o.readonly });
  // Storage maintenance (deltas, compression, retention, GC) in short slices
  // while the mount is idle; stopped by engine.close().
  if (!o.readonly) {
    if (o.debug) engine.maintenance.traceUnitsMs = 20;
    engine.maintenance.start({ log: o.log });
  }
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
      server.close();
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
