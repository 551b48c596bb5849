// Process, mount and /proc helpers for the benchmark harness. Node built-ins only.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Child process groups currently running; killed on SIGINT/SIGTERM. */
export const liveChildren = new Set();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function log(msg) {
  process.stdout.write(msg + '\n');
}

/** Quote a string for bash. */
export function q(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `bash -c cmd` (under `taskset -c 0` when pinned) asynchronously and times it with
 * process.hrtime around spawn..exit. Resolves { code, signal, ns, seconds, stdout, stderr, timedOut }.
 * Never rejects for a non-zero exit.
 */
export function sh(cmd, opts = {}) {
  const { pinned = false, env = process.env, cwd, timeoutMs = 0, onSpawn } = opts;
  const argv = pinned ? ['taskset', '-c', '0', 'bash', '-c', cmd] : ['bash', '-c', cmd];
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let timedOut = false;
    let timer = null;
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    if (onSpawn) onSpawn(child);
    child.stdout.on('data', (d) => { if (out.length < 65536) out += d; });
    child.stderr.on('data', (d) => { if (err.length < 65536) err += d; });
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup(child, 'SIGKILL');
      }, timeoutMs);
    }
    let settled = false;
    const finish = (res) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      liveChildren.delete(child);
      resolve(res);
    };
    child.on('error', (e) => {
      finish({ code: -1, signal: null, ns: 0n, seconds: 0, stdout: out, stderr: String(e), timedOut });
    });
    child.on('exit', (code, signal) => {
      const ns = process.hrtime.bigint() - t0;
      const res = { code, signal, ns, seconds: Number(ns) / 1e9, stdout: out, stderr: err, timedOut };
      // Give the pipes a moment to drain; a stray grandchild holding them must not block us.
      let done = false;
      const t = setTimeout(() => { done = true; finish({ ...res, stdout: out, stderr: err }); }, 300);
      child.once('close', () => { if (!done) { clearTimeout(t); finish({ ...res, stdout: out, stderr: err }); } });
    });
  });
}

/** Like sh() but throws on failure; for untimed setup steps. */
export async function shOk(cmd, opts = {}) {
  const r = await sh(cmd, opts);
  if (r.code !== 0) {
    throw new Error(`command failed (${r.timedOut ? 'timeout' : r.signal ?? 'exit ' + r.code}): ${cmd}\n${r.stderr.trim().slice(-2000)}`);
  }
  return r;
}

/**
 * Spawns a command whose output goes to a log file (so a daemonising child cannot hold our pipes)
 * and waits for the spawned process itself to exit. Used for `mikofs mount` and `bindfs`.
 */
