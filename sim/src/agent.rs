//! The agent's policy: every decision an agent makes about a task, written once and used by
//! both the engine (which simulates the endpoint) and `burnrate-drive` (which calls a real
//! one). Nothing here does IO or reads a clock: each decision draws from the rng it is given,
//! in the order the engine draws, so a scenario is driven with exactly the policy it is
//! simulated with.
//!
//! A task's life: [`prefiltered`], then [`TaskState::arrive`] (kind, stuck), then
//! [`TaskState::route`] after the classifier call when the kind has a routed step, then
//! [`TaskState::begin_step`] / [`TaskState::next_call`] step by step, and
//! [`TaskState::end_of_steps`] when the steps run out (judging the cheap tier's answer once,
//! escalating, or looping while stuck). Every call is preceded by [`must_stop`] and the
//! model's [`BreakerState::is_open`]; a failed attempt is retried after [`backoff_s`]
//! (transport errors) or with [`retry_growth`] more context (content errors), up to
//! [`max_retries`]; a call that gives up escalates the task when [`TaskState::can_escalate`].

use crate::model::{
    Breaker, ContextMode, FailureRates, Limits, Routing, Scenario, Step, StepModel, StuckContext,
    ceilings,
};
use rand::Rng;

/// Which tier of a routed scenario a task runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Not routed (or not yet).
    None,
    Cheap,
    Strong,
}

/// What a task does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Call this step (index into `Scenario::steps`).
    Call(usize),
    /// The kind's steps are done: ask [`TaskState::end_of_steps`].
    EndOfSteps,
}

/// What follows the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSteps {
    /// The cheap tier's answer failed its check (or is re-done just in case): the task was
    /// escalated and starts again at its first routed step ([`TaskState::begin_step`]).
    Escalated,
    /// A stuck agent calls this step again with everything so far in its context.
    Loop(usize),
    /// The task is done.
    Succeeded,
}

/// The policy state of one task: everything the agent's decisions read and change.
#[derive(Debug, Clone)]
pub struct TaskState {
    /// Index into `Scenario::traffic.kinds`.
    pub kind: u32,
    /// Position in the kind's step list.
    pub cursor: u32,
    /// Calls left of the current step.
    pub reps_left: u64,
    pub tier: Tier,
    /// The task is truly easy (drawn at routing).
    pub easy: bool,
    /// Escalated to the strong tier (at most once).
    pub escalated: bool,
    /// The cheap tier's answer was already judged (pass or escalate): judged once, even if a
    /// stuck agent keeps looping afterwards.
    pub judged: bool,
    /// A stuck agent that loops on its last step.
    pub stuck: bool,
    pub stuck_calls_left: u64,
    /// Position of the first routed step in the kind's list (re-run on escalation).
    pub first_routed: Option<u32>,
    /// Tokens of context accumulated so far (outputs, tool results, summaries).
    pub context_tokens: u64,
}

/// Cumulative kind shares, for [`TaskState::arrive`].
pub fn kind_cumulative(sc: &Scenario) -> Vec<f64> {
    let mut acc = 0.0;
    sc.traffic
        .kinds
        .iter()
        .map(|k| {
            acc += k.share;
            acc
        })
        .collect()
}

/// Whether rules handle the task before any LLM call (the batching lever's prefilter). The
/// first draw of a task.
pub fn prefiltered<R: Rng + ?Sized>(sc: &Scenario, rng: &mut R) -> bool {
    sc.batching.prefilter_share > 0.0 && rng.random::<f64>() < sc.batching.prefilter_share
}

/// Whether a task must stop before its next call: a budget, the daily cap or the hard
/// ceiling on calls. Checked before every attempt, so a cap is exceeded by at most one call.
pub fn must_stop(
    limits: &Limits,
    tokens_used: u64,
    cost_pusd: u128,
    day_spend_pusd: u128,
    calls: u64,
) -> bool {
    limits
        .max_tokens_per_task
        .is_some_and(|max| tokens_used >= max)
        || limits
            .max_pusd_per_task
            .is_some_and(|max| cost_pusd >= u128::from(max))
        || daily_cap_reached(limits, day_spend_pusd)
        || calls >= u64::from(ceilings::MAX_CALLS_PER_TASK)
}

/// Whether the day's spend has reached the daily cap (new tasks are rejected, running ones
/// stop before their next call).
pub fn daily_cap_reached(limits: &Limits, day_spend_pusd: u128) -> bool {
    limits
        .daily_cap_pusd
        .is_some_and(|cap| day_spend_pusd >= u128::from(cap))
}

