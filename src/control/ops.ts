// StoreOps: the history commands' view of a store, whether the CLI holds it
// itself (LocalOps, over an Engine) or a mount process holds it (RemoteOps,
// over the control socket). Everything crossing the socket is plain JSON.
import type { Engine } from '../engine/engine.js';
import { isoOfNs, parseTimeSpec } from '../engine/timespec.js';
import { fail, onPath } from '../engine/errors.js';
import type { MaintenanceReport, GcPlan, StageProgress } from '../engine/maintenance.js';
import type { RetentionPolicy } from '../engine/retention.js';
import { spaceReport, spaceReportInWorker, type SpaceReport } from '../store/space.js';
import fs from 'node:fs';
import { HistoryWorker, type HistoryMethod } from './history-worker.js';
import type { RollbackPlan } from '../engine/history.js';
import path from 'node:path';
import { backupStore, backupInWorker, backupWorkerAvailable, type BackupProgress } from '../store/backup.js';
import { parseMountinfo, FSTYPE } from '../fuse/mounts.js';

export interface CommitInfo { commit: number; time: string }
export interface LabelInfo { name: string; commit: number; time: string }
export interface LogLine {
  commit: number; time: string; kind: string; message: string | null;
  changes: { path: string; change: string; sizeDelta: number }[];
}
export interface DiffLine { path: string; change: string; kind: string; attributes?: ('mode' | 'xattrs')[] }

export interface StoreOps {
  info(): Promise<{ store: string; head: CommitInfo; mounted: boolean }>;
  snapshot(p: { message?: string; label?: string }): Promise<CommitInfo>;
  labelSet(p: { name: string; at?: string; move?: boolean }): Promise<LabelInfo>;
  labelDelete(p: { name: string }): Promise<void>;
  labelList(): Promise<LabelInfo[]>;
  log(p: { path?: string; since?: string; until?: string; limit?: number }): Promise<LogLine[]>;
  diff(p: { from: string; to?: string; path?: string }): Promise<{ from: CommitInfo; to: CommitInfo; entries: DiffLine[] }>;
  /** File content at a point, base64 (for unified diffs); null when absent. */
  readAt(p: { at: string; path: string; maxBytes?: number }): Promise<string | null>;
  restore(p: { path: string; at: string }): Promise<CommitInfo>;
  rollback(p: { to: string; message?: string }): Promise<CommitInfo & { elapsedMs: number }>;
  /** Storage maintenance now (thinning, encoding, GC, vacuum), or with
   * dryRun what it would free and why. vacuum: rewrite the whole file
   * (unmounted store files only). */
  gc(p: { dryRun?: boolean; vacuum?: boolean }): Promise<GcResult>;
  /** The stage a running gc is in (for progress display). */
  gcStatus(): Promise<{ running: boolean; stage?: string; done?: number }>;
  du(p: { tables?: boolean }): Promise<SpaceReport>;
  /** The retention policy; with set, stores a changed one first. */
  retention(p: { set?: Partial<RetentionPolicy> }): Promise<RetentionPolicy>;
  /** A consistent copy of the store file, with all its history, at dest (an
   * absolute path; refused when it exists, unless force), checked before
   * it takes that name (store/backup.ts). */
  backup(p: { dest: string; force?: boolean }): Promise<BackupResult>;
  /** How far a running backup is (for progress display). */
  backupStatus(): Promise<{ running: boolean } & Partial<BackupProgress>>;
}

export interface BackupResult {
  store: string;
  dest: string;
  bytes: number;
  commits: number;
  /** The copy's newest commit: the store's when the copy began. */
  head: CommitInfo;
  copyMs: number;
  checkMs: number;
}

export interface GcResult {
  dryRun: boolean;
  plan?: GcPlan;
  report?: MaintenanceReport;
  /** The database file (without its WAL), before and after. */
  fileBefore: number;
  fileAfter: number;
  /** Its WAL before and after: on a mounted store it holds what gc wrote until the checkpointer copies it in and cuts it back (seconds after the store goes idle). */
  walBefore: number;
  walAfter: number;
  vacuumed?: boolean;
}

const LABEL = /^[A-Za-z][A-Za-z0-9._-]*$/;

/** Runs the operations on an engine this process holds. */
export class LocalOps implements StoreOps {
  /** onTreeChange: called after the tree changed behind a mount's back
   * (restore, rollback, labels), so that it drops what the kernel cached. */
  constructor(readonly engine: Engine, readonly storePath: string, readonly mounted = false,
    private readonly onTreeChange: () => void | Promise<void> = () => {}) {}

