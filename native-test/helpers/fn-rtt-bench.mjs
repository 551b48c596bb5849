#!/usr/bin/env node
// Per-op round-trip cost of the patched fuse-native binding: a trivial FUSE
// op (GETATTR via stat(2) with attr_timeout=0) and a big readdir, issued by a
// separate C process (fn-client.c) against the in-memory fs of
// fn-memfs.mjs. Measured with both processes pinned to CPU 0 (taskset -c 0:
// every op is a chain of context switches on one core) and unpinned.
//
// usage: node native-test/helpers/fn-rtt-bench.mjs [--n 20000] [--rounds 5]
//          [--entries 10000] [--readdirs 100] [--module name=/path/to/fuse-native ...]
// Several --module options compare bindings in interleaved rounds (same
// conditions); default: the installed fuse-native. Prints the median of the
// rounds per (module, pinning) and a JSON line. Needs root or fusermount, cc.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, rmdir, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf('--' + name)
  return i >= 0 ? args[i + 1] : def
}
const N = Number(opt('n', 20000))
const ROUNDS = Number(opt('rounds', 5))
const ENTRIES = Number(opt('entries', 10000))
const READDIRS = Number(opt('readdirs', 100))
const modules = []
for (let i = 0; i < args.length; i++) {
  if (args[i] !== '--module') continue
  const [name, dir] = args[i + 1].split('=')
  modules.push({ name, dir: path.resolve(dir) })
}
if (modules.length === 0) modules.push({ name: 'installed', dir: '' })

const work = await mkdtemp(path.join(tmpdir(), 'fn-bench-'))
const client = path.join(work, 'client')
const cc = spawnSync('cc', ['-O2', '-o', client, path.join(here, 'fn-client.c')], { stdio: 'inherit' })
if (cc.status !== 0) throw new Error('cannot compile fn-client.c')

async function isMounted (mnt) {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  return info.split('\n').some(line => line.split(' ')[4] === mnt)
}

async function startFs (mod, pinned) {
  const mnt = await mkdtemp(path.join(work, 'mnt-'))
  const config = { extraOptions: ['attr_timeout=0'], readdirStats: true }
  const argv = [path.join(here, 'fn-memfs.mjs'), mnt, JSON.stringify(config)]
  const env = { ...process.env }
  if (mod.dir) env.FN_MEMFS_MODULE = mod.dir
  const child = pinned
    ? spawn('taskset', ['-c', '0', process.execPath, ...argv], { env, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, argv, { env, stdio: ['pipe', 'pipe', 'inherit'] })
  const waiters = new Map()
  let nextId = 0
  await new Promise((resolve, reject) => {
    child.once('exit', code => reject(new Error('fs exited ' + code)))
    createInterface({ input: child.stdout }).on('line', line => {
      const msg = JSON.parse(line)
      if (msg.event === 'ready') resolve()
      if (msg.event === 'error') reject(new Error(msg.message))
      if (msg.event === 'reply') waiters.get(msg.id)?.(msg)
    })
  })
  const cmd = (c, extra = {}) => new Promise(resolve => {
    const id = ++nextId
    waiters.set(id, resolve)
    child.stdin.write(JSON.stringify({ id, cmd: c, ...extra }) + '\n')
  })
  const exited = new Promise(resolve => child.once('exit', resolve))
  return {
    mnt,
    cmd,
    async stop () {
      child.stdin.write(JSON.stringify({ id: 0, cmd: 'quit' }) + '\n')
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
      if (await isMounted(mnt)) await execFileP('fusermount', ['-uz', mnt]).catch(() => {})
      if (child.exitCode === null) child.kill('SIGKILL')
      await rmdir(mnt).catch(() => {})
    }
  }
}

async function runClient (pinned, mode, p, n) {
  const cmd = pinned ? ['taskset', ['-c', '0', client, mode, p, String(n)]] : [client, [mode, p, String(n)]]
  const { stdout } = await execFileP(cmd[0], cmd[1])
  const [ns, entries] = stdout.trim().split(' ').map(Number)
  return { ns, entries }
}

const results = new Map() // key -> { stat: [], readdir: [] }
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const pinned of [true, false]) {
      for (const mod of modules) {
        const fs = await startFs(mod, pinned)
        try {
          await writeFile(path.join(fs.mnt, 'f'), 'x')
          await fs.cmd('populate', { path: '/big', count: ENTRIES })
          await runClient(pinned, 'stat', path.join(fs.mnt, 'f'), 2000) // warm-up
          const c0 = (await fs.cmd('cpu')).cpu
          const st = await runClient(pinned, 'stat', path.join(fs.mnt, 'f'), N)
          const c1 = (await fs.cmd('cpu')).cpu
          await runClient(pinned, 'readdir', path.join(fs.mnt, 'big'), 3)
          const c2 = (await fs.cmd('cpu')).cpu
          const rd = await runClient(pinned, 'readdir', path.join(fs.mnt, 'big'), READDIRS)
          const c3 = (await fs.cmd('cpu')).cpu
          if (rd.entries !== ENTRIES) throw new Error(`readdir saw ${rd.entries} entries`)
          const key = `${mod.name} ${pinned ? 'pinned' : 'unpinned'}`
          if (!results.has(key)) results.set(key, { stat: [], statUser: [], statSys: [], readdir: [], readdirCpu: [] })
          const r = results.get(key)
          r.stat.push(st.ns / 1000)
          r.statUser.push((c1.user - c0.user) / N)
          r.statSys.push((c1.system - c0.system) / N)
          r.readdir.push(rd.ns / 1000)
          r.readdirCpu.push((c3.user + c3.system - c2.user - c2.system) / READDIRS)
          console.error(`round ${round} ${key}: stat ${(st.ns / 1000).toFixed(2)} us/op (fs cpu user ${r.statUser.at(-1).toFixed(2)} sys ${r.statSys.at(-1).toFixed(2)}), ` +
            `readdir(${ENTRIES}) ${(rd.ns / 1000).toFixed(0)} us (fs cpu ${r.readdirCpu.at(-1).toFixed(0)} us)`)
        } finally {
          await fs.stop()
        }
      }
    }
  }
} finally {
  await rm(work, { recursive: true, force: true })
}

const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
console.log(`\nmedian of ${ROUNDS} rounds (stat: ${N} ops; readdir: ${READDIRS} x ${ENTRIES} entries)`)
console.log('wall = client-measured time; fs cpu = CPU time of the fs process (all threads) per op / per listing')
console.log('binding pinning        stat us/op  fs user  fs sys   readdir us/listing  fs cpu us  ns/entry')
const out = {}
for (const [key, r] of results) {
  const s = median(r.stat)
  const d = median(r.readdir)
  out[key] = { statUs: +s.toFixed(2), statFsUserUs: +median(r.statUser).toFixed(2), statFsSysUs: +median(r.statSys).toFixed(2), readdirUs: +d.toFixed(0), readdirFsCpuUs: +median(r.readdirCpu).toFixed(0) }
  console.log(`${key.padEnd(22)} ${s.toFixed(2).padStart(10)} ${median(r.statUser).toFixed(2).padStart(8)} ${median(r.statSys).toFixed(2).padStart(7)}   ${d.toFixed(0).padStart(18)} ${median(r.readdirCpu).toFixed(0).padStart(10)} ${(d * 1000 / ENTRIES).toFixed(0).padStart(9)}`)
}
console.log(JSON.stringify(out))
