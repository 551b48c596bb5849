// POSIX errors. Every engine failure is an FsError carrying the errno name
// (code) and number (errno), as node's fs errors do, so the FUSE adapter can
// return -errno and the CLI can print a one-line message.
import os from 'node:os';

export type ErrnoCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTEMPTY' | 'EISDIR' | 'ENOTDIR' | 'EACCES' | 'EPERM' | 'ENAMETOOLONG'
  | 'EXDEV' | 'ELOOP' | 'EINVAL' | 'EBADF' | 'EROFS' | 'ENODATA' | 'ERANGE' | 'EFBIG' | 'EIO'
  | 'EBUSY' | 'ENOSPC' | 'ENOTSUP' | 'E2BIG' | 'EMLINK' | 'ENODEV';

const ERRNO = os.constants.errno as Record<string, number>;

export class FsError extends Error {
  readonly errno: number;
  constructor(readonly code: ErrnoCode, message?: string) {
    // An FsError is an answer (ENOENT for every negative lookup), not a
    // fault: no stack trace is captured, which is most of an Error's cost.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ? `${code}: ${message}` : code);
    Error.stackTraceLimit = limit;
    this.errno = ERRNO[code] ?? 5;
  }
}

export function fail(code: ErrnoCode, message?: string): never {
  throw new FsError(code, message);
}

export function isFsError(e: unknown): e is FsError {
  return e instanceof FsError;
}
