use std::path::Path;

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

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let root = super::repo_root(repo)?;
    let (snapshot, registry) = super::load(&root, None)?;
    let outcome = ferry::fmt::format_files(&snapshot.objects, &registry);
    for problem in &outcome.problems {
        eprintln!("{problem}");
    }
    let mut listed = String::new();
    for change in &outcome.changes {
        listed.push_str(&change.path);
        listed.push('\n');
        if !args.check {
            let path = root.join(&change.path);
            std::fs::write(&path, &change.text).map_err(|e| {
                super::CliError::new(format!("cannot write {}: {e}", path.display()), None)
            })?;
        }
    }
    super::out(&listed);
    let n = outcome.changes.len();
    if !outcome.problems.is_empty() {
        return Err(super::CliError::reported(format!(
            "{} file(s) could not be formatted",
            outcome.problems.len()
        )));
    }
    if args.check {
        if n > 0 {
            return Err(super::CliError::new(
                format!("{n} file(s) are not in canonical form"),
                Some("run `ferry fmt` to rewrite them".to_string()),
            ));
        }
        eprintln!("ok: every object file is canonical");
    } else {
        eprintln!("formatted {n} file(s)");
    }
    Ok(())
}
