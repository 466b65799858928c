-- An evaluation is a provider's or an evaluator's proof of a registered model's quality on a
-- test set of its own, and, once verified, the registry's signed attestation of it: one row
-- carries both, because an evaluation has exactly one envelope and no other submission
-- competes for it (a model has any number of evaluations). attestation_id is the envelope
-- digest; log_index is NULL until the leaf is durably in the log. The test manifest is kept
-- here, not in datasets: a test set is nobody's training data.
CREATE TABLE evaluations (
    id              TEXT PRIMARY KEY,
    evaluator_id    TEXT NOT NULL REFERENCES providers (id),
    model_sha256    TEXT NOT NULL REFERENCES models (sha256),
    test_commitment TEXT NOT NULL,
    manifest        {{.Bytes}} NOT NULL,
    bundle_sha256   TEXT NOT NULL,
    bundle          {{.Bytes}} NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('received', 'verifying', 'logged', 'rejected')),
    failed_check    TEXT NOT NULL DEFAULT '',
    message         TEXT NOT NULL DEFAULT '',
    job_id          BIGINT,
    attestation_id  TEXT UNIQUE,
    envelope        {{.Bytes}},
    leaf            {{.Bytes}},
    key_id          TEXT NOT NULL DEFAULT '',
    log_index       BIGINT UNIQUE,
    issued_at       {{.Time}},
    logged_at       {{.Time}},
    created_at      {{.Time}} NOT NULL,
    updated_at      {{.Time}} NOT NULL,
    CHECK ((attestation_id IS NULL) = (envelope IS NULL) AND (envelope IS NULL) = (leaf IS NULL)),
    CHECK (log_index IS NULL OR attestation_id IS NOT NULL)
);
-- One evaluation bundle is attested once: its replay by the same evaluator is refused while
-- the first is live.
CREATE UNIQUE INDEX evaluations_live_bundle ON evaluations (bundle_sha256, evaluator_id) WHERE status <> 'rejected';
CREATE INDEX evaluations_model ON evaluations (model_sha256, id);
CREATE INDEX evaluations_unlogged ON evaluations (created_at) WHERE attestation_id IS NOT NULL AND log_index IS NULL;

-- An evaluation is revoked as an attestation is: a signed, logged revocation of its
-- envelope. revocations.attestation_id now names either kind of envelope, so it loses its
-- foreign key to attestations; SQLite drops a foreign key only with its table, so the table
-- is rebuilt on both databases.
CREATE TABLE revocations_v5 (
    id             TEXT PRIMARY KEY,
    attestation_id TEXT NOT NULL UNIQUE,
    reason         TEXT NOT NULL,
    envelope       {{.Bytes}} NOT NULL,
    leaf           {{.Bytes}} NOT NULL,
    log_index      BIGINT UNIQUE,
    revoked_at     {{.Time}} NOT NULL,
    created_at     {{.Time}} NOT NULL,
    logged_at      {{.Time}}
);
INSERT INTO revocations_v5 (id, attestation_id, reason, envelope, leaf, log_index, revoked_at, created_at, logged_at)
    SELECT id, attestation_id, reason, envelope, leaf, log_index, revoked_at, created_at, logged_at FROM revocations;
DROP TABLE revocations;
ALTER TABLE revocations_v5 RENAME TO revocations;
CREATE INDEX revocations_unlogged ON revocations (created_at) WHERE log_index IS NULL;
