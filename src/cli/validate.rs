use std::path::Path;

/// Check every object file: TOML syntax, kind, schema, names, paths, GUIDs, references, cycles
/// and exportability. All problems are reported in one run, each with its file and line.
///
/// Exit 0 when the repository is valid, 1 when any problem exists.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read this git revision (branch, tag, commit) from the object database instead of the
    /// working tree; nothing is checked out.
    #[arg(long = "ref", value_name = "REF")]
    revision: Option<String>,
    /// Output format: text (problems on stderr) or json (a report on stdout).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

use super::TextOrJson as Format;

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let root = super::repo_root_at(repo, args.revision.as_deref())?;
    let (mut snapshot, registry) = super::load(&root, args.revision.as_deref())?;
    let report = ferry::validate::check(std::mem::take(&mut snapshot.objects), &registry);
    match args.format {
        Format::Json => {
            let json = ferry::render::json::problems(report.objects.len(), &report.problems);
            super::out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&json).expect("JSON values serialize")
            ));
        }
        Format::Text => {
            for problem in &report.problems {
                eprintln!("{problem}");
            }
        }
    }
    if report.is_ok() {
        eprintln!("ok: {} objects valid", report.objects.len());
        Ok(())
    } else {
        let files: std::collections::BTreeSet<&str> =
            report.problems.iter().map(|p| p.path.as_str()).collect();
        Err(super::CliError::reported(format!(
            "{} problem{} in {} file{}",
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" },
            files.len(),
            if files.len() == 1 { "" } else { "s" },
        )))
    }
}
