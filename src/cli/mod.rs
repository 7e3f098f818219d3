//! Command-line parsing, printing and exit codes. Each command in `cli/<command>.rs` holds its
//! clap `Args` (the doc comment is its help), turns them into the options of one
//! [`ferry::ops`] function, calls it and prints what it returns. Errors are classified and
//! printed once ([`error`]), and the exit code is chosen in one place ([`error::exit_code`]).

mod apply;
mod diff;
mod error;
mod export;
mod fmt;
mod graph;
mod history;
mod init;
mod kinds;
mod object;
mod plan;
mod prelude;
mod rollback;
mod show;
mod status;
mod synth;
mod tenant;
mod terminal;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ferry::context::Context;
use prelude::{CliError, Result};

/// ferry: a data platform tenant's metadata objects as code.
///
/// Objects (data sources, projects, tasks, tables, metrics, labels, standards, quality and
/// security rules) live in a git repository of TOML files, one per object. ferry validates
/// them, exports tenants into the repository, shows what changed between commits, and plans and
/// applies ordered changes to destination tenants, with their dependency graph, drift and
/// deployment history.
///
/// Exit codes: 0 success; 1 error (usage errors and validation problems included); with
/// `plan --detailed-exitcode` (and `rollback --out PLAN --detailed-exitcode`), 2 changes
/// without deletes and 3 changes with deletes; 130 interrupted (Ctrl-C or SIGTERM; nothing was
/// written). Diagnostics: FERRY_LOG=debug.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, max_term_width = 100)]
struct Cli {
    /// The tenant repository (default: the nearest folder, from here up, with a ferry.toml).
    #[arg(long, global = true, value_name = "DIR")]
    repo: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::Args),
    Fmt(fmt::Args),
    Validate(validate::Args),
    Graph(graph::Args),
    Export(export::Args),
    Plan(plan::Args),
    Apply(apply::Args),
    Show(show::Args),
    Status(status::Args),
    History(history::Args),
    Rollback(rollback::Args),
    Diff(diff::Args),
    Kinds(kinds::Args),
    #[command(subcommand)]
    Tenant(tenant::Command),
    #[command(subcommand)]
    Object(object::Command),
    #[command(hide = true)]
    Synth(synth::Args),
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
    let ctx = Context::from_process(cli.repo).map_err(ferry::ops::Error::from)?;
    ferry::ops::set_fault_write_delay(ctx.fault_write_delay());
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Fmt(args) => fmt::run(&ctx, args),
        Command::Validate(args) => validate::run(&ctx, args),
        Command::Graph(args) => graph::run(&ctx, args),
        Command::Export(args) => export::run(&ctx, args),
        Command::Plan(args) => plan::run(&ctx, args),
        Command::Apply(args) => apply::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args),
        Command::History(args) => history::run(&ctx, args),
        Command::Rollback(args) => rollback::run(&ctx, args),
        Command::Diff(args) => diff::run(&ctx, args),
        Command::Kinds(args) => kinds::run(&ctx, args),
        Command::Tenant(cmd) => tenant::run(&ctx, cmd),
        Command::Object(cmd) => object::run(&ctx, cmd),
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
