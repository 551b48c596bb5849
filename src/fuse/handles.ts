// Open files as the adapter sees them: FUSE handles, the engine handles
// behind them, and what each open asks of the kernel page cache.
//
// Writers of one file share one engine handle (one WriteSession). Among
// themselves they then behave as on any POSIX filesystem: each sees the
// others' writes at once, O_APPEND appends after what any of them wrote, and
// the last write (not the last close) wins where they overlap. Separate
// sessions would each append at their own idea of the end of file and lose
// data (`a >> log & b >> log`). Readers are isolated from all of them: a
// reader sees the content committed when it opened; the shared session is
// committed when any writer closes a descriptor (flush) or fsyncs, and
// released when the last writer, and the last reader borrowing it (below),
// has closed.
//
// Page cache. The kernel page cache is shared by all handles of a kernel
// inode, so at the kernel level:
//  - writers are opened direct_io: their bytes reach the cache only through
//    the one kind of reader that may see them (next point), or through a
//    shared mapping of a writer (when INIT agreed on
//    FUSE_DIRECT_IO_ALLOW_MMAP): while a writer is open, readers of other
//    processes then read direct_io;
//  - a read-only open by the process that is writing the file ("borrowed":
//    it reads the session) is page-cached when no reader of another version
//    has the inode's pages cached. git index-pack reads the pack it is
//    writing back through such descriptors, in small preads: direct_io made
//    each one a round trip. The cache then holds the session's bytes, marked
//    SESSION: readers of other processes read direct_io meanwhile, and the
//    first cached open after the borrowers closed drops those pages. While
//    borrowers are open, every write to the file is answered only after the
//    pages it covers were dropped (`pagesOfSession`, lowlevel.ts): the
//    kernel drops them before a direct_io write too, but a borrower's read
//    racing the write could cache the old bytes again in between;
//  - any other reader may keep what the kernel cached (keep_cache) only if
//    those pages are of the version it reads, and must not add pages
//    of another version while other cached readers of the same pages are
//    open (then it reads direct_io instead, leaving their pages alone).
//    Readers follow commits (engine.ts), so a commit moves the cached
//    readers of the file on to the new version and drops their pages
//    (`committed`).
// The kernel inode is per *path* in libfuse 2.9's high-level API (two hard
// links are two kernel inodes, each with its own cache), so what the kernel
// caches is tracked per (ino, path). Losing track (rename, eviction) is safe:
// an unknown entry means "invalidate on the next open".
// The patched binding (v3) passes these replies to the kernel per open
// (FOPEN_DIRECT_IO / FOPEN_KEEP_CACHE). An unpatched one cannot
// (capabilities.openFlags false): mount.ts then mounts with the global
// `direct_io` option, no page cache for file data at all, trivially isolated.
import type { OpenReply } from './binding.js';

export interface Handle {
  /** The engine handle (shared by all writers of the file). */
  efh: number;
  ino: number;
  writer: boolean;
  /** The process that opened it (writers only; 0: unknown). */
  owner: number;
  key: string;
  reply: OpenReply;
  /** A read-only open by a process that is writing the file: it reads
   * through the shared writer handle (its own writes), which it does not own. */
  borrowed: boolean;
}

interface Cached { version: number; readers: number }
interface Shared { efh: number; refs: number }

const MAX_TRACKED = 10000;
/** `Cached.version` of pages that hold a write session's bytes. */
const SESSION = -2;

export class Handles {
  private byFh = new Map<number, Handle>();
  /** The shared writer engine handle of each inode being written. */
  private writers = new Map<number, Shared>();
  private cache = new Map<string, Cached>();
  /** path -> keys of `cache` for it (unlink and rename forget by path). */
  private byPath = new Map<string, Set<string>>();
  /** ino -> keys of `cache` for it (a commit moves its readers on). */
  private byIno = new Map<number, Set<string>>();
  /** ino -> open page-cached borrowed readers. */
  private borrowers = new Map<number, number>();
  private nextFh = 1;

