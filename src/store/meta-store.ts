// Prepared statements over the versioned namespace tables (schema/001).
// Every read takes (branch, commit) and returns the row that was current at
// that commit on that branch, or undefined when the branch has no row for the
// key (the caller then continues in the parent branch). Every write takes the
// commit it belongs to; rows written twice in one commit are replaced, not
// versioned.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import { inlineSum } from './hash.js';
import { reportCorruption } from './chunk-store.js';

/** until of a current row; an INT64 would not survive JS numbers. */
export const LIVE = Number.MAX_SAFE_INTEGER;
/** The commit id that means "the newest state": every live row covers it. */
export const HEAD = LIVE - 1;

export type Time = bigint; // nanoseconds since the epoch

export interface DentryRow { name: string; since: number; until: number; ino: number | null }

export interface InodeRow {
  ino: number; since: number; until: number;
  mode: number; uid: number; gid: number; nlink: number; size: number; rdev: number;
  atime: Time; mtime: Time; ctime: Time; btime: Time;
  target: Buffer | null; inline: Buffer | null;
}

export interface ExtentRow { idx: number; since: number; until: number; hash: Buffer | null }
export interface XattrRow { name: string; since: number; until: number; value: Buffer | null }
export interface CommitRow { id: number; branch_id: number; time_ns: bigint; kind: string; message: string | null }
export interface BranchRow {
  id: number; name: string; kind: string; parent_id: number | null; fork_commit: number | null;
  created_ns: bigint; owner_pid: number | null;
}

const NS = 1000000000n;
function time(s: number, n: number): Time { return BigInt(s) * NS + BigInt(n); }

const INODE_COLS = `ino, since, until, mode, uid, gid, nlink, size, rdev,
  atime / 1000000000 AS a_s, atime % 1000000000 AS a_n,
  mtime / 1000000000 AS m_s, mtime % 1000000000 AS m_n,
  ctime / 1000000000 AS c_s, ctime % 1000000000 AS c_n,
  btime / 1000000000 AS b_s, btime % 1000000000 AS b_n, target, inline, inline_sum`;

interface RawInode extends Omit<InodeRow, 'atime' | 'mtime' | 'ctime' | 'btime'> {
  a_s: number; a_n: number; m_s: number; m_n: number; c_s: number; c_n: number; b_s: number; b_n: number;
  inline_sum: number | null;
}

/** The checksum that goes with an inline Buffer object: the one stored with
 * it when it was read from the file, or the one computed when it was first
 * written. Keyed by the bytes, not the row: a row the engine derives from a
 * loaded one ({ ...row, mode }) shares its Buffer, so a chmod, utimens or
 * rename of a small file keeps its checksum without hashing again, and bytes
 * that rotted on disk keep the checksum of what they were: no rewrite of
 * their row makes the damage pass for content. (Inline Buffers are never
 * changed in place: each new content is a new Buffer.) */
const sumOfBytes = new WeakMap<Buffer, number>();
/** Bytes known to match their checksum (computed from them, or checked). */
const soundBytes = new WeakSet<Buffer>();
function sumOf(inline: Buffer): number {
  let sum = sumOfBytes.get(inline);
  if (sum === undefined) {
    sum = inlineSum(inline);
    sumOfBytes.set(inline, sum);
    soundBytes.add(inline);
  }
  return sum;
}

/** A row's inline bytes, checked against the checksum stored with them
 * (once per Buffer; bytes of stores from before checksums, schema 005, are
 * taken as they are). */
export function verifiedInline(n: InodeRow): Buffer | null {
  const data = n.inline;
  if (!data || soundBytes.has(data)) return data;
  const sum = sumOfBytes.get(data);
  if (sum !== undefined && inlineSum(data) !== sum) {
    const e = new InlineCorruptError(n.ino, n.since);
    throw reportCorruption(e.key, e);
  }
  soundBytes.add(data);
  return data;
}

/** A small file's inline bytes that do not match their checksum: EIO. */
export class InlineCorruptError extends Error {
  readonly code = 'EIO';
  readonly errno = 5;
  constructor(readonly ino: number, readonly since: number) {
    super(`inline content of inode ${ino} (the version of c${since}) does not match its checksum`);
  }
  /** The key corruption is reported under (once per process). */
  get key(): string { return `inline:${this.ino}:${this.since}`; }
}

