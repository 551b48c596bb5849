-- mikofs store format, migration 005: the file says what it is.
--
-- PRAGMA application_id (offset 68 of the SQLite header) = 0x6d696b6f,
-- "miko": file(1) and mikofs itself can tell a store from any other SQLite
-- database. mikofs opens a file only if it carries this id, or carries 0
-- and has the store's tables (a store made before this migration), or is
-- empty (a new store); it never adds its tables to another database.
PRAGMA application_id = 1835625327;
