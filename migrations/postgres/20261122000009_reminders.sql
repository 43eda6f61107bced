-- Read model of the `reminders` projector (docs/reminders.md): the tenants' reminder policies,
-- the confirmed appointments that may be reminded of, and one row per (appointment, offset).
-- No personal data: ids and times only. Times are Unix milliseconds, as on SQLite.

-- The policy as the log says it at each point, so a rebuild schedules exactly what the
-- incremental run did (the projector folds the Tenant events in log order).
CREATE TABLE reminder_policies
(
    tenant_id      text NOT NULL CONSTRAINT reminder_policies_pkey PRIMARY KEY,
    -- JSON array of minutes before the start, longest first.
    minutes_before text NOT NULL
);

CREATE TABLE reminder_appointments
(
    appointment_id text    NOT NULL CONSTRAINT reminder_appointments_pkey PRIMARY KEY,
    tenant_id      text    NOT NULL,
    -- The customer's conversation (subject id).
    subject_id     text    NOT NULL,
    starts_at_ms   bigint  NOT NULL,
    -- Confirmed and not cancelled, rejected or a no-show: reminders are scheduled.
    active         bigint  NOT NULL DEFAULT 0
);
CREATE INDEX reminder_appointments_tenant_idx ON reminder_appointments (tenant_id) WHERE active = 1;

CREATE TABLE reminders
(
    appointment_id   text   NOT NULL,
    offset_minutes   bigint NOT NULL,
    -- uuid v5 of (appointment, offset, start): the conversation decides each id once.
    reminder_id      text   NOT NULL,
    tenant_id        text   NOT NULL,
    subject_id       text   NOT NULL,
    starts_at_ms     bigint NOT NULL,
    due_at_ms        bigint NOT NULL,
    state            text   NOT NULL,
    -- Why a row was dropped: `late` (due before it was scheduled), `missed` (the booking began
    -- before the scheduler got to it), `superseded` (a later reminder of it was due as well).
    reason           text,
    claimed_until_ms bigint,
    sent_at_ms       bigint,
    CONSTRAINT reminders_pkey PRIMARY KEY (appointment_id, offset_minutes),
    CONSTRAINT reminders_state_check CHECK (state IN ('pending', 'sent', 'dropped'))
);
-- The scheduler's scan: due pending rows, oldest first.
CREATE INDEX reminders_due_idx ON reminders (due_at_ms) WHERE state = 'pending';
