use std::path::PathBuf;
use std::time::Duration;

use ferry::context::Context;
use ferry::ops::apply::{self, ApplyOptions, ApplySource};
use ferry::store::Deployment;

use super::prelude::*;
use super::terminal::Terminal;

/// Apply a plan to its destination: a saved plan file, or a new plan made from the same flags
/// as `ferry plan`.
///
/// Takes the destination's maintenance lock, re-checks every object the plan touches, writes the
/// whole plan in one transaction (all or nothing), and records a deployment. Without
/// --auto-approve a new plan is shown and must be confirmed on a terminal; in CI pass
/// --auto-approve or apply a saved plan.
///
/// With --env, an environment whose file says `requires = ["test"]` (the promotion gate) takes
/// only a revision whose objects the test environment's tenant has had applied successfully;
/// --skip-gate REASON applies without it and records why. The deletion guards hold as for
/// `ferry plan`.
///
/// With an environment, every secret it names is read from its variable or file first; when one
/// has no value the apply refuses before the lock and before any write, naming each. Values go
/// only to the destination's secret table.
///
/// Exit codes: 0 success (also when there is nothing to apply), 1 error, 130 interrupted by
/// Ctrl-C or SIGTERM (the write was rolled back: nothing was written).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved with `ferry plan --out PLAN`.
    #[arg(value_name = "PLAN", conflicts_with_all = ["to", "env", "allow_deletes"])]
    plan_file: Option<PathBuf>,
    /// Skip the confirmation.
    #[arg(long)]
    auto_approve: bool,
    #[command(flatten)]
    lock: LockWait,
    /// Apply without the environment's promotion gate (`requires`), which otherwise refuses a
    /// revision whose objects the required environments' tenants have not had applied; the
    /// reason is recorded in the deployment (`ferry history show`).
    #[arg(long, value_name = "REASON")]
    skip_gate: Option<String>,
    /// The destination tenant (sqlite:PATH), to plan and apply in one step (with --env, the
    /// environment's tenant by default).
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    #[command(flatten)]
    plan: PlanFlags,
}

/// `--lock-wait`, shared by `apply` and `rollback`.
#[derive(Debug, Clone, clap::Args)]
pub struct LockWait {
    /// Wait up to this long for another holder's lock (e.g. 5m; at most 100 years) instead of
    /// failing at once.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub lock_wait: Option<Duration>,
}

/// Stops a write in progress on Ctrl-C or SIGTERM: the store rolls it back, and the lock is
/// released on the way out. A second signal ends the process at once (the transaction still
/// rolls back; the lock then lapses at the end of its lease, or is taken over at once by the
/// next apply on this host).
pub fn stop_on_signals() {
    let installed = ctrlc::set_handler(|| {
        if ferry::ops::interrupted() {
            let interrupted = CliError::new(Class::Interrupted, "interrupted");
            std::process::exit(super::error::exit_code(&Err(interrupted)).into());
        }
        eprintln!("interrupted: stopping, rolling back and releasing the lock");
        ferry::ops::interrupt();
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot catch Ctrl-C: {e}");
    }
}

/// Says what a deployment applied.
pub fn report_applied(d: &Deployment, url: &ferry::store::TenantUrl) {
    let risky = d
        .results
        .iter()
        .filter(|r| r.status == "succeeded_with_risks")
        .count();
    eprintln!(
        "applied {} change(s) to {url} in deployment {}{}{}",
        d.results.len(),
        d.id,
        d.rollback_of
            .as_ref()
            .map(|target| format!(", a rollback to deployment {target}"))
            .unwrap_or_default(),
        if risky > 0 {
            format!(" ({risky} with risks)")
        } else {
            String::new()
        }
    );
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let source = match (args.plan_file, &args.to) {
        (Some(path), _) => ApplySource::Saved(path),
        (None, to) if to.is_some() || args.plan.checks.env.env.is_some() => {
            ApplySource::Fresh(args.plan.request(ctx, to.as_deref())?)
        }
        (None, _) => return Err(ferry::ops::Error::NothingToApply.into()),
    };
    let options = ApplyOptions {
        source,
        auto_approve: args.auto_approve,
        lock_wait: args.lock.lock_wait,
        skip_gate: args.skip_gate,
    };
    stop_on_signals();
    let mut terminal = Terminal::new(ctx);
    let outcome = apply::apply(ctx, &options, &mut terminal);
    if let Some(e) = terminal.failed {
        return Err(e);
    }
    match outcome?.applied {
        None => eprintln!("nothing to apply"),
        Some((url, deployment)) => report_applied(&deployment, &url),
    }
    Ok(Success::Done)
}
