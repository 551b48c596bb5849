// Where stores live by default.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The embedded default store: $XDG_DATA_HOME/mikofs/default.mikofs, else
 * ~/.local/share/mikofs/default.mikofs. */
export function defaultStorePath(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'mikofs', 'default.mikofs');
}

/** p absolute, with its symlinks resolved as far as it exists (a mount is
 * found by the mount table's spelling, which has none; a name that does not
 * exist, or a dead mount, keeps its spelling below its resolved parent).
 * keepLast: the last component is not followed (a path in a store may name
 * a symlink itself). */
export function resolvedPath(p: string, keepLast = false): string {
  const abs = path.resolve(p);
  if (!keepLast) {
    try { return fs.realpathSync(abs); } catch { /* gone, or a dead mount */ }
  }
  const dir = path.dirname(abs);
  return dir === abs ? abs : path.join(resolvedPath(dir), path.basename(abs));
}
