-- The reminders read model: see the Postgres migration of the same name.
CREATE TABLE reminder_policies
(
    tenant_id      TEXT NOT NULL CONSTRAINT reminder_policies_pkey PRIMARY KEY,
    minutes_before TEXT NOT NULL
) STRICT;

CREATE TABLE reminder_appointments
(
    appointment_id TEXT    NOT NULL CONSTRAINT reminder_appointments_pkey PRIMARY KEY,
    tenant_id      TEXT    NOT NULL,
    subject_id     TEXT    NOT NULL,
    starts_at_ms   INTEGER NOT NULL,
    active         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX reminder_appointments_tenant_idx ON reminder_appointments (tenant_id) WHERE active = 1;

CREATE TABLE reminders
(
    appointment_id   TEXT    NOT NULL,
    offset_minutes   INTEGER NOT NULL,
    reminder_id      TEXT    NOT NULL,
    tenant_id        TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL,
    starts_at_ms     INTEGER NOT NULL,
    due_at_ms        INTEGER NOT NULL,
    state            TEXT    NOT NULL,
    reason           TEXT,
    claimed_until_ms INTEGER,
    sent_at_ms       INTEGER,
    CONSTRAINT reminders_pkey PRIMARY KEY (appointment_id, offset_minutes),
    CONSTRAINT reminders_state_check CHECK (state IN ('pending', 'sent', 'dropped'))
) STRICT;
CREATE INDEX reminders_due_idx ON reminders (due_at_ms) WHERE state = 'pending';
