use ferry::context::Context;
use ferry::ops::rollback::{self, RollbackOptions};

use super::apply::{report_applied, stop_on_signals, LockWait};
use super::prelude::*;
use super::terminal::Terminal;

/// Plan (and with --auto-approve apply) a tenant back to what one of its deployments applied.
///
/// Reads the commit the deployment recorded from the repository and plans the destination to
/// it, deleting the objects ferry applied since (prune). The plan is shown like any other;
/// without --auto-approve nothing is changed. `ferry history --tenant URL` lists deployment ids.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant to roll back (sqlite:PATH).
    #[arg(long, value_name = "URL")]
    to: String,
    /// The deployment to go back to (an id from `ferry history`).
    #[arg(long, value_name = "ID")]
    deployment: String,
    /// Apply the plan.
    #[arg(long)]
    auto_approve: bool,
    #[command(flatten)]
    lock: LockWait,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let options = RollbackOptions {
        to: tenant_url(&args.to)?,
        deployment: args.deployment,
        auto_approve: args.auto_approve,
        lock_wait: args.lock.lock_wait,
    };
    if options.auto_approve {
        stop_on_signals();
    }
    let mut terminal = Terminal { ctx, failed: None };
    let outcome = rollback::rollback(ctx, &options, &mut terminal);
    if let Some(e) = terminal.failed {
        return Err(e);
    }
    let done = outcome?;
    let (id, commit) = (&done.target.id, &done.target.source);
    if !done.planned.plan.has_changes() {
        eprintln!("nothing to roll back: the tenant matches deployment {id}");
    } else if let Some(d) = &done.applied {
        report_applied(d, &options.to);
    } else {
        eprintln!(
            "this plan rolls back to deployment {id} (commit {commit}); pass --auto-approve to apply it"
        );
    }
    Ok(Success::Done)
}
