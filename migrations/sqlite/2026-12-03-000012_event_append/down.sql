-- Nothing on SQLite: PostgreSQL gets a function for the event append (sent with its COMMIT);
-- SQLite's one writer runs the append as prepared statements of its own. The migration exists
-- so both backends' migrations keep the same names.
SELECT 1;
