-- mikofs store format, migration 005: small files are checked too.
--
-- Chunks are checked against their BLAKE3 address on every read; a small
-- file's bytes kept inline in its inode row had no address, so a flipped
-- bit there was returned as content. inline_sum is the first 6 bytes of
-- the BLAKE3 of `inline`, big-endian, as an integer (48 bits: a random
-- corruption goes unnoticed with odds of 1 in 2^48). NULL exactly when
-- inline is NULL. Reads of inline content compare it (EIO on a mismatch),
-- and `mikofs verify` checks every row.
ALTER TABLE inodes ADD COLUMN inline_sum INTEGER;

-- Rows written before this migration: their bytes as they are now.
-- mikofs_inline_sum is the function above, registered by mikofs on the
-- connection that migrates.
UPDATE inodes SET inline_sum = mikofs_inline_sum(inline) WHERE inline IS NOT NULL;
