//! The dialogue, scripted: a customer chats, the process manager's outcomes come back, and
//! the replies and events are asserted. Dates: "today" is Sunday 22/11/2026 in Rome.
#![allow(clippy::unwrap_used)]

#[path = "dialogue_support.rs"]
mod support;

use lyo_domain::availability::{Need, ResourceId, ServiceId, Unavailable, Wish};
use lyo_domain::conversation::{
    AppointmentChange, BookingOutcome, CancellationOutcome, ConversationCommand, ConversationEvent,
    HandOffReason, RescheduleOutcome,
};
use lyo_domain::reply::ReplyPurpose;
use lyo_domain::understanding::Language::{En, Es, It};
use support::*;

fn wish(date: jiff::civil::Date, time: jiff::civil::Time, need: Need) -> Wish {
    Wish { date, time, need }
}

#[test]
fn a_booking_in_one_message_in_italian() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary =
        chat.say("Buongiorno, vorrei prenotare un tavolo per 4 sabato alle 20 a nome Rossi");
    assert!(
        said(&summary).contains("Sab 28/11 · 20:00 · 4 persone · Rossi"),
        "{}",
        said(&summary)
    );
    let buttons = button_ids(&summary);
    assert!(
        buttons[0].starts_with("confirm:") && buttons[1] == "change",
        "{buttons:?}"
    );

    let requested = chat.tap(&buttons[0]);
    let (_, _, w) = booking_requested(&requested).expect("requested");
    assert_eq!(w, wish(d(2026, 11, 28), t(20, 0), party(4)));
    assert!(
        replies(&requested).is_empty(),
        "the outcome answers, not the request"
    );

    let confirmed = chat.book_it(&requested);
    let reply = &replies(&confirmed)[0];
    assert_eq!(reply.purpose, ReplyPurpose::BookingConfirmed);
    assert!(
        said(&confirmed).contains("Prenotazione confermata"),
        "{}",
        said(&confirmed)
    );
    assert!(said(&confirmed).contains("Sab 28/11 · 20:00 · 4 persone · Rossi"));
}

#[test]
fn a_booking_in_one_message_in_english() {
    let mut chat = Chat::new(trattoria(&[It, En]));
    let summary = chat.say("Hi, can I book a table for 2 on Saturday at 8pm under the name Smith?");
    assert!(
        said(&summary).contains("Sat 28/11 · 20:00 · 2 people · Smith"),
        "{}",
        said(&summary)
    );
    let requested = chat.say("yes please");
    let (_, _, w) = booking_requested(&requested).expect("a text yes confirms");
    assert_eq!(w, wish(d(2026, 11, 28), t(20, 0), party(2)));
    let confirmed = chat.book_it(&requested);
    assert!(
        said(&confirmed).contains("Booking confirmed"),
        "{}",
        said(&confirmed)
    );
}

#[test]
fn a_booking_in_one_message_in_spanish() {
    let mut chat = Chat::new(trattoria(&[It, Es]));
    let summary =
        chat.say("Hola, quiero reservar una mesa para 3 el sábado a las 21 a nombre de García");
    assert!(
        said(&summary).contains("Sáb 28/11 · 21:00 · 3 personas · García"),
        "{}",
        said(&summary)
    );
    let requested = chat.tap(&button_ids(&summary)[0]);
    let confirmed = chat.book_it(&requested);
    assert!(
        said(&confirmed).contains("Reserva confirmada"),
        "{}",
        said(&confirmed)
    );
}

#[test]
fn a_booking_over_several_messages_with_a_correction() {
    let mut chat = Chat::new(trattoria(&[It]));
    assert!(said(&chat.say("Ciao!")).contains("Trattoria da Mario"));
    assert!(said(&chat.say("vorrei prenotare per sabato")).contains("A che ora, Sab 28/11?"));
    assert!(said(&chat.say("alle 8")).contains("Per quante persone?"));
    assert!(said(&chat.say("4")).contains("A che nome"));
    let first = chat.say("Rossi");
    assert!(
        said(&first).contains("Sab 28/11 · 20:00 · 4 persone · Rossi"),
        "{}",
        said(&first)
    );
    let corrected = chat.say("anzi alle 21");
    assert!(
        said(&corrected).contains("Sab 28/11 · 21:00 · 4 persone · Rossi"),
        "{}",
        said(&corrected)
    );

    // the first summary's Confirm is stale: it shows the current one again
    let stale = chat.tap(&button_ids(&first)[0]);
    assert!(booking_requested(&stale).is_none());
    let requested = chat.tap(&button_ids(&corrected)[0]);
    let (_, _, w) = booking_requested(&requested).expect("requested");
    assert_eq!(w.time, t(21, 0));
    assert!(chat
        .log
        .iter()
        .any(|e| matches!(e, ConversationEvent::BookingDraftChanged { .. })));
}

