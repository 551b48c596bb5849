-- mikofs store format, migration 003: storage that stays small.
--
-- Chunks stay content-addressed (hash = BLAKE3 of the raw bytes, checked on
-- every read); only how their bytes are kept changes, in the background:
--   encoding & 15   payload codec: 0 raw, 1 deflate (raw), 2 brotli
--   encoding & 16   the payload is an xdelta3 (VCDIFF) delta against `base`
--
-- Deltas follow each chunk's lineage (the chunks that succeeded each other at
-- one chunk index of one file) as Subversion-style forward skip-deltas:
-- version k of a lineage (seq = k) is a delta against version k & (k - 1),
-- so reading any version takes at most popcount(k) <= log2(k) + 1 decodes.
-- seq 0 is a full (possibly compressed) checkpoint; a lineage restarts at 0
-- when a delta would not be meaningfully smaller than the full data, and
-- after a bounded number of versions. seq NULL: not examined yet.
ALTER TABLE chunks ADD COLUMN seq INTEGER;
CREATE INDEX chunks_by_base ON chunks (base) WHERE base IS NOT NULL;

-- Chunks to (re)encode, in commit order: every chunk a commit puts into a
-- file's chunk map, with the chunk it replaced at that index (prev). The
-- commit path only appends here (a trigger); the encoding itself runs later,
-- in short background slices.
CREATE TABLE chunk_todo (
  id        INTEGER PRIMARY KEY,
  hash      BLOB NOT NULL,
  prev      BLOB,
  commit_id INTEGER NOT NULL
) STRICT;
CREATE INDEX chunk_todo_by_prev ON chunk_todo (prev) WHERE prev IS NOT NULL;

CREATE TRIGGER extents_chunk_todo AFTER INSERT ON extents
WHEN NEW.hash IS NOT NULL
BEGIN
  INSERT INTO chunk_todo (hash, prev, commit_id) VALUES (NEW.hash,
    (SELECT p.hash FROM extents p WHERE p.branch_id = NEW.branch_id AND p.ino = NEW.ino
       AND p.idx = NEW.idx AND p.since < NEW.since ORDER BY p.since DESC LIMIT 1),
    NEW.since);
END;

-- Chunks that may have lost their last reference (an extent row removed by
-- history thinning): garbage collection checks these first.
CREATE TABLE gc_todo (
  hash BLOB PRIMARY KEY
) STRICT, WITHOUT ROWID;

CREATE TRIGGER extents_gc_todo AFTER DELETE ON extents
WHEN OLD.hash IS NOT NULL
BEGIN
  INSERT OR IGNORE INTO gc_todo (hash) VALUES (OLD.hash);
END;

-- "Is this chunk still staged by a write session?" without a scan.
CREATE INDEX session_chunks_by_hash ON session_chunks (hash);

-- Existing stores: examine every chunk already written, oldest version first
-- (a first compaction, run in the background like any other).
INSERT INTO chunk_todo (hash, prev, commit_id)
  SELECT e.hash,
    (SELECT p.hash FROM extents p WHERE p.branch_id = e.branch_id AND p.ino = e.ino
       AND p.idx = e.idx AND p.since < e.since ORDER BY p.since DESC LIMIT 1),
    e.since
  FROM extents e WHERE e.hash IS NOT NULL ORDER BY e.since, e.ino, e.idx;
