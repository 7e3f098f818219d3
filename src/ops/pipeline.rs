//! The pipeline every plan and apply runs through, shared by `plan`, `apply` and `rollback`:
//!
//! ```text
//! desired (git ref) → actual (the destination) → selection → plan::build → apply under the lock
//! ```

use std::collections::HashMap;
use std::time::Duration;

use uuid::Uuid;

use super::{Error, Result, Ui};
use crate::apply::{self, session};
use crate::context::Context;
use crate::desired::environment::{self, Environment};
use crate::desired::{self, overlay, secrets, ReadMode};
use crate::graph::Graph;
use crate::kinds::Registry;
use crate::model::Object;
use crate::plan::{self, Options, Plan};
use crate::select::{self, Selector};
use crate::store::{self, Deployment, TenantUrl};

/// What to plan: the flags `plan`, `apply` and `rollback` share.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The destination.
    pub to: TenantUrl,
    /// The git revision to deploy.
    pub revision: String,
    /// The plan's options (prune, adopt, drift, cluster).
    pub options: Options,
    /// `--select`.
    pub select: Option<String>,
    /// `--exclude`.
    pub exclude: Option<String>,
    /// For `ferry rollback`: the deployment the plan goes back to.
    pub rollback_of: Option<String>,
    /// `--env`: the environment whose overlay the desired objects get (its file read at the
    /// same revision).
    pub env: Option<String>,
    /// `--allow-deletes M`: how many deletes the deletion guards allow.
    pub allow_deletes: Option<usize>,
    /// `--package FILE|ID`: plan a deployment package instead of the git revision (a file,
    /// checked as `ferry import` checks it, or the id of one the destination keeps).
    pub package: Option<String>,
}

pub(crate) use super::package::plan::{make_package_plan, PackageRef};

/// A plan with everything it was made from, for applying it.
#[derive(Debug)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The desired objects.
    pub objects: Vec<Object>,
    /// The kind registry.
    pub registry: Registry,
    /// The desired objects' git blobs.
    pub blobs: HashMap<Uuid, String>,
    /// For a plan that read only the changed files: how many it read, and how many objects it
    /// knew unchanged without reading.
    pub changed_only: Option<(usize, usize)>,
    /// The repository it was read from.
    pub root: std::path::PathBuf,
    /// The environment (`--env`), parsed.
    pub environment: Option<Environment>,
    /// What the revision's objects are (the promotion gate compares it), the whole revision's
    /// even when the plan selects part of it.
    pub content: Option<store::Content>,
    /// The values of the plan's secrets that their sources had here (`plan.secrets`), and the
    /// ones that had none.
    pub secret_values: secrets::SecretValues,
    /// For a plan of a package the destination keeps: its id there, whose objects' deployment
    /// statuses an apply sets.
    pub package: Option<String>,
}

impl Planned {
    /// Refuses, before any lock or write, a plan one of whose secrets has no value here, naming
    /// each (object, field, source, line).
    pub fn check_secrets(&self) -> Result<()> {
        let missing = self.secret_values.missing_of(&self.plan.secrets);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Apply(apply::ApplyError::MissingSecrets { missing }))
        }
    }
}

/// The environment `name` of the repository at `root`: its file at `revision`, or in the
/// working tree when `None`, parsed.
pub fn environment(
    root: &std::path::Path,
    revision: Option<&str>,
    name: &str,
) -> Result<Environment> {
    if let Err(why) = environment::check_name(name) {
        // No such file can exist: the name is quoted (escaped and cut) in the error.
        return Err(Error::Env(environment::EnvError::one(
            &environment::path_of(&crate::model::text::excerpt(name, 64)),
            0,
            why,
        )));
    }
    let files = crate::repo::environment_files(root, revision)?;
    match files.iter().find(|(n, _)| n == name) {
        Some((_, bytes)) => Ok(Environment::parse(name, bytes)?),
        None => Err(Error::NoEnvironment {
            name: name.to_string(),
            path: environment::path_of(name),
            at: match revision {
                Some(r) => match crate::repo::commit_id(root, r) {
                    Some(c) => format!("at {r} (commit {})", &c[..c.len().min(12)]),
                    None => format!("at {r}"),
                },
                None => "in the working tree".into(),
            },
            known: files.into_iter().map(|(n, _)| n).collect(),
        }),
    }
}

