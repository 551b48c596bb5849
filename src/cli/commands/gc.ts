import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { openTarget, storeOption } from '../target.js';
import { printJson } from '../store-arg.js';
import { humanBytes, withProgress } from '../progress.js';
import type { GcResult } from '../../control/ops.js';

interface Args { store?: string; dryRun?: boolean; vacuum: boolean; json: boolean }

const STAGES: Record<string, string> = {
  start: 'starting', retire: 'retiring deleted files', thin: 'thinning history', inline: 'moving small-file history into chunks',
  encode: 'delta-encoding and compressing chunks', gc: 'collecting unreferenced chunks', vacuum: 'returning free pages to the file system',
};

function reasons(r: Record<string, number>): string {
  const e = Object.entries(r);
  return e.length ? ` (${e.map(([k, v]) => `${v} ${k}`).join(', ')})` : '';
}

function describe(r: GcResult): string {
  const out: string[] = [];
  if (r.dryRun && r.plan) {
    const p = r.plan;
    const pol = p.policy;
    out.push('dry run: nothing was changed');
    out.push(`retention: every version for ${pol.keepAll}, hourly for ${pol.hourly}, daily for ${pol.daily}, labels and snapshots for ever; ` +
      `saves closer than ${pol.rapidWindow} collapse${pol.rules.length ? `; ${pol.rules.length} path rule(s)` : ''}`);
    out.push(`  would drop ${p.commits.drop} of ${p.commits.total} commits${reasons(p.commits.byReason)}`);
    if (p.retire) out.push(`  would retire ${p.retire} deleted files (their history then follows the policy)`);
    out.push(`  would delete ${p.rows.delete} row versions only those commits could see, and re-point ${p.rows.move}`);
    out.push(`  would free ${p.thinnedChunks.count} chunks (${humanBytes(p.thinnedChunks.bytes)}) whose last versions go`);
    out.push(`unreferenced now: ${p.garbageChunks.count} chunks (${humanBytes(p.garbageChunks.bytes)}) that no version or open write uses`);
    if (p.bases.count) out.push(`  and ${p.bases.count} delta bases (${humanBytes(p.bases.bytes)}) needed only by chunks that go`);
    out.push(`free pages in the file: ${p.freePages.pages} (${humanBytes(p.freePages.bytes)})` +
      (p.freePages.reclaimable ? ', returned to the file system by gc' : ', not returnable in place: this store predates incremental vacuum (use gc --vacuum once, unmounted)'));
    if (p.pendingEncode) out.push(`${p.pendingEncode} chunks wait to be delta-encoded or compressed (gc does it now)`);
    out.push(`store file: ${humanBytes(r.fileBefore)}${r.walBefore ? ` + ${humanBytes(r.walBefore)} WAL` : ''}`);
    return out.join('\n') + '\n';
  }
  const m = r.report!;
  out.push(`thinned ${m.thinned.commits} commits${reasons(m.thinned.byReason)}: ${m.thinned.rowsDeleted} row versions deleted, ${m.thinned.rowsMoved} re-pointed`);
  if (m.retired) out.push(`retired ${m.retired} deleted files (their history now ages out like any other)`);
  if (m.inlineMoved) out.push(`moved ${m.inlineMoved} small-file versions into chunks`);
  const e = m.encoded;
  out.push(`encoded ${e.chunks} chunks: ${e.delta} deltas, ${e.compressed} compressed, ${e.raw} kept raw (${humanBytes(e.bytesBefore)} -> ${humanBytes(e.bytesAfter)})`);
  out.push(`freed ${m.gc.chunks} unreferenced chunks (${humanBytes(m.gc.bytes)})`);
  if (m.gc.chunks === 0 && m.thinned.commits === 0 && m.retired === 0 && m.vacuum.pages === 0 && e.bytesAfter >= e.bytesBefore) {
    out.push('nothing to free: every past version is still within the retention policy (deleted files included); ' +
      'mikofs du shows history by age, mikofs gc --dry-run what would go, mikofs retention shortens it');
  }
  out.push(m.vacuum.supported ? `returned ${m.vacuum.pages} free pages (${humanBytes(m.vacuum.bytes)}) to the file system` : 'free pages stay in the file (store predates incremental vacuum)');
  if (r.vacuumed) out.push('rewrote the whole file (VACUUM); incremental vacuum is on from now');
  for (const n of m.notes) out.push(`note: ${n}`);
  const withWal = (f: number, w: number) => humanBytes(f) + (w ? ` + ${humanBytes(w)} WAL` : '');
  out.push(`store file: ${withWal(r.fileBefore, r.walBefore)} -> ${withWal(r.fileAfter, r.walAfter)}` +
    (r.walAfter ? ' (the WAL holds what gc just wrote until the mount copies it into the store; it is cut back within seconds once the store is idle)' : ''));
  return out.join('\n') + '\n';
}

export const command: CommandModule<object, Args> = {
  command: 'gc',
  describe: 'Thin history by the retention policy, delta-encode and compress, free unused chunks and shrink the file',
  builder: (y) => y
    .option('store', storeOption)
    .option('dry-run', { type: 'boolean', default: false, describe: 'say what would be freed, and why; change nothing' })
    .option('vacuum', { type: 'boolean', default: false, describe: 'also rewrite the whole file (unmounted stores; turns on incremental vacuum for old stores)' })
    .option('json', { type: 'boolean', default: false })
    .example('$0 gc --dry-run', 'what would go, and why')
    .example('$0 gc --store ~/mnt', 'collect on a mounted store (it keeps serving)'),
  handler: (a) => run(async () => {
    const t = await openTarget(a.store, !a.dryRun);
    try {
      const r = await withProgress(t.ops.gc({ dryRun: !!a.dryRun, vacuum: a.vacuum }), async () => {
        const s = await t.ops.gcStatus();
        return s.running ? `gc: ${STAGES[s.stage ?? ''] ?? s.stage}${s.done ? `, ${s.done} done` : ''}` : null;
      });
      if (a.json) printJson(r);
      else process.stdout.write(describe(r));
    } finally { t.close(); }
  }),
};
