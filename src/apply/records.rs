//! Deployment records read back: a tenant's status (lock, last deployment, drift), its history,
//! and the deployment a rollback returns to.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ApplyError;
use crate::store::{self, Deployment, StoreError, Tenant};

/// A deployment in brief: what `ferry history` lists and `ferry status` shows last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Id (UUID v7).
    pub id: String,
    /// Its shortest unique prefix among the tenant's deployments (at least 8 characters).
    pub short_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// What was deployed: a commit id or a package hash.
    pub source: String,
    /// Hash of the plan that was applied.
    pub plan_hash: String,
    /// Who applied it.
    pub actor: String,
    /// Start (RFC 3339, UTC).
    pub started_at: String,
    /// End (RFC 3339, UTC).
    pub finished_at: Option<String>,
    /// Objects per result status (`succeeded`, `failed`, `skipped`, `succeeded_with_risks`).
    pub counts: BTreeMap<String, u64>,
    /// For a rollback: the deployment it went back to.
    pub rollback_of: Option<String>,
    /// `--skip-gate REASON`: why the promotion gate was not checked.
    pub skip_gate: Option<String>,
}

impl Summary {
    /// The summary of `d`, with its short id from `shorts` ([`short_ids`]).
    pub fn of(d: &Deployment, shorts: &BTreeMap<String, String>) -> Summary {
        let mut counts = BTreeMap::new();
        for r in &d.results {
            *counts.entry(r.status.clone()).or_insert(0) += 1;
        }
        Summary {
            id: d.id.clone(),
            short_id: shorts.get(&d.id).cloned().unwrap_or_else(|| d.id.clone()),
            status: d.status.clone(),
            source: d.source.clone(),
            plan_hash: d.plan_hash.clone(),
            actor: d.actor.clone(),
            started_at: d.started_at.clone(),
            finished_at: d.finished_at.clone(),
            counts,
            rollback_of: d.rollback_of.clone(),
            skip_gate: d.skip_gate.clone(),
        }
    }
}

/// A tenant's deployment state: what `ferry status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The tenant URL.
    pub tenant: store::TenantUrl,
    /// The tenant's name.
    pub name: String,
    /// The maintenance lock, when held.
    pub lock: Option<store::Lock>,
    /// The latest deployment.
    pub last_deployment: Option<Summary>,
    /// How many objects ferry manages (applied, and still there).
    pub managed: u64,
    /// Managed objects changed or deleted outside ferry since it applied them.
    pub drifted: Vec<store::Drifted>,
    /// Whether the repository's HEAD is what the tenant last had applied (when asked with a
    /// repository).
    pub sync: Option<Sync>,
}

/// Whether a repository's HEAD is what a tenant last had applied, as Argo CD says Synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sync {
    /// `synced` or `out_of_sync`.
    pub state: &'static str,
    /// The repository's HEAD commit (`None` before its first commit).
    pub head: Option<String>,
    /// The commit the tenant's last succeeded deployment applied, and that deployment.
    pub applied: Option<String>,
    /// The deployment.
    pub deployment: Option<String>,
    /// Why it is out of sync.
    pub reason: Option<String>,
}

/// Compares `head` (the repository's HEAD commit and its `objects/` tree) with what the tenant
/// last had applied: synced when the commit is the same, or its `objects/` tree is, and no
/// managed object drifted.
pub fn sync(
    head: Option<(String, Option<String>)>,
    applied: Option<(String, String, Option<Option<String>>)>,
    drifted: usize,
) -> Sync {
    let short = |c: &str| c.chars().take(12).collect::<String>();
    let (head_commit, head_tree) = match head {
        Some((c, t)) => (Some(c), t),
        None => (None, None),
    };
    let (deployment, applied_commit, applied_tree) = match applied {
        Some((d, c, t)) => (Some(d), Some(c), t),
        None => (None, None, None),
    };
    let reason = match (&head_commit, &applied_commit) {
        (None, _) => Some("the repository has no commit yet".to_string()),
        (_, None) => Some("nothing has been applied to the tenant yet".to_string()),
        (Some(h), Some(a)) if h == a => None,
        (Some(h), Some(a)) => match applied_tree {
            Some(tree) if tree == head_tree => None,
            Some(_) => Some(format!(
                "HEAD ({}) has other objects than the last applied commit ({})",
                short(h),
                short(a)
            )),
            None => Some(format!(
                "the last applied commit ({}) is not in this repository",
                short(a)
            )),
        },
    };
    let reason = reason.or_else(|| {
        (drifted > 0).then(|| format!("{drifted} object(s) changed outside ferry since"))
    });
    Sync {
        state: if reason.is_none() {
            "synced"
        } else {
            "out_of_sync"
        },
        head: head_commit,
        applied: applied_commit,
        deployment,
        reason,
    }
}

