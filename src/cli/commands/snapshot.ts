import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openTarget, storeOption } from '../target.js';
import { printJson } from '../store-arg.js';

interface Args { store?: string; label?: string; message?: string; json: boolean }

export const command: CommandModule<object, Args> = {
  command: 'snapshot',
  describe: 'Record an explicit point in history, optionally naming it with a label',
  builder: (y) => y
    .option('store', storeOption)
    .option('label', { type: 'string', requiresArg: true, describe: 'name the snapshot (a label)' })
    .option('message', { alias: 'm', type: 'string', requiresArg: true, describe: 'why this point matters' })
    .option('json', { type: 'boolean', default: false }),
  handler: (a) => run(async () => {
    const t = await openTarget(a.store, true);
    try {
      const s = await t.ops.snapshot({ label: a.label, message: a.message });
      if (a.json) printJson({ ...s, label: a.label ?? null });
      else process.stdout.write(`snapshot c${s.commit} at ${s.time}${a.label ? ` labelled ${a.label}` : ''}\n`);
    } finally { t.close(); }
  }),
};
