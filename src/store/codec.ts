// How a chunk's bytes are kept: raw, compressed (deflate or brotli from the
// Node runtime), or as an xdelta3 delta against another chunk, itself
// optionally compressed. Pure functions over buffers; no SQL here.
//
// xdelta3-wasm runs in a fixed wasm memory: encoding fails (ENOMEM) once
// source + target pass about 1.5 MiB. Chunks are at most 512 KiB, so a
// chunk against its base (1 MiB together) always fits; larger inputs are
// refused here rather than attempted.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);

interface Xd3Result { ret: number; str: string; output: Uint8Array }
interface Xd3 {
  init(): Promise<void>;
  xd3_encode_memory(input: Uint8Array, source: Uint8Array, max: number, flags: number): Xd3Result;
  xd3_decode_memory(input: Uint8Array, source: Uint8Array, max: number): Xd3Result;
}

let xd: Xd3 | undefined;

/** Loads the xdelta3 wasm module (once). Store.open awaits it, so every
 * encode and decode afterwards is synchronous, like hashing. */
export async function initCodec(): Promise<void> {
  if (xd) return;
  const m = require('xdelta3-wasm') as Xd3;
  await m.init();
  xd = m;
}

export const CODEC_MASK = 15;
export const RAW = 0;
export const DEFLATE = 1;
export const BROTLI = 2;
export const DELTA = 16;

/** Source + target bytes above which xdelta3 is not tried (wasm memory). */
export const DELTA_MAX_INPUT = 1 << 20;

export function encodingName(enc: number): string {
  const codec = ['raw', 'deflate', 'brotli'][enc & CODEC_MASK] ?? `codec${enc & CODEC_MASK}`;
  return enc & DELTA ? (codec === 'raw' ? 'delta' : `delta+${codec}`) : codec;
}

export class CodecError extends Error {}

/** The payload of a stored row back to its delta or full bytes. */
export function unpack(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case RAW: return data;
    case DEFLATE: return zlib.inflateRawSync(data);
    case BROTLI: return zlib.brotliDecompressSync(data);
    default: throw new CodecError(`unknown codec ${codec}`);
  }
}

function brotliQuality(n: number): number {
  // Background work in slices of a few tens of ms: the best quality only
  // where it is cheap (measured: q11 ~25 ms for 28 KiB of source, q9 ~17 ms
  // for 110 KiB, q5 ~4 ms for 512 KiB). Under 1 KiB (small files, most
  // deltas) q11 costs 1.4 ms for 4% fewer bytes than q9's 0.07 ms (323
  // JavaScript files of node_modules): 10,000 small files took 13 s of
  // background CPU at q11.
  if (n < 1 << 10) return 9;
  if (n <= 32 << 10) return 11;
  if (n <= 128 << 10) return 9;
  return 5;
}

/** The window brotli needs for n bytes: a larger one only costs setting up
 * (q9 with a 4 MiB window takes 3 ms for 1 KiB, 0.1 ms with 1 KiB). */
function brotliWindow(n: number): number {
  return Math.max(10, Math.min(22, Math.ceil(Math.log2(n + 1))));
}

/** The smallest compressed form of data, or null when compression does not
 * pay (saves less than 1/16). A 64 KiB sample is tried first with fast
 * deflate, so incompressible data (media, archives) costs almost nothing. */
export function compress(data: Buffer): { codec: number; data: Buffer } | null {
  if (data.length < 64) return null;
  if (data.length > 128 << 10) {
    const sample = data.subarray(0, 64 << 10);
    const s = zlib.deflateRawSync(sample, { level: 1 });
    if (s.length > sample.length * 0.9) return null;
  }
  const out = zlib.brotliCompressSync(data, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality(data.length),
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      [zlib.constants.BROTLI_PARAM_LGWIN]: brotliWindow(data.length),
    },
  });
  if (out.length > data.length - (data.length >> 4)) return null;
  return { codec: BROTLI, data: out };
}

// Content-defined anchors (a gear rolling hash, as content-defined chunkers
// use): positions where the hash of the preceding 32 bytes has its top 11
// bits clear, one per ~2 KiB, found wherever the same bytes are, whatever
// their offset. The hash value there is the anchor's fingerprint.
const GEAR = (() => {
  const g = new Int32Array(256);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < 256; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; g[i] = x; }
  return g;
})();
const ANCHOR_SHIFT = 21;

function forEachAnchor(buf: Uint8Array, fn: (fingerprint: number) => void): void {
  let h = 0;
  for (let i = 0; i < buf.length; i++) {
    h = ((h << 1) + GEAR[buf[i]]) | 0;
    if (h >>> ANCHOR_SHIFT === 0) fn(h);
  }
}

/** Below this size xdelta3 is cheap enough to just try. */
const SIMILARITY_MIN = 64 << 10;

/**
 * Whether target shares enough content with source for a delta to pay: the
 * fraction of target's anchors found in source (null: too few anchors to
 * tell, e.g. small or uniform data). Why: xdelta3 takes 50-110 ms to find
 * nothing between two unrelated 512 KiB chunks (a file of random or packed
 * data rewritten under the same name), and 2-3 ms for a related pair; this
 * costs about a millisecond for both.
 */
export function sharedFraction(target: Uint8Array, source: Uint8Array): number | null {
  const seen = new Set<number>();
  forEachAnchor(source, (f) => { seen.add(f); });
  let n = 0, hit = 0;
  forEachAnchor(target, (f) => { n++; if (seen.has(f)) hit++; });
  return n < 16 ? null : hit / n;
}

/** Whether makeDelta is worth trying: small inputs always; large ones when
 * at least a quarter of target is found in source (a delta is kept only when
 * it is at most half of the compressed data, so with three quarters of the
 * bytes new it never is). */
export function deltaWorthTrying(target: Uint8Array, source: Uint8Array): boolean {
  if (target.length < SIMILARITY_MIN) return true;
  const f = sharedFraction(target, source);
  return f === null || f >= 0.25;
}

/** A VCDIFF delta turning source into target, or null when xdelta3 cannot
 * make one smaller than maxSize (or the inputs would not fit its memory). */
export function makeDelta(target: Buffer, source: Buffer, maxSize: number): Buffer | null {
  if (!xd) throw new Error('initCodec() has not completed');
  if (target.length + source.length > DELTA_MAX_INPUT || maxSize <= 0) return null;
  let r: Xd3Result;
  try {
    r = xd.xd3_encode_memory(target, source, Math.max(64, maxSize), 0);
  } catch {
    return null; // the wrapper reads a garbage size after some failures
  }
  if (r.ret !== 0 || r.output.length === 0 || r.output.length > maxSize) return null;
  return Buffer.from(r.output.buffer, r.output.byteOffset, r.output.length);
}

/** Applies a VCDIFF delta to source; size is the expected result length. */
export function applyDelta(delta: Buffer, source: Buffer, size: number): Buffer {
  if (!xd) throw new Error('initCodec() has not completed');
  let r: Xd3Result;
  try {
    r = xd.xd3_decode_memory(delta, source, Math.max(size, 1));
  } catch (e) {
    throw new CodecError(`xdelta3 decode failed: ${(e as Error).message}`);
  }
  if (r.ret !== 0) throw new CodecError(`xdelta3 decode failed: ${r.str}`);
  return Buffer.from(r.output.buffer, r.output.byteOffset, r.output.length);
}
