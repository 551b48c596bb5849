// Editor save patterns on a mount. Every saved state must be readable
// afterwards: the current content at the end, and every version in the
// store's history (checked through the engine after unmount), never a
// partial or empty file in between.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { mountFresh, run, sh, useMounts } from './helpers/mount.js';

useMounts();

/** Distinct successive contents of a file through the store's history.
 * A file that has just been created is empty until its creator writes and
 * closes it (as on any filesystem); that empty state is left out. */
async function history(store: string, file: string): Promise<string[]> {
  const e = await openStore(store, { readonly: true });
  try {
    const out: string[] = [];
    let created = true;
    for (let c = 1; c <= e.headCommit; c++) {
      let text: string | null;
      try { text = e.at(c).readFile(file).toString(); } catch { text = null; }
      if (text === null) { created = true; continue; }
      if (text === '' && created) continue;
      created = false;
      if (out[out.length - 1] !== text) out.push(text);
    }
    return out;
  } finally { e.close(); }
}

const versions = (name: string) => [1, 2, 3, 4].map((v) => `${name} version ${v}\n`.repeat(200 * v));

// Each pattern saves versions 2..4 of a file that starts at version 1, the
// way an editor does, using plain syscalls.
const SAVE = String.raw`
const fs = require('fs');
const [dir, pattern, ...texts] = process.argv.slice(1);
const f = dir + '/' + pattern + '.txt';
fs.writeFileSync(f, texts[0]);
for (const text of texts.slice(1)) {
  if (pattern === 'rename') {
    // write a temp file, fsync, rename it over the original (gedit, VS Code, sed -i)
    const tmp = dir + '/.' + pattern + '.txt.swp';
    const fd = fs.openSync(tmp, 'wx', 0o644);
    fs.writeSync(fd, text); fs.fsyncSync(fd); fs.closeSync(fd);
    fs.renameSync(tmp, f);
  } else if (pattern === 'backup-rewrite') {
    // copy to a backup, then truncate and rewrite in place (vim's backupcopy=yes)
    fs.copyFileSync(f, f + '~');
    const fd = fs.openSync(f, 'w');
    for (let i = 0; i < text.length; i += 1000) fs.writeSync(fd, text.slice(i, i + 1000));
    fs.fsyncSync(fd); fs.closeSync(fd);
  } else if (pattern === 'rename-backup') {
    // rename the original to a backup, write a new file (emacs)
    fs.renameSync(f, f + '~');
    fs.writeFileSync(f, text);
  } else if (pattern === 'ftruncate') {
    // open read-write, ftruncate, write at 0 (some editors, databases)
    const fd = fs.openSync(f, 'r+');
    fs.ftruncateSync(fd, 0); fs.writeSync(fd, text, 0); fs.closeSync(fd);
  }
  if (fs.readFileSync(f, 'utf8') !== text) throw new Error('read back differs');
}
`;

describe('editor save patterns', () => {
  for (const pattern of ['rename', 'backup-rewrite', 'rename-backup', 'ftruncate']) {
    it(`${pattern}: every saved state is readable, none partial`, async () => {
      const m = await mountFresh();
      const texts = versions(pattern);
      const r = await run(process.execPath, ['-e', SAVE, m.mnt, pattern, ...texts]);
      expect(r.stderr).toBe('');
      expect(await fsp.readFile(m.path(`${pattern}.txt`), 'utf8')).toBe(texts[3]);
      const backup = pattern === 'backup-rewrite' || pattern === 'rename-backup';
      if (backup) expect(await fsp.readFile(m.path(`${pattern}.txt~`), 'utf8')).toBe(texts[2]);
      await m.umount();
      expect(await history(m.store, `/${pattern}.txt`)).toEqual(texts);
      if (backup) expect(await history(m.store, `/${pattern}.txt~`)).toEqual(texts.slice(0, 3));
      expect(path.basename(m.store)).toBe('store.mikofs');
    });
  }
});

describe('a rename over a file that is open', () => {
  it('is one change: no state in history lacks the name, and a rename that fails removes nothing (found 2026-12-05)', async () => {
    // The open file was first hidden (an unlink, a commit of its own), then
    // the rename made another: history had a state without cfg, and a
    // rollback to it removed the file. A rename that fails leaves it.
    const m = await mountFresh();
    const out = await sh(`echo old > cfg
      exec 7<cfg
      echo new > cfg.tmp && mv cfg.tmp cfg
      cat <&7
      exec 7<&-
      mkdir dd
      exec 8<cfg
      python3 -c "import os
try: os.rename('dd', 'cfg')
except OSError as e: print(e.strerror)"
      exec 8<&-
      cat cfg; ls -A`, m.mnt);
    expect(out).toBe('old\nNot a directory\nnew\ncfg\ndd\n');
    await m.umount();
    const e = await openStore(m.store, { readonly: true });
    try {
      const first = [...Array(e.headCommit).keys()].map((i) => i + 1).find((c) => e.at(c).exists('/cfg'))!;
      for (let c = first; c <= e.headCommit; c++) expect(e.at(c).exists('/cfg'), `commit ${c}`).toBe(true);
      expect(e.readFile('/cfg').toString()).toBe('new\n');
    } finally { e.close(); }
  });
});
