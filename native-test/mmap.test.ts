// Shared writable mappings (mmap MAP_SHARED) on the mount. Writers are
// opened direct_io, which the kernel refuses to map shared unless INIT
// agreed on FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6+; fuse-native patch v8
// adds it to libfuse 2.9's reply). SQLite's WAL index and linkers writing
// their output map files this way. Every program here runs in its own
// process, as a user's would.
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { mountFresh, sh, spawnTracked, useMounts } from './helpers/mount.js';

useMounts();

const [major, minor] = os.release().split('.').map(Number);
const KERNEL_MAPS_DIRECT_IO = major > 6 || (major === 6 && minor >= 6);

// A process holding a shared writable mapping of a file. Commands:
//   write <off> <text>   store into the mapping (memory only)
//   sync                 msync: the kernel writes the pages back and
//                        fsyncs the file, which commits it (as fsync does)
//   close                munmap and close
const MAPPER = String.raw`
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, os.fstat(fd).st_size)
print('ready', flush=True)
for line in sys.stdin:
    cmd, *rest = line.split()
    if cmd == 'write':
        off, text = int(rest[0]), rest[1].encode()
        m[off:off + len(text)] = text
        print('ok', flush=True)
    elif cmd == 'sync':
        m.flush()
        print('ok', flush=True)
    elif cmd == 'close':
        m.close(); os.close(fd)
        print('ok', flush=True)
`;

class Mapper {
  private waiting: ((line: string) => void)[] = [];
  private constructor(private c: ChildProcess) {
    createInterface({ input: c.stdout! }).on('line', (line) => this.waiting.shift()?.(line));
  }
  static async start(file: string): Promise<Mapper> {
    const c = spawnTracked('python3', ['-c', MAPPER, file]);
    const m = new Mapper(c);
    const first = await new Promise<string>((resolve) => { m.waiting.push(resolve); c.on('exit', () => resolve('exited')); });
    if (first !== 'ready') throw new Error(`mapper: ${first}`);
    return m;
  }
  cmd(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.c.stdin!.write(line + '\n');
    });
  }
}

