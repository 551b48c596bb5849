import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { bytes, tmpDir } from '../helpers.js';
import { openStore } from '../../src/index.js';
import { clockStore, text, save, chunkRows, MIN } from './helpers.js';
import { setCorruptionLogger } from '../../src/store/chunk-store.js';
import { DELTA, CODEC_MASK, sharedFraction, deltaWorthTrying } from '../../src/store/codec.js';
import { CHECKPOINT_EVERY, deltaRadix, skipBase } from '../../src/engine/maintenance.js';

const code = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code: string }).code; } return 'OK'; };

describe('deltas, compression and verified reads', () => {
  it('every version reads back exactly after many edits, line insertions included, stored as small deltas', async () => {
    const { e, clock } = await clockStore();
    let cur = text(1536 * 1024, 3); // three chunks
    save(e, '/f.txt', cur);
    const versions = [{ c: e.headCommit, data: cur }];
    for (let i = 1; i <= 60; i++) {
      clock.t += MIN;
      const pos = (i * 7919 * 13) % (cur.length - 1000);
      if (i % 3 === 0) {
        const at = cur.indexOf(10, pos) + 1;
        cur = Buffer.concat([cur.subarray(0, at), Buffer.from(`inserted line number ${i}\n`), cur.subarray(at)]);
      } else {
        cur = Buffer.from(cur);
        cur.write(`edit-${i}-`.repeat(30), pos);
      }
      save(e, '/f.txt', cur);
      versions.push({ c: e.headCommit, data: cur });
    }
    // The commit path stores raw chunks and only queues them.
    expect(chunkRows(e).every((r) => r.encoding === 0 && r.seq === null)).toBe(true);
    const raw = chunkRows(e).reduce((n, r) => n + r.stored, 0);
    const rep = e.maintenance.runAll();
    expect(rep.encoded.delta).toBeGreaterThan(60);
    const after = chunkRows(e);
    const stored = after.reduce((n, r) => n + r.stored, 0);
    const firstVersion = after.filter((r) => r.seq === 0).reduce((n, r) => n + r.stored, 0);
    expect(stored - firstVersion).toBeLessThan(100 * 1024); // 60 versions of 1.5 MiB: deltas only
    expect(stored).toBeLessThan(raw / 20);
    e.store.chunks.clearCache();
    for (const v of versions) expect(e.at(v.c).readFile('/f.txt').equals(v.data)).toBe(true);
    expect(e.readFile('/f.txt').equals(cur)).toBe(true);
    e.close();
  });

  it('skip-deltas bound the decodes of any version by the digit sum of its lineage position', async () => {
    const { e, clock } = await clockStore();
    let cur = text(200 * 1024, 5);
    save(e, '/g.txt', cur);
    for (let i = 1; i <= 100; i++) {
      clock.t += MIN;
      cur = Buffer.from(cur);
      cur.write(`change ${i} `.repeat(10), (i * 104729) % (cur.length - 200));
      save(e, '/g.txt', cur);
    }
    e.maintenance.runAll();
    const rows = chunkRows(e);
    const byHash = new Map(rows.map((r) => [r.hash.toString('hex'), r]));
    const depth = (r: typeof rows[0]): number => (r.base ? 1 + depth(byHash.get(r.base.toString('hex'))!) : 0);
    const radix = deltaRadix(200 * 1024);
    expect(radix).toBeGreaterThan(2);
    const digitSum = (k: number) => { let s = 0; for (; k; k = Math.floor(k / radix)) s += k % radix; return s; };
    let max = 0;
    for (const r of rows) {
      expect(r.seq).not.toBeNull();
      const d = depth(r);
      expect(d).toBeLessThanOrEqual(digitSum(r.seq!));
      if (r.base) expect(byHash.get(r.base.toString('hex'))!.seq).toBe(skipBase(r.seq!, radix));
      max = Math.max(max, d);
    }
    expect(max).toBeGreaterThan(radix / 2);
    expect(max).toBeLessThanOrEqual(radix - 1 + Math.floor(100 / radix));
    expect(Math.max(...rows.map((r) => r.seq!))).toBeLessThan(CHECKPOINT_EVERY);
    e.close();
  });

  it('the radix follows the chunk size: full-size chunks keep binary skip-deltas, small files chain to their predecessor', () => {
    expect(deltaRadix(512 * 1024)).toBe(2);
    expect(deltaRadix(257 * 1024)).toBe(2);
    expect(deltaRadix(4 * 1024)).toBeGreaterThanOrEqual(64); // mostly against the predecessor
    for (let size = 1024; size <= 512 * 1024; size *= 2) expect(deltaRadix(size)).toBeGreaterThanOrEqual(deltaRadix(size * 2));
    expect(skipBase(12, 2)).toBe(8);
    expect(skipBase(7, 2)).toBe(6);
    expect(skipBase(32, 16)).toBe(16);
    expect(skipBase(33, 16)).toBe(32);
    expect(skipBase(200, CHECKPOINT_EVERY)).toBe(199);
  });

  it('compression is used only where it pays; a delta that does not pay is not kept', async () => {
    const { e, clock } = await clockStore();
    save(e, '/random.bin', bytes(700 * 1024, 9));
    save(e, '/text.txt', text(200 * 1024, 4));
    e.maintenance.runAll();
    const rows = chunkRows(e);
    const rnd = rows.filter((r) => r.size === 700 * 1024 - 512 * 1024 || r.size === 512 * 1024);
    expect(rnd.length).toBe(2);
    for (const r of rnd) { expect(r.encoding).toBe(0); expect(r.stored).toBe(r.size); }
    const txt = rows.find((r) => r.size === 200 * 1024)!;
    expect(txt.encoding & CODEC_MASK).toBeGreaterThan(0);
    expect(txt.stored).toBeLessThan(txt.size / 2);
    // Unrelated random content replacing a file: no delta, a new full lineage.
    clock.t += MIN;
    save(e, '/random.bin', bytes(700 * 1024, 10));
    const r2 = e.maintenance.runAll();
    expect(r2.encoded.delta).toBe(0);
    expect(chunkRows(e).every((r) => (r.encoding & DELTA) === 0 && r.seq === 0)).toBe(true);
    expect(e.readFile('/random.bin').equals(bytes(700 * 1024, 10))).toBe(true);
    e.close();
  });

  it('unrelated large chunks are told apart before xdelta3 is tried; related ones, shifted or edited, are not', () => {
    const a = bytes(512 * 1024, 21), b = bytes(512 * 1024, 22);
    expect(sharedFraction(a, b)).toBeLessThan(0.05);
    expect(deltaWorthTrying(a, b)).toBe(false);
    // The same bytes moved by an insertion near the start, and edited in the middle.
    const moved = Buffer.concat([Buffer.from('a new first line\n'), a.subarray(0, 300000), Buffer.from('x'.repeat(500)), a.subarray(300500)]);
    expect(sharedFraction(moved, a)).toBeGreaterThan(0.9);
    expect(deltaWorthTrying(moved, a)).toBe(true);
    // Half the content new: still tried (the delta then decides).
    const half = Buffer.concat([a.subarray(0, 256 * 1024), b.subarray(0, 256 * 1024)]);
    const f = sharedFraction(half, a)!;
    expect(f).toBeGreaterThan(0.35);
    expect(f).toBeLessThan(0.65);
    expect(deltaWorthTrying(half, a)).toBe(true);
    // Too few anchors to judge (uniform data), and small chunks: tried.
    expect(sharedFraction(Buffer.alloc(512 * 1024), a)).toBeNull();
    expect(deltaWorthTrying(Buffer.alloc(512 * 1024), a)).toBe(true);
    expect(deltaWorthTrying(bytes(32 * 1024, 1), bytes(32 * 1024, 2))).toBe(true);
  });

  it('a chunk whose bytes do not match its address reads as EIO, logged once, never returned', async () => {
    const { e, clock } = await clockStore();
    const logged: string[] = [];
    setCorruptionLogger((m) => logged.push(m));
    try {
      save(e, '/raw.bin', bytes(600 * 1024, 1));
      let t = text(100 * 1024, 8);
      save(e, '/t.txt', t);
      const v1 = e.headCommit;
      clock.t += MIN;
      t = Buffer.from(t); t.write('CHANGED', 5000);
      save(e, '/t.txt', t);
      e.maintenance.runAll();
      const rows = chunkRows(e);
      const db = e.store.db;
      // 1. a raw chunk: one byte flipped
      const raw = rows.find((r) => r.encoding === 0)!;
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(Buffer.concat([Buffer.from([1]), bytes(raw.stored - 1, 77)]), raw.hash);
      e.store.chunks.clearCache();
      expect(code(() => e.readFile('/raw.bin'))).toBe('EIO');
      try { e.readFile('/raw.bin'); } catch (err) { expect((err as { errno: number }).errno).toBe(5); }
      expect(logged.length).toBe(1);
      expect(logged[0]).toMatch(/EIO: chunk [0-9a-f]{64} does not match its address/);
      // 2. the base of a delta: garbage instead of a compressed stream; the
      // delta on top of it fails too
      const delta = rows.find((r) => r.encoding & DELTA)!;
      expect(e.at(v1).readFile('/t.txt').length).toBe(100 * 1024);
      db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(Buffer.from('not brotli at all'), delta.base);
      e.store.chunks.clearCache();
      expect(code(() => e.at(v1).readFile('/t.txt'))).toBe('EIO');
      expect(code(() => e.readFile('/t.txt'))).toBe('EIO');
      expect(logged.some((m) => /cannot be decoded/.test(m))).toBe(true);
      // 3. a missing chunk
      db.prepare('DELETE FROM chunks WHERE hash = ?').run(raw.hash);
      e.store.chunks.clearCache();
      expect(code(() => e.readFile('/raw.bin'))).toBe('EIO');
    } finally {
      setCorruptionLogger((m) => process.stderr.write(`mikofs: ${m}\n`));
      e.close();
    }
  });

  it('a file saved as a new file under its name (rename over it, or delete and re-create) still gets deltas', async () => {
    const { e, clock } = await clockStore();
    let cur = text(300 * 1024, 6);
    save(e, '/doc.txt', cur);
    const versions = [{ c: e.headCommit, data: cur }];
    for (let i = 1; i <= 6; i++) {
      clock.t += MIN;
      cur = Buffer.from(cur); cur.write(`save ${i} `.repeat(5), 3000 * i);
      if (i % 2) {
        save(e, '/.doc.txt.tmp', cur);            // atomic save: temp file, rename over
        e.rename('/.doc.txt.tmp', '/doc.txt');
      } else {
        e.rename('/doc.txt', '/doc.txt~');         // vim: original to backup, write anew
        save(e, '/doc.txt', cur);
        e.unlink('/doc.txt~');
      }
      versions.push({ c: e.headCommit, data: cur });
    }
    const rep = e.maintenance.runAll();
    expect(rep.encoded.delta).toBe(6);
    expect(chunkRows(e).reduce((n, r) => n + r.stored, 0)).toBeLessThan(150 * 1024);
    e.store.chunks.clearCache();
    for (const v of versions) expect(e.at(v.c).readFile('/doc.txt').equals(v.data)).toBe(true);
    e.close();
  });

  it('ended versions of small inline files move into chunks and get deltas too', async () => {
    const { e, clock } = await clockStore();
    const versions: { c: number; data: string }[] = [];
    let json = JSON.stringify({ name: 'pkg', version: '1.0.0', deps: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`dep${i}`, `^${i}.0.0`])) }, null, 2);
    for (let i = 0; i < 30; i++) {
      clock.t += MIN;
      json = json.replace(/"version": "[^"]+"/, `"version": "1.0.${i}"`);
      save(e, '/package.json', Buffer.from(json));
      versions.push({ c: e.headCommit, data: json });
    }
    expect(json.length).toBeLessThan(4096);
    e.chmod('/package.json', 0o600); // a version with the same bytes
    const rep = e.maintenance.runAll();
    expect(rep.inlineMoved).toBe(30);
    expect(rep.encoded.delta).toBeGreaterThan(20);
    const inlineBytes = e.store.db.prepare('SELECT sum(length(inline)) FROM inodes').pluck().get() as number;
    expect(inlineBytes).toBe(json.length); // only the live version stays inline
    for (const v of versions) expect(e.at(v.c).readFile('/package.json').toString()).toBe(v.data);
    // The history still lists one version per save.
    expect(e.history.fileVersions('/package.json').length).toBe(30);
    // A rollback to an old version (now stored as a chunk) works and stays readable.
    e.history.rollback(versions[3].c);
    expect(e.readFile('/package.json').toString()).toBe(versions[3].data);
    save(e, '/package.json', Buffer.from(json));
    expect(e.readFile('/package.json').toString()).toBe(json);
    e.close();
  });
});

