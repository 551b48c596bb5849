// Which store a history command acts on, and how to reach it.
//   --store FILE          a store file: through its mount if one holds it, else directly
//   --store MOUNTPOINT    a mounted store, or any path inside the mount
//   (none)                the mount containing the current directory, else the default store
import fs from 'node:fs';
import path from 'node:path';
import { openStore, StoreLockedError } from '../index.js';
import { LocalOps, type StoreOps } from '../control/ops.js';
import { connect } from '../control/client.js';
import { parseMountinfo, readRecord, controlSocketsOf, FSTYPE, type MountRecord } from '../fuse/mounts.js';
import { socketPathOf } from '../control/protocol.js';
import { defaultStorePath, resolvedPath } from './paths.js';
import { UsageError } from './errors.js';

export interface Target { ops: StoreOps; close(): void; where: string }

/** A mount as the CLI reaches it: the registry's record, or (a mount of
 * another user, another runtime directory) only what the mount table says. */
type FoundMount = Pick<MountRecord, 'mountpoint' | 'store' | 'readonly'> & { pid?: number };

/** The live mikofs mount serving a path (a mountpoint or any path inside
 * one). Reads only the mount table and the registry, never the mount. A
 * path inside the mount is never read as a store file of its own (a store
 * kept on a mikofs mount is named by a path inside that mount): `file`
 * true asks only for a mount at exactly p. */
function findMount(p: string, file = false): FoundMount | undefined {
  let table = '';
  try { table = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return undefined; }
  const hits = parseMountinfo(table).filter((m) => m.fstype === FSTYPE)
    .filter((m) => p === m.mountpoint || (!file && p.startsWith(m.mountpoint === '/' ? '/' : m.mountpoint + '/')))
    .sort((a, b) => b.mountpoint.length - a.mountpoint.length);
  for (const m of hits) {
    const rec = readRecord(m.mountpoint);
    if (rec) return rec;
  }
  // No record we can see: the mount table still names its store (fsname).
  const m = hits[0];
  return m && m.source.startsWith('/') ? { mountpoint: m.mountpoint, store: m.source, readonly: m.readonly } : undefined;
}

/** What a command's path argument says about the store, when --store is
 * not given: a path on a mikofs mount names that mount; anything else
 * ("/docs/a.txt") is a path inside the store of the current directory. */
export function storeOfPathArg(store: string | undefined, p: string | undefined): string | undefined {
  if (store !== undefined || p === undefined) return store;
  return findMount(resolvedPath(p, true))?.mountpoint;
}

/** A FUSE mount whose process is gone answers every call with ENOTCONN. */
function isDead(mountpoint: string): boolean {
  // statfs, not stat: the kernel answers stat from its attribute cache
  // (up to a minute after the process died: until 2026-12-05 commands
  // blamed permissions meanwhile); statfs always asks the file system.
  try { fs.statfsSync(mountpoint); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === 'ENOTCONN'; }
}

/** Whether p is a regular file (a store file, even one kept on a mount). */
function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

async function viaSocket(socket: string, where: string): Promise<Target | undefined> {
  try {
    const ops = await connect(socket);
    return { ops, close: () => ops.close(), where };
  } catch {
    return undefined;
  }
}

/** How long a command waits for another command that has the (unmounted)
 * store open for writing: two cron jobs, or a script's commands in parallel,
 * take turns instead of failing. A mount is reached through its socket. */
const LOCK_WAIT_MS = 10000;

