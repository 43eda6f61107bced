-- Read model of the `tenant_directory` projector: which tenant a webhook belongs to (by Meta's
-- phone number id), and what the webhook needs to verify it. Secrets stay sealed here.
CREATE TABLE tenant_directory
(
    tenant_id  TEXT NOT NULL CONSTRAINT tenant_directory_pkey PRIMARY KEY,
    name       TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    -- The tenant's own app secret, sealed (JSON), when it overrides WHATSAPP_APP_SECRET.
    app_secret TEXT
) STRICT;

-- A phone number id routes to one tenant. If two tenants ever claim the same id (a race the
-- API's check cannot close), the later event wins, deterministically on every replay.
CREATE TABLE tenant_phone_numbers
(
    phone_number_id TEXT NOT NULL CONSTRAINT tenant_phone_numbers_pkey PRIMARY KEY,
    tenant_id       TEXT NOT NULL
) STRICT;
CREATE INDEX tenant_phone_numbers_tenant_idx ON tenant_phone_numbers (tenant_id);
