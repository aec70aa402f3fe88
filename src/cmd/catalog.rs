//! `burnrate catalog`: the built-in price catalog as text or JSON.

use crate::CliResult;
use burnrate_sim::{Catalog, ModelKind, usd_per_mtok};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> CliResult {
    let catalog = Catalog::builtin();
    match args.format {
        Format::Json => {
            let models: Vec<_> = catalog.models().collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&models).map_err(anyhow::Error::from)?
            );
        }
        Format::Text => print!("{}", text(&catalog)),
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
