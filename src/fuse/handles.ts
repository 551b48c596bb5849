// Open handles as the adapter sees them, and what each open asks of the
// kernel page cache.
//
// Isolation: a reader sees the content committed when it opened, a writer's
// bytes stay private until it closes (the engine does both: readers are
// pinned to a commit, writers own a WriteSession). The kernel page cache is
// shared by all handles of a kernel inode, so at the kernel level:
//  - a writer's bytes must never enter it: writers are opened direct_io;
//  - a reader may keep what the kernel cached (keep_cache) only if those
//    pages are of the version it is pinned to, and must not add pages of
//    another version while other cached readers of the same pages are open
//    (then it reads direct_io instead, leaving their pages alone).
// The kernel inode is per *path* in libfuse 2.9's high-level API (two hard
// links are two kernel inodes, each with its own cache), so what the kernel
// caches is tracked per (ino, path). Losing track (rename, eviction) is safe:
// an unknown entry means "invalidate on the next open".
//
// The upstream binding cannot pass FOPEN_DIRECT_IO / FOPEN_KEEP_CACHE per
// open (capabilities.openFlags), so until it can, mount.ts mounts with the
// global `direct_io` option: no page cache for file data at all, which is
// trivially isolated. The policy below is what open/create answer and what
// takes over as soon as the binding honours it.
import type { OpenReply } from './binding.js';

interface Cached { version: number; readers: number }
interface Handle { ino: number; writer: boolean; key: string; reply: OpenReply }

const MAX_TRACKED = 10000;

export class Handles {
  private byFh = new Map<number, Handle>();
  private writers = new Map<number, Set<number>>();
  private cache = new Map<string, Cached>();

  /** Records an open handle; returns the page-cache flags for its reply.
   * version: the committed version of the file the handle sees. */
  add(fh: number, ino: number, path: string, writer: boolean, version: number): OpenReply {
    const key = `${ino}:${path}`;
    let reply: OpenReply;
    if (writer) {
      reply = { directIo: true, keepCache: true };
      let set = this.writers.get(ino);
      if (!set) this.writers.set(ino, (set = new Set()));
      set.add(fh);
    } else {
      const c = this.cache.get(key);
      if (c && c.version === version) {
        c.readers++;
        reply = { directIo: false, keepCache: true };
      } else if (c && c.readers > 0) {
        reply = { directIo: true, keepCache: true }; // others' pages are another version
      } else {
        this.cache.delete(key);
        if (this.cache.size >= MAX_TRACKED) this.evictIdle();
        this.cache.set(key, { version, readers: 1 });
        reply = { directIo: false, keepCache: false }; // kernel drops stale pages
      }
    }
    this.byFh.set(fh, { ino, writer, key, reply });
    return reply;
  }

  remove(fh: number): void {
    const h = this.byFh.get(fh);
    if (!h) return;
    this.byFh.delete(fh);
    if (h.writer) {
      const set = this.writers.get(h.ino);
      set?.delete(fh);
      if (set && set.size === 0) this.writers.delete(h.ino);
    } else if (!h.reply.directIo) {
      const c = this.cache.get(h.key);
      if (c) c.readers--;
    }
  }

  has(fh: number): boolean { return this.byFh.has(fh); }
  inoOf(fh: number): number | undefined { return this.byFh.get(fh)?.ino; }
  isOpen(ino: number): boolean {
    if (this.writers.has(ino)) return true;
    for (const h of this.byFh.values()) if (h.ino === ino) return true;
    return false;
  }
  /** Open writer handles of an inode. */
  writersOf(ino: number): number[] { return [...(this.writers.get(ino) ?? [])]; }

  /** A path changed meaning (rename, unlink): forget what is cached under it. */
  forgetPath(p: string): void {
    if (this.cache.size === 0) return;
    const dir = p + '/';
    for (const [key, c] of this.cache) {
      const kp = key.slice(key.indexOf(':') + 1);
      if ((kp === p || kp.startsWith(dir)) && c.readers === 0) this.cache.delete(key);
      else if (kp === p || kp.startsWith(dir)) c.version = -1;
    }
  }

  private evictIdle(): void {
    for (const [key, c] of this.cache) {
      if (c.readers === 0) this.cache.delete(key);
      if (this.cache.size < MAX_TRACKED / 2) return;
    }
  }
}
