use std::path::PathBuf;

use ferry::context::Context;
use ferry::repo::GitChoice;

use super::prelude::*;

/// Make a new tenant repository.
///
/// Writes ferry.toml, objects/, environments/, a .gitignore, the built-in kind schemas in
/// schemas/kinds/ and the environment file schema schemas/environment.schema.json (so editors
/// validate object and environment files offline). Existing files are kept; running it again
/// only refreshes the schema copies.
///
/// Outside any git repository it runs `git init` in DIR. Inside another repository's work tree
/// (DIR not being its top) it asks: --no-git keeps the tenant repository in the enclosing one
/// (ferry reads a repository in a sub-folder), --git makes a repository of its own in DIR; a
/// folder that is a tenant repository already is refreshed without asking.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder (created if missing; default: the current folder, or --repo).
    dir: Option<PathBuf>,
    /// Run `git init` in DIR even inside another repository's work tree (a nested repository).
    #[arg(long, conflicts_with = "no_git")]
    git: bool,
    /// Run no `git init`: inside another repository's work tree, the tenant repository is part
    /// of it; elsewhere the folder stays a plain folder.
    #[arg(long)]
    no_git: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let dir = args
        .dir
        .or_else(|| ctx.repo_flag().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let git = match (args.git, args.no_git) {
        (true, _) => GitChoice::Nest,
        (_, true) => GitChoice::Enclosing,
        _ => GitChoice::Auto,
    };
    let report = ferry::ops::init::init(&dir, git)?;
    for path in &report.created {
        eprintln!("  wrote {path}");
    }
    if report.git_initialized {
        eprintln!("  initialized a git repository");
    } else if let Some(enclosing) = ferry::repo::enclosing_repository(&dir) {
        eprintln!(
            "  in the git repository {} (no git init)",
            enclosing.display()
        );
    }
    eprintln!("tenant repository ready in {}", dir.display());
    Ok(Success::Done)
}
