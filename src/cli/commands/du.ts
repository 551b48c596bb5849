import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openTarget, storeOption } from '../target.js';
import { printJson } from '../store-arg.js';
import { humanBytes } from '../progress.js';
import type { SpaceReport } from '../../store/space.js';

interface Args { store?: string; json: boolean; tables: boolean }

function describe(r: SpaceReport, where: string): string {
  const h = humanBytes;
  const o: string[] = [];
  const f = r.file;
  o.push(`${where}: ${h(f.bytes)} file${f.walBytes ? ` + ${h(f.walBytes)} WAL` : ''}, ${f.pages} pages of ${h(f.pageSize)}, ${f.freePages} free` +
    (f.incrementalVacuum ? '' : ' (predates incremental vacuum: gc --vacuum once)'));
  if (r.disk) {
    const d = r.disk;
    o.push(`disk           ${h(d.freeBytes)} free of ${h(d.totalBytes)}; writes stop ${h(d.reserveBytes)} short of full` +
      (d.freeBytes < d.reserveBytes ? ' (reached: writes get ENOSPC; deleted files stay in history while retention keeps them (by default every version for 24 h): shorten it with mikofs retention, or keep no history for some paths, then mikofs gc; or free space elsewhere)' : ''));
  }
  o.push(`live data      ${r.live.files} files, ${h(r.live.logicalBytes)}; stored as ${h(r.live.storedBytes)}`);
  o.push(`history        ${r.history.versions} past versions, stored as ${h(r.history.storedBytes)}`);
  for (const a of r.history.byAge) if (a.versions) o.push(`  ended ${a.age.padEnd(6)} ${String(a.versions).padStart(8)} versions  ${h(a.storedBytes)}`);
  for (const l of r.history.byLabel) o.push(`  label ${l.label} (c${l.commit}) holds ${h(l.storedBytes)} beyond the live data`);
  if (r.history.basesOnly.count) o.push(`  delta bases    ${r.history.basesOnly.count} chunks, ${h(r.history.basesOnly.bytes)}`);
  if (r.history.garbage.count) o.push(`  unreferenced   ${r.history.garbage.count} chunks, ${h(r.history.garbage.bytes)} (gc frees them)`);
  const e = r.chunks.byEncoding;
  o.push(`chunks         ${r.chunks.count}: ${h(r.chunks.rawBytes)} of content stored as ${h(r.chunks.storedBytes)}`);
  o.push(`  raw          ${e.raw.count} (${h(e.raw.storedBytes)})`);
  o.push(`  compressed   ${e.compressed.count} (${h(e.compressed.rawBytes)} as ${h(e.compressed.storedBytes)})`);
  o.push(`  delta        ${e.delta.count} (${h(e.delta.rawBytes)} as ${h(e.delta.storedBytes)})`);
  o.push(`savings        dedup ${h(r.savings.dedupBytes)}, deltas ${h(r.savings.deltaBytes)}, compression ${h(r.savings.compressionBytes)}; ` +
    `every version in full would take ${h(r.savings.allVersionsBytes)}`);
  o.push(`commits        ${r.commits.count}, ${r.commits.labels} labels`);
  if (r.chunks.pendingEncode || r.chunks.pendingGc) o.push(`pending        ${r.chunks.pendingEncode} chunks to encode, ${r.chunks.pendingGc} to check for collection`);
  if (r.tables) for (const t of r.tables) o.push(`  ${t.name.padEnd(28)} ${h(t.bytes)}`);
  return o.join('\n') + '\n';
}

export const command: CommandModule<object, Args> = {
  command: 'du',
  describe: 'What fills the store: live data, history by age and label, dedup, delta and compression savings',
  aliases: ['stats'],
  builder: (y) => y
    .option('store', storeOption)
    .option('tables', { type: 'boolean', default: false, describe: 'also bytes per SQLite table and index (reads every page)' })
    .option('json', { type: 'boolean', default: false }),
  handler: (a) => run(async () => {
    const t = await openTarget(a.store, false);
    try {
      const r = await t.ops.du({ tables: a.tables });
      if (a.json) printJson(r);
      else process.stdout.write(describe(r, t.where));
    } finally { t.close(); }
  }),
};
