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
use lyo_application::event_log::RecordedEvent;
use lyo_domain::delivery::{Delivery, DeliveryEvent};
use serde_json::Value;
use tokio::sync::Notify;

use crate::projection::ReadModel;

pub const NAME: &str = "outbound_queue";

/// Woken shortly after the projector queued or reopened replies, so idle dispatcher workers in
/// this process look at once instead of at their next poll.
pub fn signal() -> &'static Notify {
    static SIGNAL: std::sync::OnceLock<Notify> = std::sync::OnceLock::new();
    SIGNAL.get_or_init(Notify::new)
}

/// The batch is committed just after `write` returns: wake the workers a moment later.
fn wake_soon() {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            signal().notify_waiters();
        });
    }
}

pub struct OutboundQueueModel;

const CONVERSATION: &str = "Conversation";

const UPSERT_CUSTOMER: &str = "
INSERT INTO outbound_customers (subject_id, tenant_id, last_inbound_at, wa_id, user_id)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (subject_id) DO UPDATE SET
    last_inbound_at = CASE
        WHEN outbound_customers.last_inbound_at IS NULL
          OR excluded.last_inbound_at > outbound_customers.last_inbound_at
        THEN excluded.last_inbound_at ELSE outbound_customers.last_inbound_at END,
    wa_id = coalesce(excluded.wa_id, outbound_customers.wa_id),
    user_id = coalesce(excluded.user_id, outbound_customers.user_id)";
const UPSERT_LANGUAGE: &str = "
INSERT INTO outbound_customers (subject_id, tenant_id, language) VALUES ($1, $2, $3)
ON CONFLICT (subject_id) DO UPDATE SET language = excluded.language";
const INSERT_REPLY: &str = "
INSERT INTO outbound_replies (reply_id, tenant_id, subject_id, event_sequence, language,
                              queued_at_ms, due_at_ms)
VALUES ($1, $2, $3, $4, (SELECT language FROM outbound_customers WHERE subject_id = $3), $5, $5)
ON CONFLICT (reply_id) DO NOTHING";
// Monotonic per wamid: a higher rank replaces a lower one; `failed` is never replaced.
const UPSERT_STATUS: &str = "
INSERT INTO outbound_statuses (wamid, tenant_id, status, rank, at, code)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (wamid) DO UPDATE SET status = excluded.status, rank = excluded.rank,
                                  at = excluded.at, code = excluded.code
 WHERE outbound_statuses.rank < excluded.rank AND outbound_statuses.status <> 'failed'";

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
        ]
    }

    async fn write(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), sqlx::Error> {
        if events.iter().any(|e| e.event_type == "ReplyQueued") {
            wake_soon();
        }
        for event in events {
            match event.aggregate_type.as_str() {
                CONVERSATION => conversation_event(tx, event).await?,
                t if t == <Delivery as cqrs_es::Aggregate>::TYPE => {
                    let decoded = decode_delivery(&event.payload)?;
                    let at_ms = event.recorded_at_micros / 1000;
                    apply_delivery(tx, &event.aggregate_id, event.sequence, &decoded, at_ms)
                        .await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn malformed(what: &'static str) -> sqlx::Error {
    sqlx::Error::Decode(format!("outbound queue: malformed {what}").into())
}

/// The sealed JSON of a personal field, as text, or `None` when absent.
fn sealed_text(value: Option<&Value>) -> Option<String> {
    value.filter(|v| !v.is_null()).map(Value::to_string)
}

async fn conversation_event(tx: &mut DbTx, event: &RecordedEvent) -> Result<(), sqlx::Error> {
    let subject = Arg::Text(event.aggregate_id.clone());
    let tenant = Arg::Text(event.tenant_id.clone());
    let body = event.payload.get(&event.event_type);
    match event.event_type.as_str() {
        "MessageReceived" => {
            let message = body.ok_or_else(|| malformed("MessageReceived"))?;
            let sent_at = message.get("sent_at").and_then(Value::as_i64).unwrap_or(0);
            let customer = message.get("customer");
            let text = |name: &str| match sealed_text(customer.and_then(|c| c.get(name))) {
                Some(sealed) => Arg::Text(sealed),
                None => Arg::Null,
            };
            tx.execute(
                UPSERT_CUSTOMER,
                &[
                    subject,
                    tenant,
                    Arg::I64(sent_at),
                    text("wa_id"),
                    text("user_id"),
                ],
            )
            .await?;
        }
        "MessageRead" => {
            if let Some(language) = body.and_then(|b| b.get("language")).and_then(Value::as_str) {
                tx.execute(
                    UPSERT_LANGUAGE,
                    &[subject, tenant, Arg::Text(language.to_string())],
                )
                .await?;
            }
        }
        "ReplyQueued" => {
            let reply_id = body
                .and_then(|b| b.get("reply_id"))
                .and_then(Value::as_str)
                .ok_or_else(|| malformed("ReplyQueued"))?;
            tx.execute(
                INSERT_REPLY,
                &[
                    Arg::Text(reply_id.to_string()),
                    tenant,
                    subject,
                    Arg::I64(event.sequence),
                    Arg::I64(event.recorded_at_micros / 1000),
                ],
            )
            .await?;
        }
        "MessageStatusChanged" => {
            let report = body.ok_or_else(|| malformed("MessageStatusChanged"))?;
            let field = |name: &str| report.get(name).and_then(Value::as_str).unwrap_or("");
            let status = field("status");
            let code = report
                .get("error_codes")
                .and_then(Value::as_array)
                .and_then(|codes| codes.iter().find_map(Value::as_i64));
            tx.execute(
                UPSERT_STATUS,
                &[
                    Arg::Text(field("message_id").to_string()),
                    tenant,
                    Arg::Text(status.to_string()),
                    Arg::I64(status_rank(status)),
                    Arg::I64(report.get("at").and_then(Value::as_i64).unwrap_or(0)),
                    code.map_or(Arg::I64(0), Arg::I64),
                ],
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
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
