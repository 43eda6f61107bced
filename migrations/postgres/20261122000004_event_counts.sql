-- Read model of the `event_counts` projector: events per tenant and event type.
CREATE TABLE event_counts
(
    tenant_id  text   NOT NULL,
    event_type text   NOT NULL,
    count      bigint NOT NULL,
    CONSTRAINT event_counts_pkey PRIMARY KEY (tenant_id, event_type)
);
