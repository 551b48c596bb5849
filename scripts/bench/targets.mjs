// The three benchmark targets: a plain local-disk directory, a bindfs passthrough mount of one,
// and mikofs mounted on a fresh store. Each is started fresh for every (round, mode).
import fs from 'node:fs';
import path from 'node:path';
import { sh, spawnToLog, isMounted, findServerPid, threadCpus, unmountFuse, tail, sleep, q, which, log } from './util.mjs';

export const TARGET_NAMES = ['disk', 'bindfs', 'mikofs'];

class DiskTarget {
  name = 'disk';
  root = null;
  pid = null;
  async start(ctx, dir) {
    this.root = path.join(dir, 'disk');
    fs.mkdirSync(this.root, { recursive: true });
  }
  async stop() { /* nothing mounted */ }
}

// Options tried in order; the first that mounts wins for the whole run.
const BINDFS_OPTION_SETS = [
  ['-o', 'big_writes,max_write=131072'],
  ['-o', 'max_write=131072'],
  [],
];

class BindfsTarget {
  name = 'bindfs';
  root = null;
  pid = null;
  back = null;
  static optionSet = null; // decided on first mount
  async start(ctx, dir, pinned) {
    this.back = path.join(dir, 'bindfs-back');
    this.root = path.join(dir, 'bindfs-mnt');
    fs.mkdirSync(this.back, { recursive: true });
    fs.mkdirSync(this.root, { recursive: true });
    const logFile = path.join(dir, 'bindfs.log');
    const sets = BindfsTarget.optionSet ? [BindfsTarget.optionSet] : BINDFS_OPTION_SETS;
    let lastErr = '';
    for (const opts of sets) {
      const argv = [...(pinned ? ['taskset', '-c', '0'] : []), 'bindfs', ...opts, this.back, this.root];
      const r = await spawnToLog(argv, logFile, { timeoutMs: 30000 });
      for (let i = 0; i < 50 && r.code === 0 && !isMounted(this.root); i++) await sleep(100);
      if (r.code === 0 && isMounted(this.root)) {
        if (!BindfsTarget.optionSet) {
          BindfsTarget.optionSet = opts;
          if (opts !== BINDFS_OPTION_SETS[0]) {
            ctx.note(`bindfs rejected "-o big_writes,max_write=131072"; using ${opts.length ? `"${opts.join(' ')}"` : 'default options'} (${lastErr.split('\n').pop()})`);
          }
        }
        ctx.mounts.set(this.root, { preferred: null, pid: null });
        this.pid = findServerPid(this.root);
        ctx.mounts.get(this.root).pid = this.pid;
        this.checkPinning(ctx, pinned);
        return;
      }
      lastErr = tail(logFile, 3);
      if (isMounted(this.root)) await unmountFuse(this.root);
    }
    throw new Error(`bindfs mount failed: ${lastErr}`);
  }
  checkPinning(ctx, pinned) {
    if (!this.pid) { ctx.note(`${this.name}: could not find the server pid; no RSS figures`); return; }
    const cpus = threadCpus(this.pid);
    if (pinned && !(cpus.length === 1 && cpus[0] === '0')) ctx.note(`${this.name}: server threads not all pinned to CPU 0 (${cpus.join(' ')})`);
  }
  async stop(ctx) {
    if (!this.root) return;
    const notes = await unmountFuse(this.root, { pid: this.pid });
    for (const n of notes) ctx.note(`bindfs: ${n}`);
    ctx.mounts.delete(this.root);
  }
}

