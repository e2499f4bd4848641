-- PostgreSQL counts inserted and deleted users and groups in rows of deltas that its numbering
-- pass moves into tenant_counters, so that concurrent POSTs do not queue on the counters row.
-- SQLite has one writer, whose triggers update the row directly (000011); the table exists
-- here, always empty, so that both backends read a count with the same statement.
CREATE TABLE tenant_counter_deltas (
    tenant_id BIGINT NOT NULL,
    slot INTEGER NOT NULL,
    users BIGINT NOT NULL DEFAULT 0,
    groups BIGINT NOT NULL DEFAULT 0,
    user_changes BIGINT NOT NULL DEFAULT 0,
    group_changes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot)
) WITHOUT ROWID;
