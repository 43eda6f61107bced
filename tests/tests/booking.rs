//! Issue 5 end to end: customers chat through signed webhooks against the real server, the
//! dialogue answers, the booking process manager books on the schedule, and the replies and
//! appointments are asserted. Both backends; the race for the last table on Postgres.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use lyo_tests::chat::{choices, text, titles, Shop};
use lyo_tests::process::Server;
use lyo_tests::{eventually, on_both_backends, Backend, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

/// Open every day for lunch and dinner; one table for 4 and one for 2 (so "the last table" is
/// easy to reach), parties up to 6, auto-confirm.
fn trattoria(phone_number_id: &str, languages: &[&str]) -> Value {
    json!({
        "name": "Trattoria da Mario",
        "time_zone": "Europe/Rome",
        "languages": languages,
        "whatsapp": {"phone_number_ids": [phone_number_id]},
        "booking": {
            "weekly": {
                "monday": periods(), "tuesday": periods(), "wednesday": periods(),
                "thursday": periods(), "friday": periods(), "saturday": periods(),
                "sunday": periods()
            },
            "granularity": 30,
            "lead": {"earliest": 60, "latest_days": 60},
            "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 6,
                         "tables": [{"id": "T4", "seats": 4}, {"id": "T2", "seats": 2}]}
        },
        "assistant": {"auto_confirm": true, "address": "Via Roma 1, Milano"}
    })
}

fn periods() -> Value {
    json!([
        {"name": "pranzo", "from": "12:00", "to": "15:00"},
        {"name": "cena", "from": "19:00", "to": "23:00"}
    ])
}

fn salon(phone_number_id: &str) -> Value {
    let day = json!([{"name": "giorno", "from": "09:00", "to": "19:00"}]);
    json!({
        "name": "Salone Bella",
        "time_zone": "Europe/Rome",
        "languages": ["it"],
        "whatsapp": {"phone_number_ids": [phone_number_id]},
        "booking": {
            "weekly": {
                "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                "friday": day, "saturday": day, "sunday": day
            },
            "granularity": 30,
            "lead": {"earliest": 60, "latest_days": 60},
            "capacity": {"kind": "salon",
                "services": [
                    {"id": "taglio", "name": "Taglio", "duration": 30},
                    {"id": "colore", "name": "Colore", "duration": 90}
                ],
                "resources": [
                    {"id": "anna", "name": "Anna", "services": ["taglio", "colore"]},
                    {"id": "marco", "name": "Marco", "services": ["taglio"]}
                ]}
        },
        "assistant": {"auto_confirm": true}
    })
}

fn has(replies: &[lyo_domain::reply::Reply], needle: &str) -> bool {
    replies.iter().any(|r| text(r).contains(needle))
}

fn all_text(replies: &[lyo_domain::reply::Reply]) -> String {
    replies
        .iter()
        .map(|r| format!("{} {:?}", text(r), titles(r)))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The id of the first choice whose id starts with `prefix`, in the last reply offering one.
fn choice(replies: &[lyo_domain::reply::Reply], prefix: &str) -> String {
    replies
        .iter()
        .rev()
        .flat_map(choices)
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| panic!("no choice {prefix}* in: {}", all_text(replies)))
}

on_both_backends!(
    a_booking_in_one_message_in_italian,
    a_booking_over_several_messages_with_a_correction_in_english,
    a_full_slot_is_answered_with_alternatives_and_one_is_chosen_in_spanish,
    a_booking_is_cancelled_by_chat,
    a_booking_is_moved_by_chat,
    a_salon_service_with_a_named_stylist,
    hand_off_to_staff_then_silence,
    opt_out_then_silence_until_opt_in,
    a_booking_in_one_message_in_each_language,
    staff_confirm_and_cancel_reach_the_customer,
    replaying_the_process_manager_from_the_start_issues_nothing,
);

async fn a_booking_in_one_message_in_italian(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1001", &["it"])).await;
    let mut giulia = shop.guest("393330000001", "Giulia");
    let replies = giulia
        .say("Ciao, vorrei prenotare un tavolo per 4 persone domani alle 20, a nome Rossi")
        .await;
    let summary = all_text(&replies);
    assert!(
        summary.contains("20:00") && summary.contains('4') && summary.contains("Rossi"),
        "a summary to confirm: {summary}"
    );
    let replies = giulia.tap(&choice(&replies, "confirm")).await;
    assert!(
        has(&replies, "20:00"),
        "a confirmation with the details: {}",
        all_text(&replies)
    );
    assert_eq!(shop.count("Appointment", "AppointmentRequested").await, 1);
    assert_eq!(shop.count("Appointment", "AppointmentConfirmed").await, 1);
    assert_eq!(shop.count("Schedule", "SlotReserved").await, 1);
}

