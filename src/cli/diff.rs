use std::path::Path;

use ferry::diff::DiffError;
use ferry::repo::{RepoError, Source};

/// Show the objects that changed between two commits, matched by GUID, not by path: added,
/// modified (with the changed fields), renamed (a rename may change fields too) and deleted.
///
/// RANGE is `A..B` (two git revisions: branch, tag, commit id, `HEAD~1`, …), `A` (revision A
/// against the working tree, untracked files included) or nothing (`HEAD` against the working
/// tree). Only the changed files under objects/ are read. Changes go to stdout, sorted by
/// address; warnings and a summary go to stderr.
///
/// Exit 0 whether or not anything changed (diff is informational), 1 on errors.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `A..B`, `A` (against the working tree), or nothing (HEAD against the working tree).
    #[arg(value_name = "RANGE")]
    range: Option<String>,
    /// Output format: text or json (described by schemas/output/diff.schema.json).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

use super::TextOrJson as Format;

/// The two sides a RANGE names.
fn sides(range: Option<&str>) -> super::Result<(Source, Source)> {
    let revision =
        |rev: &str| Source::Revision(if rev.is_empty() { "HEAD" } else { rev }.to_string());
    let Some(range) = range else {
        return Ok((revision("HEAD"), Source::WorkTree));
    };
    if range.contains("...") {
        return Err(super::CliError::new(
            format!("`{range}`: ferry diff takes A..B (two revisions), not A...B"),
            Some(
                "to see what B changed since it branched from A: ferry diff \"$(git merge-base A B)..B\""
                    .to_string(),
            ),
        ));
    }
    Ok(match range.split_once("..") {
        Some((from, to)) => (revision(from), revision(to)),
        None => (revision(range), Source::WorkTree),
    })
}

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let (from, to) = sides(args.range.as_deref())?;
    let to_revision = match &to {
        Source::Revision(rev) => Some(rev.as_str()),
        Source::WorkTree => None,
    };
    let root = super::repo_root_at(repo, to_revision)?;
    let diff = ferry::diff::between(&root, &from, &to).map_err(|e| match e {
        DiffError::Read(RepoError::NotGit { path }) => super::CliError::new(
            format!(
                "{} is not in a git repository: ferry diff compares git revisions",
                path.display()
            ),
            Some("run `git init` and commit the repository first".to_string()),
        ),
        DiffError::Read(e) => super::CliError::from(e),
        e @ DiffError::Kinds { .. } => super::CliError::new(
            e,
            Some(
                "fix the custom kind schema at that revision; schemas/README.md of ferry documents the x-ferry block"
                    .to_string(),
            ),
        ),
    })?;
    for line in ferry::render::diff::warning_lines(&diff) {
        eprintln!("{line}");
    }
    match args.format {
        Format::Text => super::out(&ferry::render::diff::text(&diff)),
        Format::Json => super::out_json(&ferry::render::diff::json(&diff)),
    }
    eprintln!("{}", ferry::render::diff::summary(&diff));
    Ok(())
}
