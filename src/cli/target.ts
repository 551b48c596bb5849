// Which store a history command acts on, and how to reach it.
//   --store FILE          a store file: through its mount if one holds it, else directly
//   --store MOUNTPOINT    a mounted store, or any path inside the mount
//   (none)                the mount containing the current directory, else the default store
import fs from 'node:fs';
import path from 'node:path';
import { openStore, StoreLockedError } from '../index.js';
import { LocalOps, type StoreOps } from '../control/ops.js';
import { connect } from '../control/client.js';
import { parseMountinfo, readRecord, FSTYPE, type MountRecord } from '../fuse/mounts.js';
import { socketPathOf } from '../control/protocol.js';
import { defaultStorePath } from './paths.js';
import { UsageError } from './errors.js';

export interface Target { ops: StoreOps; close(): void; where: string }

/** The live mikofs mount serving a path (a mountpoint or any path inside
 * one). Reads only the mount table and the registry, never the mount. */
function findMount(p: string): MountRecord | undefined {
  let table = '';
  try { table = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return undefined; }
  const hits = parseMountinfo(table).filter((m) => m.fstype === FSTYPE)
    .filter((m) => p === m.mountpoint || p.startsWith(m.mountpoint === '/' ? '/' : m.mountpoint + '/'))
    .sort((a, b) => b.mountpoint.length - a.mountpoint.length);
  for (const m of hits) {
    const rec = readRecord(m.mountpoint);
    if (rec) return rec;
  }
  return undefined;
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
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function openTarget(storeArg: string | undefined, write: boolean): Promise<Target> {
  const p = path.resolve(storeArg ?? process.cwd());
  const mount = findMount(p);
  if (mount) {
    const socket = socketPathOf(mount.store);
    const t = await viaSocket(socket, mount.mountpoint);
    if (t) return t;
    throw new UsageError(`the mount at ${mount.mountpoint} (process ${mount.pid}) does not answer on ${socket}`);
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
  const p = path.resolve(storeArg ?? process.cwd());
  return findMount(p)?.store ?? unmountedStoreFile(storeArg, p);
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
export function pointArg(flag: string): (v: string) => string {
  return (v: string) => {
    if (String(v).trim() === '') throw new UsageError(`--${flag} needs a value: a time, a commit (c123) or a label`);
    return v;
  };
}

/** The common --store option. */
export const storeOption = {
  type: 'string' as const,
  describe: 'store file, or a mountpoint (or any path inside a mount); default: the mount containing the current directory, else the default store',
};
