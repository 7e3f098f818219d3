//! `ferry package list` and `ferry package show`: the platform's overview of the packages a
//! destination keeps. Each object's change type against the destination, and whether the
//! destination's copy changed outside ferry since it was last applied, come from the plan of the
//! package made by the same pipeline `ferry plan --package ID` uses (so the overview and the plan
//! never disagree); the deployment statuses are those the deployments from the package set.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use super::super::pipeline::{make_package_plan, PackageRef, PlanRequest};
use super::super::{Result, Silent};
use crate::config::SourceFacts;
use crate::context::Context;
use crate::package::{LeftOut, PackageError};
use crate::plan::{Action, Options};
use crate::store::{self, PackageSummary, TenantUrl};

/// The packages `url` keeps, oldest import first.
pub fn list(url: &TenantUrl) -> Result<Vec<PackageSummary>> {
    let tenant = store::open(url)?;
    let mut kept = tenant.packages()?;
    kept.sort_by(|a, b| (&a.imported_at, &a.id).cmp(&(&b.imported_at, &b.id)));
    Ok(kept)
}

/// What `ferry package show` reports of one kept package.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// Its id in the destination.
    pub id: String,
    /// The file name it was imported from.
    pub name: String,
    /// blake3 of the package file.
    pub hash: String,
    /// `full`, `incremental` or `selection`.
    pub mode: String,
    /// The commit an incremental package starts from.
    pub base: Option<String>,
    /// The commit its objects are at.
    pub head: String,
    /// When it was made.
    pub created_at: String,
    /// When it was imported, and by whom.
    pub imported_at: String,
    /// Who imported it.
    pub imported_by: String,
    /// The source tenant's facts.
    pub source: SourceFacts,
    /// The destination.
    pub tenant: TenantUrl,
    /// The environment whose overlay the change types are computed with (`--env`).
    pub environment: Option<String>,
    /// Every object it carries or deletes, by address.
    pub objects: Vec<OverviewObject>,
    /// Per category (and `total`): how many objects have each change type, each status, and
    /// how many changed outside ferry.
    pub counts: BTreeMap<String, Counts>,
    /// The kinds left out of the package, and why.
    pub left_out: Vec<LeftOut>,
}

/// One object of [`Overview`].
#[derive(Debug, Clone, Serialize)]
pub struct OverviewObject {
    /// Its address (for a deletion, at the package's base).
    pub address: String,
    /// Its GUID.
    pub guid: Uuid,
    /// Its kind.
    pub kind: String,
    /// Its kind's category.
    pub category: String,
    /// What the package does to it: `carried`, `added`, `modified`, `renamed` or `deleted`.
    pub package_change: String,
    /// Its change type against the destination now: `new`, `changed`, `unchanged` or `delete`.
    pub change: &'static str,
    /// Whether the destination's copy changed outside ferry since ferry last applied it.
    pub environment_changed: bool,
    /// `pending`, `deploying`, `succeeded`, `failed` or `succeeded_with_risks`.
    pub status: String,
    /// The deployment that set the status.
    pub deployment: Option<String>,
    /// Why it failed, or the risk it carried.
    pub message: Option<String>,
}

/// Counts of one category.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Objects.
    pub objects: usize,
    /// By change type (`new`, `changed`, `unchanged`, `delete`).
    pub changes: BTreeMap<&'static str, usize>,
    /// By deployment status.
    pub statuses: BTreeMap<String, usize>,
    /// Objects whose destination copy changed outside ferry.
    pub environment_changed: usize,
}

/// The overview of the package `id` (its id, a unique prefix, or `last`) that `url` keeps, as
/// environment `env` (the package's copy of its file) would deploy it.
pub fn show(ctx: &Context, url: &TenantUrl, id: &str, env: Option<&str>) -> Result<Overview> {
    let tenant = store::open(url)?;
    let tenant = tenant.as_ref();
    let id = super::resolve_id(tenant, url, id)?;
    let Some(stored) = tenant.package(&id)? else {
        return Err(super::super::Error::NoPackage {
            id,
            tenant: url.clone(),
        });
    };
    let request = PlanRequest {
        to: url.clone(),
        revision: String::new(),
        options: Options::default(),
        select: None,
        exclude: None,
        rollback_of: None,
        env: env.map(String::from),
        // The overview shows what deploying would delete; the guards judge at plan time.
        allow_deletes: Some(usize::MAX),
        package: Some(id.clone()),
    };
    let planned = make_package_plan(
        ctx,
        tenant,
        &request,
        PackageRef::Kept(&id),
        &mut Silent::default(),
    )?;
    let plan = &planned.plan;
    let changes: HashMap<Uuid, (&'static str, bool)> = plan
        .changes
        .iter()
        .map(|c| {
            let change = match c.action {
                Action::Create => "new",
                Action::Adopt | Action::Rename | Action::Update => "changed",
                Action::Delete => "delete",
            };
            (c.guid, (change, c.drifted))
        })
        .collect();
    let drifted: HashSet<Uuid> = plan.drift.iter().map(|d| d.guid).collect();
    let manifest: crate::package::Manifest =
        serde_json::from_str(&stored.manifest).map_err(|e| PackageError::Corrupt {
            path: format!("package {id} of tenant {url}").into(),
            why: format!("its manifest: {e}"),
        })?;
    let mut objects: Vec<OverviewObject> = stored
        .objects
        .into_iter()
        .map(|o| {
            let (change, drifted_change) = changes
                .get(&o.guid)
                .copied()
                .unwrap_or(("unchanged", false));
            let category = planned
                .registry
                .get(&o.kind)
                .map(|k| k.category.to_string())
                .unwrap_or_else(|| "unknown".into());
            OverviewObject {
                environment_changed: drifted_change || drifted.contains(&o.guid),
                address: o.address,
                guid: o.guid,
                kind: o.kind,
                category,
                package_change: o.change,
                change,
                status: o.status,
                deployment: o.deployment_id,
                message: o.message,
            }
        })
        .collect();
    objects.sort_by(|a, b| (&a.address, a.guid).cmp(&(&b.address, b.guid)));
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for o in &objects {
        for key in [o.category.as_str(), "total"] {
            let c = counts.entry(key.to_string()).or_default();
            c.objects += 1;
            *c.changes.entry(o.change).or_default() += 1;
            *c.statuses.entry(o.status.clone()).or_default() += 1;
            c.environment_changed += usize::from(o.environment_changed);
        }
    }
    Ok(Overview {
        id: stored.id,
        name: stored.name,
        hash: stored.hash,
        mode: stored.mode,
        base: manifest.base.clone(),
        head: manifest.head.clone(),
        created_at: stored.created_at,
        imported_at: stored.imported_at,
        imported_by: stored.imported_by,
        source: manifest.source.clone(),
        tenant: url.clone(),
        environment: env.map(String::from),
        objects,
        counts,
        left_out: manifest.left_out.clone(),
    })
}
