// The same coreutils/shell script runs in a plain temp directory (ext4/tmpfs)
// and on a mount; the outputs must match once what must differ is normalized
// (inode numbers are compared as "same"/"different", directory sizes and
// block counts are left out, df numbers are masked).
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountFresh, sh, tempDir, useMounts } from './helpers/mount.js';

useMounts();

// Each line of the script's output is compared. Commands that must fail print
// their error (the path prefix is stripped).
const SCRIPT = String.raw`
set -uo pipefail
cd "$1"
err() { "$@" 2>&1 | sed "s|$PWD/||g; s|^[a-z]*: ||"; echo "exit=$?"; }

echo hello > a; echo world >> a
printf 'first version, long' > b; printf 'short' > b
seq 1 2000 > c; truncate -s 100 c; truncate -s 70000 c
printf 'ABCDEFGHIJ' > m; printf 'xy' | dd of=m bs=1 seek=3 conv=notrunc status=none
head -c 300000 /dev/zero | tr '\0' 'z' > big; printf 'tail' >> big
mkdir -p d/e/f; echo x > d/e/f/g; chmod 640 d/e/f/g
touch -d '2001-02-03 04:05:06.789012345' d/e/f/g
ln d/e/f/g d/e/hard-g; ln -s ../a d/sym-a
cp -a d d2
ln a hard; ln -s a soft; ln -s d/e dirlink
mv b b2; mv d2 d3; mv -f a a-moved; mv a-moved a
mkfifo fifo
mkdir -p r/s/t; touch r/s/t/u r/s/v; rm -r r
install -m 751 /dev/null inst
sort -r -o sorted a; sed -i 's/hello/HELLO/' sorted
chmod 755 a; chmod g+s,u+s c; chmod 1777 d
touch -d '2010-05-06 07:08:09' a
touch -m -d '2011-01-01 00:00:00' b2; touch -a -d '2012-01-01 00:00:00' b2
cp --sparse=always c c-sparse
cat a hard > both; cat big | wc -c
echo "--- errors"
err mkdir d
err rmdir d
err rm d
err cat nothing
err ln a hard
err mv d d/e/inside
err rmdir a
err touch d/e/f/g/under
err ln -s '' empty-target
err mkdir -p a/b
err truncate -s 1 d
echo "--- listing"
find . | sort
echo "--- types"
find . -mindepth 1 | sort | while read -r f; do
  t=$(stat -c %F "$f")
  if [ "$t" = directory ]; then stat -c "%n %F %a %h" "$f"; else stat -c "%n %F %a %h %s" "$f"; fi
done
echo "--- times"
stat -c '%n %y' d/e/f/g d3/e/f/g a
stat -c '%n %y %x' b2
echo "--- content"
cat a hard both sorted b2; echo; readlink soft dirlink d/sym-a d3/sym-a
cat dirlink/f/g; cat d3/e/hard-g
md5sum c c-sparse m big
od -c m
echo "--- links"
same() { if [ "$(stat -c %i "$1")" = "$(stat -c %i "$2")" ]; then echo "$1 $2 same"; else echo "$1 $2 different"; fi; }
same a hard; same a soft; same d/e/f/g d/e/hard-g; same d3/e/f/g d3/e/hard-g; same d/e/f/g d3/e/f/g
ls -i a hard | awk '{print $1}' | uniq | wc -l
echo "--- du"
du -b a c big m
du -sb d | awk '{print "d", ($1 > 0)}'
echo "--- df"
df -P . | tail -1 | awk '{print NF, ($2 > 0), ($4 > 0)}'
echo "--- a directory removed while it is the working directory"
mkdir gone && ( cd gone && rmdir ../gone && ls -a . ; echo "ls=$?"; python3 -c 'import os; print(os.listdir("."))' )
echo "--- a descriptor of a removed directory (fsync was ENOENT on a mount)"
mkdir gone && python3 -c 'import os; fd = os.open("gone", os.O_RDONLY); os.rmdir("gone"); os.fsync(fd); os.fdatasync(fd); os.fchmod(fd, 0o700); st = os.fstat(fd); print(oct(st.st_mode), st.st_nlink, os.listdir(fd))'
echo "--- linkat of a descriptor whose name went (/proc/self/fd/N): the file's other name keeps it linkable"
python3 - <<'PY'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def linkfd(fd, dst):
    ok = libc.linkat(-100, b'/proc/self/fd/%d' % fd, -100, dst.encode(), 0x400) == 0
    return 'ok' if ok else os.strerror(ctypes.get_errno())
for f in ('la', 'lb', 'lother'): open(f, 'w').write(f)
os.link('la', 'la2'); os.mkdir('ldir'); open('ldir/f', 'w').write('in dir'); os.link('ldir/f', 'lf2')
a = os.open('la', os.O_RDWR); os.rename('lother', 'la')  # replaced: its descriptor's name is hidden
d = os.open('ldir/f', os.O_RDONLY); os.unlink('ldir/f'); os.rmdir('ldir')  # its directory removed
b = os.open('lb', os.O_RDONLY); os.unlink('lb')  # no name left
print(linkfd(a, 'la3'), os.stat('la3').st_nlink, open('la3').read(), linkfd(d, 'lf3'), os.stat('lf2').st_nlink, linkfd(b, 'lb2'))
PY
rm la la2 la3 lf2 lf3
echo "--- deeper than PATH_MAX (reached by relative calls)"
seg=dddddddddddddddddddddddddddddddddddddddd
mkdir -p "$(printf "$seg/%.0s" $(seq 1 110))" && echo made
( for i in $(seq 1 110); do cd $seg; done; echo bottom > f; cat f; ln f g; mv g h; ls; stat -c '%h %s' f )
find $seg -name f | wc -c
tar -cf deep.tar $seg && rm -r $seg && tar -xf deep.tar && find $seg -type f | wc -l
rm -r $seg deep.tar
echo "--- cleanup"
rm -r d d3 dirlink soft hard
find . | sort
`;

