//! Customer identities -> subjects (issue 3's identity rule): key the subject on Meta's
//! business-scoped user id when present, else on the phone number, and link the two when a
//! message shows both. Identifiers are stored as keyed digests only.

use crate::db::Db;
use crate::pii::MasterKey;
use lyo_domain::ids::{SubjectId, TenantId};

#[derive(Clone, Debug)]
pub struct SqlSubjectDirectory {
    db: Db,
    master: MasterKey,
}

const SELECT: &str =
    "SELECT subject_id FROM customer_identities WHERE tenant_id = $1 AND identifier_digest = $2";
const INSERT: &str = "INSERT INTO customer_identities (tenant_id, identifier_digest, subject_id)
                      VALUES ($1, $2, $3) ON CONFLICT (tenant_id, identifier_digest) DO NOTHING";

impl SqlSubjectDirectory {
    pub fn new(db: Db, master: MasterKey) -> Self {
        Self { db, master }
    }

    /// The subject for a customer known by `user_id` and/or `wa_id` (at least one), created on
    /// first sight. `None` when both are absent.
    pub async fn resolve(
        &self,
        tenant: TenantId,
        user_id: Option<&str>,
        wa_id: Option<&str>,
    ) -> Result<Option<SubjectId>, sqlx::Error> {
        let digests: Vec<String> = [("user_id", user_id), ("wa_id", wa_id)]
            .into_iter()
            .filter_map(|(kind, value)| {
                value.map(|v| self.master.identifier_digest(&format!("{kind}:{v}")))
            })
            .collect();
        let Some(primary) = digests.first() else {
            return Ok(None);
        };
        let tenant = tenant.to_string();
        let mut subject = None;
        for digest in &digests {
            if let Some(found) = self.lookup(&tenant, digest).await? {
                subject = Some(found);
                break;
            }
        }
        let subject = match subject {
            Some(subject) => subject,
            None => {
                // First sight: claim the primary identifier; a concurrent claim may win.
                self.link(&tenant, primary, &SubjectId::new().to_string())
                    .await?;
                self.lookup(&tenant, primary)
                    .await?
                    .ok_or_else(|| sqlx::Error::RowNotFound)?
            }
        };
        for digest in &digests {
            self.link(&tenant, digest, &subject).await?;
        }
        Ok(subject.parse().ok())
    }

    async fn lookup(&self, tenant: &str, digest: &str) -> Result<Option<String>, sqlx::Error> {
        match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_scalar(SELECT)
                    .bind(tenant)
                    .bind(digest)
                    .fetch_optional(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_scalar(SELECT)
                    .bind(tenant)
                    .bind(digest)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    async fn link(&self, tenant: &str, digest: &str, subject: &str) -> Result<(), sqlx::Error> {
        use crate::db::Arg;
        self.db
            .execute(
                INSERT,
                &[
                    Arg::Text(tenant.into()),
                    Arg::Text(digest.into()),
                    Arg::Text(subject.into()),
                ],
            )
            .await
            .map(|_| ())
    }
}
