-- The durable inbox: every verified webhook delivery is stored here before Meta gets its 200,
-- in transactions shared by concurrent requests (group commit). Workers claim rows for a while
-- (claimed_until_ms, so several processes share the work and a crashed worker's rows come back),
-- turn them into conversation commands and purge them. Raw bodies carry personal data (numbers,
-- names, texts), so they are sealed under LYO_MASTER_KEY (nonce || XChaCha20-Poly1305 ciphertext).
CREATE TABLE webhook_inbox
(
    id               bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT webhook_inbox_pkey PRIMARY KEY,
    received_at      timestamptz NOT NULL DEFAULT now(),
    body_sealed      bytea,
    claimed_until_ms bigint,
    processed_at     timestamptz,
    -- A processed row keeps no body.
    CONSTRAINT webhook_inbox_purged_check CHECK (processed_at IS NULL OR body_sealed IS NULL)
);
CREATE INDEX webhook_inbox_pending_idx ON webhook_inbox (id) WHERE processed_at IS NULL;
