// scripts/ensure.sh, the part every script and the test command run first:
// it installs only what is missing. Run from a copy in a scratch checkout
// (node_modules, dist present and fresh, so it goes no further than its
// package checks), with ldconfig, apt-get and sudo on PATH replaced by
// scripts that answer as the machine would and record being called.
import { describe, it, expect, beforeAll, beforeEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { tmpDir } from '../helpers.js';

let root: string;
let fake: string;

function ensure(env: NodeJS.ProcessEnv = {}): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', `source '${root}/scripts/ensure.sh' && echo ok`], {
      env: { ...process.env, MIKOFS_EXTRA_PACKAGES: '', PATH: `${fake}:${process.env.PATH}`, ...env },
    }, (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, err: err + (out === 'ok\n' ? '' : out) }));
  });
}

beforeEach(() => fs.rmSync(path.join(root, 'apt.log'), { force: true }));

function script(name: string, body: string): void {
  fs.writeFileSync(path.join(fake, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
}

describe('scripts/ensure.sh', () => {
  beforeAll(() => {
    root = tmpDir();
    fake = path.join(root, 'fake-bin');
    for (const d of ['scripts', 'fake-bin', 'src', 'schema', 'dist/cli', 'node_modules/fuse-native/build/Release']) {
      fs.mkdirSync(path.join(root, d), { recursive: true });
    }
    fs.copyFileSync(path.resolve('scripts/ensure.sh'), path.join(root, 'scripts/ensure.sh'));
    fs.writeFileSync(path.join(root, 'package-lock.json'), '{}');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(root, 'package-lock.json'), old, old);
    for (const f of ['node_modules/.package-lock.json', 'node_modules/fuse-native/build/Release/fuse.node', 'dist/cli/main.js']) {
      fs.writeFileSync(path.join(root, f), '');
    }
    script('apt-get', `echo "apt-get $*" >> '${root}/apt.log'`);
    script('sudo', '"$@"');
  });

  it('finds libfuse.so.2 in an ldconfig that is still writing after the match: nothing to install (found by CI, 2026-12-05)', async () => {
    // The match comes first, and more output after a pause: grep -q left
    // then, ldconfig died of SIGPIPE writing the rest, and under pipefail
    // the library counted as missing (apt-get ran on a loaded machine).
    script('ldconfig', `echo '\tlibfuse.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libfuse.so.2'\nsleep 0.2\nfor i in $(seq 2000); do echo "\tlibother$i.so.1 (libc6,x86-64) => /lib/libother$i.so.1"; done`);
    const r = await ensure();
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(root, 'apt.log'))).toBe(false);
  });

  it('installs libfuse2 when ldconfig does not list it, and says so', async () => {
    script('ldconfig', `for i in $(seq 2000); do echo "\tlibother$i.so.1 (libc6,x86-64) => /lib/libother$i.so.1"; done`);
    const r = await ensure();
    expect(r.err).toBe('mikofs: installing libfuse2 (apt)\n');
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(root, 'apt.log'), 'utf8')).toBe('apt-get update -qq\napt-get install -y -qq libfuse2\n');
  });
});
