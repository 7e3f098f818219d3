use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry::apply;
use ferry::plan::{source, Plan, PLAN_FORMAT};

use super::plan::{make, show, Format};
use super::CliError;

/// Apply a plan to its destination: a saved plan file, or a new plan made from the same flags
/// as `ferry plan`.
///
/// Takes the destination's maintenance lock, re-checks every object the plan touches, writes the
/// whole plan in one transaction (all or nothing), and records a deployment. Without
/// --auto-approve a new plan is shown and must be confirmed on a terminal; in CI pass
/// --auto-approve or apply a saved plan.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved with `ferry plan --out PLAN`.
    #[arg(value_name = "PLAN", conflicts_with = "to")]
    plan_file: Option<PathBuf>,
    /// Skip the confirmation.
    #[arg(long)]
    auto_approve: bool,
    /// Wait up to this long for another holder's lock (e.g. 5m) instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    lock_wait: Option<Duration>,
    #[command(flatten)]
    plan: PlanFlags,
}

#[derive(Debug, clap::Args)]
struct PlanFlags {
    /// The destination tenant (sqlite:PATH), to plan and apply in one step.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// The git revision to deploy.
    #[arg(long = "ref", value_name = "REF", default_value = "HEAD")]
    revision: String,
    /// Delete objects ferry applied earlier that the revision no longer has.
    #[arg(long)]
    prune: bool,
    /// Make the destination's own object at a desired address ferry's.
    #[arg(long)]
    adopt: bool,
    /// What to do about objects changed outside ferry.
    #[arg(long, value_enum, default_value = "warn")]
    on_drift: super::plan::OnDrift,
    /// A destination on another compute cluster is an error.
    #[arg(long)]
    require_same_cluster: bool,
    /// Apply only the objects this selector chooses.
    #[arg(long, value_name = "EXPR", long_help = super::select::HELP)]
    select: Option<String>,
    /// Leave out the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    exclude: Option<String>,
}

/// How long the lock lasts unless renewed.
const LOCK_TTL: Duration = Duration::from_secs(15 * 60);

fn confirm() -> super::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            "refusing to apply without confirmation: no terminal to ask on",
            Some("pass --auto-approve (as CI does), or apply a saved plan: `ferry plan --out plan.json` then `ferry apply plan.json`".to_string()),
        ));
    }
    eprint!("Apply these changes? Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::new(e, None))?;
    Ok(answer.trim() == "yes")
}

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let (plan, desired, registry, blobs, url) = match &args.plan_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::new(
                    format!("cannot read {}: {e}", path.display()),
                    Some("check the path".to_string()),
                )
            })?;
            let plan: Plan = serde_json::from_str(&text).map_err(|e| {
                CliError::new(
                    format!("{} is not a ferry plan: {e}", path.display()),
                    Some("make one with `ferry plan --out PLAN`".to_string()),
                )
            })?;
            if plan.format_version != PLAN_FORMAT || plan.ferry_version != env!("CARGO_PKG_VERSION")
            {
                return Err(CliError::new(
                    format!(
                        "{} was made by ferry {} (plan format {}); this is ferry {} (plan format {PLAN_FORMAT})",
                        path.display(),
                        plan.ferry_version,
                        plan.format_version,
                        env!("CARGO_PKG_VERSION")
                    ),
                    Some("make the plan again with this ferry".to_string()),
                ));
            }
            let root = match (repo, &plan.source.repository) {
                (Some(r), _) => super::repo_root_at(Some(r), Some(&plan.source.id))?,
                (None, Some(r)) => PathBuf::from(r),
                (None, None) => super::repo_root_at(None, Some(&plan.source.id))?,
            };
            let (desired, registry, blobs) =
                source::desired_from_repository(&root, &plan.source.id).map_err(|e| {
                    CliError::new(
                        format!("cannot read the plan's commit {}: {e}", plan.source.id),
                        Some(
                            "apply the plan in the repository it was made from (--repo DIR)"
                                .to_string(),
                        ),
                    )
                })?;
            let url = plan.destination.url.clone();
            (plan, desired, registry, blobs, url)
        }
        None => {
            let Some(to) = args.plan.to.clone() else {
                return Err(CliError::new(
                    "nothing to apply: give a saved plan file or --to URL",
                    Some("`ferry apply --to sqlite:PATH` plans and applies; `ferry apply PLAN` applies a saved plan".to_string()),
                ));
            };
            let plan_args = super::plan::Args {
                to: to.clone(),
                revision: args.plan.revision.clone(),
                prune: args.plan.prune,
                adopt: args.plan.adopt,
                on_drift: args.plan.on_drift,
                require_same_cluster: args.plan.require_same_cluster,
                out: None,
                format: Format::Text,
                detailed_exitcode: false,
                select: args.plan.select.clone(),
                exclude: args.plan.exclude.clone(),
            };
            let made = make(&plan_args, repo)?;
            show(&made.plan, Format::Text);
            if !made.plan.has_changes() {
                eprintln!("nothing to apply");
                return Ok(());
            }
            if !args.auto_approve && !confirm()? {
                return Err(CliError::new("apply cancelled", None));
            }
            (made.plan, made.desired, made.registry, made.blobs, to)
        }
    };
    if !plan.has_changes() {
        eprintln!("nothing to apply");
        return Ok(());
    }
    execute(
        &plan,
        &desired.objects,
        &blobs,
        &registry,
        &url,
        args.lock_wait,
    )
}

