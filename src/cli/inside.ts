// A path argument may be a path inside the store ("/docs/a.txt") or a path
// on the mount ("./docs/a.txt", "/mnt/x/docs/a.txt"): translate the latter.
import path from 'node:path';
import type { Target } from './target.js';
import { resolvedPath } from './paths.js';
import { UsageError } from './errors.js';

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');

export function insidePath(p: string, t: Target): string {
  // "" would read as the root, or as the current directory on the mount.
  if (p === '') throw new UsageError('the path is empty: name a path in the store (/ is its root), or one on the mount');
  const abs = resolvedPath(p, true);
  const mnt = t.where;
  if (abs === mnt) return '/';
  if (under(abs, mnt)) return '/' + path.relative(mnt, abs);
  // From inside the mount a relative path is one on the mount: one leading
  // out of it names nothing in the store (it was read as a store path,
  // "../../etc/passwd" as /etc/passwd).
  if (!p.startsWith('/') && under(process.cwd(), mnt)) {
    throw new UsageError(`${p} leads outside the mount at ${mnt}; a path in the store is relative to the current directory inside the mount, or absolute from the store's root (/docs/a.txt)`);
  }
  // Spelled as the store names it ("./a.txt" is /a.txt, not /./a.txt), with
  // '.' and '..' resolved by name, as the engine resolves them.
  return path.posix.normalize('/' + p);
}
