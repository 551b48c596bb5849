// git on a mount: a repository's whole life (init, commits, branches, merge,
// rebase, stash, gc, fsck), and a clone of a repository with history. With
// fixed dates, commit ids are deterministic, so the mount must produce the
// very same history as a plain directory.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV, mountFresh, sh, tempDir, useMounts } from './helpers/mount.js';

useMounts();

function gitEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...ENV, HOME: home, GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com',
    GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  };
}

const LIFE = String.raw`
git init -q -b main repo
cd repo
git config gc.auto 0
for i in $(seq 1 60); do mkdir -p dir$((i % 6)); echo "line $i" > dir$((i % 6))/f$i.txt; done
head -c 200000 /dev/urandom > /dev/null
seq 1 50000 > big.txt
git add -A && git commit -qm initial
git checkout -qb feature
echo feature >> dir1/f1.txt; git rm -q dir2/f2.txt; git mv dir3/f3.txt moved.txt
git commit -qam feature
git checkout -q main
echo main > main.txt; sed -i 's/^1$/one/' big.txt
git add -A && git commit -qm main-change
git merge -q --no-edit feature
git checkout -qb topic HEAD~1
echo topic > topic.txt; git add topic.txt; git commit -qm topic
git rebase -q main
echo dirty >> dir4/f4.txt; echo new > untracked.txt
git stash -q -u
git status --porcelain | wc -l
git stash pop -q
git add -A; git commit -qm after-stash
git checkout -q main; git merge -q --ff-only topic
git branch -q -d feature topic
git tag -a v1 -m v1
git gc -q --prune=now
git fsck --full --strict 2>&1
git count-objects -v | grep -E '^(count|in-pack|packs):'
git log --format='%H %s' --all
git status --porcelain
git ls-files -s | git hash-object --stdin
`;

describe('git on a mount', () => {
  it('init, commit, branch, checkout, merge, rebase, stash, gc, fsck, log: same history as on a plain directory', async () => {
    const m = await mountFresh();
    const home = await tempDir();
    const plain = await tempDir();
    try {
      const expected = await sh(LIFE, plain, gitEnv(home));
      const actual = await sh(LIFE, m.mnt, gitEnv(home));
      expect(actual).toBe(expected);
      expect(actual).toContain(' after-stash\n');
      // Still a sound repository after a remount (read back from the store).
      await m.remount();
      const again = await sh('git fsck --full --strict 2>&1 && git status --porcelain && git log -1 --format=%H', path.join(m.mnt, 'repo'), gitEnv(home));
      expect(again).toBe(expected.split('\n').find((l) => / after-stash$/.test(l))!.split(' ')[0] + '\n');
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
      await fsp.rm(plain, { recursive: true, force: true });
    }
  });

  it('clone of a local repository with history: fsck and a clean status', async () => {
    const m = await mountFresh();
    const home = await tempDir();
    const src = await tempDir();
    const env = gitEnv(home);
    try {
      await sh(String.raw`
        git init -q -b main .
        for c in $(seq 1 30); do
          for i in $(seq 1 10); do mkdir -p d$((i % 4)); echo "$c $i" >> d$((i % 4))/f$i; done
          head -c $((c * 1000)) /dev/urandom > bin$((c % 3)).dat
          [ $((c % 7)) = 0 ] && git rm -q --cached -r d1 > /dev/null && rm -r d1
          git add -A; GIT_COMMITTER_DATE="2024-01-0$((c % 9 + 1))T00:00:00Z" git commit -qm "commit $c"
        done
        git gc -q
        for c in $(seq 31 35); do echo $c > loose$c; git add -A; git commit -qm "commit $c"; done`, src, env);
      const want = await sh('git log --format=%H --all && git ls-files -s | git hash-object --stdin', src, env);
      // --no-hardlinks copies the object files; --no-local goes through the
      // pack protocol: index-pack reads back the pack it is still writing.
      for (const [name, how] of [['clone', '--no-hardlinks'], ['clone-pack', '--no-local']]) {
        const dst = path.join(m.mnt, name);
        await sh(`git clone -q ${how} ${src} ${dst}`, m.dir, env);
        const fsck = await sh('git fsck --full --strict 2>&1; echo "fsck=$?"', dst, env);
        expect(fsck.trim().split('\n').pop()).toBe('fsck=0');
        expect(await sh('git status --porcelain', dst, env)).toBe('');
        expect(await sh('git log --format=%H --all && git ls-files -s | git hash-object --stdin', dst, env)).toBe(want);
        expect(await sh(`diff -r -x .git ${src} ${dst} && echo same`, m.dir, env)).toBe('same\n');
      }
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
      await fsp.rm(src, { recursive: true, force: true });
    }
  });
});
