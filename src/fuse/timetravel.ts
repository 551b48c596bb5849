// The read-only history trees of the mount:
//
//   /.versions/                 days with changes, recent snapshots, labels (bounded)
//   /.versions/<time>/...       the whole tree as it was then (time syntax: src/engine/timespec.ts)
//   /@<label>/...               the tree at a label
//   <name>@<time|label>[/...]   that entry as of then, on any path component
//   <name>@history/             every distinct version of a file, named by commit time
//
// None of these is listed by readdir of its parent (as ZFS hides .zfs), so
// git, find, du, rsync and indexers never descend into history. A component
// is read as name@point only when no real entry has that exact name and the
// point parses (time, c<commit>, label or "history"): node_modules/@types
// and pkg@1.2.3 stay ordinary names.
//
// Inode numbers: live inodes count up from 1 and stay below 2^31. In
// history each *version* of an inode (inode n as its row of commit s had
// it) gets a number of its own from 0x80000000 up (HistoryInodes): two
// views showing one unchanged file show one number, as one file; two
// views showing different versions show different ones, so tar and cp -a
// of several views never take one version for a hard link of another (nor
// a view's root for the same directory as another's). A history directory
// of inode n is 0xC0000000 | n, /.versions 0xFFFFFFF0: never a live number.
import type { Engine, ReadView } from '../engine/engine.js';
import type { FileVersion } from '../engine/history.js';
import { fail } from '../engine/errors.js';
import { isoOfNs, parseTimeSpec } from '../engine/timespec.js';
import { S_IFDIR, S_IFREG, isDir, type Stat, type DirEntry } from '../engine/types.js';

export const VERSIONS = '.versions';
const HIST_INO = 0x80000000;
const HISTDIR_INO = 0xc0000000;
const VROOT_INO = 0xfffffff0;
const LOW = 0x3fffffff;
/** Virtual handles live above every engine handle number. */
const FH_BASE = 0x40000000;

/** stable: the route names one state for good (a past instant, a commit, a
 * label, a version), so what it shows changes only if history is thinned
 * or a label moves, and both drop the kernel's caches of history. Relative
 * times, `now` and instants still to come name another state later. */
export type VRoute =
  | { kind: 'vroot' }
  | { kind: 'tree'; commit: number; view: ReadView; path: string; stable: boolean }
  | { kind: 'history'; file: string; versions: FileVersion[] }
  | { kind: 'version'; file: string; version: FileVersion; view: ReadView }
  /** A name inside history that does not exist: ENOENT to look at, EROFS to create. */
  | { kind: 'absent' };

/** Numbers for versions of inodes shown in history: one per (inode, the
 * commit its row began; for a directory, minus the view's commit), given
 * out in order (2^30 of them before any comes round again). The most
 * recently used MAX_KEPT are remembered; a version forgotten and seen again
 * gets a new number (as after a remount), which only a process holding the
 * old one in that instant could notice. */
class HistoryInodes {
  private static readonly MAX_KEPT = 1 << 20;
  private readonly byVersion = new Map<string, number>();
  private next = 0;

  of(ino: number, since: number): number {
    const key = `${ino}:${since}`;
    let n = this.byVersion.get(key);
    if (n !== undefined) {
      this.byVersion.delete(key);
      this.byVersion.set(key, n);
      return n;
    }
    n = (HIST_INO | (this.next++ & LOW)) >>> 0;
    this.byVersion.set(key, n);
    if (this.byVersion.size > HistoryInodes.MAX_KEPT) this.byVersion.delete(this.byVersion.keys().next().value as string);
    return n;
  }
}

export class TimeTravel {
  private readonly inos = new HistoryInodes();
  private views = new Map<number, ReadView>();
  private handles = new Map<number, { view: ReadView; ino: number }>();
  private nextFh = FH_BASE;

  constructor(private readonly engine: Engine) {}

  /** The view at a commit; views are immutable, so a few are kept. */
  private view(commit: number): ReadView {
    let v = this.views.get(commit);
    if (!v) {
      v = this.engine.at(commit);
      if (this.views.size >= 16) this.views.delete(this.views.keys().next().value as number);
      this.views.set(commit, v);
    }
    return v;
  }

