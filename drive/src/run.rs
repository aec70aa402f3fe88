//! One drive run: the prediction, the arrivals (the simulator's own process), tasks in flight up
//! to the concurrency limit, the endpoint's ledger before and after, and the report.

use crate::agent_loop::{Ctx, TaskRecord};
use crate::figures::{difference, measured, per_task_sd, predicted};
use crate::wire::Wire;
use burnrate_sim::{
    ArrivalProcess, Arrivals, DriveReport, EndpointLedger, RunOptions, Scenario, SimError,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most tasks one run may drive.
pub const MAX_TASKS: u64 = 1_000_000;
/// Most concurrent tasks.
pub const MAX_CONCURRENCY: usize = 10_000;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts in a row without any HTTP answer after which the endpoint is probed; if the probe
/// gets no answer either, the endpoint is dead and the run stops.
const NO_ANSWER_PROBE_AFTER: u64 = 8;

/// How to drive a scenario. Checked by [`drive`]: see [`DriveError::BadInput`].
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Base URL, e.g. `http://127.0.0.1:8080` (a trailing `/` or `/v1` is dropped).
    pub endpoint: String,
    /// API key for every model (`None`: OPENAI_API_KEY / ANTHROPIC_API_KEY by provider).
    pub api_key: Option<String>,
    pub tasks: u64,
    /// Scenario seconds per real second (arrivals, backoffs, breaker cooldowns).
    pub speedup: f64,
    /// Tasks in flight at most.
    pub concurrency: usize,
    pub seed: u64,
    /// Replicas of one simulated day for the prediction.
    pub predict_replicas: u32,
    /// Keep one JSONL line per attempt (returned in [`Driven::log_lines`]).
    pub log: bool,
}

/// A finished run: the report and, if asked for, the per-attempt log.
#[derive(Debug, Clone)]
pub struct Driven {
    pub report: DriveReport,
    pub log_lines: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// Options out of range or a scenario drive cannot play.
    #[error("{0}")]
    BadInput(String),
    /// The prediction could not be simulated.
    #[error("the prediction failed: {0}")]
    Prediction(#[from] SimError),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("cannot reach the endpoint {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error(
        "the endpoint {endpoint} stopped answering during the run ({no_answer} of {calls} calls got no answer; {reason})"
    )]
    EndpointDied {
        endpoint: String,
        no_answer: u64,
        calls: u64,
        reason: String,
    },
    #[error("every task failed with a client error: {0}")]
    AllFatal(String),
}

/// Checks options; returns the endpoint without a trailing `/` or `/v1`.
pub fn check_options(sc: &Scenario, o: &DriveOptions) -> Result<String, DriveError> {
    let bad = |m: String| Err(DriveError::BadInput(m));
    if !(o.speedup.is_finite() && o.speedup > 0.0) {
        return bad(format!("--speedup must be > 0, got {}", o.speedup));
    }
    if o.concurrency == 0 || o.concurrency > MAX_CONCURRENCY {
        return bad(format!("--concurrency must be in 1..={MAX_CONCURRENCY}"));
    }
    if sc.traffic.tasks_per_day <= 0.0 {
        return bad("the scenario has no traffic (tasks_per_day = 0)".into());
    }
    if o.tasks == 0 || o.tasks > MAX_TASKS {
        return bad(format!(
            "the task count must be in 1..={MAX_TASKS}, got {}",
            o.tasks
        ));
    }
    let endpoint = o
        .endpoint
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return bad(format!(
            "--endpoint must be an http(s) URL, got {:?}",
            o.endpoint
        ));
    }
    Ok(endpoint)
}

fn warnings(sc: &Scenario) -> Vec<String> {
    let mut w = Vec::new();
    if sc.steps.iter().any(|s| s.batch) {
        w.push("batch steps are sent as regular calls (drive does not use the batch APIs)".into());
    }
    if sc.steps.iter().any(|s| s.items_per_call > 1) {
        w.push("combined calls (items_per_call > 1) are sent one item per call".into());
    }
    if !sc.incidents.is_empty() {
        w.push(
            "incidents are in the prediction only; configure the endpoint to reproduce them".into(),
        );
    }
    w
}