describe('shared writable mappings', () => {
  it('mmap MAP_SHARED of a file opened for writing works (ENODEV only on kernels before 6.6)', async () => {
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.mnt} <<'EOF'
import mmap, os, sys, errno
p = os.path.join(sys.argv[1], 'f')
with open(p, 'wb') as f: f.write(b'.' * 10000)
fd = os.open(p, os.O_RDWR)
try:
    mm = mmap.mmap(fd, 10000)
    mm[0:5] = b'hello'; mm[9995:10000] = b'world'
    mm.close(); os.close(fd)
    print('mapped')
except OSError as e:
    os.close(fd); print(errno.errorcode[e.errno])
d = open(p, 'rb').read()
print(len(d), d[:5].decode(), d[9995:].decode(), d[5:9995] == b'.' * 9990)
EOF`);
    expect(out).toBe(KERNEL_MAPS_DIRECT_IO
      ? 'mapped\n10000 hello world True\n'
      : 'ENODEV\n10000 ..... ..... True\n');
  });

  it.runIf(KERNEL_MAPS_DIRECT_IO)('what a mapping writes is committed at msync or close; other processes see the committed content until then', async () => {
    const m = await mountFresh();
    await sh(`printf '%s' "${'o'.repeat(100)}" > ${m.mnt}/shared`);
    const mapper = await Mapper.start(`${m.mnt}/shared`);
    expect(await mapper.cmd('write 0 MAPPED')).toBe('ok');
    // not committed: another process reads the committed content (the
    // kernel writes the dirty pages back before it reads around them, into
    // the writer's session), never the mapping's pages
    expect(await sh(`head -c 10 ${m.mnt}/shared`)).toBe('oooooooooo');
    expect(await mapper.cmd('sync')).toBe('ok'); // msync: fsync, a commit
    expect(await sh(`head -c 10 ${m.mnt}/shared`)).toBe('MAPPEDoooo');
    expect(await mapper.cmd('write 50 again')).toBe('ok');
    expect(await sh(`cut -c 48-58 ${m.mnt}/shared`)).toBe('ooooooooooo\n');
    expect(await mapper.cmd('close')).toBe('ok');
    const after = await sh(`cat ${m.mnt}/shared`);
    expect(after).toBe('MAPPED' + 'o'.repeat(44) + 'again' + 'o'.repeat(45));
    // every committed state is in the file's history
    const versions = await sh(`ls ${m.mnt}/shared@history/ | wc -l`);
    expect(Number(versions.trim())).toBeGreaterThanOrEqual(3);
  });

  it.runIf(KERNEL_MAPS_DIRECT_IO)('a mapping through an O_APPEND descriptor writes its pages back where they are, not at the end', async () => {
    // (Until 2026-12-05 the writeback of its dirty page was appended: the
    // file grew by a page and the mapped bytes were not where written.)
    const m = await mountFresh();
    const out = await sh(`python3 - ${m.mnt}/am <<'EOF'
import mmap, os, sys
p = sys.argv[1]
open(p, 'wb').write(b'A' * 8192)
fd = os.open(p, os.O_RDWR | os.O_APPEND)
m = mmap.mmap(fd, 8192)
m[0:4] = b'MMAP'; m.flush(); m.close()
os.write(fd, b'tail')
os.close(fd)
d = open(p, 'rb').read()
print(len(d), d.find(b'MMAP'), d[-4:].decode())
EOF`);
    expect(out).toBe('8196 0 tail\n');
  });

  it.runIf(KERNEL_MAPS_DIRECT_IO)('SQLite in WAL mode: two processes write and read one database at once', async () => {
    // (Once, the writer died of SIGBUS about every other run: another
    // process opening the WAL index was told its committed size, 0, and the
    // kernel cut the writer's mapped pages to it. Five runs catch that.)
    const m = await mountFresh();
    for (let run = 0; run < 5; run++) await sh(`rm -f ${m.mnt}/app.db*`).then(() => walRound(m.mnt));
  });

  it.runIf(KERNEL_MAPS_DIRECT_IO)('a file made, grown and mapped (as SQLite makes its WAL index) survives another process stat-ing it meanwhile', async () => {
    // (Until 2026-12-04 the stat was told the committed size, 0, between the
    // writer's last extending write and its first touch of the mapping, and
    // the kernel cut the file under the mapping: SIGBUS within seconds.)
    const m = await mountFresh();
    const out = await sh(`cd ${m.mnt}
      python3 -c '
import os, sys, time
end = time.time() + 6
while time.time() < end:
    try: os.stat("f")
    except FileNotFoundError: pass
' &
      S=$!
      python3 -c '
import mmap, os, time
end = time.time() + 6; n = 0
while time.time() < end:
    fd = os.open("f", os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 3)
    for p in range(4095, 32768, 4096): os.pwrite(fd, b"\\0", p)
    m = mmap.mmap(fd, 32768, mmap.MAP_SHARED)
    for p in range(0, 32768, 4096): m[p] = 1
    m.close(); os.close(fd); os.unlink("f"); n += 1
print("rounds", n > 100)
'; echo "exit $?"; wait $S`);
    expect(out).toBe('rounds True\nexit 0\n');
  });
});

async function walRound(mnt: string): Promise<void> {
  const py = String.raw`
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
role = sys.argv[2]
if role == 'setup':
    # (switching to WAL takes an exclusive lock: two connections doing it at
    # once get "database is locked" on any file system, so it comes first)
    db.execute('pragma journal_mode=wal')
    db.execute('create table t (i integer primary key, v text)')
    db.commit()
elif role == 'writer':
    for i in range(300):
        db.execute('insert into t (v) values (?)', ('row %d' % i,))
        db.commit()
    print('wrote', db.execute('select count(*) from t').fetchone()[0])
else:
    seen = 0
    for _ in range(200):
        n = db.execute('select count(*) from t').fetchone()[0]
        assert n >= seen, (n, seen)
        seen = n
        time.sleep(0.002)
    print('read ok')
`;
  const out = await sh(`cd ${mnt} && cat > /tmp/mikofs-wal-$$.py <<'EOF'
${py}
EOF
python3 /tmp/mikofs-wal-$$.py app.db setup
python3 /tmp/mikofs-wal-$$.py app.db writer > w.out & W=$!
python3 /tmp/mikofs-wal-$$.py app.db reader > r.out & R=$!
wait $W; wait $R; rm -f /tmp/mikofs-wal-$$.py
cat w.out r.out
python3 -c "import sqlite3; d = sqlite3.connect('app.db'); print(d.execute('pragma integrity_check').fetchone()[0], d.execute('select count(*), max(i) from t').fetchone())"
`);
  expect(out).toBe('wrote 300\nread ok\nok (300, 300)\n');
}
