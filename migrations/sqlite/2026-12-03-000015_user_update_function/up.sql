-- Nothing on SQLite: its writes run on the one writer, which reads the user and updates it in
-- one transaction. PostgreSQL writes a user's change in one statement (see its migration of this
-- name); the migration exists so both backends' migrations keep the same names.
SELECT 1;
