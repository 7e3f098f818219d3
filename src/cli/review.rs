use std::path::PathBuf;

use ferry::context::Context;
use ferry::ops::review::{self, ReviewOptions};
use ferry::render::review::{comment, guard_lines, Reviewed};

use super::prelude::*;
use super::terminal::Terminal;

/// Plan every named environment and print one review comment for a pull request.
///
/// Each --env is planned exactly as `ferry plan --env ENV` plans it, its destination the
/// environment's tenant; stdout is one GitHub-flavoured Markdown comment holding every plan, in
/// the order given: a table of all of them, then per environment its summary, overrides,
/// secrets that change (never a value; `not checked` when this job holds no value), drift,
/// deletes and the guards that checked them (a plan a guard refuses is shown and says so),
/// blast radius, the dependency graph of the changes and each object's diff, folded. The first
/// line is the hidden marker `<!-- ferry:review -->`, by which CI finds the comment to update
/// it. The comment stays under GitHub's 65,536 characters: per-object diffs, then graphs, are
/// left out with a note that points at the saved plans (--out-dir).
///
/// Exit codes: 0 success (with --detailed-exitcode: no environment has changes), 1 error (also
/// when a guard refused an environment's plan, after the comment is printed), 2 changes without
/// deletes, 3 an environment deletes (2 and 3 only with --detailed-exitcode).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    plan: PlanFlags<EnvsFlag>,
    /// Save each environment's plan as DIR/ENV.plan.json (the bytes `ferry plan --env ENV
    /// --out` writes), for `ferry apply DIR/ENV.plan.json`; a refused plan is not saved.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Append the comment to FILE too (a GitHub job summary: --summary "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Exit 2 when an environment's plan has changes and none deletes, 3 when one deletes.
    #[arg(long)]
    detailed_exitcode: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let flags = &args.plan;
    if flags.package.is_some() {
        return Err(CliError::new(
            Class::User,
            "ferry review plans a revision of the repository (--ref), not a package",
        )
        .hint("review the pull request's commit (`--ref REV`); plan a package with `ferry plan --package FILE --to URL`"));
    }
    let names = &flags.checks.env.env;
    if let Some(twice) = names
        .iter()
        .enumerate()
        .find_map(|(i, n)| names[..i].contains(n).then_some(n))
    {
        return Err(
            CliError::new(Class::User, format!("environment `{twice}` is named twice"))
                .hint("give each --env once, in promotion order (`--env test --env prod`)"),
        );
    }
    let requests = names
        .iter()
        .map(|env| {
            flags
                .checks
                .request_in(ctx, None, Some(env), &flags.revision, flags.prune)
        })
        .collect::<Result<Vec<_>>>()?;
    let options = ReviewOptions {
        requests,
        out_dir: args.out_dir.clone(),
    };
    let made = review::review(ctx, &options, &mut Terminal::new(ctx))?;
    let mut refusals = Vec::new();
    let reviewed: Vec<Reviewed> = made
        .plans
        .iter()
        .map(|p| {
            let refused = p.refused.as_ref().map(|e| {
                let e = CliError::from(ferry::ops::Error::Guard(e.clone()));
                let text = std::iter::once(e.message.clone())
                    .chain(e.hints.iter().map(|h| format!("Hint: {h}")))
                    .collect::<Vec<_>>()
                    .join("\n");
                refusals.push((p.env.clone(), e));
                text
            });
            Reviewed {
                env: &p.env,
                plan: &p.planned.plan,
                refused,
                guards: p
                    .planned
                    .environment
                    .as_ref()
                    .map(|env| guard_lines(env, &p.planned.plan, flags.checks.allow_deletes))
                    .unwrap_or_default(),
                saved: p.saved.as_ref().map(|s| s.display().to_string()),
            }
        })
        .collect();
    let dir = args.out_dir.as_ref().map(|d| d.display().to_string());
    let text = comment(&reviewed, dir.as_deref());
    out(&text)?;
    if let Some(path) = &args.summary {
        append(path, &text)?;
    }
    if let Some(warning) = &made.uncommitted {
        eprintln!("{warning}");
    }
    for p in &made.plans {
        if let Some(path) = &p.saved {
            eprintln!(
                "saved the plan of {} to {}; apply it with `ferry apply {}`",
                p.env,
                path.display(),
                path.display()
            );
        }
    }
    if let Some((env, first)) = refusals.into_iter().next() {
        let mut e = CliError::new(
            first.class,
            format!(
                "the guards of environment `{env}` refused its plan (the comment shows it): {}",
                first.message
            ),
        );
        e.hints = first.hints;
        return Err(e);
    }
    let plans = made.plans.iter().map(|p| &p.planned.plan);
    Ok(
        match (
            args.detailed_exitcode,
            plans.clone().any(|p| p.has_changes()),
            plans.clone().any(|p| p.has_deletes()),
        ) {
            (false, _, _) | (true, false, _) => Success::Done,
            (true, true, false) => Success::Changes,
            (true, true, true) => Success::Deletes,
        },
    )
}

/// Appends `text` to the file at `path` (made when missing), after what it holds.
fn append(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()).map(|_| f));
    match &mut file {
        Ok(_) => Ok(()),
        Err(e) => Err(CliError::new(
            Class::Environment,
            format!("cannot append the comment to {}: {e}", path.display()),
        )
        .hint("give --summary a file this job can write (on GitHub: \"$GITHUB_STEP_SUMMARY\")")),
    }
}
