import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openTarget, storeOption, pointArg } from '../target.js';
import { printJson } from '../store-arg.js';

interface Args { store?: string; to: string; message?: string; json: boolean }

export const command: CommandModule<object, Args> = {
  command: 'rollback',
  describe: 'Return the whole tree to a point, atomically, as one new commit (history is kept)',
  builder: (y) => y
    .option('to', { type: 'string', nargs: 1, coerce: pointArg('to'), demandOption: true, describe: 'time, commit (c123) or label' })
    .option('store', storeOption)
    .option('message', { alias: 'm', type: 'string', requiresArg: true, describe: 'why (recorded with the commit)' })
    .option('json', { type: 'boolean', default: false }),
  handler: (a) => run(async () => {
    const t = await openTarget(a.store, true);
    try {
      const c = await t.ops.rollback({ to: a.to, message: a.message });
      if (a.json) printJson(c);
      else process.stdout.write(`rolled back to ${a.to} (commit c${c.commit})\n`);
    } finally { t.close(); }
  }),
};
