// BLAKE3 content addresses. The SIMD hasher (blake3-simd.ts) is used when
// the runtime has WebAssembly SIMD and it reproduces hash-wasm's digests at
// start; otherwise hash-wasm's portable build. Either is created once,
// asynchronously (initHash); afterwards hashing is synchronous.
// MIKOFS_HASH=portable forces hash-wasm (to compare the two).
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { Blake3Simd } from './blake3-simd.js';

let hasher: IHasher | undefined;
let simd: Blake3Simd | null | undefined;

/** A SIMD hasher that agrees with `ref` on lengths around every boundary
 * of its tree (one block, one chunk, four chunks, one segment), or null. */
export function checkedSimd(ref: IHasher): Blake3Simd | null {
  if (process.env.MIKOFS_HASH === 'portable') return null;
  try {
    const h = new Blake3Simd();
    const data = Buffer.alloc(200 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 255;
    for (const n of [0, 1, 64, 65, 1024, 1025, 4096, 5000, 65536, 65537, 200 * 1024]) {
      ref.init();
      ref.update(data.subarray(0, n));
      if (!h.hash(data.subarray(0, n)).equals(Buffer.from(ref.digest('binary')))) return null;
    }
    return h;
  } catch {
    return null; // no WebAssembly SIMD here
  }
}

export async function initHash(): Promise<void> {
  if (!hasher) hasher = await createBLAKE3();
  if (simd === undefined) simd = checkedSimd(hasher);
}

/** 32-byte BLAKE3 digest of data. initHash() must have resolved. */
export function blake3(data: Uint8Array): Buffer {
  if (simd) return simd.hash(data);
  if (!hasher) throw new Error('initHash() has not completed');
  hasher.init();
  hasher.update(data);
  return Buffer.from(hasher.digest('binary'));
}

/** The checksum of a small file's inline bytes (schema 005): the first 6
 * bytes of their BLAKE3, big-endian, as an integer (exact in a JS number). */
export function inlineSum(data: Uint8Array): number {
  return blake3(data).readUIntBE(0, 6);
}

/** Which implementation blake3() uses ('simd' or 'portable'). */
export function hashImplementation(): string { return simd ? 'simd' : 'portable'; }

export function hexOf(hash: Uint8Array): string {
  return Buffer.from(hash).toString('hex');
}
