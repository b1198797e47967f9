//! `sppnet sizes`: which feature-map sides each bin rule can pool, as a Markdown table.

use std::process::ExitCode;

use clap::Args;
use sppnet::modules::spp_net::SppNetConfig;
use sppnet::ops::pyramid::accepted_sides;
use sppnet::Rule;

/// Arguments of `sppnet sizes`.
#[derive(Args)]
pub struct SizesArgs {
    /// Pyramid levels.
    #[arg(long, value_delimiter = ',', default_value = "4,2,1", value_parser = super::level)]
    levels: Vec<i64>,
    /// Largest map side listed.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(i64).range(1..=4096))]
    max: i64,
}

fn ranges(sides: &[i64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sides.len() {
        let mut j = i;
        while j + 1 < sides.len() && sides[j + 1] == sides[j] + 1 {
            j += 1;
        }
        parts.push(match j - i {
            0 => sides[i].to_string(),
            1 => format!("{}, {}", sides[i], sides[j]),
            _ => format!("{}–{}", sides[i], sides[j]),
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// The table: per rule, the accepted and refused sides in 1..=max (a map H×W is accepted when
/// both H and W are), and the SppNet input sides S whose map side floor(S/2) − 3 is accepted.
pub fn table(levels: &[i64], max: i64) -> String {
    let mut out = format!(
        "| rule | map sides accepted (1–{max}, levels {levels:?}) | refused | SppNet input sides accepted (8–{}) |\n|---|---|---|---|\n",
        2 * max + 7
    );
    for rule in Rule::ALL {
        let ok = accepted_sides(rule, levels, 1..=max);
        let refused: Vec<i64> = (1..=max).filter(|s| !ok.contains(s)).collect();
        let inputs: Vec<i64> = (8..=2 * max + 7)
            .filter(|&s| ok.contains(&SppNetConfig::feature_side(s)))
            .collect();
        out += &format!(
            "| {rule} | {} | {} | {} |\n",
            ranges(&ok),
            ranges(&refused),
            ranges(&inputs)
        );
    }
    out
}

/// Run `sppnet sizes`.
pub fn run(args: SizesArgs) -> anyhow::Result<ExitCode> {
    if args.levels.is_empty() || args.levels.iter().any(|&n| n < 1) || args.max < 1 {
        anyhow::bail!("levels must be ≥ 1 and --max ≥ 1");
    }
    super::term::print(&table(&args.levels, args.max))?;
    Ok(ExitCode::SUCCESS)
}
