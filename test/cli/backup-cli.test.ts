// mikofs backup of a store file (no mount): the copy holds the same history
// and content, passes verify, is private to its owner, and never replaces
// a file or leaves a DEST.tmp behind unless told. Also: a store whose root
// directory is gone (a damaged copy) is refused at open, not served empty.
import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { tmpDir, bytes } from '../helpers.js';
import { openStore } from '../../src/index.js';
import { backupStore } from '../../src/store/backup.js';

const CLI = path.resolve('dist/cli/main.js');

function mikofs(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err });
    });
  });
}
const cat = (s: string, f: string): Buffer => execFileSync(process.execPath, [CLI, 'cat', s, f], { maxBuffer: 64 << 20 });
const json = async (args: string[]) => {
  const r = await mikofs([...args, '--json']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.out);
};

describe('mikofs backup of a store file', () => {
  let dir: string;
  let store: string;
  beforeAll(async () => {
    dir = tmpDir();
    store = path.join(dir, 's.mikofs');
    const e = await openStore(store);
    e.mkdir('/docs');
    e.writeFile('/docs/a.txt', 'one\n');
    e.snapshot('first', 'v1');
    e.writeFile('/docs/a.txt', 'two\n');
    e.writeFile('/big', bytes(3_000_000, 7));
    e.writeFile('/gone', 'x');
    e.unlink('/gone');
    e.close();
  });

  it('copies every commit, label and file, and the copy verifies', async () => {
    const dest = path.join(dir, 'copy.mikofs');
    const r = await mikofs(['backup', dest, '--store', store]);
    expect(r.code).toBe(0);
    expect(r.err).toBe(''); // piped: no progress line
    expect(r.out).toMatch(/^backed up .*s\.mikofs to .*copy\.mikofs: .* commits up to c\d+/);
    expect(r.out).toContain('checked the copy: SQLite quick_check ok, root directory present');
    expect(fs.existsSync(dest + '.tmp')).toBe(false);
    expect(fs.statSync(dest).mode & 0o777).toBe(0o600);

    expect(await json(['log', '--store', dest])).toEqual(await json(['log', '--store', store]));
    expect(await json(['label', '--list', '--store', dest])).toEqual(await json(['label', '--list', '--store', store]));
    expect(await json(['log', '/docs/a.txt', '--store', dest])).toEqual(await json(['log', '/docs/a.txt', '--store', store]));
    for (const f of ['/docs/a.txt', '/big']) {
      const a = cat(store, f);
      const b = cat(dest, f);
      expect(b.equals(a)).toBe(true);
    }
    expect(cat(dest, '/big').equals(bytes(3_000_000, 7))).toBe(true);
    const past = await mikofs(['diff', 'v1', '--store', dest]);
    expect(past.code).toBe(0);
    expect(past.out).toContain('/docs/a.txt');
    const v = await mikofs(['verify', '--store', dest]);
    expect(v.code).toBe(0);
    expect(v.out).toContain('no problems found');
    // The copy is a store of its own: writable, nobody holds it.
    const e = await openStore(dest, { checkpointer: false });
    expect(e.readFile('/docs/a.txt').toString()).toBe('two\n');
    e.close();
  });

  it('--json reports the copy', async () => {
    const dest = path.join(dir, 'j.mikofs');
    const r = await json(['backup', dest, '--store', store]);
    expect(r).toMatchObject({ store, dest, commits: expect.any(Number), head: { commit: expect.any(Number) } });
    expect(r.bytes).toBe(fs.statSync(dest).size);
  });

  it('into a directory, the copy takes the store\'s name', async () => {
    const into = path.join(dir, 'into');
    fs.mkdirSync(into);
    const r = await mikofs(['backup', into, '--store', store]);
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(into, 's.mikofs'))).toBe(true);
  });

  it('refuses to replace a file unless --force, a missing directory, and the store itself', async () => {
    const dest = path.join(dir, 'exists.mikofs');
    fs.writeFileSync(dest, 'precious');
    const r = await mikofs(['backup', dest, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`mikofs: EEXIST: ${dest} exists (--force replaces it)\n`);
    expect(fs.readFileSync(dest, 'utf8')).toBe('precious');
    const f = await mikofs(['backup', dest, '--store', store, '--force']);
    expect(f.code).toBe(0);
    expect((await json(['log', '--store', dest])).length).toBeGreaterThan(0);

    const missing = path.join(dir, 'no', 'such', 'b.mikofs');
    const m = await mikofs(['backup', missing, '--store', store]);
    expect(m.code).toBe(1);
    expect(m.err).toBe(`mikofs: ENOENT: cannot write ${missing}: the directory ${path.dirname(missing)} does not exist\n`);

    const self = await mikofs(['backup', store, '--store', store, '--force']);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/is the store itself/);
    expect((await json(['log', '--store', store])).length).toBeGreaterThan(0);
    // Its control socket's name too: the next mount took the copy for a
    // dead mount's socket and deleted it (found 2026-12-05).
    const sock = await mikofs(['backup', store + '.sock', '--store', store]);
    expect(sock.code).toBe(1);
    expect(sock.err).toMatch(/is the store itself \(or its journal, or its control socket\)/);
    expect(fs.existsSync(store + '.sock')).toBe(false);
  });

  it('a DEST.tmp left by an interrupted backup is refused, and replaced with --force', async () => {
    const dest = path.join(dir, 'interrupted.mikofs');
    fs.writeFileSync(dest + '.tmp', 'half');
    const r = await mikofs(['backup', dest, '--store', store]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/interrupted\.mikofs\.tmp exists: another backup .* under way, or one was interrupted/);
    expect(fs.existsSync(dest)).toBe(false);
    expect((await mikofs(['backup', dest, '--store', store, '--force'])).code).toBe(0);
    expect(fs.existsSync(dest + '.tmp')).toBe(false);
  });

  it('a copy made beside a writer of this process is not held by it, and has all it committed', async () => {
    const file = path.join(tmpDir(), 'w.mikofs');
    const e = await openStore(file, { holder: 'test writer' });
    e.writeFile('/a', 'committed');
    e.flush();
    const dest = path.join(path.dirname(file), 'w-copy.mikofs');
    const r = await backupStore(file, dest);
    expect(r.head).toBe(e.headCommit);
    e.writeFile('/b', 'after');
    e.close();
    const c = await openStore(dest, { checkpointer: false });
    expect(c.readFile('/a').toString()).toBe('committed');
    expect(c.exists('/b')).toBe(false);
    c.close();
  });

  it.runIf(process.getuid?.() === 0)('a disk that fills during the copy: ENOSPC, nothing left behind', async () => {
    const mnt = tmpDir('mikofs-small-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
    try {
      const dest = path.join(mnt, 'b.mikofs');
      let filled = false;
      const p = backupStore(store, dest, {
        stepPages: 16,
        // Another program takes the room after the space check passed.
        onProgress: () => { if (!filled) { filled = true; try { fs.writeFileSync(path.join(mnt, 'fill'), Buffer.alloc(6 << 20)); } catch { /* full */ } } },
      });
      await expect(p).rejects.toMatchObject({ code: 'ENOSPC', message: expect.stringMatching(/is full: the copy did not fit/) });
      expect(fs.readdirSync(mnt)).toEqual(['fill']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('interrupted', () => {
  it('Ctrl-C during a backup exits 130 and leaves no copy behind; the next backup works (found 2026-12-05)', async () => {
    const dir = tmpDir();
    const store = path.join(dir, 'big.mikofs');
    const e = await openStore(store);
    for (let i = 0; i < 12; i++) e.writeFile(`/f${i}`, bytes(16 << 20, i + 1));
    e.close();
    const dest = path.join(dir, 'bk.mikofs');
    const child = spawn(process.execPath, [CLI, 'backup', dest, '--store', store], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // Stopped as soon as the copy exists, then interrupted: the signal
    // arrives mid-copy however fast the machine.
    while (!fs.existsSync(dest + '.tmp')) await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGSTOP');
    child.kill('SIGINT');
    child.kill('SIGCONT');
    expect(await exited).toBe(130);
    expect(err).toBe('');
    expect(fs.readdirSync(dir).sort()).toEqual(['big.mikofs']);
    const again = await mikofs(['backup', dest, '--store', store]);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
  });

  it('a store a process leaves open at exit is closed: what it wrote is kept, and it is out of WAL mode', async () => {
    const dir = tmpDir();
    const store = path.join(dir, 's.mikofs');
    (await openStore(store)).close();
    const script = `import('${path.resolve('dist/index.js')}').then(async (m) => {
      const e = await m.openStore(${JSON.stringify(store)});
      e.writeFile('/kept', 'yes\\n');
      process.exit(0); // no close
    });`;
    expect(spawnSync(process.execPath, ['-e', script]).status).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['s.mikofs']);
    expect(fs.readFileSync(store).subarray(18, 20)).toEqual(Buffer.from([1, 1])); // rollback journal, not WAL
    expect(cat(store, '/kept').toString()).toBe('yes\n');
  });
});

describe('a damaged store is refused at open', () => {
  it('a store whose root directory row is gone is not served as an empty tree', async () => {
    const file = path.join(tmpDir(), 'd.mikofs');
    const e = await openStore(file);
    e.writeFile('/f', 'x');
    e.close();
    const db = new Database(file);
    db.prepare('DELETE FROM inodes WHERE ino = 1').run();
    db.close();
    await expect(openStore(file)).rejects.toThrow(/d\.mikofs is damaged: its root directory is missing/);
    await expect(openStore(file, { readonly: true })).rejects.toThrow(/is damaged/);
    const r = await mikofs(['ls', file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^mikofs: .*d\.mikofs is damaged: its root directory is missing .*mikofs backup/);
    // A failed backup check says why and keeps nothing.
    const dest = path.join(path.dirname(file), 'copy.mikofs');
    await expect(backupStore(file, dest)).rejects.toThrow(/failed its check: .*root directory is missing/);
    expect(fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith('copy'))).toEqual([]);
  });
});
