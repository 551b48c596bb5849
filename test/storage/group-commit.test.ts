// Group commit: changes are grouped into one SQLite transaction for a short
// window. An isolated change commits within groupCommitMs; a change that
// follows a commit at once (a stream: tar, git, a build) is held for the
// longer groupCommitStreamMs, so the B-tree pages a stream keeps dirtying
// are written to the WAL fewer times. The windows here are long (40 and
// 400 ms) so that a loaded machine can only make timers late, and every
// check below holds whatever the lateness.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { openStore } from '../../src/index.js';
import { tmpDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the open group transaction has committed; its age then. */
async function committed(inTx: () => boolean, since: number): Promise<number> {
  while (inTx()) await sleep(2);
  return performance.now() - since;
}

describe('group commit', () => {
  it('an isolated change commits within the short window; one right after a commit waits for the stream window', async () => {
    const e = await openStore(path.join(tmpDir(), 'g.mikofs'), { groupCommitMs: 40, groupCommitStreamMs: 400 });
    const inTx = () => e.store.db.inTransaction;
    try {
      await sleep(100); // whatever opening the store wrote has committed
      expect(inTx()).toBe(false);

      // Isolated: nothing committed in the last 40 ms.
      let t = performance.now();
      e.mkdir('/a');
      expect(inTx()).toBe(true);
      expect(await committed(inTx, t)).toBeLessThan(400);

      // A stream: the next change begins right after a commit.
      e.mkdir('/x');
      e.flush();
      t = performance.now();
      e.mkdir('/b');
      expect(inTx()).toBe(true);
      await sleep(150); // past the short window, well inside the stream one
      expect(inTx()).toBe(true);
      expect(await committed(inTx, t)).toBeGreaterThanOrEqual(300);

      // After a pause the short window applies again.
      await sleep(100);
      t = performance.now();
      e.mkdir('/c');
      expect(await committed(inTx, t)).toBeLessThan(400);

      // fsync (flush) commits at once whatever the window.
      e.mkdir('/d');
      expect(inTx()).toBe(true);
      e.flush();
      expect(inTx()).toBe(false);
      expect(e.readdir('/').map((d) => d.name).sort()).toEqual(['a', 'b', 'c', 'd', 'x']);
    } finally {
      e.close();
    }
  });
});
