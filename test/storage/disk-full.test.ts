// A full disk: the store refuses data it could not keep (ENOSPC on write)
// before SQLite fails, and near the limit commits each change before it is
// answered, so that a commit failing anyway fails that change and no
// acknowledged one. SQLite's max_page_count stands in for the disk here
// (SQLite answers SQLITE_FULL at it, as at a full disk); the native test
// disk-full.test.ts does the same on a real, small tmpfs.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { openStore, type Engine } from '../../src/index.js';
import { SpaceGuard, type DiskSpace } from '../../src/store/space-guard.js';
import { bytes, tmpDir } from '../helpers.js';

const MiB = 1 << 20;

describe('SpaceGuard', () => {
  it('counts accepted bytes twice until statfs shows them taken, and refuses below the reserve', () => {
    const disk: DiskSpace = { avail: 100 * MiB, total: 1000 * MiB };
    let now = 0;
    const g = new SpaceGuard('/x', { reserve: 10 * MiB, probe: () => ({ ...disk }), refreshMs: 1000, clock: () => now });
    {
      // 100 MiB free, 10 reserved: 45 MiB (owed twice) fit, the next MiB not.
      for (let i = 0; i < 45; i++) expect(g.admitData(MiB)).toBe(true);
      expect(g.admitData(MiB)).toBe(false);
      expect(g.tight()).toBe(true);
      // Rows may still use half of the reserve, maintenance a quarter.
      expect(g.admitRows()).toBe(true);
      // The data reached the WAL (once): that much of the debt is paid,
      // the database copy is still owed.
      disk.avail -= 45 * MiB;
      expect(g.admitData(MiB)).toBe(false);
      // The checkpointer copied it: all paid; 10 MiB left, all reserved.
      disk.avail -= 45 * MiB;
      expect(g.admitData(1)).toBe(false);
      expect(g.available()).toBe(0);
      // Space freed elsewhere is seen at once (a refusal asks statfs again).
      disk.avail += 50 * MiB;
      expect(g.admitData(MiB)).toBe(true);
      expect(g.available()).toBe(48 * MiB);
      // A debt statfs never shows (deduplicated or compressed data, a WAL
      // reusing its file) fades: halved every two seconds.
      now += 20000;
      expect(g.available()).toBeGreaterThan(49.9 * MiB);
    }
  });

  it('a reclaim that empties the WAL settles the debt: only what writers still hold stays owed', () => {
    const disk: DiskSpace = { avail: 100 * MiB, total: 1000 * MiB };
    let now = 0;
    let emptied = false;
    let held = 0;
    let reclaims = 0;
    const g = new SpaceGuard('/x', {
      reserve: 10 * MiB, probe: () => ({ ...disk }), refreshMs: 0, clock: () => now,
      reclaim: () => { reclaims++; return emptied; }, unwritten: () => held,
    });
    for (let i = 0; i < 45; i++) expect(g.admitData(MiB)).toBe(true);
    // The WAL took the data once and the checkpointer copied it, but statfs
    // showed only 30 MiB of it taken (the WAL reused its file): 60 owed.
    disk.avail -= 30 * MiB;
    // A reclaim that could not empty the WAL settles nothing.
    expect(g.admitData(MiB)).toBe(false);
    expect(reclaims).toBe(1);
    // A second later (the debt has faded to 42 MiB), 20 MiB more do not fit
    // on that debt; a reclaim that empties the WAL leaves owed only what
    // writers hold (4 MiB, twice), and they do.
    emptied = true;
    held = 4 * MiB;
    now += 1000;
    expect(g.admitData(20 * MiB)).toBe(true);
    expect(reclaims).toBe(2);
    expect(g.available()).toBe(70 * MiB - 8 * MiB - 40 * MiB - 10 * MiB);
    // Reclaims are at most once a second.
    expect(g.admitData(10 * MiB)).toBe(false);
    expect(reclaims).toBe(2);
  });

  it('refuses nothing on a file system that reports no size (tmpfs without a limit answers zeros)', () => {
    const g = new SpaceGuard('/x', { probe: () => ({ avail: 0, total: 0 }) });
    expect(g.admitData(1 << 30)).toBe(true);
    expect(g.admitRows()).toBe(true);
    expect(g.tight()).toBe(false);
  });

  it('never refuses a store in memory', () => {
    const g = new SpaceGuard(null, { probe: () => ({ avail: 0, total: 0 }) });
    expect(g.admitData(1 << 30)).toBe(true);
    expect(g.admitRows()).toBe(true);
    expect(g.tight()).toBe(false);
  });
});