async function direct(file: string, write: boolean): Promise<Target> {
  for (let waited = 0; ; waited += 50) {
    try {
      const e = await openStore(file, { readonly: !write, holder: `mikofs ${process.argv[2] ?? 'cli'}`, checkpointer: false });
      return { ops: new LocalOps(e, file), close: () => e.close(), where: file };
    } catch (e) {
      if (!(e instanceof StoreLockedError) || waited >= LOCK_WAIT_MS) throw e;
      // A mount that was starting when this command looked (a mount at boot
      // racing a cron snapshot) holds the store now: reach it through its
      // socket once it listens (until 2026-12-05 the command waited the
      // 10 s out and failed).
      if (e.holder.startsWith('mount at ') && fs.existsSync(socketPathOf(file))) {
        const t = await viaSocket(socketPathOf(file), file);
        if (t) return t;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function openTarget(storeArg: string | undefined, write: boolean): Promise<Target> {
  if (storeArg !== undefined && storeArg.trim() === '') throw new UsageError('--store needs a value: a store file, or a mountpoint');
  const p = storeArg === undefined ? process.cwd() : resolvedPath(storeArg);
  const exact = storeArg !== undefined && isFile(p);
  const mount = findMount(p, exact);
  if (mount) {
    const sockets = controlSocketsOf(mount);
    const socket = sockets[0];
    for (const s of sockets) {
      const t = await viaSocket(s, mount.mountpoint);
      if (t) return t;
    }
    if (isDead(mount.mountpoint)) {
      // (Refused or failed operations exit 1; usage errors, 2.)
      throw Object.assign(new Error(`the mount at ${mount.mountpoint} is dead (its process exited; store ${mount.store}): ` +
        `clear it with \`mikofs umount ${mount.mountpoint}\`, then mount again`), { code: 'ENOTCONN' });
    }
    // Unmounted (or its process gone) since the mount table was read: the
    // socket went with it, which is no sign of another user's mount.
    const now = findMount(p, exact);
    if (now?.mountpoint !== mount.mountpoint || (mount.pid !== undefined && now.pid !== mount.pid)) {
      throw Object.assign(new Error(`the mount at ${mount.mountpoint} (store ${mount.store}) went away while this command was reaching it ` +
        '(unmounted, or its process exited)'), { code: 'ENOTCONN' });
    }
    if (mount.pid === undefined) {
      throw Object.assign(new Error(`the mount at ${mount.mountpoint} (store ${mount.store}) cannot be reached from here: ` +
        `its control socket ${socket} is not open to this user (mounted by another user?)`), { code: 'EACCES' });
    }
    throw Object.assign(new Error(`the mount at ${mount.mountpoint} (process ${mount.pid}) does not answer on ${socket}`), { code: 'ETIMEDOUT' });
  }
  const file = unmountedStoreFile(storeArg, p);
  const t = fs.existsSync(socketPathOf(file)) ? await viaSocket(socketPathOf(file), file) : undefined;
  return t ?? direct(file, write);
}

/** The store file a command names the way openTarget reads --store (a file,
 * a mount or a path inside one, else the mount containing the current
 * directory, else the default store), for commands that read the file
 * themselves beside any mount (verify). */
export function storeFileOf(storeArg: string | undefined): string {
  if (storeArg !== undefined && storeArg.trim() === '') throw new UsageError('--store needs a value: a store file, or a mountpoint');
  const p = storeArg === undefined ? process.cwd() : resolvedPath(storeArg);
  return findMount(p, storeArg !== undefined && isFile(p))?.store ?? unmountedStoreFile(storeArg, p);
}

/** The store file --store names (p: it resolved) when no mount holds it:
 * the file itself, else the default store. */
function unmountedStoreFile(storeArg: string | undefined, p: string): string {
  if (storeArg !== undefined) {
    if (!fs.existsSync(p)) throw new UsageError(`${storeArg}: no such store file or mount`);
    if (fs.statSync(p).isDirectory()) throw new UsageError(`${storeArg} is a directory but not a mounted mikofs store`);
    return p;
  }
  const file = defaultStorePath();
  if (!fs.existsSync(file)) throw new UsageError(`not inside a mikofs mount and there is no default store yet (${file}); name one with --store`);
  return file;
}

/** yargs coerce for an option naming a point in history (--at, --since,
 * --to...): an empty value is a usage error, not a point nobody has. */
/** flag: an option's name, or an argument's in capitals (FROM). */
export function pointArg(flag: string): (v: string) => string {
  const what = /^[A-Z]+$/.test(flag) ? flag : `--${flag}`;
  return (v: string) => {
    if (String(v).trim() === '') throw new UsageError(`${what} needs a value: a time, a commit (c123) or a label`);
    return v;
  };
}

/** The common --store option. */
export const storeOption = {
  type: 'string' as const,
  describe: 'store file, or a mountpoint (or any path inside a mount); default: the mount containing the current directory, else the default store',
};
