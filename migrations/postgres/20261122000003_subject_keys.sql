-- Per-subject data keys for personal data in events (crypto-shredding). Each key is wrapped
-- (encrypted) under LYO_MASTER_KEY. Erasing a subject deletes its rows: every sealed field
-- that names a deleted key id then loads as redacted. See docs/adr/0002-personal-data.md.
CREATE TABLE subject_keys
(
    key_id      uuid        NOT NULL CONSTRAINT subject_keys_pkey PRIMARY KEY,
    subject_id  text        NOT NULL,
    tenant_id   text        NOT NULL,
    wrapped_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- One live key per subject: concurrent first writes agree on the same key.
    CONSTRAINT subject_keys_subject_key UNIQUE (subject_id)
);

-- The record that an erasure happened (no personal data in it), for auditors.
CREATE TABLE subject_erasures
(
    subject_id text        NOT NULL,
    tenant_id  text        NOT NULL,
    erased_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subject_erasures_pkey PRIMARY KEY (subject_id, erased_at)
);