/// The destination of a plan: `--to`, or the tenant of environment `env` (read at `revision`;
/// a relative `sqlite:` path is from the repository's folder). Both given must agree.
pub fn destination(
    ctx: &Context,
    to: Option<&str>,
    env: Option<&str>,
    revision: &str,
) -> Result<TenantUrl> {
    let given = to.map(TenantUrl::parse).transpose()?;
    let Some(name) = env else {
        return given.ok_or(Error::NothingToApply);
    };
    let root = ctx.root_at(Some(revision))?;
    let env = environment(&root, Some(revision), name)?;
    tenant_of(&root, &env, given)
}

/// The tenant of environment `env` (of the repository at `root`), or `given` when the file
/// names none; both must agree.
pub fn tenant_of(
    root: &std::path::Path,
    env: &Environment,
    given: Option<TenantUrl>,
) -> Result<TenantUrl> {
    let Some((text, line)) = &env.tenant else {
        return given.ok_or_else(|| Error::EnvWithoutTenant {
            env: env.name.clone(),
            path: env.path.clone(),
        });
    };
    let declared = match TenantUrl::parse(text)? {
        TenantUrl::Sqlite(path) if path.is_relative() => {
            let joined = root.join(path);
            // `repo/../prod.db` named as `/…/prod.db`, whether or not the file exists yet.
            let resolved = joined.canonicalize().ok().or_else(|| {
                let parent = joined.parent()?.canonicalize().ok()?;
                Some(parent.join(joined.file_name()?))
            });
            TenantUrl::Sqlite(resolved.unwrap_or(joined))
        }
        other => other,
    };
    match given {
        Some(given) if given.absolute() != declared.absolute() => Err(Error::EnvTenantDisagrees {
            env: env.name.clone(),
            given: given.to_string(),
            declared: declared.to_string(),
            path: env.path.clone(),
            line: *line,
        }),
        _ => Ok(declared),
    }
}

/// The addresses `select` minus `exclude` choose in `graph` (everything when both are absent).
pub fn choose(
    graph: &Graph,
    select: Option<&str>,
    exclude: Option<&str>,
) -> Result<std::collections::BTreeSet<crate::model::Address>> {
    let select = select.map(Selector::parse).transpose()?;
    let exclude = exclude.map(Selector::parse).transpose()?;
    Ok(select::choose(graph, select.as_ref(), exclude.as_ref())?)
}

/// The warning a plan of `revision` in the repository `ctx` names gives when `revision` is the
/// commit HEAD is at and the working tree has uncommitted changes under `objects/`, which the
/// plan does not include (it reads the commit); `None` otherwise, and outside a git work tree.
/// The first 20 paths are listed, then how many more.
pub fn uncommitted_warning(ctx: &Context, revision: &str) -> Result<Option<String>> {
    let root = ctx.root_at(Some(revision))?;
    let head = crate::repo::commit_id(&root, "HEAD");
    if head.is_none() || head != crate::repo::commit_id(&root, revision) {
        return Ok(None);
    }
    let Some(status) = crate::repo::uncommitted_objects(&root)? else {
        return Ok(None);
    };
    if status.changes.is_empty() {
        return Ok(None);
    }
    let commit: String = head.unwrap_or_default().chars().take(12).collect();
    let lines: Vec<String> = status
        .changes
        .iter()
        .map(|(state, path)| format!("{:<8} {path}", state.as_str()))
        .collect();
    Ok(Some(format!(
        "warning: the working tree has {} uncommitted object change(s) this plan does not include: it plans {revision} (commit {commit})\n  {}\n  hint: commit them (`git add objects && git commit`) to plan them, or plan another revision with --ref REV",
        lines.len(),
        crate::model::text::listed(&lines, "\n  "),
    )))
}

/// [`make_plan`], and beside it, on a thread of its own so that its cost hides behind the
/// plan's, the [`uncommitted_warning`] for the plan's revision. A status git cannot read is a
/// warning too: it never stops a plan.
pub fn make_plan_noting_uncommitted(
    ctx: &Context,
    request: &PlanRequest,
    ui: &mut dyn Ui,
) -> Result<(Planned, Option<String>)> {
    if request.package.is_some() {
        return Ok((make_plan(ctx, request, ui)?, None));
    }
    let (planned, warning) = std::thread::scope(|scope| {
        let status = scope.spawn(|| uncommitted_warning(ctx, &request.revision));
        let started = std::time::Instant::now();
        let planned = make_plan(ctx, request, ui);
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "made the plan");
        let warning = status
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (planned, warning)
    });
    let warning = warning.unwrap_or_else(|e| {
        Some(format!(
            "warning: cannot tell whether objects/ has uncommitted changes: {e}"
        ))
    });
    Ok((planned?, warning))
}

