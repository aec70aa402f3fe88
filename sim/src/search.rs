//! The bracket search the capacity and headroom searches share: find the threshold of a
//! monotone predicate over x > 0 to a ratio `hi / lo`, probing the points of each round in
//! parallel on the rayon pool. The points of a round are chosen by the caller from what the
//! earlier probes said (their values interpolate a warm start), never from timing or thread
//! count, so the answer is the same on any pool.

use rayon::prelude::*;

/// Most probes one search runs (all rounds), so a search always ends.
pub(crate) const MAX_PROBES: usize = 24;

/// One probe's answer at `x`: whether x is on the good side, and what else it measured.
#[derive(Debug, Clone)]
pub(crate) struct Probed<D> {
    pub x: f64,
    pub ok: bool,
    pub data: D,
}

/// What is known so far: the largest good x and the smallest bad x probed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bracket {
    pub lo: Option<f64>,
    pub hi: Option<f64>,
}

impl Bracket {
    fn add(&mut self, x: f64, ok: bool) {
        if ok {
            // A good point above a known bad one (noise in a nearly monotone probe) would
            // invert the bracket: the bad point wins, as bisection would have decided.
            if self.hi.is_none_or(|h| x < h) && self.lo.is_none_or(|l| x > l) {
                self.lo = Some(x);
            }
        } else if self.hi.is_none_or(|h| x < h) {
            self.hi = Some(x);
            if self.lo.is_some_and(|l| l >= x) {
                self.lo = None;
            }
        }
    }

    /// `(lo, hi)` once both are known.
    pub fn both(&self) -> Option<(f64, f64)> {
        self.lo.zip(self.hi)
    }
}

/// `n` points splitting the bracket evenly in log space (plain k-section, for predicates with
/// nothing to interpolate), or, with one side still open, `n` points spread over one step of
/// `widen` beyond the known side.
pub(crate) fn k_section(b: &Bracket, n: usize, widen: f64) -> Vec<f64> {
    let n = n.max(1);
    let step = |i: usize| widen.powf(i as f64 / n as f64);
    match (b.lo, b.hi) {
        (Some(lo), Some(hi)) => (1..=n)
            .map(|i| lo * (hi / lo).powf(i as f64 / (n + 1) as f64))
            .collect(),
        (Some(lo), None) => (1..=n).map(|i| lo * step(i)).collect(),
        (None, Some(hi)) => (1..=n).rev().map(|i| hi / step(i)).collect(),
        (None, None) => Vec::new(),
    }
}

/// Probes `first`, then the points `next` picks from the bracket and every probe so far,
/// until `hi / lo <= ratio`. Each round's points run in parallel. `None` when no bracket is
/// found within [`MAX_PROBES`] or a point leaves `(0, max_x]`.
pub(crate) fn search<D: Send>(
    ratio: f64,
    max_x: f64,
    first: Vec<f64>,
    mut next: impl FnMut(&Bracket, &[Probed<D>]) -> Vec<f64>,
    probe: impl Fn(f64) -> (bool, D) + Sync,
) -> Option<(f64, f64, Vec<Probed<D>>)> {
    let mut bracket = Bracket::default();
    let mut seen: Vec<Probed<D>> = Vec::new();
    let mut points = first;
    loop {
        if points.is_empty()
            || seen.len() + points.len() > MAX_PROBES
            || points
                .iter()
                .any(|x| !x.is_finite() || *x <= 0.0 || *x > max_x)
        {
            return None;
        }
        let round: Vec<Probed<D>> = points
            .par_iter()
            .map(|&x| {
                let (ok, data) = probe(x);
                Probed { x, ok, data }
            })
            .collect();
        // In ascending x, so a noisy inversion resolves the same way whatever the round.
        let mut order: Vec<usize> = (0..round.len()).collect();
        order.sort_by(|&a, &b| round[a].x.total_cmp(&round[b].x));
        for i in order {
            bracket.add(round[i].x, round[i].ok);
        }
        seen.extend(round);
        if let Some((lo, hi)) = bracket.both()
            && hi / lo <= ratio
        {
            return Some((lo, hi, seen));
        }
        points = next(&bracket, &seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_section_finds_a_threshold_from_a_far_guess() {
        let t = 1234.5;
        let (lo, hi, seen) = search(
            1.02,
            1e9,
            vec![10.0],
            |b, _| k_section(b, 2, 4.0),
            |x| (x <= t, ()),
        )
        .expect("bracketed");
        assert!(lo <= t && t < hi && hi / lo <= 1.02, "{lo} {hi}");
        assert!(seen.len() <= MAX_PROBES);
    }

    #[test]
    fn a_search_that_cannot_bracket_ends() {
        assert!(
            search(
                1.02,
                1e6,
                vec![1.0],
                |b, _| k_section(b, 1, 4.0),
                |_| (true, ())
            )
            .is_none()
        );
        assert!(
            search(
                1.02,
                1e6,
                vec![1.0],
                |b, _| k_section(b, 2, 4.0),
                |_| (false, ())
            )
            .is_none()
        );
    }
}
