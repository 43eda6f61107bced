//! Reminders in the dialogue: the scheduler's `RemindOf` against what the conversation knows,
//! and the customer's answer to a reminder (Confirm = `attend:<id>`, Cancel = `cancel:<id>`).

#![allow(clippy::unwrap_used)]

#[path = "dialogue_support.rs"]
mod support;

use lyo_domain::conversation::{ConversationCommand, ConversationEvent, ReminderSkip};
use lyo_domain::ids::AppointmentId;
use lyo_domain::reply::{ReplyBody, ReplyPurpose};
use lyo_domain::understanding::Language::{En, Es, It};
use support::*;
use uuid::Uuid;

fn remind(
    chat: &mut Chat,
    reminder: u128,
    appointment_id: AppointmentId,
) -> Vec<ConversationEvent> {
    let now = chat.now;
    chat.run(ConversationCommand::RemindOf {
        reminder_id: Uuid::from_u128(reminder),
        appointment_id,
        now,
        context: Box::new(chat.context.clone()),
    })
}

fn skipped(events: &[ConversationEvent]) -> Option<ReminderSkip> {
    events.iter().find_map(|e| match e {
        ConversationEvent::ReminderSkipped { reason, .. } => Some(*reason),
        _ => None,
    })
}

#[test]
fn a_due_reminder_is_queued_with_confirm_and_cancel_buttons() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    let events = remind(&mut chat, 1, id);
    assert_eq!(names(&events), ["ReminderSent", "ReplyQueued"]);
    let reply = &replies(&events)[0];
    assert_eq!(reply.purpose, ReplyPurpose::Reminder);
    let ReplyBody::Buttons { body, buttons } = &reply.body else {
        panic!("buttons: {reply:?}");
    };
    assert!(
        body.contains("Sab 28/11") && body.contains("20:00") && body.contains("Rossi"),
        "{body}"
    );
    let ids: Vec<_> = buttons.iter().map(|b| b.id.clone()).collect();
    assert_eq!(ids, [format!("attend:{id}"), format!("cancel:{id}")]);
}

#[test]
fn a_reminder_speaks_the_customers_language() {
    for (lang, text, word) in [
        (
            En,
            "table for 2 on saturday at 8pm under the name Smith",
            "reminder",
        ),
        (
            Es,
            "mesa para 2 el sábado a las 20 a nombre de García",
            "Recordatorio",
        ),
    ] {
        let mut chat = Chat::new(trattoria(&[It, En, Es]));
        let id = chat.booked(text);
        let events = remind(&mut chat, 1, id);
        assert!(said(&events).contains(word), "{lang:?}: {}", said(&events));
    }
}

#[test]
fn a_repeated_reminder_id_decides_nothing() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    assert!(!remind(&mut chat, 1, id).is_empty());
    assert!(remind(&mut chat, 1, id).is_empty());
    // Another offset (another id) is a reminder of its own.
    assert_eq!(
        names(&remind(&mut chat, 2, id)),
        ["ReminderSent", "ReplyQueued"]
    );
}

#[test]
fn no_reminder_reaches_an_opted_out_customer() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    chat.say("STOP");
    let events = remind(&mut chat, 1, id);
    assert_eq!(skipped(&events), Some(ReminderSkip::OptedOut));
    assert!(replies(&events).is_empty());
    assert!(remind(&mut chat, 1, id).is_empty(), "decided once");
}

#[test]
fn no_reminder_during_a_hand_off() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    chat.say("vorrei parlare con una persona");
    let events = remind(&mut chat, 1, id);
    assert_eq!(skipped(&events), Some(ReminderSkip::HandedOff));
    assert!(replies(&events).is_empty());
}

#[test]
fn no_reminder_for_a_cancelled_or_unknown_booking() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    // Asked to cancel, the answer not there yet: no reminder either.
    let requested = chat.tap(&format!("cancel:{id}"));
    assert!(names(&requested).contains(&"CancellationRequested"));
    assert_eq!(
        skipped(&remind(&mut chat, 1, id)),
        Some(ReminderSkip::NotActive)
    );
    let other = AppointmentId::from_uuid(Uuid::from_u128(99));
    let events = remind(&mut chat, 2, other);
    assert_eq!(skipped(&events), Some(ReminderSkip::NotActive));
    assert!(replies(&events).is_empty());
}

#[test]
fn no_reminder_once_the_booking_has_begun() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    chat.now = "2026-11-28T19:30:00Z".parse().unwrap(); // 20:30 in Rome
    assert_eq!(
        skipped(&remind(&mut chat, 1, id)),
        Some(ReminderSkip::NotActive)
    );
}

#[test]
fn confirm_on_a_reminder_records_attendance_and_thanks() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    remind(&mut chat, 1, id);
    let events = chat.tap(&format!("attend:{id}"));
    assert!(events.contains(&ConversationEvent::AttendanceConfirmed { appointment_id: id }));
    assert!(
        said(&events).contains("Grazie per la conferma"),
        "{}",
        said(&events)
    );
    // A second tap thanks again and records nothing new.
    let again = chat.tap(&format!("attend:{id}"));
    assert!(!names(&again).contains(&"AttendanceConfirmed"));
    assert!(said(&again).contains("Grazie"));
}

#[test]
fn cancel_on_a_reminder_requests_the_cancellation() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    remind(&mut chat, 1, id);
    let events = chat.tap(&format!("cancel:{id}"));
    assert!(events.iter().any(|e| matches!(
        e,
        ConversationEvent::CancellationRequested { appointment_id, .. } if *appointment_id == id
    )));
}
