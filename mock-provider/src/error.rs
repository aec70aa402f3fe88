//! Errors in each provider's wire shape (provider-facts.md, "Rate limits and errors").

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which provider's conventions a response follows. Chosen by path: `/v1/messages*` is
/// Anthropic, everything else OpenAI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    OpenAi,
    Anthropic,
}

impl Shape {
    pub fn from_path(path: &str) -> Shape {
        if path.starts_with("/v1/messages") {
            Shape::Anthropic
        } else {
            Shape::OpenAi
        }
    }
}

/// An error answered in the calling provider's shape.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub shape: Shape,
    pub status: StatusCode,
    /// OpenAI `type` (Anthropic's type is derived from the status unless overridden).
    pub openai_type: &'static str,
    pub anthropic_type: Option<&'static str>,
    pub code: Option<&'static str>,
    pub param: Option<String>,
    pub message: String,
    pub headers: Box<HeaderMap>,
    /// Whether the answer counts as a request in the ledger and the log (provider endpoints:
    /// yes; unknown routes and wrong methods: no).
    pub record: bool,
}

/// Anthropic's error type for a status (docs api/errors).
pub fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

impl ApiError {
    pub fn new(shape: Shape, status: StatusCode, message: impl Into<String>) -> ApiError {
        let openai_type = match status.as_u16() {
            400..=499 => "invalid_request_error",
            _ => "server_error",
        };
        ApiError {
            shape,
            status,
            openai_type,
            anthropic_type: None,
            code: None,
            param: None,
            message: message.into(),
            headers: Box::default(),
            record: true,
        }
    }

    pub fn bad_request(shape: Shape, message: impl Into<String>) -> ApiError {
        ApiError::new(shape, StatusCode::BAD_REQUEST, message)
    }

    pub fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = Some(code);
        self
    }

    pub fn with_type(mut self, openai: &'static str, anthropic: Option<&'static str>) -> ApiError {
        self.openai_type = openai;
        self.anthropic_type = anthropic;
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> ApiError {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self
    }

    /// An answer the ledger does not count (unknown routes, wrong methods).
    pub fn unrecorded(mut self) -> ApiError {
        self.record = false;
        self
    }

    /// An unknown model, in the provider's wording, naming the `nearest` known ids.
    pub fn model_not_found(shape: Shape, model: &str, nearest: &[&str]) -> ApiError {
        let hint = if nearest.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = nearest.iter().map(|n| format!("`{n}`")).collect();
            format!(" Did you mean {}?", names.join(", "))
        };
        match shape {
            Shape::OpenAi => ApiError::new(
                shape,
                StatusCode::NOT_FOUND,
                format!(
                    "The model `{model}` does not exist or you do not have access to it.{hint}"
                ),
            )
            .with_code("model_not_found")
            .with_param("model"),
            Shape::Anthropic => ApiError::new(
                shape,
                StatusCode::NOT_FOUND,
                format!("model: {model}{hint}"),
            ),
        }
    }

    pub fn unauthorized(shape: Shape) -> ApiError {
        match shape {
            Shape::OpenAi => ApiError::new(
                shape,
                StatusCode::UNAUTHORIZED,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            )
            .with_code("invalid_api_key"),
            Shape::Anthropic => ApiError::new(shape, StatusCode::UNAUTHORIZED, "invalid x-api-key"),
        }
    }

    pub fn not_found_route(shape: Shape, method: &str, path: &str) -> ApiError {
        ApiError::new(
            shape,
            StatusCode::NOT_FOUND,
            format!("Unknown request URL: {method} {path}."),
        )
        .with_code("unknown_url")
    }

    pub fn quota(shape: Shape) -> ApiError {
        match shape {
            Shape::OpenAi => ApiError::new(
                shape,
                StatusCode::TOO_MANY_REQUESTS,
                "You exceeded your current quota, please check your plan and billing details.",
            )
            .with_type("insufficient_quota", None)
            .with_code("insufficient_quota"),
            Shape::Anthropic => ApiError::new(
                shape,
                StatusCode::BAD_REQUEST,
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            ),
        }
    }

    /// The JSON body in the provider's shape.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        match self.shape {
            Shape::OpenAi => json!({
                "error": {
                    "message": self.message,
                    "type": self.openai_type,
                    "param": self.param,
                    "code": self.code,
                }
            }),
            Shape::Anthropic => json!({
                "type": "error",
                "error": {
                    "type": self.anthropic_type.unwrap_or_else(|| anthropic_type(self.status)),
                    "message": self.message,
                },
                "request_id": request_id,
            }),
        }
    }
}

impl ApiError {
    /// The full response: status, the body in the provider's shape with `request_id`, and the
    /// error's headers.
    pub fn render(&self, request_id: &str) -> Response {
        let body = self.body(request_id).to_string();
        let mut resp = (self.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in self.headers.iter() {
            headers.insert(k.clone(), v.clone());
        }
        resp
    }
}

/// Handlers return `Result<_, ApiError>`; the response carries the error itself so that the
/// [`crate::pipeline::track`] layer can record it and render it with the request id.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = self.render("req_unknown");
        resp.extensions_mut().insert(self);
        resp
    }
}
