// Background checkpoints (src/store/checkpointer.ts): what waits in the WAL
// reaches the database file a second after a trickle of changes, and at
// once behind bulk data, read off the WAL index as the checkpointer does.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../../src/index.js';
import { checkpointDue, walIndexFrames } from '../../src/store/checkpointer.js';
import { bytes, tmpDir } from '../helpers.js';

/** Frames in the WAL not yet copied into the database file (read through
 * the checkpointer's descriptor: closing one of our own would drop the open
 * store's SQLite locks, see checkpointer.ts). */
function waiting(file: string): number {
  const f = walIndexFrames(file);
  return f ? Math.max(0, f.mx - f.done) : 0;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('background checkpoints', () => {
  it('a trickle of metadata is copied within about a second; bulk data as soon as it stops coming', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file);
    try {
      await sleep(1500); // whatever opening wrote is copied
      for (let i = 0; i < 20; i++) e.mkdir(`/d${i}`);
      e.flush();
      expect(waiting(file)).toBeGreaterThan(0);
      // (polled: a loaded machine may start the worker's copy a little late)
      for (const t0 = Date.now(); waiting(file) > 0 && Date.now() - t0 < 2500;) await sleep(50);
      expect(waiting(file)).toBe(0);
      // 64 MiB written at once: copied as soon as it stops, not a second later
      const fh = e.create('/big', 0o644);
      for (let i = 0; i < 64; i++) e.write(fh, bytes(1 << 20, i + 1), i << 20);
      e.release(fh);
      e.flush();
      // Well before the second a trickle waits (polled, as above).
      for (const t0 = Date.now(); waiting(file) * 16384 >= 48 << 20 && Date.now() - t0 < 800;) await sleep(25);
      expect(waiting(file) * 16384).toBeLessThan(48 << 20);
    } finally {
      e.close();
    }
  });

  it('the WAL a large write grew gives its space back once that write is copied and writing pauses', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file, { walSizeLimit: 4 << 20 });
    try {
      const fh = e.create('/big', 0o644);
      for (let i = 0; i < 24; i++) e.write(fh, bytes(1 << 20, i + 1), i << 20);
      e.release(fh);
      e.flush();
      expect(fs.statSync(file + '-wal').size).toBeGreaterThan(16 << 20);
      for (let i = 0; i < 50 && waiting(file) > 0; i++) await sleep(100);
      expect(waiting(file)).toBe(0);
      // Once the writer has paused for a second, the checkpointer cuts the
      // WAL (not the next commit, on the thread serving FUSE). Polled: a
      // loaded machine may run the worker's tick late.
      for (const t0 = Date.now(); fs.statSync(file + '-wal').size > 4 << 20 && Date.now() - t0 < 6000;) await sleep(100);
      expect(fs.statSync(file + '-wal').size).toBeLessThanOrEqual(4 << 20);
      // Writing goes on as before, into a WAL that starts over.
      e.mkdir('/after');
      e.flush();
      expect(fs.statSync(file + '-wal').size).toBeLessThanOrEqual(4 << 20);
      expect(e.readFile('/big').equals(Buffer.concat(Array.from({ length: 24 }, (_, i) => bytes(1 << 20, i + 1))))).toBe(true);
      expect(e.stat('/after').mode & 0o170000).toBe(0o040000);
    } finally {
      e.close();
    }
  });

  it('under writes that never pause the WAL still starts over once past its limit', async () => {
    // Found by the exploratory hunt (2026-12-05): a file rewritten every
    // 50 ms grew the WAL to 1.5 GB in a minute: every background copy ended
    // with the frames appended meanwhile still waiting, and a WAL starts
    // over only when a write begins with all of it copied.
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file, { walSizeLimit: 4 << 20 });
    try {
      let most = 0;
      const t0 = Date.now();
      for (let k = 0; Date.now() - t0 < 4000; k++) {
        const fh = e.open('/d', 'w');
        e.write(fh, bytes(600 << 10, k + 1), 0);
        e.release(fh);
        e.flush();
        most = Math.max(most, walIndexFrames(file)?.mx ?? 0);
        await sleep(30); // about 20 MB/s
      }
      // About 80 MB written; the WAL started over again and again.
      expect(most * 16384).toBeLessThan(40 << 20);
      expect(e.readFile('/d').length).toBe(600 << 10);
    } finally {
      e.close();
    }
  });

  it('a burst of writes streamed in is copied once it pauses', async () => {
    const file = path.join(tmpDir(), 's.mikofs');
    const e = await openStore(file);
    try {
      await sleep(1500);
      const fh = e.create('/stream', 0o644);
      let peak = 0;
      for (let i = 0; i < 12; i++) {
        e.write(fh, bytes(8 << 20, i + 1), i * (8 << 20));
        e.flush(); // each step reaches the WAL, as group commits do
        peak = Math.max(peak, waiting(file));
        await sleep(10);
      }
      // (Whether copying waited while it streamed depends on the pace this
      // machine gave the writer; the rule itself is checked below.)
      expect(peak).toBeGreaterThan(0);
      e.release(fh);
      e.flush();
      let left = waiting(file);
      for (let i = 0; i < 40 && left > 0; i++) { await sleep(100); left = waiting(file); }
      expect(left).toBe(0);
    } finally {
      e.close();
    }
  });

  it('the rule: copy once 32 MiB wait or a trickle waited a second, but not within 300 ms of a tick where the WAL grew by 4 MiB', () => {
    const p = { thresholdBytes: 32 << 20, maxWaitMs: 1000, burstBytes: 4 << 20, burstQuietMs: 300 };
    const MiB = 1 << 20;
    const long = Date.now(); // no burst was ever seen: burstAt is 0
    expect(checkpointDue(0, long, 5000, p)).toBe(false); // nothing waits
    expect(checkpointDue(16 * MiB, long, 10, p)).toBe(false); // below the threshold, fresh
    expect(checkpointDue(40 * MiB, long, 10, p)).toBe(true); // bulk data, the writer paused
    expect(checkpointDue(64 * 1024, long, 1200, p)).toBe(true); // a trickle, a second old
    expect(checkpointDue(96 * MiB, 0, 10, p)).toBe(false); // a burst streams in
    expect(checkpointDue(512 * MiB, 120, 5000, p)).toBe(false); // a gap of two ticks is not a pause
    expect(checkpointDue(512 * MiB, 299, 5000, p)).toBe(false); // however much waits
    expect(checkpointDue(512 * MiB, 300, 5000, p)).toBe(true); // it paused: copy
  });
});
