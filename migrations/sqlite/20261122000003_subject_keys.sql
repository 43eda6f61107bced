-- Per-subject data keys (crypto-shredding) with tombstones: see the Postgres migration.
CREATE TABLE subject_keys
(
    key_id      TEXT NOT NULL CONSTRAINT subject_keys_pkey PRIMARY KEY,
    subject_id  TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    wrapped_key BLOB,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    erased_at   TEXT,
    CONSTRAINT subject_keys_subject_key UNIQUE (subject_id),
    CONSTRAINT subject_keys_tombstone_check CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
) STRICT;

CREATE TABLE subject_erasures
(
    subject_id TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    erased_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    CONSTRAINT subject_erasures_pkey PRIMARY KEY (subject_id, erased_at)
) STRICT;
