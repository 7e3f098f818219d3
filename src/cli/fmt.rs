use ferry::context::Context;

use super::prelude::*;

/// Rewrite object files in canonical form.
///
/// Canonical form: a `#:schema` line, then kind, guid, name, project and the [spec] table, spec
/// keys in the order of the kind schema, multi-line strings for text with line breaks, LF line
/// ends and one trailing newline. New objects without a `guid` get one. Files that do not parse
/// are reported and left untouched.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change nothing: list the files that are not canonical and exit 1 if there are any.
    #[arg(long)]
    check: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let outcome = ferry::ops::fmt::fmt(ctx, args.check)?;
    for problem in &outcome.problems {
        eprintln!("{problem}");
    }
    let listed: String = outcome
        .changes
        .iter()
        .map(|c| format!("{}\n", c.path))
        .collect();
    out(&listed)?;
    let n = outcome.changes.len();
    if !outcome.problems.is_empty() {
        return Err(CliError::reported(format!(
            "{} file(s) could not be formatted",
            outcome.problems.len()
        )));
    }
    if args.check {
        if n > 0 {
            return Err(ferry::ops::Error::NotCanonical { count: n }.into());
        }
        eprintln!("ok: every object file is canonical");
    } else {
        eprintln!("formatted {n} file(s)");
    }
    Ok(Success::Done)
}
