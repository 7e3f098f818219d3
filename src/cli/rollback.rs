use std::path::PathBuf;

use ferry::context::Context;
use ferry::ops::rollback::{self, RollbackOptions};

use super::apply::{report_applied, stop_on_signals, LockWait};
use super::prelude::*;
use super::terminal::{show, Format, Terminal};

/// Plan a tenant back to what one of its deployments applied, and apply it as `ferry apply`
/// does.
///
/// Reads the commit the deployment recorded from the repository and plans the destination to
/// it, deleting the objects ferry applied since (prune). It is a plan like any other: shown,
/// then applied when confirmed on a terminal or with --auto-approve; or saved with --out for
/// review and `ferry apply PLAN`. The deployment that applies it is recorded as a rollback to
/// the one named. `ferry history --tenant URL` lists deployments with their short ids.
///
/// Exit codes as `ferry plan` with --out and --detailed-exitcode: 0 no changes, 2 changes
/// without deletes, 3 with deletes; 1 is always an error.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant to roll back (sqlite:PATH); with --env, the environment's tenant by default.
    #[arg(long, value_name = "URL", required_unless_present = "env")]
    to: Option<String>,
    /// The deployment to go back to: its id, a unique prefix of it, `last` or `previous`.
    #[arg(long, value_name = "ID")]
    deployment: String,
    #[command(flatten)]
    checks: PlanChecks,
    /// Save the plan as JSON instead of applying it, for review and `ferry apply PLAN`.
    #[arg(long, value_name = "PLAN")]
    out: Option<PathBuf>,
    /// How the plan is shown.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// With --out: exit 2 when the plan has changes without deletes, 3 with deletes.
    #[arg(long, requires = "out")]
    detailed_exitcode: bool,
    /// Apply without asking.
    #[arg(long, conflicts_with = "out")]
    auto_approve: bool,
    #[command(flatten)]
    lock: LockWait,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let options = RollbackOptions {
        // The revision and prune are the deployment's; the rest are the plan flags given.
        request: args.checks.request(ctx, args.to.as_deref(), "HEAD", true)?,
        deployment: args.deployment,
        out: args.out,
        auto_approve: args.auto_approve,
        lock_wait: args.lock.lock_wait,
    };
    if options.out.is_none() {
        stop_on_signals();
    }
    let mut terminal = Terminal::new(ctx);
    terminal.format = args.format;
    let outcome = rollback::rollback(ctx, &options, &mut terminal);
    if let Some(e) = terminal.failed {
        return Err(e);
    }
    let done = outcome?;
    let (id, commit) = (&done.target.id, &done.target.source);
    let plan = &done.planned.plan;
    if let Some((path, _)) = &done.saved {
        show(ctx, plan, args.format)?;
        eprintln!(
            "saved the plan back to deployment {id} (commit {commit}) to {}; apply it with `ferry apply {}`",
            path.display(),
            path.display()
        );
        return Ok(super::plan::outcome(plan, args.detailed_exitcode));
    }
    match &done.applied {
        None => eprintln!("nothing to roll back: the tenant matches deployment {id}"),
        Some((url, d)) => report_applied(d, url),
    }
    Ok(Success::Done)
}
