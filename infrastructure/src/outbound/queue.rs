//! The `outbound_queue` read model: one row per queued reply, the customers' window and sealed
//! ids, delivery statuses by wamid, and each reply's state folded from its `Delivery` events.
//!
//! Replays add nothing: rows are keyed by reply id, customers by subject, statuses by wamid,
//! and a `Delivery` event moves a row only when its sequence is past the row's
//! `delivery_version` (the dispatcher writes the same change through at once, see
//! [`apply_delivery`]). No plaintext personal data is copied: the sealed JSON of the recipient
//! ids is kept as it is in the event, under the customer's key.

use crate::db::{Arg, DbTx};
use async_trait::async_trait;
use cqrs_es::persist::SerializedEvent;
use lyo_application::event_log::RecordedEvent;
use lyo_domain::delivery::{Delivery, DeliveryEvent};
use serde_json::Value;
use std::collections::HashMap;
use tokio::sync::Notify;

use crate::projection::{AfterCommit, ReadModel};

pub const NAME: &str = "outbound_queue";

/// The transactions whose queue rows were written ahead of the projector (ADR 0010), whose
/// events its reader passes over (`SqlEventLog::without_transactions_in`).
pub const WRITTEN_AHEAD: &str = "outbound_written_ahead";

/// Lists the current transaction in [`WRITTEN_AHEAD`] (Postgres).
const MARK_WRITTEN_AHEAD: &str = "INSERT INTO outbound_written_ahead (transaction_id)
VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING";

/// Lists the current transaction in [`WRITTEN_AHEAD`] if every reply of `$1` (`$2` of them,
/// distinct) has its row: the dispatcher's write-through moved each of them (or found it
/// moved), and the projector would change nothing. A reply without a row (the queue was
/// rebuilt meanwhile) leaves the transaction to the projector.
pub(super) const MARK_WRITTEN_THROUGH: &str = "INSERT INTO outbound_written_ahead (transaction_id)
SELECT pg_current_xact_id()
 WHERE (SELECT count(*) FROM outbound_replies WHERE reply_id = ANY($1)) = $2
ON CONFLICT DO NOTHING";

/// Woken when replies may have become claimable (the projector committed new ones, a handed
/// batch left some to the claim), so an idle dispatcher worker in this process looks at once
/// instead of at its next poll. One worker per wake-up: a worker that claims a full batch
/// wakes the next.
pub fn signal() -> &'static Notify {
    static SIGNAL: std::sync::OnceLock<Notify> = std::sync::OnceLock::new();
    SIGNAL.get_or_init(Notify::new)
}

fn wake_one_worker() {
    signal().notify_one();
}

pub struct OutboundQueueModel;

const CONVERSATION: &str = <lyo_domain::conversation::Conversation as cqrs_es::Aggregate>::TYPE;

/// A customer's row takes the latest inbound time and keeps ids it already has.
macro_rules! customer_conflict {
    () => {
        "
ON CONFLICT (subject_id) DO UPDATE SET
    last_inbound_at = CASE
        WHEN outbound_customers.last_inbound_at IS NULL
          OR excluded.last_inbound_at > outbound_customers.last_inbound_at
        THEN excluded.last_inbound_at ELSE outbound_customers.last_inbound_at END,
    wa_id = coalesce(excluded.wa_id, outbound_customers.wa_id),
    user_id = coalesce(excluded.user_id, outbound_customers.user_id)"
    };
}
const UPSERT_CUSTOMER: &str = concat!(
    "INSERT INTO outbound_customers (subject_id, tenant_id, last_inbound_at, wa_id, user_id)
VALUES ($1, $2, $3, $4, $5)",
    customer_conflict!()
);
/// Customers and languages at once (Postgres): a row of a customer who only had a language
/// read has no inbound time or ids, one of a customer whose language was not read, no language.
const UPSERT_CUSTOMERS: &str = concat!(
    "INSERT INTO outbound_customers (subject_id, tenant_id, last_inbound_at, wa_id, user_id, language)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])",
    customer_conflict!(),
    ",
    language = coalesce(excluded.language, outbound_customers.language)"
);
const UPSERT_LANGUAGE: &str = "
INSERT INTO outbound_customers (subject_id, tenant_id, language) VALUES ($1, $2, $3)
ON CONFLICT (subject_id) DO UPDATE SET language = excluded.language";
const INSERT_REPLY: &str = "
INSERT INTO outbound_replies (reply_id, tenant_id, subject_id, event_sequence, language,
                              queued_at_ms, due_at_ms)
