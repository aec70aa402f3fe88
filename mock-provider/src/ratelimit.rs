//! Per-(key, rate-limit pool) token buckets for requests and tokens per minute.
//!
//! Each limit is a bucket holding at most `limit` units, refilled continuously at
//! `limit / 60` per second (so an idle minute restores a full minute's allowance). A request is
//! admitted only when every bucket it touches holds enough; then all are debited together
//! under one lock, so the buckets never admit more than they allow.

use crate::config::Limits;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    cap: f64,
    level: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn new(limit: u64, now: Instant) -> Bucket {
        let cap = limit as f64;
        Bucket {
            cap,
            level: cap,
            rate: cap / 60.0,
            last: now,
        }
    }
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.level = (self.level + dt * self.rate).min(self.cap);
        self.last = now;
    }
    /// A request larger than the whole bucket waits until it is full, then goes into debt
    /// (else it would wait forever: a bucket never holds more than its cap).
    fn wait_for(&self, n: f64) -> Duration {
        let n = n.min(self.cap);
        if self.level >= n {
            return Duration::ZERO;
        }
        let need = n - self.level;
        Duration::from_secs_f64((need / self.rate).max(0.001))
    }
    fn line(&self) -> Line {
        Line {
            limit: self.cap as u64,
            remaining: self.level.max(0.0).floor() as u64,
            reset: Duration::from_secs_f64(((self.cap - self.level) / self.rate).max(0.0)),
        }
    }
}

/// One limit as reported in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub limit: u64,
    pub remaining: u64,
    /// Time until the bucket is full again.
    pub reset: Duration,
}

/// The state of every limit of one (key, model), after the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub requests: Option<Line>,
    pub tokens: Option<Line>,
    pub input_tokens: Option<Line>,
    pub output_tokens: Option<Line>,
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Requests,
    Tokens,
    InputTokens,
    OutputTokens,
}

impl Which {
    pub fn as_str(self) -> &'static str {
        match self {
            Which::Requests => "requests",
            Which::Tokens => "tokens",
            Which::InputTokens => "input_tokens",
            Which::OutputTokens => "output_tokens",
        }
    }
}

/// A refusal: which limit, its size, what was used and asked for, and the wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    pub which: Which,
    pub limit: u64,
    pub used: u64,
    pub requested: u64,
    pub wait: Duration,
    pub snapshot: Snapshot,
}

#[derive(Debug, Default)]
struct Buckets {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    input: Option<Bucket>,
    output: Option<Bucket>,
    limits: Limits,
}

impl Buckets {
    fn sync(&mut self, limits: Limits, now: Instant) {
        if self.limits != limits {
            // Limits changed at run time: start the changed buckets full.
            let mk = |l: Option<u64>| l.map(|n| Bucket::new(n, now));
            *self = Buckets {
                requests: mk(limits.rpm),
                tokens: mk(limits.tpm),
                input: mk(limits.input_tpm),
                output: mk(limits.output_tpm),
                limits,
            };
        }
        for b in [
            &mut self.requests,
            &mut self.tokens,
            &mut self.input,
            &mut self.output,
        ]
        .into_iter()
        .flatten()
        {
            b.refill(now);
        }
    }
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            requests: self.requests.map(|b| b.line()),
            tokens: self.tokens.map(|b| b.line()),
            input_tokens: self.input.map(|b| b.line()),
            output_tokens: self.output.map(|b| b.line()),
        }
    }
    fn is_full(&self) -> bool {
        [self.requests, self.tokens, self.input, self.output]
            .iter()
            .flatten()
            .all(|b| b.level >= b.cap)
    }
}

const SHARDS: usize = 16;
const MAX_ENTRIES_PER_SHARD: usize = 50_000;

