//! One error type for every handler. Each case maps to one status (see `docs/api.md`);
//! internal causes are logged once and never sent to the client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lyo_application::event_log::StoreError;
use lyo_application::tenants::TenantServiceError;
use lyo_domain::tenant::TenantError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { message: String, retry: bool },
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<TenantServiceError> for ApiError {
    fn from(error: TenantServiceError) -> Self {
        match error {
            TenantServiceError::Rejected(TenantError::NotFound) => ApiError::NotFound,
            TenantServiceError::Rejected(TenantError::AlreadyExists) => ApiError::Conflict {
                message: "the tenant already exists".into(),
                retry: false,
            },
            TenantServiceError::Rejected(rule) => ApiError::Validation(rule.to_string()),
            TenantServiceError::PhoneNumberInUse(_) => ApiError::Conflict {
                message: error.to_string(),
                retry: false,
            },
            TenantServiceError::Conflict => ApiError::Conflict {
                message: error.to_string(),
                retry: true,
            },
            TenantServiceError::Store(store) => store.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                ApiError::Unavailable("the database is unavailable".into())
            }
            StoreError::Unexpected(cause) => ApiError::Unexpected(anyhow::anyhow!(cause)),
        }
    }
}

fn body(code: &str, message: &str) -> Json<serde_json::Value> {
    Json(json!({ "error": code, "message": message }))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            ApiError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, body("bad_request", &message)).into_response()
            }
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                body("unauthorized", &message),
            )
                .into_response(),
            ApiError::NotFound => {
                (StatusCode::NOT_FOUND, body("not_found", &message)).into_response()
            }
            ApiError::Conflict { retry: true, .. } => (
                StatusCode::CONFLICT,
                [(header::RETRY_AFTER, "1")],
                body("conflict", &message),
            )
                .into_response(),
            ApiError::Conflict { .. } => {
                (StatusCode::CONFLICT, body("conflict", &message)).into_response()
            }
            ApiError::Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                body("validation", &message),
            )
                .into_response(),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                body("unavailable", &message),
            )
                .into_response(),
            ApiError::Unexpected(error) => {
                tracing::error!(error = format!("{error:#}"), "unexpected error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    body("internal", "internal error"),
                )
                    .into_response()
            }
        }
    }
}

/// Parses a JSON body with our error mapping: not JSON -> 400, wrong shape -> 422.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::Validation(error.to_string()),
        _ => ApiError::BadRequest(format!("the body is not valid JSON ({error})")),
    })
}
