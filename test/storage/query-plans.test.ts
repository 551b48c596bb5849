// The statements a FUSE operation runs must seek by their key. SQLite picks
// an index from the shape of a query (this store runs no ANALYZE), and for
// `branch_id = ? AND ino = ? AND until = ?` it preferred the history index
// (branch_id, until, since), which holds every live row of the branch: an
// atime update at each reader's close scanned them all (git gc of 10,000
// loose objects: 73 s instead of 6). Every statement of MetaStore and of
// MaintenanceStore that names an inode or a directory must search by it.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openStore } from '../../src/index.js';
import { MaintenanceStore } from '../../src/store/maintenance-store.js';
import { tmpDir } from '../helpers.js';

describe('query plans', () => {
  it('every statement that names an inode or a directory seeks by it', async () => {
    const e = await openStore(path.join(tmpDir(), 'plans.mikofs'));
    try {
      const of = (x: object) => Object.values((x as unknown as { s: Record<string, Database.Statement> }).s);
      const statements = [...of(e.store.meta), ...of(new MaintenanceStore(e.store.db))];
      expect(statements.length).toBeGreaterThan(60);
      let checked = 0;
      for (const st of statements) {
        const sql = st.source.replace(/\s+/g, ' ');
        const key = /\bino = [?@]/.test(sql) ? 'ino=' : /\bparent = [?@]/.test(sql) ? 'parent=' : null;
        if (!key || !/^(SELECT|UPDATE|DELETE)/.test(sql)) continue;
        const named = [...new Set(sql.match(/@\w+/g) ?? [])].map((s) => s.slice(1));
        const explain = e.store.db.prepare(`EXPLAIN QUERY PLAN ${st.source}`);
        const rows = (named.length
          ? explain.all(Object.fromEntries(named.map((k) => [k, 1])))
          : explain.all(...Array((sql.match(/\?/g) ?? []).length).fill(1))) as { detail: string }[];
        const first = rows[0].detail;
        expect(first, sql).toContain(key);
        checked++;
      }
      expect(checked).toBeGreaterThan(30);
    } finally {
      e.close();
    }
  });
});
