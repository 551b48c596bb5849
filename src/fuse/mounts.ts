// Finding mounts: the kernel's mount table (/proc/self/mountinfo) and a
// small registry of running mount processes, so that `mikofs umount` can ask
// the right process to commit and close its store. Nothing here touches a
// mountpoint itself (a dead or busy FUSE mount could hang or fail a stat).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { socketPathOf } from '../control/protocol.js';
import { processStartTime } from '../store/process-identity.js';

const execFileP = promisify(execFile);

export const FSTYPE = 'fuse.mikofs';

export interface MountEntry {
  id: string; mountpoint: string; fstype: string; source: string;
  /** Who mounted it (FUSE's user_id option). */
  uid?: number;
  /** Mounted read-only (the mount options say `ro`). */
  readonly: boolean;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0) continue;
    const owner = /(?:^|,)user_id=(\d+)/.exec(f[dash + 3] ?? '');
    out.push({ id: f[0], mountpoint: unescape(f[4]), fstype: f[dash + 1], source: unescape(f[dash + 2] ?? ''),
      readonly: (f[5] ?? '').split(',').includes('ro'), ...(owner ? { uid: Number(owner[1]) } : {}) });
  }
  return out;
}

/** The topmost mount at exactly this (canonical) path. */
export async function findMount(mountpoint: string): Promise<MountEntry | undefined> {
  const all = parseMountinfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
  return all.filter((m) => m.mountpoint === mountpoint).pop();
}

export function findMountSync(mountpoint: string): MountEntry | undefined {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountpoint === mountpoint).pop();
}

/** A path as the mount table spells it, without touching the path itself:
 * its parent is resolved (symlinks, ..), the last component is kept. */
export function canonicalMountpoint(p: string): string {
  const abs = path.resolve(p);
  if (abs === '/') return abs;
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

// --- registry of mount processes ------------------------------------------

export interface MountRecord {
  pid: number;
  /** /proc/<pid>/stat start time: tells a reused pid from ours. */
  start: string;
  mountpoint: string;
  store: string;
  readonly: boolean;
}

function registryDir(runtimeDir = process.env.XDG_RUNTIME_DIR): string {
  const base = runtimeDir || path.join(os.tmpdir(), `mikofs-${process.getuid?.() ?? 0}`);
  return path.join(base, 'mikofs-mounts');
}

function recordFile(mountpoint: string): string {
  return path.join(registryDir(), createHash('sha256').update(mountpoint).digest('hex').slice(0, 24) + '.json');
}

/** The control socket of a mount. A read-write mount's is the store's
 * (`<store>.sock`: commands naming the store file find it there); a
 * read-only mount's is its own, keyed by its mountpoint, since read-only
 * mounts may sit beside the writer of the same store (and beside each
 * other) and must not take the writer's socket over. */
export function controlSocketOf(m: { store: string; mountpoint: string; readonly?: boolean }, runtimeDir = process.env.XDG_RUNTIME_DIR): string {
  if (!m.readonly) return socketPathOf(m.store);
  const name = `ro-${createHash('sha256').update(m.mountpoint).digest('hex').slice(0, 24)}.sock`;
  const inRegistry = path.join(registryDir(runtimeDir), name);
  return Buffer.byteLength(inRegistry) < 100 ? inRegistry : path.join(os.tmpdir(), `mikofs-${name}`);
}

/** Where a mount's control socket may be, most likely first: a read-only
 * mount's depends on the runtime directory of the process that mounted it,
 * which a command from cron, ssh or sudo may not share (found 2026-12-05:
 * such a command blamed another user). Tried: this process's, none (the
 * temporary directory), and the login's /run/user/<uid>. */
export function controlSocketsOf(m: { store: string; mountpoint: string; readonly?: boolean }): string[] {
  if (!m.readonly) return [socketPathOf(m.store)];
  const dirs = [process.env.XDG_RUNTIME_DIR, '', `/run/user/${process.getuid?.() ?? 0}`];
  return [...new Set(dirs.map((d) => controlSocketOf(m, d)))];
}

/** When a live process started (a zombie has exited): the store's lock
 * tells a reused pid the same way. */
export const processStart = processStartTime;

export function writeRecord(rec: Omit<MountRecord, 'start' | 'pid'>): void {
  fs.mkdirSync(registryDir(), { recursive: true, mode: 0o700 });
  const full: MountRecord = { ...rec, pid: process.pid, start: processStart(process.pid) ?? '' };
  const file = recordFile(rec.mountpoint);
  fs.writeFileSync(file + '.tmp', JSON.stringify(full));
  fs.renameSync(file + '.tmp', file);
}

export function removeRecord(mountpoint: string): void {
  try {
    const file = recordFile(mountpoint);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as MountRecord;
    if (rec.pid === process.pid) fs.rmSync(file, { force: true });
  } catch { /* gone already */ }
}

/** The live mount process serving this mountpoint, if any. */
export function readRecord(mountpoint: string): MountRecord | undefined {
  const file = recordFile(mountpoint);
  let rec: MountRecord;
  try { rec = JSON.parse(fs.readFileSync(file, 'utf8')) as MountRecord; } catch { return undefined; }
  if (rec.mountpoint === mountpoint && processStart(rec.pid) === rec.start) return rec;
  fs.rmSync(file, { force: true });
  return undefined;
}

/** Unmounts with fusermount (umount(8) where fusermount is missing). Lazy:
 * detach even when busy or when the serving process is gone. */
export async function unmount(mountpoint: string, lazy: boolean): Promise<void> {
  try {
    await execFileP('fusermount', [lazy ? '-uz' : '-u', '--', mountpoint]);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code !== 'ENOENT') throw new Error((err.stderr || err.message).trim());
    await execFileP('umount', [...(lazy ? ['-l'] : []), '--', mountpoint]);
  }
}
