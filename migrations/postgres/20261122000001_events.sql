-- The event store. The first seven columns are the ones postgres-es writes and reads; the
-- rest are ours and are filled by defaults, so the library's INSERT stays untouched.
--
-- Global order: `position` alone is not safe to resume from, because a transaction that took
-- position 1 can commit after one that took position 2. Readers therefore only read rows whose
-- writing transaction (`transaction_id`) is older than every transaction still in flight
-- (pg_snapshot_xmin), and order and checkpoint by (transaction_id, position).
-- See docs/adr/0001-event-store-ordering.md.
CREATE TABLE events
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL CONSTRAINT events_sequence_check CHECK (sequence >= 0),
    event_type     text   NOT NULL,
    event_version  text   NOT NULL,
    payload        jsonb  NOT NULL,
    metadata       jsonb  NOT NULL,
    position       bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id       uuid        NOT NULL DEFAULT gen_random_uuid(),
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Every event belongs to a tenant; a command executed without metadata is refused here.
    tenant_id      text GENERATED ALWAYS AS (metadata ->> 'tenant_id') STORED NOT NULL,
    -- Optimistic concurrency: postgres-es maps this unique violation (23505) to a conflict.
    CONSTRAINT events_pkey PRIMARY KEY (aggregate_type, aggregate_id, sequence),
    CONSTRAINT events_position_key UNIQUE (position),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE INDEX events_global_order_idx ON events (transaction_id, position);
CREATE INDEX events_tenant_order_idx ON events (tenant_id, transaction_id, position);