#[test]
fn a_full_slot_offers_alternatives_and_a_row_books() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary = chat.say("tavolo per 4 sabato alle 20, a nome Rossi");
    let requested = chat.tap(&button_ids(&summary)[0]);
    let (request_id, _, w) = booking_requested(&requested).unwrap();
    let alternatives: Vec<_> = [(20, 30), (19, 30), (21, 0), (19, 0), (21, 30), (13, 0)]
        .iter()
        .map(|(h, m)| chat.slot(&wish(w.date, t(*h, *m), w.need.clone())))
        .collect();
    let offered = chat.booking_outcome(
        request_id,
        BookingOutcome::Unavailable {
            reason: Unavailable::Full,
            alternatives,
        },
    );
    assert!(
        said(&offered).contains("Sab 28/11 · 20:00 non è disponibile"),
        "{}",
        said(&offered)
    );
    let offered_rows = rows(&offered);
    assert_eq!(offered_rows.len(), 5, "at most five");
    assert_eq!(offered_rows[0].1, "Sab 28/11 20:30");

    let again = chat.choose(&offered_rows[0].0);
    let (new_request, appointment_id, w2) = booking_requested(&again).expect("re-requested");
    assert_ne!(new_request, request_id);
    assert_eq!(w2, wish(d(2026, 11, 28), t(20, 30), party(4)));
    let confirmed = chat.book_it(&again);
    assert!(said(&confirmed).contains("Sab 28/11 · 20:30 · 4 persone · Rossi"));
    assert!(chat
        .conversation
        .dialogue
        .bookings
        .contains_key(&appointment_id));
}

#[test]
fn an_alternative_can_be_chosen_in_free_text() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary = chat.say("tavolo per 2 sabato alle 20 a nome Bianchi");
    let requested = chat.tap(&button_ids(&summary)[0]);
    let (request_id, _, w) = booking_requested(&requested).unwrap();
    let alternatives = vec![chat.slot(&wish(w.date, t(20, 30), w.need.clone()))];
    chat.booking_outcome(
        request_id,
        BookingOutcome::Unavailable {
            reason: Unavailable::Full,
            alternatives,
        },
    );
    let again = chat.say("alle 20:30 va bene");
    let (_, _, w2) = booking_requested(&again).expect("re-requested");
    assert_eq!(w2.time, t(20, 30));
}

#[test]
fn a_single_booking_is_cancelled_after_confirming() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    let ask = chat.say("vorrei annullare la prenotazione");
    assert!(
        said(&ask).contains("Annullo questa prenotazione?"),
        "{}",
        said(&ask)
    );
    assert_eq!(
        button_ids(&ask),
        vec![format!("cancel:{id}"), "keep".to_string()]
    );
    let requested = chat.tap(&format!("cancel:{id}"));
    let request_id = requested
        .iter()
        .find_map(|e| match e {
            ConversationEvent::CancellationRequested {
                request_id,
                appointment_id,
            } if *appointment_id == id => Some(*request_id),
            _ => None,
        })
        .expect("cancellation requested");
    let done = chat.run(ConversationCommand::RecordCancellationOutcome {
        request_id,
        appointment_id: id,
        outcome: CancellationOutcome::Cancelled,
        context: Box::new(chat.context.clone()),
    });
    assert_eq!(replies(&done)[0].purpose, ReplyPurpose::BookingCancelled);
    assert!(said(&done).contains("Prenotazione annullata: Sab 28/11 · 20:00"));
    assert!(said(&chat.say("annulla la prenotazione")).contains("Non trovo prenotazioni"));
}

