-- Projection runtime: see the Postgres migration of the same name. On SQLite the
-- transaction id of a checkpoint is always 0.
CREATE TABLE projector_checkpoints
(
    name                TEXT    NOT NULL CONSTRAINT projector_checkpoints_pkey PRIMARY KEY,
    last_transaction_id INTEGER NOT NULL DEFAULT 0,
    last_position       INTEGER NOT NULL DEFAULT 0,
    updated_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE projector_leases
(
    name          TEXT    NOT NULL CONSTRAINT projector_leases_pkey PRIMARY KEY,
    owner         TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
