import type { CommandModule } from 'yargs';
import { quotePath } from '../format.js';
import { run, UsageError } from '../errors.js';
import { openTarget, storeOption, pointArg, storeOfPathArg } from '../target.js';
import { printJson } from '../store-arg.js';
import { insidePath } from '../inside.js';

interface Args { store?: string; path?: string; since?: string; until?: string; limit: number; json: boolean }

export const command: CommandModule<object, Args> = {
  command: 'log [path]',
  describe: 'Commits with their time, paths changed and size change; for a file, its versions; for a directory, the commits that changed something below it',
  builder: (y) => y
    .positional('path', { type: 'string', describe: 'a file or directory (path inside the store, or a path on the mount)' })
    .option('store', storeOption)
    .option('since', { type: 'string', nargs: 1, coerce: pointArg('since'), describe: 'only after this point (time, c123, label)' })
    .option('until', { type: 'string', nargs: 1, coerce: pointArg('until'), describe: 'only up to this point' })
    .option('limit', {
      type: 'string', nargs: 1, default: '50', describe: 'at most this many entries',
      coerce: (v: string) => {
        if (!/^[1-9][0-9]*$/.test(String(v))) throw new UsageError(`--limit ${v}: give a whole number of entries, 1 or more`);
        return Math.min(Number(v), 2 ** 31 - 1); // more than any store holds
      },
    })
    .option('json', { type: 'boolean', default: false }),
  handler: (a) => run(async () => {
    const t = await openTarget(storeOfPathArg(a.store, a.path), false);
    try {
      const lines = await t.ops.log({ path: a.path === undefined ? undefined : insidePath(a.path, t), since: a.since, until: a.until, limit: a.limit });
      if (a.json) { printJson(lines); return; }
      for (const l of lines) {
        // A message is one line here, quoted like a path when it holds a
        // newline (it broke one commit per line; --json gives it exactly).
        process.stdout.write(`c${l.commit}  ${l.time}  ${l.kind}${l.message ? `  ${quotePath(l.message)}` : ''}\n`);
        for (const c of l.changes) {
          const d = c.sizeDelta === 0 ? '' : ` (${c.sizeDelta > 0 ? '+' : ''}${c.sizeDelta} bytes)`;
          process.stdout.write(`    ${c.change.padEnd(8)} ${quotePath(c.path)}${d}\n`);
        }
      }
    } finally { t.close(); }
  }),
};
