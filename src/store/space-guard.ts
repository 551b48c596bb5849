// SpaceGuard: refusing work the disk could not take, before SQLite fails.
//
// Changes are acknowledged before their group transaction commits (up to
// groupCommitMs later). If that commit then fails because the disk is full,
// every change of the group is rolled back after the callers were told it
// succeeded: a file whose close() returned 0 would be gone. So the store
// watches the free space of the file system holding it and
//   - refuses new data (write: ENOSPC) once what it has accepted, counted
//     twice (the WAL, then the database file at checkpoint), would leave
//     less than a reserve free; other changes (create, rename: a few rows
//     each) may use half of the reserve, background maintenance (whose
//     garbage collection is what gives space back) a quarter; deletes are
//     never refused here (the engine does not ask);
//   - before refusing, asks the store to give space back (reclaim: the WAL
//     keeps the size of the last burst of writes), at most once a second;
//   - near the limit (under four reserves free) commits every change at
//     once instead of grouping them, so that a commit that fails anyway
//     (another program filled the disk) fails the change that made it,
//     with ENOSPC, and no other.
// statfs is asked again every 50 ms, or sooner once the bytes accepted
// since the last answer reach an eighth of the space it reported. Accepted
// bytes reach the disk late (buffered in a session, then the WAL, then the
// database file when the checkpointer copies them), so each is owed twice
// until statfs shows the space taken: what free space shrinks by is paid
// off the debt, and what is left of it halves every two seconds (by then
// the checkpointer has copied a burst, and a WAL that starts over reuses
// its own file instead of growing). A reclaim that empties the WAL settles
// the debt exactly: everything accepted is then in the database file, which
// statfs sees, except what writers still hold in memory (`unwritten`).
import fs from 'node:fs';

export interface DiskSpace { avail: number; total: number }
export type SpaceProbe = (dir: string) => DiskSpace;

const MiB = 1 << 20;

/** The reserve kept free on a file system of `total` bytes: 1/64 of it,
 * at least 8 and at most 64 MiB. */
export function defaultReserve(total: number): number {
  return Math.min(64 * MiB, Math.max(8 * MiB, Math.floor(total / 64)));
}

export function statfsProbe(dir: string): DiskSpace {
  const s = fs.statfsSync(dir);
  return { avail: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

export interface SpaceGuardOptions {
  /** Bytes kept free (default: 1/64 of the file system, 8-64 MiB). */
  reserve?: number;
  /** Where free space is read (default: statfs of the directory). */
  probe?: SpaceProbe;
  /** Milliseconds an answer of the probe is trusted (default 50). */
  refreshMs?: number;
  /** Milliseconds, monotonic (default performance.now). */
  clock?: () => number;
  /** Gives space back before a refusal (the store: checkpoint and cut the
   * WAL, whose file keeps the size of the last burst of writes). Called at
   * most once a second; true when the WAL is empty afterwards. */
  reclaim?: () => boolean;
  /** Bytes accepted that have not reached the store yet (held by writers). */
  unwritten?: () => number;
}

export class SpaceGuard {
  private avail = Number.POSITIVE_INFINITY;
  private total = 0;
  private readAt = -Infinity;
  /** Bytes accepted whose space statfs has not shown taken, counted twice. */
  private owed = 0;
  /** Bytes accepted since the probe last answered. */
  private fresh = 0;
  private fixedReserve: number | undefined;
  private readonly probe: SpaceProbe;
  private readonly refreshMs: number;
  private readonly clock: () => number;
  private reclaim: (() => boolean) | null;
  private unwritten: (() => number) | null;
  private reclaimedAt = -Infinity;

  /** dir null: a store in memory, never refused. */
  constructor(private readonly dir: string | null, opts: SpaceGuardOptions = {}) {
    this.fixedReserve = opts.reserve;
    this.probe = opts.probe ?? statfsProbe;
    this.refreshMs = opts.refreshMs ?? 50;
    this.clock = opts.clock ?? (() => performance.now());
    this.reclaim = opts.reclaim ?? null;
    this.unwritten = opts.unwritten ?? null;
  }

  /** Sets what gives space back (the store, once it is open). */
  onReclaim(fn: () => boolean): void { this.reclaim ??= fn; }

  /** Sets what tells the bytes writers hold in memory (the engine). */
  onUnwritten(fn: () => number): void { this.unwritten ??= fn; }

  /** Before refusing: give space back if that was not just tried, and ask
   * statfs again (space may also have been freed elsewhere). */
  private retry(): void {
    const now = this.clock();
    if (this.reclaim && now - this.reclaimedAt >= 1000) {
      this.reclaimedAt = now;
      let emptied = false;
      try { emptied = this.reclaim(); } catch { /* refusing is still right */ }
      // Without knowing what writers hold, the old debt stands.
      if (emptied && this.unwritten) this.owed = Math.min(this.owed, 2 * this.unwritten());
    }
    this.refresh(true);
  }

  /** Bytes the store keeps free on its file system. */
  get reserve(): number {
    return this.fixedReserve ?? defaultReserve(this.total);
  }

  private refresh(force = false): void {
    if (this.dir === null) return;
    const now = this.clock();
    if (!force && now - this.readAt < this.refreshMs && this.fresh < this.avail / 8) return;
    let avail: number;
    try {
      const s = this.probe(this.dir);
      // A file system that reports no size (tmpfs without a limit, some
      // FUSE and network file systems answer zeros) cannot be judged.
      avail = s.total > 0 ? s.avail : Number.POSITIVE_INFINITY;
      this.total = s.total;
    } catch {
      // Cannot tell (the directory went away): refuse nothing on a guess.
      avail = Number.POSITIVE_INFINITY;
    }
    const taken = Number.isFinite(this.avail) && Number.isFinite(avail) ? Math.max(0, this.avail - avail) : this.owed;
    const elapsed = Number.isFinite(this.readAt) ? now - this.readAt : 0;
    this.owed = Math.max(0, this.owed - taken) * 0.5 ** (elapsed / 2000);
    this.avail = avail;
    this.readAt = now;
    this.fresh = 0;
  }

  /** Free bytes beyond what has been accepted and not yet seen by statfs. */
  private headroom(): number {
    this.refresh();
    return this.avail - this.owed;
  }

  /** May `bytes` of file data be accepted? Counts them when so. */
  admitData(bytes: number): boolean {
    if (this.dir === null) return true;
    if (this.headroom() - 2 * bytes < this.reserve) {
      this.retry();
      if (this.headroom() - 2 * bytes < this.reserve) return false;
    }
    this.owed += 2 * bytes;
    this.fresh += bytes;
    return true;
  }

  /** May a change of a few rows (create, rename, unlink) be made? */
  admitRows(): boolean { return this.dir === null || this.admitAbove(this.reserve / 2); }

  /** May background maintenance write (its GC is what frees space)? */
  admitMaintenance(): boolean { return this.dir === null || this.admitAbove(this.reserve / 4); }

  private admitAbove(floor: number): boolean {
    if (this.headroom() >= floor) return true;
    this.retry();
    return this.headroom() >= floor;
  }

  /** Near the limit: every change should commit at once (see above). */
  tight(): boolean {
    return this.dir !== null && this.headroom() < 4 * this.reserve;
  }

  /** Free bytes as the store will accept them (statfs of the mount). */
  available(): number {
    if (this.dir === null) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.headroom() - this.reserve);
  }
}
