// Background storage work: what keeps a store small without slowing the
// write path. Commits only append to queues (schema/003 triggers); this
// module does the rest in short slices, each one savepoint inside the group
// transaction, so a mount keeps answering FUSE between slices:
//
//   retire   inodes with no names left (deleted files) end their live rows at
//            the commit that removed the last name, so history rules apply
//   thin     history thinning: retention tiers, rapid-edit compaction,
//            no-history paths (commit rows and the versioned rows only they
//            could see are deleted; survivors are re-pointed at kept commits)
//   inline   ended versions of small inline files move into chunks, so they
//            get deltas like everything else
//   encode   queued chunks become skip-deltas against their lineage, else
//            compressed where it pays, else stay raw
//   gc       chunks no version, staged write or needed delta base uses
//   vacuum   free pages go back to the file system (incremental vacuum)
//
// step() runs one slice synchronously; runAll() everything now; start()
// schedules slices when the process is idle.
import type { Statement } from 'better-sqlite3';
import type { Engine } from './engine.js';
import { MaintenanceStore, VERSIONED, type VersionedTable, type VRow } from '../store/maintenance-store.js';
import { compress, makeDelta, applyDelta, unpack, deltaWorthTrying, DELTA, RAW } from '../store/codec.js';
import { LIVE, InlineCorruptError } from '../store/meta-store.js';
import { inlineSum } from '../store/hash.js';
import { reportCorruption } from '../store/chunk-store.js';
import {
  normalizePolicy, tiersOf, keptByTiers, rapidDrops, parseDuration, PathRules, KeptSet, MaskSet,
  type RetentionPolicy, type CommitInfo, type TierNs,
} from './retention.js';

/** Restart a delta lineage with a full checkpoint after this many versions. */
export const CHECKPOINT_EVERY = 256;

// Which earlier version a delta is taken against. Version k of a lineage is a
// delta against k with its lowest non-zero base-r digit lowered by one (r = 2:
// k & (k - 1), Subversion's skip-deltas), so a read decodes at most the digit
// sum of k deltas. A larger radix means most deltas are against the immediate
// predecessor, which is what makes them small: a file that grows at every
// release (a changelog) costs one entry per delta instead of all the entries
// since an older base (95 express releases: 204 KB of chunk payload with
// r = 2, 104 KB with predecessors only).
//
// The radix follows the chunk size. Chunks over 256 KiB (the body
// of large files, read for throughput) keep r = 2: at most 8 decodes of
// 512 KiB. Smaller chunks (small files, a file's last chunk, read for
// latency) may decode up to DECODE_BUDGET bytes, counting a fixed cost per
// decode: measured ~10 us + 1.2 us/KiB (row read, xdelta3, BLAKE3), so at
// most ~5 ms cold for one chunk; then it is in the chunk cache. (A 16 MiB
// budget saved nothing more on express and allowed 20 ms reads.)
const LARGE_CHUNK = 256 << 10;
const DECODE_BUDGET_KIB = 4 << 10;
const DECODE_OVERHEAD_KIB = 16;
const RADICES = [256, 128, 64, 32, 16, 8, 4, 2];

/** The most decodes any version below CHECKPOINT_EVERY needs with radix r. */
function maxDigitSum(r: number): number {
  let max = 0;
  for (let k = 1; k < CHECKPOINT_EVERY; k++) {
    let s = 0;
    for (let x = k; x; x = Math.floor(x / r)) s += x % r;
    max = Math.max(max, s);
  }
  return max;
}
const RADIX_DEPTH = new Map(RADICES.map((r) => [r, maxDigitSum(r)]));

/** Skip-delta radix for a chunk of this many bytes. */
export function deltaRadix(size: number): number {
  if (size > LARGE_CHUNK) return 2;
  const depth = DECODE_BUDGET_KIB / (size / 1024 + DECODE_OVERHEAD_KIB);
  return RADICES.find((r) => RADIX_DEPTH.get(r)! <= depth) ?? 2;
}

/** The lineage position version k (> 0) is a delta against. */
export function skipBase(k: number, radix: number): number {
  let p = 1;
  while (k % (p * radix) === 0) p *= radix;
  return k - p;
}
/** Ended inline versions at least this big move into chunks. */
const INLINE_MOVE_MIN = 128;
/** How long one unit of maintenance work runs before it yields (ms). */
const UNIT_MS = 5;
const ROOT = 1;

export interface StageProgress { stage: string; done: number; total?: number }

export interface MaintenanceReport {
  retired: number;
  thinned: { commits: number; rowsDeleted: number; rowsMoved: number; byReason: Record<string, number> };
  inlineMoved: number;
  encoded: { chunks: number; delta: number; compressed: number; raw: number; bytesBefore: number; bytesAfter: number };
  gc: { chunks: number; bytes: number };
  vacuum: { pages: number; bytes: number; supported: boolean };
  notes: string[];
}

export interface RunOptions {
  /** Also thin by every tier and path rule (not only rapid edits and new
   * rows), scan every chunk for garbage, and encode chunks of any age. */
  full?: boolean;
  /** Skip stages ('thin', 'encode', ...). */
  skip?: string[];
  onProgress?: (p: StageProgress) => void;
}

export interface GcPlan {
  policy: RetentionPolicy;
  commits: { total: number; drop: number; byReason: Record<string, number> };
  /** Deleted files whose live rows retire would end first. */
  retire: number;
  rows: { delete: number; move: number };
  /** Chunks freed once the thinning is done (their last versions go). */
  thinnedChunks: { count: number; bytes: number };
  /** Chunks no version uses now. */
  garbageChunks: { count: number; bytes: number };
  /** Delta bases only needed by the chunks above. */
  bases: { count: number; bytes: number };
  freePages: { pages: number; bytes: number; reclaimable: boolean };
  pendingEncode: number;
}

interface BranchPlan {
  id: number;
  hasParent: boolean;
  global: KeptSet;
  /** Kept sets per policy: index 0 the store default, i + 1 rule i. */
  kept: (KeptSet | null)[];
  drop: number[];
  /** Per file: intervals [dropped write, next write) in which its collapsed
   * rapid edits are seen by no commit. */
  masks: Map<number, MaskSet>;
}

