//! From inbox rows to commands: open and parse each delivery, route its changes to tenants,
//! resolve every customer to a subject (one batched look-up), and build each message's
//! `ReceiveMessage` and each status's `RecordStatus`, grouped by conversation.

use super::decide::Inbound;
use super::{now_ms, InboxWorker, IngressError, Plan};
use crate::identity::CustomerIds;
use crate::inbox::INBOX_AAD;
use crate::whatsapp::{
    parse_delivery, Change, Content, Delivery, InboundMessage as WireMessage, StatusUpdate,
};
use lyo_application::booking::dialogue_context;
use lyo_application::metadata::{Actor, ActorKind, EventMetadata};
use lyo_application::tenants::TenantDirectory;
use lyo_domain::conversation::{
    Answering, ConversationCommand, Customer, InboundMessage, StatusReport,
};
use lyo_domain::dialogue::DialogueContext;
use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use std::collections::HashMap;

/// A message or status of a routed delivery.
enum Item<'a> {
    Message(&'a Change, &'a WireMessage),
    Status(&'a StatusUpdate),
}

impl InboxWorker {
    pub(super) async fn plan(&self, rows: &[(i64, Option<Vec<u8>>)]) -> Result<Plan, IngressError> {
        let mut plan = Plan::default();
        let mut deliveries: Vec<(Delivery, HashMap<String, Option<TenantId>>)> = Vec::new();
        let mut directory_current = None;
        // The dialogue context of each routed tenant (cached reads).
        let mut contexts: HashMap<TenantId, DialogueContext> = HashMap::new();
        for (id, sealed) in rows {
            // Bodies were verified and parsed before they were stored; one that no longer
            // opens or parses (a changed master key) can never succeed: count it and move on.
            let Some(delivery) = sealed
                .as_deref()
                .and_then(|s| self.master.open_bytes(s, INBOX_AAD).ok())
                .and_then(|body| parse_delivery(&body).ok())
            else {
                metrics::counter!("lyo_inbox_unreadable_total").increment(1);
                tracing::error!("an inbox row could not be opened or parsed; skipped");
                plan.done.push(*id);
                continue;
            };
            // Route everything first: if a number is unknown only because the directory has
            // not caught up with a new tenant yet, the whole delivery waits.
            let mut routes = HashMap::new();
            let mut wait = false;
            for phone_number_id in delivery.phone_number_ids() {
                let directory = &self.tenants.directory;
                let mut tenant = directory.tenant_for_phone_number(phone_number_id).await?;
                if tenant.is_none() {
                    let current = match directory_current {
                        Some(current) => current,
                        None => *directory_current.insert(self.directory_is_current().await?),
                    };
                    if !current {
                        wait = true;
                        break;
                    }
                    // The directory has every tenant now, but the cached "unknown" may be
                    // older than that (another process projected the tenant; or this one,
                    // around the moment it cleared the cache): ask the table itself.
                    tenant = directory.reread(phone_number_id).await?;
                }
                if let Some(tenant) = tenant {
                    if let std::collections::hash_map::Entry::Vacant(entry) = contexts.entry(tenant)
                    {
                        // Routed but its settings not projected yet (a tenant just created):
                        // wait, rather than record its messages as never to be answered.
                        let Some(config) = self.tenants.configs.get(tenant).await? else {
                            wait = true;
                            break;
                        };
                        entry.insert(dialogue_context(&config));
                    }
                }
                routes.insert(phone_number_id.to_string(), tenant);
            }
            if wait {
                plan.later.push(*id);
            } else {
                plan.done.push(*id);
                deliveries.push((delivery, routes));
            }
        }

        let mut items = Vec::new();
        let mut customers = Vec::new();
        for (delivery, routes) in &deliveries {
            let tenant_of = |change: &Change| {
                let tenant = change
                    .phone_number_id
                    .as_ref()
                    .and_then(|id| routes.get(id).copied().flatten());
                if tenant.is_none() {
                    metrics::counter!("lyo_ingress_unrouted_total").increment(1);
                }
                tenant
            };
            for (change, message) in delivery.messages() {
                if let Some(tenant) = tenant_of(change) {
                    let contact = change.contact_of(message);
                    customers.push(CustomerIds {
                        tenant,
                        user_id: message
                            .from_user_id
                            .as_deref()
                            .or(contact.and_then(|c| c.user_id.as_deref())),
                        wa_id: message
                            .from
                            .as_deref()
                            .or(contact.and_then(|c| c.wa_id.as_deref())),
                    });
                    items.push(Item::Message(change, message));
                }
            }
            for (change, status) in delivery.statuses() {
                if let Some(tenant) = tenant_of(change) {
                    customers.push(CustomerIds {
                        tenant,
                        user_id: status.recipient_user_id.as_deref(),
                        wa_id: status.recipient_id.as_deref(),
                    });
                    items.push(Item::Status(status));
                }
            }
        }
        let subjects = self.subjects.resolve_many(&customers).await?;

        let mut groups: HashMap<String, usize> = HashMap::new();
        for ((item, ids), subject) in items.iter().zip(&customers).zip(subjects) {
            let Some(subject) = subject else {
                if matches!(item, Item::Message(..)) {
                    metrics::counter!("lyo_ingress_unidentified_total").increment(1);
                }
                continue;
            };
            let inbound = match item {
                Item::Message(change, message) => {
                    let context = contexts.get(&ids.tenant);
                    self.receive(ids, subject, change, message, context)
                }
                Item::Status(status) => record_status(ids.tenant, subject, status),
            };
            let aggregate_id = subject.to_string();
            let slot = *groups.entry(aggregate_id.clone()).or_insert_with(|| {
                plan.groups.push((aggregate_id, Vec::new()));
                plan.groups.len() - 1
            });
            plan.groups[slot].1.push(inbound);
        }
        Ok(plan)
    }

