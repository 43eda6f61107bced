//! Issue 6, reminders end to end: customers book through signed webhooks, the `reminders`
//! projector schedules from the appointment events and the tenant's policy, and the scheduler
//! (run here with a clock the test moves) reminds through the conversation. Both backends;
//! two schedulers on one Postgres.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use jiff::{SignedDuration, Timestamp};
use lyo_domain::conversation::{ConversationEvent, RecordedOutcome};
use lyo_domain::reply::{Reply, ReplyBody, ReplyPurpose};
use lyo_infrastructure::db::Db;
use lyo_infrastructure::reminders::{ReminderScheduler, SchedulerConfig};
use lyo_tests::chat::{choices, text, Guest, Shop, ADMIN};
use lyo_tests::{on_both_backends, Backend, TestDb};
use serde_json::{json, Value};

/// Open every day for lunch and dinner, room for everyone, auto-confirm; reminders as given.
fn trattoria(phone_number_id: &str, reminders: &[u32]) -> Value {
    let periods = json!([
        {"name": "pranzo", "from": "12:00", "to": "15:00"},
        {"name": "cena", "from": "19:00", "to": "23:00"}
    ]);
    json!({
        "name": "Trattoria da Mario",
        "time_zone": "Europe/Rome",
        "languages": ["it", "en"],
        "whatsapp": {"phone_number_ids": [phone_number_id]},
        "booking": {
            "weekly": {
                "monday": periods, "tuesday": periods, "wednesday": periods,
                "thursday": periods, "friday": periods, "saturday": periods,
                "sunday": periods
            },
            "granularity": 30,
            "lead": {"earliest": 60, "latest_days": 60},
            "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 8,
                         "tables": [{"id": "T1", "seats": 8}, {"id": "T2", "seats": 8},
                                    {"id": "T3", "seats": 8}, {"id": "T4", "seats": 8},
                                    {"id": "T5", "seats": 8}, {"id": "T6", "seats": 8}]}
        },
        "assistant": {"auto_confirm": true, "reminder_minutes_before": reminders}
    })
}

fn choice(replies: &[Reply], prefix: &str) -> String {
    replies
        .iter()
        .rev()
        .flat_map(choices)
        .find(|id| id.starts_with(prefix))
        .unwrap_or_else(|| {
            panic!(
                "no choice {prefix}* in {:?}",
                replies.iter().map(text).collect::<Vec<_>>()
            )
        })
}

fn reminders_in(replies: &[Reply]) -> Vec<&Reply> {
    replies
        .iter()
        .filter(|r| r.purpose == ReplyPurpose::Reminder)
        .collect()
}

/// Books "the day after tomorrow at {time}" in Italian; returns the appointment id. Not
/// tomorrow: a reminder a day before a booking tomorrow at 13:00 is already late from 13:00
/// today, and the tests would depend on the hour they run at.
async fn book(guest: &mut Guest<'_>, time: &str, name: &str) -> String {
    let replies = guest
        .say(&format!(
            "Ciao, un tavolo per 2 dopodomani alle {time}, a nome {name}"
        ))
        .await;
    let replies = guest.tap(&choice(&replies, "confirm")).await;
    assert!(
        replies.iter().any(|r| text(r).contains("confermata")),
        "booked"
    );
    guest.subject.clone().unwrap()
}

/// Runs the `reminders` projector until it has seen everything.
async fn schedule(shop: &Shop) {
    for name in ["tenant_settings", "reminders"] {
        let projector = shop.platform.projector(name).unwrap();
        shop.platform.runner(projector).catch_up().await.unwrap();
    }
}

/// The scheduler at `now`; then whatever the replies cause (a tap's cancellation, ...).
async fn remind_at(shop: &Shop, now: Timestamp) -> usize {
    schedule(shop).await;
    shop.platform
        .reminder_scheduler()
        .send_due(now)
        .await
        .unwrap()
}

