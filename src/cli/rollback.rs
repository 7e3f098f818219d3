use std::path::Path;
use std::time::Duration;

use ferry::apply;

use super::plan::{make, show, Args as PlanArgs, Format, OnDrift};
use super::CliError;

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
    /// Wait up to this long for another holder's lock (e.g. 5m) instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    lock_wait: Option<Duration>,
}

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let target = {
        let tenant = super::open_tenant(&args.to)?;
        apply::rollback_target(tenant.as_ref(), &args.deployment).map_err(|e| {
            let hint = match &e {
                apply::ApplyError::NoDeployment { .. }
                | apply::ApplyError::NotRestorable { .. } => Some(
                    "`ferry history --tenant URL` lists the deployments and their ids".to_string(),
                ),
                _ => None,
            };
            CliError::new(e, hint)
        })?
    };
    let plan_args = PlanArgs {
        to: args.to.clone(),
        revision: target.source.clone(),
        prune: true,
        adopt: false,
        on_drift: OnDrift::Warn,
        require_same_cluster: false,
        out: None,
        format: Format::Text,
        detailed_exitcode: false,
        select: None,
        exclude: None,
    };
    let made = make(&plan_args, repo).inspect_err(|_| {
        eprintln!(
            "cannot plan back to deployment {} (commit {})",
            target.id, target.source
        );
    })?;
    show(&made.plan, Format::Text);
    if !made.plan.has_changes() {
        eprintln!(
            "nothing to roll back: the tenant matches deployment {}",
            target.id
        );
        return Ok(());
    }
    if !args.auto_approve {
        eprintln!(
            "this plan rolls back to deployment {} (commit {}); pass --auto-approve to apply it",
            target.id, target.source
        );
        return Ok(());
    }
    super::apply::execute(
        &made.plan,
        &made.desired.objects,
        &made.blobs,
        &made.registry,
        &args.to,
        args.lock_wait,
    )
}
