-- Read model of the `tenant_settings` projector: each tenant's configuration as the assistant
-- reads it on every message (profile, booking and assistant settings), without credentials.
-- `state` is the Tenant aggregate's state as JSON with its sealed secrets removed, so the
-- projector folds events with the aggregate's own `apply` and cannot drift from it.
CREATE TABLE tenant_settings
(
    tenant_id           TEXT    NOT NULL CONSTRAINT tenant_settings_pkey PRIMARY KEY,
    state               TEXT    NOT NULL,
    -- The global position of the last Tenant event applied: the reader's cache refuses a row
    -- older than what the projector just wrote but may not have committed yet.
    last_transaction_id INTEGER NOT NULL,
    last_position       INTEGER NOT NULL
) STRICT;
