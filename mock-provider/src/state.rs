//! Shared server state: configuration, counters, the cost ledger, metrics, caches, buckets,
//! the request log and the batch store. Every lock here is a short synchronous critical
//! section; none is held across an `.await`.

use crate::bill::Charged;
use crate::cache::PromptCache;
use crate::config::MockConfig;
use crate::ratelimit::RateLimiter;
use crate::reqlog::RequestLog;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// Counters of one slice of the ledger (total, a model, or a key).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    /// Every request, including those answered with an error.
    pub requests: u64,
    /// Requests answered 2xx.
    pub succeeded: u64,
    /// Requests made through the batch APIs.
    pub batch_requests: u64,
    pub input_tokens: u64,
    pub cache_write_tokens: u64,
    pub cache_write_5m_tokens: u64,
    pub cache_write_30m_tokens: u64,
    pub cache_write_1h_tokens: u64,
    pub cache_write_24h_tokens: u64,
    pub cache_read_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// The reasoning (thinking) part of `output_tokens`.
    pub reasoning_tokens: u64,
    /// Answered requests by the service tier they were billed at.
    pub service_tiers: BTreeMap<String, u64>,
    /// Exact cost in pico-USD.
    pub cost_pusd: u64,
    pub cost_usd: f64,
    /// Cached share of all input tokens: cache_read / (input + cache_write + cache_read).
    pub cache_hit_rate: f64,
    /// Requests that read at least one cached token.
    pub cache_hits: u64,
    /// Requests sent as SDK retries (`x-stainless-retry-count` > 0).
    pub retries: u64,
    pub errors_by_status: BTreeMap<u16, u64>,
    pub errors_by_kind: BTreeMap<String, u64>,
}

impl Usage {
    fn add(&mut self, status: u16, kind: Option<&str>, c: &Charged, retry: bool) {
        self.requests += 1;
        if (200..300).contains(&status) {
            self.succeeded += 1;
        } else {
            *self.errors_by_status.entry(status).or_default() += 1;
        }
        if let Some(k) = kind {
            *self.errors_by_kind.entry(k.to_string()).or_default() += 1;
        }
        if c.batch {
            self.batch_requests += 1;
        }
        if retry {
            self.retries += 1;
        }
        if c.tokens.cache_read > 0 {
            self.cache_hits += 1;
        }
        self.input_tokens += c.tokens.input;
        self.cache_write_5m_tokens += c.tokens.cache_write_5m;
        self.cache_write_30m_tokens += c.tokens.cache_write_30m;
        self.cache_write_1h_tokens += c.tokens.cache_write_1h;
        self.cache_write_24h_tokens += c.tokens.cache_write_24h;
        self.cache_write_tokens += c.tokens.cache_write();
        self.cache_read_tokens += c.tokens.cache_read;
        self.output_tokens += c.tokens.output;
        self.reasoning_tokens += c.tokens.reasoning;
        if (200..300).contains(&status) || kind == Some("timeout") {
            *self
                .service_tiers
                .entry(c.tier.as_str().to_string())
                .or_default() += 1;
        }
        self.cost_pusd += c.cost_pusd;
    }

    fn finish(mut self) -> Usage {
        self.cost_usd = self.cost_pusd as f64 / 1e12;
        let all = self.input_tokens + self.cache_write_tokens + self.cache_read_tokens;
        self.cache_hit_rate = if all == 0 {
            0.0
        } else {
            self.cache_read_tokens as f64 / all as f64
        };
        self
    }
}

/// Latency histogram bucket bounds in seconds (Prometheus `le`).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Debug, Clone, Default)]
pub struct Histogram {
    pub counts: [u64; LATENCY_BUCKETS.len() + 1],
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.sum += other.sum;
        self.count += other.count;
    }

    pub fn observe(&mut self, secs: f64) {
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.counts[i] += 1;
        self.sum += secs;
        self.count += 1;
    }
}

const MAX_LEDGER_ROWS: usize = 10_000;
const OVERFLOW: &str = "(other)";

