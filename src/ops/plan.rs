//! `ferry plan`: the ordered changes, optionally saved for `ferry apply PLAN`.

use std::path::PathBuf;

use super::pipeline::{self, PlanRequest, Planned};
use super::{Result, Ui};
use crate::context::Context;
use crate::plan::file;

/// What `ferry plan` was asked.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// What to plan.
    pub request: PlanRequest,
    /// Where to save the plan.
    pub out: Option<PathBuf>,
}

/// What `ferry plan` made.
#[derive(Debug)]
pub struct PlanOutcome {
    /// The plan and what it was made from.
    pub planned: Planned,
    /// Where it was saved, and its hash.
    pub saved: Option<(PathBuf, String)>,
    /// The warning that the working tree has object changes this plan does not include
    /// ([`pipeline::uncommitted_warning`]).
    pub uncommitted: Option<String>,
}

/// Makes the plan and saves it when asked.
pub fn plan(ctx: &Context, options: &PlanOptions, ui: &mut dyn Ui) -> Result<PlanOutcome> {
    let (planned, uncommitted) = pipeline::make_plan_noting_uncommitted(ctx, &options.request, ui)?;
    let saved = match &options.out {
        Some(path) => Some((path.clone(), file::write(path, &planned.plan)?)),
        None => None,
    };
    Ok(PlanOutcome {
        planned,
        saved,
        uncommitted,
    })
}
