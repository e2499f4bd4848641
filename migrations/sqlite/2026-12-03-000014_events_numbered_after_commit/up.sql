-- Nothing on SQLite: its one writer numbers events as it appends them, in commit order, and
-- holds no lock another write waits for. PostgreSQL numbers them after the commit (see its
-- migration of this name); the migration exists so both backends' migrations keep the same names.
SELECT 1;
