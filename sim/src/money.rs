//! Exact money. Every amount is an integer number of pico-dollars (1e-12 USD), so sums do not
//! depend on thread count or reduction order. A price of $3 per million tokens is exactly
//! 3,000,000 pUSD per token; every price in the catalog is a whole number of pUSD per token.

/// Pico-dollars per US dollar.
pub const PUSD_PER_USD: u64 = 1_000_000_000_000;

/// Pico-dollars per token for a price given in USD per million tokens.
///
/// Prices are quoted with at most 6 decimals per MTok, so the rounding here is exact for every
/// real price list; the function rejects negative and non-finite prices by returning `None`.
pub fn pusd_per_token_from_usd_per_mtok(usd_per_mtok: f64) -> Option<u64> {
    if !usd_per_mtok.is_finite() || usd_per_mtok < 0.0 {
        return None;
    }
    let pusd = (usd_per_mtok * 1_000_000.0).round();
    if pusd > u64::MAX as f64 / 2.0 {
        return None;
    }
    Some(pusd as u64)
}

/// USD per million tokens for a per-token pUSD price (for display).
pub fn usd_per_mtok(pusd_per_token: u64) -> f64 {
    pusd_per_token as f64 / 1_000_000.0
}

/// Dollars as a float, for display and statistics only (never summed back into money).
pub fn pusd_to_usd(pusd: u128) -> f64 {
    // Split so large sums keep their precision.
    let whole = (pusd / PUSD_PER_USD as u128) as f64;
    let frac = (pusd % PUSD_PER_USD as u128) as f64 / PUSD_PER_USD as f64;
    whole + frac
}

/// A dollar amount (e.g. a budget) as pUSD, rounded to the nearest pico-dollar.
pub fn usd_to_pusd(usd: f64) -> Option<u64> {
    if !usd.is_finite() || usd < 0.0 {
        return None;
    }
    let pusd = (usd * PUSD_PER_USD as f64).round();
    if pusd >= u64::MAX as f64 {
        return None;
    }
    Some(pusd as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_convert_exactly() {
        assert_eq!(pusd_per_token_from_usd_per_mtok(3.0), Some(3_000_000));
        assert_eq!(pusd_per_token_from_usd_per_mtok(0.075), Some(75_000));
        assert_eq!(pusd_per_token_from_usd_per_mtok(0.3125), Some(312_500));
        assert_eq!(pusd_per_token_from_usd_per_mtok(0.005), Some(5_000));
        assert_eq!(pusd_per_token_from_usd_per_mtok(-1.0), None);
        assert_eq!(pusd_per_token_from_usd_per_mtok(f64::NAN), None);
    }

    #[test]
    fn display_keeps_precision_of_large_sums() {
        let big = 123_456_789u128 * PUSD_PER_USD as u128 + 500_000_000_000;
        assert_eq!(pusd_to_usd(big), 123_456_789.5);
    }
}
