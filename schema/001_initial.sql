-- mikofs store format, migration 001.
--
-- The whole filesystem and its history live in these tables. History is the
-- model: every row that describes namespace or content is *versioned* by the
-- half-open commit interval [since, until) during which it was true, so the
-- state at any commit C is exactly the rows with since <= C < until.
-- until = 9223372036854775807 (INT64 max, "LIVE") marks the current row.
--
-- Reading the state at C is an index seek per lookup:
--   ... WHERE <key> AND since <= C ORDER BY since DESC LIMIT 1   (then until > C)
-- so its cost is independent of how many commits exist.
--
-- Branches (Fossil style): rows carry branch_id. A lookup on a branch that
-- finds no row for a key continues in the parent branch at fork_commit; a row
-- with a NULL target (ino / hash) is a tombstone that hides the parent's row.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY
) STRICT;

-- A branch is a named line of commits forked from a commit of another branch.
-- 'main' is the mounted tree; 'session' rows are write sessions (short-lived
-- branches holding staged chunks until they merge on close).
CREATE TABLE branches (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  kind        TEXT NOT NULL CHECK (kind IN ('main', 'branch', 'session')),
  parent_id   INTEGER REFERENCES branches(id),
  fork_commit INTEGER,               -- commit of parent_id this branch starts from
  created_ns  INTEGER NOT NULL,
  owner_pid   INTEGER                -- sessions: the process that staged them
) STRICT;

-- Commit ids are global and strictly increasing; time_ns never goes
-- backwards (max(clock, previous + 1)), so "the state at time T" is the
-- last commit with time_ns <= T.
CREATE TABLE commits (
  id        INTEGER PRIMARY KEY,
  branch_id INTEGER NOT NULL REFERENCES branches(id),
  time_ns   INTEGER NOT NULL,
  kind      TEXT NOT NULL,           -- op | write | snapshot | rollback | restore | merge
  message   TEXT
) STRICT;
CREATE INDEX commits_by_time ON commits (branch_id, time_ns);

-- A label is a name pointing at a commit (production, beta, ...).
CREATE TABLE labels (
  name       TEXT PRIMARY KEY,
  commit_id  INTEGER NOT NULL REFERENCES commits(id),
  created_ns INTEGER NOT NULL
) STRICT;

-- Directory entries keyed by (parent inode, name). Renaming a directory
-- rewrites one entry, whatever its subtree holds. ino NULL = tombstone.
CREATE TABLE dentries (
  branch_id INTEGER NOT NULL,
  parent    INTEGER NOT NULL,
  name      TEXT NOT NULL,
  since     INTEGER NOT NULL,
  until     INTEGER NOT NULL,
  ino       INTEGER,
  PRIMARY KEY (branch_id, parent, name, since)
) STRICT, WITHOUT ROWID;
-- readdir: live rows (and rows that ended after C) without scanning old churn.
CREATE INDEX dentries_by_until ON dentries (branch_id, parent, until);

-- Inode versions. Times are integer nanoseconds since the epoch. Small
-- regular files keep their content inline; larger ones use extents.
CREATE TABLE inodes (
  branch_id INTEGER NOT NULL,
  ino       INTEGER NOT NULL,
  since     INTEGER NOT NULL,
  until     INTEGER NOT NULL,
  mode      INTEGER NOT NULL,        -- file type and permission bits (st_mode)
  uid       INTEGER NOT NULL,
  gid       INTEGER NOT NULL,
  nlink     INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  rdev      INTEGER NOT NULL DEFAULT 0,
  atime     INTEGER NOT NULL,
  mtime     INTEGER NOT NULL,
  ctime     INTEGER NOT NULL,
  btime     INTEGER NOT NULL,
  target    BLOB,                    -- symlink target
  inline    BLOB,                    -- whole content of a small regular file
  PRIMARY KEY (branch_id, ino, since)
) STRICT;

-- A file's chunk map, versioned per chunk index: chunk idx covers bytes
-- [idx * chunk_size, (idx + 1) * chunk_size). Overwriting 4 KiB of a huge
-- file ends one row and adds one. hash NULL = hole (reads as zeros).
CREATE TABLE extents (
  branch_id INTEGER NOT NULL,
  ino       INTEGER NOT NULL,
  idx       INTEGER NOT NULL,
  since     INTEGER NOT NULL,
  until     INTEGER NOT NULL,
  hash      BLOB,
  PRIMARY KEY (branch_id, ino, idx, since)
) STRICT, WITHOUT ROWID;
CREATE INDEX extents_by_hash ON extents (hash);

-- Content-addressed chunks: BLAKE3-256 of the raw bytes, stored once.
-- encoding: 0 = raw. Later migrations add compressed and delta encodings
-- (base = the chunk a delta applies to).
CREATE TABLE chunks (
  id       INTEGER PRIMARY KEY,
  hash     BLOB NOT NULL UNIQUE,
  size     INTEGER NOT NULL,
  encoding INTEGER NOT NULL DEFAULT 0,
  base     BLOB,
  data     BLOB NOT NULL
) STRICT;

-- Extended attributes, versioned like everything else. value NULL = removed.
CREATE TABLE xattrs (
  branch_id INTEGER NOT NULL,
  ino       INTEGER NOT NULL,
  name      TEXT NOT NULL,
  since     INTEGER NOT NULL,
  until     INTEGER NOT NULL,
  value     BLOB,
  PRIMARY KEY (branch_id, ino, name, since)
) STRICT, WITHOUT ROWID;

-- Chunks a write session has staged before it merges; the session's branch
-- row and these rows are removed on merge, abort, or (after a crash) on the
-- next open of the store.
CREATE TABLE session_chunks (
  branch_id INTEGER NOT NULL,
  idx       INTEGER NOT NULL,
  hash      BLOB NOT NULL,
  PRIMARY KEY (branch_id, idx)
) STRICT, WITHOUT ROWID;
