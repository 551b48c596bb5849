#!/usr/bin/env node
// mikofs side-by-side benchmark: local disk vs bindfs passthrough vs mikofs, same workloads,
// interleaved per workload (disk, bindfs, mikofs, disk, ...), several rounds, pinned and unpinned.
// Plain Node ESM, built-ins only. Run: npm run bench -- --help
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import {
  sh, shOk, log, liveChildren, killGroup, mounts, isMounted, unmountFuse, unmountFuseSync, withRssSampling, which,
} from './util.mjs';
import { makeScratchFs } from './scratchfs.mjs';
import { TARGET_NAMES, makeTarget, ensureBindfs, ensureMikofs, bindfsOptions } from './targets.mjs';
import { WORKLOAD_IDS, makeFixtures, benchEnv, plan } from './workloads.mjs';
import { summarize, renderTables, renderRatioLines, writeJson, fmt } from './report.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const HELP = `usage: npm run bench -- [options]

Benchmarks three targets on the same workloads, interleaved, over several rounds, each round
both pinned (filesystem process and workload on CPU 0 via taskset -c 0) and unpinned:
  disk    a plain directory on the local disk (under the temp dir)
  bindfs  bindfs -o big_writes,max_write=131072 passthrough of such a directory
  mikofs  node dist/cli/main.js mount <fresh store> <mnt> (skipped if the mount command is not built)

Workloads (in order): ${WORKLOAD_IDS.join(', ')}

Options:
  --quick             one round at reduced sizes (64 MiB, 2000 files, 300 commits)
  --rounds N          rounds (default 3; --quick: 1)
  --size-mib N        sequential file size in MiB (default 512; --quick: 64)
  --files N           files in the 1 KiB-file tarball (default 10000; --quick: 2000)
  --commits N         commits in the generated git repository (default 2000; --quick: 300)
  --only a,b,...      only these workloads (prerequisites still run, untimed)
  --targets a,b,...   targets to measure (default disk,bindfs,mikofs)
  --no-unpinned       skip the unpinned mode
  --no-pinned         skip the pinned mode
  --no-build          do not run "npx tsc -p tsconfig.json" before using mikofs
  --timeout S         per-command time limit in seconds (default 900)
  --tmpdir DIR        where temp data goes (default: a fresh ext4 made for the run, see
                      --no-fresh-fs; must be a local disk)
  --no-fresh-fs       use ${os.tmpdir()} itself instead of a fresh ext4 image on a loop
                      device made there for the run (an aged file system slows the disk
                      and bindfs rows: see scripts/bench/scratchfs.mjs)
  --results-dir DIR   where the JSON goes (default bench/results)
  --keep-temp         do not delete the temp dir (mounts are still unmounted; implies
                      --no-fresh-fs)
  -h, --help          this help

Output: a table of medians [min-max] with ratios to bindfs and disk, peak RSS of the mount
processes, a JSON file bench/results/<timestamp>.json, and lines
  ratio.<workload>=<mikofs vs bindfs>            (pinned; higher is better for mikofs)
  ratio_unpinned.<workload>=<mikofs vs bindfs>   (unpinned)
each followed by its goal and PASS/FAIL/SKIP. Must run as root (drop_caches, mounts).`;

function parse() {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      'size-mib': { type: 'string' },
      files: { type: 'string' },
      commits: { type: 'string' },
      only: { type: 'string' },
      targets: { type: 'string' },
      'no-unpinned': { type: 'boolean' },
      'no-pinned': { type: 'boolean' },
      'no-build': { type: 'boolean' },
      timeout: { type: 'string' },
      tmpdir: { type: 'string' },
      'no-fresh-fs': { type: 'boolean' },
      'results-dir': { type: 'string' },
      'keep-temp': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) { log(HELP); process.exit(0); }
  const int = (name, def, min = 1) => {
    if (values[name] == null) return def;
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer >= ${min}`);
    return n;
  };
  const list = (name, allowed) => {
    if (values[name] == null) return null;
    const l = values[name].split(',').map((s) => s.trim()).filter(Boolean);
    for (const x of l) if (!allowed.includes(x)) throw new Error(`--${name}: unknown "${x}" (choose from ${allowed.join(', ')})`);
    return l;
  };
  const quick = !!values.quick;
  const modes = [];
  if (!values['no-pinned']) modes.push('pinned');
  if (!values['no-unpinned']) modes.push('unpinned');
  if (!modes.length) throw new Error('--no-pinned and --no-unpinned leave nothing to run');
  const targets = list('targets', TARGET_NAMES) ?? TARGET_NAMES;
  return {
    quick,
    rounds: int('rounds', quick ? 1 : 3),
    sizeMiB: int('size-mib', quick ? 64 : 512),
    files: int('files', quick ? 2000 : 10000),
    commits: int('commits', quick ? 300 : 2000),
    only: list('only', WORKLOAD_IDS),
    targets: TARGET_NAMES.filter((t) => targets.includes(t)),
    modes,
    build: !values['no-build'],
    timeoutMs: int('timeout', 900) * 1000,
    tmpdir: path.resolve(values.tmpdir ?? os.tmpdir()),
    freshFs: values.tmpdir == null && !values['no-fresh-fs'] && !values['keep-temp'],
    resultsDir: path.resolve(repoRoot, values['results-dir'] ?? 'bench/results'),
    keepTemp: !!values['keep-temp'],
  };
}