/// Stops a write in progress on Ctrl-C or SIGTERM: the store rolls it back, and the lock is
/// released on the way out. A second signal ends the process at once (the transaction still
/// rolls back; the lock then lapses at its expiry).
fn stop_on_signals() {
    let installed = ctrlc::set_handler(|| {
        if ferry::store::cancelled() {
            std::process::exit(130);
        }
        eprintln!("interrupted: stopping, rolling back and releasing the lock");
        ferry::store::cancel();
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot catch Ctrl-C: {e}");
    }
}

/// Takes the destination's lock (waiting up to `lock_wait`), applies the plan as one deployment,
/// releases the lock (also on failure and on Ctrl-C) and reports the result.
pub fn execute(
    plan: &Plan,
    desired: &[ferry::model::Object],
    blobs: &std::collections::HashMap<uuid::Uuid, String>,
    registry: &ferry::kinds::Registry,
    url: &str,
    lock_wait: Option<Duration>,
) -> super::Result {
    let mut tenant = super::open_tenant(url)?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let me = super::actor_name();
    // Under a maintenance lock the same user took by hand (`ferry tenant lock`), apply works
    // inside it and leaves it in place.
    let own_lock = tenant
        .lock(&super::timestamp(super::now()?))?
        .is_some_and(|l| l.holder == me);
    let holder = if own_lock {
        me
    } else {
        format!("{me} (apply {})", &run_id[..8])
    };
    let deadline = Instant::now() + lock_wait.unwrap_or_default();
    stop_on_signals();
    if !own_lock {
        take_lock(tenant.as_mut(), &holder, deadline)?;
    }
    let actor = ferry::store::Actor {
        name: holder.clone(),
        now: super::timestamp(super::now()?),
    };
    let result = apply::apply(plan, desired, blobs, registry, tenant.as_mut(), &actor);
    let released = if own_lock {
        Ok(None)
    } else {
        tenant.release_lock(&holder, false, &actor.now)
    };
    match result {
        Ok(done) => {
            released?;
            let d = &done.deployment;
            let risky = d
                .results
                .iter()
                .filter(|r| r.status == "succeeded_with_risks")
                .count();
            eprintln!(
                "applied {} change(s) to {url} in deployment {}{}",
                d.results.len(),
                d.id,
                if risky > 0 {
                    format!(" ({risky} with risks)")
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Err(e) => {
            if let Err(r) = released {
                eprintln!("warning: the lock was not released: {r}");
            }
            let hint = match &e {
                apply::ApplyError::Stale(_) => "make a new plan: the destination changed since this one",
                apply::ApplyError::DesiredChanged(_) => "make a new plan from the repository as it is",
                _ => "`ferry history --tenant URL` shows the failed deployment; fix the cause and apply again",
            };
            Err(CliError::new(e, Some(hint.to_string())))
        }
    }
}

/// Takes the maintenance lock for `holder`, waiting until `deadline` for another holder's.
fn take_lock(
    tenant: &mut dyn ferry::store::Tenant,
    holder: &str,
    deadline: Instant,
) -> super::Result {
    let mut waiting = false;
    loop {
        if ferry::store::cancelled() {
            return Err(ferry::store::StoreError::Cancelled.into());
        }
        let now = super::now()?;
        match tenant.acquire_lock(
            holder,
            "deploy",
            &super::timestamp(now),
            &super::timestamp(now + LOCK_TTL),
        ) {
            Ok(_) => return Ok(()),
            Err(ferry::store::StoreError::Locked { holder, .. }) if Instant::now() < deadline => {
                if !waiting {
                    eprintln!("waiting for the lock held by {holder}");
                    waiting = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
