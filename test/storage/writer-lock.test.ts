// The single-writer lock (meta key 'writer') after a crash: a kill -9 or a
// reboot leaves the row behind, and the pid it names may since have been
// given to an unrelated live process. The lock records the holder's start
// time (/proc/PID/stat field 22) and the boot id, so such a row is seen as
// stale; a row of a live holder, and a row written by an older mikofs (no
// start time), still refuse a second writer.
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { tmpDir } from '../helpers.js';
import { openStore, StoreLockedError } from '../../src/index.js';

const children: ChildProcess[] = [];
afterAll(() => { for (const c of children) c.kill('SIGKILL'); });

/** An unrelated live process (a `sleep`), its pid and its start time. */
async function sleeper(): Promise<{ pid: number; start: string }> {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  const stat = fs.readFileSync(`/proc/${c.pid}/stat`, 'utf8');
  return { pid: c.pid!, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] };
}

const bootId = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

async function storeWithLock(lock: Record<string, unknown>): Promise<string> {
  const file = path.join(tmpDir(), 's.mikofs');
  const e = await openStore(file);
  e.writeFile('/f', 'x');
  e.close();
  const db = new Database(file);
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('writer', ?)").run(JSON.stringify({
    host: os.hostname(), holder: 'mount at /mnt/old', since: '2026-01-01T00:00:00.000Z', ...lock,
  }));
  db.close();
  return file;
}

async function opensForWriting(file: string): Promise<true | string> {
  try {
    const e = await openStore(file, { checkpointer: false });
    expect(e.readFile('/f').toString()).toBe('x');
    e.close();
    return true;
  } catch (err) {
    if (err instanceof StoreLockedError) return err.message;
    throw err;
  }
}

describe('writer lock left by a crashed holder', () => {
  it('is stale when its pid now belongs to another process (start time differs)', async () => {
    const s = await sleeper();
    const file = await storeWithLock({ pid: s.pid, start: String(Number(s.start) - 1000), boot: bootId() });
    expect(await opensForWriting(file)).toBe(true);
  });

  it('is stale after a reboot (boot id differs), even with the same pid and start time', async () => {
    const s = await sleeper();
    const file = await storeWithLock({ pid: s.pid, start: s.start, boot: '00000000-0000-0000-0000-000000000000' });
    expect(await opensForWriting(file)).toBe(true);
  });

  it('still refuses while the holder lives (its own start time and boot)', async () => {
    const s = await sleeper();
    const file = await storeWithLock({ pid: s.pid, start: s.start, boot: bootId() });
    const r = await opensForWriting(file);
    expect(r).toMatch(new RegExp(`already open for writing by process ${s.pid} \\(mount at /mnt/old, since 2026-01-01`));
    // A reader may still open it.
    const ro = await openStore(file, { readonly: true });
    expect(ro.readFile('/f').toString()).toBe('x');
    ro.close();
  });

  it('refuses a live holder under another hostname of this machine (a UTS namespace: same boot id) (found 2026-12-05)', async () => {
    const s = await sleeper();
    const file = await storeWithLock({ pid: s.pid, start: s.start, boot: bootId(), host: 'other-uts-name' });
    expect(await opensForWriting(file)).toMatch(new RegExp(`already open for writing by process ${s.pid}`));
  });

  it('a lock of an older mikofs (no start time) naming a live process refuses as before', async () => {
    const s = await sleeper();
    const file = await storeWithLock({ pid: s.pid });
    expect(await opensForWriting(file)).toMatch(/already open for writing/);
  });

  it('a writer records its pid, start time and boot id, and clears them at close', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file, { holder: 'test' });
    const w = JSON.parse(e.store.meta.getMeta('writer') as string);
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    expect(w).toMatchObject({ pid: process.pid, holder: 'test', boot: bootId(), start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] });
    e.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'writer'").get()).toBeUndefined();
    db.close();
  });
});

describe('a writer busy inside a transaction', () => {
  it('a second writer is told who holds the store, not "database is locked" (found 2026-12-05)', { timeout: 30000 }, async () => {
    // A gc stopped with Ctrl-Z inside a transaction: its lock row names it,
    // but the row cannot be replaced while it writes.
    const file = await storeWithLock({});
    const db = new Database(file);
    const me = JSON.stringify({ pid: process.pid, host: os.hostname(), holder: 'mikofs gc', since: '2026-12-05T10:00:00.000Z' });
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('writer', ?)").run(me);
    db.pragma('journal_mode = WAL');
    // A child holds the write lock, as the stopped gc's connection does.
    const holder = spawn(process.execPath, ['-e', `
      const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
      const db = new Database(${JSON.stringify(file)});
      db.exec('BEGIN IMMEDIATE');
      console.log('holding');
      setTimeout(() => {}, 60000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise((r) => holder.stdout!.once('data', r));
    db.close();
    // The row names this test process as the writer: another process must
    // see it live, so the second writer runs in a child too.
    const second = spawn(process.execPath, ['--input-type=module', '-e', `
      import(${JSON.stringify(path.resolve('dist/index.js'))}).then(async (m) => {
        try { await m.openStore(${JSON.stringify(file)}); console.log('opened'); }
        catch (e) { console.log(e.constructor.name + ': ' + e.message); }
      });`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(second);
    let out = '';
    second.stdout!.on('data', (d) => { out += d; });
    await new Promise((r) => second.once('exit', r));
    holder.kill('SIGKILL');
    expect(out).toMatch(new RegExp(`^StoreLockedError: store .* is already open for writing by process ${process.pid} \\(mikofs gc, since .*\\), which has kept it busy`));
  });
});
