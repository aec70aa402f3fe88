//! Engine throughput on the article's support agent (caching, retries, Poisson traffic):
//! simulated tasks/s, with the event count printed so events/s follows.
//! Run: `cargo bench -p burnrate-llm-sim --bench engine`.

use burnrate_sim::{RunOptions, Scenario, simulate};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn support_agent() -> Scenario {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/support-agent.toml"
    );
    let text = std::fs::read_to_string(path).expect("scenario file");
    Scenario::from_toml(path, &text).expect("valid scenario")
}

fn engine(c: &mut Criterion) {
    let sc = support_agent();
    let mut group = c.benchmark_group("support-agent");
    for threads in [1usize, 2] {
        let options = RunOptions {
            replicas: Some(4),
            days: Some(30),
            seed: Some(1),
            threads: Some(threads),
            ..Default::default()
        };
        let probe = simulate(&sc, &options, &|| {}).expect("runs");
        eprintln!(
            "support-agent, {threads} thread(s): {} tasks, {} events per iteration",
            probe.tasks.total, probe.events
        );
        group.throughput(Throughput::Elements(probe.tasks.total));
        group.sample_size(10);
        group.bench_function(format!("tasks/{threads}-threads"), |b| {
            b.iter(|| simulate(&sc, &options, &|| {}).expect("runs"))
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
