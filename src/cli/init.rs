use std::path::{Path, PathBuf};

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

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let dir = args
        .dir
        .or_else(|| repo.map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let report = ferry::repo::init(&dir)?;
    for path in &report.created {
        eprintln!("  wrote {path}");
    }
    if report.git_initialized {
        eprintln!("  initialized a git repository");
    }
    eprintln!("tenant repository ready in {}", dir.display());
    Ok(())
}
