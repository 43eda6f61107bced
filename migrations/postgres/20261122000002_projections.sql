-- Projection runtime: one checkpoint per projector, moved by compare-and-set in the same
-- transaction as the projector's rows; one lease per projector so it runs in one process.
CREATE TABLE projector_checkpoints
(
    name                text        NOT NULL CONSTRAINT projector_checkpoints_pkey PRIMARY KEY,
    last_transaction_id bigint      NOT NULL DEFAULT 0,
    last_position       bigint      NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projector_leases
(
    name          text   NOT NULL CONSTRAINT projector_leases_pkey PRIMARY KEY,
    owner         text   NOT NULL,
    -- Milliseconds since the Unix epoch, from the holder's clock.
    expires_at_ms bigint NOT NULL
);
