-- Filters on `members.display` (caseExact=false: RFC 7643 §2.2, schemas/Group.json) compare
-- its lowercased form, which scimd computes in Rust as it does every normalised column: the
-- databases' lower() differ (SQLite's folds only ASCII, PostgreSQL's follows the database's
-- locale). `display_norm` is set only where it differs from `display` (a display that is an
-- email usually does not), and filters read COALESCE(display_norm, display), so memberships
-- grow only where they must.
--
-- Rows written before this migration are filled in by scimd at start-up, in Rust
-- (`store::backfills`), which finds the work to do in `data_backfills` and deletes the row when
-- done, so a start-up that stops half-way picks it up again.
ALTER TABLE group_members ADD COLUMN display_norm TEXT;
CREATE TABLE data_backfills (name TEXT PRIMARY KEY NOT NULL);
INSERT INTO data_backfills (name) VALUES ('member_display_norm');