interface ThinPlan {
  maxSnap: number;
  /** Labelled, snapshotted, forked and pinned commits, ascending: states
   * kept whole for ever, also where a path keeps no history. */
  prot: number[];
  scanFrom: number;
  branches: BranchPlan[];
  byReason: Record<string, number>;
  total: number;
  tiers: TierNs[];
}

function newReport(): MaintenanceReport {
  return {
    retired: 0,
    thinned: { commits: 0, rowsDeleted: 0, rowsMoved: 0, byReason: {} },
    inlineMoved: 0,
    encoded: { chunks: 0, delta: 0, compressed: 0, raw: 0, bytesBefore: 0, bytesAfter: 0 },
    gc: { chunks: 0, bytes: 0 },
    vacuum: { pages: 0, bytes: 0, supported: true },
    notes: [],
  };
}

type Task = Generator<void, void, void>;

/** Stages a round under load leaves for an idle moment (the costly ones). */
const BUSY_SKIP = ['encode', 'inline'];
/** Tasks that only free space: what runs on a nearly full disk. */
const FREEING = ['retire', 'thin', 'gc', 'vacuum'];
const NEARLY_FULL = 'encoding skipped: the disk holding the store is nearly full (only what frees space ran)';
/** Chunks waiting before a round runs under load (16 MiB of 512 KiB chunks). */
const BUSY_MIN_CHUNKS = 32;

export class Maintenance {
  readonly sql: MaintenanceStore;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<MaintenanceReport> | null = null;
  private lastThin = 0;
  private lastFullThin = 0;
  private lastChanges = -1;
  private lastActivity = 0;
  private queue: { name: string; task: Task }[] = [];
  private report = newReport();
  log: (msg: string) => void = () => {};
  private thinnedListeners: (() => void)[] = [];

  constructor(private readonly e: Engine) {
    this.sql = new MaintenanceStore(e.store.db);
  }

  private get store() { return this.e.store; }
  private get meta() { return this.e.store.meta; }
  private nowNs(): bigint { return this.store.now(); }

  // --- policy ----------------------------------------------------------------------

  policy(): RetentionPolicy {
    const raw = this.meta.getMeta('retention') as string | undefined;
    try { return normalizePolicy(raw ? JSON.parse(raw) as Partial<RetentionPolicy> : undefined); } catch { return normalizePolicy(undefined); }
  }

  /** Stores a new policy (validated). The next thinning pass examines every
   * row again, so narrowed rules apply to the whole history. */
  setPolicy(p: Partial<RetentionPolicy>): RetentionPolicy {
    const n = normalizePolicy(p);
    this.store.atomic(() => {
      this.meta.setMeta('retention', JSON.stringify(n));
      this.meta.setMeta('thin.mark', 0);
    });
    this.store.flush();
    this.lastFullThin = 0;
    return n;
  }

  // --- driving -----------------------------------------------------------------------

  private enqueue(full: boolean, skip: string[] = []): void {
    const add = (name: string, task: () => Task) => { if (!skip.includes(name)) this.queue.push({ name, task: task() }); };
    add('retire', () => this.retireTask());
    add('thin', () => this.thinTask(full));
    add('inline', () => this.inlineTask());
    add('encode', () => this.encodeTask(full));
    add('gc', () => this.gcTask(full));
    add('vacuum', () => this.vacuumTask());
  }

  /** Whether queued work remains (for idle scheduling). */
  pending(): boolean {
    return this.queue.length > 0 || this.sql.hasWork();
  }

  /** Runs queued work for about budgetMs (one slice). Returns whether work
   * remains. Starts a new round (incremental thinning, encoding, GC) when
   * nothing is queued. */
  step(budgetMs = 25): boolean {
    if (this.store.readonly) return false;
    // Commit what the filesystem's changes left open first: a unit that
    // fails (a full disk) must not take acknowledged changes down with it.
    this.store.flush();
    const nearlyFull = !this.store.space.admitMaintenance();
    if (!this.queue.length) this.enqueue(false);
    if (nearlyFull) {
      // Nearly full: only what frees space runs (retiring, thinning, GC,
      // giving pages back); encoding writes new rows before it drops old
      // ones. The WAL starts over at each transaction near a full disk
      // (Store.restartWalIfLong), reusing its own blocks, so deleting can go
      // on where nothing else fits (until 2026-12-05 every task stopped
      // here, and a disk filled to the last byte could not be given back).
      const before = this.queue.length;
      this.queue = this.queue.filter((q) => FREEING.includes(q.name));
      if (this.queue.length < before && !this.report.notes.includes(NEARLY_FULL)) this.report.notes.push(NEARLY_FULL);
      if (!this.queue.length) return false;
    }
    const t0 = performance.now();
    let touchedRows = false;
    this.store.begin();
    try {
      while (this.queue.length && performance.now() - t0 < budgetMs) {
        const cur = this.queue[0];
        if (cur.name === 'retire' || cur.name === 'thin' || cur.name === 'inline') touchedRows = true;
        let r: IteratorResult<void, void>;
        try {
          this.unitStart = performance.now();
          r = this.store.atomic(() => cur.task.next());
          const du = performance.now() - this.unitStart;
          if (du > (this.unitMax[cur.name] ?? 0)) this.unitMax[cur.name] = du;
          if (this.traceUnitsMs !== null && du > this.traceUnitsMs) this.log(`maintenance: ${cur.name} unit took ${du.toFixed(1)} ms`);
        } catch (err) {
          this.log(`maintenance ${cur.name}: ${(err as Error).message}`);
          this.report.notes.push(`${cur.name} stopped: ${(err as Error).message}`);
          r = { done: true, value: undefined };
        }
        if (r.done) this.queue.shift();
      }
    } finally {
      const f0 = performance.now();
      this.store.flush();
      const df = performance.now() - f0;
      if (this.traceUnitsMs !== null && df > this.traceUnitsMs) this.log(`maintenance: committing a slice took ${df.toFixed(1)} ms`);
      if (touchedRows) this.e.head.inodes.clear();
    }
    return this.queue.length > 0;
  }

  /** Everything now, synchronously (tests, the CLI on a store file). */
  runAll(opts: RunOptions = {}): MaintenanceReport {
    if (!this.begin(opts)) return this.report;
    while (this.queue.length) this.slice(50, opts);
    return this.report;
  }

