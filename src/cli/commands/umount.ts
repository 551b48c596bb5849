import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { run, UsageError } from '../errors.js';
import { FSTYPE, canonicalMountpoint, findMount, parseMountinfo, readRecord, processStart, unmount } from '../../fuse/mounts.js';

const EXIT_TIMEOUT_MS = 60000;
/** How long a mount process may stay stopped before umount says so (one
 * being continued just then is not stopped for long). */
const STOPPED_GRACE_MS = 1000;

interface Args { mountpoint: string }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const command: CommandModule<object, Args> = {
  command: 'umount <mountpoint>',
  describe: 'Unmount a mikofs mount: open files are committed and the store closed (also clears a dead mount)',
  builder: (y) => y.positional('mountpoint', { type: 'string', demandOption: true, describe: 'where the store is mounted' }),
  handler: (a) => run(async () => {
    const mnt = canonicalMountpoint(a.mountpoint);
    const entry = await findMount(mnt);
    const rec = readRecord(mnt);
    if (!entry && !rec) throw new Error(`${mnt} is not mounted`);
    if (entry && entry.fstype !== FSTYPE) throw new UsageError(`${mnt} is not a mikofs mount (${entry.fstype})`);
    const me = process.getuid?.() ?? 0;
    if (entry?.uid !== undefined && me !== 0 && entry.uid !== me) {
      throw Object.assign(new Error(`${mnt} was mounted by another user (uid ${entry.uid}): only they or root can unmount it`), { code: 'EPERM' });
    }
    // Mounts inside this one: a lazy detach (the fallback when it is busy)
    // would take them down with it, processes and all (found 2026-12-05:
    // a mikofs mount inside another went away with it, exit 0). As
    // umount(8), refuse.
    const inner = mountsInside(mnt);
    if (inner.length) {
      throw new Error(`${mnt} has ${inner.length === 1 ? 'a mount' : `${inner.length} mounts`} inside it ` +
        `(${inner.slice(0, 3).join(', ')}${inner.length > 3 ? ', ...' : ''}): unmount ${inner.length === 1 ? 'it' : 'them'} first`);
    }
    const busy = processesUsing(mnt);
    // No live process of ours serves it: a stat answers at once (ENOTCONN
    // when its process died).
    const dead = !rec && isDead(mnt);
    if (rec) {
      // The mount process unmounts, commits open sessions and closes the store.
      try { process.kill(rec.pid, 'SIGTERM'); } catch { /* exited meanwhile */ }
      const deadline = Date.now() + EXIT_TIMEOUT_MS;
      let stoppedSince: number | undefined;
      while (processStart(rec.pid) === rec.start) {
        // A stopped process (kill -STOP, Ctrl-Z on a --foreground mount)
        // takes the SIGTERM only once continued: say so instead of waiting
        // out the minute.
        if (!isStopped(rec.pid)) stoppedSince = undefined;
        else if (Date.now() - (stoppedSince ??= Date.now()) >= STOPPED_GRACE_MS) {
          throw new Error(`mount process ${rec.pid} is stopped: \`kill -CONT ${rec.pid}\` lets it unmount as asked, ` +
            `or \`umount -l ${mnt}\` detaches the mount and leaves the process stopped`);
        }
        if (Date.now() > deadline) {
          throw new Error(`mount process ${rec.pid} did not exit within ${EXIT_TIMEOUT_MS / 1000} s: ` +
            `\`kill -KILL ${rec.pid}\` ends it (what it committed stays; the store recovers on its next open), then \`mikofs umount ${mnt}\` clears the mount`);
        }
        await sleep(20);
      }
    }
    // A dead mount ("Transport endpoint is not connected"), or one its
    // process left behind: detach it.
    if ((await findMount(mnt))?.fstype === FSTYPE) await unmount(mnt, true);
    // It was unmounted anyway (lazily): say so, since what they do there now fails.
    if (busy > 0) {
      // A process that died committed nothing at the end: only what each
      // file had at its last close or fsync.
      const kept = dead
        ? 'its mount process had died: what they wrote is committed up to the last close or fsync of each file (the store recovers on its next open)'
        : 'what they had written is committed';
      process.stderr.write(`mikofs: ${mnt} was busy (${busy} process${busy === 1 ? '' : 'es'} had files or a working directory there): ` +
        `detached; ${kept}, what they do there from now on fails (ENOTCONN)\n`);
    }
  }),
};

/** Whether a process is stopped (state T, or t: stopped by a tracer). */
function isStopped(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
  } catch {
    return false;
  }
}

/** A FUSE mount whose process is gone answers every call with ENOTCONN. */
function isDead(mnt: string): boolean {
  try { fs.statSync(mnt); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === 'ENOTCONN'; }
}

/** How many other processes have a file open, or their working directory,
 * at or under mnt (read from /proc: the mount itself is not touched). */
/** Mountpoints below mnt, deepest first. */
function mountsInside(mnt: string): string[] {
  let text = '';
  try { text = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return []; }
  return parseMountinfo(text).map((e) => e.mountpoint).filter((p) => p.startsWith(mnt + '/')).sort((x, y) => y.length - x.length);
}

function processesUsing(mnt: string): number {
  const inside = (l: string) => l === mnt || l.startsWith(mnt + '/');
  let n = 0;
  let pids: string[] = [];
  try { pids = fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d) && Number(d) !== process.pid); } catch { return 0; }
  for (const pid of pids) {
    try {
      if (inside(fs.readlinkSync(`/proc/${pid}/cwd`))) { n++; continue; }
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        if (inside(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) { n++; break; }
      }
    } catch { /* gone, or not ours to look at */ }
  }
  return n;
}
