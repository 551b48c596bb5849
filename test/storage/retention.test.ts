import { describe, it, expect } from 'vitest';
import { clockStore, save, commitCount, S, MIN, HOUR, DAY, T0 } from './helpers.js';
import { formatDuration, globToRegExp, parseDuration, rapidDrops, keptByTiers, tiersOf, DEFAULT_POLICY, KeptSet, MaskSet } from '../../src/engine/retention.js';

const code = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code: string }).code; } return 'OK'; };

describe('retention policy pieces', () => {
  it('globs match like gitignore', () => {
    const m = (p: string, path: string) => globToRegExp(p).test(path);
    expect(m('**/node_modules/**', '/a/node_modules/x/y.js')).toBe(true);
    expect(m('**/node_modules/**', '/node_modules')).toBe(true);
    expect(m('**/node_modules/**', '/a/node_modules_x/y')).toBe(false);
    expect(m('*.tmp', '/x/y/z.tmp')).toBe(true);
    expect(m('*.tmp', '/x/y/z.tmpl')).toBe(false);
    expect(m('.git/index.lock', '/src/repo/.git/index.lock')).toBe(true);
    expect(m('/build/**', '/build/a/b')).toBe(true);
    expect(m('/build/**', '/x/build/a')).toBe(false);
    expect(m('logs/*.log', '/logs/a.log')).toBe(true);
    expect(m('logs/*.log', '/logs/a/b.log')).toBe(false);
  });

  it('a file\'s masked intervals, bisected, answer as a scan of every interval does', () => {
    // The scan (the code before the bisection): from the first kept commit,
    // out of any interval holding it, again and again.
    const scan = (k: KeptSet, x: number, masks: [number, number][]) => {
      let y = k.at(x);
      for (let moved = true; moved;) {
        moved = false;
        for (const [a, b] of masks) if (y >= a && y < b) { y = k.at(b); moved = true; }
      }
      return y;
    };
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let round = 0; round < 200; round++) {
      // As the planner makes them: kept commits between from and maxSnap.
      const maxSnap = 250 + rnd(60), from = rnd(3) === 0 ? rnd(30) : 0;
      const kept = new Set<number>();
      for (let i = 0; i < 40; i++) kept.add(from + rnd(maxSnap - from + 1));
      const k = new KeptSet(kept, maxSnap, from);
      const masks: [number, number][] = [];
      for (let i = rnd(30); i > 0; i--) { const a = 1 + rnd(320); masks.push([a, a + rnd(25)]); }
      const set = new MaskSet(masks);
      for (let x = 0; x <= 330; x++) expect(k.atMasked(x, set)).toBe(scan(k, x, masks));
    }
  });

  it('durations', () => {
    expect(parseDuration('5s')).toBe(5n * S);
    expect(parseDuration('24h')).toBe(DAY);
    expect(parseDuration('forever')).toBe(-1n);
    // years: the help's own example (--daily 1y) was refused (found 2026-12-05)
    expect(parseDuration('1y')).toBe(365n * DAY);
    expect(formatDuration(parseDuration('2y'))).toBe('2y');
    expect(() => parseDuration('5 parsecs')).toThrow(/bad duration/);
  });

  it('tiers keep every commit a day, hourly a week, daily 90 days', () => {
    const now = T0 + 200n * DAY;
    const commits = [];
    for (let i = 0; i < 200 * 24; i++) commits.push({ id: i + 1, timeNs: T0 + BigInt(i) * HOUR + 10n * MIN, kind: 'write' });
    for (let i = 0; i < 24; i++) commits.push({ id: 10000 + i, timeNs: now - 1n * HOUR + BigInt(i) * MIN, kind: 'write' });
    const kept = keptByTiers(commits, tiersOf(DEFAULT_POLICY), now, new Set());
    const ages = [...kept].map((id) => now - commits.find((c) => c.id === id)!.timeNs);
    expect(ages.filter((a) => a <= DAY).length).toBe(24 + 24);
    expect(ages.filter((a) => a > DAY && a <= 7n * DAY).length).toBe(6 * 24);
    const daily = ages.filter((a) => a > 7n * DAY && a <= 90n * DAY).length;
    expect(daily).toBeGreaterThanOrEqual(83); // one per calendar day: 83 or 84 depending on where days start
    expect(daily).toBeLessThanOrEqual(84);
    expect(ages.filter((a) => a > 90n * DAY).length).toBe(0);
  });

  it('rapid drops: only saves of the same file, never across a protected commit', () => {
    const c = (id: number, s: number, kind = 'write') => ({ id, timeNs: T0 + BigInt(s) * S, kind });
    const commits = [c(1, 0), c(2, 1), c(3, 2), c(4, 3, 'snapshot'), c(5, 4), c(6, 5), c(7, 30)];
    const writes = new Map([[1, 10], [2, 11], [3, 10], [5, 10], [6, 10], [7, 10]]);
    const drop = rapidDrops(commits, writes, 5n * S, (id) => id === 4);
    expect([...drop.keys()].sort()).toEqual([1, 5]);
    expect(drop.get(1)).toEqual({ ino: 10, next: 3 });
  });
});

