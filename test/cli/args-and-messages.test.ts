// Findings of the exploratory CLI round of 2026-12-09: "--" before
// positionals, `mount STORE` without a mountpoint, bad mount timeouts, zone
// offsets out of range, a mount gone while a command reached it, paths
// echoed as typed, and verify of a store that does not open.
import { describe, it, expect, beforeAll, vi, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawnSync } from 'node:child_process';
import { tmpDir, bytes } from '../helpers.js';
import { openStore, parseTimeSpec } from '../../src/index.js';
import { openTarget } from '../../src/cli/target.js';
import { openError } from '../../src/store/database.js';

const CLI = path.resolve('dist/cli/main.js');

function mikofs(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...opts.env }, cwd: opts.cwd }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err });
    });
  });
}

describe('"--" ends the options: what follows fills the positionals', () => {
  let store: string;
  let c1: number;
  beforeAll(async () => {
    store = path.join(tmpDir(), 'dd.mikofs');
    const e = await openStore(store);
    e.writeFile('/a.txt', 'one\n');
    e.mkdir('/x');
    e.writeFile('/x/-y', 'y\n');
    c1 = e.headCommit;
    e.writeFile('/a.txt', 'two\n');
    e.writeFile('/b.txt', 'b\n');
    e.close();
  });

  it('log, diff, stat, ls, cat and restore take their paths after "--"', async () => {
    const log = await mikofs(['log', '--store', store, '--json', '--', '/b.txt']);
    expect(log.err).toBe('');
    const commits = JSON.parse(log.out) as { changes: { path: string }[] }[];
    expect(commits).toHaveLength(1); // b.txt's one version, not the whole log
    expect(commits[0].changes.map((c) => c.path)).toEqual(['/b.txt']);
    const diff = await mikofs(['diff', `c${c1}`, '--store', store, '--stat', '--', '/a.txt']);
    expect(diff.code).toBe(0);
    expect(diff.out).toMatch(new RegExp(`^M /a\\.txt\\n1 paths differ between c${c1} and c\\d+\\n$`));
    const stat = await mikofs(['stat', store, '--json', '--', '/x']);
    expect(JSON.parse(stat.out)).toMatchObject({ path: '/x', type: 'd' });
    const ls = await mikofs(['ls', store, '--', '/x']);
    expect(ls.out).toBe('-y\n');
    const cat = await mikofs(['cat', '--', store, '/x/-y']);
    expect(cat.out).toBe('y\n');
    const restore = await mikofs(['restore', '--at', `c${c1}`, '--store', store, '--', '/a.txt']);
    expect(restore.err).toBe('');
    expect(restore.out).toMatch(new RegExp(`^restored /a\\.txt as of c${c1} \\(commit c\\d+\\)\\n$`));
  });

  it('a word after "--" that looks like an option is a value; one too many is refused; an option before "--" with no value says so', async () => {
    const dir = tmpDir();
    const xdg = path.join(dir, 'xdg');
    const init = await mikofs(['init', '--', '-d.mikofs'], { cwd: dir, env: { XDG_DATA_HOME: xdg } });
    expect(init.err).toBe('');
    expect(init.out).toBe(`created ${path.join(fs.realpathSync(dir), '-d.mikofs')}\n`);
    expect(fs.existsSync(xdg)).toBe(false); // not the default store
    const extra = await mikofs(['stat', store, '--', '/x', '/y']);
    expect([extra.code, extra.err]).toEqual([2, 'mikofs: Unknown argument: /y (see mikofs --help)\n']);
    const help = await mikofs(['stat', store, '--', '--help']);
    expect([help.code, help.err]).toEqual([1, 'mikofs: --help: no such file or directory\n']);
    const novalue = await mikofs(['log', '--store', '--', '/a.txt']);
    expect([novalue.code, novalue.out]).toEqual([2, '']);
    expect(novalue.err).toBe('mikofs: --store needs a value; what follows "--" is never an option\'s value (see mikofs --help)\n');
    // "--" before the command ran nothing and exited 0 (found 2026-12-05).
    const first = await mikofs(['--', 'init', path.join(dir, 'x.mikofs')]);
    expect([first.code, first.err]).toEqual([2, 'mikofs: name a command before "--" (see mikofs --help)\n']);
    expect(fs.existsSync(path.join(dir, 'x.mikofs'))).toBe(false);
  });
});

