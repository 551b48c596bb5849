// Explainable space: what fills a store file, from its rows (`mikofs du`).
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from './database.js';
import { defaultReserve, statfsProbe } from './space-guard.js';
import { LIVE } from './meta-store.js';
import { DELTA, CODEC_MASK } from './codec.js';

export interface Bytes { count: number; bytes: number }

export interface SpaceReport {
  file: { bytes: number; walBytes: number; pageSize: number; pages: number; freePages: number; incrementalVacuum: boolean };
  /** The file system holding the store: free bytes, and the reserve a
   * mounted store keeps (writes get ENOSPC below it). Null when unknown. */
  disk: { freeBytes: number; totalBytes: number; reserveBytes: number } | null;
  /** The current state (every branch's live rows). */
  live: { files: number; logicalBytes: number; inlineBytes: number; chunks: number; chunkBytes: number; storedBytes: number };
  /** What only the past needs: chunks no live row uses, and inline bytes of ended versions. */
  history: {
    /** storedBytes = chunks only past versions use + inline bytes of past versions. */
    versions: number; storedBytes: number; chunkBytes: number; inlineBytes: number;
    byAge: { age: string; versions: number; storedBytes: number }[];
    byLabel: { label: string; commit: number; storedBytes: number }[];
    /** Chunks kept only as delta bases of others. */
    basesOnly: Bytes;
    /** Chunks nothing uses any more (garbage collection frees them). */
    garbage: Bytes;
  };
  chunks: {
    count: number; rawBytes: number; storedBytes: number;
    byEncoding: Record<'raw' | 'compressed' | 'delta', { count: number; rawBytes: number; storedBytes: number }>;
    pendingEncode: number; pendingGc: number;
  };
  savings: {
    /** Bytes all chunk-map entries of all versions name, minus the distinct chunks they name. */
    dedupBytes: number;
    deltaBytes: number;
    compressionBytes: number;
    /** Every version of every file stored in full, vs what the chunks and inline bytes take. */
    allVersionsBytes: number;
  };
  commits: { count: number; oldestNs: string | null; newestNs: string | null; labels: number };
  /** Bytes per table and index (dbstat), when asked for. */
  tables?: { name: string; bytes: number }[];
}

const AGES: { age: string; ns: bigint }[] = [
  { age: '<24h', ns: 86400n * 1000000000n },
  { age: '<7d', ns: 7n * 86400n * 1000000000n },
  { age: '<90d', ns: 90n * 86400n * 1000000000n },
  { age: 'older', ns: 1n << 62n },
];

