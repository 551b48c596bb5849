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
  }),
};
