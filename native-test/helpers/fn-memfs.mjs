// Tiny in-memory filesystem on the patched fuse-native, run as a CHILD process
// by native-test/fuse-native-fixes.test.ts. This process must never touch its
// own mountpoint (fuse-native runs the FS callbacks on this main thread).
//
// usage: node fn-memfs.mjs <mountpoint> '<json config>'
//   config: { extraOptions?: string[], slowWriteMs?: number }
// stdout: one JSON object per line: {event:'ready', options}, {event:'reply', id, ...}
// stdin:  one JSON object per line: {id, cmd:'stats'|'log'|'clearLog'|'ino'|'quit', path?}
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'

const require = createRequire(import.meta.url)
const Fuse = require('fuse-native')

const [mnt, rawConfig] = process.argv.slice(2)
const config = JSON.parse(rawConfig || '{}')

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000

let nextIno = 1000
const nodes = new Map()
function mknode (mode, extra = {}) {
  const now = Date.now()
  return { mode, uid: 0, gid: 0, ino: nextIno++, atime: now, mtime: now, ctime: now, data: Buffer.alloc(0), ...extra }
}
nodes.set('/', mknode(S_IFDIR | 0o755))

const log = { utimens: [], writes: [] }
let nextFd = 10

const parent = p => p.slice(0, p.lastIndexOf('/')) || '/'
const base = p => p.slice(p.lastIndexOf('/') + 1)
const touchCtime = n => { n.ctime = Date.now() }

function stat (n) {
  return {
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    size: n.target !== undefined ? Buffer.byteLength(n.target) : n.data.length,
    nlink: (n.mode & S_IFDIR) === S_IFDIR ? 2 : 1,
    ino: n.ino,
    blksize: 4096,
    blocks: Math.ceil(n.data.length / 512),
    atime: n.atime,
    mtime: n.mtime,
    ctime: n.ctime
  }
}

function add (path, node, cb) {
  const dir = nodes.get(parent(path))
  if (!dir) return cb(Fuse.ENOENT)
  if (nodes.has(path)) return cb(Fuse.EEXIST)
  nodes.set(path, node)
  dir.mtime = dir.ctime = Date.now()
  cb(0)
}

function resize (n, size) {
  const buf = Buffer.alloc(size)
  n.data.copy(buf, 0, 0, Math.min(size, n.data.length))
  n.data = buf
  n.mtime = n.ctime = Date.now()
}

const ops = {
  getattr (path, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    cb(0, stat(n))
  },
  readdir (path, cb) {
    if (!nodes.has(path)) return cb(Fuse.ENOENT)
    const prefix = path === '/' ? '/' : path + '/'
    const names = []
    for (const p of nodes.keys()) {
      if (p !== '/' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) names.push(base(p))
    }
    cb(0, names)
  },
  open (path, flags, cb) {
    if (!nodes.has(path)) return cb(Fuse.ENOENT)
    cb(0, nextFd++)
  },
  create (path, mode, cb) {
    add(path, mknode(mode), err => cb(err, err ? undefined : nextFd++))
  },
  release (path, fd, cb) { cb(0) },
  flush (path, fd, cb) { cb(0) },
  fsync (path, datasync, fd, cb) { cb(0) },
  read (path, fd, buf, len, pos, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    if (pos >= n.data.length) return cb(0)
    cb(n.data.copy(buf, 0, pos, Math.min(n.data.length, pos + len)))
  },
  write (path, fd, buf, len, pos, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    log.writes.push(len)
    if (pos + len > n.data.length) resize(n, pos + len)
    buf.copy(n.data, pos, 0, len)
    n.mtime = n.ctime = Date.now()
    if (config.slowWriteMs) setTimeout(cb, config.slowWriteMs, len)
    else cb(len)
  },
  truncate (path, size, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    resize(n, size)
    cb(0)
  },
  ftruncate (path, fd, size, cb) { ops.truncate(path, size, cb) },
  // Patched contract: atime/mtime are ms since the epoch (fractional) or null
  // (= UTIME_OMIT, leave unchanged). UTIME_NOW arrives already resolved.
  utimens (path, atime, mtime, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    log.utimens.push({ path, atime, mtime })
    if (atime !== null) n.atime = atime
    if (mtime !== null) n.mtime = mtime
    touchCtime(n)
    cb(0)
  },
  chmod (path, mode, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    n.mode = (n.mode & ~0o7777) | (mode & 0o7777)
    touchCtime(n)
    cb(0)
  },
  chown (path, uid, gid, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    if (uid !== 0xffffffff) n.uid = uid
    if (gid !== 0xffffffff) n.gid = gid
    touchCtime(n)
    cb(0)
  },
  mkdir (path, mode, cb) { add(path, mknode(S_IFDIR | (mode & 0o7777)), cb) },
  symlink (target, path, cb) { add(path, mknode(S_IFLNK | 0o777, { target }), cb) },
  readlink (path, cb) {
    const n = nodes.get(path)
    if (!n || n.target === undefined) return cb(Fuse.EINVAL)
    cb(0, n.target)
  },
  unlink (path, cb) {
    if (!nodes.delete(path)) return cb(Fuse.ENOENT)
    cb(0)
  },
  rmdir (path, cb) {
    for (const p of nodes.keys()) if (p.startsWith(path + '/')) return cb(Fuse.ENOTEMPTY)
    if (!nodes.delete(path)) return cb(Fuse.ENOENT)
    cb(0)
  },
  rename (src, dest, cb) {
    if (!nodes.has(src)) return cb(Fuse.ENOENT)
    for (const [p, n] of [...nodes]) {
      if (p === src || p.startsWith(src + '/')) {
        nodes.delete(p)
        nodes.set(dest + p.slice(src.length), n)
      }
    }
    cb(0)
  }
}

const fuse = new Fuse(mnt, ops, { extraOptions: config.extraOptions, timeout: false })
const send = obj => process.stdout.write(JSON.stringify(obj) + '\n')

fuse.mount(err => {
  if (err) {
    send({ event: 'error', message: err.message })
    process.exit(1)
  }
  send({ event: 'ready', pid: process.pid, options: fuse._fuseOptions(), bindingPath: Fuse.BINDING_PATH, patch: Fuse.MIKOFS_PATCH_VERSION })
})

let quitting = false
function quit () {
  if (quitting) return
  quitting = true
  fuse.unmount(() => process.exit(0))
  setTimeout(() => process.exit(0), 5000).unref()
}
process.on('SIGTERM', quit)
process.on('SIGINT', quit)

createInterface({ input: process.stdin }).on('line', line => {
  const msg = JSON.parse(line)
  const reply = extra => send({ event: 'reply', id: msg.id, ...extra })
  switch (msg.cmd) {
    case 'stats': return reply({ stats: fuse.threadStats() })
    case 'log': return reply({ log })
    case 'clearLog': log.utimens = []; log.writes = []; return reply({})
    case 'ino': return reply({ ino: nodes.get(msg.path)?.ino ?? null })
    case 'quit': reply({}); return quit()
    default: return reply({ error: 'unknown command ' + msg.cmd })
  }
}).on('close', quit)
