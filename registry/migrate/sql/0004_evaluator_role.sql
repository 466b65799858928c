-- An account is a provider, which submits models for attestation and may also evaluate
-- registered models, or an evaluator (a client, an auditor, a court), which only evaluates
-- them on its own test sets. An admin approves either the same way. Every account under
-- 0003 was a provider.
ALTER TABLE providers ADD COLUMN role TEXT NOT NULL DEFAULT 'provider' CHECK (role IN ('provider', 'evaluator'));
