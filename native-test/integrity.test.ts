// Bytes that rot in the store file: reads through the mount answer EIO (and
// the mount logs it), never the wrong bytes; `mikofs verify` finds the same
// damage without anyone reading it, and names the files it hurts.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mikofs, mountFresh, sh, useMounts } from './helpers/mount.js';

useMounts();

describe('integrity', () => {
  it('a rotted chunk and a rotted small file read as EIO through the mount; verify lists both with their paths', async () => {
    const m = await mountFresh();
    await sh(`cd ${m.mnt} && mkdir -p data etc && head -c 1048576 /dev/urandom > data/big.bin && cp data/big.bin data/copy.bin \
      && head -c 600000 /dev/urandom > data/other.bin && printf 'listen 80\\n%.0s' $(seq 1 100) > etc/site.conf && echo ok > etc/fine`);
    await m.umount();

    // Flip one byte in the second chunk of big.bin (copy.bin shares it: dedup)
    // and one in site.conf's inline bytes, in the store file.
    const db = new Database(m.store);
    const ino = (name: string) => db.prepare(`SELECT ino FROM dentries WHERE name = ? AND until = ${Number.MAX_SAFE_INTEGER}`).pluck().get(name) as number;
    const hash = db.prepare('SELECT hash FROM extents WHERE ino = ? AND idx = 1').pluck().get(ino('big.bin')) as Buffer;
    const data = Buffer.from(db.prepare('SELECT data FROM chunks WHERE hash = ?').pluck().get(hash) as Buffer);
    data[1234] ^= 1;
    db.prepare('UPDATE chunks SET data = ? WHERE hash = ?').run(data, hash);
    const conf = db.prepare(`SELECT rowid, inline FROM inodes WHERE ino = ? AND until = ${Number.MAX_SAFE_INTEGER}`).get(ino('site.conf')) as { rowid: number; inline: Buffer };
    const inline = Buffer.from(conf.inline);
    inline[5] ^= 0x20;
    db.prepare('UPDATE inodes SET inline = ? WHERE rowid = ?').run(inline, conf.rowid);
    db.close();
    await m.mount();

    const out = await sh(`cd ${m.mnt}
      for f in data/big.bin data/copy.bin data/other.bin etc/site.conf etc/fine; do
        if cat "$f" > /dev/null 2> /tmp/mikofs-nt-err; then echo "$f: read"; else echo "$f: $(sed 's/.*: //' /tmp/mikofs-nt-err)"; fi
      done
      # The first chunk of big.bin is sound: reading only it works.
      head -c 524288 data/big.bin | wc -c
      cat etc/fine`);
    expect(out).toBe([
      'data/big.bin: Input/output error', 'data/copy.bin: Input/output error', 'data/other.bin: read',
      'etc/site.conf: Input/output error', 'etc/fine: read', '524288', 'ok', '',
    ].join('\n'));
    const log = fs.readFileSync(m.log, 'utf8');
    expect(log).toContain(`EIO: chunk ${hash.toString('hex')} does not match its address`);
    // Logged once, however often it is read (two files and a retry read it
    // here), and as one line, not a stack trace per read.
    expect(log.split(hash.toString('hex')).length - 1).toBe(1);
    expect(log).not.toMatch(/^\s+at /m);
    expect(log).toMatch(/EIO: inline content of inode \d+ \(the version of c\d+\) does not match its checksum/);

    const v = await mikofs('verify', '--store', m.mnt);
    expect(v.code).toBe(1);
    expect(v.stderr).toBe(`mikofs: verify: ${m.store}: 1 corrupt chunk, 1 corrupt small-file version\n`);
    expect(v.stdout).toMatch(new RegExp(`chunk ${hash.toString('hex').slice(0, 16)}… does not match its address\\n` +
      ' {4}/data/big\\.bin {2}bytes 524288-1048575 {2}versions c\\d+ \\(live\\)\\n' +
      ' {4}/data/copy\\.bin {2}bytes 524288-1048575 {2}versions c\\d+ \\(live\\)\\n'));
    expect(v.stdout).toMatch(/inline content does not match its checksum\n {4}\/etc\/site\.conf {2}bytes 0-999 {2}versions c\d+ \(live\)\n/);
    // The mount goes on serving everything else.
    expect(await sh(`cat ${m.mnt}/etc/fine; echo new > ${m.mnt}/etc/fine; cat ${m.mnt}/etc/fine`)).toBe('ok\nnew\n');
  });
});
