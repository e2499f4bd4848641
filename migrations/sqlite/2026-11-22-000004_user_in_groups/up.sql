-- Set when a user is added to a group and never cleared: reads skip the membership query for
-- users that were never in one (most), at no cost on the read path.
ALTER TABLE users ADD COLUMN in_groups BOOLEAN NOT NULL DEFAULT FALSE;
