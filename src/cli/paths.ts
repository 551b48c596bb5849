// Where stores live by default.
import os from 'node:os';
import path from 'node:path';

/** The embedded default store: $XDG_DATA_HOME/mikofs/default.mikofs, else
 * ~/.local/share/mikofs/default.mikofs. */
export function defaultStorePath(): string {
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'mikofs', 'default.mikofs');
}