/// Retries per call after the first attempt.
pub fn max_retries(limits: &Limits) -> u32 {
    limits.max_retries.min(ceilings::MAX_RETRIES_PER_CALL)
}

/// Seconds to wait before retrying a transport error: exponential backoff with jitter, like
/// the official SDKs. `attempt` counts from 0 (the attempt that failed).
pub fn backoff_s<R: Rng + ?Sized>(limits: &Limits, attempt: u32, rng: &mut R) -> f64 {
    let exp = limits.backoff_base_s * 2f64.powi(attempt.min(30) as i32);
    let jitter: f64 = rng.random();
    exp.min(limits.backoff_max_s) * (1.0 - limits.jitter * jitter)
}

/// Tokens a content retry adds to the call's context: the failed output and an error message
/// (or the scenario's explicit list, by retry number).
pub fn retry_growth<R: Rng + ?Sized>(
    step: &Step,
    content_retries: u32,
    failed_output_tokens: u64,
    rng: &mut R,
) -> u64 {
    match &step.retry_growth_tokens {
        Some(list) => list[(content_retries as usize).min(list.len() - 1)],
        None => failed_output_tokens + step.error_tokens.sample_count(rng),
    }
}

/// Fresh input plus the context a step call carries (the whole context when the step
/// accumulates it, or a stuck agent loops with `[stuck] context = "accumulate"`), capped by the
/// context ceiling.
///
/// A stuck agent's loop (`looping`) follows the step's `context` unless the scenario's
/// `[stuck] context = "accumulate"` makes every loop call carry the whole context.
pub fn call_body_tokens<R: Rng + ?Sized>(
    sc: &Scenario,
    step: &Step,
    scale: f64,
    context_tokens: u64,
    looping: bool,
    rng: &mut R,
) -> u64 {
    let loop_accumulates = looping
        && sc
            .stuck
            .as_ref()
            .is_some_and(|s| s.context == StuckContext::Accumulate);
    let context = if loop_accumulates || step.context == ContextMode::Accumulate {
        context_tokens
    } else {
        0
    };
    let fresh = step.input_tokens.sample_scaled(rng, scale);
    (fresh + context).min(ceilings::MAX_CONTEXT_TOKENS)
}

/// What a call is for: a step, the router's classification, or a step's summarize call (the
/// index is the step's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Step(u32),
    Router,
    Summarize(u32),
}

/// What a call of one kind is, the same in the engine and in drive: its cost line, billing
/// step, failure rates and whether its prefix may be cached.
#[derive(Debug, Clone, Copy)]
pub struct CallSetup {
    /// Cost line: the steps, then the router, then summarize calls
    /// ([`Scenario::line_name`]).
    pub line: usize,
    /// The step whose billing options (tier, region, TTL) apply; `None` for router and
    /// summarize calls, which bill at the standard tier.
    pub billing_step: Option<usize>,
    /// Router and summarize calls do not fail.
    pub failures: FailureRates,
    /// A summarize call's prefix is not cached (it is a different prompt).
    pub cacheable: bool,
}

/// The failure rates of calls that do not fail (router and summarize calls).
pub const NO_FAILURES: FailureRates = FailureRates {
    malformed: 0.0,
    tool_error: 0.0,
    rate_limit: 0.0,
    server_error: 0.0,
    timeout: 0.0,
    timeout_s: 60.0,
};

impl CallKind {
    /// The step whose billing options a call follows (`None`: router and summarize calls).
    pub fn billing_step(self) -> Option<usize> {
        match self {
            CallKind::Step(s) => Some(s as usize),
            CallKind::Router | CallKind::Summarize(_) => None,
        }
    }

    /// What a call of this kind is in `sc`.
    pub fn setup(self, sc: &Scenario) -> CallSetup {
        match self {
            CallKind::Step(s) => {
                let step = &sc.steps[s as usize];
                CallSetup {
                    line: s as usize,
                    billing_step: Some(s as usize),
                    failures: step.failures,
                    cacheable: step.cache,
                }
            }
            CallKind::Router => CallSetup {
                line: sc.steps.len(),
                billing_step: None,
                failures: NO_FAILURES,
                cacheable: true,
            },
            CallKind::Summarize(_) => CallSetup {
                line: sc.steps.len() + 1,
                billing_step: None,
                failures: NO_FAILURES,
                cacheable: false,
            },
        }
    }
}

