// Benchmark fixtures (generated once per run on the local disk) and the workload definitions.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { shOk, sleep, q } from './util.mjs';

const DROP_CACHES = 'sync; echo 3 > /proc/sys/vm/drop_caches';
const GIT = 'git -c gc.auto=0 -c maintenance.auto=false';
const FIXED_TIME = 1600000000; // 2020-09-13, for tar mtimes and git dates

/** Environment for every workload: quiet, deterministic git that ignores the user's config. */
export function benchEnv(tmp) {
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, '.gitconfig'),
    '[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n' +
    '[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n[safe]\n\tdirectory = *\n[advice]\n\tdetachedHead = false\n');
  const date = `${FIXED_TIME} +0000`;
  return {
    ...process.env,
    HOME: home,
    LC_ALL: 'C',
    TZ: 'UTC',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(home, '.gitconfig'),
    GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com', GIT_COMMITTER_DATE: date,
    GIT_TERMINAL_PROMPT: '0',
  };
}

/** base64 text of exactly `bytes` bytes (bytes % 4 == 0), in lines: incompressible, never repeated. */
function randText(bytes) {
  const raw = crypto.randomBytes((bytes / 4) * 3).toString('base64');
  let out = '';
  for (let i = 0; i < raw.length; i += 64) out += raw.slice(i, i + 63) + '\n';
  return out;
}

function treePath(i) {
  return `d${String(Math.floor(i / 100)).padStart(3, '0')}/f${String(i).padStart(5, '0')}.txt`;
}

/**
 * Generates, under `dir`: an incompressible random source file (sizeMiB), a tarball of `files`
 * 1 KiB files (tree/dNNN/fNNNNN.txt), a bare git repository with `commits` commits (via
 * git fast-import), and the list of files the old-version read workload reads.
 */
export async function makeFixtures(dir, cfg, env) {
  fs.mkdirSync(dir, { recursive: true });
  const fx = { dir, sizeMiB: cfg.sizeMiB, files: cfg.files, commits: cfg.commits };

  // 1. Random source file, fresh random bytes for every MiB (no repeated block for a dedup store).
  fx.src = path.join(dir, 'src.bin');
  const fd = fs.openSync(fx.src, 'w');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i < cfg.sizeMiB; i++) { crypto.randomFillSync(buf); fs.writeSync(fd, buf); }
  fs.closeSync(fd);

  // 2. Tarball of N files of 1 KiB, 100 per directory, fixed mtimes.
  const gen = path.join(dir, 'gen');
  const treeDir = path.join(gen, 'tree');
  const paths = [];
  for (let i = 0; i < cfg.files; i++) {
    const p = treePath(i);
    if (i % 100 === 0) fs.mkdirSync(path.join(treeDir, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(treeDir, p), randText(1024));
    paths.push(p);
  }
  fx.tar = path.join(dir, 'files.tar');
  await shOk(`tar -cf ${q(fx.tar)} --sort=name --mtime=@${FIXED_TIME} --owner=0 --group=0 --numeric-owner -C ${q(gen)} tree && rm -rf ${q(gen)}`, { env });

  // 3. Files read "as they were at an old commit".
  fx.oldCount = Math.min(1000, cfg.files);
  const pick = paths.slice(0, fx.oldCount);
  fx.oldList = path.join(dir, 'old-list.txt');
  fs.writeFileSync(fx.oldList, pick.join('\n') + '\n');
  fx.oldListGit = path.join(dir, 'old-list-git.txt');
  fs.writeFileSync(fx.oldListGit, pick.map((p) => `HEAD:${p}`).join('\n') + '\n');

  // 4. A git repository with many commits, through git fast-import.
  fx.repo = path.join(dir, 'repo.git');
  const fi = path.join(dir, 'repo.fi');
  const out = fs.openSync(fi, 'w');
  const baseFiles = 500;
  let nfiles = baseFiles;
  const fileName = (i) => `src/m${String(i % 25).padStart(2, '0')}/file${String(i).padStart(4, '0')}.txt`;
  const w = (s) => fs.writeSync(out, s);
  const data = (s) => w(`data ${Buffer.byteLength(s)}\n${s}\n`);
  for (let c = 0; c < cfg.commits; c++) {
    const t = FIXED_TIME + c * 60;
    w(`commit refs/heads/main\nauthor Bench <bench@example.com> ${t} +0000\ncommitter Bench <bench@example.com> ${t} +0000\n`);
    data(c === 0 ? 'initial import\n' : `change ${c}\n`);
    const touched = [];
    if (c === 0) for (let i = 0; i < baseFiles; i++) touched.push(i);
    else {
      for (let k = 0; k < 3; k++) touched.push(crypto.randomInt(nfiles));
      if (c % 4 === 0) touched.push(nfiles++);
    }
    for (const i of new Set(touched)) {
      w(`M 100644 inline ${fileName(i)}\n`);
      data(randText(1024));
    }
  }
  fs.closeSync(out);
  await shOk(`git init -q --bare --initial-branch=main ${q(fx.repo)} && cd ${q(fx.repo)} && ${GIT} fast-import --quiet < ${q(fi)} && ${GIT} repack -adq && rm -f ${q(fi)}`, { env });
  fx.repoFiles = nfiles;
  return fx;
}

