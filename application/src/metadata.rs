//! Metadata carried by every event: who caused it, for which tenant, and why.
//!
//! cqrs-es stores metadata as a string map; [`EventMetadata`] is its typed form. Every
//! command must be executed with metadata: the event tables refuse a row without a tenant.

use lyo_domain::ids::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A tenant's customer, identified by subject id (never by phone number).
    Customer,
    /// A tenant's staff member, identified by user or token id.
    Staff,
    /// The platform administrator.
    Admin,
    /// Lyo itself: process managers, schedulers, projectors.
    System,
    /// Meta's WhatsApp Cloud API (status callbacks).
    Meta,
}

impl ActorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ActorKind::Customer => "customer",
            ActorKind::Staff => "staff",
            ActorKind::Admin => "admin",
            ActorKind::System => "system",
            ActorKind::Meta => "meta",
        }
    }
}

impl fmt::Display for ActorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActorKind {
    type Err = MetadataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "customer" => ActorKind::Customer,
            "staff" => ActorKind::Staff,
            "admin" => ActorKind::Admin,
            "system" => ActorKind::System,
            "meta" => ActorKind::Meta,
            other => return Err(MetadataError::UnknownActorKind(other.to_string())),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    /// An opaque id (subject id, staff user id, process name); never personal data.
    pub id: String,
}

impl Actor {
    pub fn system(process: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: process.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub tenant_id: TenantId,
    pub actor: Actor,
    /// The inbound message id or HTTP request id the whole chain started from.
    pub correlation_id: String,
    /// The event id that led to this one, if any.
    pub causation_id: Option<String>,
    /// The HTTP request that carried the command, if any.
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("event metadata lacks `{0}`")]
    Missing(&'static str),
    #[error("event metadata has an invalid tenant id")]
    InvalidTenant,
    #[error("unknown actor kind `{0}`")]
    UnknownActorKind(String),
}

const TENANT: &str = "tenant_id";
const ACTOR_KIND: &str = "actor_kind";
const ACTOR_ID: &str = "actor_id";
const CORRELATION: &str = "correlation_id";
const CAUSATION: &str = "causation_id";
const REQUEST: &str = "request_id";

impl EventMetadata {
    /// The map handed to `CqrsFramework::execute_with_metadata`.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            (TENANT.to_string(), self.tenant_id.to_string()),
            (ACTOR_KIND.to_string(), self.actor.kind.to_string()),
            (ACTOR_ID.to_string(), self.actor.id.clone()),
            (CORRELATION.to_string(), self.correlation_id.clone()),
        ]);
        if let Some(causation) = &self.causation_id {
            map.insert(CAUSATION.to_string(), causation.clone());
        }
        if let Some(request) = &self.request_id {
            map.insert(REQUEST.to_string(), request.clone());
        }
        map
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, MetadataError> {
        let get = |key: &'static str| map.get(key).ok_or(MetadataError::Missing(key));
        Ok(Self {
            tenant_id: get(TENANT)?
                .parse()
                .map_err(|_| MetadataError::InvalidTenant)?,
            actor: Actor {
                kind: get(ACTOR_KIND)?.parse()?,
                id: get(ACTOR_ID)?.clone(),
            },
            correlation_id: get(CORRELATION)?.clone(),
            causation_id: map.get(CAUSATION).cloned(),
            request_id: map.get(REQUEST).cloned(),
        })
    }

    /// Reads metadata as stored in the event table (a JSON object of strings).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, MetadataError> {
        let map: HashMap<String, String> = value
            .as_object()
            .map(|object| {
                object
                    .iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Self::from_map(&map)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metadata_round_trips_through_the_string_map() {
        let metadata = EventMetadata {
            tenant_id: TenantId::new(),
            actor: Actor {
                kind: ActorKind::Customer,
                id: "subject-1".into(),
            },
            correlation_id: "wamid.1".into(),
            causation_id: Some("event-1".into()),
            request_id: None,
        };
        assert_eq!(EventMetadata::from_map(&metadata.to_map()), Ok(metadata));
    }

    #[test]
    fn metadata_without_tenant_is_rejected() {
        let map = HashMap::from([("actor_kind".to_string(), "system".to_string())]);
        assert_eq!(
            EventMetadata::from_map(&map),
            Err(MetadataError::Missing("tenant_id"))
        );
    }
}
