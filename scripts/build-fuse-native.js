#!/usr/bin/env node
// Builds node_modules/fuse-native from source (after patch-package applied
// patches/fuse-native+2.2.6.patch) and checks that the binding Node actually
// loads is the patched one. Runs from the "postinstall" script; fails loudly
// (non-zero exit) on any problem, so `npm ci` fails instead of silently
// falling back to fuse-native's unpatched prebuild.
//
// Env: MIKOFS_NODE_GYP=/path/to/node-gyp.js overrides node-gyp discovery.

import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const EXPECTED_PATCH_VERSION = 13

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))

function fail (msg) {
  console.error(`\n[build-fuse-native] ERROR: ${msg}\n`)
  process.exit(1)
}

function log (msg) {
  console.log(`[build-fuse-native] ${msg}`)
}

let pkgDir
try {
  pkgDir = path.dirname(require.resolve('fuse-native/package.json'))
} catch (err) {
  fail(`fuse-native is not installed (${err.message})`)
}

// The patch must have been applied (patch-package runs first in postinstall).
if (!readFileSync(path.join(pkgDir, 'fuse-native.c'), 'utf8').includes('mikofs_patch_version')) {
  fail(`${pkgDir}/fuse-native.c is not patched; run \`npx patch-package\` first (patches/fuse-native+2.2.6.patch)`)
}

// Locate node-gyp. npm bundles it; during lifecycle scripts npm exports
// npm_config_node_gyp (path to node-gyp.js) and npm_execpath (npm-cli.js).
function findNodeGyp () {
  const prefix = path.resolve(path.dirname(process.execPath), '..')
  const candidates = [
    () => process.env.MIKOFS_NODE_GYP,
    () => process.env.npm_config_node_gyp,
    () => process.env.npm_execpath &&
      path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    // npm installed next to this node binary (<prefix>/lib/node_modules/npm).
    () => path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    // Ask npm where its global root is (nvm, custom prefixes).
    () => {
      const r = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' })
      return r.status === 0 && r.stdout.trim()
        ? path.join(r.stdout.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
        : null
    }
  ]
  const tried = []
  for (const candidate of candidates) {
    const c = candidate()
    if (!c) continue
    tried.push(c)
    if (c.endsWith('.js') && existsSync(c)) return c
  }
  fail(`cannot find node-gyp; tried:\n  ${tried.join('\n  ')}\nset MIKOFS_NODE_GYP=/path/to/node-gyp/bin/node-gyp.js`)
}

// Use the headers installed alongside this node if they match its version
// (no network needed); otherwise let node-gyp download them as usual.
function localNodeDir () {
  const prefix = path.resolve(path.dirname(process.execPath), '..')
  const versionH = path.join(prefix, 'include', 'node', 'node_version.h')
  if (!existsSync(versionH) || !existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return null
  const h = readFileSync(versionH, 'utf8')
  const num = name => (h.match(new RegExp(`#define\\s+${name}\\s+(\\d+)`)) || [])[1]
  const v = `v${num('NODE_MAJOR_VERSION')}.${num('NODE_MINOR_VERSION')}.${num('NODE_PATCH_VERSION')}`
  return v === process.version ? prefix : null
}

const nodeGyp = findNodeGyp()
const args = [nodeGyp, 'rebuild']
const nodedir = localNodeDir()
if (nodedir) args.push(`--nodedir=${nodedir}`)

log(`building ${pkgDir}`)
log(`${process.execPath} ${args.join(' ')}`)
const build = spawnSync(process.execPath, args, {
  cwd: pkgDir,
  stdio: 'inherit',
  // node-gyp's binding.gyp runs `node -e ...`; make sure it is this node.
  env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` }
})
if (build.error) fail(`could not run node-gyp: ${build.error.message}`)
if (build.status !== 0) fail(`node-gyp rebuild failed with exit code ${build.status} (signal ${build.signal}); needs python3, make, a C compiler and libfuse 2 (apt install libfuse-dev)`)

const built = path.join(pkgDir, 'build', 'Release', 'fuse.node')
if (!existsSync(built)) fail(`node-gyp succeeded but ${built} does not exist`)

// Load fuse-native the way the app does, in a fresh process, and check the
// resolved binding is the one just built and carries the patch marker. This
// also proves libfuse.so.2 can be loaded by the dynamic linker.
const check = spawnSync(process.execPath, ['-e', `
  const Fuse = require(${JSON.stringify(pkgDir)})
  console.log(JSON.stringify({ path: Fuse.BINDING_PATH, patch: Fuse.MIKOFS_PATCH_VERSION }))
`], { encoding: 'utf8' })
if (check.status !== 0) fail(`the built binding does not load:\n${check.stderr}`)
let info
try {
  info = JSON.parse(check.stdout.trim().split('\n').pop())
} catch {
  fail(`unexpected output from load check: ${check.stdout}`)
}
if (path.resolve(info.path) !== built) fail(`fuse-native loads ${info.path}, expected ${built}`)
if (info.patch !== EXPECTED_PATCH_VERSION) fail(`binding patch version ${info.patch}, expected ${EXPECTED_PATCH_VERSION}`)
log(`OK: ${built} (mikofs patch version ${info.patch})`)
