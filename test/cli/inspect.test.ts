import { describe, it, expect } from 'vitest';
import path from 'node:path';
import fs from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { tmpDir, bytes } from '../helpers.js';
import { openStore } from '../../src/index.js';

const CLI = path.resolve('dist/cli/main.js');
function mikofs(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'buffer', maxBuffer: 64 << 20 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: out.toString('latin1'), err: err.toString() });
    });
  });
}

describe('init, ls, cat, stat on a store file', () => {
  it('init creates a store, refuses an existing one, and the default store lives under XDG_DATA_HOME', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'sub', 'new.mikofs');
    const r = await mikofs(['init', file]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`created ${file}\n`);
    expect(fs.existsSync(file)).toBe(true);
    const again = await mikofs(['init', file]);
    expect(again.code).toBe(1); // a refusal, not a usage error
    expect(again.err).toBe(`mikofs: EEXIST: ${file} already exists\n`);
    const xdg = await new Promise<string>((resolve) => execFile(process.execPath, [CLI, 'init'],
      { env: { ...process.env, XDG_DATA_HOME: dir } }, (_e, out) => resolve(out)));
    expect(xdg).toBe(`created ${path.join(dir, 'mikofs', 'default.mikofs')}\n`);
  });

  it('ls, cat and stat read the past with --at (a label, a commit, a time); a name not there then is ENOENT (found 2026-12-05: no way to print an old version)', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file);
    e.mkdir('/d');
    e.writeFile('/d/a.txt', 'one\n');
    e.label('v1');
    const c1 = e.headCommit;
    e.writeFile('/d/a.txt', 'two!\n');
    e.writeFile('/d/b.txt', 'b\n');
    e.close();
    expect((await mikofs(['cat', file, '/d/a.txt', '--at', 'v1'])).out).toBe('one\n');
    expect((await mikofs(['cat', file, '/d/a.txt', '--at', `c${c1}`])).out).toBe('one\n');
    expect((await mikofs(['cat', file, '/d/a.txt'])).out).toBe('two!\n');
    expect((await mikofs(['ls', file, '/d', '--at', 'v1'])).out).toBe('a.txt\n');
    expect((await mikofs(['ls', file, '/d'])).out).toBe('a.txt\nb.txt\n');
    const st = JSON.parse((await mikofs(['stat', file, '/d/a.txt', '--at', 'v1', '--json'])).out);
    expect(st).toMatchObject({ size: 4, commit: c1 });
    const gone = await mikofs(['cat', file, '/d/b.txt', '--at', 'v1']);
    expect([gone.code, gone.err]).toEqual([1, 'mikofs: /d/b.txt: no such file or directory\n']);
    const nolabel = await mikofs(['ls', file, '/', '--at', 'nolabel']);
    expect(nolabel.code).toBe(1);
    expect(nolabel.err).toMatch(/"nolabel" is neither a time nor a label/);
  });

  it('ls, cat and stat read a store, in text and JSON, beside a writer', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file, { holder: 'test writer' });
    e.mkdir('/docs');
    e.writeFile('/docs/a.txt', 'hello\n');
    const big = bytes(1_300_000, 5);
    e.writeFile('/docs/big.bin', big);
    e.symlink('a.txt', '/docs/link');
    e.flush();
    // the writer stays open: read-only inspection runs beside it
    const ls = await mikofs(['ls', file, '/docs', '--json']);
    expect(ls.err).toBe('');
    const names = JSON.parse(ls.out).map((x: { name: string; size: number }) => [x.name, x.size]);
    expect(names).toEqual([['a.txt', 6], ['big.bin', 1_300_000], ['link', 5]]);
    const long = await mikofs(['ls', file, '/docs', '-l']);
    expect(long.out).toMatch(/^-rw-r--r-- +1 +6 \d{4}-\d\d-\d\dT[\d:.]+Z a\.txt$/m);
    expect(long.out).toMatch(/^lrwxrwxrwx .* link$/m);
    expect((await mikofs(['cat', file, '/docs/a.txt'])).out).toBe('hello\n');
    expect((await mikofs(['cat', file, '/docs/link'])).out).toBe('hello\n');
    expect(Buffer.from((await mikofs(['cat', file, '/docs/big.bin'])).out, 'latin1').equals(big)).toBe(true);
    const st = JSON.parse((await mikofs(['stat', file, '/docs/a.txt', '--json'])).out);
    expect(st).toMatchObject({ path: '/docs/a.txt', type: '-', perms: '644', nlink: 1, size: 6 });
    expect(st.ino).toBe(e.stat('/docs/a.txt').ino);
    e.close();
  });

  it('errors are one line naming the path, never a stack trace', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    (await openStore(file)).close();
    const cases: [string[], RegExp][] = [
      [['cat', file, '/nope'], /^mikofs: \/nope: no such file or directory\n$/],
      [['cat', file, '/'], /^mikofs: \/: is a directory\n$/],
      [['stat', file, '/a/b'], /^mikofs: \/a\/b: no such file or directory\n$/],
      [['ls', file, '/x'], /^mikofs: \/x: no such file or directory\n$/],
      [['ls', '/nonexistent/store.mikofs'], /^mikofs: no store at \/nonexistent\/store\.mikofs/],
      [['ls', path.dirname(file)], /is a directory, not a store file\n$/],
      [['stat'], /^mikofs: Not enough non-option arguments/],
    ];
    for (const [args, re] of cases) {
      const r = await mikofs(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(re);
    }
    fs.writeFileSync(path.join(path.dirname(file), 'junk.mikofs'), 'not sqlite at all, just text '.repeat(100));
    const junk = await mikofs(['ls', path.join(path.dirname(file), 'junk.mikofs')]);
    expect(junk.code).toBe(1);
    expect(junk.err).toMatch(/^mikofs: .*\n$/);
    expect(junk.err.split('\n').length).toBe(2);
  });

  it('what a path is, said plainly: a device or FIFO, a file where a directory should be, a damaged store', async () => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    fs.writeFileSync(path.join(dir, 'afile'), 'x');
    for (const [args, err] of [
      [['ls', '/dev/zero'], 'mikofs: /dev/zero is not a regular file, not a mikofs store\n'],
      [['ls', fifo], `mikofs: ${fifo} is not a regular file, not a mikofs store\n`],
      [['init', path.join(dir, 'afile', 'x.mikofs')], `mikofs: ENOTDIR: ${path.join(dir, 'afile')} is not a directory\n`],
    ] as [string[], string][]) {
      const r = await mikofs(args);
      expect(r.err, args.join(' ')).toBe(err);
      expect(r.code, args.join(' ')).toBe(1);
    }
    const file = path.join(dir, 's.mikofs');
    const e = await openStore(file);
    for (let i = 0; i < 20; i++) e.writeFile(`/f${i}`, Buffer.alloc(100000, i));
    e.close();
    const trunc = path.join(dir, 'trunc.mikofs');
    fs.writeFileSync(trunc, fs.readFileSync(file).subarray(0, 40000));
    const r = await mikofs(['ls', trunc]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^mikofs: ${trunc.replace(/[.]/g, '\\.')} is damaged \\(SQLite: .*\\); mikofs verify says what it can still read\n$`));
  });
});
