//! The agent, played for real: every decision comes from `burnrate_sim::agent` (the engine's
//! policy, drawn in the engine's order); this module only makes the calls and books what they
//! cost.
//!
//! What comes from where:
//! - 429 / 5xx / 504 / client timeouts / unreadable bodies come from the endpoint (configure
//!   the mock with the scenario's rates); the agent only reacts to them.
//! - Tool errors are the agent's own tools failing: drawn here, conditional on a successful
//!   response, with probability `tool_error / P(success)` so the unconditional rate is the
//!   scenario's when the endpoint fails at the scenario's rates.
//! - Cost is counted only from the `usage` each response returns, priced with the catalog. A
//!   response whose body cannot be read (malformed) and a timeout carry no usage, though a
//!   provider bills both: they are counted in `unpriced`, and the measured cost is then a lower
//!   bound (against the mock, the endpoint ledger has what it billed).

use crate::wire::{CallSpec, Reply, Wire};
use burnrate_sim::agent::{
    self, AfterSteps, BreakerState, CallKind, CallSetup, Next, OutputDraw, TaskState, Tier,
};
use burnrate_sim::{CacheTtl, Provider, Scenario, TokenCounts, ceilings};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Shared state of one drive run.
pub(crate) struct Ctx {
    pub sc: Scenario,
    pub kind_cumulative: Vec<f64>,
    pub wire: Wire,
    pub speedup: f64,
    pub started: Instant,
    pub breakers: Mutex<Vec<BreakerState>>,
    pub day_spend: Mutex<BTreeMap<u64, u128>>,
    /// Per step line names: steps, then "router", then "summarize".
    pub lines: Vec<String>,
    /// Set when the endpoint is found dead: tasks stop before their next attempt.
    pub abandoned: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Succeeded,
    Failed,
    Partial,
    Prefiltered,
    Rejected,
}

/// What one task did.
#[derive(Debug, Default, Clone)]
pub(crate) struct TaskRecord {
    pub end: Option<End>,
    pub cost_pusd: u128,
    pub tokens: u64,
    pub calls: u64,
    pub retries: u64,
    /// Calls that met a simulated limit (a mock 429 with `x-mock-rate-limited`) at least
    /// once and waited it out: the engine's `rate_limit_waits`.
    pub limit_waits: u64,
    pub cost_by_line: BTreeMap<usize, u128>,
    pub errors: BTreeMap<&'static str, u64>,
    pub cache_lookups: u64,
    pub cache_hits: u64,
    pub unpriced: u64,
    /// Call time (real) plus backoff waits (scenario seconds).
    pub latency_s: f64,
    pub fatal: Option<String>,
    /// Went through the classifier; was escalated; succeeded on the cheap tier.
    pub routed: bool,
    pub escalated: bool,
    pub resolved_cheap: bool,
}

struct Task {
    a: TaskState,
    day: u64,
    index: u64,
    rec: TaskRecord,
}

/// A call waits out a simulated limit at most this many times (then it fails as a 429): a
/// limit that never admits it cannot hang the run.
const MAX_LIMIT_WAITS_PER_CALL: u32 = 10_000;

/// One call a task makes: what for, on which model, with which input.
struct CallRequest {
    kind: CallKind,
    model: usize,
    prefix_tokens: u64,
    body_tokens: u64,
}

/// How one answered attempt ended.
struct AttemptEnd {
    /// The failure's kind (`None`: it succeeded).
    failed: Option<&'static str>,
    /// A content failure (retried with a grown context), not a transport one (backoff).
    content: bool,
    /// Output tokens the attempt wrote.
    output_tokens: u64,
}

/// The client's timeout of a call: the step's `timeout_s`, else 60 s.
fn timeout_s(setup: &CallSetup) -> f64 {
    if setup.failures.timeout_s > 0.0 {
        setup.failures.timeout_s
    } else {
        60.0
    }
}

/// The chance a good answer's tool call fails: the step's tool-error rate is over all
/// attempts, and a tool can only fail after an answer that is not a failure of another kind.
fn tool_error_given_ok(setup: &CallSetup) -> f64 {
    let f = &setup.failures;
    let p_ok = (1.0 - f.malformed - f.rate_limit - f.server_error - f.timeout).max(1e-9);
    (f.tool_error / p_ok).min(1.0)
}

/// How a call ended for the task.
enum CallEnd {
    /// Output tokens of the successful attempt.
    Ok(u64),
    GaveUp {
        breaker: bool,
    },
    Stop,
}

