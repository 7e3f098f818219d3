use ferry::context::Context;

use super::prelude::*;

/// Show a tenant's deployment state: the maintenance lock, the last deployment, how many
/// objects ferry manages there, and which of them were changed or deleted outside ferry since
/// it applied them (drift).
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
            let mut text = format!("tenant           {}\n", status.tenant);
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
            out(&text)?;
        }
    }
    Ok(Success::Done)
}
