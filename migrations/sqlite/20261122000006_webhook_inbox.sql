-- The durable inbox: see the Postgres migration of the same name.
CREATE TABLE webhook_inbox
(
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    body_sealed      BLOB,
    claimed_until_ms INTEGER,
    processed_at     TEXT,
    CONSTRAINT webhook_inbox_purged_check CHECK (processed_at IS NULL OR body_sealed IS NULL)
) STRICT;
CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (id) WHERE processed_at IS NULL;
