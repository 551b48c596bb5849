# A seeded random sequence of file system calls from one process, printed
# one result per line: run on a local directory and on a mount, the two
# outputs must be the same. Several descriptors per file (read-only and
# read-write, O_APPEND, O_TRUNC), writes across 512 KiB chunks, truncations,
# fsync, unlink/rename/link with descriptors open, directories, xattrs,
# symlinks, chmod, utime, truncate by path, and children that exit (closing
# inherited descriptors, as subprocess does). Also: two O_APPEND descriptors
# taking turns, writes far past the end (holes) and SEEK_DATA/SEEK_HOLE
# (checked only for what both sides must agree on), copy_file_range and
# sendfile between descriptors, nested directories made, renamed (onto an
# empty one, into themselves: EINVAL) and removed as trees, names of 255
# and 256 bytes (ENAMETOOLONG), xattrs on directories and symlinks, times
# in nanoseconds (before 1970 too), a truncation seen by two descriptors,
# renames of a file onto a directory and back. Printed: only what POSIX
# defines (no inode numbers, st_blocks, atime, directory sizes or link
# counts), and listings sorted.
#
# usage: python3 random-ops.py ROOT SEED STEPS
import ctypes, errno, hashlib, mmap, os, random, stat, sys

root, seed, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
CS = 524288
LEAVES = ['a', 'b', 'c']
DIRS = ['d', 'e', 'd/s', 'e/s']
fds = []  # [fd, how, path opened, number, inode]
opened = 0

def P(n):
    return os.path.join(root, n)

def path():
    d = r.choice(['', '', 'd', 'e', 'd', 'e', 'd/s', 'e/s'])
    return (d + '/' if d else '') + r.choice(LEAVES)

def under(d, n):
    return (d + '/' if d else '') + n

# Names of 255 bytes (NAME_MAX; in ASCII and in 2-byte UTF-8) and 256.
LONG = ['l' * 255, 'm' * 254 + 'n', '\u00e9' * 127 + 'l']
TOOLONG = ['l' * 256, '\u00e9' * 128]

def E(f, *a, **k):
    try:
        v = f(*a, **k)
        return 'ok' if v is None else v
    except OSError as e:
        return errno.errorcode[e.errno]

def digest(b):
    return '%d:%s' % (len(b), hashlib.sha1(b).hexdigest()[:12])

# Read-only descriptors (O_RDONLY|O_TRUNC truncates, as Linux does).
READONLY = ('r', 'rtrunc')

def writers(fds):
    # Descriptors open for writing whose results both sides must agree on.
    return [f for f in fds if f[1] in ('rw', 'creat', 'trunc', 'excl') and not unlinked_reader(f)]

def unlinked_reader(f):
    # Not compared: a read-only descriptor of a file whose last name went
    # sees the content committed before the unlink, not what a writer wrote
    # after it (README, "What differs from ext4").
    if f[1] not in READONLY:
        return False
    try:
        st = os.fstat(f[0])
        return st.st_nlink == 0 and not stat.S_ISDIR(st.st_mode)
    except OSError:
        return False

def pre_writer_reader(f):
    # Not compared: a descriptor opened read-only before this process
    # opened the file for writing reads the committed content while that
    # writer is open (README, "Known gaps in reader isolation").
    return f[1] in READONLY and any(g[4] == f[4] and g[3] > f[3] and g[1] not in READONLY for g in fds)

def readable(f):
    return f[1] not in ('append', 'wronly') and not unlinked_reader(f) and not pre_writer_reader(f)

def writable(f):
    return f[1] not in READONLY

def zeros(b):
    return b.count(0) == len(b)

def fstat_size(fd):
    st = E(os.fstat, fd)
    return st if isinstance(st, str) else fsize(st)

def fsize(st):
    # A directory's size differs between ext4 and FUSE (and a leaf name may
    # be a directory: renamed there): not compared, nor its link count.
    return 'dir' if stat.S_ISDIR(st.st_mode) else st.st_size

def fnlink(st):
    return 'dir' if stat.S_ISDIR(st.st_mode) else st.st_nlink

def rmtree(q, log):
    # Depth first, in sorted order, never following a symlink; every
    # removal's result is logged (a file open here loses its name).
    st = E(os.lstat, q)
    if isinstance(st, str):
        log.append(st)
        return
    if stat.S_ISDIR(st.st_mode):
        names = E(os.listdir, q)
        for n in sorted(names) if isinstance(names, list) else []:
            rmtree(os.path.join(q, n), log)
        log.append(E(os.rmdir, q))
    else:
        log.append(E(os.unlink, q))

KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 1, 2, 16
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]

def fallocate(fd, mode, off, n):
    if libc.fallocate(fd, mode, off, n) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def linkat_follow(src, dst):
    # linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW): os.link
    # links /proc's magic link itself (EXDEV).
    if libc.linkat(-100, src.encode(), -100, dst.encode(), 0x400) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def size_hint(fd):
    try:
        st = os.fstat(fd)
        return 0 if stat.S_ISDIR(st.st_mode) else st.st_size
    except OSError:
        return 0

for step in range(steps):
    op = r.randrange(146)
    out = None
    if op < 10 or not fds:
        p = path()
        kind = r.choice(['r', 'rw', 'rw', 'creat', 'trunc', 'append', 'excl', 'wronly', 'rtrunc'])
        flags = {'r': os.O_RDONLY, 'rw': os.O_RDWR, 'creat': os.O_RDWR | os.O_CREAT,
                 'trunc': os.O_RDWR | os.O_CREAT | os.O_TRUNC, 'append': os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                 'excl': os.O_RDWR | os.O_CREAT | os.O_EXCL, 'wronly': os.O_WRONLY,
                 'rtrunc': os.O_RDONLY | os.O_TRUNC}[kind]
        fd = E(os.open, P(p), flags, 0o644)
        if isinstance(fd, int):
            opened += 1
            fds.append([fd, kind, p, opened, os.fstat(fd).st_ino])
            out = ('open', p, kind, 'fd#%d' % opened)
        else:
            out = ('open', p, kind, fd)
    elif op < 35:
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        size = size_hint(f[0])
        n = r.choice([1, 100, 4096, 70000, CS, CS + 3000])
        at = r.choice([0, size, max(0, size - 10), r.randrange(0, size + CS + 1), (size // CS + 1) * CS - 5])
        data = r.randbytes(n)
        out = ('pwrite', 'fd#%d' % f[3], at, n, E(os.pwrite, f[0], data, at) if f[1] != 'append' else E(os.write, f[0], data))
    elif op < 47:
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        if pre_writer_reader(f):
            continue
        size = size_hint(f[0])
        at = r.randrange(0, size + 100)
        got = E(os.pread, f[0], r.choice([10, 4096, 131072, CS + 7]), at)
        out = ('pread', 'fd#%d' % f[3], at, digest(got) if isinstance(got, bytes) else got)
    elif op < 52:
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        size = size_hint(f[0])
        n = r.choice([0, size // 2, size + 1000, r.randrange(0, 3 * CS)])
        out = ('ftruncate', 'fd#%d' % f[3], n, E(os.ftruncate, f[0], n))
    elif op < 55:
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        out = ('fsync', 'fd#%d' % f[3], E(os.fsync, f[0]))
    elif op < 62:
        f = fds.pop(r.randrange(len(fds)))
        out = ('close', 'fd#%d' % f[3], E(os.close, f[0]))
    elif op < 66:
        p = path()
        out = ('unlink', p, E(os.unlink, P(p)))
    elif op < 70:
        p, q = path(), path()
        out = ('rename', p, q, E(os.rename, P(p), P(q)))
    elif op < 72:
        p, q = path(), path()
        out = ('link', p, q, E(os.link, P(p), P(q)))
    elif op < 75:
        d = r.choice(DIRS)
        out = (r.choice(['mkdir', 'rmdir', 'renamedir']), d)
        if out[0] == 'mkdir':
            out += (E(os.mkdir, P(d)),)
        elif out[0] == 'rmdir':
            out += (E(os.rmdir, P(d)),)
        else:
            q = r.choice(DIRS)
            out += (q, E(os.rename, P(d), P(q)))
    elif op < 80:
        p = path()
        st = E(os.stat, P(p))
        out = ('stat', p, st if isinstance(st, str) else (fsize(st), fnlink(st), oct(st.st_mode)))
    elif op < 84:
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        st = E(os.fstat, f[0])
        out = ('fstat', 'fd#%d' % f[3], st if isinstance(st, str) else (fsize(st), fnlink(st)))
    elif op < 87:
        d = r.choice([''] + DIRS)
        names = E(os.listdir, P(d) if d else root)
        out = ('listdir', d, sorted(names) if isinstance(names, list) else names)
    elif op < 90:
        p = path()
        k = r.choice(['user.x', 'user.y'])
        what = r.choice(['set', 'get', 'list', 'remove'])
        if what == 'set':
            res = E(os.setxattr, P(p), k, b'v%d' % step)
        elif what == 'get':
            res = E(os.getxattr, P(p), k)
        elif what == 'list':
            res = E(os.listxattr, P(p))
            res = sorted(res) if isinstance(res, list) else res
        else:
            res = E(os.removexattr, P(p), k)
        out = ('xattr', what, p, k, res)
    elif op < 92:
        # A child that exits: every inherited descriptor is closed (flush).
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        out = ('fork',)
    elif op < 96:
        p = path()
        try:
            with open(P(p), 'rb') as fh:
                out = ('read', p, digest(fh.read()))
        except OSError as e:
            out = ('read', p, errno.errorcode[e.errno])
    elif op == 96:
        # A symlink (to a name in its own directory, maybe dangling: a target
        # with a directory could lead out of the tree once the link moves),
        # read back and followed.
        p, target = path(), r.choice(LEAVES)
        made = E(os.symlink, target, P(p))
        link = E(os.readlink, P(p))
        st = E(os.stat, P(p))
        out = ('symlink', p, target, made, link, st if isinstance(st, str) else fsize(st))
    elif op == 97:
        p = path() if r.randrange(4) else r.choice(DIRS)
        mode = r.choice([0o600, 0o644, 0o755, 0o4755, 0o1777])
        res = E(os.chmod, P(p), mode)
        st = E(os.lstat, P(p))
        out = ('chmod', p, oct(mode), res, st if isinstance(st, str) else oct(st.st_mode))
    elif op == 98:
        p = path() if r.randrange(4) else r.choice(DIRS)
        t = r.randrange(-2 ** 31, 2 ** 32) * 1000000000 + r.randrange(0, 1000000000)
        res = E(os.utime, P(p), ns=(t, t))
        st = E(os.stat, P(p))
        out = ('utime', p, res, st if isinstance(st, str) else st.st_mtime_ns == t)
    elif op < 100:
        p = path()
        n = r.choice([0, 100, CS, CS + 1, 2 * CS + 5])
        res = E(os.truncate, P(p), n)
        st = E(os.stat, P(p))
        out = ('truncate', p, n, res, st if isinstance(st, str) else fsize(st))
    elif op < 103:
        # Two O_APPEND descriptors of one file taking turns: every write
        # lands at the end as the other left it.
        p = path()
        a = E(os.open, P(p), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        b = E(os.open, P(p), os.O_RDWR | os.O_APPEND) if isinstance(a, int) else 'skipped'
        res = []
        if isinstance(a, int) and isinstance(b, int):
            for i in range(r.choice([2, 3, 5])):
                res.append(E(os.write, r.choice([a, b]), r.randbytes(r.choice([1, 7, 4096, 70000]))))
            res.append(fstat_size(a))
            got = E(os.pread, b, 2 * CS, max(0, fstat_size(b) - 50000))
            res.append(digest(got) if isinstance(got, bytes) else got)
        for x in (a, b):
            if isinstance(x, int):
                os.close(x)
        out = ('append2', p, a if isinstance(a, str) else 'ok', b if isinstance(b, str) else 'ok', res)
    elif op < 106:
        # A write far past the end leaves a hole. SEEK_DATA/SEEK_HOLE may
        # call all of a file data (mikofs does; README): only what both
        # must agree on is printed: past the end ENXIO, and an answer in
        # range whose skipped bytes read as zeros.
        cands = writers(fds)
        if not cands:
            continue
        f = r.choice(cands)
        size = size_hint(f[0])
        at = size + r.choice([1, 4096, CS, 3 * CS + 17, 9 * CS + 5, 20 * 1048576 + 3])
        res = [E(os.pwrite, f[0], r.randbytes(r.choice([1, 100, 5000])), at)]
        size = size_hint(f[0])
        res.append(size)
        for off in sorted({0, at // 2, max(0, at - 1), at, max(0, size - 1), size, size + 10}):
            d = E(os.lseek, f[0], off, os.SEEK_DATA)
            h = E(os.lseek, f[0], off, os.SEEK_HOLE)
            if off >= size:
                res.append((off, d, h))
                continue
            okd = d == 'ENXIO' or (isinstance(d, int) and off <= d < size)
            if isinstance(d, int) and okd and d > off:
                okd = zeros(os.pread(f[0], min(d - off, CS), off))
            okh = isinstance(h, int) and off <= h <= size
            if okh and h < size:
                # The hole ends where the next data starts (or at the end).
                # (ext4 may answer both a hole and data at one offset, pages
                # dirtied through a mapping: nothing to check then.)
                d2 = E(os.lseek, f[0], h, os.SEEK_DATA)
                stop = size if d2 == 'ENXIO' else d2 if isinstance(d2, int) else h
                okh = stop <= h or zeros(os.pread(f[0], min(stop - h, CS), h))
            res.append((off, okd, okh))
        got = E(os.pread, f[0], 3 * CS, max(0, size - 2 * CS))
        res.append(digest(got) if isinstance(got, bytes) else got)
        out = ('sparse', 'fd#%d' % f[3], at, res)
    elif op < 109:
        # copy_file_range or sendfile from one descriptor to another (the
        # same file too), looping over short copies as a program does.
        src, dst = r.choice(fds), r.choice(fds)
        if not readable(src) or unlinked_reader(dst):
            continue
        ssize = size_hint(src[0])
        soff = r.choice([0, r.randrange(0, ssize + 1), max(0, ssize - 100)])
        doff = r.choice([0, size_hint(dst[0]), r.randrange(0, size_hint(dst[0]) + CS)])
        n = r.choice([1, 4096, 100000, CS + 11])
        how = r.choice(['copy_file_range', 'sendfile'])
        if src[4] == dst[4] and src[2] != dst[2] and soff < doff + n and doff < soff + n:
            # Not compared: copy_file_range between overlapping ranges of
            # one file through two of its names: two kernel inodes on the
            # mount (libfuse's model, handles.ts), so the kernel cannot see
            # the overlap (EINVAL on ext4) and copies.
            continue
        if how == 'sendfile' and src[4] == dst[4] and soff < doff + n and doff < soff + n:
            # Not compared: sendfile between overlapping ranges of one file
            # (copy_file_range refuses them: EINVAL) copies through a pipe
            # in pieces whose size is the file system's (ext4 4 KiB pages,
            # a direct_io FUSE file 64 KiB reads): either result is right.
            continue
        total, res = 0, None
        while total < n:
            if how == 'copy_file_range':
                k = E(os.copy_file_range, src[0], dst[0], n - total, soff + total, doff + total)
            else:
                k = E(os.lseek, dst[0], doff + total, os.SEEK_SET)
                if isinstance(k, int):
                    k = E(os.sendfile, dst[0], src[0], soff + total, n - total)
            if not isinstance(k, int):
                res = k
                break
            total += k
            if k == 0 or src[4] == dst[4]:
                # Not compared: a copy that goes on from what it wrote
                # into its own source. Two names of one file are two
                # kernel inodes on the mount (libfuse's model, handles.ts),
                # each with the size the kernel last asked for, and
                # copy_file_range cuts the copy at the source's: on ext4
                # the next call finds the bytes the last one added.
                break
        out = (how, 'fd#%d' % src[3], 'fd#%d' % dst[3], soff, doff, n, res or total)
    elif op < 113:
        # Directories, nested ones too: made, removed, renamed (onto an
        # empty one, into one of its own subdirectories: EINVAL; onto its
        # own parent: ENOTEMPTY), and trees made and removed whole.
        d = r.choice(DIRS + ['f', 'd/t'])
        what = r.choice(['mkdir', 'rmdir', 'renamedir', 'renamedir', 'tree', 'rmtree'])
        if what == 'mkdir':
            out = (what, d, E(os.mkdir, P(d)))
        elif what == 'rmdir':
            out = (what, d, E(os.rmdir, P(d)))
        elif what == 'renamedir':
            q = r.choice(DIRS + ['d/s/t', 'e/s/t', 'd/t', 'f', 'd/s/a'])
            out = (what, d, q, E(os.rename, P(d), P(q)))
        elif what == 'tree':
            t = under(d, r.choice(['t', 't/u', 't/u/v']))
            res = E(os.makedirs, P(t), exist_ok=True)
            fd = E(os.open, P(under(t, r.choice(LEAVES))), os.O_WRONLY | os.O_CREAT, 0o644)
            if isinstance(fd, int):
                os.write(fd, b'tree %d' % step)
                os.close(fd)
                fd = 'ok'
            out = (what, t, res, fd)
        else:
            log = []
            rmtree(P(d), log)
            out = (what, d, log)
    elif op < 116:
        # Names of exactly NAME_MAX bytes work everywhere; one byte more is
        # ENAMETOOLONG, for every call that takes a name (and when a
        # symlink's target has such a component).
        d = r.choice(['', 'd', 'e'])
        n, bad = r.choice(LONG), r.choice(TOOLONG)
        p, q = under(d, n), under(d, r.choice(LONG))
        res = []
        fd = E(os.open, P(p), os.O_RDWR | os.O_CREAT, 0o644)
        if isinstance(fd, int):
            res.append(E(os.write, fd, b'long %d' % step))
            os.close(fd)
        else:
            res.append(fd)
        st = E(os.stat, P(p))
        res.append(st if isinstance(st, str) else fsize(st))
        res.append(n in (E(os.listdir, P(d) if d else root) or []))
        res.append(E(os.open, P(under(d, bad)), os.O_RDWR | os.O_CREAT, 0o644))
        res.append(E(os.mkdir, P(under(d, bad))))
        res.append(E(os.symlink, 'a', P(under(d, bad))))
        res.append(E(os.link, P(p), P(under(d, bad))))
        res.append(E(os.rename, P(p), P(under(d, bad))))
        res.append(E(os.stat, P(under(d, bad))))
        res.append(E(os.setxattr, P(p), 'user.' + 'x' * 251, b'v'))
        res.append(E(os.setxattr, P(p), 'user.' + 'x' * 250, b'v'))
        what = r.choice(['rename', 'link', 'unlink', 'symlink', 'keep'])
        if what == 'rename':
            res.append(E(os.rename, P(p), P(q)))
        elif what == 'link':
            res.append(E(os.link, P(p), P(q)))
        elif what == 'unlink':
            res.append(E(os.unlink, P(p)))
        elif what == 'symlink':
            s = under(d, 'ln')
            res.append(E(os.symlink, r.choice([n, bad]), P(s)))
            st = E(os.stat, P(s))
            res.append(st if isinstance(st, str) else fsize(st))
            res.append(E(os.unlink, P(s)))
        out = ('longname', p, what, q, res)
    elif op < 118:
        # user.* attributes on directories; on symlinks Linux refuses them
        # (EPERM to set, ENODATA to get) and lists what the link has.
        if r.randrange(2):
            p = r.choice([''] + DIRS)
            k = r.choice(['user.x', 'user.y'])
            what = r.choice(['set', 'get', 'list', 'remove'])
            q = P(p) if p else root
            if what == 'set':
                res = E(os.setxattr, q, k, b'dir%d' % step)
            elif what == 'get':
                res = E(os.getxattr, q, k)
            elif what == 'list':
                res = E(os.listxattr, q)
                res = sorted(res) if isinstance(res, list) else res
            else:
                res = E(os.removexattr, q, k)
            out = ('dirxattr', what, p, k, res)
        else:
            p = path()
            made = E(os.symlink, r.choice(LEAVES), P(p))
            res = [E(os.setxattr, P(p), 'user.x', b'l', follow_symlinks=False),
                   E(os.getxattr, P(p), 'user.x', follow_symlinks=False)]
            ls = E(os.listxattr, P(p), follow_symlinks=False)
            res.append(sorted(ls) if isinstance(ls, list) else ls)
            out = ('linkxattr', p, made, res)
    elif op < 120:
        # Times to the nanosecond, atime and mtime apart, before 1970 too,
        # of files, directories and symlinks themselves; mtime is printed.
        p = r.choice([path(), path(), r.choice(DIRS)])
        ta = r.randrange(-2 ** 31, 2 ** 33) * 1000000000 + r.randrange(0, 1000000000)
        tm = r.randrange(-2 ** 31, 2 ** 33) * 1000000000 + r.randrange(0, 1000000000)
        follow = r.randrange(3) > 0
        res = E(os.utime, P(p), ns=(ta, tm), follow_symlinks=follow)
        st = E(os.stat, P(p), follow_symlinks=follow)
        out = ('utimens', p, follow, res, st if isinstance(st, str) else st.st_mtime_ns - tm)
    elif op < 123:
        # A file open twice, written through one descriptor, truncated (by
        # path or through either descriptor) and read through both.
        p = path()
        a = E(os.open, P(p), os.O_RDWR | os.O_CREAT, 0o644)
        if not isinstance(a, int):
            out = ('truncate2', p, a)
        else:
            # (opened after a: a reader that the process opened before its
            # writer is a documented difference, see pre_writer_reader)
            b = os.open(P(p), r.choice([os.O_RDONLY, os.O_RDWR]))
            res = [E(os.pwrite, a, r.randbytes(r.choice([100, CS + 5, 2 * CS])), r.choice([0, size_hint(a)]))]
            n = r.choice([0, 10, CS - 1, CS + 1, size_hint(a) // 2, size_hint(a) + 3 * CS])
            how = r.choice(['path', 'a', 'b'])
            if how == 'path':
                res.append(E(os.truncate, P(p), n))
            else:
                res.append(E(os.ftruncate, a if how == 'a' else b, n))
            if r.randrange(2):
                res.append(E(os.pwrite, a, b'after', r.choice([0, n, n + 7])))
            for x in (a, b):
                got = E(os.pread, x, 3 * CS + 100, 0)
                res.append((fstat_size(x), digest(got) if isinstance(got, bytes) else got))
            first = r.choice([a, b])
            os.close(first)
            got = E(os.pread, b if first == a else a, 3 * CS + 100, 0)
            res.append(digest(got) if isinstance(got, bytes) else got)
            os.close(b if first == a else a)
            out = ('truncate2', p, how, n, res)
    elif op < 125:
        # A file renamed onto a directory (EISDIR) and a directory onto a
        # file (ENOTDIR); a hard link in another directory that outlives
        # the first name.
        if r.randrange(2):
            p, d = path(), r.choice(DIRS)
            out = ('renamex', p, d, E(os.rename, P(p), P(d)), E(os.rename, P(d), P(p)))
        else:
            p = path()
            q = under(r.choice(['', 'd', 'e', 'd/s']), r.choice(LEAVES))
            res = [E(os.link, P(p), P(q)), E(os.unlink, P(p))]
            st = E(os.stat, P(q))
            res.append(st if isinstance(st, str) else (fsize(st), fnlink(st)))
            try:
                with open(P(q), 'rb') as fh:
                    res.append(digest(fh.read()))
            except OSError as e:
                res.append(errno.errorcode[e.errno])
            out = ('linkmove', p, q, res)
    elif op < 128:
        # fallocate(2): allocate (growing or not), punch a hole, zero a
        # range; the size after, and the bytes around the range.
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        size = size_hint(f[0])
        mode = r.choice([0, KEEP_SIZE, PUNCH_HOLE | KEEP_SIZE, ZERO_RANGE, ZERO_RANGE | KEEP_SIZE, PUNCH_HOLE])
        off = r.choice([0, r.randrange(0, size + 1), max(0, size - 5), size + 100])
        n = r.choice([1, 4096, CS, 2 * CS + 3])
        res = [E(fallocate, f[0], mode, off, n), fstat_size(f[0])]
        if readable(f):
            got = E(os.pread, f[0], n + 200, max(0, off - 100))
            res.append(digest(got) if isinstance(got, bytes) else got)
        out = ('fallocate', 'fd#%d' % f[3], mode, off, n, res)
    elif op < 131:
        # A shared mapping of a writer: bytes stored through it, read back
        # through it and (later ops) through the descriptors.
        cands = writers(fds)
        if not cands:
            continue
        f = r.choice(cands)
        size = size_hint(f[0])
        if size == 0:
            continue
        n = min(size, r.choice([4096, CS, 3 * CS]))
        res = []
        try:
            m = mmap.mmap(f[0], n, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            m = None
            res.append(errno.errorcode[e.errno])
        for i in range(r.choice([1, 3])):
            at = r.randrange(n)
            data = r.randbytes(min(r.choice([1, 100, 5000]), n - at))
            if m is not None:
                m[at:at + len(data)] = data
        if m is not None:
            res.append(digest(m[:]))
            m.flush()
            m.close()
        got = E(os.pread, f[0], n, 0)
        res.append(digest(got) if isinstance(got, bytes) else got)
        out = ('mmapw', 'fd#%d' % f[3], n, res)
    elif op < 133:
        # A read-only mapping of any readable descriptor.
        f = r.choice(fds)
        if not readable(f):
            continue
        size = size_hint(f[0])
        if size == 0:
            continue
        n = min(size, r.choice([4096, CS + 5, 3 * CS]))
        try:
            m = mmap.mmap(f[0], n, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
            res = digest(m[:])
            m.close()
        except OSError as e:
            res = errno.errorcode[e.errno]
        out = ('mmapr', 'fd#%d' % f[3], n, res)
    elif op < 137:
        # Attributes changed through a descriptor (an unlinked file's too):
        # fchmod, futimens to the nanosecond, fsetxattr; read back by fstat
        # and fgetxattr.
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        what = r.choice(['fchmod', 'futimens', 'futimens', 'fsetxattr', 'fremovexattr'])
        if what == 'fchmod':
            mode = r.choice([0o600, 0o644, 0o755])
            res = E(os.fchmod, f[0], mode)
            st = E(os.fstat, f[0])
            res = (res, st if isinstance(st, str) else oct(st.st_mode))
        elif what == 'futimens':
            t = r.randrange(-2 ** 31, 2 ** 33) * 1000000000 + r.randrange(0, 1000000000)
            res = E(os.utime, f[0], ns=(t, t))
            st = E(os.fstat, f[0])
            res = (res, st if isinstance(st, str) else st.st_mtime_ns - t)
        elif what == 'fsetxattr':
            res = (E(os.setxattr, f[0], 'user.f', b'fd%d' % step), E(os.getxattr, f[0], 'user.f'))
        else:
            ls = E(os.listxattr, f[0])
            res = (E(os.removexattr, f[0], 'user.f'), sorted(ls) if isinstance(ls, list) else ls)
        out = (what, 'fd#%d' % f[3], res)
    elif op < 140:
        # A name for a descriptor's file through /proc/self/fd: a file that
        # has a name gets another (nlink + 1); one without cannot (ENOENT).
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        q = path()
        res = E(linkat_follow, '/proc/self/fd/%d' % f[0], P(q))
        st = E(os.fstat, f[0])
        out = ('linkfd', 'fd#%d' % f[3], q, res, st if isinstance(st, str) else fnlink(st))
    elif op < 143:
        # A change of owner (of the link itself, or through a descriptor):
        # it clears setuid, and setgid with group execute, on files.
        uid, gid = r.choice([(0, 0), (1000, 1000), (1000, -1), (-1, 2000)])
        how = r.choice(['chown', 'lchown', 'fchown'])
        if how == 'fchown':
            f = r.choice(fds)
            if unlinked_reader(f):
                continue
            p, res = 'fd#%d' % f[3], E(os.fchown, f[0], uid, gid)
            st = E(os.fstat, f[0])
        else:
            p = r.choice([path(), path(), r.choice(DIRS)])
            res = E(os.chown, P(p), uid, gid, follow_symlinks=how == 'chown')
            st = E(os.stat, P(p), follow_symlinks=how == 'chown')
        out = (how, p, uid, gid, res, st if isinstance(st, str) else (st.st_uid, st.st_gid, oct(st.st_mode)))
    else:
        # A FIFO made, looked at and removed or left: under a name of its
        # own, which no op opens (that would block).
        p = under(r.choice(['', 'd', 'e', 'd/s']), 'fifo')
        res = [E(os.mkfifo, P(p), 0o640)]
        st = E(os.lstat, P(p))
        res.append(st if isinstance(st, str) else (oct(st.st_mode), fnlink(st)))
        if r.randrange(2):
            res.append(E(os.unlink, P(p)))
        out = ('mkfifo', p, res)
    print(step, *out)

for f in fds:
    os.close(f[0])

def final(base, rel):
    for n in sorted(os.listdir(base)):
        q = os.path.join(base, n)
        st = os.lstat(q)
        if stat.S_ISLNK(st.st_mode):
            print('final', rel, n, 'symlink', os.readlink(q))
        elif stat.S_ISDIR(st.st_mode):
            print('final', rel, n, 'dir', oct(st.st_mode), sorted(os.listxattr(q)))
            final(q, under(rel, n))
        elif not stat.S_ISREG(st.st_mode):
            print('final', rel, n, oct(st.st_mode), st.st_nlink)
        else:
            with open(q, 'rb') as fh:
                print('final', rel, n, digest(fh.read()), st.st_nlink, sorted(os.listxattr(q)))

print('final', sorted(os.listxattr(root)))
final(root, '')
