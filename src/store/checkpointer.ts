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

const require = createRequire(import.meta.url);

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
let stopped = false;
parentPort.on('message', (m) => {
  if (m === 'stop') { stopped = true; db.close(); parentPort.close(); }
  else if (m === 'now') { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick */ } }
});
const pageSize = db.pragma('page_size', { simple: true });
// The WAL file keeps its size once grown (it is reused from its start), so
// its size says whether checkpoints are due at all, not how much is new.
// What the last checkpoint copied says that: bulk data (MiBs) keeps the
// short interval, a trickle of metadata backs off up to a second, so that
// a page rewritten by every group commit (a directory, the commit log) is
// copied once a second, not twenty times.
let interval = workerData.intervalMs, lastLog = 0, lastDone = 0;
function tick() {
  if (stopped) return;
  try {
    const walBytes = require('node:fs').statSync(workerData.file + '-wal', { throwIfNoEntry: false })?.size ?? 0;
    if (walBytes > workerData.thresholdBytes) {
      const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
      const copied = r.log >= lastLog ? r.checkpointed - lastDone : r.checkpointed;
      lastLog = r.log; lastDone = r.checkpointed;
      interval = copied * pageSize >= workerData.bulkBytes ? workerData.intervalMs : Math.min(interval * 2, workerData.maxIntervalMs);
    }
  } catch { /* busy or closing: try again next tick */ }
  setTimeout(tick, interval);
}
tick();
`;

export class Checkpointer {
  private worker: Worker | null;

  constructor(file: string, thresholdBytes = 32 << 20, intervalMs = 50, maxIntervalMs = 1000, bulkBytes = 4 << 20) {
    this.worker = new Worker(WORKER, {
      eval: true,
      execArgv: [], // see hasher.ts: never inherit --input-type and the like
      workerData: { file, sqlite: require.resolve('better-sqlite3'), thresholdBytes, intervalMs, maxIntervalMs, bulkBytes },
    });
    this.worker.unref();
    this.worker.on('error', () => { this.worker = null; });
  }

  /** A PASSIVE checkpoint now, whatever the WAL size (never blocks the writer). */
  now(): void { this.worker?.postMessage('now'); }

  stop(): void {
    if (!this.worker) return;
    this.worker.postMessage('stop');
    this.worker = null;
  }
}
