-- An admin console session: what an admin API key became at login, so that the key itself
-- is typed once and never kept in the browser. The cookie carries a random token; only its
-- SHA-256 is stored, so that a copy of the database opens no session. id is the session's
-- public name, for listing and revoking it. A session ends at logout (the row is deleted),
-- when it was idle longer than the configured limit since seen_at, at expires_at whatever
-- its use, or when its key is revoked.
CREATE TABLE admin_sessions (
    token_sha256 TEXT PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    key_id       TEXT NOT NULL REFERENCES api_keys (id),
    client       TEXT NOT NULL DEFAULT '',
    created_at   {{.Time}} NOT NULL,
    seen_at      {{.Time}} NOT NULL,
    expires_at   {{.Time}} NOT NULL
);
CREATE INDEX admin_sessions_seen ON admin_sessions (seen_at);