/** A store whose "disk" is SQLite's max_page_count: the probe reports the
 * pages left, minus `hidden` (space another program took unseen). */
async function boundedStore(maxPages: number, reserve: number) {
  const file = path.join(tmpDir(), 'full.mikofs');
  const box = { e: null as Engine | null, hidden: 0 };
  const probe = (): DiskSpace => {
    const db = box.e!.store.db;
    const size = db.pragma('page_size', { simple: true }) as number;
    const used = db.pragma('page_count', { simple: true }) as number;
    return { avail: Math.max(0, (maxPages - used) * size - box.hidden), total: maxPages * size };
  };
  const e = await openStore(file, { space: { reserve, probe, refreshMs: 0 } });
  box.e = e;
  e.store.db.pragma(`max_page_count = ${maxPages}`);
  return { e, box, file };
}

describe('committing at once near the limit', () => {
  it('commits when the outermost change ends, never under a change still running', async () => {
    const file = path.join(tmpDir(), 'tight.mikofs');
    const e = await openStore(file, { space: { reserve: 1 << 30, probe: () => ({ avail: 2 << 30, total: 1 << 40 }) } });
    expect(e.store.space.tight()).toBe(true);
    const st = e.store;
    st.atomic(() => {
      st.atomic(() => st.meta.setMeta('inner', 1));
      expect(st.db.inTransaction).toBe(true); // the inner change did not commit the outer one's savepoint
      st.meta.setMeta('outer', 2);
    });
    expect(st.db.inTransaction).toBe(false); // committed when the outermost ended
    expect(st.meta.getMeta('inner')).toBe(1);
    expect(st.meta.getMeta('outer')).toBe(2);
    e.close();
  });
});

describe('deleting on a full disk', () => {
  it('refuses new names and data below the reserve, never unlink or rmdir', async () => {
    const box = { avail: 1 << 30 };
    const file = path.join(tmpDir(), 'del.mikofs');
    const e = await openStore(file, { space: { reserve: 8 * MiB, refreshMs: 0, probe: () => ({ avail: box.avail, total: 1 << 40 }) } });
    e.writeFile('/a', 'some bytes');
    e.mkdir('/d');
    box.avail = MiB; // under half the reserve
    expect(() => e.mkdir('/new')).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(() => e.writeFile('/b', 'x')).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    e.unlink('/a');
    e.rmdir('/d');
    expect(e.readdir('/').map((d) => d.name).filter((n) => n === 'a' || n === 'd')).toEqual([]);
    e.close();
  });
});