#[test]
fn with_several_bookings_the_customer_picks_which_to_cancel() {
    let mut chat = Chat::new(trattoria(&[It]));
    let first = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    let second = chat.booked("tavolo per 2 domenica 29 alle 13 a nome Rossi");
    let list = chat.say("devo cancellare una prenotazione");
    let listed = rows(&list);
    assert_eq!(listed.len(), 2, "{}", said(&list));
    assert_eq!(
        listed[0],
        (format!("appt:{first}"), "Sab 28/11 20:00".to_string())
    );
    assert_eq!(listed[1].0, format!("appt:{second}"));
    let ask = chat.choose(&format!("appt:{second}"));
    assert!(
        said(&ask).contains("Dom 29/11 · 13:00 · 2 persone"),
        "{}",
        said(&ask)
    );
    let requested = chat.say("sì");
    assert!(requested.iter().any(|e| matches!(e,
        ConversationEvent::CancellationRequested { appointment_id, .. } if *appointment_id == second)));
}

#[test]
fn a_booking_is_moved_after_confirming() {
    let mut chat = Chat::new(trattoria(&[It]));
    let id = chat.booked("tavolo per 4 sabato alle 20 a nome Rossi");
    let ask = chat.say("posso spostare la prenotazione a domenica alle 21?");
    assert!(
        said(&ask).contains("Sab 28/11 · 20:00 · 4 persone · Rossi → Dom 29/11 · 21:00"),
        "{}",
        said(&ask)
    );
    let requested = chat.tap(&format!("move:{id}"));
    let (request_id, w) = requested
        .iter()
        .find_map(|e| match e {
            ConversationEvent::RescheduleRequested {
                request_id, wish, ..
            } => Some((*request_id, wish.clone())),
            _ => None,
        })
        .expect("reschedule requested");
    assert_eq!(w, wish(d(2026, 11, 29), t(21, 0), party(4)));
    let slot = chat.slot(&w);
    let moved = chat.run(ConversationCommand::RecordRescheduleOutcome {
        request_id,
        appointment_id: id,
        outcome: RescheduleOutcome::Moved { slot },
        context: Box::new(chat.context.clone()),
    });
    assert_eq!(replies(&moved)[0].purpose, ReplyPurpose::BookingRescheduled);
    assert!(
        said(&moved).contains("Dom 29/11 · 21:00 · 4 persone · Rossi"),
        "{}",
        said(&moved)
    );
}

#[test]
fn a_move_asks_when_and_a_taken_time_offers_alternatives() {
    let mut chat = Chat::new(trattoria(&[En]));
    let id = chat.booked("table for 2 on saturday at 8pm under the name Smith");
    assert!(said(&chat.say("I need to change my booking")).contains("When would you like to move"));
    let ask = chat.say("sunday at 9pm");
    assert!(said(&ask).contains("→ Sun 29/11 · 21:00"), "{}", said(&ask));
    let requested = chat.say("yes");
    let (request_id, w) = requested
        .iter()
        .find_map(|e| match e {
            ConversationEvent::RescheduleRequested {
                request_id, wish, ..
            } => Some((*request_id, wish.clone())),
            _ => None,
        })
        .expect("requested");
    let alternatives = vec![chat.slot(&wish(w.date, t(21, 30), w.need.clone()))];
    let offered = chat.run(ConversationCommand::RecordRescheduleOutcome {
        request_id,
        appointment_id: id,
        outcome: RescheduleOutcome::Unavailable {
            reason: Unavailable::Full,
            alternatives,
        },
        context: Box::new(chat.context.clone()),
    });
    assert_eq!(rows(&offered)[0].1, "Sun 29/11 21:30");
    let again = chat.choose(&rows(&offered)[0].0);
    assert!(again.iter().any(|e| matches!(e,
        ConversationEvent::RescheduleRequested { appointment_id, wish, .. } if *appointment_id == id && wish.time == t(21, 30))));
}

