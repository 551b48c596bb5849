// Tiny in-memory filesystem on the patched fuse-native, run as a CHILD process
// by native-test/fuse-native-fixes.test.ts. This process must never touch its
// own mountpoint (fuse-native runs the FS callbacks on this main thread).
//
// usage: node fn-memfs.mjs <mountpoint> '<json config>'
//   config: { extraOptions?: string[], slowWriteMs?: number, slowCreateMs?: number,
//             nsTimes?: boolean, allowOther?: boolean, readdirStats?: boolean,
//             openReply?: { directIo?: boolean, keepCache?: boolean } }
//   nsTimes: utimensNs mode; times kept as bigint ns and reported as
//            atimeNs/mtimeNs/ctimeNs (with atime/mtime/ctime set to the epoch,
//            so a binding that ignored the *Ns fields would show 1970).
//   allowOther: mount with allow_other + default_permissions, root dir 0777.
//   readdirStats: readdir also answers a stats array ({ mode, ino } per name).
//   doubleReply: getattr calls back 3 times (0, then EIO twice: sync, async).
//   openReply: third argument of every open/create callback (per-open page
//            cache flags, patch v3); the 'setOpenReply' command overrides it
//            per path ({ path, reply }; reply null = call back with 2 args).
// env FN_MEMFS_MODULE: load fuse-native from this path instead (benchmarks
// comparing bindings, see fn-rtt-bench.mjs).
// New nodes get the caller's uid/gid (fuse.context()); the context seen by
// create/mkdir/mknod/symlink/utimens/chmod/unlink is logged (log.ctx).
// stdout: one JSON object per line: {event:'ready', options}, {event:'reply', id, ...}
// stdin:  one JSON object per line: {id, cmd:'stats'|'log'|'clearLog'|'ino'|'node'|'populate'|
//         'setOpenReply'|'setData'|'cpu'|'contextOutsideOp'|'quit', path?, count?, reply?, data?}
// log: utimens calls, write lengths, reads ({ path, len, pos }), opens
// ({ op, path, flags }), fgetattr calls ({ path, fd }), caller contexts.
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'

const require = createRequire(import.meta.url)
const Fuse = require(process.env.FN_MEMFS_MODULE || 'fuse-native')

const [mnt, rawConfig] = process.argv.slice(2)
const config = JSON.parse(rawConfig || '{}')

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000

// Times are ms numbers, or bigint ns in nsTimes mode.
const nowTime = () => config.nsTimes ? BigInt(Date.now()) * 1000000n : Date.now()

let fuse // set below; handlers read fuse.context()
let nextIno = 1000
const nodes = new Map()
function mknode (mode, extra = {}, ctx = null) {
  const now = nowTime()
  return { mode, uid: ctx ? ctx.uid : 0, gid: ctx ? ctx.gid : 0, ino: nextIno++, atime: now, mtime: now, ctime: now, data: Buffer.alloc(0), ...extra }
}
nodes.set('/', mknode(S_IFDIR | (config.allowOther ? 0o777 : 0o755)))

const log = { utimens: [], writes: [], reads: [], opens: [], fgetattr: [], ctx: [], maxInflightCreates: 0 }
const openReplies = new Map() // path -> reply object or null (setOpenReply)
function openReply (path) {
  return openReplies.has(path) ? openReplies.get(path) : config.openReply ?? null
}
// Replies to open/create: with a reply object as the third argument (per-open
// page-cache flags) or, without one, the classic 2-argument callback.
function answerOpen (cb, path, fd) {
  const reply = openReply(path)
  if (reply) cb(0, fd, reply)
  else cb(0, fd)
}

// Directory listings: an index of children, rebuilt after any change to the
// set of paths (cheap readdir for benchmarks with big directories).
let pathsVersion = 0
let listing = null
function children (dir) {
  if (listing === null || listing.version !== pathsVersion) {
    const map = new Map()
    for (const [p, n] of nodes) {
      if (p === '/') continue
      const d = parent(p)
      let e = map.get(d)
      if (!e) map.set(d, e = { names: [], stats: [] })
      e.names.push(base(p))
      e.stats.push({ mode: n.mode, ino: n.ino })
    }
    listing = { version: pathsVersion, map }
  }
  return listing.map.get(dir) ?? { names: [], stats: [] }
}
let inflightCreates = 0
let nextFd = 10

