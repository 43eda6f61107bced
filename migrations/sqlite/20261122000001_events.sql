-- The event store. The seven columns sqlite-es writes and reads, plus ours (filled by
-- defaults). SQLite has a single writer, so the rowid alias `position` is already a global
-- order that commits in order and never skips. It is INTEGER PRIMARY KEY AUTOINCREMENT so
-- that VACUUM can never renumber it and a deleted tail is never reused.
-- See docs/adr/0001-event-store-ordering.md.
CREATE TABLE events
(
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    sequence       INTEGER NOT NULL CONSTRAINT events_sequence_check CHECK (sequence >= 0),
    event_type     TEXT    NOT NULL,
    event_version  TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    -- A random (version 4 shaped) UUID.
    event_id       TEXT    NOT NULL DEFAULT (lower(
        hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
        || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-'
        || hex(randomblob(6)))),
    -- Microseconds since the Unix epoch (millisecond resolution).
    recorded_at    INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000),
    -- Every event belongs to a tenant; a command executed without metadata is refused here.
    tenant_id      TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.tenant_id')) STORED NOT NULL,
    -- Optimistic concurrency. sqlite-es only recognises primary-key violations, so the
    -- repository maps this unique violation (2067) to a conflict itself.
    CONSTRAINT events_stream_key UNIQUE (aggregate_type, aggregate_id, sequence),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
) STRICT;

CREATE INDEX events_tenant_order_idx ON events (tenant_id, position);
