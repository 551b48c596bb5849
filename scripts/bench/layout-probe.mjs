#!/usr/bin/env node
// Layout probe (issue 6): how large would the same history be in a denser
// store layout? Copies a store's rows into alternative layouts and prints
// each file's size beside the store's own, so the gap between the express
// row of `npm run bench:storage` and its target can be traced to its causes.
//
//   current        the store as it is, vacuumed (its own page size)
//   pages_4k       the same rows in 4 KiB pages
//   dense_4k       4 KiB pages; extents and delta bases refer to chunks by
//                  integer id instead of 32-byte address; inodes, meta and
//                  labels WITHOUT ROWID (one B-tree each, not two)
//   packed_4k      dense_4k, and each chunk lineage (the versions of one
//                  chunk index of one file, in commit order) stored as one
//                  brotli stream of the whole versions instead of a delta
//                  chain: what a "cold history pack" would take
//
// None of these is a store mikofs can open: they measure, they do not
// migrate. Usage:
//   node scripts/bench/layout-probe.mjs STORE [--git-kib N]
//   node scripts/bench/storage.mjs --rows express --keep   (prints the store's path)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const Database = createRequire(path.join(root, 'package.json'))('better-sqlite3');
const { openStore } = await import(path.join(root, 'dist', 'index.js'));

const args = process.argv.slice(2);
const store = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--git-kib');
if (!store || !fs.existsSync(store)) {
  process.stderr.write('usage: layout-probe.mjs STORE [--git-kib N]   (STORE: a closed .mikofs file)\n');
  process.exit(2);
}
const gitKiB = args.includes('--git-kib') ? Number(args[args.indexOf('--git-kib') + 1]) : null;
const work = fs.mkdtempSync(path.join(path.dirname(path.resolve(store)), 'probe-'));
const kib = (n) => (n / 1024).toFixed(1);

/** Every chunk's raw bytes, and the lineages (chunk ids in commit order). */
async function readLineages() {
  const e = await openStore(store, { readonly: true });
  try {
    const db = e.store.db;
    const rows = db.prepare(`SELECT e.branch_id, e.ino, e.idx, c.id, c.hash FROM extents e JOIN chunks c ON c.hash = e.hash
      ORDER BY e.branch_id, e.ino, e.idx, e.since`).all();
    const lineages = [];
    const seen = new Set();
    let key = null, cur = null;
    for (const r of rows) {
      const k = `${r.branch_id}/${r.ino}/${r.idx}`;
      if (k !== key) { key = k; cur = []; lineages.push(cur); }
      if (seen.has(r.id)) continue; // a chunk shared by lineages is packed once
      seen.add(r.id);
      cur.push({ id: r.id, data: e.store.chunks.get(r.hash) });
    }
    return lineages.filter((l) => l.length);
  } finally {
    e.close();
  }
}

function sizeOf(file) {
  const db = new Database(file);
  try {
    db.exec('VACUUM');
    const btrees = db.prepare('SELECT count(DISTINCT name) FROM dbstat').pluck().get();
    const payload = db.prepare('SELECT sum(payload) FROM dbstat').pluck().get();
    const tables = db.prepare('SELECT name, sum(pgsize) AS bytes, sum(payload) AS payload FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 6').all();
    return { bytes: fs.statSync(file).size, btrees, payload, tables };
  } finally {
    db.close();
  }
}

function pageSizeOf(file) {
  const db = new Database(file, { readonly: true });
  try { return db.pragma('page_size', { simple: true }); } finally { db.close(); }
}

/** A copy of the store's schema and rows at a page size (VACUUM INTO). */
function copyAs(pageSize, name) {
  const out = path.join(work, name);
  const db = new Database(store, { readonly: true });
  try { db.pragma(`page_size = ${pageSize}`); db.exec(`VACUUM INTO '${out.replace(/'/g, "''")}'`); } finally { db.close(); }
  return out;
}

