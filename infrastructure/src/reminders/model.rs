//! The `reminders` read model: the schedule of reminders, fed by `Appointment` events and the
//! tenants' reminder policies (`TenantAssistantSettingsChanged`), in the order of the log.
//!
//! Rows: `reminder_policies` (each tenant's policy as the log says it so far; none stored means
//! the default), `reminder_appointments` (the customer's bookings: start, and whether they are
//! confirmed and still on), `reminders` (one row per appointment and offset). The policy is
//! [`lyo_application::reminders::plan`], "now" is the causing event's time, so a rebuild
//! plans exactly what the incremental run did. Rows the scheduler marked `sent` stay sent
//! unless the booking moved (a new start is a new reminder id).

use crate::db::{Arg, DbTx};
use crate::projection::{AfterCommit, ReadModel};
use async_trait::async_trait;
use jiff::Timestamp;
use lyo_application::event_log::RecordedEvent;
use lyo_application::reminders::{plan, NAME};
use lyo_domain::availability::Minutes;
use lyo_domain::ids::AppointmentId;
use lyo_domain::tenant::AssistantSettings;
use serde_json::Value;

pub struct RemindersModel;

const UPSERT_POLICY: &str = "
INSERT INTO reminder_policies (tenant_id, minutes_before) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO UPDATE SET minutes_before = excluded.minutes_before";
const SELECT_POLICY: &str = "SELECT minutes_before FROM reminder_policies WHERE tenant_id = $1";
const INSERT_APPOINTMENT: &str = "
INSERT INTO reminder_appointments (appointment_id, tenant_id, subject_id, starts_at_ms, active)
VALUES ($1, $2, $3, $4, 0) ON CONFLICT (appointment_id) DO NOTHING";
const SELECT_APPOINTMENT: &str = "SELECT tenant_id, subject_id, starts_at_ms, active
                                    FROM reminder_appointments WHERE appointment_id = $1";
const SELECT_ACTIVE: &str = "SELECT appointment_id FROM reminder_appointments
                              WHERE tenant_id = $1 AND active = 1 AND starts_at_ms > $2";
const SET_ACTIVE: &str = "UPDATE reminder_appointments SET active = $2 WHERE appointment_id = $1";
const SET_START: &str =
    "UPDATE reminder_appointments SET starts_at_ms = $2 WHERE appointment_id = $1";
// A row keeps its state when the plan gives it the same id (sent stays sent), unless the
// policy had dropped it and now brings it back.
const UPSERT_REMINDER: &str = "
INSERT INTO reminders (appointment_id, offset_minutes, reminder_id, tenant_id, subject_id,
                       starts_at_ms, due_at_ms, state, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (appointment_id, offset_minutes) DO UPDATE
   SET reminder_id = excluded.reminder_id, starts_at_ms = excluded.starts_at_ms,
       due_at_ms = excluded.due_at_ms, state = excluded.state, reason = excluded.reason,
       claimed_until_ms = NULL, sent_at_ms = NULL
 WHERE reminders.reminder_id <> excluded.reminder_id
    OR (reminders.state = 'dropped' AND reminders.reason = 'policy')";
const DROP_PENDING: &str = "UPDATE reminders SET state = 'dropped', reason = $2
                             WHERE appointment_id = $1 AND state = 'pending'";

fn decode_error(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("a stored event without a readable {what}").into())
}

struct Booking {
    tenant: String,
    subject: String,
    starts_at_ms: i64,
    active: bool,
}

async fn fetch_strings(
    tx: &mut DbTx,
    sql: &str,
    args: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    match tx {
        DbTx::Postgres(tx) => {
            let mut q = sqlx::query_scalar(sql);
            for a in args {
                q = q.bind(*a);
            }
            q.fetch_all(&mut **tx).await
        }
        DbTx::Sqlite(tx) => {
            let mut q = sqlx::query_scalar(sql);
            for a in args {
                q = q.bind(*a);
            }
            q.fetch_all(&mut **tx).await
        }
    }
}

async fn booking(tx: &mut DbTx, appointment: &str) -> Result<Option<Booking>, sqlx::Error> {
    type Row = (String, String, i64, i64);
    let row: Option<Row> = match tx {
        DbTx::Postgres(tx) => {
            sqlx::query_as(SELECT_APPOINTMENT)
                .bind(appointment)
                .fetch_optional(&mut **tx)
                .await?
        }
        DbTx::Sqlite(tx) => {
            sqlx::query_as(SELECT_APPOINTMENT)
                .bind(appointment)
                .fetch_optional(&mut **tx)
                .await?
        }
    };
    Ok(row.map(|(tenant, subject, starts_at_ms, active)| Booking {
        tenant,
        subject,
        starts_at_ms,
        active: active == 1,
    }))
}

async fn active_after(tx: &mut DbTx, tenant: &str, at_ms: i64) -> Result<Vec<String>, sqlx::Error> {
    match tx {
        DbTx::Postgres(tx) => {
            sqlx::query_scalar(SELECT_ACTIVE)
                .bind(tenant)
                .bind(at_ms)
                .fetch_all(&mut **tx)
                .await
        }
        DbTx::Sqlite(tx) => {
            sqlx::query_scalar(SELECT_ACTIVE)
                .bind(tenant)
                .bind(at_ms)
                .fetch_all(&mut **tx)
                .await
        }
    }
}

async fn policy(tx: &mut DbTx, tenant: &str) -> Result<Vec<Minutes>, sqlx::Error> {
    match fetch_strings(tx, SELECT_POLICY, &[tenant]).await?.pop() {
        Some(json) => serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e))),
        None => Ok(AssistantSettings::default().reminder_minutes_before),
    }
}

