// What verify can still say of a store that does not open (SQLite reports it
// malformed, or it lacks its main branch or root): the open's one line sent
// the user to verify, which then failed with the same line. Read below the
// store layer, read-only: the file's header against its size (a copy cut
// short is the common case), SQLite's integrity_check, and which tables can
// still be read, and how many rows they hold.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { APPLICATION_ID } from '../store/database.js';

export interface DamageReport {
  /** Why the store does not open (the open's message). */
  cannotOpen: string;
  /** The file's size, and what its header says it should be (null: no
   * SQLite header, or one whose size field is not kept up to date). */
  bytes: number;
  expectedBytes: number | null;
  /** Whether the header carries mikofs's application id. */
  mikofs: boolean;
  /** integrity_check's findings. */
  structure: string[];
  /** Why SQLite's integrity_check could not run to its end (null: it did). */
  unchecked: string | null;
  /** Whether SQLite could read its table of contents (sqlite_schema). */
  contents: boolean;
  /** Tables that could be read, with their row counts; and those that
   * could not, with SQLite's error. */
  tables: { name: string; rows: number | null; error?: string }[];
}

const MAX_FINDINGS = 100;

export function inspectDamaged(file: string, cannotOpen: string): DamageReport {
  const r: DamageReport = { cannotOpen, bytes: 0, expectedBytes: null, mikofs: false, structure: [], unchecked: null, contents: false, tables: [] };
  const head = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  try {
    r.bytes = fs.fstatSync(fd).size;
    fs.readSync(fd, head, 0, 100, 0);
  } finally { fs.closeSync(fd); }
  if (head.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') {
    const pageSize = head.readUInt16BE(16) === 1 ? 65536 : head.readUInt16BE(16);
    // The page count at 28 holds only when "version valid for" (92) equals
    // the change counter (24): SQLite's own rule.
    if (head.readUInt32BE(92) === head.readUInt32BE(24)) r.expectedBytes = head.readUInt32BE(28) * pageSize;
    r.mikofs = head.readUInt32BE(68) === APPLICATION_ID;
  }
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    r.unchecked = (e as Error).message;
    return r;
  }
  try {
    try {
      const rows = db.pragma(`integrity_check(${MAX_FINDINGS})`, { simple: false }) as { integrity_check: string }[];
      r.structure = rows.map((x) => x.integrity_check).filter((x) => x !== 'ok');
    } catch (e) {
      r.unchecked = (e as Error).message;
    }
    let names: string[] = [];
    try {
      names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
      r.contents = true;
    } catch { /* r.contents says so */ }
    for (const name of names) {
      try {
        r.tables.push({ name, rows: db.prepare(`SELECT count(*) FROM "${name.replace(/"/g, '""')}"`).pluck().get() as number });
      } catch (e) {
        r.tables.push({ name, rows: null, error: (e as Error).message });
      }
    }
  } finally { db.close(); }
  return r;
}

export function describeDamage(r: DamageReport, file: string): string {
  const o: string[] = [`${file}: PROBLEMS FOUND: it cannot be opened as a store`];
  // (The open's advice to run verify is this.)
  o.push(`  open         ${r.cannotOpen.replace(/; mikofs verify says what it can still read$/, '')}`);
  if (!r.mikofs) o.push("  header       no mikofs mark (application id): another application's file, or its header is damaged");
  if (r.expectedBytes !== null && r.bytes < r.expectedBytes) {
    o.push(`  size         truncated: ${r.bytes} bytes, where its header says ${r.expectedBytes} (a copy cut short, or a full disk?)`);
  } else {
    o.push(`  size         ${r.bytes} bytes${r.expectedBytes !== null ? ', as its header says' : ''}`);
  }
  if (r.unchecked !== null && !r.contents) o.push(`  structure    unreadable: SQLite cannot even read its table of contents (${r.unchecked})`);
  else if (r.unchecked !== null) o.push(`  structure    damaged: SQLite's integrity_check stopped at the damage (${r.unchecked})`);
  else o.push(`  structure    ${r.structure.length ? `damaged: ${r.structure.length} finding${r.structure.length === 1 ? '' : 's'} of SQLite's integrity_check` : "sound (SQLite's integrity_check)"}`);
  for (const m of r.structure.slice(0, 20)) o.push(`    ${m}`);
  if (r.structure.length > 20) o.push(`    ... and ${r.structure.length - 20} more (--json lists all)`);
  const good = r.tables.filter((t) => t.rows !== null);
  const bad = r.tables.filter((t) => t.rows === null);
  if (!r.tables.length) o.push('  tables       none readable');
  else {
    o.push(`  tables       ${good.length} of ${r.tables.length} readable` + (good.length ? `: ${good.map((t) => `${t.name} (${t.rows} row${t.rows === 1 ? '' : 's'})`).join(', ')}` : ''));
    for (const t of bad) o.push(`    ${t.name}: ${t.error}`);
  }
  o.push(`  what to do   restore it from a backup; \`sqlite3 ${file} .recover\` salvages the rows SQLite can still find (as SQL, not as a store)`);
  return o.join('\n') + '\n';
}
