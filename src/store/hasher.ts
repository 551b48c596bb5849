// BLAKE3 on the other core. A full chunk is handed (transferred, not
// copied) to a worker thread that hashes it while the main thread goes on
// serving writes and inserting the previous chunk; results come back over a
// MessageChannel and are collected synchronously (receiveMessageOnPort),
// blocking with Atomics.wait only when a caller needs a result now. Hashing
// (~1 GB/s) and SQLite inserts (~450 MB/s) then overlap instead of adding up.
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { blake3 } from './hash.js';

const require = createRequire(import.meta.url);

const WORKER = `
const { workerData } = require('node:worker_threads');
const { createBLAKE3 } = require(workerData.hashWasm);
const port = workerData.port;
const done = new Int32Array(workerData.done);
createBLAKE3().then(async (h) => {
  // The SIMD hasher when the built module is there (it is not when the
  // sources run under a test runner) and it checks out; else hash-wasm.
  let simd = null;
  try { simd = (await import(workerData.hashModule)).checkedSimd(h); } catch { simd = null; }
  port.postMessage({ ready: true, impl: simd ? 'simd' : 'portable' });
  port.on('message', (m) => {
    const data = new Uint8Array(m.buf, 0, m.len);
    let hash;
    if (simd) hash = new Uint8Array(simd.hash(data));
    else { h.init(); h.update(data); hash = h.digest('binary'); }
    port.postMessage({ id: m.id, hash, buf: m.buf, len: m.len }, [m.buf]);
    Atomics.add(done, 0, 1);
    Atomics.notify(done, 0);
  });
});
`;

export interface HashJob<C> { id: number; ctx: C }
type Done<C> = (hash: Buffer, data: Buffer, ctx: C) => void;

export class ParallelHasher<C> {
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private done = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private inflight = new Map<number, C>();
  private seen = 0;

  /** onDone runs synchronously, in submission order, inside poll/wait.
   * useWorker false: hash on this thread (a process confined to one CPU,
   * where handing chunks to another thread only adds switches). */
  constructor(private readonly onDone: Done<C>, private readonly maxInflight = 8, useWorker = true) {
    if (!useWorker) return;
    try {
      const { port1, port2 } = new MessageChannel();
      this.worker = new Worker(WORKER, {
        eval: true,
        // Never inherit the parent's flags: under `node --input-type=module`
        // this CommonJS snippet would fail to load.
        execArgv: [],
        workerData: { port: port2, done: this.done.buffer, hashWasm: require.resolve('hash-wasm'), hashModule: new URL('./hash.js', import.meta.url).href },
        transferList: [port2],
      });
      this.worker.unref();
      this.port = port1;
      this.worker.on('error', () => { this.worker = null; });
    } catch {
      this.worker = null; // hash on this thread instead
    }
  }

  /** Resolves once the worker has its hasher; a worker that fails to start
   * within the timeout is dropped and hashing stays on this thread. */
  async ready(timeoutMs = 10000): Promise<void> {
    const port = this.port;
    if (!port) return;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      port.once('message', (m: { ready?: boolean; impl?: string }) => {
        clearTimeout(timer);
        if (m?.impl) this.workerImpl = m.impl;
        resolve(!!m?.ready);
      });
      this.worker?.once('error', () => { clearTimeout(timer); resolve(false); });
    });
    port.unref();
    if (!ok) { void this.worker?.terminate(); this.worker = null; this.port = null; }
  }

  get pending(): number { return this.inflight.size; }

  /** The worker's BLAKE3 ('simd' or 'portable'), once ready; null without one. */
  get workerImplementation(): string | null { return this.worker ? this.workerImpl : null; }
  private workerImpl = 'portable';

  /** Hashes data (whose memory is handed over: the caller must not touch it
   * again; it comes back in onDone). */
  submit(data: Buffer, ctx: C): void {
    if (!this.worker || !this.port) { this.onDone(blake3(data), data, ctx); return; }
    while (this.inflight.size >= this.maxInflight) this.waitOne();
    let owned = data;
    if (data.byteOffset !== 0 || data.buffer.byteLength !== data.length || data.buffer instanceof SharedArrayBuffer) {
      owned = Buffer.from(data); // a view into a larger buffer: copy once
    }
    const id = this.nextId++;
    this.inflight.set(id, ctx);
    this.port.postMessage({ id, buf: owned.buffer, len: owned.length }, [owned.buffer as ArrayBuffer]);
    this.poll();
  }

  /** Delivers every finished result without blocking. */
  poll(): void {
    if (!this.port) return;
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (!m) return;
      const r = m.message as { id: number; hash: Uint8Array; buf: ArrayBuffer; len: number };
      const ctx = this.inflight.get(r.id) as C;
      this.inflight.delete(r.id);
      this.seen++;
      this.onDone(Buffer.from(r.hash), Buffer.from(r.buf, 0, r.len), ctx);
    }
  }

  private waitOne(): void {
    const before = this.inflight.size;
    const deadline = Date.now() + 60000;
    while (this.inflight.size === before) {
      Atomics.wait(this.done, 0, this.seen, 1000);
      this.poll();
      if (this.inflight.size === before && Date.now() > deadline) {
        throw Object.assign(new Error('the hash worker stopped answering'), { code: 'EIO', errno: 5 });
      }
    }
  }

  /** Blocks until every submitted chunk has been delivered. */
  drain(): void {
    while (this.inflight.size > 0) this.waitOne();
  }

  /** Blocks until done() holds (or nothing is left in flight): results
   * arrive in submission order, so waiting for one chunk does not wait for
   * those submitted after it. */
  waitUntil(done: () => boolean): void {
    while (!done() && this.inflight.size > 0) this.waitOne();
  }

  close(): void {
    this.drain();
    void this.worker?.terminate();
    this.port?.close();
    this.worker = null;
    this.port = null;
  }
}