/// The output one attempt writes, drawn before it is sent.
#[derive(Debug, Clone, Copy)]
pub struct OutputDraw {
    /// Visible output tokens.
    pub output: u64,
    /// Reasoning tokens (billed as output, inside the cap; they do not enter the context).
    pub reasoning: u64,
    /// The request's `max_tokens`, summed over the items of a combined call.
    pub output_cap: Option<u64>,
}

/// Draws the output of one attempt of a `kind` call over `items` items (a combined call has
/// several). Reasoning is drawn first and counts against `max_tokens`; it is drawn only when
/// the step has it, so other scenarios keep their random streams.
#[inline]
pub fn draw_output<R: Rng + ?Sized>(
    sc: &Scenario,
    kind: CallKind,
    items: u64,
    scale: f64,
    rng: &mut R,
) -> OutputDraw {
    match kind {
        CallKind::Step(s) => {
            let step = &sc.steps[s as usize];
            let (mut output, mut reasoning) = (0, 0);
            for _ in 0..items {
                let mut r = match &step.reasoning_tokens {
                    Some(d) => d.sample_scaled(rng, scale),
                    None => 0,
                };
                let mut o = step.output_tokens.sample_scaled(rng, scale);
                if let Some(cap) = step.max_tokens {
                    r = r.min(cap);
                    o = o.min(cap - r);
                }
                output += o;
                reasoning += r;
            }
            OutputDraw {
                output,
                reasoning,
                output_cap: step.max_tokens.map(|cap| cap * items),
            }
        }
        CallKind::Router => {
            let r = sc
                .routing
                .as_ref()
                .expect("router calls exist only with routing");
            uncapped(r.classifier_output_tokens.sample_count(rng))
        }
        CallKind::Summarize(s) => {
            let sm = sc.steps[s as usize]
                .summarize
                .as_ref()
                .expect("summarize calls exist only with summarize");
            uncapped(sm.output_tokens.sample_count(rng))
        }
    }
}

fn uncapped(output: u64) -> OutputDraw {
    OutputDraw {
        output,
        reasoning: 0,
        output_cap: None,
    }
}

/// Adds tokens to a context, capped by the context ceiling.
pub fn grow_context(context_tokens: u64, tokens: u64) -> u64 {
    (context_tokens + tokens).min(ceilings::MAX_CONTEXT_TOKENS)
}

/// A model's circuit breaker: `consecutive` failed calls open it for the cooldown. The count
/// is kept while open, so after the cooldown one failed probe (half-open) opens it again; a
/// success closes it. Times are the caller's clock in µs (simulated, or scaled real time).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BreakerState {
    pub consecutive: u32,
    pub open_until_us: u64,
}

impl BreakerState {
    /// Whether calls to the model fail fast at `now_us`.
    pub fn is_open(&self, now_us: u64) -> bool {
        self.open_until_us > now_us
    }

    /// Records the end of an attempt.
    pub fn record(&mut self, breaker: &Breaker, failed: bool, now_us: u64) {
        if failed {
            self.consecutive = self.consecutive.saturating_add(1);
            if self.consecutive >= breaker.consecutive_failures {
                self.open_until_us = now_us + (breaker.cooldown_s * 1_000_000.0) as u64;
            }
        } else {
            self.consecutive = 0;
        }
    }
}

impl TaskState {
    /// A new task: draws its kind, then whether its agent gets stuck and for how many calls.
    /// Call after [`prefiltered`] and the daily-cap check.
    pub fn arrive<R: Rng + ?Sized>(sc: &Scenario, kind_cumulative: &[f64], rng: &mut R) -> Self {
        let kind = if kind_cumulative.len() == 1 {
            0
        } else {
            let u: f64 = rng.random();
            kind_cumulative
                .partition_point(|c| *c < u)
                .min(kind_cumulative.len() - 1)
        };
        let (stuck, stuck_calls_left) = match &sc.stuck {
            Some(s) if rng.random::<f64>() < s.probability => {
                (true, s.extra_calls.sample_count(rng))
            }
            _ => (false, 0),
        };
        let first_routed = sc.traffic.kinds[kind]
            .steps
            .iter()
            .position(|&s| sc.steps[s].model == StepModel::Routed)
            .map(|p| p as u32);
        TaskState {
            kind: kind as u32,
            cursor: 0,
            reps_left: 0,
            tier: Tier::None,
            easy: false,
            escalated: false,
            judged: false,
            stuck,
            stuck_calls_left,
            first_routed,
            context_tokens: 0,
        }
    }