  /** Starts a whole run: a fresh queue and report. False when read-only. */
  private begin(opts: RunOptions): boolean {
    this.queue = [];
    this.report = newReport();
    this.progress = {};
    if (this.store.readonly) return false;
    this.enqueue(opts.full ?? true, opts.skip);
    return true;
  }

  /** One slice of a whole run, reporting progress. */
  private slice(ms: number, opts: RunOptions): void {
    const stage = this.queue[0].name;
    this.step(ms);
    opts.onProgress?.({ stage, done: this.progressOf(stage) });
  }

  /** Everything now, in slices that yield to the event loop between them:
   * what a mounted store runs for `mikofs gc`. */
  run(opts: RunOptions & { sliceMs?: number; gapMs?: number } = {}): Promise<MaintenanceReport> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        if (!this.begin(opts)) return this.report;
        while (this.queue.length) {
          this.slice(opts.sliceMs ?? 30, opts);
          await new Promise((r) => setTimeout(r, opts.gapMs ?? 2));
        }
        return this.report;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private progress: Record<string, number> = {};
  /** Longest single unit of work per stage, ms (how long a slice can overrun). */
  readonly unitMax: Record<string, number> = {};
  /** Units of work (and slice commits) longer than this are logged (mount --debug). */
  traceUnitsMs: number | null = null;
  private unitStart = 0;
  /** Whether the current unit of work has run its time: loops over rows
   * stop at the next point they can resume from, so a unit's length does
   * not depend on what a row costs (a 512 MiB file's 1,024 chunk rows, the
   * overflow pages a freed chunk returns) or how many there are. */
  private expired(): boolean { return performance.now() - this.unitStart > this.unitMs; }
  /** One unit of a task outside step(): its clock starts now. (A dry run
   * that never reset it found every unit expired after one row, and
   * fetched 500 rows for each row it looked at: 3 minutes on a store of
   * 150,000 commits.) */
  private unit(t: Task): IteratorResult<void, void> {
    this.unitStart = performance.now();
    return t.next();
  }
  /** ms a unit of row work runs (0: one row, group or chunk at a time). */
  unitMs = UNIT_MS;
  private progressOf(stage: string): number { return this.progress[stage] ?? 0; }
  private tick(stage: string, n = 1): void { this.progress[stage] = (this.progress[stage] ?? 0) + n; }

  /** Scheduling while mounted: every interval, when no one used the
   * filesystem for a while, run slices of pending work (each ~sliceMs,
   * yielding between), thinning rapid edits every 10 s and by every rule
   * hourly. A filesystem that is never idle for that long (a log appended
   * every 200 ms, an application's SQLite database) still gets a short
   * round every starveMs while chunks pile up, of at most busyBudgetMs in
   * the same slices, of the cheap stages that give space back: thinning
   * (rapid edits collapse), retiring deleted files, GC and vacuum. Encoding
   * (deltas, compression) waits for an idle moment. With idle rounds only, such a file's rewritten
   * chunks piled up for as long as the writes went on (56 MiB of store for
   * 1,200 bytes appended in 30 s). */
  start(opts: { intervalMs?: number; sliceMs?: number; idleMs?: number; starveMs?: number; busyBudgetMs?: number;
    thinEveryMs?: number; log?: (m: string) => void } = {}): void {
    if (this.timer || this.store.readonly) return;
    if (opts.log) this.log = opts.log;
    const interval = opts.intervalMs ?? 1000, idle = opts.idleMs ?? 500, slice = opts.sliceMs ?? 10;
    const starve = opts.starveMs ?? 3000, busyBudget = opts.busyBudgetMs ?? 60, thinEvery = opts.thinEveryMs ?? 10000;
    let busy = false;
    let lastRound = Date.now();
    const tick = async () => {
      if (busy || this.running) return;
      busy = true;
      try {
        const now = Date.now();
        if (this.othersWrote()) this.lastActivity = now;
        const idleNow = now - this.lastActivity >= idle;
        if (!idleNow && now - lastRound < starve) return;
        // Under load, only when chunks pile up (a file rewritten again and
        // again): rounds cost the writer its cached rows, and a stream of
        // small files (tar, git) leaves nothing a round could give back.
        if (!idleNow && !this.queue.length && !this.sql.chunksPileUp(BUSY_MIN_CHUNKS)) { lastRound = now; return; }
        const thinDue = now - this.lastThin > thinEvery && this.store.headCommit !== Number(this.meta.getMeta('thin.mark') ?? 0);
        if (!idleNow) this.queue = this.queue.filter((q) => !BUSY_SKIP.includes(q.name));
        if (!this.queue.length) {
          const fullDue = idleNow && now - this.lastFullThin > 3600000;
          const work = idleNow ? this.pending() : this.sql.hasGcWork();
          if (!thinDue && !fullDue && !work) { lastRound = now; return; }
          this.report = newReport();
          const skip = [...(idleNow ? [] : BUSY_SKIP), ...(thinDue || fullDue ? [] : ['thin', 'retire', 'inline'])];
          this.enqueue(fullDue, skip);
          if (thinDue || fullDue) this.lastThin = now;
          if (fullDue) this.lastFullThin = now;
        }
        lastRound = now;
        const t0 = performance.now();
        while (this.queue.length && this.timer && !this.running) {
          this.step(slice);
          this.lastChanges = this.changes();
          await new Promise((r) => setTimeout(r, 5));
          if (!idleNow) {
            if (performance.now() - t0 >= busyBudget) break;
            continue;
          }
          if (this.othersWrote()) { this.lastActivity = Date.now(); break; }
          // Any filesystem operation (a read too) means someone is waiting:
          // go back to idle watching instead of taking another slice.
          if (Date.now() - this.lastActivity < idle) break;
        }
      } catch (err) {
        this.log(`maintenance: ${(err as Error).message}`);
      } finally {
        busy = false;
      }
    };
    this.timer = setInterval(() => { void tick(); }, interval);
    this.timer.unref();
  }

