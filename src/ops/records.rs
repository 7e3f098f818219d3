//! `ferry status` and `ferry history`: a tenant's deployment records.

use super::Result;
use crate::apply::{self, Status, Summary};
use crate::context::Context;
use crate::store::{self, TenantUrl};

/// The lock, the last deployment, the managed objects and the drifted ones, now.
pub fn status(ctx: &Context, url: &TenantUrl) -> Result<Status> {
    let tenant = store::open(url)?;
    Ok(apply::status(tenant.as_ref(), &ctx.timestamp())?)
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
