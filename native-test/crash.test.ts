// kill -9 of the mount process while several writers are in the middle of
// their files. `mikofs umount` clears the dead mount; after a remount every
// file committed before is byte-identical and no partial file appears.
import fsp from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mikofs, mountFresh, sh, sleep, spawnTracked, useMounts, waitLine } from './helpers/mount.js';

useMounts();

// Opens a file, writes `size` bytes in 64 KiB pieces (never closing), then
// reports and waits to be killed.
const WRITER = String.raw`
const fs = require('fs');
const [file, flags, size, pos] = process.argv.slice(1);
const fd = fs.openSync(file, flags);
const piece = Buffer.alloc(65536, 0x5a);
for (let done = 0; done < Number(size); done += piece.length) fs.writeSync(fd, piece, 0, piece.length, Number(pos) + done);
console.log('written');
setInterval(() => {}, 1000);
`;

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('crash of the mount process', () => {
  it('kill -9 with writers mid-file: committed files intact, no partial file', { timeout: 120000 }, async () => {
    const m = await mountFresh();
    const files: Record<string, Buffer> = {
      'a.bin': randomBytes(1536 * 1024),
      'b.txt': Buffer.from('committed text\n'.repeat(1000)),
      'dir/c.txt': Buffer.from('small'),
      'big.bin': randomBytes(3 << 20),
    };
    await fsp.mkdir(m.path('dir'));
    for (const [name, data] of Object.entries(files)) await fsp.writeFile(m.path(name), data);
    await fsp.symlink('a.bin', m.path('link'));
    await sleep(300); // past the group commit window: committed means on disk

    const writers = [
      spawnTracked(process.execPath, ['-e', WRITER, m.path('a.bin'), 'r+', String(640 * 1024), '0']),
      spawnTracked(process.execPath, ['-e', WRITER, m.path('b.txt'), 'w', String(128 * 1024), '0']),
      spawnTracked(process.execPath, ['-e', WRITER, m.path('new.bin'), 'wx', String(1 << 20), '0']),
      spawnTracked(process.execPath, ['-e', WRITER, m.path('big.bin'), 'a', String(1 << 20), '0']),
      spawnTracked(process.execPath, ['-e', WRITER, m.path('dir/c.txt'), 'r+', String(64 * 1024), String(1 << 20)]),
    ];
    await Promise.all(writers.map((w) => waitLine(w, /written/)));
    await sleep(300); // let staged chunks of the sessions reach the WAL too

    const pid = m.pid();
    process.kill(pid, 'SIGKILL');
    for (const w of writers) w.kill('SIGKILL');
    for (let i = 0; i < 250; i++) { try { process.kill(pid, 0); await sleep(20); } catch { break; } }

    // A history command names the dead mount and what to do about it.
    const h = await mikofs('log', '--store', m.mnt);
    expect(h.code).toBe(1);
    expect(h.stderr).toMatch(/^mikofs: ENOTCONN: the mount at .* is dead \(its process exited; store .*\): clear it with `mikofs umount .*`, then mount again\n$/);
    const u = await mikofs('umount', m.mnt);
    expect(u.stderr).toBe('');
    expect(u.code).toBe(0);
    expect(await m.mounted()).toBe(false);

    await m.mount();
    for (const [name, data] of Object.entries(files)) {
      expect(md5(await fsp.readFile(m.path(name))), name).toBe(md5(data));
    }
    expect(await fsp.readlink(m.path('link'))).toBe('a.bin');
    // The created file exists at most as created (empty), never partial.
    const fresh = await fsp.readFile(m.path('new.bin')).catch(() => Buffer.alloc(0));
    expect(fresh.length).toBe(0);
    expect(await sh(`cd ${m.mnt} && find . | sort | grep -v '^./new.bin$'`)).toBe('.\n./a.bin\n./b.txt\n./big.bin\n./dir\n./dir/c.txt\n./link\n');
    // And the store keeps working.
    await fsp.writeFile(m.path('after.txt'), 'after');
    await m.remount();
    expect(await fsp.readFile(m.path('after.txt'), 'utf8')).toBe('after');
  });
});
