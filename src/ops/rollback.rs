//! `ferry rollback`: plan (and with approval apply) a tenant back to what one of its deployments
//! applied: the deployment's commit, pruning what ferry applied since.

use std::time::Duration;

use super::pipeline::{self, PlanRequest, Planned};
use super::{Error, Result, Ui};
use crate::apply;
use crate::context::Context;
use crate::plan::{file, Options};
use crate::store::{self, Deployment, TenantUrl};

/// What `ferry rollback` was asked.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// The tenant.
    pub to: TenantUrl,
    /// The deployment to go back to.
    pub deployment: String,
    /// Apply the plan.
    pub auto_approve: bool,
    /// How long to wait for another holder's lock.
    pub lock_wait: Option<Duration>,
}

/// What `ferry rollback` did.
#[derive(Debug)]
pub struct RollbackOutcome {
    /// The deployment gone back to.
    pub target: Deployment,
    /// The plan back to it.
    pub planned: Planned,
    /// The deployment that applied it, when it was applied.
    pub applied: Option<Deployment>,
}

/// Plans the tenant back to the deployment, and applies the plan when approved.
pub fn rollback(
    ctx: &Context,
    options: &RollbackOptions,
    ui: &mut dyn Ui,
) -> Result<RollbackOutcome> {
    let target = {
        let tenant = store::open(&options.to)?;
        apply::rollback_target(tenant.as_ref(), &options.deployment)?
    };
    let request = PlanRequest {
        to: options.to.clone(),
        revision: target.source.clone(),
        options: Options {
            prune: true,
            ..Options::default()
        },
        select: None,
        exclude: None,
    };
    let planned = pipeline::make_plan(ctx, &request, ui).map_err(|e| Error::RollbackPlan {
        deployment: target.id.clone(),
        commit: target.source.clone(),
        source: Box::new(e),
    })?;
    ui.show_plan(&planned);
    let applied = if planned.plan.has_changes() && options.auto_approve {
        let hash = file::hash(&planned.plan);
        Some(pipeline::apply_planned(
            ctx,
            &planned,
            &hash,
            &options.to,
            options.lock_wait,
            ui,
        )?)
    } else {
        None
    };
    Ok(RollbackOutcome {
        target,
        planned,
        applied,
    })
}
