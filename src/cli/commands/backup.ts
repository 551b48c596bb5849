import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { run, UsageError } from '../errors.js';
import { openTarget, storeOption } from '../target.js';
import { printJson } from '../store-arg.js';
import { humanBytes, withProgress } from '../progress.js';
import type { BackupResult } from '../../control/ops.js';
import { RemoteOps } from '../../control/client.js';

interface Args { dest?: string; store?: string; force: boolean; json: boolean }

/** DEST as the store (or the mount process) is to write it: absolute, its
 * directory resolved (symlinks, ..: a mount tells its own mount from the
 * path's text alone), into a directory under the store's own name. */
function destination(arg: string, storeFile: string): string {
  let dest = path.resolve(arg);
  try { if (fs.statSync(dest).isDirectory()) dest = path.join(dest, path.basename(storeFile)); } catch { /* a new file */ }
  try { return path.join(fs.realpathSync(path.dirname(dest)), path.basename(dest)); } catch { return dest; /* the store says what is wrong */ }
}

function describe(r: BackupResult): string {
  const secs = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`);
  return `backed up ${r.store} to ${r.dest}: ${humanBytes(r.bytes)}, ${r.commits} commits up to c${r.head.commit} (${r.head.time}), in ${secs(r.copyMs)}\n` +
    `checked the copy: SQLite quick_check ok, root directory present, newest commit c${r.head.commit} (${secs(r.checkMs)})\n`;
}

export const command: CommandModule<object, Args> = {
  command: 'backup <dest>',
  describe: 'Copy the store, with all its history, to a new file: consistent while mounted, checked before it is kept',
  builder: (y) => y
    .positional('dest', { type: 'string', describe: 'the new file (or a directory: the copy takes the store\'s name there)' })
    .option('store', storeOption)
    .option('force', { type: 'boolean', default: false, describe: 'replace DEST when it exists' })
    .option('json', { type: 'boolean', default: false })
    .example('$0 backup /backup/home-$(date +%F).mikofs --store ~/mikofs', 'copy a mounted store (it keeps serving)')
    .epilog('The copy is the store as it was when the backup began (a mount goes on meanwhile). It is written to DEST.tmp, ' +
      'fsynced, opened read-only and checked (SQLite quick_check, the root directory, the newest commit), then renamed to DEST. ' +
      'cp of a mounted store is not safe; an unmounted store file may be copied as it is.'),
  handler: (a) => run(async () => {
    if (String(a.dest ?? '').trim() === '') throw new UsageError('name the file to write the backup to');
    const t = await openTarget(a.store, false);
    try {
      const info = await t.ops.info();
      const dest = destination(String(a.dest), info.store);
      const r = await withProgress(t.ops.backup({ dest, force: a.force }).catch((e: { code?: string; message?: string }) => {
        // The mount went away mid-copy (unmounted, or its process killed).
        if (t.ops instanceof RemoteOps && e.code === 'EIO') {
          throw Object.assign(new Error(`${e.message ?? 'the mount process went away'}: the mount went away during the backup ` +
            `(unmounted, or its process killed); nothing was kept at ${dest} (a ${dest}.tmp left by a killed mount: remove it, or use --force)`), { code: 'EIO' });
        }
        throw e;
      }), async () => {
        const s = await t.ops.backupStatus();
        if (!s.running) return null;
        if (s.stage === 'check') return 'backup: checking the copy (SQLite quick_check)';
        return s.total ? `backup: ${Math.floor((100 * (s.done ?? 0)) / s.total)}% (${humanBytes(s.done ?? 0)} of ${humanBytes(s.total)})` : 'backup: starting';
      });
      if (a.json) printJson(r);
      else process.stdout.write(describe(r));
    } finally { t.close(); }
  }),
};
