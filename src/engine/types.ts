// Plain data types of the engine API.
import type { Time } from '../store/meta-store.js';
export type { Time };

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;

export const isDir = (mode: number) => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number) => (mode & S_IFMT) === S_IFREG;
export const isLnk = (mode: number) => (mode & S_IFMT) === S_IFLNK;

export interface Stat {
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blocks: number; // 512-byte units
  blksize: number;
  atime: Time; mtime: Time; ctime: Time; btime: Time; // nanoseconds
}

/** Who is asking: owner of what gets created. */
export interface Cred { uid: number; gid: number }

export interface DirEntry { name: string; ino: number; mode: number }

/** A point in history: a commit id, a time (Date or ns bigint), or a label. */
export type PointInTime = number | Date | bigint | { label: string } | { commit: number } | string;

/** A utimens value: ns since epoch, 'now' (UTIME_NOW) or 'omit' (UTIME_OMIT). */
export type TimeSpec = Time | 'now' | 'omit';

export interface StatFs {
  bsize: number; frsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; favail: number; namemax: number;
}

export const NAME_MAX = 255;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
