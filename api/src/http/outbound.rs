//! The outbound queue as operators see it (admin): a tenant's sending health and one reply's
//! delivery state. `docs/outbound.md` describes the fields.

use super::auth::Admin;
use super::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use lyo_domain::ids::TenantId;
use lyo_infrastructure::outbound::store::{self, ReplyView, TenantHealth};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants/{tenant}/health", get(health))
        .route("/api/v1/tenants/{tenant}/replies/{reply}", get(reply))
}

fn unexpected(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Unexpected(anyhow::Error::new(error).context("reading the outbound queue"))
}

async fn health(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<TenantHealth>, ApiError> {
    let id: TenantId = tenant.parse().map_err(|_| ApiError::NotFound)?;
    // 404 for a tenant that does not exist.
    state.tenants.get(id).await?;
    let now = lyo_infrastructure::outbound::now_ms();
    Ok(Json(
        store::tenant_health(&state.db, &id.to_string(), now)
            .await
            .map_err(unexpected)?,
    ))
}

async fn reply(
    _: Admin,
    State(state): State<AppState>,
    Path((tenant, reply)): Path<(String, String)>,
) -> Result<Json<ReplyView>, ApiError> {
    let view = store::reply_view(&state.db, &reply)
        .await
        .map_err(unexpected)?
        .filter(|view| view.tenant_id == tenant)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(view))
}
