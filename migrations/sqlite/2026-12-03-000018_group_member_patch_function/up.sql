-- Nothing on SQLite: PostgreSQL gets a function for a PATCH of a group's members, run in one
-- round trip while the group's row is locked; SQLite's one writer runs the same statements
-- in-process. The migration exists so both backends' migrations keep the same names.
SELECT 1;
