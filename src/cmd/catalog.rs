//! `burnrate catalog`: the built-in price catalog as text, JSON or scenario TOML, or LiteLLM's
//! price map (a file or an https:// URL) imported, validated and reported.

use crate::error::{CliError, CliResult};
use anyhow::Context;
use burnrate_sim::{CacheTtl, Catalog, ModelKind, ModelSpec, ServiceTier, usd_per_mtok};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format (`toml` gives `[models."id"]` tables to paste into a scenario).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Only models not retired on the as-of date (and not the article's historical entries).
    #[arg(long)]
    current: bool,
    /// Import LiteLLM's `model_prices_and_context_window.json` (a file, or an https:// URL to
    /// fetch the current map) instead of listing the built-in catalog. The report (imported,
    /// corrected with the correction, skipped with the reason, price fields ignored) goes to
    /// stderr.
    #[arg(long, value_name = "FILE|URL")]
    import_litellm: Option<String>,
    /// The date: stamps imported prices, and decides what `--current` hides (YYYY-MM-DD;
    /// default today, UTC).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Toml,
}

pub fn run(args: Args) -> CliResult {
    let as_of = crate::asof::resolve(None, args.as_of.as_deref())?;
    let catalog = match &args.import_litellm {
        None => Catalog::builtin(),
        Some(source) => {
            let text = if burnrate_drive::is_url(source) {
                burnrate_drive::fetch_text(source, Duration::from_secs(60)).map_err(
                    |e| match e {
                        burnrate_drive::FetchError::Url(..)
                        | burnrate_drive::FetchError::Insecure(_) => CliError::BadInput(e.into()),
                        other => CliError::Other(other.into()),
                    },
                )?
            } else {
                std::fs::read_to_string(source)
                    .with_context(|| format!("cannot read {source}"))
                    .map_err(CliError::BadInput)?
            };
            let import = burnrate_sim::import_litellm(&text, &as_of, &Catalog::builtin())
                .with_context(|| source.clone())
                .map_err(CliError::BadInput)?;
            eprint!("{}", import.report());
            let mut c = Catalog::default();
            for m in import.models {
                c.insert(m);
            }
            c
        }
    };
    let models: Vec<&ModelSpec> = catalog
        .models()
        .filter(|m| !args.current || is_current(m, &as_of))
        .collect();
    match args.format {
        Format::Toml => {
            let models: Vec<ModelSpec> = models.into_iter().cloned().collect();
            super::out::write_stdout(burnrate_sim::models_to_toml(&models).as_bytes());
        }
        Format::Json => {
            super::print(&serde_json::to_string_pretty(&models).map_err(anyhow::Error::from)?);
        }
        Format::Text => super::out::write_stdout(text(&models).as_bytes()),
    }
    Ok(())
}

/// Not retired on `as_of`, and not one of the seed article's February 2026 entries.
fn is_current(m: &ModelSpec, as_of: &str) -> bool {
    !m.retired_on(as_of) && !m.id.starts_with("article-")
}

fn text(models: &[&ModelSpec]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:<9} {:>7} {:>7} {:>7} {:<22} {:>6} {:<16} {:<18} {:<11} {:<10} source",
        "model",
        "provider",
        "input",
        "read",
        "output",
        "cache write by TTL",
        "min",
        "tiers",
        "long context",
        "retires",
        "as of"
    );
    let _ = writeln!(
        out,
        "{:<34} {:<9} (USD per million tokens; long context: threshold, input/output there)",
        "", ""
    );
    for m in models {
        let r = &m.prices.standard;
        let writes: Vec<String> = m
            .cache_ttls
            .iter()
            .map(|t: &CacheTtl| format!("{} {}", t.as_str(), usd_per_mtok(r.cache_write(*t))))
            .collect();
        let min = if m.kind == ModelKind::Embedding || m.cache_ttls.is_empty() {
            "-".to_string()
        } else {
            m.min_cacheable_tokens.to_string()
        };
        let tiers: Vec<&str> = m
            .tiers()
            .into_iter()
            .filter(|t| *t != ServiceTier::Standard)
            .map(ServiceTier::as_str)
            .collect();
        let long = match &m.long_context {
            Some(lc) => format!(
                ">{}k {}/{}",
                lc.above_input_tokens / 1000,
                usd_per_mtok(lc.prices.standard.input_pusd),
                usd_per_mtok(lc.prices.standard.output_pusd)
            ),
            None => "-".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<34} {:<9} {:>7} {:>7} {:>7} {:<22} {:>6} {:<16} {:<18} {:<11} {:<10} {}",
            m.id,
            m.provider.as_str(),
            usd_per_mtok(r.input_pusd),
            usd_per_mtok(r.cache_read_pusd),
            usd_per_mtok(r.output_pusd),
            if writes.is_empty() {
                "-".to_string()
            } else {
                writes.join(", ")
            },
            min,
            tiers.join(","),
            long,
            m.deprecation_date.as_deref().unwrap_or("-"),
            m.as_of,
            m.source
        );
    }
    out
}