/// How a step call (and its tool result) ended, when not in success.
enum StepEnd {
    /// The step's call gave up (the caller decides about escalation).
    GaveUp { breaker: bool },
    /// Something else gave up (the summarizer): the task fails.
    Failed,
    /// A budget or the daily cap stopped the task.
    Stop,
}

impl Ctx {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn day_spend(&self, day: u64) -> u128 {
        Self::lock(&self.day_spend).get(&day).copied().unwrap_or(0)
    }

    /// Scenario time since the start, µs (real time times the speedup): the breaker's clock.
    fn now_us(&self) -> u64 {
        (self.started.elapsed().as_secs_f64() * self.speedup * 1e6) as u64
    }

    fn must_stop(&self, t: &Task) -> bool {
        agent::must_stop(
            &self.sc.limits,
            t.rec.tokens,
            t.rec.cost_pusd,
            self.day_spend(t.day),
            t.rec.calls,
        )
    }

    /// Plays one call with its retries. Returns how it ended.
    async fn play_call(&self, t: &mut Task, rng: &mut Pcg64Mcg, req: CallRequest) -> CallEnd {
        let sc = &self.sc;
        let setup = req.kind.setup(sc);
        let max_retries = agent::max_retries(&sc.limits);
        let scale = match req.kind {
            CallKind::Step(_) => t.a.scale(sc),
            CallKind::Router | CallKind::Summarize(_) => 1.0,
        };
        let mut body = req.body_tokens;
        let mut attempt = 0u32;
        let mut content_retries = 0u32;
        let mut limit_waits = 0u32;
        // Bounded: every pass makes an attempt, and attempts stop at `max_retries`; waits for
        // a limit stop at `MAX_LIMIT_WAITS_PER_CALL`.
        loop {
            if self.must_stop(t) || self.abandoned.load(std::sync::atomic::Ordering::Relaxed) {
                return CallEnd::Stop;
            }
            if Self::lock(&self.breakers)[req.model].is_open(self.now_us()) {
                *t.rec.errors.entry("breaker_open").or_default() += 1;
                return CallEnd::GaveUp { breaker: true };
            }
            // The engine's draw (`agent::draw_output`): reasoning inside the cap, billed as
            // output, so the wire is asked for both.
            let drawn = agent::draw_output(sc, req.kind, 1, scale, rng);
            let written = drawn.output + drawn.reasoning;
            let cs = CallSpec {
                model: &sc.models[req.model],
                tier: sc.billing(setup.billing_step, req.model, false).tier,
                step: sc.line_name(setup.line),
                line: setup.line,
                prefix_tokens: req.prefix_tokens,
                body_tokens: body,
                output_tokens: written,
                max_tokens: drawn.output_cap.unwrap_or(written.max(1)),
                cache: self.cache_ttl(&setup, req.model),
                retry_count: attempt,
                timeout: Duration::from_secs_f64(timeout_s(&setup).clamp(0.001, 3600.0)),
                task: t.index,
            };
            let (reply, elapsed) = self.wire.call(&cs, rng).await;
            if let Reply::LimitWait { wait_s } = reply
                && limit_waits < MAX_LIMIT_WAITS_PER_CALL
            {
                // The engine's queue at a full bucket: no attempt spent, no breaker record.
                if limit_waits == 0 {
                    t.rec.limit_waits += 1;
                }
                limit_waits += 1;
                t.rec.latency_s += elapsed.as_secs_f64() + wait_s;
                tokio::time::sleep(Duration::from_secs_f64(
                    (wait_s / self.speedup).clamp(0.0, 3600.0),
                ))
                .await;
                continue;
            }
            t.rec.calls += 1;
            t.rec.latency_s += elapsed.as_secs_f64();
            if attempt > 0 {
                t.rec.retries += 1;
            }
            let attempt_end = match &reply {
                Reply::Fatal(status, text) => {
                    *t.rec.errors.entry("client_error").or_default() += 1;
                    if t.rec.fatal.is_none() {
                        t.rec.fatal = Some(format!("HTTP {status}: {text}"));
                    }
                    return CallEnd::GaveUp { breaker: false };
                }
                reply => self.record_reply(t, rng, &req, &setup, reply, &drawn),
            };
            if let Some(b) = &sc.limits.breaker {
                let now = self.now_us();
                let failed = attempt_end.failed.is_some();
                Self::lock(&self.breakers)[req.model].record(b, failed, now);
            }
            let Some(kind_name) = attempt_end.failed else {
                return CallEnd::Ok(attempt_end.output_tokens);
            };
            *t.rec.errors.entry(kind_name).or_default() += 1;
            if attempt >= max_retries {
                return CallEnd::GaveUp { breaker: false };
            }
            if attempt_end.content {
                // Retry with the failed attempt and the error appended: the context grows.
                let growth = match req.kind {
                    CallKind::Step(s) => agent::retry_growth(
                        &sc.steps[s as usize],
                        content_retries,
                        attempt_end.output_tokens,
                        rng,
                    ),
                    _ => 0,
                };
                content_retries += 1;
                body = (body + growth).min(ceilings::MAX_CONTEXT_TOKENS);
            } else {
                let wait_s = agent::backoff_s(&sc.limits, attempt, rng);
                t.rec.latency_s += wait_s;
                tokio::time::sleep(Duration::from_secs_f64(
                    (wait_s / self.speedup).clamp(0.0, 3600.0),
                ))
                .await;
            }
            attempt += 1;
        }
    }