/// Reads both sides and builds the plan; says through `ui` how much of the repository it read.
pub fn make_plan(ctx: &Context, request: &PlanRequest, ui: &mut dyn Ui) -> Result<Planned> {
    if let Some(package) = &request.package {
        let tenant = store::open(&request.to)?;
        return make_package_plan(ctx, tenant.as_ref(), request, PackageRef::of(package), ui);
    }
    let (planned, refused) = make_plan_guarded(ctx, request, ui)?;
    match refused {
        Some(e) => Err(e),
        None => Ok(planned),
    }
}

/// [`make_plan`] of a revision (not a package), with a plan the deletion guards refuse
/// returned beside their refusal instead of as an error: for `ferry review`, which shows what
/// the refused plan would do. Nothing may apply such a plan.
pub fn make_plan_guarded(
    ctx: &Context,
    request: &PlanRequest,
    ui: &mut dyn Ui,
) -> Result<(Planned, Option<Error>)> {
    let root = ctx.root_at(Some(&request.revision))?;
    let tenant = store::open(&request.to)?;
    make_plan_at(ctx, &root, tenant.as_ref(), request, ui)
}

/// The destination objects a plan leaves unread (`desired.unchanged`), with their categories:
/// where an overlay finds them.
pub(super) fn unread_of(
    actual: &plan::Actual,
    desired: &desired::Desired,
    registry: &Registry,
) -> Vec<(crate::model::Address, crate::kinds::Category)> {
    actual
        .objects
        .iter()
        .filter(|o| desired.unchanged.contains(&o.guid))
        .filter_map(|o| {
            let kind = registry.get(&o.kind)?;
            let address = crate::model::Address {
                kind: o.kind.clone(),
                project: o.project.clone(),
                name: o.name.clone(),
            };
            Some((address, kind.category))
        })
        .collect()
}

/// [`make_plan`] over the repository at `root` and the destination `tenant` (opened from
/// `request.to`).
fn make_plan_at(
    ctx: &Context,
    root: &std::path::Path,
    tenant: &dyn store::Tenant,
    request: &PlanRequest,
    ui: &mut dyn Ui,
) -> Result<(Planned, Option<Error>)> {
    let selecting = request.select.is_some() || request.exclude.is_some();
    let env = request
        .env
        .as_deref()
        .map(|name| environment(root, Some(&request.revision), name))
        .transpose()?;
    // Overrides whose selectors use the graph (`+`, `@`) need every object file; others are
    // told from an object's address, so files ferry applied with the same overrides are left
    // unread as without an environment.
    let keys = env.as_ref().map(overlay::Keys::new);
    let graph_overlay = matches!(keys, Some(None));
    let keys = keys.flatten();
    let expect = |path: &str| {
        let Some(keys) = &keys else {
            return overlay::Expect::Digest(None);
        };
        let category = path
            .split('/')
            .nth(1)
            .and_then(crate::kinds::Category::parse);
        match (crate::model::path::address_from_path(path), category) {
            (Some(address), Some(category)) => keys.expect(&address, category),
            _ => overlay::Expect::Read,
        }
    };
    // A selection needs the whole graph; otherwise only what changed since the last apply.
    let mode = if selecting || graph_overlay || ctx.is_set("FERRY_FULL_READ") {
        ReadMode::All
    } else {
        ReadMode::Changed
    };
    let read = desired::read(root, &request.revision, tenant, mode, &expect)?;
    if let Some((files, unchanged)) = read.changed_only {
        ui.status(&format!(
            "read {files} changed object file(s); {unchanged} are as ferry last applied them"
        ));
    }
    let mut desired = read.desired;
    let overlaid = match &env {
        Some(env) => {
            // The objects left unread are where the destination has them.
            let unread = unread_of(&read.actual, &desired, &read.registry);
            Some(overlay::apply(
                env,
                &mut desired.objects,
                &read.registry,
                &unread,
            )?)
        }
        None => None,
    };
    // Read where the plan is made; a source without a value is not an error here. (Objects a
    // secret entry chooses are always read, so every needed secret is here.)
    let secret_values = match &overlaid {
        Some(o) => secrets::read(ctx, root, &o.secrets),
        None => secrets::SecretValues::default(),
    };
    // An object the overrides chose is applied with the digest of those overrides beside its
    // file's blob id: a later plan leaves its file unread only with the same overrides.
    let mut blobs = read.blobs;
    if let Some(overlaid) = &overlaid {
        for (guid, digest) in &overlaid.digests {
            if let Some(blob) = blobs.get_mut(guid) {
                *blob = format!("{blob}+{digest}");
            }
        }
    }
    let mut actual = read.actual;
    // A saved plan names its destination wherever it is applied from.
    actual.url = request.to.absolute();
    // A rollback plans an older revision, but the guards are the tenant's protection now: those
    // of the environment file at HEAD hold too (the stricter of both), so going back cannot
    // delete what HEAD protects.
    let policy = match (&env, &request.rollback_of) {
        (Some(env), Some(_)) => Some(stricter(env, root, &request.revision)?),
        _ => None,
    };
    let (plan, refused) = build_plan(
        &mut desired,
        &actual,
        &read.registry,
        request,
        request.options,
        env.as_ref(),
        policy.as_ref().or(env.as_ref()),
        overlaid.as_ref(),
        &secret_values,
        tenant,
    )?;
    tracing::debug!(
        changes = plan.changes.len(),
        unchanged = plan.unchanged,
        drift = plan.drift.len(),
        "built the plan"
    );
    let content = crate::repo::content(root, &plan.source.id)?;
    let planned = Planned {
        plan,
        objects: desired.objects,
        registry: read.registry,
        blobs,
        changed_only: read.changed_only,
        root: root.to_path_buf(),
        environment: env,
        content,
        secret_values,
        package: None,
    };
    Ok((planned, refused))
}

