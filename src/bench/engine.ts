// npm run bench:engine — the engine alone, through its TypeScript API, on a
// store file on the local disk (no FUSE). Prints a table and name=value lines.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { openStore } from '../index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const FILES = quick ? 2000 : 10000;
const SEQ_MIB = quick ? 64 : 512;
const COMMITS = quick ? 10000 : 100000;
/** Rounds of the throughput rows; the median is reported (this VM is noisy). */
const ROUNDS = Number(args[args.indexOf('--rounds') + 1]) || (quick ? 1 : 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => (xs.length > 1 ? ` (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})` : '');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mikofs-bench-engine-'));
const rows: [string, string, string][] = [];
const lines: string[] = [];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function smallFiles(round: number): Promise<number> {
  const e = await openStore(path.join(dir, `small-${round}.mikofs`));
  const body = crypto.randomBytes(1024);
  e.mkdir('/files');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) {
    if (i % 1000 === 0) e.mkdir(`/files/d${i / 1000}`);
    body.writeUInt32LE(i, 0);
    const fh = e.create(`/files/d${Math.floor(i / 1000)}/f${i}.txt`, 0o644);
    e.write(fh, body, 0);
    e.release(fh);
  }
  e.flush();
  const t = ms(t0);
  e.close();
  return FILES / (t / 1000);
}

/** What git does per object it writes: a temporary file created, written
 * and closed, linked to its final name, the temporary name unlinked. The
 * loop yields to the event loop now and then, so the group commit runs as
 * it does in a mount. Returns objects/s and us per link and per unlink. */
async function gitObjects(round: number): Promise<{ perS: number; linkUs: number; unlinkUs: number }> {
  const e = await openStore(path.join(dir, `objects-${round}.mikofs`));
  const body = crypto.randomBytes(300);
  e.mkdir('/objects');
  for (let i = 0; i < 256; i++) e.mkdir(`/objects/${i.toString(16).padStart(2, '0')}`);
  let linkNs = 0n, unlinkNs = 0n;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < FILES; i++) {
    if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    const d = `/objects/${(i % 256).toString(16).padStart(2, '0')}`;
    body.writeUInt32LE(i, 0);
    const fh = e.create(`${d}/tmp_obj_${i}`, 0o444);
    e.write(fh, body, 0);
    e.release(fh);
    const t1 = process.hrtime.bigint();
    e.link(`${d}/tmp_obj_${i}`, `${d}/${i.toString(16).padStart(38, '0')}`);
    const t2 = process.hrtime.bigint();
    e.unlink(`${d}/tmp_obj_${i}`);
    unlinkNs += process.hrtime.bigint() - t2;
    linkNs += t2 - t1;
  }
  e.flush();
  const t = ms(t0);
  e.close();
  return { perS: FILES / (t / 1000), linkUs: Number(linkNs) / 1e3 / FILES, unlinkUs: Number(unlinkNs) / 1e3 / FILES };
}

async function seqWrite(round: number): Promise<number> {
  const file = path.join(dir, `seq-${round}.mikofs`);
  const e = await openStore(file);
  const block = crypto.randomBytes(1 << 20);
  const t0 = process.hrtime.bigint();
  const fh = e.create('/big', 0o644);
  for (let i = 0; i < SEQ_MIB; i++) {
    block.writeUInt32LE(i, 0); // every MiB distinct: no dedup shortcut
    block.writeUInt32LE(i, 524288);
    e.write(fh, block, i * (1 << 20));
  }
  e.release(fh);
  e.flush();
  const t = ms(t0);
  e.close();
  fs.rmSync(file, { force: true });
  return SEQ_MIB / (t / 1000);
}

async function historyResolve(): Promise<void> {
  const e = await openStore(path.join(dir, 'history.mikofs'));
  e.mkdir('/a'); e.mkdir('/a/b'); e.mkdir('/a/b/c');
  e.writeFile('/a/b/c/target.txt', 'target');
  const oldest = e.headCommit;
  for (let i = 0; e.headCommit < oldest + COMMITS; i++) {
    const k = i % 200;
    if (i % 3 === 0) e.writeFile(`/a/b/c/f${k}`, `v${i}`);
    else if (i % 3 === 1) e.chmod('/a/b/c/target.txt', 0o600 | (i & 0o077));
    else e.writeFile(`/a/b/f${k}`, `v${i}`);
  }
  e.flush();
  const newest = e.headCommit;
  const time = (c: number) => {
    const N = 20000;
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) e.at(c).stat('/a/b/c/target.txt');
      best = Math.min(best, ms(t0) / N);
    }
    return best;
  };
  time(newest); time(oldest); // warm up
  const tNew = time(newest), tOld = time(oldest);
  e.close();
  const ratio = tNew / tOld;
  rows.push([`resolve path: newest vs oldest of ${COMMITS} commits`, `${(tNew * 1000).toFixed(1)} us vs ${(tOld * 1000).toFixed(1)} us (ratio ${ratio.toFixed(2)})`, '<= 2']);
  lines.push(`history_resolve_ratio=${ratio.toFixed(2)}`);
}

try {
  const files: number[] = [], seq: number[] = [], objs: Awaited<ReturnType<typeof gitObjects>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    files.push(await smallFiles(r));
    objs.push(await gitObjects(r));
    seq.push(await seqWrite(r));
  }
  rows.push([`create+write+close ${FILES} x 1 KiB`, `${median(files).toFixed(0)} files/s${spread(files)}`, '>= 20000']);
  lines.push(`files_per_s=${median(files).toFixed(0)}`);
  const o = objs.sort((x, y) => x.perS - y.perS)[Math.floor(objs.length / 2)];
  rows.push([`git-style objects (create, write, close, link, unlink) x ${FILES}`,
    `${o.perS.toFixed(0)} objects/s (link ${o.linkUs.toFixed(1)} us, unlink ${o.unlinkUs.toFixed(1)} us)`, '-']);
  lines.push(`git_objects_per_s=${o.perS.toFixed(0)}`, `link_us=${o.linkUs.toFixed(1)}`, `unlink_us=${o.unlinkUs.toFixed(1)}`);
  rows.push([`sequential write ${SEQ_MIB} MiB, one session`, `${median(seq).toFixed(0)} MB/s${spread(seq)}`, '>= 400']);
  lines.push(`seq_write_mb_s=${median(seq).toFixed(0)}`);
  await historyResolve();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
const w = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`mikofs engine benchmark (${quick ? 'quick' : 'full'}; median of ${ROUNDS} rounds; store on ${os.tmpdir()})\n\n`);
for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w)}  ${b.padEnd(44)}  target ${c}\n`);
process.stdout.write('\n' + lines.join('\n') + '\n');
