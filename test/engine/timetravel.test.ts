import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { memStore, bytes, tmpDir } from '../helpers.js';
import { parseTimeSpec, openStore } from '../../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code: string }).code; } return 'OK'; };

describe('time specs', () => {
  const now = Date.UTC(2026, 2, 15, 14, 22, 30);
  const ns = (s: string) => { const t = parseTimeSpec(s, now); return t && t.kind === 'time' ? t.ns : undefined; };
  it('ISO dates and times, with and without zone, seconds and fractions', () => {
    expect(ns('2026-03-15T14:22:05Z')).toBe(BigInt(Date.UTC(2026, 2, 15, 14, 22, 5)) * 1000000n + 999999999n);
    expect(ns('2026-03-15T14:22Z')).toBe(BigInt(Date.UTC(2026, 2, 15, 14, 22, 59)) * 1000000n + 999999999n);
    expect(ns('2026-03-15T14:22:05.5Z')).toBe(BigInt(Date.UTC(2026, 2, 15, 14, 22, 5)) * 1000000n + 599999999n);
    expect(ns('2026-03-15T14:22:05.123456789Z')).toBe(BigInt(Date.UTC(2026, 2, 15, 14, 22, 5)) * 1000000n + 123456789n);
    expect(ns('2026-03-15T14:22:05+01:00')).toBe(BigInt(Date.UTC(2026, 2, 15, 13, 22, 5)) * 1000000n + 999999999n);
    expect(ns('2026-03-15T14:22:05-0800')).toBe(BigInt(Date.UTC(2026, 2, 15, 22, 22, 5)) * 1000000n + 999999999n);
    expect(ns('2026-03-15T14:22:05')).toBe(BigInt(new Date(2026, 2, 15, 14, 22, 5).getTime()) * 1000000n + 999999999n);
    expect(ns('2026-03-15')).toBe(BigInt(new Date(2026, 2, 16).getTime()) * 1000000n - 1n);
    expect(ns('2026-03-15 14:22')).toBeDefined();
  });
  it('epoch seconds and milliseconds, relative times, commits, now', () => {
    expect(ns('1773584520')).toBe(1773584520n * 1000000000n + 999999999n);
    expect(ns('1773584520123')).toBe(1773584520123n * 1000000n + 999999n);
    expect(ns('10m')).toBe(BigInt(now - 600000) * 1000000n);
    expect(ns('2h')).toBe(BigInt(now - 7200000) * 1000000n);
    expect(ns('3d')).toBe(BigInt(now - 3 * 86400000) * 1000000n);
    expect(parseTimeSpec('c42')).toEqual({ kind: 'commit', id: 42 });
    expect(parseTimeSpec('now')).toEqual({ kind: 'now' });
  });
  it('malformed forms are not times', () => {
    for (const s of ['', 'yesterday', '2026-13-01', '2026-02-31', '2026-03-15T25:00', '12345', '10x', 'c', 'c-1', '2026-3-5', '2026-03-15T14', '2026-03-15T14:22:05+1']) {
      expect(parseTimeSpec(s), s).toBeUndefined();
    }
  });
});

