// Opening a store file: pragmas, migrations, the single-writer lock.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

/** SQLite page size for new stores. Measured on this class of machine (see
 * README "Design notes"): 16 KiB pages keep small metadata transactions cheap
 * (a 64 KiB page quadruples WAL bytes per metadata commit) while 512 KiB
 * chunk blobs still insert at ~450 MB/s. Smaller pages would shrink small
 * stores (every table and index takes at least a page: ~500 KiB empty) but
 * cost blob throughput: measured 40% slower inserts at 4 KiB, 25% at 8 KiB. */
export const PAGE_SIZE = 16384;

export const MEMORY = ':memory:';

export class StoreFormatError extends Error {}
export class StoreLockedError extends Error {}

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
  const db = new Database(file, { readonly: !!opts.readonly && !memory, fileMustExist: !!opts.readonly });
  try {
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
    migrate(db, !!opts.readonly);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
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
