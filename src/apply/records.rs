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
}

impl From<&Deployment> for Summary {
    fn from(d: &Deployment) -> Summary {
        let mut counts = BTreeMap::new();
        for r in &d.results {
            *counts.entry(r.status.clone()).or_insert(0) += 1;
        }
        Summary {
            id: d.id.clone(),
            status: d.status.clone(),
            source: d.source.clone(),
            plan_hash: d.plan_hash.clone(),
            actor: d.actor.clone(),
            started_at: d.started_at.clone(),
            finished_at: d.finished_at.clone(),
            counts,
        }
    }
}

/// A tenant's deployment state: what `ferry status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The tenant URL.
    pub tenant: store::TenantUrl,
    /// The maintenance lock, when held.
    pub lock: Option<store::Lock>,
    /// The latest deployment.
    pub last_deployment: Option<Summary>,
    /// How many objects ferry manages (applied, and still there).
    pub managed: u64,
    /// Managed objects changed or deleted outside ferry since it applied them.
    pub drifted: Vec<store::Drifted>,
}

/// The lock, the last deployment, the managed objects and the drifted ones, at `now`.
pub fn status(tenant: &dyn Tenant, now: &str) -> Result<Status, StoreError> {
    let managed = tenant.managed()?;
    Ok(Status {
        tenant: tenant.url().clone(),
        lock: tenant.lock(now)?,
        last_deployment: tenant.deployments(1)?.first().map(Summary::from),
        managed: managed.count,
        drifted: managed.drifted,
    })
}

/// The latest `limit` deployments, newest first.
pub fn history(tenant: &dyn Tenant, limit: usize) -> Result<Vec<Summary>, StoreError> {
    Ok(tenant
        .deployments(limit)?
        .iter()
        .map(Summary::from)
        .collect())
}

/// The deployment to roll back to: it must exist and have succeeded. Its `source` is the commit
/// to plan from.
pub fn rollback_target(tenant: &dyn Tenant, id: &str) -> Result<Deployment, ApplyError> {
    let Some(d) = tenant.deployment(id)? else {
        return Err(ApplyError::NoDeployment {
            tenant: tenant.url().clone(),
            id: id.to_string(),
        });
    };
    if d.status != "succeeded" {
        return Err(ApplyError::NotRestorable {
            id: d.id,
            status: d.status,
        });
    }
    Ok(d)
}
