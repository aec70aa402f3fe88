//! The bottom layer of a run: every replica of a range simulated on the thread pool and merged
//! in index order into one [`Tally`]. The public run (`run.rs`), the capacity searches
//! (`capacity.rs`) and shards (`shard.rs`) all call it; it calls only the engine.

use crate::engine::{EngineError, Replica};
use crate::model::Scenario;
use crate::run_facts::RunFacts;
use crate::tally::Tally;
use rayon::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("could not start {threads} worker threads: {message}")]
    ThreadPool { threads: usize, message: String },
    #[error("{0}")]
    InvalidOption(String),
}

/// Runs every replica and merges their summaries in replica order.
pub(crate) fn run_summary(
    sc: &Scenario,
    replicas: std::ops::Range<u32>,
    threads: Option<usize>,
    on_replica_done: &(dyn Fn() + Sync),
) -> Result<Tally, SimError> {
    let prep = RunFacts::new(sc);
    let work = || {
        replicas
            .clone()
            .into_par_iter()
            .map(|i| {
                let s = Replica::new(sc, &prep, i).run().map(|mut s| {
                    s.record_replica(i);
                    s
                });
                on_replica_done();
                s
            })
            // Indexed reduce keeps left-to-right order, so per-day lists stay in replica order;
            // every other field is an integer sum, max or histogram add, exact in any grouping.
            .try_reduce_with(|mut a, b| {
                a.merge(&b);
                Ok(a)
            })
            .unwrap_or_else(|| {
                Ok(Tally::new(
                    prep.step_lines(),
                    sc.models.len(),
                    sc.horizon.days,
                ))
            })
    };
    Ok(in_pool(threads, work)??)
}

/// Runs `work` on a pool of `threads` workers (`None`: the global pool, one per core).
pub(crate) fn in_pool<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> T + Send,
) -> Result<T, SimError> {
    match threads {
        None => Ok(work()),
        Some(n) => Ok(rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| SimError::ThreadPool {
                threads: n,
                message: e.to_string(),
            })?
            .install(work)),
    }
}
