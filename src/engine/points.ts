// Naming a point in history: a commit id, a time, or a label.
import type { Store } from '../store/store.js';
import { fail } from './errors.js';
import type { PointInTime } from './types.js';
import { parseTimeSpec } from './timespec.js';

/** The commit that a point names on a branch: a commit id as is; a time
 * means the last commit at or before it (ENOENT before the first commit; a
 * future time is the newest state); a label its commit. */
export function resolvePoint(store: Store, branch: number, point: PointInTime): number {
  if (typeof point === 'number') return checkCommit(store, point);
  if (typeof point === 'bigint') return commitAtNs(store, branch, point);
  if (point instanceof Date) {
    if (Number.isNaN(point.getTime())) fail('ENOENT');
    // A Date has millisecond precision: it names the end of its millisecond.
    return commitAtNs(store, branch, BigInt(point.getTime()) * 1000000n + 999999n);
  }
  if (typeof point === 'string') {
    const spec = parseTimeSpec(point);
    if (spec?.kind === 'commit') return checkCommit(store, spec.id);
    if (spec?.kind === 'time') return commitAtNs(store, branch, spec.ns);
    if (spec?.kind === 'now') return store.headCommit;
    const c = store.meta.getLabel(point);
    if (c !== undefined) return c;
    fail('ENOENT', `${JSON.stringify(point)} is neither a time nor a label`);
  }
  if ('label' in point) return store.meta.getLabel(point.label) ?? fail('ENOENT', `no label ${point.label}`);
  return checkCommit(store, point.commit);
}

function checkCommit(store: Store, id: number): number {
  if (!Number.isInteger(id) || id < 1 || !store.meta.getCommit(id)) fail('ENOENT', `no commit ${id}`);
  return id;
}

const INT64_MAX = (1n << 63n) - 1n;

function commitAtNs(store: Store, branch: number, ns: bigint): number {
  if (ns > INT64_MAX) ns = INT64_MAX; // the far future is the newest state
  if (ns < 0n) fail('ENOENT', 'before the first commit'); // (1000000w ago: before 1970)
  return store.meta.commitAtTime(branch, ns) ?? fail('ENOENT', 'before the first commit');
}
