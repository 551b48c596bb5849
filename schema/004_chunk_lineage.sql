-- mikofs store format, migration 004: where each queued chunk went.
--
-- (branch_id, ino, idx) of the chunk-map entry that queued a chunk, so a file
-- saved as a new file under its old name (written anew and renamed over it,
-- or deleted and re-created, as many editors do) still finds its predecessor
-- by name, and gets a delta against it.
ALTER TABLE chunk_todo ADD COLUMN branch_id INTEGER;
ALTER TABLE chunk_todo ADD COLUMN ino INTEGER;
ALTER TABLE chunk_todo ADD COLUMN idx INTEGER;

DROP TRIGGER extents_chunk_todo;
CREATE TRIGGER extents_chunk_todo AFTER INSERT ON extents
WHEN NEW.hash IS NOT NULL
BEGIN
  INSERT INTO chunk_todo (hash, prev, commit_id, branch_id, ino, idx) VALUES (NEW.hash,
    (SELECT p.hash FROM extents p WHERE p.branch_id = NEW.branch_id AND p.ino = NEW.ino
       AND p.idx = NEW.idx AND p.since < NEW.since ORDER BY p.since DESC LIMIT 1),
    NEW.since, NEW.branch_id, NEW.ino, NEW.idx);
END;

-- Entries queued under 003: the extent row that queued them.
UPDATE chunk_todo SET (branch_id, ino, idx) = (
  SELECT e.branch_id, e.ino, e.idx FROM extents e WHERE e.hash = chunk_todo.hash AND e.since = chunk_todo.commit_id LIMIT 1);