/// All buckets, sharded by (key, model) so unrelated requests do not contend.
#[derive(Debug)]
pub struct RateLimiter {
    shards: Vec<Mutex<HashMap<(String, String), Buckets>>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl RateLimiter {
    fn shard(&self, key: &str, model: &str) -> &Mutex<HashMap<(String, String), Buckets>> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        model.hash(&mut h);
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "a bucket is addressed by (key, model) and debited by (input, output) at `now`; bundling them would only rename the arguments"
    )]
    #[allow(
        clippy::result_large_err,
        reason = "Refusal carries the snapshot the 429 headers need"
    )]
    /// Admits (and debits) one request of `input` + `output` tokens, or says why not.
    /// With `debit == false` it only reports the current state.
    pub fn admit(
        &self,
        key: &str,
        model: &str,
        limits: Limits,
        input: u64,
        output: u64,
        debit: bool,
        now: Instant,
    ) -> Result<Snapshot, Refusal> {
        if limits == Limits::default() {
            return Ok(Snapshot::default());
        }
        let mut map = self
            .shard(key, model)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES_PER_SHARD {
            map.retain(|_, b| !b.is_full());
            if map.len() >= MAX_ENTRIES_PER_SHARD {
                map.clear();
            }
        }
        let buckets = match map.get_mut(&(key.to_string(), model.to_string())) {
            Some(b) => b,
            None => map.entry((key.to_string(), model.to_string())).or_default(),
        };
        buckets.sync(limits, now);
        if !debit {
            return Ok(buckets.snapshot());
        }
        let total = (input + output) as f64;
        let checks = [
            (Which::Requests, buckets.requests, 1.0),
            (Which::Tokens, buckets.tokens, total),
            (Which::InputTokens, buckets.input, input as f64),
            (Which::OutputTokens, buckets.output, output as f64),
        ];
        let mut worst: Option<(Which, Bucket, f64, Duration)> = None;
        for (which, bucket, need) in checks {
            if let Some(b) = bucket {
                let wait = b.wait_for(need);
                if wait > Duration::ZERO && worst.is_none_or(|w| wait > w.3) {
                    worst = Some((which, b, need, wait));
                }
            }
        }
        if let Some((which, b, need, wait)) = worst {
            return Err(Refusal {
                which,
                limit: b.cap as u64,
                used: (b.cap - b.level).max(0.0).ceil() as u64,
                requested: need as u64,
                wait,
                snapshot: buckets.snapshot(),
            });
        }
        for (bucket, need) in [
            (&mut buckets.requests, 1.0),
            (&mut buckets.tokens, total),
            (&mut buckets.input, input as f64),
            (&mut buckets.output, output as f64),
        ] {
            if let Some(b) = bucket {
                b.level -= need;
            }
        }
        Ok(buckets.snapshot())
    }

    /// Gives `output` reserved tokens back to the token and output-token buckets of
    /// (`key`, `pool`) (Anthropic corrects its `max_tokens` estimate when a request ends).
    pub fn refund(&self, key: &str, pool: &str, limits: Limits, output: u64, now: Instant) {
        let mut map = self
            .shard(key, pool)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(buckets) = map.get_mut(&(key.to_string(), pool.to_string())) {
            buckets.sync(limits, now);
            for b in [&mut buckets.tokens, &mut buckets.output]
                .into_iter()
                .flatten()
            {
                b.level = (b.level + output as f64).min(b.cap);
            }
        }
    }

    pub fn clear(&self) {
        for s in &self.shards {
            s.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// OpenAI's reset format: Go-style durations such as `1s`, `6m0s`, `12ms`.
pub fn openai_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let total_s = d.as_secs_f64();
    let h = (total_s / 3600.0).floor() as u64;
    let m = ((total_s - h as f64 * 3600.0) / 60.0).floor() as u64;
    let s = total_s - h as f64 * 3600.0 - m as f64 * 60.0;
    let secs = {
        let r = (s * 1000.0).round() / 1000.0;
        let mut t = format!("{r:.3}");
        while t.ends_with('0') {
            t.pop();
        }
        if t.ends_with('.') {
            t.pop();
        }
        t
    };
    if h > 0 {
        format!("{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{m}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

/// RFC 3339 UTC timestamp (second precision) of a system time.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_look_like_openai() {
        assert_eq!(openai_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(openai_duration(Duration::from_secs(1)), "1s");
        assert_eq!(openai_duration(Duration::from_secs(360)), "6m0s");
        assert_eq!(openai_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn rfc3339_epoch_and_leap() {
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = std::time::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn bucket_never_over_admits() {
        let rl = RateLimiter::default();
        let limits = Limits {
            rpm: Some(60),
            tpm: Some(1000),
            ..Limits::default()
        };
        let now = Instant::now();
        let mut admitted = 0;
        let mut tokens = 0;
        for _ in 0..200 {
            if rl.admit("k", "m", limits, 7, 3, true, now).is_ok() {
                admitted += 1;
                tokens += 10;
            }
        }
        // At a frozen instant nothing refills: exactly min(60 requests, 1000/10 tokens).
        assert_eq!(admitted, 60);
        assert!(tokens <= 1000);
        let refusal = rl.admit("k", "m", limits, 7, 3, true, now).unwrap_err();
        assert_eq!(refusal.which, Which::Requests);
        // One request refills in 1 s at 60 RPM.
        assert!((refusal.wait.as_secs_f64() - 1.0).abs() < 1e-6);
        assert_eq!(refusal.snapshot.requests.unwrap().remaining, 0);
        // After the wait, exactly one more is admitted.
        let later = now + refusal.wait;
        assert!(rl.admit("k", "m", limits, 7, 3, true, later).is_ok());
        assert!(rl.admit("k", "m", limits, 7, 3, true, later).is_err());
    }
}
