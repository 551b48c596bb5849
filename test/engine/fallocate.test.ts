// Engine.fallocate: the modes Linux passes through FUSE (allocate, keep
// size, punch hole, zero range), errno for the rest, and zeros stored once.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { memStore, bytes, tmpDir } from '../helpers.js';
import { openStore } from '../../src/index.js';

const KEEP_SIZE = 1, PUNCH_HOLE = 2, COLLAPSE_RANGE = 8, ZERO_RANGE = 16;
const code = (fn: () => void): string | undefined => { try { fn(); } catch (e) { return (e as { code?: string }).code; } return undefined; };

describe('st_blocks', () => {
  it('counts the chunks a file holds, not its size: a sparse file is small to du, and each version as it was', async () => {
    const e = await memStore();
    const cs = e.chunkSize;
    e.writeFile('/small', 'x'.repeat(3000));
    expect(e.stat('/small').blocks).toBe(6);
    e.writeFile('/dense', bytes(3 * cs + 10, 1));
    expect(e.stat('/dense').blocks).toBe(Math.ceil((3 * cs + 10) / 512));
    e.truncate(e.stat('/dense').ino, 0);
    expect(e.stat('/dense').blocks).toBe(0);
    const fh = e.create('/sparse', 0o644);
    e.ftruncate(fh, 1000 * cs);
    e.release(fh);
    const hollow = e.headCommit;
    expect(e.stat('/sparse').size).toBe(1000 * cs);
    expect(e.stat('/sparse').blocks).toBe(0);
    const w = e.open('/sparse', 'r+');
    e.write(w, bytes(100, 2), 500 * cs + 7);
    expect(e.fstat(w).size).toBe(1000 * cs);
    e.release(w);
    expect(e.stat('/sparse').blocks).toBe(cs / 512);
    expect(e.fstat(e.open('/sparse', 'r')).blocks).toBe(cs / 512);
    expect(e.at(hollow).stat('/sparse').blocks).toBe(0);
  });
});

describe('fallocate', () => {
  it('allocating grows the file with zeros unless KEEP_SIZE; punching and zeroing leave zeros', async () => {
    const e = await memStore();
    const cs = e.chunkSize;
    const data = bytes(2 * cs + 1000, 9);
    e.writeFile('/f', data);
    const fh = e.open('/f', 'r+');
    e.fallocate(fh, KEEP_SIZE, 0, 10 * cs);
    expect(e.fstat(fh).size).toBe(data.length);
    e.fallocate(fh, 0, 0, 100); // inside the file: nothing to grow
    expect(e.fstat(fh).size).toBe(data.length);
    e.fallocate(fh, 0, 3 * cs, cs);
    expect(e.fstat(fh).size).toBe(4 * cs);
    // A hole across the first chunk boundary, and zeros past the end.
    e.fallocate(fh, PUNCH_HOLE | KEEP_SIZE, cs - 10, 20);
    e.fallocate(fh, ZERO_RANGE, 4 * cs - 5, 10);
    e.release(fh);
    const want = Buffer.alloc(4 * cs + 5);
    data.copy(want);
    want.fill(0, cs - 10, cs + 10);
    expect(e.readFile('/f').equals(want)).toBe(true);
    e.close();
  });

  it('says EOPNOTSUPP for other modes, EINVAL for an empty or negative range, EBADF on a reader', async () => {
    const e = await memStore();
    e.writeFile('/f', 'abc');
    const w = e.open('/f', 'r+');
    expect(code(() => e.fallocate(w, COLLAPSE_RANGE, 0, 4096))).toBe('ENOTSUP');
    expect(code(() => e.fallocate(w, PUNCH_HOLE, 0, 1))).toBe('ENOTSUP'); // punch needs KEEP_SIZE
    expect(code(() => e.fallocate(w, 0, 0, 0))).toBe('EINVAL');
    expect(code(() => e.fallocate(w, 0, -1, 10))).toBe('EINVAL');
    e.release(w);
    const r = e.open('/f', 'r');
    expect(code(() => e.fallocate(r, 0, 0, 10))).toBe('EBADF');
    e.release(r);
    expect(e.readFile('/f').toString()).toBe('abc');
    e.close();
  });

  it('zeros punched into a large file are one chunk in the store', async () => {
    const e = await openStore(path.join(tmpDir(), 'z.mikofs'));
    const cs = e.chunkSize;
    e.writeFile('/big', bytes(8 * cs, 4));
    const before = e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
    const fh = e.open('/big', 'r+');
    e.fallocate(fh, PUNCH_HOLE | KEEP_SIZE, 0, 8 * cs);
    e.release(fh);
    e.flush();
    expect(e.readFile('/big').equals(Buffer.alloc(8 * cs))).toBe(true);
    const after = e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
    expect(after - before).toBeLessThanOrEqual(1);
    e.close();
  });
});
