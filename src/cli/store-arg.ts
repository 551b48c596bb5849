// Opening the store a command names, for reading or writing.
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../index.js';
import type { Engine } from '../engine/engine.js';
import type { Tree } from '../engine/tree.js';
import { defaultStorePath } from './paths.js';
import { UsageError } from './errors.js';
import { strerror } from '../engine/errors.js';

export function storePathOf(arg: string | undefined): string {
  const abs = path.resolve(arg ?? defaultStorePath());
  // One name per store file: its control socket and writer lock are found
  // by it. A store mounted through a symlink made its socket beside the
  // link, and every command naming the file itself waited 11 s and was
  // refused (found 2026-12-05).
  try { return fs.realpathSync(abs); } catch { return abs; /* not there (yet): whoever opens it says so */ }
}

/** Opens an existing store read-only: inspection may run beside a mount. */
export async function openForRead(arg: string | undefined): Promise<Engine> {
  const file = storePathOf(arg);
  if (!fs.existsSync(file)) throw new UsageError(`no store at ${file} (create one with: mikofs init ${arg ?? file})`);
  if (fs.statSync(file).isDirectory()) throw new UsageError(`${file} is a directory, not a store file`);
  return openStore(file, { readonly: true });
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2) + '\n');
}

export { isoOfNs } from '../engine/timespec.js';

/** Runs fn on a path inside a store; a POSIX error names the path, as
 * coreutils do ("/a/b: no such file or directory", without the errno
 * name that engine/errors.ts onPath keeps for the history commands). */
export function onPath<T>(p: string, fn: () => T): T {
  // "" would read as the root (`cat S ""` said ": is a directory").
  if (p === '') throw new UsageError('the path is empty: name a path inside the store (/ is its root)');
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    const text = code === undefined ? undefined : strerror(code);
    if (text && (e as Error).message === code) throw new Error(`${p}: ${text}`);
    throw e;
  }
}

/** The tree a store-file command reads: the live one, or the state at a
 * point (--at: a time, c123 or a label), and its commit. */
export function treeAt(e: Engine, at: string | undefined): { tree: Tree; commit: number } {
  if (at === undefined) return { tree: e.head, commit: e.headCommit };
  const v = e.at(at);
  return { tree: v.tree, commit: v.commit };
}

/** The --at option of the commands that read a store file. */
export const atOption = {
  type: 'string' as const, nargs: 1,
  describe: 'read the state at this point: a time, a commit (c123) or a label (default: now)',
};