export function spawnToLog(argv, logFile, { env = process.env, cwd, timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    const fd = fs.openSync(logFile, 'a');
    let timer = null;
    let timedOut = false;
    const child = spawn(argv[0], argv.slice(1), { env, cwd, detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    liveChildren.add(child);
    timer = setTimeout(() => { timedOut = true; killGroup(child, 'SIGKILL'); }, timeoutMs);
    const done = (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({ code, signal, timedOut, pid: child.pid });
    };
    child.on('error', (e) => { fs.appendFileSync(logFile, String(e) + '\n'); done(-1, null); });
    child.on('exit', done);
  });
}

export function killGroup(child, sig = 'SIGTERM') {
  try { process.kill(-child.pid, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
}

export function which(cmd) {
  const r = spawnSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function tail(file, n = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch { return ''; }
}

// ---------- /proc ----------

function unescapeMount(s) {
  return s.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount entries from /proc/mounts: [{ source, target, fstype }]. */
export function mounts() {
  return fs.readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((l) => {
    const f = l.split(' ');
    return { source: unescapeMount(f[0]), target: unescapeMount(f[1]), fstype: f[2] };
  });
}

export function isMounted(mnt) {
  return mounts().some((m) => m.target === mnt);
}

export function cmdlineOf(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { return null; }
}

export function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Processes holding /dev/fuse open: [{ pid, argv }]. */
export function fuseHolders() {
  const res = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid) continue;
    let fds;
    try { fds = fs.readdirSync(`/proc/${d}/fd`); } catch { continue; }
    for (const fd of fds) {
      let l;
      try { l = fs.readlinkSync(`/proc/${d}/fd/${fd}`); } catch { continue; }
      if (l === '/dev/fuse') {
        const argv = cmdlineOf(pid);
        if (argv) res.push({ pid, argv });
        break;
      }
    }
  }
  return res;
}

/**
 * The pid serving a FUSE mount: a /dev/fuse holder whose command line names the mountpoint
 * (or one of `alsoMatch`). Falls back to /proc/<pid>/cmdline scan without the /dev/fuse test.
 */
export function findServerPid(mnt, alsoMatch = [], exclude = new Set()) {
  const names = [mnt, ...alsoMatch];
  const hit = (argv) => argv.some((a) => names.some((n) => a === n || a.includes(n)));
  const holders = fuseHolders().filter((h) => !exclude.has(h.pid));
  const m = holders.filter((h) => hit(h.argv));
  if (m.length) return m[m.length - 1].pid;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid || exclude.has(Number(d))) continue;
    const argv = cmdlineOf(d);
    if (argv && hit(argv) && !['bash', 'taskset', 'fusermount', 'sh'].includes(argv[0].split('/').pop())) return Number(d);
  }
  return null;
}

export function procStatus(pid) {
  let txt;
  try { txt = fs.readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { return null; }
  const kb = (k) => { const m = txt.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')); return m ? Number(m[1]) : null; };
  const cpus = txt.match(/^Cpus_allowed_list:\s+(\S+)/m);
  return { vmRSS: kb('VmRSS'), vmHWM: kb('VmHWM'), cpus: cpus ? cpus[1] : null };
}

/** The allowed-CPU lists of every thread of a process, deduplicated. */
export function threadCpus(pid) {
  const set = new Set();
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8').match(/^Cpus_allowed_list:\s+(\S+)/m);
      if (s) set.add(s[1]);
    }
  } catch { /* gone */ }
  return [...set];
}

/**
 * Samples a process's memory while `work` runs: resets the peak (clear_refs 5), polls VmRSS every
 * 20 ms, and reads VmHWM at the end. Returns { result, peakKiB, hwmKiB, sampledMaxKiB }.
 */
export async function withRssSampling(pid, work) {
  if (!pid) return { result: await work(), peakKiB: null };
  let hwmReset = false;
  try { fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); hwmReset = true; } catch { /* old kernel */ }
  let sampledMax = procStatus(pid)?.vmRSS ?? 0;
  const iv = setInterval(() => {
    const s = procStatus(pid);
    if (s && s.vmRSS > sampledMax) sampledMax = s.vmRSS;
  }, 20);
  let result;
  try {
    result = await work();
  } finally {
    clearInterval(iv);
  }
  const s = procStatus(pid);
  const hwm = s?.vmHWM ?? null;
  if (s && s.vmRSS > sampledMax) sampledMax = s.vmRSS;
  const peak = hwmReset && hwm != null ? Math.max(hwm, sampledMax) : sampledMax;
  return { result, peakKiB: peak, hwmKiB: hwm, sampledMaxKiB: sampledMax, hwmReset };
}

// ---------- unmounting ----------

/**
 * Unmounts a FUSE mount: optional preferred command first, then `fusermount -u` (a few retries
 * while busy), then `fusermount -uz`. Waits for the serving pid to exit, terminating it if it
 * lingers (it is a process this harness started).
 */
export async function unmountFuse(mnt, { preferred = null, pid = null } = {}) {
  const notes = [];
  if (preferred && isMounted(mnt)) {
    const r = await sh(preferred, { timeoutMs: 30000 });
    if (r.code !== 0) notes.push(`"${preferred}" failed: ${(r.stderr || '').trim().split('\n').pop() || 'exit ' + r.code}`);
  }
  for (let i = 0; i < 5 && isMounted(mnt); i++) {
    const r = await sh(`fusermount -u ${q(mnt)}`, { timeoutMs: 15000 });
    if (r.code === 0) break;
    await sleep(300);
  }
  if (isMounted(mnt)) {
    notes.push(`lazy unmount of ${mnt}`);
    await sh(`fusermount -uz ${q(mnt)}`, { timeoutMs: 15000 });
  }
  if (pid) {
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
    if (alive(pid)) {
      notes.push(`server pid ${pid} still alive after unmount; sending SIGTERM`);
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
      if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  }
  return notes;
}

/** Synchronous last-resort unmount, for process 'exit'. */
export function unmountFuseSync(mnt) {
  if (!isMounted(mnt)) return;
  spawnSync('fusermount', ['-u', mnt], { stdio: 'ignore', timeout: 10000 });
  if (isMounted(mnt)) spawnSync('fusermount', ['-uz', mnt], { stdio: 'ignore', timeout: 10000 });
}
