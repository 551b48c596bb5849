// Store: one SQLite file (or memory) holding a mikofs filesystem. Owns the
// connection, the single-writer lock, group commit and the commit clock.
// Knows nothing of paths or FUSE.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase, openError, MEMORY, StoreLockedError, type Db } from './database.js';
import { ChunkStore } from './chunk-store.js';
import { MetaStore } from './meta-store.js';
import { initHash } from './hash.js';
import { initCodec } from './codec.js';
import { Checkpointer, walIndexFrames } from './checkpointer.js';
import { ParallelHasher } from './hasher.js';
import { SpaceGuard, type SpaceGuardOptions } from './space-guard.js';
import { processStartTime, bootId } from './process-identity.js';
import { intactMainBranch } from './intact.js';

export { MEMORY, StoreLockedError };

/** Fixed chunk size of new stores (recorded in meta, so part of the format).
 * 512 KiB: large enough that SQLite blob inserts run near 450 MB/s with
 * 16 KiB pages, small enough that an xdelta3 source + target pair stays
 * within its fixed wasm memory. */
export const DEFAULT_CHUNK_SIZE = 512 * 1024;
/** Bytes of WAL kept on disk once a write burst is checkpointed. */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** WAL bytes kept on disk near a full disk, for deletes and GC (reclaimWal). */
const WAL_FLOOR = 2 * 1024 * 1024;
/** What the writer copies itself to start a long WAL over (see restartWalIfLong).
 * 8 MiB stalled a gc slice 120-140 ms (the copy and its fsync); 1 MiB, 45 ms. */
const WAL_CATCH_UP_BYTES = 1024 * 1024;
/** Live inode numbers stay below 2^31: the mount shows history inodes as
 * 0x80000000 | n, and the FUSE binding carries 32-bit inode numbers. */
export const MAX_INO = 0x80000000;
/** Files up to this size keep their bytes in the inode row. */
export const INLINE_MAX = 4096;

export interface StoreOptions {
  readonly?: boolean;
  /** Metadata commits are grouped into one SQLite transaction for at most
   * this long (ms). 0 commits every operation on its own. */
  groupCommitMs?: number;
  /** The window under a stream of changes (ms, default 5 x groupCommitMs):
   * a group that begins within groupCommitMs of the last one's commit is
   * held this long (see begin). */
  groupCommitStreamMs?: number;
  /** Who holds the store open for writing, shown to a refused second writer. */
  holder?: string;
  /** The chunk size of a new store (a store keeps the one it was made
   * with): at least INLINE_MAX. Tests use small chunks to cross many chunk
   * boundaries with little data. */
  chunkSize?: number;
  /** Wall clock in nanoseconds since the epoch (default: the system clock).
   * Tests and benchmarks inject one to drive time-based history policies. */
  clock?: () => bigint;
  /** Bytes of WAL kept on disk once a write burst is checkpointed
   * (default WAL_SIZE_LIMIT). */
  walSizeLimit?: number;
  /** How free space on the store's file system is watched (space-guard.ts). */
  space?: SpaceGuardOptions;
  /** Checkpoints in a background worker (default true). A short-lived
   * writer (a CLI command) has no use for the thread: SQLite checkpoints
   * inline, and closing checkpoints the rest. */
  checkpointer?: boolean;
}

/** What becomes of a chunk sent to the hasher: called with its address
 * and its bytes (handed back), on this thread, in submission order. */
export type HashDone = (hash: Buffer, data: Buffer) => void;

/** Whether this process may run on more than one CPU (taskset confines it
 * to one): only then do the hash worker and reading ahead pay. */
const MULTI_CPU = os.availableParallelism() > 1;

/** An engine writing through this store. It holds rows that a rolled-back
 * group transaction may have made (groupLost: told the generation of the
 * group, Store.group, and why it was lost), and bytes its writers were
 * given that have not reached the store yet (unwritten: what the space
 * guard still owes for once the WAL is emptied). */