// ---------- workloads ----------
// Each workload: id, unit ('MiB/s' | 'files/s' | 's'), higher (is a higher value better),
// needs (workloads that must have run for the same target earlier in the round),
// rss (sample the server's RSS), prepare(w) untimed setup (may return { skip }),
// cmd(w) the timed bash command, amount(fx) for throughput units. w = { t, fx, ran, env, note }.

const R = (w) => q(w.t.root);

const hotRead = (w) => `dd if=${R(w)}/big.bin of=/dev/null bs=1M status=none`;
const lsR = (w) => `ls -lR ${R(w)}/tree > /dev/null`;
const find = (w) => `find ${R(w)}/tree > /dev/null`;

export const WORKLOADS = [
  {
    id: 'seq_write', unit: 'MiB/s', higher: true, needs: [], rss: true, amount: (fx) => fx.sizeMiB,
    desc: 'dd of the random source file, bs=1M',
    prepare: (w) => `cat ${q(w.fx.src)} > /dev/null; rm -f ${R(w)}/big.bin`,
    cmd: (w) => `dd if=${q(w.fx.src)} of=${R(w)}/big.bin bs=1M count=${w.fx.sizeMiB} iflag=fullblock status=none`,
  },
  {
    id: 'seq_write_fsync', unit: 'MiB/s', higher: true, needs: [], amount: (fx) => fx.sizeMiB,
    desc: 'same, conv=fsync',
    prepare: (w) => `cat ${q(w.fx.src)} > /dev/null; rm -f ${R(w)}/big_fsync.bin`,
    cmd: (w) => `dd if=${q(w.fx.src)} of=${R(w)}/big_fsync.bin bs=1M count=${w.fx.sizeMiB} iflag=fullblock conv=fsync status=none`,
    after: (w) => `rm -f ${R(w)}/big_fsync.bin`,
  },
  {
    id: 'seq_read_cold', unit: 'MiB/s', higher: true, needs: ['seq_write'], amount: (fx) => fx.sizeMiB,
    desc: 'dd the written file after drop_caches',
    prepare: () => DROP_CACHES,
    cmd: hotRead,
  },
  {
    id: 'seq_read_hot', unit: 'MiB/s', higher: true, needs: ['seq_write'], amount: (fx) => fx.sizeMiB,
    desc: 'dd it again (cached)',
    prepare: (w) => (w.last === 'seq_read_cold' ? null : hotRead(w)),
    cmd: hotRead,
  },
  {
    id: 'tar_x', unit: 'files/s', higher: true, needs: [], rss: true, amount: (fx) => fx.files,
    desc: 'tar -xf of N 1 KiB files',
    prepare: (w) => `rm -rf ${R(w)}/tree`,
    cmd: (w) => `tar -xf ${q(w.fx.tar)} -C ${R(w)}`,
  },
  { id: 'ls_lR_cold', unit: 's', higher: false, needs: ['tar_x'], desc: 'ls -lR of the tree after drop_caches', prepare: () => DROP_CACHES, cmd: lsR },
  { id: 'ls_lR_warm', unit: 's', higher: false, needs: ['tar_x'], desc: 'ls -lR again', prepare: (w) => (w.last === 'ls_lR_cold' ? null : lsR(w)), cmd: lsR },
  { id: 'find_cold', unit: 's', higher: false, needs: ['tar_x'], desc: 'find of the tree after drop_caches', prepare: () => DROP_CACHES, cmd: find },
  { id: 'find_warm', unit: 's', higher: false, needs: ['tar_x'], desc: 'find again', prepare: (w) => (w.last === 'find_cold' ? null : find(w)), cmd: find },
  {
    id: 'git_commit', unit: 's', higher: false, needs: ['tar_x'],
    desc: 'git init && git add -A && git commit of the tree',
    prepare: (w) => `rm -rf ${R(w)}/tree/.git`,
    cmd: (w) => `cd ${R(w)}/tree && ${GIT} init -q && ${GIT} add -A && ${GIT} commit -q -m 'bench import'`,
  },
  {
    id: 'git_status', unit: 's', higher: false, needs: ['git_commit'],
    desc: 'git status in the committed tree',
    cmd: (w) => `cd ${R(w)}/tree && ${GIT} status --porcelain > /dev/null`,
  },
  {
    // No goal in the issue; here because it once took 45 times the disk's
    // time on mikofs (an atime update per closed reader scanned every live
    // inode), which none of the other rows showed.
    id: 'git_gc', unit: 's', higher: false, needs: ['git_commit'],
    desc: 'git gc of the committed tree (packs its loose objects)',
    cmd: (w) => `cd ${R(w)}/tree && ${GIT} gc -q`,
  },
  {
    id: 'git_clone', unit: 's', higher: false, needs: [],
    desc: 'git clone --no-local of the generated repository',
    prepare: (w) => `rm -rf ${R(w)}/clone`,
    cmd: (w) => `${GIT} clone -q --no-local ${q(w.fx.repo)} ${R(w)}/clone`,
  },
  {
    id: 'old_read', unit: 's', higher: false, needs: ['tar_x', 'git_commit'],
    desc: 'read 1,000 files as of an old version (mikofs: /.versions/<time>/, others: git cat-file --batch)',
    prepare: async (w) => {
      const overwrite = `cd ${R(w)}/tree && while IFS= read -r f; do printf 'changed\\n' > "$f"; done < ${q(w.fx.oldList)}`;
      if (w.t.name !== 'mikofs') return overwrite;
      const vroot = path.join(w.t.root, '.versions');
      if (!fs.existsSync(vroot)) return { skip: 'time travel not available (<mnt>/.versions does not exist)' };
      await sleep(1100);
      const when = new Date();
      await sleep(1100);
      await shOk(overwrite, { env: w.env });
      const first = fs.readFileSync(w.fx.oldList, 'utf8').split('\n')[0];
      const secs = Math.floor(when.getTime() / 1000);
      const cands = [when.toISOString(), new Date(secs * 1000).toISOString().replace('.000Z', 'Z'), String(secs), String(when.getTime()), `@${secs}`];
      for (const c of cands) {
        const f = path.join(vroot, c, 'tree', first);
        if (fs.existsSync(f)) {
          if (fs.readFileSync(f, 'utf8') === 'changed\n') w.note(`mikofs: .versions/${c}/ shows the current content, not the old one`);
          w.t.versionDir = path.join(vroot, c);
          return null;
        }
      }
      let entries = [];
      try { entries = fs.readdirSync(vroot).slice(0, 5); } catch { /* unreadable */ }
      return { skip: `no .versions/<time>/ name form matched (tried ${cands.join(', ')}; listing: ${entries.join(', ') || 'empty'})` };
    },
    cmd: (w) => (w.t.name === 'mikofs'
      ? `cd ${q(path.join(w.t.versionDir, 'tree'))} && xargs -d '\\n' -a ${q(w.fx.oldList)} cat > /dev/null`
      : `cd ${R(w)}/tree && ${GIT} cat-file --batch < ${q(w.fx.oldListGit)} > /dev/null`),
  },
];

export const WORKLOAD_IDS = WORKLOADS.map((w) => w.id);

/** The workloads to run, in order, for a selection: the selection plus its prerequisites (untimed). */
export function plan(only) {
  const want = new Set(only ?? WORKLOAD_IDS);
  const need = new Set(want);
  let grew = true;
  while (grew) {
    grew = false;
    for (const w of WORKLOADS) if (need.has(w.id)) for (const n of w.needs) if (!need.has(n)) { need.add(n); grew = true; }
  }
  return WORKLOADS.filter((w) => need.has(w.id)).map((w) => ({ w, record: want.has(w.id) }));
}