describe('a store on a full disk', () => {
  it('answers ENOSPC to the write that does not fit; every acknowledged file stays, no group is lost', async () => {
    // 16 KiB pages: 1600 pages = 25 MiB of "disk", 4 MiB reserved.
    const { e, file } = await boundedStore(1600, 4 * MiB);
    const lost: unknown[] = [];
    e.store.onGroupLost((err) => lost.push(err));
    const saved: number[] = [];
    let refused: unknown = null;
    for (let i = 0; i < 40 && !refused; i++) {
      const fh = e.create(`/f${i}`, 0o644);
      try {
        for (let off = 0; off < MiB; off += 128 * 1024) e.write(fh, bytes(128 * 1024, i * 100 + off / 131072), off);
      } catch (err) {
        refused = err;
      }
      e.release(fh); // what was written before a refusal is kept, as on any file system
      if (!refused) saved.push(i);
    }
    // The write was refused, before SQLite ran out of room.
    expect(refused).toMatchObject({ code: 'ENOSPC' });
    // Deleting, the way to make room, is not refused.
    const last = saved.pop()!;
    e.unlink(`/f${last}`);
    expect(e.exists(`/f${last}`)).toBe(false);
    expect(saved.length).toBeGreaterThan(3);
    expect(lost).toEqual([]);
    e.flush();
    e.close();
    const again = await openStore(file);
    for (const i of saved) {
      const want = Buffer.concat(Array.from({ length: 8 }, (_, k) => bytes(128 * 1024, i * 100 + k)));
      expect(again.readFile(`/f${i}`).equals(want)).toBe(true);
    }
    expect(again.store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    again.close();
  });

  it('near the limit commits each change at once: a commit the disk refuses fails its own change (ENOSPC), not earlier ones', async () => {
    const { e, box, file } = await boundedStore(1600, 2 * MiB);
    const lost: unknown[] = [];
    e.store.onGroupLost((err) => lost.push(err));
    // Fill to within four reserves: every change now commits before it returns.
    let n = 0;
    while (!e.store.space.tight()) e.writeFile(`/fill${n++}`, bytes(MiB, n));
    e.writeFile('/acknowledged', 'kept');
    expect(e.store.db.inTransaction).toBe(false); // committed, not grouped
    // Another program takes the space unseen: the guard admits a write the
    // disk cannot hold, and the commit at close fails.
    box.hidden = 0;
    const avail = (1600 - (e.store.db.pragma('page_count', { simple: true }) as number)) * 16384;
    e.store.db.pragma(`max_page_count = ${(e.store.db.pragma('page_count', { simple: true }) as number) + 8}`);
    expect(avail).toBeGreaterThan(3 * MiB);
    const fh = e.create('/too-big', 0o644);
    expect(() => {
      e.write(fh, bytes(512 * 1024, 9999), 0);
      e.release(fh);
    }).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    expect(lost.length).toBeGreaterThan(0);
    // Everything acknowledged before is there, in the store and on reopen.
    expect(e.readFile('/acknowledged').toString()).toBe('kept');
    e.store.db.pragma('max_page_count = 100000');
    e.writeFile('/after', 'the store goes on');
    e.flush();
    e.close();
    const again = await openStore(file);
    expect(again.readFile('/acknowledged').toString()).toBe('kept');
    expect(again.readFile('/after').toString()).toBe('the store goes on');
    for (let i = 0; i < n; i++) expect(again.readFile(`/fill${i}`).equals(bytes(MiB, i + 1))).toBe(true);
    expect(again.store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    again.close();
  });
});

describe('giving the WAL back before a refusal', () => {
  it('waits for a checkpoint another connection is running, instead of giving up at once (found by CI, 2026-12-05)', async () => {
    const file = path.join(tmpDir(), 'wal.mikofs');
    const e = await openStore(file);
    for (let i = 0; i < 8; i++) e.writeFile(`/f${i}`, bytes(2 * MiB, i + 1));
    e.store.flush();
    expect(fs.statSync(file + '-wal').size).toBeGreaterThan(8 * MiB);
    // Another process holds SQLite's checkpoint lock (byte 121 of the -shm
    // file: WAL_CKPT_LOCK, sqlite.org/walformat.html) for 300 ms, as the
    // background checkpointer does while it copies.
    const holder = spawn('python3', ['-c', `
import fcntl, sys, time
f = open(sys.argv[1], 'r+b')
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 121, 0)
print('locked', flush=True)
time.sleep(0.3)
`, file + '-shm'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
    });
    const reclaimWal = (e.store as unknown as { reclaimWal(): boolean }).reclaimWal.bind(e.store);
    expect(reclaimWal()).toBe(true);
    expect(fs.statSync(file + '-wal').size).toBeLessThanOrEqual(2 * MiB);
    await new Promise((r) => holder.once('exit', r));
    for (let i = 0; i < 8; i++) expect(e.readFile(`/f${i}`).equals(bytes(2 * MiB, i + 1))).toBe(true);
    e.close();
  });
});