async fn a_booking_over_several_messages_with_a_correction_in_english(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1002", &["en", "it"])).await;
    let mut tom = shop.guest("447700900001", "Tom");
    let first = tom.say("Hi, I'd like to book a table for tomorrow").await;
    assert!(!first.is_empty(), "a question for what is missing");
    let _ = tom.say("at 8pm").await;
    let _ = tom.say("we are 3").await;
    let replies = tom.say("sorry, make it 9pm. The name is Smith").await;
    let summary = all_text(&replies);
    assert!(
        summary.contains("21:00") && summary.contains("Smith"),
        "the correction is in the summary: {summary}"
    );
    let replies = tom.tap(&choice(&replies, "confirm")).await;
    assert!(has(&replies, "21:00"), "{}", all_text(&replies));
    assert_eq!(shop.count("Appointment", "AppointmentRequested").await, 1);
}

async fn a_full_slot_is_answered_with_alternatives_and_one_is_chosen_in_spanish(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1003", &["es"])).await;
    // Both tables taken at 21:00 tomorrow.
    for (phone, party, name) in [("34600000001", 4, "Garcia"), ("34600000002", 2, "Lopez")] {
        let mut guest = shop.guest(phone, name);
        let replies = guest
            .say(&format!(
                "Hola, quiero reservar mañana a las 21 para {party} personas a nombre de {name}"
            ))
            .await;
        let _ = guest.tap(&choice(&replies, "confirm")).await;
    }
    let mut ana = shop.guest("34600000003", "Ana");
    let replies = ana
        .say("Hola, una mesa para 2 mañana a las 21, a nombre de Ruiz")
        .await;
    let replies = ana.tap(&choice(&replies, "confirm")).await;
    let offer = replies
        .iter()
        .find(|r| matches!(r.body, lyo_domain::reply::ReplyBody::List { .. }))
        .unwrap_or_else(|| panic!("a list of alternatives: {}", all_text(&replies)));
    let rows = choices(offer);
    assert!(
        !rows.is_empty() && rows.len() <= 5,
        "up to 5 alternatives: {rows:?}"
    );
    assert!(
        titles(offer).iter().all(|t| !t.contains("21:00")),
        "the taken time is not offered: {:?}",
        titles(offer)
    );
    let replies = ana.pick(&rows[0]).await;
    assert!(!replies.is_empty(), "an answer to the choice");
    assert_eq!(
        shop.count("Appointment", "AppointmentRequested").await,
        3,
        "the chosen alternative is booked: {}",
        all_text(&replies)
    );
    assert_eq!(shop.count("Schedule", "ReservationRefused").await, 1);
}

async fn a_booking_is_cancelled_by_chat(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    // One table only: the second customer gets it only if the cancellation freed it.
    let mut body = trattoria("1004", &["it"]);
    body["booking"]["capacity"]["tables"] = json!([{"id": "T2", "seats": 2}]);
    let shop = Shop::open(&db, body).await;
    let mut marco = shop.guest("393330000004", "Marco");
    let replies = marco
        .say("Buonasera, prenoto per 2 domani alle 13, Bianchi")
        .await;
    let _ = marco.tap(&choice(&replies, "confirm")).await;
    let replies = marco.say("Vorrei annullare la prenotazione").await;
    let replies = marco.tap(&choice(&replies, "cancel")).await;
    assert!(!replies.is_empty(), "the cancellation is confirmed");
    assert_eq!(shop.count("Appointment", "AppointmentCancelled").await, 1);
    assert_eq!(shop.count("Schedule", "SlotReleased").await, 1);
    // The table is free again: another customer gets it.
    let mut sara = shop.guest("393330000005", "Sara");
    let replies = sara.say("Ciao, per 2 domani alle 13 a nome Verdi").await;
    let replies = sara.tap(&choice(&replies, "confirm")).await;
    assert!(has(&replies, "13:00"), "{}", all_text(&replies));
}

async fn a_booking_is_moved_by_chat(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1005", &["en"])).await;
    let mut amy = shop.guest("447700900005", "Amy");
    let replies = amy
        .say("Hello, book a table for 2 tomorrow at 7pm, name Brown")
        .await;
    let _ = amy.tap(&choice(&replies, "confirm")).await;
    let replies = amy.say("Can I move my booking to 8:30pm?").await;
    let replies = if choices_with(&replies, "move").is_empty() {
        // Asked for the new time first.
        amy.say("tomorrow at 8:30pm").await
    } else {
        replies
    };
    let replies = amy.tap(&choice(&replies, "move")).await;
    assert!(has(&replies, "20:30"), "{}", all_text(&replies));
    assert_eq!(shop.count("Appointment", "AppointmentRescheduled").await, 1);
}