export function spaceReport(db: Db, file: string | null, nowNs: bigint, opts: { tables?: boolean } = {}): SpaceReport {
  const one = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).get(...p) as T;
  const all = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).all(...p) as T[];
  const pluck = (sql: string, ...p: unknown[]) => db.prepare(sql).pluck().get(...p) as number | null;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  let bytes = pages * pageSize, walBytes = 0;
  let disk: SpaceReport['disk'] = null;
  if (file) {
    try { bytes = fs.statSync(file).size; } catch { /* memory or gone */ }
    try { walBytes = fs.statSync(file + '-wal').size; } catch { /* none */ }
    try {
      const d = statfsProbe(path.dirname(path.resolve(file)));
      if (d.total > 0) disk = { freeBytes: d.avail, totalBytes: d.total, reserveBytes: defaultReserve(d.total) };
    } catch { /* unknown */ }
  }

  // Chunks by how they are kept.
  const byEncoding = { raw: { count: 0, rawBytes: 0, storedBytes: 0 }, compressed: { count: 0, rawBytes: 0, storedBytes: 0 }, delta: { count: 0, rawBytes: 0, storedBytes: 0 } };
  for (const r of all<{ encoding: number; n: number; raw: number; stored: number }>(
    // The lengths first: grouped directly, SQLite sorted the rows with their
    // blobs in memory (temp_store = MEMORY), 600 MB for an 800 MiB store.
    `WITH c AS MATERIALIZED (SELECT encoding, size, length(data) AS stored FROM chunks)
      SELECT encoding, count(*) AS n, sum(size) AS raw, sum(stored) AS stored FROM c GROUP BY encoding`)) {
    const k = r.encoding & DELTA ? 'delta' : (r.encoding & CODEC_MASK) ? 'compressed' : 'raw';
    byEncoding[k].count += r.n; byEncoding[k].rawBytes += r.raw; byEncoding[k].storedBytes += r.stored;
  }
  const chunkCount = byEncoding.raw.count + byEncoding.compressed.count + byEncoding.delta.count;
  const rawBytes = byEncoding.raw.rawBytes + byEncoding.compressed.rawBytes + byEncoding.delta.rawBytes;
  const storedBytes = byEncoding.raw.storedBytes + byEncoding.compressed.storedBytes + byEncoding.delta.storedBytes;

  // The current state.
  const files = one<{ n: number; size: number | null; inl: number | null }>(`SELECT count(*) AS n, sum(size) AS size,
    sum(length(inline)) AS inl FROM inodes WHERE until = ${LIVE} AND nlink > 0 AND (mode & 61440) = 32768`);
  // A removed file's rows stay current until maintenance retires them (an
  // open descriptor may still read it): its bytes are history already, not
  // live data (until 2026-12-05 du called a deleted 10 MiB file live, and
  // blamed history for a full disk it did not count).
  const liveExtent = (e: string) => `${e}.until = ${LIVE} AND NOT EXISTS (SELECT 1 FROM inodes d
    WHERE d.branch_id = ${e}.branch_id AND d.ino = ${e}.ino AND d.until = ${LIVE} AND d.nlink = 0)`;
  const liveChunks = one<{ n: number; raw: number | null; stored: number | null }>(`SELECT count(*) AS n, sum(size) AS raw,
    sum(length(data)) AS stored FROM chunks c WHERE EXISTS (SELECT 1 FROM extents e WHERE e.hash = c.hash AND ${liveExtent('e')})`);

  // History: chunks only ended rows use, aged by when their last version ended.
  const timeOf = db.prepare('SELECT time_ns FROM commits WHERE id >= ? ORDER BY id LIMIT 1').pluck().safeIntegers(true);
  const head = db.prepare('SELECT time_ns FROM commits ORDER BY id DESC LIMIT 1').pluck().safeIntegers(true).get() as bigint | undefined;
  const ageOf = (commit: number): string => {
    const t = (timeOf.get(commit) as bigint | undefined) ?? head ?? nowNs;
    const age = nowNs - t;
    return AGES.find((a) => age < a.ns)!.age;
  };
  const byAge = new Map(AGES.map((a) => [a.age, { age: a.age, versions: 0, storedBytes: 0 }]));
  let histVersions = 0, histBytes = 0, histInline = 0;
  for (const r of all<{ stored: number; u: number; n: number }>(`SELECT length(c.data) AS stored, max(e.until) AS u, count(*) AS n
      FROM chunks c JOIN extents e ON e.hash = c.hash
      WHERE NOT EXISTS (SELECT 1 FROM extents l WHERE l.hash = c.hash AND ${liveExtent('l')})
      GROUP BY c.id`)) {
    const a = byAge.get(ageOf(r.u))!;
    a.versions += r.n; a.storedBytes += r.stored;
    histVersions += r.n; histBytes += r.stored;
  }
  for (const r of all<{ len: number; until: number }>(`SELECT length(inline) AS len, until FROM inodes
      WHERE until < ${LIVE} AND inline IS NOT NULL AND until > since`)) {
    const a = byAge.get(ageOf(r.until))!;
    a.versions++; a.storedBytes += r.len;
    histVersions++; histBytes += r.len; histInline += r.len;
  }
  const unrefd = all<{ stored: number; base_of: number }>(`SELECT length(data) AS stored,
      EXISTS (SELECT 1 FROM chunks d WHERE d.base = c.hash) AS base_of FROM chunks c
      WHERE NOT EXISTS (SELECT 1 FROM extents e WHERE e.hash = c.hash)
        AND NOT EXISTS (SELECT 1 FROM session_chunks s WHERE s.hash = c.hash)`);
  const basesOnly = { count: 0, bytes: 0 }, garbage = { count: 0, bytes: 0 };
  for (const r of unrefd) { const t = r.base_of ? basesOnly : garbage; t.count++; t.bytes += r.stored; }

  const byLabel = all<{ name: string; commit_id: number }>('SELECT name, commit_id FROM labels ORDER BY name').map((l) => ({
    label: l.name, commit: l.commit_id,
    // Content of the labelled state that the live tree does not use as well
    // (a file saved again with the same bytes holds nothing beyond it).
    storedBytes: (pluck(`SELECT sum(length(data)) FROM chunks c WHERE hash IN (SELECT hash FROM extents
        WHERE until > @c AND until < ${LIVE} AND since <= @c)
        AND NOT EXISTS (SELECT 1 FROM extents l WHERE l.hash = c.hash AND ${liveExtent('l')})`, { c: l.commit_id }) ?? 0)
      + (pluck(`SELECT sum(length(inline)) FROM inodes i WHERE until > @c AND until < ${LIVE} AND since <= @c
        AND NOT EXISTS (SELECT 1 FROM inodes l WHERE l.branch_id = i.branch_id AND l.ino = i.ino AND l.until = ${LIVE}
          AND l.inline_sum = i.inline_sum AND l.inline = i.inline)`, { c: l.commit_id }) ?? 0),
  }));

  const refBytes = pluck('SELECT sum(c.size) FROM extents e JOIN chunks c ON c.hash = e.hash') ?? 0;
  const distinctBytes = pluck('SELECT sum(size) FROM chunks c WHERE EXISTS (SELECT 1 FROM extents e WHERE e.hash = c.hash)') ?? 0;
  // A file's content versions: its first row, and every row that changed
  // its size, its inline bytes or one of its chunks (a chmod, a link or a
  // rename makes a row with the same content: not another copy of it).
  const versionsBytes = pluck(`SELECT sum(v.size) FROM (
      SELECT branch_id, ino, since, size, lag(size) OVER w AS psize, inline_sum, lag(inline_sum) OVER w AS psum,
        row_number() OVER w AS n
      FROM inodes WHERE (mode & 61440) = 32768 AND until > since AND nlink > 0
      WINDOW w AS (PARTITION BY branch_id, ino ORDER BY since)) v
    LEFT JOIN (SELECT DISTINCT branch_id, ino, since FROM extents) x
      ON x.branch_id = v.branch_id AND x.ino = v.ino AND x.since = v.since
    WHERE v.n = 1 OR v.psize <> v.size OR v.psum IS NOT v.inline_sum OR x.ino IS NOT NULL`) ?? 0;
  const commits = db.prepare('SELECT count(*) AS n, min(time_ns) AS lo, max(time_ns) AS hi FROM commits').safeIntegers(true)
    .get() as { n: bigint; lo: bigint | null; hi: bigint | null };

  const report: SpaceReport = {
    file: { bytes, walBytes, pageSize, pages, freePages, incrementalVacuum: db.pragma('auto_vacuum', { simple: true }) === 2 },
    disk,
    live: {
      files: files.n, logicalBytes: files.size ?? 0, inlineBytes: files.inl ?? 0,
      chunks: liveChunks.n, chunkBytes: liveChunks.raw ?? 0, storedBytes: (liveChunks.stored ?? 0) + (files.inl ?? 0),
    },
    history: { versions: histVersions, storedBytes: histBytes, chunkBytes: histBytes - histInline, inlineBytes: histInline, byAge: [...byAge.values()], byLabel, basesOnly, garbage },
    chunks: {
      count: chunkCount, rawBytes, storedBytes, byEncoding,
      // (Rows of chunks collected since are dropped by the next encode pass.)
      pendingEncode: pluck('SELECT count(*) FROM chunk_todo t WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.hash = t.hash)') ?? 0, pendingGc: pluck('SELECT count(*) FROM gc_todo') ?? 0,
    },
    savings: {
      dedupBytes: Math.max(0, refBytes - distinctBytes),
      deltaBytes: byEncoding.delta.rawBytes - byEncoding.delta.storedBytes,
      compressionBytes: byEncoding.compressed.rawBytes - byEncoding.compressed.storedBytes,
      allVersionsBytes: versionsBytes,
    },
    commits: {
      count: Number(commits.n), oldestNs: commits.lo === null ? null : String(commits.lo), newestNs: commits.hi === null ? null : String(commits.hi),
      labels: pluck('SELECT count(*) FROM labels') ?? 0,
    },
  };
  if (opts.tables) {
    report.tables = all<{ name: string; bytes: number }>('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC');
  }
  return report;
}

