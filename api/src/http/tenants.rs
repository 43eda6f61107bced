//! `POST /api/v1/tenants`, `GET/PATCH /api/v1/tenants/{tenant}` (platform admin).

use super::auth::Admin;
use super::error::parse_json;
use super::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use lyo_application::metadata::{Actor, ActorKind};
use lyo_application::tenants::{Caller, NewTenant, TenantChanges, TenantView};
use lyo_domain::ids::TenantId;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", post(create))
        .route("/api/v1/tenants/{tenant}", get(read).patch(update))
}

fn admin_caller(headers: &HeaderMap) -> Caller {
    Caller {
        actor: Actor {
            kind: ActorKind::Admin,
            id: "platform-admin".into(),
        },
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// Another tenant's id and a malformed id both answer 404.
fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

async fn create(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<TenantView>), ApiError> {
    let new: NewTenant = parse_json(&body)?;
    let view = state.tenants.create(new, &admin_caller(&headers)).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn read(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    Ok(Json(state.tenants.get(tenant_id(&tenant)?).await?))
}

async fn update(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TenantView>, ApiError> {
    let id = tenant_id(&tenant)?;
    let changes: TenantChanges = parse_json(&body)?;
    Ok(Json(
        state
            .tenants
            .update(id, changes, &admin_caller(&headers))
            .await?,
    ))
}
