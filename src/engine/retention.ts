// Retention policy: which past states a store keeps. Pure logic, no SQL.
//
// A policy has tiers measured back from now: every commit younger than
// `keepAll`, the last commit of each hour younger than `hourly`, the last of
// each day younger than `daily`. Labelled commits, snapshot commits, the
// commits branches fork from, commits an open handle reads, and each
// branch's newest commit are kept for ever. Within `keepAll`, rapid edits
// collapse: a 'write' commit of a file whose next saved version of the same
// file follows within `rapidWindow` is not kept, unless a label or snapshot
// lies between them. Rules give path patterns their own tiers, or no
// history at all ('none': the current content is stored, the past is not).

export const NS_PER_S = 1000000000n;
// A year is 365 days (retention tiers need no calendar).
const UNIT: Record<string, bigint> = { s: 1n, m: 60n, h: 3600n, d: 86400n, w: 604800n, y: 31536000n };
/** A duration meaning "for ever". */
export const FOREVER = -1n;

/** Parses '0', '5s', '30m', '24h', '7d', '2w', 'forever' into nanoseconds
 * (FOREVER for ever). Throws on anything else. */
export function parseDuration(text: string): bigint {
  const t = text.trim().toLowerCase();
  if (t === 'forever' || t === 'inf' || t === 'infinity') return FOREVER;
  if (t === '0' || t === 'none' || t === 'never') return 0n;
  const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(t);
  if (!m) throw new Error(`bad duration ${JSON.stringify(text)} (use e.g. 5s, 30m, 24h, 7d, 2w, 1y, 0 or forever)`);
  if (m[2] === 'ms') return BigInt(m[1]) * 1000000n;
  return BigInt(m[1]) * UNIT[m[2]] * NS_PER_S;
}

export function formatDuration(ns: bigint): string {
  if (ns === FOREVER) return 'forever';
  if (ns === 0n) return '0';
  if (ns % NS_PER_S !== 0n) return `${ns / 1000000n}ms`;
  const s = ns / NS_PER_S;
  for (const [u, n] of [['y', 31536000n], ['w', 604800n], ['d', 86400n], ['h', 3600n], ['m', 60n]] as const) if (s % n === 0n) return `${s / n}${u}`;
  return `${s}s`;
}

export interface Tiers { keepAll: string; hourly: string; daily: string }

export interface RetentionRule extends Partial<Tiers> {
  pattern: string;
  /** 'none': no history for matching paths. */
  history?: 'none';
}

export interface RetentionPolicy extends Tiers {
  /** Rapid-edit window: successive saves of one file closer than this collapse. '0' disables. */
  rapidWindow: string;
  /** Path rules, first match wins. */
  rules: RetentionRule[];
}

export const DEFAULT_POLICY: RetentionPolicy = {
  keepAll: '24h', hourly: '7d', daily: '90d', rapidWindow: '5s', rules: [],
};

/** A policy read from JSON (possibly partial or older), with defaults filled
 * in and every field checked. */
export function normalizePolicy(p: Partial<RetentionPolicy> | undefined): RetentionPolicy {
  const out: RetentionPolicy = { ...DEFAULT_POLICY, ...(p ?? {}), rules: [...(p?.rules ?? [])] };
  for (const k of ['keepAll', 'hourly', 'daily', 'rapidWindow'] as const) parseDuration(out[k]);
  for (const r of out.rules) {
    if (typeof r.pattern !== 'string' || !r.pattern) throw new Error('a retention rule needs a pattern');
    globToRegExp(r.pattern);
    for (const k of ['keepAll', 'hourly', 'daily'] as const) if (r[k] !== undefined) parseDuration(r[k]!);
    if (r.history !== undefined && r.history !== 'none') throw new Error(`bad history value ${JSON.stringify(r.history)}`);
  }
  return out;
}

/** Compiled tiers in nanoseconds. */
export interface TierNs { keepAll: bigint; hourly: bigint; daily: bigint; none: boolean }

export function tiersOf(p: RetentionPolicy, rule?: RetentionRule): TierNs {
  if (rule?.history === 'none') return { keepAll: 0n, hourly: 0n, daily: 0n, none: true };
  return {
    keepAll: parseDuration(rule?.keepAll ?? p.keepAll),
    hourly: parseDuration(rule?.hourly ?? p.hourly),
    daily: parseDuration(rule?.daily ?? p.daily),
    none: false,
  };
}

// --- path patterns --------------------------------------------------------

