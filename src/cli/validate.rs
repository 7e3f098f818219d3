use ferry::context::Context;
use ferry::ops::validate;

use super::prelude::*;

/// Check every object file: TOML syntax, kind, schema, names, paths, GUIDs, references, cycles
/// and exportability. All problems are reported in one run, each with its file and line.
///
/// Every environment file in environments/ is checked too (--env ENV: only that one), read from
/// the same place as the objects: its syntax and keys, variables, selectors (one that matches
/// nothing is an error), that it sets only env_specific fields, that the objects still fit
/// their kind's schema with its overrides, and that `requires` names existing environments.
///
/// Without --ref the working tree is checked, uncommitted changes included; stderr says which was
/// checked and whether the working tree has uncommitted changes under objects/ (HEAD may differ).
///
/// Exit 0 when the repository is valid, 1 when any problem exists.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read this git revision (branch, tag, commit) from the object database instead of the
    /// working tree; nothing is checked out.
    #[arg(long = "ref", value_name = "REF")]
    revision: Option<String>,
    /// Check only this environment's file (environments/ENV.toml; an error when there is none).
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Output format: text (problems on stderr) or json (a report on stdout).
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let validated = validate::validate(ctx, args.revision.as_deref(), args.env.as_deref())?;
    let report = &validated.report;
    match args.format {
        TextOrJson::Json => out_json(&ferry::render::json::problems(
            report.objects.len(),
            &report.problems,
        ))?,
        TextOrJson::Text => {
            for problem in &report.problems {
                eprintln!("{problem}");
            }
        }
    }
    eprintln!("{}", validated.checked());
    if report.is_ok() {
        eprintln!("ok: {} objects valid", report.objects.len());
        return Ok(Success::Done);
    }
    let files: std::collections::BTreeSet<&str> =
        report.problems.iter().map(|p| p.path.as_str()).collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    Err(CliError::reported(format!(
        "{} problem{} in {} file{}",
        report.problems.len(),
        plural(report.problems.len()),
        files.len(),
        plural(files.len()),
    )))
}
