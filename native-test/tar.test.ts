// tar -x of a 10,000-file tree onto a mount; the tree must be identical
// (diff -r for content, tar -d for modes, times, links), also after an
// unmount and a remount (i.e. as read back from the store).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountFresh, sh, tempDir, useMounts } from './helpers/mount.js';

useMounts();

// 10,000 regular files in 200 directories (sizes 0..40 KiB, a few of 1 MiB),
// plus symlinks, hard links, empty directories and varied modes and times.
const MAKE_TREE = String.raw`
python3 - "$1" <<'EOF'
import os, random, sys
random.seed(7)
root = sys.argv[1]
n = 0
for a in range(20):
    for b in range(10):
        d = os.path.join(root, f"dir{a:02d}", f"sub{b}")
        os.makedirs(d)
        for k in range(50):
            p = os.path.join(d, f"file{n:05d}.dat")
            size = 1 << 20 if n % 997 == 0 else random.choice([0, 1, 100, 4095, 4096, 4097, random.randint(0, 40960)])
            with open(p, "wb") as f:
                f.write(random.randbytes(size))
            os.chmod(p, random.choice([0o644, 0o600, 0o755, 0o444, 0o640]))
            t = 1_600_000_000 + n * 37
            os.utime(p, ns=(t * 10**9 + 123456789, t * 10**9 + 987654321))
            n += 1
        os.symlink(f"file{n-1:05d}.dat", os.path.join(d, "latest"))
        os.link(os.path.join(d, f"file{n-50:05d}.dat"), os.path.join(d, "first-link"))
    os.makedirs(os.path.join(root, f"dir{a:02d}", "empty"))
    os.chmod(os.path.join(root, f"dir{a:02d}", "empty"), 0o700)
print(n)
EOF
`;

describe('tar onto a mount', () => {
  it('extracts 10,000 files identically, also after a remount', { timeout: 300000 }, async () => {
    const m = await mountFresh();
    const work = await tempDir();
    try {
      const src = path.join(work, 'src');
      await fsp.mkdir(src);
      await fsp.writeFile(path.join(work, 'make.sh'), MAKE_TREE);
      expect(await sh(`bash make.sh ${src}`, work)).toBe('10000\n');
      await sh(`tar -cf tree.tar -C src .`, work);
      await sh(`tar -xpf ${work}/tree.tar -C ${m.mnt}`);
      const check = async () => {
        await sh(`diff -r --no-dereference ${src} ${m.mnt}`);
        // tar -d compares mode, uid, gid, mtime, size, content and link targets.
        await sh(`tar -df ${work}/tree.tar -C ${m.mnt}`);
        expect(await sh(`find ${m.mnt} -type f | wc -l`)).toBe('10200\n');
        expect(await sh(`find ${m.mnt} -type f -links 2 | wc -l`)).toBe('400\n');
      };
      await check();
      await m.remount();
      await check();
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  });
});