  private commitInfo(id: number): CommitInfo {
    const c = this.engine.store.meta.getCommit(id) ?? fail('ENOENT', `no commit ${id}`);
    return { commit: id, time: isoOfNs(c.time_ns) };
  }

  private point(text: string | undefined): number {
    return text === undefined ? this.engine.headCommit : this.engine.resolvePoint(text);
  }

  /** A bound of `log`: a time bounds by itself (one before the first
   * commit, or in the future, is no error: it just leaves nothing out, or
   * everything); a commit or a label by its commit's time, --since leaving
   * that commit out ("after this point", as git's A..B leaves A out). */
  private bound(text: string | undefined, side: 'since' | 'until'): bigint | undefined {
    if (text === undefined) return undefined;
    const spec = parseTimeSpec(text);
    // (SQLite takes 64-bit integers: far times are clamped to what any
    // commit time is inside of.)
    const LIMIT = 1n << 62n;
    if (spec?.kind === 'time') return spec.ns > LIMIT ? LIMIT : spec.ns < -LIMIT ? -LIMIT : spec.ns;
    const c = this.engine.store.meta.getCommit(this.point(text))!;
    return side === 'since' ? c.time_ns + 1n : c.time_ns;
  }

  /** Refuses a change to a store held read-only, saying what still works. */
  private writing(): void {
    if (!this.engine.store.readonly) return;
    fail('EROFS', `${this.storePath} is ${this.mounted ? 'mounted read-only (-o ro)' : 'open read-only'}: ` +
      'the commands that only read (log, diff, ls, cat, stat, du, verify, gc --dry-run) work');
  }

  async info() { return { store: this.storePath, head: this.commitInfo(this.engine.headCommit), mounted: this.mounted }; }

  async snapshot(p: { message?: string; label?: string }) {
    this.writing();
    if (p.label !== undefined) this.checkLabel(p.label, false);
    const c = this.engine.snapshot(p.message ?? null, p.label);
    this.engine.flush();
    // A new label is a new name (/@label, name@label) the kernel may hold as absent.
    if (p.label !== undefined) await this.onTreeChange();
    return this.commitInfo(c);
  }

  private checkLabel(name: string, move: boolean): void {
    // `history` would be read as name@history (a file's versions), never as
    // the label; a name must fit in a path component with a file name
    // before its @ (name@label), so it is kept short.
    if (!LABEL.test(name) || name === 'now' || name === 'history' || /^c\d+$/.test(name) || /^\d+[smhdw]$/.test(name)) {
      fail('EINVAL', `${JSON.stringify(name)} is not a label name (letters, digits, . _ -, starting with a letter; not a time, not "now" or "history")`);
    }
    if (name.length > 64) fail('ENAMETOOLONG', `label names have at most 64 characters (${name.length} given)`);
    const exists = this.engine.store.meta.getLabel(name) !== undefined;
    if (!move && exists) fail('EEXIST', `label ${name} exists (mikofs label ${name} --move moves it)`);
    if (move && !exists) fail('ENOENT', `no label ${name} to move (without --move it is created)`);
  }

  async labelSet(p: { name: string; at?: string; move?: boolean }) {
    this.writing();
    this.checkLabel(p.name, !!p.move);
    const c = this.point(p.at);
    this.engine.label(p.name, c);
    this.engine.flush();
    await this.onTreeChange();
    return { name: p.name, ...this.commitInfo(c) };
  }

  async labelDelete(p: { name: string }) { this.writing(); this.engine.deleteLabel(p.name); this.engine.flush(); await this.onTreeChange(); }

  async labelList() {
    return this.engine.labels().map((l) => ({ name: l.name, ...this.commitInfo(l.commit) }));
  }

  private historyWorker: HistoryWorker | null = null;
  /** Thinning passes that changed rows, counted (see rollback). */
  private thinned = 0;
  private thinWatch = false;
  /** A mounted store's read-only history commands run on a worker thread
   * (history-worker.ts), not on the thread serving FUSE; undefined: here. */
  private offThread<T>(method: HistoryMethod, params: unknown, signal?: AbortSignal): Promise<T> | undefined {
    const st = this.engine.store;
    if (!this.mounted || st.memory || !HistoryWorker.available()) return undefined;
    if (!this.thinWatch && !st.readonly) { this.thinWatch = true; this.engine.maintenance.onThinned(() => { this.thinned++; }); }
    this.engine.flush(); // what the worker's connection must see
    this.historyWorker ??= new HistoryWorker(st.file);
    return this.historyWorker.run(method, params, signal) as Promise<T>;
  }

