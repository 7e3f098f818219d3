use std::path::PathBuf;

use ferry::context::Context;

use super::prelude::*;
use super::terminal::{show, Format};

/// Show a saved plan without a tenant, as `ferry plan` shows one (like `terraform show`).
///
/// Reads a plan written by `ferry plan --out PLAN` (or `rollback --out`) and renders it as text,
/// Markdown (a pull-request comment) or its JSON. Nothing is read but the file; `ferry apply
/// PLAN` verifies it against its commit and destination before applying.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The saved plan.
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let saved = ferry::plan::file::read(&args.plan).map_err(ferry::ops::Error::from)?;
    show(ctx, &saved.plan, args.format)?;
    Ok(Success::Done)
}
