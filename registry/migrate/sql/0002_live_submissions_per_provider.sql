-- A submission owns nothing until it is attested. Under 0001 one live submission per model
-- and the models row's provider_id let any provider squat a model it could not prove: its
-- junk submission blocked everyone while pending, and the row it created stayed its own.
-- Now a provider's pending submission blocks only that provider's replays; which of several
-- live submissions of a model wins is decided by the attestation (attestations.model_sha256
-- is UNIQUE): the first to pass verification gets it, the others are rejected.
DROP INDEX submissions_live_model;
CREATE UNIQUE INDEX submissions_live_model_provider ON submissions (model_sha256, provider_id) WHERE status <> 'rejected';

-- The name each provider gave the model, for its own attestation's subject: the models row
-- keeps the first upload's name only until an attestation names the owner's. Every
-- submission under 0001 was its model's provider's, whose name the models row holds.
ALTER TABLE submissions ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
UPDATE submissions SET model_name = (SELECT m.name FROM models m WHERE m.sha256 = submissions.model_sha256);

-- A dataset is recorded by its manifest's keyed file digest (comet.manifest/v2): the plain
-- SHA-256 of a private file let anyone test guesses of low-entropy data. Rows written under
-- 0001 keep the plain digest they had, as do their v1 manifests and attestations.
ALTER TABLE datasets RENAME COLUMN sha256 TO file_digest;
