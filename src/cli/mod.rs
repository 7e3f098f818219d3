//! Command-line parsing, printing and exit codes. Commands are thin: each parses its arguments,
//! calls the library and prints the result. Errors are rendered once, here.

mod fmt;
mod graph;
mod init;
mod kinds;
mod validate;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ferry::config;
use ferry::kinds::Registry;
use ferry::repo::{self, Snapshot, Source};

/// ferry: a data platform tenant's metadata objects as code.
///
/// Objects (data sources, projects, tasks, tables, metrics, labels, standards, quality and
/// security rules) live in a git repository of TOML files, one per object. ferry validates them,
/// draws their dependency graph, and (in later versions) plans and applies ordered changes to
/// destination tenants.
///
/// Exit codes: 0 success, 1 error (including usage errors and validation problems).
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
    Kinds(kinds::Args),
}

/// An error to show the user, with what to do next, and the exit code.
#[derive(Debug)]
pub struct CliError {
    message: String,
    hint: Option<String>,
}

impl CliError {
    /// An error with a hint.
    pub fn new(message: impl std::fmt::Display, hint: impl Into<Option<String>>) -> CliError {
        CliError {
            message: message.to_string(),
            hint: hint.into(),
        }
    }

    /// Problems were already printed; exit 1 with a one-line summary.
    pub fn reported(summary: impl std::fmt::Display) -> CliError {
        CliError::new(summary, None)
    }
}

impl From<ferry::config::ConfigError> for CliError {
    fn from(e: ferry::config::ConfigError) -> Self {
        let hint = match &e {
            config::ConfigError::NotFound { .. } => {
                Some("run `ferry init` to make a tenant repository, or pass --repo DIR".to_string())
            }
            config::ConfigError::TooNew { .. } => Some("upgrade ferry".to_string()),
            _ => Some("fix ferry.toml".to_string()),
        };
        CliError::new(e, hint)
    }
}

impl From<ferry::repo::RepoError> for CliError {
    fn from(e: ferry::repo::RepoError) -> Self {
        let hint = match &e {
            repo::RepoError::RevisionNotFound { .. } => {
                Some("check the branch, tag or commit id (`git log --oneline`)".to_string())
            }
            _ => None,
        };
        CliError::new(e, hint)
    }
}

impl From<ferry::kinds::KindError> for CliError {
    fn from(e: ferry::kinds::KindError) -> Self {
        CliError::new(
            e,
            Some(
                "fix the kind schema; schemas/README.md of ferry documents the x-ferry block"
                    .to_string(),
            ),
        )
    }
}

pub type Result<T = ()> = std::result::Result<T, CliError>;

/// Writes data to stdout; a closed pipe (`ferry graph | head`) ends the program quietly.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// The repository root: `--repo`, or the nearest folder up from here with a ferry.toml.
pub fn repo_root(repo: Option<&Path>) -> Result<PathBuf> {
    let start = repo
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if let Some(dir) = repo {
        if !dir.join(config::CONFIG_FILE).is_file() {
            return Err(CliError::new(
                format!(
                    "{} is not a tenant repository (no {})",
                    dir.display(),
                    config::CONFIG_FILE
                ),
                Some(format!("run `ferry init {}` first", dir.display())),
            ));
        }
    }
    Ok(config::find_root(&start)?)
}

/// A repository snapshot and its kind registry.
pub fn load(root: &Path, revision: Option<&str>) -> Result<(Snapshot, Registry)> {
    let source = match revision {
        Some(rev) => Source::Revision(rev.to_string()),
        None => Source::WorkTree,
    };
    let snapshot = repo::snapshot(root, &source)?;
    match &snapshot.config {
        Some(file) => {
            let text = String::from_utf8_lossy(&file.bytes);
            config::Config::parse(&text, Path::new(config::CONFIG_FILE))?;
        }
        None => {
            return Err(CliError::new(
                format!(
                    "{} has no {} at {}",
                    root.display(),
                    config::CONFIG_FILE,
                    revision.unwrap_or("the working tree")
                ),
                Some("pick a revision made after `ferry init`".to_string()),
            ))
        }
    }
    let registry = repo::registry_for(&snapshot)?;
    Ok((snapshot, registry))
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let repo = cli.repo.as_deref();
    let result = match cli.command {
        Command::Init(args) => init::run(args, repo),
        Command::Fmt(args) => fmt::run(args, repo),
        Command::Validate(args) => validate::run(args, repo),
        Command::Graph(args) => graph::run(args, repo),
        Command::Kinds(args) => kinds::run(args, repo),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}