async function runIn(dir: string): Promise<string> {
  const script = path.join(path.dirname(dir), 'script.sh');
  await fsp.writeFile(script, SCRIPT);
  return sh(`bash ${script} ${dir}`);
}

describe('coreutils on a mount behave as on a local filesystem', () => {
  it('same output for the same script', async () => {
    const m = await mountFresh();
    const plainRoot = await tempDir();
    const plain = path.join(plainRoot, 'plain');
    await fsp.mkdir(plain);
    try {
      const expected = await runIn(plain);
      const actual = await runIn(m.mnt);
      expect(actual.split('\n')).toEqual(expected.split('\n'));
      // And after a remount, from the store.
      await m.remount();
      const listing = await sh(`cd ${m.mnt} && find . | sort && md5sum c m big && stat -c '%n %a %y' a b2 && stat -c '%n %a %s' inst c`);
      const plainListing = await sh(`cd ${plain} && find . | sort && md5sum c m big && stat -c '%n %a %y' a b2 && stat -c '%n %a %s' inst c`);
      expect(listing).toBe(plainListing);
    } finally {
      await fsp.rm(plainRoot, { recursive: true, force: true });
    }
  });

  it('df reports the mount as a mikofs filesystem', async () => {
    const m = await mountFresh();
    const out = await sh(`df -P -T ${m.mnt} | tail -1`);
    expect(out.split(/\s+/)[0]).toBe(m.store);
    expect(out.split(/\s+/)[1]).toBe('fuse.mikofs');
  });

  it('extended attributes: set, get, list, replace, remove, ERANGE, ENODATA', async () => {
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.mnt} <<'EOF'
import os, sys, errno
d = sys.argv[1]
f = os.path.join(d, 'x'); open(f, 'w').close()
def e(fn, *a):
    try:
        r = fn(*a); return r
    except OSError as x:
        return errno.errorcode[x.errno]
print(e(os.getxattr, f, 'user.none'))
os.setxattr(f, 'user.a', b'1')
os.setxattr(f, 'user.b', b'x' * 3000)
print(sorted(os.listxattr(f)))
print(e(os.setxattr, f, 'user.a', b'2', os.XATTR_CREATE))
print(e(os.setxattr, f, 'user.c', b'2', os.XATTR_REPLACE))
os.setxattr(f, 'user.a', b'22', os.XATTR_REPLACE)
print(os.getxattr(f, 'user.a'), len(os.getxattr(f, 'user.b')))
os.removexattr(f, 'user.a')
print(e(os.removexattr, f, 'user.a'))
print(os.listxattr(f))
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(10)
r = libc.getxattr(f.encode(), b'user.b', buf, 10)
print(r, errno.errorcode[ctypes.get_errno()])
print(libc.getxattr(f.encode(), b'user.b', None, 0))
r = libc.listxattr(f.encode(), buf, 3)
print(r, errno.errorcode[ctypes.get_errno()])
print(libc.listxattr(f.encode(), None, 0))
os.symlink('x', os.path.join(d, 'l'))
print(e(lambda: os.setxattr(os.path.join(d, 'l'), 'user.a', b'1', 0, follow_symlinks=False)))
print(e(os.setxattr, f, 'system.posix_acl_access', bytes([2, 0, 0, 0])))
# Namespaces as ext4 keeps them: others ENOTSUP, a bare prefix EINVAL,
# for every call.
bad = ['foo.bar', 'plain', 'system.bogus', 'user.']
print(*[e(os.setxattr, f, n, b'1') for n in bad])
print(*[e(os.getxattr, f, n) for n in bad])
print(*[e(os.removexattr, f, n) for n in bad])
os.setxattr(f, 'trusted.t', b'1'); os.setxattr(f, 'security.s', b'2')
print(sorted(os.listxattr(f)))
# Through a descriptor of a file whose name is gone, and not the file that
# took the name since.
g = os.path.join(d, 'g'); open(g, 'w').close(); os.setxattr(g, 'user.old', b'1')
fd = os.open(g, os.O_RDONLY); os.unlink(g)
open(g, 'w').close(); os.setxattr(g, 'user.new', b'2')
os.setxattr(fd, 'user.more', b'3')
print(os.getxattr(fd, 'user.old'), sorted(os.listxattr(fd)), sorted(os.listxattr(g)))
os.removexattr(fd, 'user.old'); print(os.listxattr(fd))
os.close(fd)
EOF`);
    expect(out).toBe([
      'ENODATA', "['user.a', 'user.b']", 'EEXIST', 'ENODATA', "b'22' 3000", 'ENODATA', "['user.b']",
      '-1 ERANGE', '3000', '-1 ERANGE', '7', 'EPERM', 'ENOTSUP',
      'ENOTSUP ENOTSUP ENOTSUP EINVAL', 'ENOTSUP ENOTSUP ENOTSUP EINVAL', 'ENOTSUP ENOTSUP ENOTSUP EINVAL',
      "['security.s', 'trusted.t', 'user.b']",
      "b'1' ['user.more', 'user.old'] ['user.new']", "['user.more']", '',
    ].join('\n'));
  });

  it('names that are not UTF-8 cannot be made (EILSEQ) nor found (ENOENT), never merged into another name', async () => {
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.mnt} <<'EOF'
import os, sys, errno
d = os.fsencode(sys.argv[1])
def e(fn, *a):
    try:
        fn(*a); return 'ok'
    except OSError as x:
        return errno.errorcode[x.errno]
latin1 = d + b'/caf\\xe9'          # 'cafe' with e-acute in Latin-1: not UTF-8
other = d + b'/caf\\xe8'
overlong = d + b'/\\xc0\\xaf'      # an overlong '/'
surrogate = d + b'/\\xed\\xa0\\x80'
print(e(lambda: open(latin1, 'x').close()), e(os.mkdir, other), e(os.mkdir, overlong), e(os.mkdir, surrogate))
open(d + b'/plain', 'w').close()
print(e(os.rename, d + b'/plain', latin1), e(os.link, d + b'/plain', other), e(os.symlink, b'target', latin1))
print(e(os.symlink, b'caf\\xe9', d + b'/link'))
print(e(os.stat, latin1), e(os.unlink, latin1), e(os.rmdir, other), e(os.rename, latin1, d + b'/x'))
print(e(os.setxattr, d + b'/plain', b'user.caf\\xe9', b'1'), e(os.getxattr, d + b'/plain', b'user.caf\\xe9'))
valid = d + '/café-日本-😀'.encode()
open(valid, 'w').write('utf-8 is fine')
print(open(valid).read(), sorted(os.listdir(sys.argv[1])))
EOF`);
    expect(out).toBe([
      'EILSEQ EILSEQ EILSEQ EILSEQ',
      'EILSEQ EILSEQ EILSEQ',
      'EILSEQ',
      'ENOENT ENOENT ENOENT ENOENT',
      'EILSEQ ENODATA',
      "utf-8 is fine ['café-日本-😀', 'plain']", '',
    ].join('\n'));
  });

  it('hard links: inode, nlink and attributes agree through every name, at once', async () => {
    const m = await mountFresh();
    const out = await sh(`cd ${m.mnt}
      echo one > a; stat -c '%h' a
      ln a b; ln b c
      stat -c '%h %a %s' a b c
      chmod 600 b; echo longer-content >> c
      stat -c '%h %a %s' a b c
      rm b
      stat -c '%h %a %s' a c
      [ "$(stat -c %i a)" = "$(stat -c %i c)" ] && echo same-inode
      mv c d; stat -c '%h %a %s %n' a d
      rm a; stat -c '%h %n' d
      ln d e; stat d e > /dev/null; sleep 1.1; mv e f
      [ "$(stat -c %Z d)" = "$(stat -c %Z f)" ] && echo same-ctime-after-rename`);
    expect(out).toBe([
      '1', '3 644 4', '3 644 4', '3 644 4', '3 600 19', '3 600 19', '3 600 19', '2 600 19', '2 600 19',
      'same-inode', '2 600 19 a', '2 600 19 d', '1 d', 'same-ctime-after-rename', '',
    ].join('\n'));
  });

  it('O_APPEND is the descriptor\'s at each write: fcntl F_SETFL turns it off and on', async () => {
    // (Until 2026-12-05 a descriptor opened O_APPEND appended for ever.)
    const m = await mountFresh();
    const script = `python3 - "$D/f" <<'EOF'
import fcntl, os, sys
p = sys.argv[1]
open(p, 'wb').write(b'0123456789')
fd = os.open(p, os.O_WRONLY | os.O_APPEND)
os.write(fd, b'ab')
fcntl.fcntl(fd, fcntl.F_SETFL, 0)
os.pwrite(fd, b'XY', 2)
os.lseek(fd, 0, os.SEEK_SET); os.write(fd, b'n')
fcntl.fcntl(fd, fcntl.F_SETFL, os.O_APPEND)
os.write(fd, b'z')
os.close(fd)
print(open(p, 'rb').read().decode())
EOF`;
    const local = await tempDir('mikofs-append-');
    try {
      const expected = await sh(`D=${local}; ${script}`);
      expect(expected).toBe('n1XY456789abz\n');
      expect(await sh(`D=${m.mnt}; ${script}`)).toBe(expected);
    } finally { await fsp.rm(local, { recursive: true, force: true }); }
  });

  it('chown(f, -1, -1) and a readlink are seen in ctime and atime, as on a local filesystem (found 2026-12-05)', async () => {
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.mnt} <<'EOF'
import os, sys, time
p = os.path.join(sys.argv[1], 'f'); l = os.path.join(sys.argv[1], 'l')
open(p, 'w').write('x'); os.symlink('f', l)
os.utime(l, ns=(1, 2), follow_symlinks=False)
c0 = os.stat(p).st_ctime_ns
time.sleep(0.02)
os.chown(p, -1, -1)
print('ctime moved', os.stat(p).st_ctime_ns > c0)
os.readlink(l)
print('link atime moved', os.lstat(l).st_atime_ns > 1, os.lstat(l).st_mtime_ns)
EOF`);
    expect(out).toBe('ctime moved True\nlink atime moved True 2\n');
  });

  it('an O_TRUNC open through one name of a file is seen by a reader open through another', async () => {
    // Read-only O_TRUNC left the other names' attributes cached: a reader
    // open through one read its cached pages past the new end (found by
    // the differential sequences, 2026-12-05). Writers' O_TRUNC too.
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.mnt} <<'EOF'
import os, sys
d = sys.argv[1]
for flags in (os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_TRUNC):
    p, q = os.path.join(d, 'f'), os.path.join(d, 'g')
    open(p, 'wb').write(b'x' * 100000); os.link(p, q)
    r = os.open(p, os.O_RDONLY)
    n = len(os.pread(r, 200000, 0))
    os.close(os.open(q, flags))
    print(n, len(os.pread(r, 200000, 0)), len(os.pread(r, 100, 50000)), os.fstat(r).st_size, os.stat(p).st_size)
    os.close(r); os.unlink(p); os.unlink(q)
EOF`);
    expect(out).toBe('100000 0 0 0 0\n100000 0 0 0 0\n');
  });

  // Found by running the same calls on ext4 (2026-12-04): an fsync or a
  // forked child's exit emptied an unlinked temporary file under its writer,
  // and a truncation followed by growth brought old 512 KiB chunks back.
  it('temporary files and truncate-then-grow read back as on a local filesystem', async () => {
    const m = await mountFresh();
    const plainRoot = await tempDir();
    const script = (dir: string) => sh(`python3 - ${dir} <<'EOF'
import os, sys, tempfile
d = sys.argv[1]
# tempfile.TemporaryFile: create, unlink, write, fsync, a child exits.
with tempfile.TemporaryFile(dir=d) as t:
    t.write(b'x' * 10000); t.flush(); os.fsync(t.fileno())
    if os.fork() == 0: os._exit(0)
    os.wait()
    t.write(b'END'); t.flush(); t.seek(0)
    r = t.read(); print(len(r), r[-4:])
# Committed content, unlinked, patched in place.
p = os.path.join(d, 'c'); open(p, 'wb').write(b'committed')
fd = os.open(p, os.O_RDWR); os.unlink(p)
os.pwrite(fd, b'NEW', 0); os.fsync(fd)
print(os.pread(fd, 100, 0), os.fstat(fd).st_size); os.close(fd)
# Truncated, then grown past chunks it does not write again.
cs = 524288
for how in ['otrunc-write', 'ftruncate-write', 'ftruncate-up', 'otrunc-fallocate']:
    p = os.path.join(d, how); open(p, 'wb').write(b'X' * (3 * cs + 7))
    fd = os.open(p, os.O_RDWR | (os.O_TRUNC if how.startswith('otrunc') else 0))
    if how == 'otrunc-write': os.pwrite(fd, b'q', cs + 1000)
    if how == 'ftruncate-write': os.ftruncate(fd, 100); os.pwrite(fd, b'q', 3 * cs + 5)
    if how == 'ftruncate-up': os.ftruncate(fd, 0); os.ftruncate(fd, 3 * cs)
    if how == 'otrunc-fallocate': os.posix_fallocate(fd, 0, 3 * cs)
    os.close(fd)
    c = open(p, 'rb').read(); print(how, len(c), c.count(b'X'))
EOF`);
    try {
      const expected = await script(plainRoot);
      expect(expected).toBe([
        "10003 b'xEND'", "b'NEWmitted' 9",
        'otrunc-write 525289 0', 'ftruncate-write 1572870 100', 'ftruncate-up 1572864 0', 'otrunc-fallocate 1572864 0', '',
      ].join('\n'));
      expect(await script(m.mnt)).toBe(expected);
      await m.remount();
      expect(await sh(`cd ${m.mnt} && for f in otrunc-write ftruncate-write ftruncate-up otrunc-fallocate; do echo $f $(tr -cd X < $f | wc -c); done; ls -a`))
        .toBe('otrunc-write 0\nftruncate-write 100\nftruncate-up 0\notrunc-fallocate 0\n.\n..\nftruncate-up\nftruncate-write\notrunc-fallocate\notrunc-write\n');
    } finally {
      await fsp.rm(plainRoot, { recursive: true, force: true });
    }
  });

  it('a time beyond what 64-bit nanoseconds hold is clamped to the nearest end, never wrapped', async () => {
    const m = await mountFresh();
    const out = await sh(`cd ${m.mnt} && touch a b c && touch -d '2300-01-01 UTC' a && touch -d '1600-01-01 UTC' b &&
      touch -d '2262-04-11 23:47:16 UTC' c && stat -c '%n %Y' a b c`);
    expect(out).toBe('a 9223372036\nb -9223372037\nc 9223372036\n');
  });

  it('a small file grown to 256 TiB stays sparse and the mount serves on; past 2^53 - 1 is EFBIG', async () => {
    // It killed the mount (out of memory: one set entry per chunk).
    const m = await mountFresh();
    const out = await sh(`cd ${m.mnt} && echo hi > f && truncate -s 256T f && ls -s f && stat -c %s f && head -c 3 f &&
      python3 -c "
import os
fd = os.open('f', os.O_RDWR)
try: os.ftruncate(fd, 2**63 - 1)
except OSError as e: print(e.strerror)
os.pwrite(fd, b'ok', 0)
os.close(fd)" && head -c 3 f && truncate -s 1 f && stat -c %s f`);
    // One chunk allocated (ls -s: KiB), not 256 TiB.
    expect(out).toMatch(/^(0|512) f\n281474976710656\nhi\nFile too large\nok\n1\n$/);
  });
});
