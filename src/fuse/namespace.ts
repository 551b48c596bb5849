// Where a FUSE path leads. Every op resolves its path through route() first;
// this is the seam for the read-only virtual trees of later issues
// (`/.versions/<time>/…`, `/@label/…`, `name@time`): they become one more
// Route kind served by a ReadView, and every modifying op answers EROFS there.
//
// Today there are two kinds:
//  - live:   the mounted branch, by path (Engine ops).
//  - orphan: a file that was unlinked (or replaced by rename) while open.
//    libfuse 2.9's high-level API does not unlink an open file: it renames it
//    to `.fuse_hidden<node><counter>` in the same directory and unlinks that
//    name on the last release, so that path-based ops on the open file keep
//    working. Storing that rename would leave visible `.fuse_hidden*` entries
//    (rmdir of the directory fails with ENOTEMPTY, history records a rename
//    that never happened). Instead the adapter unlinks the file in the engine
//    (nlink drops, as POSIX says) and remembers the hidden name here; the
//    engine keeps serving the open handles by inode number.
import type { Engine } from '../engine/engine.js';
import { fail } from '../engine/errors.js';
import { TimeTravel, VERSIONS, type VRoute } from './timetravel.js';
import { checkName } from '../engine/tree.js';

export type Route =
  | { kind: 'live'; path: string }
  | { kind: 'orphan'; ino: number; key: string }
  /** A read-only history path (timetravel.ts). */
  | { kind: 'view'; v: VRoute };

const HIDDEN = /^\.fuse_hidden[0-9a-f]{16}$/;

function split(p: string): [string, string] {
  const i = p.lastIndexOf('/');
  return [i <= 0 ? '/' : p.slice(0, i), p.slice(i + 1)];
}

export class Namespace {
  /** `${dirIno}/${hiddenName}` -> ino of the unlinked open file. */
  private orphans = new Map<string, number>();
  readonly history: TimeTravel;

  private readonly maintenance: { noteActivity(): void } | undefined;

  constructor(private readonly engine: Engine) {
    this.history = new TimeTravel(engine);
    this.maintenance = engine.store.readonly ? undefined : engine.maintenance;
  }

  route(p: string): Route {
    // Every operation resolves its path here: the moment to tell background
    // maintenance that the filesystem is in use.
    this.maintenance?.noteActivity();
    const v = this.history.route(p);
    if (v) return { kind: 'view', v };
    if (this.orphans.size > 0) {
      const [dir, name] = split(p);
      if (HIDDEN.test(name)) {
        const key = this.keyOf(dir, name);
        const ino = key === null ? undefined : this.orphans.get(key);
        if (ino !== undefined && key !== null) return { kind: 'orphan', ino, key };
      }
    }
    return { kind: 'live', path: p };
  }

  /** Tells background maintenance the filesystem is in use (route() does
   * this for path-based ops). */
  touch(): void { this.maintenance?.noteActivity(); }

  /** Whether `name` in live directory `dir` can only be a live entry (so it
   * is looked up by inode, without a path): not /.versions, not a hidden
   * unlinked-open name. name@point is tried live first by the caller. */
  plainLookup(dir: number, name: string): boolean {
    if (dir === this.engine.rootIno() && name === VERSIONS) return false;
    return !(this.orphans.size > 0 && HIDDEN.test(name));
  }

  /** The live inode of dir/name, undefined when there is none. */
  lookup(dir: number, name: string): number | undefined {
    this.touch();
    checkName(name);
    return this.engine.head.lookup(dir, name);
  }

  /** libfuse hides `from` (open) as `to`: unlink it in the engine and keep
   * the hidden name pointing at its inode. */
  hide(from: string, to: string): void {
    const ino = this.engine.stat(from).ino;
    const [dir, name] = split(to);
    const key = this.keyOf(dir, name) ?? fail('ENOENT');
    this.engine.unlink(from);
    this.orphans.set(key, ino);
  }

  /** rename(2) of `from` onto `to`, whose file is open, in one change: the
   * replaced file keeps the hidden name `hidden` (as hide gives it). */
  renameOver(from: string, to: string, hidden: string): void {
    const ino = this.engine.stat(to).ino;
    const [dir, name] = split(hidden);
    const key = this.keyOf(dir, name) ?? fail('ENOENT');
    this.engine.rename(from, to);
    this.orphans.set(key, ino);
  }

  /** libfuse unlinks the hidden name after the last release. */
  forget(r: Route & { kind: 'orphan' }): void {
    this.orphans.delete(r.key);
  }

  private keyOf(dir: string, name: string): string | null {
    try {
      return `${this.engine.stat(dir).ino}/${name}`;
    } catch {
      return null;
    }
  }
}
