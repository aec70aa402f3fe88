//! `burnrate mock`: run the mock OpenAI- and Anthropic-compatible provider.

use crate::error::{CliError, CliResult};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file (TOML); see the burnrate-mock crate docs for the format.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind; 0 picks a free one (printed on the first line of stdout).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Seed of every random draw (overrides the config's).
    #[arg(long)]
    seed: Option<u64>,
    /// Latency multiplier (overrides the config's); 0 answers instantly.
    #[arg(long)]
    time_scale: Option<f64>,
    /// Server worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Append the JSONL request log to this file (overrides the config's `request_log`).
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// Also serve the models of a `burnrate catalog --format toml` file (e.g. LiteLLM's whole
    /// map imported with `--import-litellm`, generic-rule vendors included) on the
    /// OpenAI-compatible API, as `[prices]` entries; the config's own `[prices]` win.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Directory `PUT /_mock/config` may name a request log in (without it, the request log
    /// can only be set by --config at start).
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Instead of serving: ask the mock already serving on --host/--port for `GET /healthz`
    /// and exit 0 when it answers 200, 3 otherwise (the container image's health check, which
    /// has no curl: Containerfile).
    #[arg(long)]
    health_check: bool,
}

pub fn run(args: Args) -> CliResult {
    if args.health_check {
        return health_check(&args.host, args.port);
    }
    let mut raw = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map_err(CliError::BadInput)?;
            toml_raw(&text)
                .map_err(|e| CliError::BadInput(anyhow::anyhow!("{}: {e}", path.display())))?
        }
        None => burnrate_mock::RawConfig::default(),
    };
    if let Some(path) = &args.prices {
        add_prices(&mut raw, path)?;
    }
    if let Some(seed) = args.seed {
        raw.seed = Some(seed);
    }
    if let Some(ts) = args.time_scale {
        raw.time_scale = Some(ts);
    }
    if let Some(log) = &args.request_log {
        raw.request_log = Some(log.clone());
    }
    let mut config = burnrate_mock::MockConfig::from_raw(raw).map_err(|e| {
        let from = args
            .prices
            .as_ref()
            .map(|p| format!(" (prices from {})", p.display()))
            .unwrap_or_default();
        CliError::BadInput(anyhow::anyhow!("{e}{from}"))
    })?;
    let source = args
        .config
        .as_ref()
        .map_or("the config".to_string(), |p| p.display().to_string());
    for w in &config.warnings {
        eprintln!("warning: {source}: {w}");
    }
    if let Some(dir) = &args.log_dir {
        let dir = std::fs::canonicalize(dir)
            .with_context(|| format!("--log-dir {}", dir.display()))
            .map_err(CliError::BadInput)?;
        config = config.with_log_dir(dir);
    }
    if args.threads == Some(0) {
        return Err(CliError::BadInput(anyhow::anyhow!(
            "--threads must be at least 1"
        )));
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.threads {
        builder.worker_threads(n);
    }
    let runtime = builder.build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot bind {}:{}", args.host, args.port))?;
        let addr = listener.local_addr().context("no local address")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}").context("stdout")?;
        out.flush().context("stdout")?;
        drop(out);
        burnrate_mock::serve(config, listener, shutdown_signal())
            .await
            .context("mock server")?;
        eprintln!("burnrate mock: shut down");
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(())
}

/// One `GET /healthz` over HTTP/1.0 with a 2 s budget: a server listening on every address
/// (`0.0.0.0`) is asked on loopback.
fn health_check(host: &str, port: u16) -> CliResult {
    use std::io::Read;
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let host = if host == "0.0.0.0" { "127.0.0.1" } else { host };
    let timeout = Duration::from_secs(2);
    let addr = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}:{port}"))?
        .next()
        .with_context(|| format!("no address for {host}:{port}"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("health check: nothing serves on {addr}"))?;
    stream.set_read_timeout(Some(timeout)).context("socket")?;
    stream.set_write_timeout(Some(timeout)).context("socket")?;
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: {host}\r\n\r\n").context("health check")?;
    let mut status_line = [0u8; 12];
    stream
        .read_exact(&mut status_line)
        .context("health check: no HTTP answer")?;
    // "HTTP/1.x 200"
    if &status_line[8..12] == b" 200" {
        println!("healthy: http://{addr}/healthz");
        Ok(())
    } else {
        Err(CliError::Other(anyhow::anyhow!(
            "health check: http://{addr}/healthz answered {}",
            String::from_utf8_lossy(&status_line[9..12])
        )))
    }
}

/// The `[models."id"]` tables of a catalog TOML file as the config's `[prices]`.
fn add_prices(raw: &mut burnrate_mock::RawConfig, path: &std::path::Path) -> CliResult {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(CliError::BadInput)?;
    raw.add_catalog_toml(&text)
        .map_err(|e| CliError::BadInput(anyhow::anyhow!("{}: {e}", path.display())))?;
    Ok(())
}

fn toml_raw(text: &str) -> Result<burnrate_mock::RawConfig, burnrate_mock::ConfigError> {
    // Parse through the library so errors name the field.
    burnrate_mock::MockConfig::from_toml_str(text).map(|c| c.raw)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