  /** Someone used the filesystem (the FUSE layer calls this per operation):
   * background work waits until it has been idle for a while. */
  noteActivity(): void { this.lastActivity = Date.now(); }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private totalChanges: Statement | null = null;
  private changes(): number {
    this.totalChanges ??= this.store.db.prepare('SELECT total_changes()').pluck();
    return this.totalChanges.get() as number;
  }
  private othersWrote(): boolean {
    const c = this.changes();
    const wrote = this.lastChanges >= 0 && c !== this.lastChanges;
    this.lastChanges = c;
    return wrote;
  }

  // --- retire: deleted inodes -------------------------------------------------------------

  private *retireTask(): Task {
    const mark = Number(this.meta.getMeta('retire.mark') ?? 0);
    const open = this.e.openInos();
    let low = Number.POSITIVE_INFINITY, max = mark;
    for (const b of this.sql.branches()) {
      if (b.parent_id !== null) continue; // forks inherit rows: leave their inodes be
      // (A retired row is deleted, one left open is not: the cursor moves
      // past both, by row within a commit.)
      const cursor = { since: mark, rid: Number.MAX_SAFE_INTEGER };
      let after = mark;
      for (;;) {
        const dead = this.sql.deadInodes(b.id, cursor, 200);
        if (!dead.length) break;
        for (let i = 0; i < dead.length; i++) {
          const d = dead[i];
          cursor.since = d.since; cursor.rid = d.rid;
          after = Math.max(after, d.since);
          if (open.has(d.ino)) { low = Math.min(low, d.since - 1); continue; }
          this.sql.retireInode(b.id, d.rid, d.ino, d.since);
          this.report.retired++;
          this.tick('retire');
          // Stops only between two commits: the mark below is a commit.
          if (this.expired() && dead[i + 1]?.since !== d.since) break;
        }
        max = Math.max(max, after);
        yield;
      }
    }
    this.meta.setMeta('retire.mark', Math.min(max, low));
  }

  // --- thin: retention ----------------------------------------------------------------

  private protectedCommits(): Set<number> {
    const s = new Set<number>();
    for (const c of this.sql.labelCommits()) s.add(c);
    for (const c of this.sql.forkCommits()) s.add(c);
    for (const c of this.e.pinnedCommits()) s.add(c);
    return s;
  }

  /** Which commits each policy keeps, per branch (no writes). */
  private *planThin(full: boolean, out: { plan?: ThinPlan }): Task {
    const pol = this.policy();
    const tiers: TierNs[] = [tiersOf(pol), ...pol.rules.map((r) => tiersOf(pol, r))];
    const rapidNs = parseDuration(pol.rapidWindow);
    const now = this.nowNs();
    const maxSnap = this.store.headCommit;
    const prot = this.protectedCommits();
    const mark = Number(this.meta.getMeta('thin.mark') ?? 0);
    const pendingMin = Number(this.meta.getMeta('thin.pending') ?? 0) || Number.POSITIVE_INFINITY;
    const plan: ThinPlan = { maxSnap, prot: [], scanFrom: Number.POSITIVE_INFINITY, branches: [], byReason: {}, total: 0, tiers };
    plan.prot = [...new Set([...prot, ...this.sql.snapshotCommits()])].sort((x, y) => x - y);
    const def = tiers[0];
    // A rapid pass looks only at commits whose next save may have come
    // since the last pass; everything older counts as kept.
    const markTime = !full && mark > 0 ? this.sql.commitTime(mark) : undefined;
    for (const b of this.sql.branches()) {
      const commits: CommitInfo[] = [];
      let from = 0;
      if (markTime !== undefined) {
        const slack = (rapidNs > 0n ? rapidNs : 0n) + 60n * 1000000000n;
        from = this.sql.firstCommitFrom(b.id, markTime - slack) ?? maxSnap + 1;
      }
      for (let after = from - 1; ;) {
        const page = this.sql.commitsOf(b.id, after, 20000);
        for (const c of page) if (c.id <= maxSnap) commits.push({ id: c.id, timeNs: c.time_ns, kind: c.kind });
        yield;
        if (page.length < 20000) break;
        after = page[page.length - 1].id;
      }
      if (!commits.length) continue;
      plan.total += commits.length;
      const newest = commits[commits.length - 1].id;
      const isProt = (id: number) => id === newest || prot.has(id);
      // Rapid edits: which file each recent 'write' commit saved.
      for (const c of commits) if (c.kind === 'snapshot') prot.add(c.id);
      const writes = new Map<number, number>();
      const oldestAll = def.keepAll < 0n ? 0 : commits.findIndex((c) => now - c.timeNs <= def.keepAll);
      let rapid = new Map<number, { ino: number; next: number }>();
      if (rapidNs > 0n && oldestAll >= 0) {
        const recent = commits.slice(oldestAll);
        const writeIds = new Set<number>();
        for (const c of recent) if (c.kind === 'write') writeIds.add(c.id);
        yield;
        const emptied = new Set<number>();
        // In ranges of commits, yielding between them: a day of 150,000
        // saves took 150 ms to read at once, on the thread serving FUSE.
        for (let lo = recent[0].id; ; lo += 20000) {
          const last = lo > maxSnap;
          for (const r of this.sql.inodeVersionsSince(b.id, lo, last ? undefined : lo + 20000)) {
            if (!writeIds.has(r.since)) continue;
            writes.set(r.since, r.ino);
            if (r.size === 0) emptied.add(r.since);
          }
          if (last) break;
          yield;
        }
        const renamed = new Map<number, number[]>();
        if (writes.size) for (const r of this.sql.namesChangedSince(b.id, recent[0].id)) {
          const l = renamed.get(r.ino);
          if (l) l.push(r.c); else renamed.set(r.ino, [r.c]);
        }
        yield;
        const firstSince = new Map<number, number | null>();
        const firstVersion = (ino: number, c: number) => {
          let f = firstSince.get(ino);
          if (f === undefined) firstSince.set(ino, (f = this.sql.inodeFirstSince(b.id, ino)));
          return f === c;
        };
        rapid = rapidDrops(recent, writes, rapidNs, isProt, emptied,
          (ino, c, next) => renamed.get(ino)?.some((x) => x > c && x <= next) ?? false, firstVersion);
        yield;
      }
      const protIds = commits.filter((c) => isProt(c.id)).map((c) => c.id);
      const kept: (KeptSet | null)[] = [];
      const union = new Set<number>(protIds);
      for (let i = 0; i < tiers.length; i++) {
        if (i > 0 && !full) { kept.push(null); continue; }
        if (tiers[i].none) { kept.push(null); continue; }
        const k = keptByTiers(commits, tiers[i], now, rapid);
        for (const id of protIds) k.add(id);
        for (const id of k) union.add(id);
        kept.push(new KeptSet(k, maxSnap));
        yield;
      }
      if (!full) {
        // Rapid passes drop only rapid edits (tiers run in full passes), but
        // still apply the rules to rows they touch.
        union.clear();
        for (const c of commits) if (!rapid.has(c.id) || isProt(c.id)) union.add(c.id);
        const k = new KeptSet(union, maxSnap, from);
        kept[0] = k;
        for (let i = 1; i < tiers.length; i++) kept[i] = tiers[i].none ? null : k;
      }
      const global = new KeptSet(union, maxSnap, from);
      yield;
      const drop = commits.filter((c) => !union.has(c.id)).map((c) => c.id);
      yield;
      for (const c of commits) {
        if (union.has(c.id)) continue;
        const age = now - c.timeNs;
        const within = (d: bigint) => d < 0n || age <= d;
        const why = rapid.has(c.id) ? 'rapid edits' : within(def.keepAll) ? 'path rule'
          : within(def.hourly) ? 'hourly tier' : within(def.daily) ? 'daily tier' : 'older than every tier';
        plan.byReason[why] = (plan.byReason[why] ?? 0) + 1;
      }
      let minDrop = drop.length ? drop[0] : Number.POSITIVE_INFINITY;
      if (full) {
        // Rows of rule policies may see commits dropped for them only.
        for (let i = 1; i < tiers.length; i++) {
          const k = kept[i];
          if (!k) continue;
          const first = commits.find((c) => !k.has(c.id));
          if (first) minDrop = Math.min(minDrop, first.id);
        }
      }
      plan.scanFrom = Math.min(plan.scanFrom, minDrop);
      yield;
      const intervals = new Map<number, [number, number][]>();
      let n = 0;
      for (const [c, r] of rapid) {
        if (++n % 20000 === 0) yield;
        if (union.has(c)) continue;
        const l = intervals.get(r.ino) ?? [];
        l.push([c, r.next]);
        intervals.set(r.ino, l);
      }
      const masks = new Map([...intervals].map(([ino, l]) => [ino, new MaskSet(l)]));
      plan.branches.push({ id: b.id, hasParent: b.parent_id !== null, global, kept, drop, masks });
    }
    plan.scanFrom = Math.min(plan.scanFrom, pendingMin, mark + 1);
    out.plan = plan;
  }

