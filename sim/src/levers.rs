//! The article's four levers as scenario transforms: from the naive proof of concept to the
//! scenario as written, one lever at a time. Pure functions of the validated scenario, so every
//! variant runs with the same seed (common random numbers) and differences are the levers',
//! not noise.

use crate::model::{Scenario, StepModel, ceilings};

/// The variants of the waterfall, in order: the naive POC, then routing, caching, budgets and
/// batching switched on in turn. The last variant is the scenario as written.
pub fn lever_variants(sc: &Scenario) -> Vec<(&'static str, Scenario)> {
    let naive = naive_poc(sc);

    // 1. Routing: the steps' own models (and router) come back.
    let mut routing = naive.clone();
    routing.models = sc.models.clone();
    routing.routing = sc.routing.clone();
    for (step, original) in routing.steps.iter_mut().zip(&sc.steps) {
        step.model = original.model;
        step.summarize = original.summarize.clone();
    }

    // 2. Prompt caching.
    let mut caching = routing.clone();
    caching.caching = sc.caching.clone();
    for (step, original) in caching.steps.iter_mut().zip(&sc.steps) {
        step.cache = original.cache;
    }

    // 3. Budgets, retry limits, breakers and caps.
    let mut budgets = caching.clone();
    budgets.limits = sc.limits.clone();

    // 4. Batching: batch API, combining, pre-filtering and max_tokens caps: the scenario itself.
    let batching = sc.clone();

    vec![
        ("naive POC", naive),
        ("+ routing", routing),
        ("+ caching", caching),
        ("+ budgets", budgets),
        ("+ batching", batching),
    ]
}

/// The proof of concept nobody did the multiplication for: every call on the scenario's most
/// expensive model, no caching, no budgets or retry caps beyond the engine's hard ceilings, no
/// batching, no pre-filter and no `max_tokens` caps.
pub fn naive_poc(sc: &Scenario) -> Scenario {
    let mut naive = sc.clone();
    // Most expensive by the cost of a typical call (input and output weighted 4:1, like the
    // article's patterns).
    let best = sc
        .models
        .iter()
        .enumerate()
        .max_by_key(|(_, m)| 4 * m.input_pusd() + m.output_pusd())
        .map(|(i, _)| i)
        .expect("a validated scenario uses at least one model");
    for step in &mut naive.steps {
        step.model = StepModel::Fixed(best);
        step.cache = false;
        step.batch = false;
        step.items_per_call = 1;
        step.max_tokens = None;
        if let Some(s) = &mut step.summarize {
            s.model = best;
        }
    }
    naive.routing = None;
    naive.caching.enabled = false;
    naive.limits.max_tokens_per_task = None;
    naive.limits.max_pusd_per_task = None;
    naive.limits.max_retries = ceilings::MAX_RETRIES_PER_CALL;
    naive.limits.breaker = None;
    naive.limits.daily_cap_pusd = None;
    naive.batching.prefilter_share = 0.0;
    naive
}
