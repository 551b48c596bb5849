import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { openStore } from '../../index.js';
import { run, UsageError } from '../errors.js';
import { storePathOf } from '../store-arg.js';

interface Args { store?: string }

export const command: CommandModule<object, Args> = {
  command: 'init [store]',
  describe: 'Create an empty store file (default: the embedded default store)',
  builder: (y) => y.positional('store', { type: 'string', describe: 'path of the store file to create' }),
  handler: (a) => run(async () => {
    // "newdir/" names a directory, yet path.resolve drops the slash: it made
    // a store file named newdir.
    if (a.store === '') throw new UsageError('the store path is empty: name the file to create');
    if (a.store !== undefined && /\/\.{0,2}$|^\.{1,2}$/.test(a.store)) {
      throw new UsageError(`${a.store} names a directory, and a store is a file: name the file, such as ${path.join(a.store, 'store.mikofs')}`);
    }
    const file = storePathOf(a.store);
    if (fs.existsSync(file)) throw Object.assign(new Error(`${file} already exists`), { code: 'EEXIST' });
    try { fs.mkdirSync(path.dirname(file), { recursive: true }); } catch (e) {
      // mkdir -p says EEXIST when a component is a file: say which.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
      let dir = path.dirname(file);
      while (!fs.existsSync(dir)) dir = path.dirname(dir);
      throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    }
    const e = await openStore(file);
    e.close();
    process.stdout.write(`created ${file}\n`);
  }),
};
