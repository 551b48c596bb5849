// A path argument may be a path inside the store ("/docs/a.txt") or a path
// on the mount ("./docs/a.txt", "/mnt/x/docs/a.txt"): translate the latter.
import path from 'node:path';
import type { Target } from './target.js';
import { resolvedPath } from './paths.js';

export function insidePath(p: string, t: Target): string {
  const abs = resolvedPath(p, true);
  const mnt = t.where;
  if (abs === mnt) return '/';
  if (abs.startsWith(mnt.endsWith('/') ? mnt : mnt + '/')) return '/' + path.relative(mnt, abs);
  return p.startsWith('/') ? p : '/' + p;
}