#[test]
fn a_salon_service_with_a_named_staff_member() {
    let mut chat = Chat::new(salon(&[It]));
    let summary = chat.say("Vorrei prenotare un taglio con Anna sabato alle 10, a nome Giulia");
    assert!(
        said(&summary).contains("Sab 28/11 · 10:00 · Taglio · Anna · Giulia"),
        "{}",
        said(&summary)
    );
    let requested = chat.tap(&button_ids(&summary)[0]);
    let (_, _, w) = booking_requested(&requested).unwrap();
    assert_eq!(
        w.need,
        Need::Service {
            service: ServiceId::new("taglio"),
            resource: Some(ResourceId::new("anna")),
        }
    );
    let confirmed = chat.book_it(&requested);
    assert!(said(&confirmed).contains("Prenotazione confermata"));
}

#[test]
fn a_salon_asks_for_the_service_with_a_list() {
    let mut chat = Chat::new(salon(&[It]));
    chat.profile_name = Some("Giulia Verdi".into());
    let list = chat.say("vorrei un appuntamento sabato alle 11");
    let services = rows(&list);
    assert_eq!(services.len(), 3, "{}", said(&list));
    assert_eq!(services[1], ("svc:1".to_string(), "Piega".to_string()));
    let summary = chat.choose("svc:1");
    assert!(
        said(&summary).contains("Sab 28/11 · 11:00 · Piega · Giulia Verdi"),
        "{}",
        said(&summary)
    );
}

#[test]
fn a_staff_member_who_does_not_offer_the_service_is_dropped() {
    let mut chat = Chat::new(salon(&[It]));
    let summary = chat.say("vorrei un colore con Marco sabato alle 10 a nome Giulia");
    assert!(
        said(&summary).contains("Marco non fa questo servizio"),
        "{}",
        said(&summary)
    );
    assert!(said(&summary).contains("Sab 28/11 · 10:00 · Colore · Giulia"));
}

#[test]
fn staff_confirmation_is_awaited_and_then_told() {
    let mut chat = Chat::new(trattoria(&[It]));
    chat.context.auto_confirm = false;
    let summary = chat.say("tavolo per 4 sabato alle 20 a nome Rossi");
    let requested = chat.tap(&button_ids(&summary)[0]);
    let (request_id, appointment_id, w) = booking_requested(&requested).unwrap();
    let slot = chat.slot(&w);
    let held = chat.booking_outcome(
        request_id,
        BookingOutcome::AwaitingStaff {
            appointment_id,
            slot,
        },
    );
    assert!(said(&held).contains("Ti confermiamo a breve"));
    let notify = |change| ConversationCommand::NotifyAppointment {
        appointment_id,
        change,
        context: Box::new(trattoria(&[It])),
    };
    let confirmed = chat.run(notify(AppointmentChange::ConfirmedByStaff));
    assert!(said(&confirmed).contains("confermata ✅"));
    assert!(
        chat.run(notify(AppointmentChange::ConfirmedByStaff))
            .is_empty(),
        "told once"
    );
    let cancelled = chat.run(notify(AppointmentChange::CancelledByStaff {
        reason: Some("chiusura straordinaria".into()),
    }));
    assert!(said(&cancelled).contains("annullata dal locale"));
    assert!(said(&cancelled).contains("chiusura straordinaria"));
}

#[test]
fn a_closed_day_and_hours_outside_service_are_said_at_once() {
    let mut chat = Chat::new(trattoria(&[It]));
    let closed = chat.say("tavolo per 2 lunedì alle 20 a nome Neri");
    assert!(
        said(&closed).contains("Lun 23/11 siamo chiusi"),
        "{}",
        said(&closed)
    );
    assert!(said(&closed).contains("Per quale giorno?"));
    let late = chat.say("martedì alle 17");
    assert!(
        said(&late).contains("a quell'ora non si può prenotare"),
        "{}",
        said(&late)
    );
}

#[test]
fn hours_address_and_thanks_come_from_the_context() {
    let mut chat = Chat::new(trattoria(&[It]));
    let hours = said(&chat.say("che orari fate?"));
    assert!(
        hours.contains("Lun chiuso") && hours.contains("Mar–Dom 12:00–15:00, 19:00–23:00"),
        "{hours}"
    );
    assert!(said(&chat.say("dove siete?")).contains("Via Roma 1, Milano"));
    assert!(said(&chat.say("grazie mille")).contains("Grazie"));
    let mut closed = Chat::new(trattoria(&[En]));
    closed.context.booking = None;
    assert!(said(&closed.say("table for 2 tomorrow at 8pm")).contains("not open"));
}

