// Shared harness for native tests: mounts a fresh store through the real CLI
// (`node dist/cli/main.js mount <store> <mnt>`, which detaches a mount
// process) and drives the mountpoint from this test process, asynchronously.
// Every mount is unmounted (`mikofs umount`, then a lazy fusermount as a last
// resort) and its directory removed in teardown, also when a test failed.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { canonicalMountpoint, findMount, readRecord } from '../../src/fuse/mounts.js';

export const execFileP = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C', LANG: 'C' };

export interface RunResult { stdout: string; stderr: string; code: number }

/** Runs a program; never throws for a non-zero exit (see .code). */
export async function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileP(file, args, { cwd: opts.cwd, env: opts.env ?? ENV, maxBuffer: 64 << 20, timeout: opts.timeout ?? 120000 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number | string };
    return { stdout: x.stdout ?? '', stderr: x.stderr ?? String(e), code: typeof x.code === 'number' ? x.code : 1 };
  }
}

/** Runs a shell script; throws with its stderr when it fails. */
export async function sh(script: string, cwd?: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env });
  if (r.code !== 0) throw new Error(`script failed (${r.code}): ${r.stderr}\n--- script:\n${script}`);
  return r.stdout;
}

/** The mikofs CLI. */
export function mikofs(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args]);
}

export async function tempDir(prefix = 'mikofs-nt-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export class Mount {
  constructor(readonly dir: string, readonly store: string, readonly mnt: string, readonly log: string) {}

  /** The pid of the mount process serving this mount. */
  pid(): number {
    const rec = readRecord(canonicalMountpoint(this.mnt));
    if (!rec) throw new Error(`no mount process for ${this.mnt}`);
    return rec.pid;
  }

  async mounted(): Promise<boolean> {
    return (await findMount(canonicalMountpoint(this.mnt))) !== undefined;
  }

  async mount(options: string[] = []): Promise<void> {
    const r = await mikofs('mount', this.store, this.mnt, '--debug', '--log', this.log, ...(options.length ? ['-o', options.join(',')] : []));
    if (r.code !== 0) throw new Error(`mount failed: ${r.stderr}`);
  }

  async umount(): Promise<void> {
    const r = await mikofs('umount', this.mnt);
    if (r.code !== 0) throw new Error(`umount failed: ${r.stderr}`);
  }

  async remount(options: string[] = []): Promise<void> {
    await this.umount();
    await this.mount(options);
  }

  /** Op counts of the mount process (it runs with --debug): SIGUSR1 makes
   * it log them. */
  async opStats(): Promise<Record<string, { n: number; ms: number }>> {
    const before = fs.readFileSync(this.log, 'utf8').length;
    process.kill(this.pid(), 'SIGUSR1');
    for (let i = 0; i < 200; i++) {
      await sleep(10);
      const text = fs.readFileSync(this.log, 'utf8').slice(before);
      const line = text.split('\n').find((l) => l.startsWith('mikofs: {'));
      if (line) return JSON.parse(line.slice('mikofs: '.length));
    }
    throw new Error('no stats from the mount process');
  }

  path(...p: string[]): string { return path.join(this.mnt, ...p); }
}

const live = new Set<Mount>();
const children = new Set<ChildProcess>();

/** Mounts a fresh, empty store in a new temp dir. */
export async function mountFresh(options: string[] = []): Promise<Mount> {
  const dir = await tempDir();
  const m = new Mount(dir, path.join(dir, 'store.mikofs'), path.join(dir, 'mnt'), path.join(dir, 'mount.log'));
  live.add(m);
  await fsp.mkdir(m.mnt);
  const init = await mikofs('init', m.store);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  await m.mount(options);
  return m;
}

/** Spawns a helper process that is killed in teardown if still running. */
export function spawnTracked(file: string, args: string[], cwd?: string): ChildProcess {
  const c = spawn(file, args, { cwd, env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

export async function cleanup(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const m of [...live]) {
    live.delete(m);
    if (await m.mounted()) {
      const r = await mikofs('umount', m.mnt);
      if (r.code !== 0 || (await m.mounted())) {
        const rec = readRecord(canonicalMountpoint(m.mnt));
        if (rec) { try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone */ } }
        await run('fusermount', ['-uz', m.mnt]);
      }
    }
    await fsp.rm(m.dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Registers teardown for the calling test file. */
export function useMounts(): void {
  afterEach(cleanup);
  afterAll(cleanup);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until a child prints a line matching re on stdout. */
export function waitLine(c: ChildProcess, re: RegExp, timeoutMs = 20000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${buf} ${err}`)), timeoutMs);
    c.stderr?.on('data', (d: Buffer) => { err += d; });
    const onData = (d: Buffer) => {
      buf += d;
      const line = buf.split('\n').find((l) => re.test(l));
      if (line !== undefined) { clearTimeout(timer); c.stdout?.off('data', onData); resolve(line); }
    };
    c.stdout?.on('data', onData);
    c.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before ${re}: ${buf} ${err}`)); });
  });
}