  /** fn runs after a thinning pass deleted commits or moved rows: a view
   * of the past (at a time, a commit) may now show another state. */
  onThinned(fn: () => void): void { this.thinnedListeners.push(fn); }

  private *thinTask(full: boolean): Task {
    const t0 = this.report.thinned;
    const before = t0.commits + t0.rowsDeleted + t0.rowsMoved;
    const out: { plan?: ThinPlan } = {};
    yield* this.planThin(full, out);
    const plan = out.plan!;
    const pol = this.policy();
    const rules = new PathRules(pol.rules);
    // 1. Commit rows. Labels or pins set since planning keep theirs.
    const drops = plan.branches.flatMap((b) => b.drop);
    if (drops.length) this.meta.setMeta('thin.pending', plan.scanFrom);
    for (let i = 0; i < drops.length; i += 1000) {
      const now = this.protectedCommits();
      for (const id of drops.slice(i, i + 1000)) {
        if (now.has(id)) { for (const b of plan.branches) if (b.drop.includes(id)) this.keep(b, id); continue; }
        this.sql.deleteCommit(id);
        this.report.thinned.commits++;
        this.tick('thin');
      }
      yield;
    }
    for (const [k, v] of Object.entries(plan.byReason)) this.report.thinned.byReason[k] = (this.report.thinned.byReason[k] ?? 0) + v;
    // 2. Versioned rows.
    if (plan.scanFrom !== Number.POSITIVE_INFINITY) {
      for (const b of plan.branches) yield* this.thinRows(b, plan, rules, false, null);
    }
    this.meta.setMeta('thin.mark', plan.maxSnap);
    this.meta.setMeta('thin.pending', 0);
    this.e.head.dirs.clear();
    const t1 = this.report.thinned;
    if (t1.commits + t1.rowsDeleted + t1.rowsMoved !== before) for (const fn of this.thinnedListeners) fn();
  }

  private keep(b: BranchPlan, id: number): void {
    const add = (k: KeptSet | null) => k ? new KeptSet([...k.ids, id], k.maxSnap, k.from) : null;
    b.global = add(b.global)!;
    b.kept = b.kept.map(add);
  }

