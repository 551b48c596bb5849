// Changes that check everything before writing run without a savepoint
// (Store.direct). If SQLite fails half way through one anyway, the whole
// group transaction (the last few ms of changes) is rolled back, as a crash
// would lose it: every committed state stays intact, caches forget the lost
// rows, and a writer whose staged data went with the group gets EIO (a
// writer that staged nothing in it loses nothing).
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { openStore } from '../../src/index.js';
import { bytes, memStore, tmpDir } from '../helpers.js';

/** Makes SQLite fail the insert of a directory entry called `boom`, after
 * the change has written its commit and inode rows. */
function armFailure(e: Awaited<ReturnType<typeof memStore>>): void {
  e.store.db.exec(`CREATE TEMP TRIGGER boom BEFORE INSERT ON main.dentries WHEN NEW.name = 'boom'
    BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
}

describe('a change failing half way without a savepoint', () => {
  it('rolls back its group: committed states stay, the group and its caches go, the store goes on', async () => {
    const e = await memStore();
    e.writeFile('/kept', 'committed');
    e.flush(); // reaches the store: survives whatever follows
    const lost: unknown[] = [];
    e.store.onGroupLost((err) => lost.push(err));
    armFailure(e);
    e.mkdir('/in-the-group'); // same group transaction as the failure
    expect(e.exists('/in-the-group')).toBe(true);
    expect(() => e.mkdir('/boom')).toThrow(/injected failure/);
    expect(lost).toHaveLength(1);
    // The group is gone (as after a crash within it), from the store and
    // from the engine's caches alike.
    expect(e.exists('/in-the-group')).toBe(false);
    expect(e.exists('/boom')).toBe(false);
    expect(e.readFile('/kept').toString()).toBe('committed');
    // The store goes on: new changes commit, nothing dangles.
    e.mkdir('/after');
    e.writeFile('/after/f', 'fine');
    e.flush();
    expect(e.readdir('/').map((d) => d.name).sort()).toEqual(['after', 'kept']);
    expect(e.store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const dangling = e.store.db.prepare(`SELECT count(*) FROM dentries d WHERE d.until > d.since AND d.ino IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM inodes i WHERE i.ino = d.ino)`).pluck().get();
    expect(dangling).toBe(0);
  });

  it('fails a writer whose staged chunks went with the group (EIO at close), leaving the file as committed', async () => {
    const e = await memStore();
    e.writeFile('/big', bytes(1 << 20, 1));
    e.flush();
    const fh = e.open('/big', 'r+');
    e.write(fh, bytes(1 << 20, 2), 0); // two whole chunks, staged in this group
    e.store.hasher.drain(); // the chunks are hashed and stored, in this group
    armFailure(e);
    expect(() => e.mkdir('/boom')).toThrow(/injected failure/);
    expect(() => e.release(fh)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(e.readFile('/big').equals(bytes(1 << 20, 1))).toBe(true);
    // A new session on the file works as usual.
    e.writeFile('/big', 'small now');
    expect(e.readFile('/big').toString()).toBe('small now');
  });

  it('keeps a writer whose staged chunks were committed before the lost group', async () => {
    const e = await memStore();
    const fh = e.create('/big', 0o644);
    e.write(fh, bytes(1 << 20, 3), 0);
    e.store.hasher.drain();
    e.flush(); // the staged chunks are committed
    armFailure(e);
    expect(() => e.mkdir('/boom')).toThrow(/injected failure/);
    e.release(fh);
    expect(e.readFile('/big').equals(bytes(1 << 20, 3))).toBe(true);
  });

  it('a change that fails before writing (EEXIST, ENOENT) costs the group nothing', async () => {
    const e = await memStore();
    e.mkdir('/d');
    expect(() => e.mkdir('/d')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => e.link('/nope', '/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => e.unlink('/nope')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(e.exists('/d')).toBe(true);
  });

  it('on disk, a lost group leaves the file as it was at the last commit', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 's.mikofs');
    let e = await openStore(file);
    e.writeFile('/a', 'one');
    e.flush();
    armFailure(e);
    e.writeFile('/b', 'two');
    expect(() => e.symlink('/a', '/boom')).toThrow(/injected failure/);
    e.close();
    e = await openStore(file);
    expect(e.readdir('/').map((d) => d.name)).toEqual(['a']);
    expect(e.readFile('/a').toString()).toBe('one');
    e.close();
  });

  it('a branch engine forgets the lost group too, and one its user dropped is not kept alive for it', async () => {
    const e = await memStore();
    e.mkdir('/d');
    e.flush();
    const b = e.createBranch('work');
    e.flush();
    b.mkdir('/d/mine'); // in the open group, cached by b
    expect(b.exists('/d/mine')).toBe(true);
    armFailure(e);
    expect(() => e.mkdir('/boom')).toThrow(/injected failure/);
    expect(b.exists('/d/mine')).toBe(false);
    expect(b.exists('/d')).toBe(true);
    // Engines made per call and dropped: the store holds them weakly.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    for (let i = 0; i < 500; i++) e.branch('work').exists('/d');
    for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 0)); }
    expect(e.store.watchers()).toBeLessThan(50);
    expect(b.exists('/d')).toBe(true); // (b stays reachable until here)
  });

  it('a chunk that cannot be stored fails its own file at close, with its error, not whoever collected it', async () => {
    const e = await memStore();
    e.writeFile('/big', bytes(1 << 20, 1));
    e.flush();
    e.store.db.exec(`CREATE TEMP TRIGGER full BEFORE INSERT ON main.chunks
      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    const fh = e.open('/big', 'r+');
    expect(() => e.write(fh, bytes(1 << 20, 2), 0)).not.toThrow(); // answered; storing comes later
    // Whoever collects the hash worker's results (here: directly; in a
    // mount, any request that writes) does not get this file's failure.
    expect(() => e.store.hasher.drain()).not.toThrow();
    e.mkdir('/others-go-on');
    expect(() => e.release(fh)).toThrow(/disk is full/);
    e.store.db.exec('DROP TRIGGER temp.full');
    expect(e.readFile('/big').equals(bytes(1 << 20, 1))).toBe(true);
    expect(e.exists('/others-go-on')).toBe(true);
    e.writeFile('/big', bytes(1 << 20, 3));
    expect(e.readFile('/big').equals(bytes(1 << 20, 3))).toBe(true);
  });
});