/// The plan of `desired` over `actual` for `request` (built with `options`): the selection,
/// the deletion guards (those of `policy`), and the environment's overrides and secrets marked.
/// A refusal of the guards is returned beside the plan (`ferry review` shows what they
/// refused); an environment file error (a `protect` selector that matches nothing) is an error.
#[allow(clippy::too_many_arguments)]
pub(super) fn build_plan(
    desired: &mut desired::Desired,
    actual: &plan::Actual,
    registry: &Registry,
    request: &PlanRequest,
    options: Options,
    env: Option<&Environment>,
    policy: Option<&Environment>,
    overlaid: Option<&overlay::Overlaid>,
    secret_values: &secrets::SecretValues,
    tenant: &dyn store::Tenant,
) -> Result<(Plan, Option<Error>)> {
    let selecting = request.select.is_some() || request.exclude.is_some();
    if selecting {
        let graph = Graph::build(&desired.objects, registry);
        let chosen = choose(
            &graph,
            request.select.as_deref(),
            request.exclude.as_deref(),
        )?;
        desired.selected = Some(chosen.iter().map(|a| a.to_string()).collect());
    }
    let mut plan = plan::build(desired, actual, registry, options)?;
    // A package's own deletions are no `--prune` of the request's.
    plan.made_with.options = request.options;
    plan.made_with.select = request.select.clone();
    plan.made_with.exclude = request.exclude.clone();
    plan.made_with.rollback_of = request.rollback_of.clone();
    plan.made_with.env = request.env.clone();
    plan.made_with.allow_deletes = request.allow_deletes;
    let refused = match check_guards(
        &plan,
        policy,
        request,
        actual,
        &desired.objects,
        registry,
        tenant,
    ) {
        Ok(()) => None,
        Err(e @ Error::Guard(_)) => Some(e),
        Err(e) => return Err(e),
    };
    if let (Some(env), Some(overlaid)) = (env, overlaid) {
        mark_overrides(&mut plan, overlaid);
        plan.environment = Some(plan::PlanEnvironment {
            name: env.name.clone(),
            file: env.path.clone(),
            digest: env.digest.clone(),
            overrides: overlaid.set.values().map(Vec::len).sum::<usize>()
                + overlaid.unread_counts.0,
            objects_overridden: overlaid.set.len() + overlaid.unread_counts.1,
        });
        let adopted: HashMap<Uuid, Uuid> = plan
            .changes
            .iter()
            .filter_map(|c| Some((c.guid, c.old_guid?)))
            .collect();
        plan.secrets = secrets::planned(
            &overlaid.secrets,
            secret_values,
            tenant,
            desired.selected.as_ref(),
            &adopted,
        )?;
    }
    Ok((plan, refused))
}

