// The engine against a model of what a program may expect of a POSIX file
// system: random sequences of opens, writes across chunk boundaries,
// truncations, fallocate, commits, unlinks and renames with descriptors
// open, readers following commits, snapshots, background maintenance
// (deltas, compression, collection) and reopening the store; every read is
// checked against the model, and at the end every labelled state is read
// back from history. Chunks are 8 KiB here, so writes of a few KiB cross
// chunk boundaries and the chunk-level merge is exercised everywhere.
//
// One writer per file at a time: two sessions on one file merge by byte
// ranges (sessions.test.ts), which the model does not describe.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { openStore, type Engine } from '../../src/index.js';
import { scrub } from '../../src/engine/scrub.js';
import { tmpDir } from '../helpers.js';

const CS = 8192;
const O_RDWR = 2, O_CREAT = 0o100, O_TRUNC = 0o1000, O_APPEND = 0o2000;
const KEEP_SIZE = 1, PUNCH_HOLE = 2, ZERO_RANGE = 16;
const NAMES = ['a', 'b', 'c', 'd'];

class Rng {
  constructor(private x: number) {}
  next(): number {
    let x = this.x;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    this.x = x;
    return x / 0x100000000;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(a: T[]): T { return a[this.int(a.length)]; }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    const v = this.int(256);
    // Runs of one byte and random bytes: compressible and not.
    if (this.int(2)) b.fill(v); else for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

function resized(b: Buffer, n: number): Buffer {
  const o = Buffer.alloc(n);
  b.copy(o, 0, 0, Math.min(n, b.length));
  return o;
}

interface Writer { fh: number; ino: number; work: Buffer; append: boolean }
interface Reader { fh: number; ino: number }

class Model {
  names = new Map<string, number>();
  committed = new Map<number, Buffer>();
  writers = new Map<number, Writer>(); // by model inode
  readers: Reader[] = [];
  labels = new Map<string, Map<string, Buffer>>();
  private nextIno = 1;
  linked(ino: number): boolean { return [...this.names.values()].includes(ino); }
  create(name: string): number {
    const ino = this.nextIno++;
    this.names.set(name, ino);
    this.committed.set(ino, Buffer.alloc(0));
    return ino;
  }
  commit(w: Writer): void { if (this.linked(w.ino)) this.committed.set(w.ino, Buffer.from(w.work)); }
}

async function run(seed: number, steps: number): Promise<void> {
  const dir = tmpDir('mikofs-model-');
  const file = path.join(dir, 'store.mikofs');
  const open = () => openStore(file, { chunkSize: CS, groupCommitMs: 0 });
  let e: Engine = await open();
  const r = new Rng(seed);
  const m = new Model();
  const where = (step: number, what: string) => `seed ${seed} step ${step}: ${what}`;
  const size = (b: Buffer) => b.length;
  const randomSize = (b: Buffer) => r.int(size(b) + 2 * CS + 1);
  const releaseAll = () => {
    for (const w of m.writers.values()) { e.release(w.fh); m.commit(w); }
    m.writers.clear();
    for (const rd of m.readers) e.release(rd.fh);
    m.readers = [];
  };
  try {
    for (let step = 0; step < steps; step++) {
      const op = r.int(100);
      const writers = [...m.writers.values()];
      if (op < 12) { // open a writer
        const name = r.pick(NAMES);
        const existing = m.names.get(name);
        if (existing !== undefined && m.writers.has(existing)) continue;
        const trunc = r.int(4) === 0, append = r.int(5) === 0;
        const fh = e.open('/' + name, O_RDWR | O_CREAT | (trunc ? O_TRUNC : 0) | (append ? O_APPEND : 0));
        const ino = existing ?? m.create(name);
        m.writers.set(ino, { fh, ino, append, work: trunc ? Buffer.alloc(0) : Buffer.from(m.committed.get(ino)!) });
      } else if (op < 40 && writers.length) { // write
        const w = r.pick(writers);
        const len = r.int(3) === 0 ? 1 + r.int(64) : 1 + r.int(3 * CS);
        const pos = w.append ? size(w.work) : randomSize(w.work);
        const data = r.bytes(len);
        expect(e.write(w.fh, data, pos), where(step, 'write')).toBe(len);
        if (pos + len > size(w.work)) w.work = resized(w.work, pos + len);
        data.copy(w.work, pos);
      } else if (op < 48 && writers.length) { // the writer reads its own writes
        const w = r.pick(writers);
        const pos = r.int(size(w.work) + 10), len = 1 + r.int(3 * CS);
        const want = w.work.subarray(pos, pos + len);
        expect(e.read(w.fh, len, pos).equals(want), where(step, `writer read ${pos}+${len}`)).toBe(true);
        expect(e.fstat(w.fh).size, where(step, 'writer fstat')).toBe(size(w.work));
      } else if (op < 54 && writers.length) { // ftruncate
        const w = r.pick(writers);
        const n = randomSize(w.work);
        e.ftruncate(w.fh, n);
        w.work = resized(w.work, n);
      } else if (op < 58 && writers.length) { // fallocate
        const w = r.pick(writers);
        const mode = r.pick([0, KEEP_SIZE, PUNCH_HOLE | KEEP_SIZE, ZERO_RANGE, ZERO_RANGE | KEEP_SIZE]);
        const off = randomSize(w.work), len = 1 + r.int(2 * CS);
        e.fallocate(w.fh, mode, off, len);
        const end = off + len, keep = (mode & KEEP_SIZE) !== 0;
        if (!keep && end > size(w.work)) w.work = resized(w.work, end);
        if (mode & (PUNCH_HOLE | ZERO_RANGE)) w.work.fill(0, Math.min(off, size(w.work)), Math.min(end, size(w.work)));
      } else if (op < 64 && writers.length) { // flush (a close of a copy) or fsync
        const w = r.pick(writers);
        if (r.int(2)) e.commit(w.fh); else e.fsync(w.fh);
        m.commit(w);
      } else if (op < 70 && writers.length) { // close
        const w = r.pick(writers);
        e.release(w.fh);
        m.commit(w);
        m.writers.delete(w.ino);
      } else if (op < 74 && m.names.size) { // open a reader
        const name = r.pick([...m.names.keys()]);
        m.readers.push({ fh: e.open('/' + name, 'r'), ino: m.names.get(name)! });
      } else if (op < 82 && m.readers.length) { // a reader reads the newest committed version
        const rd = r.pick(m.readers);
        const c = m.committed.get(rd.ino)!;
        const pos = r.int(size(c) + 10), len = 1 + r.int(3 * CS);
        const got = e.read(rd.fh, len, pos);
        expect(got.equals(c.subarray(pos, pos + len)), where(step, `reader read ${pos}+${len}`)).toBe(true);
      } else if (op < 84 && m.readers.length) { // a reader closes
        const i = r.int(m.readers.length);
        e.release(m.readers[i].fh);
        m.readers.splice(i, 1);
      } else if (op < 87 && m.names.size) { // unlink
        const name = r.pick([...m.names.keys()]);
        e.unlink('/' + name);
        m.names.delete(name);
      } else if (op < 90 && m.names.size) { // rename, maybe over another file
        const from = r.pick([...m.names.keys()]), to = r.pick(NAMES);
        e.rename('/' + from, '/' + to);
        if (from !== to) { m.names.set(to, m.names.get(from)!); m.names.delete(from); }
      } else if (op < 92 && m.names.size) { // truncate by path, no writer open on it
        const name = r.pick([...m.names.keys()]);
        const ino = m.names.get(name)!;
        if (m.writers.has(ino)) continue;
        const n = randomSize(m.committed.get(ino)!);
        e.truncate('/' + name, n);
        m.committed.set(ino, resized(m.committed.get(ino)!, n));
      } else if (op < 95) { // a whole file, as a new open reads it
        for (const [name, ino] of m.names) {
          expect(e.readFile('/' + name).equals(m.committed.get(ino)!), where(step, `readFile ${name}`)).toBe(true);
        }
      } else if (op < 97) { // a labelled snapshot
        const label = `s${step}`;
        e.snapshot(null, label);
        m.labels.set(label, new Map([...m.names].map(([n, ino]) => [n, Buffer.from(m.committed.get(ino)!)])));
      } else if (op < 99) { // background maintenance, all of it
        e.maintenance.runAll();
      } else { // close the store and open it again
        releaseAll();
        e.close();
        e = await open();
      }
    }
    releaseAll();
    e.maintenance.runAll();
    e.close();
    e = await open();
    expect(e.readdir('/').map((d) => d.name).sort(), `seed ${seed}: names`).toEqual([...m.names.keys()].sort());
    for (const [name, ino] of m.names) {
      expect(e.readFile('/' + name).equals(m.committed.get(ino)!), `seed ${seed}: final ${name}`).toBe(true);
    }
    for (const [label, tree] of m.labels) {
      const v = e.at({ label });
      expect(v.readdir('/').map((d) => d.name).sort(), `seed ${seed}: ${label} names`).toEqual([...tree.keys()].sort());
      for (const [name, want] of tree) expect(v.readFile('/' + name).equals(want), `seed ${seed}: ${label} ${name}`).toBe(true);
    }
    const check = scrub(e);
    expect(check.problems, `seed ${seed}: verify`).toEqual([]);
    expect(check.ok).toBe(true);
  } finally {
    e.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// MIKOFS_MODEL_SEEDS=FROM-TO and MIKOFS_MODEL_STEPS=N run a longer search.
const [from, to] = (process.env.MIKOFS_MODEL_SEEDS ?? '1-6').split('-').map(Number);
const STEPS = Number(process.env.MIKOFS_MODEL_STEPS ?? 700);

describe('the engine behaves as the model of a POSIX file says, across commits, maintenance and reopening', () => {
  for (let seed = from; seed <= (to ?? from); seed++) {
    it(`random sequence, seed ${seed}`, async () => { await run(seed, STEPS); });
  }
});
