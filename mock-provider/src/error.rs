//! Errors in each provider's wire shape (provider-facts.md, "Rate limits and errors").

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Which provider's conventions a response follows. Chosen by path: `/v1/messages*` is
/// Anthropic, `/v1beta/*`, `/v1/cachedContents*` and `/v1/models/{model}:{method}` Google's
/// Gemini API, everything else OpenAI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Shape {
    pub fn from_path(path: &str) -> Shape {
        if path.starts_with("/v1/messages") {
            Shape::Anthropic
        } else if path.starts_with("/v1beta/")
            || path.starts_with("/v1/cachedContents")
            || (path.starts_with("/v1/models/") && path.contains(':'))
        {
            Shape::Gemini
        } else {
            Shape::OpenAi
        }
    }
}

/// Google's canonical status name for an HTTP status (google.rpc.Code as the Gemini API
/// answers it: <https://ai.google.dev/gemini-api/docs/troubleshooting>).
pub fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 | 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
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
        // Google has no 529: an overloaded model is 503 UNAVAILABLE.
        let status = match shape {
            Shape::Gemini if status.as_u16() == 529 => StatusCode::SERVICE_UNAVAILABLE,
            _ => status,
        };
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
            Shape::Gemini => ApiError::new(
                shape,
                StatusCode::NOT_FOUND,
                format!(
                    "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.{hint}"
                ),
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
            // Google answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
            Shape::Gemini => ApiError::bad_request(
                shape,
                "API key not valid. Please pass a valid API key.",
            )
            .with_code("API_KEY_INVALID"),
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
            Shape::Gemini => ApiError::new(
                shape,
                StatusCode::TOO_MANY_REQUESTS,
                "You exceeded your current quota, please check your plan and billing details.",
            )
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
            Shape::Gemini => self.google_body(),
        }
    }

    /// `{"error": {code, message, status, details}}` (<https://cloud.google.com/apis/design/errors>);
    /// a retryable answer carries `google.rpc.RetryInfo` with the delay of its `retry-after-ms`
    /// header, as the Gemini API's 429s do.
    fn google_body(&self) -> serde_json::Value {
        let mut details = Vec::new();
        if let Some(reason) = self
            .code
            .filter(|c| c.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }));
        }
        let retry_ms = self
            .headers
            .get("retry-after-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(ms) = retry_ms {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{}s", ms.div_ceil(1000).max(1)),
            }));
        }
        let status = self.status;
        let mut error = json!({
            "code": status.as_u16(),
            "message": self.message,
            "status": google_status(status),
        });
        if !details.is_empty() {
            error["details"] = serde_json::Value::Array(details);
        }
        json!({ "error": error })
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
