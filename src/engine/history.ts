// History questions and history-changing operations on one branch:
// log, per-file versions, diff, restore and rollback. Each works from the
// versioned rows directly, so its cost follows what changed, not what exists.
import { posix } from 'node:path';
import { LIVE, type CommitRow, type InodeRow } from '../store/meta-store.js';
import type { Engine } from './engine.js';
import { fail } from './errors.js';
import { Tree, ROOT_INO, splitPath, statOf } from './tree.js';
import { isDir, isReg, type Stat } from './types.js';

/** Inodes a directory's subtree may have had for its log to look at only
 * the commits that touched them (see subtreeLog). */
const SUBTREE_INODES = 20000;

/** An empty version replaced within this long is transient (see fileVersions). */
const TRANSIENT_NS = 2000000000n;

export interface LogEntry {
  commit: number;
  timeNs: bigint;
  kind: string;
  message: string | null;
  /** Paths whose entry or content changed, with the size change of files. */
  changes: { path: string; change: 'added' | 'removed' | 'changed'; sizeDelta: number }[];
}

export interface FileVersion {
  commit: number;   // the commit that made this version
  timeNs: bigint;   // that commit's time
  until: number;    // the commit that replaced it (LIVE when current)
  /** It is the file's content now (its attributes may still change). */
  current: boolean;
  ino: number;
  /** Its attributes as they last were while it was current (a chmod,
   * touch or setxattr after the write is not a version of its own, but is
   * what the file had). Its st_blocks is by size: a view at shownAt counts
   * its chunks (a listing counted them for every version, at every request). */
  stat: Stat;
  /** The commit whose state it shows (its attributes, its xattrs): the
   * last one while it was current (the head for the current version). */
  shownAt: number;
}

export interface DiffEntry {
  path: string;
  change: 'added' | 'removed' | 'changed';
  kind: 'file' | 'dir' | 'other';
  /** A change of attributes only (the content, or a directory's entries,
   * the same): which. */
  attributes?: ('mode' | 'xattrs')[];
}

/** What a rollback to t changes (History.rollbackPlan), as of commit head.
 * Plain data: it crosses a worker boundary (Buffers arrive as Uint8Arrays). */
export interface RollbackPlan {
  t: number;
  head: number;
  dentries: { parent: number; name: string; ino: number | null }[];
  inodes: InodeRow[];
  extents: { ino: number; idx: number; hash: Uint8Array | null }[];
  xattrs: { ino: number; name: string; value: Uint8Array | null }[];
}

const emptyPlan = (t: number): RollbackPlan => ({ t, head: t, dentries: [], inodes: [], extents: [], xattrs: [] });

/** An inode row as the store takes it (Buffers, not the Uint8Arrays a
 * worker's message carries). */
