//! `ferry rollback`: a plan like any other, of a tenant back to what one of its deployments
//! applied (the deployment's commit, pruning what ferry applied since), saved for review or
//! applied with the same confirmation as `ferry apply`, and recorded as a rollback of that
//! deployment.

use std::path::PathBuf;
use std::time::Duration;

use super::apply::{self as apply_op, ApplyOptions, ApplySource};
use super::pipeline::{self, PlanRequest, Planned};
use super::{Error, Result, Ui};
use crate::apply;
use crate::context::Context;
use crate::plan::file;
use crate::store::{self, Deployment, TenantUrl};

/// What `ferry rollback` was asked.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// The plan flags `rollback` shares with `plan` (revision, prune and `rollback_of` are
    /// filled in from the deployment).
    pub request: PlanRequest,
    /// The deployment to go back to: an id, a unique prefix, `last` or `previous`.
    pub deployment: String,
    /// Save the plan there instead of applying it.
    pub out: Option<PathBuf>,
    /// Apply without asking.
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
    /// Where it was saved, and its hash.
    pub saved: Option<(PathBuf, String)>,
    /// The deployment that applied it, when it was applied.
    pub applied: Option<(TenantUrl, Deployment)>,
}

/// Plans the tenant back to the deployment; saves the plan when asked, and otherwise applies it
/// as `ferry apply` does (shown through `ui`, applied when approved).
pub fn rollback(
    ctx: &Context,
    options: &RollbackOptions,
    ui: &mut dyn Ui,
) -> Result<RollbackOutcome> {
    let target = {
        let tenant = store::open(&options.request.to)?;
        apply::rollback_target(tenant.as_ref(), &options.deployment)?
    };
    let mut request = options.request.clone();
    request.revision = target.source.clone();
    request.options.prune = true;
    request.rollback_of = Some(target.id.clone());
    let in_context = |e: Error| Error::RollbackPlan {
        deployment: target.id.clone(),
        commit: target.source.clone(),
        source: Box::new(e),
    };
    if let Some(path) = &options.out {
        let planned = pipeline::make_plan(ctx, &request, ui).map_err(in_context)?;
        let hash = file::write(path, &planned.plan)?;
        return Ok(RollbackOutcome {
            target,
            planned,
            saved: Some((path.clone(), hash)),
            applied: None,
        });
    }
    let apply_options = ApplyOptions {
        source: ApplySource::Fresh(request),
        auto_approve: options.auto_approve,
        lock_wait: options.lock_wait,
        // A rollback returns the tenant to what it had: no promotion gate.
        skip_gate: None,
    };
    let done = apply_op::apply(ctx, &apply_options, ui).map_err(|e| match e {
        // Planning errors are said to be the rollback's; the others are the apply's own.
        e @ (Error::Plan(_) | Error::Repo(_) | Error::Invalid { .. }) => in_context(e),
        other => other,
    })?;
    Ok(RollbackOutcome {
        target,
        planned: done.planned,
        saved: None,
        applied: done.applied,
    })
}
