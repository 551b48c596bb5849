import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openForRead, printJson, isoOfNs, onPath, treeAt, atOption } from '../store-arg.js';
import { pointArg } from '../target.js';
import { modeString, quotePath } from '../format.js';

interface Args { store?: string; path: string; json: boolean; long: boolean; at?: string }

export const command: CommandModule<object, Args> = {
  command: 'ls <store> [path]',
  describe: 'List a directory of a store file',
  builder: (y) => y
    .positional('store', { type: 'string', demandOption: true, describe: 'store file' })
    .positional('path', { type: 'string', default: '/', describe: 'directory inside the store' })
    .option('long', { alias: 'l', type: 'boolean', default: false, describe: 'show mode, size and mtime' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .option('at', { ...atOption, coerce: pointArg('at') }),
  handler: (a) => run(async () => {
    const e = await openForRead(a.store);
    try {
      const { tree } = treeAt(e, a.at);
      const st = onPath(a.path, () => tree.statIno(tree.resolve(a.path, true)));
      const entries = (st.mode & 0o170000) === 0o040000
        ? tree.readdir(a.path).map((d) => ({ name: d.name, stat: tree.stat(a.path.replace(/\/?$/, '/') + d.name) }))
        : [{ name: a.path, stat: st }];
      if (a.json) {
        printJson(entries.map(({ name, stat }) => ({ name, ino: stat.ino, mode: stat.mode, size: stat.size, mtime: isoOfNs(stat.mtime) })));
      } else {
        for (const { name, stat } of entries) {
          process.stdout.write(a.long
            ? `${modeString(stat.mode)} ${String(stat.nlink).padStart(3)} ${String(stat.size).padStart(10)} ${isoOfNs(stat.mtime)} ${quotePath(name)}\n`
            : `${quotePath(name)}\n`);
        }
      }
    } finally { e.close(); }
  }),
};
