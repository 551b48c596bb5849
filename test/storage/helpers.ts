import { openStore, type Engine } from '../../src/index.js';
import { bytes } from '../helpers.js';

export const S = 1000000000n;
export const MIN = 60n * S;
export const HOUR = 3600n * S;
export const DAY = 24n * HOUR;
export const T0 = 1700000000000000000n;

/** A store with a clock the test moves. */
export async function clockStore(file = ':memory:'): Promise<{ e: Engine; clock: { t: bigint } }> {
  const clock = { t: T0 };
  const e = await openStore(file, { clock: () => clock.t });
  return { e, clock };
}

/** Text that looks like source or a log: compressible, lines. */
export function text(n: number, seed = 1): Buffer {
  const words = ['const', 'function', 'return', 'value', 'index', 'request', 'status', 'handler', 'cache', 'token'];
  const r = bytes(n, seed);
  const out: string[] = [];
  let len = 0, i = 0;
  while (len < n) {
    const k = 2 + (r[i++ % n] % 6);
    const parts: string[] = [];
    for (let j = 0; j < k; j++) parts.push(r[i++ % n] % 4 ? words[r[i++ % n] % words.length] : String(r[i++ % n] * 7919));
    const line = parts.join(' ') + '\n';
    out.push(line);
    len += line.length;
  }
  return Buffer.from(out.join('')).subarray(0, n);
}

/** Saves a whole file the way an editor does (truncate, write, close): one commit. */
export function save(e: Engine, p: string, data: Buffer): void {
  const fh = e.open(p, 'w');
  try { e.write(fh, data, 0); } finally { e.release(fh); }
}

export function chunkRows(e: Engine): { hash: Buffer; encoding: number; base: Buffer | null; seq: number | null; size: number; stored: number }[] {
  return e.store.db.prepare('SELECT hash, encoding, base, seq, size, length(data) AS stored FROM chunks').all() as
    { hash: Buffer; encoding: number; base: Buffer | null; seq: number | null; size: number; stored: number }[];
}

export function commitCount(e: Engine): number {
  return e.store.db.prepare('SELECT count(*) FROM commits').pluck().get() as number;
}
