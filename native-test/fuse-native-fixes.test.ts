// Proves the mikofs fixes to fuse-native 2.2.6 (patches/fuse-native+2.2.6.patch):
//   (a) utimens delivers correct atime/mtime, UTIME_NOW resolved, UTIME_OMIT -> null
//   (b) per-thread uv_async_t handles are recycled, not leaked, across thread churn
//   (c) extraOptions reach libfuse (big_writes + max_write, use_ino)
//   (d) fuse.context() / Fuse.getContext(): the caller's uid/gid/pid/umask
//   (e) nanosecond stat times (atimeNs/mtimeNs/ctimeNs) and utimensNs
// The filesystem runs in a separate child process (helpers/fn-memfs.mjs); this
// process only drives the mountpoint asynchronously (execFile, never execSync).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, rmdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'

const execFileP = promisify(execFile)
const HELPER = fileURLToPath(new URL('./helpers/fn-memfs.mjs', import.meta.url))
const ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C' }

async function sh (script: string, cwd?: string): Promise<string> {
  const { stdout } = await execFileP('sh', ['-c', script], { cwd, env: ENV, maxBuffer: 16 << 20 })
  return stdout.trim()
}

async function isMounted (mnt: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  return info.split('\n').some(line => line.split(' ')[4] === mnt)
}

interface Stats { allocated: number, idle: number, reused: number }
interface MemFsConfig { extraOptions?: string[], slowWriteMs?: number, slowCreateMs?: number, nsTimes?: boolean, allowOther?: boolean }
interface Ctx { uid: number, gid: number, pid: number, umask: number | null }
interface CtxEntry { op: string, path: string, ctx: Ctx | null, same: boolean, later: Ctx | null | 'pending' }
interface Reply { event: 'reply', id: number, [k: string]: any }

class MemFs {
  private nextId = 0
  private waiters = new Map<number, (r: Reply) => void>()
  private exited: Promise<void>
  ready!: { options: string, bindingPath: string, patch: number }

  private constructor (readonly mnt: string, private child: ChildProcess) {
    this.exited = new Promise(resolve => child.once('exit', () => resolve()))
  }

  static async start (config: MemFsConfig = {}): Promise<MemFs> {
    const mnt = await mkdtemp(path.join(tmpdir(), 'fn-mnt-'))
    const child = spawn(process.execPath, [HELPER, mnt, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
    const fs = new MemFs(mnt, child)
    live.add(fs)
    let stderr = ''
    child.stderr!.on('data', d => { stderr += d })
    fs.ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('mount timed out: ' + stderr)), 15_000)
      child.once('exit', code => reject(new Error(`helper exited (${code}) before mount: ${stderr}`)))
      createInterface({ input: child.stdout! }).on('line', line => {
        const msg = JSON.parse(line)
        if (msg.event === 'ready') { clearTimeout(timer); resolve(msg) }
        if (msg.event === 'error') { clearTimeout(timer); reject(new Error(msg.message)) }
        if (msg.event === 'reply') fs.waiters.get(msg.id)?.(msg)
      })
    })
    return fs
  }

  cmd (cmd: string, extra: object = {}): Promise<Reply> {
    const id = ++this.nextId
    return new Promise(resolve => {
      this.waiters.set(id, resolve)
      this.child.stdin!.write(JSON.stringify({ id, cmd, ...extra }) + '\n')
    })
  }

  p (rel: string): string { return path.join(this.mnt, rel) }

  get pid (): number { return this.child.pid! }

  // Unmount even if the test failed: ask the helper, then fusermount -u,
  // then lazy fusermount -uz, then kill the helper.
  async stop (): Promise<void> {
    live.delete(this)
    const wait = (ms: number) => Promise.race([this.exited.then(() => true), new Promise<boolean>(r => setTimeout(r, ms, false))])
    if (this.child.exitCode === null) {
      try { this.child.stdin!.write(JSON.stringify({ id: 0, cmd: 'quit' }) + '\n') } catch {}
      await wait(5000)
    }
    if (await isMounted(this.mnt)) {
      await execFileP('fusermount', ['-u', this.mnt]).catch(() => execFileP('fusermount', ['-uz', this.mnt]).catch(() => {}))
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL')
      await wait(5000)
    }
    if (await isMounted(this.mnt)) await execFileP('fusermount', ['-uz', this.mnt]).catch(() => {})
    await rmdir(this.mnt).catch(() => {})
  }
}