// Reads the caller context the way an adapter must: synchronously, first
// thing in the handler. Also records what fuse.context() returns once the
// handler has returned (must be null), for the tests.
function callerContext (op, path) {
  const ctx = fuse.context()
  const entry = { op, path, ctx, same: JSON.stringify(Fuse.getContext()) === JSON.stringify(ctx), later: 'pending' }
  log.ctx.push(entry)
  queueMicrotask(() => { entry.later = fuse.context() })
  return ctx
}

const parent = p => p.slice(0, p.lastIndexOf('/')) || '/'
const base = p => p.slice(p.lastIndexOf('/') + 1)
const touchCtime = n => { n.ctime = nowTime() }

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
    ...(config.nsTimes
      ? { atime: new Date(0), mtime: 0, ctime: new Date(0), atimeNs: n.atime, mtimeNs: n.mtime, ctimeNs: n.ctime }
      : { atime: n.atime, mtime: n.mtime, ctime: n.ctime })
  }
}

function add (path, node, cb) {
  const dir = nodes.get(parent(path))
  if (!dir) return cb(Fuse.ENOENT)
  if (nodes.has(path)) return cb(Fuse.EEXIST)
  nodes.set(path, node)
  pathsVersion++
  dir.mtime = dir.ctime = nowTime()
  cb(0)
}

function resize (n, size) {
  const buf = Buffer.alloc(size)
  n.data.copy(buf, 0, 0, Math.min(size, n.data.length))
  n.data = buf
  n.mtime = n.ctime = nowTime()
}