  /** cacheBorrowed: the binding can hold a write's reply until its pages
   * are dropped (fuse-native patch v6); without it borrowers read direct_io. */
  constructor(private readonly cacheBorrowed = false, private readonly sharedMapsAllowed: () => boolean = () => false) {}

  /** Whether the kernel may cache pages of ino's write session: its writes
   * must then be answered after those pages are dropped. */
  pagesOfSession(ino: number): boolean { return this.borrowers.has(ino); }

  get(fh: number): Handle | undefined { return this.byFh.get(fh); }

  /** The engine handle all writers of ino share, if one is open. */
  writerOf(ino: number): number | undefined { return this.writers.get(ino)?.efh; }

  /** Whether others must be told a size at least the writer's: a writer of
   * ino may have it mapped shared, and the size the kernel is told is its
   * one inode's for every process. */
  sizeMustCoverWriter(ino: number): boolean {
    return this.writers.has(ino) && this.sharedMapsAllowed();
  }

  /** Whether process `owner` has ino open for writing. */
  writesTo(ino: number, owner: number): boolean {
    if (!this.writers.has(ino) || owner === 0) return false;
    for (const h of this.byFh.values()) if (h.writer && h.ino === ino && h.owner === owner) return true;
    return false;
  }

  isOpen(ino: number): boolean {
    if (this.writers.has(ino)) return true;
    for (const h of this.byFh.values()) if (h.ino === ino) return true;
    return false;
  }

  /** Records an open; returns its FUSE handle number and page-cache reply.
   * version: the committed version of the file a reader reads now. */
  add(efh: number, ino: number, path: string, opts: { writer: boolean; owner?: number; version: number; borrowed?: boolean }): { fh: number; reply: OpenReply } {
    const key = `${ino}:${path}`;
    let reply: OpenReply;
    if (opts.borrowed) {
      const c = this.cache.get(key);
      if (!this.cacheBorrowed || (c && c.readers > 0 && c.version !== SESSION)) {
        reply = { directIo: true, keepCache: true }; // others' pages are another version
      } else if (c && c.readers > 0) {
        c.readers++;
        reply = { directIo: false, keepCache: true };
      } else {
        this.track(key, SESSION);
        reply = { directIo: false, keepCache: false }; // kernel drops other versions' pages
      }
      if (!reply.directIo) this.borrowers.set(ino, (this.borrowers.get(ino) ?? 0) + 1);
      // It reads through the writers' engine handle: that stays open until
      // the borrower closes too, after the last writer.
      const s = this.writers.get(ino);
      if (s) s.refs++;
    } else if (opts.writer) {
      reply = { directIo: true, keepCache: true };
      const s = this.writers.get(ino);
      if (s && s.efh !== efh) throw new Error(`ino ${ino} has two writer sessions`);
      if (s) s.refs++;
      else this.writers.set(ino, { efh, refs: 1 });
    } else if (this.writers.has(ino) && this.sharedMapsAllowed()) {
      // A writer may have the file mapped shared: its unsaved bytes may be
      // in the page cache, which this reader must not see.
      reply = { directIo: true, keepCache: true };
    } else {
      const c = this.cache.get(key);
      if (c && c.version === opts.version) {
        c.readers++;
        reply = { directIo: false, keepCache: true };
      } else if (c && c.readers > 0) {
        reply = { directIo: true, keepCache: true }; // others' pages are another version
      } else {
        this.track(key, opts.version);
        reply = { directIo: false, keepCache: false }; // kernel drops stale pages
      }
    }
    const fh = this.allocFh();
    this.byFh.set(fh, { efh, ino, writer: opts.writer, owner: opts.owner ?? 0, key, reply, borrowed: !!opts.borrowed });
    return { fh, reply };
  }