const live = new Set<MemFs>()
afterEach(async () => {
  for (const fs of [...live]) await fs.stop()
})

const requireCjs = createRequire(import.meta.url)

describe('patched binding is loaded', () => {
  it('exports the mikofs marker from build/Release and validates extraOptions', async () => {
    const Fuse = requireCjs('fuse-native')
    expect(Fuse.MIKOFS_PATCH_VERSION).toBe(2)
    expect(Fuse.BINDING_PATH).toMatch(/fuse-native\/build\/Release\/fuse\.node$/)
    // libfuse.so.2 resolves for the built binary
    expect(await sh(`ldd '${Fuse.BINDING_PATH}'`)).toMatch(/libfuse\.so\.2 => \S+/)

    const opts = new Fuse('/nonexistent', {}, { allowOther: true, extraOptions: ['big_writes', 'use_ino'] })._fuseOptions()
    expect(opts).toBe('-oallow_other,big_writes,use_ino')
    expect(new Fuse('/nonexistent', {}, {})._fuseOptions()).toBe('')
    expect(() => new Fuse('/x', {}, { extraOptions: ['a,b'] })._fuseOptions()).toThrow(TypeError)
    expect(() => new Fuse('/x', {}, { extraOptions: 'big_writes' })._fuseOptions()).toThrow(TypeError)
    // no op is being dispatched here
    expect(Fuse.getContext()).toBe(null)
    expect(new Fuse('/x', {}, {}).context()).toBe(null)
  })
})