/// The last appointment of `subject` and its start, as the conversation was told (read from
/// its stream: on Postgres the global log may still hide events of other tests' open
/// transactions).
async fn booking_of(shop: &Shop, subject: &str) -> (String, Timestamp) {
    shop.conversation(subject)
        .await
        .into_iter()
        .filter_map(|e| match e {
            ConversationEvent::BookingOutcomeRecorded {
                appointment_id,
                outcome: RecordedOutcome::Booked { slot, .. } | RecordedOutcome::Moved { slot },
                ..
            } => Some((appointment_id.to_string(), slot.starts_at)),
            _ => None,
        })
        .next_back()
        .unwrap()
}

async fn starts_at(shop: &Shop, subject: &str) -> Timestamp {
    booking_of(shop, subject).await.1
}

fn before(start: Timestamp, minutes: i64) -> Timestamp {
    start
        .checked_sub(SignedDuration::from_mins(minutes))
        .unwrap()
}

/// `(offset, state, reason)` of every reminder row, by offset, longest first.
async fn rows(shop: &Shop) -> Vec<(i64, String, Option<String>)> {
    const SQL: &str = "SELECT offset_minutes, state, reason FROM reminders
                        ORDER BY appointment_id, offset_minutes DESC";
    match &shop.platform.db {
        Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await.unwrap(),
    }
}

/// How many `name` events the conversations of `subjects` hold.
async fn count_events(shop: &Shop, subjects: &[&str], name: &str) -> usize {
    let mut n = 0;
    for subject in subjects {
        n += shop
            .conversation(subject)
            .await
            .iter()
            .filter(|e| e.name() == name)
            .count();
    }
    n
}

on_both_backends!(
    a_due_reminder_is_sent_once_and_confirm_is_thanked,
    a_cancelled_booking_gets_no_reminder,
    a_moved_booking_is_reminded_of_its_new_time,
    an_opted_out_customer_gets_no_reminder,
    a_crash_before_the_row_is_marked_sends_nothing_twice,
    a_rebuilt_schedule_resends_nothing,
    a_policy_change_reschedules_future_reminders,
    a_request_awaiting_staff_is_reminded_only_once_confirmed,
);

async fn a_due_reminder_is_sent_once_and_confirm_is_thanked(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2001", &[1440, 120])).await;
    let mut giulia = shop.guest("393330000101", "Giulia");
    let subject = book(&mut giulia, "20", "Rossi").await;
    let _ = giulia.new_replies().await;
    schedule(&shop).await;
    assert_eq!(
        rows(&shop).await,
        [
            (1440, "pending".into(), None),
            (120, "pending".into(), None)
        ]
    );
    let start = starts_at(&shop, &subject).await;

    // Nothing is due yet.
    assert_eq!(remind_at(&shop, before(start, 1500)).await, 0);
    assert!(giulia.new_replies().await.is_empty());

    // A day before: one reminder, with the booking and two buttons.
    remind_at(&shop, before(start, 1380)).await;
    let replies = giulia.new_replies().await;
    let sent = reminders_in(&replies);
    assert_eq!(sent.len(), 1, "one reminder");
    let ReplyBody::Buttons { body, buttons } = &sent[0].body else {
        panic!("buttons: {:?}", sent[0].body);
    };
    assert!(body.contains("20:00") && body.contains("Rossi"), "{body}");
    let ids: Vec<_> = buttons.iter().map(|b| b.id.clone()).collect();
    assert!(ids[0].starts_with("attend:") && ids[1].starts_with("cancel:"));
    assert_eq!(rows(&shop).await[0].1, "sent");

    // The scheduler again at the same time: nothing more.
    remind_at(&shop, before(start, 1380)).await;
    assert!(giulia.new_replies().await.is_empty());

    // Confirm: recorded and thanked.
    let replies = giulia.tap(&ids[0]).await;
    assert!(
        replies
            .iter()
            .any(|r| text(r).contains("Grazie per la conferma")),
        "thanked"
    );
    assert_eq!(
        count_events(&shop, &[&subject], "AttendanceConfirmed").await,
        1
    );

    // Two hours before: the second reminder.
    remind_at(&shop, before(start, 100)).await;
    assert_eq!(reminders_in(&giulia.new_replies().await).len(), 1);
    assert_eq!(count_events(&shop, &[&subject], "ReminderSent").await, 2);
}

