//! burnrate-drive: plays a scenario's agent as a real HTTP client against an OpenAI- or
//! Anthropic-compatible endpoint (the mock, or a real provider) and compares what it measured
//! with what the simulator predicts, as a typed [`DriveReport`] (rendered by burnrate-reports).
//!
//! The agent's decisions are the engine's own (`burnrate_sim::agent`): task kinds by share, a
//! stuck share that loops on its last step, routing (classifier call, tier, one quality check
//! of the cheap tier's answer, escalation), steps in order with drawn repeat counts, fresh or
//! accumulated context, tool results (optionally summarized by a cheap model), budgets checked
//! before every attempt, a per-model circuit breaker, content retries that append the failed
//! output and an error message, transport retries after exponential backoff with jitter.
//! Arrivals are the simulator's own arrival process. What this crate adds is the wire: prompts
//! of the drawn token counts ([`prompt`](crate)), both providers' request and usage formats,
//! and the figures.

mod agent_loop;
mod fetch;
mod figures;
mod prompt;
mod run;
mod wire;

pub use burnrate_sim::DriveReport;
pub use fetch::{FetchError, fetch_text, is_url};
pub use run::{DriveError, DriveOptions, Driven, MAX_CONCURRENCY, MAX_TASKS, check_options, drive};
