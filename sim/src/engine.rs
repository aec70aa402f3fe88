//! The discrete-event engine: one simulated clock per replica, a priority queue of timed events
//! (arrival, call start after a backoff or a rate-limit wait, call done, combine-window flush),
//! tasks and calls in slabs whose size is bounded by what is in flight.
//!
//! Money is charged when a call completes, in exact pUSD, to the day the task arrived (so a
//! day's cost is the cost of that day's tasks, like the article's tables).

use crate::agent::{self, AfterSteps, BreakerState, CallKind, Next, OutputDraw, TaskState, Tier};
use crate::catalog::{ModelSpec, PriceCard, TokenCounts};
use crate::model::{FailureRates, IncidentKind, ModelIdx, Scenario, ceilings};
use crate::run_facts::{RunFacts, replica_rng};
use crate::tally::{
    F_BREAKER, F_MALFORMED, F_OUTAGE, F_RATE_LIMIT, F_SERVER_ERROR, F_TIMEOUT, F_TOOL_ERROR, Tally,
};
use rand::Rng;
use rand_pcg::Pcg64Mcg;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

const US_PER_S: f64 = 1_000_000.0;
const DAY_US: u64 = 86_400_000_000;
const MAX_BATCH_DELAY_S: f64 = 86_400.0;
const NO_REFILL: u64 = u64::MAX;

/// Engine errors: a hard ceiling was hit (the scenario asks for more than the engine allows).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error(
        "replica {replica}: more than {limit} tasks in flight at once; lower the traffic or add budgets"
    )]
    TooManyTasksInFlight { replica: u32, limit: usize },
    #[error("replica {replica}: more than {limit} events; shorten the horizon")]
    TooManyEvents { replica: u32, limit: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival,
    CallStart(u32),
    CallDone(u32),
    Flush(u32),
    /// A model's rate-limit buckets have refilled enough for the head of its queue.
    Refill(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    time_us: u64,
    seq: u64,
    ev: Ev,
}

#[derive(Debug, Clone)]
struct Task {
    /// What the agent's policy reads and changes (kind, tier, cursor, context, stuck loop).
    a: TaskState,
    arrival_us: u64,
    day: u32,
    tokens_used: u64,
    calls: u32,
    retries: u32,
    cost_pusd: u128,
    /// Input this task brings to a combined call it waits for.
    pending_body: u64,
    /// Time spent in rate-limit queues so far.
    wait_us: u64,
    live: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Content(usize),
    Transport(usize),
}

/// What the incidents active now do to a call.
struct IncidentEffects {
    outage: bool,
    extra_server_error: f64,
    latency_multiplier: f64,
}

/// When an attempt's response begins (its cache write becomes readable) and when it ends.
struct AttemptTiming {
    begins_us: u64,
    done_us: u64,
}

#[derive(Debug, Clone, Copy)]
struct Call {
    kind: CallKind,
    model: ModelIdx,
    /// The task, or the group (index into `groups`) when several items share the call.
    task: u32,
    group: Option<u32>,
    cache_key: usize,
    prefix_tokens: u64,
    body_tokens: u64,
    /// Context growth added by content retries (billed as retry overhead).
    growth_tokens: u64,
    attempt: u32,
    content_retries: u32,
    batch: bool,
    /// When the attempt entered its model's rate-limit queue, and which limit held it
    /// (index into `LIMIT_KINDS`).
    queued_at_us: u64,
    limit_kind: u8,
    /// Output tokens reserved at admission and not used, given back to the pool's buckets
    /// when the attempt ends (providers that refund: `LimitRules::refunds_output`).
    refund_tokens: u64,
    // The attempt in flight:
    tokens: TokenCounts,
    /// Reasoning tokens of the attempt (inside `tokens.output`; they do not enter the context).
    reasoning: u64,
    outcome: Outcome,
    live: bool,
}

/// One continuously refilling limit: `limit` units per minute, holding at most `limit`.
#[derive(Clone, Copy)]
struct Meter {
    limit: f64,
    level: f64,
}

/// A model's rate limits as token buckets: requests, input+output tokens (OpenAI TPM), input
/// tokens (Anthropic ITPM) and output tokens (Anthropic OTPM).
struct Bucket {
    meters: [Option<Meter>; 4],
    last_us: u64,
}

impl Bucket {
    fn new(spec: &ModelSpec) -> Bucket {
        let l = &spec.rate_limits;
        let meter = |v: Option<u64>| {
            v.map(|x| Meter {
                limit: x as f64,
                level: x as f64,
            })
        };
        Bucket {
            meters: [
                meter(l.requests_per_minute),
                meter(l.tokens_per_minute),
                meter(l.input_tokens_per_minute),
                meter(l.output_tokens_per_minute),
            ],
            last_us: 0,
        }
    }

    /// Takes one request now, or returns how long to wait until every bucket holds enough and
    /// which limit needs the longest wait. A request larger than a bucket is admitted once
    /// that bucket is full (it goes into debt).
    /// `input` and `output` are the tokens the provider counts at admission (see
    /// `LimitRules`): ITPM takes `input`, OTPM `output`, TPM both.
    fn acquire(&mut self, now_us: u64, input: u64, output: u64) -> Option<(u64, u8)> {
        if self.meters.iter().all(Option::is_none) {
            return None;
        }
        self.refill(now_us);
        let need = [1.0, (input + output) as f64, input as f64, output as f64];
        let mut wait_s: f64 = 0.0;
        let mut kind = 0;
        for (i, (meter, need)) in self.meters.iter_mut().zip(need).enumerate() {
            if let Some(m) = meter {
                let need = need.min(m.limit);
                if m.level < need {
                    let w = (need - m.level) / m.limit * 60.0;
                    if w > wait_s {
                        wait_s = w;
                        kind = i as u8;
                    }
                }
            }
        }
        if wait_s > 0.0 {
            return Some((((wait_s * US_PER_S).ceil() as u64).max(1), kind));
        }
        for (meter, need) in self.meters.iter_mut().zip(need) {
            if let Some(m) = meter {
                m.level -= need;
            }
        }
        None
    }

    /// Whether a request counting `input` + `output` is more than the whole TPM limit.
    fn over_tpm(&self, input: u64, output: u64) -> bool {
        self.meters[1].is_some_and(|m| (input + output) as f64 > m.limit)
    }

    fn refill(&mut self, now_us: u64) {
        let dt_min = now_us.saturating_sub(self.last_us) as f64 / (60.0 * US_PER_S);
        self.last_us = now_us;
        for m in self.meters.iter_mut().flatten() {
            m.level = (m.level + dt_min * m.limit).min(m.limit);
        }
    }

    /// Gives back `output` reserved tokens to TPM and OTPM (never above a full bucket).
    fn refund(&mut self, now_us: u64, output: u64) {
        self.refill(now_us);
        for i in [1, 3] {
            if let Some(m) = &mut self.meters[i] {
                m.level = (m.level + output as f64).min(m.limit);
            }
        }
    }
}

#[derive(Default, Clone, Copy)]
struct MinuteCounter {
    minute: u64,
    requests: u64,
    tokens: u64,
}

/// Simulates one replica.
pub(crate) struct Replica<'a> {
    sc: &'a Scenario,
    prep: &'a RunFacts,
    index: u32,
    rng: Pcg64Mcg,
    now_us: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Entry>>,
    tasks: Vec<Task>,
    free_tasks: Vec<u32>,
    calls: Vec<Call>,
    free_calls: Vec<u32>,
    groups: Vec<Vec<u32>>,
    free_groups: Vec<u32>,
    /// Per step: tasks waiting for a combined call.
    combine_buffers: Vec<Vec<u32>>,
    /// Per step: when the window of the items now waiting closes (0: nobody waits). A flush
    /// event for another time is stale (its items left in a full call) and is ignored.
    flush_due_us: Vec<u64>,
    cache_expiry_us: Vec<u64>,
    /// When the cache entry becomes readable: once the response writing it has begun
    /// (`u64::MAX` while no write has begun). Requests before that write again.
    cache_ready_us: Vec<u64>,
    /// Per model: the model whose buckets it draws from (its rate-limit pool's first model).
    pool_of: Vec<ModelIdx>,
    /// Per model: how its provider counts requests against the limits.
    limit_rules: Vec<crate::catalog::LimitRules>,
    /// Per pool (indexed by its first model): the buckets.
    buckets: Vec<Bucket>,
    /// Per pool: calls waiting for its rate limits, first come first served.
    waiting: Vec<std::collections::VecDeque<u32>>,
    /// Per pool: when the pending refill event is due (`NO_REFILL`: none). An event for
    /// another time is stale (a refund moved it earlier) and is ignored.
    refill_due_us: Vec<u64>,
    /// Per pool: the limit that last made a call wait (for calls queued behind it).
    queue_kind: Vec<u8>,
    /// Longest a call may wait in a rate-limit queue before its task is abandoned, µs (when
    /// the scenario sets no task deadline).
    max_queue_wait_us: u64,
    breakers: Vec<BreakerState>,
    minutes: Vec<MinuteCounter>,
    day_spend: Vec<u128>,
    day_tasks: Vec<u64>,
    /// Per model: its spend cap (index into `Scenario::spend_caps`), if its provider has one.
    cap_of_model: Vec<Option<usize>>,
    /// Per (day, spend cap): variable cost, pUSD.
    day_cap_spend: Vec<u128>,
    /// Uniform arrivals: (day, index in day, count that day).
    arrivals: crate::arrivals::ArrivalProcess<'a>,
    in_flight: usize,
    events: u64,
    pub tally: Tally,
}

