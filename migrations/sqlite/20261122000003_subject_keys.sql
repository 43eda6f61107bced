-- Per-subject data keys (crypto-shredding): see the Postgres migration of the same name.
CREATE TABLE subject_keys
(
    key_id      TEXT NOT NULL CONSTRAINT subject_keys_pkey PRIMARY KEY,
    subject_id  TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT subject_keys_subject_key UNIQUE (subject_id)
) STRICT;

CREATE TABLE subject_erasures
(
    subject_id TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    erased_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT subject_erasures_pkey PRIMARY KEY (subject_id, erased_at)
) STRICT;
