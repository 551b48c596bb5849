import { describe, it, expect, vi } from 'vitest';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { memStore, tmpDir } from '../helpers.js';
import { openStore, type Engine } from '../../src/index.js';

// Found by a test round (2026-12-06): `mikofs log DIR` of a removed
// directory was ENOENT, and a file's log never showed the commit that
// removed it or renamed it away. A path's log is `git log -- PATH`.

const code = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code: string }).code; } return 'OK'; };
const step = (e: Engine, fn: () => void) => { fn(); void e.headCommit; };

/** The whole log's entries that changed something at or below `p`, with those changes. */
function oracle(e: Engine, p: string) {
  const under = (x: string) => x === p || x.startsWith(p + '/');
  return e.history.log({ limit: 100000 })
    .map((en) => ({ ...en, changes: en.changes.filter((ch) => under(ch.path)) }))
    .filter((en) => en.changes.length);
}

describe('log of a path that is gone', () => {
  it('a removed directory: the commits that changed something below it, its removal first', async () => {
    const e = await memStore();
    step(e, () => { e.mkdir('/keep'); e.writeFile('/keep/x', 'x'); });
    step(e, () => e.mkdir('/gone'));
    step(e, () => e.mkdir('/gone/sub'));
    step(e, () => e.writeFile('/gone/a', 'aaa'));
    step(e, () => e.writeFile('/gone/sub/b', 'bb'));
    step(e, () => e.writeFile('/keep/x', 'xx'));
    step(e, () => e.writeFile('/gone/a', 'aaaa'));
    step(e, () => { e.unlink('/gone/sub/b'); e.rmdir('/gone/sub'); e.unlink('/gone/a'); e.rmdir('/gone'); });
    const removal = e.headCommit;
    step(e, () => e.writeFile('/keep/x', 'xxx'));
    for (const p of ['/gone', '/gone/', '/gone/sub', '/gone/a', '/gone/sub/b']) {
      const want = oracle(e, p.replace(/\/$/, ''));
      expect(want.length, p).toBeGreaterThan(1);
      expect(e.history.log({ path: p, limit: 1000 }), p).toEqual(want);
      expect(e.history.log({ path: p, limit: 1 }), p).toEqual(want.slice(0, 1));
    }
    const log = e.history.log({ path: '/gone' });
    expect(log[0].commit).toBe(removal);
    expect(log.slice(0, 4).map((l) => l.changes)).toEqual([
      [{ path: '/gone', change: 'removed', sizeDelta: 0 }],
      [{ path: '/gone/a', change: 'removed', sizeDelta: -4 }],
      [{ path: '/gone/sub', change: 'removed', sizeDelta: 0 }],
      [{ path: '/gone/sub/b', change: 'removed', sizeDelta: -2 }],
    ]);
    expect(log[log.length - 1].changes).toEqual([{ path: '/gone', change: 'added', sizeDelta: 0 }]);
    expect(code(() => e.history.log({ path: '/never' }))).toBe('ENOENT');
    expect(code(() => e.history.log({ path: '/gone/never' }))).toBe('ENOENT');
    e.close();
  });

  it('a directory renamed away, and one removed and made again: every directory that had the path', async () => {
    const e = await memStore();
    step(e, () => e.mkdir('/old'));
    step(e, () => e.writeFile('/old/f', 'f'));
    step(e, () => e.rename('/old', '/new'));
    step(e, () => e.writeFile('/new/f', 'ff')); // not below /old any more
    step(e, () => e.mkdir('/d'));
    step(e, () => e.writeFile('/d/f', 'one'));
    step(e, () => { e.unlink('/d/f'); e.rmdir('/d'); });
    step(e, () => e.mkdir('/d'));
    step(e, () => e.writeFile('/d/g', 'two'));
    const old = e.history.log({ path: '/old' });
    expect(old).toEqual(oracle(e, '/old'));
    expect(old.map((l) => l.changes)).toEqual([
      [{ path: '/old', change: 'removed', sizeDelta: 0 }],
      [{ path: '/old/f', change: 'added', sizeDelta: 1 }],
      [{ path: '/old', change: 'added', sizeDelta: 0 }],
    ]);
    const d = e.history.log({ path: '/d' });
    expect(d).toEqual(oracle(e, '/d'));
    expect(d.flatMap((l) => l.changes.map((c) => `${c.change} ${c.path}`))).toEqual([
      'added /d/g', 'added /d', 'removed /d', 'removed /d/f', 'added /d/f', 'added /d']);
    e.close();
  });

  it('a removed directory in a busy store is found without reading every commit', async () => {
    const e = await memStore();
    step(e, () => e.mkdir('/quiet'));
    step(e, () => e.writeFile('/quiet/f', 'q'));
    step(e, () => { e.unlink('/quiet/f'); e.rmdir('/quiet'); });
    for (let i = 0; i < 2000; i++) step(e, () => e.writeFile('/busy', `n${i}`));
    const meta = e.store.meta;
    const pages = vi.spyOn(meta, 'commitsDesc');
    const reads = vi.spyOn(meta, 'getCommit');
    const log = e.history.log({ path: '/quiet' });
    expect(log.flatMap((l) => l.changes.map((c) => `${c.change} ${c.path}`))).toEqual([
      'removed /quiet', 'removed /quiet/f', 'added /quiet/f', 'added /quiet']);
    expect(pages).not.toHaveBeenCalled();
    expect(reads.mock.calls.length).toBeLessThan(50);
    pages.mockRestore(); reads.mockRestore();
    e.close();
  });
});