/// The cost ledger and the metrics that go with it.
#[derive(Debug, Default)]
pub struct Ledger {
    pub total: Usage,
    pub by_model: BTreeMap<String, Usage>,
    pub by_key: BTreeMap<String, Usage>,
    pub by_status: BTreeMap<(String, u16), u64>,
    pub latency: BTreeMap<String, Histogram>,
}

fn row<'a>(map: &'a mut BTreeMap<String, Usage>, name: &str) -> &'a mut Usage {
    if !map.contains_key(name) && map.len() >= MAX_LEDGER_ROWS {
        return map.entry(OVERFLOW.to_string()).or_default();
    }
    if !map.contains_key(name) {
        map.insert(name.to_string(), Usage::default());
    }
    map.get_mut(name).expect("inserted above")
}

impl Ledger {
    pub fn record(
        &mut self,
        model: &str,
        key: &str,
        status: u16,
        kind: Option<&str>,
        c: &Charged,
        retry: bool,
    ) {
        self.total.add(status, kind, c, retry);
        row(&mut self.by_model, model).add(status, kind, c, retry);
        row(&mut self.by_key, key).add(status, kind, c, retry);
        if self.by_status.len() < MAX_LEDGER_ROWS
            || self.by_status.contains_key(&(model.to_string(), status))
        {
            *self
                .by_status
                .entry((model.to_string(), status))
                .or_default() += 1;
        }
    }

    /// Replaces what a request was charged (`was`) by what it is billed (`now`, fewer output
    /// tokens) in the total and the request's model and key rows.
    pub fn correct(&mut self, model: &str, key: &str, was: &Charged, now: &Charged) {
        let out = was.tokens.output - now.tokens.output;
        let reasoning = was.tokens.reasoning - now.tokens.reasoning;
        let cost = was.cost_pusd - now.cost_pusd;
        for u in [
            Some(&mut self.total),
            self.by_model.get_mut(model),
            self.by_key.get_mut(key),
        ]
        .into_iter()
        .flatten()
        {
            u.output_tokens -= out.min(u.output_tokens);
            u.reasoning_tokens -= reasoning.min(u.reasoning_tokens);
            u.cost_pusd -= cost.min(u.cost_pusd);
        }
    }

    pub fn observe_latency(&mut self, model: &str, secs: f64) {
        if self.latency.len() < MAX_LEDGER_ROWS || self.latency.contains_key(model) {
            self.latency
                .entry(model.to_string())
                .or_default()
                .observe(secs);
        }
    }

    /// The JSON served at `/_mock/usage`.
    pub fn report(&self) -> serde_json::Value {
        let map = |m: &BTreeMap<String, Usage>| -> BTreeMap<String, Usage> {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone().finish()))
                .collect()
        };
        serde_json::json!({
            "total": self.total.clone().finish(),
            "models": map(&self.by_model),
            "keys": map(&self.by_key),
        })
    }
}

/// An uploaded file (`POST /v1/files`) or a batch output file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: String,
    pub filename: String,
    pub purpose: String,
    pub created_at: u64,
    pub bytes: bytes::Bytes,
}

/// A batch of either provider.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    pub id: String,
    pub anthropic: bool,
    pub created_at: u64,
    pub created: Instant,
    pub key: String,
    pub endpoint: String,
    pub input_file_id: Option<String>,
    /// `(custom_id, url, body)` of each request (shared: polls clone the batch).
    pub requests: Arc<Vec<(String, String, serde_json::Value)>>,
    /// A poll is running the batch now; other polls see it unfinished, so that it is
    /// settled (and billed) exactly once.
    pub settling: bool,
    /// Output JSONL once ended.
    pub output_file_id: Option<String>,
    pub results: Option<bytes::Bytes>,
    pub completed: u64,
    pub failed: u64,
    pub ended_at: Option<u64>,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    config: RwLock<Arc<MockConfig>>,
    pub request_counter: AtomicU64,
    /// Calls per model (ids), for scripts and seeded fault draws.
    pub model_calls: Mutex<HashMap<String, u64>>,
    pub inflight: AtomicU64,
    pub total_cost_pusd: AtomicU64,
    pub limiter: RateLimiter,
    pub cache: PromptCache,
    pub ledger: Mutex<Ledger>,
    pub log: Mutex<Option<RequestLog>>,
    pub files: Mutex<HashMap<String, StoredFile>>,
    pub batches: Mutex<HashMap<String, StoredBatch>>,
    pub id_counter: AtomicU64,
    /// Gemini explicit caches (`/v1beta/cachedContents`).
    pub gemini_caches: crate::cache::CachedContents,
    /// When the server started: the epoch of the rate limits' scaled clock.
    pub started: Instant,
}

