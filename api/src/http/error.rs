//! One error type for every handler. Each case maps to one status (see `docs/api.md`);
//! internal causes are logged once and never sent to the client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unavailable(reason) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                Json(json!({ "error": "unavailable", "message": reason })),
            )
                .into_response(),
            ApiError::Unexpected(error) => {
                tracing::error!(error = format!("{error:#}"), "unexpected error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "error": "internal", "message": "internal error" })),
                )
                    .into_response()
            }
        }
    }
}
