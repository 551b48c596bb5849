-- mikofs store format, migration 002: indexes for history-wide questions.
--
-- (branch_id, until, since) on every versioned table turns "what changed
-- after commit T" into two range scans per table: rows still live that began
-- after T (until = LIVE AND since > T), and rows that ended after T
-- (T < until < LIVE). rollback, diff and log cost what changed, not what exists.
CREATE INDEX dentries_changes ON dentries (branch_id, until, since);
CREATE INDEX inodes_changes   ON inodes   (branch_id, until, since);
CREATE INDEX extents_changes  ON extents  (branch_id, until, since);
CREATE INDEX xattrs_changes   ON xattrs   (branch_id, until, since);

-- Names of an inode (its paths in diff and log, every name of a hard link).
CREATE INDEX dentries_by_ino ON dentries (branch_id, ino);

-- Inode versions a commit created: what `mikofs log` lists per commit.
CREATE INDEX inodes_by_since ON inodes (branch_id, since);
