import type { CommandModule } from 'yargs';
import { quotePath } from '../format.js';
import { run } from '../errors.js';
import { openTarget, pointArg, storeOption, type Target } from '../target.js';
import { parseTimeSpec } from '../../engine/timespec.js';
import { printJson } from '../store-arg.js';
import { insidePath } from '../inside.js';
import { unifiedDiff, isText } from '../unidiff.js';

interface Args { store?: string; from: string; to?: string; path?: string; stat: boolean; json: boolean }

export const command: CommandModule<object, Args> = {
  command: 'diff <from> [to] [path]',
  describe: 'Paths added, removed and changed between two points (default TO: now); unified diffs for text',
  builder: (y) => y
    .positional('from', { type: 'string', demandOption: true, coerce: pointArg('FROM'), describe: 'time, commit (c123) or label' })
    .positional('to', { type: 'string', coerce: pointArg('TO'), describe: 'time, commit or label; default now (a path here is taken as PATH)' })
    .positional('path', { type: 'string', describe: 'limit to this file or directory' })
    .option('store', storeOption)
    .option('stat', { type: 'boolean', default: false, describe: 'only the list of paths' })
    .option('json', { type: 'boolean', default: false }),
  handler: (a) => run(async () => {
    const t = await openTarget(a.store, false);
    try {
      // `diff v1 src/`: a second argument that is not a point (a time, a
      // commit or a label) is the path, and TO is now. One with a slash or
      // a leading dot is always a path.
      let to = a.to, where = a.path;
      if (to !== undefined && where === undefined && !(await isPoint(to, t))) {
        // A path then, if the store has ever had it (log knows deleted files).
        const known = to.includes('/') || to.startsWith('.')
          || await t.ops.log({ path: insidePath(to, t), limit: 1 }).then(() => true, () => false);
        if (!known) throw new Error(`ENOENT: "${to}" is neither a time, a label nor a path in the store`);
        where = to; to = undefined;
      }
      const d = await t.ops.diff({ from: a.from, to, path: where === undefined ? undefined : insidePath(where, t) });
      if (a.json) { printJson(d); return; }
      const mark = { added: 'A', removed: 'D', changed: 'M' } as Record<string, string>;
      if (a.stat) {
        for (const e of d.entries) process.stdout.write(`${mark[e.change]} ${quotePath(e.path)}${e.kind === 'dir' ? '/' : ''}\n`);
        process.stdout.write(`${d.entries.length} paths differ between c${d.from.commit} and c${d.to.commit}\n`);
        return;
      }
      for (const e of d.entries) {
        if (e.kind !== 'file') {
          const what = e.attributes ? ` (${attributesChanged(e.attributes)})` : '';
          process.stdout.write(`${mark[e.change]} ${quotePath(e.path)}${e.kind === 'dir' ? '/' : ''}${what}\n`);
          continue;
        }
        const before = e.change === 'added' ? '' : await t.ops.readAt({ at: `c${d.from.commit}`, path: e.path });
        const after = e.change === 'removed' ? '' : await t.ops.readAt({ at: `c${d.to.commit}`, path: e.path });
        const A = Buffer.from(before ?? '', 'base64'), B = Buffer.from(after ?? '', 'base64');
        if (before === null || after === null || !isText(A) || !isText(B)) {
          process.stdout.write(`${mark[e.change]} ${quotePath(e.path)} (binary or large)\n`);
          continue;
        }
        const u = unifiedDiff(A.toString(), B.toString(),
          e.change === 'added' ? '/dev/null' : quotePath(`a${e.path}`), e.change === 'removed' ? '/dev/null' : quotePath(`b${e.path}`));
        // No line differs: an empty file came or went, or only attributes
        // changed (permission bits, extended attributes). Still a
        // difference, which a reader of the text must see.
        if (u === '') process.stdout.write(`${mark[e.change]} ${quotePath(e.path)} (${e.change === 'changed' ? attributesChanged(e.attributes) : 'empty file'})\n`);
        else process.stdout.write(u);
      }
    } finally { t.close(); }
  }),
};

/** "permissions changed", "extended attributes changed", or both. */
function attributesChanged(attributes: ('mode' | 'xattrs')[] | undefined): string {
  const names = (attributes ?? ['mode']).map((x) => (x === 'mode' ? 'permissions' : 'extended attributes'));
  return `${names.join(' and ')} changed`;
}

async function isPoint(s: string, t: Target): Promise<boolean> {
  if (s.includes('/') || s.startsWith('.')) return false;
  if (parseTimeSpec(s) !== undefined) return true;
  return (await t.ops.labelList()).some((l) => l.name === s);
}