VALUES ($1, $2, $3, $4, coalesce($5, (SELECT language FROM outbound_customers WHERE subject_id = $3)),
        $6, $6)
ON CONFLICT (reply_id) DO NOTHING";
/// Monotonic per wamid: a higher rank replaces a lower one; `failed` is never replaced.
macro_rules! status_conflict {
    () => {
        "
ON CONFLICT (wamid) DO UPDATE SET status = excluded.status, rank = excluded.rank,
                                  at = excluded.at, code = excluded.code
 WHERE outbound_statuses.rank < excluded.rank AND outbound_statuses.status <> 'failed'"
    };
}
const UPSERT_STATUS: &str = concat!(
    "INSERT INTO outbound_statuses (wamid, tenant_id, status, rank, at, code)
VALUES ($1, $2, $3, $4, $5, $6)",
    status_conflict!()
);
const UPSERT_STATUSES: &str = concat!(
    "INSERT INTO outbound_statuses (wamid, tenant_id, status, rank, at, code)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])",
    status_conflict!()
);

/// The order of delivery statuses; unknown ones rank lowest and never replace a known one.
pub fn status_rank(status: &str) -> i64 {
    match status {
        "sent" => 1,
        "delivered" => 2,
        "read" => 3,
        "failed" => 4,
        _ => 0,
    }
}

#[async_trait]
impl ReadModel for OutboundQueueModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "outbound_replies",
            "outbound_customers",
            "outbound_statuses",
            // After the rows: a writer's rows and mark commit together, so a transaction whose
            // rows the first deletes could keep its mark only if it committed after that
            // delete, which then missed the rows too.
            WRITTEN_AHEAD,
        ]
    }

    /// A dispatcher worker is woken when the batch queued a reply that was not in the queue
    /// yet (not one the inbox worker had queued and handed over).
    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error> {
        let queued = Batch::of(events)?.write(tx).await?;
        // Every event of a transaction before the batch's last one's is behind the checkpoint
        // once this commits: the reader never reaches their marks again.
        if let (DbTx::Postgres(pg), Some(last)) = (&mut *tx, events.last()) {
            sqlx::query("DELETE FROM outbound_written_ahead WHERE transaction_id < $1::text::xid8")
                .bind(last.at.transaction_id.to_string())
                .execute(&mut **pg)
                .await?;
        }
        Ok(queued.then_some(wake_one_worker as fn()))
    }
}

/// What the queue reads of an event: a stored one (the projector), or one the inbox worker has
/// just inserted in its own transaction ([`write_queued`]).
struct Event<'a> {
    tenant: &'a str,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    sequence: i64,
    event_type: &'a str,
    payload: &'a Value,
    /// When it was recorded (ms); only the SQLite path and `Delivery` events use it (Postgres
    /// reads a reply's queue time from the stored event).
    at_ms: i64,
}

impl<'a> From<&'a RecordedEvent> for Event<'a> {
    fn from(e: &'a RecordedEvent) -> Self {
        Event {
            tenant: &e.tenant_id,
            aggregate_type: &e.aggregate_type,
            aggregate_id: &e.aggregate_id,
            sequence: e.sequence,
            event_type: &e.event_type,
            payload: &e.payload,
            at_ms: e.recorded_at_micros / 1000,
        }
    }
}

