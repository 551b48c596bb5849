// Content-addressed chunk storage inside the SQLite file. Knows nothing of
// files or paths: bytes in, BLAKE3 address out; address in, bytes out.
import type { Db } from './database.js';
import { blake3 } from './hash.js';
import type Database from 'better-sqlite3';

export class ChunkCorruptError extends Error {
  constructor(readonly hash: Buffer) { super(`chunk ${hash.toString('hex')} does not match its address`); }
}

/** Small LRU of decoded chunks keyed by hex address: sequential reads of a
 * chunk arrive as many 128 KiB FUSE reads and must not refetch the blob.
 * Chunks are immutable, so entries never need invalidation. */
class ChunkCache {
  private map = new Map<string, Buffer>();
  private bytes = 0;
  constructor(private readonly limit: number) {}
  get(key: string): Buffer | undefined {
    const v = this.map.get(key);
    if (v) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }
  set(key: string, v: Buffer): void {
    if (this.map.has(key)) return;
    this.map.set(key, v);
    this.bytes += v.length;
    while (this.bytes > this.limit) {
      const [k, old] = this.map.entries().next().value as [string, Buffer];
      this.map.delete(k);
      this.bytes -= old.length;
    }
  }
}

export class ChunkStore {
  private insert: Database.Statement;
  private select: Database.Statement;
  private exists: Database.Statement;
  private cache = new ChunkCache(32 << 20);

  constructor(private readonly db: Db) {
    this.insert = db.prepare('INSERT OR IGNORE INTO chunks (hash, size, encoding, data) VALUES (?, ?, 0, ?)');
    this.select = db.prepare('SELECT encoding, data FROM chunks WHERE hash = ?');
    this.exists = db.prepare('SELECT 1 FROM chunks WHERE hash = ?').pluck();
  }

  /** Stores data (if not already present) and returns its address. Must run
   * inside the caller's transaction so the chunk and its references commit
   * together. */
  put(data: Buffer): Buffer {
    const hash = blake3(data);
    this.insert.run(hash, data.length, data);
    return hash;
  }

  has(hash: Buffer): boolean {
    return this.exists.get(hash) !== undefined;
  }

  /** Returns the chunk's bytes, verified against the address on first load. */
  get(hash: Buffer): Buffer {
    const key = hash.toString('hex');
    const hit = this.cache.get(key);
    if (hit) return hit;
    const row = this.select.get(hash) as { encoding: number; data: Buffer } | undefined;
    if (!row) throw new ChunkCorruptError(hash);
    const data = row.data;
    if (!blake3(data).equals(hash)) throw new ChunkCorruptError(hash);
    this.cache.set(key, data);
    return data;
  }
}