/** The dense layout, optionally with chunk data replaced by lineage packs. */
function dense(name, packs) {
  const out = path.join(work, name);
  const db = new Database(out);
  db.pragma('page_size = 4096');
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec(`ATTACH '${store.replace(/'/g, "''")}' AS s`);
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) STRICT, WITHOUT ROWID;
    CREATE TABLE branches (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, parent_id INTEGER,
      fork_commit INTEGER, created_ns INTEGER NOT NULL, owner_pid INTEGER) STRICT;
    CREATE TABLE commits (id INTEGER PRIMARY KEY, branch_id INTEGER NOT NULL, time_ns INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT) STRICT;
    CREATE INDEX commits_by_time ON commits (branch_id, time_ns);
    CREATE TABLE labels (name TEXT PRIMARY KEY, commit_id INTEGER NOT NULL, created_ns INTEGER NOT NULL) STRICT, WITHOUT ROWID;
    CREATE TABLE dentries (branch_id INTEGER NOT NULL, parent INTEGER NOT NULL, name TEXT NOT NULL, since INTEGER NOT NULL,
      until INTEGER NOT NULL, ino INTEGER, PRIMARY KEY (branch_id, parent, name, since)) STRICT, WITHOUT ROWID;
    CREATE INDEX dentries_by_until ON dentries (branch_id, parent, until);
    CREATE INDEX dentries_changes ON dentries (branch_id, until, since);
    CREATE INDEX dentries_by_ino ON dentries (branch_id, ino);
    CREATE TABLE inodes (branch_id INTEGER NOT NULL, ino INTEGER NOT NULL, since INTEGER NOT NULL, until INTEGER NOT NULL,
      mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL, nlink INTEGER NOT NULL, size INTEGER NOT NULL,
      rdev INTEGER NOT NULL, atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL, btime INTEGER NOT NULL,
      target BLOB, inline BLOB, inline_sum INTEGER, PRIMARY KEY (branch_id, ino, since)) STRICT, WITHOUT ROWID;
    CREATE INDEX inodes_changes ON inodes (branch_id, until, since);
    CREATE INDEX inodes_by_since ON inodes (branch_id, since);
    CREATE TABLE xattrs (branch_id INTEGER NOT NULL, ino INTEGER NOT NULL, name TEXT NOT NULL, since INTEGER NOT NULL,
      until INTEGER NOT NULL, value BLOB, PRIMARY KEY (branch_id, ino, name, since)) STRICT, WITHOUT ROWID;
    CREATE INDEX xattrs_changes ON xattrs (branch_id, until, since);
    CREATE TABLE session_chunks (branch_id INTEGER NOT NULL, idx INTEGER NOT NULL, chunk INTEGER NOT NULL,
      PRIMARY KEY (branch_id, idx)) STRICT, WITHOUT ROWID;
    CREATE INDEX session_chunks_by_chunk ON session_chunks (chunk);
    CREATE TABLE chunk_todo (id INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, prev INTEGER, commit_id INTEGER NOT NULL,
      branch_id INTEGER, ino INTEGER, idx INTEGER) STRICT;
    CREATE INDEX chunk_todo_by_prev ON chunk_todo (prev) WHERE prev IS NOT NULL;
    CREATE TABLE gc_todo (chunk INTEGER PRIMARY KEY) STRICT;
    CREATE TABLE chunks (id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, size INTEGER NOT NULL, encoding INTEGER NOT NULL,
      base INTEGER, seq INTEGER, data BLOB NOT NULL) STRICT;
    CREATE INDEX chunks_by_base ON chunks (base) WHERE base IS NOT NULL;
    CREATE TABLE extents (branch_id INTEGER NOT NULL, ino INTEGER NOT NULL, idx INTEGER NOT NULL, since INTEGER NOT NULL,
      until INTEGER NOT NULL, chunk INTEGER, PRIMARY KEY (branch_id, ino, idx, since)) STRICT, WITHOUT ROWID;
    CREATE INDEX extents_by_chunk ON extents (chunk);
    CREATE INDEX extents_changes ON extents (branch_id, until, since);
    INSERT INTO meta SELECT key, value FROM s.meta;
    INSERT INTO branches SELECT * FROM s.branches;
    INSERT INTO commits SELECT * FROM s.commits;
    INSERT INTO labels SELECT * FROM s.labels;
    INSERT INTO dentries SELECT * FROM s.dentries;
    INSERT INTO inodes SELECT * FROM s.inodes;
    INSERT INTO xattrs SELECT * FROM s.xattrs;
    INSERT INTO chunks SELECT c.id, c.hash, c.size, c.encoding, (SELECT b.id FROM s.chunks b WHERE b.hash = c.base), c.seq, c.data FROM s.chunks c;
    INSERT INTO extents SELECT e.branch_id, e.ino, e.idx, e.since, e.until, (SELECT c.id FROM s.chunks c WHERE c.hash = e.hash) FROM s.extents e;
  `);
  if (packs) {
    // One pack per lineage; a chunk keeps its address and size, and says
    // where in which pack its bytes are (pack id, offset: two integers).
    db.exec(`CREATE TABLE packs (id INTEGER PRIMARY KEY, data BLOB NOT NULL) STRICT;
      ALTER TABLE chunks ADD COLUMN pack INTEGER; ALTER TABLE chunks ADD COLUMN pack_off INTEGER;`);
    const addPack = db.prepare('INSERT INTO packs (data) VALUES (?)');
    const point = db.prepare("UPDATE chunks SET data = x'', base = NULL, pack = ?, pack_off = ? WHERE id = ?");
    db.transaction(() => {
      for (const lineage of packs) {
        const whole = Buffer.concat(lineage.map((c) => c.data));
        const z = zlib.brotliCompressSync(whole, { params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: whole.length,
        } });
        const pack = Number(addPack.run(z).lastInsertRowid);
        let off = 0;
        for (const c of lineage) { point.run(pack, off, c.id); off += c.data.length; }
      }
    })();
  }
  db.exec('DETACH s');
  db.close();
  return out;
}

try {
  const lineages = await readLineages();
  const rows = [
    ['current', sizeOf(copyAs(pageSizeOf(store), 'current.db'))],
    ['pages_4k', sizeOf(copyAs(4096, 'pages4k.db'))],
    ['dense_4k', sizeOf(dense('dense4k.db', null))],
    ['packed_4k', sizeOf(dense('packed4k.db', lineages))],
  ];
  process.stdout.write(`# ${path.basename(store)}: ${lineages.length} chunk lineages, ${lineages.reduce((n, l) => n + l.length, 0)} chunk versions` +
    (gitKiB ? `; git after gc --aggressive ${gitKiB} KiB` : '') + '\n');
  for (const [name, r] of rows) {
    process.stdout.write(`probe.${name}_kib=${kib(r.bytes)}\n`);
    process.stdout.write(`probe.${name}_btrees=${r.btrees}\n`);
    process.stdout.write(`probe.${name}_payload_kib=${kib(r.payload)}\n`);
    if (gitKiB) process.stdout.write(`probe.${name}_ratio_to_git=${(r.bytes / 1024 / gitKiB).toFixed(2)}\n`);
    process.stdout.write(`# ${name}: largest ${r.tables.map((t) => `${t.name} ${kib(t.bytes)} KiB (rows ${kib(t.payload)})`).join(', ')}\n`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
