// Opening the store a command names, for reading or writing.
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../index.js';
import type { Engine } from '../engine/engine.js';
import { defaultStorePath } from './paths.js';
import { UsageError } from './errors.js';

export function storePathOf(arg: string | undefined): string {
  return path.resolve(arg ?? defaultStorePath());
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

const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links', ENAMETOOLONG: 'file name too long', EINVAL: 'invalid argument',
};

/** Runs fn on a path inside a store; a POSIX error names the path, as
 * coreutils do ("/a/b: no such file or directory"). */
export function onPath<T>(p: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code && STRERROR[code] && (e as Error).message === code) {
      throw new Error(`${p}: ${STRERROR[code]}`);
    }
    throw e;
  }
}