/// Drives `sc` against the endpoint and compares with the simulator. `progress(started, total)`
/// is called every few seconds. Runs on the caller's tokio runtime.
pub async fn drive(
    sc: Scenario,
    o: &DriveOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Driven, DriveError> {
    let endpoint = check_options(&sc, o)?;
    let warnings = warnings(&sc);

    // The prediction: one simulated day per replica.
    let options = RunOptions {
        replicas: Some(o.predict_replicas.max(2)),
        days: Some(1),
        seed: Some(o.seed),
        threads: None,
        // The comparison reads costs, calls and latency only.
        skip_capacity_searches: true,
        ..RunOptions::default()
    };
    let prediction = burnrate_sim::simulate(&sc, &options, &|| {})?;
    // The per-task sd needs days with a fixed task count (see `per_task_sd`): with Poisson
    // arrivals, a second run of the same scenario with uniform arrivals at the same rate.
    let sd_task = if sc.traffic.arrivals == Arrivals::Uniform {
        per_task_sd(&prediction)
    } else {
        let mut uniform = sc.clone();
        uniform.traffic.arrivals = Arrivals::Uniform;
        per_task_sd(&burnrate_sim::simulate(&uniform, &options, &|| {})?)
    };

    let mut lines: Vec<String> = sc.steps.iter().map(|s| s.name.clone()).collect();
    lines.push("router".into());
    lines.push("summarize".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency.min(256))
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| DriveError::Client(e.to_string()))?;
    // Fail fast, with the reason, when the endpoint cannot be reached at all (rather than
    // retrying every call of every task against it). Any HTTP answer, even a 404, will do.
    probe(&client, &endpoint)
        .await
        .map_err(|reason| DriveError::Unreachable {
            endpoint: endpoint.clone(),
            reason,
        })?;
    let n_models = sc.models.len();
    let ctx = Arc::new(Ctx {
        kind_cumulative: burnrate_sim::agent::kind_cumulative(&sc),
        sc,
        wire: Wire {
            endpoint: endpoint.clone(),
            api_key: o.api_key.clone(),
            client,
            prefixes: Mutex::new(HashMap::new()),
            log: o.log,
            log_lines: Mutex::new(Vec::new()),
            no_answer_in_a_row: AtomicU64::new(0),
            no_answer_total: AtomicU64::new(0),
        },
        speedup: o.speedup,
        started: Instant::now(),
        breakers: Mutex::new(vec![Default::default(); n_models]),
        day_spend: Mutex::new(BTreeMap::new()),
        lines,
        abandoned: AtomicBool::new(false),
    });
    let started = Instant::now();
    let before = fetch_ledger(&ctx).await;
    let (records, queued, dead) = drive_all(ctx.clone(), o, progress).await;
    let wall_s = started.elapsed().as_secs_f64();
    let calls: u64 = records.iter().map(|r| r.calls).sum();
    if let Some(reason) = dead {
        return Err(DriveError::EndpointDied {
            endpoint,
            no_answer: ctx.wire.no_answer_total.load(Ordering::Relaxed),
            calls,
            reason,
        });
    }
    let after = match before {
        Some(_) => fetch_ledger(&ctx).await,
        None => None,
    };

    let m = measured(&ctx, &records);
    let p = predicted(&prediction, o.tasks, sd_task);
    let fatal: Vec<String> = records
        .iter()
        .filter_map(|r| r.fatal.clone())
        .take(3)
        .collect();
    if m.calls_per_task > 0.0 && records.iter().all(|r| r.fatal.is_some()) {
        return Err(DriveError::AllFatal(fatal[0].clone()));
    }
    let endpoint_ledger = before.zip(after).map(|(b, a)| {
        let get = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        let delta = get(&a, "/total/cost_pusd").saturating_sub(get(&b, "/total/cost_pusd"));
        let measured_pusd: u128 = records.iter().map(|r| r.cost_pusd).sum();
        EndpointLedger {
            requests: get(&a, "/total/requests").saturating_sub(get(&b, "/total/requests")),
            cost_pusd: delta,
            cost_usd: delta as f64 / 1e12,
            cost_per_task_usd: delta as f64 / 1e12 / o.tasks as f64,
            measured_cost_pusd: measured_pusd.to_string(),
        }
    });
    let report = DriveReport {
        scenario: ctx.sc.name.clone(),
        endpoint,
        seed: o.seed,
        tasks: o.tasks,
        speedup: o.speedup,
        concurrency: o.concurrency,
        wall_s,
        queued_tasks: queued,
        unpriced_calls: records.iter().map(|r| r.unpriced).sum(),
        predict_replicas: prediction.replicas,
        difference: difference(&m, &p),
        measured: m,
        predicted: p,
        endpoint_ledger,
        warnings,
        fatal_errors: fatal,
    };
    let log_lines =
        std::mem::take(&mut *ctx.wire.log_lines.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Driven { report, log_lines })
}

