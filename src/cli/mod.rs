//! Command-line parsing, printing and exit codes. Each command in `cli/<command>.rs` holds its
//! clap `Args` (the doc comment is its help), turns them into the options of one
//! [`ferry::ops`] function, calls it and prints what it returns. Errors are classified and
//! printed once ([`error`]), and the exit code is chosen in one place ([`error::exit_code`]).

mod apply;
#[cfg(test)]
mod ci_templates;
mod completions;
mod diff;
mod error;
mod export;
mod fmt;
mod graph;
mod history;
mod import;
mod init;
mod kinds;
mod man;
mod object;
mod package;
mod plan;
mod prelude;
mod review;
mod rollback;
mod show;
mod status;
mod synth;
mod tenant;
mod terminal;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use ferry::context::Context;
use prelude::{CliError, RepoFlag, Result};

/// ferry: a data platform tenant's metadata objects as code.
///
/// Objects (data sources, projects, tasks, tables, metrics, labels, standards, quality and
/// security rules) live in a git repository of TOML files, one per object. ferry validates
/// them, exports tenants into the repository, shows what changed between commits, and plans and
/// applies ordered changes to destination tenants, with their dependency graph, drift and
/// deployment history. What each destination differs in (hosts, owners, where secrets come
/// from, deletion guards, a promotion gate) is declared in environments/ENV.toml and chosen
/// with --env.
///
/// Exit codes: 0 success; 1 error (usage errors and validation problems included); with
/// `plan --detailed-exitcode` (and `rollback --out PLAN --detailed-exitcode`, `review
/// --detailed-exitcode`), 2 changes without deletes and 3 changes with deletes; 130 interrupted (Ctrl-C or SIGTERM; nothing was
/// written). Diagnostics: FERRY_LOG=debug.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, max_term_width = 100)]
struct Cli {
    /// No colour in output, as NO_COLOR=1 (colour is only ever used on a terminal).
    #[arg(long, global = true)]
    no_color: bool,

    #[command(subcommand)]
    command: Command,
}

// A command that reads the tenant repository: its own arguments and `--repo`. The commands that
// read none (`tenant`, `object rm`, `history`, `show`) do not offer `--repo`. (Not a doc
// comment: that would replace each command's own help.)
#[derive(Debug, clap::Args)]
struct InRepo<A: clap::Args> {
    #[command(flatten)]
    args: A,
    #[command(flatten)]
    repo: RepoFlag,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(InRepo<init::Args>),
    Fmt(InRepo<fmt::Args>),
    Validate(InRepo<validate::Args>),
    Graph(InRepo<graph::Args>),
    Export(InRepo<export::Args>),
    Plan(InRepo<plan::Args>),
    Review(InRepo<review::Args>),
    Apply(InRepo<apply::Args>),
    Show(show::Args),
    Status(InRepo<status::Args>),
    History(history::Args),
    Rollback(InRepo<rollback::Args>),
    Diff(InRepo<diff::Args>),
    Package(InRepo<package::Args>),
    Import(InRepo<import::Args>),
    Kinds(InRepo<kinds::Args>),
    #[command(subcommand)]
    Tenant(tenant::Command),
    #[command(subcommand)]
    Object(object::Command),
    Completions(completions::Args),
    Man(man::Args),
    #[command(hide = true)]
    Synth(synth::Args),
}

impl Command {
    /// `--repo DIR`, on the commands that offer it.
    fn repo(&self) -> Option<PathBuf> {
        let flag = match self {
            Command::Init(a) => &a.repo,
            Command::Fmt(a) => &a.repo,
            Command::Validate(a) => &a.repo,
            Command::Graph(a) => &a.repo,
            Command::Export(a) => &a.repo,
            Command::Plan(a) => &a.repo,
            Command::Review(a) => &a.repo,
            Command::Apply(a) => &a.repo,
            Command::Status(a) => &a.repo,
            Command::Rollback(a) => &a.repo,
            Command::Diff(a) => &a.repo,
            Command::Package(a) => &a.repo,
            Command::Import(a) => &a.repo,
            Command::Kinds(a) => &a.repo,
            Command::Object(o) => return o.repo(),
            Command::Show(_)
            | Command::History(_)
            | Command::Tenant(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Synth(_) => return None,
        };
        flag.repo.clone()
    }
}

/// Diagnostics on stderr, filtered by `FERRY_LOG` (off unless set).
fn start_tracing() {
    let Ok(filter) = std::env::var("FERRY_LOG") else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn run(cli: Cli) -> Result {
    let ctx = Context::from_process(cli.command.repo())
        .map_err(ferry::ops::Error::from)?
        .with_no_colour(cli.no_color);
    ferry::ops::set_fault_write_delay(ctx.fault_write_delay());
    match cli.command {
        Command::Init(a) => init::run(&ctx, a.args),
        Command::Fmt(a) => fmt::run(&ctx, a.args),
        Command::Validate(a) => validate::run(&ctx, a.args),
        Command::Graph(a) => graph::run(&ctx, a.args),
        Command::Export(a) => export::run(&ctx, a.args),
        Command::Plan(a) => plan::run(&ctx, a.args),
        Command::Review(a) => review::run(&ctx, a.args),
        Command::Apply(a) => apply::run(&ctx, a.args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Status(a) => status::run(&ctx, a.args),
        Command::History(args) => history::run(&ctx, args),
        Command::Rollback(a) => rollback::run(&ctx, a.args),
        Command::Diff(a) => diff::run(&ctx, a.args),
        Command::Package(a) => package::run(&ctx, a.args),
        Command::Import(a) => import::run(&ctx, a.args),
        Command::Kinds(a) => kinds::run(&ctx, a.args),
        Command::Tenant(cmd) => tenant::run(&ctx, cmd),
        Command::Object(cmd) => object::run(&ctx, cmd),
        Command::Completions(args) => completions::run(args, Cli::command()),
        Command::Man(args) => man::run(args, Cli::command()),
        Command::Synth(args) => synth::run(&ctx, args),
    }
}

pub fn main() -> ExitCode {
    let result = match Cli::try_parse() {
        Ok(cli) => {
            start_tracing();
            let result = run(cli);
            if let Err(e) = &result {
                e.print();
            }
            result
        }
        Err(e) => {
            let _ = e.print();
            match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Ok(prelude::Success::Done)
                }
                // Printed already; clap's own code 2 would read as "the plan has changes".
                _ => Err(CliError::new(prelude::Class::User, e.kind())),
            }
        }
    };
    ExitCode::from(error::exit_code(&result))
}