async fn a_cancelled_booking_gets_no_reminder(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2002", &[1440, 120])).await;
    let mut marco = shop.guest("393330000102", "Marco");
    let subject = book(&mut marco, "13", "Bianchi").await;
    let start = starts_at(&shop, &subject).await;
    let replies = marco.say("Vorrei annullare la prenotazione").await;
    let _ = marco.tap(&choice(&replies, "cancel")).await;
    schedule(&shop).await;
    assert_eq!(
        rows(&shop).await,
        [
            (1440, "dropped".into(), Some("cancelled".into())),
            (120, "dropped".into(), Some("cancelled".into()))
        ]
    );
    remind_at(&shop, before(start, 60)).await;
    assert!(reminders_in(&marco.replies().await).is_empty());
    assert_eq!(count_events(&shop, &[&subject], "ReminderSent").await, 0);
}

async fn a_moved_booking_is_reminded_of_its_new_time(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2003", &[120])).await;
    let mut amy = shop.guest("447700900103", "Amy");
    let replies = amy
        .say("Hello, book a table for 2 tomorrow at 7pm, name Brown")
        .await;
    let _ = amy.tap(&choice(&replies, "confirm")).await;
    let subject = amy.subject.clone().unwrap();
    let old_start = starts_at(&shop, &subject).await;
    schedule(&shop).await;
    let replies = amy.say("Can I move my booking to 9:30pm?").await;
    let replies = if replies
        .iter()
        .flat_map(choices)
        .any(|c| c.starts_with("move"))
    {
        replies
    } else {
        amy.say("tomorrow at 9:30pm").await
    };
    let _ = amy.tap(&choice(&replies, "move")).await;
    let _ = amy.new_replies().await;
    let new_start = starts_at(&shop, &subject).await;
    assert_eq!(new_start, before(old_start, -150));

    // When the old reminder would have been due, nothing is.
    remind_at(&shop, before(old_start, 100)).await;
    assert!(amy.new_replies().await.is_empty(), "the reminder moved");
    remind_at(&shop, before(new_start, 100)).await;
    let replies = amy.new_replies().await;
    let sent = reminders_in(&replies);
    assert_eq!(sent.len(), 1);
    assert!(text(sent[0]).contains("21:30"), "{}", text(sent[0]));
}

async fn an_opted_out_customer_gets_no_reminder(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2004", &[120])).await;
    let mut sara = shop.guest("393330000104", "Sara");
    let subject = book(&mut sara, "20", "Verdi").await;
    let start = starts_at(&shop, &subject).await;
    let _ = sara.say("STOP").await;
    let _ = sara.new_replies().await;
    remind_at(&shop, before(start, 100)).await;
    assert!(sara.new_replies().await.is_empty());
    assert_eq!(count_events(&shop, &[&subject], "ReminderSkipped").await, 1);
    assert_eq!(count_events(&shop, &[&subject], "ReminderSent").await, 0);
}

async fn a_crash_before_the_row_is_marked_sends_nothing_twice(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2005", &[120])).await;
    let mut rita = shop.guest("393330000105", "Rita");
    let subject = book(&mut rita, "20", "Galli").await;
    let start = starts_at(&shop, &subject).await;
    remind_at(&shop, before(start, 100)).await;
    assert_eq!(reminders_in(&rita.replies().await).len(), 1);
    // The state a crash after the command and before the mark's commit leaves behind.
    shop.platform
        .db
        .execute(
            "UPDATE reminders SET state = 'pending', sent_at_ms = NULL, claimed_until_ms = NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        remind_at(&shop, before(start, 99)).await,
        1,
        "claimed again"
    );
    assert_eq!(
        reminders_in(&rita.replies().await).len(),
        1,
        "not sent twice"
    );
    assert_eq!(rows(&shop).await[0].1, "sent");
    assert_eq!(count_events(&shop, &[&subject], "ReminderSent").await, 1);
}

