// A consistent copy of a store file, with all its history, made while the
// store may be in use (mikofs backup). cp of a store that a mount writes
// copies the database file between the writer's and the checkpointer's
// writes and leaves the WAL behind: 3 copies of 12 were damaged. This copy
// is made with SQLite's online backup from a connection of its own that
// holds one read transaction for the whole copy (so the copy is the state
// at the moment it began, however much the mount writes meanwhile), page
// batch by page batch, into DEST.tmp; the copy is then freed of the
// source's writer lock, fsynced, opened read-only and checked (quick_check,
// the root directory, the newest commit), and only then renamed to DEST.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from './database.js';
import { MetaStore } from './meta-store.js';
import { intactMainBranch } from './intact.js';

export interface BackupProgress {
  stage: 'copy' | 'check';
  /** Bytes of the store copied so far, and in all (stage copy). */
  done: number;
  total: number;
}

export interface BackupOptions {
  /** Replace an existing DEST (and a DEST.tmp left by an interrupted backup). */
  force?: boolean;
  /** Pages copied per step (default 1024: 16 MiB at 16 KiB pages). Each
   * step runs on the calling thread, between other work. */
  stepPages?: number;
  onProgress?: (p: BackupProgress) => void;
}

export interface BackupReport {
  dest: string;
  /** Size of the copy (bytes). */
  bytes: number;
  /** Commits the copy holds, and its newest (what the store held when the copy began). */
  commits: number;
  head: number;
  headNs: string;
  copyMs: number;
  checkMs: number;
}

const err = (code: string, message: string): Error => Object.assign(new Error(message), { code });
const mib = (n: number): string => `${(n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0)} MiB`;

/** The files SQLite may keep beside a database, and the mount's control
 * socket (a backup there would be taken for a dead mount's socket). */
const SIDE = ['', '-journal', '-wal', '-shm', '.sock'];

function removeTmp(tmp: string): void {
  for (const s of SIDE) { try { fs.rmSync(tmp + s, { force: true }); } catch { /* gone */ } }
}

function code(e: unknown): string | undefined { return (e as { code?: string } | null)?.code; }

/** What is wrong with writing a copy to dest, before anything is written. */
function checkDest(file: string, dest: string, force: boolean): void {
  if (!path.isAbsolute(dest)) throw err('EINVAL', `the backup destination must be an absolute path (${dest})`);
  const dir = path.dirname(dest);
  let d: fs.Stats;
  try { d = fs.statSync(dir); } catch (e) {
    if (code(e) === 'ENOENT') throw err('ENOENT', `cannot write ${dest}: the directory ${dir} does not exist`);
    throw err(code(e) ?? 'EIO', `cannot write ${dest}: ${(e as Error).message}`);
  }
  if (!d.isDirectory()) throw err('ENOTDIR', `cannot write ${dest}: ${dir} is not a directory`);
  const abs = path.resolve(file);
  if (SIDE.some((s) => dest === abs + s)) throw err('EINVAL', `${dest} is the store itself (or its journal, or its control socket): name a new file`);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(dest); } catch { /* none: the usual case */ }
  if (st) {
    const src = fs.statSync(file);
    if (st.dev === src.dev && st.ino === src.ino) throw err('EINVAL', `${dest} is the store itself: name a new file`);
    if (st.isDirectory()) throw err('EISDIR', `${dest} is a directory`);
    // --force replaces a file, never a device or a socket (it renamed a
    // copy over /dev/null; found 2026-12-05).
    if (!st.isFile()) throw err('EINVAL', `${dest} is not a regular file: name a file to write the copy to`);
    if (!force) throw err('EEXIST', `${dest} exists (--force replaces it)`);
  }
  const tmp = dest + '.tmp';
  const left = SIDE.map((s) => tmp + s).filter((f) => fs.existsSync(f));
  if (left.length) {
    if (!force) {
      throw err('EEXIST', `${left.join(' and ')} ${left.length > 1 ? 'exist' : 'exists'}: another backup to ${dest} is under way, ` +
        'or one was interrupted (remove it, or --force replaces it)');
    }
    removeTmp(tmp);
  }
}