/** gitignore-like globs: `*` any run of characters but '/', `?` one such
 * character, `**` any number of whole path components. A pattern without a
 * '/' (or only a trailing one) matches the name at any depth (`*.tmp`); one
 * starting with '/' is anchored at the root; any other matches at any depth
 * too (`.git/index.lock` matches every repository's lock). A pattern ending
 * in `/**` also matches the directory itself. */
export function globToRegExp(pattern: string): RegExp {
  let p = pattern.trim();
  if (!p) throw new Error('empty pattern');
  let anchored = false;
  if (p.startsWith('/')) { anchored = true; p = p.slice(1); }
  if (p.endsWith('/') && !p.endsWith('**/')) p = p.slice(0, -1);
  let re = '';
  const parts = p.split('/');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const last = i === parts.length - 1;
    if (part === '**') {
      // '**' as the last component: the directory itself and all below it.
      re += last ? '(?:/.*)?' : '(?:/[^/]+)*';
      continue;
    }
    re += '/';
    for (const ch of part) {
      if (ch === '*') re += '[^/]*';
      else if (ch === '?') re += '[^/]';
      else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const prefix = anchored ? '' : '(?:/[^/]+)*';
  return new RegExp(`^${prefix}${re}$`);
}

export class PathRules {
  private readonly compiled: { re: RegExp; index: number }[];
  constructor(readonly rules: RetentionRule[]) {
    this.compiled = rules.map((r, index) => ({ re: globToRegExp(r.pattern), index }));
  }
  get empty(): boolean { return this.compiled.length === 0; }
  /** Index of the first rule matching an absolute store path, or -1. */
  match(path: string): number {
    for (const c of this.compiled) if (c.re.test(path)) return c.index;
    return -1;
  }
}

// --- which commits to keep -------------------------------------------------

export interface CommitInfo { id: number; timeNs: bigint; kind: string }

/** Commits kept by tiers alone (protected commits are added by the caller),
 * given the commits of one branch oldest first. `rapid` holds the commits
 * that rapid-edit compaction drops. */
export function keptByTiers(commits: CommitInfo[], t: TierNs, nowNs: bigint, rapid: { has(id: number): boolean }): Set<number> {
  const kept = new Set<number>();
  if (t.none) return kept;
  const HOUR = 3600n * NS_PER_S, DAY = 24n * HOUR;
  const within = (age: bigint, d: bigint) => d === FOREVER || age <= d;
  let lastHourBucket: bigint | null = null;
  let lastDayBucket: bigint | null = null;
  // Walk newest first: the first commit seen in a bucket is its last.
  for (let i = commits.length - 1; i >= 0; i--) {
    const c = commits[i];
    const age = nowNs - c.timeNs;
    if (within(age, t.keepAll)) {
      if (!rapid.has(c.id)) kept.add(c.id);
      continue;
    }
    if (within(age, t.hourly)) {
      const b = c.timeNs / HOUR;
      if (b !== lastHourBucket) { lastHourBucket = b; kept.add(c.id); }
      continue;
    }
    if (within(age, t.daily)) {
      const b = c.timeNs / DAY;
      if (b !== lastDayBucket) { lastDayBucket = b; kept.add(c.id); }
    }
  }
  return kept;
}

/** Rapid-edit compaction: given, for 'write' commits, the file (ino) each
 * wrote, drop a write commit when the next write of the same file comes
 * within the window and no protected (labelled, snapshot) commit lies in
 * between. commits: oldest first. Returns each dropped commit with its file
 * and that next write: between the two, the file's dropped version is seen
 * by no one: other files' commits in between show its previous version,
 * names included. A version followed by a change of the file's names
 * before its next save is never dropped. */
/** Commit kinds that may rewrite any file's content at once. */
const REWRITES = new Set(['rollback', 'restore', 'merge']);

export function rapidDrops(
  commits: CommitInfo[], writes: Map<number, number>, windowNs: bigint, isProtected: (id: number) => boolean,
  emptied: { has(id: number): boolean } = new Set<number>(),
  renamedBetween: (ino: number, c: number, next: number) => boolean = () => false,
  firstVersion: (ino: number, c: number) => boolean = () => false,
): Map<number, { ino: number; next: number }> {
  const drop = new Map<number, { ino: number; next: number }>();
  if (windowNs <= 0n) return drop;
  const nextWrite = new Map<number, CommitInfo>(); // ino -> the next write commit seen (walking back)
  const afterNext = new Map<number, CommitInfo | undefined>(); // ino -> the write after that
  let lastProtected = Number.POSITIVE_INFINITY;    // smallest protected id above the cursor
  let lastRewrite = Number.POSITIVE_INFINITY;      // smallest rollback/restore/merge id above it
  for (let i = commits.length - 1; i >= 0; i--) {
    const c = commits[i];
    const ino = c.kind === 'write' ? writes.get(c.id) : undefined;
    if (ino !== undefined) {
      const n = nextWrite.get(ino);
      // A save followed by an emptied file (O_TRUNC, as `>` or dd open it,
      // committed by a close before the new content is written) goes only
      // if the new content follows in the window too: if the writer died
      // in between, the emptied file's previous content is the last good
      // one, and history must keep it.
      const by = n && emptied.has(n.id) ? afterNext.get(ino) : n;
      // A version whose file was renamed (linked, unlinked) before its next
      // save stays (unlike a protected commit, it holds nothing else back):
      // the file may have taken the name of another (an editor's save
      // renames a new file over the old one), and shown as before its
      // edits, not there yet, the name would lead nowhere in the states
      // between (a rollback to one of them would delete it).
      // A file's first version stays too: collapsed into a later save, the
      // file would not exist in the states before that save, and an editor
      // that autosaves a new file every few seconds for an hour would make
      // every state of that hour lack it (a rollback to one deleted it).
      // Nor across a rollback, restore or merge: it may have put other
      // content in the file between the two saves, and the states from
      // then on would show the content before the collapsed save instead
      // (found by the history hunt, 2026-12-05: a rollback's own state
      // showed a content the file never had then).
      if (n && by && !isProtected(c.id) && by.timeNs - c.timeNs <= windowNs && !(lastProtected < by.id)
        && !(lastRewrite < by.id) && !renamedBetween(ino, c.id, n.id) && !firstVersion(ino, c.id)) drop.set(c.id, { ino, next: n.id });
      afterNext.set(ino, n);
      nextWrite.set(ino, c);
    }
    if (isProtected(c.id)) lastProtected = c.id;
    if (REWRITES.has(c.kind)) lastRewrite = c.id;
  }
  return drop;
}

/** One file's intervals [a, b) of collapsed rapid edits, sorted and merged
 * (overlapping or touching ones give the same answers merged), searched by
 * bisection: a file saved 1,000 times has as many, and the thinning pass
 * asks about every row of it (a scan of them per row took 25 s of a dry run
 * on a store of 150,000 commits). */
export class MaskSet {
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  constructor(intervals: Iterable<readonly [number, number]>) {
    const sorted = [...intervals].filter(([a, b]) => a < b).sort((p, q) => p[0] - q[0]);
    const starts: number[] = [], ends: number[] = [];
    for (const [a, b] of sorted) {
      const last = ends.length - 1;
      if (last >= 0 && a <= ends[last]) ends[last] = Math.max(ends[last], b);
      else { starts.push(a); ends.push(b); }
    }
    this.starts = Float64Array.from(starts);
    this.ends = Float64Array.from(ends);
  }
  /** The end of the interval holding y, or -1 when none does. */
  endOf(y: number): number {
    const a = this.starts;
    let lo = 0, hi = a.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] <= y) lo = mid + 1; else hi = mid; }
    return lo > 0 && y < this.ends[lo - 1] ? this.ends[lo - 1] : -1;
  }
}

/** Sorted kept ids with "the first kept commit at or after x". Commits after
 * `maxSnap` (made while the pass runs) count as kept. */
export class KeptSet {
  readonly ids: Float64Array;
  /** Commits below `from` were not examined: they all count as kept. */
  constructor(ids: Iterable<number>, readonly maxSnap: number, readonly from = 0) {
    this.ids = Float64Array.from([...ids].sort((a, b) => a - b));
  }
  has(x: number): boolean { return x > this.maxSnap || x < this.from || this.at(x) === x; }
  /** The first kept commit >= x outside the masked intervals [a, b) (one
   * file's collapsed rapid edits). */
  atMasked(x: number, masks: MaskSet | undefined): number {
    let y = this.at(x);
    if (!masks) return y;
    for (let end = masks.endOf(y); end >= 0; end = masks.endOf(y)) y = this.at(end);
    return y;
  }

  /** The first kept commit >= x (x itself beyond the snapshot), or +Infinity. */
  at(x: number): number {
    if (x > this.maxSnap || x < this.from) return x;
    const a = this.ids;
    let lo = 0, hi = a.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
    if (lo < a.length) return a[lo];
    return this.maxSnap + 1;
  }
}
