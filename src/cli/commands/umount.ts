import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { run, UsageError } from '../errors.js';
import { FSTYPE, canonicalMountpoint, findMount, readRecord, processStart, unmount } from '../../fuse/mounts.js';

const EXIT_TIMEOUT_MS = 60000;

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
    const busy = processesUsing(mnt);
    if (rec) {
      // The mount process unmounts, commits open sessions and closes the store.
      try { process.kill(rec.pid, 'SIGTERM'); } catch { /* exited meanwhile */ }
      const deadline = Date.now() + EXIT_TIMEOUT_MS;
      while (processStart(rec.pid) === rec.start) {
        if (Date.now() > deadline) throw new Error(`mount process ${rec.pid} did not exit within ${EXIT_TIMEOUT_MS / 1000} s`);
        await sleep(20);
      }
    }
    // A dead mount ("Transport endpoint is not connected"), or one its
    // process left behind: detach it.
    if ((await findMount(mnt))?.fstype === FSTYPE) await unmount(mnt, true);
    // It was unmounted anyway (lazily): say so, since what they do there now fails.
    if (busy > 0) {
      process.stderr.write(`mikofs: ${mnt} was busy (${busy} process${busy === 1 ? '' : 'es'} had files or a working directory there): ` +
        'detached; what they had written is committed, what they do there from now on fails (ENOTCONN)\n');
    }
  }),
};

/** How many other processes have a file open, or their working directory,
 * at or under mnt (read from /proc: the mount itself is not touched). */
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