  async log(p: { path?: string; since?: string; until?: string; limit?: number }, signal?: AbortSignal): Promise<LogLine[]> {
    const away = this.offThread<LogLine[]>('log', p, signal);
    if (away) return away;
    const entries = onPath(p.path ?? '/', () => this.engine.history.log({ path: p.path, sinceNs: this.bound(p.since, 'since'), untilNs: this.bound(p.until, 'until'), limit: p.limit }));
    return entries.map((e) => ({ commit: e.commit, time: isoOfNs(e.timeNs), kind: e.kind, message: e.message, changes: e.changes }));
  }

  async diff(p: { from: string; to?: string; path?: string }, signal?: AbortSignal): Promise<{ from: CommitInfo; to: CommitInfo; entries: DiffLine[] }> {
    const away = this.offThread<{ from: CommitInfo; to: CommitInfo; entries: DiffLine[] }>('diff', p, signal);
    if (away) return away;
    const from = this.point(p.from), to = this.point(p.to);
    const path = p.path ?? '/';
    const entries = onPath(path, () => this.engine.history.diff(from, to, path));
    // A path that is at neither point is a mistake (a typo), not "no change".
    if (!entries.length && path !== '/' && !this.engine.at(from).exists(path) && !this.engine.at(to).exists(path)) {
      fail('ENOENT', `${path}: not in the store at c${from} nor at c${to}`);
    }
    return { from: this.commitInfo(from), to: this.commitInfo(to), entries };
  }

  async readAt(p: { at: string; path: string; maxBytes?: number }, signal?: AbortSignal): Promise<string | null> {
    const away = this.offThread<string | null>('readAt', p, signal);
    if (away) return away;
    const v = this.engine.at(this.point(p.at));
    if (!v.exists(p.path)) return null;
    const st = v.stat(p.path);
    if (st.size > (p.maxBytes ?? 1 << 20)) return null;
    return v.readFile(p.path).toString('base64');
  }

  async restore(p: { path: string; at: string }) {
    this.writing();
    const at = this.point(p.at);
    const c = onPath(p.path, () => this.engine.history.restore(p.path, at));
    this.engine.flush();
    await this.onTreeChange();
    return this.commitInfo(c);
  }

  /** rollback's search of history, read-only (run on the history worker). */
  async rollbackPlan(p: { t: number }): Promise<RollbackPlan> { return this.engine.history.rollbackPlan(p.t); }

  async rollback(p: { to: string; message?: string }) {
    this.writing();
    const t0 = performance.now();
    const t = this.point(p.to);
    // What changed since t is found on the worker (seconds on a long
    // history); here only what changed since its answer is looked at.
    // A thinning pass in between may have moved rows: then all of it here.
    const thinned = this.thinned;
    let plan = await this.offThread<RollbackPlan>('rollbackPlan', { t })?.catch(() => undefined);
    if (this.thinned !== thinned) plan = undefined;
    const c = this.engine.history.rollback(t, p.message ?? `rollback to ${p.to}`, plan);
    this.engine.flush();
    await this.onTreeChange();
    return { ...this.commitInfo(c), elapsedMs: Math.round((performance.now() - t0) * 10) / 10 };
  }

  private gcStage: StageProgress | null = null;

  private fileSize(): number {
    const st = this.engine.store;
    if (st.memory) return (st.db.pragma('page_count', { simple: true }) as number) * (st.db.pragma('page_size', { simple: true }) as number);
    try { return fs.statSync(st.file).size; } catch { return 0; }
  }

  private walSize(): number {
    const st = this.engine.store;
    if (st.memory) return 0;
    try { return fs.statSync(st.file + '-wal', { throwIfNoEntry: false })?.size ?? 0; } catch { return 0; }
  }

