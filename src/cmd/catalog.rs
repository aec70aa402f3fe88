//! `burnrate catalog`: the built-in price catalog as text or JSON, or LiteLLM's price map
//! imported, validated and turned into `[models]` tables for scenarios.

use crate::error::{CliError, CliResult};
use anyhow::Context;
use burnrate_sim::{Catalog, ModelKind, usd_per_mtok};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format (`toml` gives `[models."id"]` tables to paste into a scenario).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Import LiteLLM's `model_prices_and_context_window.json` instead of listing the built-in
    /// catalog. Entries that break the providers' billing rules are corrected or skipped, with
    /// the reason on stderr.
    #[arg(long, value_name = "FILE")]
    import_litellm: Option<PathBuf>,
    /// Date to stamp imported prices with (the map's date).
    #[arg(long, default_value = "unknown", requires = "import_litellm")]
    as_of: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Toml,
}

pub fn run(args: Args) -> CliResult {
    let catalog = match &args.import_litellm {
        None => Catalog::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map_err(CliError::BadInput)?;
            let import = burnrate_sim::import_litellm(&text, &args.as_of, &Catalog::builtin())
                .with_context(|| path.display().to_string())
                .map_err(CliError::BadInput)?;
            for (key, note) in &import.corrected {
                eprintln!("corrected {key}: {note}");
            }
            for (key, reason) in &import.skipped {
                eprintln!("skipped {key}: {reason}");
            }
            eprintln!(
                "imported {} models, corrected {} fields, skipped {} entries",
                import.models.len(),
                import.corrected.len(),
                import.skipped.len()
            );
            let mut c = Catalog::default();
            for m in import.models {
                c.insert(m);
            }
            c
        }
    };
    match args.format {
        Format::Toml => {
            let models: Vec<_> = catalog.models().cloned().collect();
            super::out::write_stdout(burnrate_sim::models_to_toml(&models).as_bytes());
        }
        Format::Json => {
            let models: Vec<_> = catalog.models().collect();
            super::print(&serde_json::to_string_pretty(&models).map_err(anyhow::Error::from)?);
        }
        Format::Text => super::out::write_stdout(text(&catalog).as_bytes()),
    }
    Ok(())
}

fn text(catalog: &Catalog) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>6}  {:<8} source",
        "model", "provider", "input", "write 5m", "write 1h", "read", "output", "min", "as of"
    );
    let _ = writeln!(
        out,
        "{:<24} {:<9} {:>8} (USD per million tokens)",
        "", "", ""
    );
    for m in catalog.models() {
        let min = if m.kind == ModelKind::Embedding {
            "-".to_string()
        } else {
            m.min_cacheable_tokens.to_string()
        };
        let _ = writeln!(
            out,
            "{:<24} {:<9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>6}  {:<8} {}",
            m.id,
            m.provider.as_str(),
            usd_per_mtok(m.input_pusd),
            usd_per_mtok(m.cache_write_5m_pusd),
            usd_per_mtok(m.cache_write_1h_pusd),
            usd_per_mtok(m.cache_read_pusd),
            usd_per_mtok(m.output_pusd),
            min,
            m.as_of,
            m.source
        );
    }
    out
}
