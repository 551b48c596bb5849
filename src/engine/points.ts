// Naming a point in history: a commit id, a time, or a label.
import type { Store } from '../store/store.js';
import { fail } from './errors.js';
import type { PointInTime } from './types.js';

/** The commit that a point names on a branch: a commit id as is; a time
 * means the last commit at or before it (ENOENT before the first commit; a
 * future time is the newest state); a label its commit. */
export function resolvePoint(store: Store, branch: number, point: PointInTime): number {
  if (typeof point === 'number') return checkCommit(store, point);
  if (typeof point === 'bigint') return commitAtNs(store, branch, point);
  if (point instanceof Date) {
    if (Number.isNaN(point.getTime())) fail('ENOENT');
    return commitAtNs(store, branch, BigInt(point.getTime()) * 1000000n + 999999n);
  }
  if (typeof point === 'string') {
    const c = store.meta.getLabel(point);
    if (c !== undefined) return c;
    fail('ENOENT', `no label ${point}`);
  }
  if ('label' in point) return store.meta.getLabel(point.label) ?? fail('ENOENT', `no label ${point.label}`);
  return checkCommit(store, point.commit);
}

function checkCommit(store: Store, id: number): number {
  if (!Number.isInteger(id) || id < 1 || !store.meta.getCommit(id)) fail('ENOENT', `no commit ${id}`);
  return id;
}

function commitAtNs(store: Store, branch: number, ns: bigint): number {
  return store.meta.commitAtTime(branch, ns) ?? fail('ENOENT', 'before the first commit');
}