/** Copies the store file to dest (an absolute path). */
export async function backupStore(file: string, dest: string, opts: BackupOptions = {}): Promise<BackupReport> {
  checkDest(file, dest, !!opts.force);
  const dir = path.dirname(dest);
  const tmp = dest + '.tmp';
  const t0 = performance.now();
  const src = new Database(file, { readonly: true, fileMustExist: true });
  let created = false;
  const abandon = () => removeTmp(tmp);
  try {
    src.pragma('busy_timeout = 5000');
    // One read transaction for the whole copy: every step copies pages of
    // the same state (SQLite's backup would otherwise start over each time
    // the mount commits), and in WAL mode the writer goes on meanwhile.
    src.exec('BEGIN');
    const head = src.prepare('SELECT id, time_ns FROM commits ORDER BY id DESC LIMIT 1').safeIntegers(true)
      .get() as { id: bigint; time_ns: bigint } | undefined;
    if (!head) throw err('EINVAL', `${file} has no commits: not a mikofs store, or a damaged one`);
    const commits = Number(src.prepare('SELECT count(*) FROM commits').pluck().get());
    const pageSize = src.pragma('page_size', { simple: true }) as number;
    const need = (src.pragma('page_count', { simple: true }) as number) * pageSize;
    const fsst = fs.statfsSync(dir);
    const free = Number(fsst.bavail) * Number(fsst.bsize);
    if (free < need + 1048576) {
      throw err('ENOSPC', `no room for the copy in ${dir}: it needs ${mib(need)}, and the file system has ${mib(free)} free`);
    }
    // Made here, private to its owner as the store is (it holds every
    // version of every file), and exclusively: never someone else's file.
    try { fs.closeSync(fs.openSync(tmp, 'wx', 0o600)); } catch (e) {
      throw err(code(e) ?? 'EIO', `cannot write ${tmp}: ${(e as Error).message}`);
    }
    created = true;
    // Interrupted (Ctrl-C: cli/main.ts exits the process), the copy goes
    // too: it was left behind, with its journal, and refused the next
    // backup (found 2026-12-05).
    process.once('exit', abandon);
    const step = Math.max(1, Math.floor(opts.stepPages ?? 1024));
    opts.onProgress?.({ stage: 'copy', done: 0, total: need });
    await src.backup(tmp, {
      progress: ({ totalPages, remainingPages }) => {
        opts.onProgress?.({ stage: 'copy', done: (totalPages - remainingPages) * pageSize, total: totalPages * pageSize });
        return step;
      },
    });
    src.exec('COMMIT');
    src.close();
    const copyMs = performance.now() - t0;

    // The copy is not held by the source's writer (its pid is in the lock
    // row), and is left in rollback-journal mode, as a closed store is
    // (readable on read-only media).
    const c = new Database(tmp);
    try {
      c.prepare("DELETE FROM meta WHERE key = 'writer'").run();
      c.pragma('journal_mode = DELETE');
    } finally { c.close(); }
    const fd = fs.openSync(tmp, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }

    opts.onProgress?.({ stage: 'check', done: 0, total: need });
    const t1 = performance.now();
    checkCopy(tmp, dest, Number(head.id));
    const checkMs = performance.now() - t1;

    fs.renameSync(tmp, dest);
    created = false;
    process.off('exit', abandon);
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    return { dest, bytes: fs.statSync(dest).size, commits, head: Number(head.id), headNs: String(head.time_ns), copyMs, checkMs };
  } catch (e) {
    if (src.open) { try { if (src.inTransaction) src.exec('ROLLBACK'); } catch { /* closing anyway */ } src.close(); }
    if (created) { removeTmp(tmp); process.off('exit', abandon); }
    if (code(e) === 'SQLITE_FULL' || code(e) === 'ENOSPC') {
      const fsst = (() => { try { return fs.statfsSync(dir); } catch { return undefined; } })();
      const free = fsst ? `; ${mib(Number(fsst.bavail) * Number(fsst.bsize))} free now` : '';
      throw err('ENOSPC', (code(e) === 'ENOSPC' ? (e as Error).message : `the file system holding ${dir} is full: the copy did not fit${free}`) +
        ' (nothing was left behind)');
    }
    if (typeof code(e) === 'string' && code(e)!.startsWith('SQLITE_')) {
      throw err('EIO', `backup to ${dest} failed: ${(e as Error).message} (${code(e)}; nothing was left behind)`);
    }
    throw e;
  }
}

