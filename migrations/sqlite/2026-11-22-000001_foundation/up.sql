-- Tenants, their credentials, and users. Every table but `tenants` carries tenant_id and every
-- unique constraint starts with it.
CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);

CREATE TABLE credentials (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- The public half: a bearer token's id part or a Basic username. Found by index, then the
    -- secret is verified against secret_hash (argon2id PHC string).
    id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bearer', 'basic')),
    label TEXT,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE users (
    pk INTEGER PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_name_norm TEXT NOT NULL,
    external_id TEXT,
    display_name_norm TEXT,
    active BOOLEAN,
    -- The whole SCIM resource but id and meta, as canonical JSON: the source of truth. The
    -- typed columns above and user_values are derived from it on every write.
    data TEXT NOT NULL,
    -- The same document with every caseExact=false string normalised in Rust (as the unique
    -- indexes are): what filters on attributes without a typed column compare against.
    data_norm TEXT NOT NULL,
    password_hash TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_modified TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_tenant_id ON users (tenant_id, id);
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_norm);
CREATE INDEX users_tenant_pk ON users (tenant_id, pk);
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id);
CREATE INDEX users_tenant_display_name ON users (tenant_id, display_name_norm);
CREATE INDEX users_tenant_last_modified ON users (tenant_id, last_modified);
CREATE INDEX users_tenant_created ON users (tenant_id, created_at);
CREATE INDEX users_tenant_active ON users (tenant_id, active);

-- One row per element of a multi-valued attribute (emails, phoneNumbers, ...): the index that
-- filters such as emails[type eq "work" and value eq "x"] run on.
CREATE TABLE user_values (
    tenant_id BIGINT NOT NULL,
    user_pk BIGINT NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
    attr TEXT NOT NULL,
    position INTEGER NOT NULL,
    value_norm TEXT,
    type_norm TEXT,
    is_primary BOOLEAN,
    PRIMARY KEY (tenant_id, user_pk, attr, position)
);
CREATE INDEX user_values_tenant_attr_value ON user_values (tenant_id, attr, value_norm, type_norm);
CREATE INDEX user_values_user ON user_values (user_pk);
