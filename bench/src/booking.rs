//! `lyo-booking-bench`: the booking latency benchmark of issue 5. `bench/booking` starts the
//! release `lyo serve` on Postgres with a restaurant tenant and calls this.
//!
//! At a steady rate, new customers each send one complete booking message ("Ciao, vorrei
//! prenotare per 2 il 5/12 alle 20, a nome Rossi"), then, `--confirm-after` later, "sì". The
//! latency of a message is from the moment its webhook was sent to the `recorded_at` of the
//! first `ReplyQueued` event correlated with it (the worker correlates a conversation's events
//! with the inbound message id; the booking process manager keeps that correlation): for the
//! booking message that is the summary, for the "sì" it is the confirmation after the schedule
//! and the appointment were written. Both clocks are this machine's. Prints a Markdown section.

use anyhow::{bail, Context};
use clap::Parser;
use lyo_infrastructure::whatsapp::SimulatedCustomer;
use webhook::{percentile, post_signed, require_loopback};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    url: String,
    /// The server's Postgres database, to read when replies were stored.
    #[arg(long)]
    database_url: String,
    /// The tenant's phone number id.
    #[arg(long)]
    phone_number_id: String,
    /// New customers (booking messages) per second.
    #[arg(long, default_value_t = 20)]
    rate: u32,
    #[arg(long, default_value_t = 20)]
    seconds: u32,
    /// When each customer says "sì" after its booking message.
    #[arg(long, default_value_t = 2000)]
    confirm_after_ms: u64,
}

/// Sent messages: id -> (kind, sent at in Unix microseconds).
type Sent = Arc<Mutex<HashMap<String, (Kind, i64)>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Booking,
    Confirm,
}

fn micros_now() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    require_loopback(&args.url)?;
    let secret = std::env::var("WHATSAPP_APP_SECRET").context("WHATSAPP_APP_SECRET")?;
    let client = reqwest::Client::new();
    let sent: Sent = Arc::default();
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let today = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/Rome")?)
        .date();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        tokio::time::sleep_until((start + interval * i).into()).await;
        // Spread over four weeks, as a restaurant's bookings are.
        let date = today.checked_add(jiff::Span::new().days(1 + i64::from(i % 28)))?;
        let text = format!(
            "Ciao, vorrei prenotare per 2 il {}/{} alle 20, a nome Rossi",
            date.day(),
            date.month()
        );
        let mut customer =
            SimulatedCustomer::new(&args.phone_number_id, &format!("39399{i:07}"), "Cliente");
        let (client, url, secret, sent) = (
            client.clone(),
            args.url.clone(),
            secret.clone(),
            sent.clone(),
        );
        let confirm_after = Duration::from_millis(args.confirm_after_ms);
        tasks.push(tokio::spawn(async move {
            let post = |kind: Kind, delivery: lyo_infrastructure::whatsapp::SimulatedDelivery| {
                let (client, url, secret, sent) =
                    (client.clone(), url.clone(), secret.clone(), sent.clone());
                async move {
                    let at = micros_now();
                    let message_id = delivery.message_id.clone();
                    post_signed(&client, &url, &secret, delivery).await?;
                    if let Ok(mut sent) = sent.lock() {
                        sent.insert(message_id, (kind, at));
                    }
                    anyhow::Ok(())
                }
            };
            let now = jiff::Timestamp::now().as_second();
            post(Kind::Booking, customer.text(&text, now)).await?;
            tokio::time::sleep(confirm_after).await;
            let now = jiff::Timestamp::now().as_second();
            post(Kind::Confirm, customer.text("sì", now)).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&args.database_url)
        .await?;
    const REPLIES: &str = "SELECT metadata->>'correlation_id',
               (extract(epoch FROM min(recorded_at)) * 1000000)::bigint
          FROM events WHERE event_type = 'ReplyQueued' GROUP BY 1";
    let deadline = Instant::now() + Duration::from_secs(120);
    let replied: HashMap<String, i64> = loop {
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(REPLIES).fetch_all(&pool).await?;
        let replied: HashMap<String, i64> = rows
            .into_iter()
            .filter_map(|(id, at)| id.map(|id| (id, at)))
            .collect();
        if sent.keys().all(|id| replied.contains_key(id)) || Instant::now() > deadline {
            break replied;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let latencies = |kind: Kind| {
        let mut ms: Vec<f64> = sent
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .filter_map(|(id, (_, at))| replied.get(id).map(|r| (r - at) as f64 / 1000.0))
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let unanswered = sent.keys().filter(|id| !replied.contains_key(*id)).count();
    let booked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'AppointmentRequested'")
            .fetch_one(&pool)
            .await?;
    let mut out = String::new();
    out.push_str(&format!(
        "{} customers at {}/s for {} s; each sends a complete booking message, then \"sì\" {} ms later.\n\n",
        total, args.rate, args.seconds, args.confirm_after_ms
    ));
    out.push_str("| message | answered | median | p99 | max |\n|---|---|---|---|---|\n");
    for (label, kind) in [
        ("booking message -> summary stored", Kind::Booking),
        (
            "\"sì\" -> confirmation stored (schedule + appointment)",
            Kind::Confirm,
        ),
    ] {
        let v = latencies(kind);
        out.push_str(&format!(
            "| {label} | {} | {:.1} ms | {:.1} ms | {:.1} ms |\n",
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 99.0),
            v.last().copied().unwrap_or(f64::NAN)
        ));
    }
    out.push_str(&format!("\n{booked} appointments were booked.\n"));
    if unanswered > 0 {
        out.push_str(&format!(
            "\n**{unanswered} messages got no reply within the wait.**\n"
        ));
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    if unanswered > 0 {
        for (id, (kind, _)) in sent.iter().filter(|(id, _)| !replied.contains_key(*id)) {
            eprintln!("unanswered: {kind:?} message {id}");
        }
        bail!("{unanswered} messages unanswered");
    }
    if booked != i64::from(total) {
        bail!("{booked} appointments for {total} confirmed requests");
    }
    Ok(())
}