    /// The scenario's routing, when this task goes through the classifier first.
    pub fn routing<'s>(&self, sc: &'s Scenario) -> Option<&'s Routing> {
        self.first_routed.and(sc.routing.as_ref())
    }

    /// Token scale of the task's kind.
    pub fn scale(&self, sc: &Scenario) -> f64 {
        sc.traffic.kinds[self.kind as usize].token_scale
    }

    /// The model step `step` runs on for this task.
    pub fn model(&self, sc: &Scenario, step: usize) -> usize {
        sc.step_model(step, self.tier == Tier::Strong)
    }

    /// After the classifier answered: whether the task is easy, whether the classifier got it
    /// wrong, hence the tier. Returns whether it was misrouted.
    pub fn route<R: Rng + ?Sized>(&mut self, r: &Routing, rng: &mut R) -> bool {
        let easy = rng.random::<f64>() < r.easy_share;
        let misrouted = rng.random::<f64>() < r.misroute_rate;
        self.easy = easy;
        self.tier = if easy != misrouted {
            Tier::Cheap
        } else {
            Tier::Strong
        };
        misrouted
    }

    /// Starts the step at the cursor (drawing its repeat count; a step repeated 0 times is
    /// skipped) and returns the first call, or the end of the steps.
    pub fn begin_step<R: Rng + ?Sized>(&mut self, sc: &Scenario, rng: &mut R) -> Next {
        let steps = &sc.traffic.kinds[self.kind as usize].steps;
        // Bounded: the cursor moves forward on every pass that does not return.
        while (self.cursor as usize) < steps.len() {
            let step = &sc.steps[steps[self.cursor as usize]];
            self.reps_left = step.repeat.sample_count(rng).min(ceilings::MAX_REPEAT);
            if self.reps_left > 0 {
                self.reps_left -= 1;
                return Next::Call(steps[self.cursor as usize]);
            }
            self.cursor += 1;
        }
        Next::EndOfSteps
    }

    /// After a step call succeeded (and its tool result is in): the next call of the step, or
    /// the next step.
    pub fn next_call<R: Rng + ?Sized>(&mut self, sc: &Scenario, rng: &mut R) -> Next {
        let steps = &sc.traffic.kinds[self.kind as usize].steps;
        if (self.cursor as usize) >= steps.len() {
            return Next::EndOfSteps;
        }
        if self.reps_left == 0 {
            self.cursor += 1;
            return self.begin_step(sc, rng);
        }
        self.reps_left -= 1;
        Next::Call(steps[self.cursor as usize])
    }

    /// Whether a call of `step` that gave up escalates the task instead of failing it: a
    /// routed step on the cheap tier, with `escalate_on_failure`, not because a breaker was
    /// open.
    pub fn can_escalate(&self, sc: &Scenario, step: usize, breaker_open: bool) -> bool {
        !breaker_open
            && sc.steps[step].model == StepModel::Routed
            && self.tier == Tier::Cheap
            && sc.routing.as_ref().is_some_and(|r| r.escalate_on_failure)
    }

    /// Moves the task to the strong tier, back at its first routed step (call
    /// [`TaskState::begin_step`] next).
    pub fn escalate(&mut self) {
        self.tier = Tier::Strong;
        self.escalated = true;
        self.cursor = self.first_routed.unwrap_or(0);
    }

    /// The steps ran out: judge the cheap tier's answer (once per task: a pass, a fail that
    /// escalates, or a just-in-case re-do on the strong tier), then loop while stuck, then
    /// succeed.
    pub fn end_of_steps<R: Rng + ?Sized>(&mut self, sc: &Scenario, rng: &mut R) -> AfterSteps {
        if let Some(r) = self.routing(sc)
            && self.tier == Tier::Cheap
            && !self.escalated
            && !self.judged
        {
            let pass_rate = if self.easy {
                r.cheap_resolution_rate
            } else {
                r.hard_on_cheap_pass_rate
            };
            let passed = rng.random::<f64>() < pass_rate;
            let just_in_case = passed && rng.random::<f64>() < r.fallback_rate;
            self.judged = true;
            if !passed || just_in_case {
                self.escalate();
                return AfterSteps::Escalated;
            }
        }
        if self.stuck_calls_left > 0
            && let Some(&last) = sc.traffic.kinds[self.kind as usize].steps.last()
        {
            self.stuck_calls_left -= 1;
            return AfterSteps::Loop(last);
        }
        AfterSteps::Succeeded
    }
}