export interface StoreWriter {
  groupLost(group: number, err: unknown): void;
  unwritten(): number;
}

/** SQLite could not grow the store: the disk is full. Thrown to callers as
 * an error with code ENOSPC (errno 28), as fs calls report it. */
export function diskFullError(e: unknown): unknown {
  if ((e as { code?: unknown } | null)?.code !== 'SQLITE_FULL') return e;
  return Object.assign(new Error('ENOSPC: the disk holding the store is full'), { code: 'ENOSPC', errno: 28, cause: e });
}

/** The writer lock (meta key 'writer'). start and boot (since 2026-12)
 * tell the holder from an unrelated process later given its pid (after a
 * kill -9 or a reboot); a lock written without them is judged by its pid
 * alone, as before. */
export interface WriterInfo { pid: number; host: string; holder: string; since: string; start?: string; boot?: string }

const optional = <K extends string>(k: K, v: string | undefined) => (v === undefined ? {} : { [k]: v } as Record<K, string>);

function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
  // A zombie (exited, not yet reaped by its parent) holds no lock.
  try { return !/^\d+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return !fs.existsSync('/proc/self/stat'); }
}

/** Whether the process a lock of this host names still holds it: it lives,
 * and (when the lock says) in the same boot, started when the lock's
 * holder did. A pid reused after a crash or a reboot holds nothing. Where
 * /proc cannot say (hidepid), a live pid is taken to hold it. */
function holds(w: WriterInfo): boolean {
  if (w.boot !== undefined) {
    const b = bootId();
    if (b !== undefined && b !== w.boot) return false;
  }
  if (!alive(w.pid)) return false;
  if (w.start === undefined) return true;
  const start = processStartTime(w.pid);
  return start === undefined || start === w.start;
}

/** Whether a lock was written on this machine, where its holder can be
 * looked for: the same boot of the same kernel (a process in another UTS
 * namespace, a container or `unshare --uts`, has another hostname and the
 * same boot id), or, for locks without a boot id, the same hostname. (Until
 * 2026-12-05 another hostname was taken for another machine, whose lock
 * cannot be checked and was taken over: two writers on one store.) */
/** The writer is inside a transaction that outlasted busy_timeout (a gc
 * stopped with Ctrl-Z): who, from its lock row, as when it is between two
 * (this came out as SQLite's "database is locked"; found 2026-12-05). */
function busyError(file: string, row: string | undefined): StoreLockedError {
  let w: WriterInfo | undefined;
  try { w = row ? JSON.parse(row) as WriterInfo : undefined; } catch { /* not ours */ }
  if (w && w.pid !== process.pid && sameMachine(w) && holds(w)) {
    return new StoreLockedError(`store ${file} is already open for writing by process ${w.pid} (${w.holder}, since ${w.since}), ` +
      'which has kept it busy for seconds (stopped?)', w.holder);
  }
  return new StoreLockedError(`store ${file} is busy: another program holds its write lock`);
}

/** The writer lock row, read on a connection of its own (reading waits for no writer). */
function readWriterRow(file: string): string | undefined {
  try {
    const db = openDatabase(file, { readonly: true });
    try { return db.prepare("SELECT value FROM meta WHERE key = 'writer'").pluck().get() as string | undefined; } finally { db.close(); }
  } catch { return undefined; }
}

function sameMachine(w: WriterInfo): boolean {
  if (w.boot !== undefined && w.boot === bootId()) return true;
  return w.host === os.hostname();
}

