//! burnrate-mock: an OpenAI- and Anthropic-compatible mock LLM provider with latency, faults,
//! rate limits, prompt caching and a cost ledger priced with the simulator's catalog
//! ([`burnrate_sim::Catalog::builtin`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let config = burnrate_mock::MockConfig::from_toml_str("seed = 7\ntime_scale = 0.0").unwrap();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! burnrate_mock::serve(config, listener, std::future::pending()).await
//! # }
//! ```
//!
//! # Endpoints
//! OpenAI: `POST /v1/chat/completions`, `POST /v1/responses`, `POST /v1/embeddings`,
//! `GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/files`, `GET /v1/files/{id}`,
//! `GET /v1/files/{id}/content`, `POST /v1/batches`, `GET /v1/batches` (list), `GET /v1/batches/{id}`.
//! Anthropic: `POST /v1/messages`, `POST /v1/messages/count_tokens`,
//! `POST /v1/messages/batches`, `GET /v1/messages/batches/{id}`,
//! `GET /v1/messages/batches/{id}/results`.
//! Gemini (under `/v1beta` and `/v1`): `POST models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:countTokens`, `:embedContent`, `:batchEmbedContents`;
//! `POST`/`GET cachedContents`, `GET`/`PATCH`/`DELETE cachedContents/{id}` (docs/gemini.md).
//! Control: `GET /healthz`, `GET /metrics`, `GET /_mock/usage`, `POST /_mock/reset`,
//! `GET`/`PUT /_mock/config` (JSON or TOML in the config-file format; replaces the whole config
//! except the body limit, which is fixed at start).
//!
//! Errors use the calling provider's shape, chosen by path: `/v1/messages*` is Anthropic, the
//! Gemini paths Google's (`{"error": {code, message, status, details}}`), everything else OpenAI.
//!
//! # Request headers the mock understands
//! - `x-mock-fault: 429|500|502|503|529|timeout|malformed|stream_cut|stream_error|quota` forces a fault.
//! - `x-mock-output-tokens: N` makes the reply exactly N tokens (capped by `max_tokens`).
//! - `x-mock-reasoning-tokens: N` replaces the reasoning draw (still 0 where the request asks
//!   for no reasoning, still capped by the thinking budget and `max_tokens`).
//! - `x-mock-tool-rounds: N` (0..=100) replaces the model's `tool_rounds` (docs/mock-frameworks.md).
//! - Answers whose structured output could only be a best effort carry `x-mock-warning`.
//! - `x-mock-step: NAME` labels the request in the request log (`step`).
//! - `x-mock-task: ID` names the task the request belongs to in the request log (`task`), so
//!   calls can be counted per task (e.g. by `burnrate calibrate`).
//! - `x-stainless-retry-count` (sent by the official SDKs) counts retries in the ledger.
//!
//! # Config (TOML)
//! ```toml
//! seed = 42                 # every random draw derives from it
//! time_scale = 1.0          # latency multiplier; 0 = instant
//! limit_clock_speedup = 1.0 # the rate limits' clock runs this many times the wall clock
//!                           # (buckets, retry-after, resets); = drive's --speedup to compare
//! accept_unknown_models = false
//! api_keys = ["sk-test"]    # empty or absent: no key check
//! admin_key = "sk-admin"    # needed on /_mock/* when api_keys is set (default: any api key)
//! body_limit_bytes = 33554432
//! spend_cap_usd = 5.0       # past it: the provider's quota error
//! usage_tier = "build"     # published limits of each model's class; its monthly cap if no spend_cap_usd
//! request_log = "requests.jsonl"
//! batch_completion_s = 1.0
//! openai_cache_ttl_s = 600
//! content = "lorem"         # lorem | echo | fixtures
//!
//! [[fixtures]]              # used when content = "fixtures"
//! match = "weather"         # substring of the last user message
//! text = "Sunny, 21 C."     # or: tool_calls = [{ name = "get_weather", arguments = { city = "Paris" } }]
//!
//! [defaults]                # applies to every model; [models."<id or alias>"] overrides per model
//! ttft = { dist = "lognormal", mean = 0.5, cv = 0.3 }        # seconds; default: the catalog's
//! inter_token = { dist = "constant", value = 0.01 }          # seconds between tokens
//! output_tokens = { dist = "lognormal", mean = 150, cv = 0.6 }
//! reasoning_tokens = { dist = "lognormal", mean = 400, cv = 0.8 }  # reasoning models, x effort
//! slowdown_per_inflight = 0.0   # latency x (1 + k * requests in flight)
//! tool_rounds = 1               # tool rounds a turn takes under tool_choice auto (0..=100)
//! rpm = 10000                   # 0 = unlimited; default: the catalog's limits
//! tpm = 2000000                 # OpenAI style; input_tpm / output_tpm for Anthropic style
//! # [models."id"] only: usage_tier = "tier-3" (strict), rate_limit_pool = "name" (shared buckets)
//!
//! [defaults.faults]             # probabilities per request, seeded
//! rate_limit = 0.01             # 429 with retry-after, retry-after-ms and rate-limit headers
//! server_error = 0.0            # 500
//! bad_gateway = 0.0             # 502
//! unavailable = 0.0             # 503
//! overloaded = 0.0              # 529
//! timeout = 0.0                 # hang timeout_s x time_scale, then 504 (see Faults below)
//! malformed = 0.0               # truncated JSON body / broken SSE event
//! stream_cut = 0.0              # connection dropped mid-body
//! stream_error = 0.0            # in-stream error event (500 when not streaming)
//! retry_after_ms = 1000
//! timeout_s = 30               # scaled by time_scale; time_scale = 0: an immediate 504
//!
//! [models."gpt-4o-mini"]
//! script = ["429", "429", "ok"] # the first calls, then the probabilities
//!
//! [prices."acme-large"]         # a model added to the catalog: a scenario's [models.NAME] fields
//! provider = "openai"
//! input_usd_per_mtok = 1.5
//! output_usd_per_mtok = 6.0
//!
//! [keys."sk-test"]              # per-key limits (each model's bucket for that key)
//! rpm = 60
//!
//! [server_limits]               # resource limits (defaults shown; the old name [limits] is still read)
//! header_read_timeout_s = 10    # also closes kept-alive connections idle this long
//! idle_timeout_s = 60           # no byte either way this long: connection closed
//! max_connections = 10000       # at most the open-file limit - 64; more wait in the backlog
//! max_model_name_bytes = 256    # longer: 400
//! max_api_key_bytes = 256       # longer: 400
//! max_stored_file_bytes = 268435456  # uploaded + batch output files kept in memory
//! tool_schema_max_depth = 8     # nesting of generated tool arguments
//! tokenize_timeout_s = 10       # past it: 400 (prompts > 64 KiB tokenize off the async threads)
//! ```
//! # Faults and billing
//! Injected errors answered before the model runs (429, 500, 502, 503, 529, quota, and
//! `stream_error` on a non-streamed call) are recorded in the ledger with no tokens and no
//! cost. A `timeout` hangs `timeout_s` seconds times `time_scale` (no hang at all when
//! `time_scale = 0`, for CI), then answers 504 (`timeout_error` in Anthropic's shape,
//! `server_error` in OpenAI's); since the provider processed the prompt, it is billed its input
//! tokens, with the prompt cache applied as for a normal call (reads and writes), and no
//! output. `malformed`, `stream_cut` and `stream_error` (streamed) happen after the model ran:
//! they are billed like a success (streams cut or failed mid-way: half the planned output),
//! and the request log carries the billed token counts even though the broken body does not.
//!
//! Distributions are spelled as in scenarios: `{ dist = "constant", value }`,
//! `{ dist = "uniform", low, high }`, `{ dist = "normal", mean, sd }` (truncated at 0),
//! `{ dist = "lognormal", mean, cv }`. The mock's first spelling (`kind` for `dist`, `min`/`max`
//! for the uniform range) is still read, with a warning naming the field and the new form (on
//! stderr at start, in `x-mock-warning` from `PUT /_mock/config`); scenarios' `min`/`max`
//! clamps are refused here, since the mock does not clamp.
//!
//! # Request log (JSONL, one object per request, when `request_log` is set)
//! | field | meaning |
//! |---|---|
//! | `ts` | RFC 3339 UTC time the request finished |
//! | `request_id` | the id sent in `x-request-id` / `request-id` |
//! | `provider` | `openai` or `anthropic` (the wire format used) |
//! | `api` | `chat.completions`, `responses`, `embeddings`, `messages`, `count_tokens`, `batch`, ... |
//! | `model` | catalog id the request was priced as |
//! | `requested_model` | the name the client sent (alias or id) |
//! | `key` | API key, `(none)` when absent |
//! | `step` | the `x-mock-step` header, or null |
//! | `task` | the `x-mock-task` header, or null |
//! | `stream`, `batch` | booleans |
//! | `status` | HTTP status (200 also for streams cut or failed mid-way; see `error`) |
//! | `error` | fault or error kind, or null (`timeout`: status 504, input tokens billed) |
//! | `retry_count` | `x-stainless-retry-count` |
//! | `service_tier` | price list billed: `standard`, `flex`, `priority`, `batch` |
//! | `input_tokens` | uncached input tokens |
//! | `cache_write_tokens`, `cache_write_5m_tokens`, `cache_write_30m_tokens`, `cache_write_1h_tokens`, `cache_write_24h_tokens` | cache writes (Anthropic 5m/1h; OpenAI GPT-5.6+ 30m, or 24h with `prompt_cache_retention: "24h"`; 0 for older OpenAI models, whose writes are plain input) |
//! | `cache_read_tokens` | cached input tokens (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`) |
//! | `output_tokens` | output tokens billed, reasoning included |
//! | `reasoning_tokens` | the reasoning (thinking) part of `output_tokens` |
//! | `cost_usd`, `cost_pusd` | cost with the catalog (pico-USD exact) |
//! | `latency_ms` | from request start to the last byte handed to the connection |
//!
//! Total input tokens of a call = `input_tokens + cache_write_tokens + cache_read_tokens` for
//! both providers.
//!
//! # Token counting
//! Exact tiktoken counts (`o200k_base`; `cl100k_base` for embeddings models) for OpenAI
//! models, with tiktoken's chat accounting: 3 tokens per message, the role, the content, 1 more
//! for a `name`, and 3 priming the reply. Claude models have no offline tokenizer: the mock's
//! documented approximation is the same `o200k_base` count (real Claude counts run roughly
//! 10-30% higher for English), 3 tokens per message; tool definitions count as their name,
//! description and JSON schema text; images count 1,600 tokens.
//!
//! # Prompt caching
//! OpenAI: automatic prefix caching in 128-token steps from 1,024 tokens, scoped by model, key
//! and `prompt_cache_key`; from GPT-5.6, `prompt_cache_options` and exact
//! `prompt_cache_breakpoint`s, writes reported and billed at the 30-minute price. An entry is
//! readable once the response that wrote it began (its first token). Anthropic: explicit `cache_control` breakpoints (at most 4), a 20-block
//! lookback, 5-minute and 1-hour TTLs refreshed on a hit.
//!
//! # Rate limits
//! Buckets per (API key, model), refilled continuously (an idle minute restores a full
//! minute's allowance). The token buckets are charged with the
//! request's total input tokens and its planned output at admission (Anthropic's ITPM is
//! therefore charged for cache reads too, a conservative simplification).