  /** Forgets a FUSE handle; returns the engine handle to release when this
   * was its last user, else undefined. */
  remove(fh: number): number | undefined {
    const h = this.byFh.get(fh);
    if (!h) return undefined;
    this.byFh.delete(fh);
    if (h.borrowed) {
      if (!h.reply.directIo) {
        const c = this.cache.get(h.key);
        if (c) c.readers--;
        const n = (this.borrowers.get(h.ino) ?? 1) - 1;
        if (n > 0) this.borrowers.set(h.ino, n); else this.borrowers.delete(h.ino);
      }
      return this.unref(h);
    }
    if (h.writer) return this.unref(h);
    if (!h.reply.directIo) {
      const c = this.cache.get(h.key);
      if (c) c.readers--;
    }
    return h.efh;
  }

  /** One user fewer of ino's shared engine handle (its writers and the
   * readers borrowing it); the handle to release when it was the last. */
  private unref(h: Handle): number | undefined {
    const s = this.writers.get(h.ino);
    if (s && --s.refs > 0) return undefined;
    this.writers.delete(h.ino);
    return h.efh;
  }

  /** ino's committed content changed (a writer's close or fsync). Readers
   * follow the newest version (engine.ts), so pages the kernel cached for
   * open readers are stale: their entries take the new version (what they cache
   * from now on) and the answer is true when the kernel must drop ino's
   * pages. Session pages (borrowers open) and idle entries are left: the
   * next open compares versions and drops them then. */
  committed(ino: number, versionOf: () => number): boolean {
    const keys = this.byIno.get(ino);
    if (!keys) return false; // (every close of an uncached file: no lookup)
    const version = versionOf();
    let stale = false;
    for (const key of keys) {
      const c = this.cache.get(key)!;
      if (c.readers === 0 || c.version === SESSION || c.version === version) continue;
      c.version = version;
      stale = true;
    }
    return stale;
  }

  /** A path changed meaning (rename, unlink): forget what is cached under it. */
  forgetPath(p: string, isDir = false): void {
    if (this.cache.size === 0) return;
    const forget = (key: string): void => {
      const c = this.cache.get(key);
      if (!c) return;
      if (c.readers === 0) this.uncache(key);
      else c.version = -1;
    };
    for (const key of [...(this.byPath.get(p) ?? [])]) forget(key);
    // Names below a renamed directory: the one case that needs a scan.
    if (!isDir) return;
    const dir = p + '/';
    for (const key of [...this.cache.keys()]) if (key.slice(key.indexOf(':') + 1).startsWith(dir)) forget(key);
  }

  /** Starts tracking what the kernel caches under key: one open, pages of
   * `version` (the open is answered without keep_cache). */
  private track(key: string, version: number): void {
    this.uncache(key);
    if (this.cache.size >= MAX_TRACKED) this.evictIdle();
    this.cache.set(key, { version, readers: 1 });
    const kp = key.slice(key.indexOf(':') + 1);
    let keys = this.byPath.get(kp);
    if (!keys) this.byPath.set(kp, (keys = new Set()));
    keys.add(key);
    const ino = Number(key.slice(0, key.indexOf(':')));
    let ofIno = this.byIno.get(ino);
    if (!ofIno) this.byIno.set(ino, (ofIno = new Set()));
    ofIno.add(key);
  }

  private uncache(key: string): void {
    if (!this.cache.delete(key)) return;
    const kp = key.slice(key.indexOf(':') + 1);
    const keys = this.byPath.get(kp);
    keys?.delete(key);
    if (keys?.size === 0) this.byPath.delete(kp);
    const ino = Number(key.slice(0, key.indexOf(':')));
    const ofIno = this.byIno.get(ino);
    ofIno?.delete(key);
    if (ofIno?.size === 0) this.byIno.delete(ino);
  }


  /** FUSE handle numbers stay below 0x40000000 (timetravel.ts numbers its
   * virtual handles from there). */
  private allocFh(): number {
    do {
      this.nextFh = this.nextFh >= 0x3fffffff ? 1 : this.nextFh + 1;
    } while (this.byFh.has(this.nextFh));
    return this.nextFh;
  }

  private evictIdle(): void {
    for (const [key, c] of this.cache) {
      if (c.readers === 0) this.uncache(key);
      if (this.cache.size < MAX_TRACKED / 2) return;
    }
  }
}
