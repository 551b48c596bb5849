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

export function isoOfNs(ns: bigint): string {
  const ms = Number(ns / 1000000n);
  const frac = (ns % 1000000000n).toString().padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}
