-- Per-subject data keys for personal data in events (crypto-shredding). Each key is wrapped
-- (encrypted) under LYO_MASTER_KEY. Erasing a subject turns its row into a tombstone
-- (wrapped_key NULL): every field sealed under that key id then loads as redacted, and the
-- unique subject id stops a new key from ever being created for the subject, so an erasure
-- cannot be undone by a late write. See docs/adr/0002-personal-data.md.
CREATE TABLE subject_keys
(
    key_id      uuid        NOT NULL CONSTRAINT subject_keys_pkey PRIMARY KEY,
    subject_id  text        NOT NULL,
    tenant_id   text        NOT NULL,
    wrapped_key bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    CONSTRAINT subject_keys_subject_key UNIQUE (subject_id),
    CONSTRAINT subject_keys_tombstone_check CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);

-- The record of each erasure request (no personal data in it), for auditors.
CREATE TABLE subject_erasures
(
    subject_id text        NOT NULL,
    tenant_id  text        NOT NULL,
    erased_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT subject_erasures_pkey PRIMARY KEY (subject_id, erased_at)
);
