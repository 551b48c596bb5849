// Attribute changes made right after a version (same group transaction)
// amend it instead of making versions of their own, unless something refers
// to that version's state.
import { describe, it, expect } from 'vitest';
import { memStore } from '../helpers.js';

const commits = (e: Awaited<ReturnType<typeof memStore>>) =>
  e.store.db.prepare('SELECT count(*) FROM commits').pluck().get() as number;

describe('amending the version just made', () => {
  it('owner, mode and times set after writing land in the written version', async () => {
    const e = await memStore();
    const before = commits(e);
    const fh = e.create('/f', 0o600);
    e.write(fh, Buffer.from('hello'), 0);
    e.release(fh);
    e.chown('/f', 1000, 1000);
    e.chmod('/f', 0o640);
    e.utimens('/f', 1_000_000_000n, 2_000_000_000n);
    expect(commits(e) - before).toBe(1);
    const versions = e.history.fileVersions('/f');
    expect(versions).toHaveLength(1);
    const st = e.stat('/f');
    expect([st.uid, st.gid, st.mode & 0o777, st.mtime, st.size]).toEqual([1000, 1000, 0o640, 2_000_000_000n, 5]);
    // What reached the store is the final state (not a cached one).
    e.flush();
    const row = e.store.db.prepare('SELECT mode, uid, mtime FROM inodes WHERE ino = ? AND until > since').get(st.ino) as { mode: number; uid: number; mtime: bigint };
    expect([row.mode & 0o777, row.uid, Number(row.mtime)]).toEqual([0o640, 1000, 2_000_000_000]);
  });

  it('a version someone refers to is never amended', async () => {
    const e = await memStore();
    e.writeFile('/f', 'x');
    const c = e.headCommit; // asked for: final from now on
    e.chmod('/f', 0o600);
    expect(e.at(c).stat('/f').mode & 0o777).toBe(0o644);

    e.writeFile('/g', 'y');
    e.label('here');
    e.chmod('/g', 0o600);
    expect(e.at({ label: 'here' }).stat('/g').mode & 0o777).toBe(0o644);

    e.writeFile('/h', 'z');
    const opened = e.headCommit;
    const r = e.open('/h', 'r'); // a reader has read the current commit's state
    e.chmod('/h', 0o600);
    expect(e.at(opened).stat('/h').mode & 0o777).toBe(0o644);
    expect(e.fstat(r).mode & 0o777).toBe(0o600); // (readers follow commits)
    e.release(r);
    expect(e.stat('/h').mode & 0o777).toBe(0o600);
  });

  it('a new file written on after another commit (its directory renamed) has that content only from a later commit (found 2026-12-05)', async () => {
    // Its content went into the commit that created it, so the states
    // before the rename showed /d/f with bytes written after it.
    const e = await memStore();
    e.mkdir('/d');
    const fh = e.create('/d/f');
    e.write(fh, Buffer.from('aaa'), 0);
    e.rename('/d', '/e');
    const renamed = e.store.headCommit; // (not e.headCommit: asking seals, and nothing would be amended)
    e.write(fh, Buffer.from('bbb'), 3);
    e.release(fh);
    expect(e.readFile('/e/f').toString()).toBe('aaabbb');
    const ids = e.store.db.prepare('SELECT id FROM commits ORDER BY id').pluck().all() as number[];
    for (const c of ids.filter((id) => id < renamed)) {
      const v = e.at(c);
      if (v.exists('/d/f')) expect(v.readFile('/d/f').toString(), `commit ${c}`).toBe('');
    }
    expect(e.at(renamed).readFile('/e/f').toString()).toBe('');
    expect(e.history.fileVersions('/e/f').length).toBeGreaterThan(0);
    // Written before any other commit, the content still lands in the creating one.
    const before = commits(e);
    const g = e.create('/g');
    e.write(g, Buffer.from('one go'), 0);
    e.release(g);
    expect(commits(e) - before).toBe(1);
  });

  it("git's link-then-unlink of a new object amends the link count; the names stay history", async () => {
    const e = await memStore();
    const inodeRows = (ino: number) => e.store.db.prepare('SELECT count(*) FROM inodes WHERE ino = ?').pluck().get(ino) as number;
    e.mkdir('/o');
    e.writeFile('/o/tmp_1', 'blob');
    const ino = e.stat('/o/tmp_1').ino;
    const c0 = e.headCommit; // the state with only the temporary name, asked for: sealed
    e.writeFile('/o/tmp_2', 'blob2');
    const ino2 = e.stat('/o/tmp_2').ino;
    e.link('/o/tmp_2', '/o/ab12');
    e.unlink('/o/tmp_2');
    expect(inodeRows(ino2)).toBe(1); // one version, amended twice
    expect(e.stat('/o/ab12').nlink).toBe(1);
    expect(e.readFile('/o/ab12').toString()).toBe('blob2');
    // The names are versioned as before: each state is in history.
    expect(e.exists('/o/tmp_2')).toBe(false);
    // A sealed version is not amended: linking /o/tmp_1 makes a version.
    e.link('/o/tmp_1', '/o/cd34');
    expect(inodeRows(ino)).toBe(2);
    expect(e.at(c0).stat('/o/tmp_1').nlink).toBe(1);
    expect(e.stat('/o/cd34').nlink).toBe(2);
    // The last name going always makes a version (nlink 0 is never amended in).
    const before = inodeRows(ino);
    e.unlink('/o/tmp_1');
    e.unlink('/o/cd34');
    expect(inodeRows(ino)).toBe(before + 1);
    expect(e.at(c0).readFile('/o/tmp_1').toString()).toBe('blob');
  });

  it('every state in history has names and link counts that agree, whatever links and unlinks amend', async () => {
    // Found by the history checker (2026-12-05): a link or unlink right
    // after a chmod (tar does one per file) rewrote the count of the
    // version made before it, so states in between had two names and
    // nlink 1 (or one name and 2), and a rollback to one lost the file
    // when the other name went.
    const e = await memStore();
    e.mkdir('/d');
    let x = 99;
    const r = (n: number) => { x = (x * 1103515245 + 12345) % 2147483648; return (x >>> 12) % n; };
    const names = ['f', 'g', 'h', 'k'];
    for (let i = 0; i < 600; i++) {
      const a = `/d/${names[r(4)]}`, b = `/d/${names[r(4)]}`;
      const has = (p: string) => e.exists(p);
      switch (r(7)) {
        case 0: e.writeFile(a, `v${i}`); break;
        case 1: if (has(a)) e.chmod(a, 0o600 + r(64)); break;
        case 2: if (has(a) && !has(b)) e.link(a, b); break;
        case 3: if (has(a)) e.unlink(a); break;
        case 4: e.writeFile(`/d/other${r(3)}`, 'o'); break;
        case 5: if (has(a)) e.utimens(a, BigInt(i) * 1000000000n, 'now'); break;
        case 6: if (r(3) === 0) void e.headCommit; break; // someone looks: sealed
      }
    }
    const head = e.headCommit;
    for (let c = 1; c <= head; c++) {
      if (!e.store.meta.getCommit(c)) continue;
      const v = e.at(c);
      if (!v.exists('/d')) continue;
      const count = new Map<number, number>();
      for (const en of v.readdir('/d')) count.set(en.ino, (count.get(en.ino) ?? 0) + 1);
      for (const en of v.readdir('/d')) expect(v.stat(`/d/${en.name}`).nlink, `c${c} /d/${en.name}`).toBe(count.get(en.ino));
    }
    e.close();
  });

  it('a change after the group transaction reached the file is a version of its own', async () => {
    const e = await memStore();
    e.writeFile('/f', 'x');
    e.flush();
    const before = commits(e);
    e.chmod('/f', 0o600);
    expect(commits(e) - before).toBe(1);
  });
});
