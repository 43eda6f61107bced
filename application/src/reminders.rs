//! The reminder policy (docs/reminders.md): which reminders a confirmed appointment gets, under
//! which ids, and which of the due ones the scheduler sends. Pure: the read model
//! (`infrastructure/src/reminders`) stores what [`plan`] decides, the scheduler asks [`triage`].
//!
//! Invariants:
//! - a reminder's id is a uuid v5 of the appointment, the offset and the slot's start, so a
//!   rebuilt schedule has the same ids (the conversation then decides nothing again), and a
//!   moved booking gets new ones (it is reminded of its new time even if the old one was);
//! - "now" when scheduling is the causing event's recorded time, so a rebuild plans what the
//!   first run planned: a reminder already due then is `late` and never sent (a booking made
//!   three hours ahead gets its two-hour reminder, not the one of the day before);
//! - a due reminder is not sent once the booking has begun (`missed`), nor when a later
//!   reminder of the same booking is due in the same batch (`superseded`, after downtime).

use jiff::Timestamp;
use lyo_domain::availability::Minutes;
use lyo_domain::ids::AppointmentId;
use uuid::Uuid;

/// The name of the read model, its checkpoint and its lease.
pub const NAME: &str = "reminders";
/// The actor of the scheduler's commands.
pub const SCHEDULER: &str = "reminder-scheduler";

/// The id of the reminder `offset` before `starts_at` of `appointment_id`.
pub fn reminder_id(appointment_id: AppointmentId, offset: Minutes, starts_at: Timestamp) -> Uuid {
    Uuid::new_v5(
        &appointment_id.as_uuid(),
        format!("reminder|{}|{}", offset.get(), starts_at.as_millisecond()).as_bytes(),
    )
}

/// One reminder of an appointment, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub offset: Minutes,
    pub reminder_id: Uuid,
    pub due_at: Timestamp,
    /// Already due when planned: recorded as dropped (`late`), never sent.
    pub late: bool,
}

/// The reminders of an appointment starting at `starts_at`, planned at `now` under `policy`
/// (minutes before the start, any order; repeats count once).
pub fn plan(
    appointment_id: AppointmentId,
    starts_at: Timestamp,
    policy: &[Minutes],
    now: Timestamp,
) -> Vec<Planned> {
    let mut offsets: Vec<Minutes> = policy.to_vec();
    offsets.sort_by(|a, b| b.cmp(a));
    offsets.dedup();
    offsets
        .into_iter()
        .filter_map(|offset| {
            let before = jiff::SignedDuration::from_mins(i64::from(offset.get()));
            let due_at = starts_at.checked_sub(before).ok()?;
            Some(Planned {
                offset,
                reminder_id: reminder_id(appointment_id, offset, starts_at),
                due_at,
                late: due_at <= now,
            })
        })
        .collect()
}

/// A due reminder the scheduler claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub appointment_id: AppointmentId,
    pub reminder_id: Uuid,
    pub starts_at: Timestamp,
    pub due_at: Timestamp,
}

/// What becomes of a claimed reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// The booking has begun.
    Missed,
    /// A later reminder of the same booking is due too: only that one is sent.
    Superseded,
}

impl Verdict {
    /// The reason stored on a dropped row.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Verdict::Send => None,
            Verdict::Missed => Some("missed"),
            Verdict::Superseded => Some("superseded"),
        }
    }
}

/// The verdict for each of `due` (claimed together) at `now`.
pub fn triage(due: &[Due], now: Timestamp) -> Vec<Verdict> {
    due.iter()
        .map(|d| {
            if d.starts_at <= now {
                Verdict::Missed
            } else if due.iter().any(|o| {
                o.appointment_id == d.appointment_id
                    && o.starts_at == d.starts_at
                    && o.due_at > d.due_at
            }) {
                Verdict::Superseded
            } else {
                Verdict::Send
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_booking_made_three_hours_ahead_gets_only_its_two_hour_reminder() {
        let id = AppointmentId::from_uuid(Uuid::from_u128(1));
        let start = at("2026-11-28T19:00:00Z");
        let planned = plan(
            id,
            start,
            &[Minutes(120), Minutes(1440)],
            at("2026-11-28T16:00:00Z"),
        );
        let summary: Vec<_> = planned.iter().map(|p| (p.offset.get(), p.late)).collect();
        assert_eq!(summary, [(1440, true), (120, false)]);
        assert_eq!(planned[1].due_at, at("2026-11-28T17:00:00Z"));
    }

    #[test]
    fn ids_are_stable_and_change_when_the_booking_moves() {
        let id = AppointmentId::from_uuid(Uuid::from_u128(1));
        let start = at("2026-11-28T19:00:00Z");
        assert_eq!(
            reminder_id(id, Minutes(120), start),
            reminder_id(id, Minutes(120), start)
        );
        assert_ne!(
            reminder_id(id, Minutes(120), start),
            reminder_id(id, Minutes(120), at("2026-11-29T19:00:00Z"))
        );
        assert_ne!(
            reminder_id(id, Minutes(120), start),
            reminder_id(id, Minutes(1440), start)
        );
    }

    #[test]
    fn after_downtime_only_the_latest_due_reminder_is_sent() {
        let id = AppointmentId::from_uuid(Uuid::from_u128(1));
        let start = at("2026-11-28T19:00:00Z");
        let due = |offset: u32| Due {
            appointment_id: id,
            reminder_id: reminder_id(id, Minutes(offset), start),
            starts_at: start,
            due_at: start
                .checked_sub(jiff::SignedDuration::from_mins(i64::from(offset)))
                .unwrap(),
        };
        let now = at("2026-11-28T18:00:00Z");
        assert_eq!(
            triage(&[due(1440), due(120)], now),
            [Verdict::Superseded, Verdict::Send]
        );
        assert_eq!(
            triage(&[due(120)], at("2026-11-28T19:00:00Z")),
            [Verdict::Missed]
        );
    }
}
