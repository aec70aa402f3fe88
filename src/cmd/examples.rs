//! The examples every subcommand's `--help` ends with. A test (`tests/it/help_examples.rs`) runs
//! each one, so keep them small (few replicas and days) and self-contained: they run in a
//! directory holding `scenarios/`, `shard` before `merge`, `drive` against a mock the test
//! starts at `http://127.0.0.1:8080`, `calibrate` on that mock's request log.

pub const SIMULATE: &str = "\
Examples:
  burnrate simulate scenarios/support-agent.toml --replicas 20 --days 7
  burnrate simulate scenarios/retry-loop.toml --replicas 4 --days 2 --format json --quiet
  burnrate simulate scenarios/support-agent.toml --replicas 4 --days 2 --quiet --out report/";

pub const CATALOG: &str = "\
Examples:
  burnrate catalog
  burnrate catalog --format json
  burnrate catalog --format toml > models.toml";

pub const LEVERS: &str = "\
Examples:
  burnrate levers scenarios/support-agent.toml --replicas 4 --days 3 --quiet
  burnrate levers scenarios/email-drafting.toml --replicas 4 --days 3 --quiet --format md";

pub const SWEEP: &str = "\
Examples:
  burnrate sweep scenarios/support-agent.toml --param traffic.tasks_per_day --values 100,300,1000 --replicas 4 --days 3 --quiet
  burnrate sweep scenarios/support-agent.toml --param traffic.tasks_per_day --values 50..5000 --points 4 --replicas 4 --days 3 --quiet";

pub const COMPARE: &str = "\
Examples:
  burnrate compare scenarios/runaway-day.toml scenarios/runaway-day-budgeted.toml --replicas 4 --days 1 --quiet
  burnrate compare scenarios/support-agent.toml scenarios/research-agent.toml --replicas 4 --days 2 --quiet --format md";

pub const CHECK: &str = "\
Examples:
  burnrate check scenarios/support-agent.toml --daily-budget 100 --precision 2% --days 14 --quiet
  burnrate check scenarios/support-agent.toml --daily-budget 100 --max-breach-probability 0.01 --percentile 99 --replicas 48 --days 30 --quiet";

pub const SHARD: &str = "\
Examples:
  burnrate shard scenarios/support-agent.toml --index 0 --count 2 --replicas 8 --days 2 --out shards/
  JOB_COMPLETION_INDEX=1 BURNRATE_SHARDS=2 burnrate shard scenarios/support-agent.toml --replicas 8 --days 2 --out shards/
  SHARD=1 burnrate shard scenarios/support-agent.toml --index-env SHARD --count 2 --replicas 8 --days 2 --out shards/";

pub const MERGE: &str = "\
Examples:
  burnrate merge scenarios/support-agent.toml shards/ --replicas 8 --days 2
  burnrate merge scenarios/support-agent.toml shards/ --replicas 8 --days 2 --format json --out merged/";

pub const MOCK: &str = "\
Examples:
  burnrate mock --port 0
  burnrate mock --port 0 --seed 7 --time-scale 0 --request-log requests.jsonl";

pub const DRIVE: &str = "\
Examples:
  burnrate drive scenarios/support-agent.toml --endpoint http://127.0.0.1:8080 --tasks 20 --speedup 1000 --predict-replicas 20 --quiet
  burnrate drive scenarios/email-drafting.toml --endpoint http://127.0.0.1:8080 --tasks 20 --speedup 1000 --predict-replicas 20 --quiet --format json";

pub const CALIBRATE: &str = "\
Examples:
  burnrate calibrate requests.jsonl
  burnrate calibrate requests.jsonl --format json --out fit.json";

pub const COMPLETIONS: &str = "\
Examples:
  burnrate completions bash > burnrate.bash
  burnrate completions zsh > _burnrate
  burnrate completions fish > burnrate.fish";

pub const MAN: &str = "\
Examples:
  burnrate man > burnrate.1
  burnrate man simulate > burnrate-simulate.1";
