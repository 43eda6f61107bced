//! The HTTP surface: routers, the error type, and the layers every request passes through
//! (request id, tracing, metrics, timeout).

mod auth;
mod error;
mod health;
mod outbound;
mod sandbox;
mod tenants;
pub mod webhook;

pub use auth::AdminToken;

pub use error::ApiError;

use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use lyo_infrastructure::db::Db;
use metrics_exporter_prometheus::PrometheusHandle;
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub metrics: PrometheusHandle,
    pub tenants: std::sync::Arc<crate::platform::Tenants>,
    /// `None`: no admin token configured, so every admin call is refused.
    pub admin_token: Option<AdminToken>,
    pub webhook: std::sync::Arc<webhook::Webhook>,
    /// What the sandbox sender recorded, when it is the sender (`lyo chat` reads it).
    pub sandbox: Option<std::sync::Arc<lyo_infrastructure::sender::SandboxSender>>,
}

impl AppState {
    pub fn new(platform: &crate::platform::Platform, metrics: PrometheusHandle) -> Self {
        Self {
            db: platform.db.clone(),
            metrics,
            tenants: platform.tenants.clone(),
            admin_token: platform.settings.admin_token.as_ref().map(AdminToken::new),
            webhook: std::sync::Arc::new(webhook::Webhook::new(
                platform.settings.whatsapp_app_secret.clone(),
                platform.settings.whatsapp_verify_token.clone(),
                platform.inbox.clone(),
                platform.directory.clone(),
                platform.master_key.clone(),
            )),
            sandbox: platform.sandbox.clone(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(tenants::routes())
        .merge(outbound::routes())
        .merge(sandbox::routes())
        .merge(webhook::routes())
        .with_state(state)
        .layer(middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                // Path only: query strings may carry personal data.
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("lyo_http_requests_total", "method" => method.clone(), "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("lyo_http_request_duration_seconds", "method" => method, "path" => path)
        .record(started.elapsed().as_secs_f64());
    response
}
