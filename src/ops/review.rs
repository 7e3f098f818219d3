//! `ferry review`: the plans of several environments for one pull-request comment. Each
//! environment is planned exactly as `ferry plan --env ENV` plans it (its destination from the
//! environment file); a plan the deletion guards refuse is kept beside the refusal, so that the
//! comment shows what was refused. With `out_dir`, each plan the guards let pass is saved as
//! `DIR/ENV.plan.json`, the same bytes `ferry plan --env ENV --out` writes.

use std::path::PathBuf;

use super::pipeline::{self, PlanRequest, Planned};
use super::{Error, Result, Ui};
use crate::context::Context;
use crate::plan::file;

/// What `ferry review` was asked.
#[derive(Debug, Clone)]
pub struct ReviewOptions {
    /// One request per environment, in the order given (`env` set in each).
    pub requests: Vec<PlanRequest>,
    /// Where to save the plans.
    pub out_dir: Option<PathBuf>,
}

/// One environment's plan.
#[derive(Debug)]
pub struct EnvironmentPlan {
    /// The environment's name.
    pub env: String,
    /// The plan and what it was made from (the refused plan, when the guards refused it).
    pub planned: Planned,
    /// The guards' refusal.
    pub refused: Option<crate::plan::guards::GuardError>,
    /// Where the plan was saved.
    pub saved: Option<PathBuf>,
}

/// What `ferry review` made.
#[derive(Debug)]
pub struct Review {
    /// Each environment's plan, in the order asked.
    pub plans: Vec<EnvironmentPlan>,
    /// The working tree's object changes the plans leave out
    /// ([`pipeline::uncommitted_warning`]).
    pub uncommitted: Option<String>,
}

/// The file `--out-dir DIR` saves environment `env`'s plan in.
pub fn saved_path(dir: &std::path::Path, env: &str) -> PathBuf {
    dir.join(format!("{env}.plan.json"))
}

/// Plans every environment, then saves the plans the guards let pass. Any error but a guard's
/// refusal stops the review before anything is saved.
pub fn review(ctx: &Context, options: &ReviewOptions, ui: &mut dyn Ui) -> Result<Review> {
    let mut plans: Vec<EnvironmentPlan> = Vec::new();
    for request in &options.requests {
        let env = request.env.clone().unwrap_or_default();
        let (planned, refused) = pipeline::make_plan_guarded(ctx, request, ui)?;
        let refused = match refused {
            Some(Error::Guard(g)) => Some(g),
            Some(other) => return Err(other),
            None => None,
        };
        plans.push(EnvironmentPlan {
            env,
            planned,
            refused,
            saved: None,
        });
    }
    if let Some(dir) = &options.out_dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        for p in plans.iter_mut().filter(|p| p.refused.is_none()) {
            let path = saved_path(dir, &p.env);
            file::write(&path, &p.planned.plan)?;
            p.saved = Some(path);
        }
    }
    let uncommitted = match options.requests.first() {
        Some(r) => pipeline::uncommitted_warning(ctx, &r.revision).unwrap_or_else(|e| {
            Some(format!(
                "warning: cannot tell whether objects/ has uncommitted changes: {e}"
            ))
        }),
        None => None,
    };
    Ok(Review { plans, uncommitted })
}
