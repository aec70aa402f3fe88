//! Delivering an answer: latency draws ([`Timing`]), JSON bodies after the simulated delay
//! (with the `malformed` and `stream_cut` faults), and SSE streams paced token by token.

use crate::cache::mix;
use crate::config::{FaultKind, MockConfig};
use crate::pipeline::{Call, Inflight, Outcome, secs};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::time::Duration;

/// Latency draws for one call.
#[derive(Debug)]
pub struct Timing {
    pub factor: f64,
    pub ttft: Duration,
    inter: crate::dist::MockDist,
    rng: Pcg64Mcg,
}

impl Timing {
    pub fn new(cfg: &MockConfig, call: &Call, seed: u64) -> Timing {
        let mut rng = Pcg64Mcg::seed_from_u64(mix(seed, 0x7131));
        let factor = cfg.time_scale * call.slowdown;
        let ttft = if factor > 0.0 {
            secs(call.model.ttft.sample(&mut rng) * factor)
        } else {
            Duration::ZERO
        };
        Timing {
            factor,
            ttft,
            inter: call.model.inter_token.clone(),
            rng,
        }
    }

    /// Moves the first visible token back by `n` tokens of hidden reasoning.
    pub fn think(&mut self, n: u64) {
        if self.instant() {
            return;
        }
        for _ in 0..n.min(1_000_000) {
            let gap = self.next_gap();
            self.ttft += gap;
        }
    }

    pub fn instant(&self) -> bool {
        self.factor <= 0.0
    }

    pub fn next_gap(&mut self) -> Duration {
        if self.instant() {
            Duration::ZERO
        } else {
            secs(self.inter.sample(&mut self.rng) * self.factor)
        }
    }

    /// Time of a whole non-streamed reply of `n` tokens.
    pub fn total(&mut self, n: u64) -> Duration {
        if self.instant() {
            return Duration::ZERO;
        }
        let mut t = self.ttft;
        for _ in 1..n.min(1_000_000) {
            t += self.next_gap();
        }
        t
    }
}

/// One SSE frame: its bytes and whether it carries a token (and so waits for one).
#[derive(Debug)]
pub struct Frame {
    pub data: Bytes,
    pub token: bool,
}

/// Renders frame `i` of a stream, or `None` at the end.
pub type FrameFn = Box<dyn FnMut(usize) -> Option<Frame> + Send>;

struct StreamState {
    frames: FrameFn,
    idx: usize,
    timing: Timing,
    start: tokio::time::Instant,
    deadline: Option<tokio::time::Instant>,
    cut_at: Option<usize>,
    /// The stream ended as planned (all frames, or the server's own `stream_cut`).
    done: bool,
    /// Token frames handed to the connection so far.
    tokens_sent: u64,
    outcome: Outcome,
    _inflight: Inflight,
}

impl StreamState {
    fn mark_done(&mut self) {
        self.done = true;
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        // Dropped before the end: the client went away. Bill what was generated up to the
        // cut (one token per token frame sent), not the whole planned answer.
        if !self.done {
            self.outcome.bill_cut(self.tokens_sent);
        }
    }
}

/// A streamed SSE response: token frames are released at `start + ttft`, then one
/// inter-token gap after another (absolute deadlines, so errors do not accumulate).
/// `cut_at` aborts the connection before that frame.
pub fn sse_response(
    frames: FrameFn,
    timing: Timing,
    outcome: Outcome,
    inflight: Inflight,
    cut_at: Option<usize>,
    headers: HeaderMap,
) -> Response {
    let st = StreamState {
        frames,
        idx: 0,
        timing,
        start: tokio::time::Instant::now(),
        deadline: None,
        cut_at,
        done: false,
        tokens_sent: 0,
        outcome,
        _inflight: inflight,
    };
    let stream = futures::stream::unfold(st, |mut s| async move {
        if s.done {
            return None;
        }
        if s.cut_at == Some(s.idx) {
            s.done = true;
            return Some((Err(std::io::Error::other("mock: stream cut")), s));
        }
        let Some(frame) = (s.frames)(s.idx) else {
            s.mark_done();
            return None;
        };
        if frame.token && !s.timing.instant() {
            let next = match s.deadline {
                None => s.start + s.timing.ttft,
                Some(d) => d + s.timing.next_gap(),
            };
            s.deadline = Some(next);
            tokio::time::sleep_until(next).await;
        }
        if frame.token {
            s.tokens_sent += 1;
        }
        s.idx += 1;
        Some((Ok::<Bytes, std::io::Error>(frame.data), s))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    with_headers(resp, headers)
}

/// A JSON response with headers, after the simulated latency; `malformed` truncates the body
/// and `cut` aborts the connection mid-body.
pub async fn json_response<T: serde::Serialize + ?Sized>(
    body: &T,
    headers: HeaderMap,
    delay: Duration,
    fault: Option<FaultKind>,
) -> Response {
    if delay > Duration::ZERO {
        tokio::time::sleep(delay).await;
    }
    let mut bytes = Vec::with_capacity(1024);
    let _ = serde_json::to_writer(&mut bytes, body);
    let mut resp = match fault {
        Some(FaultKind::Malformed) => {
            let half = bytes.len() / 2;
            Response::new(Body::from(bytes[..half].to_vec()))
        }
        Some(FaultKind::StreamCut) => {
            let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            let parts: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(half), Err(std::io::Error::other("mock: connection cut"))];
            Response::new(Body::from_stream(futures::stream::iter(parts)))
        }
        _ => Response::new(Body::from(bytes)),
    };
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    with_headers(resp, headers)
}

/// Formats an SSE `data:` line.
pub fn sse_data(json: &str) -> Bytes {
    let mut s = String::with_capacity(json.len() + 8);
    s.push_str("data: ");
    s.push_str(json);
    s.push_str("\n\n");
    Bytes::from(s)
}

/// Formats an SSE event with a name.
pub fn sse_event(event: &str, json: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {json}\n\n"))
}

/// Convenience for responses assembled by handlers.
pub fn with_headers(mut resp: Response, headers: HeaderMap) -> Response {
    for (k, v) in headers.iter() {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

pub fn ok_json(value: serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}
