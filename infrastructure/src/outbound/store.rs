//! The dispatcher's SQL: claiming due replies, loading the sealed reply and recipient, tenant
//! holds, and the read views (a reply's state, a tenant's health).

use crate::db::{fetch, Arg, Db, DbTx};
use serde::Serialize;
use std::collections::HashMap;

/// A claimed reply.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub reply_id: String,
    pub tenant_id: String,
    pub subject_id: String,
    pub event_sequence: i64,
    pub language: Option<String>,
    pub queued_at_ms: i64,
}

// Due, unclaimed, not behind an earlier pending reply to the same customer (one customer's
// replies go out in order, one at a time), and not of a tenant on hold. SQLite's claim; Postgres
// runs the same statements as the function `lyo_claim_outbound` of its migrations: change both.
const CANDIDATES: &str = "
SELECT r.reply_id, $1, $2 FROM outbound_replies r
 WHERE r.state = 'pending' AND r.due_at_ms <= $3
   AND NOT EXISTS (SELECT 1 FROM outbound_claims c
                    WHERE c.reply_id = r.reply_id AND c.until_ms > $3)
   -- The customer's first pending reply, found through the subject index: as a correlated
   -- scalar it cannot be planned as a join that scans every pending reply for each candidate.
   AND r.event_sequence = (SELECT e.event_sequence FROM outbound_replies e
                            WHERE e.subject_id = r.subject_id AND e.state = 'pending'
                            ORDER BY e.event_sequence LIMIT 1)
   AND NOT EXISTS (SELECT 1 FROM outbound_tenant_holds h
                    WHERE h.tenant_id = r.tenant_id AND h.until_ms > $3)
 ORDER BY r.due_at_ms LIMIT $4";
// Only an expired claim is taken over. On Postgres this check is what makes a claim
// exclusive: a statement that started before another's claim committed still finds the row
// unlocked and the claim invisible to its snapshot, but the conflict is resolved against the
// latest committed claim.
const UPSERT_CLAIMS: &str = "
 ON CONFLICT (reply_id) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
  WHERE outbound_claims.until_ms <= $3
 RETURNING reply_id";
const CLAIMED: &str =
    "SELECT reply_id, tenant_id, subject_id, event_sequence, language, queued_at_ms
                         FROM outbound_replies WHERE reply_id";

/// Claims up to `limit` due replies until `until_ms` for `owner`, in one statement, and
/// returns them. Postgres: `SKIP LOCKED`, so concurrent dispatchers never claim the same row;
/// SQLite has one writer.
pub async fn claim(
    db: &Db,
    owner: &str,
    now_ms: i64,
    until_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    match db {
        // The same claim as below, with `SKIP LOCKED`, in one round trip: a function of the
        // migrations (`lyo_claim_outbound`), which also walks the due index without sorting.
        Db::Postgres(pool) => {
            sqlx::query_as("SELECT * FROM lyo_claim_outbound($1, $2, $3, $4)")
                .bind(until_ms)
                .bind(owner)
                .bind(now_ms)
                .bind(limit)
                .fetch_all(pool)
                .await
        }
        Db::Sqlite(pool) => {
            // `WHERE true` lets SQLite parse an upsert after a SELECT.
            let sql = format!(
                "INSERT INTO outbound_claims (reply_id, until_ms, owner)
                 SELECT * FROM ({CANDIDATES}) WHERE true{UPSERT_CLAIMS}"
            );
            let ids: Vec<String> = sqlx::query_scalar(&sql)
                .bind(until_ms)
                .bind(owner)
                .bind(now_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                let row: Option<Claimed> = sqlx::query_as(&format!("{CLAIMED} = $1"))
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
                claimed.extend(row);
            }
            Ok(claimed)
        }
    }
}

/// Gives a claimed reply back, due at `due_at_ms` at the earliest.
pub async fn release(db: &Db, reply_id: &str, due_at_ms: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE outbound_replies
            SET due_at_ms = CASE WHEN due_at_ms > $2 THEN due_at_ms ELSE $2 END
          WHERE reply_id = $1",
        &[Arg::Text(reply_id.into()), Arg::I64(due_at_ms)],
    )
    .await?;
    end_claims(&mut tx, &[reply_id]).await?;
    tx.commit().await
}

