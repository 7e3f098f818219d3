//! Command-line parsing, printing and exit codes. Commands are thin: each parses its arguments,
//! calls the library and prints the result. Errors are rendered once, here.

mod apply;
mod diff;
mod export;
mod fmt;
mod graph;
mod history;
mod init;
mod kinds;
mod object;
mod plan;
mod rollback;
mod select;
mod status;
mod synth;
mod tenant;
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
    Export(export::Args),
    Plan(plan::Args),
    Apply(apply::Args),
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

/// The output formats most commands offer: text for people, JSON for machines.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TextOrJson {
    /// For people.
    Text,
    /// For machines (described by a schema in schemas/output/).
    Json,
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

impl From<ferry::store::StoreError> for CliError {
    fn from(e: ferry::store::StoreError) -> Self {
        use ferry::store::StoreError as E;
        let hint = match &e {
            E::BadUrl { .. } => Some("name a tenant as sqlite:PATH".to_string()),
            E::Unsupported { .. } => Some("use a sqlite:PATH tenant".to_string()),
            E::NotFound { .. } => Some(
                "create it with `ferry tenant init sqlite:PATH --name N --platform-version V --engine E --engine-mode single --cluster C`, or check the path".to_string(),
            ),
            E::NoFolder { .. } => Some("create the folder first, or choose another path".to_string()),
            E::Exists { .. } => Some("choose another path; ferry never overwrites a file".to_string()),
            E::NotSqlite { .. } | E::NotTenant { .. } => {
                Some("check the path: tenants are made by `ferry tenant init`".to_string())
            }
            E::TooNew { .. } => Some("upgrade ferry to open this tenant".to_string()),
            E::ReadOnly { .. } => Some("make the file writable (chmod u+w) or work on a copy".to_string()),
            E::Locked { .. } => Some(
                "wait for the holder to finish or the lock to expire; if the holder is gone, `ferry tenant unlock URL --force`".to_string(),
            ),
            E::NotHolder { .. } => Some("pass --force to release another holder's lock".to_string()),
            E::AddressTaken { .. } => Some("rename one of the objects, or put the file with that object's guid".to_string()),
            E::StillReferenced { .. } => Some("remove or change the objects that refer to it first".to_string()),
            E::DanglingReference { .. } => Some("put the referenced object first".to_string()),
            E::NoSuchObject { .. } => Some("`ferry object list --tenant URL` shows what exists".to_string()),
            E::Cancelled => Some("nothing was changed; run the command again when you are ready".to_string()),
            E::WriteFailed { .. } | E::Database { .. } | E::Corrupt { .. } => None,
        };
        CliError::new(e, hint)
    }
}

pub type Result<T = ()> = std::result::Result<T, CliError>;

/// The exit code of a successful run (plan's --detailed-exitcode sets 2 or 3).
static EXIT_CODE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets the exit code a successful run ends with.
pub fn set_exit_code(code: u8) {
    EXIT_CODE.store(code, std::sync::atomic::Ordering::Relaxed);
}

/// Who is acting: FERRY_ACTOR, or `user@host`. Also the lock holder identity.
pub fn actor_name() -> String {
    if let Ok(actor) = std::env::var("FERRY_ACTOR") {
        if !actor.trim().is_empty() {
            return actor;
        }
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{user}@{host}")
}

/// Now, as RFC 3339 UTC seconds: FERRY_NOW when set (for reproducible runs), else the clock.
pub fn now() -> Result<std::time::SystemTime> {
    match std::env::var("FERRY_NOW") {
        Ok(text) => humantime::parse_rfc3339_weak(&text).map_err(|e| {
            CliError::new(
                format!("FERRY_NOW=`{text}` is not a time: {e}"),
                Some("write it as 2026-01-31T12:00:00Z, or unset it".to_string()),
            )
        }),
        Err(_) => Ok(std::time::SystemTime::now()),
    }
}

/// A time as ferry stores it.
pub fn timestamp(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The acting user and the time.
pub fn actor() -> Result<ferry::store::Actor> {
    Ok(ferry::store::Actor {
        name: actor_name(),
        now: timestamp(now()?),
    })
}

/// Opens the tenant a URL names.
pub fn open_tenant(url: &str) -> Result<Box<dyn ferry::store::Tenant>> {
    let url = ferry::store::TenantUrl::parse(url)?;
    Ok(ferry::store::open(&url)?)
}

/// The kind registry: the repository's (built-in plus custom kinds) when in one, else the
/// built-in kinds.
pub fn registry(repo: Option<&Path>) -> Result<Registry> {
    match repo_root(repo) {
        Ok(root) => {
            let snapshot = repo::snapshot_kinds(&root)?;
            check_config(&root, &snapshot, None)?;
            Ok(repo::registry_for(&snapshot)?)
        }
        Err(_) if repo.is_none() => Ok(Registry::builtin()?),
        Err(e) => Err(e),
    }
}

/// Prints JSON on stdout.
pub fn out_json(value: &serde_json::Value) {
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    ));
}

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

/// The repository root for reading `revision` (or the working tree): as [`repo_root`], but a
/// revision may also be read from a git repository (a bare one included) that has no ferry.toml
/// on disk.
pub fn repo_root_at(repo: Option<&Path>, revision: Option<&str>) -> Result<PathBuf> {
    match (repo_root(repo), revision) {
        (Ok(root), _) => Ok(root),
        (Err(e), Some(_)) => {
            let start = repo
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."));
            repo::git_root(&start).ok_or(e)
        }
        (Err(e), None) => Err(e),
    }
}

/// A repository snapshot and its kind registry.
pub fn load(root: &Path, revision: Option<&str>) -> Result<(Snapshot, Registry)> {
    let source = match revision {
        Some(rev) => Source::Revision(rev.to_string()),
        None => Source::WorkTree,
    };
    let snapshot = repo::snapshot(root, &source)?;
    check_config(root, &snapshot, revision)?;
    let registry = repo::registry_for(&snapshot)?;
    Ok((snapshot, registry))
}

/// Refuses a snapshot without a valid `ferry.toml`.
fn check_config(root: &Path, snapshot: &Snapshot, revision: Option<&str>) -> Result<()> {
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
    Ok(())
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
        Command::Export(args) => export::run(args, repo),
        Command::Plan(args) => plan::run(args, repo),
        Command::Apply(args) => apply::run(args, repo),
        Command::Status(args) => status::run(args),
        Command::History(args) => history::run(args),
        Command::Rollback(args) => rollback::run(args, repo),
        Command::Diff(args) => diff::run(args, repo),
        Command::Kinds(args) => kinds::run(args, repo),
        Command::Tenant(cmd) => tenant::run(cmd),
        Command::Object(cmd) => object::run(cmd, repo),
        Command::Synth(args) => synth::run(args),
    };
    match result {
        Ok(()) => ExitCode::from(EXIT_CODE.load(std::sync::atomic::Ordering::Relaxed)),
        Err(e) => {
            eprintln!("error: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}
