// fallocate(2) through the mount, driven by util-linux fallocate(1) and by
// Python's os.posix_fallocate (what linkers and download tools call): a
// file grows to the asked size in one request (not glibc's emulation, one
// write per 4 KiB block), punching and zeroing a range leave zeros and
// nothing else changed, modes FUSE does not pass (collapse, insert) are
// EOPNOTSUPP, and a range the disk could not hold is ENOSPC.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mountFresh, run, useMounts } from './helpers/mount.js';

useMounts();

const MiB = 1 << 20;

describe('fallocate', () => {
  it('allocates, keeps size, punches and zeroes ranges; refuses what it cannot do', async () => {
    const m = await mountFresh();
    // Allocating grows the file to the size asked, all zeros.
    expect((await run('fallocate', ['-l', '10M', m.path('a')])).code).toBe(0);
    expect(fs.statSync(m.path('a')).size).toBe(10 * MiB);
    expect(fs.readFileSync(m.path('a')).equals(Buffer.alloc(10 * MiB))).toBe(true);

    // --keep-size leaves the size (and the content) as it was.
    fs.writeFileSync(m.path('b'), 'hello\n');
    expect((await run('fallocate', ['--keep-size', '-o', '0', '-l', '1M', m.path('b')])).code).toBe(0);
    expect(fs.readFileSync(m.path('b'), 'utf8')).toBe('hello\n');

    // Punching a hole zeroes the range and keeps the size; zeroing a range
    // past the end grows the file.
    const text = Buffer.from('abcdefghijklmnopqrst');
    fs.writeFileSync(m.path('c'), text);
    expect((await run('fallocate', ['--punch-hole', '-o', '5', '-l', '5', m.path('c')])).code).toBe(0);
    const punched = Buffer.from(text);
    punched.fill(0, 5, 10);
    expect(fs.readFileSync(m.path('c')).equals(punched)).toBe(true);
    expect((await run('fallocate', ['--zero-range', '-o', '18', '-l', '10', m.path('c')])).code).toBe(0);
    const zeroed = Buffer.concat([punched.subarray(0, 18), Buffer.alloc(10)]);
    expect(fs.readFileSync(m.path('c')).equals(zeroed)).toBe(true);

    // A hole across chunk boundaries of a large file.
    const big = Buffer.alloc(3 * MiB);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    fs.writeFileSync(m.path('big'), big);
    expect((await run('fallocate', ['--punch-hole', '-o', String(MiB - 100), '-l', String(MiB + 200), m.path('big')])).code).toBe(0);
    big.fill(0, MiB - 100, 2 * MiB + 100);
    expect(fs.readFileSync(m.path('big')).equals(big)).toBe(true);

    // Collapsing and inserting ranges are not passed on by FUSE.
    const collapse = await run('fallocate', ['--collapse-range', '-o', '0', '-l', '4096', m.path('a')]);
    expect(collapse.code).not.toBe(0);
    expect(collapse.stderr).toMatch(/Operation not supported/);

    // posix_fallocate: one FALLOCATE request, not a write per block.
    const py = await run('python3', ['-c', `
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY)
os.posix_fallocate(fd, 0, 3 << 20)
os.close(fd)
try:
    fd = os.open(sys.argv[2], os.O_CREAT | os.O_WRONLY)
    os.posix_fallocate(fd, 0, 1 << 50)
    print('allocated a petabyte')
except OSError as e:
    print(os.strerror(e.errno))
`, m.path('d'), m.path('huge')]);
    expect(py.stdout.trim()).toBe('No space left on device');
    expect(fs.statSync(m.path('d')).size).toBe(3 * MiB);
    expect(fs.statSync(m.path('huge')).size).toBe(0);

    const stats = await m.opStats();
    expect(stats['req.FALLOCATE'].n).toBeGreaterThanOrEqual(7);
    // posix_fallocate did not fall back to writing a byte per block (768 for 3 MiB).
    expect(stats['req.WRITE'].n).toBeLessThan(30);

    // It all lasts: the same after a remount.
    await m.remount();
    expect(fs.statSync(m.path('a')).size).toBe(10 * MiB);
    expect(fs.readFileSync(m.path('c')).equals(zeroed)).toBe(true);
    expect(fs.readFileSync(m.path('big')).equals(big)).toBe(true);
    expect(fs.statSync(m.path('d')).size).toBe(3 * MiB);
  });
});