pub const MAX_FILES: usize = 10_000;
pub const MAX_BATCHES: usize = 10_000;

impl AppState {
    pub fn new(config: MockConfig) -> std::io::Result<AppState> {
        crate::tokens::prewarm();
        let log = match &config.request_log {
            Some(path) => Some(RequestLog::open(path)?),
            None => None,
        };
        Ok(AppState {
            config: RwLock::new(Arc::new(config)),
            request_counter: AtomicU64::new(0),
            model_calls: Mutex::new(HashMap::new()),
            inflight: AtomicU64::new(0),
            total_cost_pusd: AtomicU64::new(0),
            limiter: RateLimiter::default(),
            cache: PromptCache::default(),
            ledger: Mutex::new(Ledger::default()),
            log: Mutex::new(log),
            files: Mutex::new(HashMap::new()),
            batches: Mutex::new(HashMap::new()),
            id_counter: AtomicU64::new(0),
            gemini_caches: crate::cache::CachedContents::default(),
            started: Instant::now(),
        })
    }

    /// Now on the rate limits' clock, which runs `speedup` times faster than the wall clock
    /// from the server's start (`limit_clock_speedup`).
    pub fn limit_clock_now(&self, speedup: f64) -> Instant {
        scaled_instant(self.started, Instant::now(), speedup)
    }

    pub fn config(&self) -> Arc<MockConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the configuration; scripts restart from their first step.
    pub fn set_config(&self, config: MockConfig) -> std::io::Result<()> {
        let old = self.config();
        if old.request_log != config.request_log {
            let log = match &config.request_log {
                Some(path) => Some(RequestLog::open(path)?),
                None => None,
            };
            *self.log.lock().unwrap_or_else(|e| e.into_inner()) = log;
        }
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        self.model_calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }

    /// Clears the ledger, caches, buckets, call counters, files and batches.
    pub fn reset(&self) {
        *self.ledger.lock().unwrap_or_else(|e| e.into_inner()) = Ledger::default();
        self.total_cost_pusd.store(0, Ordering::Relaxed);
        self.model_calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.limiter.clear();
        self.cache.clear();
        self.gemini_caches.clear();
        self.files.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        if let Some(log) = self.log.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            log.flush();
        }
    }

    /// The n-th call (0-based) to a model.
    pub fn next_call(&self, model: &str) -> u64 {
        let mut calls = self.model_calls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = calls.get_mut(model) {
            let n = *c;
            *c += 1;
            return n;
        }
        if calls.len() >= MAX_LEDGER_ROWS {
            return u64::MAX;
        }
        calls.insert(model.to_string(), 1);
        0
    }

    /// A fresh id with a prefix, unique within the process and seeded.
    pub fn new_id(&self, prefix: &str, seed: u64) -> String {
        let n = self.id_counter.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{:016x}{:08x}", crate::cache::mix(seed, n), n)
    }
}

/// `now` on a clock that runs `speedup` times faster than the wall clock from `epoch`.
pub(crate) fn scaled_instant(epoch: Instant, now: Instant, speedup: f64) -> Instant {
    if speedup == 1.0 {
        return now;
    }
    epoch + now.saturating_duration_since(epoch).mul_f64(speedup)
}
