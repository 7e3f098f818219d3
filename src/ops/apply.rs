//! `ferry apply`: a saved plan, or a new one made from the plan flags, applied to its
//! destination under its maintenance lock.

use std::path::PathBuf;
use std::time::Duration;

use super::pipeline::{self, PlanRequest, Planned};
use super::{Error, Result, Ui};
use crate::context::Context;
use crate::plan::file;
use crate::store::{Deployment, TenantUrl};

/// What to apply.
#[derive(Debug, Clone)]
pub enum ApplySource {
    /// A plan saved with `ferry plan --out`.
    Saved(PathBuf),
    /// A new plan from these flags.
    Fresh(PlanRequest),
}

/// What `ferry apply` was asked.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The plan.
    pub source: ApplySource,
    /// Apply a new plan without asking.
    pub auto_approve: bool,
    /// How long to wait for another holder's lock.
    pub lock_wait: Option<Duration>,
    /// `--skip-gate REASON`: apply without checking the environment's promotion gate, recording
    /// why in the deployment.
    pub skip_gate: Option<String>,
}

/// What `ferry apply` did.
#[derive(Debug)]
pub struct ApplyOutcome {
    /// The plan.
    pub planned: Planned,
    /// Where it was applied, and the deployment record; `None` when it changes nothing.
    pub applied: Option<(TenantUrl, Deployment)>,
}

/// Applies the plan. A new plan is shown through `ui` and, without `auto_approve`, applied only
/// when `ui` confirms. A plan with changes passes the environment's promotion gate first
/// (before the confirmation), unless `skip_gate` gives a reason.
pub fn apply(ctx: &Context, options: &ApplyOptions, ui: &mut dyn Ui) -> Result<ApplyOutcome> {
    let skip_gate = match options.skip_gate.as_deref().map(str::trim) {
        Some("") => return Err(Error::NoSkipReason),
        other => other,
    };
    let gate = |planned: &Planned, ui: &mut dyn Ui| -> Result<()> {
        if skip_gate.is_none() {
            pipeline::check_gate(planned)?;
        } else if planned
            .environment
            .as_ref()
            .is_none_or(|e| e.requires.is_empty())
        {
            ui.status("warning: --skip-gate: this plan has no promotion gate to skip (no --env whose file says `requires`); the reason is recorded all the same");
        }
        Ok(())
    };
    let (planned, hash, url) = match &options.source {
        ApplySource::Saved(path) => {
            let saved = file::read(path)?;
            let hash = saved.hash.clone();
            let url = saved.plan.destination.url.clone();
            let planned = pipeline::planned_from_saved(ctx, path, saved)?;
            planned.check_secrets()?;
            if planned.plan.has_changes() {
                gate(&planned, ui)?;
            }
            (planned, hash, url)
        }
        ApplySource::Fresh(request) => {
            let imported;
            let request = match request.package.as_deref().map(std::path::Path::new) {
                // A package file is imported first: the destination keeps what it deploys.
                Some(path) if path.is_file() => {
                    let done = super::package::import(
                        ctx,
                        &super::package::ImportOptions {
                            file: path.to_path_buf(),
                            to: Some(request.to.to_string()),
                            env: request.env.clone(),
                            credential_env: super::package::DEFAULT_CREDENTIAL_ENV.into(),
                            allow_other_cluster: !request.options.require_same_cluster,
                        },
                    )?;
                    for w in &done.warnings {
                        ui.status(w);
                    }
                    ui.status(&format!(
                        "imported {} into {} as package {}",
                        path.display(),
                        done.tenant,
                        done.id
                    ));
                    imported = PlanRequest {
                        package: Some(done.id),
                        ..request.clone()
                    };
                    &imported
                }
                _ => request,
            };
            let (planned, uncommitted) = pipeline::make_plan_noting_uncommitted(ctx, request, ui)?;
            // Every secret's value is found before the plan is shown, asked about or applied.
            planned.check_secrets()?;
            if planned.plan.has_changes() {
                gate(&planned, ui)?;
            }
            ui.show_plan(&planned);
            if let Some(warning) = uncommitted {
                ui.status(&warning);
            }
            if !planned.plan.has_changes() {
                return Ok(ApplyOutcome {
                    planned,
                    applied: None,
                });
            }
            if !options.auto_approve && !ui.confirm()? {
                return Err(Error::Declined);
            }
            let hash = file::hash(&planned.plan);
            (planned, hash, request.to.clone())
        }
    };
    if !planned.plan.has_changes() {
        return Ok(ApplyOutcome {
            planned,
            applied: None,
        });
    }
    let deployment =
        pipeline::apply_planned(ctx, &planned, &hash, &url, options.lock_wait, skip_gate, ui)?;
    Ok(ApplyOutcome {
        planned,
        applied: Some((url, deployment)),
    })
}