function inodeOf(r: RawInode): InodeRow {
  const row = inodeFromRaw(r);
  if (r.inline_sum !== null && r.inline_sum !== undefined && row.inline) sumOfBytes.set(row.inline, r.inline_sum);
  return row;
}
function inodeFromRaw(r: RawInode): InodeRow {
  return {
    ino: r.ino, since: r.since, until: r.until, mode: r.mode, uid: r.uid, gid: r.gid, nlink: r.nlink,
    size: r.size, rdev: r.rdev, atime: time(r.a_s, r.a_n), mtime: time(r.m_s, r.m_n),
    ctime: time(r.c_s, r.c_n), btime: time(r.b_s, r.b_n), target: r.target, inline: r.inline,
  };
}

/** The two statements of a versioned write: end the live row, then insert
 * the new live row (replacing a row this same commit already wrote). Ending
 * a row written in the same commit leaves an empty [c, c) interval, which no
 * lookup can see. */
interface Versioned { endLive: Database.Statement; endAt: Database.Statement; insert: Database.Statement }

export class MetaStore {
  private s: Record<string, Database.Statement> = {};
  private dentry: Versioned;
  private inode: Versioned;
  private extent: Versioned;
  private xattr: Versioned;
  /** False while the store has never held an extended attribute: then a
   * getxattr (asked for every file by `ls -l` and for every write by the
   * kernel) is answered without a query. Only ever turns true. */
  anyXattrs: boolean;
  /** Names of every attribute any version of any file ever had, loaded at
   * the first question once anyXattrs is true; only grows (a name GC
   * removed makes a question slower, never wrong). */
  private xattrNames: Set<string> | null = null;

