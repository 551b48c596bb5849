# A seeded random sequence of file system calls from one process, printed
# one result per line: run on a local directory and on a mount, the two
# outputs must be the same. Several descriptors per file (read-only and
# read-write, O_APPEND, O_TRUNC), writes across 512 KiB chunks, truncations,
# fsync, unlink/rename/link with descriptors open, directories, xattrs,
# symlinks, chmod, utime, truncate by path, and children that exit (closing
# inherited descriptors, as subprocess does).
#
# usage: python3 random-ops.py ROOT SEED STEPS
import errno, hashlib, os, random, sys

root, seed, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
CS = 524288
LEAVES = ['a', 'b', 'c']
DIRS = ['d', 'e']
fds = []  # [fd, how, path opened, number, inode]
opened = 0

def P(n):
    return os.path.join(root, n)

def path():
    d = r.choice([''] + DIRS)
    return (d + '/' if d else '') + r.choice(LEAVES)

def E(f, *a, **k):
    try:
        v = f(*a, **k)
        return 'ok' if v is None else v
    except OSError as e:
        return errno.errorcode[e.errno]

def digest(b):
    return '%d:%s' % (len(b), hashlib.sha1(b).hexdigest()[:12])

def unlinked_reader(f):
    # Not compared: a read-only descriptor of a file whose last name went
    # sees the content committed before the unlink, not what a writer wrote
    # after it (README, "What differs from ext4").
    if f[1] != 'r':
        return False
    try:
        return os.fstat(f[0]).st_nlink == 0
    except OSError:
        return False

def size_hint(fd):
    try:
        return os.fstat(fd).st_size
    except OSError:
        return 0

for step in range(steps):
    op = r.randrange(100)
    out = None
    if op < 10 or not fds:
        p = path()
        kind = r.choice(['r', 'rw', 'rw', 'creat', 'trunc', 'append', 'excl'])
        flags = {'r': os.O_RDONLY, 'rw': os.O_RDWR, 'creat': os.O_RDWR | os.O_CREAT,
                 'trunc': os.O_RDWR | os.O_CREAT | os.O_TRUNC, 'append': os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                 'excl': os.O_RDWR | os.O_CREAT | os.O_EXCL}[kind]
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
        if f[1] == 'r' and any(g[4] == f[4] and g[3] > f[3] and g[1] != 'r' for g in fds):
            # Not compared: a descriptor opened read-only before this process
            # opened the file for writing reads the committed content while
            # that writer is open (README, "Known gaps in reader isolation").
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
        out = ('stat', p, st if isinstance(st, str) else (st.st_size, st.st_nlink, oct(st.st_mode)))
    elif op < 84:
        f = r.choice(fds)
        if unlinked_reader(f):
            continue
        st = E(os.fstat, f[0])
        out = ('fstat', 'fd#%d' % f[3], st if isinstance(st, str) else (st.st_size, st.st_nlink))
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
        out = ('symlink', p, target, made, link, st if isinstance(st, str) else st.st_size)
    elif op == 97:
        p = path()
        mode = r.choice([0o600, 0o644, 0o755, 0o4755, 0o1777])
        res = E(os.chmod, P(p), mode)
        st = E(os.lstat, P(p))
        out = ('chmod', p, oct(mode), res, st if isinstance(st, str) else oct(st.st_mode))
    elif op == 98:
        p = path()
        t = r.randrange(0, 2 ** 32) * 1000000000 + r.randrange(0, 1000000000)
        res = E(os.utime, P(p), ns=(t, t))
        st = E(os.stat, P(p))
        out = ('utime', p, res, st if isinstance(st, str) else st.st_mtime_ns == t)
    else:
        p = path()
        n = r.choice([0, 100, CS, CS + 1, 2 * CS + 5])
        res = E(os.truncate, P(p), n)
        st = E(os.stat, P(p))
        out = ('truncate', p, n, res, st if isinstance(st, str) else st.st_size)
    print(step, *out)

for f in fds:
    os.close(f[0])
for d in [''] + DIRS:
    base = P(d) if d else root
    if not os.path.isdir(base):
        continue
    for n in sorted(os.listdir(base)):
        q = os.path.join(base, n)
        if os.path.islink(q):
            print('final', d, n, 'symlink', os.readlink(q))
        elif os.path.isfile(q):
            with open(q, 'rb') as fh:
                print('final', d, n, digest(fh.read()), os.stat(q).st_nlink, sorted(os.listxattr(q)))