function inodeRow(n: InodeRow): InodeRow {
  const buf = (v: Uint8Array | null) => (v === null || Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  return { ...n, target: buf(n.target), inline: buf(n.inline) };
}

function sameInode(a: InodeRow, b: InodeRow): boolean {
  for (const k of Object.keys(a) as (keyof InodeRow)[]) {
    if (k === 'since' || k === 'until') continue;
    const x = a[k], y = b[k];
    if (x instanceof Uint8Array || y instanceof Uint8Array) {
      if (!(x instanceof Uint8Array && y instanceof Uint8Array && Buffer.compare(x, y) === 0)) return false;
    } else if (x !== y) return false;
  }
  return true;
}

export class History {
  constructor(private readonly e: Engine) {}

  private get meta() { return this.e.store.meta; }
  private get branch() { return this.e.branchId; }

  tree(at: number): Tree {
    return new Tree(this.meta, this.e.store.chunks, this.e.chainAt(at), this.e.chunkSize);
  }

  /** One path of ino as of commit `at` (undefined when it has no name then). */
  pathOf(ino: number, at: number): string | undefined {
    const parts: string[] = [];
    let cur = ino;
    for (let depth = 0; cur !== ROOT_INO; depth++) {
      if (depth > 4096) return undefined;
      const names = this.meta.namesOfIno(this.branch, cur, at);
      if (!names.length) return undefined;
      parts.unshift(names[0].name);
      cur = names[0].parent;
    }
    return '/' + parts.join('/');
  }

  /** Every path of ino as of commit `at` (each name of a hard link). */
  pathsOf(ino: number, at: number): string[] {
    const out: string[] = [];
    for (const { parent, name } of this.meta.namesOfIno(this.branch, ino, at)) {
      const dir = parent === ROOT_INO ? '' : this.pathOf(parent, at);
      if (dir !== undefined) out.push(`${dir}/${name}`);
    }
    return out;
  }

  /** Commits newest first, with what each changed. With a file's path,
   * the commits that made a new version of the file under that name, and
   * those that took it away (removed, or renamed to another name); with a
   * directory's, or a path that was one and is gone, the commits that
   * changed something at or below it, each listing just those changes (as
   * `git log -- dir` does). */
  log(opts: { path?: string; sinceNs?: bigint; untilNs?: bigint; limit?: number } = {}): LogEntry[] {
    const limit = opts.limit ?? 100;
    const fromNs = opts.sinceNs ?? -(1n << 62n);
    const toNs = opts.untilNs ?? (1n << 62n);
    const parts = splitPath(opts.path ?? '/');
    if (!parts.length) return this.entriesOf(this.meta.commitsDesc(this.branch, fromNs, toNs, limit));
    const dir = '/' + parts.join('/');
    const head = this.e.head;
    let live: number | undefined;
    try { live = head.resolve(opts.path!, true); } catch { /* not there now */ }
    if (live !== undefined && isDir(head.mustInode(live).mode)) {
      return this.subtreeLog(dir, [live], this.inodesEverAt(dir), fromNs, toNs, limit);
    }
    if (live === undefined) {
      // Gone: a directory that was here is logged as one that is (found by
      // a test round, 2026-12-06: `log DIR` of a removed directory was
      // ENOENT); so is a file whose directory is gone (no name to follow).
      const was = this.inodesEverAt(dir);
      const wasDir = was.some((w) => { const n = this.meta.getInode(this.branch, w.ino, w.since); return !!n && isDir(n.mode); });
      if (wasDir) return this.subtreeLog(dir, [], was, fromNs, toNs, limit);
      try { return this.fileLog(opts.path!, opts.sinceNs, opts.untilNs, limit); } catch (e) {
        const code = (e as { code?: string }).code;
        if (was.length && (code === 'ENOENT' || code === 'ENOTDIR')) return this.subtreeLog(dir, [], was, fromNs, toNs, limit);
        throw e;
      }
    }
    return this.fileLog(opts.path!, opts.sinceNs, opts.untilNs, limit);
  }

  /** A file's log: its versions (fileVersions), and each commit that took
   * the file from its name (an unlink, a rename to another name, its
   * directory removed) as its path "removed"; a file that takes the name
   * later is "added" again (found by a test round, 2026-12-06: the log of
   * a removed file ended at its last version, as if it were still there). */
  private fileLog(path: string, sinceNs: bigint | undefined, untilNs: bigint | undefined, limit: number): LogEntry[] {
    const { versions, removed } = this.nameVersions(path, true);
    type Ev = { commit: number; timeNs: bigint; size: number; gone: boolean };
    const evs: Ev[] = versions.map((v) => ({ commit: v.commit, timeNs: v.timeNs, size: v.stat.size, gone: false }));
    for (const r of removed) {
      const c = this.meta.getCommit(r);
      if (c) evs.push({ commit: r, timeNs: c.time_ns, size: 0, gone: true });
    }
    // (A removal comes before any version of a file that took the name later.)
    evs.sort((a, b) => a.commit - b.commit || (a.gone === b.gone ? 0 : a.gone ? -1 : 1));
    const entries: { ev: Ev; change: 'added' | 'removed' | 'changed'; sizeDelta: number }[] = [];
    let prev: Ev | undefined;
    for (const ev of evs) {
      const before = prev && !prev.gone ? prev.size : 0;
      if (ev.gone) entries.push({ ev, change: 'removed', sizeDelta: -before });
      else entries.push({ ev, change: prev && !prev.gone ? 'changed' : 'added', sizeDelta: ev.size - before });
      prev = ev;
    }
    const out: LogEntry[] = [];
    for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) {
      const { ev, change, sizeDelta } = entries[i];
      if (sinceNs !== undefined && ev.timeNs < sinceNs) continue;
      if (untilNs !== undefined && ev.timeNs > untilNs) continue;
      const c = this.meta.getCommit(ev.commit)!;
      out.push({ commit: ev.commit, timeNs: ev.timeNs, kind: c.kind, message: c.message, changes: [{ path, change, sizeDelta }] });
    }
    return out;
  }

  /** Every inode that was at `path` at some time, with the commits it was
   * there [since, until): one lookup per name of the path for each
   * directory that was ever at its parent's path. */
  private inodesEverAt(path: string): { ino: number; since: number; until: number }[] {
    let cur = [{ ino: ROOT_INO, since: 0, until: LIVE }];
    for (const name of splitPath(path)) {
      const next: typeof cur = [];
      for (const p of cur) {
        for (const d of this.meta.dentryHistory(this.branch, p.ino, name)) {
          if (d.ino === null) continue;
          const since = Math.max(d.since, p.since), until = Math.min(d.until, p.until);
          if (since < until) next.push({ ino: d.ino, since, until });
        }
      }
      cur = next;
      if (!cur.length) break;
    }
    return cur;
  }

  /** Commits that changed `dir` or anything below it, newest first: those
   * of `live` (the directory there now, if any) and of every inode that was
   * ever at that path (`was`: a directory removed, or removed and made
   * again, is still in `git log -- dir`). */
  private subtreeLog(dir: string, live: number[], was: { ino: number; since: number; until: number }[],
    fromNs: bigint, toNs: bigint, limit: number): LogEntry[] {
    const under = (p: string) => p === dir || p.startsWith(dir + '/');
    const out: LogEntry[] = [];
    // A directory whose subtree was small over its whole life: only the
    // commits that touched it are looked at (a log of a quiet directory in a
    // busy store read every commit: 15-19 s on 80,000; found by the
    // exploratory hunt, 2026-12-05). A large one changes often enough that
    // reading commits newest first finds its entries soon.
    const bounds: number[] = [];
    for (const w of was) { bounds.push(w.since); if (w.until !== LIVE) bounds.push(w.until); }
    const touched = this.subtreeCommits([...live, ...was.map((w) => w.ino)], bounds, SUBTREE_INODES);
    if (touched) {
      for (const id of touched) {
        if (out.length >= limit) break;
        const c = this.meta.getCommit(id);
        if (!c || c.branch_id !== this.branch || c.time_ns < fromNs || c.time_ns > toNs) continue;
        const [e] = this.entriesOf([c]);
        const changes = e.changes.filter((ch) => under(ch.path));
        if (changes.length) out.push({ ...e, changes });
      }
      return out;
    }
    const PAGE = 256;
    let before = Number.MAX_SAFE_INTEGER;
    while (out.length < limit) {
      const page = this.meta.commitsDesc(this.branch, fromNs, toNs, PAGE, before);
      for (const e of this.entriesOf(page)) {
        const changes = e.changes.filter((ch) => under(ch.path));
        if (changes.length) out.push({ ...e, changes });
        if (out.length >= limit) break;
      }
      if (page.length < PAGE) break;
      before = page[page.length - 1].id;
    }
    return out;
  }

  /** The commits, newest first, that made a name or an inode version
   * anywhere in the subtrees of `roots` as they were at any time (every
   * inode ever under them, at any depth), with `bounds`; null when more
   * than `max` inodes were ever there. A superset: each commit is still
   * checked by path. */
  private subtreeCommits(roots: number[], bounds: number[], max: number): number[] | null {
    const commits = new Set<number>(bounds);
    const seen = new Set<number>(roots);
    if (seen.size > max) return null;
    const queue = [...seen];
    while (queue.length) {
      const d = queue.pop()!;
      for (const c of this.meta.inodeVersionCommits(this.branch, d)) commits.add(c);
      for (const r of this.meta.namesEverIn(this.branch, d)) {
        commits.add(r.since);
        if (r.until !== LIVE) commits.add(r.until);
        if (r.ino === null || seen.has(r.ino)) continue;
        seen.add(r.ino);
        if (seen.size > max) return null;
        queue.push(r.ino);
      }
    }
    return [...commits].sort((a, b) => b - a);
  }

  /** Log entries of a page of commits (newest first). Names made or
   * removed in each are found for the whole page at once: a link or unlink
   * right after a file's write (git's temporary object, linked to its name
   * and unlinked) amends the version the write made instead of making one,
   * so the commit that changed the names has no inode version to find them
   * by. */
  private entriesOf(page: CommitRow[]): LogEntry[] {
    if (!page.length) return [];
    const ids = new Set(page.map((c) => c.id));
    const lo = Math.min(...ids) - 1, hi = Math.max(...ids);
    const named = new Map<number, Set<number>>();
    const add = (c: number, ino: number) => {
      if (!ids.has(c)) return;
      const s = named.get(c);
      if (s) s.add(ino); else named.set(c, new Set([ino]));
    };
    for (const r of this.meta.dentryInosBetween(this.branch, lo, hi)) {
      if (r.since > lo && r.since <= hi) add(r.since, r.ino);
      if (r.until > lo && r.until <= hi) add(r.until, r.ino);
    }
    return page.map((c) => this.entryOf(c, named.get(c.id)));
  }

  /** One commit with the paths it changed, told by path as `git log
   * --name-status` would: a file replaced by another inode under its name
   * (an editor's save by rename, a restore) is one "changed", and the name
   * the other came from, if it had one, is "removed". */
  private entryOf(c: { id: number; time_ns: bigint; kind: string; message: string | null }, renamed?: Set<number>): LogEntry {
    type Event = { change: 'added' | 'removed' | 'changed'; sizeDelta: number; before: number; after: number };
    const byPath = new Map<string, Event[]>();
    const note = (path: string, e: Event) => { const l = byPath.get(path); if (l) l.push(e); else byPath.set(path, [e]); };
    const inos = new Set(this.meta.inodesCreatedAt(this.branch, c.id).map((r) => r.ino));
    for (const ino of renamed ?? []) inos.add(ino);
    for (const ino of inos) {
      const before = this.meta.getInode(this.branch, ino, c.id - 1);
      const n = this.meta.getInode(this.branch, ino, c.id);
      if (!n) continue;
      // Every name, not one: a hard link made or removed changes the names
      // of an inode that keeps others (one name per inode listed `ln f g`
      // as a change of f, and a later `rm f` as g added).
      const was = before && before.nlink > 0 ? this.pathsOf(ino, c.id - 1) : [];
      const now = n.nlink > 0 ? this.pathsOf(ino, c.id) : [];
      const dir = isDir(n.mode);
      const sizeBefore = dir || !was.length ? 0 : before!.size;
      const sizeNow = dir || !now.length ? 0 : n.size;
      // A directory's version moves with every entry change inside it, and
      // a file's with a link made or removed (its nlink and ctime): a name
      // it keeps is listed only when the inode's own content or attributes
      // changed (a version that kept the link count changed something else:
      // an xattr, a time).
      const own = !before || before.mode !== n.mode || before.uid !== n.uid || before.gid !== n.gid ||
        (!dir && ((n.since === c.id && before.nlink === n.nlink) || before.size !== n.size || before.mtime !== n.mtime ||
          !sameBytes(before.target, n.target) || !sameBytes(before.inline, n.inline) || this.meta.extentChangedAt(this.branch, ino, c.id)));
      for (const p of was) {
        if (!now.includes(p)) note(p, { change: 'removed', sizeDelta: sizeBefore ? -sizeBefore : 0, before: sizeBefore, after: 0 });
        else if (own) note(p, { change: 'changed', sizeDelta: sizeNow - sizeBefore, before: sizeBefore, after: sizeNow });
      }
      for (const p of now) if (!was.includes(p)) note(p, { change: 'added', sizeDelta: sizeNow, before: 0, after: sizeNow });
    }
    const changes: LogEntry['changes'] = [];
    for (const [path, events] of byPath) {
      if (events.length === 1) { const e = events[0]; changes.push({ path, change: e.change, sizeDelta: e.sizeDelta }); continue; }
      // One name, two inodes: what left it and what came in is a change of it.
      const before = events.reduce((t, e) => t + e.before, 0), after = events.reduce((t, e) => t + e.after, 0);
      changes.push({ path, change: 'changed', sizeDelta: after - before });
    }
    changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { commit: c.id, timeNs: c.time_ns, kind: c.kind, message: c.message, changes };
  }

  /** Every distinct version of the file at `path` (following the name, so an
   * editor's save-by-rename keeps one history), oldest first; consecutive
   * versions with identical content collapse into the first of them. */
  fileVersions(path: string): FileVersion[] {
    return this.nameVersions(path, false).versions;
  }

  /** fileVersions; with `apart`, a time the name had no file (removed,
   * renamed away, or some other kind of entry there) ends its versions:
   * the commit that took it is in `removed`, and a file named so later
   * starts again (its first version is not folded into the last one's
   * content, nor its create()'s empty file counted). */
  private nameVersions(path: string, apart: boolean): { versions: FileVersion[]; removed: number[] } {
    const parts = splitPath(path);
    if (!parts.length) fail('EISDIR');
    const head = this.e.head;
    const parent = head.resolve('/' + parts.slice(0, -1).join('/'), true);
    const name = parts[parts.length - 1];
    const out: FileVersion[] = [];
    const removed: number[] = [];
    let last: { ino: number; row: InodeRow; at: number } | undefined;
    // With `apart`: where the current stretch of the name's versions began
    // in `out`, and the commit its file left the name.
    let from = 0, end: number | undefined;
    for (const d of this.meta.dentryHistory(this.branch, parent, name)) {
      if (d.ino === null || d.until === d.since) continue;
      const rows = this.meta.inodeHistory(this.branch, d.ino, d.since, d.until);
      if (apart) {
        if (!rows.some((r) => isReg(r.mode))) continue;
        if (end !== undefined && d.since !== end) {
          if (out.length > from) removed.push(end);
          last = undefined;
          from = out.length;
        }
        end = d.until;
      }
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        if (!isReg(row.mode)) continue;
        // The empty file that create() makes before its first write is not a
        // version anyone saved.
        if (i === 0 && !last && row.size === 0 && rows.length > 1 && row.btime === row.ctime) continue;
        const since = Math.max(row.since, d.since);
        const until = Math.min(row.until, d.until);
        if (last && this.sameContent(last.ino, last.row, last.at, d.ino, row, since, last.ino === d.ino && last.row.until === row.since)) {
          // The same bytes with other attributes: the version they extend.
          const v = out[out.length - 1];
          if (v) Object.assign(v, { until, current: until >= LIVE, ino: d.ino, stat: statOf(row, this.e.chunkSize), shownAt: this.shownAt(until) });
          last = { ino: d.ino, row, at: since };
          continue;
        }
        // A file emptied and refilled within moments (a shell's `>` commits
        // the truncation when it closes its first descriptor) was never a
        // state anyone saved: the empty version is left out.
        const prev = out[out.length - 1];
        if (prev && prev.stat.size === 0 && out.length > from && this.meta.getCommit(since)!.time_ns - prev.timeNs < TRANSIENT_NS) out.pop();
        last = { ino: d.ino, row, at: since };
        const c = this.meta.getCommit(since)!;
        out.push({ commit: since, timeNs: c.time_ns, until, current: until >= LIVE, ino: d.ino, stat: statOf(row, this.e.chunkSize), shownAt: this.shownAt(until) });
      }
    }
    if (apart && end !== undefined && end < LIVE && out.length > from) removed.push(end);
    // No file has ever had this name; or a directory or symlink has it now
    // (their pasts are in /.versions/<time>/, not a list of contents).
    if (!out.length && (!head.exists(path) || !isReg(head.stat(path).mode))) fail('ENOENT');
    return { versions: out, removed };
  }

  /** The last commit (that still exists) of a state that lasted until `until`. */
  private shownAt(until: number): number {
    if (until >= LIVE) return this.e.store.headCommit;
    // (until - 1 may be a commit thinning deleted: the view would be ENOENT.)
    return this.meta.commitBefore(until) ?? until - 1;
  }

  /** Whether file version a (ino ia, as of commit ca) and b (ib, cb) hold
   * the same bytes. For consecutive versions of one inode, whether any
   * extent changed at cb says it; otherwise the chunk maps are compared. */
  private sameContent(ia: number, a: InodeRow, ca: number, ib: number, b: InodeRow, cb: number, consecutive: boolean): boolean {
    if (a.size !== b.size) return false;
    if (a.inline || b.inline) {
      if (a.inline && b.inline) return a.inline.equals(b.inline);
      // Maintenance moved one (older) small version's bytes into a chunk.
      const bytesOf = (r: InodeRow, c: number) => r.inline ?? this.tree(c).readContent(r, 0, r.size);
      return bytesOf(a, ca).equals(bytesOf(b, cb));
    }
    if (ia === ib && consecutive) return !this.meta.extentChangedAt(this.branch, ia, cb);
    const ea = this.meta.extentsAt(this.branch, ia, ca).sort((x, y) => x.idx - y.idx);
    const eb = this.meta.extentsAt(this.branch, ib, cb).sort((x, y) => x.idx - y.idx);
    return ea.length === eb.length && ea.every((x, i) => x.idx === eb[i].idx && !!x.hash === !!eb[i].hash && (!x.hash || x.hash.equals(eb[i].hash!)));
  }


  /** Paths added, removed or changed from commit `from` to commit `to`
   * (under `under`). Every change of content or attributes makes a new
   * inode version, and every change of an entry a new dentry row, so the
   * inodes and the directories with rows begun or ended between the two
   * commits are the complete list of places to compare: the cost follows
   * what changed. */
  diff(from: number, to: number, under = '/'): DiffEntry[] {
    const a = this.tree(from), b = this.tree(to);
    const lo = Math.min(from, to), hi = Math.max(from, to);
    const out = new Map<string, DiffEntry>();
    const kindOf = (n: InodeRow) => (isDir(n.mode) ? 'dir' : isReg(n.mode) ? 'file' : 'other') as DiffEntry['kind'];
    const add = (path: string, change: DiffEntry['change'], kind: DiffEntry['kind'], attributes?: DiffEntry['attributes']) => {
      const prev = out.get(path);
      out.set(path, prev && prev.change !== change ? { path, change: 'changed', kind }
        : attributes ? { path, change, kind, attributes } : { path, change, kind });
    };
    const subtree = (t: Tree, ino: number, path: string, change: 'added' | 'removed') => {
      const n = t.inode(ino);
      if (!n) return;
      add(path, change, kindOf(n));
      if (isDir(n.mode)) for (const e of t.entries(ino)) subtree(t, e.ino, join(path, e.name), change);
    };
    // Extended attributes are part of a file's state (a view shows them,
    // rollback brings them back): a change of them alone is a change.
    // (Until 2026-12-05 diff said nothing of one.)
    const sameXattrs = (ia: number, ib: number) => {
      const xa = a.listxattrIno(ia), xb = b.listxattrIno(ib);
      if (xa.length !== xb.length) return false;
      const then = new Map(xa.map((x) => [x.name, x.value]));
      return xb.every((x) => then.get(x.name)?.equals(x.value) === true);
    };
    /** How two nodes of one name differ: 'content' (the kind, bytes,
     * target or device), 'mode', 'xattrs'; none when they do not. A
     * directory's entries are compared by the caller. */
    const differences = (ia: number, na: InodeRow, ib: number, nb: InodeRow): ('content' | 'mode' | 'xattrs')[] => {
      if (kindOf(na) !== kindOf(nb)) return ['content'];
      const out: ('content' | 'mode' | 'xattrs')[] = [];
      const same = isReg(na.mode) ? this.sameContent(ia, na, from, ib, nb, to, false)
        : isDir(na.mode) || (na.rdev === nb.rdev && !!na.target === !!nb.target && (!na.target || na.target.equals(nb.target!)));
      if (!same) out.push('content');
      if ((na.mode & 0o7777) !== (nb.mode & 0o7777)) out.push('mode');
      if (!sameXattrs(ia, ib)) out.push('xattrs');
      return out;
    };
    /** DiffEntry.attributes of a change: set when only attributes differ. */
    const attributesOnly = (d: ('content' | 'mode' | 'xattrs')[]) => (d.includes('content') ? undefined : d as ('mode' | 'xattrs')[]);
    /** Records a change of the node at `path` if it differs. */
    const compare = (path: string, ia: number, na: InodeRow, ib: number, nb: InodeRow) => {
      const d = differences(ia, na, ib, nb);
      if (d.length) add(path, 'changed', kindOf(nb), attributesOnly(d));
    };
    /** What differs between inode x at `from` and y at `to` under one name
     * (x may be y: a directory that stayed), by name, as git compares trees
     * (a directory removed and made again with the same files shows nothing
     * but what changed in it). A child under a name at both points is left
     * to the loop below. */
    const pair = (x: number, nx: InodeRow, y: number, ny: InodeRow, path: string): void => {
      if (isDir(nx.mode) && isDir(ny.mode)) {
        if (path !== '/') compare(path, x, nx, y, ny);
        const ea = new Map(a.entries(x).map((e) => [e.name, e.ino]));
        const eb = new Map(b.entries(y).map((e) => [e.name, e.ino]));
        for (const [name, cx] of ea) {
          const cy = eb.get(name);
          if (cy === undefined) subtree(a, cx, join(path, name), 'removed');
          else if (cy !== cx) pair(cx, a.inode(cx)!, cy, b.inode(cy)!, join(path, name));
        }
        for (const [name, cy] of eb) if (!ea.has(name)) subtree(b, cy, join(path, name), 'added');
      } else if (!isDir(nx.mode) && !isDir(ny.mode) && kindOf(nx) === kindOf(ny)) {
        compare(path, x, nx, y, ny);
      } else {
        subtree(a, x, path, 'removed');
        subtree(b, y, path, 'added');
      }
    };
    const changed = new Set([
      ...this.meta.inodesChangedBetween(this.branch, lo, hi),
      ...this.meta.dentryParentsBetween(this.branch, lo, hi),
    ]);
    for (const ino of changed) {
      const na = a.inode(ino), nb = b.inode(ino);
      if (na && nb && isDir(na.mode) && isDir(nb.mode)) {
        // A directory that moved between the two points is told by its old
        // and new parents' entries (its whole subtree removed there, added
        // here); its own entries compare only where it stayed.
        const path = this.pathOf(ino, to);
        if (path === undefined || path !== this.pathOf(ino, from)) continue;
        pair(ino, na, ino, nb, path);
      } else if (na && nb) {
        // Every name it has at both points (a hard link's other names too).
        const d = differences(ino, na, ino, nb);
        if (!d.length) continue;
        const before = new Set(this.pathsOf(ino, from));
        for (const path of this.pathsOf(ino, to)) if (before.has(path)) add(path, 'changed', kindOf(nb), attributesOnly(d));
      }
    }
    const root = under === '/' ? '/' : '/' + splitPath(under).join('/');
    return [...out.values()]
      .filter((d) => root === '/' || d.path === root || d.path.startsWith(root + '/'))
      .sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  }

  /** The whole branch back to its state at commit t, as one new commit.
   * Costs the number of rows that differ: no content is copied. */
  /** Returns the whole tree to commit t as one new commit. Finding what
   * changed since t reads every row version made since (seconds on a store
   * with a hundred thousand commits after t): `plan` (rollbackPlan, made by
   * a read-only engine elsewhere, e.g. a worker thread) has done that up to
   * its own head commit, and only what changed after that is looked at here. */
  rollback(t: number, message: string | null = null, plan?: RollbackPlan): number {
    const meta = this.meta, b = this.branch;
    if (this.e.chain.length > 1) fail('ENOTSUP', 'rollback of a forked branch');
    const head = this.e.headCommit;
    if (t > head) fail('EINVAL');
    // Back to the newest state (a time after it, `now`): nothing to undo,
    // and no commit that would say otherwise.
    if (t === head) return head;
    const from = plan && plan.t === t && plan.head >= t && plan.head <= head ? plan : emptyPlan(t);
    const c = this.e.changeRaw('rollback', (c) => {
      const after = {
        dentries: new Set((meta.changedKeys('dentries', b, from.head) as { parent: number; name: string }[]).map((k) => `${k.parent}/${k.name}`)),
        inodes: new Set((meta.changedKeys('inodes', b, from.head) as { ino: number }[]).map((k) => k.ino)),
        extents: new Set((meta.changedKeys('extents', b, from.head) as { ino: number; idx: number }[]).map((k) => `${k.ino}/${k.idx}`)),
        xattrs: new Set((meta.changedKeys('xattrs', b, from.head) as { ino: number; name: string }[]).map((k) => `${k.ino}/${k.name}`)),
      };
      const at = this.valuesAt(t);
      // Every attribute comes back but ctime, which says when a file last
      // changed and never goes back (POSIX; backup tools and caches compare
      // it): it is now. (Until 2026-12-05 it came back too.) mtime comes back
      // as it was, as a snapshot rollback gives it.
      const now = this.e.store.now();
      const changedNow = (n: InodeRow): InodeRow => ({ ...n, ctime: now > n.ctime ? now : n.ctime });
      // What the plan found, unless it changed again since the plan's head.
      for (const d of from.dentries) if (!after.dentries.has(`${d.parent}/${d.name}`)) at.dentry(c, d.parent, d.name, d.ino);
      for (const n of from.inodes) if (!after.inodes.has(n.ino)) meta.putInode(b, c, changedNow(inodeRow(n)));
      for (const x of from.extents) if (!after.extents.has(`${x.ino}/${x.idx}`)) at.extent(c, x.ino, x.idx, x.hash === null ? null : Buffer.from(x.hash));
      for (const x of from.xattrs) if (!after.xattrs.has(`${x.ino}/${x.name}`)) at.xattr(c, x.ino, x.name, x.value === null ? null : Buffer.from(x.value));
      // Everything changed since the plan's head (since t without a plan).
      for (const k of after.dentries) { const i = k.indexOf('/'); at.dentry(c, Number(k.slice(0, i)), k.slice(i + 1)); }
      for (const ino of after.inodes) {
        const n = at.inode(ino, LIVE - 1);
        if (n) meta.putInode(b, c, changedNow(n));
      }
      for (const k of after.extents) { const [ino, idx] = k.split('/').map(Number); at.extent(c, ino, idx); }
      for (const k of after.xattrs) { const i = k.indexOf('/'); at.xattr(c, Number(k.slice(0, i)), k.slice(i + 1)); }
      return c;
    }, message);
    return c;
  }

  /** What rollback(t) must change, as seen at this engine's head: every key
   * changed since t whose value at t differs from its value now, with its
   * value at t. Reads only. */
  rollbackPlan(t: number): RollbackPlan {
    const meta = this.meta, b = this.branch;
    const head = this.e.headCommit;
    const plan = emptyPlan(t);
    plan.head = head;
    if (t >= head) return plan;
    const at = this.valuesAt(t);
    for (const k of meta.changedKeys('dentries', b, t) as { parent: number; name: string }[]) {
      const then = at.dentryIno(k.parent, k.name);
      const r = meta.findDentry(b, k.parent, k.name, head);
      const now = r && r.until > head ? r.ino : null;
      if (then !== now) plan.dentries.push({ parent: k.parent, name: k.name, ino: then });
    }
    for (const k of meta.changedKeys('inodes', b, t) as { ino: number }[]) {
      const then = at.inode(k.ino, head);
      const r = meta.getInode(b, k.ino, head);
      if (then && (!r || r.until <= head || !sameInode(then, r))) plan.inodes.push(then);
    }
    const cur = this.valuesAt(head);
    const same = (x: Buffer | null, y: Buffer | null) => (x === null ? y === null : y !== null && x.equals(y));
    for (const k of meta.changedKeys('extents', b, t) as { ino: number; idx: number }[]) {
      const then = at.extentHash(k.ino, k.idx);
      if (!same(then, cur.extentHash(k.ino, k.idx))) plan.extents.push({ ino: k.ino, idx: k.idx, hash: then });
    }
    for (const k of meta.changedKeys('xattrs', b, t) as { ino: number; name: string }[]) {
      const then = at.xattrValue(k.ino, k.name);
      if (!same(then, cur.xattrValue(k.ino, k.name))) plan.xattrs.push({ ino: k.ino, name: k.name, value: then });
    }
    return plan;
  }

  /** Values of keys at commit t, and how to write them as of commit c. */
  private valuesAt(t: number) {
    const meta = this.meta, b = this.branch;
    const dentryIno = (parent: number, name: string): number | null => {
      const r = meta.findDentry(b, parent, name, t);
      // (A name whose file has no version at t, as thinning before
      // 2026-12-04 could leave, is not brought back: it would lead nowhere.)
      return r && r.until > t && r.ino !== null && meta.getInode(b, r.ino, t) !== undefined ? r.ino : null;
    };
    const extentHash = (ino: number, idx: number): Buffer | null => {
      const r = meta.getExtent(b, ino, idx, t);
      return r && r.until > t ? r.hash : null;
    };
    const xattrValue = (ino: number, name: string): Buffer | null => {
      const r = meta.getXattr(b, ino, name, t);
      return r && r.until > t && r.value ? r.value : null;
    };
    return {
      dentryIno, extentHash, xattrValue,
      /** The inode at t; or, made since and still there at `now`, its
       * version then with no links; null when it was at neither (a file
       * made and deleted since t needs nothing). */
      inode: (ino: number, now: number): InodeRow | null => {
        const r = meta.getInode(b, ino, t);
        if (r && r.until > t) return r;
        const n = meta.getInode(b, ino, now);
        return n && n.until > now && n.nlink > 0 ? { ...n, nlink: 0 } : null;
      },
      dentry: (c: number, parent: number, name: string, ino: number | null = dentryIno(parent, name)) => {
        if (ino !== null) meta.putDentry(b, c, parent, name, ino);
        else meta.endDentry(b, c, parent, name);
      },
      extent: (c: number, ino: number, idx: number, hash: Buffer | null = extentHash(ino, idx)) => {
        if (hash) meta.putExtent(b, c, ino, idx, hash);
        else meta.endExtent(b, c, ino, idx);
      },
      xattr: (c: number, ino: number, name: string, value: Buffer | null = xattrValue(ino, name)) => {
        if (value) meta.putXattr(b, c, ino, name, value);
        else meta.endXattr(b, c, ino, name);
      },
    };
  }

  /** Brings `path` back as it was at commit t, as one new commit: a copy of
   * that file or subtree (new inodes, the same chunks) replaces what is there. */
  restore(path: string, t: number): number {
    // '..' and '.' resolve by name here, as a shell would: `restore ..` is
    // the parent, and the root is refused below with what to use instead.
    path = posix.normalize('/' + path);
    const old = this.tree(t);
    const head = this.e.head;
    if (!splitPath(path).length) fail('EINVAL', 'restore brings back a file or directory; to return the whole tree to a point, use rollback');
    const codeOf = (e: unknown) => (e as { code?: string }).code;
    let srcIno: number;
    try { srcIno = old.resolve(path); } catch (e) {
      if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') fail('ENOENT', `${path} did not exist at c${t}`);
      throw e;
    }
    let dir: number, name: string;
    try { [dir, name] = head.parentOf(path); } catch (e) {
      if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') fail('ENOENT', `${path}: its directory does not exist now (restore that first)`);
      throw e;
    }
    const meta = this.meta, b = this.branch;
    return this.e.changeRaw('restore', (c) => {
      const now = this.e.store.now();
      const inherits = this.e.chain.length > 1;
      // Link counts as this commit leaves them, written once at the end.
      const links = new Map<number, { row: InodeRow; nlink: number }>();
      const counted = (row: InodeRow) => {
        let l = links.get(row.ino);
        if (!l) links.set(row.ino, (l = { row, nlink: row.nlink }));
        return l;
      };
      // What the restored entry replaces goes as `rm -rf` would take it:
      // every name below it ends, and a file also named outside it keeps
      // one link fewer per name that went (found by the history checker,
      // 2026-12-05: a restored directory left its files' other names with
      // their old count, and its entries live under a directory no name
      // reached, where nothing could ever retire them).
      const unlinkTree = (ino: number): void => {
        const row = head.mustInode(ino);
        if (isDir(row.mode)) {
          for (const e of head.entries(ino)) {
            if (inherits) meta.putDentry(b, c, ino, e.name, null); else meta.endDentry(b, c, ino, e.name);
            unlinkTree(e.ino);
          }
          counted(row).nlink = 0;
        } else {
          counted(row).nlink--;
        }
      };
      // The entry as it was at t, as new inodes; two names of one file
      // within it stay one file.
      const copied = new Map<number, number>();
      const copy = (ino: number, parent: number, nm: string): void => {
        const again = copied.get(ino);
        if (again !== undefined) {
          meta.putDentry(b, c, parent, nm, again);
          links.get(again)!.nlink++;
          return;
        }
        const n = old.mustInode(ino);
        const nino = this.e.store.allocIno();
        const subdirs = isDir(n.mode) ? old.entries(ino).filter((x) => isDir(old.mustInode(x.ino).mode)).length : 0;
        // A file restored is a file changed now (mtime, as `git restore`
        // sets it): what was built from it is older, and make rebuilds it
        // (until 2026-12-05 the old mtime came back, and make said "up to
        // date" over the other version's output).
        const row = { ...n, ino: nino, nlink: isDir(n.mode) ? 2 + subdirs : 1, ctime: now, ...(isDir(n.mode) ? {} : { mtime: now }) };
        meta.putInode(b, c, row, null);
        links.set(nino, { row: { ...row, since: c, until: LIVE }, nlink: row.nlink });
        if (!isDir(n.mode)) copied.set(ino, nino);
        meta.putDentry(b, c, parent, nm, nino);
        if (isReg(n.mode) && !n.inline) for (const x of meta.extentsAt(old.chain[0].branch, ino, t)) if (x.hash) meta.putExtent(b, c, nino, x.idx, x.hash);
        for (const xn of old.listxattrIno(ino)) meta.putXattr(b, c, nino, xn.name, xn.value);
        if (isDir(n.mode)) for (const e of old.entries(ino)) copy(e.ino, nino, e.name);
      };
      const existing = head.lookup(dir, name);
      const parentRow = head.mustInode(dir);
      let nlinkDelta = 0;
      if (existing !== undefined) {
        if (isDir(head.mustInode(existing).mode)) nlinkDelta -= 1;
        unlinkTree(existing);
      }
      copy(srcIno, dir, name);
      if (isDir(old.mustInode(srcIno).mode)) nlinkDelta += 1;
      for (const [ino, l] of links) {
        if (l.nlink === l.row.nlink) continue; // as it stands
        meta.putInode(b, c, { ...l.row, nlink: Math.max(0, l.nlink), ctime: now }, l.row.since);
      }
      meta.putInode(b, c, { ...parentRow, nlink: parentRow.nlink + nlinkDelta, mtime: now, ctime: now });
      return c;
    });
  }
}

function join(dir: string, name: string): string {
  return dir === '/' ? '/' + name : dir + '/' + name;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === b || (a !== null && b !== null && a.equals(b));
}