    /// Whether the directory has applied every tenant event stored so far.
    async fn directory_is_current(&self) -> Result<bool, IngressError> {
        Ok(crate::projection::tenant_events_applied(
            &self.db,
            self.tenants.directory_projector.as_ref(),
        )
        .await?)
    }

    fn receive(
        &self,
        ids: &CustomerIds<'_>,
        subject: SubjectId,
        change: &Change,
        message: &WireMessage,
        context: Option<&DialogueContext>,
    ) -> Inbound {
        let tenant = ids.tenant;
        let contact = change.contact_of(message);
        let personal = |value: &str| Personal::new(subject, value.to_string());
        let inbound = InboundMessage {
            message_id: message.id.clone(),
            sent_at: message.timestamp,
            kind: message.kind.clone(),
            text: text_of(&message.content).map(personal),
            content: Personal::new(
                subject,
                serde_json::to_value(&message.content).unwrap_or_default(),
            ),
            customer: Customer {
                name: contact.and_then(|c| c.name.as_deref()).map(personal),
                wa_id: ids.wa_id.map(personal),
                user_id: ids.user_id.map(personal),
            },
            reply_to: message.context.as_ref().and_then(|c| c.id.clone()),
            answering: self.answering(tenant, subject, message.timestamp),
        };
        // Only a message that may be answered is decided with the dialogue.
        let context = match inbound.answering {
            Answering::Answer => context.cloned().map(Box::new),
            Answering::TooOld | Answering::RateLimited => None,
        };
        Inbound {
            command: ConversationCommand::ReceiveMessage {
                message: Box::new(inbound),
                context,
            },
            metadata: metadata(tenant, ActorKind::Customer, subject, &message.id),
        }
    }

    fn answering(&self, tenant: TenantId, subject: SubjectId, sent_at: i64) -> Answering {
        let age_secs = now_ms() / 1000 - sent_at;
        if age_secs > i64::try_from(self.config.max_age.as_secs()).unwrap_or(i64::MAX) {
            metrics::counter!("lyo_messages_not_answered_total", "reason" => "too_old")
                .increment(1);
            return Answering::TooOld;
        }
        let allowed = self.limits.lock().map(|mut limits| {
            limits.allow(&format!("t:{tenant}"), self.config.per_tenant_per_minute)
                & limits.allow(&format!("s:{subject}"), self.config.per_customer_per_minute)
        });
        if allowed.unwrap_or(true) {
            Answering::Answer
        } else {
            metrics::counter!("lyo_messages_not_answered_total", "reason" => "rate_limited")
                .increment(1);
            Answering::RateLimited
        }
    }
}

fn record_status(tenant: TenantId, subject: SubjectId, status: &StatusUpdate) -> Inbound {
    let report = StatusReport {
        message_id: status.id.clone(),
        status: status.status.as_str().to_string(),
        at: status.timestamp,
        error_codes: status.errors.iter().filter_map(|e| e.code).collect(),
    };
    Inbound {
        command: ConversationCommand::RecordStatus(report),
        metadata: metadata(tenant, ActorKind::Meta, subject, &status.id),
    }
}

fn metadata(
    tenant: TenantId,
    kind: ActorKind,
    subject: SubjectId,
    correlation: &str,
) -> EventMetadata {
    EventMetadata {
        tenant_id: tenant,
        actor: Actor {
            kind,
            id: subject.to_string(),
        },
        correlation_id: correlation.to_string(),
        causation_id: None,
        request_id: None,
    }
}

/// The text a person typed or chose, when there is one.
fn text_of(content: &Content) -> Option<&str> {
    match content {
        Content::Text { body } => Some(body),
        Content::Image(media) | Content::Video(media) | Content::Document(media) => {
            media.caption.as_deref()
        }
        Content::ButtonReply { title, .. } | Content::ListReply { title, .. } => title.as_deref(),
        Content::Button { text, .. } => text.as_deref(),
        _ => None,
    }
}

/// Fixed one-minute windows per key, in this process.
#[derive(Default)]
pub(super) struct RateLimits {
    windows: HashMap<String, (i64, u32)>,
}

impl RateLimits {
    fn allow(&mut self, key: &str, per_minute: u32) -> bool {
        let minute = now_ms() / 60_000;
        if self.windows.len() > 100_000 {
            self.windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = match self.windows.get_mut(key) {
            Some(entry) => entry,
            None => self.windows.entry(key.to_string()).or_insert((minute, 0)),
        };
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= per_minute
    }
}
