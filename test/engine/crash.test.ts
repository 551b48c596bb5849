import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { tmpDir, bytes } from '../helpers.js';
import { openStore } from '../../src/index.js';

// The child writes through the built library (dist/), as a separate process
// would, and is killed with SIGKILL at arbitrary points of a write session.
const child = (file: string) => `
const m = await import(${JSON.stringify(path.resolve('dist/index.js'))});
const e = await m.openStore(${JSON.stringify(file)});
const pat = (n, seed) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * seed + 7) & 255; return b; };
const round = Number(process.argv[1]);
e.writeFile('/committed-' + round, pat(700000, round + 1));
e.flush();
process.stdout.write('committed\\n');
// An endless session on an existing file, and one on a new file.
const w = e.open('/victim', 'r+');
const n = e.open('/new-' + round, 'w');
let off = 0;
setInterval(() => {
  for (let i = 0; i < 8; i++) { e.write(w, pat(131072, 99), off % (4 << 20)); e.write(n, pat(131072, 98), off); off += 131072; }
}, 1);
`;

function runUntilKilled(file: string, round: number, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', child(file), String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.stdout.on('data', (d) => {
      if (String(d).includes('committed')) setTimeout(() => p.kill('SIGKILL'), delayMs);
    });
    p.on('close', (_code, sig) => (sig === 'SIGKILL' ? resolve() : reject(new Error(`child exited: ${err}`))));
  });
}

describe('crash safety', () => {
  it('SIGKILL in the middle of sessions leaves every committed version intact and nothing partial', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'crash.mikofs');
    const e = await openStore(file);
    const victim = bytes(3 * 1024 * 1024, 42);
    e.writeFile('/victim', victim);
    e.close();
    for (let round = 0; round < 4; round++) {
      await runUntilKilled(file, round, [0, 15, 60, 200][round]);
      const r = await openStore(file); // a writer open runs recovery
      expect(r.readFile('/victim').equals(victim)).toBe(true);
      for (let k = 0; k <= round; k++) {
        const expected = Buffer.alloc(700000);
        for (let i = 0; i < expected.length; i++) expected[i] = (i * (k + 1) + 7) & 255;
        expect(r.readFile(`/committed-${k}`).equals(expected)).toBe(true);
        // a file created by the killed session exists only as created: empty
        if (r.exists(`/new-${k}`)) expect(r.stat(`/new-${k}`).size).toBe(0);
      }
      const db = r.store.db;
      expect(db.prepare("SELECT count(*) FROM branches WHERE kind = 'session'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM session_chunks').pluck().get()).toBe(0);
      // no chunk is left that nothing references
      expect(db.prepare('SELECT count(*) FROM chunks WHERE hash NOT IN (SELECT hash FROM extents WHERE hash IS NOT NULL)').pluck().get()).toBe(0);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      r.close();
    }
  });
});
