// Who is asking. New files, directories, nodes and symlinks belong to the
// calling process's uid/gid, which only the native binding knows (libfuse's
// fuse_get_context). The patched binding exposes it synchronously during a
// handler; without it every new node belongs to the mounting user.
import type { Cred } from '../engine/types.js';
import { capabilities, getCallerContext } from './binding.js';

const processCred: Cred = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

/** True when callerCred() reports the real caller, not the mounting user. */
export const hasCallerContext = capabilities.callerContext;

/** The caller of the FUSE request being handled. Must be called
 * synchronously at the start of a handler (the context is per request). */
export function callerCred(): Cred {
  if (!hasCallerContext) return processCred;
  const c = getCallerContext();
  return c ? { uid: c.uid, gid: c.gid } : processCred;
}
