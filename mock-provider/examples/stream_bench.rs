//! Holds N concurrent SSE streams against an OpenAI-compatible endpoint and measures the
//! inter-token timing error against the configured gap.
//!
//! `stream_bench URL STREAMS TOKENS GAP_MS [MODEL] [CLIENT_THREADS]`
//!
//! The client is a minimal HTTP/1.1 reader on raw tokio sockets (one connection per stream,
//! `CLIENT_THREADS` runtime workers, default 2), so that the client is not the bottleneck.
//! Each SSE event is timestamped when the read that completed it returns; the first gap
//! (role chunk to first token, i.e. TTFT) is skipped and every later gap between two token
//! events is compared with `GAP_MS`: the report gives the mean, p50, p99 and max of
//! |gap - GAP_MS|, and how many gaps were measured. Two events delivered by the same read
//! count as a gap of 0 (the client really saw them at once), so batching on either side
//! shows up as error rather than being hidden.

use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Target {
    addr: String,
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Target {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (hostport, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    Target {
        addr: hostport.to_string(),
        host: hostport.to_string(),
        path: format!("{prefix}/v1/chat/completions"),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One stream: the arrival time of every event carrying `"content":`, and whether the stream
/// ended with `[DONE]`.
async fn one(t: &Target, request: &[u8]) -> Option<(Vec<Instant>, bool)> {
    let mut s = TcpStream::connect(&t.addr).await.ok()?;
    s.set_nodelay(true).ok()?;
    s.write_all(request).await.ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut arrivals = Vec::with_capacity(64);
    let mut done = false;
    loop {
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        let now = Instant::now();
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(p) = find(&pending[start..], b"\n\n") {
            let ev = &pending[start..start + p];
            if find(ev, b"\"content\":").is_some() {
                arrivals.push(now);
            }
            if find(ev, b"[DONE]").is_some() {
                done = true;
            }
            start += p + 2;
        }
        pending.drain(..start);
        if done {
            break;
        }
    }
    Some((arrivals, done))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let url = a
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let streams: usize = a.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let tokens: usize = a.get(3).map(|s| s.parse()).transpose()?.unwrap_or(50);
    let gap_ms: f64 = a.get(4).map(|s| s.parse()).transpose()?.unwrap_or(20.0);
    let model = a.get(5).cloned().unwrap_or_else(|| "gpt-4o-mini".into());
    let threads: usize = a.get(6).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    let target = std::sync::Arc::new(parse_url(&url));
    let body = serde_json::json!({"model": model, "stream": true, "max_tokens": tokens,
        "messages": [{"role": "user", "content": "hello"}]})
    .to_string();
    let request = std::sync::Arc::new(
        format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nx-mock-output-tokens: {tokens}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            target.path,
            target.host,
            body.len()
        )
        .into_bytes(),
    );
    rt.block_on(async move {
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(streams);
        for _ in 0..streams {
            let target = target.clone();
            let request = request.clone();
            tasks.push(tokio::spawn(async move { one(&target, &request).await }));
        }
        let mut errors_ms = Vec::with_capacity(streams * tokens);
        let mut completed = 0;
        let mut connected = 0;
        for t in tasks {
            if let Ok(Some((arrivals, done))) = t.await {
                connected += 1;
                // arrivals[0] is the role chunk (`"content":""`), then one per token.
                if done && arrivals.len() > tokens {
                    completed += 1;
                }
                // Skip the role chunk and the first token (TTFT); compare each later gap.
                for w in arrivals.windows(2).skip(1) {
                    let gap = w[1].duration_since(w[0]).as_secs_f64() * 1000.0;
                    errors_ms.push((gap - gap_ms).abs());
                }
            }
        }
        let elapsed = start.elapsed();
        errors_ms.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| {
            errors_ms
                .get(((errors_ms.len() as f64 - 1.0) * p).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        let mean = errors_ms.iter().sum::<f64>() / errors_ms.len().max(1) as f64;
        println!(
            "streams {streams} completed {completed} (answered {connected}) tokens/stream {tokens} gap {gap_ms} ms client threads {threads} wall {:.2} s | inter-token |gap - {gap_ms} ms| mean {mean:.3} ms p50 {:.3} p99 {:.3} max {:.3} ms ({} gaps)",
            elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
            pct(1.0),
            errors_ms.len()
        );
    });
    Ok(())
}
