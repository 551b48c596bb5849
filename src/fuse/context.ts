// Who is asking. New files, directories, nodes and symlinks belong to the
// calling process's uid/gid, which only the native binding knows (libfuse's
// fuse_get_context). The patched binding exposes it synchronously during a
// handler; without it every new node belongs to the mounting user.
import fs from 'node:fs';
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

/** The calling process (thread group id), or 0 when unknown. The kernel
 * sends the calling *thread*'s id; threads of one process share their open
 * files, so they are one caller here. */
export function callerProcess(): number {
  const tid = hasCallerContext ? getCallerContext()?.pid ?? 0 : 0;
  if (tid <= 0) return 0;
  const known = tgids.get(tid);
  if (known !== undefined) return known;
  let tgid = tid;
  try {
    const m = /\nTgid:\s*(\d+)/.exec(fs.readFileSync(`/proc/${tid}/status`, 'utf8'));
    if (m) tgid = Number(m[1]);
  } catch { /* gone: its own id */ }
  // A thread id is reused only after its process is gone; a small cache is
  // safe for the short time it is consulted (one /proc read per op saved).
  if (tgids.size > 4096) tgids.clear();
  tgids.set(tid, tgid);
  return tgid;
}
const tgids = new Map<number, number>();

/** Whether the caller is a member of group gid (primary or supplementary). */
export function callerInGroup(cred: Cred, gid: number): boolean {
  if (cred.gid === gid) return true;
  const tid = hasCallerContext ? getCallerContext()?.pid ?? 0 : 0;
  if (tid <= 0) return false;
  try {
    const m = /\nGroups:([^\n]*)/.exec(fs.readFileSync(`/proc/${tid}/status`, 'utf8'));
    return m ? m[1].split(/\s+/).filter(Boolean).map(Number).includes(gid) : false;
  } catch {
    return false;
  }
}