fn millis(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

/// Plans the reminders of `appointment` at `now`, keeping what the plan leaves unchanged, and
/// drops pending rows of offsets the policy no longer has.
async fn schedule(
    tx: &mut DbTx,
    appointment: &str,
    b: &Booking,
    policy: &[Minutes],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let id: AppointmentId = appointment
        .parse()
        .map_err(|_| decode_error("appointment id"))?;
    let starts_at =
        Timestamp::from_millisecond(b.starts_at_ms).map_err(|_| decode_error("start"))?;
    let planned = plan(id, starts_at, policy, now);
    for p in &planned {
        let (state, reason) = if p.late {
            ("dropped", Arg::Text("late".into()))
        } else {
            ("pending", Arg::Null)
        };
        tx.execute(
            UPSERT_REMINDER,
            &[
                Arg::Text(appointment.into()),
                Arg::I64(i64::from(p.offset.get())),
                Arg::Text(p.reminder_id.to_string()),
                Arg::Text(b.tenant.clone()),
                Arg::Text(b.subject.clone()),
                Arg::I64(b.starts_at_ms),
                Arg::I64(millis(p.due_at)),
                Arg::Text(state.into()),
                reason,
            ],
        )
        .await?;
    }
    // Offsets are integers we planned, never input: safe to inline.
    let keep: Vec<String> = planned.iter().map(|p| p.offset.get().to_string()).collect();
    let sql = if keep.is_empty() {
        DROP_PENDING.to_string()
    } else {
        format!(
            "{DROP_PENDING} AND offset_minutes NOT IN ({})",
            keep.join(", ")
        )
    };
    tx.execute(
        &sql,
        &[Arg::Text(appointment.into()), Arg::Text("policy".into())],
    )
    .await?;
    Ok(())
}

fn at(event: &RecordedEvent) -> Result<Timestamp, sqlx::Error> {
    Timestamp::from_microsecond(event.recorded_at_micros).map_err(|_| decode_error("time"))
}

fn starts_at_ms(slot: &Value) -> Result<i64, sqlx::Error> {
    let ts: Timestamp = serde_json::from_value(slot["starts_at"].clone())
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(millis(ts))
}

impl RemindersModel {
    async fn tenant_event(&self, tx: &mut DbTx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
        let Some(assistant) = event.payload.get("TenantAssistantSettingsChanged") else {
            return Ok(());
        };
        let minutes: Vec<Minutes> =
            serde_json::from_value(assistant["assistant"]["reminder_minutes_before"].clone())
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let tenant = event.aggregate_id.as_str();
        let json = serde_json::to_string(&minutes).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        tx.execute(UPSERT_POLICY, &[Arg::Text(tenant.into()), Arg::Text(json)])
            .await?;
        // The new policy applies to every booking still ahead.
        let now = at(event)?;
        for appointment in active_after(tx, tenant, millis(now)).await? {
            if let Some(b) = booking(tx, &appointment).await? {
                schedule(tx, &appointment, &b, &minutes, now).await?;
            }
        }
        Ok(())
    }

    async fn appointment_event(
        &self,
        tx: &mut DbTx,
        event: &RecordedEvent,
    ) -> Result<(), sqlx::Error> {
        let appointment = event.aggregate_id.as_str();
        let payload = &event.payload;
        if let Some(requested) = payload.get("AppointmentRequested") {
            // Staff bookings without a customer have no conversation to remind.
            let (Some(tenant), Some(subject)) =
                (requested["tenant"].as_str(), requested["subject"].as_str())
            else {
                return Ok(());
            };
            let start = starts_at_ms(&requested["slot"])?;
            tx.execute(
                INSERT_APPOINTMENT,
                &[
                    Arg::Text(appointment.into()),
                    Arg::Text(tenant.into()),
                    Arg::Text(subject.into()),
                    Arg::I64(start),
                ],
            )
            .await?;
            return Ok(());
        }
        let Some(mut b) = booking(tx, appointment).await? else {
            return Ok(());
        };
        let now = at(event)?;
        match event.event_type.as_str() {
            "AppointmentConfirmed" => {
                tx.execute(SET_ACTIVE, &[Arg::Text(appointment.into()), Arg::I64(1)])
                    .await?;
                b.active = true;
            }
            "AppointmentRescheduled" => {
                let start = starts_at_ms(&payload["AppointmentRescheduled"]["to"])?;
                tx.execute(SET_START, &[Arg::Text(appointment.into()), Arg::I64(start)])
                    .await?;
                b.starts_at_ms = start;
            }
            "AppointmentCancelled" | "AppointmentRejected" | "AppointmentNoShow" => {
                tx.execute(SET_ACTIVE, &[Arg::Text(appointment.into()), Arg::I64(0)])
                    .await?;
                let reason = match event.event_type.as_str() {
                    "AppointmentCancelled" => "cancelled",
                    "AppointmentRejected" => "rejected",
                    _ => "no_show",
                };
                tx.execute(
                    DROP_PENDING,
                    &[Arg::Text(appointment.into()), Arg::Text(reason.into())],
                )
                .await?;
                return Ok(());
            }
            _ => return Ok(()),
        }
        if b.active {
            let policy = policy(tx, &b.tenant).await?;
            schedule(tx, appointment, &b, &policy, now).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ReadModel for RemindersModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["reminders", "reminder_appointments", "reminder_policies"]
    }

    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error> {
        for event in events {
            match event.aggregate_type.as_str() {
                "Tenant" => self.tenant_event(tx, event).await?,
                "Appointment" => self.appointment_event(tx, event).await?,
                _ => {}
            }
        }
        Ok(None)
    }
}