/// Whether the endpoint answers HTTP at all (any status will do).
async fn probe(client: &reqwest::Client, endpoint: &str) -> Result<(), String> {
    client
        .get(format!("{endpoint}/"))
        .timeout(CONNECT_TIMEOUT * 2)
        .send()
        .await
        .map(drop)
        .map_err(|e| {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            msg
        })
}

async fn fetch_ledger(ctx: &Ctx) -> Option<Value> {
    let resp = ctx
        .wire
        .client
        .get(format!("{}/_mock/usage", ctx.wire.endpoint))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<Value>().await.ok()
}

/// When the last attempts got no answer, probes the endpoint: `Some(reason)` if it is dead.
async fn dead_endpoint(ctx: &Ctx, threshold: u64) -> Option<String> {
    if ctx.wire.no_answer_in_a_row.load(Ordering::Relaxed) < threshold {
        return None;
    }
    probe(&ctx.wire.client, &ctx.wire.endpoint).await.err()
}

/// Plays the tasks at their arrival times. Returns the records, how many arrivals waited for
/// a slot, and why the endpoint is dead if it died.
async fn drive_all(
    ctx: Arc<Ctx>,
    o: &DriveOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> (Vec<TaskRecord>, u64, Option<String>) {
    let (tasks, seed) = (o.tasks, o.seed);
    let sem = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    // The simulator's own arrival process (profiles, growth, surges included); when one
    // horizon's arrivals run out, the next replica's horizon follows it.
    let horizon_s = f64::from(ctx.sc.horizon.days) * 86_400.0;
    let mut replica = 0u32;
    let mut arrivals = ArrivalProcess::for_scenario(&ctx.sc, seed, replica);
    let start = tokio::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut records: Vec<TaskRecord> = Vec::with_capacity(tasks.min(1 << 20) as usize);
    let mut t_s = 0.0f64;
    let mut queued = 0u64;
    let mut dead = None;
    let mut last_report = Instant::now();
    for i in 0..tasks {
        t_s = loop {
            match arrivals.next() {
                Some(t) => break f64::from(replica) * horizon_s + t,
                // Bounded: a horizon with no arrivals at all ends the run.
                None if replica > 0 && t_s < f64::from(replica) * horizon_s => break f64::NAN,
                None => {
                    replica += 1;
                    arrivals = ArrivalProcess::for_scenario(&ctx.sc, seed, replica);
                }
            }
        };
        if t_s.is_nan() {
            break;
        }
        let at = start + Duration::from_secs_f64((t_s / ctx.speedup).min(1e9));
        tokio::time::sleep_until(at).await;
        dead = dead_endpoint(&ctx, NO_ANSWER_PROBE_AFTER).await;
        if dead.is_some() {
            break;
        }
        // Bounded: at most `concurrency` tasks in flight; a late arrival waits for a slot.
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                queued += 1;
                sem.clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore never closed")
            }
        };
        while let Some(done) = set.try_join_next() {
            records.push(done.expect("tasks do not panic"));
        }
        let ctx2 = ctx.clone();
        let day = (t_s / 86_400.0) as u64;
        set.spawn(async move {
            let r = ctx2.play_task(i, day, seed).await;
            drop(permit);
            r
        });
        if last_report.elapsed() > Duration::from_secs(2) {
            progress(i + 1, tasks);
            last_report = Instant::now();
        }
    }
    if dead.is_some() {
        // Tasks in flight stop before their next attempt.
        ctx.abandoned.store(true, Ordering::Relaxed);
    }
    while let Some(done) = set.join_next().await {
        records.push(done.expect("tasks do not panic"));
    }
    if dead.is_none() {
        // The last attempts got no answer: is the endpoint still there?
        dead = dead_endpoint(&ctx, 1).await;
    }
    (records, queued, dead)
}
