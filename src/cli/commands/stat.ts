import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openForRead, printJson, isoOfNs, onPath, treeAt, atOption } from '../store-arg.js';
import { pointArg } from '../target.js';
import { modeString, quotePath } from '../format.js';

interface Args { store?: string; path: string; json: boolean; at?: string }

export const command: CommandModule<object, Args> = {
  command: 'stat <store> [path]',
  describe: 'Show the attributes of a path in a store file',
  builder: (y) => y
    .positional('store', { type: 'string', demandOption: true, describe: 'store file' })
    .positional('path', { type: 'string', default: '/', describe: 'path inside the store' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .option('at', { ...atOption, coerce: pointArg('at') }),
  handler: (a) => run(async () => {
    const e = await openForRead(a.store);
    try {
      const { tree, commit } = treeAt(e, a.at);
      const s = onPath(a.path, () => tree.stat(a.path));
      const out = {
        path: a.path, ino: s.ino, mode: s.mode, type: modeString(s.mode)[0], perms: (s.mode & 0o7777).toString(8),
        nlink: s.nlink, uid: s.uid, gid: s.gid, size: s.size, rdev: s.rdev,
        atime: isoOfNs(s.atime), mtime: isoOfNs(s.mtime), ctime: isoOfNs(s.ctime), btime: isoOfNs(s.btime),
        commit,
      };
      if (a.json) printJson(out);
      else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(6)} ${k === 'path' ? quotePath(String(v)) : v}\n`);
    } finally { e.close(); }
  }),
};
