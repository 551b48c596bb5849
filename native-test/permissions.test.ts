// Permissions for a non-root user (nobody, via setpriv): the same script runs
// as that user on a plain directory and on a mount (with allow_other); the
// errors (EACCES, EPERM) and results must match.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCallerContext } from '../src/fuse/context.js';
import { mountFresh, sh, tempDir, useMounts } from './helpers/mount.js';

useMounts();

// As root: objects owned by root with various modes.
const SETUP = String.raw`
cd "$1"
mkdir pub && chmod 1777 pub && touch pub/rootfile
echo secret > secret && chmod 600 secret
echo public > public && chmod 644 public
/usr/bin/python3 -c "import os; os.setxattr('public', 'trusted.t', b'1'); os.setxattr('public', 'user.u', b'2')"
echo ww > ww && chmod 666 ww
mkdir closed && chmod 750 closed && echo x > closed/f
mkdir sg && chgrp 100 sg && chmod 2777 sg
echo s > suid && chmod 4777 suid
for f in sgid sgnx trunc otrunc; do echo s > $f; done
chmod 2777 sgid; chmod 2767 sgnx; chmod 4777 trunc otrunc
ln -s secret link-to-secret
`;

let scripts = 0;
/** Runs a script (as a file, with the directory as $1), as root or as nobody. */
async function runScript(script: string, dir: string, nobody = false): Promise<string> {
  const file = path.join(path.dirname(dir), `script-${scripts++}.sh`);
  await fsp.writeFile(file, script, { mode: 0o644 });
  const cmd = `bash ${file} ${dir}`;
  return sh(nobody ? `setpriv --reuid=65534 --regid=65534 --clear-groups ${cmd}` : cmd);
}

// As nobody, on root's objects.
const DENIED = String.raw`
cd "$1"
err() { "$@" 2>&1 | sed "s|$PWD/||g; s|^[a-z]*: ||"; echo "exit=$?"; }
umask 022
err ls
err touch x
err mkdir y
err cat secret
err cat link-to-secret
err cat public
err /usr/bin/python3 -c "import os; print(sorted(os.listxattr('public')))"
err sh -c 'echo no > public'
err sh -c 'echo yes >> ww'
err touch ww
err touch -d 2000-01-01 ww
err ls closed
err cat closed/f
err chmod 777 public
err chown 65534 public
err chgrp 65534 public
err rm pub/rootfile
err mv pub/rootfile pub/x
err rm secret
err ln -s x pub/../z
err truncate -s 0 public
err truncate -s 0 ww
cat ww
`;

// As nobody, creating and changing its own files.
const OWN = String.raw`
cd "$1"
err() { "$@" 2>&1 | sed "s|$PWD/||g; s|^[a-z]*: ||"; echo "exit=$?"; }
umask 027
echo mine > pub/mine; stat -c '%u %g %a' pub/mine
chmod 600 pub/mine; stat -c '%a' pub/mine
touch -d 2001-01-01 pub/mine; stat -c '%Y' pub/mine
err chgrp 0 pub/mine
err chown 0 pub/mine
mkdir pub/mydir; stat -c '%u %g %a' pub/mydir
ln -s mine pub/mylink; stat -c '%u %g' pub/mylink
mkfifo pub/myfifo; stat -c '%u %g %a %F' pub/myfifo
touch sg/f; stat -c '%u %g %a' sg/f
mkdir sg/d; stat -c '%u %g %a' sg/d
rm pub/mine; rmdir pub/mydir; rm pub/mylink pub/myfifo
err rmdir pub
`;

async function both(script: string): Promise<[string, string]> {
  const m = await mountFresh(['allow_other']);
  const plainRoot = await tempDir();
  const plain = path.join(plainRoot, 'plain');
  await fsp.mkdir(plain);
  try {
    for (const d of [m.dir, plainRoot]) await fsp.chmod(d, 0o755);
    await runScript(SETUP, plain);
    await runScript(SETUP, m.mnt);
    return [await runScript(script, plain, true), await runScript(script, m.mnt, true)];
  } finally {
    await fsp.rm(plainRoot, { recursive: true, force: true });
  }
}

describe('permissions for a non-root user', () => {
  it('EACCES and EPERM where Linux gives them', async () => {
    const [expected, actual] = await both(DENIED);
    expect(actual.split('\n')).toEqual(expected.split('\n'));
    expect(actual).toContain('Permission denied');
    expect(actual).toContain('Operation not permitted');
    expect(actual).toContain("['user.u']"); // trusted.* names are root's to see
  });

  it('writing to or truncating a setuid file as another user clears setuid (and group-executable setgid)', async () => {
    const [expected, actual] = await both(`cd "$1"
      echo w >> suid; echo w >> sgid; echo w >> sgnx; truncate -s 1 trunc; : > otrunc
      stat -c '%n %a' suid sgid sgnx trunc otrunc
      `);
    expect(actual).toContain('suid 777');
    expect(actual).toBe(expected);
  });

  it('any write removes file capabilities (security.capability), by root too', async () => {
    // A binary patched in place kept its capabilities through the mount.
    const script = String.raw`cd "$1"
      cap() { /usr/bin/python3 -c "
import os, struct, sys
for f in sys.argv[2:]:
    if sys.argv[1] == 'set': os.setxattr(f, 'security.capability', struct.pack('<5I', 0x02000001, 1 << 13, 0, 0, 0))
    else:
        try: print(f, len(os.getxattr(f, 'security.capability')))
        except OSError as e: print(f, e.strerror)" "$@"; }
      for f in dd pw app kept; do printf 'binary' > $f; done
      cap set dd pw app kept
      printf x | dd of=dd conv=notrunc status=none
      /usr/bin/python3 -c "import os; fd = os.open('pw', os.O_RDWR); os.pwrite(fd, b'y', 2); os.close(fd)"
      echo z >> app
      cap get dd pw app kept
      `;
    const m = await mountFresh();
    const plainRoot = await tempDir();
    try {
      const expected = await runScript(script, plainRoot);
      expect(expected).toBe('dd No data available\npw No data available\napp No data available\nkept 20\n');
      expect(await runScript(script, m.mnt)).toBe(expected);
    } finally {
      await fsp.rm(plainRoot, { recursive: true, force: true });
    }
  });

  // Ownership of new files needs the caller's uid/gid from the binding
  // (fuse.context()); without it they belong to the mounting user.
  if (hasCallerContext) {
    it('files created by another user are owned by it (and setgid directories pass on their group)', async () => {
      const [expected, actual] = await both(OWN);
      expect(actual.split('\n')).toEqual(expected.split('\n'));
      expect(actual).toContain('65534 65534 640');
    });
  } else {
    it.todo('files created by another user are owned by it (needs the native caller context)');
  }
});
