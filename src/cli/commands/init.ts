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
    const file = storePathOf(a.store);
    if (fs.existsSync(file)) throw new UsageError(`${file} already exists`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const e = await openStore(file);
    e.close();
    process.stdout.write(`created ${file}\n`);
  }),
};