/// The conversations of an inbox batch whose events before the batch the projector has not
/// applied yet: their rows are left to it (rows written ahead of it could put a reply before an
/// earlier one it has not queued yet, or take a customer's language from later in the log).
const NOT_PROJECTED: &str = "
SELECT s.id FROM unnest($1::text[], $2::bigint[]) AS s(id, before)
 CROSS JOIN LATERAL (SELECT e.transaction_id::text::bigint AS transaction_id, e.position
                       FROM events e
                      WHERE e.aggregate_type = $3 AND e.aggregate_id = s.id AND e.sequence = s.before
                      LIMIT 1) e
 WHERE NOT EXISTS (SELECT 1 FROM projector_checkpoints c
                    WHERE c.name = $4
                      AND (c.last_transaction_id, c.last_position) >= (e.transaction_id, e.position))";

/// The queue rows of the conversations that queued a reply among `events`, which the caller
/// has just inserted in `pg` (not committed yet): the same rows the projector writes when it
/// reaches them, which then changes nothing. Only conversations whose earlier events the
/// projector has applied; the others, and the conversations without a reply, are left to the
/// projector (a batch without replies costs one pass over its events here). Statuses too: the
/// send does not need them.
pub(super) async fn write_queued<'a>(
    pg: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    events: &'a [SerializedEvent],
) -> Result<Written<'a>, sqlx::Error> {
    // Each answered conversation, with the sequence of its first event in the batch.
    let mut answered: HashMap<&str, usize> = HashMap::new();
    for e in events.iter().filter(|e| e.aggregate_type == CONVERSATION) {
        if e.event_type == "ReplyQueued" {
            answered.entry(&e.aggregate_id).or_insert(usize::MAX);
        }
    }
    if answered.is_empty() {
        return Ok(Written::default());
    }
    for e in events {
        if let Some(first) = answered.get_mut(e.aggregate_id.as_str()) {
            *first = (*first).min(e.sequence);
        }
    }
    let (ids, before): (Vec<&str>, Vec<i64>) = answered
        .iter()
        .filter(|(_, first)| **first > 1)
        .map(|(id, first)| (*id, i64::try_from(*first - 1).unwrap_or(i64::MAX)))
        .unzip();
    if !ids.is_empty() {
        let behind: Vec<String> = sqlx::query_scalar(NOT_PROJECTED)
            .bind(ids)
            .bind(before)
            .bind(CONVERSATION)
            .bind(NAME)
            .fetch_all(&mut **pg)
            .await?;
        for id in &behind {
            answered.remove(id.as_str());
        }
    }
    let written = |e: &&SerializedEvent| {
        answered.contains_key(e.aggregate_id.as_str()) && e.event_type != "MessageStatusChanged"
    };
    let complete = events.iter().all(|e| written(&e));
    let events = events.iter().filter(written).filter_map(|e| {
        let tenant = e.metadata.get("tenant_id").and_then(Value::as_str)?;
        Some(Event {
            tenant,
            aggregate_type: &e.aggregate_type,
            aggregate_id: &e.aggregate_id,
            sequence: i64::try_from(e.sequence).ok()?,
            event_type: &e.event_type,
            payload: &e.payload,
            // Not read on Postgres, which takes a reply's time from its stored event.
            at_ms: 0,
        })
    });
    let batch = Batch::from_events(events)?;
    batch.write_rows_pg(pg).await?;
    if complete {
        sqlx::query(MARK_WRITTEN_AHEAD).execute(&mut **pg).await?;
    }
    Ok(Written {
        replies: batch.replies.iter().map(|r| r.reply_id).collect(),
        complete,
    })
}

/// What [`write_queued`] wrote.
#[derive(Default)]
pub(super) struct Written<'a> {
    /// The ids of the replies queued.
    pub(super) replies: Vec<&'a str>,
    /// Whether that is every row the projector would write for these events (no conversation
    /// left to it, no statuses): it need not be woken for them, and its reader passes over
    /// them (the transaction is listed in [`WRITTEN_AHEAD`]).
    pub(super) complete: bool,
}

