import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { quotePath } from '../format.js';
import { openTarget, storeOption, pointArg, storeOfPathArg } from '../target.js';
import { printJson } from '../store-arg.js';
import { insidePath } from '../inside.js';

interface Args { store?: string; path: string; at: string; json: boolean }

export const command: CommandModule<object, Args> = {
  command: 'restore <path>',
  describe: 'Bring a file or directory back as it was at a point, as a new commit',
  builder: (y) => y
    .positional('path', { type: 'string', demandOption: true, describe: 'path inside the store, or a path on the mount' })
    .option('at', { type: 'string', nargs: 1, coerce: pointArg('at'), demandOption: true, describe: 'time, commit (c123) or label' })
    .option('store', storeOption)
    .option('json', { type: 'boolean', default: false }),
  handler: (a) => run(async () => {
    const t = await openTarget(storeOfPathArg(a.store, a.path), true);
    try {
      const p = insidePath(a.path, t);
      const c = await t.ops.restore({ path: p, at: a.at });
      if (a.json) printJson({ path: p, ...c });
      else process.stdout.write(`restored ${quotePath(p)} as of ${quotePath(a.at)} (commit c${c.commit})\n`);
    } finally { t.close(); }
  }),
};
