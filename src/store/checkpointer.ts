// Background WAL checkpoints on the other core.
//
// In WAL mode every page is written twice: once into the WAL at commit, once
// into the database file at checkpoint. Left to SQLite, the checkpoint runs
// inside whichever commit crosses the threshold, on the thread serving FUSE,
// and halves write throughput (measured: 224 MB/s with automatic checkpoints,
// 427 MB/s without). So the writing connection disables them and a worker
// thread with its own connection runs PASSIVE checkpoints, which never block
// the writer, while the main thread goes on.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(import.meta.url);

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
let stopped = false;
parentPort.on('message', (m) => {
  // Never close workerData.shmFd here: see walIndexFd.
  if (m === 'stop') {
    stopped = true;
    try { db.close(); } finally {
      Atomics.store(workerData.closed, 0, 1);
      Atomics.notify(workerData.closed, 0);
      parentPort.close();
    }
  }
  else if (m === 'now') { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick */ } }
});
const fs = require('node:fs');
const pageSize = db.pragma('page_size', { simple: true });
// What waits to be copied is read off the WAL index (the -shm file, in the
// layout sqlite.org/walformat.html documents, native byte order): mxFrame,
// the last valid frame, at byte 16 of its header, and nBackfill, the frames
// already copied, at byte 96 (after the header's two copies). The WAL
// file's size says nothing: it keeps its size once grown and is reused from
// its start. A checkpoint runs once thresholdBytes are waiting (bulk data:
// each checkpoint's fsync is shared by MiBs), or a
// second after a trickle of metadata began to wait: a page rewritten by
// every group commit (a directory, the commit log) is then copied once a
// second, not at every tick.
//
// Except while a burst of writes streams in (the WAL grew by burstBytes or
// more in a tick less than burstQuietMs ago): the WAL cannot start over
// before the writer pauses anyway (the checkpoint never catches up with
// it), so copying then only takes CPU and disk from the writer. The copy
// waits for the pause. On one CPU a pause is longer than one tick: a
// writer's stream has gaps of 50-100 ms (a garbage collection, a batch of
// chunks hashed before its commit), and a PASSIVE checkpoint started in
// one copies all that waits, on the writer's CPU (measured: 0.5 s of a
// pinned 512 MiB dd's 2.1 s; waiting 300 ms, the dd went from 256-371 to
// 411-422 MB/s). With a core of its own, a copy in such a gap costs the
// writer little (unpinned, 357-370 MB/s waiting 300 ms, 367-391 not).
const hdr = Buffer.alloc(100);
const shm = workerData.shmFd;
let waitingSince = 0, lastMx = 0, lastChangeAt = Date.now(), cutSinceChange = false, burstAt = 0;
// The WAL keeps the size a burst grew it to. Cutting it back is an ftruncate
// of up to the burst's size (68-88 ms after a 256 MiB write); SQLite does it
// (journal_size_limit) inside the first commit after the WAL starts over, on
// the thread serving FUSE. Here it is done instead, by a TRUNCATE checkpoint
// once everything is copied and the writer has paused, and only if it can
// have the write lock and every reader's slot at once (busy_timeout 0): it
// never waits while holding the lock. A write arriving while it truncates
// waits for it; one arriving after a large write's commit always did.
function walBytes() { try { return fs.statSync(workerData.file + '-wal').size; } catch { return 0; } }
/** Cuts the WAL back if it is over the limit; false when it was busy. */
function cutBack() {
  if (walBytes() <= workerData.walSizeLimit) return true;
  db.pragma('busy_timeout = 0');
  try { return db.pragma('wal_checkpoint(TRUNCATE)')[0].busy === 0; } finally { db.pragma('busy_timeout = 1000'); }
}
function frames() {
  if (shm < 0) return null;
  if (fs.readSync(shm, hdr, 0, 100, 0) < 100) return null;
  return { mx: hdr.readUInt32LE(16), done: hdr.readUInt32LE(96) };
}
function tick() {
  if (stopped) return;
  try {
    const f = frames();
    const pending = f && f.mx > f.done ? f.mx - f.done : 0;
    const grown = f ? (f.mx >= lastMx ? f.mx - lastMx : f.mx) : 0; // (a restarted WAL counts from 0)
    const now = Date.now();
    if (f && f.mx !== lastMx) { lastChangeAt = now; cutSinceChange = false; }
    if (f) lastMx = f.mx;
    if (pending === 0) waitingSince = 0;
    else if (waitingSince === 0) waitingSince = now;
    if (grown * pageSize >= workerData.burstBytes) burstAt = now;
    // Past the size limit the WAL must start over, which needs it all copied
    // when a write begins (the writer copies the last few MiB itself, see
    // Store.restartWalIfLong): copy at every tick, so little is left, unless
    // a burst streams in (it restarts at the burst's pause anyway).
    const long = f !== null && f.mx * pageSize >= workerData.walSizeLimit && now - burstAt >= workerData.burstQuietMs;
    if ((long && pending > 0) || checkpointDue(pending * pageSize, now - burstAt, now - waitingSince, workerData)) {
      db.pragma('wal_checkpoint(PASSIVE)');
      waitingSince = 0;
    } else if (f && pending === 0 && !cutSinceChange && now - lastChangeAt >= workerData.truncateIdleMs) {
      cutSinceChange = cutBack();
    }
  } catch { /* busy or closing: try again next tick */ }
  setTimeout(tick, workerData.intervalMs);
}
const checkpointDue = ${checkpointDue.toString()};
tick();
`;

export interface CheckpointPolicy { thresholdBytes: number; maxWaitMs: number; burstBytes: number; burstQuietMs: number }

/** Whether to copy the WAL now (the worker's rule, run there; self-contained
 * because its source is sent to the worker): bytes waiting, milliseconds
 * since the WAL last grew by burstBytes in a tick, how long the oldest
 * has waited. */
export function checkpointDue(pendingBytes: number, sinceBurstMs: number, waitedMs: number, p: CheckpointPolicy): boolean {
  if (pendingBytes <= 0) return false;
  if (sinceBurstMs < p.burstQuietMs) return false; // a burst streams in: copy at its pause
  return pendingBytes >= p.thresholdBytes || waitedMs >= p.maxWaitMs;
}

export interface CheckpointerOptions {
  /** WAL bytes above which the WAL is cut back once idle. */
  walSizeLimit: number;
  /** The writer and the checkpointer share one CPU (affinity): copies
   * wait for a real pause of the writer, not a gap of one tick. */
  sharedCpu?: boolean;
  /** Called if the worker dies: the writer must then limit the WAL itself. */
  onFail?: () => void;
}

// The WAL index is read through a file descriptor of our own, and closing
// any descriptor of a file drops every POSIX lock this process holds on it
// (fcntl semantics): SQLite's locks on the -shm included, those of the
// writing connection on the main thread too. A close while the writer was
// mid-transaction let another process take the WAL write lock beside it:
// two processes handing a store over in quick succession both appended
// and one commit was lost (reproduced: six processes each opening the
// store, snapshotting and closing, a duplicate commit id in 13 of 30
// rounds; 0 of 30 once the descriptor stayed open). So each -shm file is
// opened once per process, here on the main thread, and never closed while
// it exists: only once SQLite has unlinked it (the last connection of all
// processes closed) does its descriptor go, since no lock can live there.
const walIndexFds = new Map<string, number>();

function walIndexFd(file: string): number {
  const name = file + '-shm';
  for (const [n, fd] of walIndexFds) {
    try { if (fs.fstatSync(fd).nlink > 0) continue; } catch { /* closed elsewhere */ }
    walIndexFds.delete(n);
    try { fs.closeSync(fd); } catch { /* already */ }
  }
  const open = walIndexFds.get(name);
  if (open !== undefined) return open;
  let fd: number;
  try { fd = fs.openSync(name, 'r'); } catch { return -1; }
  walIndexFds.set(name, fd);
  return fd;
}

/** The WAL index header as the worker reads it: the last valid frame and
 * the frames already copied into the database file (null: no WAL index). */
export function walIndexFrames(file: string): { mx: number; done: number } | null {
  const fd = walIndexFd(file);
  const hdr = Buffer.alloc(100);
  if (fd < 0 || fs.readSync(fd, hdr, 0, 100, 0) < 100) return null;
  return { mx: hdr.readUInt32LE(16), done: hdr.readUInt32LE(96) };
}

export class Checkpointer {
  private worker: Worker | null;
  /** Set to 1 by the worker once its connection is closed. */
  private readonly closed = new Int32Array(new SharedArrayBuffer(4));

  constructor(file: string, opts: CheckpointerOptions, thresholdBytes = 32 << 20, intervalMs = 50, maxWaitMs = 1000, burstBytes = 4 << 20,
    truncateIdleMs = 1000, burstQuietMs = opts.sharedCpu ? 300 : intervalMs) {
    this.worker = new Worker(WORKER, {
      eval: true,
      execArgv: [], // see hasher.ts: never inherit --input-type and the like
      workerData: { file, shmFd: walIndexFd(file), sqlite: require.resolve('better-sqlite3'), thresholdBytes, intervalMs, maxWaitMs, burstBytes,
        burstQuietMs, walSizeLimit: opts.walSizeLimit, truncateIdleMs, closed: this.closed },
    });
    this.worker.unref();
    this.worker.on('error', () => { this.worker = null; opts.onFail?.(); });
  }

  /** A PASSIVE checkpoint now, whatever the WAL size (never blocks the writer). */
  now(): void { this.worker?.postMessage('now'); }

  /** Stops the worker and waits (up to 2 s: it may be copying) until its
   * connection is closed, so that nothing of it is under way when the
   * store's close copies the WAL and leaves WAL mode (a lock of the worker
   * then fails either at once, and the store stays in WAL mode: on
   * read-only media it can then not be read). CI on a loaded machine once
   * found a store so left (2026-12-05); the worker still running beside
   * the close is the one other connection of the process there. */
  stop(): void {
    if (!this.worker) return;
    this.worker.postMessage('stop');
    this.worker = null;
    Atomics.wait(this.closed, 0, 0, 2000);
  }
}
