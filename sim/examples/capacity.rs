//! Runs a scenario through the library and prints the capacity figures, for the README's
//! capacity benchmarks (`/usr/bin/time -v`, release build):
//!
//! `cargo run --release -p burnrate-llm-sim --example capacity -- SCENARIO [REPLICAS] [DAYS]`

use burnrate_sim::{RunOptions, Scenario, simulate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: capacity SCENARIO [REPLICAS] [DAYS]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let sc = Scenario::from_toml(path, &text).unwrap_or_else(|e| panic!("{e}"));
    let options = RunOptions {
        replicas: args
            .get(2)
            .map(|r| r.parse().expect("REPLICAS is a number")),
        days: args.get(3).map(|d| d.parse().expect("DAYS is a number")),
        ..RunOptions::default()
    };
    let r = simulate(&sc, &options, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    let c = &r.capacity;
    println!(
        "tasks {} abandoned {} saturated {} binding {:?} task wait p50 {:.0} s p95 {:.0} s",
        r.tasks.total,
        r.tasks.abandoned,
        c.saturated,
        c.binding
            .iter()
            .map(|b| format!("{} {} from hour {}", b.model, b.limit, b.first_hour))
            .collect::<Vec<_>>(),
        c.task_wait_s.p50,
        c.task_wait_s.p95
    );
    println!(
        "max sustainable tasks/day {:?} limiting {:?} headroom {:?}",
        c.max_sustainable_tasks_per_day, c.limiting, r.budget.headroom_multiple
    );
}
