// scripts/mikofs-mount, mikofs-snapshot, mikofs-umount: how they read their
// arguments. They run from a copy next to a `mikofs` that is the built CLI
// (scripts/mikofs would first run ensure.sh: apt, npm ci, a rebuild), with
// HOME and XDG_DATA_HOME in a scratch dir, so the default store they may
// create is never the real one. SCRIPTS_UNDER_TEST=DIR runs other copies of
// the scripts (an older version, to see a test fail).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalMountpoint, findMount, readRecord } from '../src/fuse/mounts.js';
import { CLI, ENV, ROOT, mountFresh, run, sleep, useMounts, type RunResult } from './helpers/mount.js';

useMounts();

const SOURCE = process.env.SCRIPTS_UNDER_TEST ?? path.join(ROOT, 'scripts');
let scratch: string;
let bin: string;
let env: NodeJS.ProcessEnv;
let work: string;
let n = 0;
/** Mountpoints the scripts may have mounted: unmounted after each test. */
const made: string[] = [];

beforeAll(async () => {
  scratch = await fsp.mkdtemp('/tmp/fs-scripts-');
  bin = path.join(scratch, 'bin');
  await fsp.mkdir(bin);
  for (const s of ['mikofs-mount', 'mikofs-snapshot', 'mikofs-umount']) {
    await fsp.copyFile(path.join(SOURCE, s), path.join(bin, s));
    await fsp.chmod(path.join(bin, s), 0o755);
  }
  await fsp.writeFile(path.join(bin, 'mikofs'), `#!/usr/bin/env bash\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, { mode: 0o755 });
});

/** A fresh working directory per test, with a HOME and XDG_DATA_HOME (the
 * default store) of its own below it. */
async function workDir(): Promise<string> {
  work = path.join(scratch, `w${n++}`);
  const home = path.join(scratch, `h${n}`);
  await fsp.mkdir(work);
  await fsp.mkdir(home);
  env = { ...ENV, HOME: home, XDG_DATA_HOME: path.join(home, 'xdg') };
  return work;
}

const DEFAULT_STORE = () => path.join(env.XDG_DATA_HOME!, 'mikofs', 'default.mikofs');

function script(name: string, ...args: string[]): Promise<RunResult> {
  return run(path.join(bin, name), args, { cwd: work, env });
}
function cli(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], { cwd: work, env });
}
async function isMounted(p: string): Promise<boolean> {
  return (await findMount(canonicalMountpoint(p))) !== undefined;
}
/** Labels of a store, names only. */
async function labels(store: string): Promise<string[]> {
  const r = await cli('label', '--list', '--store', store, '--json');
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { name: string }[]).map((l) => l.name).sort();
}
async function init(name: string): Promise<string> {
  const s = path.join(work, name);
  const r = await cli('init', s);
  expect(r.code, r.stderr).toBe(0);
  return s;
}

async function unmountMade(): Promise<void> {
  for (const p of made.splice(0)) {
    const mnt = canonicalMountpoint(p);
    if (!(await isMounted(mnt))) continue;
    const r = await cli('umount', '--', mnt);
    if (r.code !== 0 || (await isMounted(mnt))) {
      const rec = readRecord(mnt);
      if (rec) { try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone */ } }
      await run('fusermount', ['-uz', mnt]);
    }
  }
}
afterEach(unmountMade);
afterAll(async () => {
  await unmountMade();
  if (scratch) await fsp.rm(scratch, { recursive: true, force: true });
});

describe('mikofs-snapshot', () => {
  it('--store after the prefix and keep count acts on that store, not the default one', async () => {
    await workDir();
    const s = await init('s.mikofs');
    const r = await script('mikofs-snapshot', 'hourly', '2', '--store', s);
    expect(r.code, r.stderr).toBe(0);
    expect(await labels(s)).toEqual([expect.stringMatching(/^hourly-\d{4}-\d\d-\d\dT\d{6}$/)]);
    expect(fs.existsSync(DEFAULT_STORE())).toBe(false);
  });

  it('takes --store=S before the prefix', async () => {
    await workDir();
    const s = await init('s.mikofs');
    const r = await script('mikofs-snapshot', `--store=${s}`, 'weekly');
    expect(r.code, r.stderr).toBe(0);
    expect(await labels(s)).toEqual([expect.stringMatching(/^weekly-/)]);
    expect(fs.existsSync(DEFAULT_STORE())).toBe(false);
  });

  it('refuses --store without a value, unknown options, extra arguments and a keep count of 0, touching nothing', async () => {
    await workDir();
    const s = await init('s.mikofs');
    const cases: [string[], RegExp][] = [
      [['--store'], /--store needs a value/],
      [['hourly', '--store'], /--store needs a value/],
      [['--store='], /--store needs a value/],
      [['--store', s, 'hourly', '0'], /keep count/],
      [['--store', s, 'hourly', 'x'], /keep count/],
      [['--store', s, 'hourly', '-1'], /unknown option -1|keep count/],
      [['--store', s, '--bogus', 'hourly'], /unknown option --bogus/],
      [['--store', s, '-m', 'x', 'hourly'], /unknown option -m/],
      [['--store', s, 'hourly', '2', 'extra'], /too many arguments/],
    ];
    for (const [args, re] of cases) {
      const r = await script('mikofs-snapshot', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr, args.join(' ')).toMatch(/usage: mikofs-snapshot/);
      expect(r.stderr).not.toMatch(/unbound variable/);
    }
    expect(await labels(s)).toEqual([]);
    expect(fs.existsSync(DEFAULT_STORE())).toBe(false);
  });

  it('keeps the newest KEEP labels of its own prefix, the new one included', async () => {
    await workDir();
    const s = await init('s.mikofs');
    for (const l of ['hourly-2020-01-01T000000', 'hourly-2020-01-02T000000', 'hourly-db-2020-01-01T000000', 'daily-2020-01-01T000000']) {
      expect((await cli('label', l, '--store', s)).code).toBe(0);
    }
    let r = await script('mikofs-snapshot', '--store', s, 'hourly', '2');
    expect(r.code, r.stderr).toBe(0);
    let ls = await labels(s);
    const fresh = ls.find((l) => /^hourly-20[2-9]\d-.*T\d{6}$/.test(l) && !l.startsWith('hourly-2020'));
    expect(fresh).toBeDefined();
    expect(ls).toEqual(['daily-2020-01-01T000000', 'hourly-2020-01-02T000000', fresh, 'hourly-db-2020-01-01T000000'].sort());
    await sleep(1100); // labels are dated to the second
    r = await script('mikofs-snapshot', '--store', s, '--', 'hourly', '01');
    expect(r.code, r.stderr).toBe(0);
    ls = await labels(s);
    expect(ls.filter((l) => /^hourly-\d/.test(l))).toHaveLength(1);
    expect(ls).toContain('hourly-db-2020-01-01T000000');
    expect(ls).toContain('daily-2020-01-01T000000');
    expect(ls).not.toContain(fresh);
  });
});

describe('mikofs-mount', () => {
  it('-o ro before the mountpoint: mounts there, creates no ./ro', async () => {
    const w = await workDir();
    const s = await init('s.mikofs');
    made.push(path.join(w, 'mnt'));
    const r = await script('mikofs-mount', '-o', 'ro', s, 'mnt');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, 'mnt'))).toBe(true);
    expect(fs.existsSync(path.join(w, 'ro'))).toBe(false);
    await expect(fsp.writeFile(path.join(w, 'mnt', 'x'), 'x')).rejects.toThrow(/EROFS/);
  });

  it('-o ro DIR with the default store (scratch XDG_DATA_HOME)', async () => {
    const w = await workDir();
    made.push(path.join(w, 'mnt'));
    const r = await script('mikofs-mount', '-o', 'ro', 'mnt');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, 'mnt'))).toBe(true);
    expect(fs.existsSync(path.join(w, 'ro'))).toBe(false);
    expect(fs.existsSync(DEFAULT_STORE())).toBe(true);
  });

  it('--log FILE before the mountpoint: FILE is the log, not a directory', async () => {
    const w = await workDir();
    const s = await init('s.mikofs');
    const log = path.join(w, 'x.log');
    made.push(path.join(w, 'mnt'));
    const r = await script('mikofs-mount', '--log', log, s, 'mnt', '--debug');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, 'mnt'))).toBe(true);
    expect(fs.statSync(log).isFile()).toBe(true);
  });

  it('--log=FILE and -o=ro after the mountpoint', async () => {
    const w = await workDir();
    const s = await init('s.mikofs');
    made.push(path.join(w, 'a', 'b'));
    const r = await script('mikofs-mount', s, 'a/b', `--log=${path.join(w, 'y.log')}`, '-o=ro');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, 'a', 'b'))).toBe(true);
    expect(fs.statSync(path.join(w, 'y.log')).isFile()).toBe(true);
  });

  it('a mountpoint after --, with and without a store; mikofs-umount -- too', async () => {
    const w = await workDir();
    const s = await init('s.mikofs');
    made.push(path.join(w, '-dir'));
    let r = await script('mikofs-mount', s, '--', '-dir');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, '-dir'))).toBe(true);
    r = await script('mikofs-umount', '--', '-dir');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, '-dir'))).toBe(false);
    await fsp.rmdir(path.join(w, '-dir'));
    made.push(path.join(w, '-d2'));
    r = await script('mikofs-mount', '--', '-d2');
    expect(r.code, r.stderr).toBe(0);
    expect(await isMounted(path.join(w, '-d2'))).toBe(true);
    expect(fs.existsSync(DEFAULT_STORE())).toBe(true);
  });

  it('a store without a mountpoint: the CLI refuses it (exit 2), nothing created', async () => {
    await workDir();
    const s = await init('s.mikofs');
    const r = await script('mikofs-mount', s);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mikofs: .*is a file \(a store\?\), not a directory to mount on/);
    expect(r.stderr).not.toMatch(/mkdir/);
    expect(fs.existsSync(DEFAULT_STORE())).toBe(false);
  });

  it('a dead mount: the CLI says so and how to clear it', async () => {
    const m = await mountFresh();
    process.kill(m.pid(), 'SIGKILL');
    for (let i = 0; i < 200; i++) {
      try { fs.statSync(m.mnt); await sleep(20); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOTCONN') break; }
    }
    await workDir();
    const s = await init('s2.mikofs');
    const r = await script('mikofs-mount', s, m.mnt);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dead mount \(run: mikofs umount/);
    expect(r.stderr).not.toMatch(/mkdir/);
  });

  it('a failed mount removes the directories it created, and only those', async () => {
    const w = await workDir();
    let r = await script('mikofs-mount', path.join(w, 'missing.mikofs'), 'new/sub');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mikofs: no store at/);
    expect(fs.existsSync(path.join(w, 'new'))).toBe(false);
    await fsp.mkdir(path.join(w, 'kept'));
    r = await script('mikofs-mount', path.join(w, 'missing.mikofs'), 'kept/sub');
    expect(r.code).toBe(2);
    expect(fs.readdirSync(path.join(w, 'kept'))).toEqual([]);
    expect(fs.existsSync(path.join(w, 'kept'))).toBe(true);
    // An existing directory is never removed.
    r = await script('mikofs-mount', path.join(w, 'missing.mikofs'), 'kept');
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(w, 'kept'))).toBe(true);
  });

  it('arguments it does not understand are left to the CLI, nothing created', async () => {
    const w = await workDir();
    const s = await init('s.mikofs');
    for (const args of [['--bogus', s, 'd1'], [s, 'd2', 'd3'], [s, 'd4', '-o'], ['-o'], ['--help']]) {
      const r = await script('mikofs-mount', ...args);
      expect(r.code, args.join(' ')).toBe(args[0] === '--help' ? 0 : 2);
      expect(r.stderr).not.toMatch(/mkdir/);
    }
    expect(fs.readdirSync(w).sort()).toEqual(['s.mikofs']);
  });
});

describe('mikofs-umount', () => {
  it('refuses a missing or extra mountpoint and unknown options (exit 2)', async () => {
    await workDir();
    for (const args of [[], ['a', 'b'], ['--bogus'], ['--dry-run', 'a']]) {
      const r = await script('mikofs-umount', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/usage: mikofs-umount/);
    }
  });

  // Never run --all for real: other mounts of this user may exist. Only
  // arguments that must be refused before anything is unmounted, and the
  // dry run.
  it('--all with a mountpoint is refused and unmounts nothing (--all)', async () => {
    const m = await mountFresh();
    const r = await script('mikofs-umount', '--all', m.mnt);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--all takes no mountpoint/);
    expect(await m.mounted()).toBe(true);
  });

  it('--all --dry-run lists this user\'s mounts by their real names, unmounting nothing (--all)', async () => {
    const m = await mountFresh();
    const w = await workDir();
    const odd = path.join(w, 'a b\\c\td');
    await fsp.mkdir(odd);
    made.push(odd);
    const r0 = await cli('mount', await init('s.mikofs'), odd);
    expect(r0.code, r0.stderr).toBe(0);
    const r = await script('mikofs-umount', '--all', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    const listed = r.stdout.split('\n');
    expect(listed).toContain(m.mnt);
    expect(listed).toContain(odd);
    expect(await m.mounted()).toBe(true);
    expect(await isMounted(odd)).toBe(true);
    // The one mount, by its odd name.
    const u = await script('mikofs-umount', odd);
    expect(u.code, u.stderr).toBe(0);
    expect(await isMounted(odd)).toBe(false);
  });
});
