//! `ferry status` and `ferry history`: a tenant's deployment records.

use super::Result;
use crate::apply::{self, Status, Summary};
use crate::context::Context;
use crate::store::{self, TenantUrl};

/// The lock, the last deployment, the managed objects and the drifted ones, now; with the
/// repository (`--repo`, or the one the command runs in), whether its HEAD is what the tenant
/// last had applied.
pub fn status(ctx: &Context, url: &TenantUrl) -> Result<Status> {
    let tenant = store::open(url)?;
    let mut status = apply::status(tenant.as_ref(), &ctx.timestamp())?;
    let root = match ctx.root() {
        Ok(root) => Some(root),
        Err(e) if ctx.repo_flag().is_some() => return Err(e.into()),
        Err(_) => None,
    };
    if let Some(root) = root {
        let head = crate::repo::objects_tree(&root, "HEAD")?;
        let applied = match tenant.last_applied()? {
            Some((id, commit)) => {
                let tree = crate::repo::objects_tree(&root, &commit)?.map(|(_, t)| t);
                Some((id, commit, tree))
            }
            None => None,
        };
        status.sync = Some(apply::records::sync(head, applied, status.drifted.len()));
    }
    Ok(status)
}

/// One deployment, named by id, unique prefix, `last` or `previous`, with its summary (short id
/// and counts) beside its results.
pub fn deployment(url: &TenantUrl, key: &str) -> Result<(Summary, crate::store::Deployment)> {
    let tenant = store::open(url)?;
    let d = apply::find_deployment(tenant.as_ref(), key)?;
    let shorts = apply::short_ids(&tenant.deployment_ids()?);
    Ok((Summary::of(&d, &shorts), d))
}

/// The latest `limit` deployments, newest first.
pub fn history(url: &TenantUrl, limit: usize) -> Result<Vec<Summary>> {
    let tenant = store::open(url)?;
    Ok(apply::history(tenant.as_ref(), limit)?)
}
