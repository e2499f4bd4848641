-- The people and programs that administer scimd itself (not a tenant's SCIM clients):
-- admin-page accounts, their sessions, and admin API tokens.
CREATE TABLE admin_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Lower-cased: one account per address however it is typed.
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Sessions live in the database so that any replica can serve any admin request.
CREATE TABLE admin_sessions (
    -- SHA-256 (hex) of the cookie's 256-bit random value: the table holds no usable session.
    token_hash TEXT PRIMARY KEY,
    admin_user_id BIGINT NOT NULL REFERENCES admin_users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

CREATE TABLE admin_tokens (
    -- The token's public id part (the indexed lookup key); the secret is an argon2id hash.
    id TEXT PRIMARY KEY,
    label TEXT,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