export class Store {
  readonly db: Db;
  readonly meta: MetaStore;
  readonly chunks: ChunkStore;
  readonly chunkSize: number;
  readonly readonly: boolean;
  readonly memory: boolean;
  readonly groupCommitMs: number;
  readonly groupCommitStreamMs: number;
  /** When the last group transaction committed (performance.now()). */
  private flushedAt = -Infinity;
  /** Free space on the file system holding the store (refuses what it cannot take). */
  readonly space: SpaceGuard;
  /** Generation of the open (or last) group transaction: one more per BEGIN. */
  group = 0;
  private lastTimeNs = 0n;
  private lastCommitId = 0;
  private nextIno = 2;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private mainBranch = 1;
  private checkpointer: Checkpointer | null = null;
  private readonly clock: (() => bigint) | null;
  private readonly newChunkSize: number | undefined;
  /** Hashes on another thread: full chunks of write sessions, and chunks
   * read ahead (ChunkStore.prefetch); each result goes to its submitter. */
  private hasherInstance: ParallelHasher<HashDone> | null = null;
  get hasher(): ParallelHasher<HashDone> {
    // Confined to one CPU (taskset), the worker could only take turns with
    // this thread: hashing here costs the same without the handoffs.
    this.hasherInstance ??= new ParallelHasher<HashDone>((hash, data, done) => done(hash, data), 8, MULTI_CPU);
    return this.hasherInstance;
  }

  private constructor(readonly file: string, opts: StoreOptions) {
    this.memory = file === MEMORY;
    this.readonly = !!opts.readonly;
    this.groupCommitMs = opts.groupCommitMs ?? 5;
    this.groupCommitStreamMs = Math.max(this.groupCommitMs, opts.groupCommitStreamMs ?? 5 * this.groupCommitMs);
    this.clock = opts.clock ?? null;
    this.newChunkSize = opts.chunkSize;
    this.space = new SpaceGuard(this.memory || this.readonly ? null : path.dirname(path.resolve(file)), opts.space);
    // The WAL keeps the size of the last burst of writes until the
    // checkpointer cuts it back after a second of quiet: on a full disk that
    // space is given back at once, before anything is refused.
    this.space.onReclaim(() => this.depth === 0 && this.reclaimWal());
    this.space.onUnwritten(() => {
      let n = 0;
      for (const r of this.writers) n += r.deref()?.unwritten() ?? 0;
      return n;
    });
    try { this.db = openDatabase(file, { readonly: this.readonly }); } catch (e) {
      // Switching to WAL mode waits for a writer's lock too.
      if ((e as { code?: string }).code === 'SQLITE_BUSY') throw busyError(file, readWriterRow(file));
      throw e;
    }
    try {
      this.meta = new MetaStore(this.db);
      this.chunks = new ChunkStore(this.db);
      if (!this.readonly) this.acquire(opts.holder ?? `pid ${process.pid}`);
      if (this.meta.getMeta('chunk_size') === undefined) this.initialize();
      this.chunkSize = Number(this.meta.getMeta('chunk_size'));
      const last = this.meta.lastCommit();
      if (last) { this.lastCommitId = last.id; this.lastTimeNs = last.time_ns; }
      const maxIno = this.db.prepare('SELECT max(ino) FROM inodes').pluck().get() as number | null;
      this.nextIno = (maxIno ?? 1) + 1;
      this.mainBranch = intactMainBranch(this.meta, this.file); // refuses a damaged copy
      if (!this.readonly) this.recover();
      if (!this.readonly && !this.memory && opts.checkpointer !== false) {
        this.db.pragma('wal_autocheckpoint = 0');
        // A burst of writes (a large file) grows the WAL to its size: the
        // background checkpointer copies frames while the writer appends
        // more, so the WAL cannot start over until the burst ends. The
        // checkpointer also gives the disk space back, off this thread
        // (see checkpointer.ts); only if it dies does SQLite do it here
        // (journal_size_limit: at the first commit after the WAL restarts).
        const limit = Math.max(0, Math.floor(opts.walSizeLimit ?? WAL_SIZE_LIMIT));
        this.walSizeLimit = limit;
        this.pageSize = this.db.pragma('page_size', { simple: true }) as number;
        this.checkpointer = new Checkpointer(file, {
          walSizeLimit: limit,
          sharedCpu: !MULTI_CPU,
          onFail: () => { try { this.db.pragma(`journal_size_limit = ${limit}`); } catch { /* closed */ } },
        });
      }
    } catch (e) {
      this.db.close();
      throw openError(e, file, !!opts.readonly);
    }
  }

