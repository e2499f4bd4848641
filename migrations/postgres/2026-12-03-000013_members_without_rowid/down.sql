-- Nothing on PostgreSQL: SQLite stores memberships WITHOUT ROWID; a PostgreSQL table is a heap
-- with its indexes either way. The migration exists so both backends' migrations keep the same
-- names.
SELECT 1;
