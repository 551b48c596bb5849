// mikofs backup of a mounted store while a process keeps writing files into
// the mount: the mount process copies it (control socket, worker thread)
// and goes on serving; the copy verifies, mounts read-only and holds every
// file whose close returned before the backup began. (cp of the same store
// gave damaged copies: verify reported problems in 3 of 12.)
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CLI, mikofs, mountFresh, run, sleep, spawnTracked, useMounts, waitLine } from './helpers/mount.js';

useMounts();

/** Writes w0, w1, ... one after another (64 KiB each, content known from
 * its index), printing each index once its close has returned. */
const WRITER = `
const fs = require('fs');
const dir = process.argv[1];
const body = (i) => Buffer.alloc(65536, 'file ' + i + '\\n');
let i = 0;
(function next() {
  fs.writeFileSync(dir + '/w' + i, body(i));
  process.stdout.write(i + '\\n');
  i++;
  setImmediate(next);
})();
`;
const body = (i: number) => Buffer.alloc(65536, `file ${i}\n`);

describe('mikofs backup of a mounted store', () => {
  it('copies a store that is being written, consistently, while the mount keeps serving', async () => {
    const m = await mountFresh();
    // Enough data that the copy takes a while (several steps).
    const big: Record<string, string> = {};
    for (let i = 0; i < 24; i++) {
      const data = Buffer.alloc(2 << 20);
      for (let j = 0; j < data.length; j += 4) data.writeUInt32LE((Math.imul(j + 1, 2654435761) ^ i) >>> 0, j);
      await fsp.writeFile(m.path(`big${i}`), data);
      big[`big${i}`] = createHash('sha256').update(data).digest('hex');
    }

    const writer = spawnTracked(process.execPath, ['-e', WRITER, m.mnt]);
    let last = -1;
    writer.stdout!.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      last = Math.max(last, Number(lines[lines.length - 1]));
    });
    await waitLine(writer, /^50$/);
    const before = last; // w0..w{before} were closed before the backup began

    const dest = path.join(m.dir, 'backup.mikofs');
    const r = await mikofs('backup', dest, '--store', m.mnt);
    const after = last;
    writer.kill('SIGKILL');
    expect(r.stderr).toBe(''); // piped: no progress line
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backed up .*store\.mikofs to .*backup\.mikofs: /);
    // The mount served the writer while it copied.
    expect(after).toBeGreaterThan(before);
    expect(fs.existsSync(dest + '.tmp')).toBe(false);

    const v = await mikofs('verify', '--store', dest);
    expect(v.stdout).toContain('no problems found');
    expect(v.code).toBe(0);

    const mnt2 = path.join(m.dir, 'copy');
    await fsp.mkdir(mnt2);
    const mo = await mikofs('mount', dest, mnt2, '-o', 'ro');
    expect(mo.stderr).toBe('');
    expect(mo.code).toBe(0);
    try {
      for (const [name, sum] of Object.entries(big)) {
        expect(createHash('sha256').update(await fsp.readFile(path.join(mnt2, name))).digest('hex')).toBe(sum);
      }
      for (let i = 0; i <= before; i++) expect((await fsp.readFile(path.join(mnt2, `w${i}`))).equals(body(i))).toBe(true);
      // Files written during the copy are in it whole or not at all (at most
      // the one being written when the copy began, as an empty file).
      const names = (await fsp.readdir(mnt2)).filter((n) => /^w\d+$/.test(n));
      let partial = 0;
      for (const n of names) {
        const data = await fsp.readFile(path.join(mnt2, n));
        if (data.length === 0) partial++;
        else expect(data.equals(body(Number(n.slice(1))))).toBe(true);
      }
      expect(partial).toBeLessThanOrEqual(1);
      expect(names.length).toBeLessThanOrEqual(after + 2);
      await expect(fsp.writeFile(path.join(mnt2, 'x'), 'y')).rejects.toMatchObject({ code: 'EROFS' });
    } finally {
      const u = await mikofs('umount', mnt2);
      if (u.code !== 0) await run('fusermount', ['-uz', mnt2]);
    }

    // The original goes on; a copy into its own mount is refused.
    await fsp.writeFile(m.path('after'), 'ok');
    expect(await fsp.readFile(m.path('after'), 'utf8')).toBe('ok');
    const inside = await mikofs('backup', m.path('self.mikofs'), '--store', m.mnt);
    expect(inside.code).toBe(1);
    expect(inside.stderr).toMatch(/is inside the mount of the store it would copy/);
    const again = await mikofs('backup', dest, '--store', m.mnt);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists \(--force replaces it\)/);
  });

  it('unmounted while it copies: a whole DEST, or the command says the mount went away; never a DEST.tmp left (found 2026-12-05)', async () => {
    const m = await mountFresh();
    for (let i = 0; i < 24; i++) await fsp.writeFile(m.path(`big${i}`), Buffer.alloc(4 << 20, i + 1));
    const dest = path.join(path.dirname(m.mnt), 'gone.mikofs');
    const b = spawnTracked(process.execPath, [CLI, 'backup', dest, '--store', m.mnt]);
    let err = '';
    b.stderr!.on('data', (d: Buffer) => { err += d; });
    const exited = new Promise<number>((r) => b.once('exit', (c) => r(c ?? 1)));
    for (let i = 0; i < 500 && !fs.existsSync(dest + '.tmp'); i++) await sleep(5);
    expect(fs.existsSync(dest + '.tmp')).toBe(true);
    const u = await mikofs('umount', m.mnt);
    expect(u.code).toBe(0);
    // Either the copy finished before the process exited (a whole, checked
    // DEST), or the command says the mount went away and nothing is left;
    // never a full-size DEST.tmp (it was left, and refused the next backup).
    const code = await exited;
    for (let i = 0; i < 100 && fs.existsSync(dest + '.tmp'); i++) await sleep(20);
    expect(fs.existsSync(dest + '.tmp')).toBe(false);
    if (code === 0) expect((await mikofs('verify', '--store', dest)).code).toBe(0);
    else {
      expect(err).toMatch(/the mount went away during the backup \(unmounted, or its process killed\); nothing was kept at /);
      expect(fs.existsSync(dest)).toBe(false);
    }
  });

  it('Ctrl-C of the command stops the copy the mount makes, and leaves nothing behind (found 2026-12-05: the copy went on to the end)', async () => {
    const m = await mountFresh();
    for (let i = 0; i < 12; i++) {
      const data = Buffer.alloc(16 << 20);
      for (let j = 0; j < data.length; j += 4) data.writeUInt32LE((Math.imul(j + 1, 2654435761) ^ i) >>> 0, j);
      await fsp.writeFile(m.path(`big${i}`), data);
    }
    const dest = path.join(m.dir, 'cancelled.mikofs');
    const cli = spawnTracked(process.execPath, [CLI, 'backup', dest, '--store', m.mnt]);
    const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
    while (!fs.existsSync(dest + '.tmp')) await sleep(2);
    cli.kill('SIGINT');
    expect(await exited).toBe(130);
    for (let i = 0; i < 250 && fs.existsSync(dest + '.tmp'); i++) await sleep(20);
    await sleep(300); // (a copy going on would have renamed DEST.tmp to DEST by now, or within 3 s)
    expect(fs.readdirSync(m.dir).filter((f) => f.startsWith('cancelled'))).toEqual([]);
    // The mount serves on, and the next backup works.
    expect((await fsp.readFile(m.path('big3'))).length).toBe(16 << 20);
    const again = await mikofs('backup', dest, '--store', m.mnt);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });
});
