//! Recording what became of a send on the reply's `Delivery` aggregate, and writing it
//! through to the queue row.
use super::accounts::Account;
use super::dispatcher::{now_ms, Accepted, DispatchError, Dispatcher, Handled};
use super::queue::{accept_many, apply_delivery, MARK_WRITTEN_THROUGH};
use super::store::{self, Claimed};
use crate::db::DbTx;
use crate::event_store::AppendError;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use cqrs_es::{AggregateError, EventStore};
use lyo_application::metadata::{Actor, EventMetadata};
use lyo_application::outbound::policy::{millis, template_reply, AfterFailure};
use lyo_domain::delivery::{
    DeadLetterReason, Delivery, DeliveryCommand, DeliveryEvent, FallbackCause,
};
use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use lyo_domain::reply::Reply;
use lyo_domain::understanding::Language;
use std::collections::HashMap;

impl Dispatcher {
    pub(super) async fn after_failure(
        &self,
        row: &Claimed,
        state: &Delivery,
        account: &Account,
        reply: &Reply,
        error: &lyo_application::outbound::SendError,
        decided: AfterFailure,
    ) -> Result<Handled, DispatchError> {
        let attempt = state.attempts + 1;
        let db = &self.inner.db;
        let now = now_ms();
        match decided {
            AfterFailure::Retry {
                at_ms,
                class,
                code,
                outcome_unknown,
                hold_tenant_until_ms,
            } => {
                if let Some(until) = hold_tenant_until_ms {
                    store::hold_tenant(db, &row.tenant_id, "throttled", code, now, until, None)
                        .await?;
                } else if is_transient(error) && self.inner.throttle.failed(&row.tenant_id) {
                    let until = now.saturating_add(millis(self.inner.config.breaker_cooldown));
                    tracing::warn!(tenant = %row.tenant_id, "circuit breaker open");
                    metrics::counter!("lyo_outbound_breaker_opened_total").increment(1);
                    store::hold_tenant(db, &row.tenant_id, "circuit_open", code, now, until, None)
                        .await?;
                }
                self.record(
                    row,
                    DeliveryCommand::ScheduleRetry {
                        attempt,
                        retry_at_ms: at_ms,
                        class: class.to_string(),
                        code,
                        outcome_unknown,
                    },
                )
                .await?;
                Ok(Handled::Decided("retry"))
            }
            AfterFailure::BlockTenant { until_ms, code } => {
                tracing::warn!(tenant = %row.tenant_id, code, "Meta blocked the tenant's sending");
                metrics::counter!("lyo_outbound_tenant_blocked_total", "code" => code.to_string())
                    .increment(1);
                store::hold_tenant(
                    db,
                    &row.tenant_id,
                    "blocked",
                    Some(code),
                    now,
                    until_ms,
                    account.token_digest.as_deref(),
                )
                .await?;
                self.record(
                    row,
                    DeliveryCommand::ScheduleRetry {
                        attempt,
                        retry_at_ms: now,
                        class: lyo_domain::delivery::TENANT_BLOCKED.to_string(),
                        code: Some(code),
                        outcome_unknown: false,
                    },
                )
                .await?;
                Ok(Handled::Decided("tenant_blocked"))
            }
            AfterFailure::FallBackToTemplate => {
                self.inner.throttle.succeeded(&row.tenant_id);
                let cause = FallbackCause::OutsideWindowAnswer;
                match self
                    .fall_back(row, state, attempt, account, reply, cause)
                    .await?
                {
                    Some(_) => {
                        // The template goes out at once, by whichever worker claims it.
                        store::release(&self.inner.db, &row.reply_id, now).await?;
                        Ok(Handled::Decided("template_fallback"))
                    }
                    None => Ok(Handled::Decided("dead_lettered")),
                }
            }
            AfterFailure::Fail { code } => {
                self.inner.throttle.succeeded(&row.tenant_id);
                let subject = row
                    .subject_id
                    .parse::<SubjectId>()
                    .unwrap_or_else(|_| SubjectId::from_uuid(uuid::Uuid::nil()));
                let reason = match error {
                    lyo_application::outbound::SendError::Permanent { reason, .. } => {
                        reason.as_str().to_string()
                    }
                    other => other.to_string(),
                };
                self.record(
                    row,
                    DeliveryCommand::RecordFailure {
                        attempt,
                        code,
                        reason: Personal::new(subject, reason),
                    },
                )
                .await?;
                Ok(Handled::Decided("failed"))
            }
            AfterFailure::DeadLetter(reason) => {
                let mut tried = state.clone();
                tried.attempts = attempt;
                self.dead_letter(row, &tried, reason).await
            }
        }
    }

