-- The outbound queue (issue 6). `outbound_replies`, `outbound_customers` and
-- `outbound_statuses` are the read model of the `outbound_queue` projector (a rebuild empties
-- and replays them); `outbound_claims` and `outbound_tenant_holds` belong to the dispatcher and are not
-- projected.
-- No plaintext personal data: replies are loaded from their sealed event, recipient ids are
-- copied sealed (they open only while the customer's key exists, so erasure still works).

-- One row per `ReplyQueued`, keyed by the reply id, so a replay adds nothing.
CREATE TABLE outbound_replies
(
    reply_id         text    NOT NULL CONSTRAINT outbound_replies_pkey PRIMARY KEY,
    tenant_id        text    NOT NULL,
    -- The customer's subject, which is also the conversation's aggregate id.
    subject_id       text    NOT NULL,
    -- Where the sealed reply is: the `ReplyQueued` event's sequence in that conversation.
    -- Also the order in which one customer's replies are sent.
    event_sequence   bigint  NOT NULL,
    -- The customer's language when the reply was queued (NULL: the tenant's default).
    language         text,
    queued_at_ms     bigint  NOT NULL,
    -- pending | accepted | failed | dead_lettered, from the `Delivery` events.
    state            text    NOT NULL DEFAULT 'pending',
    attempts         bigint  NOT NULL DEFAULT 0,
    template         bigint  NOT NULL DEFAULT 0,
    wamid            text,
    last_class       text,
    last_code        bigint,
    unknown_outcomes bigint  NOT NULL DEFAULT 0,
    dead_reason      text,
    -- The `Delivery` stream's sequence this row reflects: the projector and the dispatcher's
    -- write-through only ever move it forward.
    delivery_version bigint NOT NULL DEFAULT 0,
    due_at_ms        bigint NOT NULL
);
CREATE INDEX outbound_replies_due_idx ON outbound_replies (due_at_ms) WHERE state = 'pending';
CREATE INDEX outbound_replies_subject_idx ON outbound_replies (subject_id, event_sequence)
    WHERE state = 'pending';
CREATE INDEX outbound_replies_wamid_idx ON outbound_replies (wamid);
CREATE INDEX outbound_replies_tenant_idx ON outbound_replies (tenant_id, state);

-- Per customer: Meta's timestamp of their last message (the 24-hour window), the sealed ids
-- to send to, and the language the assistant last read.
CREATE TABLE outbound_customers
(
    subject_id      text   NOT NULL CONSTRAINT outbound_customers_pkey PRIMARY KEY,
    tenant_id       text   NOT NULL,
    last_inbound_at bigint,
    wa_id           text,
    user_id         text,
    language        text
);

-- Delivery statuses by Meta's message id, monotonic (sent < delivered < read; failed ends
-- it). A status may arrive before the accept is recorded, hence keyed by wamid and joined.
CREATE TABLE outbound_statuses
(
    wamid     text    NOT NULL CONSTRAINT outbound_statuses_pkey PRIMARY KEY,
    tenant_id text    NOT NULL,
    status    text    NOT NULL,
    rank      bigint  NOT NULL,
    at        bigint  NOT NULL,
    code      bigint
);
CREATE INDEX outbound_statuses_failed_idx ON outbound_statuses (code) WHERE status = 'failed';

-- Dispatcher claims, kept apart from the read model so that a rebuild never frees a reply a
-- worker is sending right now. A dead process's claims expire.
CREATE TABLE outbound_claims
(
    reply_id text   NOT NULL CONSTRAINT outbound_claims_pkey PRIMARY KEY,
    owner    text   NOT NULL,
    until_ms bigint NOT NULL
);

-- Tenants whose sending is held back: throttled by Meta, circuit open, or blocked (token,
-- account). Shared by every dispatcher process.
CREATE TABLE outbound_tenant_holds
(
    tenant_id    text   NOT NULL CONSTRAINT outbound_tenant_holds_pkey PRIMARY KEY,
    -- throttled | circuit_open | blocked | no_token
    reason       text   NOT NULL,
    code         bigint,
    since_ms     bigint NOT NULL,
    until_ms     bigint NOT NULL,
    -- A digest of the sealed access token when blocked: a new token lifts the block.
    token_digest text
);
