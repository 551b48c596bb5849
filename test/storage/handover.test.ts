// Processes handing one store over in quick succession (scripts running
// mikofs commands one after another, a mount starting as a CLI command
// ends): each writer's commits must survive the next writer. The
// background checkpointer once dropped the writer's SQLite locks when it
// stopped (it closed its own descriptor of the -shm file, and fcntl locks
// are per process and file), so a second process appended beside the first
// and one commit was lost. Each child here writes a file and a snapshot
// with the checkpointer running, then closes, six children at a time.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { tmpDir } from '../helpers.js';
import { openStore } from '../../src/index.js';

const child = (file: string) => `
const m = await import(${JSON.stringify(path.resolve('dist/index.js'))});
const tag = process.argv[1];
let e;
for (;;) {
  try { e = await m.openStore(${JSON.stringify(file)}, { holder: 'handover test' }); break; }
  catch (x) { if (!(x instanceof m.StoreLockedError)) throw x; await new Promise((r) => setTimeout(r, 5)); }
}
e.writeFile('/' + tag, tag);
const id = e.snapshot(tag);
e.close();
process.stdout.write(String(id));
`;

function run(file: string, tag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', child(file), tag], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`child ${tag} failed: ${err}`))));
  });
}

describe('store handover between processes', () => {
  it('six writers opening, committing and closing at once, eight times: every commit kept, every id distinct', async () => {
    const file = path.join(tmpDir(), 'handover.mikofs');
    (await openStore(file)).close();
    const tags: string[] = [];
    const ids: number[] = [];
    for (let round = 0; round < 8; round++) {
      const batch = Array.from({ length: 6 }, (_, i) => `r${round}-p${i}`);
      tags.push(...batch);
      ids.push(...(await Promise.all(batch.map((t) => run(file, t)))));
    }
    expect(new Set(ids).size).toBe(ids.length);
    const e = await openStore(file, { readonly: true });
    try {
      for (const t of tags) expect(e.readFile('/' + t).toString()).toBe(t);
      const snapshots = e.store.db.prepare("SELECT message FROM commits WHERE kind = 'snapshot'").pluck().all() as string[];
      expect(snapshots.sort()).toEqual([...tags].sort());
    } finally {
      e.close();
    }
  }, 120_000);
});