fn choices_with(replies: &[lyo_domain::reply::Reply], prefix: &str) -> Vec<String> {
    replies
        .iter()
        .flat_map(choices)
        .filter(|id| id.starts_with(prefix))
        .collect()
}

async fn a_salon_service_with_a_named_stylist(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, salon("1006")).await;
    let mut lucia = shop.guest("393330000006", "Lucia");
    let replies = lucia
        .say("Ciao, vorrei un taglio con Marco domani alle 10, sono Lucia Neri")
        .await;
    let summary = all_text(&replies);
    assert!(
        summary.contains("Marco") && summary.contains("10:00"),
        "the stylist is kept: {summary}"
    );
    let replies = lucia.tap(&choice(&replies, "confirm")).await;
    assert!(has(&replies, "10:00"), "{}", all_text(&replies));
    let reserved = shop.events("Schedule", "SlotReserved").await;
    assert_eq!(reserved.len(), 1);
    assert_eq!(
        reserved[0]["SlotReserved"]["slot"]["assignment"]["id"], "marco",
        "{}",
        reserved[0]
    );
}

async fn hand_off_to_staff_then_silence(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1007", &["it"])).await;
    let mut paolo = shop.guest("393330000007", "Paolo");
    let replies = paolo.say("voglio parlare con una persona").await;
    assert_eq!(replies.len(), 1, "one message saying staff will answer");
    assert!(paolo.say("ciao?").await.is_empty(), "then silence");
    assert_eq!(shop.count("Conversation", "HandedOffToStaff").await, 1);
}

