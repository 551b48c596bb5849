import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openForRead, onPath, treeAt, atOption } from '../store-arg.js';
import { pointArg } from '../target.js';

interface Args { store?: string; path: string; at?: string }

export const command: CommandModule<object, Args> = {
  command: 'cat <store> <path>',
  describe: 'Print a file of a store file',
  builder: (y) => y
    .positional('store', { type: 'string', demandOption: true, describe: 'store file' })
    .positional('path', { type: 'string', demandOption: true, describe: 'file inside the store' })
    .option('at', { ...atOption, coerce: pointArg('at') })
    .example('$0 cat store.mikofs /notes.txt --at production', 'the file as it was at label production'),
  handler: (a) => run(async () => {
    const e = await openForRead(a.store);
    try {
      const { tree } = treeAt(e, a.at);
      const ino = onPath(a.path, () => tree.resolve(a.path, true));
      const size = tree.mustInode(ino).size;
      if ((tree.mustInode(ino).mode & 0o170000) === 0o040000) onPath(a.path, () => tree.readIno(ino, 0, 0));
      for (let pos = 0; pos < size; pos += 1 << 20) {
        const buf = tree.readIno(ino, pos, 1 << 20);
        if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
      }
    } finally { e.close(); }
  }),
};
