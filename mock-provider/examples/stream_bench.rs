//! Holds N concurrent SSE streams against an OpenAI-compatible endpoint and measures the
//! inter-token timing error against the configured gap.
//! `stream_bench URL STREAMS TOKENS GAP_MS [MODEL]`.

use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let url = a
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let streams: usize = a.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let tokens: usize = a.get(3).map(|s| s.parse()).transpose()?.unwrap_or(50);
    let gap_ms: f64 = a.get(4).map(|s| s.parse()).transpose()?.unwrap_or(20.0);
    let model = a.get(5).cloned().unwrap_or_else(|| "gpt-4o-mini".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(streams)
        .build()?;
    let body = serde_json::json!({"model": model, "stream": true, "max_tokens": tokens,
        "messages": [{"role": "user", "content": "hello"}]});
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(streams);
    for _ in 0..streams {
        let client = client.clone();
        let body = body.clone();
        let url = format!("{url}/v1/chat/completions");
        tasks.push(tokio::spawn(async move {
            let mut resp = client
                .post(url)
                .header("x-mock-output-tokens", tokens.to_string())
                .json(&body)
                .send()
                .await
                .ok()?;
            let mut arrivals = Vec::new();
            let mut content_chunks = 0usize;
            while let Ok(Some(chunk)) = resp.chunk().await {
                let n = chunk.windows(10).filter(|w| w == b"\"content\":").count();
                for _ in 0..n {
                    arrivals.push(Instant::now());
                }
                content_chunks += n;
            }
            Some((arrivals, content_chunks))
        }));
    }
    let mut errors_ms = Vec::new();
    let mut ok = 0;
    let mut peak_concurrent_ok = 0;
    for t in tasks {
        if let Ok(Some((arrivals, n))) = t.await {
            if n >= tokens {
                ok += 1;
            }
            peak_concurrent_ok += 1;
            // Skip the role chunk and the first token (TTFT); compare each later gap to GAP.
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
            .get(((errors_ms.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let mean = errors_ms.iter().sum::<f64>() / errors_ms.len().max(1) as f64;
    println!(
        "streams {streams} completed {ok}/{peak_concurrent_ok} tokens/stream {tokens} gap {gap_ms} ms wall {:.2} s | inter-token |error| mean {mean:.3} ms p50 {:.3} p99 {:.3} max {:.3} ms ({} gaps)",
        elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        errors_ms.len()
    );
    let _ = Duration::ZERO;
    Ok(())
}