async fn opt_out_then_silence_until_opt_in(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1008", &["es"])).await;
    let mut luis = shop.guest("34600000008", "Luis");
    let replies = luis.say("STOP").await;
    assert_eq!(replies.len(), 1, "only the confirmation of the opt-out");
    assert_eq!(
        replies[0].purpose,
        lyo_domain::reply::ReplyPurpose::OptOutConfirmed
    );
    assert!(luis.say("hola").await.is_empty(), "nothing after STOP");
    assert!(
        luis.say("quiero reservar mañana a las 21").await.is_empty(),
        "nothing, even for a booking"
    );
    let replies = luis.say("START").await;
    assert!(!replies.is_empty(), "opting back in is confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_customers_racing_for_the_last_table_on_postgres() {
    let db = TestDb::migrated(Backend::Postgres).await;
    let mut body = trattoria("1009", &["it"]);
    body["booking"]["capacity"]["tables"] = json!([{"id": "T4", "seats": 4}]);
    let shop = Shop::open(&db, body).await;
    let mut guests: Vec<_> = (0..50)
        .map(|i| shop.guest(&format!("3933310{i:05}"), &format!("Cliente {i}")))
        .collect();
    let mut confirms = Vec::new();
    for (i, guest) in guests.iter_mut().enumerate() {
        let replies = guest
            .say(&format!("Ciao, per 2 domani alle 20, a nome Cliente{i}"))
            .await;
        confirms.push(choice(&replies, "confirm"));
    }
    // Every customer taps Confirm at the same moment, on separate connections.
    futures::future::join_all(
        guests
            .iter_mut()
            .zip(&confirms)
            .map(|(guest, id)| guest.send_tap(id)),
    )
    .await;
    shop.step().await;
    assert_eq!(
        shop.count("Appointment", "AppointmentRequested").await,
        1,
        "exactly one booking"
    );
    assert_eq!(shop.count("Schedule", "SlotReserved").await, 1);
    let mut offered = 0;
    for guest in &mut guests {
        let replies = guest.new_replies().await;
        if replies
            .iter()
            .any(|r| matches!(r.body, lyo_domain::reply::ReplyBody::List { .. }))
        {
            offered += 1;
        }
    }
    assert_eq!(offered, 49, "every other customer gets alternatives");
}

/// SIGKILL `lyo serve` while it works through a burst of confirmations; after a restart every
/// confirmed request has exactly one appointment and exactly one outcome reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_during_a_burst_of_confirmations_loses_and_repeats_nothing() {
    const GUESTS: usize = 30;
    let db = TestDb::migrated(Backend::Postgres).await;
    let mut body = trattoria("1010", &["it"]);
    body["booking"]["capacity"] =
        json!({"kind": "restaurant", "seating": 90, "largest_party": 6, "max_covers": 500});
    let shop = Shop::open(&db, body).await;
    let mut guests: Vec<_> = (0..GUESTS)
        .map(|i| shop.guest(&format!("3933320{i:05}"), &format!("Cliente {i}")))
        .collect();
    let mut confirms = Vec::new();
    for (i, guest) in guests.iter_mut().enumerate() {
        let replies = guest
            .say(&format!("Ciao, per 2 domani alle 20, a nome Cliente{i}"))
            .await;
        confirms.push(choice(&replies, "confirm"));
    }

    let dir = std::env::temp_dir().join(format!("lyo-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = lyo_tests::master_key();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        ("WHATSAPP_APP_SECRET", lyo_tests::chat::APP_SECRET),
        ("LYO_PROJECTOR_BATCH_SIZE", "4"),
        // The killed process never releases its leases: let the next one take them soon.
        ("LYO_PROJECTOR_LEASE_TTL_MS", "300"),
    ];
    let server = Server::start(&dir, &env).await;
    futures::future::join_all(
        guests
            .iter_mut()
            .zip(&confirms)
            .map(|(guest, id)| guest.send_tap_to(&server.base_url, id)),
    )
    .await;
    eventually(
        Duration::from_secs(60),
        "the first bookings of the burst",
        || async {
            !shop
                .events("Appointment", "AppointmentRequested")
                .await
                .is_empty()
        },
    )
    .await;
    server.kill();
    let at_kill = shop
        .events("Conversation", "BookingOutcomeRecorded")
        .await
        .len();

    let server = Server::start(&dir, &env).await;
    eventually(
        Duration::from_secs(180),
        "every confirmation answered after the restart",
        || async { shop.count("Conversation", "BookingOutcomeRecorded").await >= GUESTS },
    )
    .await;
    drop(server);
    assert!(
        at_kill < GUESTS,
        "the kill interrupted the burst ({at_kill} answered)"
    );
    assert_eq!(
        shop.count("Appointment", "AppointmentRequested").await,
        GUESTS,
        "one appointment per confirmed request"
    );
    assert_eq!(shop.count("Schedule", "SlotReserved").await, GUESTS);
    assert_eq!(
        shop.count("Conversation", "BookingOutcomeRecorded").await,
        GUESTS
    );
    for guest in &guests {
        let confirmed = guest
            .replies()
            .await
            .into_iter()
            .filter(|r| r.purpose == lyo_domain::reply::ReplyPurpose::BookingConfirmed)
            .count();
        assert_eq!(confirmed, 1, "exactly one confirmation reply per customer");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

async fn a_booking_in_one_message_in_each_language(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let mut body = trattoria("1011", &["it", "en", "es"]);
    body["booking"]["capacity"] =
        json!({"kind": "restaurant", "seating": 90, "largest_party": 6, "max_covers": 40});
    let shop = Shop::open(&db, body).await;
    for (i, (message, confirmed)) in [
        (
            "Buongiorno, un tavolo per 2 domani alle 13 a nome Conti",
            "confermata",
        ),
        (
            "Hi, a table for 2 tomorrow at 1pm, name Clarke",
            "confirmed",
        ),
        (
            "Hola, mesa para 2 mañana a las 13, a nombre de Vega",
            "confirmada",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut guest = shop.guest(&format!("3460000010{i}"), "Guest");
        let replies = guest.say(message).await;
        assert!(has(&replies, "13:00"), "{message}: {}", all_text(&replies));
        let replies = guest.tap(&choice(&replies, "confirm")).await;
        let answer = all_text(&replies).to_lowercase();
        assert!(
            answer.contains(confirmed) && answer.contains("13:00"),
            "{message}: {answer}"
        );
    }
    assert_eq!(shop.count("Appointment", "AppointmentConfirmed").await, 3);
}

/// A staff-confirm tenant: the customer hears "request received", then what staff decide.
async fn staff_confirm_and_cancel_reach_the_customer(backend: Backend) {
    use cqrs_es::persist::PersistedEventStore;
    use cqrs_es::CqrsFramework;
    use lyo_domain::appointment::{Appointment, AppointmentCommand, CancelledBy, ConfirmedBy};

    let db = TestDb::migrated(backend).await;
    let mut body = trattoria("1012", &["it"]);
    body["assistant"]["auto_confirm"] = json!(false);
    let shop = Shop::open(&db, body).await;
    let mut rita = shop.guest("393330000012", "Rita");
    let replies = rita
        .say("Ciao, per 3 domani alle 20:30, a nome Galli")
        .await;
    let replies = rita.tap(&choice(&replies, "confirm")).await;
    assert!(
        has(&replies, "Richiesta ricevuta"),
        "{}",
        all_text(&replies)
    );
    assert!(shop
        .events("Appointment", "AppointmentConfirmed")
        .await
        .is_empty());

    let requested = lyo_tests::read_log(shop.platform.log.as_ref(), 0)
        .await
        .into_iter()
        .find(|e| e.event_type == "AppointmentRequested")
        .unwrap();
    let staff = CqrsFramework::<Appointment, _>::new(
        PersistedEventStore::new_event_store(shop.platform.repository.clone()),
        vec![],
        (),
    );
    let tenant = shop.tenant.parse().unwrap();
    let metadata = lyo_tests::system_metadata(tenant).to_map();
    staff
        .execute_with_metadata(
            &requested.aggregate_id,
            AppointmentCommand::ConfirmAppointment {
                by: ConfirmedBy::Staff,
            },
            metadata.clone(),
        )
        .await
        .unwrap();
    shop.step().await;
    let replies = rita.new_replies().await;
    assert!(has(&replies, "confermata"), "{}", all_text(&replies));

    staff
        .execute_with_metadata(
            &requested.aggregate_id,
            AppointmentCommand::CancelAppointment {
                by: CancelledBy::Staff,
                reason: None,
            },
            metadata,
        )
        .await
        .unwrap();
    shop.step().await;
    let replies = rita.new_replies().await;
    assert_eq!(replies.len(), 1, "the customer hears of the cancellation");
    assert_eq!(
        replies[0].purpose,
        lyo_domain::reply::ReplyPurpose::BookingCancelled,
        "{}",
        all_text(&replies)
    );
    assert_eq!(
        shop.count("Schedule", "SlotReleased").await,
        1,
        "the table is free again"
    );

    // A replay from the first event brings the staff confirmation back after the cancellation:
    // the customer is not told again, and the booking stays cancelled.
    let before = lyo_tests::read_log(shop.platform.log.as_ref(), 0)
        .await
        .len();
    let process = shop
        .platform
        .projector(lyo_application::booking::NAME)
        .unwrap();
    process.reset().await.unwrap();
    shop.step().await;
    let after = lyo_tests::read_log(shop.platform.log.as_ref(), 0)
        .await
        .len();
    assert_eq!(after, before, "a replay adds no event");
}

/// Books, moves to another day, moves again within that day, cancels; then resets
/// the process manager's checkpoint and replays every event: not one event is added.
async fn replaying_the_process_manager_from_the_start_issues_nothing(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("1013", &["en"])).await;
    let mut eve = shop.guest("447700900013", "Eve");
    let replies = eve
        .say("Hi, a table for 2 tomorrow at 7pm, name Stone")
        .await;
    let _ = eve.tap(&choice(&replies, "confirm")).await;
    for request in [
        "Can I move my booking to the day after tomorrow at 8pm?",
        "Can I move my booking to 9pm?",
    ] {
        let replies = eve.say(request).await;
        let replies = if choices_with(&replies, "move").is_empty() {
            eve.say("9pm").await
        } else {
            replies
        };
        let replies = eve.tap(&choice(&replies, "move")).await;
        assert!(!replies.is_empty(), "{request}: the move is answered");
    }
    assert_eq!(shop.count("Appointment", "AppointmentRescheduled").await, 2);
    let replies = eve.say("I want to cancel my booking").await;
    let _ = eve.tap(&choice(&replies, "cancel")).await;
    let held = |events: Vec<lyo_application::event_log::RecordedEvent>| {
        let mut count = std::collections::HashMap::<String, i64>::new();
        for e in events.iter().filter(|e| e.aggregate_type == "Schedule") {
            let key = e
                .payload
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            *count.entry(key).or_default() += 1;
        }
        count
    };
    let before = lyo_tests::read_log(shop.platform.log.as_ref(), 0).await;
    let schedule = held(before.clone());
    assert_eq!(
        schedule.get("SlotReserved"),
        schedule.get("SlotReleased"),
        "every hold released after the moves and the cancellation: {schedule:?}"
    );

    let process = shop
        .platform
        .projector(lyo_application::booking::NAME)
        .unwrap();
    process.reset().await.unwrap();
    shop.step().await;
    let after = lyo_tests::read_log(shop.platform.log.as_ref(), 0).await;
    assert_eq!(after.len(), before.len(), "a replay adds no event");
}