#[test]
fn a_hand_off_silences_the_assistant_until_staff_hand_back() {
    let mut chat = Chat::new(trattoria(&[It]));
    let handed = chat.say("voglio parlare con una persona");
    assert!(handed.iter().any(|e| matches!(
        e,
        ConversationEvent::HandedOffToStaff {
            reason: HandOffReason::Asked
        }
    )));
    assert!(said(&handed).contains("staff"));
    let quiet = chat.say("tavolo per 4 sabato alle 20");
    assert!(replies(&quiet).is_empty(), "{:?}", names(&quiet));
    assert_eq!(
        chat.run(ConversationCommand::HandBack),
        vec![ConversationEvent::HandedBack]
    );
    assert!(chat.run(ConversationCommand::HandBack).is_empty());
    assert!(!replies(&chat.say("ciao")).is_empty());
}

#[test]
fn three_misunderstood_messages_in_a_row_hand_off() {
    let mut chat = Chat::new(trattoria(&[It]));
    assert!(said(&chat.say("blorp")).contains("non ho capito"));
    assert!(said(&chat.say("zzz qwerty")).contains("non ho capito"));
    let third = chat.say("fnord");
    assert!(third.iter().any(|e| matches!(
        e,
        ConversationEvent::HandedOffToStaff {
            reason: HandOffReason::Misunderstood
        }
    )));
}

#[test]
fn after_an_opt_out_nothing_is_sent_until_opt_in() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary = chat.say("tavolo per 4 sabato alle 20 a nome Rossi");
    let requested = chat.tap(&button_ids(&summary)[0]);
    let stop = chat.say("STOP");
    assert!(stop.contains(&ConversationEvent::OptedOut));
    let r = replies(&stop);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].purpose, ReplyPurpose::OptOutConfirmed);
    assert!(replies(&chat.say("ciao, tavolo per 2 domani")).is_empty());
    let outcome = chat.book_it(&requested);
    assert!(replies(&outcome).is_empty(), "recorded, not sent");
    assert!(outcome.iter().any(|e| e.name() == "BookingOutcomeRecorded"));
    let start = chat.say("START");
    assert!(start.contains(&ConversationEvent::OptedIn));
    assert!(said(&start).contains("Bentornato"));
    assert!(!replies(&chat.say("ciao")).is_empty());
}

#[test]
fn a_message_delivered_twice_decides_nothing_new() {
    let mut chat = Chat::new(trattoria(&[It]));
    let m = chat.inbound(
        Some("tavolo per 4 sabato alle 20 a nome Rossi"),
        serde_json::json!({"text": {"body": "x"}}),
    );
    assert!(!chat.deliver(m.clone()).is_empty());
    assert!(chat.deliver(m).is_empty());
}

#[test]
fn an_outcome_replayed_decides_nothing_new() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary = chat.say("tavolo per 4 sabato alle 20 a nome Rossi");
    let requested = chat.tap(&button_ids(&summary)[0]);
    assert!(!chat.book_it(&requested).is_empty());
    assert!(chat.book_it(&requested).is_empty());
}

#[test]
fn the_same_input_on_the_same_state_derives_the_same_ids() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary = chat.say("tavolo per 4 sabato alle 20 a nome Rossi");
    let m = chat.inbound(
        Some("tap"),
        serde_json::json!({"button_reply": {"id": button_ids(&summary)[0]}}),
    );
    let command = || ConversationCommand::ReceiveMessage {
        message: Box::new(m.clone()),
        context: Some(Box::new(chat.context.clone())),
    };
    let once = chat.conversation.decide(command());
    let twice = chat.conversation.decide(command());
    assert_eq!(once, twice);
    assert!(booking_requested(&once).is_some());
}

#[test]
fn a_message_only_recorded_gets_no_answer() {
    let mut chat = Chat::new(trattoria(&[It]));
    let mut m = chat.inbound(Some("ciao"), serde_json::json!({"text": {"body": "ciao"}}));
    m.answering = lyo_domain::conversation::Answering::RateLimited;
    assert_eq!(names(&chat.deliver(m)), vec!["MessageReceived"]);
}