  constructor(readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      getMeta: p('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      findDentry: p(`SELECT name, since, until, ino FROM dentries
        WHERE branch_id = ? AND parent = ? AND name = ? AND since <= ? ORDER BY since DESC LIMIT 1`),
      listLive: p(`SELECT name, since, until, ino FROM dentries
        WHERE branch_id = ? AND parent = ? AND until > ? AND since <= ? ORDER BY name`),
      // A directory's entries with their types, in one pass (readdir gives
      // each entry's type; a point query per entry took 12 us outside a
      // transaction, 1.7 s for a directory of 100,000 files, this 0.2 s).
      // Each inode's row is the last one begun by \`at\` (a seek on its key,
      // however many versions it has).
      listWithModes: p(`SELECT d.name, d.ino, i.mode
        FROM dentries d JOIN inodes i ON i.branch_id = d.branch_id AND i.ino = d.ino
          AND i.since = (SELECT max(since) FROM inodes m WHERE m.branch_id = d.branch_id AND m.ino = d.ino AND m.since <= @at)
        WHERE d.branch_id = @b AND d.parent = @p AND d.until > @at AND d.since <= @at AND d.ino IS NOT NULL AND i.until > @at
        ORDER BY d.name`),
      listAllVersions: p(`SELECT name, since, until, ino FROM dentries
        WHERE branch_id = ? AND parent = ? AND since <= ? ORDER BY name, since`),
      hasChildren: p(`SELECT 1 FROM dentries WHERE branch_id = ? AND parent = ? AND until > ? AND since <= ?
        AND ino IS NOT NULL LIMIT 1`).pluck(),
      getInode: p(`SELECT ${INODE_COLS} FROM inodes WHERE branch_id = ? AND ino = ? AND since <= ?
        ORDER BY since DESC LIMIT 1`),
      // \`+until\`: not the (branch_id, until, since) index, which SQLite
      // otherwise picks and which holds every live row of the branch (an
      // atime update per closed reader scanned them all: git gc of 10,000
      // loose objects took 73 s, 6.3 s with this; the disk 1.6). The key
      // seeks by ino.
      touchAtime: p('UPDATE inodes SET atime = ? WHERE branch_id = ? AND ino = ? AND +until = ?'),
      getExtent: p(`SELECT idx, since, until, hash FROM extents WHERE branch_id = ? AND ino = ? AND idx = ?
        AND since <= ? ORDER BY since DESC LIMIT 1`),
      liveExtentsFrom: p(`SELECT idx, since, until, hash FROM extents WHERE branch_id = ? AND ino = ? AND idx >= ?
        AND until = ${LIVE}`),
      extentIdxAt: p(`SELECT DISTINCT idx FROM extents WHERE branch_id = ? AND ino = ? AND idx >= ?
        AND since <= ? AND +until > ?`).pluck(),
      getXattr: p(`SELECT name, since, until, value FROM xattrs WHERE branch_id = ? AND ino = ? AND name = ?
        AND since <= ? ORDER BY since DESC LIMIT 1`),
      listXattrs: p(`SELECT name, since, until, value FROM xattrs WHERE branch_id = ? AND ino = ? AND since <= ?
        ORDER BY name, since`),
      insertCommit: p('INSERT INTO commits (branch_id, time_ns, kind, message) VALUES (?, ?, ?, ?)'),
      setCommitKind: p('UPDATE commits SET kind = ? WHERE id = ?'),
      lastCommit: p(`SELECT id, branch_id, time_ns, kind, message FROM commits ORDER BY id DESC LIMIT 1`).safeIntegers(true),
      commitBefore: p('SELECT max(id) FROM commits WHERE id < ?').pluck(),
      getCommit: p('SELECT id, branch_id, time_ns, kind, message FROM commits WHERE id = ?').safeIntegers(true),
      commitAtTime: p(`SELECT id FROM commits WHERE branch_id = ? AND time_ns <= ? ORDER BY time_ns DESC, id DESC LIMIT 1`).pluck(),
      branchByName: p('SELECT * FROM branches WHERE name = ?').safeIntegers(false),
      branchById: p('SELECT * FROM branches WHERE id = ?'),
      insertBranch: p(`INSERT INTO branches (name, kind, parent_id, fork_commit, created_ns, owner_pid)
        VALUES (?, ?, ?, ?, ?, ?)`),
      deleteBranch: p('DELETE FROM branches WHERE id = ?'),
      sessionBranches: p(`SELECT * FROM branches WHERE kind = 'session'`),
      getLabel: p('SELECT commit_id FROM labels WHERE name = ?').pluck(),
      setLabel: p(`INSERT INTO labels (name, commit_id, created_ns) VALUES (?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET commit_id = excluded.commit_id`),
      deleteLabel: p('DELETE FROM labels WHERE name = ?'),
      listLabels: p('SELECT name, commit_id, created_ns FROM labels ORDER BY name').safeIntegers(true),
      putSessionChunk: p('INSERT OR REPLACE INTO session_chunks (branch_id, idx, hash) VALUES (?, ?, ?)'),
      sessionChunkHashes: p('SELECT hash FROM session_chunks WHERE branch_id = ?').pluck(),
      dropSessionChunks: p('DELETE FROM session_chunks WHERE branch_id = ?'),
      commitsDesc: p(`SELECT id, branch_id, time_ns, kind, message FROM commits
        WHERE branch_id = ? AND time_ns >= ? AND time_ns <= ? AND id < ? ORDER BY id DESC LIMIT ?`).safeIntegers(true),
      recentOfKind: p(`SELECT id, branch_id, time_ns, kind, message FROM commits WHERE branch_id = ? AND kind = ?
        ORDER BY id DESC LIMIT ?`).safeIntegers(true),
      inodesSince: p(`SELECT ino, size FROM inodes WHERE branch_id = ? AND since = ?`),
      inodesBetween: p(`SELECT DISTINCT ino FROM inodes INDEXED BY inodes_by_since
        WHERE branch_id = ? AND since > ? AND since <= ?`).pluck(),
      // Entries begun or ended in (lo, hi]: rows ended after lo, and live rows begun after lo.
      // Three ranges of the history index (as one OR, SQLite scanned every
      // ended row): ended in (lo, hi]; begun there and ended later; live.
      dentryParentsBetween: p(`SELECT DISTINCT parent FROM (SELECT parent FROM dentries
          WHERE branch_id = @b AND until > @lo AND until <= @hi
        UNION ALL SELECT parent FROM dentries
          WHERE branch_id = @b AND until > @hi AND until < ${LIVE} AND since > @lo AND since <= @hi
        UNION ALL SELECT parent FROM dentries
          WHERE branch_id = @b AND until = ${LIVE} AND since > @lo AND since <= @hi)`).pluck(),
      // The same rows, for the inodes they name (log: names made or removed
      // in a commit that made no version of the inode).
      dentryInosBetween: p(`SELECT ino, since, until FROM dentries
          WHERE branch_id = @b AND until > @lo AND until <= @hi AND ino IS NOT NULL
        UNION ALL SELECT ino, since, until FROM dentries
          WHERE branch_id = @b AND until > @hi AND until < ${LIVE} AND since > @lo AND since <= @hi AND ino IS NOT NULL
        UNION ALL SELECT ino, since, until FROM dentries
          WHERE branch_id = @b AND until = ${LIVE} AND since > @lo AND since <= @hi AND ino IS NOT NULL`),
      rewriteInode: p(`UPDATE inodes SET mode = @mode, uid = @uid, gid = @gid, nlink = @nlink, size = @size, rdev = @rdev,
        atime = @atime, mtime = @mtime, ctime = @ctime, btime = @btime, target = @target, inline = @inline,
        inline_sum = @inline_sum WHERE branch_id = @branch_id AND ino = @ino AND since = @c AND until = ${LIVE}`),
      setTimesInPlace: p(`UPDATE inodes SET mtime = ?, ctime = ? WHERE branch_id = ? AND ino = ? AND since = ? AND until = ${LIVE}`),
      namesOfIno: p(`SELECT parent, name FROM dentries INDEXED BY dentries_by_ino
        WHERE branch_id = ? AND ino = ? AND since <= ? AND until > ?`),
      namesEverIn: p(`SELECT ino, since, until FROM dentries WHERE branch_id = ? AND parent = ?`),
      inodeVersionCommits: p(`SELECT since FROM inodes WHERE branch_id = ? AND ino = ?`).pluck(),
      dentryHistory: p(`SELECT name, since, until, ino FROM dentries WHERE branch_id = ? AND parent = ? AND name = ?
        ORDER BY since`),
      inodeHistory: p(`SELECT ${INODE_COLS} FROM inodes WHERE branch_id = ? AND ino = ? AND since < ? AND until > ?
        ORDER BY since`),
      extentsAt: p(`SELECT idx, since, until, hash FROM extents WHERE branch_id = ? AND ino = ? AND since <= ? AND +until > ?`),
      // Chunks a file has at `at` (holes are rows without a hash, or no
      // row): its allocated size for st_blocks.
      dataChunks: p(`SELECT count(*) FROM extents WHERE branch_id = ? AND ino = ? AND since <= ? AND +until > ?
        AND hash IS NOT NULL`).pluck(),
      extentChangedAt: p(`SELECT 1 FROM extents WHERE branch_id = @b AND ino = @ino AND (since = @c OR until = @c) LIMIT 1`),
      dropChunkIfOrphan: p(`DELETE FROM chunks WHERE hash = @h
        AND NOT EXISTS (SELECT 1 FROM extents WHERE hash = @h)
        AND NOT EXISTS (SELECT 1 FROM session_chunks WHERE hash = @h)
        AND NOT EXISTS (SELECT 1 FROM chunks WHERE base = @h)`),
    };
    this.dentry = this.versioned('dentries', ['parent', 'name'], ['ino']);
    this.inode = this.versioned('inodes', ['ino'],
      ['mode', 'uid', 'gid', 'nlink', 'size', 'rdev', 'atime', 'mtime', 'ctime', 'btime', 'target', 'inline', 'inline_sum']);
    this.extent = this.versioned('extents', ['ino', 'idx'], ['hash']);
    this.xattr = this.versioned('xattrs', ['ino', 'name'], ['value']);
    this.anyXattrs = db.prepare('SELECT EXISTS (SELECT 1 FROM xattrs)').pluck().get() === 1;
  }

  private versioned(table: string, key: string[], cols: string[]): Versioned {
    const where = ['branch_id', ...key].map((k) => `${k} = @${k}`).join(' AND ');
    const all = ['branch_id', ...key, 'since', 'until', ...cols];
    return {
      // The live row is the newest version: find it by one seek on the
      // primary key instead of scanning every version of the key.
      endLive: this.db.prepare(`UPDATE ${table} SET until = @c WHERE ${where} AND until = ${LIVE}
        AND since = (SELECT max(since) FROM ${table} WHERE ${where})`),
      // When the caller knows the live row's since (a cached row): one PK hit.
      endAt: this.db.prepare(`UPDATE ${table} SET until = @c WHERE ${where} AND since = @prev AND until = ${LIVE}`),
      insert: this.db.prepare(`INSERT OR REPLACE INTO ${table} (${all.join(', ')})
        VALUES (${all.map((c) => (c === 'since' ? '@c' : c === 'until' ? `${LIVE}` : `@${c}`)).join(', ')})`),
    };
  }

  /** prev: the live row's since when the caller knows it, null when the
   * key has no live row (a new name or inode: nothing to end). */
  private put(v: Versioned, params: Record<string, unknown>, prev?: number | null): void {
    if (prev === undefined) v.endLive.run(params);
    else if (prev !== null) v.endAt.run({ ...params, prev });
    v.insert.run(params);
  }

  private end(v: Versioned, params: Record<string, unknown>): void {
    v.endLive.run(params);
  }

  /** Keys of a versioned table whose row differs between commit T and now:
   * live rows begun after T, and rows ended after T (served by the
   * (branch_id, until, since) index of migration 002). */
  changedKeys(table: 'dentries' | 'inodes' | 'extents' | 'xattrs', branch: number, t: number): Record<string, unknown>[] {
    const key = { dentries: 'parent, name', inodes: 'ino', extents: 'ino, idx', xattrs: 'ino, name' }[table];
    let st = this.changed.get(table);
    if (!st) {
      st = this.db.prepare(`SELECT DISTINCT ${key} FROM (
          SELECT ${key} FROM ${table} WHERE branch_id = @b AND until = ${LIVE} AND since > @t
          UNION ALL
          SELECT ${key} FROM ${table} WHERE branch_id = @b AND until > @t AND until < ${LIVE})`);
      this.changed.set(table, st);
    }
    return st.all({ b: branch, t }) as Record<string, unknown>[];
  }
  private changed = new Map<string, Database.Statement>();

  /** Commits in a time range, newest first; `before` pages back (ids below it). */
  commitsDesc(branch: number, fromNs: bigint, toNs: bigint, limit: number, before = Number.MAX_SAFE_INTEGER): CommitRow[] {
    return (this.s.commitsDesc.all(branch, fromNs, toNs, before, limit) as unknown[]).map((r) => this.commitOut(r)!);
  }
  /** Name rows begun or ended in commits (lo, hi], with their inodes. */
  dentryInosBetween(branch: number, lo: number, hi: number): { ino: number; since: number; until: number }[] {
    return this.s.dentryInosBetween.all({ b: branch, lo, hi }) as { ino: number; since: number; until: number }[];
  }
  inodesCreatedAt(branch: number, c: number): { ino: number; size: number }[] {
    return this.s.inodesSince.all(branch, c) as { ino: number; size: number }[];
  }
  recentCommitsOfKind(branch: number, kind: string, limit: number): CommitRow[] {
    return (this.s.recentOfKind.all(branch, kind, limit) as unknown[]).map((r) => this.commitOut(r)!);
  }
  /** Inodes with a version begun in the commit interval (lo, hi]. */
  inodesChangedBetween(branch: number, lo: number, hi: number): number[] {
    return this.s.inodesBetween.all(branch, lo, hi) as number[];
  }
  /** Directories with an entry begun or ended in (lo, hi]. */
  dentryParentsBetween(branch: number, lo: number, hi: number): number[] {
    return this.s.dentryParentsBetween.all({ b: branch, lo, hi }) as number[];
  }
  /** Moves the times of a live inode version without making a version. */
  setTimesInPlace(branch: number, ino: number, since: number, mtime: Time, ctime: Time): void {
    this.s.setTimesInPlace.run(mtime, ctime, branch, ino, since);
  }
  namesOfIno(branch: number, ino: number, at: number): { parent: number; name: string }[] {
    return this.s.namesOfIno.all(branch, ino, at, at) as { parent: number; name: string }[];
  }
  /** Every name directory `parent` ever had: its inode and when. */
  namesEverIn(branch: number, parent: number): { ino: number | null; since: number; until: number }[] {
    return this.s.namesEverIn.all(branch, parent) as { ino: number | null; since: number; until: number }[];
  }
  /** The commits that made a version of an inode. */
  inodeVersionCommits(branch: number, ino: number): number[] {
    return this.s.inodeVersionCommits.all(branch, ino) as number[];
  }
  dentryHistory(branch: number, parent: number, name: string): DentryRow[] {
    return this.s.dentryHistory.all(branch, parent, name) as DentryRow[];
  }
  /** Versions of an inode overlapping the commit interval [from, to). */
  inodeHistory(branch: number, ino: number, from: number, to: number): InodeRow[] {
    return (this.s.inodeHistory.all(branch, ino, to, from) as RawInode[]).map(inodeOf);
  }
  extentsAt(branch: number, ino: number, at: number): ExtentRow[] {
    return this.s.extentsAt.all(branch, ino, at, at) as ExtentRow[];
  }
  /** How many chunks (not holes) the file has at `at`. */
  dataChunks(branch: number, ino: number, at: number): number {
    return this.s.dataChunks.get(branch, ino, at, at) as number;
  }
  extentChangedAt(branch: number, ino: number, c: number): boolean {
    return this.s.extentChangedAt.get({ b: branch, ino, c }) !== undefined;
  }

  // --- meta ---------------------------------------------------------------
  getMeta(key: string): unknown { return this.s.getMeta.get(key); }
  setMeta(key: string, value: unknown): void { this.s.setMeta.run(key, value); }

  // --- dentries -------------------------------------------------------------
  findDentry(branch: number, parent: number, name: string, at: number): DentryRow | undefined {
    return this.s.findDentry.get(branch, parent, name, at) as DentryRow | undefined;
  }
  /** Live entries at `at` with their types (st_mode), by name. */
  listWithModes(branch: number, parent: number, at: number): { name: string; ino: number; mode: number }[] {
    return this.s.listWithModes.all({ b: branch, p: parent, at }) as { name: string; ino: number; mode: number }[];
  }
  /** Entries alive at `at` on this branch only (tombstones included). */
  listDentries(branch: number, parent: number, at: number): DentryRow[] {
    return this.s.listLive.all(branch, parent, at, at) as DentryRow[];
  }
  /** Every version on this branch up to `at`: what a child branch needs to
   * know which names it shadows. */
  listDentryVersions(branch: number, parent: number, at: number): DentryRow[] {
    return this.s.listAllVersions.all(branch, parent, at) as DentryRow[];
  }
  hasChildren(branch: number, parent: number, at: number): boolean {
    return this.s.hasChildren.get(branch, parent, at, at) !== undefined;
  }
  putDentry(branch: number, c: number, parent: number, name: string, ino: number | null, isNew = false): void {
    this.put(this.dentry, { branch_id: branch, c, parent, name, ino }, isNew ? null : undefined);
  }
  endDentry(branch: number, c: number, parent: number, name: string): void {
    this.end(this.dentry, { branch_id: branch, c, parent, name });
  }

  // --- inodes ---------------------------------------------------------------
  getInode(branch: number, ino: number, at: number): InodeRow | undefined {
    const r = this.s.getInode.get(branch, ino, at) as RawInode | undefined;
    return r && inodeOf(r);
  }
  putInode(branch: number, c: number, n: Omit<InodeRow, 'since' | 'until'>, prevSince?: number | null): void {
    const { ino, mode, uid, gid, nlink, size, rdev, atime, mtime, ctime, btime, target, inline } = n;
    const inline_sum = inline ? sumOf(inline) : null;
    const row = { branch_id: branch, c, ino, mode, uid, gid, nlink, size, rdev, atime, mtime, ctime, btime, target, inline, inline_sum };
    // The live version was written by this same commit: rewrite it in place
    // (no index changes) rather than end and replace it.
    if (prevSince === c && this.s.rewriteInode.run(row).changes === 1) return;
    this.put(this.inode, row, prevSince);
  }
  /** atime is not history: it is updated in place on the live version. */
  touchAtime(branch: number, ino: number, atime: Time): void {
    this.s.touchAtime.run(atime, branch, ino, LIVE);
  }

  // --- extents ----------------------------------------------------------
  getExtent(branch: number, ino: number, idx: number, at: number): ExtentRow | undefined {
    return this.s.getExtent.get(branch, ino, idx, at) as ExtentRow | undefined;
  }
  /** Chunk indices from `from` up that have a row (a chunk, or a hole
   * written as one) at `at`: the chunks a shrinking file really has, where
   * counting from its size would walk every hole of a sparse file. */
  extentIndicesAt(branch: number, ino: number, from: number, at: number): number[] {
    return this.s.extentIdxAt.all(branch, ino, from, at, at) as number[];
  }
  liveExtentsFrom(branch: number, ino: number, idx: number): ExtentRow[] {
    return this.s.liveExtentsFrom.all(branch, ino, idx) as ExtentRow[];
  }
  putExtent(branch: number, c: number, ino: number, idx: number, hash: Buffer | null): void {
    this.put(this.extent, { branch_id: branch, c, ino, idx, hash });
  }
  endExtent(branch: number, c: number, ino: number, idx: number): void {
    this.end(this.extent, { branch_id: branch, c, ino, idx });
  }

  // --- xattrs -------------------------------------------------------------
  /** False when no file has ever had an attribute called name: a getxattr
   * of it is ENODATA for every path at every time, no path to resolve. */
  mayHaveXattr(name: string): boolean {
    if (!this.anyXattrs) return false;
    this.xattrNames ??= new Set(this.db.prepare('SELECT DISTINCT name FROM xattrs').pluck().all() as string[]);
    return this.xattrNames.has(name);
  }
  getXattr(branch: number, ino: number, name: string, at: number): XattrRow | undefined {
    if (!this.anyXattrs) return undefined;
    return this.s.getXattr.get(branch, ino, name, at) as XattrRow | undefined;
  }
  listXattrVersions(branch: number, ino: number, at: number): XattrRow[] {
    if (!this.anyXattrs) return [];
    return this.s.listXattrs.all(branch, ino, at) as XattrRow[];
  }
  putXattr(branch: number, c: number, ino: number, name: string, value: Buffer | null): void {
    this.anyXattrs = true;
    this.xattrNames?.add(name);
    this.put(this.xattr, { branch_id: branch, c, ino, name, value });
  }
  endXattr(branch: number, c: number, ino: number, name: string): void {
    this.end(this.xattr, { branch_id: branch, c, ino, name });
  }

  // --- commits, branches, labels ----------------------------------------------
  insertCommit(branch: number, timeNs: bigint, kind: string, message: string | null): number {
    return Number(this.s.insertCommit.run(branch, timeNs, kind, message).lastInsertRowid);
  }
  setCommitKind(id: number, kind: string): void { this.s.setCommitKind.run(kind, id); }
  lastCommit(): CommitRow | undefined { return this.commitOut(this.s.lastCommit.get()); }
  /** The newest commit before c that exists (thinning deletes commits). */
  commitBefore(c: number): number | undefined { return (this.s.commitBefore.get(c) as number | null) ?? undefined; }
  getCommit(id: number): CommitRow | undefined { return this.commitOut(this.s.getCommit.get(id)); }
  private commitOut(r: unknown): CommitRow | undefined {
    if (!r) return undefined;
    const c = r as { id: bigint; branch_id: bigint; time_ns: bigint; kind: string; message: string | null };
    return { id: Number(c.id), branch_id: Number(c.branch_id), time_ns: c.time_ns, kind: c.kind, message: c.message };
  }
  commitAtTime(branch: number, timeNs: bigint): number | undefined {
    return this.s.commitAtTime.get(branch, timeNs) as number | undefined;
  }
  branchByName(name: string): BranchRow | undefined { return this.s.branchByName.get(name) as BranchRow | undefined; }
  branchById(id: number): BranchRow | undefined { return this.s.branchById.get(id) as BranchRow | undefined; }
  insertBranch(name: string, kind: string, parent: number | null, fork: number | null, createdNs: bigint, pid: number | null): number {
    return Number(this.s.insertBranch.run(name, kind, parent, fork, createdNs, pid).lastInsertRowid);
  }
  deleteBranch(id: number): void { this.s.deleteBranch.run(id); }
  sessionBranches(): BranchRow[] { return this.s.sessionBranches.all() as BranchRow[]; }
  getLabel(name: string): number | undefined { return this.s.getLabel.get(name) as number | undefined; }
  setLabel(name: string, commit: number, nowNs: bigint): void { this.s.setLabel.run(name, commit, nowNs); }
  deleteLabel(name: string): boolean { return this.s.deleteLabel.run(name).changes > 0; }
  listLabels(): { name: string; commit_id: number; created_ns: bigint }[] {
    return (this.s.listLabels.all() as { name: string; commit_id: bigint; created_ns: bigint }[])
      .map((r) => ({ name: r.name, commit_id: Number(r.commit_id), created_ns: r.created_ns }));
  }

  // --- write-session staging ------------------------------------------------
  putSessionChunk(branch: number, idx: number, hash: Buffer): void { this.s.putSessionChunk.run(branch, idx, hash); }
  /** Removes a session's staging rows and any chunk only they referenced. */
  dropSession(branch: number): void {
    const hashes = this.s.sessionChunkHashes.all(branch) as Buffer[];
    this.s.dropSessionChunks.run(branch);
    for (const h of hashes) this.s.dropChunkIfOrphan.run({ h });
    this.s.deleteBranch.run(branch);
  }
}
