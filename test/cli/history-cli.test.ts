import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { tmpDir } from '../helpers.js';
import { openStore } from '../../src/index.js';

const CLI = path.resolve('dist/cli/main.js');

function mikofs(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err });
    });
  });
}
const json = async (args: string[]) => {
  const r = await mikofs([...args, '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
};

describe('history commands on a store file', () => {
  let store: string;
  let c1: number;
  beforeAll(async () => {
    store = path.join(tmpDir(), 'h.mikofs');
    const e = await openStore(store);
    e.mkdir('/etc');
    e.writeFile('/etc/config.json', '{"v":1}\n');
    c1 = e.headCommit;
    e.writeFile('/etc/config.json', '{"v":2}\n');
    e.writeFile('/etc/other', 'x');
    e.close();
  });

  it('snapshot and label record points; labels list, move and delete', async () => {
    const s = await json(['snapshot', '--store', store, '--label', 'beta', '-m', 'release']);
    expect(s.label).toBe('beta');
    expect(typeof s.commit).toBe('number');
    const l = await json(['label', 'production', '--store', store, '--at', `c${c1}`]);
    expect(l).toMatchObject({ name: 'production', commit: c1 });
    const dup = await mikofs(['label', 'production', '--store', store]);
    expect(dup.code).toBe(1);
    expect(dup.err).toMatch(/^mikofs: EEXIST: label production exists \(mikofs label production --move moves it\)\n$/);
    await json(['label', 'production', '--move', '--store', store]);
    const list = await json(['label', '--list', '--store', store]);
    expect(list.map((x: { name: string }) => x.name)).toEqual(['beta', 'production']);
    await json(['label', 'beta', '--delete', '--store', store]);
    expect((await json(['label', '--list', '--store', store])).map((x: { name: string }) => x.name)).toEqual(['production']);
    const bad = await mikofs(['label', '10m', '--store', store]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not a label name/);
  });

  it('log lists commits and a file\'s versions', async () => {
    const all = await json(['log', '--store', store, '--limit', '5']);
    expect(all.length).toBe(5);
    expect(all[0]).toHaveProperty('time');
    const file = await json(['log', '/etc/config.json', '--store', store]);
    expect(file.map((x: { changes: { sizeDelta: number }[] }) => x.changes[0].sizeDelta)).toEqual([0, 8]);
    const text = await mikofs(['log', '/etc/config.json', '--store', store]);
    expect(text.out).toMatch(/c\d+ {2}\d{4}-\d\d-\d\dT.*write/);
    const dir = await json(['log', '/etc', '--store', store]);
    expect(dir.flatMap((x: { changes: { path: string }[] }) => x.changes.map((c) => c.path)))
      .toEqual(['/etc/other', '/etc/config.json', '/etc/config.json', '/etc']);
    for (const bad of ['0', '-3', '1.5', 'abc']) {
      const r = await mikofs(['log', '--store', store, '--limit', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.err, bad).toBe(`mikofs: --limit ${bad}: give a whole number of entries, 1 or more\n`);
    }
  });

  it('a reader that goes away (log | head) ends the command quietly', async () => {
    // More log than a pipe holds (64 KiB), so the writer meets EPIPE.
    const big = path.join(tmpDir(), 'big.mikofs');
    const e = await openStore(big);
    for (let i = 0; i < 1500; i++) e.writeFile(`/file-with-a-longish-name-${i}`, 'x');
    e.close();
    const err = await new Promise<string>((resolve) => {
      execFile('bash', ['-c', `"${process.execPath}" "${CLI}" log --store "${big}" --limit 5000 | head -c 1 >/dev/null; echo "exit \${PIPESTATUS[0]}" >&2`],
        (_e, _out, stderr) => resolve(stderr));
    });
    expect(err).toBe('exit 0\n');
  });

  it('run from a directory that was removed: one line saying so, no stack trace', async () => {
    const dir = path.join(tmpDir(), 'gone');
    const r = await new Promise<{ code: number; err: string }>((resolve) => {
      execFile('bash', ['-c', `mkdir "${dir}" && cd "${dir}" && rmdir "${dir}" && "${process.execPath}" "${CLI}" log`],
        (e, _out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, err }));
    });
    expect(r.code).toBe(1);
    expect(r.err).toBe('mikofs: the current directory is gone (ENOENT); cd to an existing directory and try again\n');
  });

  it('a store is made readable by its owner only (it holds every version of every file)', async () => {
    const fs = await import('node:fs');
    expect(fs.statSync(store).mode & 0o777).toBe(0o600);
  });

  it('usage errors are one line with exit status 2', async () => {
    const cases: [string[], string][] = [
      [[], 'mikofs: name a command (see mikofs --help)\n'],
      [['lgo'], 'mikofs: unknown command "lgo"; did you mean log? (see mikofs --help)\n'],
      [['snapshot', '--store', store, '-m'], 'mikofs: Not enough arguments following: m\n'],
      [['retention', '--store', store, '--rule', 'x=1h,2h,3h,4h'], 'mikofs: --rule takes three durations at most (KEEPALL,HOURLY,DAILY), not "x=1h,2h,3h,4h"\n'],
      [['log', '--store', ''], 'mikofs: --store needs a value: a store file, or a mountpoint\n'],
    ];
    for (const [args, err] of cases) {
      const r = await mikofs(args);
      expect([r.code, r.err]).toEqual([2, err]);
    }
  });

  it('a time before 1970 is before the first commit, said in one line', async () => {
    for (const args of [['diff', '1000000w'], ['label', 'x', '--at', '1000000w']]) {
      const r = await mikofs([...args, '--store', store]);
      expect(r.code).toBe(1);
      expect(r.err).toBe('mikofs: ENOENT: before the first commit\n');
    }
  });

  it('log bounds: a time bounds by itself, --since a commit or label leaves it out; times before the store or in the future are no error', async () => {
    // Found by the CLI hunt (2026-12-05): --since T listed the last commit
    // before T, and a T before the first commit was ENOENT.
    const all = (await json(['log', '--store', store, '--limit', '1000'])).map((x: { commit: number }) => x.commit);
    const ids = async (...args: string[]) => (await json(['log', '--store', store, '--limit', '1000', ...args])).map((x: { commit: number }) => x.commit);
    expect(await ids('--since', '2000-01-01')).toEqual(all);
    expect(await ids('--since', '1000000w')).toEqual(all);
    expect(await ids('--since', '2999-01-01')).toEqual([]);
    expect(await ids('--until', '2000-01-01')).toEqual([]);
    expect(await ids('--since', `c${c1}`)).toEqual(all.filter((c: number) => c > c1));
    expect(await ids('--until', `c${c1}`)).toEqual(all.filter((c: number) => c <= c1));
    const head = all[0];
    expect(await ids('--since', `c${head}`)).toEqual([]);
    // a negative duration is not the -h flag (help, exit 0, nothing done)
    for (const args of [['retention', '--keep-all', '-1h'], ['diff', '-1h']]) {
      const r = await mikofs([...args, '--store', store]);
      expect([r.code, r.out]).toEqual([2, '']);
      expect(r.err).toBe('mikofs: -1h: a time or duration is written without a minus (1h: that long ago, or that long) (see mikofs --help)\n');
    }
    // `--` ends the options (it was turned into a value and crashed yargs),
    // and what follows is the path (it was dropped: the whole log)
    const r = await mikofs(['log', '--store', store, '--json', '--', '/etc/other']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const other = JSON.parse(r.out) as { changes: { path: string }[] }[];
    expect(other).toHaveLength(1);
    expect(other[0].changes.map((c) => c.path)).toEqual(['/etc/other']);
  });

  it('a text diff names every difference: empty files that came and went, permissions; errors stay one line', async () => {
    const file = path.join(tmpDir(), 'd.mikofs');
    const e = await openStore(file);
    e.writeFile('/app.sh', 'x\n');
    e.writeFile('/old-empty', '');
    e.writeFile('/a\nb', 'odd name\n');
    const before = e.headCommit;
    e.writeFile('/new-empty', '');
    e.unlink('/old-empty');
    e.chmod('/app.sh', 0o755);
    e.close();
    const d = await mikofs(['diff', `c${before}`, '--store', file]);
    expect(d.code).toBe(0);
    expect(d.out).toBe('M /app.sh (permissions changed)\nA /new-empty (empty file)\nD /old-empty (empty file)\n');
    const one = await mikofs(['diff', `c${before}`, '/app.sh', '--store', file]);
    expect(one.out).toBe('M /app.sh (permissions changed)\n');
    // Extended attributes only, of files and directories (found 2026-12-05: diff said nothing)
    const x = await openStore(file);
    x.writeFile('/tagged', 'same\n');
    x.writeFile('/untagged', 'same\n');
    x.setxattr('/untagged', 'user.k', Buffer.from('v'));
    x.mkdir('/dir');
    const mid = x.headCommit;
    x.setxattr('/tagged', 'user.k', Buffer.from('v1'));
    x.removexattr('/untagged', 'user.k');
    x.setxattr('/dir', 'user.k', Buffer.from('d'));
    x.chmod('/app.sh', 0o700);
    x.setxattr('/app.sh', 'user.k', Buffer.from('a'));
    x.close();
    const xd = await mikofs(['diff', `c${mid}`, '--store', file]);
    expect(xd.out).toBe('M /app.sh (permissions and extended attributes changed)\nM /dir/ (extended attributes changed)\n' +
      'M /tagged (extended attributes changed)\nM /untagged (extended attributes changed)\n');
    const xj = JSON.parse((await mikofs(['diff', `c${mid}`, '--json', '--store', file])).out);
    expect(xj.entries.find((e: { path: string }) => e.path === '/tagged').attributes).toEqual(['xattrs']);
    const missing = await mikofs(['restore', '/a\nzz', '--at', 'now', '--store', file]);
    expect(missing.code).toBe(1);
    expect(missing.err.split('\n')).toHaveLength(2); // one line
    expect(missing.err).toContain('/a\\nzz');
    const ok = await mikofs(['restore', '/a\nb', '--at', 'now', '--store', file]);
    expect(ok.out).toMatch(/^restored "\/a\\nb" as of now \(commit c\d+\)\n$/);
  });

  it('diff gives paths and unified diffs', async () => {
    const d = await json(['diff', `c${c1}`, 'now', '--store', store]);
    expect(d.entries).toEqual([
      { path: '/etc/config.json', change: 'changed', kind: 'file' },
      { path: '/etc/other', change: 'added', kind: 'file' },
    ]);
    const text = await mikofs(['diff', `c${c1}`, '--store', store]);
    expect(text.out).toContain('--- a/etc/config.json\n+++ b/etc/config.json\n@@ -1,1 +1,1 @@\n-{"v":1}\n+{"v":2}\n');
    const stat = await mikofs(['diff', `c${c1}`, '--stat', '--store', store]);
    expect(stat.out).toContain('M /etc/config.json\nA /etc/other\n');
    // a path where TO would go is the path (TO: now), with or without a slash
    for (const p of ['/etc/other', 'etc']) {
      const r = await mikofs(['diff', `c${c1}`, p, '--stat', '--store', store]);
      expect(r.err, p).toBe('');
      expect(r.out, p).toMatch(p === 'etc' ? /^M \/etc\/config.json\nA \/etc\/other\n/ : /^A \/etc\/other\n/);
    }
    const none = await mikofs(['diff', `c${c1}`, 'nothing-here', '--store', store]);
    expect(none.code).toBe(1);
    expect(none.err).toBe('mikofs: ENOENT: "nothing-here" is neither a time, a label nor a path in the store\n');
  });

  it('restore and rollback make new commits', async () => {
    const r = await json(['restore', '/etc/config.json', '--at', `c${c1}`, '--store', store]);
    expect(r.path).toBe('/etc/config.json');
    let e = await openStore(store, { readonly: true });
    expect(e.readFile('/etc/config.json').toString()).toBe('{"v":1}\n');
    e.close();
    await json(['rollback', '--to', `c${c1}`, '--store', store]);
    e = await openStore(store, { readonly: true });
    expect(e.exists('/etc/other')).toBe(false);
    expect(e.history.diff(c1, e.headCommit)).toEqual([]);
    e.close();
  });

  it('bad input gets one line and a non-zero exit, never a stack trace', async () => {
    for (const args of [
      ['rollback', '--store', store, '--to', 'not-a-time'],
      ['diff', 'yesterday-ish', '--store', store],
      ['log', '--store', '/nonexistent/x.mikofs'],
      ['restore', '/nope', '--at', 'now', '--store', store],
      ['diff', 'c1', 'now', '/nope', '--store', store],
      ['log', '/nope', '--store', store],
      ['rollback', '--store', store],
      ['frobnicate'],
    ]) {
      const r = await mikofs(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err, args.join(' ')).toMatch(/^mikofs: [^\n]*\n$/);
      if (args.includes('/nope')) expect(r.err, args.join(' ')).toMatch(/\/nope/); // names the path
    }
  });

  it('commands on an unmounted store take turns: six snapshots started at once all land', async () => {
    const before = (await json(['log', '--store', store, '--limit', '1000'])).length;
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => mikofs(['snapshot', '--store', store, '-m', `parallel ${i}`])));
    for (const r of rs) { expect(r.err).toBe(''); expect(r.code).toBe(0); }
    const after = await json(['log', '--store', store, '--limit', '1000']);
    expect(after.length).toBe(before + 6);
    expect(after.slice(0, 6).map((l: { message: string }) => l.message).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `parallel ${i}`));
  });

  it('usage mistakes are usage errors (exit 2); a repeated option keeps its last value; labels are names that work everywhere', async () => {
    for (const [args, msg] of [
      [['log', '--store', store, '--limit'], /Not enough arguments following: limit/],
      [['log', '--store', store, '--since', ''], /--since needs a value/],
      [['rollback', '--store', store, '--to', ' '], /--to needs a value/],
      [['label', 'x', '--list', '--store', store], /--list takes no label name/],
    ] as [string[], RegExp][]) {
      const r = await mikofs(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
      expect(r.err.split('\n').length, args.join(' ')).toBe(2); // one line
    }
    const big = await json(['log', '--store', store, '--limit', '99999999999999999999']);
    expect(big.length).toBeGreaterThan(3);
    expect((await json(['log', '--store', store, '--limit', '5', '--limit', '2'])).length).toBe(2);
    const s = await json(['snapshot', '--store', store, '-m', 'first', '-m', 'second', '--label', 'a1', '--label', 'a2']);
    expect(s.label).toBe('a2');
    expect((await json(['log', '--store', store, '--limit', '1']))[0].message).toBe('second');
    for (const [args, code, msg] of [
      [['label', 'nosuch', '--move', '--store', store], 1, /^mikofs: ENOENT: no label nosuch to move/],
      [['label', 'history', '--store', store], 1, /not a label name/],
      [['label', 'L'.repeat(65), '--store', store], 1, /^mikofs: ENAMETOOLONG: label names have at most 64 characters/],
    ] as [string[], number, RegExp][]) {
      const r = await mikofs(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
    expect((await json(['label', '--list', '--store', store])).map((l: { name: string }) => l.name)).not.toContain('nosuch');
  });
});
