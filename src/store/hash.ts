// BLAKE3 content addresses (hash-wasm). The wasm hasher is created once,
// asynchronously; afterwards hashing is synchronous and allocation-free.
import { createBLAKE3, type IHasher } from 'hash-wasm';

let hasher: IHasher | undefined;

export async function initHash(): Promise<void> {
  if (!hasher) hasher = await createBLAKE3();
}

/** 32-byte BLAKE3 digest of data. initHash() must have resolved. */
export function blake3(data: Uint8Array): Buffer {
  if (!hasher) throw new Error('initHash() has not completed');
  hasher.init();
  hasher.update(data);
  return Buffer.from(hasher.digest('binary'));
}

export function hexOf(hash: Uint8Array): string {
  return Buffer.from(hash).toString('hex');
}
