import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openForRead } from '../store-arg.js';

interface Args { store?: string; path: string }

export const command: CommandModule<object, Args> = {
  command: 'cat <store> <path>',
  describe: 'Print a file of a store file',
  builder: (y) => y
    .positional('store', { type: 'string', demandOption: true, describe: 'store file' })
    .positional('path', { type: 'string', demandOption: true, describe: 'file inside the store' }),
  handler: (a) => run(async () => {
    const e = await openForRead(a.store);
    try {
      const ino = e.head.resolve(a.path, true);
      const size = e.head.mustInode(ino).size;
      for (let pos = 0; pos < size; pos += 1 << 20) {
        const buf = e.head.readIno(ino, pos, 1 << 20);
        if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
      }
    } finally { e.close(); }
  }),
};
