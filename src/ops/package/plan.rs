//! A deployment package planned and deployed (`plan --package`, `apply --package`): the package
//! as the desired state of the same pipeline a git revision goes through
//! ([`super::super::pipeline`]), a saved plan of one made again, and the deployment statuses a
//! deployment from a kept package sets.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::super::pipeline::{build_plan, compare_saved, unread_of, PlanRequest, Planned};
use super::super::{Error, Result, Silent, Ui};
use crate::apply;
use crate::context::Context;
use crate::desired::{self, overlay, secrets};
use crate::plan::{self, Plan};
use crate::store::{self, Deployment};

/// Where `--package` finds a package: a file, or the id of one the destination keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PackageRef<'a> {
    /// A package file, checked as `ferry import` checks it (nothing is written).
    File(&'a std::path::Path),
    /// The id (or a unique prefix of it) of a package the destination keeps.
    Kept(&'a str),
}

impl<'a> PackageRef<'a> {
    /// What `--package NAME` names: a file when one is there, else a kept package.
    pub(crate) fn of(name: &'a str) -> Self {
        let path = std::path::Path::new(name);
        if path.is_file() {
            PackageRef::File(path)
        } else {
            PackageRef::Kept(name)
        }
    }
}

/// [`make_plan`] of a package (`--package`).
pub(crate) fn make_package_plan(
    ctx: &Context,
    tenant: &dyn store::Tenant,
    request: &PlanRequest,
    source: PackageRef<'_>,
    ui: &mut dyn Ui,
) -> Result<Planned> {
    let base = ctx.root().unwrap_or_else(|_| ctx.start().to_path_buf());
    let (unpacked, kept, path) = match source {
        PackageRef::File(path) => {
            let checked = super::check(
                ctx,
                &super::ImportOptions {
                    file: path.to_path_buf(),
                    to: Some(request.to.to_string()),
                    env: request.env.clone(),
                    credential_env: super::DEFAULT_CREDENTIAL_ENV.into(),
                    // The plan says another cluster as it does for git (--require-same-cluster).
                    allow_other_cluster: true,
                },
            )?;
            (checked.unpacked, None, path.to_path_buf())
        }
        PackageRef::Kept(id) => {
            let (id, unpacked) = super::kept(tenant, &request.to, id)?;
            let label = std::path::PathBuf::from(format!("package {id}"));
            (unpacked, Some(id), label)
        }
    };
    let name = kept.clone().unwrap_or_else(|| path.display().to_string());
    let env = request
        .env
        .as_deref()
        .map(|n| super::package_environment(ctx, &unpacked.opened, n, &path))
        .transpose()?;
    if let Some((env, origin)) = &env {
        ui.status(&format!("environment {} from {origin}", env.name));
    }
    let env = env.map(|(env, _)| env);
    let mut actual = store::actual::read_all(tenant)?;
    actual.url = request.to.absolute();
    let mut desired =
        desired::package::desired(&unpacked, &name, actual.objects.iter().map(|o| o.guid));
    ui.status(&format!(
        "read {} object(s) of the {} package {}; {} destination object(s) are taken as they are",
        desired.objects.len(),
        unpacked.opened.manifest.mode,
        &unpacked.opened.hash[..16],
        desired.unchanged.len()
    ));
    let overlaid = match &env {
        Some(env) => {
            let unread = unread_of(&actual, &desired, &unpacked.registry);
            Some(overlay::apply(
                env,
                &mut desired.objects,
                &unpacked.registry,
                &unread,
            )?)
        }
        None => None,
    };
    let secret_values = match &overlaid {
        Some(o) => secrets::read(ctx, &base, &o.secrets),
        None => secrets::SecretValues::default(),
    };
    let mut options = request.options;
    options.prune |= desired::package::prunes(&unpacked);
    let plan = match build_plan(
        &mut desired,
        &actual,
        &unpacked.registry,
        request,
        options,
        env.as_ref(),
        env.as_ref(),
        overlaid.as_ref(),
        &secret_values,
        tenant,
    )? {
        (_, Some(refused)) => return Err(refused),
        (plan, None) => plan,
    };
    Ok(Planned {
        plan,
        objects: desired.objects,
        registry: unpacked.registry,
        blobs: HashMap::new(),
        changed_only: None,
        root: base,
        environment: env,
        content: None,
        secret_values,
        package: kept,
    })
}

/// A saved plan of a package, made again from the package the destination keeps (found by its
/// hash): [`planned_from_saved`].
pub(crate) fn planned_from_saved_package(
    ctx: &Context,
    path: &std::path::Path,
    saved: plan::file::Saved,
) -> Result<Planned> {
    let hash = saved.plan.source.id.clone();
    let url = saved.plan.destination.url.clone();
    let tenant = store::open(&url)?;
    let tenant = tenant.as_ref();
    if tenant.facts()? != saved.plan.destination.facts {
        apply::recheck(&saved.plan, tenant)?;
    }
    let kept = tenant.packages()?;
    let label = saved.plan.source.revision.as_deref();
    let Some(id) = kept
        .iter()
        .filter(|p| p.hash == hash)
        .max_by_key(|p| Some(p.id.as_str()) == label)
        .map(|p| p.id.clone())
    else {
        return Err(Error::PlanPackageGone {
            path: path.to_path_buf(),
            hash,
            tenant: url,
        });
    };
    let made_with = &saved.plan.made_with;
    let request = PlanRequest {
        to: url.clone(),
        revision: String::new(),
        options: made_with.options,
        select: made_with.select.clone(),
        exclude: made_with.exclude.clone(),
        rollback_of: None,
        env: made_with.env.clone(),
        allow_deletes: made_with.allow_deletes,
        package: Some(id.clone()),
    };
    let planned = make_package_plan(
        ctx,
        tenant,
        &request,
        PackageRef::Kept(&id),
        &mut Silent::default(),
    )?;
    compare_saved(path, &saved, planned, tenant, &url, hash)
}

/// Sets the deployment status of the objects of the kept package `id` that `plan` deploys:
/// `deploying` before the deployment (`done` is `None`), then its result. An object the plan
/// left as it was already is as the package has it (`succeeded`), unless `--select`/`--exclude`
/// left it out (its status stays). A deployment that failed fails every object it was to
/// change, with its error.
pub(crate) fn set_package_statuses(
    tenant: &mut dyn store::Tenant,
    id: &str,
    plan: &Plan,
    done: Option<std::result::Result<&Deployment, &apply::ApplyError>>,
) -> std::result::Result<(), apply::ApplyError> {
    let Some(kept) = tenant.package(id)? else {
        return Ok(());
    };
    let changed: HashSet<Uuid> = plan.changes.iter().map(|c| c.guid).collect();
    let skipped: HashSet<&str> = plan.skipped.iter().map(String::as_str).collect();
    let results: HashMap<Uuid, &crate::store::DeploymentResult> = match done {
        Some(Ok(d)) => d.results.iter().map(|r| (r.guid, r)).collect(),
        _ => HashMap::new(),
    };
    let selecting = plan.made_with.select.is_some() || plan.made_with.exclude.is_some();
    let objects: Vec<store::PackageObject> = kept
        .objects
        .into_iter()
        .filter_map(|mut o| {
            let in_plan = changed.contains(&o.guid);
            if !in_plan && (selecting || skipped.contains(o.address.as_str())) {
                return None;
            }
            match done {
                None if in_plan => o.status = "deploying".into(),
                None => return None,
                Some(Ok(d)) => {
                    let result = results.get(&o.guid);
                    o.status = match result.map(|r| r.status.as_str()) {
                        Some("skipped") | None => "succeeded".into(),
                        Some(other) => other.to_string(),
                    };
                    o.message = result.and_then(|r| r.message.clone());
                    o.deployment_id = Some(d.id.clone());
                }
                Some(Err(_)) if !in_plan => return None,
                Some(Err(e)) => {
                    o.status = "failed".into();
                    o.message = Some(e.to_string());
                }
            }
            Some(o)
        })
        .collect();
    tenant.set_package_statuses(id, &objects)?;
    Ok(())
}