/// `env` (read at `revision`) with the guards of the same environment's file at HEAD added:
/// every `protect` of either, the lower `max_deletes`, `allow_empty` only when both allow it.
fn stricter(env: &Environment, root: &std::path::Path, revision: &str) -> Result<Environment> {
    let head = match environment(root, Some("HEAD"), &env.name) {
        Ok(head) => head,
        Err(Error::NoEnvironment { .. }) => return Ok(env.clone()),
        Err(e) => return Err(e),
    };
    if crate::repo::commit_id(root, "HEAD") == crate::repo::commit_id(root, revision) {
        return Ok(env.clone());
    }
    let mut merged = env.clone();
    merged.protect.extend(head.protect);
    merged.max_deletes = match (env.max_deletes, head.max_deletes) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    merged.allow_empty = env.allow_empty && head.allow_empty;
    Ok(merged)
}

/// The deletion guards ([`plan::guards`]) over a built plan: the environment's `protect`
/// selectors chosen over the destination's objects, `max_deletes`, `--allow-deletes` and the
/// refusal to delete everything ferry manages. Only a plan that deletes or renames something can
/// break a protection, so only such a plan evaluates the `protect` selectors (with the
/// destination's references, read then): the others keep the cost of their change.
fn check_guards(
    plan: &Plan,
    env: Option<&Environment>,
    request: &PlanRequest,
    actual: &plan::Actual,
    desired: &[Object],
    registry: &Registry,
    tenant: &dyn store::Tenant,
) -> Result<()> {
    let protected = match env {
        Some(env) if !env.protect.is_empty() && !plan::guards::touched(plan).is_empty() => {
            let edges = tenant.reference_edges()?;
            let identities = actual.objects.iter().map(|o| {
                (
                    crate::model::Address {
                        kind: o.kind.clone(),
                        project: o.project.clone(),
                        name: o.name.clone(),
                    },
                    o.guid,
                )
            });
            let graph = Graph::of_identities(identities, edges, registry);
            plan::guards::protected(env, &graph, desired, registry)?
        }
        _ => Default::default(),
    };
    let managed = actual
        .objects
        .iter()
        .filter(|o| actual.applied.contains_key(&o.guid))
        .count();
    let guards = plan::guards::Guards {
        env,
        allow_deletes: request.allow_deletes,
        managed,
    };
    Ok(plan::guards::check(plan, &guards, &protected)?)
}

/// Marks each changed field an environment override set with the line that set it.
fn mark_overrides(plan: &mut Plan, overlaid: &overlay::Overlaid) {
    for change in &mut plan.changes {
        let Some(set) = overlaid.set.get(&change.guid) else {
            continue;
        };
        for field in &mut change.fields {
            field.set_by = set
                .iter()
                .find(|s| {
                    field.pointer == s.pointer
                        || field.pointer.starts_with(&format!("{}/", s.pointer))
                })
                .map(|s| s.by.clone());
        }
    }
}

/// Makes a saved plan again from what it records (its commit, in its repository or `--repo`,
/// its options and selection) and its destination as it is now, and returns the plan made
/// again: a file that differs from it in anything apply would act on or record is refused,
/// naming each difference. The revision name and repository folder are labels (the commit id
/// is what is read), so they are kept as the file says.
///
/// A destination that changed since the plan was made is refused as stale: naming the objects
/// the plan touches that changed, or else the fingerprint that differs.
pub fn planned_from_saved(
    ctx: &Context,
    path: &std::path::Path,
    saved: plan::file::Saved,
) -> Result<Planned> {
    if saved.plan.source.kind == "package" {
        return super::package::plan::planned_from_saved_package(ctx, path, saved);
    }
    let commit = saved.plan.source.id.clone();
    let root = match (ctx.repo_flag(), &saved.plan.source.repository) {
        (Some(_), _) | (None, None) => ctx.root_at(Some(&commit))?,
        (None, Some(r)) => std::path::PathBuf::from(r),
    };
    // One connection for every question asked of the destination here.
    let tenant = store::open(&saved.plan.destination.url)?;
    let tenant = tenant.as_ref();
    // Facts that changed would fail the plan's prerequisites; say it as the stale plan it is.
    if tenant.facts()? != saved.plan.destination.facts {
        apply::recheck(&saved.plan, tenant)?;
    }
    let made_with = &saved.plan.made_with;
    let request = PlanRequest {
        to: saved.plan.destination.url.clone(),
        revision: commit.clone(),
        options: made_with.options,
        select: made_with.select.clone(),
        exclude: made_with.exclude.clone(),
        rollback_of: made_with.rollback_of.clone(),
        env: made_with.env.clone(),
        allow_deletes: made_with.allow_deletes,
        package: None,
    };
    // A rollback plan goes back to a deployment that applied exactly its commit.
    if let Some(key) = &request.rollback_of {
        let target = apply::rollback_target(tenant, key)?;
        if target.source != commit || target.id != *key {
            return Err(Error::PlanEdited {
                path: path.to_path_buf(),
                commit,
                tenant: request.to.clone(),
                differences: vec![format!(
                    "made_with.rollback_of: deployment {} applied commit {}, not the plan's",
                    target.id, target.source
                )],
            });
        }
    }
    // Made again quietly: how much it read is not news to whoever applies a saved plan.
    let planned = match make_plan_at(ctx, &root, tenant, &request, &mut super::Silent::default()) {
        Ok((_, Some(refused))) => Err(refused),
        Ok((planned, None)) => Ok(planned),
        Err(e) => Err(e),
    }
    .map_err(|e| match e {
        Error::Repo(e) => Error::PlanCommit {
            commit: commit.clone(),
            source: Box::new(Error::Repo(e)),
        },
        other => other,
    })?;
    compare_saved(path, &saved, planned, tenant, &request.to, commit)
}