  static async open(file: string, opts: StoreOptions = {}): Promise<Store> {
    await initHash();
    await initCodec();
    const s = new Store(file, opts);
    if (!s.memory) closeAtExit(s);
    if (!s.readonly) {
      await s.hasher.ready();
      // Verifying chunks read ahead on the other core pays only when there
      // is one: confined to one CPU the handoff is pure overhead.
      if (!s.memory && MULTI_CPU) s.chunks.verifyAheadWith(s.hasher);
    }
    return s;
  }

  get main(): number { return this.mainBranch; }
  get headCommit(): number { return this.lastCommitId; }

  /** Read-only stores: whether another process committed since the last
   * call (SQLite's data_version), the head commit then read again. A writer
   * elsewhere (a mount beside a `-o ro` mount of the same store) changes the
   * file behind this connection; what is cached of it must then go. */
  externalChange(): boolean {
    this.dataVersionStmt ??= this.db.prepare('PRAGMA data_version').pluck();
    const v = this.dataVersionStmt.get() as number;
    if (v === this.seenDataVersion) return false;
    this.seenDataVersion = v;
    const last = this.meta.lastCommit();
    if (last) { this.lastCommitId = last.id; this.lastTimeNs = last.time_ns; }
    return true;
  }
  private dataVersionStmt: Database.Statement | undefined;
  private seenDataVersion = -1;

  // --- single writer -----------------------------------------------------------

