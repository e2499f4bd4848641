-- Nothing on SQLite, whose writes append their events themselves (`store::event_append_sqlite`).
-- PostgreSQL's user write functions append theirs inline (see its migration of this name); the
-- migration exists so both backends' migrations keep the same names.
SELECT 1;