describe('(a) utimens', () => {
  const lastUtimens = async (fs: MemFs) => {
    const { log } = await fs.cmd('log')
    return log.utimens.at(-1) as { path: string, atime: number | null, mtime: number | null }
  }
  const stat = (fs: MemFs, f: string) => sh(`stat -c '%y|%x' '${fs.p(f)}'`)

  it('delivers mtime (not atime twice), with sub-ms precision', async () => {
    const fs = await MemFs.start()
    await sh(`touch -d '2001-02-03 04:05:06.123456789' '${fs.p('f')}'`)
    // getattr carries integer milliseconds, hence .123000000
    expect(await stat(fs, 'f')).toBe('2001-02-03 04:05:06.123000000 +0000|2001-02-03 04:05:06.123000000 +0000')
    const u = await lastUtimens(fs)
    expect(u.path).toBe('/f')
    expect(Math.abs(u.mtime! - 981173106123.456789)).toBeLessThan(0.001)
    expect(Math.abs(u.atime! - 981173106123.456789)).toBeLessThan(0.001)

    // different atime and mtime: each must land in its own field
    await sh(`touch -a -d '2003-03-03 03:03:03.25' '${fs.p('f')}' && touch -m -d '2004-04-04 04:04:04.75' '${fs.p('f')}'`)
    expect(await stat(fs, 'f')).toBe('2004-04-04 04:04:04.750000000 +0000|2003-03-03 03:03:03.250000000 +0000')
  })

  it('touch -m keeps atime (UTIME_OMIT -> null), touch -a keeps mtime', async () => {
    const fs = await MemFs.start()
    await sh(`touch -d '2001-02-03 04:05:06.123456789' '${fs.p('f')}'`)
    await sh(`touch -m -d '2002-01-01 00:00:00.5' '${fs.p('f')}'`)
    expect(await lastUtimens(fs)).toEqual({ path: '/f', atime: null, mtime: Date.UTC(2002, 0, 1, 0, 0, 0, 500) })
    expect(await stat(fs, 'f')).toBe('2002-01-01 00:00:00.500000000 +0000|2001-02-03 04:05:06.123000000 +0000')

    await sh(`touch -a -d '2005-05-05 05:05:05' '${fs.p('f')}'`)
    expect(await lastUtimens(fs)).toEqual({ path: '/f', atime: Date.UTC(2005, 4, 5, 5, 5, 5), mtime: null })
    expect(await stat(fs, 'f')).toBe('2002-01-01 00:00:00.500000000 +0000|2005-05-05 05:05:05.000000000 +0000')
  })

  it('touch without a date sets now (UTIME_NOW resolved in C)', async () => {
    const fs = await MemFs.start()
    await sh(`touch -d '2001-02-03 04:05:06' '${fs.p('f')}'`)
    const before = Date.now()
    await sh(`touch '${fs.p('f')}'`)
    const after = Date.now()
    const u = await lastUtimens(fs)
    for (const t of [u.atime!, u.mtime!]) {
      expect(t).toBeGreaterThanOrEqual(before - 5)
      expect(t).toBeLessThanOrEqual(after + 5)
    }
    const [mtime, atime] = (await sh(`stat -c '%Y %X' '${fs.p('f')}'`)).split(' ').map(Number)
    expect(Math.abs(mtime * 1000 - before)).toBeLessThan(2000)
    expect(Math.abs(atime * 1000 - before)).toBeLessThan(2000)
  })

  it('tar -x restores the archived mtimes', async () => {
    const fs = await MemFs.start()
    const src = await mkdtemp(path.join(tmpdir(), 'fn-tar-'))
    try {
      await sh(`mkdir sub && echo hello > a && echo world > sub/b && ln -s a link &&
        touch -d '1999-12-31 23:59:59.25' a &&
        touch -d '2010-06-15 12:00:00.75' sub/b &&
        touch -h -d '2012-12-12 12:12:12' link &&
        touch -d '2005-05-05 05:05:05.5' sub &&
        tar --format=posix -cf ../${path.basename(src)}.tar .`, src)
      await sh(`mkdir '${fs.p('t')}' && tar -xf '${src}.tar' -C '${fs.p('t')}'`)
      const got = await sh(`cd '${fs.p('t')}' && stat -c '%n %y' a sub/b sub && cat a sub/b`)
      expect(got.split('\n')).toEqual([
        'a 1999-12-31 23:59:59.250000000 +0000',
        'sub/b 2010-06-15 12:00:00.750000000 +0000',
        'sub 2005-05-05 05:05:05.500000000 +0000',
        'hello',
        'world'
      ])
    } finally {
      await rm(src, { recursive: true, force: true })
      await rm(src + '.tar', { force: true })
    }
  })
})

describe('(b) per-thread handles are recycled', () => {
  it('handle count stays flat over bursts of parallel writes that churn libfuse worker threads', async () => {
    // Slow writes make each burst need ~N concurrent libfuse worker threads;
    // libfuse 2.9 retires workers beyond 10 idle ones after each burst, and
    // starts new ones for the next burst.
    const N = 40
    const CYCLES = 8
    const fs = await MemFs.start({ slowWriteMs: 40 })
    await sh(`for i in $(seq 1 ${N}); do : > f$i; done`, fs.mnt)

    const rows: Array<Stats & { cycle: number, ms: number, threads: number }> = []
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const t0 = Date.now()
      await sh(`seq 1 ${N} | xargs -P ${N} -I{} sh -c 'printf x > f{}'`, fs.mnt)
      const ms = Date.now() - t0
      const threads = Number((await readFile(`/proc/${fs.pid}/status`, 'utf8')).match(/Threads:\s+(\d+)/)![1])
      const { stats } = await fs.cmd('stats')
      rows.push({ cycle, ms, threads, ...stats })
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    console.log('cycle  ms  threads  allocated(handles)  idle  reused  allocated+reused(=unpatched handle count)')
    for (const r of rows) console.log(`${r.cycle}  ${r.ms}  ${r.threads}  ${r.allocated}  ${r.idle}  ${r.reused}  ${r.allocated + r.reused}`)

    const first = rows[0]
    const last = rows[rows.length - 1]
    // Threads really churned: many new worker threads were started after the
    // first burst (each would have leaked a uv_async_t before the fix) ...
    expect(last.reused).toBeGreaterThanOrEqual((CYCLES - 1) * 10)
    // ... yet the number of handles stays bounded by peak concurrency.
    expect(last.allocated).toBeLessThanOrEqual(first.allocated + 8)
    expect(last.allocated).toBeLessThanOrEqual(N + 16)
    // and the per-burst cost does not grow with age
    expect(last.ms).toBeLessThan(first.ms * 3 + 250)
  })
})

