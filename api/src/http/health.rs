//! `/health` (the process answers), `/ready` (database reachable, migrations applied) and
//! `/metrics` (Prometheus text).

use super::{ApiError, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let pending = state.db.pending_migrations().await.map_err(|error| {
        tracing::warn!(error = %error, "readiness: database unreachable");
        ApiError::Unavailable("database unreachable".into())
    })?;
    if pending > 0 {
        return Err(ApiError::Unavailable(format!(
            "{pending} migration(s) not applied; run `lyo migrate`"
        )));
    }
    Ok(Json(json!({ "status": "ready" })))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
