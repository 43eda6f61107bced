//! Whatever the tenant and the customer write (long names, services, staff, addresses), every
//! reply the dialogue queues passes WhatsApp's limits. (`render::checked` also panics in debug
//! builds on a reply that would not, so a failure shows up here either way.)
#![allow(clippy::unwrap_used)]

#[path = "dialogue_support.rs"]
mod support;

use lyo_domain::availability::{Capacity, Unavailable};
use lyo_domain::conversation::{BookingOutcome, ConversationEvent};
use lyo_domain::understanding::Language;
use proptest::prelude::*;
use support::*;

fn assert_valid(events: &[ConversationEvent]) {
    for r in replies(events) {
        assert!(
            r.body.validate().is_ok(),
            "{:?}: {:?}",
            r.body.validate(),
            r.body
        );
    }
}

fn any_language() -> impl Strategy<Value = Language> {
    prop_oneof![Just(Language::It), Just(Language::En), Just(Language::Es)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_reply_fits_whatsapp_limits(
        lang in any_language(),
        tenant in "\\PC{1,300}",
        address in "\\PC{0,5000}",
        name in "[A-Za-zÀ-ÿ' ]{1,200}",
        service in "\\PC{1,300}",
        staff in "\\PC{1,300}",
        extra in "\\PC{0,400}",
    ) {
        let mut ctx = salon(&[lang]);
        ctx.tenant_name = tenant;
        ctx.address = Some(address);
        if let Some(Capacity::Salon(s)) = ctx.booking.as_mut().map(|b| &mut b.capacity) {
            s.services[0].name = service.clone();
            s.resources[0].name = staff.clone();
        }
        let mut chat = Chat::new(ctx);
        chat.profile_name = Some(name.clone());
        for text in ["ciao", "che orari fate?", "dove siete?", extra.as_str(), "vorrei un appuntamento sabato alle 10"] {
            let events = chat.say(text);
            assert_valid(&events);
        }
        let listed = chat.choose("svc:0");
        assert_valid(&listed);
        let named = chat.say(&format!("a nome {name}"));
        assert_valid(&named);
        if let Some(confirm) = button_ids(&chat.log).into_iter().rev().find(|b| b.starts_with("confirm:")) {
            let requested = chat.tap(&confirm);
            if let Some((request_id, _, w)) = booking_requested(&requested) {
                let alternatives = (11..17).map(|h| chat.slot(&lyo_domain::availability::Wish { time: t(h, 0), ..w.clone() })).collect();
                let offered = chat.booking_outcome(request_id, BookingOutcome::Unavailable { reason: Unavailable::Full, alternatives });
                assert_valid(&offered);
                let row = rows(&offered).first().map(|r| r.0.clone());
                if let Some(row) = row {
                    let again = chat.choose(&row);
                    assert_valid(&again);
                    if booking_requested(&again).is_some() {
                        assert_valid(&chat.book_it(&again));
                    }
                }
            }
        }
    }
}

/// The same, deterministic, with every free text at its longest: the flow reaches the summary
/// and the alternatives, so the long parts are really rendered.
#[test]
fn the_longest_names_still_reach_the_summary_and_the_alternatives() {
    let mut ctx = salon(&[Language::Es]);
    ctx.tenant_name = "Peluquería ".repeat(40);
    if let Some(Capacity::Salon(s)) = ctx.booking.as_mut().map(|b| &mut b.capacity) {
        s.services[0].name = "Corte de pelo con lavado y peinado ".repeat(10);
        s.resources[0].name = "María de los Ángeles ".repeat(10);
    }
    let mut chat = Chat::new(ctx);
    assert_valid(&chat.say("quiero una cita el sábado a las 10"));
    assert_valid(&chat.choose("svc:0"));
    let summary = chat.say(
        "a nombre de Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessen",
    );
    assert_valid(&summary);
    let confirm = button_ids(&summary)
        .into_iter()
        .find(|b| b.starts_with("confirm:"))
        .unwrap();
    let requested = chat.tap(&confirm);
    let (request_id, _, w) = booking_requested(&requested).unwrap();
    let alternatives = (11..17)
        .map(|h| {
            chat.slot(&lyo_domain::availability::Wish {
                time: t(h, 0),
                ..w.clone()
            })
        })
        .collect();
    let offered = chat.booking_outcome(
        request_id,
        BookingOutcome::Unavailable {
            reason: Unavailable::Full,
            alternatives,
        },
    );
    assert_valid(&offered);
    assert_eq!(rows(&offered).len(), 5);
    let again = chat.choose(&rows(&offered)[0].0);
    assert_valid(&chat.book_it(&again));
}

/// One step of a random conversation.
#[derive(Debug, Clone)]
enum Step {
    Say(&'static str),
    TapFirstButton,
    ChooseFirstRow,
    /// The process manager answers the oldest open booking request: 0 confirmed, 1 full
    /// (with an alternative), 2 awaiting staff.
    Outcome(u8),
    HandBack,
}

const PHRASES: [&str; 20] = [
    "ciao",
    "tavolo per 4 sabato alle 20 a nome Rossi",
    "anzi alle 21",
    "sì",
    "no",
    "STOP",
    "START",
    "voglio parlare con una persona",
    "annulla la prenotazione",
    "posso spostare la prenotazione a domenica alle 21?",
    "che orari fate?",
    "blorp",
    "4",
    "Rossi",
    "table for 2 tomorrow at 8pm",
    "quiero reservar para el viernes a las 9",
    "grazie",
    "alle 20:30 va bene",
    "dove siete?",
    "vorrei prenotare",
];

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..PHRASES.len()).prop_map(|i| Step::Say(PHRASES[i])),
        2 => Just(Step::TapFirstButton),
        1 => Just(Step::ChooseFirstRow),
        2 => (0u8..3).prop_map(Step::Outcome),
        1 => Just(Step::HandBack),
    ]
}