describe('history operations', () => {
  it('at() accepts commit ids, time strings and labels; before the first commit is ENOENT', async () => {
    const e = await memStore();
    e.writeFile('/f', 'one');
    const c1 = e.headCommit;
    await sleep(20);
    const mid = new Date().toISOString();
    await sleep(20);
    e.writeFile('/f', 'two');
    e.label('prod');
    expect(e.at(`c${c1}`).readFile('/f').toString()).toBe('one');
    expect(e.at(mid).readFile('/f').toString()).toBe('one');
    expect(e.at('prod').readFile('/f').toString()).toBe('two');
    expect(e.at('now').readFile('/f').toString()).toBe('two');
    expect(e.at('2999-01-01').readFile('/f').toString()).toBe('two');
    expect(code(() => e.at('1999-01-01'))).toBe('ENOENT');
    expect(code(() => e.at('garbage'))).toBe('ENOENT');
    expect(code(() => e.at('c999999'))).toBe('ENOENT');
  });

  it('file versions follow the name (save by rename) and collapse identical content', async () => {
    const e = await memStore();
    e.writeFile('/doc.txt', 'v1');
    e.chmod('/doc.txt', 0o600); // metadata only: same content, collapsed
    e.writeFile('/.doc.tmp', 'v2'); e.rename('/.doc.tmp', '/doc.txt'); // editor save
    e.writeFile('/doc.txt', 'v2'); // identical rewrite: collapsed
    e.writeFile('/doc.txt', 'v3 is longer');
    const vs = e.history.fileVersions('/doc.txt');
    expect(vs.map((v) => v.stat.size)).toEqual([2, 2, 12]);
    const texts = vs.map((v) => e.at(v.commit).readFile('/doc.txt').toString());
    expect(texts).toEqual(['v1', 'v2', 'v3 is longer']);
    const log = e.history.log({ path: '/doc.txt' });
    expect(log.map((l) => l.changes[0].sizeDelta)).toEqual([10, 0, 2]);
  });

  it('log lists commits with paths changed and size deltas', async () => {
    const e = await memStore();
    e.mkdir('/d');
    e.writeFile('/d/a', 'hello');
    e.unlink('/d/a');
    const log = e.history.log({ limit: 10 });
    expect(log[0].changes).toEqual([{ path: '/d/a', change: 'removed', sizeDelta: -5 }]);
    // created and written within one group commit: one version, added with its content
    expect(log.some((l) => l.changes.some((c) => c.path === '/d/a' && c.change === 'added' && c.sizeDelta === 5))).toBe(true);
    expect(log.some((l) => l.changes.some((c) => c.path === '/d' && c.change === 'added'))).toBe(true);
  });

  it('log lists each name of a hard-linked file: a link made is its new name added, one removed is that name removed', async () => {
    const e = await memStore();
    e.writeFile('/f', 'abc');
    void e.headCommit; // seen: later changes make commits of their own
    e.link('/f', '/g');
    expect(e.history.log({ limit: 1 })[0].changes).toEqual([{ path: '/g', change: 'added', sizeDelta: 3 }]);
    void e.headCommit;
    e.unlink('/f');
    expect(e.history.log({ limit: 1 })[0].changes).toEqual([{ path: '/f', change: 'removed', sizeDelta: -3 }]);
    void e.headCommit;
    e.link('/g', '/h');
    void e.headCommit;
    e.appendFile('/h', 'de');
    // A change of the file's content is a change under every name it has.
    expect(e.history.log({ limit: 1 })[0].changes).toEqual([
      { path: '/g', change: 'changed', sizeDelta: 2 }, { path: '/h', change: 'changed', sizeDelta: 2 }]);
    // git's object: written under a temporary name, linked to its own and
    // the temporary unlinked within microseconds. The link and the unlink
    // join the commit the write made: one commit, one version, its name.
    void e.headCommit;
    const before = e.store.headCommit;
    const fh = e.create('/tmp_obj', 0o444);
    e.write(fh, Buffer.from('blob'), 0);
    e.release(fh);
    e.link('/tmp_obj', '/obj');
    e.unlink('/tmp_obj');
    expect(e.store.headCommit).toBe(before + 1);
    expect(e.history.log({ limit: 1 }).map((l) => l.changes)).toEqual([[{ path: '/obj', change: 'added', sizeDelta: 4 }]]);
    expect(e.at(before + 1).readdir('/').map((x) => x.name)).not.toContain('tmp_obj');
    expect(e.at(before + 1).stat('/obj').nlink).toBe(1);
  });

  it('log of a directory lists the commits that changed something below it, paging back past unrelated ones', async () => {
    const e = await memStore();
    e.mkdir('/src'); e.mkdir('/src/lib'); e.mkdir('/docs');
    e.writeFile('/src/lib/a.ts', 'one');
    const first = e.headCommit;
    // 300 commits elsewhere: the matches lie beyond the first page of the log
    for (let i = 0; i < 300; i++) e.writeFile('/docs/notes.md', `note ${i}`);
    e.writeFile('/src/lib/a.ts', 'one two');
    e.writeFile('/srcfile', 'not below /src');
    const log = e.history.log({ path: '/src', limit: 10 });
    expect(log.map((l) => l.changes)).toEqual([
      [{ path: '/src/lib/a.ts', change: 'changed', sizeDelta: 4 }],
      [{ path: '/src/lib/a.ts', change: 'added', sizeDelta: 3 }],
      [{ path: '/src/lib', change: 'added', sizeDelta: 0 }],
      [{ path: '/src', change: 'added', sizeDelta: 0 }],
    ]);
    expect(log[1].commit).toBe(first);
    expect(e.history.log({ path: '/src/', limit: 2 }).map((l) => l.commit)).toEqual(log.slice(0, 2).map((l) => l.commit));
    expect(e.history.log({ path: '/src/lib/a.ts' }).map((l) => l.changes[0].sizeDelta)).toEqual([4, 3]);
    // the root is the whole log
    expect(e.history.log({ path: '/', limit: 5 })).toEqual(e.history.log({ limit: 5 }));
    expect(code(() => e.history.log({ path: '/nothing' }))).toBe('ENOENT');
  });

  it('log tells commits by path: a save by rename or a restore is one change of the name, a moved directory its two names', async () => {
    const e = await memStore();
    e.writeFile('/t1.txt', 'old\n');
    e.writeFile('/t1.lock', 'newcontent-longer\n');
    e.rename('/t1.lock', '/t1.txt'); // how git and editors save
    expect(e.history.log({ limit: 1 })[0].changes).toEqual([
      { path: '/t1.lock', change: 'removed', sizeDelta: -18 },
      { path: '/t1.txt', change: 'changed', sizeDelta: 14 },
    ]);
    const c = e.headCommit;
    e.writeFile('/t1.txt', 'x');
    e.history.restore('/t1.txt', c);
    expect(e.history.log({ limit: 1 })[0].changes).toEqual([{ path: '/t1.txt', change: 'changed', sizeDelta: 17 }]);
    e.mkdir('/a'); e.writeFile('/a/f', 'f');
    e.rename('/a', '/b');
    expect(e.history.log({ limit: 1 })[0].changes).toEqual([
      { path: '/a', change: 'removed', sizeDelta: 0 },
      { path: '/b', change: 'added', sizeDelta: 0 },
    ]);
  });

  it('diff names every name of a changed hard link, and a moved directory by its paths at the two points only', async () => {
    const e = await memStore();
    e.mkdir('/hl'); e.writeFile('/hl/x', 'a\n'); e.link('/hl/x', '/hl/y');
    const a = e.headCommit;
    e.appendFile('/hl/x', 'b\n');
    expect(e.history.diff(a, e.headCommit)).toEqual([
      { path: '/hl/x', change: 'changed', kind: 'file' }, { path: '/hl/y', change: 'changed', kind: 'file' }]);
    e.mkdir('/da'); e.mkdir('/da/s'); e.writeFile('/da/s/f', '1\n');
    const c = e.headCommit;
    e.rename('/da', '/db'); e.rename('/db/s', '/s2'); // /db/s existed only in between
    expect(e.history.diff(c, e.headCommit).map((d) => `${d.change} ${d.path}`)).toEqual([
      'removed /da', 'removed /da/s', 'removed /da/s/f', 'added /db', 'added /s2', 'added /s2/f']);
  });

  it('diff of a directory removed and made again, or restored, shows only what differs in it', async () => {
    const e = await memStore();
    e.mkdir('/r'); e.mkdir('/r/s'); e.writeFile('/r/f', 'same'); e.writeFile('/r/s/x', 'x'); e.writeFile('/r/old', 'o');
    const p = e.headCommit;
    e.unlink('/r/s/x'); e.rmdir('/r/s'); e.unlink('/r/f'); e.unlink('/r/old'); e.rmdir('/r');
    e.mkdir('/r'); e.mkdir('/r/s'); e.writeFile('/r/f', 'same'); e.writeFile('/r/s/x', 'changed'); e.writeFile('/r/new', 'n');
    expect(e.history.diff(p, e.headCommit).map((d) => `${d.change} ${d.path}`)).toEqual([
      'added /r/new', 'removed /r/old', 'changed /r/s/x']);
    e.chmod('/r', 0o700);
    expect(e.history.diff(p, e.headCommit).map((d) => `${d.change} ${d.path}`)).toContain('changed /r');
    // A restored directory is a new one (new inodes) with the old content.
    e.history.restore('/r', p);
    expect(e.history.diff(p, e.headCommit)).toEqual([]);
  });

  it('diff lists added, removed and changed paths', async () => {
    const e = await memStore();
    e.mkdir('/src'); e.writeFile('/src/a', 'a'); e.writeFile('/src/b', 'b'); e.writeFile('/keep', 'k');
    const from = e.headCommit;
    e.writeFile('/src/a', 'A'); e.unlink('/src/b'); e.mkdir('/new'); e.writeFile('/new/c', 'c');
    e.writeFile('/keep', 'k'); // same content: not a change
    const d = e.history.diff(from, e.headCommit);
    expect(d).toEqual([
      { path: '/new', change: 'added', kind: 'dir' },
      { path: '/new/c', change: 'added', kind: 'file' },
      { path: '/src/a', change: 'changed', kind: 'file' },
      { path: '/src/b', change: 'removed', kind: 'file' },
    ]);
  });

  it('rollback returns the whole tree to a label in one commit, copying no content', async () => {
    const e = await memStore();
    e.mkdir('/app');
    for (let i = 0; i < 50; i++) e.writeFile(`/app/f${i}`, bytes(i % 2 ? 100 : 600_000, i));
    e.label('good');
    const good = e.headCommit;
    e.writeFile('/app/f3', 'broken'); e.unlink('/app/f4'); e.mkdir('/app/junk'); e.writeFile('/app/junk/x', 'x');
    e.rename('/app/f5', '/app/f5.moved'); e.chmod('/app/f6', 0o600); e.truncate('/app/f8', 10);
    const chunks = e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get();
    const before = e.headCommit;
    e.history.rollback(e.resolvePoint('good'));
    expect(e.headCommit).toBe(before + 1);
    expect(e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get()).toBe(chunks);
    expect(e.history.diff(good, e.headCommit)).toEqual([]);
    for (let i = 0; i < 50; i++) expect(e.readFile(`/app/f${i}`).equals(bytes(i % 2 ? 100 : 600_000, i))).toBe(true);
    expect(e.exists('/app/junk')).toBe(false);
    expect(e.stat('/app').nlink).toBe(2);
    // and history is not rewritten: the broken state is still readable
    expect(e.at(before).readFile('/app/f3').toString()).toBe('broken');
  });

  it('rollback with a plan made by a read-only engine beside it (a mount\'s worker), then more changes: the same tree as without', async () => {
    const dir = tmpDir();
    const run = async (withPlan: boolean) => {
      const file = path.join(dir, `s${withPlan ? 1 : 0}.mikofs`);
      const e = await openStore(file, { groupCommitMs: 0 });
      e.mkdir('/app');
      for (let i = 0; i < 20; i++) e.writeFile(`/app/f${i}`, `v1 ${i}`);
      e.setxattr('/app/f1', 'user.k', Buffer.from('then'));
      e.label('good');
      const good = e.headCommit;
      // Made and deleted since: nothing to undo for them.
      for (let i = 0; i < 30; i++) { e.writeFile(`/tmp${i}`, 'x'); e.unlink(`/tmp${i}`); }
      e.writeFile('/app/f3', 'broken'); e.unlink('/app/f4'); e.mkdir('/app/junk'); e.writeFile('/app/junk/x', 'x');
      e.rename('/app/f5', '/app/f5.moved'); e.chmod('/app/f6', 0o600); e.setxattr('/app/f1', 'user.k', Buffer.from('now'));
      let plan;
      if (withPlan) {
        const r = await openStore(file, { readonly: true, checkpointer: false });
        plan = r.history.rollbackPlan(good);
        r.close();
        // Plain data, as a worker's message delivers it.
        plan = structuredClone(plan);
        expect(plan.inodes.length).toBeLessThan(10); // not one row per file made and deleted since
      }
      // Changes after the plan was made, some to keys it holds.
      e.writeFile('/app/f3', 'broken again'); e.writeFile('/app/f7', 'changed late'); e.writeFile('/late', 'late');
      const rows = e.store.db.prepare('SELECT count(*) FROM inodes').pluck().get() as number;
      e.history.rollback(good, null, plan);
      const added = (e.store.db.prepare('SELECT count(*) FROM inodes').pluck().get() as number) - rows;
      const tree = e.history.diff(good, e.headCommit);
      const files = Object.fromEntries(e.readdir('/app').map((d) => [d.name, e.readFile(`/app/${d.name}`).toString()]));
      const out = { tree, files, root: e.readdir('/').map((d) => d.name).sort(), x: e.getxattr('/app/f1', 'user.k').toString(), mode: e.stat('/app/f6').mode & 0o777, added };
      e.close();
      return out;
    };
    const without = await run(false), withPlan = await run(true);
    expect(without.tree).toEqual([]);
    expect(without.root).toEqual(['app']);
    expect(without.files.f3).toBe('v1 3');
    expect(without.x).toBe('then');
    expect(without.mode).toBe(0o644);
    expect(without.added).toBeLessThan(12); // (it wrote a row for each of the 30 files made and deleted since)
    expect(withPlan).toEqual(without);
  });

  it('a view of the past reads files interleaved, piece by piece, exactly as they were', async () => {
    const e = await memStore();
    const a = bytes(1_700_000, 5), b = bytes(1_300_000, 6);
    e.writeFile('/a', a); e.writeFile('/b', b);
    const v = e.at(`c${e.headCommit}`);
    e.writeFile('/a', bytes(1_700_000, 7)); e.unlink('/b'); // the present moves on
    const got = { a: Buffer.alloc(0), b: Buffer.alloc(0) };
    // alternate between the files in 128 KiB reads, as two readers would
    for (let pos = 0; pos < a.length; pos += 131072) {
      got.a = Buffer.concat([got.a, v.read('/a', pos, 131072)]);
      if (pos < b.length) got.b = Buffer.concat([got.b, v.read('/b', pos, 131072)]);
    }
    expect(got.a.equals(a)).toBe(true);
    expect(got.b.equals(b)).toBe(true);
    expect(e.readFile('/a').equals(bytes(1_700_000, 7))).toBe(true);
  });

  it('restore brings back one file or directory as a new commit', async () => {
    const e = await memStore();
    e.mkdir('/d'); e.writeFile('/d/a', 'first'); e.writeFile('/d/b', bytes(700_000, 3));
    const t = e.headCommit;
    e.writeFile('/d/a', 'second'); e.unlink('/d/b'); e.writeFile('/other', 'stays');
    e.history.restore('/d/a', t);
    expect(e.readFile('/d/a').toString()).toBe('first');
    expect(e.exists('/d/b')).toBe(false);
    e.history.restore('/d', t);
    expect(e.readFile('/d/b').equals(bytes(700_000, 3))).toBe(true);
    expect(e.readFile('/other').toString()).toBe('stays');
    expect(e.stat('/').nlink).toBe(3);
  });

  it('restore says what is missing: the path then, its directory now, or a path at all', async () => {
    const e = await memStore();
    e.mkdir('/d'); e.writeFile('/d/a', 'first');
    const t = e.headCommit;
    e.unlink('/d/a'); e.rmdir('/d');
    const msg = (fn: () => unknown) => { try { fn(); } catch (err) { return (err as Error).message; } return 'OK'; };
    expect(msg(() => e.history.restore('/d/nope', t))).toBe(`ENOENT: /d/nope did not exist at c${t}`);
    expect(msg(() => e.history.restore('/d/a', t))).toBe('ENOENT: /d/a: its directory does not exist now (restore that first)');
    expect(msg(() => e.history.restore('/', t))).toMatch(/^EINVAL: .*use rollback/);
    e.history.restore('/d', t);
    expect(e.readFile('/d/a').toString()).toBe('first');
  });
});
