import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Engine } from '../src/index.js';

export function tmpDir(prefix = 'mikofs-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function memStore(): Promise<Engine> {
  return openStore(':memory:');
}

/** Deterministic pseudo-random bytes (xorshift) so failures reproduce. */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 255;
  }
  return b;
}

/** Rows changed in the store's SQLite connection so far. */
export function totalChanges(e: Engine): number {
  return e.store.db.prepare('SELECT total_changes()').pluck().get() as number;
}