/// The lock, the last deployment, the managed objects and the drifted ones, at `now`.
pub fn status(tenant: &dyn Tenant, now: &str) -> Result<Status, StoreError> {
    let managed = tenant.managed()?;
    let shorts = short_ids(&tenant.deployment_ids()?);
    Ok(Status {
        tenant: tenant.url().clone(),
        name: tenant.facts()?.name,
        lock: tenant.lock(now)?,
        last_deployment: tenant
            .deployments(1)?
            .first()
            .map(|d| Summary::of(d, &shorts)),
        managed: managed.count,
        drifted: managed.drifted,
        sync: None,
    })
}

/// The latest `limit` deployments, newest first.
pub fn history(tenant: &dyn Tenant, limit: usize) -> Result<Vec<Summary>, StoreError> {
    let shorts = short_ids(&tenant.deployment_ids()?);
    Ok(tenant
        .deployments(limit)?
        .iter()
        .map(|d| Summary::of(d, &shorts))
        .collect())
}

/// The shortest prefix of a deployment id shown: ids made within a minute share more.
pub const SHORT_ID_MIN: usize = 8;

/// The short form of each id: its shortest prefix of at least [`SHORT_ID_MIN`] characters that no
/// other id of `ids` starts with, as git abbreviates commit ids.
pub fn short_ids(ids: &[String]) -> BTreeMap<String, String> {
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    let common = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let mut out = BTreeMap::new();
    for (i, id) in sorted.iter().enumerate() {
        // The neighbours in sorted order share the longest prefixes with it.
        let before = i.checked_sub(1).map(|j| common(id, sorted[j])).unwrap_or(0);
        let after = sorted.get(i + 1).map(|n| common(id, n)).unwrap_or(0);
        let length = (before.max(after) + 1).max(SHORT_ID_MIN);
        out.insert((*id).clone(), id.chars().take(length).collect());
    }
    out
}

/// The deployment `key` names: `last` (the newest), `previous` (the one before it), a full id,
/// or a prefix of exactly one id.
pub fn find_deployment(tenant: &dyn Tenant, key: &str) -> Result<Deployment, ApplyError> {
    let missing = || ApplyError::NoDeployment {
        tenant: tenant.url().clone(),
        id: crate::model::text::excerpt(key, 80),
    };
    let ids = tenant.deployment_ids()?;
    let id = match key {
        "last" => ids.first().cloned(),
        "previous" => ids.get(1).cloned(),
        _ if key.is_empty() => None,
        _ => {
            let matching: Vec<&String> = ids.iter().filter(|id| id.starts_with(key)).collect();
            match matching.as_slice() {
                [] => None,
                [one] => Some((*one).clone()),
                many => {
                    let shorts = short_ids(&ids);
                    return Err(ApplyError::AmbiguousDeployment {
                        key: crate::model::text::excerpt(key, 80),
                        candidates: many.iter().take(5).map(|id| shorts[*id].clone()).collect(),
                        more: many.len().saturating_sub(5),
                    });
                }
            }
        }
    };
    let id = id.ok_or_else(missing)?;
    tenant.deployment(&id)?.ok_or_else(missing)
}

/// The deployment to roll back to (any key [`find_deployment`] takes): it must have succeeded.
/// Its `source` is the commit to plan from.
pub fn rollback_target(tenant: &dyn Tenant, key: &str) -> Result<Deployment, ApplyError> {
    let d = find_deployment(tenant, key)?;
    if d.status != "succeeded" {
        return Err(ApplyError::NotRestorable {
            id: d.id,
            status: d.status,
        });
    }
    Ok(d)
}
