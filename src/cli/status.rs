use ferry::context::Context;

use super::prelude::*;

/// Show a tenant's deployment state: the maintenance lock, the last deployment, how many
/// objects ferry manages there, and which of them were changed or deleted outside ferry since
/// it applied them (drift).
///
/// In a tenant repository (or with --repo), also whether the repository's HEAD is what the
/// tenant last had applied: synced, or out of sync and why, with the commit each side is at.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    tenant: TenantFlag,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let status = ferry::ops::records::status(ctx, &args.tenant.url()?)?;
    match args.format {
        TextOrJson::Json => out_json(&document(&status))?,
        TextOrJson::Text => {
            let mut text = format!("tenant           {} ({})\n", status.name, status.tenant);
            text.push_str(&match &status.lock {
                Some(l) => format!("lock             {}\n", lock_text(l)),
                None => "lock             free\n".to_string(),
            });
            text.push_str(&match &status.last_deployment {
                Some(d) => format!("last deployment  {}\n", super::history::line(d)),
                None => "last deployment  none\n".to_string(),
            });
            text.push_str(&format!("managed          {} object(s)\n", status.managed));
            text.push_str(&format!(
                "drifted          {} object(s)\n",
                status.drifted.len()
            ));
            for d in &status.drifted {
                text.push_str(&format!("  {:<8} {}\n", d.state, d.address));
            }
            if let Some(sync) = &status.sync {
                let short = |c: &Option<String>| {
                    c.as_deref()
                        .map(|c| c.chars().take(12).collect::<String>())
                        .unwrap_or_else(|| "none".to_string())
                };
                text.push_str(&match &sync.reason {
                    None => "sync             synced\n".to_string(),
                    Some(why) => format!("sync             out of sync: {why}\n"),
                });
                text.push_str(&format!(
                    "  HEAD {}, last applied {}{}\n",
                    short(&sync.head),
                    short(&sync.applied),
                    sync.deployment
                        .as_ref()
                        .map(|d| format!(" (deployment {d})"))
                        .unwrap_or_default()
                ));
            }
            out(&text)?;
        }
    }
    Ok(Success::Done)
}
