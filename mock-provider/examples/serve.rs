//! A bare server for benchmarks: `serve [PORT] [THREADS] [CONFIG.toml]`, instant latency by
//! default. Prints `listening on http://HOST:PORT` first. (`burnrate mock` is the real CLI.)

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let threads: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let config = match args.get(3) {
        Some(path) => burnrate_mock::MockConfig::from_toml_str(&std::fs::read_to_string(path)?)?,
        None => burnrate_mock::MockConfig::from_toml_str(
            "time_scale = 0.0\n[defaults]\nrpm = 0\ntpm = 0\ninput_tpm = 0\noutput_tpm = 0\n",
        )?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on http://{}", listener.local_addr()?);
        burnrate_mock::serve(config, listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    Ok(())
}