impl<'a> Replica<'a> {
    pub fn new(sc: &'a Scenario, prep: &'a RunFacts, index: u32) -> Replica<'a> {
        let models = sc.models.len();
        let lines = prep.step_lines();
        Replica {
            sc,
            prep,
            index,
            rng: replica_rng(sc.horizon.seed, index),
            now_us: 0,
            seq: 0,
            queue: BinaryHeap::with_capacity(1024),
            tasks: Vec::new(),
            free_tasks: Vec::new(),
            calls: Vec::new(),
            free_calls: Vec::new(),
            groups: Vec::new(),
            free_groups: Vec::new(),
            combine_buffers: vec![Vec::new(); sc.steps.len()],
            flush_due_us: vec![0; sc.steps.len()],
            cache_expiry_us: vec![0; lines * models],
            cache_ready_us: vec![0; lines * models],
            pool_of: sc.limit_pools(),
            limit_rules: sc.models.iter().map(ModelSpec::limit_rules).collect(),
            buckets: sc.models.iter().map(Bucket::new).collect(),
            waiting: vec![std::collections::VecDeque::new(); models],
            refill_due_us: vec![NO_REFILL; models],
            queue_kind: vec![0; models],
            max_queue_wait_us: (ceilings::DEFAULT_MAX_QUEUE_WAIT_S * US_PER_S) as u64,
            breakers: vec![BreakerState::default(); models],
            minutes: vec![MinuteCounter::default(); models],
            day_spend: vec![0; sc.horizon.days as usize],
            day_tasks: vec![0; sc.horizon.days as usize],
            cap_of_model: sc
                .models
                .iter()
                .map(|m| sc.spend_caps.iter().position(|c| c.provider == m.provider))
                .collect(),
            day_cap_spend: vec![0; sc.horizon.days as usize * sc.spend_caps.len()],
            arrivals: crate::arrivals::ArrivalProcess::new(sc, prep, sc.horizon.seed, index),
            in_flight: 0,
            events: 0,
            tally: Tally::new(lines, models, sc.horizon.days),
        }
    }

    fn push(&mut self, time_us: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Entry {
            time_us,
            seq: self.seq,
            ev,
        }));
    }

    /// Runs to the end of the horizon and until every task in flight has finished.
    pub fn run(mut self) -> Result<Tally, EngineError> {
        if let Some(t) = self.arrivals.next_after(0) {
            self.push(t, Ev::Arrival);
        }
        while let Some(Reverse(entry)) = self.queue.pop() {
            self.events += 1;
            if self.events > ceilings::MAX_EVENTS_PER_REPLICA {
                return Err(EngineError::TooManyEvents {
                    replica: self.index,
                    limit: ceilings::MAX_EVENTS_PER_REPLICA,
                });
            }
            self.now_us = entry.time_us;
            match entry.ev {
                Ev::Arrival => {
                    self.arrive()?;
                    if let Some(t) = self.arrivals.next_after(self.now_us) {
                        self.push(t, Ev::Arrival);
                    }
                }
                Ev::CallStart(c) => {
                    self.start_attempt(c, false);
                }
                Ev::Refill(p) if self.refill_due_us[p as usize] == self.now_us => {
                    self.refill_due_us[p as usize] = NO_REFILL;
                    // Wake calls in arrival order until one has to wait again.
                    while let Some(c) = self.waiting[p as usize].pop_front() {
                        if !self.start_attempt(c, true) {
                            break;
                        }
                    }
                }
                Ev::Refill(_) => {}
                Ev::CallDone(c) => self.finish_attempt(c),
                Ev::Flush(step) => {
                    if self.flush_due_us[step as usize] == self.now_us {
                        self.flush_combined(step as usize);
                    }
                }
            }
        }
        for (m, counter) in self.minutes.iter().enumerate() {
            let peak = &mut self.tally.peaks[m];
            peak.0 = peak.0.max(counter.requests);
            peak.1 = peak.1.max(counter.tokens);
        }
        self.tally.unfinished += self.tasks.iter().filter(|t| t.live).count() as u64;
        self.tally.events = self.events;
        let total: u128 = self.day_spend.iter().sum();
        self.tally.day_costs = std::mem::take(&mut self.day_spend);
        self.tally.replica_costs = vec![total];
        self.tally.day_tasks = std::mem::take(&mut self.day_tasks);
        self.tally.day_cap_costs = std::mem::take(&mut self.day_cap_spend);
        Ok(self.tally)
    }

    fn arrive(&mut self) -> Result<(), EngineError> {
        self.tally.tasks_total += 1;
        let day = ((self.now_us / DAY_US) as u32).min(self.sc.horizon.days - 1);
        self.day_tasks[day as usize] += 1;
        let sc = self.sc;
        if agent::prefiltered(sc, &mut self.rng) {
            self.tally.prefiltered += 1;
            return Ok(());
        }
        if agent::daily_cap_reached(&sc.limits, self.day_spend[day as usize]) {
            self.tally.rejected_by_cap += 1;
            return Ok(());
        }
        if self.in_flight >= ceilings::MAX_TASKS_IN_FLIGHT {
            return Err(EngineError::TooManyTasksInFlight {
                replica: self.index,
                limit: ceilings::MAX_TASKS_IN_FLIGHT,
            });
        }
        let a = TaskState::arrive(sc, &self.prep.kind_cumulative, &mut self.rng);
        let routed = a.routing(sc).is_some();
        let task = Task {
            a,
            arrival_us: self.now_us,
            day,
            tokens_used: 0,
            calls: 0,
            retries: 0,
            cost_pusd: 0,
            pending_body: 0,
            wait_us: 0,
            live: true,
        };
        let id = match self.free_tasks.pop() {
            Some(id) => {
                self.tasks[id as usize] = task;
                id
            }
            None => {
                self.tasks.push(task);
                (self.tasks.len() - 1) as u32
            }
        };
        self.in_flight += 1;
        if routed && let Some(r) = &sc.routing {
            self.tally.routed_tasks += 1;
            let prefix = r.classifier_prefix_tokens.sample_count(&mut self.rng);
            let body = r.classifier_input_tokens.sample_count(&mut self.rng);
            let model = r.classifier_model;
            let line = self.prep.router_line;
            self.new_call(CallKind::Router, model, id, None, line, prefix, body, false);
            return Ok(());
        }
        self.begin_step(id);
        Ok(())
    }

    // ----- task progress -----

    /// Starts the step at the task's cursor (drawing its repeat count) or ends the steps.
    fn begin_step(&mut self, task_id: u32) {
        let next = self.tasks[task_id as usize]
            .a
            .begin_step(self.sc, &mut self.rng);
        self.follow(task_id, next);
    }

    /// Issues the next call of the current step, moves to the next step or ends the steps.
    fn next_call(&mut self, task_id: u32) {
        let next = self.tasks[task_id as usize]
            .a
            .next_call(self.sc, &mut self.rng);
        self.follow(task_id, next);
    }

    fn follow(&mut self, task_id: u32, next: Next) {
        match next {
            Next::Call(step_idx) => self.issue_step_call(task_id, step_idx, false),
            Next::EndOfSteps => self.end_of_steps(task_id),
        }
    }

    fn issue_step_call(&mut self, task_id: u32, step_idx: usize, looping: bool) {
        let sc = self.sc;
        let step = &sc.steps[step_idx];
        let t = &self.tasks[task_id as usize];
        let scale = t.a.scale(sc);
        let model = t.a.model(sc, step_idx);
        let body =
            agent::call_body_tokens(sc, step, scale, t.a.context_tokens, looping, &mut self.rng);
        if step.items_per_call > 1 && !looping {
            // Wait for a combined call: it fills up or its window closes.
            self.tasks[task_id as usize].pending_body = body;
            self.combine_buffers[step_idx].push(task_id);
            if self.combine_buffers[step_idx].len() as u32 >= step.items_per_call {
                self.flush_combined(step_idx);
            } else if self.combine_buffers[step_idx].len() == 1 {
                // The first item opens the window.
                let at = self.now_us + ((step.combine_window_s * US_PER_S) as u64).max(1);
                self.flush_due_us[step_idx] = at;
                self.push(at, Ev::Flush(step_idx as u32));
            }
            return;
        }
        let prefix = step.prefix_tokens.sample_scaled(&mut self.rng, scale);
        let kind = CallKind::Step(step_idx as u32);
        self.new_call(
            kind, model, task_id, None, step_idx, prefix, body, step.batch,
        );
    }

    fn flush_combined(&mut self, step_idx: usize) {
        if self.combine_buffers[step_idx].is_empty() {
            return;
        }
        self.flush_due_us[step_idx] = 0;
        let members = std::mem::take(&mut self.combine_buffers[step_idx]);
        let step = &self.sc.steps[step_idx];
        // Validation keeps routed steps out of combining, so every item uses one model.
        let model = self.sc.step_model(step_idx, false);
        let body = members
            .iter()
            .map(|&t| self.tasks[t as usize].pending_body)
            .sum::<u64>()
            .min(ceilings::MAX_CONTEXT_TOKENS);
        let prefix = step.prefix_tokens.sample_count(&mut self.rng);
        let first = members[0];
        let group = match self.free_groups.pop() {
            Some(g) => {
                self.groups[g as usize] = members;
                g
            }
            None => {
                self.groups.push(members);
                (self.groups.len() - 1) as u32
            }
        };
        let kind = CallKind::Step(step_idx as u32);
        self.new_call(
            kind,
            model,
            first,
            Some(group),
            step_idx,
            prefix,
            body,
            step.batch,
        );
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the hot path: each field of the new Call slab entry, passed by value so no temporary struct is built per call"
    )]
    fn new_call(
        &mut self,
        kind: CallKind,
        model: ModelIdx,
        task: u32,
        group: Option<u32>,
        line: usize,
        prefix_tokens: u64,
        body_tokens: u64,
        batch: bool,
    ) {
        let call = Call {
            kind,
            model,
            task,
            group,
            cache_key: line * self.sc.models.len() + model,
            prefix_tokens,
            body_tokens,
            growth_tokens: 0,
            queued_at_us: 0,
            limit_kind: 0,
            refund_tokens: 0,
            attempt: 0,
            content_retries: 0,
            batch,
            tokens: TokenCounts::default(),
            reasoning: 0,
            outcome: Outcome::Ok,
            live: true,
        };
        let id = match self.free_calls.pop() {
            Some(id) => {
                self.calls[id as usize] = call;
                id
            }
            None => {
                self.calls.push(call);
                (self.calls.len() - 1) as u32
            }
        };
        self.start_attempt(id, false);
    }

    fn release_call(&mut self, c: u32) {
        let call = &mut self.calls[c as usize];
        call.live = false;
        if let Some(g) = call.group.take() {
            self.groups[g as usize].clear();
            self.free_groups.push(g);
        }
        self.free_calls.push(c);
    }

    /// Members of a call: the task, or every task of its group.
    fn members(&self, call: &Call) -> MemberIter {
        match call.group {
            None => MemberIter::One(Some(call.task)),
            Some(g) => MemberIter::Group(g, 0),
        }
    }

    fn next_member(&self, it: &mut MemberIter) -> Option<u32> {
        match it {
            MemberIter::One(t) => t.take(),
            MemberIter::Group(g, i) => {
                let m = self.groups[*g as usize].get(*i).copied();
                *i += 1;
                m
            }
        }
    }

    fn member_count(&self, call: &Call) -> u64 {
        call.group
            .map_or(1, |g| self.groups[g as usize].len() as u64)
    }

    /// Whether a task must stop before its next call: a budget, the daily cap or the hard
    /// ceiling on calls. Checked before every call, so a cap is exceeded by at most one call.
    fn must_stop(&self, task_id: u32) -> bool {
        let t = &self.tasks[task_id as usize];
        agent::must_stop(
            &self.sc.limits,
            t.tokens_used,
            t.cost_pusd,
            self.day_spend[t.day as usize],
            u64::from(t.calls),
        )
    }

    /// Starts an attempt of call `c`, unless it must queue for its model's rate limits.
    /// Returns false when the call went (back) into the queue. `from_queue` marks a call taken
    /// from the head of the queue, which goes back to the head if it still has to wait.
    fn start_attempt(&mut self, c: u32, from_queue: bool) -> bool {
        let now = self.now_us;
        let call = self.calls[c as usize];
        if self.ends_before_start(&call, c, from_queue) {
            return true;
        }
        let drawn = self.draw_output(&call);
        let setup = call.kind.setup(self.sc);
        let input_total = call.prefix_tokens + call.body_tokens;
        let m = call.model;
        let pool = self.pool_of[m];
        let rules = self.limit_rules[m];
        let drawn_output = drawn.output + drawn.reasoning;
        let (counted_input, admitted_output) = self.admission(
            &call,
            setup.cacheable,
            input_total,
            drawn_output,
            drawn.output_cap,
        );
        if !from_queue {
            self.count_attempt(m);
            if rules.refuses_oversize && self.buckets[pool].over_tpm(counted_input, admitted_output)
            {
                self.tally.failures[F_RATE_LIMIT] += 1;
                self.give_up(c, false);
                return true;
            }
        }
        if self.must_wait(c, pool, from_queue, counted_input, admitted_output) {
            return false;
        }
        self.leave_queue(c, from_queue);
        // Long-run use of each limit: a refunded cap costs only the output drawn.
        let net_output = if rules.refunds_output {
            drawn_output
        } else {
            admitted_output
        };
        self.count_started(&call, counted_input, net_output);

        let effects = self.incidents_now(m, now);
        let outcome = self.draw_outcome(&setup.failures, &effects);
        let billed_input = !matches!(
            outcome,
            Outcome::Transport(F_RATE_LIMIT | F_SERVER_ERROR | F_OUTAGE)
        );
        let (output, reasoning) = if outcome == Outcome::Transport(F_TIMEOUT) || !billed_input {
            (0, 0)
        } else {
            (drawn.output, drawn.reasoning)
        };
        let mut tokens = TokenCounts::default();
        let mut writes_cache = false;
        if billed_input {
            tokens = self.read_or_write_cache(&call, setup.cacheable, input_total);
            tokens.output = output + reasoning;
            writes_cache = tokens.cache_write > 0;
        }
        let timing = self.attempt_timing(
            &call,
            outcome,
            &setup.failures,
            &effects,
            output + reasoning,
        );
        if writes_cache && !matches!(outcome, Outcome::Transport(_)) {
            // Readable once this response begins (a batch response at its completion).
            let ready = &mut self.cache_ready_us[call.cache_key];
            *ready = (*ready).min(timing.begins_us);
        }
        let call = &mut self.calls[c as usize];
        call.tokens = tokens;
        call.reasoning = reasoning;
        call.outcome = outcome;
        call.refund_tokens = if rules.refunds_output {
            admitted_output - (output + reasoning)
        } else {
            0
        };
        self.push(timing.done_us, Ev::CallDone(c));
        true
    }

    /// Ends call `c` before it is sent (true) when its task is past its deadline or must stop,
    /// or its model's breaker is open.
    fn ends_before_start(&mut self, call: &Call, c: u32, from_queue: bool) -> bool {
        if call.group.is_none() && self.past_deadline(call, from_queue) {
            self.leave_queue(c, from_queue);
            self.release_call(c);
            self.finish_task(call.task, End::Abandoned);
            return true;
        }
        if call.group.is_none() && self.must_stop(call.task) {
            self.leave_queue(c, from_queue);
            self.release_call(c);
            self.finish_task(call.task, End::Partial);
            return true;
        }
        if self.breakers[call.model].is_open(self.now_us) {
            // Fail fast: no call is made while the breaker is open.
            self.leave_queue(c, from_queue);
            self.tally.failures[F_BREAKER] += 1;
            self.give_up(c, true);
            return true;
        }
        false
    }

    /// The output the attempt would write (drawn now, so a queued call keeps its draw order).
    fn draw_output(&mut self, call: &Call) -> OutputDraw {
        let items = self.member_count(call);
        let scale = match (call.kind, call.group) {
            (CallKind::Step(_), None) => self.tasks[call.task as usize].a.scale(self.sc),
            _ => 1.0,
        };
        agent::draw_output(self.sc, call.kind, items, scale, &mut self.rng)
    }

    /// Whether call `c` must wait for its pool's limits (then it is queued, and a refill is
    /// scheduled when none is).
    fn must_wait(
        &mut self,
        c: u32,
        pool: usize,
        from_queue: bool,
        counted_input: u64,
        admitted_output: u64,
    ) -> bool {
        let now = self.now_us;
        // First come, first served: nobody overtakes a call already waiting for this pool.
        let wait = if !from_queue && !self.waiting[pool].is_empty() {
            Some((0, self.queue_kind[pool]))
        } else {
            self.buckets[pool].acquire(now, counted_input, admitted_output)
        };
        let Some((wait_us, kind)) = wait else {
            return false;
        };
        self.queue_kind[pool] = kind;
        if from_queue {
            self.calls[c as usize].limit_kind = kind;
            self.waiting[pool].push_front(c);
        } else {
            self.tally.rate_limit_waits += 1;
            let call = &mut self.calls[c as usize];
            call.queued_at_us = now;
            call.limit_kind = kind;
            self.waiting[pool].push_back(c);
        }
        if self.refill_due_us[pool] == NO_REFILL && wait_us > 0 {
            self.refill_due_us[pool] = now + wait_us;
            self.push(now + wait_us, Ev::Refill(pool as u32));
        }
        true
    }

    /// Counts a call that is sent: the model's use of its limits, and the calls and retries of
    /// the run and of each of its tasks.
    fn count_started(&mut self, call: &Call, counted_input: u64, net_output: u64) {
        let m = call.model;
        self.count_minute(m, counted_input + net_output);
        let usage = &mut self.tally.model_usage[m];
        usage[0] += 1;
        usage[1] += counted_input;
        usage[2] += net_output;
        self.tally.calls += 1;
        if call.attempt > 0 {
            self.tally.retries += 1;
        }
        let mut it = self.members(call);
        while let Some(t) = self.next_member(&mut it) {
            let task = &mut self.tasks[t as usize];
            task.calls += 1;
            if call.attempt > 0 {
                task.retries += 1;
            }
        }
        if call.batch {
            self.tally.batch_calls += 1;
        }
    }

    /// What the incidents active at `now_us` do to a call of `model`.
    fn incidents_now(&self, model: ModelIdx, now_us: u64) -> IncidentEffects {
        let t_s = now_us as f64 / US_PER_S;
        let mut effects = IncidentEffects {
            outage: false,
            extra_server_error: 0.0,
            latency_multiplier: 1.0,
        };
        for inc in &self.sc.incidents {
            if inc.active(t_s) && inc.applies_to(model) {
                match inc.kind {
                    IncidentKind::Outage { .. } => effects.outage = true,
                    IncidentKind::FailureSpike {
                        extra_server_error, ..
                    } => effects.extra_server_error += extra_server_error,
                    IncidentKind::LatencySpike { multiplier, .. } => {
                        effects.latency_multiplier *= multiplier;
                    }
                    IncidentKind::Surge { .. } => {}
                }
            }
        }
        effects
    }

    /// How the attempt ends: one uniform draw against the stacked failure rates (none during
    /// an outage).
    fn draw_outcome(&mut self, rates: &FailureRates, effects: &IncidentEffects) -> Outcome {
        if effects.outage {
            return Outcome::Transport(F_OUTAGE);
        }
        let u: f64 = self.rng.random();
        let stacked = [
            (rates.malformed, Outcome::Content(F_MALFORMED)),
            (rates.tool_error, Outcome::Content(F_TOOL_ERROR)),
            (rates.rate_limit, Outcome::Transport(F_RATE_LIMIT)),
            (
                rates.server_error + effects.extra_server_error,
                Outcome::Transport(F_SERVER_ERROR),
            ),
            (rates.timeout, Outcome::Transport(F_TIMEOUT)),
        ];
        let mut acc = 0.0;
        for (rate, outcome) in stacked {
            acc += rate;
            if u < acc {
                return outcome;
            }
        }
        Outcome::Ok
    }

    /// The input side of a billed attempt: the prefix read from the cache when a live entry
    /// is readable, else written (which starts or refreshes the entry's lifetime).
    fn read_or_write_cache(
        &mut self,
        call: &Call,
        cacheable_step: bool,
        input_total: u64,
    ) -> TokenCounts {
        let sc = self.sc;
        let now = self.now_us;
        let cached = if sc.caching.enabled && cacheable_step {
            sc.models[call.model].cacheable_tokens(call.prefix_tokens)
        } else {
            0
        };
        let mut tokens = TokenCounts {
            input: input_total - cached,
            ..TokenCounts::default()
        };
        if cached > 0 {
            let key = call.cache_key;
            let line = key / sc.models.len();
            self.tally.cache_by_step[line].0 += 1;
            let live = self.cache_expiry_us[key] > now;
            if live && self.cache_ready_us[key] <= now {
                tokens.cache_read = cached;
                self.tally.cache_by_step[line].1 += 1;
            } else {
                // Not readable yet (or gone): this request writes again.
                tokens.cache_write = cached;
                if !live {
                    self.cache_ready_us[key] = u64::MAX;
                }
            }
            // A hit refreshes the lifetime; a write starts it.
            let ttl = sc.cache_ttl(call.kind.billing_step(), call.model);
            self.cache_expiry_us[key] = now + (ttl.seconds() * US_PER_S) as u64;
        }
        tokens
    }

    /// When the attempt's response begins and when it ends: a failure after the time to first
    /// token (a timeout after its limit), a batch after the batch delay, else the stream.
    fn attempt_timing(
        &mut self,
        call: &Call,
        outcome: Outcome,
        rates: &FailureRates,
        effects: &IncidentEffects,
        output_tokens: u64,
    ) -> AttemptTiming {
        let sc = self.sc;
        let now = self.now_us;
        let noise = match &self.prep.latency_noise[call.model] {
            Some(d) => d.sample(&mut self.rng),
            None => 1.0,
        };
        let lat = &sc.models[call.model].latency;
        let ttft_s = lat.time_to_first_token_s * noise * effects.latency_multiplier;
        let duration_s = match outcome {
            Outcome::Transport(F_TIMEOUT) => rates.timeout_s,
            Outcome::Transport(_) => ttft_s,
            _ if call.batch => sc
                .batching
                .batch_delay_s
                .sample(&mut self.rng)
                .min(MAX_BATCH_DELAY_S),
            _ => {
                (lat.time_to_first_token_s + output_tokens as f64 * lat.time_per_output_token_s)
                    * noise
                    * effects.latency_multiplier
            }
        };
        let done_us = now + ((duration_s * US_PER_S) as u64).max(1);
        AttemptTiming {
            begins_us: if call.batch {
                done_us
            } else {
                now + ((ttft_s * US_PER_S) as u64)
            },
            done_us,
        }
    }

    /// Prefix tokens call `c` would read from the cache if it started now (the engine's
    /// cache rule below, without changing the cache).
    fn cache_read_now(&self, call: &Call, cacheable_step: bool) -> u64 {
        if !(self.sc.caching.enabled && cacheable_step) {
            return 0;
        }
        let key = call.cache_key;
        if self.cache_expiry_us[key] > self.now_us && self.cache_ready_us[key] <= self.now_us {
            self.sc.models[call.model].cacheable_tokens(call.prefix_tokens)
        } else {
            0
        }
    }

    /// Gives the unused output reservation of a finished attempt back to its pool and wakes
    /// the pool's queue now if it was waiting for a later refill.
    fn refund_reservation(&mut self, call: &Call) {
        if call.refund_tokens == 0 {
            return;
        }
        let pool = self.pool_of[call.model];
        self.buckets[pool].refund(self.now_us, call.refund_tokens);
        if !self.waiting[pool].is_empty() && self.refill_due_us[pool] > self.now_us {
            self.refill_due_us[pool] = self.now_us;
            self.push(self.now_us, Ev::Refill(pool as u32));
        }
    }

    /// Whether the call's task is past its deadline (`[limits] task_deadline_s`), or, without
    /// one, whether the call has waited longer than the default bound in its model's queue.
    fn past_deadline(&self, call: &Call, from_queue: bool) -> bool {
        match self.sc.limits.task_deadline_s {
            Some(d) => {
                let age = self.now_us - self.tasks[call.task as usize].arrival_us;
                age as f64 > d * US_PER_S
            }
            None => from_queue && self.now_us - call.queued_at_us > self.max_queue_wait_us,
        }
    }

    /// Books the wait of a call leaving its model's queue (to start, or because its task
    /// stops): per model, per task, and per hour when it waited past the saturation threshold.
    fn leave_queue(&mut self, c: u32, from_queue: bool) {
        if !from_queue {
            return;
        }
        let call = self.calls[c as usize];
        let waited_us = self.now_us - call.queued_at_us;
        let s = &mut self.tally;
        s.model_wait_ms[call.model].saturating_record((waited_us / 1000).max(1));
        if waited_us as f64 >= crate::tally::SATURATION_WAIT_S * US_PER_S {
            let hour = self.hour_index(call.queued_at_us);
            let models = self.sc.models.len();
            self.tally.hour_slow[(hour * models + call.model) * 4 + call.limit_kind as usize] += 1;
        }
        let mut it = self.members(&call);
        while let Some(t) = self.next_member(&mut it) {
            self.tasks[t as usize].wait_us += waited_us;
        }
    }

    /// Hour of the horizon (the tail after it counts in the last hour).
    fn hour_index(&self, at_us: u64) -> usize {
        let hours = self.sc.horizon.days as usize * 24;
        ((at_us / 3_600_000_000) as usize).min(hours - 1)
    }

    /// Counts an attempt wanting `model` this hour (the denominator of the saturated share).
    fn count_attempt(&mut self, model: ModelIdx) {
        let hour = self.hour_index(self.now_us);
        self.tally.hour_calls[hour * self.sc.models.len() + model] += 1;
    }

    fn count_minute(&mut self, model: ModelIdx, tokens: u64) {
        let minute = self.now_us / 60_000_000;
        let counter = &mut self.minutes[model];
        if counter.minute != minute {
            let peak = &mut self.tally.peaks[model];
            peak.0 = peak.0.max(counter.requests);
            peak.1 = peak.1.max(counter.tokens);
            *counter = MinuteCounter {
                minute,
                requests: 0,
                tokens: 0,
            };
        }
        counter.requests += 1;
        counter.tokens += tokens;
    }

    fn finish_attempt(&mut self, c: u32) {
        let sc = self.sc;
        let call = self.calls[c as usize];
        self.refund_reservation(&call);
        let card = *self
            .prep
            .price_card(call.kind.billing_step(), call.model, call.batch);
        let cost = card.bill(&call.tokens);
        let total = u128::from(cost.total());
        if total > 0 {
            let line = call.cache_key / sc.models.len();
            self.charge(&call, &card, &cost, line);
        }
        let failed = call.outcome != Outcome::Ok;
        if let Some(b) = &sc.limits.breaker {
            self.breakers[call.model].record(b, failed, self.now_us);
        }
        let max_retries = agent::max_retries(&sc.limits);
        match call.outcome {
            Outcome::Ok => {
                if call.growth_tokens > 0 {
                    let growth = TokenCounts {
                        input: call.growth_tokens,
                        ..TokenCounts::default()
                    };
                    let g = card.bill(&growth).total();
                    self.tally.cost_retry_overhead += u128::from(g);
                }
                let n = self.member_count(&call);
                let members = match call.group {
                    Some(g) => self.groups[g as usize].clone(),
                    None => Vec::new(),
                };
                self.release_call(c);
                match call.kind {
                    CallKind::Router => self.route(call.task),
                    CallKind::Summarize(_) => {
                        let t = &mut self.tasks[call.task as usize];
                        t.a.context_tokens += call.tokens.output;
                        self.continue_task(call.task);
                    }
                    CallKind::Step(s) => {
                        let per_item = (call.tokens.output - call.reasoning) / n;
                        if members.is_empty() {
                            self.after_step_call(call.task, s as usize, per_item);
                        } else {
                            for t in members {
                                self.after_step_call(t, s as usize, per_item);
                            }
                        }
                    }
                }
            }
            Outcome::Content(kind) => {
                self.tally.failures[kind] += 1;
                self.tally.cost_retry_overhead += total;
                if call.attempt < max_retries {
                    // The agent retries with its failed attempt and the error appended.
                    let mut growth = 0;
                    if let CallKind::Step(s) = call.kind {
                        let step = &sc.steps[s as usize];
                        growth = agent::retry_growth(
                            step,
                            call.content_retries,
                            call.tokens.output - call.reasoning,
                            &mut self.rng,
                        );
                    }
                    let call = &mut self.calls[c as usize];
                    call.attempt += 1;
                    call.content_retries += 1;
                    call.body_tokens =
                        (call.body_tokens + growth).min(ceilings::MAX_CONTEXT_TOKENS);
                    call.growth_tokens += growth;
                    self.start_attempt(c, false);
                } else {
                    self.give_up(c, false);
                }
            }
            Outcome::Transport(kind) => {
                self.tally.failures[kind] += 1;
                self.tally.cost_retry_overhead += total;
                if call.attempt < max_retries {
                    // The same request again after exponential backoff with jitter.
                    let wait_s = agent::backoff_s(&sc.limits, call.attempt, &mut self.rng);
                    self.calls[c as usize].attempt += 1;
                    let at = self.now_us + ((wait_s * US_PER_S) as u64).max(1);
                    self.push(at, Ev::CallStart(c));
                } else {
                    self.give_up(c, false);
                }
            }
        }
    }

    /// Books the cost of an attempt: exact pUSD split between the call's tasks.
    fn charge(
        &mut self,
        call: &Call,
        card: &PriceCard,
        cost: &crate::catalog::CostBreakdown,
        line: usize,
    ) {
        let total = u128::from(cost.total());
        let s = &mut self.tally;
        s.cost_by_step[line] += total;
        s.cost_by_model[call.model] += total;
        s.cost_by_kind[0] += u128::from(cost.input);
        s.cost_by_kind[1] += u128::from(cost.cache_write);
        s.cost_by_kind[2] += u128::from(cost.cache_read);
        s.cost_by_kind[3] += u128::from(cost.output);
        if call.batch {
            s.cost_batch += total;
        }
        if call.tokens.cache_read + call.tokens.cache_write > 0 {
            let uncached = TokenCounts {
                input: call.tokens.total_input(),
                cache_write: 0,
                cache_read: 0,
                output: call.tokens.output,
            };
            let full = card.bill(&uncached).total();
            s.cache_savings += i128::from(full) - i128::from(cost.total());
        }
        let n = self.member_count(call) as u128;
        let share = total / n;
        let mut remainder = total % n;
        let tokens = call.tokens.total_input() + call.tokens.output;
        let tokens_share = tokens / n as u64;
        let mut it = self.members(call);
        while let Some(t) = self.next_member(&mut it) {
            let amount = share + remainder;
            remainder = 0;
            let task = &mut self.tasks[t as usize];
            task.cost_pusd += amount;
            task.tokens_used += tokens_share;
            let day = task.day as usize;
            self.day_spend[day] += amount;
            if let Some(cap) = self.cap_of_model[call.model] {
                self.day_cap_spend[day * self.sc.spend_caps.len() + cap] += amount;
            }
            if self.index == 0 && day == 0 {
                let minute = ((self.now_us / 60_000_000) as u32).min(24 * 60 - 1);
                let cumulative = self.day_spend[0];
                match self.tally.sample_day.last_mut() {
                    Some(last) if last.0 == minute => last.1 = cumulative,
                    _ => self.tally.sample_day.push((minute, cumulative)),
                }
            }
        }
    }

    /// What the provider counts at admission (`LimitRules`): input by its cache rule (the
    /// cache state now), output as the request's cap when it sets one.
    fn admission(
        &self,
        call: &Call,
        cacheable_step: bool,
        input_total: u64,
        drawn_output: u64,
        output_cap: Option<u64>,
    ) -> (u64, u64) {
        let rules = self.limit_rules[call.model];
        let counted_input = if rules.cache_reads_count {
            input_total
        } else {
            rules.counted_input(input_total, self.cache_read_now(call, cacheable_step))
        };
        let admitted_output = output_cap.map_or(drawn_output, |cap| cap.max(drawn_output));
        (counted_input, admitted_output)
    }

    /// A call exhausted its retries (or hit an open breaker): escalate or fail its tasks.
    fn give_up(&mut self, c: u32, breaker: bool) {
        let call = self.calls[c as usize];
        let members = match call.group {
            Some(g) => self.groups[g as usize].clone(),
            None => vec![call.task],
        };
        self.release_call(c);
        let step = match call.kind {
            CallKind::Step(s) => Some(s as usize),
            _ => None,
        };
        for t in members {
            let task = &self.tasks[t as usize];
            let can_escalate = step.is_some_and(|s| task.a.can_escalate(self.sc, s, breaker));
            if can_escalate {
                self.escalate(t);
            } else {
                self.finish_task(t, End::Failed);
            }
        }
    }

    fn route(&mut self, task_id: u32) {
        let r = self
            .sc
            .routing
            .as_ref()
            .expect("router calls exist only with routing");
        let misrouted = self.tasks[task_id as usize].a.route(r, &mut self.rng);
        if misrouted {
            self.tally.misrouted += 1;
        }
        self.begin_step(task_id);
    }

    fn escalate(&mut self, task_id: u32) {
        self.tally.escalated += 1;
        self.tasks[task_id as usize].a.escalate();
        self.begin_step(task_id);
    }

    fn after_step_call(&mut self, task_id: u32, step_idx: usize, output: u64) {
        let sc = self.sc;
        let step = &sc.steps[step_idx];
        let t = &mut self.tasks[task_id as usize];
        t.a.context_tokens = agent::grow_context(t.a.context_tokens, output);
        if let Some(tool) = &step.tool_result_tokens {
            let scale = t.a.scale(sc);
            let tool_tokens = tool.sample_scaled(&mut self.rng, scale);
            if let Some(sm) = &step.summarize {
                let line = self.prep.summarize_line;
                let kind = CallKind::Summarize(step_idx as u32);
                self.new_call(kind, sm.model, task_id, None, line, 0, tool_tokens, false);
                return;
            }
            let t = &mut self.tasks[task_id as usize];
            t.a.context_tokens = agent::grow_context(t.a.context_tokens, tool_tokens);
        }
        self.continue_task(task_id);
    }

    fn continue_task(&mut self, task_id: u32) {
        self.next_call(task_id);
    }

    fn end_of_steps(&mut self, task_id: u32) {
        match self.tasks[task_id as usize]
            .a
            .end_of_steps(self.sc, &mut self.rng)
        {
            AfterSteps::Escalated => {
                self.tally.escalated += 1;
                self.begin_step(task_id);
            }
            AfterSteps::Loop(last) => self.issue_step_call(task_id, last, true),
            AfterSteps::Succeeded => self.finish_task(task_id, End::Succeeded),
        }
    }

    fn finish_task(&mut self, task_id: u32, end: End) {
        let t = &mut self.tasks[task_id as usize];
        if !t.live {
            return;
        }
        t.live = false;
        self.in_flight -= 1;
        self.free_tasks.push(task_id);
        let s = &mut self.tally;
        match end {
            End::Succeeded => s.succeeded += 1,
            End::Partial => s.partial += 1,
            End::Failed => {
                s.failed += 1;
                s.escalated_to_human += 1;
            }
            End::Abandoned => s.abandoned += 1,
        }
        s.task_wait_ms.saturating_record(t.wait_us / 1000);
        if t.a.stuck {
            s.runaway += 1;
        }
        if t.a.first_routed.is_some() && t.a.tier == Tier::Cheap && end == End::Succeeded {
            s.resolved_cheap += 1;
        }
        s.task_cost_sum += t.cost_pusd;
        s.task_cost_min = s.task_cost_min.min(t.cost_pusd);
        s.task_cost_max = s.task_cost_max.max(t.cost_pusd);
        let nusd = (t.cost_pusd / 1000).min(s.task_cost_nusd.high() as u128) as u64;
        s.task_cost_nusd.saturating_record(nusd);
        let ms = (self.now_us - t.arrival_us) / 1000;
        s.task_latency_ms.saturating_record(ms.max(1));
        if let Some(k) = self.sc.limits.alert_multiple
            && t.cost_pusd as f64 > k * self.prep.expected_task_pusd[t.a.kind as usize]
        {
            s.cost_alerts += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Succeeded,
    Partial,
    Failed,
    /// Past its deadline (or waited too long for a rate limit): billed for what it used.
    Abandoned,
}

enum MemberIter {
    One(Option<u32>),
    Group(u32, usize),
}
