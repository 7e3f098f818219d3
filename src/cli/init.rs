use std::path::PathBuf;

use ferry::context::Context;

use super::prelude::*;

/// Make a new tenant repository.
///
/// Writes ferry.toml, objects/, environments/, a .gitignore and the built-in kind schemas in
/// schemas/kinds/ (so editors validate object files offline), and runs `git init` when DIR is
/// not inside a git repository. Existing files are kept; running it again only refreshes the
/// schema copies.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder (created if missing; default: the current folder, or --repo).
    dir: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let dir = args
        .dir
        .or_else(|| ctx.repo_flag().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let report = ferry::ops::init::init(&dir)?;
    for path in &report.created {
        eprintln!("  wrote {path}");
    }
    if report.git_initialized {
        eprintln!("  initialized a git repository");
    }
    eprintln!("tenant repository ready in {}", dir.display());
    Ok(Success::Done)
}
