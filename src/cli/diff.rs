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
/// With --env ENV, the objects are compared as that environment sees them: each side with the
/// overrides of environments/ENV.toml at that side (a side without the file has none), so a
/// reviewer sees what changes in ENV, including what a change of the environment file alone
/// does; fields an override sets on the new side say which line set them. Every object file of
/// both sides is read then (the overrides' selectors need the whole graph).
///
/// Exit 0 whether or not anything changed (diff is informational), 1 on errors.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// `A..B`, `A` (against the working tree), or nothing (HEAD against the working tree).
    #[arg(value_name = "RANGE")]
    range: Option<String>,
    /// Compare the objects as this environment sees them (environments/ENV.toml at each side).
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Output format: text or json (described by schemas/output/diff.schema.json).
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let diff = ferry::ops::diff::diff(ctx, args.range.as_deref(), args.env.as_deref())?;
    for line in ferry::render::diff::warning_lines(&diff) {
        eprintln!("{line}");
    }
    for line in ferry::render::diff::environment_lines(&diff) {
        eprintln!("{line}");
    }
    match args.format {
        TextOrJson::Text => out(&ferry::render::diff::text(&diff))?,
        TextOrJson::Json => out_json(&ferry::render::diff::json(&diff))?,
    }
    eprintln!("{}", ferry::render::diff::summary(&diff));
    Ok(Success::Done)
}