describe('reading ahead', () => {
  it('a sequential reader gets the next chunks verified ahead; a corrupt one is still EIO, never served', async () => {
    const dir = tmpDir();
    const e = await openStore(path.join(dir, 's.mikofs'));
    const logged: string[] = [];
    setCorruptionLogger((m) => logged.push(m));
    try {
      e.store.chunks.verifyAheadWith(e.store.hasher);
      const cs = e.chunkSize;
      const data = bytes(5 * cs, 3);
      e.writeFile('/big', data);
      e.flush();
      const hashes = e.store.db.prepare('SELECT idx, hash FROM extents WHERE ino = ? AND until > since ORDER BY idx')
        .all(e.stat('/big').ino) as { idx: number; hash: Buffer }[];
      expect(hashes).toHaveLength(5);
      // chunk 3's stored bytes no longer match its address
      e.store.db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(bytes(cs, 99), hashes[3].hash);
      e.store.chunks.clearCache();
      const out = Buffer.alloc(cs);
      const fh = e.open('/big', 'r');
      for (const idx of [0, 1]) {
        expect(e.readInto(fh, out, cs, idx * cs)).toBe(cs);
        expect(out.equals(data.subarray(idx * cs, (idx + 1) * cs))).toBe(true);
      }
      // reading chunk 1 from its start had chunks 2 to 4 read and verified
      // ahead (several: loading one and verifying another overlap)
      e.store.hasher.drain();
      expect(e.store.chunks.cached(hashes[2].hash)).toBe(true);
      expect(e.store.chunks.cached(hashes[4].hash)).toBe(true);
      expect(e.readInto(fh, out, cs, 2 * cs)).toBe(cs);
      expect(out.equals(data.subarray(2 * cs, 3 * cs))).toBe(true);
      // chunk 3 was read ahead too, did not match, and was not cached
      e.store.hasher.drain();
      expect(e.store.chunks.cached(hashes[3].hash)).toBe(false);
      expect(code(() => e.readInto(fh, out, cs, 3 * cs))).toBe('EIO');
      expect(logged.some((m) => /does not match its address/.test(m))).toBe(true);
      e.release(fh);
    } finally {
      setCorruptionLogger((m) => process.stderr.write(`mikofs: ${m}\n`));
      e.close();
    }
  });
});