/// Ends the claims of `reply_ids` (in the caller's transaction).
pub async fn end_claims(tx: &mut DbTx, reply_ids: &[&str]) -> Result<(), sqlx::Error> {
    match tx {
        DbTx::Postgres(pg) => {
            sqlx::query("DELETE FROM outbound_claims WHERE reply_id = ANY($1)")
                .bind(reply_ids)
                .execute(&mut **pg)
                .await?;
        }
        DbTx::Sqlite(_) => {
            for id in reply_ids {
                tx.execute(
                    "DELETE FROM outbound_claims WHERE reply_id = $1",
                    &[Arg::Text(id.to_string())],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// The stored (sealed) payload of one event of a conversation.
pub async fn conversation_payload(
    db: &Db,
    subject: &str,
    sequence: i64,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    let text: Option<(String,)> = match db {
        Db::Postgres(pool) => {
            sqlx::query_as(
                "SELECT payload::text FROM events
                  WHERE aggregate_type = 'Conversation' AND aggregate_id = $1 AND sequence = $2",
            )
            .bind(subject)
            .bind(sequence)
            .fetch_optional(pool)
            .await?
        }
        Db::Sqlite(pool) => {
            sqlx::query_as(
                "SELECT payload FROM events
                  WHERE aggregate_type = 'Conversation' AND aggregate_id = $1 AND sequence = $2",
            )
            .bind(subject)
            .bind(sequence)
            .fetch_optional(pool)
            .await?
        }
    };
    text.map(|(t,)| serde_json::from_str(&t).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// The stored (sealed) payloads of many conversation events at once, by (subject, sequence).
pub async fn conversation_payloads(
    db: &Db,
    keys: &[(String, i64)],
) -> Result<HashMap<(String, i64), serde_json::Value>, sqlx::Error> {
    let mut found = HashMap::with_capacity(keys.len());
    match db {
        Db::Postgres(pool) if !keys.is_empty() => {
            let (subjects, sequences): (Vec<&str>, Vec<i64>) =
                keys.iter().map(|(s, n)| (s.as_str(), *n)).unzip();
            // One index probe per key whatever the planner thinks of the table (a LIMIT keeps
            // the LATERAL from being flattened into a join).
            let rows: Vec<(String, i64, String)> = sqlx::query_as(
                "SELECT k.subject, k.sequence, e.payload::text
                   FROM unnest($1::text[], $2::bigint[]) AS k(subject, sequence)
                  CROSS JOIN LATERAL (
                        SELECT payload FROM events
                         WHERE aggregate_type = 'Conversation' AND aggregate_id = k.subject
                           AND sequence = k.sequence LIMIT 1) e",
            )
            .bind(subjects)
            .bind(sequences)
            .fetch_all(pool)
            .await?;
            for (subject, sequence, text) in rows {
                let payload =
                    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                found.insert((subject, sequence), payload);
            }
        }
        _ => {
            for (subject, sequence) in keys {
                if let Some(payload) = conversation_payload(db, subject, *sequence).await? {
                    found.insert((subject.clone(), *sequence), payload);
                }
            }
        }
    }
    Ok(found)
}

/// A customer as the queue knows them: sealed ids, last inbound time (Meta's, seconds).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct CustomerRow {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub last_inbound_at: Option<i64>,
}

pub async fn customer(db: &Db, subject: &str) -> Result<Option<CustomerRow>, sqlx::Error> {
    fetch!(
        db,
        fetch_optional,
        "SELECT wa_id, user_id, last_inbound_at FROM outbound_customers WHERE subject_id = $1",
        subject
    )
}

#[derive(sqlx::FromRow)]
struct KeyedCustomer {
    subject_id: String,
    #[sqlx(flatten)]
    customer: CustomerRow,
}

/// Many customers at once, by subject.
pub async fn customers(
    db: &Db,
    subjects: &[String],
) -> Result<HashMap<String, CustomerRow>, sqlx::Error> {
    let mut found = HashMap::with_capacity(subjects.len());
    match db {
        Db::Postgres(pool) if !subjects.is_empty() => {
            let rows: Vec<KeyedCustomer> = sqlx::query_as(
                "SELECT c.subject_id, c.wa_id, c.user_id, c.last_inbound_at
                   FROM unnest($1::text[]) AS s(subject)
                  CROSS JOIN LATERAL (
                        SELECT * FROM outbound_customers WHERE subject_id = s.subject LIMIT 1) c",
            )
            .bind(subjects)
            .fetch_all(pool)
            .await?;
            found.extend(rows.into_iter().map(|k| (k.subject_id, k.customer)));
        }
        _ => {
            for subject in subjects {
                if let Some(row) = customer(db, subject).await? {
                    found.insert(subject.clone(), row);
                }
            }
        }
    }
    Ok(found)
}

/// Holds back every reply of `tenant` until `until_ms` (a later hold wins; a block is never
/// shortened by a throttle).
pub async fn hold_tenant(
    db: &Db,
    tenant: &str,
    reason: &str,
    code: Option<i64>,
    now_ms: i64,
    until_ms: i64,
    token_digest: Option<&str>,
) -> Result<(), sqlx::Error> {
    db.execute(
        "INSERT INTO outbound_tenant_holds (tenant_id, reason, code, since_ms, until_ms, token_digest)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id) DO UPDATE SET reason = excluded.reason, code = excluded.code,
                until_ms = excluded.until_ms, token_digest = excluded.token_digest,
                since_ms = CASE WHEN outbound_tenant_holds.until_ms > excluded.since_ms
                                THEN outbound_tenant_holds.since_ms ELSE excluded.since_ms END
          WHERE outbound_tenant_holds.until_ms < excluded.until_ms
             OR outbound_tenant_holds.until_ms <= excluded.since_ms",
        &[
            Arg::Text(tenant.into()),
            Arg::Text(reason.into()),
            Arg::I64(code.unwrap_or(0)),
            Arg::I64(now_ms),
            Arg::I64(until_ms),
            token_digest.map_or(Arg::Null, |d| Arg::Text(d.into())),
        ],
    )
    .await
    .map(drop)
}

pub async fn lift_hold(db: &Db, tenant: &str) -> Result<(), sqlx::Error> {
    db.execute(
        "DELETE FROM outbound_tenant_holds WHERE tenant_id = $1",
        &[Arg::Text(tenant.into())],
    )
    .await
    .map(drop)
}

/// Tenants stopped for their account (blocked by Meta, or no token): (tenant, token digest).
pub async fn blocked_tenants(
    db: &Db,
    now_ms: i64,
) -> Result<Vec<(String, Option<String>)>, sqlx::Error> {
    fetch!(
        db,
        fetch_all,
        "SELECT tenant_id, token_digest FROM outbound_tenant_holds
          WHERE reason IN ('blocked', 'no_token') AND until_ms > $1",
        now_ms
    )
}

/// Accepted free-form replies whose message later failed with 131047 (outside the window).
pub async fn late_outside_window(db: &Db) -> Result<Vec<Claimed>, sqlx::Error> {
    fetch!(
        db,
        fetch_all,
        "SELECT r.reply_id, r.tenant_id, r.subject_id, r.event_sequence, r.language,
                r.queued_at_ms
           FROM outbound_replies r JOIN outbound_statuses s ON s.wamid = r.wamid
          WHERE r.state = 'accepted' AND r.template = 0
            AND s.status = 'failed' AND s.code = 131047
          LIMIT 100"
    )
}

/// One reply as operators and tests see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReplyView {
    pub reply_id: String,
    pub tenant_id: String,
    pub state: String,
    pub attempts: i64,
    pub template: i64,
    pub wamid: Option<String>,
    pub last_class: Option<String>,
    pub last_code: Option<i64>,
    pub unknown_outcomes: i64,
    pub dead_reason: Option<String>,
    /// The latest delivery status Meta reported for the message (`sent`, `delivered`, ...).
    pub status: Option<String>,
}

const VIEW: &str = "
SELECT r.reply_id, r.tenant_id, r.state, r.attempts, r.template, r.wamid, r.last_class,
       r.last_code, r.unknown_outcomes, r.dead_reason, s.status
  FROM outbound_replies r LEFT JOIN outbound_statuses s ON s.wamid = r.wamid";

pub async fn reply_view(db: &Db, reply_id: &str) -> Result<Option<ReplyView>, sqlx::Error> {
    let sql = format!("{VIEW} WHERE r.reply_id = $1");
    fetch!(db, fetch_optional, &sql, reply_id)
}

pub async fn tenant_replies(db: &Db, tenant: &str) -> Result<Vec<ReplyView>, sqlx::Error> {
    let sql = format!("{VIEW} WHERE r.tenant_id = $1 ORDER BY r.queued_at_ms, r.event_sequence");
    fetch!(db, fetch_all, &sql, tenant)
}

/// A tenant's sending health: replies by state and any hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantHealth {
    pub sending: &'static str,
    pub hold: Option<HoldView>,
    pub pending: i64,
    pub accepted: i64,
    pub failed: i64,
    pub dead_lettered: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct HoldView {
    pub reason: String,
    pub code: i64,
    pub since_ms: i64,
    pub until_ms: i64,
}

pub async fn tenant_health(
    db: &Db,
    tenant: &str,
    now_ms: i64,
) -> Result<TenantHealth, sqlx::Error> {
    let hold: Option<HoldView> = fetch!(
        db,
        fetch_optional,
        "SELECT reason, code, since_ms, until_ms FROM outbound_tenant_holds
          WHERE tenant_id = $1 AND until_ms > $2",
        tenant,
        now_ms
    )?;
    let counts: Vec<(String, i64)> = fetch!(
        db,
        fetch_all,
        "SELECT state, count(*) FROM outbound_replies WHERE tenant_id = $1 GROUP BY state",
        tenant
    )?;
    let count = |state: &str| {
        counts
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n)
    };
    let sending = match hold.as_ref().map(|h| h.reason.as_str()) {
        None => "ok",
        Some("blocked" | "no_token") => "blocked",
        Some(_) => "throttled",
    };
    Ok(TenantHealth {
        sending,
        hold,
        pending: count("pending"),
        accepted: count("accepted"),
        failed: count("failed"),
        dead_lettered: count("dead_lettered"),
    })
}