    /// Records the switch to the template, or a dead letter when the tenant has none. Returns
    /// the new state, `None` after a dead letter.
    pub(super) async fn fall_back(
        &self,
        row: &Claimed,
        state: &Delivery,
        attempt: u32,
        account: &Account,
        reply: &Reply,
        cause: FallbackCause,
    ) -> Result<Option<Delivery>, DispatchError> {
        let language = language_of(account, row);
        let Some(template) = account.templates.get(reply.purpose, language) else {
            self.dead_letter(row, state, no_template(account, row, reply))
                .await?;
            return Ok(None);
        };
        let next = self
            .record(
                row,
                DeliveryCommand::FallBackToTemplate {
                    attempt,
                    template: template.name.clone(),
                    language: template.language_code.clone(),
                    cause,
                },
            )
            .await?;
        Ok(Some(next))
    }

    pub(super) fn template_for(
        &self,
        account: &Account,
        row: &Claimed,
        reply: &Reply,
    ) -> Option<Reply> {
        account
            .templates
            .get(reply.purpose, language_of(account, row))
            .map(|template| template_reply(reply, template, &account.name))
    }

    pub(super) async fn dead_letter(
        &self,
        row: &Claimed,
        state: &Delivery,
        reason: DeadLetterReason,
    ) -> Result<Handled, DispatchError> {
        tracing::warn!(reply_id = %row.reply_id, reason = reason.label(), "reply dead-lettered");
        metrics::counter!("lyo_outbound_dead_letters_total", "reason" => reason.label())
            .increment(1);
        self.record(
            row,
            DeliveryCommand::DeadLetter {
                attempts: state.attempts,
                reason,
            },
        )
        .await?;
        Ok(Handled::Decided("dead_lettered"))
    }

    /// Executes `command` on the reply's aggregate (reloading after a lost race) and writes
    /// the events through to the queue row. Returns the new state.
    pub(super) async fn record(
        &self,
        row: &Claimed,
        command: DeliveryCommand,
    ) -> Result<Delivery, DispatchError> {
        let mut conflicts = 0;
        loop {
            let (mut state, version) = self.delivery(&row.reply_id).await?;
            let events = state.decide(command.clone());
            if events.is_empty() {
                self.resync(&row.reply_id).await?;
                return Ok(state);
            }
            let written = self
                .write_through(&[Decided {
                    row,
                    version,
                    events: events.clone(),
                }])
                .await?;
            if written {
                for event in events {
                    cqrs_es::Aggregate::apply(&mut state, event);
                }
                return Ok(state);
            }
            if conflicts >= 5 {
                return Err(DispatchError::Record(AggregateError::AggregateConflict));
            }
            conflicts += 1;
        }
    }