describe('rapid edits and emptied files', () => {
  it('a save followed by an emptied file (O_TRUNC) is kept until the new content follows', () => {
    const c = (id: number, ms: number) => ({ id, timeNs: T0 + BigInt(ms) * 1000000n, kind: 'write' });
    const writes = new Map([[1, 10], [2, 10], [3, 10]]);
    // v1, then the file emptied 1 s later, and nothing more (the writer died).
    expect([...rapidDrops([c(1, 0), c(2, 1000)], writes, 5n * S, () => false, new Set([2])).keys()]).toEqual([]);
    // v1, emptied, then v2: the emptied version and v1 collapse into v2.
    expect([...rapidDrops([c(1, 0), c(2, 1000), c(3, 1001)], writes, 5n * S, () => false, new Set([2])).keys()].sort()).toEqual([1, 2]);
    // ...but not when v2 comes after the window of v1.
    expect([...rapidDrops([c(1, 0), c(2, 4000), c(3, 6000)], writes, 5n * S, () => false, new Set([2])).keys()]).toEqual([2]);
  });

  it('a crash between dd\'s O_TRUNC and its data leaves the previous content in history', async () => {
    const { e, clock } = await clockStore();
    save(e, '/ow', Buffer.from('v154 fsynced'));
    clock.t += 1n * S;
    e.release(e.open('/ow', 'w')); // emptied, committed by a close; then the writer died
    clock.t += 10n * S;
    e.maintenance.runAll();
    expect(e.readFile('/ow').length).toBe(0);
    expect(e.history.fileVersions('/ow').map((v) => v.stat.size)).toEqual([12, 0]);
    e.close();
  });
});

