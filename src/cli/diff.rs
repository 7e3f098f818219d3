use ferry::context::Context;

use super::prelude::*;

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
    format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let diff = ferry::ops::diff::diff(ctx, args.range.as_deref())?;
    for line in ferry::render::diff::warning_lines(&diff) {
        eprintln!("{line}");
    }
    match args.format {
        TextOrJson::Text => out(&ferry::render::diff::text(&diff))?,
        TextOrJson::Json => out_json(&ferry::render::diff::json(&diff))?,
    }
    eprintln!("{}", ferry::render::diff::summary(&diff));
    Ok(Success::Done)
}