const ops = {
  getattr (path, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    cb(0, stat(n))
    if (config.doubleReply && path !== '/') { // buggy fs: answers again, now and later
      cb(Fuse.EIO)
      setImmediate(cb, Fuse.EIO)
    }
  },
  // fstat(2) on an open file (patch v3 calls this instead of getattr)
  fgetattr (path, fd, cb) {
    log.fgetattr.push({ path, fd })
    ops.getattr(path, cb)
  },
  readdir (path, cb) {
    if (!nodes.has(path)) return cb(Fuse.ENOENT)
    const { names, stats } = children(path)
    if (config.readdirStats) cb(0, names, stats)
    else cb(0, names)
  },
  open (path, flags, cb) {
    if (!nodes.has(path)) return cb(Fuse.ENOENT)
    log.opens.push({ op: 'open', path, flags })
    answerOpen(cb, path, nextFd++)
  },
  create (path, mode, cb) {
    const ctx = callerContext('create', path)
    const done = () => {
      inflightCreates--
      log.opens.push({ op: 'create', path, flags: 0 })
      add(path, mknode(mode, {}, ctx), err => err ? cb(err) : answerOpen(cb, path, nextFd++))
    }
    log.maxInflightCreates = Math.max(log.maxInflightCreates, ++inflightCreates)
    if (config.slowCreateMs) setTimeout(done, config.slowCreateMs)
    else done()
  },
  release (path, fd, cb) { cb(0) },
  flush (path, fd, cb) { cb(0) },
  fsync (path, datasync, fd, cb) { cb(0) },
  read (path, fd, buf, len, pos, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    log.reads.push({ path, len, pos })
    if (pos >= n.data.length) return cb(0)
    cb(n.data.copy(buf, 0, pos, Math.min(n.data.length, pos + len)))
  },
  write (path, fd, buf, len, pos, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    log.writes.push(len)
    if (pos + len > n.data.length) resize(n, pos + len)
    buf.copy(n.data, pos, 0, len)
    n.mtime = n.ctime = nowTime()
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
  // Patched contract: atime/mtime are ms since the epoch (fractional), or
  // bigint ns with utimensNs, or null (= UTIME_OMIT, leave unchanged).
  // UTIME_NOW arrives already resolved.
  utimens (path, atime, mtime, cb) {
    callerContext('utimens', path)
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    log.utimens.push({ path, atime, mtime })
    if (atime !== null) n.atime = atime
    if (mtime !== null) n.mtime = mtime
    touchCtime(n)
    cb(0)
  },
  chmod (path, mode, cb) {
    callerContext('chmod', path)
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
  mkdir (path, mode, cb) { add(path, mknode(S_IFDIR | (mode & 0o7777), {}, callerContext('mkdir', path)), cb) },
  mknod (path, mode, dev, cb) { add(path, mknode(mode, {}, callerContext('mknod', path)), cb) },
  symlink (target, path, cb) { add(path, mknode(S_IFLNK | 0o777, { target }, callerContext('symlink', path)), cb) },
  readlink (path, cb) {
    const n = nodes.get(path)
    if (!n || n.target === undefined) return cb(Fuse.EINVAL)
    cb(0, n.target)
  },
  unlink (path, cb) {
    callerContext('unlink', path)
    if (!nodes.delete(path)) return cb(Fuse.ENOENT)
    pathsVersion++
    cb(0)
  },
  rmdir (path, cb) {
    for (const p of nodes.keys()) if (p.startsWith(path + '/')) return cb(Fuse.ENOTEMPTY)
    if (!nodes.delete(path)) return cb(Fuse.ENOENT)
    pathsVersion++
    cb(0)
  },
  // Extended attributes, kept per node in a Map (name -> Buffer).
  setxattr (path, name, value, position, flags, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    if (!n.xattrs) n.xattrs = new Map()
    n.xattrs.set(name, Buffer.from(value))
    cb(0)
  },
  getxattr (path, name, position, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    cb(0, n.xattrs?.get(name) ?? null)
  },
  listxattr (path, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    cb(0, n.xattrs ? [...n.xattrs.keys()] : [])
  },
  removexattr (path, name, cb) {
    const n = nodes.get(path)
    if (!n) return cb(Fuse.ENOENT)
    if (!n.xattrs?.delete(name)) return cb(Fuse.ENODATA)
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
    pathsVersion++
    cb(0)
  }
}

fuse = new Fuse(mnt, ops, {
  extraOptions: config.extraOptions,
  timeout: false,
  utimensNs: !!config.nsTimes,
  allowOther: !!config.allowOther,
  defaultPermissions: !!config.allowOther
})
const send = obj => process.stdout.write(JSON.stringify(obj, (k, v) => typeof v === 'bigint' ? v.toString() + 'n' : v) + '\n')

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
    case 'clearLog': log.utimens = []; log.writes = []; log.reads = []; log.opens = []; log.fgetattr = []; log.ctx = []; log.maxInflightCreates = 0; return reply({})
    case 'setData': { // creates or overwrites a regular file behind the kernel's back
      const n = nodes.get(msg.path)
      if (n) { n.data = Buffer.from(msg.data); n.mtime = n.ctime = nowTime(); return reply({}) }
      add(msg.path, mknode(S_IFREG | 0o644, { data: Buffer.from(msg.data) }), err => reply({ err }))
      return
    }
    case 'setOpenReply': openReplies.set(msg.path, msg.reply); return reply({})
    case 'populate': { // a directory `path` with `count` empty files f0..f<count-1>
      add(msg.path, mknode(S_IFDIR | 0o755), () => {})
      for (let i = 0; i < msg.count; i++) nodes.set(`${msg.path}/f${i}`, mknode(S_IFREG | 0o644))
      pathsVersion++
      return reply({})
    }
    case 'ino': return reply({ ino: nodes.get(msg.path)?.ino ?? null })
    case 'node': {
      const n = nodes.get(msg.path)
      return reply({ node: n ? { mode: n.mode, uid: n.uid, gid: n.gid, atime: n.atime, mtime: n.mtime, ctime: n.ctime } : null })
    }
    case 'cpu': return reply({ cpu: process.cpuUsage() }) // benchmarks: fs process CPU time (us)
    case 'contextOutsideOp': return reply({ own: fuse.context(), any: Fuse.getContext() })
    case 'quit': reply({}); return quit()
    default: return reply({ error: 'unknown command ' + msg.cmd })
  }
}).on('close', quit)