describe('(c) extraOptions reach libfuse', () => {
  it('big_writes + max_write=131072 give 128 KiB writes; use_ino exposes getattr ino', async () => {
    const fs = await MemFs.start({ extraOptions: ['big_writes', 'max_write=131072', 'use_ino'] })
    expect(fs.ready.options).toBe('-obig_writes,max_write=131072,use_ino')
    await sh(`dd if=/dev/zero of='${fs.p('big')}' bs=1M count=8 conv=fsync status=none`)
    const { log } = await fs.cmd('log')
    console.log('write lengths with options:', summarize(log.writes))
    expect(log.writes.length).toBe(64)
    expect(new Set(log.writes)).toEqual(new Set([131072]))

    const { ino } = await fs.cmd('ino', { path: '/big' })
    expect(ino).toBeGreaterThanOrEqual(1000)
    expect(Number(await sh(`stat -c %i '${fs.p('big')}'`))).toBe(ino)
  })

  it('control: without the options writes are 4 KiB and st_ino is libfuse\'s own', async () => {
    const fs = await MemFs.start()
    await sh(`dd if=/dev/zero of='${fs.p('big')}' bs=1M count=1 conv=fsync status=none`)
    const { log } = await fs.cmd('log')
    console.log('write lengths without options:', summarize(log.writes))
    expect(Math.max(...log.writes)).toBe(4096)
    const { ino } = await fs.cmd('ino', { path: '/big' })
    expect(Number(await sh(`stat -c %i '${fs.p('big')}'`))).not.toBe(ino)
  })
})

function summarize (lengths: number[]): string {
  const counts = new Map<number, number>()
  for (const l of lengths) counts.set(l, (counts.get(l) ?? 0) + 1)
  return [...counts].map(([len, n]) => `${n} x ${len}`).join(', ')
}