  /** Whether spec names one state for good (see VRoute). */
  private stable(spec: string): boolean {
    const t = parseTimeSpec(spec);
    if (!t) return true; // a label: moved only through the control socket
    if (t.kind === 'commit') return true;
    return t.kind === 'time' && !t.relative && t.ns < BigInt(Date.now()) * 1000000n;
  }

  /** Forgets the views kept (history was thinned: a commit may be gone). */
  forgetViews(): void { this.views.clear(); }

  private point(spec: string): number | undefined {
    if (!spec) return undefined;
    try { return this.engine.resolvePoint(spec); } catch { return undefined; }
  }

  private liveExists(parts: string[]): boolean {
    try { this.engine.stat('/' + parts.join('/')); return true; } catch { return false; }
  }

  /** The virtual route of a path, or undefined when the path is live. */
  route(p: string): VRoute | undefined {
    if (p.indexOf('@') < 0 && !p.startsWith('/' + VERSIONS)) return undefined;
    const parts = p.split('/').filter((s) => s.length > 0);
    if (parts[0] === VERSIONS) {
      if (parts.length === 1) return { kind: 'vroot' };
      const c = this.point(parts[1]);
      // A name that is no point in time: nothing there (ENOENT), and nothing
      // can be made there (EROFS, as everywhere in history).
      if (c === undefined) return parts.length === 2 ? { kind: 'absent' } : fail('ENOENT');
      return { kind: 'tree', commit: c, view: this.view(c), path: '/' + parts.slice(2).join('/'), stable: this.stable(parts[1]) };
    }
    for (let i = 0; i < parts.length; i++) {
      const comp = parts[i];
      const at = comp.lastIndexOf('@');
      if (at < 0) continue;
      const name = comp.slice(0, at), spec = comp.slice(at + 1);
      if (name === '' && i > 0) continue;
      if (this.liveExists(parts.slice(0, i + 1))) continue;
      if (spec === 'history' && name !== '') {
        const file = '/' + [...parts.slice(0, i), name].join('/');
        let versions: FileVersion[];
        try { versions = this.engine.history.fileVersions(file); } catch { return undefined; }
        if (i === parts.length - 1) return { kind: 'history', file, versions };
        if (i !== parts.length - 2) fail('ENOTDIR');
        const v = versions.find((x) => isoOfNs(x.timeNs) === parts[i + 1]);
        return v ? { kind: 'version', file, version: v, view: this.view(v.shownAt) } : { kind: 'absent' };
      }
      const c = this.point(spec);
      if (c === undefined) continue;
      const rest = name === '' ? parts.slice(1) : [...parts.slice(0, i), name, ...parts.slice(i + 1)];
      return { kind: 'tree', commit: c, view: this.view(c), path: '/' + rest.join('/'), stable: this.stable(spec) };
    }
    return undefined;
  }

  /** Whether what a route shows may be cached as long as the live tree. */
  isStable(r: VRoute): boolean {
    // (The current version of a file may still be chmod'ed or touched.)
    return (r.kind === 'tree' && r.stable) || (r.kind === 'version' && !r.version.current);
  }

  stat(r: VRoute): Stat {
    switch (r.kind) {
      case 'vroot': {
        const root = this.engine.stat('/');
        return { ...root, ino: VROOT_INO, mode: S_IFDIR | 0o555, nlink: 2 + this.listVersionsRoot().length, size: 0 };
      }
      case 'tree': {
        const s = r.view.stat(r.path);
        return { ...s, ino: this.versionIno(r.view, s.ino, s.mode) };
      }
      case 'history': {
        const last = r.versions[r.versions.length - 1];
        const base = last ? last.stat : this.engine.stat(r.file);
        return { ...base, ino: (HISTDIR_INO | (base.ino & LOW)) >>> 0, mode: S_IFDIR | 0o555, nlink: 2, size: r.versions.length, blocks: 0 };
      }
      case 'version': {
        // Its attributes at shownAt, st_blocks counting its chunks there.
        const s = r.view.tree.statIno(r.version.ino);
        return { ...s, ino: this.inos.of(r.version.ino, r.version.commit), mode: S_IFREG | (s.mode & 0o7777), nlink: 1 };
      }
      case 'absent': fail('ENOENT');
    }
  }

