// The read-only history commands of a mounted store (log, diff, readAt),
// answered on a worker thread with a read-only connection of its own: their
// cost grows with the history they look through (seconds on a store with a
// hundred thousand commits), and on the thread that serves FUSE every file
// operation of the mount would wait for them. The mount flushes its group
// commit before each request, so the worker's fresh connection sees every
// change made so far. A new read-only engine per request: nothing it caches
// can go stale between requests.
import { parentPort, workerData, Worker } from 'node:worker_threads';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openStore } from '../index.js';
import { LocalOps } from './ops.js';

export type HistoryMethod = 'log' | 'diff' | 'readAt' | 'rollbackPlan';
interface Job { id: number; method: HistoryMethod; params: unknown }
type Reply = { id: number; ok: unknown } | { id: number; err: { code?: string; message: string } };

if (parentPort && (workerData as { mikofsHistory?: boolean } | null)?.mikofsHistory) {
  const port = parentPort;
  const file = (workerData as { file: string }).file;
  port.on('message', (job: Job) => {
    void (async () => {
      let e: Awaited<ReturnType<typeof openStore>> | undefined;
      let reply: Reply;
      try {
        e = await openStore(file, { readonly: true, checkpointer: false });
        const ops = new LocalOps(e, file) as unknown as Record<HistoryMethod, (p: unknown) => Promise<unknown>>;
        reply = { id: job.id, ok: await ops[job.method](job.params) };
      } catch (err) {
        const x = err as { code?: string; message?: string };
        reply = { id: job.id, err: { code: x.code, message: x.message ?? String(err) } };
      } finally {
        e?.close();
      }
      port.postMessage(reply);
    })();
  });
}

/** One worker per mounted store, started on first use. */
export class HistoryWorker {
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; gone?: boolean }>();

  constructor(private readonly file: string) {}

  /** Whether it can run here: the compiled module exists (tests run the
   * TypeScript sources, where the caller answers in-thread instead). */
  static available(): boolean {
    return fs.existsSync(fileURLToPath(import.meta.url)) && import.meta.url.endsWith('.js');
  }

  /** signal: the asker went away (its CLI was interrupted or timed out).
   * A job cannot be stopped half way, but once every job the worker has is
   * for someone gone, the worker is dropped and the next request starts a
   * new one: a long log nobody waits for no longer holds up the commands
   * after it (found by the exploratory hunt, 2026-12-05). */
  run(method: HistoryMethod, params: unknown, signal?: AbortSignal): Promise<unknown> {
    const w = this.start();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.has(id)) return; // answered already
        job.gone = true;
        if ([...this.pending.values()].every((j) => j.gone)) this.close();
      };
      // The listener goes with the answer: a connection asks many times
      // (diff reads each changed file), and each left one behind
      // (MaxListenersExceededWarning in the mount's log; found 2026-12-05).
      const settled = () => signal?.removeEventListener('abort', onAbort);
      const job: { resolve: (v: unknown) => void; reject: (e: Error) => void; gone?: boolean } = {
        resolve: (v) => { settled(); resolve(v); },
        reject: (e) => { settled(); reject(e); },
      };
      this.pending.set(id, job);
      signal?.addEventListener('abort', onAbort, { once: true });
      w.postMessage({ id, method, params } satisfies Job);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL(import.meta.url), { workerData: { mikofsHistory: true, file: this.file }, execArgv: [] });
    w.unref(); // never what keeps the mount process alive
    w.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('ok' in r) p.resolve(r.ok);
      else p.reject(Object.assign(new Error(r.err.message), { code: r.err.code }));
    });
    const lost = (err: Error) => {
      if (this.worker !== w) return; // one dropped on purpose (close)
      this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`the history worker exited (${code})`)));
    this.worker = w;
    return w;
  }

  close(): void {
    const w = this.worker;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(Object.assign(new Error('cancelled'), { code: 'ECANCELED' }));
    this.pending.clear();
    void w?.terminate();
  }
}
