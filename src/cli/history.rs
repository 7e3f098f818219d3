use ferry::apply::Summary;
use ferry::context::Context;

use super::prelude::*;

/// List a tenant's deployments, newest first: id, status, when, who, the commit deployed and
/// how many objects ended in each status.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    tenant: TenantFlag,
    /// Show at most this many deployments.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

/// One deployment on one line.
pub fn line(d: &Summary) -> String {
    let counts: Vec<String> = d.counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    format!(
        "{}  {:<9}  {}  {}  source {}  {}",
        d.id,
        d.status,
        d.started_at,
        d.actor,
        d.source.chars().take(12).collect::<String>(),
        if counts.is_empty() {
            "no objects".to_string()
        } else {
            counts.join(", ")
        }
    )
}

pub fn run(_ctx: &Context, args: Args) -> Result {
    let deployments = ferry::ops::records::history(&args.tenant.url()?, args.limit)?;
    match args.format {
        TextOrJson::Json => out_json(&serde_json::json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "deployments": deployments,
        }))?,
        TextOrJson::Text => {
            if deployments.is_empty() {
                eprintln!("no deployments yet");
            }
            out(&deployments
                .iter()
                .map(|d| line(d) + "\n")
                .collect::<String>())?;
        }
    }
    Ok(Success::Done)
}
