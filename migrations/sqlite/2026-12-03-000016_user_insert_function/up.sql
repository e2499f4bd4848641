-- Nothing on SQLite: its one writer inserts a user, its index rows and its events in one
-- transaction. PostgreSQL inserts them in one statement (see its migration of this name); the
-- migration exists so both backends' migrations keep the same names.
SELECT 1;
