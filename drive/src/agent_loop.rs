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
use burnrate_sim::agent::{self, AfterSteps, BreakerState, Next, TaskState, Tier};
use burnrate_sim::{CacheTtl, FailureRates, Provider, Scenario, TokenCounts, ceilings};
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

#[derive(Clone, Copy)]
enum CallKind {
    Step(usize),
    Router,
    Summarize(usize),
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
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the engine's new_call (task, its rng, kind, model, prefix, body): the shared per-call setup of issue 20 point 4 would replace both"
    )]
    async fn play_call(
        &self,
        t: &mut Task,
        rng: &mut Pcg64Mcg,
        kind: CallKind,
        model: usize,
        prefix: u64,
        mut body: u64,
    ) -> CallEnd {
        let sc = &self.sc;
        let spec = &sc.models[model];
        let step_index = match kind {
            CallKind::Step(s) => Some(s),
            CallKind::Router | CallKind::Summarize(_) => None,
        };
        let (line, failures, cacheable, step_name) = match kind {
            CallKind::Step(s) => (
                s,
                sc.steps[s].failures,
                sc.steps[s].cache,
                sc.steps[s].name.as_str(),
            ),
            CallKind::Router => (sc.steps.len(), FailureRates::default(), true, "router"),
            CallKind::Summarize(_) => (
                sc.steps.len() + 1,
                FailureRates::default(),
                false,
                "summarize",
            ),
        };
        let cache = (sc.caching.enabled && cacheable)
            .then(|| sc.cache_ttl((line < sc.steps.len()).then_some(line), model));
        let max_retries = agent::max_retries(&sc.limits);
        let timeout_s = if failures.timeout_s > 0.0 {
            failures.timeout_s
        } else {
            60.0
        };
        let p_ok = (1.0
            - failures.malformed
            - failures.rate_limit
            - failures.server_error
            - failures.timeout)
            .max(1e-9);
        let tool_error_given_ok = (failures.tool_error / p_ok).min(1.0);
        let scale = t.a.scale(sc);
        let mut attempt = 0u32;
        let mut content_retries = 0u32;
        // Bounded: every pass makes an attempt, and attempts stop at `max_retries`.
        loop {
            if self.must_stop(t) || self.abandoned.load(std::sync::atomic::Ordering::Relaxed) {
                return CallEnd::Stop;
            }
            if Self::lock(&self.breakers)[model].is_open(self.now_us()) {
                *t.rec.errors.entry("breaker_open").or_default() += 1;
                return CallEnd::GaveUp { breaker: true };
            }
            let output = match kind {
                CallKind::Step(s) => {
                    let step = &sc.steps[s];
                    let o = step.output_tokens.sample_scaled(rng, scale);
                    (o, step.max_tokens.unwrap_or(o.max(1)))
                }
                CallKind::Router => {
                    let r = sc.routing.as_ref().expect("router calls need routing");
                    let o = r.classifier_output_tokens.sample_count(rng);
                    (o, o.max(1))
                }
                CallKind::Summarize(s) => {
                    let sm = sc.steps[s]
                        .summarize
                        .as_ref()
                        .expect("summarize calls need it");
                    let o = sm.output_tokens.sample_count(rng);
                    (o, o.max(1))
                }
            };
            let cs = CallSpec {
                model: spec,
                tier: sc.billing(step_index, model, false).tier,
                step: step_name,
                line,
                prefix_tokens: prefix,
                body_tokens: body,
                output_tokens: output.0,
                max_tokens: output.1,
                cache,
                retry_count: attempt,
                timeout: Duration::from_secs_f64(timeout_s.clamp(0.001, 3600.0)),
                task: t.index,
            };
            let (reply, elapsed) = self.wire.call(&cs, rng).await;
            t.rec.calls += 1;
            t.rec.latency_s += elapsed.as_secs_f64();
            if attempt > 0 {
                t.rec.retries += 1;
            }
            let mut out_tokens = 0;
            let mut failed_kind: Option<&'static str> = None;
            let mut content = false;
            match &reply {
                Reply::Ok {
                    tokens,
                    cache_write_1h,
                    output,
                } => {
                    // One bill for the whole call, as the engine bills it: the step's tier
                    // and region (`Scenario::billing`), the long-context threshold on every
                    // input token, Anthropic's writes split by the TTL the wire reported.
                    let billing = sc.billing(step_index, model, false);
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
                                (CacheTtl::OneHour, *cache_write_1h),
                            ],
                            &billing,
                        )
                        .total(),
                    );
                    t.rec.cost_pusd += cost;
                    *t.rec.cost_by_line.entry(line).or_default() += cost;
                    *Self::lock(&self.day_spend).entry(t.day).or_default() += cost;
                    t.rec.tokens += tokens.total_input() + tokens.output;
                    if cache.is_some() && spec.cacheable_tokens(prefix) > 0 {
                        t.rec.cache_lookups += 1;
                        if tokens.cache_read > 0 {
                            t.rec.cache_hits += 1;
                        }
                    }
                    out_tokens = *output;
                    if matches!(kind, CallKind::Step(_))
                        && rng.random::<f64>() < tool_error_given_ok
                    {
                        failed_kind = Some("tool_error");
                        content = true;
                    }
                }
                Reply::Malformed => {
                    t.rec.unpriced += 1;
                    out_tokens = output.0.min(output.1);
                    failed_kind = Some("malformed");
                    content = true;
                }
                Reply::Fatal(status, text) => {
                    *t.rec.errors.entry("client_error").or_default() += 1;
                    if t.rec.fatal.is_none() {
                        t.rec.fatal = Some(format!("HTTP {status}: {text}"));
                    }
                    return CallEnd::GaveUp { breaker: false };
                }
                Reply::Timeout => {
                    t.rec.unpriced += 1;
                    failed_kind = Some("timeout");
                }
                other => failed_kind = Some(other.kind()),
            }
            if let Some(b) = &sc.limits.breaker {
                let now = self.now_us();
                Self::lock(&self.breakers)[model].record(b, failed_kind.is_some(), now);
            }
            let Some(kind_name) = failed_kind else {
                return CallEnd::Ok(out_tokens);
            };
            *t.rec.errors.entry(kind_name).or_default() += 1;
            if attempt >= max_retries {
                return CallEnd::GaveUp { breaker: false };
            }
            if content {
                // Retry with the failed attempt and the error appended: the context grows.
                let growth = match kind {
                    CallKind::Step(s) => {
                        agent::retry_growth(&sc.steps[s], content_retries, out_tokens, rng)
                    }
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
                match self
                    .play_call(&mut t, &mut rng, CallKind::Router, model, prefix, body)
                    .await
                {
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
        let output = match self
            .play_call(t, rng, CallKind::Step(s), model, prefix, body)
            .await
        {
            CallEnd::Ok(o) => o,
            CallEnd::Stop => return Err(StepEnd::Stop),
            CallEnd::GaveUp { breaker } => return Err(StepEnd::GaveUp { breaker }),
        };
        t.a.context_tokens = agent::grow_context(t.a.context_tokens, output);
        if let Some(tool) = &step.tool_result_tokens {
            let tool_tokens = tool.sample_scaled(rng, scale);
            if let Some(sm) = &step.summarize {
                match self
                    .play_call(t, rng, CallKind::Summarize(s), sm.model, 0, tool_tokens)
                    .await
                {
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