/// Booking requests without a recorded outcome, oldest first.
fn open_requests(
    chat: &Chat,
) -> Vec<(
    uuid::Uuid,
    lyo_domain::ids::AppointmentId,
    lyo_domain::availability::Wish,
)> {
    let answered: Vec<uuid::Uuid> = chat
        .log
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::BookingOutcomeRecorded { request_id, .. } => Some(*request_id),
            _ => None,
        })
        .collect();
    chat.log
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::BookingRequested {
                request_id,
                appointment_id,
                wish,
                ..
            } if !answered.contains(request_id) => {
                Some((*request_id, *appointment_id, wish.clone()))
            }
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever happens, replies fit the limits, nothing is sent while opted out or handed off
    /// (but the opt-out's and opt-in's own confirmations), and re-deciding the same input on
    /// the same state gives the same events.
    #[test]
    fn silence_and_limits_hold_in_any_conversation(steps in proptest::collection::vec(any_step(), 1..30)) {
        let mut chat = Chat::new(trattoria(&[Language::It]));
        for step in steps {
            let before = chat.conversation.dialogue.clone();
            let silenced = before.opted_out || before.handed_off;
            let events = match step {
                Step::Say(text) => {
                    let m = chat.inbound(Some(text), serde_json::json!({"text": {"body": text}}));
                    let command = || lyo_domain::conversation::ConversationCommand::ReceiveMessage {
                        message: Box::new(m.clone()),
                        context: Some(Box::new(chat.context.clone())),
                    };
                    prop_assert_eq!(chat.conversation.decide(command()), chat.conversation.decide(command()));
                    chat.deliver(m)
                }
                Step::TapFirstButton => match button_ids(&chat.log).last() {
                    Some(id) => { let id = id.clone(); chat.tap(&id) }
                    None => continue,
                },
                Step::ChooseFirstRow => match rows(&chat.log).last() {
                    Some((id, _)) => { let id = id.clone(); chat.choose(&id) }
                    None => continue,
                },
                Step::Outcome(kind) => {
                    let Some((request_id, appointment_id, wish)) = open_requests(&chat).into_iter().next() else { continue };
                    // What the schedule answers: a wish for a day it is closed ("tomorrow"
                    // from a Sunday) has no slot and no alternative on that day.
                    let outcome = match (kind, chat.try_slot(&wish)) {
                        (_, Err(reason)) => BookingOutcome::Unavailable { reason, alternatives: vec![] },
                        (0, Ok(slot)) => BookingOutcome::Confirmed { appointment_id, slot },
                        (1, Ok(_)) => {
                            let other = lyo_domain::availability::Wish { time: t(21, 30), ..wish.clone() };
                            let alternatives = if other == wish { vec![] } else { chat.try_slot(&other).into_iter().collect() };
                            BookingOutcome::Unavailable { reason: Unavailable::Full, alternatives }
                        }
                        (_, Ok(slot)) => BookingOutcome::AwaitingStaff { appointment_id, slot },
                    };
                    chat.booking_outcome(request_id, outcome)
                }
                Step::HandBack => chat.run(lyo_domain::conversation::ConversationCommand::HandBack),
            };
            assert_valid(&events);
            if silenced {
                let opted_in = events.contains(&ConversationEvent::OptedIn);
                for r in replies(&events) {
                    let allowed = r.purpose == lyo_domain::reply::ReplyPurpose::OptOutConfirmed || opted_in;
                    prop_assert!(allowed, "sent while silenced: {:?}", r);
                }
            }
        }
    }
}
