import type { CommandModule } from 'yargs';
import { run } from '../errors.js';
import { storeFileOf, storeOption } from '../target.js';
import { printJson } from '../store-arg.js';
import { humanBytes, Progress } from '../progress.js';
import { openStore, StoreFormatError } from '../../index.js';
import { inspectDamaged, describeDamage } from '../damaged.js';
import { scrub, type ScrubReport, type ScrubProgress } from '../../engine/scrub.js';
import { setCorruptionLogger } from '../../store/chunk-store.js';

interface Args { store?: string; json: boolean }

function describe(r: ScrubReport, file: string): string {
  const o: string[] = [`${file}: ${r.ok ? 'no problems found' : 'PROBLEMS FOUND'}`];
  o.push(`  structure    ${r.structure.length ? `damaged: ${r.structure.length} findings of SQLite's integrity_check` : 'sound (SQLite integrity_check)'}`);
  for (const m of r.structure.slice(0, 20)) o.push(`    ${m}`);
  if (r.structure.length > 20) o.push(`    ... and ${r.structure.length - 20} more (--json lists all)`);
  const corrupt = r.problems.filter((p) => p.problem === 'corrupt').length;
  const missing = r.problems.filter((p) => p.problem === 'missing').length;
  const inline = r.problems.filter((p) => p.problem === 'inline').length;
  o.push(`  chunks       ${r.chunks.checked} read back, ${humanBytes(r.chunks.bytes)} of content: ` +
    (corrupt ? `${corrupt} do not hold what their BLAKE3 address says` : 'every one matches its BLAKE3 address'));
  o.push(`  small files  ${r.inline.checked} versions kept inline, ${humanBytes(r.inline.bytes)}: ` +
    (inline ? `${inline} do not match their checksums` : 'every one matches its checksum'));
  o.push(`  references   ${missing ? `${missing} chunks named by file versions are missing` : 'every chunk a file version names is stored'}`);
  for (const p of r.problems) {
    o.push(p.hash === null ? `  inline content ${p.why}` : `  chunk ${p.hash.slice(0, 16)}… ${p.why}`);
    if (!p.versions.length) o.push('    named by no file version (a delta base or garbage: see the chunks decoded from it)');
    for (const v of p.versions.slice(0, 50)) {
      const where = v.path ?? `inode ${v.ino} on branch ${v.branch}`;
      const when = v.until === null ? `c${v.since} (live)` : `c${v.since}..c${v.until - 1}`;
      o.push(`    ${where}  bytes ${v.offset}-${v.offset + v.length - 1}  versions ${when}`);
    }
    if (p.versions.length > 50) o.push(`    ... and ${p.versions.length - 50} more versions (--json lists all)`);
  }
  return o.join('\n') + '\n';
}

function progressText(p: ScrubProgress): string {
  if (p.stage === 'chunks') return `verify: chunks ${p.done}/${p.total}`;
  if (p.stage === 'inline') return `verify: small files ${p.done}`;
  return `verify: ${p.stage}`;
}

export const command: CommandModule<object, Args> = {
  command: 'verify',
  aliases: ['scrub'],
  describe: 'Read back everything the store holds and check it: SQLite structure, every chunk against its BLAKE3 address, small files against their checksums, every reference',
  builder: (y) => y
    .option('store', storeOption)
    .option('json', { type: 'boolean', default: false })
    .example('$0 verify --store ~/mikofs', 'scrub a mounted store (read-only, beside the mount)')
    .epilog('Exit status: 0 when nothing is wrong, 1 when something is (each bad chunk is listed with the file versions it holds bytes of: those read as EIO).'),
  handler: (a) => run(async () => {
    const file = storeFileOf(a.store);
    // Reads the file itself, read-only, beside any mount: a long scan never
    // stalls the mount's FUSE requests, and runs on another CPU.
    let e: Awaited<ReturnType<typeof openStore>>;
    try {
      e = await openStore(file, { readonly: true });
    } catch (err) {
      // A damaged store does not open, and its message sends the user here:
      // say what can still be read of it, below the store layer.
      // (SQLite's own error when the damage shows past the open's checks.)
      const corrupt = (err as { code?: string }).code === 'SQLITE_CORRUPT';
      if (!corrupt && !(err instanceof StoreFormatError && / is damaged\b/.test(err.message))) throw err;
      const d = inspectDamaged(file, corrupt ? `${file} is damaged (SQLite: ${(err as Error).message})` : (err as Error).message);
      if (a.json) printJson({ store: file, ok: false, opened: false, ...d });
      else process.stdout.write(describeDamage(d, file));
      process.stderr.write(`mikofs: verify: ${file}: it cannot be opened as a store` +
        `${d.expectedBytes !== null && d.bytes < d.expectedBytes ? ' (truncated)' : ''}` +
        `${d.structure.length || d.unchecked !== null ? '; its SQLite structure is damaged' : ''}\n`);
      process.exitCode = 1;
      return;
    }
    const bar = new Progress();
    let shown = 0;
    setCorruptionLogger(() => { /* listed in the report instead */ });
    let r: ScrubReport;
    try {
      r = scrub(e, (p) => {
        const now = Date.now();
        if (now - shown >= 200) { shown = now; bar.update(progressText(p)); }
      });
    } finally { bar.done(); e.close(); }
    if (a.json) printJson({ store: file, ...r });
    else process.stdout.write(describe(r, file));
    if (!r.ok) {
      const corrupt = r.problems.filter((p) => p.problem === 'corrupt').length;
      const missing = r.problems.filter((p) => p.problem === 'missing').length;
      const inline = r.problems.filter((p) => p.problem === 'inline').length;
      const parts = [
        ...(r.structure.length ? ['its SQLite structure is damaged'] : []),
        ...(corrupt ? [`${corrupt} corrupt chunk${corrupt === 1 ? '' : 's'}`] : []),
        ...(missing ? [`${missing} missing chunk${missing === 1 ? '' : 's'}`] : []),
        ...(inline ? [`${inline} corrupt small-file version${inline === 1 ? '' : 's'}`] : []),
      ];
      process.stderr.write(`mikofs: verify: ${file}: ${parts.join(', ')}\n`);
      process.exitCode = 1;
    }
  }),
};
