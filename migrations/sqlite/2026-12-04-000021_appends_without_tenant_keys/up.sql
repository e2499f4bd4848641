-- Nothing on SQLite: its foreign key checks look the tenant up in a table of a few pages that
-- the one writer holds in its cache, and take no lock. PostgreSQL's locked the tenant's row for
-- every appended row (see its migration of this name); the migration exists so both backends'
-- migrations keep the same names. A tenant's deletion deletes these rows itself on both.
SELECT 1;
