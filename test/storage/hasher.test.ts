// The hash worker and its single-CPU stand-in (hashing on the calling
// thread) give the same addresses, in submission order, with the bytes back.
import { describe, it, expect } from 'vitest';
import { ParallelHasher } from '../../src/store/hasher.js';
import { blake3, initHash } from '../../src/store/hash.js';
import { bytes } from '../helpers.js';

describe('ParallelHasher', () => {
  it('with and without a worker: every chunk hashed, in order, its bytes handed back intact', async () => {
    await initHash();
    const chunks = Array.from({ length: 12 }, (_, i) => bytes(64 * 1024 + i, i + 1));
    const expected = chunks.map((c) => blake3(c).toString('hex'));
    for (const useWorker of [true, false]) {
      const got: { i: number; hash: string; ok: boolean }[] = [];
      const h = new ParallelHasher<number>((hash, data, i) => got.push({ i, hash: hash.toString('hex'), ok: data.equals(chunks[i]) }), 4, useWorker);
      await h.ready();
      for (let i = 0; i < chunks.length; i++) h.submit(Buffer.from(chunks[i]), i);
      if (!useWorker) expect(got).toHaveLength(chunks.length); // at once, on this thread
      h.drain();
      expect(got.map((g) => g.i)).toEqual(chunks.map((_, i) => i));
      expect(got.map((g) => g.hash)).toEqual(expected);
      expect(got.every((g) => g.ok)).toBe(true);
      h.close();
    }
  });

  it('waiting for one result delivers it and those before it; with nothing in flight, waiting returns', async () => {
    await initHash();
    const chunks = Array.from({ length: 6 }, (_, i) => bytes(256 * 1024, i + 10));
    for (const useWorker of [true, false]) {
      const got: number[] = [];
      const h = new ParallelHasher<number>((_hash, _data, i) => got.push(i), 8, useWorker);
      await h.ready();
      for (let i = 0; i < chunks.length; i++) h.submit(Buffer.from(chunks[i]), i);
      h.waitUntil(() => got.includes(2));
      expect(got.slice(0, 3)).toEqual([0, 1, 2]);
      h.waitUntil(() => false); // nothing it could wait for is left
      expect(h.pending).toBe(0);
      expect(got).toEqual([0, 1, 2, 3, 4, 5]);
      h.close();
    }
  });
});
