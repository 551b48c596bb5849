// The SIMD BLAKE3 (src/store/blake3-simd.ts) against hash-wasm's portable
// build, over every length that changes its path: one chunk or more, full
// and partial last blocks and chunks, groups of four chunks or fewer, one
// segment of 64 chunks or several, odd and even node counts at every level.
import { describe, it, expect } from 'vitest';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createBLAKE3 } from 'hash-wasm';
import { Blake3Simd } from '../../src/store/blake3-simd.js';
import { blake3, initHash } from '../../src/store/hash.js';

const KiB = 1024;

describe('BLAKE3 with WebAssembly SIMD', () => {
  it('gives the published digest of the empty input', () => {
    expect(new Blake3Simd().hash(Buffer.alloc(0)).toString('hex'))
      .toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  it('agrees with hash-wasm on every length that changes the path through the tree', async () => {
    const ref = await createBLAKE3();
    const simd = new Blake3Simd();
    const lengths = new Set<number>();
    for (const base of [0, 64, KiB, 2 * KiB, 3 * KiB, 4 * KiB, 5 * KiB, 8 * KiB, 63 * KiB, 64 * KiB, 65 * KiB,
      128 * KiB, 129 * KiB, 192 * KiB, 512 * KiB, 1024 * KiB, 3 * 64 * KiB + 5 * KiB]) {
      for (const d of [-65, -64, -63, -1, 0, 1, 63, 64, 65]) if (base + d >= 0) lengths.add(base + d);
    }
    for (let i = 0; i < 200; i++) lengths.add(crypto.randomInt(0, 300 * KiB));
    const data = crypto.randomBytes(1024 * KiB + 65);
    for (const n of [...lengths].sort((a, b) => a - b)) {
      const part = data.subarray(0, n);
      ref.init();
      ref.update(part);
      expect(simd.hash(part).toString('hex'), `length ${n}`).toBe(ref.digest('hex'));
    }
  });

  it('grows its memory for an input of thousands of segments', async () => {
    const ref = await createBLAKE3();
    const simd = new Blake3Simd();
    const big = Buffer.alloc(125 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = i >> 12 & 255;
    ref.init();
    ref.update(big);
    expect(simd.hash(big).toString('hex')).toBe(ref.digest('hex'));
    const small = big.subarray(0, 5000);
    ref.init();
    ref.update(small);
    expect(simd.hash(small).toString('hex')).toBe(ref.digest('hex'));
  });

  it('does not depend on what an earlier, longer input left in its memory', async () => {
    const simd = new Blake3Simd();
    const ref = await createBLAKE3();
    simd.hash(crypto.randomBytes(300 * KiB));
    for (const n of [1, 100, 1000, 1500, 5000, 70000]) {
      const part = Buffer.alloc(n, 7);
      ref.init();
      ref.update(part);
      expect(simd.hash(part).toString('hex')).toBe(ref.digest('hex'));
    }
  });

  it('is what the store hashes with', async () => {
    await initHash();
    const x = crypto.randomBytes(700 * KiB);
    const ref = await createBLAKE3();
    ref.init();
    ref.update(x);
    expect(blake3(x).toString('hex')).toBe(ref.digest('hex'));
  });

  it('the built store hashes with it on both threads (the hash worker imports the built module)', () => {
    // Under the test runner the worker cannot import the TypeScript sources
    // and uses hash-wasm; the built code (dist/, made before the tests) is
    // what a mount runs.
    const dist = path.resolve('dist/store');
    const script = `
      const { ParallelHasher } = await import(${JSON.stringify(path.join(dist, 'hasher.js'))});
      const { initHash, hashImplementation } = await import(${JSON.stringify(path.join(dist, 'hash.js'))});
      await initHash();
      const h = new ParallelHasher(() => {}, 8, true);
      await h.ready();
      console.log(hashImplementation(), h.workerImplementation);
      h.close();`;
    const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env } }).toString().trim();
    expect(run({})).toBe('simd simd');
    expect(run({ MIKOFS_HASH: 'portable' })).toBe('portable portable');
  });
});