/// What a batch of events changes, gathered so that each kind of row is written once per
/// batch (on Postgres in one statement). Replies are inserted first, with the language the
/// customer had when each was queued (the batch's earlier `MessageRead`, else the stored
/// one), so that the `Delivery` events of a replay find their rows.
#[derive(Default)]
struct Batch<'a> {
    /// Per subject: the latest inbound time and the last ids seen.
    customers: HashMap<&'a str, Customer<'a>>,
    /// Per subject: (tenant, the language the assistant last read).
    languages: HashMap<&'a str, (&'a str, &'a str)>,
    replies: Vec<QueuedReply<'a>>,
    /// One per wamid: the batch's statuses folded as the upsert would fold them one by one.
    statuses: Vec<Status<'a>>,
    deliveries: Vec<(Event<'a>, DeliveryEvent)>,
}

#[derive(Default)]
struct Customer<'a> {
    tenant: &'a str,
    sent_at: i64,
    wa_id: Option<String>,
    user_id: Option<String>,
}

struct Status<'a> {
    wamid: &'a str,
    tenant: &'a str,
    status: &'a str,
    rank: i64,
    at: i64,
    code: i64,
}

impl<'a> Status<'a> {
    fn of(event: &Event<'a>) -> Result<Self, sqlx::Error> {
        let body = event.payload.get(event.event_type);
        let report = body.ok_or_else(|| malformed("MessageStatusChanged"))?;
        let field = |name: &str| report.get(name).and_then(Value::as_str).unwrap_or("");
        let status = field("status");
        let code = report
            .get("error_codes")
            .and_then(Value::as_array)
            .and_then(|codes| codes.iter().find_map(Value::as_i64));
        Ok(Status {
            wamid: field("message_id"),
            tenant: event.tenant,
            status,
            rank: status_rank(status),
            at: report.get("at").and_then(Value::as_i64).unwrap_or(0),
            code: code.unwrap_or(0),
        })
    }

    /// `UPSERT_STATUS`'s rule: a higher rank replaces a lower one (`failed` ranks highest).
    fn replaced_by(&self, later: &Status) -> bool {
        self.rank < later.rank && self.status != "failed"
    }
}

struct QueuedReply<'a> {
    reply_id: &'a str,
    tenant: &'a str,
    subject: &'a str,
    sequence: i64,
    language: Option<&'a str>,
    at_ms: i64,
}

impl<'a> Batch<'a> {
    fn of(events: &'a [RecordedEvent]) -> Result<Self, sqlx::Error> {
        Self::from_events(events.iter().map(Event::from))
    }

