// BLAKE3 with WebAssembly SIMD: four chunks (or four parent nodes) are
// compressed at once, one per 32-bit lane, as the reference implementation's
// hash_many does with SSE. hash-wasm's portable build hashes about 550 MB/s
// here, and every byte written or read cold is hashed (the write path
// addresses chunks by it, the read path verifies them), so on one CPU the
// hash was a third to a half of a sequential read or write.
//
// The module is assembled here, at load, from the opcodes below (no build
// tool, no binary in the repository). Its one function compresses nBlocks
// consecutive 64-byte blocks of four inputs `stride` bytes apart and writes
// the four chaining values. The tree above the chunks is reduced in
// segments of 64 chunks, each a complete subtree except the last, by pairing
// neighbours level by level with an odd node carried up: that is the
// left-balanced tree BLAKE3 defines. Every hasher checks itself against
// known digests when made; hash.ts falls back to hash-wasm if it fails.

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START = 1, CHUNK_END = 2, PARENT = 4, ROOT = 8;
const CHUNK = 1024;
const SEG_CHUNKS = 64;
const SEG = SEG_CHUNKS * CHUNK;

// --- a minimal WebAssembly encoder ----------------------------------------------
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f; n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && (b & 0x40))) { out.push(b); return out; }
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s)];
const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];

const I32 = 0x7f, V128 = 0x7b;
const op = {
  get: (i: number) => [0x20, ...uleb(i)], set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n | 0)],
  add: [0x6a], sub: [0x6b], shl: [0x74], or: [0x72], eq: [0x46], eqz: [0x45], ltu: [0x49], select: [0x1b],
  load: (offset: number) => simd(0x00, 0, ...uleb(offset)),
  store: (offset: number) => simd(0x0b, 0, ...uleb(offset)),
  vconst: (words: number[]) => simd(0x0c, ...Buffer.from(Uint32Array.from(words).buffer)),
  shuffle: (bytes: number[]) => simd(0x0d, ...bytes),
  splat: simd(0x11), xor: simd(0x51), vor: simd(0x50),
  vshl: simd(0xab), vshru: simd(0xad), vadd: simd(0xae), vmul: simd(0xb5),
};
/** i8x16.shuffle bytes taking 32-bit lanes [a, b, c, d] of (x ++ y). */
const lanes = (l: number[]) => l.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);
const ROTR16 = [0, 1, 2, 3].flatMap((k) => [4 * k + 2, 4 * k + 3, 4 * k, 4 * k + 1]);
const ROTR8 = [0, 1, 2, 3].flatMap((k) => [4 * k + 1, 4 * k + 2, 4 * k + 3, 4 * k]);