function fsTypeOf(dir) {
  let best = null;
  for (const m of mounts()) if ((dir === m.target || dir.startsWith(m.target.endsWith('/') ? m.target : m.target + '/')) && (!best || m.target.length > best.target.length)) best = m;
  return best?.fstype ?? 'unknown';
}

function firstLine(cmd) {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : null;
}

async function main() {
  let cfg;
  try { cfg = parse(); } catch (e) { process.stderr.write(`bench: ${e.message}\nRun with --help for usage.\n`); process.exit(2); }

  const notes = [];
  const ctx = {
    repoRoot,
    mounts: new Map(), // mountpoint -> { preferred umount command, pid }
    note(msg) {
      if (notes.includes(msg)) return;
      notes.push(msg);
      log(`note: ${msg}`);
    },
    otherServerPids: () => [...ctx.mounts.values()].map((m) => m.pid).filter(Boolean),
  };

  if (process.getuid && process.getuid() !== 0) ctx.note('not running as root: mounts, drop_caches and RSS peaks may fail');
  let canDrop = true;
  try { fs.accessSync('/proc/sys/vm/drop_caches', fs.constants.W_OK); } catch { canDrop = false; ctx.note('cannot write /proc/sys/vm/drop_caches: "cold" figures are not cold'); }
  for (const tool of ['taskset', 'dd', 'tar', 'git', 'fusermount']) if (!which(tool)) ctx.note(`required tool "${tool}" not found`);

  fs.mkdirSync(cfg.tmpdir, { recursive: true });
  // Sparse: the image takes what the run writes (a few GiB at full size).
  const scratch = cfg.freshFs ? makeScratchFs(cfg.tmpdir, 32) : null;
  if (scratch?.error) ctx.note(`no fresh file system for the run (${scratch.error}): using ${cfg.tmpdir} as it is`);
  const fresh = scratch && !scratch.error ? scratch : null;
  const tmp = fs.mkdtempSync(path.join(fresh ? fresh.dir : cfg.tmpdir, 'mikofs-bench-'));
  const tmpFs = fresh ? `ext4, fresh image on ${fresh.device}` : fsTypeOf(tmp);
  if (['tmpfs', 'ramfs', 'overlay'].includes(tmpFs)) ctx.note(`${tmp} is on ${tmpFs}, not a plain local disk; use --tmpdir`);

  // ---- other targets' servers are stopped while one target is measured ----
  // mikofs works in the background when idle (deltas, compression, retention,
  // GC); on a shared CPU (pinned: all on CPU 0) that work would be timed as the
  // disk's or bindfs's. SIGSTOP freezes a server between its own workloads;
  // nothing touches its mount while it is frozen.
  const frozen = new Set();
  const freeze = (pids) => { for (const p of pids) { try { process.kill(p, 'SIGSTOP'); frozen.add(p); } catch { /* gone */ } } };
  const thaw = () => { for (const p of frozen) { try { process.kill(p, 'SIGCONT'); } catch { /* gone */ } } frozen.clear(); };

  // ---- cleanup, also on SIGINT/SIGTERM ----
  let aborting = false;
  let cleaned = false;
  const underTmp = () => mounts().filter((m) => m.target.startsWith(tmp + '/')).map((m) => m.target);
  async function cleanup() {
    if (cleaned) return;
    thaw();
    for (let pass = 0; pass < 3; pass++) {
      const all = new Set([...ctx.mounts.keys(), ...underTmp()]);
      if (!all.size) break;
      for (const mnt of all) {
        const m = ctx.mounts.get(mnt);
        if (isMounted(mnt)) {
          const n = await unmountFuse(mnt, { preferred: m?.preferred, pid: m?.pid });
          for (const x of n) log(`cleanup: ${x}`);
        }
        ctx.mounts.delete(mnt);
      }
    }
    const left = underTmp();
    if (left.length) {
      log(`cleanup: still mounted, not deleting ${tmp}: ${left.join(' ')}`);
    } else if (!cfg.keepTemp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    } else {
      log(`temp data kept in ${tmp}`);
    }
    if (fresh && !left.length) fresh.release();
    cleaned = true;
  }
  const onSignal = (sig) => {
    if (aborting) return;
    aborting = true;
    log(`\n${sig}: stopping and cleaning up ...`);
    for (const c of liveChildren) killGroup(c, 'SIGKILL');
    cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => {
    thaw();
    for (const mnt of new Set([...ctx.mounts.keys(), ...underTmp()])) unmountFuseSync(mnt);
    if (fresh && !cleaned) fresh.release();
  });
  const check = () => { if (aborting) throw new Error('interrupted'); };

  const startedAt = new Date();
  const records = [];
  let exitCode = 0;
  try {
    // ---- targets available? ----
    let targets = [...cfg.targets];
    if (targets.includes('bindfs') && !(await ensureBindfs(ctx))) targets = targets.filter((t) => t !== 'bindfs');
    if (targets.includes('mikofs') && !(await ensureMikofs(ctx, { build: cfg.build }))) targets = targets.filter((t) => t !== 'mikofs');
    check();
    if (!targets.length) throw new Error('no target left to measure');
    const planned = plan(cfg.only);
    const recorded = planned.filter((p) => p.record).map((p) => p.w);

    log(`mikofs bench: targets ${targets.join(', ')}; modes ${cfg.modes.join(', ')}; ${cfg.rounds} round(s); ` +
      `${cfg.sizeMiB} MiB, ${cfg.files} files, ${cfg.commits} commits; temp ${tmp} (${tmpFs})`);

    // ---- fixtures ----
    const env = benchEnv(tmp);
    let t0 = Date.now();
    log('generating fixtures (random source file, tarball, git repository) ...');
    const fx = await makeFixtures(path.join(tmp, 'fixtures'), cfg, env);
    log(`fixtures ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    check();

    // ---- rounds ----
    t0 = Date.now();
    for (let round = 1; round <= cfg.rounds; round++) {
      const modes = round % 2 ? cfg.modes : [...cfg.modes].reverse(); // alternate which mode goes first
      for (const mode of modes) {
        check();
        const pinned = mode === 'pinned';
        const dir = path.join(tmp, `r${round}-${mode}`);
        fs.mkdirSync(dir, { recursive: true });
        const live = [];
        const state = new Map(); // target -> { ran:Set, last }
        try {
          for (const name of targets) {
            check();
            const t = makeTarget(name);
            try {
              await t.start(ctx, dir, pinned);
              live.push(t);
              state.set(name, { ran: new Set(), last: null });
            } catch (e) {
              ctx.note(`round ${round} ${mode}: ${name} did not start: ${e.message}`);
              await t.stop(ctx).catch(() => {});
              for (const w of recorded) records.push({ round, mode, target: name, workload: w.id, ok: false, error: 'target did not start' });
            }
          }
          log(`\n-- round ${round}/${cfg.rounds}, ${mode}: ${live.map((t) => `${t.name}${t.pid ? ` (pid ${t.pid})` : ''}`).join(', ')}`);
          for (const { w, record } of planned) {
            for (const t of live) {
              check();
              const st = state.get(t.name);
              const wctx = { t, fx, env, ran: st.ran, last: st.last, note: ctx.note };
              const rec = { round, mode, target: t.name, workload: w.id, unit: w.unit };
              const missing = w.needs.filter((n) => !st.ran.has(n));
              if (missing.length) {
                if (record) records.push({ ...rec, ok: false, skipped: `prerequisite ${missing.join(',')} did not run` });
                continue;
              }
              let prep = w.prepare ? await w.prepare(wctx) : null;
              if (prep && typeof prep === 'object') {
                ctx.note(`${t.name}: skipping ${w.id}: ${prep.skip}`);
                if (record) records.push({ ...rec, ok: false, skipped: prep.skip });
                continue;
              }
              await shOk(`${prep ? prep + '; ' : ''}sync`, { env, timeoutMs: cfg.timeoutMs });
              const cmd = w.cmd(wctx);
              const run = () => sh(cmd, { env, pinned, timeoutMs: cfg.timeoutMs });
              freeze(live.filter((o) => o !== t && o.pid).map((o) => o.pid));
              let sampled;
              try {
                sampled = w.rss && t.pid ? await withRssSampling(t.pid, run) : { result: await run(), peakKiB: null };
              } finally {
                thaw();
              }
              const r = sampled.result;
              st.last = w.id;
              const ok = r.code === 0;
              if (ok) st.ran.add(w.id);
              const value = ok ? (w.unit === 's' ? r.seconds : w.amount(fx) / r.seconds) : null;
              if (record) {
                records.push({ ...rec, ok, seconds: r.seconds, value, rssPeakKiB: sampled.peakKiB ?? null, cmd,
                  ...(ok ? {} : { error: r.timedOut ? `timed out after ${cfg.timeoutMs / 1000} s` : `exit ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` }) });
              }
              const rssTxt = sampled.peakKiB != null ? `  rss ${(sampled.peakKiB / 1024).toFixed(0)} MiB` : '';
              log(`  ${w.id.padEnd(16)}${t.name.padEnd(8)}` + (ok
                ? `${fmt(value).padStart(10)} ${w.unit.padEnd(8)}(${r.seconds.toFixed(3)} s)${rssTxt}${record ? '' : '  [setup, not recorded]'}`
                : `  FAILED: ${r.timedOut ? 'timeout' : `exit ${r.code ?? r.signal}`} ${r.stderr.trim().split('\n').pop() ?? ''}`));
              if (w.after) await sh(w.after(wctx), { env, timeoutMs: cfg.timeoutMs });
            }
          }
        } finally {
          for (const t of live.reverse()) await t.stop(ctx).catch((e) => ctx.note(`stopping ${t.name}: ${e.message}`));
          if (!underTmp().some((m) => m.startsWith(dir + '/'))) fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    const elapsed = (Date.now() - t0) / 1000;

    // ---- report ----
    const shape = { modes: cfg.modes, workloads: recorded, targets, rounds: cfg.rounds, fx };
    const sum = summarize(records, shape);
    log(renderTables(sum, shape));
    const { text: ratioText, checks } = renderRatioLines(sum, shape);
    // Time travel rows (mikofs only): old-commit reads, ls -lR of history, rollback.
    if (targets.includes('mikofs')) {
      const h = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'bench', 'history.mjs'),
        ...(cfg.quick ? ['--quick'] : []), '--files', String(cfg.files), '--tmpdir', tmp], { encoding: 'utf8', timeout: cfg.timeoutMs });
      log((h.stdout || '') + (h.stderr ? `history bench: ${h.stderr.trim()}` : ''));
    }
    const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
    const jsonFile = writeJson(cfg.resultsDir, stamp, {
      tool: 'mikofs bench', startedAt: startedAt.toISOString(), measureSeconds: elapsed,
      config: { ...cfg, targetsMeasured: targets, bindfsOptions: targets.includes('bindfs') ? bindfsOptions() : null },
      env: {
        node: process.version, kernel: os.release(), cpu: os.cpus()[0]?.model, cpus: os.cpus().length,
        memMiB: Math.round(os.totalmem() / 2 ** 20), tmp, tmpFs, canDropCaches: canDrop,
        bindfs: targets.includes('bindfs') ? firstLine('bindfs --version') : null,
        git: firstLine('git --version'),
        mikofsCommit: firstLine(`git -C ${JSON.stringify(repoRoot)} rev-parse HEAD`),
      },
      workloads: recorded.map((w) => ({ id: w.id, unit: w.unit, higherIsBetter: w.higher, desc: w.desc })),
      fixtures: { sizeMiB: fx.sizeMiB, files: fx.files, commits: fx.commits, repoFiles: fx.repoFiles, oldReadFiles: fx.oldCount },
      notes, records, summary: sum.summary, status: sum.status, ratios: sum.ratios, rssMiB: sum.rss, goals: checks,
    });
    if (notes.length) { log('\nnotes:'); for (const n of notes) log(`  - ${n}`); }
    log(`\nmeasured in ${elapsed.toFixed(0)} s; JSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
    log(ratioText);
  } catch (e) {
    if (!aborting) { process.stderr.write(`bench: ${e.stack || e.message}\n`); exitCode = 1; }
  } finally {
    if (!aborting) await cleanup();
  }
  if (aborting) await new Promise(() => {}); // the signal handler exits
  process.exit(exitCode);
}

await main();
