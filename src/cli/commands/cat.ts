import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openForRead, onPath } from '../store-arg.js';

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
      const ino = onPath(a.path, () => e.head.resolve(a.path, true));
      const size = e.head.mustInode(ino).size;
      if ((e.head.mustInode(ino).mode & 0o170000) === 0o040000) onPath(a.path, () => e.head.readIno(ino, 0, 0));
      for (let pos = 0; pos < size; pos += 1 << 20) {
        const buf = e.head.readIno(ino, pos, 1 << 20);
        if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
      }
    } finally { e.close(); }
  }),
};