describe('history thinning', () => {
  it('keeps labelled and snapshotted states for ever and thins the rest by age', async () => {
    const { e, clock } = await clockStore();
    const content = new Map<number, string>();
    let labelled = 0, snap = 0;
    // A save every 2 hours for 100 days.
    for (let i = 0; i < 100 * 12; i++) {
      clock.t = T0 + BigInt(i) * 2n * HOUR;
      save(e, '/notes.txt', Buffer.from(`note ${i} `.repeat(40)));
      content.set(e.headCommit, `note ${i} `);
      if (i === 30) { e.label('ancient'); labelled = e.headCommit; }
      if (i === 600) snap = e.snapshot('half way');
    }
    const now = clock.t;
    const before = commitCount(e);
    const plan = e.maintenance.plan();
    expect(plan.commits.total).toBe(before);
    const rep = e.maintenance.runAll();
    expect(rep.thinned.commits).toBe(plan.commits.drop);
    expect(commitCount(e)).toBe(before - plan.commits.drop);
    // The labelled state (older than every tier) and the snapshot survive.
    expect(e.at({ label: 'ancient' }).readFile('/notes.txt').toString()).toMatch(/^note 30 /);
    expect(e.at(snap).readFile('/notes.txt').toString()).toMatch(/^note 600 /);
    // Every surviving commit shows what was saved at it.
    const left = e.store.db.prepare('SELECT id, time_ns FROM commits ORDER BY id').safeIntegers(true).all() as { id: bigint; time_ns: bigint }[];
    for (const c of left) {
      const want = content.get(Number(c.id));
      if (want) expect(e.at(Number(c.id)).readFile('/notes.txt').toString().startsWith(want)).toBe(true);
    }
    const ages = left.map((c) => now - c.time_ns);
    expect(ages.filter((a) => a <= DAY).length).toBeGreaterThanOrEqual(12);
    expect(ages.filter((a) => a > 7n * DAY && a <= 90n * DAY).length).toBeLessThanOrEqual(84);
    expect(ages.filter((a) => a > 90n * DAY)).toHaveLength(1); // the labelled commit only
    e.close();
  });

  it('rapid edits collapse into the last save, except across a label and a file\'s first version; other files are untouched', async () => {
    const { e, clock } = await clockStore();
    const saves: number[] = [];
    for (let i = 0; i < 10; i++) {
      clock.t += 1n * S;
      save(e, '/doc.txt', Buffer.from(`draft ${i}`));
      saves.push(e.headCommit);
      if (i === 4) e.label('sent');
      clock.t += 100000000n;
      save(e, `/other${i}.txt`, Buffer.from(`other ${i}`));
    }
    clock.t += 60n * S;
    save(e, '/doc.txt', Buffer.from('final'));
    e.maintenance.runAll();
    const versions = e.history.fileVersions('/doc.txt').map((v) => e.at(v.commit).readFile('/doc.txt').toString());
    // The first save stays: the states kept between it and the next kept
    // save (other0.txt's) show the file as first saved, not missing it (a
    // rollback to one would have deleted the file).
    expect(versions).toEqual(['draft 0', 'draft 4', 'draft 9', 'final']);
    expect(e.at(e.history.fileVersions('/other0.txt')[0].commit).readFile('/doc.txt').toString()).toBe('draft 0');
    expect(e.at({ label: 'sent' }).readFile('/doc.txt').toString()).toBe('draft 4');
    for (let i = 0; i < 10; i++) expect(e.readFile(`/other${i}.txt`).toString()).toBe(`other ${i}`);
    // A dropped commit id is gone; a time inside the thinned region means the
    // last surviving commit before it.
    expect(code(() => e.at(saves[2]))).toBe('ENOENT');
    const t = e.store.meta.getCommit(saves[4])!.time_ns + 1n;
    expect(e.at(t).readFile('/doc.txt').toString()).toBe('draft 4');
    e.close();
  });

  it('no-history paths keep their current content and no past', async () => {
    const { e, clock } = await clockStore();
    e.mkdir('/app'); e.mkdir('/app/node_modules'); e.mkdir('/app/node_modules/lib');
    e.maintenance.setPolicy({ rules: [{ pattern: '**/node_modules/**', history: 'none' }, { pattern: '*.tmp', history: 'none' }] });
    const early: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.t += HOUR;
      save(e, '/app/node_modules/lib/index.js', Buffer.from(`lib ${i} `.repeat(100)));
      save(e, '/app/x.tmp', Buffer.from(`tmp ${i} `.repeat(100)));
      save(e, '/app/main.js', Buffer.from(`main ${i} `.repeat(100)));
      early.push(e.headCommit);
    }
    clock.t += HOUR;
    e.unlink('/app/x.tmp');
    e.maintenance.runAll();
    // Current content intact.
    expect(e.readFile('/app/node_modules/lib/index.js').toString()).toMatch(/^lib 4 /);
    expect(e.exists('/app/x.tmp')).toBe(false);
    // Tracked files keep every version; no-history ones show no past version.
    for (let i = 0; i < 5; i++) {
      const v = e.at(early[i]);
      expect(v.readFile('/app/main.js').toString()).toMatch(new RegExp(`^main ${i} `));
      if (v.exists('/app/node_modules/lib/index.js')) expect(v.readFile('/app/node_modules/lib/index.js').toString()).toMatch(/^lib 4 /);
      expect(v.exists('/app/x.tmp')).toBe(false);
    }
    expect(e.history.fileVersions('/app/main.js').length).toBe(5);
    expect(e.history.fileVersions('/app/node_modules/lib/index.js').length).toBe(1);
    // Nothing of the old tmp or lib content remains in chunks or inline.
    const inl = e.store.db.prepare("SELECT count(*) FROM inodes WHERE inline LIKE 'tmp%' OR inline LIKE 'lib 0%'").pluck().get();
    expect(inl).toBe(0);
    e.close();
  });

  it('a no-history path never takes anything from a labelled or snapshotted state', async () => {
    // Found by the CLI hunt (2026-12-05): a rule matching a directory that a
    // restore had replaced deleted the old directory's name, so the labelled
    // state lost it and everything below it, rule or no rule.
    const { e, clock } = await clockStore();
    e.mkdir('/docs');
    save(e, '/docs/a.txt', Buffer.from('hello\n'));
    save(e, '/cache.tmp', Buffer.from('cached 1\n'));
    e.label('rel');
    const rel = e.headCommit;
    clock.t += HOUR;
    save(e, '/docs/a.txt', Buffer.from('changed\n'));
    save(e, '/cache.tmp', Buffer.from('cached 2\n'));
    e.history.restore('/docs', rel); // a new /docs directory
    e.snapshot('kept');
    const snap = e.headCommit;
    clock.t += HOUR;
    save(e, '/cache.tmp', Buffer.from('cached 3\n'));
    e.maintenance.setPolicy({ keepAll: '0', hourly: '0', daily: '0', rules: [{ pattern: 'docs', history: 'none' }, { pattern: '*.tmp', history: 'none' }] });
    clock.t += HOUR;
    e.maintenance.runAll();
    const at = e.at('rel');
    expect(at.readFile('/docs/a.txt').toString()).toBe('hello\n');
    expect(at.readFile('/cache.tmp').toString()).toBe('cached 1\n');
    expect(e.at(snap).readFile('/cache.tmp').toString()).toBe('cached 2\n');
    expect(e.history.diff(rel, e.resolvePoint('rel'))).toEqual([]);
    expect(e.readFile('/cache.tmp').toString()).toBe('cached 3\n');
    e.close();
  });

  it('incremental background passes (step) collapse rapid edits as they come', async () => {
    const { e, clock } = await clockStore();
    const drain = () => { let n = 0; while (e.maintenance.step(10) && n < 10000) n++; };
    const kept: string[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 5; i++) {
        clock.t += 1n * S;
        save(e, '/draft.txt', Buffer.from(`round ${round} draft ${i} `.repeat(20)));
        save(e, `/log${round}.txt`, Buffer.from(`log ${round} ${i}`));
      }
      if (round === 1) e.label('r1');
      if (round === 0) kept.push('round 0 draft 0 '); // the file's first version stays
      kept.push(`round ${round} draft 4 `);
      clock.t += 60n * S;
      drain();
      drain();
    }
    const versions = e.history.fileVersions('/draft.txt').map((v) => e.at(v.commit).readFile('/draft.txt').toString().slice(0, 20));
    expect(versions).toEqual(kept.map((k) => (k + k).slice(0, 20)));
    expect(e.at({ label: 'r1' }).readFile('/draft.txt').toString()).toMatch(/^round 1 draft 4 /);
    for (let r = 0; r < 4; r++) expect(e.readFile(`/log${r}.txt`).toString()).toBe(`log ${r} 4`);
    expect(e.store.db.prepare('SELECT count(*) FROM chunk_todo').pluck().get()).toBe(0);
    e.close();
  });

  it('a branch keeps reading its parent as of its fork after the parent is thinned', async () => {
    const { e, clock } = await clockStore();
    save(e, '/cfg', Buffer.from('base '.repeat(30)));
    clock.t += 1n * S;
    save(e, '/cfg', Buffer.from('forked here '.repeat(30)));
    const b = e.createBranch('feature');
    clock.t += 1n * S;
    save(e, '/cfg', Buffer.from('main moves on '.repeat(30)));
    clock.t += 1n * S;
    save(e, '/cfg', Buffer.from('main again '.repeat(30)));
    save(b, '/only-on-branch', Buffer.from('b'));
    e.maintenance.setPolicy({ keepAll: '0', hourly: '0', daily: '0' });
    clock.t += DAY;
    e.maintenance.runAll();
    expect(b.readFile('/cfg').toString()).toBe('forked here '.repeat(30));
    expect(b.readFile('/only-on-branch').toString()).toBe('b');
    expect(e.readFile('/cfg').toString()).toBe('main again '.repeat(30));
    expect(e.exists('/only-on-branch')).toBe(false);
    e.close();
  });

  it('a path rule can keep less history than the store default', async () => {
    const { e, clock } = await clockStore();
    e.mkdir('/logs');
    e.maintenance.setPolicy({ rules: [{ pattern: '/logs/**', keepAll: '1h', hourly: '0', daily: '0' }] });
    const cs: number[] = [];
    for (let i = 0; i < 6; i++) {
      clock.t += HOUR;
      save(e, '/logs/app.log', Buffer.from(`log ${i} `.repeat(50)));
      save(e, '/readme', Buffer.from(`readme ${i} `.repeat(50)));
      cs.push(e.headCommit);
    }
    e.maintenance.runAll();
    // The readme keeps every version (default: all within 24 h).
    for (let i = 0; i < 6; i++) expect(e.at(cs[i]).readFile('/readme').toString()).toMatch(new RegExp(`^readme ${i} `));
    // The log keeps what is younger than 1 h only: older states show the
    // oldest kept version (consistently), not the one saved then.
    expect(e.history.fileVersions('/logs/app.log').length).toBeLessThan(3);
    expect(e.readFile('/logs/app.log').toString()).toMatch(/^log 5 /);
    e.close();
  });

  it('collapsed rapid edits leave every kept commit whole: a name never outlives its file, rollback to one gives a sound tree', async () => {
    const { e, clock } = await clockStore();
    // A file created, renamed, hard-linked and saved again within the window,
    // with other changes (kept commits) in between.
    save(e, '/f', Buffer.from('v1'));
    clock.t += 100000000n;
    e.mkdir('/d');
    const afterMkdir = e.headCommit;
    clock.t += 100000000n;
    e.rename('/f', '/g');
    e.link('/g', '/h');
    const afterLink = e.headCommit;
    clock.t += 100000000n;
    save(e, '/g', Buffer.from('v2'));
    // An existing file edited twice in the window around another change.
    clock.t += 10n * S;
    save(e, '/old', Buffer.from('base'));
    clock.t += 10n * S;
    save(e, '/old', Buffer.from('o1'));
    clock.t += 100000000n;
    e.mkdir('/d2');
    const afterMkdir2 = e.headCommit;
    clock.t += 100000000n;
    save(e, '/old', Buffer.from('o2'));
    clock.t += 1n * S;
    e.maintenance.runAll();
    const sound = (c: number) => {
      const v = e.at(c);
      const walk = (dir: string): string[] => v.readdir(dir).flatMap(({ name }) => {
        const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
        const st = v.stat(p); // every listed name leads to a file (ENOENT was the bug)
        return (st.mode & 0o170000) === 0o040000 ? [p, ...walk(p)] : [`${p}=${v.readFile(p).toString()}:${st.nlink}`];
      });
      return walk('/');
    };
    for (const c of [afterMkdir, afterLink, afterMkdir2]) {
      if (!e.store.meta.getCommit(c)) continue; // thinned away itself
      expect(() => sound(c)).not.toThrow();
    }
    // Each kept state shows every file as it was before its collapsed edits
    // (f's first version stays: it was renamed before its next save), never
    // a name without a file.
    if (e.store.meta.getCommit(afterMkdir)) expect(sound(afterMkdir)).toEqual(['/d', '/f=v1:1']);
    if (e.store.meta.getCommit(afterMkdir2)) expect(sound(afterMkdir2)).toContain('/old=base:1');
    // Rolling back to a kept state in the middle gives a tree with no dead entries.
    const mid = [afterMkdir, afterLink].find((c) => e.store.meta.getCommit(c));
    expect(mid).toBeDefined();
    e.history.rollback(mid!);
    for (const { name } of e.readdir('/')) expect(e.stat(`/${name}`).nlink).toBeGreaterThan(0);
    e.close();
  });

  it('saves around a rollback do not collapse: the rollback\'s state keeps the content it put back (found 2026-12-05)', async () => {
    const { e, clock } = await clockStore();
    save(e, '/f', Buffer.from('P'));
    const p = e.headCommit;
    clock.t += 6n * S;
    save(e, '/f', Buffer.from('XX'));
    clock.t += 6n * S;
    save(e, '/f', Buffer.from('W1W1'));
    clock.t += S / 2n;
    e.history.rollback(p);
    const r = e.headCommit;
    clock.t += S / 2n;
    save(e, '/f', Buffer.from('W2'));
    clock.t += 2n * S;
    e.maintenance.runAll();
    expect(e.at(r).readFile('/f').toString()).toBe('P');
    expect(e.history.fileVersions('/f').map((v) => e.at(v.commit).readFile('/f').toString())).toEqual(['P', 'XX', 'W1W1', 'P', 'W2']);
    e.history.rollback(r);
    expect(e.readFile('/f').toString()).toBe('P');
    e.close();
  });

  it('an editor\'s save (a new file renamed over the old) then a save in place, within the window: the name is never missing', async () => {
    const { e, clock } = await clockStore();
    save(e, '/b.txt', Buffer.from('w1'));
    clock.t += 7n * S;
    save(e, '/b.txt.new', Buffer.from('w2'));
    e.rename('/b.txt.new', '/b.txt');
    clock.t += S / 2n;
    save(e, '/other.txt', Buffer.from('other'));
    const between = e.headCommit;
    clock.t += S / 2n;
    save(e, '/b.txt', Buffer.from('w3'));
    clock.t += 2n * S;
    e.maintenance.runAll();
    expect(e.store.meta.getCommit(between)).toBeDefined(); // another file's save: kept
    expect(e.at(between).readFile('/b.txt').toString()).toBe('w2');
    e.history.rollback(between);
    expect(e.readFile('/b.txt').toString()).toBe('w2');
    e.close();
  });

  it('open read handles keep the state they read; deleted files age out and their chunks go', async () => {
    const { e, clock } = await clockStore();
    save(e, '/a', Buffer.from('a1 '.repeat(100)));
    clock.t += 1n * S;
    save(e, '/a', Buffer.from('a2 '.repeat(100)));
    const fh = e.open('/a', 'r');
    expect(e.read(fh, 3, 0).toString()).toBe('a2 ');
    clock.t += 1n * S;
    // An editor's save by rename: the descriptor keeps the inode it read
    // (readers follow commits of their inode, not of the name).
    save(e, '/a.tmp', Buffer.from('a3 '.repeat(100)));
    e.rename('/a.tmp', '/a');
    e.maintenance.runAll();
    expect(e.read(fh, 3, 0).toString()).toBe('a2 ');
    e.release(fh);
    // A deleted big file: once its history is older than every tier, its chunks are collected.
    save(e, '/big.bin', Buffer.alloc(2 << 20, 7));
    clock.t += 1n * S;
    e.unlink('/big.bin');
    e.maintenance.runAll();
    expect(e.store.db.prepare('SELECT count(*) FROM chunks WHERE size = 524288').pluck().get()).toBe(1);
    clock.t += 200n * DAY;
    save(e, '/a', Buffer.from('later'));
    const r = e.maintenance.runAll();
    expect(r.retired).toBe(0); // retired in the first run already
    expect(e.store.db.prepare('SELECT count(*) FROM chunks WHERE size = 524288').pluck().get()).toBe(0);
    expect(e.readFile('/a').toString()).toBe('later');
    e.close();
  });
});
