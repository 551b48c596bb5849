// `mikofs mount` / `mikofs umount`: refusals, readiness, signals, options.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { mikofs, mountFresh, run, sh, sleep, spawnTracked, tempDir, useMounts, waitLine } from './helpers/mount.js';

useMounts();

const WRITER = `
const fs = require('fs');
const fd = fs.openSync(process.argv[1], 'w');
fs.writeSync(fd, 'committed by shutdown');
console.log('written');
setInterval(() => {}, 1000);
`;

describe('mikofs mount', () => {
  it('mounts in the background and is ready when it returns', async () => {
    const m = await mountFresh();
    expect(await m.mounted()).toBe(true);
    // Ready means serving: the first access works at once.
    await fsp.writeFile(m.path('hello'), 'hi\n');
    expect(await fsp.readFile(m.path('hello'), 'utf8')).toBe('hi\n');
    const info = await fsp.readFile('/proc/self/mountinfo', 'utf8');
    expect(info).toMatch(new RegExp(` ${m.mnt} .* - fuse\\.mikofs ${m.store} `));
  });

  it('a store mounted through a symlink is reached by its own name and the link (found 2026-12-05: both waited 11 s and were refused)', async () => {
    const m = await mountFresh();
    await m.umount();
    const link = path.join(m.dir, 'link.mikofs');
    await fsp.symlink(m.store, link);
    expect((await mikofs('mount', link, m.mnt)).code).toBe(0);
    for (const store of [m.store, link, m.mnt]) {
      const t0 = Date.now();
      const r = await mikofs('snapshot', '--store', store);
      expect(r.stderr, store).toBe('');
      expect(r.code, store).toBe(0);
      expect(Date.now() - t0, store).toBeLessThan(5000);
    }
  });

  it('refuses a second mount of the same store, naming the mountpoint and pid', async () => {
    const m = await mountFresh();
    const other = path.join(m.dir, 'other');
    await fsp.mkdir(other);
    const r = await mikofs('mount', m.store, other);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`process ${m.pid()}`);
    expect(r.stderr).toContain(`mount at ${m.mnt}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await run('mountpoint', ['-q', other]).then((x) => x.code)).not.toBe(0);
  });

  it('waits for a CLI command that has the store open (a cron snapshot), not for another mount', async () => {
    const m = await mountFresh();
    await m.umount();
    // A process holding the store for writing as a CLI command does.
    const hold = (holder: string) => spawnTracked(process.execPath, ['--input-type=module', '-e', `
      const { openStore } = await import(${JSON.stringify(path.resolve('dist/index.js'))});
      const e = await openStore(${JSON.stringify(m.store)}, { holder: ${JSON.stringify(holder)} });
      console.log('holding');
      setTimeout(() => { e.close(); console.log('closed'); }, 1500);
    `]);
    const cli = hold('mikofs snapshot');
    await waitLine(cli, /holding/);
    const t0 = Date.now();
    const r = await mikofs('mount', m.store, m.mnt);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThan(500); // it waited for the close
    await m.umount();
    const other = hold('mount at /elsewhere');
    await waitLine(other, /holding/);
    const refused = await mikofs('mount', m.store, m.mnt);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('mount at /elsewhere');
    await waitLine(other, /closed/);
  });

  it('refuses a missing, non-directory, non-empty or mounted mountpoint', async () => {
    const m = await mountFresh();
    const d = m.dir;
    await fsp.mkdir(path.join(d, 'full'));
    await fsp.writeFile(path.join(d, 'full', 'x'), '');
    await fsp.writeFile(path.join(d, 'file'), '');
    const store2 = path.join(d, 's2.mikofs');
    expect((await mikofs('init', store2)).code).toBe(0);
    const cases: [string, RegExp][] = [
      [path.join(d, 'missing'), /does not exist/],
      [path.join(d, 'file'), /not a directory/],
      [path.join(d, 'full'), /not empty/],
      [m.mnt, /already a mountpoint/],
    ];
    for (const [mnt, re] of cases) {
      const r = await mikofs('mount', store2, mnt);
      expect(r.code, mnt).toBe(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const r = await mikofs('mount', path.join(d, 'nostore.mikofs'), path.join(d, 'missing'));
    expect(r.stderr).toMatch(/no store at/);
  });

  it('umount of something that is not mounted fails with one line', async () => {
    const d = await tempDir();
    const r = await mikofs('umount', d);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not mounted/);
    await fsp.rm(d, { recursive: true });
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} to the mount process unmounts and commits open sessions`, async () => {
      const m = await mountFresh();
      const w = spawnTracked(process.execPath, ['-e', WRITER, m.path('open.txt')]);
      await waitLine(w, /written/);
      const pid = m.pid();
      process.kill(pid, sig);
      for (let i = 0; i < 500 && (await m.mounted()); i++) await sleep(20);
      expect(await m.mounted()).toBe(false);
      for (let i = 0; i < 500; i++) { try { process.kill(pid, 0); await sleep(20); } catch { break; } }
      w.kill('SIGKILL');
      const e = await openStore(m.store, { readonly: true });
      try {
        expect(e.readFile('/open.txt').toString()).toBe('committed by shutdown');
      } finally { e.close(); }
    });
  }

  it('umount commits sessions still open and releases the store', async () => {
    const m = await mountFresh();
    const w = spawnTracked(process.execPath, ['-e', WRITER, m.path('open.txt')]);
    await waitLine(w, /written/);
    const r = await mikofs('umount', m.mnt);
    expect(r.code).toBe(0);
    // (it says the writer's later writes fail)
    expect(r.stderr).toBe(`mikofs: ${m.mnt} was busy (1 process had files or a working directory there): ` +
      'detached; what they had written is committed, what they do there from now on fails (ENOTCONN)\n');
    expect(await m.mounted()).toBe(false);
    // The store is closed: it can be opened for writing right away.
    const e = await openStore(m.store);
    try { expect(e.readFile('/open.txt').toString()).toBe('committed by shutdown'); } finally { e.close(); }
  });

  it('-o given twice adds up, as for mount(8): -o ro -o attr_timeout=5 is read-only (found 2026-12-05: the first was dropped)', async () => {
    const m = await mountFresh();
    await m.umount();
    const r = await mikofs('mount', m.store, m.mnt, '-o', 'ro', '-o', 'attr_timeout=5');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const line = (await sh(`grep " ${m.mnt} " /proc/mounts`)).trim();
    expect(line.split(' ')[3].split(',')[0]).toBe('ro');
    expect((await run('touch', [m.path('x')])).stderr).toMatch(/Read-only file system/);
  });

  it('-o ro mounts read-only: every change is EROFS', async () => {
    const m = await mountFresh();
    await sh(`echo data > ${m.mnt}/f && mkdir ${m.mnt}/d`);
    await m.remount(['ro']);
    const out = await sh(`
      cd ${m.mnt}
      cat f
      for c in "touch g" "echo x >> f" "rm f" "mkdir e" "rmdir d" "mv f h" "chmod 600 f" "ln -s f l" "truncate -s 0 f"; do
        if eval "$c" 2>/dev/null; then echo "$c: allowed"; else echo "$c: refused"; fi
      done
      touch g 2>&1 | sed 's/.*: //' || true`);
    expect(out).toBe([
      'data', 'touch g: refused', 'echo x >> f: refused', 'rm f: refused', 'mkdir e: refused', 'rmdir d: refused',
      'mv f h: refused', 'chmod 600 f: refused', 'ln -s f l: refused', 'truncate -s 0 f: refused', 'Read-only file system', '',
    ].join('\n'));
    // History commands that write say so in one line, naming what works
    // (they said a bare "EROFS", or EINVAL, and gc claimed success).
    for (const args of [['snapshot'], ['rollback', '--to', 'c1'], ['label', 'x'], ['retention', '--keep-all', '1h'], ['gc'], ['restore', '/f', '--at', 'c1']]) {
      const r = await mikofs(...args, '--store', m.mnt);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^mikofs: EROFS: .* is mounted read-only \(-o ro\): the commands that only read \(.*\) work\n$/);
    }
    expect((await mikofs('gc', '--dry-run', '--store', m.mnt)).code).toBe(0);
    // --store through a symlinked directory finds the same mount.
    const link = path.join(path.dirname(m.mnt), 'link');
    await fsp.symlink(path.dirname(m.mnt), link);
    const via = await mikofs('log', '--limit', '1', '--store', path.join(link, path.basename(m.mnt)));
    expect(via.stderr).toBe('');
    expect(via.stdout).toBe((await mikofs('log', '--limit', '1', '--store', m.mnt)).stdout);
  });

  it('a read-only mount beside the writer of its store reads what the writer commits, and leaves it its control socket', async () => {
    // It took the store's socket over (every history command on the live
    // mount was EROFS), and its unmount removed the socket file: the live
    // mount could not be reached again until it was remounted.
    const m = await mountFresh();
    await sh(`echo one > ${m.mnt}/f`);
    const ro = path.join(m.dir, 'ro');
    await fsp.mkdir(ro);
    expect((await mikofs('mount', m.store, ro, '-o', 'ro')).code).toBe(0);
    try {
      const snap = await mikofs('snapshot', '--store', m.mnt, '--label', 'beside');
      expect(snap.stderr).toBe('');
      expect(snap.code).toBe(0);
      expect(await sh(`cd ${m.mnt} && ${path.resolve('scripts/mikofs')} label --list`)).toMatch(/^beside\b/m);
      // The read-only mount answers for itself: reads work, changes are EROFS.
      expect((await mikofs('label', 'x', '--store', ro)).stderr).toMatch(/^mikofs: EROFS: .* mounted read-only/);
      const log = await mikofs('log', '--limit', '1', '--store', ro);
      expect(log.stderr).toBe('');
      expect(log.code).toBe(0);
      // It reads what the writer commits (within its 1 s caches): it kept
      // the rows it had cached, and read zeros where the new chunks were.
      await sh(`head -c 200000 /dev/zero | tr '\\0' A > ${m.mnt}/big && echo one > ${m.mnt}/g`);
      await sleep(1100);
      expect(await sh(`stat -c %s ${ro}/big && tr -d A < ${ro}/big | wc -c && cat ${ro}/g`)).toBe('200000\n0\none\n');
      await sh(`head -c 300000 /dev/zero | tr '\\0' B > ${m.mnt}/big && echo two > ${m.mnt}/g`);
      await sleep(1100);
      expect(await sh(`stat -c %s ${ro}/big && tr -d B < ${ro}/big | wc -c && cat ${ro}/g`)).toBe('300000\n0\ntwo\n');
      // A new open right after a commit that grew the file reads a whole
      // version, never the new bytes cut to the size the kernel had cached.
      expect(await sh(`python3 - <<'EOF'
import time
w, r = '${m.mnt}/t', '${ro}/t'
open(w, 'w').write('A' * 100); time.sleep(1.2); open(r).read()
bad = 0
for g in range(15):
    new, old = chr(66 + g) * (200 + g * 50), (chr(65 + g) * (150 + g * 50) if g else 'A' * 100)
    open(w, 'w').write(new)
    for i in range(4):
        s = open(r).read()
        bad += s not in (new, old)
        time.sleep(0.02)
print(bad)
EOF`)).toBe('0\n');
    } finally {
      expect((await mikofs('umount', ro)).code).toBe(0);
    }
    await sh(`echo two > ${m.mnt}/f`);
    const after = await mikofs('snapshot', '--store', m.mnt, '--label', 'after');
    expect(after.stderr).toBe('');
    expect(after.code).toBe(0);
    expect(await fsp.readFile(path.join(m.mnt, '@after', 'f'), 'utf8')).toBe('two\n');
    expect((await mikofs('label', '--list', '--store', m.store)).stdout).toMatch(/^after\b/m);
  });

  it('a store on read-only media is read by the read commands and by mount -o ro, and refused for writing', async () => {
    // A backup disk or a read-only snapshot: SQLite cannot make a WAL
    // index there, so a closed store is left out of WAL mode.
    const dir = await tempDir();
    const media = path.join(dir, 'media');
    const mnt = path.join(dir, 'mnt');
    await fsp.mkdir(media); await fsp.mkdir(mnt);
    await sh(`mount -t tmpfs -o size=32m tmpfs ${media}`);
    try {
      const store = path.join(media, 'backup.mikofs');
      expect((await mikofs('init', store)).code).toBe(0);
      expect((await mikofs('mount', store, mnt)).code).toBe(0);
      await sh(`echo first > ${mnt}/notes.txt`);
      expect((await mikofs('snapshot', '--store', mnt, '--label', 'v1')).code).toBe(0);
      await sh(`echo second >> ${mnt}/notes.txt`);
      expect((await mikofs('umount', mnt)).code).toBe(0);
      await sh(`mount -o remount,ro ${media}`);
      expect(await fsp.readdir(media)).toEqual(['backup.mikofs']);

      // (stderr too: CI on a loaded machine once read nothing here, 2026-12-05)
      expect(await mikofs('cat', store, '/notes.txt')).toMatchObject({ stdout: 'first\nsecond\n', stderr: '' });
      const log = await mikofs('log', '--store', store);
      expect(log.code).toBe(0);
      expect(log.stdout).toContain('snapshot');
      expect((await mikofs('verify', '--store', store)).code).toBe(0);
      expect((await mikofs('du', '--store', store)).code).toBe(0);
      expect((await mikofs('mount', store, mnt, '-o', 'ro')).code).toBe(0);
      expect(await fsp.readFile(path.join(mnt, 'notes.txt'), 'utf8')).toBe('first\nsecond\n');
      expect(await fsp.readFile(path.join(mnt, '@v1', 'notes.txt'), 'utf8')).toBe('first\n');
      expect((await mikofs('umount', mnt)).code).toBe(0);

      for (const args of [['mount', store, mnt], ['snapshot', '--store', store]]) {
        const r = await mikofs(...args);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/read-only.*mount -o ro/);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
    } finally {
      await run('umount', [mnt]);
      await run('umount', [media]);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('writes arrive as 128 KiB pieces (big_writes, max_write)', async () => {
    const m = await mountFresh();
    const before = (await m.opStats()).write?.n ?? 0;
    await sh(`dd if=/dev/zero of=${m.mnt}/big bs=1M count=4 status=none`);
    const after = (await m.opStats()).write.n;
    expect(after - before).toBe(32);
    expect(await sh(`stat -c %s ${m.mnt}/big`)).toBe('4194304\n');
  });

  it('verify scrubs a mounted store beside the mount, from inside it, while files are being written', async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt} && head -c 3000000 /dev/urandom > a.bin && seq 1 20000 > lines.txt && git init -q r && cd r \
      && echo one > f && git add f && git -c user.name=t -c user.email=t@t commit -qm one && sed -i s/one/two/ f`);
    // A writer keeps saving versions while the scan runs: both go on.
    const writing = sh(`cd ${m.mnt} && for i in $(seq 1 40); do head -c 600000 /dev/urandom > w.bin; echo $i >> lines.txt; done; echo done`);
    const r = await run(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'cli', 'main.js'), 'verify'], { cwd: path.join(m.mnt, 'r') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${m.store}: no problems found\\n`));
    expect(r.stdout).toMatch(/structure {4}sound/);
    expect(r.stdout).toMatch(/chunks {7}\d+ read back, [\d.]+ MiB of content: every one matches its BLAKE3 address/);
    expect(await writing).toBe('done\n');
    expect(await sh(`tail -1 ${m.mnt}/lines.txt; stat -c %s ${m.mnt}/w.bin`)).toBe('40\n600000\n');
  });

  it('mount without a store uses the embedded default store, created on first use', async () => {
    const d = await tempDir();
    const mnt = path.join(d, 'mnt');
    await fsp.mkdir(mnt);
    const env = { ...process.env, XDG_DATA_HOME: path.join(d, 'data') };
    const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'cli', 'main.js');
    try {
      const r = await run(process.execPath, [cli, 'mount', mnt], { env });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      await fsp.writeFile(path.join(mnt, 'x'), 'default');
      expect((await run(process.execPath, [cli, 'umount', mnt], { env })).code).toBe(0);
      const e = await openStore(path.join(d, 'data', 'mikofs', 'default.mikofs'), { readonly: true });
      try { expect(e.readFile('/x').toString()).toBe('default'); } finally { e.close(); }
    } finally {
      await run('fusermount', ['-uz', mnt]);
      await fsp.rm(d, { recursive: true, force: true });
    }
  });
});
