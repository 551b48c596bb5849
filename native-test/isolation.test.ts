// Reader isolation through the kernel: while one process has a file open for
// writing, other processes see the last committed content (never a mix);
// once the writer closes, every reader sees the new content. The writer and
// the long-lived reader are separate processes driven over stdin.
import fsp from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createInterface } from 'node:readline';
import { mountFresh, run, sh, sleep, spawnTracked, useMounts } from './helpers/mount.js';

useMounts();

// A process holding one descriptor. Commands (one per line):
//   open <flags>            fs.openSync(path, flags)
//   write <pos> <text>      pwrite
//   read <pos> <len>        pread -> prints "data <json>"
//   size                    fstat -> prints "size <n>"
//   close
//   truncate <n>            ftruncate
//   chmod <octal>           fchmod
const HOLDER = String.raw`
const fs = require('fs');
const file = process.argv[1];
let fd = -1;
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, ...rest] = line.split(' ');
  try {
    if (cmd === 'open') { fd = fs.openSync(file, a); console.log('ok'); }
    else if (cmd === 'write') { fs.writeSync(fd, rest.join(' '), Number(a)); console.log('ok'); }
    else if (cmd === 'read') { const b = Buffer.alloc(Number(rest[0])); const n = fs.readSync(fd, b, 0, b.length, Number(a)); console.log('data ' + JSON.stringify(b.subarray(0, n).toString())); }
    else if (cmd === 'size') { console.log('size ' + fs.fstatSync(fd).size); }
    else if (cmd === 'close') { fs.closeSync(fd); console.log('ok'); }
    else if (cmd === 'truncate') { fs.ftruncateSync(fd, Number(a)); console.log('ok'); }
    else if (cmd === 'chmod') { fs.fchmodSync(fd, parseInt(a, 8)); console.log('ok'); }
  } catch (e) { console.log('error ' + e.code); }
});
`;

class Holder {
  private waiting: ((line: string) => void)[] = [];
  private constructor(private c: ChildProcess) {
    createInterface({ input: c.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
  }
  static start(file: string): Holder { return new Holder(spawnTracked(process.execPath, ['-e', HOLDER, file])); }
  cmd(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.c.stdin!.write(line + '\n');
    });
  }
  async read(pos: number, len: number): Promise<string> {
    const r = await this.cmd(`read ${pos} ${len}`);
    if (!r.startsWith('data ')) throw new Error(r);
    return JSON.parse(r.slice(5));
  }
}

const OLD = 'old-'.repeat(5000); // 20000 bytes
const NEW = 'NEW+'.repeat(7500); // 30000 bytes