mod admin;
mod anthropic;
mod batch;
mod bill;
mod cache;
mod config;
mod dist;
mod error;
mod gemini;
mod logprobs;
mod openai;
mod pipeline;
mod plan;
mod ratelimit;
mod reqlog;
mod schema;
mod server;
mod state;
mod streaming;
mod tokens;
mod validate;
mod window;

pub use config::{ConfigError, MockConfig, RawConfig};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use state::AppState;
use std::future::Future;
use std::sync::Arc;

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("cannot open the request log: {0}")]
    RequestLog(std::io::Error),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// The router over a ready state.
fn router_with_state(state: Arc<AppState>) -> Router {
    let body_limit = state.config().body_limit_bytes;
    Router::new()
        .route("/v1/chat/completions", post(openai::chat::chat))
        .route("/v1/responses", post(openai::responses::responses))
        .route("/v1/embeddings", post(openai::embeddings::embeddings))
        .route("/v1/models", get(openai::models::list_models))
        // POST `/v1/models/{model}:{method}` is the Gemini API (google-genai 3.x uses v1).
        .route(
            "/v1/models/{id}",
            get(openai::models::get_model).post(gemini::model_method),
        )
        .route("/v1/files", post(batch::openai::upload_file))
        .route("/v1/files/{id}", get(batch::openai::file_meta))
        .route("/v1/files/{id}/content", get(batch::openai::file_content))
        .route(
            "/v1/batches",
            post(batch::openai::create_batch).get(batch::openai::list_batches),
        )
        .route("/v1/batches/{id}", get(batch::openai::get_batch))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route(
            "/v1/messages/batches",
            post(batch::anthropic::create_message_batch),
        )
        .route(
            "/v1/messages/batches/{id}",
            get(batch::anthropic::get_message_batch),
        )
        .route(
            "/v1/messages/batches/{id}/results",
            get(batch::anthropic::message_batch_results),
        )
        .route("/v1beta/models/{*rest}", post(gemini::model_method))
        .merge(gemini_caches("/v1beta"))
        .merge(gemini_caches("/v1"))
        .route("/healthz", get(admin::healthz))
        .route("/metrics", get(admin::metrics))
        .route("/_mock/usage", get(admin::usage))
        .route("/_mock/reset", post(admin::reset))
        .route(
            "/_mock/config",
            get(admin::get_config).put(admin::put_config),
        )
        .fallback(admin::fallback)
        .method_not_allowed_fallback(admin::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pipeline::track,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Gemini's `cachedContents` routes under an API version prefix.
fn gemini_caches(prefix: &str) -> Router<Arc<AppState>> {
    Router::new()
        .route(
            &format!("{prefix}/cachedContents"),
            post(gemini::create_cache).get(gemini::list_caches),
        )
        .route(
            &format!("{prefix}/cachedContents/{{id}}"),
            get(gemini::get_cache)
                .patch(gemini::update_cache)
                .delete(gemini::delete_cache),
        )
}

/// Builds the state and the router; fails only when the request log cannot be opened.
pub fn try_router(config: MockConfig) -> Result<Router, MockError> {
    let state = AppState::new(config).map_err(MockError::RequestLog)?;
    Ok(router_with_state(Arc::new(state)))
}

/// The mock as an axum router. If the configured request log cannot be opened, the router
/// runs without it (use [`try_router`] to get the error instead).
pub fn router(config: MockConfig) -> Router {
    let mut fallback = config.clone();
    match try_router(config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("burnrate-mock: {e}; running without the request log");
            fallback.request_log = None;
            let state = AppState::new(fallback).unwrap_or_else(|_| unreachable_state());
            router_with_state(Arc::new(state))
        }
    }
}

fn unreachable_state() -> AppState {
    // Without a request log, AppState::new cannot fail.
    AppState::new(MockConfig {
        request_log: None,
        ..MockConfig::default()
    })
    .expect("state without a request log")
}

/// Serves the mock on `listener` until `shutdown` resolves, then lets open requests and
/// streams finish.
pub async fn serve(
    config: MockConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = config.limits;
    let app = try_router(config).map_err(|e| std::io::Error::other(e.to_string()))?;
    server::run(app, listener, limits, shutdown).await
}
