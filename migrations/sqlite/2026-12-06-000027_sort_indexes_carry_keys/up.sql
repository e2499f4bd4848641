-- Nothing on SQLite: every index there ends in the row's key (the rowid, which is `pk`), so a
-- list sorted by an indexed attribute already reads its page's keys from that index alone, in
-- the order of the attribute and then the key.
-- The migration exists so both backends' migrations keep the same names.
SELECT 1;
