#!/usr/bin/env node
// FUSE requests per workload: mikofs beside bindfs, counted, not timed.
//
// Timings on these machines swing by 2x between runs; request counts do not.
// Each request is a round trip through the kernel, so "how many requests
// does tar -x or git add cost" is the part of the benchmark gap that the
// filesystem's caching decisions control, separated from the work done per
// request. This mounts bindfs with `-d` (it logs every request) and mikofs
// with `--debug` (it reports `req.<KIND>` counts on SIGUSR1), runs the same
// workloads on each, and prints the counts per phase side by side.
//
// Usage: node scripts/bench/requests.mjs [--files N] [--commits N] [--keep-temp]
// (needs root for bindfs's allow_other like `npm run bench`; builds nothing:
// run `npm run build` first).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { benchEnv, makeFixtures } from './workloads.mjs';
import { shOk, sleep, q, log, isMounted, liveChildren, killGroup } from './util.mjs';
import { ensureBindfs } from './targets.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
if (args.includes('-h') || args.includes('--help')) {
  log('usage: node scripts/bench/requests.mjs [--files N (2000)] [--commits N (300)] [--keep-temp]');
  process.exit(0);
}
const cfg = { sizeMiB: 1, files: arg('--files', 2000), commits: arg('--commits', 300) };
const GIT = 'git -c gc.auto=0 -c maintenance.auto=false';
const PHASES = [
  ['tar -x', (w) => `tar -xf ${q(w.fx.tar)} -C ${q(w.mnt)}`],
  // After the 1 s caches expired, as in the benchmark's separate workloads.
  ['git add+commit', (w) => `sleep 1.5 && cd ${q(w.mnt)}/tree && ${GIT} init -q && ${GIT} add -A && ${GIT} commit -qm bench`],
  // A tree nothing changed, looked at again after a passthrough's caches
  // expired: what a long kernel cache of the live tree saves.
  ['git status', (w) => `sleep 1.5 && cd ${q(w.mnt)}/tree && ${GIT} status --porcelain > /dev/null`],
  ['ls -lR', (w) => `sleep 1.5 && ls -lR ${q(w.mnt)}/tree > /dev/null`],
  ['git clone', (w) => `${GIT} clone -q --no-local ${q(w.fx.repo)} ${q(w.mnt)}/clone`],
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mikofs-requests-'));
const env = benchEnv(tmp);
const mounted = [];
async function cleanup() {
  for (const m of mounted) if (isMounted(m)) await shOk(`fusermount -u ${q(m)} || fusermount -uz ${q(m)}`).catch(() => {});
  for (const c of liveChildren) killGroup(c, 'SIGKILL');
  if (!args.includes('--keep-temp')) fs.rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { void cleanup().then(() => process.exit(130)); });

async function waitMounted(mnt) {
  for (let i = 0; i < 200 && !isMounted(mnt); i++) await sleep(50);
  if (!isMounted(mnt)) throw new Error(`${mnt} did not mount`);
}

function start(argv, logFile) {
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  liveChildren.add(child);
  return child;
}

/** Counts so far: bindfs from its -d log, mikofs from its SIGUSR1 report. */
async function countsOf(t) {
  if (t.name === 'bindfs') {
    const out = {};
    for (const m of fs.readFileSync(t.log, 'utf8').matchAll(/opcode: ([A-Z_]+)/g)) out[m[1]] = (out[m[1]] ?? 0) + 1;
    return out;
  }
  const before = fs.readFileSync(t.log, 'utf8').length;
  process.kill(t.child.pid, 'SIGUSR1');
  for (let i = 0; i < 100; i++) {
    await sleep(20);
    const text = fs.readFileSync(t.log, 'utf8').slice(before);
    const line = text.split('\n').find((l) => l.includes('"req.'));
    if (line) {
      const stats = JSON.parse(line.slice(line.indexOf('{')));
      return Object.fromEntries(Object.entries(stats).filter(([k]) => k.startsWith('req.')).map(([k, v]) => [k.slice(4), v.n]));
    }
  }
  throw new Error('mikofs did not report its request counts');
}

async function measure(name) {
  const dir = path.join(tmp, name);
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt, { recursive: true });
  const t = { name, mnt, log: path.join(dir, 'log.txt'), fx: null, child: null };
  if (name === 'bindfs') {
    fs.mkdirSync(path.join(dir, 'src'));
    t.child = start(['bindfs', '-f', '-d', '-o', 'big_writes,max_write=131072', path.join(dir, 'src'), mnt], t.log);
  } else {
    const store = path.join(dir, 'store.mikofs');
    await shOk(`node ${q(path.join(root, 'dist/cli/main.js'))} init ${q(store)}`);
    t.child = start(['node', path.join(root, 'dist/cli/main.js'), 'mount', '-f', '--debug', store, mnt], t.log);
  }
  mounted.push(mnt);
  await waitMounted(mnt);
  // In /proc/mounts before it serves: wait for mikofs to say it is mounted.
  if (name === 'mikofs') {
    for (let i = 0; i < 200 && !/mounted .* \(pid \d+\)/.test(fs.readFileSync(t.log, 'utf8')); i++) await sleep(50);
  }
  const phases = [];
  let prev = await countsOf(t);
  for (const [phase, cmd] of PHASES) {
    await shOk(cmd({ mnt, fx }), { env });
    const now = await countsOf(t);
    const delta = {};
    for (const [k, n] of Object.entries(now)) if (n - (prev[k] ?? 0) > 0) delta[k] = n - (prev[k] ?? 0);
    phases.push(delta);
    prev = now;
  }
  await shOk(`fusermount -u ${q(mnt)}`);
  return phases;
}

let fx;
try {
  if (!(await ensureBindfs({ note: (m) => log(`# ${m}` ) }))) throw new Error('bindfs is needed to compare with (apt-get install bindfs)');
  if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('mikofs is not built (npm run build)');
  log(`# FUSE requests per phase, ${cfg.files} files of 1 KiB, a ${cfg.commits}-commit repository (counts, not times)`);
  fx = await makeFixtures(path.join(tmp, 'fixtures'), cfg, env);
  const result = { bindfs: await measure('bindfs'), mikofs: await measure('mikofs') };
  for (let i = 0; i < PHASES.length; i++) {
    const b = result.bindfs[i], m = result.mikofs[i];
    const kinds = [...new Set([...Object.keys(b), ...Object.keys(m)])].filter((k) => k !== 'INIT' && k !== 'DESTROY')
      .sort((x, y) => (m[y] ?? 0) + (b[y] ?? 0) - (m[x] ?? 0) - (b[x] ?? 0));
    const total = (o) => kinds.reduce((s, k) => s + (o[k] ?? 0), 0);
    log(`\n${PHASES[i][0]}${'bindfs'.padStart(28 - PHASES[i][0].length)}${'mikofs'.padStart(10)}`);
    for (const k of kinds) log(`  ${k.padEnd(16)}${String(b[k] ?? 0).padStart(10)}${String(m[k] ?? 0).padStart(10)}`);
    log(`  ${'total'.padEnd(16)}${String(total(b)).padStart(10)}${String(total(m)).padStart(10)}`);
    const key = PHASES[i][0].toLowerCase().replace(/[^a-z]+/g, '_');
    log(`requests.${key}.bindfs=${total(b)}`);
    log(`requests.${key}.mikofs=${total(m)}`);
  }
} finally {
  await cleanup();
}