describe('mount refuses before it creates anything', () => {
  it('mount STORE (the mountpoint forgotten) says so and creates no default store', async () => {
    const dir = tmpDir();
    const xdg = path.join(dir, 'xdg');
    const store = path.join(dir, 's.mikofs');
    (await openStore(store)).close();
    const r = await mikofs(['mount', store], { env: { XDG_DATA_HOME: xdg } });
    expect(r.code).toBe(2);
    expect(r.err).toBe(`mikofs: ${store} is a file (a store?), not a directory to mount on: name the mountpoint too: mikofs mount ${store} <mountpoint>\n`);
    const missing = await mikofs(['mount', path.join(dir, 'nowhere')], { env: { XDG_DATA_HOME: xdg } });
    expect([missing.code, missing.err]).toEqual([1, `mikofs: mountpoint ${path.join(dir, 'nowhere')} does not exist\n`]);
    expect(fs.existsSync(xdg)).toBe(false);
  });

  it('the command list and mount --help give the same usage', async () => {
    const top = await mikofs(['--help']);
    const own = await mikofs(['mount', '--help']);
    expect(top.out).toContain('mikofs mount [store] <mountpoint>');
    expect(own.out.split('\n')[0]).toBe('mikofs mount [store] <mountpoint>');
  });

  it('a cache timeout that is not a number of seconds is a usage error naming the option', async () => {
    const dir = tmpDir();
    const store = path.join(dir, 's.mikofs');
    (await openStore(store)).close();
    // (No such mountpoint: refused before that is looked at, and a test of
    // a build without the check mounts nothing.)
    for (const o of ['attr_timeout=abc', 'attr_timeout=1s', 'entry_timeout=-1', 'negative_timeout=', 'ro,attr_timeout=1e3']) {
      const r = await mikofs(['mount', store, path.join(dir, 'mnt'), '-o', o]);
      const bad = o.split(',').pop()!;
      expect([r.code, r.err], o).toEqual([2, `mikofs: -o ${bad}: ${bad.split('=')[0]} is a number of seconds, such as 0, 1.5 or 60\n`]);
    }
  });
});

describe('time zone offsets are range-checked', () => {
  it('+99:00, +25:00, +00:99 are no time; +23:59 and -0800 are', async () => {
    for (const s of ['2026-12-09T11:50+99:00', '2026-12-09T11:50+25:00', '2026-12-09T11:50+00:99', '2026-12-09T11:50:00-2400']) {
      expect(parseTimeSpec(s), s).toBeUndefined();
    }
    expect(parseTimeSpec('2026-12-09T11:50+23:59')).toMatchObject({ kind: 'time' });
    expect(parseTimeSpec('2026-12-09T11:50-0800')).toMatchObject({ kind: 'time' });
    const store = path.join(tmpDir(), 'z.mikofs');
    const e = await openStore(store);
    e.writeFile('/f', 'x');
    e.close();
    const r = await mikofs(['log', '--store', store, '--since', '2026-12-09T11:50+99:00']);
    expect([r.code, r.err]).toEqual([1, 'mikofs: ENOENT: "2026-12-09T11:50+99:00" is neither a time nor a label\n']);
  });
});

describe('a mount that goes away while a command reaches it', () => {
  afterEach(() => { vi.restoreAllMocks(); });

  it('is said to have gone, not to belong to another user', async () => {
    const dir = tmpDir();
    const mnt = path.join(dir, 'mnt');
    fs.mkdirSync(mnt);
    const mountinfo = '/proc/self/mountinfo';
    const real = fs.readFileSync.bind(fs) as (...a: unknown[]) => unknown;
    let reads = 0;
    // The mount table lists the mount at the first look only: its process
    // exited (and the kernel dropped the mount) before the socket answered.
    vi.spyOn(fs, 'readFileSync').mockImplementation(((p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (p === mountinfo && reads++ === 0) {
        return `${real(mountinfo, 'utf8') as string}999 1 0:999 / ${mnt} rw,nosuid,nodev - fuse.mikofs ${path.join(dir, 's.mikofs')} rw,user_id=0,group_id=0\n`;
      }
      return real(p, ...rest);
    }) as typeof fs.readFileSync);
    const err = await openTarget(mnt, false).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(err?.message).toBe(`the mount at ${mnt} (store ${path.join(dir, 's.mikofs')}) went away while this command was reaching it (unmounted, or its process exited)`);
    expect(err?.code).toBe('ENOTCONN');
  });
});