    /// The cache lifetime a call asks for, when its prefix may be cached at all.
    fn cache_ttl(&self, setup: &CallSetup, model: usize) -> Option<CacheTtl> {
        let sc = &self.sc;
        (sc.caching.enabled && setup.cacheable).then(|| sc.cache_ttl(setup.billing_step, model))
    }

    /// Records one answered attempt on the task (its bill, tokens and cache use on success) and
    /// says whether and how it failed. A tool error after a good answer is drawn here, with
    /// the probability that makes its unconditional rate the step's.
    fn record_reply(
        &self,
        t: &mut Task,
        rng: &mut Pcg64Mcg,
        req: &CallRequest,
        setup: &CallSetup,
        reply: &Reply,
        drawn: &OutputDraw,
    ) -> AttemptEnd {
        let failed = |kind, content, output_tokens| AttemptEnd {
            failed: Some(kind),
            content,
            output_tokens,
        };
        let (tokens, cache_write_1h, output) = match reply {
            Reply::Ok {
                tokens,
                cache_write_1h,
                output,
                // The reasoning was asked for as output (it bills alike); like the engine, it
                // does not enter the context.
            } => (
                tokens,
                *cache_write_1h,
                output.saturating_sub(drawn.reasoning),
            ),
            Reply::Malformed => {
                t.rec.unpriced += 1;
                return failed("malformed", true, drawn.output);
            }
            Reply::Timeout => {
                t.rec.unpriced += 1;
                return failed("timeout", false, 0);
            }
            other => return failed(other.kind(), false, 0),
        };
        let sc = &self.sc;
        let spec = &sc.models[req.model];
        // One bill for the whole call, as the engine bills it: the step's tier and region
        // (`Scenario::billing`), the long-context threshold on every input token, Anthropic's
        // writes split by the TTL the wire reported.
        let billing = sc.billing(setup.billing_step, req.model, false);
        let ttl = if spec.provider == Provider::Anthropic {
            CacheTtl::FiveMinutes
        } else {
            billing.ttl
        };
        let cost = u128::from(
            spec.bill_writes(
                &TokenCounts {
                    cache_write: 0,
                    ..*tokens
                },
                &[
                    (ttl, tokens.cache_write - cache_write_1h),
                    (CacheTtl::OneHour, cache_write_1h),
                ],
                &billing,
            )
            .total(),
        );
        t.rec.cost_pusd += cost;
        *t.rec.cost_by_line.entry(setup.line).or_default() += cost;
        *Self::lock(&self.day_spend).entry(t.day).or_default() += cost;
        t.rec.tokens += tokens.total_input() + tokens.output;
        // A cache lookup: a cacheable call whose prefix reaches the model's minimum.
        if sc.caching.enabled && setup.cacheable && spec.cacheable_tokens(req.prefix_tokens) > 0 {
            t.rec.cache_lookups += 1;
            if tokens.cache_read > 0 {
                t.rec.cache_hits += 1;
            }
        }
        if matches!(req.kind, CallKind::Step(_)) && rng.random::<f64>() < tool_error_given_ok(setup)
        {
            return failed("tool_error", true, output);
        }
        AttemptEnd {
            failed: None,
            content: false,
            output_tokens: output,
        }
    }

