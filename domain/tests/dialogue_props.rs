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
