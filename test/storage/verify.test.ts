import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { bytes, tmpDir } from '../helpers.js';
import { openStore } from '../../src/index.js';
import { scrub } from '../../src/engine/scrub.js';
import { clockStore, text, save, MIN } from './helpers.js';
import { DELTA } from '../../src/store/codec.js';
import { setCorruptionLogger } from '../../src/store/chunk-store.js';
import { blake3 } from '../../src/store/hash.js';
import Database from 'better-sqlite3';

const CLI = path.resolve('dist/cli/main.js');
function mikofs(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err });
    });
  });
}

const CHUNK = 512 * 1024;

describe('verify (scrub): every chunk read back and checked', () => {
  it('a sound store: every chunk checked, its bytes counted, no problems', async () => {
    const e = await openStore(':memory:');
    e.writeFile('/a.bin', bytes(3 * CHUNK + 10, 1));
    e.writeFile('/b.bin', bytes(CHUNK, 2));
    e.writeFile('/small', 'inline');
    e.flush();
    const stages = new Set<string>();
    const r = scrub(e, (p) => stages.add(p.stage));
    expect(r).toEqual({ ok: true, structure: [], chunks: { checked: 5, bytes: 4 * CHUNK + 10 }, inline: { checked: 1, bytes: 6 }, problems: [] });
    expect([...stages]).toEqual(['structure', 'chunks', 'inline', 'references']);
    e.close();
  });

  it('a rotted chunk, a missing one and a delta whose base rotted are each named with the file versions they hold', async () => {
    const { e, clock } = await clockStore();
    const a = bytes(2 * CHUNK, 3);
    e.mkdir('/dir');
    e.writeFile('/dir/a.bin', a);
    const cA = e.headCommit;
    clock.t += MIN;
    const b = Buffer.from(a);
    b.write('changed', CHUNK + 100);
    e.writeFile('/dir/a.bin', b); // second chunk: a new version; first chunk shared
    const cB = e.headCommit;
    clock.t += MIN;
    let t = text(300 * 1024, 7);
    save(e, '/doc.txt', t);
    const cDoc = e.headCommit;
    for (let i = 0; i < 3; i++) {
      clock.t += MIN;
      t = Buffer.from(t);
      t.write(`edit ${i} `, 1000 * (i + 1));
      save(e, '/doc.txt', t);
    }
    e.maintenance.runAll(); // doc.txt's later versions become deltas against its first
    const db = e.store.db;
    const hashAt = (p: string, idx: number, c: number) =>
      db.prepare('SELECT hash FROM extents WHERE ino = ? AND idx = ? AND since <= ? AND until > ?').pluck()
        .get(e.at(c).stat(p).ino, idx, c, c) as Buffer;
    const first = hashAt('/dir/a.bin', 0, cA);     // shared by both versions of a.bin
    const gone = hashAt('/dir/a.bin', 1, cA);      // only the first version
    const docBase = hashAt('/doc.txt', 0, cDoc);
    expect(db.prepare('SELECT count(*) FROM chunks WHERE base = ? AND encoding & ?').pluck().get(docBase, DELTA)).toBeGreaterThan(0);
    // Rot: one byte flipped in two stored chunks; one chunk lost.
    const flip = (h: Buffer) => {
      const d = Buffer.from(db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck().get(h) as Buffer);
      d[d.length >> 1] ^= 0x40;
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(d, h);
    };
    flip(first);
    flip(docBase);
    db.prepare('DELETE FROM chunks WHERE hash = ?').run(gone);
    e.store.chunks.clearCache();

    const logged: string[] = [];
    setCorruptionLogger((m) => logged.push(m));
    let r;
    try { r = scrub(e); } finally { setCorruptionLogger((m) => process.stderr.write(`mikofs: ${m}\n`)); }
    expect(r.ok).toBe(false);
    expect(r.structure).toEqual([]);
    const byHash = new Map(r.problems.map((p) => [p.hash, p]));
    const rot = byHash.get(first.toString('hex'))!;
    expect(rot).toMatchObject({ problem: 'corrupt' });
    expect(rot.why).toMatch(/does not match its address|cannot be decoded/);
    // Both versions of a.bin hold it (the chunk never changed): one row, live.
    expect(rot.versions).toEqual([{ path: '/dir/a.bin', branch: 'main', ino: expect.any(Number), offset: 0, length: CHUNK, since: cA, until: null }]);
    const lost = byHash.get(gone.toString('hex'))!;
    expect(lost).toMatchObject({ problem: 'missing' });
    expect(lost.versions).toEqual([expect.objectContaining({ path: '/dir/a.bin', offset: CHUNK, since: cA, until: cB })]);
    // The rotted base, and every later doc.txt version decoded from it.
    expect(byHash.get(docBase.toString('hex'))!.versions[0]).toMatchObject({ path: '/doc.txt', since: cDoc });
    // Decoded from a bad base: doc.txt's three later versions (a skip-delta
    // chain), and a.bin's changed second chunk (a delta against the lost one).
    const dependents = r.problems.filter((p) => /its delta base/.test(p.why));
    expect(dependents.map((d) => d.versions[0].path).sort()).toEqual(['/dir/a.bin', '/doc.txt', '/doc.txt', '/doc.txt']);
    expect(dependents.find((d) => d.versions[0].path === '/dir/a.bin')!.why).toMatch(/its delta base .* is missing/);
    expect(r.problems.length).toBe(3 + 4);
    expect(logged.length).toBeGreaterThan(0); // reads of the bad chunks were reported as EIO, as on any read
    e.close();
  });

  it('beside a gc in another connection, a chunk freed during the scan is not reported missing; a bad short chunk names only its bytes', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'store.mikofs');
    const w = await openStore(file, { groupCommitMs: 0 });
    w.writeFile('/a.bin', bytes(3 * CHUNK, 4));
    w.writeFile('/tail.bin', bytes(CHUNK + 1000, 5));
    w.flush();
    const r = await openStore(file, { readonly: true });
    try {
      // gc frees a chunk the scan has listed, between the listing and the read
      // of it (what a mounted store's maintenance may do at any moment).
      const victim = r.store.db.prepare('SELECT hash FROM extents WHERE ino = ? AND idx = 2').pluck().get(r.stat('/a.bin').ino) as Buffer;
      const check = r.store.chunks.check.bind(r.store.chunks);
      let freed = false;
      r.store.chunks.check = (h: Buffer) => {
        if (!freed) {
          freed = true; // (as thinning, then collection: no version names it any more)
          w.store.db.transaction(() => {
            w.store.db.prepare('DELETE FROM extents WHERE hash = ?').run(victim);
            w.store.db.prepare('DELETE FROM chunks WHERE hash = ?').run(victim);
          })();
        }
        return check(h);
      };
      const report = scrub(r);
      expect(freed).toBe(true);
      expect(report.problems).toEqual([]);
      expect(report.chunks.checked).toBe(5);
    } finally { r.close(); }
    // A rotted last chunk of a file: its versions name the bytes it holds.
    const last = w.store.db.prepare('SELECT hash FROM extents WHERE ino = ? AND idx = 1').pluck().get(w.stat('/tail.bin').ino) as Buffer;
    const d = Buffer.from(w.store.db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck().get(last) as Buffer);
    d[10] ^= 1;
    w.store.db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(d, last);
    w.store.chunks.clearCache();
    setCorruptionLogger(() => {});
    try {
      const bad = scrub(w).problems.find((p) => p.hash === last.toString('hex'))!;
      expect(bad.versions).toEqual([expect.objectContaining({ path: '/tail.bin', offset: CHUNK, length: 1000 })]);
    } finally { setCorruptionLogger((m) => process.stderr.write(`mikofs: ${m}\n`)); }
    w.close();
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
  });

  it('a small file kept inline is checked too: a flipped bit reads as EIO, is listed by scrub, and is never laundered into a chunk', async () => {
    const { e, clock } = await clockStore();
    e.mkdir('/etc');
    e.writeFile('/etc/app.conf', 'port = 8080\n'.repeat(200)); // 2.4 KiB: inline
    const c1 = e.headCommit;
    clock.t += MIN;
    e.writeFile('/etc/app.conf', 'port = 9090\n'.repeat(200));
    e.writeFile('/etc/other', 'fine');
    e.flush();
    const db = e.store.db;
    const ino = e.stat('/etc/app.conf').ino;
    const row = db.prepare('SELECT rowid, inline FROM inodes WHERE ino = ? AND since = ?').get(ino, c1) as { rowid: number; inline: Buffer };
    expect(row.inline.length).toBe(2400);
    expect(db.prepare('SELECT count(*) FROM inodes WHERE inline IS NOT NULL AND inline_sum IS NULL').pluck().get()).toBe(0);
    const rotted = Buffer.from(row.inline);
    rotted[100] ^= 4;
    db.prepare('UPDATE inodes SET inline = ? WHERE rowid = ?').run(rotted, row.rowid);

    const logged: string[] = [];
    setCorruptionLogger((m) => logged.push(m));
    try {
      const old = e.at(c1);
      let code = 'OK';
      try { old.readFile('/etc/app.conf'); } catch (err) { code = (err as { code: string }).code; }
      expect(code).toBe('EIO');
      expect(logged).toEqual([`EIO: inline content of inode ${ino} (the version of c${c1}) does not match its checksum`]);
      expect(e.readFile('/etc/app.conf').toString()).toBe('port = 9090\n'.repeat(200)); // the live version is sound

      const r = scrub(e);
      expect(r.ok).toBe(false);
      expect(r.inline.checked).toBe(3);
      expect(r.problems).toEqual([{ hash: null, problem: 'inline', why: 'does not match its checksum',
        versions: [{ path: '/etc/app.conf', branch: 'main', ino, offset: 0, length: 2400, since: c1, until: expect.any(Number) }] }]);

      // Maintenance moves ended inline versions into chunks; not this one.
      const rep = e.maintenance.runAll();
      expect(rep.inlineMoved).toBe(0);
      expect(db.prepare('SELECT inline FROM inodes WHERE rowid = ?').pluck().get(row.rowid)).toEqual(rotted);
    } finally { setCorruptionLogger((m) => process.stderr.write(`mikofs: ${m}\n`)); }
    e.close();
  });

  it('rewriting the row of rotted inline bytes (chmod, rename) keeps their old checksum: the damage stays visible', async () => {
    const file = path.join(tmpDir(), 'launder.mikofs');
    let e = await openStore(file);
    e.writeFile('/notes', 'remember the milk');
    e.close();
    const db = new Database(file);
    db.prepare("UPDATE inodes SET inline = CAST('remember the silk' AS BLOB) WHERE inline IS NOT NULL").run();
    db.close();
    e = await openStore(file);
    const logged: string[] = [];
    setCorruptionLogger((m) => logged.push(m));
    try {
      e.chmod('/notes', 0o600);
      e.rename('/notes', '/notes.txt');
      e.flush();
      let code = 'OK';
      try { e.readFile('/notes.txt'); } catch (err) { code = (err as { code: string }).code; }
      expect(code).toBe('EIO');
      const r = scrub(e);
      // The original version, the chmod's and the rename's (a new ctime):
      // each row carries the old checksum with the rotted bytes.
      expect(r.problems.map((p) => p.problem)).toEqual(['inline', 'inline', 'inline']);
      expect(r.problems.map((p) => p.versions[0].path)).toEqual(['/notes', '/notes', '/notes.txt']);
    } finally { setCorruptionLogger((m) => process.stderr.write(`mikofs: ${m}\n`)); }
    e.close();
  });

  it('a store from before inline checksums gets them on its first writable open (migration 005)', async () => {
    const file = path.join(tmpDir(), 'old.mikofs');
    let e = await openStore(file);
    e.writeFile('/a', 'small one');
    e.writeFile('/a', 'small two');
    e.writeFile('/b', bytes(3000, 4));
    e.close();
    const db = new Database(file);
    db.exec('ALTER TABLE inodes DROP COLUMN inline_sum');
    db.pragma('user_version = 4');
    db.close();
    e = await openStore(file);
    const rows = e.store.db.prepare('SELECT inline, inline_sum FROM inodes WHERE inline IS NOT NULL').all() as { inline: Buffer; inline_sum: number }[];
    expect(rows.length).toBe(3);
    for (const r of rows) expect(r.inline_sum).toBe(blake3(r.inline).readUIntBE(0, 6));
    expect(scrub(e)).toMatchObject({ ok: true, inline: { checked: 3 } });
    expect(e.readFile('/b').equals(bytes(3000, 4))).toBe(true);
    e.close();
  });

  it('the CLI: exit 0 and a summary on a sound store file; exit 1, the paths and a one-line error on a damaged one', async () => {
    const file = path.join(tmpDir(), 'v.mikofs');
    let e = await openStore(file);
    e.writeFile('/keep.bin', bytes(CHUNK, 9));
    e.writeFile('/hurt.bin', bytes(CHUNK, 10));
    e.close();
    const ok = await mikofs(['verify', '--store', file]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/no problems found/);
    expect(ok.out).toMatch(/2 read back, 1\.00 MiB of content: every one matches its BLAKE3 address/);
    expect(ok.out).toMatch(/small files  0 versions kept inline, 0 B: every one matches its checksum/);

    e = await openStore(file);
    const h = e.store.db.prepare('SELECT hash FROM extents WHERE ino = ?').pluck().get(e.stat('/hurt.bin').ino) as Buffer;
    const d = Buffer.from(e.store.db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck().get(h) as Buffer);
    d[7] ^= 1;
    e.store.db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(d, h);
    e.close();
    const bad = await mikofs(['scrub', '--store', file]);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`mikofs: verify: ${file}: 1 corrupt chunk\n`);
    expect(bad.out).toMatch(/PROBLEMS FOUND/);
    expect(bad.out).toMatch(new RegExp(`chunk ${h.toString('hex').slice(0, 16)}… does not match its address`));
    expect(bad.out).toMatch(/\/hurt\.bin {2}bytes 0-524287 {2}versions c\d+ \(live\)/);
    const j = await mikofs(['verify', '--store', file, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, problems: [{ hash: h.toString('hex'), problem: 'corrupt' }] });

    // A damaged b-tree (an index page overwritten in the file): SQLite's
    // findings, each naming the index.
    e = await openStore(file, { readonly: true });
    const root = e.store.db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = 'dentries_by_ino'").pluck().get() as number;
    const pageSize = e.store.db.pragma('page_size', { simple: true }) as number;
    e.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, (root - 1) * pageSize + 8);
    fs.closeSync(fd);
    const broken = await mikofs(['verify', '--store', file]);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/structure {4}damaged: \d+ findings of SQLite's integrity_check/);
    expect(broken.out).toMatch(/Tree \d+ \(index dentries_by_ino\) page/);
    expect(broken.err).toBe(`mikofs: verify: ${file}: its SQLite structure is damaged, 1 corrupt chunk\n`);

    const none = await mikofs(['verify', '--store', path.join(path.dirname(file), 'nope.mikofs')]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^mikofs: .*nope\.mikofs: no such store file or mount\n$/);
  });

  it('an index that no longer matches its table (a flipped bit in a chunk-map row) is found (found 2026-12-05: quick_check said ok)', async () => {
    const file = path.join(tmpDir(), 'v.mikofs');
    const e = await openStore(file);
    e.writeFile('/big.bin', bytes(3 * CHUNK, 4));
    e.close();
    // The same damage as a flipped idx byte: the index's entries keyed by
    // something the rows do not hold (an index redefined under its content).
    // (better-sqlite3 runs SQLite in defensive mode: the sqlite3 shell can.)
    execFileSync('sqlite3', [file, "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE INDEX extents_by_hash ON extents (since)' WHERE name = 'extents_by_hash';"]);
    const r = await mikofs(['verify', '--store', file]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/structure {4}damaged: \d+ findings of SQLite's integrity_check/);
    expect(r.out).toMatch(/extents_by_hash/);
  });

  it('a damaged page in the middle of a chunk\'s overflow chain: a report naming the file, not an abort', async () => {
    // Found by the CLI hunt (2026-12-05): the read of the damaged chunk
    // failed as it should, then ending its batch's read transaction failed
    // the same way ("malformed") and took the whole verify down with it.
    const file = path.join(tmpDir(), 'overflow.mikofs');
    const e = await openStore(file);
    for (let i = 0; i < 40; i++) e.writeFile(`/f${String(i).padStart(2, '0')}.bin`, bytes(400000, 100 + i));
    const pageSize = e.store.db.pragma('page_size', { simple: true }) as number;
    e.close();
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('deadbeefdeadbeef', 'hex'), 0, 8, Math.floor(size / 2 / pageSize) * pageSize);
    fs.closeSync(fd);
    const j = await mikofs(['verify', '--store', file, '--json']);
    expect(j.err).toMatch(/^mikofs: verify: .*\n$/);
    expect(j.code).toBe(1);
    const r = JSON.parse(j.out);
    expect(r.ok).toBe(false);
    expect(r.structure.length).toBeGreaterThan(0);
    expect(r.chunks.checked).toBe(40);
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.problems[0].versions[0].path).toMatch(/^\/f\d\d\.bin$/);
  });
});