class MikofsTarget {
  name = 'mikofs';
  root = null;
  pid = null;
  store = null;
  async start(ctx, dir, pinned) {
    const main = path.join(ctx.repoRoot, 'dist/cli/main.js');
    this.store = path.join(dir, 'store.mikofs');
    this.root = path.join(dir, 'mikofs-mnt');
    fs.mkdirSync(this.root, { recursive: true });
    const logFile = path.join(dir, 'mikofs.log');
    // A fresh store: create it with `init` when that command exists; `mount` may also create it.
    if (fs.existsSync(path.join(ctx.repoRoot, 'dist/cli/commands/init.js'))) {
      const r = await sh(`node ${q(main)} init ${q(this.store)} >> ${q(logFile)} 2>&1`, { timeoutMs: 60000 });
      if (r.code !== 0 && !MikofsTarget.initWarned) {
        MikofsTarget.initWarned = true;
        ctx.note(`mikofs init failed (exit ${r.code}); letting mount create the store: ${tail(logFile, 2)}`);
      }
    }
    const argv = [...(pinned ? ['taskset', '-c', '0'] : []), 'node', main, 'mount', this.store, this.root];
    const r = await spawnToLog(argv, logFile, { cwd: ctx.repoRoot, timeoutMs: 120000 });
    if (r.code !== 0) throw new Error(`mikofs mount failed (${r.timedOut ? 'timeout' : 'exit ' + r.code}):\n${tail(logFile, 15)}`);
    ctx.mounts.set(this.root, { preferred: `node ${q(main)} umount ${q(this.root)}`, pid: null });
    for (let i = 0; i < 100 && !isMounted(this.root); i++) await sleep(100);
    if (!isMounted(this.root)) throw new Error(`mikofs mount returned but ${this.root} is not mounted:\n${tail(logFile, 15)}`);
    this.pid = findServerPid(this.root, [this.store], new Set(ctx.otherServerPids()));
    ctx.mounts.get(this.root).pid = this.pid;
    BindfsTarget.prototype.checkPinning.call(this, ctx, pinned);
  }
  async stop(ctx) {
    if (!this.root) return;
    const m = ctx.mounts.get(this.root);
    const notes = await unmountFuse(this.root, { preferred: m?.preferred, pid: this.pid });
    for (const n of notes) ctx.note(`mikofs: ${n}`);
    ctx.mounts.delete(this.root);
  }
}

/** The bindfs option list in use (null before the first mount). */
export function bindfsOptions() {
  return BindfsTarget.optionSet;
}

export function makeTarget(name) {
  if (name === 'disk') return new DiskTarget();
  if (name === 'bindfs') return new BindfsTarget();
  if (name === 'mikofs') return new MikofsTarget();
  throw new Error(`unknown target ${name}`);
}

/** Installs bindfs with apt-get when missing (apt-get update only if the first install fails). */
export async function ensureBindfs(ctx) {
  if (which('bindfs')) return true;
  log('bindfs not found; installing it with apt-get ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await sh('apt-get install -y bindfs', { env, timeoutMs: 600000 });
  if (r.code !== 0) {
    r = await sh('apt-get update && apt-get install -y bindfs', { env, timeoutMs: 900000 });
  }
  if (r.code !== 0 || !which('bindfs')) {
    ctx.note(`could not install bindfs (apt-get exit ${r.code}); skipping the bindfs target`);
    return false;
  }
  return true;
}

/** Builds mikofs (tsc) unless told not to, and reports whether the mount command exists. */
export async function ensureMikofs(ctx, { build }) {
  const mountJs = path.join(ctx.repoRoot, 'dist/cli/commands/mount.js');
  if (build) {
    log('building mikofs: npx tsc -p tsconfig.json ...');
    const r = await sh('npx tsc -p tsconfig.json', { cwd: ctx.repoRoot, timeoutMs: 600000 });
    if (r.code !== 0) {
      const first = (r.stdout + r.stderr).trim().split('\n').slice(0, 5).join('\n  ');
      ctx.note(`tsc reported errors (exit ${r.code}); using whatever dist/ holds:\n  ${first}`);
    }
  }
  if (!fs.existsSync(mountJs)) {
    ctx.note('mikofs mount command not built yet (dist/cli/commands/mount.js missing); skipping the mikofs target');
    return false;
  }
  return true;
}
