// SQL of the background storage work (schema/003): the chunk encoding
// queue, garbage collection, history thinning, retiring deleted inodes,
// moving the history of small inline files into chunks, and space
// statistics. Every statement touches a bounded number of rows, so the
// engine's maintenance can run it in short slices between FUSE operations.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import { LIVE } from './meta-store.js';

export type VersionedTable = 'dentries' | 'inodes' | 'extents' | 'xattrs';
export const VERSIONED: VersionedTable[] = ['dentries', 'inodes', 'extents', 'xattrs'];

/** Key columns after branch_id (before since) of each versioned table, as
 * they follow (branch_id, until, since) in its *_changes index. inodes is a
 * rowid table: its index carries the rowid instead. */
const KEY: Record<VersionedTable, string[]> = {
  dentries: ['parent', 'name'],
  inodes: ['rowid'],
  extents: ['ino', 'idx'],
  xattrs: ['ino', 'name'],
};

/** A versioned row as the thinning pass sees it. */
export interface VRow {
  since: number; until: number;
  /** Key columns in KEY order (inodes: [rowid]). */
  key: (number | string)[];
  /** The inode the row belongs to (dentries: its target, null for tombstones). */
  ino: number | null;
  /** dentries: the parent directory and name. */
  parent?: number; name?: string;
  /** extents: the chunk. */
  hash?: Buffer | null;
}

export interface TodoRow {
  id: number; hash: Buffer; prev: Buffer | null; commit_id: number;
  branch_id: number | null; ino: number | null; idx: number | null;
}
export interface ChunkScanRow { id: number; hash: Buffer; base: Buffer | null; size: number; stored: number; encoding: number }
export interface CommitLite { id: number; time_ns: bigint; kind: string }

export class MaintenanceStore {
  private s: Record<string, Database.Statement>;
  private scanEnded = new Map<VersionedTable, Database.Statement>();
  private scanLive = new Map<VersionedTable, Database.Statement>();
  private liveOfInoStmt = new Map<VersionedTable, Database.Statement>();
  private del = new Map<VersionedTable, Database.Statement>();
  private upd = new Map<VersionedTable, Database.Statement>();

