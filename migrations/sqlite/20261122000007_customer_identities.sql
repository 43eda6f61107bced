-- Which subject a customer identifier belongs to, per tenant. Identifiers (Meta's
-- business-scoped user id, the phone number `wa_id`) are stored only as keyed digests
-- (HMAC-SHA256 under a key derived from LYO_MASTER_KEY), never in plaintext. A customer who
-- shows both a user id and a phone number links the two to one subject.
CREATE TABLE customer_identities
(
    tenant_id         TEXT NOT NULL,
    identifier_digest TEXT NOT NULL,
    subject_id        TEXT NOT NULL,
    CONSTRAINT customer_identities_pkey PRIMARY KEY (tenant_id, identifier_digest)
) STRICT;
CREATE INDEX customer_identities_subject_idx ON customer_identities (subject_id);