function moduleBytes(): Uint8Array<ArrayBuffer> {
  // params: inp stride nBlocks lastLen counter0 counterInc flags flagsStart flagsEnd out
  const [INP, STRIDE, NB, LAST, CTR, INC, FLAGS, FSTART, FEND, OUT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [B, P0, P1, P2, P3] = [10, 11, 12, 13, 14];
  const S = (i: number) => 15 + i;        // state v0..v15
  const M = (i: number) => 31 + i;        // message words m0..m15
  const H = (i: number) => 47 + i;        // chaining value h0..h7
  const T = (i: number) => 55 + i;        // transposition temporaries
  const CNT = 63;
  const code: number[] = [];
  const emit = (...xs: (number | number[])[]) => { for (const x of xs) typeof x === 'number' ? code.push(x) : code.push(...x); };

  /** out[k] = lanes of a 4x4 transposition of the vectors in locals src. */
  const transpose = (src: number[], dst: number[]) => {
    emit(op.get(src[0]), op.get(src[1]), op.shuffle(lanes([0, 4, 1, 5])), op.set(T(4)));
    emit(op.get(src[0]), op.get(src[1]), op.shuffle(lanes([2, 6, 3, 7])), op.set(T(5)));
    emit(op.get(src[2]), op.get(src[3]), op.shuffle(lanes([0, 4, 1, 5])), op.set(T(6)));
    emit(op.get(src[2]), op.get(src[3]), op.shuffle(lanes([2, 6, 3, 7])), op.set(T(7)));
    emit(op.get(T(4)), op.get(T(6)), op.shuffle(lanes([0, 1, 4, 5])), op.set(dst[0]));
    emit(op.get(T(4)), op.get(T(6)), op.shuffle(lanes([2, 3, 6, 7])), op.set(dst[1]));
    emit(op.get(T(5)), op.get(T(7)), op.shuffle(lanes([0, 1, 4, 5])), op.set(dst[2]));
    emit(op.get(T(5)), op.get(T(7)), op.shuffle(lanes([2, 3, 6, 7])), op.set(dst[3]));
  };
  const rotr = (x: number, n: number) => {
    if (n === 16 || n === 8) emit(op.get(x), op.get(x), op.shuffle(n === 16 ? ROTR16 : ROTR8), op.set(x));
    else emit(op.get(x), op.i32(n), op.vshru, op.get(x), op.i32(32 - n), op.vshl, op.vor, op.set(x));
  };
  const g = (a: number, b: number, c: number, d: number, mx: number, my: number) => {
    emit(op.get(S(a)), op.get(S(b)), op.vadd, op.get(M(mx)), op.vadd, op.set(S(a)));
    emit(op.get(S(d)), op.get(S(a)), op.xor, op.set(S(d))); rotr(S(d), 16);
    emit(op.get(S(c)), op.get(S(d)), op.vadd, op.set(S(c)));
    emit(op.get(S(b)), op.get(S(c)), op.xor, op.set(S(b))); rotr(S(b), 12);
    emit(op.get(S(a)), op.get(S(b)), op.vadd, op.get(M(my)), op.vadd, op.set(S(a)));
    emit(op.get(S(d)), op.get(S(a)), op.xor, op.set(S(d))); rotr(S(d), 8);
    emit(op.get(S(c)), op.get(S(d)), op.vadd, op.set(S(c)));
    emit(op.get(S(b)), op.get(S(c)), op.xor, op.set(S(b))); rotr(S(b), 7);
  };

  for (let i = 0; i < 8; i++) emit(op.vconst([IV[i], IV[i], IV[i], IV[i]]), op.set(H(i)));
  // lane j's counter: counter0 + j * counterInc
  emit(op.get(CTR), op.splat, op.get(INC), op.splat, op.vconst([0, 1, 2, 3]), op.vmul, op.vadd, op.set(CNT));
  emit(op.i32(0), op.set(B));
  emit(0x02, 0x40, 0x03, 0x40); // block, loop
  // the four lanes' block addresses
  emit(op.get(INP), op.get(B), op.i32(6), op.shl, op.add, op.set(P0));
  emit(op.get(P0), op.get(STRIDE), op.add, op.set(P1));
  emit(op.get(P1), op.get(STRIDE), op.add, op.set(P2));
  emit(op.get(P2), op.get(STRIDE), op.add, op.set(P3));
  for (let q = 0; q < 4; q++) {
    [P0, P1, P2, P3].forEach((p, j) => emit(op.get(p), op.load(16 * q), op.set(T(j))));
    transpose([T(0), T(1), T(2), T(3)], [M(4 * q), M(4 * q + 1), M(4 * q + 2), M(4 * q + 3)]);
  }
  for (let i = 0; i < 8; i++) emit(op.get(H(i)), op.set(S(i)));
  for (let i = 0; i < 4; i++) emit(op.vconst([IV[i], IV[i], IV[i], IV[i]]), op.set(S(8 + i)));
  emit(op.get(CNT), op.set(S(12)));
  emit(op.vconst([0, 0, 0, 0]), op.set(S(13)));
  // block length: lastLen for the last block, else 64
  emit(op.get(LAST), op.i32(64), op.get(B), op.get(NB), op.i32(1), op.sub, op.eq, op.select, op.splat, op.set(S(14)));
  // flags | flagsStart on the first block | flagsEnd on the last
  emit(op.get(FLAGS), op.get(FSTART), op.i32(0), op.get(B), op.eqz, op.select, op.or);
  emit(op.get(FEND), op.i32(0), op.get(B), op.get(NB), op.i32(1), op.sub, op.eq, op.select, op.or, op.splat, op.set(S(15)));
  let s = [...Array(16).keys()];
  for (let r = 0; r < 7; r++) {
    g(0, 4, 8, 12, s[0], s[1]); g(1, 5, 9, 13, s[2], s[3]); g(2, 6, 10, 14, s[4], s[5]); g(3, 7, 11, 15, s[6], s[7]);
    g(0, 5, 10, 15, s[8], s[9]); g(1, 6, 11, 12, s[10], s[11]); g(2, 7, 8, 13, s[12], s[13]); g(3, 4, 9, 14, s[14], s[15]);
    s = PERM.map((k) => s[k]);
  }
  for (let i = 0; i < 8; i++) emit(op.get(S(i)), op.get(S(i + 8)), op.xor, op.set(H(i)));
  emit(op.get(B), op.i32(1), op.add, op.set(B));
  emit(op.get(B), op.get(NB), op.ltu, 0x0d, 0x00); // br_if loop
  emit(0x0b, 0x0b); // end loop, end block
  // lane j's chaining value to out + 32 j
  transpose([H(0), H(1), H(2), H(3)], [T(0), T(1), T(2), T(3)]);
  for (let j = 0; j < 4; j++) emit(op.get(OUT), op.get(T(j)), op.store(32 * j));
  transpose([H(4), H(5), H(6), H(7)], [T(0), T(1), T(2), T(3)]);
  for (let j = 0; j < 4; j++) emit(op.get(OUT), op.get(T(j)), op.store(32 * j + 16));
  emit(0x0b);

  const locals = vec([[...uleb(5), I32], [...uleb(16 + 16 + 8 + 8 + 1), V128]]);
  const body = [...locals, ...code];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(Array(10).fill([I32])), 0x00]])),
    ...section(3, vec([[0x00]])),
    ...section(5, vec([[0x00, ...uleb(2)]])),
    ...section(7, vec([[...str('m'), 0x02, 0x00], [...str('h'), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

// --- the driver ------------------------------------------------------------------
type Kernel = (inp: number, stride: number, nBlocks: number, lastLen: number, counter0: number,
  counterInc: number, flags: number, flagsStart: number, flagsEnd: number, out: number) => void;

// Memory: a segment of input (plus room for lanes reading past its end), the
// chaining values of its chunks, scratch output, then the segments' nodes.
const IN = 0;
const CVS = SEG + 4 * CHUNK;
const SCRATCH = CVS + SEG_CHUNKS * 32;
const TOP = SCRATCH + 128;

let compiled: WebAssembly.Module | null = null;

export class Blake3Simd {
  private readonly mem: WebAssembly.Memory;
  private readonly h: Kernel;
  private u8: Uint8Array;

  constructor() {
    compiled ??= new WebAssembly.Module(moduleBytes());
    const inst = new WebAssembly.Instance(compiled, {});
    this.mem = inst.exports.m as WebAssembly.Memory;
    this.h = inst.exports.h as unknown as Kernel;
    this.u8 = new Uint8Array(this.mem.buffer);
  }

  /** 32-byte BLAKE3 digest of data. */
  hash(data: Uint8Array): Buffer {
    const n = data.length;
    if (n <= CHUNK) {
      this.u8.fill(0, IN, IN + CHUNK);
      this.u8.set(data, IN);
      const nb = Math.max(1, Math.ceil(n / 64));
      this.h(IN, CHUNK, nb, n - 64 * (nb - 1), 0, 1, 0, CHUNK_START, CHUNK_END | ROOT, SCRATCH);
      return Buffer.from(this.u8.subarray(SCRATCH, SCRATCH + 32));
    }
    const segs = Math.ceil(n / SEG);
    // + 256: the unused lanes of a last group of pairs read past the nodes.
    const need = TOP + 32 * segs + 256;
    if (need > this.mem.buffer.byteLength) {
      this.mem.grow(Math.ceil((need - this.mem.buffer.byteLength) / 65536));
      this.u8 = new Uint8Array(this.mem.buffer);
    }
    for (let s = 0; s < segs; s++) {
      const part = data.subarray(s * SEG, Math.min(n, (s + 1) * SEG));
      const len = part.length;
      this.u8.set(part, IN);
      const full = len >> 10;
      const tail = len & (CHUNK - 1);
      if (tail) this.u8.fill(0, IN + len, IN + ((len + 63) & ~63));
      const counter = s * SEG_CHUNKS;
      for (let i = 0; i < full; i += 4) {
        const k = Math.min(4, full - i);
        const out = k === 4 ? CVS + 32 * i : SCRATCH;
        this.h(IN + i * CHUNK, CHUNK, 16, 64, counter + i, 1, 0, CHUNK_START, CHUNK_END, out);
        if (k < 4) this.u8.copyWithin(CVS + 32 * i, SCRATCH, SCRATCH + 32 * k);
      }
      let count = full;
      if (tail) {
        const nb = Math.ceil(tail / 64);
        this.h(IN + full * CHUNK, CHUNK, nb, tail - 64 * (nb - 1), counter + full, 1, 0, CHUNK_START, CHUNK_END, SCRATCH);
        this.u8.copyWithin(CVS + 32 * full, SCRATCH, SCRATCH + 32);
        count++;
      }
      this.reduce(CVS, count, segs === 1);
      this.u8.copyWithin(TOP + 32 * s, CVS, CVS + 32);
    }
    if (segs > 1) this.reduce(TOP, segs, true);
    const at = segs > 1 ? TOP : CVS;
    return Buffer.from(this.u8.subarray(at, at + 32));
  }

  /** Pairs the `count` nodes at ptr level by level (an odd last node is
   * carried up) until one is left, at ptr; the last pair of the whole tree
   * is compressed as the root. */
  private reduce(ptr: number, count: number, top: boolean): void {
    while (count > 1) {
      const pairs = count >> 1;
      const flags = PARENT | (top && count === 2 ? ROOT : 0);
      for (let i = 0; i < pairs; i += 4) {
        const k = Math.min(4, pairs - i);
        const out = k === 4 ? ptr + 32 * i : SCRATCH;
        this.h(ptr + 64 * i, 64, 1, 64, 0, 0, flags, 0, 0, out);
        if (k < 4) this.u8.copyWithin(ptr + 32 * i, SCRATCH, SCRATCH + 32 * k);
      }
      if (count & 1) this.u8.copyWithin(ptr + 32 * pairs, ptr + 32 * (count - 1), ptr + 32 * count);
      count = pairs + (count & 1);
    }
  }
}
