use std::path::PathBuf;

use ferry::context::Context;
use ferry::ops::plan::{self, PlanOptions};

use super::prelude::*;
use super::terminal::{show, Format, Terminal};

/// Show the ordered changes that make a destination tenant match the repository at a commit.
///
/// Desired objects are read from the git object database at --ref (no checkout) and validated;
/// they are matched with the destination's objects by GUID. Creates, adoptions, renames and
/// updates run in waves over the dependency graph; deletes (only of objects ferry applied, and
/// only with --prune) run last, dependents first. Objects --select leaves out are neither changed
/// nor deleted. Nothing is changed. Uncommitted changes under objects/ are not part of a plan of
/// HEAD: plan names them on stderr.
///
/// Deletion guards: with --env, the environment file's [guards] refuse a plan that deletes or
/// renames a `protect`ed object, deletes more than `max_deletes` (unless --allow-deletes M), or
/// deletes everything ferry manages in the tenant (unless `allow_empty = true`); without --env,
/// deleting everything needs --allow-deletes M.
///
/// Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes without
/// deletes, 3 changes with deletes (2 and 3 only with --detailed-exitcode).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The destination tenant (sqlite:PATH); with --env, the environment's tenant by default.
    #[arg(long, value_name = "URL", required_unless_present = "env")]
    to: Option<String>,
    #[command(flatten)]
    plan: PlanFlags,
    /// Save the plan as JSON, for `ferry apply PLAN`.
    #[arg(long, value_name = "PLAN")]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Exit 2 when the plan has changes without deletes, 3 with deletes.
    #[arg(long)]
    detailed_exitcode: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let options = PlanOptions {
        request: args.plan.request(ctx, args.to.as_deref())?,
        out: args.out,
    };
    let made = plan::plan(ctx, &options, &mut Terminal::new(ctx))?;
    let plan = &made.planned.plan;
    show(ctx, plan, args.format)?;
    if let Some(warning) = &made.uncommitted {
        eprintln!("{warning}");
    }
    if let Some((path, _)) = &made.saved {
        eprintln!(
            "saved the plan to {}; apply it with `ferry apply {}`",
            path.display(),
            path.display()
        );
    }
    Ok(outcome(plan, args.detailed_exitcode))
}

/// What a shown plan exits with: with `detailed`, whether it changes and deletes anything
/// (`--detailed-exitcode` of `plan` and `rollback --out`).
pub fn outcome(plan: &ferry::plan::Plan, detailed: bool) -> Success {
    match (detailed, plan.has_changes(), plan.has_deletes()) {
        (false, _, _) | (true, false, _) => Success::Done,
        (true, true, false) => Success::Changes,
        (true, true, true) => Success::Deletes,
    }
}
