// Engine values to and from what fuse-native carries: stats (ms numbers for
// an upstream binding, exact bigint ns for the patched one) and utimens times.
import type { Stat, StatFs, TimeSpec } from '../engine/types.js';
import type { FuseStat, FuseStatfs, NativeTime } from './binding.js';

const MS = 1000000n;

const ms = (ns: bigint): number => Number(ns / MS);

export function toFuseStat(s: Stat): FuseStat {
  return {
    mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, dev: 0, nlink: s.nlink, ino: s.ino,
    rdev: s.rdev, blksize: s.blksize, blocks: s.blocks,
    atime: ms(s.atime), mtime: ms(s.mtime), ctime: ms(s.ctime),
    atimeNs: s.atime, mtimeNs: s.mtime, ctimeNs: s.ctime,
  };
}

/** readdir only needs the inode number and the file type (zero times: the
 * binding would otherwise call Date.now() three times per entry). */
export function direntStat(ino: number, mode: number): Partial<FuseStat> {
  return { ino, mode, atime: 0, mtime: 0, ctime: 0 };
}

/** A utimens argument as the engine takes it. UTIME_NOW arrives resolved to
 * a time by the binding; null is UTIME_OMIT. */
export function toTimeSpec(t: NativeTime): TimeSpec {
  if (t === null || t === undefined) return 'omit';
  if (typeof t === 'bigint') return t;
  const whole = Math.floor(t);
  return BigInt(whole) * MS + BigInt(Math.round((t - whole) * 1e6));
}

export function toFuseStatfs(s: StatFs, readonly: boolean): FuseStatfs {
  const u32 = (n: number) => Math.max(0, Math.min(n, 0xffffffff));
  return {
    bsize: s.bsize, frsize: s.frsize, blocks: u32(s.blocks), bfree: u32(s.bfree), bavail: u32(s.bavail),
    files: u32(s.files), ffree: u32(s.ffree), favail: u32(s.favail), fsid: 0,
    flag: readonly ? 1 /* ST_RDONLY */ : 0, namemax: s.namemax,
  };
}