/** Opens a copy read-only and checks it: SQLite's quick_check, the store's
 * main branch and root directory, and its newest commit (head). */
export function checkCopy(file: string, name: string, head: number): void {
  // (The copy is page for page the store: what is wrong with it is most
  // likely wrong with the store.)
  const bad = (why: string) => err('EIO', `the copy at ${name} failed its check: ${why.replace(/\s*\n\s*/g, '; ')} (it was removed; ` +
    'the store itself is probably damaged the same way: mikofs verify says what it can read)');
  let db: Database.Database;
  try { db = openDatabase(file, { readonly: true }); } catch (e) { throw bad((e as Error).message); }
  try {
    const qc = db.pragma('quick_check') as { quick_check: string }[];
    if (qc.length !== 1 || qc[0].quick_check !== 'ok') throw bad(`SQLite quick_check: ${qc.slice(0, 3).map((r) => r.quick_check).join('; ')}`);
    try { intactMainBranch(new MetaStore(db), name); } catch (e) { throw bad((e as Error).message); }
    const last = db.prepare('SELECT max(id) FROM commits').pluck().get() as number | null;
    if (last !== head) throw bad(`its newest commit is c${last}, the store's was c${head}`);
  } finally { db.close(); }
}

const BACKUP_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.module).then(async (m) => {
  const r = await m.backupStore(workerData.file, workerData.dest, {
    ...workerData.opts, onProgress: (p) => parentPort.postMessage({ progress: p }),
  });
  parentPort.postMessage({ ok: r });
}).catch((e) => parentPort.postMessage({ err: { code: e && e.code, message: String((e && e.message) || e) } }));
`;

/** Whether backupInWorker can run here: the compiled module exists (tests
 * run the TypeScript sources, where the copy is made in-thread). */
export function backupWorkerAvailable(): boolean {
  return import.meta.url.endsWith('.js');
}

/** backupStore on a worker thread: a mounted store's FUSE requests are
 * served on the main thread, which the copy and its check then never
 * hold up (a quick_check of a large store reads all of it). */
export async function backupInWorker(file: string, dest: string, opts: BackupOptions = {}, signal?: AbortSignal): Promise<BackupReport> {
  const { Worker } = await import('node:worker_threads');
  const { onProgress, ...plain } = opts;
  return new Promise<BackupReport>((resolve, reject) => {
    const w = new Worker(BACKUP_WORKER, { eval: true, execArgv: [], workerData: { module: import.meta.url, file, dest, opts: plain } });
    // The mount exits (unmounted) while the copy runs: the worker dies with
    // the process, before its own cleanup; its DEST.tmp goes here (it was
    // left behind, full size, and refused the next backup).
    const abandon = () => removeTmp(dest + '.tmp');
    process.once('exit', abandon);
    // Whoever asked went away (Ctrl-C of the command): the copy stops and
    // goes (it went on to the end; found 2026-12-05).
    const cancel = () => {
      void w.terminate().then(() => {
        process.off('exit', abandon);
        abandon();
        reject(Object.assign(new Error('the backup was cancelled: its caller went away'), { code: 'ECANCELED' }));
      });
    };
    signal?.addEventListener('abort', cancel, { once: true });
    w.on('message', (m: { progress?: BackupProgress; ok?: BackupReport; err?: { code?: string; message: string } }) => {
      if (m.progress) { onProgress?.(m.progress); return; }
      process.off('exit', abandon);
      signal?.removeEventListener('abort', cancel);
      void w.terminate();
      if (m.ok) resolve(m.ok);
      else reject(Object.assign(new Error(m.err?.message ?? 'backup failed'), { code: m.err?.code }));
    });
    w.once('error', reject);
    w.once('exit', (c) => reject(new Error(`the backup worker exited (${c})`)));
  });
}