  /** Normalizes (or, dry, counts) every row the plan affects on a branch. */
  /** dead (dry runs): deleted files retire has not reached yet, inode ->
   * the commit that removed its last name. */
  private *thinRows(b: BranchPlan, plan: ThinPlan, rules: PathRules, dry: boolean,
    acc: { del: number; move: number; hashes: Map<string, { hash: Buffer; n: number }> } | null,
    dead: Map<number, number> | null = null): Task {
    const paths = new Map<number, string | null>();
    const inoPolicy = new Map<number, number>();
    const purged = new Set<number>();
    const pathOf = (ino: number): string | null => {
      if (ino === ROOT) return '';
      const hit = paths.get(ino);
      if (hit !== undefined) return hit;
      let p: string | null = null;
      const n = this.sql.nameOfIno(b.id, ino);
      if (n && paths.size < 1000000) {
        paths.set(ino, null); // cycle guard
        const parent = pathOf(n.parent);
        p = parent === null ? null : `${parent}/${n.name}`;
      }
      paths.set(ino, p);
      return p;
    };
    const policyOfPath = (p: string | null) => (p === null || rules.empty ? 0 : rules.match(p === '' ? '/' : p) + 1);
    const policyOfIno = (ino: number): number => {
      if (rules.empty) return 0;
      let v = inoPolicy.get(ino);
      if (v === undefined) { v = policyOfPath(pathOf(ino)); inoPolicy.set(ino, v); }
      return v;
    };
    const noHistory = (pi: number) => plan.tiers[pi]?.none === true;
    /** Whether a protected commit lies in [since, until). */
    const seenByProt = (since: number, until: number): boolean => {
      const a = plan.prot;
      let lo = 0, hi = a.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < since) lo = mid + 1; else hi = mid; }
      return lo < a.length && a[lo] < until;
    };
    /** A no-history file that a labelled or snapshotted state shows (as it
     * was then, or under a name it had then) keeps the store's default
     * history instead: such states are kept whole for ever. */
    const labelled = new Map<number, boolean>();
    const inLabelledState = (ino: number): boolean => {
      let v = labelled.get(ino);
      if (v === undefined) {
        v = plan.prot.length > 0 && this.sql.endedSpansOfIno(b.id, ino).some((r) => seenByProt(r.since, r.until));
        labelled.set(ino, v);
      }
      return v;
    };
    /** Deletes or re-points one row version as the plan says. */
    const judge = (t: VersionedTable, r: VRow): void => {
      let pi: number;
      if (t === 'dentries') {
        pi = rules.empty ? 0 : r.ino !== null ? policyOfIno(r.ino) : 0;
        if (!rules.empty && pi === 0) {
          const dir = pathOf(r.parent!);
          pi = policyOfPath(dir === null ? null : `${dir}/${r.name}`);
        }
      } else {
        pi = policyOfIno(r.ino!);
      }
      if (noHistory(pi) && r.ino !== null && inLabelledState(r.ino)) pi = 0;
      if (noHistory(pi)) {
        if (r.ino !== null && noHistory(policyOfIno(r.ino)) && !purged.has(r.ino)) {
          // The file's past goes: ended rows, past names; its live
          // rows stand for its whole life.
          purged.add(r.ino);
          if (dry) acc!.del++;
          else {
            const first = this.sql.inodeFirstSince(b.id, r.ino);
            if (first !== null) this.sql.purgeInode(b.id, r.ino, b.global.at(first));
            this.report.thinned.rowsDeleted++;
          }
          if (t !== 'dentries') return;
        } else if (t !== 'dentries') return;
        // Names under a no-history path: only the current one stays.
        if (r.until !== LIVE) { if (!purged.has(r.ino ?? -1) || dry) this.apply(t, b.id, r, 'delete', 0, 0, dry, acc); return; }
        const s = b.global.at(r.since);
        if (s !== r.since) this.apply(t, b.id, r, 'move', s, LIVE, dry, acc);
        return;
      }
      const k = b.kept[pi] ?? b.kept[0] ?? b.global;
      // A name moves with its file: were a name's row pushed back to a
      // kept commit inside the file's collapsed edits while the file's
      // rows are not, that commit would list a name leading nowhere.
      const m = r.ino !== null ? b.masks.get(r.ino) : undefined;
      const s = k.atMasked(r.since, m);
      if (r.until === LIVE) {
        if (s !== r.since) this.apply(t, b.id, r, 'move', s, LIVE, dry, acc);
      } else if (s >= r.until) {
        this.apply(t, b.id, r, 'delete', 0, 0, dry, acc);
      } else {
        const u = k.atMasked(r.until, m);
        if (s !== r.since || u !== r.until) this.apply(t, b.id, r, 'move', s, u, dry, acc);
      }
    };
    for (const t of VERSIONED) {
      for (const phase of ['ended', 'live'] as const) {
        let cursor: VRow | null = null;
        for (;;) {
          const rows: VRow[] = phase === 'ended'
            ? this.sql.endedRows(t, b.id, cursor, plan.scanFrom, 500)
            : this.sql.liveRows(t, b.id, cursor, plan.scanFrom, 500);
          if (!rows.length) break;
          let done = 0;
          for (const r of rows) {
            if (done++ > 0 && this.expired()) break; // resumes after cursor
            cursor = r;
            // A dry run sees deleted files as retire will leave them (below).
            if (dead && phase === 'live' && r.ino !== null && t !== 'dentries' && dead.has(r.ino)) continue;
            judge(t, r);
          }
          yield;
        }
      }
    }
    // What retire will do first: delete a deleted file's version with no
    // name (and rows begun with it), and end its other live rows where its
    // last name went, which the thinning then judges as any ended row.
    if (dead) {
      let n = 0;
      for (const [ino, end] of dead) {
        for (const t of ['inodes', 'extents', 'xattrs'] as const) {
          for (const r of this.sql.liveOfIno(t, b.id, ino)) {
            if (t === 'inodes' || r.since >= end) {
              // (retire's own deletions: counted as retired, not thinned)
              this.apply(t, b.id, r, 'delete', 0, 0, true, acc);
              acc!.del--;
            }
            else if (end >= plan.scanFrom) judge(t, { ...r, until: end });
          }
        }
        if (++n % 200 === 0) yield;
      }
    }
  }

  private apply(t: VersionedTable, branch: number, r: VRow, op: 'delete' | 'move', s: number, u: number, dry: boolean,
    acc: { del: number; move: number; hashes: Map<string, { hash: Buffer; n: number }> } | null): void {
    if (dry) {
      if (op === 'delete') {
        acc!.del++;
        if (t === 'extents' && r.hash) {
          const key = r.hash.toString('hex');
          const h = acc!.hashes.get(key);
          if (h) h.n++; else acc!.hashes.set(key, { hash: r.hash, n: 1 });
        }
      } else acc!.move++;
      return;
    }
    if (op === 'delete') { this.sql.deleteRow(t, branch, r); this.report.thinned.rowsDeleted++; }
    else { this.sql.moveRow(t, branch, r, s, u); this.report.thinned.rowsMoved++; }
    this.tick('thin');
  }

  // --- inline: history of small files into chunks ---------------------------------------

  private *inlineTask(): Task {
    const mark = JSON.parse(String(this.meta.getMeta('inline.mark') ?? '{}')) as Record<string, { until: number; since: number; rid: number }>;
    const max = Number(this.meta.getMeta('thin.mark') ?? 0) || this.store.headCommit;
    for (const b of this.sql.branches()) {
      let cur = mark[b.id] ?? { until: 0, since: 0, rid: 0 };
      for (;;) {
        const rows = this.sql.endedInline(b.id, cur, max, 200);
        if (!rows.length) break;
        for (const r of rows) {
          cur = { until: r.until, since: r.since, rid: r.rid };
          if (!r.inline || r.inline.length < INLINE_MOVE_MIN || r.since === r.until) continue;
          if (r.inline_sum !== null && inlineSum(r.inline) !== r.inline_sum) {
            // Stored as a chunk, rotted bytes would get an address of their
            // own and pass every later check: they stay inline, where reads
            // answer EIO and verify lists them.
            const e = new InlineCorruptError(r.ino, r.since);
            reportCorruption(e.key, e);
            continue;
          }
          const h = this.store.chunks.put(r.inline);
          if (this.sql.inlineToExtent(b.id, r.rid, r.ino, r.since, r.until, h)) { this.report.inlineMoved++; this.tick('inline'); }
          if (this.expired()) break; // resumes after cur
        }
        mark[b.id] = cur;
        this.meta.setMeta('inline.mark', JSON.stringify(mark));
        yield;
      }
    }
  }

  // --- encode: deltas and compression ------------------------------------------------------

  private *encodeTask(force: boolean): Task {
    const pol = this.policy();
    const settle = parseDuration(pol.rapidWindow) + 1000000000n;
    // What was queued when the task began: chunks written meanwhile wait for
    // the next round (under writers that never stop, gc chased them and
    // never finished).
    const last = this.sql.lastTodoId();
    let after = 0;
    for (;;) {
      const batch = this.sql.todoBatch(after, 16);
      if (!batch.length) return;
      for (const t of batch) {
        if (t.id > last) return;
        after = t.id;
        if (!force) {
          const c = this.meta.getCommit(t.commit_id);
          // Give rapid-edit compaction the chance to drop it first.
          if (c && this.nowNs() - c.time_ns < settle) return;
        }
        try {
          let prev = t.prev;
          if (!prev && t.branch_id !== null && t.ino !== null && t.idx !== null) prev = this.sql.prevByName(t.branch_id, t.ino, t.idx);
          this.encodeOne(t.hash, prev);
        } catch (err) {
          this.log(`encoding chunk ${t.hash.toString('hex')}: ${(err as Error).message}`);
        }
        this.sql.todoDelete(t.id);
        this.tick('encode');
        yield;
      }
    }
  }

  /** Re-encodes one chunk: a delta against its lineage base when that is
   * meaningfully smaller, else compressed when that pays, else raw. */
  encodeOne(hash: Buffer, prev: Buffer | null): void {
    const chunks = this.store.chunks;
    const row = chunks.row(hash);
    if (!row || row.seq !== null) return;
    if (!this.sql.referenced(hash)) {
      // Dropped before it was examined (thinned): its successors follow its predecessor.
      this.sql.todoSplice(hash, prev);
      this.sql.gcAdd(hash);
      return;
    }
    let base: Buffer | null = null, seq = 0;
    const prow = prev ? chunks.row(prev) : undefined;
    if (prev && prow && prow.seq !== null && prow.seq + 1 < CHECKPOINT_EVERY) {
      const k = prow.seq + 1;
      // Walk back from the predecessor to the base's position (or, where the
      // chunk size and so the radix changed along the lineage, to the first
      // version before it: a delta against it is as valid, and no deeper).
      const target = skipBase(k, deltaRadix(row.size));
      let cur: Buffer = prev, crow = prow;
      while (crow.seq! > target && crow.base) {
        const next = chunks.row(crow.base);
        if (!next || next.seq === null) break;
        cur = crow.base; crow = next;
      }
      if (crow.seq! <= target) { base = cur; seq = k; }
    }
    const data = chunks.get(hash);
    const before = row.stored;
    let full: { codec: number; data: Buffer } | null | undefined;
    const fullSize = () => { if (full === undefined) full = compress(data); return full ? full.data.length : data.length; };
    if (base) {
      const src = chunks.get(base);
      const delta = deltaWorthTrying(data, src) ? makeDelta(data, src, Math.floor(data.length / 2)) : null;
      if (delta) {
        const packed = delta.length > 64 ? compress(delta) : null;
        const payload = packed ? packed.data : delta;
        if (payload.length <= data.length / 16 || payload.length * 2 <= fullSize()) {
          const check = applyDelta(unpack(packed ? packed.codec : RAW, payload), src, data.length);
          if (check.equals(data)) {
            chunks.rewrite(hash, DELTA | (packed ? packed.codec : RAW), base, seq, payload);
            this.count(before, payload.length, 'delta');
            return;
          }
          this.log(`delta of ${hash.toString('hex')} did not round-trip; kept full`);
        }
      }
    }
    // A full checkpoint: a new lineage starts here.
    fullSize();
    if (full && unpack(full.codec, full.data).equals(data)) {
      chunks.rewrite(hash, full.codec, null, 0, full.data);
      this.count(before, full.data.length, 'compressed');
    } else {
      chunks.setSeq(hash, 0);
      this.count(before, before, 'raw');
    }
  }

  private count(before: number, after: number, kind: 'delta' | 'compressed' | 'raw'): void {
    const e = this.report.encoded;
    e.chunks++; e[kind]++; e.bytesBefore += before; e.bytesAfter += after;
  }

  // --- gc: unreferenced chunks ----------------------------------------------------------

  private collect(hash: Buffer): boolean {
    const row = this.store.chunks.row(hash);
    if (!row || this.sql.referenced(hash) || this.sql.isBase(hash)) return false;
    const base = row.base;
    this.sql.deleteChunk(hash);
    this.report.gc.chunks++;
    this.report.gc.bytes += row.stored;
    if (base) this.sql.gcAdd(base);
    this.tick('gc');
    return true;
  }

  private *gcTask(full: boolean): Task {
    if (full) {
      for (let after = 0; ;) {
        const rows = this.sql.chunkScan(after, 500);
        if (!rows.length) break;
        for (const r of rows) { after = r.id; this.collect(r.hash); if (this.expired()) break; }
        yield;
      }
    }
    // As many as were queued when this began (see encodeTask).
    let left = this.sql.gcCount();
    for (;;) {
      const batch = this.sql.gcBatch(Math.min(200, left));
      if (!batch.length) return;
      for (const h of batch) { left--; this.sql.gcDone(h); this.collect(h); if (this.expired()) break; }
      if (left <= 0) return;
      yield;
    }
  }

  // --- vacuum: give pages back -----------------------------------------------------------

  private *vacuumTask(): Task {
    if (this.sql.autoVacuum() !== 2) {
      const free = this.sql.freelistCount();
      this.report.vacuum.supported = false;
      if (free > 0) {
        this.report.notes.push(`${free} free pages stay in the file: this store was created before incremental vacuum; ` +
          'run "mikofs gc --vacuum" on the unmounted store once to rewrite it');
      }
      return;
    }
    const ps = this.sql.pageSize();
    let n = 32;
    for (;;) {
      const free = this.sql.freelistCount();
      if (free === 0) break;
      const t0 = performance.now();
      const k = Math.min(n, free);
      this.sql.incrementalVacuum(k);
      const ms = performance.now() - t0;
      this.report.vacuum.pages += k;
      this.report.vacuum.bytes += k * ps;
      this.tick('vacuum', k);
      // Aim at ~8 ms per unit (moving a page costs more the fuller the
      // file's tail is): grow at most twofold, shrink at once; at most 8 MiB
      // a unit (larger runs measured up to 50 ms: the WAL grows meanwhile).
      n = Math.max(8, Math.min(n * 2, 512, Math.floor((n * 8) / Math.max(ms, 0.25))));
      yield;
    }
    if (this.report.vacuum.pages > 0) this.store.requestCheckpoint();
  }

  // --- dry run --------------------------------------------------------------------------

  /** What a full run would free, and why, changing nothing. */
  plan(): GcPlan {
    const out: { result?: GcPlan } = {};
    const t = this.planTask(out);
    while (!this.unit(t).done) { /* run to the end */ }
    return out.result!;
  }

  /** The same, in slices that yield to the event loop (a mounted store). */
  async planAsync(sliceMs = 30): Promise<GcPlan> {
    const out: { result?: GcPlan } = {};
    const t = this.planTask(out);
    for (;;) {
      const t0 = performance.now();
      let r = this.unit(t);
      while (!r.done && performance.now() - t0 < sliceMs) r = this.unit(t);
      if (r.done) return out.result!;
      await new Promise((res) => setTimeout(res, 2));
    }
  }

  private *planTask(res: { result?: GcPlan }): Task {
    const pol = this.policy();
    const rules = new PathRules(pol.rules);
    const out: { plan?: ThinPlan } = {};
    yield* this.planThin(true, out);
    const plan = out.plan!;
    const acc = { del: 0, move: 0, hashes: new Map<string, { hash: Buffer; n: number }>() };
    // Deleted files retire would reach first (see retireTask).
    const deadOf = new Map<number, Map<number, number>>();
    const open = this.e.openInos();
    const mark = Number(this.meta.getMeta('retire.mark') ?? 0);
    let retire = 0;
    for (const b of this.sql.branches()) {
      if (b.parent_id !== null) continue;
      const m = new Map<number, number>();
      deadOf.set(b.id, m);
      const cursor = { since: mark, rid: Number.MAX_SAFE_INTEGER };
      for (;;) {
        const rows = this.sql.deadInodes(b.id, cursor, 2000);
        if (!rows.length) break;
        for (const d of rows) {
          cursor.since = d.since; cursor.rid = d.rid;
          if (!open.has(d.ino)) { m.set(d.ino, d.since); retire++; }
        }
        yield;
      }
    }
    for (const b of plan.branches) {
      const m = deadOf.get(b.id) ?? null;
      if (plan.scanFrom !== Number.POSITIVE_INFINITY || m?.size) yield* this.thinRows(b, plan, rules, true, acc, m);
    }
    const drop = plan.branches.reduce((n, b) => n + b.drop.length, 0);
    // Chunks whose every version goes.
    const freed = new Map<string, { hash: Buffer; stored: number; base: Buffer | null }>();
    const refs = this.store.db.prepare('SELECT count(*) FROM extents WHERE hash = ?').pluck();
    let n = 0;
    for (const [key, h] of acc.hashes) {
      if (++n % 500 === 0) yield;
      if ((refs.get(h.hash) as number) > h.n) continue;
      if (this.sql.staged(h.hash)) continue;
      const row = this.store.chunks.row(h.hash);
      if (row) freed.set(key, { hash: h.hash, stored: row.stored, base: row.base });
    }
    const thinned = { count: 0, bytes: 0 };
    const garbage = { count: 0, bytes: 0 };
    const bases = { count: 0, bytes: 0 };
    // Chunks nothing uses now.
    const dead = new Map<string, { hash: Buffer; stored: number; base: Buffer | null }>();
    for (let after = 0; ;) {
      const rows = this.sql.chunkScan(after, 2000);
      if (!rows.length) break;
      for (const r of rows) {
        after = r.id;
        if (!this.sql.referenced(r.hash)) dead.set(r.hash.toString('hex'), { hash: r.hash, stored: r.stored, base: r.base });
      }
      yield;
    }
    const gone = new Set<string>([...freed.keys(), ...dead.keys()]);
    // Anything still a base of a surviving chunk stays.
    const survives = (key: string, hash: Buffer) => this.sql.dependents(hash).some((d) => !gone.has(d.toString('hex'))) && gone.has(key);
    let changed = true;
    while (changed) {
      changed = false;
      for (const [key, v] of [...freed, ...dead]) {
        if (gone.has(key) && survives(key, v.hash)) { gone.delete(key); changed = true; }
        if (++n % 500 === 0) yield;
      }
    }
    for (const [key, v] of freed) if (gone.has(key)) { thinned.count++; thinned.bytes += v.stored; }
    for (const [key, v] of dead) if (gone.has(key) && !freed.has(key)) {
      const isBase = this.sql.isBase(v.hash);
      const t = isBase ? bases : garbage;
      t.count++; t.bytes += v.stored;
    }
    const ps = this.sql.pageSize();
    const free = this.sql.freelistCount();
    res.result = {
      policy: pol,
      commits: { total: plan.total, drop, byReason: plan.byReason },
      retire,
      rows: { delete: acc.del, move: acc.move },
      thinnedChunks: thinned,
      garbageChunks: garbage,
      bases,
      freePages: { pages: free, bytes: free * ps, reclaimable: this.sql.autoVacuum() === 2 },
      pendingEncode: this.sql.todoCount(),
    };
  }
}