const SPACE_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.module).then(async (m) => {
  const Database = require(workerData.sqlite);
  const db = new Database(workerData.file, { readonly: true });
  try {
    db.pragma('busy_timeout = 5000');
    const r = m.spaceReport(db, workerData.file, BigInt(workerData.now), workerData.opts);
    parentPort.postMessage({ ok: r });
  } finally { db.close(); }
}).catch((e) => parentPort.postMessage({ err: String(e && e.message || e) }));
`;

/** The same report computed on a worker thread with its own read-only
 * connection (WAL lets it read beside the writer): a mounted store keeps
 * serving while every table is scanned. */
export function spaceReportInWorker(file: string, nowNs: bigint, opts: { tables?: boolean } = {}): Promise<SpaceReport> {
  return import('node:worker_threads').then(({ Worker }) => import('node:module').then(({ createRequire }) => new Promise<SpaceReport>((resolve, reject) => {
    const require = createRequire(import.meta.url);
    const w = new Worker(SPACE_WORKER, {
      eval: true,
      execArgv: [],
      workerData: { module: import.meta.url, sqlite: require.resolve('better-sqlite3'), file, now: String(nowNs), opts },
    });
    w.once('message', (m: { ok?: SpaceReport; err?: string }) => { void w.terminate(); if (m.ok) resolve(m.ok); else reject(new Error(m.err)); });
    w.once('error', reject);
  })));
}
