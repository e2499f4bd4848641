-- Nothing on PostgreSQL: its request log's writes run beside the directory's already. On SQLite
-- the request log moves to a database file of its own (see its migration of this name); the
-- migration exists so both backends' migrations keep the same names.
SELECT 1;
