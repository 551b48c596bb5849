import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { run, describe, UsageError } from '../errors.js';
import { storePathOf } from '../store-arg.js';
import { openStore } from '../../index.js';
import { serve, unmountOnSignals, checkMountpoint, timeoutOption } from '../../fuse/mount.js';
import { canonicalMountpoint } from '../../fuse/mounts.js';

interface Args {
  store?: string; mountpoint?: string; foreground: boolean; o?: string | string[];
  readyFd?: number; log?: string; debug: boolean;
}

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const READY_TIMEOUT_MS = 60000;

interface Plan {
  store: string; mountpoint: string; readonly: boolean; allowOther: boolean; nonempty: boolean; options: string[];
  /** The embedded default store does not exist yet: create it first. */
  createDefault?: boolean;
}

function plan(a: Args): Plan {
  // yargs fills the required <mountpoint> first: given two words, the first
  // is the store and the second the mountpoint.
  const [storeArg, mntArg] = a.store === undefined ? [undefined, a.mountpoint] : [a.mountpoint, a.store];
  if (!mntArg) throw new UsageError('name a mountpoint: mikofs mount [store] <mountpoint>');
  // `mikofs mount STORE` with the mountpoint forgotten: it would mount the
  // default store (creating it) on the store file, and then fail.
  if (storeArg === undefined && isFile(mntArg)) {
    throw new UsageError(`${mntArg} is a file (a store?), not a directory to mount on: name the mountpoint too: mikofs mount ${mntArg} <mountpoint>`);
  }
  const opts = ([] as string[]).concat(a.o ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const p: Plan = {
    store: storePathOf(storeArg), mountpoint: canonicalMountpoint(mntArg),
    readonly: false, allowOther: false, nonempty: false, options: [],
  };
  for (const o of opts) {
    if (o === 'ro') p.readonly = true;
    else if (o === 'rw') p.readonly = false;
    else if (o === 'allow_other') p.allowOther = true;
    else if (o === 'nonempty') p.nonempty = true;
    else if (o === 'default_permissions') { /* always on */ }
    else p.options.push(o);
    try { timeoutOption(o); } catch (e) { throw new UsageError((e as Error).message); }
  }
  if (storeArg === undefined) {
    p.createDefault = !fs.existsSync(p.store);
  } else if (!fs.existsSync(p.store)) {
    throw new UsageError(`no store at ${p.store} (create one with: mikofs init ${storeArg})`);
  } else if (fs.statSync(p.store).isDirectory()) {
    throw new UsageError(`${p.store} is a directory, not a store file`);
  }
  return p;
}

function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}

function optionArgs(p: Plan): string[] {
  const o = [...(p.readonly ? ['ro'] : []), ...(p.allowOther ? ['allow_other'] : []), ...(p.nonempty ? ['nonempty'] : []), ...p.options];
  return o.length ? ['-o', o.join(',')] : [];
}

/** Tells a waiting parent how the mount went (one JSON line on its pipe). */
function report(fd: number | undefined, msg: { ready: true } | { error: string }): void {
  if (fd === undefined) return;
  try { fs.writeSync(fd, JSON.stringify(msg) + '\n'); fs.closeSync(fd); } catch { /* parent gone */ }
}

async function foreground(p: Plan, a: Args): Promise<void> {
  // A closed terminal or log must not take the mount down with it.
  process.stderr.on('error', () => {});
  const log = (msg: string) => { process.stderr.write(`mikofs: ${msg}\n`); };
  let mounted: Awaited<ReturnType<typeof serve>> | undefined;
  // Installed before mounting: the mountpoint appears in /proc/mounts before
  // the kernel's INIT is answered, and a SIGUSR1 sent then must not kill us
  // (its default action); it reports nothing until the mount serves.
  if (a.debug) process.on('SIGUSR1', () => { if (mounted) log(JSON.stringify(mounted.stats())); });
  try {
    mounted = await serve({ ...p, debug: a.debug, log });
  } catch (e) {
    report(a.readyFd, { error: describe(e) });
    throw e;
  }
  report(a.readyFd, { ready: true });
  log(`mounted ${p.store} at ${p.mountpoint} (pid ${process.pid})`);
  unmountOnSignals(mounted);
  await mounted.done;
  if (a.debug) log(JSON.stringify(mounted.stats()));
  log(`unmounted ${p.mountpoint}`);
  process.exit(0);
}

/** Starts `mount --foreground` detached and waits until it is serving. */
async function background(p: Plan, a: Args): Promise<void> {
  const out = a.log ? fs.openSync(path.resolve(a.log), 'a') : 'ignore';
  const args = [MAIN, 'mount', p.store, p.mountpoint, '--foreground', '--ready-fd', '3', ...optionArgs(p), ...(a.debug ? ['--debug'] : [])];
  const child = spawn(process.execPath, args, { detached: true, cwd: '/', stdio: ['ignore', out, out, 'pipe'] });
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  const msg = await new Promise<{ ready?: true; error?: string }>((resolve) => {
    let buf = '';
    const timer = setTimeout(() => resolve({ error: `the mount process did not get ready within ${READY_TIMEOUT_MS / 1000} s` }), READY_TIMEOUT_MS);
    pipe.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); try { resolve(JSON.parse(buf.slice(0, nl))); } catch { resolve({ error: buf }); } }
    });
    child.once('exit', (code, sig) => { clearTimeout(timer); resolve({ error: `the mount process exited (${sig ?? code}) before the mount was ready` }); });
  });
  if (typeof out === 'number') fs.closeSync(out);
  (pipe as unknown as { destroy(): void }).destroy();
  if (!msg.ready) {
    if (child.exitCode === null) child.kill('SIGTERM');
    throw new Error(msg.error ?? 'mount failed');
  }
  child.unref();
}

export const command: CommandModule<object, Args> = {
  command: 'mount [store] <mountpoint>',
  describe: 'Mount a store (default: the embedded default store) on a directory',
  builder: (y) => y
    .positional('store', { type: 'string', describe: 'store file (omit for the embedded default store)' })
    .positional('mountpoint', { type: 'string', describe: 'empty directory to mount on' })
    .option('foreground', { alias: 'f', type: 'boolean', default: false, describe: 'stay attached and log; unmount on Ctrl-C' })
    .option('o', { type: 'string', requiresArg: true, describe: 'mount options: ro, allow_other, nonempty, default_permissions, or raw libfuse options' })
    .option('log', { type: 'string', requiresArg: true, describe: 'background mode: append the mount process log to this file' })
    .option('debug', { type: 'boolean', default: false, describe: 'count and time ops; log slow ones' })
    .option('ready-fd', { type: 'number', hidden: true }),
  handler: (a) => run(async () => {
    let p: Plan;
    try {
      p = plan(a);
      if (p.createDefault) {
        // The mountpoint first: a mount that cannot happen creates nothing.
        checkMountpoint(p.mountpoint, p.nonempty);
        fs.mkdirSync(path.dirname(p.store), { recursive: true });
        (await openStore(p.store)).close();
      }
    } catch (e) {
      report(a.readyFd, { error: describe(e) });
      throw e;
    }
    if (a.foreground) await foreground(p, a);
    else await background(p, a);
  }),
};