  constructor(readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      todoBatch: p('SELECT id, hash, prev, commit_id, branch_id, ino, idx FROM chunk_todo WHERE id > ? ORDER BY id LIMIT ?'),
      // A new file under a name another file had (written anew and renamed
      // over, or deleted and re-created): that file's chunk at the same index.
      // CROSS JOIN fixes the order (the file's names, their earlier owners,
      // their chunk): left to itself the planner scanned every entry of
      // dentries_by_ino first (4.6 ms a chunk with 10,000 names, 0.04 ms so).
      prevByName: p(`SELECT o.hash FROM dentries d
        CROSS JOIN dentries p ON p.branch_id = d.branch_id AND p.parent = d.parent AND p.name = d.name AND p.since < d.since
        CROSS JOIN extents o ON o.branch_id = d.branch_id AND o.ino = p.ino AND o.idx = @idx AND o.since <= d.since
        WHERE d.branch_id = @b AND d.ino = @ino AND p.ino IS NOT NULL AND p.ino != @ino AND o.hash IS NOT NULL
        ORDER BY d.since DESC, p.since DESC, o.since DESC LIMIT 1`).pluck(),
      lastTodoId: p('SELECT max(id) FROM chunk_todo').pluck(),
      todoAtLeast: p('SELECT count(*) FROM (SELECT 1 FROM chunk_todo LIMIT ?)').pluck(),
      gcAtLeast: p('SELECT count(*) FROM (SELECT 1 FROM gc_todo LIMIT ?)').pluck(),
      todoCount: p('SELECT count(*) FROM chunk_todo t WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.hash = t.hash)').pluck(),
      todoDelete: p('DELETE FROM chunk_todo WHERE id = ?'),
      todoSplice: p('UPDATE chunk_todo SET prev = ? WHERE prev = ?'),
      inExtents: p('SELECT 1 FROM extents WHERE hash = ? LIMIT 1').pluck(),
      inLiveExtents: p(`SELECT 1 FROM extents WHERE hash = ? AND until = ${LIVE} LIMIT 1`).pluck(),
      inSessions: p('SELECT 1 FROM session_chunks WHERE hash = ? LIMIT 1').pluck(),
      isBase: p('SELECT 1 FROM chunks WHERE base = ? LIMIT 1').pluck(),
      gcBatch: p('SELECT hash FROM gc_todo LIMIT ?').pluck(),
      gcCount: p('SELECT count(*) FROM gc_todo').pluck(),
      gcDelete: p('DELETE FROM gc_todo WHERE hash = ?'),
      gcAdd: p('INSERT OR IGNORE INTO gc_todo (hash) VALUES (?)'),
      deleteChunk: p('DELETE FROM chunks WHERE hash = ?'),
      chunkScan: p('SELECT id, hash, base, size, length(data) AS stored, encoding FROM chunks WHERE id > ? ORDER BY id LIMIT ?'),
      chunkBase: p('SELECT base FROM chunks WHERE hash = ?').pluck(),
      dependents: p('SELECT hash FROM chunks WHERE base = ?').pluck(),
      branches: p(`SELECT id, parent_id FROM branches WHERE kind != 'session' ORDER BY id`),
      // +branch_id: walk the commits in id order and stop at the limit; by the
      // (branch_id, time_ns) index SQLite sorted every commit of the branch
      // for each page.
      commitsOf: p('SELECT id, time_ns, kind FROM commits WHERE +branch_id = ? AND id > ? ORDER BY id LIMIT ?').safeIntegers(true),
      firstCommitFrom: p('SELECT id FROM commits WHERE branch_id = ? AND time_ns >= ? ORDER BY time_ns, id LIMIT 1').pluck(),
      commitTime: p('SELECT time_ns FROM commits WHERE id = ?').pluck().safeIntegers(true),
      hasTodo: p('SELECT 1 FROM chunk_todo LIMIT 1').pluck(),
      hasGc: p('SELECT 1 FROM gc_todo LIMIT 1').pluck(),
      labelCommits: p('SELECT DISTINCT commit_id FROM labels').pluck(),
      forkCommits: p('SELECT DISTINCT fork_commit FROM branches WHERE fork_commit IS NOT NULL').pluck(),
      snapshotCommits: p("SELECT id FROM commits WHERE kind = 'snapshot'").pluck(),
      // The spans of an inode's ended versions and names (no-history paths
      // spare those a label or snapshot sees).
      endedInodeSpans: p(`SELECT since, until FROM inodes WHERE branch_id = @b AND ino = @ino AND +until < ${LIVE}`),
      endedNameSpans: p(`SELECT since, until FROM dentries INDEXED BY dentries_by_ino WHERE branch_id = @b AND ino = @ino AND until < ${LIVE}`),
      // The file each write commit wrote: its regular-file inode versions
      // (the same commit may also move a directory's times).
      writesSince: p(`SELECT since, ino, size FROM inodes INDEXED BY inodes_by_since WHERE branch_id = ? AND since >= ? AND since < ?
        AND (mode & ${0o170000}) = ${0o100000}`),
      namesChangedSince: p(`SELECT ino, since AS c FROM dentries WHERE branch_id = @b AND until = ${LIVE} AND since >= @t AND ino IS NOT NULL
          UNION ALL SELECT ino, since AS c FROM dentries WHERE branch_id = @b AND until >= @t AND until < ${LIVE} AND since >= @t AND ino IS NOT NULL
          UNION ALL SELECT ino, until AS c FROM dentries WHERE branch_id = @b AND until >= @t AND until < ${LIVE} AND ino IS NOT NULL`),
      deleteCommit: p('DELETE FROM commits WHERE id = ?'),
      nameOfIno: p('SELECT parent, name FROM dentries INDEXED BY dentries_by_ino WHERE branch_id = ? AND ino = ? ORDER BY until DESC, since DESC LIMIT 1'),
      // no-history purge of one inode
      inoFirstSince: p('SELECT min(since) FROM inodes WHERE branch_id = ? AND ino = ?').pluck(),
      purgeInodes: p(`DELETE FROM inodes WHERE branch_id = ? AND ino = ? AND +until < ${LIVE}`),
      purgeExtents: p(`DELETE FROM extents WHERE branch_id = ? AND ino = ? AND +until < ${LIVE}`),
      purgeXattrs: p(`DELETE FROM xattrs WHERE branch_id = ? AND ino = ? AND +until < ${LIVE}`),
      purgeDentries: p(`DELETE FROM dentries INDEXED BY dentries_by_ino WHERE branch_id = ? AND ino = ? AND until < ${LIVE}`),
      liveSinceInodes: p(`UPDATE inodes SET since = ? WHERE branch_id = ? AND ino = ? AND +until = ${LIVE}`),
      liveSinceExtents: p(`UPDATE extents SET since = ? WHERE branch_id = ? AND ino = ? AND +until = ${LIVE}`),
      liveSinceXattrs: p(`UPDATE xattrs SET since = ? WHERE branch_id = ? AND ino = ? AND +until = ${LIVE}`),
      // retiring deleted inodes
      // Paged by (since, rowid): one commit (a rollback) can remove the last
      // names of thousands of files, more than a page.
      deadInodes: p(`SELECT rowid AS rid, ino, since FROM inodes WHERE branch_id = ? AND until = ${LIVE} AND (since, rowid) > (?, ?)
        AND nlink = 0 ORDER BY since, rowid LIMIT ?`),
      endExtentsAt: p(`UPDATE extents SET until = @c WHERE branch_id = @b AND ino = @ino AND +until = ${LIVE} AND since < @c`),
      dropExtentsFrom: p(`DELETE FROM extents WHERE branch_id = @b AND ino = @ino AND +until = ${LIVE} AND since >= @c`),
      endXattrsAt: p(`UPDATE xattrs SET until = @c WHERE branch_id = @b AND ino = @ino AND +until = ${LIVE} AND since < @c`),
      dropXattrsFrom: p(`DELETE FROM xattrs WHERE branch_id = @b AND ino = @ino AND +until = ${LIVE} AND since >= @c`),
      deleteInodeRow: p('DELETE FROM inodes WHERE rowid = ?'),
      // inline history into chunks
      endedInline: p(`SELECT rowid AS rid, ino, since, until, inline, inline_sum FROM inodes
        WHERE branch_id = @b AND until < ${LIVE} AND (until, since, rowid) > (@u, @s, @r) AND until <= @max
        ORDER BY until, since, rowid LIMIT @n`),
      extentOverlap: p(`SELECT 1 FROM extents WHERE branch_id = @b AND ino = @ino AND idx = 0 AND since < @u AND until > @s LIMIT 1`).pluck(),
      extendBack: p(`UPDATE extents SET until = @u WHERE branch_id = @b AND ino = @ino AND idx = 0 AND until = @s AND hash = @h`),
      extendFront: p(`UPDATE extents SET since = @s WHERE branch_id = @b AND ino = @ino AND idx = 0 AND since = @u AND hash = @h`),
      insertExtent: p(`INSERT INTO extents (branch_id, ino, idx, since, until, hash) VALUES (@b, @ino, 0, @s, @u, @h)`),
      // Delete and insert anew (inline NULL) rather than UPDATE: the row
      // shrinks by up to 4 KiB, and SQLite merges emptied pages only on delete.
      takeInode: p(`DELETE FROM inodes WHERE rowid = ? RETURNING branch_id, ino, since, until, mode, uid, gid, nlink, size,
        rdev, atime, mtime, ctime, btime, target`).safeIntegers(true),
      putInodeNoInline: p(`INSERT INTO inodes (branch_id, ino, since, until, mode, uid, gid, nlink, size, rdev,
        atime, mtime, ctime, btime, target, inline) VALUES (@branch_id, @ino, @since, @until, @mode, @uid, @gid, @nlink,
        @size, @rdev, @atime, @mtime, @ctime, @btime, @target, NULL)`),
      // vacuum
      freelist: p('PRAGMA freelist_count').pluck(),
    };
    for (const t of VERSIONED) {
      const key = KEY[t];
      const extra = t === 'dentries' ? ', ino' : t === 'inodes' ? ', ino' : t === 'extents' ? ', hash' : '';
      const cols = `${key.join(', ')}, since, until${extra}`;
      const kv = key.map((k) => `@${k}`).join(', ');
      this.scanEnded.set(t, db.prepare(`SELECT ${cols} FROM ${t} WHERE branch_id = @b AND until < ${LIVE}
        AND (until, since, ${key.join(', ')}) > (@u, @s, ${kv}) ORDER BY until, since, ${key.join(', ')} LIMIT @n`));
      this.scanLive.set(t, db.prepare(`SELECT ${cols} FROM ${t} WHERE branch_id = @b AND until = ${LIVE}
        AND (since, ${key.join(', ')}) > (@s, ${kv}) ORDER BY since, ${key.join(', ')} LIMIT @n`));
      const where = t === 'inodes' ? 'rowid = @rowid' : `branch_id = @b AND ${key.map((k) => `${k} = @${k}`).join(' AND ')} AND since = @since`;
      if (t !== 'dentries') {
        this.liveOfInoStmt.set(t, db.prepare(`SELECT ${cols} FROM ${t} WHERE branch_id = @b AND ino = @ino AND +until = ${LIVE}`));
      }
      this.del.set(t, db.prepare(`DELETE FROM ${t} WHERE ${where}`));
      this.upd.set(t, db.prepare(`UPDATE ${t} SET since = @ns, until = @nu WHERE ${where}`));
    }
  }

  // --- the encoding queue ------------------------------------------------------
  todoBatch(afterId: number, limit: number): TodoRow[] { return this.s.todoBatch.all(afterId, limit) as TodoRow[]; }
  todoCount(): number { return this.s.todoCount.get() as number; }
  /** The newest queued chunk's id (0: none queued). */
  lastTodoId(): number { return (this.s.lastTodoId.get() as number | null) ?? 0; }
  prevByName(branch: number, ino: number, idx: number): Buffer | null {
    return (this.s.prevByName.get({ b: branch, ino, idx }) as Buffer | undefined) ?? null;
  }
  todoDelete(id: number): void { this.s.todoDelete.run(id); }
  /** Entries whose predecessor was `from` now follow `to` (from is garbage). */
  todoSplice(from: Buffer, to: Buffer | null): void { this.s.todoSplice.run(to, from); }

  // --- references ----------------------------------------------------------------
  /** Whether any version (extent row) or staged write uses the chunk. */
  referenced(hash: Buffer): boolean {
    return this.s.inExtents.get(hash) !== undefined || this.s.inSessions.get(hash) !== undefined;
  }
  staged(hash: Buffer): boolean { return this.s.inSessions.get(hash) !== undefined; }
  liveReferenced(hash: Buffer): boolean { return this.s.inLiveExtents.get(hash) !== undefined; }
  isBase(hash: Buffer): boolean { return this.s.isBase.get(hash) !== undefined; }
  dependents(hash: Buffer): Buffer[] { return this.s.dependents.all(hash) as Buffer[]; }
  baseOf(hash: Buffer): Buffer | null { return (this.s.chunkBase.get(hash) as Buffer | null | undefined) ?? null; }

  // --- garbage collection ----------------------------------------------------------
  gcBatch(limit: number): Buffer[] { return this.s.gcBatch.all(limit) as Buffer[]; }
  gcCount(): number { return this.s.gcCount.get() as number; }
  gcDone(hash: Buffer): void { this.s.gcDelete.run(hash); }
  gcAdd(hash: Buffer): void { this.s.gcAdd.run(hash); }
  deleteChunk(hash: Buffer): void { this.s.deleteChunk.run(hash); }
  chunkScan(afterId: number, limit: number): ChunkScanRow[] { return this.s.chunkScan.all(afterId, limit) as ChunkScanRow[]; }

  // --- history thinning ----------------------------------------------------------
  branches(): { id: number; parent_id: number | null }[] { return this.s.branches.all() as { id: number; parent_id: number | null }[]; }
  commitsOf(branch: number, afterId: number, limit: number): CommitLite[] {
    return (this.s.commitsOf.all(branch, afterId, limit) as { id: bigint; time_ns: bigint; kind: string }[])
      .map((r) => ({ id: Number(r.id), time_ns: r.time_ns, kind: r.kind }));
  }
  /** The first commit of a branch at or after a time. */
  firstCommitFrom(branch: number, timeNs: bigint): number | undefined { return this.s.firstCommitFrom.get(branch, timeNs) as number | undefined; }
  commitTime(id: number): bigint | undefined { return this.s.commitTime.get(id) as bigint | undefined; }
  hasWork(): boolean { return this.s.hasTodo.get() !== undefined || this.hasGcWork(); }
  /** Whether chunks pile up: at least n written and not yet looked at, or
   * at least n that may have lost their last reference (bounded counts). */
  chunksPileUp(n: number): boolean {
    return (this.s.todoAtLeast.get(n) as number) >= n || (this.s.gcAtLeast.get(n) as number) >= n;
  }
  /** Whether some chunk may have lost its last reference. */
  hasGcWork(): boolean { return this.s.hasGc.get() !== undefined; }
  labelCommits(): number[] { return this.s.labelCommits.all() as number[]; }
  forkCommits(): number[] { return this.s.forkCommits.all() as number[]; }
  snapshotCommits(): number[] { return this.s.snapshotCommits.all() as number[]; }
  endedSpansOfIno(branch: number, ino: number): { since: number; until: number }[] {
    return [...this.s.endedInodeSpans.all({ b: branch, ino }), ...this.s.endedNameSpans.all({ b: branch, ino })] as { since: number; until: number }[];
  }
  /** (commit, ino) of every inode version begun at or after a commit. */
  /** Regular files' versions begun at or after a commit. */
  /** Versions of regular files begun at commits in [since, before). */
  inodeVersionsSince(branch: number, since: number, before = Number.MAX_SAFE_INTEGER): { since: number; ino: number; size: number }[] {
    return this.s.writesSince.all(branch, since, before) as { since: number; ino: number; size: number }[];
  }
  /** The commits at or after t at which a name of each inode was made or
   * removed (created, renamed, linked, unlinked). */
  namesChangedSince(branch: number, t: number): { ino: number; c: number }[] {
    return this.s.namesChangedSince.all({ b: branch, t }) as { ino: number; c: number }[];
  }
  deleteCommit(id: number): void { this.s.deleteCommit.run(id); }
  /** The most recent name an inode had on a branch (parent, name). */
  nameOfIno(branch: number, ino: number): { parent: number; name: string } | undefined {
    return this.s.nameOfIno.get(branch, ino) as { parent: number; name: string } | undefined;
  }

  /** Ended rows of a table in (until, since, key) order after a cursor. */
  endedRows(t: VersionedTable, branch: number, after: VRow | null, fromUntil: number, limit: number): VRow[] {
    const params: Record<string, unknown> = { b: branch, n: limit };
    if (after) { params.u = after.until; params.s = after.since; KEY[t].forEach((k, i) => { params[k] = after.key[i]; }); } else {
      params.u = fromUntil; params.s = -1; KEY[t].forEach((k) => { params[k] = t === 'dentries' && k === 'name' ? '' : -1; });
      if (t === 'dentries') params.parent = -1;
    }
    return (this.scanEnded.get(t)!.all(params) as Record<string, unknown>[]).map((r) => this.vrow(t, r));
  }

  /** Live rows of a table begun after a commit, in (since, key) order after a cursor. */
  liveRows(t: VersionedTable, branch: number, after: VRow | null, fromSince: number, limit: number): VRow[] {
    const params: Record<string, unknown> = { b: branch, n: limit };
    if (after) { params.s = after.since; KEY[t].forEach((k, i) => { params[k] = after.key[i]; }); } else {
      params.s = fromSince; KEY[t].forEach((k) => { params[k] = t === 'dentries' && k === 'name' ? '' : -1; });
      if (t === 'dentries') params.parent = -1;
    }
    return (this.scanLive.get(t)!.all(params) as Record<string, unknown>[]).map((r) => this.vrow(t, r));
  }

  /** The live row versions of one inode in a table (not dentries). */
  liveOfIno(t: Exclude<VersionedTable, 'dentries'>, branch: number, ino: number): VRow[] {
    return (this.liveOfInoStmt.get(t)!.all({ b: branch, ino }) as Record<string, unknown>[]).map((r) => this.vrow(t, r));
  }

  private vrow(t: VersionedTable, r: Record<string, unknown>): VRow {
    const key = KEY[t].map((k) => r[k] as number | string);
    const v: VRow = { since: r.since as number, until: r.until as number, key, ino: null };
    if (t === 'dentries') { v.parent = r.parent as number; v.name = r.name as string; v.ino = r.ino as number | null; }
    else if (t === 'inodes') v.ino = r.ino as number;
    else v.ino = r.ino as number;
    if (t === 'extents') v.hash = r.hash as Buffer | null;
    return v;
  }

  private keyParams(t: VersionedTable, branch: number, row: VRow): Record<string, unknown> {
    const params: Record<string, unknown> = { b: branch, since: row.since };
    KEY[t].forEach((k, i) => { params[k] = row.key[i]; });
    return params;
  }
  deleteRow(t: VersionedTable, branch: number, row: VRow): void { this.del.get(t)!.run(this.keyParams(t, branch, row)); }
  moveRow(t: VersionedTable, branch: number, row: VRow, since: number, until: number): void {
    this.upd.get(t)!.run({ ...this.keyParams(t, branch, row), ns: since, nu: until });
  }

  /** No history for an inode: its ended rows go (and the names that pointed
   * at it in the past); its live rows stand for its whole life, from `from`. */
  purgeInode(branch: number, ino: number, from: number): void {
    this.s.purgeInodes.run(branch, ino);
    this.s.purgeExtents.run(branch, ino);
    this.s.purgeXattrs.run(branch, ino);
    this.s.purgeDentries.run(branch, ino);
    this.s.liveSinceInodes.run(from, branch, ino);
    this.s.liveSinceExtents.run(from, branch, ino);
    this.s.liveSinceXattrs.run(from, branch, ino);
  }
  inodeFirstSince(branch: number, ino: number): number | null { return this.s.inoFirstSince.get(branch, ino) as number | null; }

  // --- retiring deleted inodes ---------------------------------------------------
  /** Live inode versions with no names left (nlink 0) begun after a commit. */
  deadInodes(branch: number, after: { since: number; rid: number }, limit: number): { rid: number; ino: number; since: number }[] {
    return this.s.deadInodes.all(branch, after.since, after.rid, limit) as { rid: number; ino: number; since: number }[];
  }
  /** Ends every live row of an inode at commit c, the commit that removed its last name. */
  retireInode(branch: number, rid: number, ino: number, c: number): void {
    const p = { b: branch, ino, c };
    this.s.endExtentsAt.run(p);
    this.s.dropExtentsFrom.run(p);
    this.s.endXattrsAt.run(p);
    this.s.dropXattrsFrom.run(p);
    this.s.deleteInodeRow.run(rid);
  }

  // --- inline history ---------------------------------------------------------------
  endedInline(branch: number, after: { until: number; since: number; rid: number }, max: number, limit: number):
    { rid: number; ino: number; since: number; until: number; inline: Buffer | null; inline_sum: number | null }[] {
    return this.s.endedInline.all({ b: branch, u: after.until, s: after.since, r: after.rid, max, n: limit }) as
      { rid: number; ino: number; since: number; until: number; inline: Buffer | null; inline_sum: number | null }[];
  }
  /** Moves one ended inline version's bytes (already stored as chunk h) to
   * an extent row over the same interval; false when the interval already
   * has extent rows (a branch tombstone), and nothing changed. */
  inlineToExtent(branch: number, rid: number, ino: number, since: number, until: number, h: Buffer): boolean {
    const p = { b: branch, ino, s: since, u: until, h };
    if (this.s.extendBack.run(p).changes === 0 && this.s.extendFront.run(p).changes === 0) {
      if (this.s.extentOverlap.get(p) !== undefined) return false;
      this.s.insertExtent.run(p);
    }
    const row = this.s.takeInode.get(rid) as Record<string, unknown> | undefined;
    if (row) this.s.putInodeNoInline.run(row);
    return true;
  }

  // --- file ----------------------------------------------------------------------------
  freelistCount(): number { return this.s.freelist.get() as number; }
  autoVacuum(): number { return this.db.pragma('auto_vacuum', { simple: true }) as number; }
  pageSize(): number { return this.db.pragma('page_size', { simple: true }) as number; }
  pageCount(): number { return this.db.pragma('page_count', { simple: true }) as number; }
  incrementalVacuum(pages: number): void { this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`); }
  /** Rewrites the whole file (VACUUM), turning on incremental vacuum for
   * stores made before it existed. Needs the store to itself. */
  fullVacuum(): void {
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.exec('VACUUM');
  }

  // --- statistics -----------------------------------------------------------------------
  all<T>(sql: string, ...params: unknown[]): T[] { return this.db.prepare(sql).all(...params) as T[]; }
  get<T>(sql: string, ...params: unknown[]): T | undefined { return this.db.prepare(sql).get(...params) as T | undefined; }
}