describe('(d) caller context', () => {
  const ctxLog = async (fs: MemFs) => (await fs.cmd('log')).log.ctx as CtxEntry[]

  it('files created by another user get its uid/gid; pid and umask are the caller\'s', async () => {
    const fs = await MemFs.start({ allowOther: true })
    // sh prints its pid, then exec keeps it for setpriv and touch
    const pid = Number(await sh(`echo $$; umask 027; exec setpriv --reuid=65534 --regid=65534 --clear-groups touch '${fs.p('x')}'`))
    expect(await sh(`stat -c '%u %g %a' '${fs.p('x')}'`)).toBe('65534 65534 640')
    let log = await ctxLog(fs)
    expect(log.find(e => e.op === 'create' && e.path === '/x')).toEqual({
      op: 'create', path: '/x', ctx: { uid: 65534, gid: 65534, pid, umask: 0o027 }, same: true, later: null
    })
    // touch then sets the times (UTIME_NOW): allowed by default_permissions
    // only because the file belongs to 65534; umask is null for non-creating ops
    expect(log.find(e => e.op === 'utimens' && e.path === '/x')!.ctx).toEqual({ uid: 65534, gid: 65534, pid, umask: null })

    await fs.cmd('clearLog')
    const pid2 = Number(await sh(`echo $$; umask 077; exec setpriv --reuid=4242 --regid=4343 --clear-groups mkdir '${fs.p('d')}'`))
    expect(await sh(`stat -c '%u %g %a' '${fs.p('d')}'`)).toBe('4242 4343 700')
    const pid3 = Number(await sh(`echo $$; umask 002; exec mkfifo '${fs.p('p')}'`))
    expect(await sh(`stat -c '%u %g %a %F' '${fs.p('p')}'`)).toBe('0 0 664 fifo')
    log = await ctxLog(fs)
    expect(log.map(e => [e.op, e.path, e.ctx, e.same, e.later])).toEqual([
      ['mkdir', '/d', { uid: 4242, gid: 4343, pid: pid2, umask: 0o077 }, true, null],
      ['mknod', '/p', { uid: 0, gid: 0, pid: pid3, umask: 0o002 }, true, null]
    ])
    // default_permissions: 65534 cannot create in 4242's 0700 directory
    await expect(sh(`setpriv --reuid=65534 --regid=65534 --clear-groups touch '${fs.p('d/y')}'`)).rejects.toThrow(/Permission denied/)
    expect(await fs.cmd('contextOutsideOp')).toMatchObject({ own: null, any: null })
  })

  it('concurrent creates from many users and libfuse threads each see their own context', async () => {
    const N = 30
    // create handlers answer after 150 ms, so all N creates are in flight at
    // once, on N libfuse worker threads, interleaved on the JS thread (one
    // directory each: the kernel serializes creates within a directory)
    const fs = await MemFs.start({ allowOther: true, slowCreateMs: 150 })
    await sh(`for i in $(seq 0 ${N - 1}); do mkdir -m 777 d$i; done`, fs.mnt)
    await fs.cmd('clearLog')
    const out = await sh(`seq 0 ${N - 1} | xargs -P ${N} -I{} sh -c 'echo {} $$; exec setpriv --reuid=$((1000+{})) --regid=$((2000+{})) --clear-groups touch d{}/f'`, fs.mnt)
    const pids = new Map(out.split('\n').map(l => l.split(' ').map(Number) as [number, number]))
    expect(pids.size).toBe(N)
    const log = (await ctxLog(fs)).filter(e => e.op === 'create')
    expect(log.length).toBe(N)
    for (const e of log) {
      const i = Number(e.path.split('/')[1].slice(1))
      expect(e.ctx).toEqual({ uid: 1000 + i, gid: 2000 + i, pid: pids.get(i), umask: 0o022 })
      expect(e.same).toBe(true)
      expect(e.later).toBe(null)
    }
    const owners = await sh(`for i in $(seq 0 ${N - 1}); do stat -c '%n %u %g' d$i/f; done`, fs.mnt)
    expect(owners.split('\n')).toEqual(Array.from({ length: N }, (_, i) => `d${i}/f ${1000 + i} ${2000 + i}`))
    const { maxInflightCreates } = (await fs.cmd('log')).log
    console.log('max creates in flight at once:', maxInflightCreates)
    expect(maxInflightCreates).toBeGreaterThanOrEqual(10)
  })
})