    fn from_events(events: impl Iterator<Item = Event<'a>>) -> Result<Self, sqlx::Error> {
        let mut batch = Batch::default();
        let mut statuses: HashMap<&str, usize> = HashMap::new();
        for event in events {
            let subject = event.aggregate_id;
            let body = event.payload.get(event.event_type);
            match (event.aggregate_type, event.event_type) {
                (CONVERSATION, "MessageReceived") => {
                    let message = body.ok_or_else(|| malformed("MessageReceived"))?;
                    let customer = batch.customers.entry(subject).or_default();
                    customer.tenant = event.tenant;
                    let sent_at = message.get("sent_at").and_then(Value::as_i64).unwrap_or(0);
                    customer.sent_at = customer.sent_at.max(sent_at);
                    let ids = message.get("customer");
                    if let Some(sealed) = sealed_text(ids.and_then(|c| c.get("wa_id"))) {
                        customer.wa_id = Some(sealed);
                    }
                    if let Some(sealed) = sealed_text(ids.and_then(|c| c.get("user_id"))) {
                        customer.user_id = Some(sealed);
                    }
                }
                (CONVERSATION, "MessageRead") => {
                    let language = body.and_then(|b| b.get("language")).and_then(Value::as_str);
                    if let Some(language) = language {
                        batch.languages.insert(subject, (event.tenant, language));
                    }
                }
                (CONVERSATION, "ReplyQueued") => {
                    let reply_id = body
                        .and_then(|b| b.get("reply_id"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| malformed("ReplyQueued"))?;
                    batch.replies.push(QueuedReply {
                        reply_id,
                        tenant: event.tenant,
                        subject,
                        sequence: event.sequence,
                        language: batch.languages.get(subject).map(|(_, l)| *l),
                        at_ms: event.at_ms,
                    });
                }
                (CONVERSATION, "MessageStatusChanged") => {
                    let status = Status::of(&event)?;
                    match statuses.get(status.wamid) {
                        Some(&i) if batch.statuses[i].replaced_by(&status) => {
                            batch.statuses[i] = status
                        }
                        Some(_) => {}
                        None => {
                            statuses.insert(status.wamid, batch.statuses.len());
                            batch.statuses.push(status);
                        }
                    }
                }
                (t, _) if t == <Delivery as cqrs_es::Aggregate>::TYPE => {
                    let decoded = decode_delivery(event.payload)?;
                    batch.deliveries.push((event, decoded));
                }
                _ => {}
            }
        }
        Ok(batch)
    }

    /// Writes the batch; whether it queued a reply that was not in the queue yet.
    async fn write(self, tx: &mut DbTx) -> Result<bool, sqlx::Error> {
        let queued = match tx {
            DbTx::Postgres(pg) => self.write_rows_pg(pg).await?,
            DbTx::Sqlite(_) => self.write_rows_one_by_one(tx).await?,
        };
        // A reply's last event of the batch, when it is an acceptance, joins one statement;
        // every other event is applied on its own, in order, before it.
        let last: HashMap<&str, i64> = self
            .deliveries
            .iter()
            .map(|(e, _)| (e.aggregate_id, e.sequence))
            .collect();
        let mut accepted = Vec::new();
        for (event, decoded) in &self.deliveries {
            let is_last = last.get(event.aggregate_id) == Some(&event.sequence);
            if is_last && matches!(decoded, DeliveryEvent::ReplyAccepted { .. }) {
                accepted.push((event.aggregate_id, event.sequence, decoded.clone()));
            } else {
                apply_delivery(tx, event.aggregate_id, event.sequence, decoded, event.at_ms)
                    .await?;
            }
        }
        accept_many(tx, &accepted).await?;
        Ok(queued)
    }

    /// Replies, customers (with their languages) and statuses, one statement each; whether a reply was
    /// new.
    async fn write_rows_pg(
        &self,
        pg: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> Result<bool, sqlx::Error> {
        let mut queued = 0;
        if !self.replies.is_empty() {
            let r = &self.replies;
            // The queue time is read from the stored event (the inbox worker writes these rows
            // in the transaction that inserts the events, before it knows their time), in
            // the event log's microseconds, so both writers arrive at the same row.
            queued = sqlx::query(
                "INSERT INTO outbound_replies (reply_id, tenant_id, subject_id, event_sequence,
                                              language, queued_at_ms, due_at_ms)
                 SELECT u.reply_id, u.tenant_id, u.subject_id, u.sequence,
                        coalesce(u.language, (SELECT language FROM outbound_customers c
                                               WHERE c.subject_id = u.subject_id)),
                        e.at, e.at
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
                        AS u(reply_id, tenant_id, subject_id, sequence, language)
                  CROSS JOIN LATERAL (
                        SELECT (extract(epoch FROM recorded_at) * 1000000)::bigint / 1000 AS at
                          FROM events
                         WHERE aggregate_type = $6 AND aggregate_id = u.subject_id
                           AND sequence = u.sequence LIMIT 1) e
                 ON CONFLICT (reply_id) DO NOTHING",
            )
            .bind(r.iter().map(|q| q.reply_id).collect::<Vec<_>>())
            .bind(r.iter().map(|q| q.tenant).collect::<Vec<_>>())
            .bind(r.iter().map(|q| q.subject).collect::<Vec<_>>())
            .bind(r.iter().map(|q| q.sequence).collect::<Vec<_>>())
            .bind(r.iter().map(|q| q.language).collect::<Vec<_>>())
            .bind(CONVERSATION)
            .execute(&mut **pg)
            .await?
            .rows_affected();
        }
        // One row per customer seen or whose language was read, in key order: the inbox
        // worker writes the same rows in its transaction (`write_queued`), and two writers
        // that lock in one order cannot deadlock.
        let mut subjects: Vec<&str> = self.customers.keys().copied().collect();
        subjects.extend(
            self.languages
                .keys()
                .filter(|s| !self.customers.contains_key(*s)),
        );
        if !subjects.is_empty() {
            subjects.sort_unstable();
            let customer = |s: &&str| self.customers.get(*s);
            let language = |s: &&str| self.languages.get(*s);
            sqlx::query(UPSERT_CUSTOMERS)
                .bind(&subjects)
                .bind(
                    subjects
                        .iter()
                        .map(|s| {
                            customer(s).map_or_else(|| language(s).map(|l| l.0), |c| Some(c.tenant))
                        })
                        .collect::<Vec<_>>(),
                )
                .bind(
                    subjects
                        .iter()
                        .map(|s| customer(s).map(|c| c.sent_at))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    subjects
                        .iter()
                        .map(|s| customer(s).and_then(|c| c.wa_id.as_deref()))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    subjects
                        .iter()
                        .map(|s| customer(s).and_then(|c| c.user_id.as_deref()))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    subjects
                        .iter()
                        .map(|s| language(s).map(|l| l.1))
                        .collect::<Vec<_>>(),
                )
                .execute(&mut **pg)
                .await?;
        }
        if !self.statuses.is_empty() {
            let mut s: Vec<&Status> = self.statuses.iter().collect();
            s.sort_unstable_by_key(|status| status.wamid);
            sqlx::query(UPSERT_STATUSES)
                .bind(s.iter().map(|s| s.wamid).collect::<Vec<_>>())
                .bind(s.iter().map(|s| s.tenant).collect::<Vec<_>>())
                .bind(s.iter().map(|s| s.status).collect::<Vec<_>>())
                .bind(s.iter().map(|s| s.rank).collect::<Vec<_>>())
                .bind(s.iter().map(|s| s.at).collect::<Vec<_>>())
                .bind(s.iter().map(|s| s.code).collect::<Vec<_>>())
                .execute(&mut **pg)
                .await?;
        }
        Ok(queued > 0)
    }

    /// The same rows with one statement per row (SQLite: no round trips to save).
    async fn write_rows_one_by_one(&self, tx: &mut DbTx) -> Result<bool, sqlx::Error> {
        let text = |value: Option<&str>| value.map_or(Arg::Null, |v| Arg::Text(v.to_string()));
        let mut queued = 0;
        for reply in &self.replies {
            let args = [
                Arg::Text(reply.reply_id.to_string()),
                Arg::Text(reply.tenant.to_string()),
                Arg::Text(reply.subject.to_string()),
                Arg::I64(reply.sequence),
                text(reply.language),
                Arg::I64(reply.at_ms),
            ];
            queued += tx.execute(INSERT_REPLY, &args).await?;
        }
        for (subject, customer) in &self.customers {
            let args = [
                Arg::Text(subject.to_string()),
                Arg::Text(customer.tenant.to_string()),
                Arg::I64(customer.sent_at),
                text(customer.wa_id.as_deref()),
                text(customer.user_id.as_deref()),
            ];
            tx.execute(UPSERT_CUSTOMER, &args).await?;
        }
        for (subject, (tenant, language)) in &self.languages {
            let args = [
                Arg::Text(subject.to_string()),
                Arg::Text(tenant.to_string()),
                Arg::Text(language.to_string()),
            ];
            tx.execute(UPSERT_LANGUAGE, &args).await?;
        }
        for status in &self.statuses {
            let args = [
                Arg::Text(status.wamid.to_string()),
                Arg::Text(status.tenant.to_string()),
                Arg::Text(status.status.to_string()),
                Arg::I64(status.rank),
                Arg::I64(status.at),
                Arg::I64(status.code),
            ];
            tx.execute(UPSERT_STATUS, &args).await?;
        }
        Ok(queued > 0)
    }
}

/// [`apply_delivery`] of many `ReplyAccepted` events (reply, its stream's sequence); on
/// Postgres in one statement.
pub async fn accept_many(
    tx: &mut DbTx,
    accepted: &[(&str, i64, DeliveryEvent)],
) -> Result<(), sqlx::Error> {
    let pg = match tx {
        DbTx::Postgres(pg) => pg,
        DbTx::Sqlite(_) => {
            for (reply_id, sequence, event) in accepted {
                apply_delivery(tx, reply_id, *sequence, event, 0).await?;
            }
            return Ok(());
        }
    };
    let (mut ids, mut versions, mut attempts, mut wamids, mut templates) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, sequence, event) in accepted {
        if let DeliveryEvent::ReplyAccepted {
            attempt,
            wamid,
            template,
        } = event
        {
            ids.push(*id);
            versions.push(*sequence);
            attempts.push(i64::from(*attempt));
            wamids.push(wamid.as_str());
            templates.push(i64::from(*template));
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    // `= ANY` on the key, values picked by position. The planner's picture of a queue table
    // lags its size, and a plan cached while it was small scans every row: this statement
    // always runs without sequential scans (also when its plan is first cached).
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut **pg)
        .await?;
    sqlx::query(
        "UPDATE outbound_replies r
            SET state = 'accepted',
                attempts = GREATEST(r.attempts, ($3::bigint[])[array_position($1::text[], r.reply_id)]),
                delivery_version = ($2::bigint[])[array_position($1::text[], r.reply_id)],
                wamid = ($4::text[])[array_position($1::text[], r.reply_id)],
                template = CASE WHEN ($5::bigint[])[array_position($1::text[], r.reply_id)] = 1
                                THEN 1 ELSE r.template END
          WHERE r.reply_id = ANY($1)
            AND r.delivery_version < ($2::bigint[])[array_position($1::text[], r.reply_id)]",
    )
    .bind(ids)
    .bind(versions)
    .bind(attempts)
    .bind(wamids)
    .bind(templates)
    .execute(&mut **pg)
    .await
    .map(drop)
}

fn malformed(what: &'static str) -> sqlx::Error {
    sqlx::Error::Decode(format!("outbound queue: malformed {what}").into())
}

/// The sealed JSON of a personal field, as text, or `None` when absent.
fn sealed_text(value: Option<&Value>) -> Option<String> {
    value.filter(|v| !v.is_null()).map(Value::to_string)
}

/// A `Delivery` event as stored (sealed fields and all) decoded without opening anything: the
/// queue needs no personal data, so sealed fields decode as redacted.
pub fn decode_delivery(payload: &Value) -> Result<DeliveryEvent, sqlx::Error> {
    let mut payload = payload.clone();
    redact_sealed(&mut payload);
    serde_json::from_value(payload).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn redact_sealed(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(subject) = map.get("$sealed").and_then(|s| s.get("subject")).cloned() {
                *value = serde_json::json!({ "$pii": { "subject": subject, "redacted": true } });
                return;
            }
            map.values_mut().for_each(redact_sealed);
        }
        Value::Array(items) => items.iter_mut().for_each(redact_sealed),
        _ => {}
    }
}