describe('reader isolation', () => {
  it('a reader sees the committed content while a writer is half way, the new content after it closes', async () => {
    const m = await mountFresh();
    const f = m.path('shared.txt');
    await fsp.writeFile(f, OLD);
    const early = Holder.start(f); // a reader that opened before the writer
    expect(await early.cmd('open r')).toBe('ok');
    expect(await early.read(0, 100)).toBe(OLD.slice(0, 100));

    const a = Holder.start(f);
    expect(await a.cmd('open r+')).toBe('ok');
    expect(await a.cmd(`write 0 ${NEW.slice(0, 15000)}`)).toBe('ok'); // half
    expect(await a.cmd('size')).toBe('size 20000');
    expect(await a.read(0, 8)).toBe('NEW+NEW+'); // the writer sees its own bytes

    // Process B: a fresh reader sees exactly the old content and size.
    expect((await run('cat', [f])).stdout).toBe(OLD);
    expect(await sh(`stat -c %s ${f}`)).toBe('20000\n');
    expect(await early.read(10000, 20)).toBe(OLD.slice(10000, 10020));

    expect(await a.cmd(`write 15000 ${NEW.slice(15000)}`)).toBe('ok');
    expect(await a.cmd('size')).toBe('size 30000');
    expect((await run('cat', [f])).stdout).toBe(OLD);
    expect(await a.cmd('close')).toBe('ok');

    // After the close, a fresh open sees the new content...
    expect((await run('cat', [f])).stdout).toBe(NEW);
    expect(await sh(`stat -c %s ${f}`)).toBe('30000\n');
    // ...and so does the reader that opened before (readers follow commits).
    expect(await early.read(0, 30000)).toBe(NEW);
    expect(await early.cmd('size')).toBe('size 30000');
    expect(await early.cmd('close')).toBe('ok');
  });

  it('an open reader follows commits: tail -f shows each line appended by >>, a same-size rewrite replaces its cached pages', async () => {
    const m = await mountFresh();
    const f = m.path('app.log');
    await fsp.writeFile(f, 'l0\n');
    const tail = spawnTracked('tail', ['-f', '-s', '0.1', f]);
    let out = '';
    tail.stdout!.on('data', (d) => (out += d));
    for (let i = 1; i <= 3; i++) {
      await sh(`echo l${i} >> ${f}`);
      await sleep(300);
    }
    for (const t0 = Date.now(); out !== 'l0\nl1\nl2\nl3\n' && Date.now() - t0 < 5000;) await sleep(100);
    tail.kill();
    expect(out).toBe('l0\nl1\nl2\nl3\n');

    // A rewrite in place that keeps the size: the reader reads (and the
    // kernel caches) the committed bytes while the writer is half way;
    // after the commit only the mount can tell the kernel those are stale.
    const g = m.path('same.txt');
    await fsp.writeFile(g, OLD);
    const r = Holder.start(g);
    expect(await r.cmd('open r')).toBe('ok');
    const w = Holder.start(g);
    expect(await w.cmd('open r+')).toBe('ok');
    expect(await w.cmd(`write 0 ${'X'.repeat(20000)}`)).toBe('ok');
    expect(await r.read(0, 20000)).toBe(OLD);
    expect(await r.read(0, 20000)).toBe(OLD);
    expect(await w.cmd('close')).toBe('ok');
    expect(await r.read(0, 20000)).toBe('X'.repeat(20000));
    expect(await r.cmd('close')).toBe('ok');
  });

  it('no read that starts after a writer\'s close returned sees the version before it', async () => {
    const m = await mountFresh();
    // A reader rereads the file in a loop through one descriptor (its pages
    // cached) while another process rewrites it in place, 200 times.
    const out = await sh(`python3 - ${m.path('lag')} <<'EOF'
import os, sys, time, multiprocessing as mp
p = sys.argv[1]; size = 65536
def blob(v): return v.to_bytes(4, 'little') * (size // 4)
def writer(cur, stop):
    for v in range(1, 201):
        fd = os.open(p, os.O_WRONLY); os.write(fd, blob(v)); os.close(fd)
        cur.value = v
    stop.value = 1
if __name__ == '__main__':
    open(p, 'wb').write(blob(0))
    cur = mp.Value('l', 0, lock=False); stop = mp.Value('i', 0, lock=False)
    r = os.open(p, os.O_RDONLY)
    w = mp.Process(target=writer, args=(cur, stop)); w.start()
    stale = reads = 0
    while not stop.value:
        closed = cur.value  # a close that returned before this read began
        b = os.pread(r, size, 0); reads += 1
        if min(int.from_bytes(b[i:i + 4], 'little') for i in range(0, size, 4096)) < closed: stale += 1
    w.join()
    print('stale', stale, 'reads>100', reads > 100, 'last', int.from_bytes(os.pread(r, 4, 0), 'little'))
EOF`);
    expect(out).toBe('stale 0 reads>100 True last 200\n');
  });

  it('O_TRUNC by a writer is invisible to readers until it closes', async () => {
    const m = await mountFresh();
    const f = m.path('t.txt');
    await fsp.writeFile(f, OLD);
    const a = Holder.start(f);
    expect(await a.cmd('open w')).toBe('ok');
    expect(await a.cmd('size')).toBe('size 0');
    expect((await run('cat', [f])).stdout).toBe(OLD);
    expect(await a.cmd('write 0 short')).toBe('ok');
    expect((await run('cat', [f])).stdout).toBe(OLD);
    expect(await a.cmd('close')).toBe('ok');
    expect((await run('cat', [f])).stdout).toBe('short');
  });

  it('a new file is empty to others until its creator closes it (told the writer\'s size, which its mapping needs)', async () => {
    const m = await mountFresh();
    const f = m.path('fresh.txt');
    const a = Holder.start(f);
    expect(await a.cmd('open wx')).toBe('ok');
    expect(await a.cmd('write 0 hello')).toBe('ok');
    // The kernel keeps one size per file: a smaller one told to anyone
    // would cut a writer's shared mapping (SIGBUS); the bytes stay the writer's.
    expect(await sh(`stat -c %s ${f}; cat ${f}`)).toBe('5\n');
    expect(await a.cmd('size')).toBe('size 5');
    expect(await a.cmd('close')).toBe('ok');
    expect(await sh(`stat -c %s ${f}; cat ${f}`)).toBe('5\nhello');
  });

  it("a new file's attributes (cached from its creation) follow its writes, truncation, mode and commit", async () => {
    // lowlevel.ts caches the create reply's attributes and drops nothing at
    // release: the kernel drops size and times at each write, and every
    // reply while a writer is open is uncacheable. What others see:
    const m = await mountFresh();
    const f = m.path('n');
    const other = () => sh(`stat -c '%s %a' ${f}`);
    const a = Holder.start(f);
    expect(await a.cmd('open wx')).toBe('ok');
    expect(await other()).toBe('0 644\n');
    expect(await a.cmd('write 0 hello')).toBe('ok');
    expect(await other()).toBe('5 644\n'); // (the writer's size, see above)
    expect(await a.cmd('truncate 10')).toBe('ok');
    expect(await a.cmd('chmod 640')).toBe('ok');
    expect(await other()).toBe('10 640\n');
    expect(await a.cmd('size')).toBe('size 10');
    expect(await a.cmd('close')).toBe('ok');
    expect(await other()).toBe('10 640\n');
    // git's pattern: close, then link and unlink the temporary name.
    expect(await sh(`cd ${m.mnt} && ln n n2 && rm n && stat -c '%s %h' n2 && od -An -c n2 | sed -n 1p`))
      .toBe('10 1\n   h   e   l   l   o  \\0  \\0  \\0  \\0  \\0\n');
    // A file only truncated by its creator, never written.
    const b = Holder.start(m.path('t'));
    expect(await b.cmd('open wx')).toBe('ok');
    expect(await b.cmd('truncate 3')).toBe('ok');
    expect(await b.cmd('close')).toBe('ok');
    expect(await sh(`stat -c %s ${m.path('t')}`)).toBe('3\n');
  });

  it('unlink while open: the open file keeps working, the name is gone at once', async () => {
    const m = await mountFresh();
    const f = m.path('gone.txt');
    await fsp.writeFile(f, OLD);
    const r = Holder.start(f);
    expect(await r.cmd('open r')).toBe('ok');
    const w = Holder.start(f);
    expect(await w.cmd('open r+')).toBe('ok');
    await fsp.unlink(f);
    expect(await sh(`ls -A ${m.mnt} | wc -l`)).toBe('0\n'); // no .fuse_hidden* left visible
    expect(await r.read(0, 20000)).toBe(OLD);
    expect(await w.cmd('write 0 still-writable')).toBe('ok');
    expect(await w.read(0, 14)).toBe('still-writable');
    expect(await w.cmd('close')).toBe('ok');
    expect(await r.cmd('close')).toBe('ok');
    await fsp.mkdir(m.path('d'));
    await fsp.rmdir(m.path('d'));
    expect(await sh(`ls -A ${m.mnt} | wc -l`)).toBe('0\n');
  });

  it('a rename of an open file to a name like .fuse_hidden0000000100000002 is an ordinary rename', async () => {
    // The mount hides an open file that loses its name under such a name; a
    // rename(2) to one was taken for that hiding, and the file was deleted.
    const m = await mountFresh();
    const out = await sh(`cd ${m.mnt} && echo precious > f && exec 3<f && mv f .fuse_hidden0000000100000002 &&
      ls -A && exec 3<&- && ls -A && cat .fuse_hidden0000000100000002`);
    expect(out).toBe('.fuse_hidden0000000100000002\n.fuse_hidden0000000100000002\nprecious\n');
    await m.remount();
    expect(await fsp.readFile(m.path('.fuse_hidden0000000100000002'), 'utf8')).toBe('precious\n');
  });

  it('the writer sees its own size through fstat and lseek(SEEK_END); another process the larger of it and the committed one', async () => {
    const m = await mountFresh();
    await fsp.writeFile(m.path('sk'), '12345');
    const out = await sh(`python3 - ${m.path('sk')} <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b'x' * 100, 0)
print(os.lseek(fd, 0, os.SEEK_END), os.fstat(fd).st_size, os.stat(sys.argv[1]).st_size)
pid = os.fork()
if pid == 0:
    print(os.stat(sys.argv[1]).st_size, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
os.close(fd)
print(os.stat(sys.argv[1]).st_size)
EOF`);
    expect(out).toBe('100 100 100\n100\n100\n');
  });

  it('writers of one file share it: concurrent appends all land, the last write wins, readers stay isolated', async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt}
      (for i in $(seq 1 300); do echo "a$i"; done >> log) &
      (for i in $(seq 1 300); do echo "b$i"; done >> log) &
      wait`);
    const lines = (await fsp.readFile(m.path('log'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(600);
    expect(lines.filter((l) => l.startsWith('a'))).toEqual(Array.from({ length: 300 }, (_, i) => `a${i + 1}`));
    expect(lines.filter((l) => l.startsWith('b'))).toEqual(Array.from({ length: 300 }, (_, i) => `b${i + 1}`));

    const f = m.path('two.txt');
    await fsp.writeFile(f, '........');
    const a = Holder.start(f);
    const b = Holder.start(f);
    expect(await a.cmd('open r+')).toBe('ok');
    expect(await b.cmd('open r+')).toBe('ok');
    expect(await a.cmd('write 0 AAAA')).toBe('ok');
    expect(await b.cmd('write 1 BB')).toBe('ok');
    expect(await a.read(0, 8)).toBe('ABBA....'); // each writer sees the other's bytes
    expect((await run('cat', [f])).stdout).toBe('........'); // a reader does not
    expect(await b.cmd('close')).toBe('ok'); // a close commits what both wrote
    expect((await run('cat', [f])).stdout).toBe('ABBA....');
    expect(await a.cmd('write 4 CC')).toBe('ok');
    expect((await run('cat', [f])).stdout).toBe('ABBA....');
    expect(await a.cmd('close')).toBe('ok');
    expect((await run('cat', [f])).stdout).toBe('ABBACC..');
  });

  it('a file unlinked while open stays readable through /proc/<pid>/fd by other processes, until its last descriptor closes', async () => {
    const m = await mountFresh();
    await sh(`printf 'keep me' > ${m.mnt}/log.txt`);
    // A process holds the file open; it is deleted; another process
    // recovers it through the holder's descriptor (as after an rm of a log
    // a daemon still writes).
    const holder = spawnTracked('python3', ['-c', `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(fd, flush=True)
sys.stdin.readline()
`, m.path('log.txt')]);
    const fd = await new Promise<string>((resolve) => holder.stdout!.once('data', (d) => resolve(String(d).trim())));
    await sh(`rm ${m.mnt}/log.txt`);
    expect(await sh(`ls -A ${m.mnt}`)).toBe('');
    expect(await sh(`cat /proc/${holder.pid}/fd/${fd}`)).toBe('keep me');
    expect(await sh(`cp /proc/${holder.pid}/fd/${fd} ${m.mnt}/recovered && cat ${m.mnt}/recovered`)).toBe('keep me');
    holder.stdin!.write('\n');
    await new Promise((r) => holder.once('exit', r));
  });
});