  async gc(p: { dryRun?: boolean; vacuum?: boolean }): Promise<GcResult> {
    if (!p.dryRun) this.writing();
    const m = this.engine.maintenance;
    const fileBefore = this.fileSize(), walBefore = this.walSize();
    if (p.dryRun) return { dryRun: true, plan: this.mounted ? await m.planAsync() : m.plan(), fileBefore, fileAfter: fileBefore, walBefore, walAfter: walBefore };
    if (p.vacuum && this.mounted) fail('EBUSY', 'gc --vacuum rewrites the whole file: unmount the store first');
    this.gcStage = { stage: 'start', done: 0 };
    try {
      const report = await m.run({ full: true, gapMs: this.mounted ? 2 : 0, onProgress: (s) => { this.gcStage = s; } });
      let vacuumed = false;
      if (p.vacuum) {
        this.gcStage = { stage: 'vacuum (whole file)', done: 0 };
        this.engine.flush();
        m.sql.fullVacuum();
        vacuumed = true;
      }
      this.engine.flush();
      if (!this.mounted) this.engine.store.checkpointTruncate();
      else if (report.vacuum.pages > 0) {
        // The file shrinks when the background checkpointer has copied the
        // WAL in (it was asked to): give it a moment before measuring.
        for (let i = 0; i < 20 && this.fileSize() >= fileBefore; i++) await new Promise((r) => setTimeout(r, 50));
      }
      return { dryRun: false, report, fileBefore, fileAfter: this.fileSize(), walBefore, walAfter: this.walSize(), vacuumed };
    } finally {
      this.gcStage = null;
    }
  }

  async gcStatus() {
    return this.gcStage ? { running: true, stage: this.gcStage.stage, done: this.gcStage.done } : { running: false };
  }

  async du(p: { tables?: boolean }): Promise<SpaceReport> {
    const st = this.engine.store;
    if (this.mounted && !st.memory) {
      // Scanning every table takes a while on a big store: not on the thread serving FUSE.
      this.engine.flush();
      try { return await spaceReportInWorker(st.file, st.now(), { tables: p.tables }); } catch { /* e.g. run from sources: in-thread */ }
    }
    return spaceReport(st.db, st.memory ? null : st.file, st.now(), { tables: p.tables });
  }

  private backupStage: BackupProgress | null = null;

  async backup(p: { dest: string; force?: boolean }, signal?: AbortSignal): Promise<BackupResult> {
    const st = this.engine.store;
    if (st.memory) fail('EINVAL', 'a store in memory has no file to copy');
    if (typeof p.dest !== 'string' || !path.isAbsolute(p.dest)) fail('EINVAL', 'the backup destination must be an absolute path');
    this.refuseOwnMount(p.dest);
    // Everything done so far is in the copy: the open group commits first.
    this.engine.flush();
    this.backupStage = { stage: 'copy', done: 0, total: 0 };
    try {
      const opts = { force: !!p.force, onProgress: (s: BackupProgress) => { this.backupStage = s; } };
      // A mount copies on a worker thread (its FUSE requests are served on
      // this one); run from the sources (tests), in small steps here.
      const r = this.mounted && backupWorkerAvailable()
        ? await backupInWorker(st.file, p.dest, opts, signal)
        : await backupStore(st.file, p.dest, { ...opts, stepPages: this.mounted ? 64 : 1024 });
      return { store: this.storePath, dest: r.dest, bytes: r.bytes, commits: r.commits,
        head: { commit: r.head, time: isoOfNs(BigInt(r.headNs)) }, copyMs: Math.round(r.copyMs), checkMs: Math.round(r.checkMs) };
    } finally {
      this.backupStage = null;
    }
  }

  async backupStatus() {
    return this.backupStage ? { running: true, ...this.backupStage } : { running: false };
  }

  /** A copy into the mount of the store it copies would be written into
   * the store itself (and, copied on the thread serving the mount, would
   * wait for that thread for ever). Decided from the mount table and the
   * path's text alone: a mount process never looks up a path on its own
   * mount. (The CLI sends the destination with its directory resolved.) */
  private refuseOwnMount(dest: string): void {
    let table = '';
    try { table = fs.readFileSync('/proc/self/mountinfo', 'utf8'); } catch { return; }
    const source = path.resolve(this.storePath).replace(/,/g, '_');
    for (const m of parseMountinfo(table)) {
      if (m.fstype !== FSTYPE || m.source !== source) continue;
      if (dest === m.mountpoint || dest.startsWith(m.mountpoint === '/' ? '/' : m.mountpoint + '/')) {
        fail('EINVAL', `${dest} is inside the mount of the store it would copy (${m.mountpoint}): the copy would be written into the store itself; choose a place outside it`);
      }
    }
  }

  async retention(p: { set?: Partial<RetentionPolicy> }): Promise<RetentionPolicy> {
    if (p.set) this.writing();
    const m = this.engine.maintenance;
    if (p.set) {
      try { return m.setPolicy({ ...m.policy(), ...p.set }); } catch (e) { fail('EINVAL', (e as Error).message); }
    }
    return m.policy();
  }
}