  readdir(r: VRoute): DirEntry[] {
    switch (r.kind) {
      case 'vroot': return this.listVersionsRoot();
      case 'tree': return r.view.readdir(r.path).map((e) => ({ ...e, ino: this.versionIno(r.view, e.ino, e.mode) }));
      case 'history': return r.versions.map((v) => ({ name: isoOfNs(v.timeNs), ino: this.inos.of(v.ino, v.commit), mode: S_IFREG }));
      case 'version': fail('ENOTDIR');
      case 'absent': fail('ENOENT');
    }
  }

  /** The number of inode `ino` as a view shows it. A file is its version
   * there (one number in every view that shows that version). A directory
   * is what it holds, and that changes with its entries' versions even
   * while its own row does not: one number per view. */
  private versionIno(view: ReadView, ino: number, mode: number): number {
    if (isDir(mode)) return this.inos.of(ino, -view.commit);
    return this.inos.of(ino, view.tree.inode(ino)?.since ?? view.commit);
  }

  /** Bounded: recent days with changes, the latest snapshots, every label. */
  private listVersionsRoot(): DirEntry[] {
    const out: DirEntry[] = [];
    const seen = new Set<string>();
    // Each entry's number is the one its stat gives (the root directory as
    // of the commit it names), as readdir's d_ino must be.
    const root = this.engine.rootIno();
    const add = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const c = this.point(name);
      out.push({ name, ino: c === undefined ? VROOT_INO - 1 - out.length : this.inos.of(root, -c), mode: S_IFDIR });
    };
    const meta = this.engine.store.meta;
    const day = new Date();
    day.setHours(0, 0, 0, 0);
    for (let d = 0; d < 7; d++) {
      const start = new Date(day.getTime() - d * 86400000);
      const end = BigInt(start.getTime() + 86400000) * 1000000n - 1n;
      const c = meta.commitAtTime(this.engine.branchId, end);
      if (c === undefined) break;
      const t = meta.getCommit(c)!.time_ns;
      if (t >= BigInt(start.getTime()) * 1000000n) {
        add(`${start.getFullYear()}-${String(start.getMonth() + 1).padStart(2, '0')}-${String(start.getDate()).padStart(2, '0')}`);
      }
    }
    for (const s of meta.recentCommitsOfKind(this.engine.branchId, 'snapshot', 20)) add(isoOfNs(s.time_ns));
    for (const l of this.engine.labels()) add(l.name);
    return out;
  }

  readlink(r: VRoute): string {
    if (r.kind !== 'tree') fail('EINVAL');
    return r.view.readlink(r.path);
  }

  open(r: VRoute, flags: number): number {
    if ((flags & 3) !== 0 || (flags & 0o1000)) fail('EROFS');
    // A version is opened by its inode: the file may have had another path
    // then (its directory renamed or moved since), which file names now.
    let view: ReadView, ino: number;
    if (r.kind === 'tree') { view = r.view; ino = view.tree.resolve(r.path, true); }
    else if (r.kind === 'version') { view = r.view; ino = r.version.ino; }
    else if (r.kind === 'absent') fail('ENOENT');
    else fail('EISDIR');
    if (isDir(view.tree.mustInode(ino).mode)) fail('EISDIR');
    const fh = this.nextFh++;
    this.handles.set(fh, { view, ino });
    return fh;
  }

  owns(fh: number): boolean { return fh >= FH_BASE && this.handles.has(fh); }

  read(fh: number, len: number, pos: number): Buffer {
    const h = this.handles.get(fh) ?? fail('EBADF');
    return h.view.tree.readIno(h.ino, pos, len);
  }

  release(fh: number): void { this.handles.delete(fh); }

  getxattr(r: VRoute, name: string): Buffer {
    if (r.kind === 'tree') return r.view.getxattr(r.path, name);
    if (r.kind === 'version') return r.view.tree.listxattrIno(r.version.ino).find((x) => x.name === name)?.value ?? fail('ENODATA');
    fail('ENODATA');
  }

  listxattr(r: VRoute): string[] {
    if (r.kind === 'tree') return r.view.listxattr(r.path);
    if (r.kind === 'version') return r.view.tree.listxattrIno(r.version.ino).map((x) => x.name);
    return [];
  }
}