    /// Appends the decided events of some replies and writes them through to their queue
    /// rows in one transaction (a row that missed an event would be moved past it by the next
    /// one: its version guard), ending their claims unless the only news is a template chosen
    /// before sending (this worker sends the template now). Rows are written before claims
    /// are deleted: the order in which a claim locks them, so the two never wait for each
    /// other. Returns false, having written nothing, when another writer appended to one of
    /// the streams first.
    async fn write_through(&self, decided: &[Decided<'_>]) -> Result<bool, DispatchError> {
        let started = std::time::Instant::now();
        let mut events = Vec::new();
        for d in decided {
            events.extend(serialized(d.row, d.version, &metadata(d.row)?, &d.events)?);
        }
        let sealed = self
            .inner
            .repository
            .seal_batch(events)
            .await
            .map_err(unexpected)?;
        let mut tx = self.inner.db.begin().await?;
        match self
            .inner
            .repository
            .insert_sealed::<Delivery>(&mut tx, &sealed)
            .await
        {
            Ok(()) => {}
            // Dropping the transaction rolls it back.
            Err(AppendError::Conflict) => return Ok(false),
            Err(error) => return Err(unexpected(error)),
        }
        let numbered: Vec<(&str, i64, DeliveryEvent)> = decided
            .iter()
            .flat_map(|d| {
                d.events
                    .iter()
                    .cloned()
                    .zip(d.version + 1..)
                    .map(|(event, sequence)| {
                        let sequence = i64::try_from(sequence).unwrap_or(i64::MAX);
                        (d.row.reply_id.as_str(), sequence, event)
                    })
            })
            .collect();
        if numbered.iter().all(|(_, _, e)| is_accept(e)) {
            accept_many(&mut tx, &numbered).await?;
        } else {
            let now = now_ms();
            for (reply_id, sequence, event) in &numbered {
                apply_delivery(&mut tx, reply_id, *sequence, event, now).await?;
            }
        }
        let ending: Vec<&str> = decided
            .iter()
            .filter(|d| {
                d.events.is_empty()
                    || d.events
                        .iter()
                        .any(|e| !matches!(e, DeliveryEvent::TemplateFallbackChosen { .. }))
            })
            .map(|d| d.row.reply_id.as_str())
            .collect();
        store::end_claims(&mut tx, &ending).await?;
        if let DbTx::Postgres(pg) = &mut tx {
            let mut replies: Vec<&str> = decided.iter().map(|d| d.row.reply_id.as_str()).collect();
            replies.sort_unstable();
            replies.dedup();
            sqlx::query(MARK_WRITTEN_THROUGH)
                .bind(&replies)
                .bind(i64::try_from(replies.len()).unwrap_or(i64::MAX))
                .execute(&mut **pg)
                .await?;
        }
        tx.commit().await?;
        self.inner
            .repository
            .appended(Delivery::TYPE, &sealed.event_types(), false, started);
        Ok(true)
    }

    /// Writes the aggregate's events through to the row (the row may lag the projection).
    pub(super) async fn resync(&self, reply_id: &str) -> Result<(), DispatchError> {
        let events = self
            .inner
            .deliveries
            .load_events(reply_id)
            .await
            .map_err(DispatchError::Record)?;
        let mut tx = self.inner.db.begin().await?;
        for envelope in events {
            let sequence = i64::try_from(envelope.sequence).unwrap_or(i64::MAX);
            apply_delivery(&mut tx, reply_id, sequence, &envelope.payload, now_ms()).await?;
        }
        tx.execute(
            "DELETE FROM outbound_claims WHERE reply_id = $1
               AND EXISTS (SELECT 1 FROM outbound_replies r
                            WHERE r.reply_id = $1 AND r.state <> 'pending')",
            &[crate::db::Arg::Text(reply_id.into())],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The reply's aggregate and its sequence.
    pub(super) async fn delivery(
        &self,
        reply_id: &str,
    ) -> Result<(Delivery, usize), DispatchError> {
        let context = self
            .inner
            .deliveries
            .load_aggregate(reply_id)
            .await
            .map_err(DispatchError::Record)?;
        Ok((context.aggregate, context.current_sequence))
    }

    /// Records the accepted sends of a batch: all in one transaction with their queue rows
    /// and claims when each is a plain acceptance on the version it was decided on, otherwise
    /// (or when that transaction fails, e.g. a lost race) one by one.
    pub(super) async fn record_accepted(&self, accepted: Vec<Accepted>) {
        let (together, mut alone): (Vec<_>, Vec<_>) =
            accepted.into_iter().partition(|a| a.version.is_some());
        if !together.is_empty() {
            match self.record_together(&together).await {
                Ok(()) => {
                    metrics::counter!("lyo_outbound_replies_total", "result" => "accepted")
                        .increment(together.len() as u64);
                }
                Err(error) => {
                    tracing::warn!(error = %error, replies = together.len(),
                        "cannot record accepted sends together; one by one");
                    alone.extend(together);
                }
            }
        }
        for sent in alone {
            match self.record_sent(&sent.row, sent.command).await {
                Ok(_) => metrics::counter!("lyo_outbound_replies_total", "result" => "accepted")
                    .increment(1),
                Err(error) => {
                    tracing::error!(reply_id = sent.row.reply_id, error = %error,
                        "cannot record an accepted send; it may be sent again");
                    self.give_back(&sent.row).await;
                }
            }
        }
    }

    async fn record_together(&self, batch: &[Accepted]) -> Result<(), DispatchError> {
        let decided: Vec<Decided> = batch
            .iter()
            .map(|sent| Decided {
                row: &sent.row,
                version: sent.version.unwrap_or_default(),
                events: sent.state.decide(sent.command.clone()),
            })
            .collect();
        if self.write_through(&decided).await? {
            Ok(())
        } else {
            Err(DispatchError::Record(AggregateError::AggregateConflict))
        }
    }

    /// Records that Meta accepted a send. Losing this record would send the reply again, so a
    /// failing database is tried a few more times before the claim is given up.
    pub(super) async fn record_sent(
        &self,
        row: &Claimed,
        command: DeliveryCommand,
    ) -> Result<Delivery, DispatchError> {
        let mut tries = 0u32;
        loop {
            match self.record(row, command.clone()).await {
                Ok(state) => return Ok(state),
                Err(error) if tries < 5 => {
                    tries += 1;
                    tracing::warn!(reply_id = %row.reply_id, error = %error,
                        "cannot record an accepted send yet; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(tries)))
                        .await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// A failure of Meta or the network for this one message: what the circuit breaker counts
/// (limits of a recipient or of the tenant's number are handled by their own holds).
fn is_transient(error: &lyo_application::outbound::SendError) -> bool {
    matches!(
        error,
        lyo_application::outbound::SendError::Retry {
            scope: lyo_application::outbound::RetryScope::Message,
            ..
        }
    )
}

/// Events one reply's `Delivery` stream gains, decided on its `version`.
struct Decided<'a> {
    row: &'a Claimed,
    version: usize,
    events: Vec<DeliveryEvent>,
}

fn unexpected(error: impl std::error::Error + Send + Sync + 'static) -> DispatchError {
    DispatchError::Record(AggregateError::UnexpectedError(Box::new(error)))
}

/// `events` of `row`'s `Delivery` stream as the store keeps them, numbered after `version`.
fn serialized(
    row: &Claimed,
    version: usize,
    metadata: &HashMap<String, String>,
    events: &[DeliveryEvent],
) -> Result<Vec<SerializedEvent>, DispatchError> {
    let metadata = serde_json::to_value(metadata).map_err(unexpected)?;
    events
        .iter()
        .zip(version + 1..)
        .map(|(event, sequence)| {
            Ok(SerializedEvent::new(
                row.reply_id.clone(),
                sequence,
                Delivery::TYPE.to_string(),
                event.event_type(),
                event.event_version(),
                serde_json::to_value(event).map_err(unexpected)?,
                metadata.clone(),
            ))
        })
        .collect()
}

fn is_accept(event: &DeliveryEvent) -> bool {
    matches!(event, DeliveryEvent::ReplyAccepted { .. })
}

/// The metadata of the dispatcher's `Delivery` events for `row`.
fn metadata(row: &Claimed) -> Result<HashMap<String, String>, DispatchError> {
    let tenant: TenantId = row.tenant_id.parse().map_err(|_| {
        DispatchError::Record(AggregateError::UnexpectedError(
            "a queued reply with an invalid tenant id".into(),
        ))
    })?;
    Ok(EventMetadata {
        tenant_id: tenant,
        actor: Actor::system("dispatcher"),
        correlation_id: row.reply_id.clone(),
        causation_id: None,
        request_id: None,
    }
    .to_map())
}

pub(super) fn language_of(account: &Account, row: &Claimed) -> Language {
    row.language
        .as_deref()
        .and_then(|l| serde_json::from_value(serde_json::Value::String(l.into())).ok())
        .unwrap_or(account.default_language)
}

pub(super) fn no_template(account: &Account, row: &Claimed, reply: &Reply) -> DeadLetterReason {
    DeadLetterReason::NoTemplate {
        purpose: reply.purpose,
        language: language_of(account, row).code().to_string(),
    }
}