/// Refuses a plan made again (`planned`) that differs from the saved one in anything apply
/// would act on or record, or whose destination changed since.
pub(super) fn compare_saved(
    path: &std::path::Path,
    saved: &plan::file::Saved,
    mut planned: Planned,
    tenant: &dyn store::Tenant,
    url: &TenantUrl,
    commit: String,
) -> Result<Planned> {
    let again = &mut planned.plan;
    again.source.repository = saved.plan.source.repository.clone();
    again.source.revision = saved.plan.source.revision.clone();
    let differences = if again.destination.fingerprint != saved.plan.destination.fingerprint {
        if let Some((deployment, at)) = tenant.applied_plan(&saved.hash)? {
            return Err(Error::AlreadyApplied {
                path: path.to_path_buf(),
                tenant: url.clone(),
                deployment,
                at,
            });
        }
        apply::recheck(&saved.plan, tenant)?;
        vec![format!(
            "destination.fingerprint: the file says {}, the tenant now gives {}: the tenant changed since the plan was made, or the file was edited",
            crate::model::text::excerpt(&saved.plan.destination.fingerprint, 80),
            again.destination.fingerprint
        )]
    } else {
        plan::file::differences(&saved.plan, again)
    };
    // A value the plan saw must be the value the apply sets.
    let differences = {
        let mut all = differences;
        all.extend(plan::file::secret_values_changed(&saved.plan, again));
        all
    };
    if !differences.is_empty() {
        return Err(Error::PlanEdited {
            path: path.to_path_buf(),
            commit,
            tenant: saved.plan.destination.url.clone(),
            differences,
        });
    }
    Ok(planned)
}

/// The promotion gate of the plan's environment ([`apply::gate`]): each environment its
/// `requires` names (its file read at the plan's commit, for its tenant) must have had the
/// revision's objects applied successfully. Nothing to check without an environment, without
/// `requires`, and for a rollback (it returns the tenant to what it had). Returns whether there
/// was a gate.
pub fn check_gate(planned: &Planned) -> Result<bool> {
    let Some(env) = &planned.environment else {
        return Ok(false);
    };
    if planned.plan.made_with.rollback_of.is_some() {
        return Ok(false);
    }
    // A package's environment is the package's copy of its file; no repository's HEAD adds to it.
    if planned.plan.source.kind == "package" {
        if env.requires.is_empty() {
            return Ok(false);
        }
        return Err(Error::PackageGate {
            env: env.name.clone(),
        });
    }
    // The gate of the file at HEAD holds too: deploying an older revision (or a branch) whose
    // file had no `requires` must not pass around it.
    let mut env = env.clone();
    if let Ok(head) = environment(&planned.root, Some("HEAD"), &env.name) {
        for (name, line) in head.requires {
            if !env.requires.iter().any(|(n, _)| *n == name) {
                env.requires.push((name, line));
            }
        }
    }
    let env = &env;
    if env.requires.is_empty() {
        return Ok(false);
    }
    let commit = &planned.plan.source.id;
    let mut read = Vec::new();
    for (name, line) in &env.requires {
        let other = environment(&planned.root, Some(commit), name)?;
        let url = tenant_of(&planned.root, &other, None)?;
        // A required environment on the same tenant would be met by this one's own history.
        if url.absolute() == planned.plan.destination.url.absolute() {
            return Err(Error::Env(environment::EnvError::one(
                &env.path,
                *line,
                format!(
                    "requires `{name}`, whose tenant ({url}) is this environment's own: the gate would be met by its own deployments; give `{name}` a tenant of its own in {}",
                    other.path
                ),
            )));
        }
        let tenant = store::open(&url)?;
        let found = match &planned.content {
            Some(content) => tenant.applied_content(content)?,
            None => None,
        };
        let last = match (&found, tenant.last_applied()?) {
            (None, Some((id, _))) => tenant.deployment(&id)?,
            _ => None,
        };
        read.push((name, *line, url, found, last));
    }
    let required: Vec<apply::gate::Requirement> = read
        .iter()
        .map(|(name, line, url, found, last)| apply::gate::Requirement {
            env: name,
            line: *line,
            tenant: url,
            found: found.as_ref(),
            last: last.as_ref(),
        })
        .collect();
    apply::gate::check(env, commit, planned.content.as_ref(), &required)?;
    Ok(true)
}

