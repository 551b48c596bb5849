// A process reading back the file it is writing (git index-pack does so with
// the pack it receives) reads through the kernel page cache: small preads of
// unchanged bytes are not round trips. Every write it makes is seen by its
// next read at once, and processes that are not writing the file keep
// seeing the committed content (handles.ts, lowlevel.ts).
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { mountFresh, run, sh, spawnTracked, useMounts } from './helpers/mount.js';

useMounts();

// One process, two descriptors: fd1 writes, fd2 is read-only. It runs a
// phase per line on stdin and prints one line per phase ("ok ..." or the
// assertion that failed).
const SCRIPT = String.raw`
import os, sys, hashlib, random
p = sys.argv[1]
rnd = random.Random(7)
data = bytearray(rnd.randbytes(65536))
def say(s): print(s, flush=True)
for phase in sys.stdin:
    phase = phase.strip()
    try:
        if phase == 'write':
            fd1 = os.open(p, os.O_RDWR)
            os.ftruncate(fd1, 0)
            os.pwrite(fd1, bytes(data), 0)
            fd2 = os.open(p, os.O_RDONLY)
            say('ok')
        elif phase == 'reread':
            for i in range(1000):
                off = rnd.randrange(0, len(data) - 64)
                assert os.pread(fd2, 64, off) == data[off:off + 64], ('reread', off)
            say('ok')
        elif phase == 'change':
            for i in range(400):
                off = rnd.randrange(0, len(data) + 100)
                b = rnd.randbytes(rnd.randrange(1, 300))
                os.pwrite(fd1, b, off)
                if off > len(data): data.extend(bytes(off - len(data)))
                data[off:off + len(b)] = b
                lo = max(0, off - 50)
                got = os.pread(fd2, len(b) + 100, lo)
                assert got == bytes(data[lo:lo + len(b) + 100]), ('change', i, off)
                assert os.fstat(fd2).st_size == len(data), ('size', i)
            say('ok')
        elif phase == 'close':
            os.close(fd2); os.close(fd1)
            say('ok ' + str(len(data)) + ' ' + hashlib.sha256(data).hexdigest())
            break
    except AssertionError as e:
        say('failed ' + repr(e.args))
`;

describe('a process reading the file it writes', () => {
  it('reads through the page cache, sees each of its writes at once, and others see the committed content', async () => {
    const m = await mountFresh();
    const f = m.path('pack');
    await sh(`printf committed > ${f}`);
    const py = spawnTracked('python3', ['-c', SCRIPT, f]);
    const lines = createInterface({ input: py.stdout! });
    const waiting: ((l: string) => void)[] = [];
    lines.on('line', (l) => waiting.shift()?.(l));
    const phase = (name: string) => new Promise<string>((resolve) => { waiting.push(resolve); py.stdin!.write(name + '\n'); });
    const reads = async () => (await m.opStats()).read?.n ?? 0;

    expect(await phase('write')).toBe('ok');
    const before = await reads();
    expect(await phase('reread')).toBe('ok');
    // 1,000 preads of 64 bytes: with direct_io each was a READ request; the
    // page cache serves them after the first pass over the 16 pages.
    expect(await reads() - before).toBeLessThan(100);

    // Another process, meanwhile: the committed content, at the writer's
    // size (larger: a smaller one would cut a writer's shared mapping).
    expect((await run('cat', [f])).stdout).toBe('committed');
    expect(await sh(`stat -c %s ${f}`)).toBe('65536\n');

    expect(await phase('change')).toBe('ok');
    expect((await run('cat', [f])).stdout).toBe('committed');

    const closed = await phase('close');
    expect(closed).toMatch(/^ok \d+ [0-9a-f]{64}$/);
    const [, size, sum] = closed.split(' ');
    expect(await sh(`stat -c %s ${f} && sha256sum < ${f}`)).toBe(`${size}\n${sum}  -\n`);
  });
});

describe('O_RDONLY|O_TRUNC by a process that is writing the file', () => {
  it('truncates what its writers had not committed too, and the descriptor reads their later writes', async () => {
    // The committed file was truncated but the writers' session kept its
    // bytes: they read them back and their close put them back (found by
    // the differential sequences, 2026-12-05). As on ext4:
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.path('f')} <<'EOF'
import os, sys
p = sys.argv[1]
a = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(a, b'x' * 100, 0)
b = os.open(p, os.O_RDONLY | os.O_TRUNC)
print(os.fstat(a).st_size, os.stat(p).st_size, len(os.pread(a, 1000, 0)), len(os.pread(b, 1000, 0)))
os.pwrite(a, b'y', 10)
print(os.pread(b, 1000, 0))
os.close(a); os.close(b)
print(open(p, 'rb').read())
EOF`);
    expect(out).toBe(`0 0 0 0\n${"b'" + '\\x00'.repeat(10) + "y'"}\n${"b'" + '\\x00'.repeat(10) + "y'"}\n`);
  });
});
