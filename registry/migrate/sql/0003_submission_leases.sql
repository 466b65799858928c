-- Who is verifying a submission, and when it last said so. A worker that holds a lease
-- renews beat_at every few seconds while it works; one that died stops, and after
-- jobs.stale_after another process takes the lease and requeues the submission. River's
-- own rescue of a dead worker's job comes only after jobs.rescue_after (minutes), which
-- must outlast the longest job a live worker may run.
CREATE TABLE submission_leases (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (id),
    holder        TEXT NOT NULL,
    beat_at       {{.Time}} NOT NULL
);
CREATE INDEX submission_leases_beat ON submission_leases (beat_at);
