// The control socket protocol: one JSON object per line each way.
//   request  {"id": 1, "method": "snapshot", "params": {...}}
//   response {"id": 1, "result": ...} or {"id": 1, "error": {"code": "ENOENT", "message": "..."}}
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

export interface Request { id: number; method: string; params: unknown }
export interface Response { id: number; result?: unknown; error?: { code?: string; message: string } }

/** The control socket of a store: beside the store file, or (when that path
 * would exceed the 108-byte sun_path limit) in the temp directory. */
export function socketPathOf(storeFile: string): string {
  const beside = path.resolve(storeFile) + '.sock';
  if (Buffer.byteLength(beside) < 100) return beside;
  const h = crypto.createHash('sha256').update(path.resolve(storeFile)).digest('hex').slice(0, 24);
  return path.join(os.tmpdir(), `mikofs-${h}.sock`);
}
