#!/usr/bin/env node
// Time travel rows of `npm run bench` (mikofs only; run by run.mjs, or alone):
//   reading 1,000 files as of an old commit vs at the newest   (target: at most 2x)
//   ls -lR of /.versions/<t>/ vs the live tree                  (target: at most 2x)
//   rollback of the whole tree (10,000 files) to a label        (target: under 1 s)
// Reads are cold (caches dropped before each) so both sides go through FUSE.
// Usage: node scripts/bench/history.mjs [--quick] [--files N] [--tmpdir DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const FILES = Number(args[args.indexOf('--files') + 1]) || (quick ? 2000 : 10000);
const READS = Math.min(1000, FILES);
const ROUNDS = quick ? 1 : 3;

const sh = (cmd, opts = {}) => execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], ...opts }).toString();
const mikofs = (...a) => execFileSync(process.execPath, [CLI, ...a], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const dropCaches = () => { try { fs.writeFileSync('/proc/sys/vm/drop_caches', '3'); } catch { /* not root: warm */ } };
const time = (cmd, cwd) => { const t0 = process.hrtime.bigint(); sh(cmd, { cwd }); return Number(process.hrtime.bigint() - t0) / 1e9; };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!fs.existsSync(CLI)) { console.log('history bench: dist/ is not built (npm run build); skipped'); process.exit(0); }
// --tmpdir: where the store and mount go (run.mjs passes its fresh file system).
const base = args.includes('--tmpdir') ? args[args.indexOf('--tmpdir') + 1] : os.tmpdir();
const dir = fs.mkdtempSync(path.join(base, 'mikofs-bench-history-'));
const store = path.join(dir, 's.mikofs'), mnt = path.join(dir, 'mnt');
let mounted = false;
const cleanup = () => {
  if (mounted) { spawnSync(process.execPath, [CLI, 'umount', mnt]); mounted = false; }
  fs.rmSync(dir, { recursive: true, force: true });
};
process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('SIGTERM', () => { cleanup(); process.exit(143); });

try {
  fs.mkdirSync(mnt);
  mikofs('init', store);
  mikofs('mount', store, mnt);
  mounted = true;
  // A tree of FILES files of 1 KiB in directories of 100, written through the mount.
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  sh(`cd ${src} && mkdir tree && cd tree && for d in $(seq 0 ${Math.ceil(FILES / 100) - 1}); do mkdir d$d; done && ` +
    `node -e 'const fs=require("fs"),c=require("crypto");for(let i=0;i<${FILES};i++)fs.writeFileSync("d"+Math.floor(i/100)+"/f"+i,c.randomBytes(1024))'`);
  sh(`tar -C ${src} -cf - tree | tar -C ${mnt} -xf -`);
  const list = Array.from({ length: READS }, (_, i) => `tree/d${Math.floor(i / 100)}/f${i}`);
  fs.writeFileSync(path.join(dir, 'list'), list.join('\n') + '\n');
  mikofs('label', 'old', '--store', mnt);
  // The newest state differs from the old one in every file read.
  sh(`while IFS= read -r f; do head -c 1024 /dev/urandom > "$f"; done < ${dir}/list`, { cwd: mnt });
  const readAll = (prefix) => `xargs -a ${dir}/list -I{} cat ${prefix}{} > /dev/null`;
  const newest = [], old = [], lsLive = [], lsOld = [];
  for (let r = 0; r < ROUNDS; r++) {
    dropCaches(); newest.push(time(readAll(''), mnt));
    dropCaches(); old.push(time(readAll('.versions/old/'), mnt));
    time('ls -lR tree > /dev/null', mnt); lsLive.push(time('ls -lR tree > /dev/null', mnt));
    time('ls -lR .versions/old/tree > /dev/null', mnt); lsOld.push(time('ls -lR .versions/old/tree > /dev/null', mnt));
  }
  // Rollback: change a tenth of the tree in several ways, then return to the label.
  sh(`rm -rf tree/d1 && mkdir tree/new && for i in $(seq 0 99); do echo n > tree/new/f$i; done && ` +
    `for f in tree/d2/*; do echo changed >> "$f"; done && mv tree/d3 tree/d3moved`, { cwd: mnt });
  const t0 = process.hrtime.bigint();
  const rb = JSON.parse(mikofs('rollback', '--to', 'old', '--store', mnt, '--json'));
  const rollbackWall = Number(process.hrtime.bigint() - t0) / 1e9;
  // The live tree after the rollback: the label's state, where only the
  // files read above differ from the source (they were overwritten after it).
  const diffOk = spawnSync('diff', ['-rq', path.join(mnt, '.versions', 'old', 'tree'), path.join(mnt, 'tree')]).status === 0
    && spawnSync('diff', ['-rq', path.join(src, 'tree'), path.join(mnt, 'tree')]).status === 0;
  const r = {
    old_read_ratio: median(old) / median(newest),
    ls_versions_ratio: median(lsOld) / median(lsLive),
    rollback_s: rollbackWall,
  };
  console.log(`\nmikofs time travel (${FILES} files, ${READS} read, median of ${ROUNDS}; reads cold)`);
  console.log(`  read ${READS} files at the newest commit      ${median(newest).toFixed(3)} s`);
  console.log(`  read them at an old commit (.versions/old)   ${median(old).toFixed(3)} s   ratio ${r.old_read_ratio.toFixed(2)}   goal <= 2`);
  console.log(`  ls -lR live tree (warm)                     ${median(lsLive).toFixed(3)} s`);
  console.log(`  ls -lR .versions/old/tree (warm)            ${median(lsOld).toFixed(3)} s   ratio ${r.ls_versions_ratio.toFixed(2)}   goal <= 2`);
  console.log(`  rollback of ${FILES} files to a label        ${rollbackWall.toFixed(3)} s wall (CLI start included), ${rb.elapsedMs} ms in the mount   goal < 1 s`);
  console.log(`  state after rollback equals the label: ${diffOk}`);
  console.log(`history.old_read_ratio=${r.old_read_ratio.toFixed(2)}  goal<=2  ${r.old_read_ratio <= 2 ? 'PASS' : 'FAIL'}`);
  console.log(`history.ls_versions_ratio=${r.ls_versions_ratio.toFixed(2)}  goal<=2  ${r.ls_versions_ratio <= 2 ? 'PASS' : 'FAIL'}`);
  console.log(`history.rollback_s=${r.rollback_s.toFixed(3)}  goal<1  ${r.rollback_s < 1 && diffOk ? 'PASS' : 'FAIL'}`);
  console.log(`history.rollback_mount_ms=${rb.elapsedMs}`);
} finally {
  cleanup();
}
