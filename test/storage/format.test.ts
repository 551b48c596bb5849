// What a store file is: the SQLite header says so (application_id), and
// mikofs refuses any other file instead of adding its tables to it.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/index.js';
import { APPLICATION_ID } from '../../src/store/database.js';
import { tmpDir } from '../helpers.js';

describe('the store file format', () => {
  it('marks a new store with its application id', async () => {
    const file = path.join(tmpDir(), 'new.mikofs');
    (await openStore(file)).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
  });

  it('is in WAL mode while open for writing and out of it once closed (read-only media can read it)', async () => {
    const file = path.join(tmpDir(), 'modes.mikofs');
    // Header bytes 18 and 19: 2 in WAL mode, 1 with a rollback journal.
    const mode = () => { const fd = fs.openSync(file, 'r'); const b = Buffer.alloc(2); fs.readSync(fd, b, 0, 2, 18); fs.closeSync(fd); return [...b]; };
    const e = await openStore(file);
    e.writeFile('/a', 'one');
    expect(mode()).toEqual([2, 2]);
    // A reader beside the writer keeps it in WAL mode at the writer's close.
    const reader = await openStore(file, { readonly: true });
    e.close();
    expect(mode()).toEqual([2, 2]);
    reader.close();
    const again = await openStore(file);
    expect(mode()).toEqual([2, 2]);
    again.writeFile('/a', 'two');
    again.close();
    expect(mode()).toEqual([1, 1]);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const ro = await openStore(file, { readonly: true });
    expect(ro.readFile('/a').toString()).toBe('two');
    ro.close();
  });

  it("refuses another application's SQLite database and leaves it byte for byte as it was", async () => {
    const file = path.join(tmpDir(), 'app.db');
    const db = new Database(file);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')");
    db.close();
    const before = fs.readFileSync(file);
    await expect(openStore(file)).rejects.toThrow(/is an SQLite database but not a mikofs store/);
    await expect(openStore(file, { readonly: true })).rejects.toThrow(/not a mikofs store/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a database marked by another application', async () => {
    const file = path.join(tmpDir(), 'other.db');
    const db = new Database(file);
    db.pragma('application_id = 1234');
    db.close();
    await expect(openStore(file)).rejects.toThrow(/another application/);
  });

  it('refuses a file that is not SQLite at all, naming it', async () => {
    const file = path.join(tmpDir(), 'text.mikofs');
    fs.writeFileSync(file, 'just some text, long enough to have a header. '.repeat(10));
    await expect(openStore(file)).rejects.toThrow(`${file} is not a mikofs store (not an SQLite database)`);
  });

  it('opens a store made before the mark (application id 0) and marks it', async () => {
    const file = path.join(tmpDir(), 'old.mikofs');
    const e = await openStore(file);
    e.writeFile('/kept', 'from before');
    e.close();
    const db = new Database(file);
    db.pragma('application_id = 0'); // as stores were made before the mark
    db.close();
    // A read-only open reads it as it is; a writable one marks it.
    const ro = await openStore(file, { readonly: true });
    expect(ro.readFile('/kept').toString()).toBe('from before');
    ro.close();
    const e2 = await openStore(file);
    expect(e2.readFile('/kept').toString()).toBe('from before');
    e2.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    check.close();
  });

  it('refuses to write a store through a second name (hard link): two names would be two write-ahead logs of one file', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'one.mikofs'), other = path.join(dir, 'two.mikofs');
    const e = await openStore(file);
    e.writeFile('/f', 'x');
    e.close();
    fs.linkSync(file, other);
    for (const f of [file, other]) {
      await expect(openStore(f)).rejects.toThrow(`${f} has 2 names (hard links); a store is written through one name only`);
    }
    const ro = await openStore(other, { readonly: true });
    expect(ro.readFile('/f').toString()).toBe('x');
    ro.close();
    fs.unlinkSync(other);
    const again = await openStore(file);
    expect(again.readFile('/f').toString()).toBe('x');
    again.close();
  });

  it('refuses an empty file rather than making it a store', async () => {
    const file = path.join(tmpDir(), 'empty.bin');
    fs.writeFileSync(file, '');
    for (const readonly of [false, true]) {
      await expect(openStore(file, { readonly })).rejects.toThrow(`${file} is an empty file, not a mikofs store`);
    }
    expect(fs.statSync(file).size).toBe(0);
  });
});