/// Moves a reply's row by one `Delivery` event (number `sequence` of its stream), unless the
/// row already reflects it. Shared by the projector and the dispatcher's write-through.
pub async fn apply_delivery(
    tx: &mut DbTx,
    reply_id: &str,
    sequence: i64,
    event: &DeliveryEvent,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    const GUARD: &str = " WHERE reply_id = $1 AND delivery_version < $2";
    const ATTEMPTS: &str =
        "attempts = CASE WHEN attempts > $3 THEN attempts ELSE $3 END, delivery_version = $2";
    let id = Arg::Text(reply_id.to_string());
    let (sql, args): (String, Vec<Arg>) = match event {
        DeliveryEvent::ReplyAccepted {
            attempt,
            wamid,
            template,
        } => (
            format!(
                "UPDATE outbound_replies SET state = 'accepted', {ATTEMPTS}, wamid = $4,
                        template = CASE WHEN $5 = 1 THEN 1 ELSE template END{GUARD}"
            ),
            vec![
                Arg::I64((*attempt).into()),
                Arg::Text(wamid.clone()),
                Arg::I64((*template).into()),
            ],
        ),
        DeliveryEvent::RetryScheduled {
            attempt,
            retry_at_ms,
            class,
            code,
            outcome_unknown,
        } => (
            format!(
                "UPDATE outbound_replies SET {ATTEMPTS}, due_at_ms = $4, last_class = $5,
                        last_code = $6, unknown_outcomes = unknown_outcomes + $7{GUARD}"
            ),
            vec![
                Arg::I64((*attempt).into()),
                Arg::I64(*retry_at_ms),
                Arg::Text(class.clone()),
                Arg::I64(code.unwrap_or(0)),
                Arg::I64((*outcome_unknown).into()),
            ],
        ),
        DeliveryEvent::TemplateFallbackChosen { attempt, .. } => (
            format!(
                "UPDATE outbound_replies SET state = 'pending', {ATTEMPTS}, template = 1,
                        due_at_ms = $4{GUARD}"
            ),
            vec![Arg::I64((*attempt).into()), Arg::I64(at_ms)],
        ),
        DeliveryEvent::ReplyFailed { attempt, code, .. } => (
            format!(
                "UPDATE outbound_replies SET state = 'failed', {ATTEMPTS}, last_code = $4{GUARD}"
            ),
            vec![Arg::I64((*attempt).into()), Arg::I64(code.unwrap_or(0))],
        ),
        DeliveryEvent::ReplyDeadLettered { attempts, reason } => (
            format!(
                "UPDATE outbound_replies SET state = 'dead_lettered', {ATTEMPTS},
                        dead_reason = $4{GUARD}"
            ),
            vec![
                Arg::I64((*attempts).into()),
                Arg::Text(reason.label().to_string()),
            ],
        ),
    };
    let mut all = vec![id, Arg::I64(sequence)];
    all.extend(args);
    tx.execute(&sql, &all).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_rank_sent_delivered_read_failed() {
        let ranks: Vec<i64> = ["warning", "sent", "delivered", "read", "failed"]
            .iter()
            .map(|s| status_rank(s))
            .collect();
        assert_eq!(ranks, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_batch_folds_the_statuses_of_one_message_as_the_upsert_would() {
        let status = |sequence, wamid: &str, status: &str| RecordedEvent {
            at: lyo_application::event_log::Position::START,
            event_id: uuid::Uuid::new_v4(),
            recorded_at_micros: 0,
            tenant_id: "t".into(),
            aggregate_type: CONVERSATION.into(),
            aggregate_id: "s".into(),
            sequence,
            event_type: "MessageStatusChanged".into(),
            event_version: "1".into(),
            payload: json!({"MessageStatusChanged": {"message_id": wamid, "status": status,
                "at": sequence, "error_codes": if status == "failed" { json!([131026]) } else { json!([]) }}}),
            metadata: json!({}),
        };
        let events = [
            status(1, "a", "sent"),
            status(2, "b", "failed"),
            status(3, "a", "read"),
            status(4, "b", "read"),
            status(5, "a", "delivered"),
            status(6, "a", "read"),
            status(7, "c", "warning"),
        ];
        let batch = Batch::of(&events).unwrap();
        let folded: Vec<(&str, &str, i64, i64)> = batch
            .statuses
            .iter()
            .map(|s| (s.wamid, s.status, s.at, s.code))
            .collect();
        // A late `delivered` changes nothing, nor does a repeated `read` (the first stays);
        // `failed` is never replaced.
        assert_eq!(
            folded,
            vec![
                ("a", "read", 3, 0),
                ("b", "failed", 2, 131026),
                ("c", "warning", 7, 0)
            ]
        );
    }

    #[test]
    fn a_stored_failure_decodes_without_opening_its_reason() {
        let subject = uuid::Uuid::new_v4().to_string();
        let stored = json!({"ReplyFailed": {"attempt": 2, "code": 131026, "reason":
            {"$sealed": {"subject": subject, "key": "k", "nonce": "n", "data": "d"}}}});
        match decode_delivery(&stored).unwrap() {
            DeliveryEvent::ReplyFailed {
                attempt,
                code,
                reason,
            } => {
                assert_eq!((attempt, code), (2, Some(131_026)));
                assert!(reason.is_redacted());
            }
            other => panic!("{other:?}"),
        }
    }
}
