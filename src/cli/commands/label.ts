import type { CommandModule } from 'yargs';
import { run, UsageError } from '../errors.js';
import { openTarget, storeOption, pointArg } from '../target.js';
import { printJson } from '../store-arg.js';

interface Args { store?: string; name?: string; at?: string; move: boolean; delete: boolean; list: boolean; json: boolean }

export const command: CommandModule<object, Args> = {
  command: 'label [name]',
  describe: 'Name a point in history (production, beta...): set, --move, --delete, --list',
  builder: (y) => y
    .positional('name', { type: 'string', describe: 'label name' })
    .option('store', storeOption)
    .option('at', { type: 'string', nargs: 1, coerce: pointArg('at'), describe: 'the point to name: time, commit (c123) or label; default now' })
    .option('move', { type: 'boolean', default: false, describe: 'move an existing label (ENOENT if there is none)' })
    .option('delete', { type: 'boolean', default: false, describe: 'delete the label' })
    .option('list', { type: 'boolean', default: false, describe: 'list labels' })
    .option('json', { type: 'boolean', default: false })
    .example('$0 label production', 'name the current state')
    .example('$0 label production --move --at 2h', 'point it at the state of two hours ago'),
  handler: (a) => run(async () => {
    if (!a.list && !a.name) throw new UsageError('name a label, or use --list');
    if (a.list && (a.name || a.move || a.delete || a.at)) throw new UsageError('--list takes no label name, --at, --move or --delete');
    if (a.delete && (a.move || a.at)) throw new UsageError('--delete takes no --at or --move');
    const t = await openTarget(a.store, !a.list);
    try {
      if (a.list) {
        const ls = await t.ops.labelList();
        if (a.json) printJson(ls);
        else for (const l of ls) process.stdout.write(`${l.name.padEnd(20)} c${String(l.commit).padEnd(8)} ${l.time}\n`);
      } else if (a.delete) {
        await t.ops.labelDelete({ name: a.name! });
        if (a.json) printJson({ deleted: a.name });
        else process.stdout.write(`deleted label ${a.name}\n`);
      } else {
        const l = await t.ops.labelSet({ name: a.name!, at: a.at, move: a.move });
        if (a.json) printJson(l);
        else process.stdout.write(`${l.name} -> c${l.commit} (${l.time})\n`);
      }
    } finally { t.close(); }
  }),
};
