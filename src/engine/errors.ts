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

const STRERROR: Partial<Record<ErrnoCode, string>> = {
  ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links', ENAMETOOLONG: 'file name too long', EINVAL: 'invalid argument',
  EEXIST: 'file exists', ENOTEMPTY: 'directory not empty',
};

/** The text of an errno as coreutils print it after a path, if it is one
 * a path can cause. */
export function strerror(code: string): string | undefined {
  return STRERROR[code as ErrnoCode];
}

/** Runs fn on a path; a bare errno it throws (the engine says ENOENT, not
 * which name) comes out naming the path, as coreutils' messages do:
 * "ENOENT: /a/b: no such file or directory". */
export function onPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FsError && e.message === e.code && STRERROR[e.code]) throw new FsError(e.code, `${path}: ${STRERROR[e.code]}`);
    throw e;
  }
}