  /** Records this process as the store's only writer, refusing when another
   * live process holds it. Read-only openers never take the lock. */
  private acquire(holder: string): void {
    if (this.memory) return;
    try { this.takeWriter(holder); } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
      throw busyError(this.file, (() => { try { return this.meta.getMeta('writer') as string | undefined; } catch { return undefined; } })());
    }
  }

  private takeWriter(holder: string): void {
    this.db.transaction(() => {
      const raw = this.meta.getMeta('writer') as string | undefined;
      if (raw) {
        const w = JSON.parse(raw) as WriterInfo;
        if (w.pid !== process.pid && sameMachine(w) && holds(w)) {
          throw new StoreLockedError(
            `store ${this.file} is already open for writing by process ${w.pid} (${w.holder}, since ${w.since})`, w.holder);
        }
      }
      const me: WriterInfo = { pid: process.pid, host: os.hostname(), holder, since: new Date().toISOString(),
        ...optional('start', processStartTime(process.pid)), ...optional('boot', bootId()) };
      this.meta.setMeta('writer', JSON.stringify(me));
    }).immediate();
  }

  writer(): WriterInfo | undefined {
    const raw = this.meta.getMeta('writer') as string | undefined;
    if (!raw) return undefined;
    const w = JSON.parse(raw) as WriterInfo;
    return sameMachine(w) && !holds(w) ? undefined : w;
  }

  private initialize(): void {
    if (this.readonly) throw new Error('store is not initialized');
    this.db.transaction(() => {
      const now = this.clock ? this.clock() : BigInt(Date.now()) * 1000000n;
      this.meta.setMeta('chunk_size', Math.max(INLINE_MAX, this.newChunkSize ?? DEFAULT_CHUNK_SIZE));
      this.meta.setMeta('created', new Date().toISOString());
      const main = this.meta.insertBranch('main', 'main', null, null, now, null);
      const c = this.meta.insertCommit(main, now, 'init', 'create filesystem');
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      this.meta.putInode(main, c, {
        ino: 1, mode: 0o040755, uid, gid, nlink: 2, size: 0, rdev: 0,
        atime: now, mtime: now, ctime: now, btime: now, target: null, inline: null,
      });
    }).immediate();
  }

  /** Write sessions of a process that died are discarded: their staged
   * chunks go, committed versions were never touched. */
  private recover(): void {
    const dead = this.meta.sessionBranches().filter((b) => b.owner_pid !== process.pid || this.memory);
    if (!dead.length) return;
    this.db.transaction(() => { for (const b of dead) this.meta.dropSession(b.id); }).immediate();
  }

  // --- clock, commits, inode numbers ------------------------------------------

  /** Wall-clock nanoseconds for file times. */
  now(): bigint {
    if (this.clock) return this.clock();
    return BigInt(Date.now()) * 1000000n + (process.hrtime.bigint() % 1000000n);
  }

  /** Commit time: wall clock, but never earlier than the previous commit. */
  private commitTime(): bigint {
    let t = this.clock ? this.clock() : BigInt(Date.now()) * 1000000n;
    if (t <= this.lastTimeNs) t = this.lastTimeNs + 1n;
    this.lastTimeNs = t;
    return t;
  }

  newCommit(branch: number, kind: string, message: string | null = null): number {
    const id = this.meta.insertCommit(branch, this.commitTime(), kind, message);
    this.lastCommitId = id;
    return id;
  }

  /** A new inode number; ENOSPC once the 31-bit space is used up. */
  allocIno(): number {
    if (this.nextIno >= MAX_INO) throw Object.assign(new Error('ENOSPC: no inode numbers left'), { code: 'ENOSPC', errno: 28 });
    return this.nextIno++;
  }
  inodesAllocated(): number { return this.nextIno - 1; }

  /** The first commit id of the open group transaction: commits from it on
   * have not reached the file yet. */
  private batchFirst = Number.MAX_SAFE_INTEGER;
  /** Whether commit c is still inside the open group transaction. */
  uncommitted(c: number): boolean { return this.db.inTransaction && c >= this.batchFirst; }

  /** Commits up to here are referred to (a label, a snapshot, a pinned
   * reader, a history view): their state is final. */
  private sealedThrough = 0;
  /** Marks the state at commit c as referred to: no later change amends it. */
  seal(c: number): void { if (c > this.sealedThrough) this.sealedThrough = c; }
  /** Whether a change may amend commit c instead of making a commit of its
   * own: c has not reached the file (it is in the open group transaction,
   * under groupCommitMs old) and nothing refers to its state. tar, cp -p
   * and git set a file's owner, mode and times right after writing it;
   * those land in the version that wrote it instead of making three more. */
  amendable(c: number): boolean { return c > this.sealedThrough && this.uncommitted(c); }

  // --- group commit -----------------------------------------------------------

  /** A WAL starts over only when a write begins with every frame of it
   * copied into the database file. Under writes that never pause (a file
   * rewritten every 50 ms) the background checkpointer never gets there:
   * each copy ends with the frames appended while it ran still waiting,
   * and the WAL grew without end (1.5 GB in a minute at 18 MB/s). So once
   * it is past the size limit, and what waits is small (the checkpointer
   * has just caught up), this copies the rest itself before the next group
   * begins, which then starts the WAL over: a short pause (a MiB or two and
   * an fsync) once per limit's worth of writes, the checkpointer copying at
   * every tick meanwhile. Checked every 100 ms. */
  private restartWalIfLong(): void {
    if (!this.checkpointer) return;
    // Near a full disk, every write starts the WAL over, so that it reuses
    // the file's own blocks instead of asking the disk for more: deletes
    // (never refused) and garbage collection, which make room, could
    // otherwise grow the WAL into the last free bytes and then fail there
    // themselves (found by the crash hunt, 2026-12-05: 1,100 unlinks took
    // the last 9 MiB of a 64 MiB disk, and nothing could free space after).
    const tight = this.space.tight();
    const now = performance.now();
    if (!tight && now - this.walCheckedAt < 100) return;
    this.walCheckedAt = now;
    const f = walIndexFrames(this.file);
    if (!f || f.mx === 0 || f.mx * this.pageSize < (tight ? 0 : this.walSizeLimit)) return;
    if (!tight && (f.mx - f.done) * this.pageSize > WAL_CATCH_UP_BYTES) return;
    try { this.db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next begin */ }
  }
  private walCheckedAt = 0;
  private pageSize = 0;
  private walSizeLimit = WAL_SIZE_LIMIT;

  /** Makes sure a write transaction is open; it commits within groupCommitMs,
   * or groupCommitStreamMs under a stream of changes. */
  begin(): void {
    if (this.readonly) throw new Error('store is open read-only');
    if (this.db.inTransaction) return;
    this.restartWalIfLong();
    this.db.exec('BEGIN IMMEDIATE');
    this.group++;
    this.batchFirst = this.lastCommitId + 1;
    // A failed COMMIT here has been reported (loseGroup) and is nobody's
    // to answer: the changes it held were acknowledged already.
    const commitLater = () => { try { this.flush(); } catch { /* reported */ } };
    if (this.groupCommitMs > 0) {
      // A change right after a commit means a stream (tar, git, a build):
      // each COMMIT writes every page the group dirtied to the WAL, and a
      // stream dirties the same few B-tree pages over and over, so a longer
      // window writes each of them fewer times (tar -x of 10,000 files, then
      // git add and commit: 2,028 commits taking 1.49 s at 5 ms, 417 taking
      // 0.55 s with this; README, Group commit).
      // An isolated change (an editor's save) still commits within 5 ms.
      const stream = performance.now() - this.flushedAt < this.groupCommitMs;
      this.timer = setTimeout(commitLater, stream ? this.groupCommitStreamMs : this.groupCommitMs);
    } else {
      queueMicrotask(commitLater);
    }
  }

  /** Commits the open transaction, if any. If SQLite cannot (disk full, an
   * I/O error), the group is lost as in a crash (loseGroup) and the error
   * is thrown to the caller. */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (!this.db.inTransaction) return;
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      this.loseGroup(e);
      throw diskFullError(e);
    } finally {
      this.flushedAt = performance.now();
    }
  }

  // --- losing a group transaction ----------------------------------------------

  private groupLost: ((err: unknown) => void)[] = [];
  /** fn runs after the open group transaction was rolled back as a whole
   * (see loseGroup): whoever caches rows, or told the kernel about them,
   * must forget them. */
  onGroupLost(fn: (err: unknown) => void): void { this.groupLost.push(fn); }

  /** Engines writing through this store (StoreWriter), held weakly: an
   * engine for a branch is made per call (Engine.branch) and dropped by its
   * user, and must not stay reachable from the store for that. */
  private writers = new Set<WeakRef<StoreWriter>>();
  watchWriter(x: StoreWriter): void {
    if (this.writers.size >= 64) for (const r of this.writers) if (!r.deref()) this.writers.delete(r);
    this.writers.add(new WeakRef(x));
  }
  /** Engines writing through this store that are still alive. */
  watchers(): number { let n = 0; for (const r of this.writers) if (r.deref()) n++; return n; }

  /** The group transaction cannot be committed, or a change failed half
   * way without a savepoint (direct): roll the whole group back. What it
   * held (at most groupCommitMs of changes) is lost, exactly as if the
   * process had crashed then; every committed state stays intact. */
  private loseGroup(err: unknown): void {
    this.lostGroup = this.group;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    try { if (this.db.inTransaction) this.db.exec('ROLLBACK'); } catch { /* SQLite rolled it back itself */ }
    this.lastCommitId = this.meta.lastCommit()?.id ?? 0;
    const why = (err as Error)?.message ?? String(err);
    process.stderr.write(`mikofs: the changes of the last ${this.groupCommitMs} ms were rolled back: ${why}\n`);
    for (const r of this.writers) {
      const x = r.deref();
      if (!x) { this.writers.delete(r); continue; }
      try { x.groupLost(this.group, err); } catch { /* one must not stop the others */ }
    }
    for (const fn of this.groupLost) {
      try { fn(err); } catch { /* a listener must not stop the others */ }
    }
  }

  /** Commits and makes everything committed so far durable on disk. */
  sync(): void {
    // The synchronous level cannot change inside the open group transaction.
    this.flush();
    if (this.memory) return;
    this.db.pragma('synchronous = FULL');
    try {
      this.begin();
      this.meta.setMeta('synced', new Date().toISOString());
      this.flush();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Runs fn as one atomic step inside the group transaction (a savepoint):
   * if it throws, none of its writes remain. */
  private tx: ((fn: () => unknown) => unknown) | null = null;

  atomic<T>(fn: () => T): T {
    this.begin();
    this.tx ??= this.db.transaction((f: () => unknown) => f());
    let out: T;
    this.depth++;
    try {
      out = this.tx(fn) as T;
    } catch (e) {
      // The savepoint is gone; so is any commit id it allocated.
      if (this.db.inTransaction) this.lastCommitId = this.meta.lastCommit()?.id ?? 0;
      else this.loseGroup(e); // SQLite rolled the whole group back (disk full, I/O)
      throw diskFullError(e);
    } finally {
      this.depth--;
    }
    this.commitIfTight();
    return out;
  }

  /** A statement run outside atomic/direct (staging a chunk) failed: if
   * SQLite rolled the whole group back with it (disk full, I/O error), the
   * group is lost like a failed COMMIT (loseGroup). */
  failed(err: unknown): void {
    if (!this.db.inTransaction && this.lostGroup !== this.group) this.loseGroup(err);
  }
  /** The generation of the last group lost (loseGroup runs once per group). */
  private lostGroup = -1;

  /** Near a full disk (SpaceGuard.tight) a change commits before it is
   * answered: if the disk cannot take it, it fails, and only it. */
  commitIfTight(): void {
    // Not from inside another change (its savepoint would be committed
    // under it): the outermost one commits when it ends.
    if (this.depth === 0 && this.db.inTransaction && this.space.tight()) this.flush();
  }
  /** atomic/direct calls running (nested ones included). */
  private depth = 0;

  /** Runs fn inside the group transaction without a savepoint, for changes
   * that check everything they can fail on before their first write: what
   * can still fail after it is SQLite itself (disk full, I/O). A savepoint
   * costs each change a copy of every page it touches (15-25 us of a 50-90
   * us create, link or unlink); a change that does fail after writing
   * loses the whole group (loseGroup), as a crash would. */
  direct<T>(fn: () => T): T {
    this.begin();
    this.changesStmt ??= this.db.prepare('SELECT total_changes()').pluck();
    const before = this.changesStmt.get();
    let out: T;
    this.depth++;
    try {
      out = fn();
    } catch (e) {
      if (this.db.inTransaction && this.changesStmt.get() === before) {
        this.lastCommitId = this.meta.lastCommit()?.id ?? 0;
        throw diskFullError(e); // failed before its first write: nothing to undo
      }
      this.loseGroup(e);
      throw diskFullError(e);
    } finally {
      this.depth--;
    }
    this.commitIfTight();
    return out;
  }
  private changesStmt: Database.Statement | null = null;

  prepare(sql: string): Database.Statement { return this.db.prepare(sql); }

  /** Asks the background checkpointer to copy the WAL into the database
   * file now (after garbage collection, so the file shrinks). */
  requestCheckpoint(): void { this.checkpointer?.now(); }

  /** Copies the whole WAL into the database file and empties it, now
   * (blocking). The background checkpointer may be mid-checkpoint (SQLite
   * then answers busy at once): retry for up to half a second. */
  checkpointTruncate(): boolean {
    if (this.memory || this.readonly) return true;
    this.flush();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50; i++) {
      let busy = 1;
      try { busy = (this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy ?? 0; } catch { return false; }
      if (!busy) return true;
      Atomics.wait(nap, 0, 0, 10);
    }
    return false;
  }

  /** Gives the WAL's space back to the disk before a refusal (SpaceGuard),
   * keeping WAL_FLOOR of it: near a full disk the WAL starts over at every
   * write and reuses its own blocks (restartWalIfLong), which is all that
   * deleting and garbage collection need when another program has taken
   * every free byte; a WAL cut to nothing would have to grow first, and
   * could not (found by the crash hunt, 2026-12-05: a reclaim for a refused
   * write gave the WAL away, another program took it, and unlink failed).
   * SQLite cuts a restarted WAL to journal_size_limit at its next commit:
   * everything is copied (RESTART), and one small commit follows. True when
   * every frame is in the database file. */
  private reclaimWal(): boolean {
    if (this.memory || this.readonly) return true;
    let size = 0;
    try { size = fs.statSync(this.file + '-wal').size; } catch { return this.checkpointTruncate(); }
    this.flush();
    // The background checkpointer may be mid-copy (SQLite then answers busy
    // at once, without waiting): wait for it, as checkpointTruncate does.
    // Returning at once refused a write that the space about to be given
    // back would have taken (found by CI on a loaded machine, 2026-12-05).
    let busy = 1;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 50 && busy; i++) {
      if (i) Atomics.wait(nap, 0, 0, 10);
      try { busy = (this.db.pragma('wal_checkpoint(RESTART)') as { busy: number }[])[0]?.busy ?? 0; } catch { return false; }
    }
    if (busy || size <= WAL_FLOOR) return !busy;
    try {
      this.db.pragma(`journal_size_limit = ${WAL_FLOOR}`);
      this.db.transaction(() => this.meta.setMeta('wal.reclaimed', new Date().toISOString()))();
    } catch { /* the disk is full: the WAL keeps its size */ } finally {
      try { this.db.pragma('journal_size_limit = -1'); } catch { /* closed */ }
    }
    return true;
  }

  /** A closed store is left in rollback-journal mode (the next writable
   * open turns WAL on again): a WAL-mode file can only be read where its
   * -shm index can be made, so a store copied to read-only media (a backup
   * disk, a read-only snapshot or bind mount) could not even be listed.
   * Only when no other connection has the file open (SQLite refuses
   * otherwise, at once: no busy wait at close). */
  private leaveWal(): void {
    try {
      this.db.pragma('busy_timeout = 0');
      this.db.pragma('journal_mode = DELETE');
    } catch { /* another reader has it open: it stays in WAL mode */ }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    openStores.delete(this);
    this.hasherInstance?.close();
    this.checkpointer?.stop();
    if (!this.readonly) {
      this.flush();
      if (!this.memory) {
        this.db.transaction(() => {
          const w = this.writer();
          if (w && w.pid === process.pid) this.db.prepare("DELETE FROM meta WHERE key = 'writer'").run();
        }).immediate();
        if (this.checkpointTruncate()) this.leaveWal();
      }
    }
    this.db.close();
  }
}

// Stores open when the process exits (process.exit: a command interrupted
// by Ctrl-C, see cli/main.ts; an uncaught error) are closed then: the open
// group transaction holds only whole changes, which are kept, and the store
// leaves WAL mode as at any close. (A gc interrupted so left the store in
// WAL mode with its -wal beside it: a copy of the main file alone missed
// what gc had committed; found 2026-12-05.)
const openStores = new Set<Store>();
let exitHook = false;
function closeAtExit(s: Store): void {
  if (!exitHook) { exitHook = true; process.once('exit', closeAllAtExit); }
  openStores.add(s);
}
function closeAllAtExit(): void {
  for (const s of [...openStores]) { try { s.close(); } catch { /* exiting anyway */ } }
}