    /// Plays a whole task with the engine's policy: router, steps with repeats, escalation
    /// (after a give-up or a failed check of the cheap tier's answer, judged once), stuck loop.
    pub(crate) async fn play_task(&self, index: u64, day: u64, seed: u64) -> TaskRecord {
        let sc = &self.sc;
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut rec = TaskRecord::default();
        if agent::prefiltered(sc, &mut rng) {
            rec.end = Some(End::Prefiltered);
            return rec;
        }
        if agent::daily_cap_reached(&sc.limits, self.day_spend(day)) {
            rec.end = Some(End::Rejected);
            return rec;
        }
        let a = TaskState::arrive(sc, &self.kind_cumulative, &mut rng);
        let mut t = Task { a, day, index, rec };
        let end = 'task: {
            if let Some(r) = t.a.routing(sc) {
                t.rec.routed = true;
                let prefix = r.classifier_prefix_tokens.sample_count(&mut rng);
                let body = r.classifier_input_tokens.sample_count(&mut rng);
                let model = r.classifier_model;
                let req = CallRequest {
                    kind: CallKind::Router,
                    model,
                    prefix_tokens: prefix,
                    body_tokens: body,
                };
                match self.play_call(&mut t, &mut rng, req).await {
                    CallEnd::Ok(_) => {}
                    CallEnd::Stop => break 'task End::Partial,
                    CallEnd::GaveUp { .. } => break 'task End::Failed,
                }
                t.a.route(r, &mut rng);
            }
            let mut next = t.a.begin_step(sc, &mut rng);
            // Bounded: every pass makes a call (capped per task by `must_stop`) or ends the
            // task; escalation happens at most once and the stuck loop counts down.
            loop {
                let (step, looping) = match next {
                    Next::Call(s) => (s, false),
                    Next::EndOfSteps => match t.a.end_of_steps(sc, &mut rng) {
                        AfterSteps::Escalated => {
                            t.rec.escalated = true;
                            next = t.a.begin_step(sc, &mut rng);
                            continue;
                        }
                        AfterSteps::Loop(last) => (last, true),
                        AfterSteps::Succeeded => break 'task End::Succeeded,
                    },
                };
                match self.step_call(&mut t, &mut rng, step, looping).await {
                    Ok(()) => next = t.a.next_call(sc, &mut rng),
                    Err(StepEnd::GaveUp { breaker }) if t.a.can_escalate(sc, step, breaker) => {
                        t.rec.escalated = true;
                        t.a.escalate();
                        next = t.a.begin_step(sc, &mut rng);
                    }
                    Err(StepEnd::GaveUp { .. } | StepEnd::Failed) => break 'task End::Failed,
                    Err(StepEnd::Stop) => break 'task End::Partial,
                }
            }
        };
        t.rec.resolved_cheap = t.rec.routed && t.a.tier == Tier::Cheap && end == End::Succeeded;
        t.rec.end = Some(end);
        t.rec
    }

    /// One call of a step and what follows it (tool result, summary).
    async fn step_call(
        &self,
        t: &mut Task,
        rng: &mut Pcg64Mcg,
        s: usize,
        looping: bool,
    ) -> Result<(), StepEnd> {
        let sc = &self.sc;
        let step = &sc.steps[s];
        let scale = t.a.scale(sc);
        let model = t.a.model(sc, s);
        let body = agent::call_body_tokens(sc, step, scale, t.a.context_tokens, looping, rng);
        let prefix = step.prefix_tokens.sample_scaled(rng, scale);
        let req = CallRequest {
            kind: CallKind::Step(s as u32),
            model,
            prefix_tokens: prefix,
            body_tokens: body,
        };
        let output = match self.play_call(t, rng, req).await {
            CallEnd::Ok(o) => o,
            CallEnd::Stop => return Err(StepEnd::Stop),
            CallEnd::GaveUp { breaker } => return Err(StepEnd::GaveUp { breaker }),
        };
        t.a.context_tokens = agent::grow_context(t.a.context_tokens, output);
        if let Some(tool) = &step.tool_result_tokens {
            let tool_tokens = tool.sample_scaled(rng, scale);
            if let Some(sm) = &step.summarize {
                let req = CallRequest {
                    kind: CallKind::Summarize(s as u32),
                    model: sm.model,
                    prefix_tokens: 0,
                    body_tokens: tool_tokens,
                };
                match self.play_call(t, rng, req).await {
                    // Like the engine: the summary enters the context uncapped.
                    CallEnd::Ok(o) => t.a.context_tokens += o,
                    CallEnd::Stop => return Err(StepEnd::Stop),
                    CallEnd::GaveUp { .. } => return Err(StepEnd::Failed),
                }
            } else {
                t.a.context_tokens = agent::grow_context(t.a.context_tokens, tool_tokens);
            }
        }
        Ok(())
    }
}
