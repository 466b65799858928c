-- The registry's records. Digests are lower-case hex; times are UTC.

CREATE TABLE providers (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    contact      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'suspended')),
    created_at   {{.Time}} NOT NULL,
    updated_at   {{.Time}} NOT NULL
);

-- An API key is "comet_<id>_<secret>"; only SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'provider')),
    provider_id   TEXT REFERENCES providers (id),
    secret_sha256 {{.Bytes}} NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    created_at    {{.Time}} NOT NULL,
    revoked_at    {{.Time}},
    CHECK ((role = 'admin') = (provider_id IS NULL))
);
CREATE INDEX api_keys_provider ON api_keys (provider_id);

CREATE TABLE datasets (
    commitment    TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    n             BIGINT NOT NULL,
    d             BIGINT NOT NULL,
    fraction_bits BIGINT NOT NULL,
    value_bits    BIGINT NOT NULL,
    chunk_rows    BIGINT NOT NULL,
    manifest      {{.Bytes}} NOT NULL,
    created_at    {{.Time}} NOT NULL
);

CREATE TABLE models (
    sha256             TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    provider_id        TEXT NOT NULL REFERENCES providers (id),
    dataset_commitment TEXT NOT NULL REFERENCES datasets (commitment),
    body               {{.Bytes}} NOT NULL,
    created_at         {{.Time}} NOT NULL
);
CREATE INDEX models_provider ON models (provider_id, created_at);

CREATE TABLE submissions (
    id                 TEXT PRIMARY KEY,
    provider_id        TEXT NOT NULL REFERENCES providers (id),
    model_sha256       TEXT NOT NULL REFERENCES models (sha256),
    dataset_commitment TEXT NOT NULL REFERENCES datasets (commitment),
    manifest           {{.Bytes}} NOT NULL,
    proof_sha256       TEXT NOT NULL,
    proof              {{.Bytes}} NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('received', 'verifying', 'logged', 'rejected')),
    failed_check       TEXT NOT NULL DEFAULT '',
    message            TEXT NOT NULL DEFAULT '',
    job_id             BIGINT,
    created_at         {{.Time}} NOT NULL,
    updated_at         {{.Time}} NOT NULL
);
-- A model has at most one submission that is not rejected: a replay is refused.
CREATE UNIQUE INDEX submissions_live_model ON submissions (model_sha256) WHERE status <> 'rejected';
CREATE INDEX submissions_provider ON submissions (provider_id, created_at, id);
CREATE INDEX submissions_model ON submissions (model_sha256, created_at);
CREATE INDEX submissions_open ON submissions (status) WHERE status IN ('received', 'verifying');

-- id is the envelope digest, SHA-256 of the DSSE PAE. log_index is NULL until the leaf is
-- durably in the log.
CREATE TABLE attestations (
    id            TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE REFERENCES submissions (id),
    model_sha256  TEXT NOT NULL UNIQUE REFERENCES models (sha256),
    provider_id   TEXT NOT NULL REFERENCES providers (id),
    envelope      {{.Bytes}} NOT NULL,
    leaf          {{.Bytes}} NOT NULL,
    key_id        TEXT NOT NULL,
    log_index     BIGINT UNIQUE,
    issued_at     {{.Time}} NOT NULL,
    created_at    {{.Time}} NOT NULL,
    logged_at     {{.Time}}
);
CREATE INDEX attestations_unlogged ON attestations (created_at) WHERE log_index IS NULL;

CREATE TABLE revocations (
    id             TEXT PRIMARY KEY,
    attestation_id TEXT NOT NULL UNIQUE REFERENCES attestations (id),
    reason         TEXT NOT NULL,
    envelope       {{.Bytes}} NOT NULL,
    leaf           {{.Bytes}} NOT NULL,
    log_index      BIGINT UNIQUE,
    revoked_at     {{.Time}} NOT NULL,
    created_at     {{.Time}} NOT NULL,
    logged_at      {{.Time}}
);
CREATE INDEX revocations_unlogged ON revocations (created_at) WHERE log_index IS NULL;

CREATE TABLE audit_events (
    id      {{.Serial}},
    at      {{.Time}} NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_subject ON audit_events (subject, id);

-- One row per anchored checkpoint size; a size is never anchored twice.
CREATE TABLE anchors (
    id           {{.Serial}},
    tree_size    BIGINT NOT NULL UNIQUE,
    root         TEXT NOT NULL,
    checkpoint   TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'submitted', 'accepted', 'failed')),
    tx_hash      TEXT NOT NULL DEFAULT '',
    block_number BIGINT,
    finality     TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    created_at   {{.Time}} NOT NULL,
    updated_at   {{.Time}} NOT NULL
);
