// The kernel's caches under the low-level loop (src/fuse/lowlevel.ts): names
// and attributes are cached (repeated stats are not round trips), and every
// change made behind the kernel's back is visible at once, never after a
// timeout: a rollback through the control socket, a commit at close seen by
// another process, a hard link's other names.
import { describe, expect, it } from 'vitest';
import { CLI, mikofs, mountFresh, sh, sleep, useMounts } from './helpers/mount.js';

useMounts();

describe('kernel caches on a mount', () => {
  it('repeated stats of a tree are served by the kernel, not by round trips', async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt} && mkdir -p d && for i in $(seq 1 50); do echo $i > d/f$i; done`);
    await sh(`cd ${m.mnt} && stat -c %s d/* > /dev/null`);
    const before = (await m.opStats()).getattr.n;
    // Five more passes, well inside the attribute timeout.
    await sh(`cd ${m.mnt} && for k in 1 2 3 4 5; do stat -c %s d/* > /dev/null; done`);
    const after = (await m.opStats()).getattr.n;
    // 250 stats; with attr_timeout=0 each was one getattr (and one per
    // directory walked).
    expect(after - before).toBeLessThan(10);
  });

  it("live names and attributes outlive a passthrough's one second; names of history expire within it", async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt} && mkdir -p d && for i in $(seq 1 50); do echo $i > d/f$i; done && stat -c %s d/* > /dev/null`);
    const counts = async () => { const s = await m.opStats(); return (s.getattr?.n ?? 0) + (s.getattrIno?.n ?? 0) + (s.lookupIno?.n ?? 0); };
    await new Promise((r) => setTimeout(r, 1500));
    const before = await counts();
    await sh(`cd ${m.mnt} && for k in 1 2 3; do stat -c %s d/* > /dev/null; done`);
    // Nothing changed: the kernel still holds every name and attribute.
    expect(await counts() - before).toBeLessThan(5);
    // g did not exist 3 s ago: g@3s is absent now, and must not stay so in
    // the kernel's cache once the state 3 s ago has g.
    expect(await sh(`cd ${m.mnt} && echo x > g && ([ -e g@3s ] || echo absent)`)).toBe('absent\n');
    await new Promise((r) => setTimeout(r, 3600));
    expect(await sh(`cd ${m.mnt} && cat g@3s`)).toBe('x\n');
  });

  it('a view of a past instant is cached like the live tree, and thinning history drops it at once', async () => {
    const m = await mountFresh();
    const counts = async () => {
      const s = await m.opStats();
      return (s.getattr?.n ?? 0) + (s.getattrIno?.n ?? 0) + (s.lookupIno?.n ?? 0) + (s.readdir?.n ?? 0);
    };
    await sh(`cd ${m.mnt} && mkdir d && for i in $(seq 1 30); do echo $i > d/f$i; done`);
    await sleep(1100);
    const past = new Date().toISOString(); // d and its files, before g
    await sleep(1100);
    // g made, then saved twice within 5 s: a rapid edit, whose first save
    // thinning drops (a file's first version stays)
    await sh(`cd ${m.mnt} && echo zero-zero > g`);
    await sleep(1100);
    await sh(`cd ${m.mnt} && echo one > g`);
    await sleep(1100);
    const mid = new Date().toISOString(); // g is "one" here, until thinning
    await sleep(1100);
    await sh(`cd ${m.mnt} && echo two > g`);
    await sh(`ls -lR ${m.mnt}/.versions/${past}/d > /dev/null`);
    expect(await sh(`stat -c %s ${m.mnt}/.versions/${mid}/g && cat ${m.mnt}/.versions/${mid}/g`)).toBe('4\none\n');
    await sleep(1500); // past a passthrough's second
    const before = await counts();
    await sh(`ls -lR ${m.mnt}/.versions/${past}/d > /dev/null && stat -c %s ${m.mnt}/.versions/${mid}/g > /dev/null`);
    expect(await counts() - before).toBeLessThan(5); // served by the kernel
    // Thinning (mikofs gc through the control socket) drops the save of
    // "one": the state at `mid` is now the last surviving one before it,
    // with g as first made (the kernel's cached size of it is dropped).
    const r = await mikofs('gc', '--store', m.mnt);
    expect(r.code).toBe(0);
    expect(await sh(`stat -c %s ${m.mnt}/.versions/${mid}/g && cat ${m.mnt}/.versions/${mid}/g`)).toBe('10\nzero-zero\n');
    expect(await sh(`cat ${m.mnt}/g`)).toBe('two\n');
  });

  it('an absent name is cached too, and a name created through the mount appears at once', async () => {
    const m = await mountFresh();
    const lookups = async () => (await m.opStats()).lookupIno?.n ?? 0;
    await sh(`cd ${m.mnt} && [ -e nothing ] || true`);
    const before = await lookups();
    expect(await sh(`cd ${m.mnt} && for i in $(seq 1 20); do [ -e nothing ] || echo -n .; done`)).toBe('.'.repeat(20));
    expect(await lookups() - before).toBeLessThan(5); // served by the kernel's negative entry
    expect(await sh(`cd ${m.mnt} && echo now > nothing && cat nothing && mkdir d && [ -d d ] && echo dir`)).toBe('now\ndir\n');
    // Names that appear behind the kernel's back: a label, through a snapshot or the label command.
    expect(await sh(`cd ${m.mnt} && ([ -e @snap1 ] || echo no-snap1) && ([ -e nothing@lab1 ] || echo no-lab1)`)).toBe('no-snap1\nno-lab1\n');
    expect((await mikofs('snapshot', '--label', 'snap1', '--store', m.mnt)).code).toBe(0);
    expect(await sh(`cd ${m.mnt} && cat @snap1/nothing`)).toBe('now\n');
    expect((await mikofs('label', 'lab1', '--store', m.mnt)).code).toBe(0);
    expect(await sh(`cd ${m.mnt} && cat nothing@lab1`)).toBe('now\n');
  });

  it("a reader's close is not a round trip; a writer's close still commits", async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt} && echo hello > f`);
    const flushes = async () => (await m.opStats()).flush?.n ?? 0;
    const before = await flushes();
    expect(await sh(`cd ${m.mnt} && for i in $(seq 1 20); do cat f; done | sort -u`)).toBe('hello\n');
    expect(await flushes()).toBe(before); // read-only opens are answered FOPEN_NOFLUSH
    expect(await sh(`cd ${m.mnt} && echo changed >> f && cat f`)).toBe('hello\nchanged\n');
    expect(await flushes()).toBeGreaterThan(before);
  });

  it('a rollback through the control socket is seen at once by stat, cat and ls', async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt} && echo one > f && echo keep > g`);
    expect((await mikofs('label', 'before', '--store', m.mnt)).code).toBe(0);
    await sh(`cd ${m.mnt} && echo much-longer-content > f && rm g && echo new > h`);
    // Cache the new state: sizes, names, content, and g's absence.
    expect(await sh(`cd ${m.mnt} && stat -c %s f && cat f && ls && ([ -e g ] || echo no-g)`)).toBe('20\nmuch-longer-content\nf\nh\nno-g\n');
    const r = await mikofs('rollback', '--to', 'before', '--store', m.mnt);
    expect(r.stderr).toBe('');
    // Immediately (well inside every timeout): the restored state.
    expect(await sh(`cd ${m.mnt} && stat -c %s f && cat f && cat g && ls && ([ -e h ] && echo h-exists || echo no-h)`))
      .toBe('4\none\nkeep\nf\ng\nno-h\n');
  });

  it('another process sees a commit at close at once, after caching the old size', async () => {
    const m = await mountFresh();
    // stat caches size 4 for the attribute timeout; a writer process then
    // commits 18 bytes at close; the next stat, at once, sees them.
    const out = await sh(`cd ${m.mnt} && echo old > f && stat -c %s f && python3 -c "
import os
fd = os.open('f', os.O_RDWR)
os.pwrite(fd, b'0123456789abcdefg\\n', 0)
os.close(fd)" && stat -c %s f && cat f`);
    expect(out).toBe('4\n18\n0123456789abcdefg\n');
  });

  it('a file or symlink replaced by a rename stays what the kernel found: racing opens and symlink swaps never fail, an O_PATH descriptor reopens it', async () => {
    // Found by the exploratory hunt (2026-12-05): an open racing the
    // "write a temporary file, rename it over" save of editors and package
    // managers failed with ENOENT now and then (the kernel had found the old
    // name, the mount no longer had one), and /proc/self/fd of an O_PATH
    // descriptor to a replaced file could not be opened. ext4 gives neither.
    const m = await mountFresh();
    const script = `
import os, sys, errno
d = sys.argv[1]; p = d + "/target"
open(p, "w").write("v0")
pid = os.fork()
if pid == 0:
    for i in range(300):
        with open(p + ".tmp", "w") as f: f.write("v%d" % i)
        os.rename(p + ".tmp", p)
    os._exit(0)
errs = {}; n = 0
while True:
    done = os.waitpid(pid, os.WNOHANG)[0]
    try: os.close(os.open(p, os.O_RDONLY))
    except OSError as e: errs[errno.errorcode[e.errno]] = errs.get(errno.errorcode[e.errno], 0) + 1
    n += 1
    if done: break
s = d + "/swap"; os.makedirs(s + "/r1"); os.makedirs(s + "/r2")
open(s + "/r1/f", "w").write("one"); open(s + "/r2/f", "w").write("two"); os.symlink("r1", s + "/current")
pid = os.fork()
if pid == 0:
    for i in range(300):
        os.symlink("r2" if i % 2 == 0 else "r1", s + "/tmp"); os.rename(s + "/tmp", s + "/current")
    os._exit(0)
while True:
    done = os.waitpid(pid, os.WNOHANG)[0]
    try: open(s + "/current/f").read()
    except OSError as e: errs["swap " + errno.errorcode[e.errno]] = errs.get("swap " + errno.errorcode[e.errno], 0) + 1
    if done: break
q = d + "/opath"; open(q, "w").write("old")
fd = os.open(q, os.O_PATH)
open(q + ".n", "w").write("new"); os.rename(q + ".n", q)
import subprocess
subprocess.run(["node", sys.argv[2], "gc", "--store", d], check=True, stdout=subprocess.DEVNULL)
print(n > 10, errs, open("/proc/self/fd/%d" % fd).read(), open(q).read())
`;
    // (gc retires deleted files: not one the kernel still holds)
    expect(await sh(`python3 -c '${script}' ${m.mnt} ${CLI}`)).toBe('True {} old new\n');
  });
});
