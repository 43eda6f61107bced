-- Read model of the `event_counts` projector: events per tenant and event type.
CREATE TABLE event_counts
(
    tenant_id  TEXT    NOT NULL,
    event_type TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    CONSTRAINT event_counts_pkey PRIMARY KEY (tenant_id, event_type)
) STRICT;
