//! The dispatcher's periodic work: late 131047 statuses and blocked tenants whose token changed.
use super::dispatcher::{now_ms, DispatchError, Dispatcher};
use super::outcome::language_of;
use super::store;
use lyo_domain::delivery::{DeliveryCommand, FallbackCause};
use lyo_domain::ids::TenantId;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Dispatcher {
    pub(super) async fn sweep_loop(&self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            if let Err(error) = self.sweep().await {
                tracing::error!(error = %error, "outbound sweep failed");
            }
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Periodic work of the dispatcher: late 131047 statuses fall back to the template, and a
    /// blocked tenant whose token changed is resumed.
    pub async fn sweep(&self) -> Result<(), DispatchError> {
        let db = &self.inner.db;
        for row in store::late_outside_window(db).await? {
            let (state, _) = self.delivery(&row.reply_id).await?;
            let tenant = row.tenant_id.parse::<TenantId>().ok();
            let account = match tenant {
                Some(id) => self.inner.accounts.get(id).await?,
                None => None,
            };
            let reply = self.reply(&row).await?;
            // Without a template (or a reply) the fallback is still recorded, with no name:
            // the next attempt then dead-letters the reply with the precise reason.
            let template = account.as_ref().zip(reply.as_ref()).and_then(|(a, r)| {
                a.templates
                    .get(r.purpose, language_of(a, &row))
                    .map(|t| (t.name.clone(), t.language_code.clone()))
            });
            let (template, language) = template.unwrap_or_default();
            self.record(
                &row,
                DeliveryCommand::FallBackToTemplate {
                    attempt: state.attempts,
                    template,
                    language,
                    cause: FallbackCause::OutsideWindowStatus,
                },
            )
            .await?;
            super::queue::signal().notify_one();
        }
        let blocked = store::blocked_tenants(db, now_ms()).await?;
        metrics::gauge!("lyo_outbound_tenants_blocked").set(blocked.len() as f64);
        for (tenant, digest) in blocked {
            let Ok(id) = tenant.parse::<TenantId>() else {
                continue;
            };
            let account = self.inner.accounts.fresh(id).await?;
            let current = account.as_ref().and_then(|a| a.token_digest.clone());
            if current.is_some() && current != digest {
                tracing::info!(tenant, "the tenant's token changed; sending resumes");
                store::lift_hold(db, &tenant).await?;
                super::queue::signal().notify_one();
            }
        }
        Ok(())
    }
}
