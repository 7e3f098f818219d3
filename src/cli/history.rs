use ferry::apply::Summary;
use ferry::context::Context;
use ferry::store::Deployment;

use super::prelude::*;

/// List a tenant's deployments, newest first: short id, status, when, who, the commit deployed
/// and how many objects ended in each status. `ferry history show ID` shows one deployment with
/// every object's result and reason.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    show: Option<Sub>,
    /// The tenant (sqlite:PATH).
    #[arg(long = "tenant", value_name = "URL", required = true)]
    tenant: Option<String>,
    /// Show at most this many deployments.
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Show one deployment: source, plan hash, actor, times, status, and every object's result
    /// with its reason (why it failed, or the risk it carried).
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The deployment: its id, a unique prefix of it (the short form `ferry history` shows),
    /// `last` or `previous`.
    #[arg(value_name = "ID")]
    id: String,
    #[command(flatten)]
    tenant: TenantFlag,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

/// The columns `ferry history` prints, as its header row.
const HEADER: [&str; 6] = ["ID", "STATUS", "STARTED", "ACTOR", "SOURCE", "OBJECTS"];

/// What a deployment did, per result status, in words.
fn counts(d: &Summary) -> String {
    let counts: Vec<String> = d.counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    if counts.is_empty() {
        "no objects".to_string()
    } else {
        counts.join(", ")
    }
}

/// One deployment's cells, in [`HEADER`] order.
fn cells(d: &Summary) -> [String; 6] {
    let rollback = d
        .rollback_of
        .as_ref()
        .map(|id| format!(" (rollback to {})", id.chars().take(13).collect::<String>()))
        .unwrap_or_default();
    let skipped = if d.skip_gate.is_some() {
        " (gate skipped)"
    } else {
        ""
    };
    [
        d.short_id.clone(),
        d.status.clone(),
        d.started_at.clone(),
        d.actor.clone(),
        d.source.chars().take(12).collect(),
        counts(d) + &rollback + skipped,
    ]
}

/// The deployments as a table under a header row, columns two spaces apart.
pub fn table(deployments: &[Summary]) -> String {
    let rows: Vec<[String; 6]> = deployments.iter().map(cells).collect();
    super::prelude::table(HEADER, &rows)
}

/// One deployment on one line.
pub fn line(d: &Summary) -> String {
    cells(d).join("  ")
}

pub fn run(_ctx: &Context, args: Args) -> Result {
    if let Some(Sub::Show(show)) = args.show {
        return run_show(show);
    }
    // clap requires --tenant unless `show` is given.
    let url = tenant_url(args.tenant.as_deref().unwrap_or_default())?;
    let deployments = ferry::ops::records::history(&url, args.limit)?;
    match args.format {
        TextOrJson::Json => out_json(&serde_json::json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "deployments": deployments,
        }))?,
        TextOrJson::Text => {
            if deployments.is_empty() {
                eprintln!("no deployments yet");
                return Ok(Success::Done);
            }
            out(&table(&deployments))?;
        }
    }
    Ok(Success::Done)
}

fn run_show(args: ShowArgs) -> Result {
    let (summary, deployment) = ferry::ops::records::deployment(&args.tenant.url()?, &args.id)?;
    match args.format {
        TextOrJson::Json => {
            let mut value = serde_json::to_value(&summary).expect("summaries serialize");
            value["results"] =
                serde_json::to_value(&deployment.results).expect("results serialize");
            out_json(&serde_json::json!({
                "format_version": ferry::render::OUTPUT_VERSION,
                "deployment": value,
            }))?
        }
        TextOrJson::Text => out(&show_text(&summary, &deployment))?,
    }
    Ok(Success::Done)
}

/// `ferry history show` as text: the record, then one line per object.
fn show_text(s: &Summary, d: &Deployment) -> String {
    let mut text = String::new();
    let mut row = |label: &str, value: &str| text.push_str(&format!("{label:<12} {value}\n"));
    row("deployment", &format!("{} ({})", s.id, s.short_id));
    row("status", &s.status);
    row("source", &s.source);
    row("plan hash", &s.plan_hash);
    row("actor", &s.actor);
    row("started", &s.started_at);
    row(
        "finished",
        s.finished_at.as_deref().unwrap_or("(not finished)"),
    );
    if let Some(target) = &s.rollback_of {
        row("rollback to", target);
    }
    if let Some(reason) = &s.skip_gate {
        row("gate skipped", &ferry::model::text::excerpt(reason, 1000));
    }
    row("objects", &format!("{}: {}", d.results.len(), counts(s)));
    if !d.results.is_empty() {
        text.push('\n');
        let width = d.results.iter().map(|r| r.status.len()).max().unwrap_or(0);
        for r in &d.results {
            text.push_str(&format!(
                "  {:<width$}  {:<6}  {}",
                r.status, r.action, r.address
            ));
            if let Some(message) = &r.message {
                text.push_str(&format!(": {message}"));
            }
            text.push('\n');
        }
    }
    text
}
