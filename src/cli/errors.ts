// Turning failures into one-line messages and exit codes: the CLI never
// prints a stack trace for bad input or a refused operation.
import { oneLine } from './format.js';

export class UsageError extends Error {}

export function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    if (code && /^E[A-Z0-9]+$/.test(code) && !e.message.startsWith(code)) return `${code}: ${e.message}`;
    return e.message;
  }
  return String(e);
}

/** Runs a command body; on error prints "mikofs: <message>" and exits 1. */
export async function run(body: () => unknown | Promise<unknown>): Promise<void> {
  try {
    await body();
  } catch (e) {
    process.stderr.write(`mikofs: ${oneLine(describe(e))}\n`);
    if (process.env.MIKOFS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