/// Applies a plan to `url` as one deployment under the destination's lock, waiting up to
/// `lock_wait` for another holder. `plan_hash` is the hash of its saved form; `skip_gate` the
/// reason the promotion gate was skipped, recorded in the deployment. The deployment records
/// what the revision's objects were, unless the plan selects part of them.
#[allow(clippy::too_many_arguments)]
pub fn apply_planned(
    ctx: &Context,
    planned: &Planned,
    plan_hash: &str,
    url: &TenantUrl,
    lock_wait: Option<Duration>,
    skip_gate: Option<&str>,
    ui: &mut dyn Ui,
) -> Result<Deployment> {
    let made_with = &planned.plan.made_with;
    let notes = apply::Notes {
        content: planned
            .content
            .clone()
            .filter(|_| made_with.select.is_none() && made_with.exclude.is_none()),
        skip_gate: skip_gate.map(String::from),
    };
    let mut tenant = store::open(url)?;
    let host = ctx.host();
    let options = session::Options {
        actor: ctx.actor(),
        clock: ctx.clock(),
        lock_wait: lock_wait.unwrap_or_default(),
        host: &host,
    };
    let mut on_event = |event: session::Event<'_>| {
        match event {
        session::Event::Waiting { holder } => {
            ui.status(&format!("waiting for the lock held by {holder}"))
        }
        session::Event::TookOver { holder, pid, host } => ui.status(&format!(
            "took over the lock of {holder}: its process {pid} on this host ({host}) is gone"
        )),
        session::Event::NotReleased(e) => {
            ui.status(&format!("warning: the lock was not released: {e}"))
        }
        session::Event::Lapsed { holder } => ui.status(&format!(
            "warning: the apply succeeded, but its lock lapsed during the write and {holder} holds it now; it was left to them"
        )),
    }
    };
    let done = session::with_lock(tenant.as_mut(), options, &mut on_event, |tenant, actor| {
        if let Some(id) = &planned.package {
            // What `package show` reports while the deployment runs (its own transaction).
            super::package::plan::set_package_statuses(tenant, id, &planned.plan, None)?;
        }
        let done = apply::apply(
            &planned.plan,
            plan_hash,
            &planned.objects,
            &planned.blobs,
            &planned.registry,
            &notes,
            &planned.secret_values,
            tenant,
            actor,
        );
        if let Some(id) = &planned.package {
            // Still under the lock: what `package show` reports of this deployment.
            super::package::plan::set_package_statuses(
                tenant,
                id,
                &planned.plan,
                Some(done.as_ref().map(|d| &d.deployment)),
            )?;
        }
        done
    })?;
    Ok(done.deployment)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::context::{parse_time, Clock};
    use crate::ops::{export, object, Silent};
    use crate::store::Facts;

    const VARIABLE: &str = include_str!("../../tests/fixtures/kinds/global_variable.toml");

    /// A context for tests in `dir`, with the repository at `repo` when given.
    fn context_in(dir: &Path, repo: Option<PathBuf>) -> Context {
        Context::new(
            repo,
            dir.to_path_buf(),
            "test".into(),
            Clock::Fixed(parse_time("2026-01-31T12:00:00Z").unwrap()),
            BTreeMap::new(),
        )
    }

    fn tenant(dir: &Path, name: &str, ctx: &Context) -> TenantUrl {
        let url = TenantUrl::parse(&format!("sqlite:{}", dir.join(name).display())).unwrap();
        let facts = Facts {
            name: name.into(),
            platform_version: "4.5.0".into(),
            engine: "maxcompute".into(),
            engine_mode: "single".into(),
            cluster: "c1".into(),
        };
        store::create(&url, &facts, &ctx.timestamp()).unwrap();
        url
    }

    /// A dev tenant holding one variable (with `value`), exported and committed into a repository.
    fn promoted(dir: &Path) -> (PathBuf, TenantUrl) {
        let ctx = context_in(dir, None);
        let dev = tenant(dir, "dev.db", &ctx);
        let file = dir.join("variable.toml");
        std::fs::write(&file, VARIABLE).unwrap();
        object::put(&ctx, &dev, &[file]).unwrap();
        let repo = dir.join("repo");
        crate::repo::init(&repo, crate::repo::GitChoice::Auto).unwrap();
        let in_repo = context_in(dir, Some(repo.clone()));
        let options = export::ExportOptions {
            commit: Some(None),
            ..Default::default()
        };
        let done = export::export(&in_repo, &dev, &options, &mut |_, _| {}).unwrap();
        assert!(done.commit.is_some());
        (repo, dev)
    }

    fn request(to: &TenantUrl) -> PlanRequest {
        PlanRequest {
            to: to.clone(),
            revision: "HEAD".into(),
            options: Options::default(),
            select: None,
            exclude: None,
            rollback_of: None,
            env: None,
            allow_deletes: None,
            package: None,
        }
    }

    #[test]
    fn a_plan_applies_once_and_then_has_nothing_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = promoted(dir.path());
        let ctx = context_in(dir.path(), Some(repo));
        let prod = tenant(dir.path(), "prod.db", &ctx);
        let planned = make_plan(&ctx, &request(&prod), &mut Silent::default()).unwrap();
        assert_eq!(planned.plan.changes.len(), 1);
        let hash = crate::plan::file::hash(&planned.plan);
        let deployment = apply_planned(
            &ctx,
            &planned,
            &hash,
            &prod,
            None,
            None,
            &mut Silent::default(),
        )
        .unwrap();
        assert_eq!(deployment.status, "succeeded");
        assert_eq!(deployment.plan_hash, hash);
        assert_eq!(deployment.actor.split(' ').next(), Some("test"));
        let again = make_plan(&ctx, &request(&prod), &mut Silent::default()).unwrap();
        assert!(!again.plan.has_changes());
        // The lock was released.
        let tenant = store::open(&prod).unwrap();
        assert!(tenant.lock(&ctx.timestamp()).unwrap().is_none());
    }

    #[test]
    fn a_stale_plan_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = promoted(dir.path());
        let ctx = context_in(dir.path(), Some(repo));
        let prod = tenant(dir.path(), "prod.db", &ctx);
        let planned = make_plan(&ctx, &request(&prod), &mut Silent::default()).unwrap();
        // Someone creates the same object in the destination after the plan was made.
        let file = dir.path().join("theirs.toml");
        std::fs::write(&file, VARIABLE.replace("retail-exports-dev", "by hand")).unwrap();
        object::put(&ctx, &prod, &[file]).unwrap();
        let before = store::open(&prod).unwrap().object_index().unwrap();
        let hash = crate::plan::file::hash(&planned.plan);
        match apply_planned(
            &ctx,
            &planned,
            &hash,
            &prod,
            None,
            None,
            &mut Silent::default(),
        ) {
            Err(Error::Apply(crate::apply::ApplyError::Stale(stale))) => {
                assert_eq!(stale.len(), 1, "{stale:?}");
                assert!(stale[0]
                    .to_string()
                    .contains("global_variable/oss_export_bucket"));
            }
            other => panic!("{other:?}"),
        }
        let tenant = store::open(&prod).unwrap();
        assert_eq!(tenant.object_index().unwrap(), before);
        assert!(tenant.deployments(10).unwrap().is_empty());
    }

    #[test]
    fn exporting_an_unchanged_tenant_writes_and_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, dev) = promoted(dir.path());
        let ctx = context_in(dir.path(), Some(repo.clone()));
        let file = repo.join("objects/global/global_variable/oss_export_bucket.toml");
        let written = std::fs::metadata(&file).unwrap().modified().unwrap();
        let options = export::ExportOptions {
            commit: Some(None),
            ..Default::default()
        };
        let again = export::export(&ctx, &dev, &options, &mut |_, _| {}).unwrap();
        assert!(!again.report.has_changes(), "{:?}", again.report);
        assert_eq!(again.commit, None);
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            written
        );
    }
}
