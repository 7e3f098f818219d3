use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use ferry::plan::{self, build::Options, source, Plan};

use super::{out, CliError};

/// Show the ordered changes that make a destination tenant match the repository at a commit.
///
/// Desired objects are read from the git object database at --ref (no checkout) and validated;
/// they are matched with the destination's objects by GUID. Creates, adoptions, renames and
/// updates run in waves over the dependency graph; deletes (only of objects ferry applied, and
/// only with --prune) run last, dependents first. Nothing is changed.
///
/// Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes without
/// deletes, 3 changes with deletes (2 and 3 only with --detailed-exitcode).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The destination tenant (sqlite:PATH).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The git revision to deploy.
    #[arg(long = "ref", value_name = "REF", default_value = "HEAD")]
    pub revision: String,
    /// Delete objects ferry applied earlier that the revision no longer has.
    #[arg(long)]
    pub prune: bool,
    /// Make the destination's own object at a desired address ferry's (it takes the desired
    /// GUID), instead of failing with a conflict.
    #[arg(long)]
    pub adopt: bool,
    /// What to do when destination objects were changed outside ferry since it applied them.
    #[arg(long, value_enum, default_value = "warn")]
    pub on_drift: OnDrift,
    /// A destination on another compute cluster is an error, not a warning.
    #[arg(long)]
    pub require_same_cluster: bool,
    /// Save the plan as JSON, for `ferry apply PLAN`.
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 2 when the plan has changes without deletes, 3 with deletes.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only the objects this selector chooses over the commit's dependency graph; objects
    /// left out are neither changed nor deleted.
    #[arg(long, value_name = "EXPR", long_help = super::select::HELP)]
    pub select: Option<String>,
    /// Leave out the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    pub exclude: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDrift {
    Warn,
    Fail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// Everything a plan was made from, for apply.
pub struct Made {
    pub plan: Plan,
    pub desired: plan::Desired,
    pub registry: ferry::kinds::Registry,
    pub blobs: std::collections::HashMap<uuid::Uuid, String>,
}

/// Reads both sides and builds the plan, printing validation problems.
pub fn make(args: &Args, repo: Option<&Path>) -> super::Result<Made> {
    let root = super::repo_root_at(repo, Some(&args.revision))?;
    let tenant = super::open_tenant(&args.to)?;
    let selecting = args.select.is_some() || args.exclude.is_some();
    // Read only what changed since the last apply when that can be trusted (a selection needs
    // the whole graph); then load only the destination bodies the plan needs.
    let fast = if selecting || std::env::var_os("FERRY_FULL_READ").is_some() {
        None
    } else {
        let mut index = source::actual_index(tenant.as_ref())?;
        match source::desired_fast(&root, &args.revision, &mut index, tenant.as_ref()) {
            Ok(Some(found)) => Some(Ok((found, index))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    };
    let (found, mut actual) = match fast {
        Some(Ok((found, index))) => {
            eprintln!(
                "read {} changed object file(s); {} are as ferry last applied them",
                found.0.objects.len(),
                found.0.unchanged.len()
            );
            let actual = source::with_bodies(tenant.as_ref(), index, &found.0)?;
            (Ok(found), actual)
        }
        Some(Err(e)) => (Err(e), source::actual_from_tenant(tenant.as_ref())?),
        None => (
            source::desired_from_repository(&root, &args.revision),
            source::actual_from_tenant(tenant.as_ref())?,
        ),
    };
    // A saved plan names its destination wherever it is applied from.
    actual.url = absolute_url(&actual.url);
    let (desired, registry, blobs) = match found {
        Ok(found) => found,
        Err(source::SourceError::Invalid { revision, problems }) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return Err(CliError::new(
                format!(
                    "{} problem(s) in the repository at {revision}; no plan was made",
                    problems.len()
                ),
                Some(
                    "`ferry validate --ref REF` shows the same problems; fix them and commit"
                        .to_string(),
                ),
            ));
        }
        Err(source::SourceError::Repo(e)) => return Err(e.into()),
        Err(e) => return Err(CliError::new(e, None)),
    };
    let options = Options {
        prune: args.prune,
        adopt: args.adopt,
        fail_on_drift: args.on_drift == OnDrift::Fail,
        require_same_cluster: args.require_same_cluster,
    };
    let mut desired = desired;
    if args.select.is_some() || args.exclude.is_some() {
        let graph = ferry::graph::Graph::build(&desired.objects, &registry);
        let chosen =
            super::select::choose(&graph, args.select.as_deref(), args.exclude.as_deref())?;
        desired.selected = Some(chosen.iter().map(|a| a.to_string()).collect());
    }
    let plan = plan::build(&desired, &actual, &registry, options).map_err(plan_error)?;
    Ok(Made {
        plan,
        desired,
        registry,
        blobs,
    })
}

/// `sqlite:PATH` with PATH made absolute; other URLs as they are.
fn absolute_url(url: &str) -> String {
    match url.strip_prefix("sqlite:").map(Path::new) {
        // The tenant file exists (it was just opened): canonicalize resolves `..` and links.
        Some(path) if path.is_relative() => {
            match path.canonicalize().or_else(|_| std::path::absolute(path)) {
                Ok(path) => format!("sqlite:{}", path.display()),
                Err(_) => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn plan_error(e: plan::PlanError) -> CliError {
    use plan::PlanError as E;
    let hint = match &e {
        E::Prerequisite { .. } => "deploy only between tenants of the same platform version, engine type and engine mode; for another cluster, migrate the engine's data first",
        E::NoSourceFacts => "run `ferry export --from SOURCE --commit` once so ferry.toml records the source tenant",
        E::Unresolved(_) => "add the referenced objects to the repository, or create them in the destination first",
        E::Conflict(_) => "pass --adopt to make the destination's objects ferry's, or rename one side",
        E::Cycle(_) => "remove one of the references in the cycle",
        E::OutsideSelection(_) => "widen the selection to what the objects need (`+X` selects X and its dependencies)",
        E::BlockedDelete(_) => "change or delete the objects that still refer to them first",
        E::Drift(_) => "look at the drift with --on-drift warn, then export the destination or re-apply",
        E::Immutable(_) => "the platform does not allow this change: create a new object instead",
    };
    CliError::new(e, Some(hint.to_string()))
}

/// Prints a plan in the chosen format.
pub fn show(plan: &Plan, format: Format) {
    match format {
        Format::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            out(&ferry::render::plan::text(plan, colour));
        }
        Format::Markdown => out(&ferry::render::plan::markdown(plan)),
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(plan).expect("plans serialize")
        )),
    }
}

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let made = make(&args, repo)?;
    show(&made.plan, args.format);
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(&made.plan).expect("plans serialize");
        std::fs::write(path, format!("{text}\n")).map_err(|e| {
            CliError::new(
                format!("cannot write {}: {e}", path.display()),
                Some("check the path".to_string()),
            )
        })?;
        eprintln!(
            "saved the plan to {}; apply it with `ferry apply {}`",
            path.display(),
            path.display()
        );
    }
    if args.detailed_exitcode {
        super::set_exit_code(match (made.plan.has_changes(), made.plan.has_deletes()) {
            (false, _) => 0,
            (true, false) => 2,
            (true, true) => 3,
        });
    }
    Ok(())
}
