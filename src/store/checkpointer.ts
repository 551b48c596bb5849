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
function tick() {
  if (stopped) return;
  try {
    const walBytes = require('node:fs').statSync(workerData.file + '-wal', { throwIfNoEntry: false })?.size ?? 0;
    if (walBytes > workerData.thresholdBytes) db.pragma('wal_checkpoint(PASSIVE)');
  } catch { /* busy or closing: try again next tick */ }
  setTimeout(tick, workerData.intervalMs);
}
tick();
`;

export class Checkpointer {
  private worker: Worker | null;

  constructor(file: string, thresholdBytes = 32 << 20, intervalMs = 50) {
    this.worker = new Worker(WORKER, {
      eval: true,
      execArgv: [], // see hasher.ts: never inherit --input-type and the like
      workerData: { file, sqlite: require.resolve('better-sqlite3'), thresholdBytes, intervalMs },
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
