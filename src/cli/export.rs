use std::time::{Duration, Instant};

use serde_json::json;

use ferry::context::Context;
use ferry::ops::export::{self, ExportOptions, ExportOutcome};

use super::prelude::*;

/// Snapshot a tenant into the repository as canonical object files.
///
/// Writes only new or changed files, moves the file of a renamed object, and removes the files
/// of objects that no longer exist, within the selection only. Secret fields are written as the
/// placeholder "(sensitive)", never their values. Objects the platform cannot move are not
/// written and are listed at the end with the reason. Exporting an unchanged tenant writes
/// nothing and (with --commit) makes no commit. --select chooses over the tenant's dependency
/// graph; an export of a selection removes no files.
///
/// With --env ENV (a drift job exporting prod into a branch), every field the environment's
/// overrides set is written with the repository's value, not the tenant's, so the repository
/// does not become that environment's copy; a tenant value that differs from the override is
/// reported as drift in that field, with the override's file:line. environments/ENV.toml and
/// the base values are read from the working tree; objects new in the tenant keep its values.
/// ferry.toml's [source] is left as it is.
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
    #[command(flatten)]
    selection: SelectFlags,
    /// Export through this environment (environments/ENV.toml in the working tree): write the
    /// repository's values for the fields its overrides set, and report drift in them.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
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

use TextOrJson as Format;

/// A progress bar on stderr, shown only once an export takes over a second, and what moves it.
fn progress_bar(quiet: bool) -> (indicatif::ProgressBar, impl FnMut(usize, u64)) {
    let started = Instant::now();
    let bar = indicatif::ProgressBar::hidden();
    let style =
        indicatif::ProgressStyle::with_template("exporting {bar:30} {pos}/{len} objects {elapsed}")
            .expect("the template is valid");
    bar.set_style(style);
    let moved = bar.clone();
    let advance = move |done: usize, total: u64| {
        let bar = &moved;
        if done % 256 == 0 {
            bar.set_length(total);
            if !quiet && bar.is_hidden() && started.elapsed() > Duration::from_secs(1) {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            bar.set_position(done as u64);
        }
    };
    (bar, advance)
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let options = ExportOptions {
        kinds: args.kinds,
        categories: args.categories,
        projects: args.projects,
        select: args.selection.select,
        exclude: args.selection.exclude,
        changed_since: args.changed_since,
        changed_until: args.changed_until,
        commit: args.commit.then_some(args.message),
        env: args.env.clone(),
    };
    let (bar, mut advance) = progress_bar(args.quiet);
    let done = export::export(ctx, &tenant_url(&args.from)?, &options, &mut advance);
    bar.finish_and_clear();
    let done = done?;
    print_drift(&done);
    match args.format {
        Format::Json => {
            let mut doc = json!({
                "format_version": ferry::render::OUTPUT_VERSION,
                "tenant": done.tenant,
                "commit": done.commit,
                "added": done.report.added,
                "changed": done.report.changed,
                "renamed": done.report.renamed,
                "deleted": done.report.deleted,
                "not_exportable": done.report.not_exportable,
                "unmatched_files": done.report.unmatched_files,
            });
            if let Some(env) = &args.env {
                doc["environment"] = json!({
                    "name": env,
                    "written_back": done.report.written_back,
                    "drift": done.report.drift,
                    "kept": done.report.kept,
                });
            }
            out_json(&doc)?
        }
        Format::Text => print_summary(&done, args.commit),
    }
    Ok(Success::Done)
}

/// The overridden fields whose tenant value is not the override's, and those of new objects
/// written with the tenant's value, on stderr.
fn print_drift(done: &ExportOutcome) {
    let report = &done.report;
    let shown = |v: &Option<serde_json::Value>| match v {
        Some(v) => ferry::validate::excerpt(v),
        None => "(absent)".to_string(),
    };
    for d in &report.drift {
        eprintln!(
            "drift: {} {}: the tenant has {}, the override {} sets {}; the file keeps the repository's value",
            d.address,
            d.field,
            shown(&d.tenant),
            d.set_by,
            ferry::validate::excerpt(&d.expected)
        );
    }
    for k in &report.kept {
        eprintln!(
            "note: {} is new in the tenant: {} (set by {}) is written as the tenant has it, since the repository has no value of its own for it",
            k.address, k.field, k.set_by
        );
    }
}

/// What an export did, on stderr.
fn print_summary(done: &ExportOutcome, asked_to_commit: bool) {
    let report = &done.report;
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
        eprintln!(
            "warning: {f} has no readable guid line; export left it alone (run `ferry validate`)"
        );
    }
    eprintln!(
        "exported {} from {}: {} added, {} changed, {} renamed, {} deleted",
        done.root.display(),
        done.tenant,
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
    match &done.commit {
        Some(id) => eprintln!("committed {}", id.get(..12).unwrap_or(id)),
        None if asked_to_commit => eprintln!("nothing to commit"),
        None => {}
    }
}