#[test]
fn a_booking_over_several_messages_in_spanish_with_a_correction() {
    let mut chat = Chat::new(trattoria(&[It, Es]));
    assert!(said(&chat.say("hola")).contains("¡Hola!"));
    assert!(
        said(&chat.say("quiero reservar para el viernes")).contains("¿A qué hora, el Vie 27/11?")
    );
    assert!(said(&chat.say("a las 9")).contains("¿Para cuántas personas?"));
    assert!(said(&chat.say("somos 4")).contains("¿A nombre de quién"));
    let first = chat.say("me llamo Ana Ruiz");
    assert!(
        said(&first).contains("Vie 27/11 · 21:00 · 4 personas · Ana Ruiz"),
        "{}",
        said(&first)
    );
    let late = chat.say("mejor a las 22");
    assert!(
        said(&late).contains("no se puede reservar a esa hora"),
        "{}",
        said(&late)
    );
    let corrected = chat.say("a las 20:30");
    assert!(
        said(&corrected).contains("Vie 27/11 · 20:30 · 4 personas · Ana Ruiz"),
        "{}",
        said(&corrected)
    );
    let requested = chat.say("sí");
    assert_eq!(booking_requested(&requested).unwrap().2.time, t(20, 30));
}

#[test]
fn a_booking_over_several_messages_in_english() {
    let mut chat = Chat::new(trattoria(&[En]));
    chat.profile_name = Some("Sarah Jones".into());
    assert!(said(&chat.say("hi, I'd like to book a table")).contains("For which day?"));
    assert!(said(&chat.say("tomorrow")).contains("We are closed on Mon 23/11"));
    assert!(said(&chat.say("tuesday")).contains("What time on Tue 24/11"));
    assert!(said(&chat.say("8pm")).contains("For how many people?"));
    let summary = chat.say("3");
    assert!(
        said(&summary).contains("Tue 24/11 · 20:00 · 3 people · Sarah Jones"),
        "{}",
        said(&summary)
    );
    assert!(said(&chat.tap("change")).contains("What would you like to change?"));
    let changed = chat.say("actually make it 5");
    assert!(said(&changed).contains("5 people"), "{}", said(&changed));
}

#[test]
fn another_day_instead_of_the_alternatives_keeps_the_wished_time() {
    let mut chat = Chat::new(trattoria(&[It]));
    let summary = chat.say("tavolo per 4 sabato alle 20 a nome Rossi");
    let requested = chat.tap(&button_ids(&summary)[0]);
    let (request_id, _, w) = booking_requested(&requested).unwrap();
    let alternatives = vec![chat.slot(&wish(w.date, t(21, 30), w.need.clone()))];
    chat.booking_outcome(
        request_id,
        BookingOutcome::Unavailable {
            reason: Unavailable::Full,
            alternatives,
        },
    );
    let again = chat.say("allora domenica");
    let (_, _, w2) = booking_requested(&again).expect("re-requested");
    assert_eq!(w2, wish(d(2026, 11, 29), t(20, 0), party(4)));
}

#[test]
fn a_reaction_is_recorded_and_not_answered() {
    let mut chat = Chat::new(trattoria(&[It]));
    let mut m = chat.inbound(
        None,
        serde_json::json!({"reaction": {"message_id": "wamid.out.1", "emoji": "👍"}}),
    );
    m.kind = "reaction".into();
    assert_eq!(names(&chat.deliver(m)), vec!["MessageReceived"]);
}

#[test]
fn a_customer_named_like_a_stylist_is_not_booked_with_her() {
    let mut chat = Chat::new(salon(&[It]));
    assert!(said(&chat.say("vorrei una piega sabato alle 11")).contains("A che nome"));
    let summary = chat.say("Anna");
    assert!(
        said(&summary).contains("Sab 28/11 · 11:00 · Piega · Anna"),
        "{}",
        said(&summary)
    );
    let requested = chat.tap(&button_ids(&summary)[0]);
    assert_eq!(
        booking_requested(&requested).unwrap().2.need,
        Need::Service {
            service: ServiceId::new("piega"),
            resource: None
        }
    );
}