async fn a_rebuilt_schedule_resends_nothing(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2006", &[1440, 120])).await;
    let mut gino = shop.guest("393330000106", "Gino");
    let subject = book(&mut gino, "20", "Neri").await;
    let start = starts_at(&shop, &subject).await;
    remind_at(&shop, before(start, 1380)).await;
    assert_eq!(reminders_in(&gino.replies().await).len(), 1);

    // `lyo projections rebuild reminders`: every row is planned again, the sent one pending.
    let projector = shop.platform.projector("reminders").unwrap();
    projector.reset().await.unwrap();
    schedule(&shop).await;
    assert_eq!(rows(&shop).await[0].1, "pending");
    remind_at(&shop, before(start, 1380)).await;
    assert_eq!(reminders_in(&gino.replies().await).len(), 1, "not resent");
    assert_eq!(rows(&shop).await[0].1, "sent");
    assert_eq!(count_events(&shop, &[&subject], "ReminderSent").await, 1);
}

async fn a_policy_change_reschedules_future_reminders(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let shop = Shop::open(&db, trattoria("2007", &[1440, 120])).await;
    let mut lia = shop.guest("393330000107", "Lia");
    let subject = book(&mut lia, "20", "Conti").await;
    let start = starts_at(&shop, &subject).await;
    schedule(&shop).await;
    let (status, _, answer) = lyo_tests::call_api(
        &shop.platform,
        "PATCH",
        &format!("/api/v1/tenants/{}", shop.tenant),
        Some(ADMIN),
        Some(json!({"assistant": {"reminder_minutes_before": [1440, 60]}}).to_string()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    schedule(&shop).await;
    assert_eq!(
        rows(&shop).await,
        [
            (1440, "pending".into(), None),
            (120, "dropped".into(), Some("policy".into())),
            (60, "pending".into(), None)
        ]
    );
    remind_at(&shop, before(start, 100)).await;
    assert_eq!(
        reminders_in(&lia.new_replies().await).len(),
        1,
        "the day-before one"
    );
    remind_at(&shop, before(start, 50)).await;
    assert_eq!(reminders_in(&lia.new_replies().await).len(), 1);
}

async fn a_request_awaiting_staff_is_reminded_only_once_confirmed(backend: Backend) {
    use cqrs_es::persist::PersistedEventStore;
    use cqrs_es::CqrsFramework;
    use lyo_domain::appointment::{Appointment, AppointmentCommand, ConfirmedBy};

    let db = TestDb::migrated(backend).await;
    let mut body = trattoria("2008", &[120]);
    body["assistant"]["auto_confirm"] = json!(false);
    let shop = Shop::open(&db, body).await;
    let mut ugo = shop.guest("393330000108", "Ugo");
    let replies = ugo.say("Ciao, per 2 domani alle 20, a nome Riva").await;
    let _ = ugo.tap(&choice(&replies, "confirm")).await;
    let subject = ugo.subject.clone().unwrap();
    let start = starts_at(&shop, &subject).await;
    schedule(&shop).await;
    assert!(rows(&shop).await.is_empty(), "nothing until staff confirm");

    let (appointment_id, _) = booking_of(&shop, &subject).await;
    let staff = CqrsFramework::<Appointment, _>::new(
        PersistedEventStore::new_event_store(shop.platform.repository.clone()),
        vec![],
        (),
    );
    staff
        .execute_with_metadata(
            &appointment_id,
            AppointmentCommand::ConfirmAppointment {
                by: ConfirmedBy::Staff,
            },
            lyo_tests::system_metadata(shop.tenant.parse().unwrap()).to_map(),
        )
        .await
        .unwrap();
    shop.step().await;
    let _ = ugo.new_replies().await;
    remind_at(&shop, before(start, 100)).await;
    assert_eq!(reminders_in(&ugo.new_replies().await).len(), 1);
}

/// Two `lyo serve` processes' schedulers on one Postgres, at the same moment: every customer
/// is reminded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_schedulers_on_one_postgres_send_each_reminder_once() {
    let db = TestDb::migrated(Backend::Postgres).await;
    let shop = Shop::open(&db, trattoria("2009", &[120])).await;
    let mut guests = Vec::new();
    let mut start = None;
    for i in 0..6 {
        let mut guest = shop.guest(&format!("3933300002{i:02}"), "Ospite");
        let subject = book(&mut guest, "20", &format!("Ospite{i}")).await;
        start = Some(starts_at(&shop, &subject).await);
        guests.push(guest);
    }
    schedule(&shop).await;
    let now = before(start.unwrap(), 100);
    let other = lyo_tests::platform(&db, &[]).await;
    // One row per claim, so the two interleave over the six.
    let one_at_a_time = |platform: &lyo_api::platform::Platform| {
        ReminderScheduler::new(
            platform.db.clone(),
            platform.repository.clone(),
            platform.tenant_configs.clone(),
            SchedulerConfig {
                interval: std::time::Duration::from_secs(1),
                batch: 1,
                claim_for: std::time::Duration::from_secs(60),
            },
        )
    };
    let (first, second) = (one_at_a_time(&shop.platform), one_at_a_time(&other));
    for _ in 0..3 {
        let (a, b) = tokio::join!(first.send_due(now), second.send_due(now));
        a.unwrap();
        b.unwrap();
    }
    for guest in &guests {
        assert_eq!(reminders_in(&guest.replies().await).len(), 1);
    }
    let subjects: Vec<&str> = guests.iter().filter_map(|g| g.subject.as_deref()).collect();
    assert_eq!(count_events(&shop, &subjects, "ReminderSent").await, 6);
    assert!(rows(&shop)
        .await
        .iter()
        .all(|(_, state, _)| state == "sent"));
}

/// Two real `lyo serve` processes on one Postgres, each running its scheduler on the real
/// clock: a reminder made due a few seconds ahead (by a policy change, which re-plans) reaches
/// every customer once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_lyo_serve_processes_send_each_reminder_once() {
    use lyo_tests::process::Server;
    use std::time::Duration;

    let db = TestDb::migrated(Backend::Postgres).await;
    let shop = Shop::open(&db, trattoria("2010", &[1440])).await;
    let mut guests = Vec::new();
    let mut start = None;
    for i in 0..6 {
        let mut guest = shop.guest(&format!("3933300003{i:02}"), "Ospite");
        let subject = book(&mut guest, "20", &format!("Ospite{i}")).await;
        start = Some(starts_at(&shop, &subject).await);
        guests.push(guest);
    }
    let start = start.unwrap();

    let dir = std::env::temp_dir().join(format!("lyo-remind-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = lyo_tests::master_key();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        ("WHATSAPP_APP_SECRET", lyo_tests::chat::APP_SECRET),
        ("LYO_REMINDER_INTERVAL_MS", "100"),
        ("LYO_REMINDER_BATCH", "1"),
    ];
    let first = Server::start(&dir, &env).await;
    let second = Server::start(&dir, &env).await;

    // Due 5 to 65 seconds from now: whole minutes before the start.
    let ahead = start.duration_since(Timestamp::now()).as_secs() - 5;
    let minutes = ahead / 60;
    let (status, _, answer) = lyo_tests::call_api(
        &shop.platform,
        "PATCH",
        &format!("/api/v1/tenants/{}", shop.tenant),
        Some(ADMIN),
        Some(json!({"assistant": {"reminder_minutes_before": [minutes]}}).to_string()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    let subjects: Vec<String> = guests.iter().filter_map(|g| g.subject.clone()).collect();
    let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
    lyo_tests::eventually(Duration::from_secs(120), "every reminder sent", || async {
        count_events(&shop, &subjects, "ReminderSent").await >= guests.len()
    })
    .await;
    // Both schedulers keep running a little longer: still nothing twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(first);
    drop(second);
    assert_eq!(count_events(&shop, &subjects, "ReminderSent").await, 6);
    for guest in &guests {
        assert_eq!(reminders_in(&guest.replies().await).len(), 1);
    }
    std::fs::remove_dir_all(dir).unwrap();
}