describe('log of a file', () => {
  it('ends with the commit that removed it', async () => {
    const e = await memStore();
    step(e, () => e.writeFile('/-notes.txt', 'one'));
    step(e, () => e.writeFile('/-notes.txt', 'one two'));
    step(e, () => e.writeFile('/other', 'o'));
    step(e, () => e.unlink('/-notes.txt'));
    const removal = e.headCommit;
    step(e, () => e.writeFile('/other', 'oo'));
    const log = e.history.log({ path: '/-notes.txt' });
    expect(log.map((l) => [l.commit === removal, l.changes])).toEqual([
      [true, [{ path: '/-notes.txt', change: 'removed', sizeDelta: -7 }]],
      [false, [{ path: '/-notes.txt', change: 'changed', sizeDelta: 4 }]],
      [false, [{ path: '/-notes.txt', change: 'added', sizeDelta: 3 }]],
    ]);
    // the whole log tells that commit the same way
    expect(e.history.log({ limit: 100 }).find((l) => l.commit === removal)!.changes).toEqual(log[0].changes);
    expect(e.history.log({ path: '/-notes.txt', limit: 1 })).toEqual(log.slice(0, 1));
    expect(e.history.log({ path: '/-notes.txt', untilNs: log[1].timeNs })).toEqual(log.slice(1));
    e.close();
  });

  it('a file renamed away: that commit removes the name; a file that takes the name later is added, even with the same bytes', async () => {
    const e = await memStore();
    step(e, () => e.writeFile('/b.txt', 'bee'));
    step(e, () => e.rename('/b.txt', '/c.txt'));
    const moved = e.headCommit;
    expect(e.history.log({ path: '/b.txt' }).map((l) => [l.commit === moved, l.changes])).toEqual([
      [true, [{ path: '/b.txt', change: 'removed', sizeDelta: -3 }]],
      [false, [{ path: '/b.txt', change: 'added', sizeDelta: 3 }]],
    ]);
    step(e, () => e.writeFile('/b.txt', 'bee'));
    step(e, () => e.writeFile('/b.txt', 'bee, again'));
    expect(e.history.log({ path: '/b.txt' }).map((l) => l.changes[0])).toEqual([
      { path: '/b.txt', change: 'changed', sizeDelta: 7 },
      { path: '/b.txt', change: 'added', sizeDelta: 3 },
      { path: '/b.txt', change: 'removed', sizeDelta: -3 },
      { path: '/b.txt', change: 'added', sizeDelta: 3 },
    ]);
    // a save by rename is still one change of the name, not a removal
    step(e, () => e.writeFile('/.b.tmp', 'saved'));
    step(e, () => e.rename('/.b.tmp', '/b.txt'));
    expect(e.history.log({ path: '/b.txt', limit: 1 })[0].changes).toEqual([{ path: '/b.txt', change: 'changed', sizeDelta: -5 }]);
    // name@history is as it was: versions of content
    expect(e.history.fileVersions('/c.txt').map((v) => v.stat.size)).toEqual([3]);
    e.close();
  });

  it('the CLI: log of a removed directory and of a removed file', async () => {
    const store = path.join(tmpDir(), 'g.mikofs');
    const e = await openStore(store);
    step(e, () => e.mkdir('/gone'));
    step(e, () => e.writeFile('/gone/a', 'aaa'));
    step(e, () => e.writeFile('/-notes.txt', 'n'));
    step(e, () => { e.unlink('/gone/a'); e.rmdir('/gone'); });
    step(e, () => e.unlink('/-notes.txt'));
    e.close();
    const cli = (args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(process.execPath, [path.resolve('dist/cli/main.js'), ...args], (err, out, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: stderr }));
    });
    const dir = await cli(['log', '/gone', '--store', store]);
    expect([dir.code, dir.err]).toEqual([0, '']);
    expect(dir.out).toMatch(/^c\d+ .*\n {4}removed +\/gone\nc\d+ .*\n {4}removed +\/gone\/a \(-3 bytes\)\n/);
    expect(dir.out).toMatch(/ {4}added +\/gone\n$/);
    const file = await cli(['log', '--store', store, '--json', '--', '-notes.txt']);
    expect([file.code, file.err]).toEqual([0, '']);
    expect(JSON.parse(file.out).map((l: { changes: { change: string }[] }) => l.changes[0].change)).toEqual(['removed', 'added']);
  });
});
