//! Operations: one function per command (cargo's `ops::*`). Each takes the [`Context`] and an
//! options value and returns a result value; the binary only parses arguments into options,
//! calls one operation and prints what it returns. Operations never call each other's entry
//! points: what several share (making a plan, applying one under the lock) lives in
//! [`pipeline`] and in the modules below.
//!
//! [`Context`]: crate::context::Context

pub mod apply;
pub mod diff;
pub mod export;
pub mod fmt;
pub mod graph;
pub mod init;
pub mod kinds;
pub mod object;
pub mod package;
pub mod pipeline;
pub mod plan;
pub mod records;
pub mod rollback;
pub mod synth;
pub mod tenant;
pub mod validate;

use std::path::PathBuf;

use crate::validate::Problem;

/// Why an operation failed. Each variant carries the module error it wraps, or the facts of an
/// operation's own refusal; the binary classifies them and adds what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The context (repository discovery, `FERRY_NOW`, `ferry.toml`, kinds).
    #[error(transparent)]
    Context(#[from] crate::context::ContextError),
    /// `ferry.toml`.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The repository.
    #[error(transparent)]
    Repo(#[from] crate::repo::RepoError),
    /// A kind schema.
    #[error(transparent)]
    Kind(#[from] crate::kinds::KindError),
    /// The tenant store.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A time after the latest ferry can store (a lock's expiry).
    #[error(transparent)]
    TooLate(#[from] crate::context::TimeError),
    /// A selector.
    #[error(transparent)]
    Select(#[from] crate::select::SelectError),
    /// Reading the desired objects.
    #[error(transparent)]
    Desired(crate::desired::DesiredError),
    /// The plan's checks.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// The promotion gate refuses the revision.
    #[error(transparent)]
    Gate(#[from] crate::apply::gate::GateError),
    /// `--skip-gate` with an empty reason.
    #[error("--skip-gate needs a reason, recorded in the deployment")]
    NoSkipReason,
    /// The deletion guards refuse the plan.
    #[error(transparent)]
    Guard(crate::plan::guards::GuardError),
    /// A saved plan file.
    #[error(transparent)]
    PlanFile(#[from] crate::plan::file::PlanFileError),
    /// Applying.
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    /// Exporting.
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    /// Diffing two revisions.
    #[error(transparent)]
    Diff(#[from] crate::diff::DiffError),
    /// Object files, a repository or a revision hold problems (each reported on its own).
    #[error("{} problem(s){}; {consequence}", problems.len(), place.as_deref().map(|p| format!(" in {p}")).unwrap_or_default())]
    Invalid {
        /// What was checked, when not the files given: "the repository at HEAD", ….
        place: Option<String>,
        /// The problems.
        problems: Vec<Problem>,
        /// What the operation did not do because of them.
        consequence: String,
    },
    /// A kind name no registry holds.
    #[error("unknown kind `{}`", crate::model::text::excerpt(kind, 80))]
    UnknownKind {
        /// The name given.
        kind: String,
    },
    /// A category name that does not exist.
    #[error("unknown category `{category}`")]
    UnknownCategory {
        /// The name given.
        category: String,
    },
    /// A date flag that does not parse.
    #[error("{flag} `{text}` is not a date: {reason}")]
    BadDate {
        /// The flag.
        flag: &'static str,
        /// What was given.
        text: String,
        /// Why it does not parse.
        reason: String,
    },
    /// No object has the address or GUID.
    #[error("no object {key} in {tenant}")]
    NoSuchObject {
        /// The address or GUID given.
        key: String,
        /// The tenant.
        tenant: crate::store::TenantUrl,
    },
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A path named to be read is not a regular file or a folder (a FIFO, a device, a socket).
    #[error("cannot read {}: not a regular file or a folder", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A tenant fact (name, platform version, engine, cluster) that could not be shown safely.
    #[error("tenant {flag}: {why}")]
    BadTenantFact {
        /// The flag that gave it (`--name`).
        flag: &'static str,
        /// What is wrong with it (the name quoted as an escaped excerpt).
        why: String,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An environment variable ferry was told to read is not set.
    #[error("environment variable {var} is not set")]
    VarNotSet {
        /// The variable.
        var: String,
    },
    /// The deployment credential is too short to be safe.
    #[error("the credential in {var} is shorter than {min} characters")]
    ShortCredential {
        /// The variable it came from.
        var: String,
        /// The least length accepted.
        min: usize,
    },
    /// `ferry apply` with neither a plan file nor a destination.
    #[error("nothing to apply: give a saved plan file or --to URL")]
    NothingToApply,
    /// The person asked said no.
    #[error("apply cancelled")]
    Declined,
    /// No terminal to ask for confirmation on.
    #[error("refusing to apply without confirmation: no terminal to ask on")]
    NoConfirmation,
    /// A saved plan's commit cannot be read where it is applied.
    #[error("cannot read the plan's commit {commit}: {source}")]
    PlanCommit {
        /// The commit.
        commit: String,
        /// Why.
        source: Box<Error>,
    },
    /// A saved plan that a deployment has applied already.
    #[error("{} was already applied to {tenant}, in deployment {deployment} at {at}; nothing was applied", path.display())]
    AlreadyApplied {
        /// The plan file.
        path: std::path::PathBuf,
        /// The tenant.
        tenant: crate::store::TenantUrl,
        /// The deployment that applied it.
        deployment: String,
        /// When.
        at: String,
    },
    /// The tenant refused the object of one file.
    #[error("{path}: {source}")]
    PutFile {
        /// The file.
        path: String,
        /// Why.
        source: Box<crate::store::StoreError>,
    },
    /// A saved plan differs from the plan its commit and destination give.
    #[error("{} is not the plan that commit {commit} gives for tenant {tenant}: {} difference(s); nothing was applied", path.display(), differences.len())]
    PlanEdited {
        /// The plan file.
        path: std::path::PathBuf,
        /// Its commit.
        commit: String,
        /// Its destination.
        tenant: crate::store::TenantUrl,
        /// Each difference: where, what the file says, what the plan made again says.
        differences: Vec<String>,
    },
    /// A rollback target cannot be planned.
    #[error("cannot plan back to deployment {deployment} (commit {commit}): {source}")]
    RollbackPlan {
        /// The deployment.
        deployment: String,
        /// Its commit.
        commit: String,
        /// Why.
        source: Box<Error>,
    },
    /// Files are not in canonical form (`ferry fmt --check`).
    #[error("{count} file(s) are not in canonical form")]
    NotCanonical {
        /// How many.
        count: usize,
    },
    /// Synthetic tenant generation failed.
    #[error("{0}")]
    Synth(String),
    /// An environment file that cannot be used.
    #[error(transparent)]
    Env(#[from] crate::desired::environment::EnvError),
    /// An environment file that cannot be used at one side of a diff.
    #[error("{source}")]
    EnvAt {
        /// The side: a revision, or the working tree.
        at: String,
        /// What is wrong.
        source: crate::desired::environment::EnvError,
    },
    /// `--env NAME` with no `environments/NAME.toml` at the revision read.
    #[error("no environment `{name}`: {path} does not exist {at}{}", if known.is_empty() { String::new() } else { format!(" (environments there: {})", known.join(", ")) })]
    NoEnvironment {
        /// The name given.
        name: String,
        /// The file looked for.
        path: String,
        /// Where: "at HEAD (commit …)" or "in the working tree".
        at: String,
        /// The environments that exist there.
        known: Vec<String>,
    },
    /// `--env` and `--to` name different tenants.
    #[error("--to {given} disagrees with environment `{env}`, whose tenant is {declared} ({path}:{line}); drop --to, or fix the environment file")]
    EnvTenantDisagrees {
        /// The environment.
        env: String,
        /// `--to`.
        given: String,
        /// The environment file's `tenant`.
        declared: String,
        /// The file.
        path: String,
        /// Its line.
        line: usize,
    },
    /// `--env` with an environment file that names no tenant, and no `--to`.
    #[error("environment `{env}` names no tenant ({path} has no `tenant = \"URL\"`), and no --to was given")]
    EnvWithoutTenant {
        /// The environment.
        env: String,
        /// The file.
        path: String,
    },
    /// A package could not be made or read.
    #[error(transparent)]
    Package(#[from] crate::package::PackageError),
    /// An object whose secret values were masked cannot be written again as its file.
    #[error("{path}: {source}")]
    PackageObject {
        /// The object file.
        path: String,
        /// Why.
        source: crate::model::canonical::WriteError,
    },
    /// `ferry package --since` with `--select` or `--exclude`.
    #[error("--since makes an incremental package and --select/--exclude a selection: a package is one or the other")]
    PackageModes,
    /// `ferry.toml` at the revision packaged records no source tenant facts.
    #[error("ferry.toml at {revision} has no [source] table: a package carries the source tenant's facts for the destination's checks")]
    NoSourceFacts {
        /// The revision.
        revision: String,
    },
    /// `--package ID` names no package the destination keeps.
    #[error("no package {id} in tenant {tenant}: `--package` takes a package file or the id of a package imported there")]
    NoPackage {
        /// The id given.
        id: String,
        /// The destination.
        tenant: crate::store::TenantUrl,
    },
    /// `--package PREFIX` names more than one kept package.
    #[error("{id} names {} packages in tenant {tenant}: {}; give more of the id", matches.len(), matches.join(", "))]
    AmbiguousPackage {
        /// The prefix given.
        id: String,
        /// The destination.
        tenant: crate::store::TenantUrl,
        /// The ids it matches.
        matches: Vec<String>,
    },
    /// A package plan whose environment has a promotion gate.
    #[error("environment {env} has a promotion gate (`requires`), which ferry checks for git revisions only, not for packages")]
    PackageGate {
        /// The environment.
        env: String,
    },
    /// `--package` with `--env` and no `--to`.
    #[error("--package needs --to URL: the destination is not read from an environment of the repository")]
    PackageWithoutTo,
    /// A saved plan of a package the destination does not keep.
    #[error("the plan {} is of package {hash}, which tenant {tenant} does not keep", path.display())]
    PlanPackageGone {
        /// The plan file.
        path: PathBuf,
        /// The package hash the plan names.
        hash: String,
        /// The destination.
        tenant: crate::store::TenantUrl,
    },
    /// `ferry import` with neither `--to` nor `--env`.
    #[error("no destination: give --to URL or --env ENV")]
    NothingToImport,
    /// An import check failed; the destination was not changed.
    #[error("{} refused by {check}: {}; the destination was not changed", package.display(), problems.first().map(String::as_str).unwrap_or(""))]
    ImportRefused {
        /// The check.
        check: package::Check,
        /// The package file.
        package: PathBuf,
        /// What failed, one line each.
        problems: Vec<String>,
    },
    /// `ferry diff A...B`.
    #[error("`{range}`: ferry diff takes A..B (two revisions), not A...B")]
    ThreeDotRange {
        /// The range given.
        range: String,
    },
}

impl From<crate::desired::DesiredError> for Error {
    fn from(e: crate::desired::DesiredError) -> Error {
        use crate::desired::DesiredError as D;
        match e {
            D::Invalid { revision, problems } => Error::Invalid {
                place: Some(format!("the repository at {revision}")),
                problems,
                consequence: "no plan was made".to_string(),
            },
            D::Repo(e) => Error::Repo(e),
            D::Store(e) => Error::Store(e),
            other => Error::Desired(other),
        }
    }
}

impl From<crate::plan::guards::GuardError> for Error {
    fn from(e: crate::plan::guards::GuardError) -> Error {
        match e {
            crate::plan::guards::GuardError::Env(e) => Error::Env(e),
            other => Error::Guard(other),
        }
    }
}

/// A result of an operation.
pub type Result<T> = std::result::Result<T, Error>;

/// What an operation may ask of the person running it, or tell them while it works.
pub trait Ui {
    /// A status line (the binary prints it on stderr).
    fn status(&mut self, line: &str);
    /// Shows a plan that is about to be applied, with what it was made from.
    fn show_plan(&mut self, planned: &pipeline::Planned);
    /// Asks whether to apply the plan just shown.
    fn confirm(&mut self) -> Result<bool>;
}

/// A [`Ui`] that shows nothing and approves nothing (tests, embedding).
#[derive(Debug, Default)]
pub struct Silent {
    /// The status lines, kept.
    pub lines: Vec<String>,
}

impl Ui for Silent {
    fn status(&mut self, line: &str) {
        self.lines.push(line.to_string());
    }
    fn show_plan(&mut self, _planned: &pipeline::Planned) {}
    fn confirm(&mut self) -> Result<bool> {
        Ok(false)
    }
}

/// Asks the write in progress to stop and roll back (Ctrl-C, SIGTERM): safe to call from a
/// signal handler's thread.
pub fn interrupt() {
    crate::store::cancel();
}

/// Testing only: every store write pauses this long between its changes
/// ([`crate::store::set_fault_write_delay`]).
pub fn set_fault_write_delay(delay: Option<std::time::Duration>) {
    crate::store::set_fault_write_delay(delay);
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    crate::store::cancelled()
}
