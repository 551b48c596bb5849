// POSIX errors. Every engine failure is an FsError carrying the errno name
// (code) and number (errno), as node's fs errors do, so the FUSE adapter can
// return -errno and the CLI can print a one-line message.
import os from 'node:os';

export type ErrnoCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTEMPTY' | 'EISDIR' | 'ENOTDIR' | 'EACCES' | 'EPERM' | 'ENAMETOOLONG'
  | 'EXDEV' | 'ELOOP' | 'EINVAL' | 'EBADF' | 'EROFS' | 'ENODATA' | 'ERANGE' | 'EFBIG' | 'EIO'
  | 'EBUSY' | 'ENOSPC' | 'ENOTSUP' | 'E2BIG' | 'EMLINK';

export class FsError extends Error {
  readonly errno: number;
  constructor(readonly code: ErrnoCode, message?: string) {
    super(message ? `${code}: ${message}` : code);
    const n = (os.constants.errno as Record<string, number>)[code];
    this.errno = n ?? 5;
  }
}

export function fail(code: ErrnoCode, message?: string): never {
  throw new FsError(code, message);
}

export function isFsError(e: unknown): e is FsError {
  return e instanceof FsError;
}
