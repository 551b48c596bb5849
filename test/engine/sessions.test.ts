import { describe, it, expect } from 'vitest';
import { memStore, bytes } from '../helpers.js';

const O_APPEND_RW = 0o2002;

describe('write sessions: branch on write, merge on close', () => {
  it('chunked writes out of order assemble correctly', async () => {
    const e = await memStore();
    const data = bytes(3 * e.chunkSize + 12345, 3);
    const fh = e.open('/f', 'w');
    const pieces: [number, number][] = [];
    for (let off = 0; off < data.length; off += 32768) pieces.push([off, Math.min(32768, data.length - off)]);
    pieces.reverse();
    for (let i = 0; i < pieces.length; i += 2) e.write(fh, data.subarray(pieces[i][0], pieces[i][0] + pieces[i][1]), pieces[i][0]);
    for (let i = 1; i < pieces.length; i += 2) e.write(fh, data.subarray(pieces[i][0], pieces[i][0] + pieces[i][1]), pieces[i][0]);
    e.release(fh);
    expect(e.readFile('/f').equals(data)).toBe(true);
    e.close();
  });

  it('large file written in chunks matches a whole-file write, and dedups', async () => {
    const e = await memStore();
    const data = bytes(8 * 1024 * 1024 + 7, 5);
    const fh = e.open('/chunked', 'w');
    for (let off = 0; off < data.length; off += 131072) e.write(fh, data.subarray(off, off + 131072), off);
    e.release(fh);
    const n1 = e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
    e.writeFile('/whole', data);
    const n2 = e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
    expect(n2).toBe(n1); // identical chunks stored once
    expect(e.readFile('/chunked').equals(data)).toBe(true);
    expect(e.readFile('/whole').equals(data)).toBe(true);
    // reading at an offset gives exactly that slice
    const r = e.open('/chunked');
    expect(e.read(r, 1000, 5 * 1024 * 1024 - 500).equals(data.subarray(5 * 1024 * 1024 - 500, 5 * 1024 * 1024 + 500))).toBe(true);
    e.release(r);
    e.close();
  });

  it('a concurrent reader sees the old version during a write, the new one once it is committed', async () => {
    const e = await memStore();
    e.writeFile('/f', 'old content');
    const w = e.open('/f', 'r+');
    e.write(w, Buffer.from('NEW'), 0);
    expect(e.read(w, 100, 0).toString()).toBe('NEW content'); // own writes visible to the writer
    expect(e.readFile('/f').toString()).toBe('old content');
    const r = e.open('/f');
    expect(e.read(r, 100, 0).toString()).toBe('old content');
    e.release(w);
    expect(e.read(r, 100, 0).toString()).toBe('NEW content'); // an open reader follows the commit
    expect(e.fstat(r).size).toBe(11);
    e.release(r);
    const r2 = e.open('/f');
    expect(e.read(r2, 100, 0).toString()).toBe('NEW content');
    e.release(r2);
    e.close();
  });

  it('an open reader follows appends (tail -f), but not a file that lost its last name or was replaced by rename', async () => {
    const e = await memStore();
    e.writeFile('/log', 'l0\n');
    const r = e.open('/log');
    expect(e.read(r, 100, 0).toString()).toBe('l0\n');
    e.appendFile('/log', 'l1\n');
    expect(e.fstat(r).size).toBe(6);
    expect(e.read(r, 100, 3).toString()).toBe('l1\n'); // what fstat says is there can be read
    const before = e.headCommit;
    e.appendFile('/log', 'l2\n');
    expect(e.at(before).readFile('/log').toString()).toBe('l0\nl1\n'); // history keeps each state
    expect(e.read(r, 100, 0).toString()).toBe('l0\nl1\nl2\n');
    // Replaced by rename (an editor's save): the descriptor holds the old inode.
    e.writeFile('/new', 'replacement');
    e.rename('/new', '/log');
    expect(e.read(r, 100, 0).toString()).toBe('l0\nl1\nl2\n');
    e.release(r);
    // Unlinked while open: its descriptor reads what it was.
    e.writeFile('/gone', 'still here');
    const g = e.open('/gone');
    e.unlink('/gone');
    expect(e.read(g, 100, 0).toString()).toBe('still here');
    e.release(g);
    e.close();
  });

  it('a write session open across a rollback merges onto the rolled-back content, at its size', async () => {
    const e = await memStore();
    e.writeFile('/f', 'A'.repeat(10000));
    e.label('l');
    e.writeFile('/f', 'B'.repeat(30000));
    const w = e.open('/f', 'r+');
    e.write(w, Buffer.from('W'.repeat(100)), 0);
    e.history.rollback(e.resolvePoint('l'));
    e.write(w, Buffer.from('X'.repeat(10)), 100);
    e.release(w);
    // (the 30000 bytes the file had when the session began came back as zeros)
    expect(e.readFile('/f').toString()).toBe('W'.repeat(100) + 'X'.repeat(10) + 'A'.repeat(9890));
    e.close();
  });

  it('abort leaves the old version', async () => {
    const e = await memStore();
    const old = bytes(2 * e.chunkSize, 9);
    e.writeFile('/f', old);
    const w = e.open('/f', 'w');
    e.write(w, bytes(3 * e.chunkSize, 10), 0); // stages full chunks
    e.abort(w);
    expect(e.readFile('/f').equals(old)).toBe(true);
    expect(e.store.db.prepare("SELECT count(*) FROM branches WHERE kind = 'session'").pluck().get()).toBe(0);
    expect(e.store.db.prepare('SELECT count(*) FROM session_chunks').pluck().get()).toBe(0);
    expect(e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get()).toBe(2);
    e.close();
  });

  it('abort of a new file leaves no trace', async () => {
    const e = await memStore();
    const w = e.open('/new', 'w');
    e.write(w, bytes(2 * e.chunkSize, 11), 0);
    e.abort(w);
    expect(e.exists('/new')).toBe(false);
    expect(e.readdir('/')).toEqual([]);
    expect(e.store.db.prepare('SELECT count(*) FROM chunks').pluck().get()).toBe(0);
    e.close();
  });

  it('two sessions on one path: no corruption, last close wins where they overlap', async () => {
    const e = await memStore();
    e.writeFile('/f', 'aaaaaaaaaa');
    const s1 = e.open('/f', 'r+');
    const s2 = e.open('/f', 'r+');
    e.write(s1, Buffer.from('11111'), 0);
    e.write(s2, Buffer.from('22'), 3);
    e.write(s2, Buffer.from('ZZ'), 8);
    e.release(s1);
    expect(e.readFile('/f').toString()).toBe('11111aaaaa');
    e.release(s2);
    expect(e.readFile('/f').toString()).toBe('11122aaaZZ');
    // whole-file rewrites: the last to close wins entirely
    const a = e.open('/f', 'w'); const b = e.open('/f', 'w');
    e.write(a, Buffer.from('from a'), 0); e.write(b, Buffer.from('from b!'), 0);
    e.release(b); e.release(a);
    expect(e.readFile('/f').toString()).toBe('from a');
    e.close();
  });

  it('append mode appends at the committed end', async () => {
    const e = await memStore();
    e.writeFile('/log', 'one\n');
    e.appendFile('/log', 'two\n');
    e.appendFile('/log', 'three\n');
    expect(e.readFile('/log').toString()).toBe('one\ntwo\nthree\n');
    e.close();
  });

  it('O_TRUNC inside a session keeps readers on the old content until close', async () => {
    const e = await memStore();
    e.writeFile('/f', 'previous');
    const w = e.open('/f', 'w');
    expect(e.readFile('/f').toString()).toBe('previous');
    expect(e.fstat(w).size).toBe(0);
    e.write(w, Buffer.from('next'), 0);
    e.release(w);
    expect(e.readFile('/f').toString()).toBe('next');
    e.close();
  });

  it('grows from inline to chunked and back', async () => {
    const e = await memStore();
    e.writeFile('/f', 'small');
    const w = e.open('/f', 'r+');
    const big = bytes(e.chunkSize + 100, 2);
    e.write(w, big, 5);
    e.release(w);
    const expected = Buffer.concat([Buffer.from('small'), big]);
    expect(e.readFile('/f').equals(expected)).toBe(true);
    e.truncate('/f', 100);
    expect(e.readFile('/f').equals(expected.subarray(0, 100))).toBe(true);
    expect(e.store.db.prepare(`SELECT count(*) FROM extents WHERE until = ${Number.MAX_SAFE_INTEGER}`).pluck().get()).toBe(0);
    e.close();
  });

  it('writing to a file unlinked while open commits nothing visible', async () => {
    const e = await memStore();
    e.writeFile('/f', 'x');
    const w = e.open('/f', 'r+');
    e.unlink('/f');
    e.write(w, Buffer.from('y'), 0);
    e.release(w);
    expect(e.exists('/f')).toBe(false);
    e.close();
  });

  it('a file unlinked while open keeps what its writer writes through fsync and commits, until the last close', async () => {
    const e = await memStore();
    e.writeFile('/f', 'committed');
    const w = e.open('/f', 'r+');
    e.unlink('/f');
    e.write(w, Buffer.from('NEW'), 0);
    e.fsync(w); // tmpfile(): unlink, write, fsync, read back
    expect(e.read(w, 100, 0).toString()).toBe('NEWmitted');
    expect(e.fstat(w).size).toBe(9);
    e.commit(w); // another descriptor of it closed (a forked child exiting)
    e.write(w, Buffer.from('MORE'), 9);
    expect(e.read(w, 100, 0).toString()).toBe('NEWmittedMORE');
    e.release(w);
    expect(e.exists('/f')).toBe(false);
    // A temporary file that never had content in the tree.
    const t = e.open('/t', 'w+');
    e.unlink('/t');
    const data = bytes(e.chunkSize + 10000, 9);
    e.write(t, data, 0);
    e.fsync(t);
    expect(e.read(t, data.length, 0).equals(data)).toBe(true);
    e.release(t);
    e.close();
  });

  it('a truncation and then growth leave zeros, never the old bytes, where the session did not write again', async () => {
    const e = await memStore();
    const cs = e.chunkSize;
    const cases: [string, (fh: number) => void, number][] = [
      ['O_TRUNC then a write in the second chunk', (fh) => e.write(fh, Buffer.from('q'), cs + 1000), 0],
      ['truncate to 100 then a write in the fourth chunk', (fh) => { e.ftruncate(fh, 100); e.write(fh, Buffer.from('q'), 3 * cs + 5); }, 100],
      ['truncate to 0 then up to three chunks', (fh) => { e.ftruncate(fh, 0); e.ftruncate(fh, 3 * cs); }, 0],
      ['O_TRUNC then fallocate of three chunks', (fh) => e.fallocate(fh, 0, 0, 3 * cs), 0],
    ];
    for (const [what, edit, kept] of cases) {
      const old = Buffer.alloc(3 * cs + 7, 'X');
      e.writeFile('/f', old);
      const fh = e.open('/f', what.startsWith('O_TRUNC') ? 'w' : 'r+');
      edit(fh);
      e.release(fh);
      const now = e.readFile('/f');
      const stale = now.reduce((n, b) => n + (b === 0x58 ? 1 : 0), 0);
      expect(stale, what).toBe(kept);
    }
    e.close();
  });

  it('a truncation by path is what a writer with nothing uncommitted reads and appends at next', async () => {
    const e = await memStore();
    e.writeFile('/f', 'x'.repeat(50));
    const w = e.open('/f', O_APPEND_RW);
    e.ftruncate(w, 0);
    e.commit(w);
    e.truncate('/f', 100); // truncate(2) of the path by the same process
    expect(e.fstat(w).size).toBe(100);
    expect(e.read(w, 200, 34).length).toBe(66);
    e.write(w, Buffer.from('end'), 0); // O_APPEND: after the 100 bytes
    e.release(w);
    expect(e.readFile('/f').length).toBe(103);
    e.close();
  });

  it('a time set after a writer wrote is what its descriptor shows and what its commit keeps', async () => {
    // The session kept the time of its last write: fstat of an unlinked
    // file's writer showed it after futimens, and a commit after utimens
    // put it back (found by the differential sequences, 2026-12-05).
    const e = await memStore();
    const t = -1234567890123456789n, u = 0n;
    e.writeFile('/f', 'x');
    const w = e.open('/f', 'r+');
    e.write(w, Buffer.from('y'), 5);
    e.utimens('/f', t, t);
    expect(e.fstat(w).mtime).toBe(t);
    expect(e.fstat(w).ctime > t).toBe(true);
    e.release(w);
    expect(e.stat('/f').mtime).toBe(t);
    expect(e.stat('/f').size).toBe(6);
    // A write after the time was set moves it on again.
    const w2 = e.open('/f', 'r+');
    e.utimens('/f', t, t);
    e.write(w2, Buffer.from('z'), 0);
    expect(e.fstat(w2).mtime > t).toBe(true);
    e.release(w2);
    expect(e.stat('/f').mtime > t).toBe(true);
    // An unlinked file's writer: its session never commits.
    const x = e.open('/x', 'w+');
    e.write(x, Buffer.from('data'), 0);
    const ino = e.fstat(x).ino;
    e.unlink('/x');
    e.write(x, Buffer.from('more'), 4);
    e.utimens(ino, 'omit', u);
    expect(e.fstat(x).mtime).toBe(u);
    expect(e.fstat(x).size).toBe(8);
    e.release(x);
    e.close();
  });
});
