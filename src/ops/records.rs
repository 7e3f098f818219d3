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

/// The latest `limit` deployments, newest first.
pub fn history(url: &TenantUrl, limit: usize) -> Result<Vec<Summary>> {
    let tenant = store::open(url)?;
    Ok(apply::history(tenant.as_ref(), limit)?)
}
