use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use ferry::export::{self, Options, Selection};
use ferry::kinds::Category;

use super::{out_json, CliError};

/// Snapshot a tenant into the repository as canonical object files.
///
/// Writes only new or changed files, moves the file of a renamed object, and removes the files
/// of objects that no longer exist, within the selection only. Secret fields are written as the
/// placeholder "(sensitive)", never their values. Objects the platform cannot move are not
/// written and are listed at the end with the reason. Exporting an unchanged tenant writes
/// nothing and (with --commit) makes no commit.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant to export (sqlite:PATH).
    #[arg(long, value_name = "URL")]
    from: String,
    /// Only these kinds (repeatable).
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<String>,
    /// Only kinds of these categories (repeatable).
    #[arg(long = "category", value_name = "CATEGORY")]
    categories: Vec<String>,
    /// Only objects of these projects (repeatable).
    #[arg(long = "project", value_name = "PROJECT")]
    projects: Vec<String>,
    /// Only the objects this selector chooses over the tenant's dependency graph; such an
    /// export removes no files.
    #[arg(long, value_name = "EXPR", long_help = super::select::HELP)]
    select: Option<String>,
    /// Leave out the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    exclude: Option<String>,
    /// Only objects changed at or after this time (2026-01-31 or 2026-01-31T12:00:00Z). An
    /// object changed several times is included when any change falls in the window.
    #[arg(long, value_name = "DATE")]
    changed_since: Option<String>,
    /// With --changed-since: only changes before this time.
    #[arg(long, value_name = "DATE")]
    changed_until: Option<String>,
    /// Commit the exported files (only them) with a message counting the changes per kind.
    #[arg(long)]
    commit: bool,
    /// The commit message's subject (with --commit).
    #[arg(short = 'm', long = "message", value_name = "MSG", requires = "commit")]
    message: Option<String>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Output format: text (a summary on stderr) or json (a report on stdout).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

use super::TextOrJson as Format;

fn parse_date(flag: &str, text: &str) -> super::Result<String> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    humantime::parse_rfc3339_weak(&full)
        .map(super::timestamp)
        .map_err(|e| {
            CliError::new(
                format!("{flag} `{text}` is not a date: {e}"),
                Some("write 2026-01-31 or 2026-01-31T12:00:00Z (UTC)".to_string()),
            )
        })
}

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let root = super::repo_root(repo)?;
    let registry = super::registry(Some(&root))?;
    for kind in &args.kinds {
        if registry.get(kind).is_none() {
            return Err(CliError::new(
                format!("unknown kind `{kind}`"),
                Some("`ferry kinds` lists the kinds".to_string()),
            ));
        }
    }
    let mut categories = Vec::new();
    for c in &args.categories {
        categories.push(Category::parse(c).ok_or_else(|| {
            CliError::new(
                format!("unknown category `{c}`"),
                Some(format!(
                    "categories are {}",
                    Category::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            )
        })?);
    }
    let options = Options {
        selection: Selection {
            kinds: args.kinds.clone(),
            categories,
            projects: args.projects.clone(),
            addresses: None,
        },
        changed_since: args
            .changed_since
            .as_deref()
            .map(|d| parse_date("--changed-since", d))
            .transpose()?,
        changed_until: args
            .changed_until
            .as_deref()
            .map(|d| parse_date("--changed-until", d))
            .transpose()?,
    };
    let tenant = super::open_tenant(&args.from)?;
    let mut options = options;
    if args.select.is_some() || args.exclude.is_some() {
        let objects = export::tenant_objects(tenant.as_ref(), &registry)?;
        let graph = ferry::graph::Graph::build(&objects, &registry);
        let chosen =
            super::select::choose(&graph, args.select.as_deref(), args.exclude.as_deref())?;
        options.selection.addresses = Some(chosen.iter().map(|a| a.to_string()).collect());
    }
    let total: u64 = tenant.counts()?.values().sum();
    let started = Instant::now();
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::hidden(),
    );
    let style =
        indicatif::ProgressStyle::with_template("exporting {bar:30} {pos}/{len} objects {elapsed}")
            .expect("the template is valid");
    bar.set_style(style);
    let quiet = args.quiet;
    let mut progress = |done: usize| {
        if done % 256 == 0 {
            if !quiet && bar.is_hidden() && started.elapsed() > Duration::from_secs(1) {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            bar.set_position(done as u64);
        }
    };
    // With --commit, each file's blob is made as the file is written.
    let mut staging = if args.commit {
        Some(ferry::repo::Staging::open(&root)?)
    } else {
        None
    };
    let report = export::export(tenant.as_ref(), &root, &registry, &options, staging.as_mut(), &mut progress).map_err(|e| {
        CliError::new(
            e,
            Some("the repository may hold part of the export: `git status` shows it, `git checkout -- objects` undoes it".to_string()),
        )
    })?;
    bar.finish_and_clear();
    let facts = tenant.facts()?;
    let commit = if let Some(mut staging) = staging {
        // The repository's own files go in too, so the first commit is a complete repository;
        // files that did not change leave the tree as it is. The files export wrote are staged
        // already; these are read from disk.
        let mut files = report.written.clone();
        for rel in [
            ".gitignore",
            ferry::config::CONFIG_FILE,
            "objects/.gitkeep",
            "environments/.gitkeep",
        ] {
            if root.join(rel).is_file() {
                files.push(rel.to_string());
            }
        }
        files.extend(
            ferry::kinds::BUILTIN_KINDS
                .iter()
                .map(|(name, _)| format!("{}/{name}.schema.json", ferry::kinds::KINDS_DIR)),
        );
        files.sort();
        files.dedup();
        for rel in &files {
            staging.add_file(rel)?;
        }
        let message = report.commit_message(&facts.name, args.message.as_deref());
        staging.commit(&report.removed, &message, std::time::SystemTime::now())?
    } else {
        None
    };
    match args.format {
        Format::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "tenant": facts.name,
            "commit": commit,
            "added": report.added,
            "changed": report.changed,
            "renamed": report.renamed,
            "deleted": report.deleted,
            "not_exportable": report.not_exportable,
            "unmatched_files": report.unmatched_files,
        })),
        Format::Text => {
            let mut text = String::new();
            for (verb, list) in [
                ("added", &report.added),
                ("changed", &report.changed),
                ("deleted", &report.deleted),
            ] {
                for e in list.iter().take(50) {
                    text.push_str(&format!("  {verb:<8} {}\n", e.address));
                }
                if list.len() > 50 {
                    text.push_str(&format!("  … and {} more {verb}\n", list.len() - 50));
                }
            }
            for e in report.renamed.iter().take(50) {
                text.push_str(&format!(
                    "  renamed  {} → {}\n",
                    e.old_address.as_deref().unwrap_or("?"),
                    e.address
                ));
            }
            eprint!("{text}");
            for f in &report.unmatched_files {
                eprintln!("warning: {f} has no readable guid line; export left it alone (run `ferry validate`)");
            }
            eprintln!(
                "exported {} from {}: {} added, {} changed, {} renamed, {} deleted",
                root.display(),
                facts.name,
                report.added.len(),
                report.changed.len(),
                report.renamed.len(),
                report.deleted.len()
            );
            if !report.not_exportable.is_empty() {
                eprintln!(
                    "not exported ({}), move these by hand:",
                    report.not_exportable.len()
                );
                for s in &report.not_exportable {
                    eprintln!("  {}: {}", s.address, s.reason);
                }
            }
            match &commit {
                Some(id) => eprintln!("committed {}", &id[..12]),
                None if args.commit => eprintln!("nothing to commit"),
                None => {}
            }
        }
    }
    Ok(())
}