describe('paths said as the store names them', () => {
  it('./a.txt is /a.txt; "" is an empty path, not the root; init DIR/ is refused', async () => {
    const dir = tmpDir();
    const store = path.join(dir, 'p.mikofs');
    const e = await openStore(store);
    e.writeFile('/a.txt', 'one\n');
    const c = e.headCommit;
    e.writeFile('/a.txt', 'two\n');
    e.close();
    const log = await mikofs(['log', './a.txt', '--store', store]);
    expect(log.out).not.toContain('/./');
    expect(log.out).toContain('    changed  /a.txt\n');
    const restore = await mikofs(['restore', './a.txt', '--at', `c${c}`, '--store', store]);
    expect(restore.out).toMatch(new RegExp(`^restored /a\\.txt as of c${c} \\(commit c\\d+\\)\\n$`));
    for (const args of [['cat', store, ''], ['stat', store, ''], ['ls', store, '']]) {
      const r = await mikofs(args);
      expect([r.code, r.err], args[0]).toEqual([2, 'mikofs: the path is empty: name a path inside the store (/ is its root)\n']);
    }
    const empty = await mikofs(['log', '', '--store', store]);
    expect([empty.code, empty.err]).toEqual([2, 'mikofs: the path is empty: name a path in the store (/ is its root), or one on the mount\n']);
    const init = await mikofs(['init', 'newdir/'], { cwd: dir });
    expect([init.code, init.err]).toEqual([2, 'mikofs: newdir/ names a directory, and a store is a file: name the file, such as newdir/store.mikofs\n']);
    expect(fs.existsSync(path.join(dir, 'newdir'))).toBe(false);
  });
});

describe('verify of a store that does not open', () => {
  it('a truncated copy: says it is truncated, what SQLite can read, and what to do; exit 1', async () => {
    const dir = tmpDir();
    const good = path.join(dir, 'good.mikofs');
    const e = await openStore(good);
    for (let i = 0; i < 30; i++) e.writeFile(`/f${i}`, bytes(20000 + i * 5000, i + 1));
    e.close();
    const cut = path.join(dir, 't.mikofs');
    fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, 100000), { mode: 0o600 });
    const r = await mikofs(['verify', '--store', cut]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${cut}: PROBLEMS FOUND: it cannot be opened as a store\n`);
    expect(r.out).toMatch(new RegExp(`  size         truncated: 100000 bytes, where its header says ${fs.statSync(good).size}`));
    expect(r.out).toMatch(/  structure    (unreadable|damaged)/);
    expect(r.out).toContain('restore it from a backup');
    expect(r.out).not.toContain('mikofs verify says');
    expect(r.err).toBe(`mikofs: verify: ${cut}: it cannot be opened as a store (truncated); its SQLite structure is damaged\n`);
    const j = await mikofs(['verify', '--store', cut, '--json']);
    expect(JSON.parse(j.out)).toMatchObject({ store: cut, ok: false, opened: false, bytes: 100000, expectedBytes: fs.statSync(good).size, mikofs: true });
  });
});

describe('small things of the fourth round (2026-12-05)', () => {
  it('snapshot --label without a value and diff "" are usage errors (exit 2); a log message with a newline stays on its line', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    expect((await mikofs(['init', file])).code).toBe(0);
    const label = await mikofs(['snapshot', '--store', file, '--label']);
    expect([label.code, label.err]).toEqual([2, 'mikofs: Not enough arguments following: label\n']);
    const diff = await mikofs(['diff', '', 'c1', '--store', file]);
    expect([diff.code, diff.err]).toEqual([2, 'mikofs: FROM needs a value: a time, a commit (c123) or a label\n']);
    expect((await mikofs(['snapshot', '--store', file, '-m', 'two\nlines'])).code).toBe(0);
    const log = await mikofs(['log', '--store', file, '--limit', '1']);
    expect(log.out).toMatch(/^c2 {2}\S+ {2}snapshot {2}"two\\nlines"\n$/);
  });
});

describe('SQLite refusing to write, in words about the store', () => {
  it('a directory the user cannot write is named, not "attempt to write a readonly database" (found 2026-12-05)', () => {
    // (What SQLite answers a user who may write the store file but not its
    // directory, where the write-ahead log is made: root, running the
    // tests, may write anywhere, so its answer is given here.)
    const e = Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY_DIRECTORY' });
    const m = (openError(e, '/srv/shared/team.mikofs', false) as Error).message;
    expect(m).toBe('cannot write /srv/shared/team.mikofs: its directory /srv/shared is not writable by this user ' +
      "(the store's write-ahead log is made there); mikofs mount -o ro and the commands that only read (ls, cat, log, diff, du, verify) work");
    const other = Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY_CANTINIT' });
    expect((openError(other, '/a/s.mikofs', false) as Error).message).toMatch(/^cannot write \/a\/s\.mikofs: read-only \(file or file system\)/);
  });
});

describe('help and version to a stdout that fails', () => {
  it('say so and exit 1, as every command does (found 2026-12-05: exit 0, nothing said)', () => {
    for (const args of [['--help'], ['--version'], ['help'], ['gc', '--help']]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ['ignore', fs.openSync('/dev/full', 'w'), 'pipe'] });
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.toString(), args.join(' ')).toBe('mikofs: standard output: ENOSPC: no space left on device, write\n');
    }
    const ok = spawnSync(process.execPath, [CLI, 'gc', '--help']);
    expect(ok.status).toBe(0);
    expect(ok.stdout.toString()).toMatch(/^mikofs gc/);
  });
});
