// Opening a store file: pragmas, migrations, the single-writer lock.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inlineSum } from './hash.js';

export type Db = Database.Database;

/** SQLite page size for new stores. Measured on this class of machine (see
 * README "Design notes"): 16 KiB pages keep small metadata transactions cheap
 * (a 64 KiB page quadruples WAL bytes per metadata commit) while 512 KiB
 * chunk blobs still insert at ~450 MB/s. Smaller pages would shrink small
 * stores (every table and index takes at least a page: ~500 KiB empty) but
 * cost blob throughput: measured 40% slower inserts at 4 KiB, 25% at 8 KiB. */
export const PAGE_SIZE = 16384;

export const MEMORY = ':memory:';

/** PRAGMA application_id of a mikofs store ("miko"): the header says what
 * the file is (sqlite.org/appfileformat). Stores made before it carry 0
 * and are known by their tables. */
export const APPLICATION_ID = 0x6d696b6f;

export class StoreFormatError extends Error {}
/** The store is open for writing by another live process; `holder` says
 * which (a mount, or a CLI command, which a mount waits for). */
export class StoreLockedError extends Error {
  constructor(message: string, readonly holder = '') { super(message); }
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** schema/ sits at the package root, two levels above dist/store or src/store. */
export function schemaDir(): string {
  return path.resolve(here, '..', '..', 'schema');
}

export interface Migration { version: number; name: string; sql: string }

export function loadMigrations(dir = schemaDir()): Migration[] {
  return fs.readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

export interface OpenOptions { readonly?: boolean }

/** Opens (creating when writable and missing) a store database and brings its
 * schema to the current version. Read-only opens never migrate. */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  const memory = file === MEMORY;
  if (opts.readonly && !memory && !fs.existsSync(file)) {
    throw new StoreFormatError(`no store at ${file}`);
  }
  let st: fs.Stats | undefined;
  if (!memory) {
    try { st = fs.statSync(file); } catch { /* a new store */ }
    // A file of no bytes is not a store, whatever SQLite would make of it
    // (it would take it as a new database): stores are made at new paths.
    if (st && !st.isFile() && !st.isDirectory()) throw new StoreFormatError(`${file} is not a regular file, not a mikofs store`);
    if (st?.size === 0) throw new StoreFormatError(`${file} is an empty file, not a mikofs store (mikofs init makes a store at a new path)`);
    // SQLite keeps a database's WAL and its index beside the *name* it was
    // opened by: through a second name (a hard link) a writer would keep a
    // second log of the same file, and the two would overwrite each other's
    // pages (and the writer lock, a row written through the first log, would
    // not be seen through the second until a checkpoint). One name only.
    if (!opts.readonly && st && st.nlink > 1) {
      throw new StoreFormatError(`${file} has ${st.nlink} names (hard links); a store is written through one name only ` +
        `(SQLite keeps its write-ahead log beside the name, so two names would be two logs of one file): ` +
        `remove the other links (find / -xdev -samefile ${file}) or open the store read-only`);
    }
  }
  let db: Db;
  try {
    // A new store is private to its owner (0600, and SQLite gives its WAL
    // and index the same mode): the file holds every version of every file,
    // so anyone who can read it reads past the permissions the mount
    // enforces. chmod widens it for those who want that.
    const creating = !memory && !st && !opts.readonly && isMainThread;
    const umask = creating ? process.umask(0o077) : undefined;
    try {
      db = new Database(file, { readonly: !!opts.readonly && !memory, fileMustExist: !!opts.readonly });
    } finally {
      if (umask !== undefined) process.umask(umask);
    }
  } catch (e) {
    throw openError(e, file, !!opts.readonly);
  }
  try {
    // Before anything writes (journal_mode = WAL would convert any SQLite
    // file it is given): is this a mikofs store, or an empty new file?
    checkIsStore(db, file);
    if (!opts.readonly) {
      db.pragma(`page_size = ${PAGE_SIZE}`); // effective only before the first table
      // Likewise: a new store can give freed pages back to the file system
      // (garbage collection runs PRAGMA incremental_vacuum in short slices).
      db.pragma('auto_vacuum = INCREMENTAL');
      if (!memory) db.pragma('journal_mode = WAL');
      // NORMAL in WAL: a crash of the process never loses a committed
      // transaction; power loss may lose the last ones unless fsync() ran
      // (fsync commits with synchronous = FULL: the WAL reaches the disk,
      // see Store.sync).
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('busy_timeout = 5000');
    // 16 MiB of pages: the metadata of a large tree fits; chunk data has its
    // own cache (ChunkStore) and the kernel's page cache behind it. Every
    // page of cache is memory this process touches once more.
    db.pragma('cache_size = -16384');
    db.pragma('temp_store = MEMORY');
    // Migration 005 computes the checksums of rows written before it.
    db.function('mikofs_inline_sum', { deterministic: true }, (b: unknown) =>
      (b instanceof Uint8Array ? inlineSum(b) : null));
    migrate(db, !!opts.readonly);
    // The mark is a header field, not a schema change: set on any writable
    // open (new stores, and stores made before it), so read-only opens of
    // either keep working without a migration.
    if (!opts.readonly && db.pragma('application_id', { simple: true }) !== APPLICATION_ID) {
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
  } catch (e) {
    db.close();
    throw openError(e, file, !!opts.readonly);
  }
  return db;
}

/** Refuses an SQLite file of another application: mikofs must never add
 * its tables to (or switch the journal of) someone else's database. */
function checkIsStore(db: Db, file: string): void {
  const app = db.pragma('application_id', { simple: true }) as number;
  if (app === APPLICATION_ID) return;
  if (app !== 0) throw new StoreFormatError(`${file} is an SQLite database of another application, not a mikofs store`);
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[];
  if (tables.length === 0) return; // new, empty: becomes a store
  if (!tables.includes('meta') || !tables.includes('chunks') || !tables.includes('inodes')) {
    throw new StoreFormatError(`${file} is an SQLite database but not a mikofs store`);
  }
}

/** What SQLite says on open, in words about the store file. */
export function openError(e: unknown, file: string, readonly: boolean): unknown {
  const code = (e as { code?: string } | null)?.code;
  if (code === 'SQLITE_FULL' || (e as { code?: string } | null)?.code === 'ENOSPC') {
    // Opening for writing writes (the writer lock, the WAL's first frames).
    let free = '';
    try { const s = fs.statfsSync(path.dirname(path.resolve(file))); free = ` (${Math.floor((s.bavail * s.bsize) / 1024)} KiB free)`; } catch { /* unknown */ }
    return new StoreFormatError(`cannot open ${file} for writing: the disk holding it is full${free}; free space on it ` +
      '(then `mikofs retention` and `mikofs gc` give back what history holds), or read it meanwhile with mount -o ro, ls, cat');
  }
  if (code === 'SQLITE_NOTADB') return new StoreFormatError(`${file} is not a mikofs store (not an SQLite database)`);
  if (code === 'SQLITE_CORRUPT') return new StoreFormatError(`${file} is damaged (SQLite: ${(e as Error).message}); mikofs verify says what it can still read`);
  if (code === 'SQLITE_CANTOPEN') {
    const dir = path.dirname(path.resolve(file));
    let why = 'check that its directory is writable';
    let unreadable = false;
    try { fs.accessSync(file, fs.constants.R_OK); } catch (err) { unreadable = (err as NodeJS.ErrnoException).code === 'EACCES'; }
    if (unreadable) why = 'permission denied (the store file is not readable by this user)';
    else if (!fs.existsSync(dir)) why = `${dir} does not exist`;
    else {
      try { fs.accessSync(dir, fs.constants.W_OK); } catch (err) {
        why = (err as NodeJS.ErrnoException).code === 'EROFS' ? `${dir} is on a read-only file system` : `${dir} is not writable`;
        // A store closed by mikofs reads anywhere (it is left out of WAL
        // mode); one still in WAL mode needs its -shm index made beside it.
        if (readonly && fs.existsSync(file)) why += ', and the store was not closed cleanly (or by a mikofs older than 2026-12-05): ' +
          'its write-ahead log needs a writable directory; copy it (with any -wal file) to one, or open it there once';
      }
    }
    return new StoreFormatError(`cannot open ${file}: ${why}`);
  }
  const readers = 'mikofs mount -o ro and the commands that only read (ls, cat, log, diff, du, verify) work';
  if (code === 'SQLITE_READONLY_DIRECTORY') {
    // The file is writable, its directory is not: the write-ahead log and
    // its index are made beside the store (was SQLite's "attempt to write a
    // readonly database"; found 2026-12-05).
    return new StoreFormatError(`cannot write ${file}: its directory ${path.dirname(path.resolve(file))} is not writable by this user ` +
      `(the store's write-ahead log is made there); ${readers}`);
  }
  if (code?.startsWith('SQLITE_READONLY')) {
    return new StoreFormatError(`cannot write ${file}: read-only (file or file system); ${readers}`);
  }
  return e;
}

export function currentSchemaVersion(): number {
  const m = loadMigrations();
  return m.length ? m[m.length - 1].version : 0;
}

function migrate(db: Db, readonly: boolean): void {
  const migrations = loadMigrations();
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  const have = db.pragma('user_version', { simple: true }) as number;
  if (have > latest) {
    throw new StoreFormatError(
      `this store has format version ${have}, newer than this mikofs understands (${latest}); upgrade mikofs`);
  }
  if (have === latest) return;
  if (readonly) {
    throw new StoreFormatError(
      `this store has format version ${have}; open it once for writing (e.g. mikofs mount) to migrate it to ${latest}`);
  }
  for (const m of migrations) {
    if (m.version <= have) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