describe('(e) nanosecond timestamps', () => {
  const stat = (fs: MemFs, f: string) => sh(`stat -c '%y|%x' '${fs.p(f)}'`)
  const lastUtimens = async (fs: MemFs) => (await fs.cmd('log')).log.utimens.at(-1)

  it('touch -d with ns round-trips exactly through utimensNs and atimeNs/mtimeNs', async () => {
    const fs = await MemFs.start({ nsTimes: true })
    await sh(`touch -d '2001-02-03 04:05:06.123456789' '${fs.p('f')}'`)
    expect(await sh(`stat -c %y '${fs.p('f')}'`)).toBe('2001-02-03 04:05:06.123456789 +0000')
    expect(await stat(fs, 'f')).toBe('2001-02-03 04:05:06.123456789 +0000|2001-02-03 04:05:06.123456789 +0000')
    // utimensNs: bigint ns (serialized by the helper as "<digits>n")
    expect(await lastUtimens(fs)).toEqual({ path: '/f', atime: '981173106123456789n', mtime: '981173106123456789n' })

    // single times, UTIME_OMIT -> null
    await sh(`touch -m -d '2004-04-04 04:04:04.000000001' '${fs.p('f')}'`)
    expect(await lastUtimens(fs)).toEqual({ path: '/f', atime: null, mtime: '1081051444000000001n' })
    await sh(`touch -a -d '2003-03-03 03:03:03.999999999' '${fs.p('f')}'`)
    expect(await lastUtimens(fs)).toEqual({ path: '/f', atime: '1046660583999999999n', mtime: null })
    expect(await stat(fs, 'f')).toBe('2004-04-04 04:04:04.000000001 +0000|2003-03-03 03:03:03.999999999 +0000')

    // before the epoch: negative ns, floor to (sec, 0..999999999)
    await sh(`touch -d '1969-12-31 23:59:59.999999999' '${fs.p('f')}'`)
    expect(await lastUtimens(fs)).toEqual({ path: '/f', atime: '-1n', mtime: '-1n' })
    expect(await stat(fs, 'f')).toBe('1969-12-31 23:59:59.999999999 +0000|1969-12-31 23:59:59.999999999 +0000')
    await sh(`touch -d '1901-12-13 20:45:52.5' '${fs.p('f')}'`) // < INT32_MIN seconds
    expect(await stat(fs, 'f')).toBe('1901-12-13 20:45:52.500000000 +0000|1901-12-13 20:45:52.500000000 +0000')
    await sh(`touch -d '2500-01-01 00:00:00.25' '${fs.p('f')}'`) // > UINT32_MAX seconds
    expect(await stat(fs, 'f')).toBe('2500-01-01 00:00:00.250000000 +0000|2500-01-01 00:00:00.250000000 +0000')

    // ctimeNs is reported too (the helper sets it from Date.now(): whole ms)
    const { node } = await fs.cmd('node', { path: '/f' })
    const ctimeNs = BigInt(node.ctime.slice(0, -1))
    expect(await sh(`stat -c %.9Z '${fs.p('f')}'`)).toBe(`${ctimeNs / 1000000000n}.${String(ctimeNs % 1000000000n).padStart(9, '0')}`)
  })

  it('without *Ns fields, ms numbers are still truncated to whole ms; pre-1970 ms times now work', async () => {
    const fs = await MemFs.start()
    await sh(`touch -d '1960-01-01 00:00:00.5' '${fs.p('f')}'`)
    expect(await stat(fs, 'f')).toBe('1960-01-01 00:00:00.500000000 +0000|1960-01-01 00:00:00.500000000 +0000')
    await sh(`touch -d '2020-02-02 02:02:02.987654321' '${fs.p('f')}'`)
    expect(await stat(fs, 'f')).toBe('2020-02-02 02:02:02.987000000 +0000|2020-02-02 02:02:02.987000000 +0000')
  })

  it('cp --preserve=timestamps and tar -x keep ns times', async () => {
    const fs = await MemFs.start({ nsTimes: true })
    const src = await mkdtemp(path.join(tmpdir(), 'fn-ns-'))
    try {
      await sh(`echo a > a && mkdir d && echo b > d/b &&
        touch -d '2011-11-11 11:11:11.111111111' a &&
        touch -m -d '2012-12-12 12:12:12.987654321' d/b && touch -a -d '2013-01-01 00:00:00.000000007' d/b &&
        tar --format=posix -cf ../${path.basename(src)}.tar a d/b`, src)
      const want = await sh(`stat -c '%n %y %x' a d/b`, src)
      await sh(`cp --preserve=timestamps '${src}/a' '${fs.p('a')}'`)
      expect(await sh(`stat -c '%n %y %x' a`, fs.mnt)).toBe(want.split('\n')[0])
      await sh(`mkdir '${fs.p('t')}' && tar -xf '${src}.tar' -C '${fs.p('t')}'`)
      // tar -x restores mtime exactly (atime is set to "now" by tar)
      expect(await sh(`stat -c '%n %y' a d/b`, fs.p('t'))).toBe(want.split('\n').map(l => l.split(' ').slice(0, 4).join(' ')).join('\n'))
    } finally {
      await rm(src, { recursive: true, force: true })
      await rm(src + '.tar', { force: true })
    }
  })
})
