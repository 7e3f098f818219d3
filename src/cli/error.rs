//! The one error type at the edge of the binary (jj's `command_error.rs`): every library error
//! is classified here once — the user's input, the environment or configuration, ferry itself,
//! an interrupt — given what to do next, and turned into an exit code by [`exit_code`], the only
//! place that chooses one.

use ferry::ops::Error;
use ferry::store::StoreError;

/// Whose problem an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Bad input: arguments, object files, a plan that cannot be made or applied.
    User,
    /// The environment or configuration: a missing tenant, `ferry.toml`, a variable, a lock
    /// someone else holds, a file that cannot be read.
    Environment,
    /// ferry itself, or its store, failed unexpectedly.
    Internal,
    /// Ctrl-C or SIGTERM stopped the command (nothing was written).
    Interrupted,
    /// stdout was closed (`ferry graph | head`): end quietly.
    Closed,
}

/// How a successful run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// Done (with `--detailed-exitcode`: the plan has no changes).
    Done,
    /// `--detailed-exitcode`: the plan has changes, no deletes.
    Changes,
    /// `--detailed-exitcode`: the plan has changes, deletes among them.
    Deletes,
}

/// An error to show the user: what went wrong, lines printed before it (the problems of a
/// validation, each on its own), and what to do next.
#[derive(Debug)]
pub struct CliError {
    /// Whose problem it is.
    pub class: Class,
    /// The one-line message.
    pub message: String,
    /// Lines printed before the message.
    pub details: Vec<String>,
    /// What to do next.
    pub hints: Vec<String>,
}

impl CliError {
    /// An error of `class` with `message`.
    pub fn new(class: Class, message: impl std::fmt::Display) -> CliError {
        CliError {
            class,
            message: message.to_string(),
            details: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hints.push(hint.into());
        self
    }

    /// Problems were already printed; a one-line summary.
    pub fn reported(summary: impl std::fmt::Display) -> CliError {
        CliError::new(Class::User, summary)
    }

    /// Prints the error on stderr.
    pub fn print(&self) {
        if self.class == Class::Closed {
            return;
        }
        for line in &self.details {
            eprintln!("{line}");
        }
        eprintln!("error: {}", self.message);
        for hint in &self.hints {
            eprintln!("  hint: {hint}");
        }
    }
}

/// The exit code of a run: the only place one is chosen.
pub fn exit_code(result: &Result<Success, CliError>) -> u8 {
    match result {
        Ok(Success::Done) => 0,
        Ok(Success::Changes) => 2,
        Ok(Success::Deletes) => 3,
        Err(e) => match e.class {
            Class::Closed => 0,
            Class::Interrupted => 130,
            Class::User | Class::Environment | Class::Internal => 1,
        },
    }
}

/// The class and hint of a store error.
fn store(e: &StoreError) -> (Class, Option<&'static str>) {
    use Class::*;
    use StoreError as E;
    match e {
        E::BadUrl { .. } => (User, Some("name a tenant as sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE[?schema=S&sslmode=M]")),
        E::Connect { .. } => (
            Environment,
            Some("check the host, port, database, user and sslmode of the URL, and the password (URL, PGPASSWORD or ~/.pgpass)"),
        ),
        E::NoTenantSchema { .. } => (
            Environment,
            Some("check the database and ?schema= of the URL: tenants are made by `ferry tenant init`"),
        ),
        E::SchemaInUse { .. } => (
            User,
            Some("choose another schema with ?schema=NAME in the URL"),
        ),
        E::TooNewSchema { .. } => (Environment, Some("upgrade ferry to open this tenant")),
        E::NotEmpty { .. } => (
            User,
            Some("copy into a new tenant URL (a new file, or a new ?schema=)"),
        ),
        E::CopyDiffers { .. } => (
            Internal,
            Some("the source is unchanged; remove the copy and run `ferry tenant copy` again"),
        ),
        E::NotFound { .. } => (
            Environment,
            Some("create it with `ferry tenant init sqlite:PATH --name N --platform-version V --engine E --engine-mode single --cluster C`, or check the path"),
        ),
        E::NoFolder { .. } => (Environment, Some("create the folder first, or choose another path")),
        E::Exists { .. } => (User, Some("choose another path; ferry never overwrites a file")),
        E::NotSqlite { .. } | E::NotTenant { .. } => {
            (Environment, Some("check the path: tenants are made by `ferry tenant init`"))
        }
        E::TooNew { .. } => (Environment, Some("upgrade ferry to open this tenant")),
        E::ReadOnly { .. } => (
            Environment,
            Some("make the file writable (chmod u+w) or work on a copy"),
        ),
        E::Locked { .. } => (
            Environment,
            Some("wait for the holder to finish or the lock to expire; if the holder is gone, `ferry tenant unlock URL --force`"),
        ),
        E::NotHolder { .. } => (User, Some("pass --force to release another holder's lock")),
        E::ChangedSincePlan { .. } => (
            User,
            Some("make a new plan against the tenant as it is now (`ferry plan`), review it, and apply that"),
        ),
        E::AddressTaken { .. } => (
            User,
            Some("rename one of the objects, or put the file with that object's guid"),
        ),
        E::AddressFolds { .. } => (
            User,
            Some("rename the new object (or put the file with the other object's guid to rename that one)"),
        ),
        E::StillReferenced { .. } => {
            (User, Some("remove or change the objects that refer to it first"))
        }
        E::DanglingReference { .. } => (User, Some("put the referenced object first")),
        E::NoSuchObject { .. } => {
            (User, Some("`ferry object list --tenant URL` shows what exists"))
        }
        // Given with the holder by `store_hint`.
        E::Busy { .. } => (Environment, None),
        E::Cancelled => (
            Interrupted,
            Some("nothing was changed; run the command again when you are ready"),
        ),
        E::Corrupt { .. } => (
            Internal,
            Some("the tenant file is damaged: restore it from a backup, or delete the object (`ferry object rm`) and put it again"),
        ),
        E::WriteFailed { .. } | E::Database { .. } | E::Server { .. } | E::Stopped => {
            (Internal, None)
        }
    }
}

/// The class and hint of a store error, the hints that name what the error holds included.
fn store_hint(e: &StoreError) -> (Class, Option<String>) {
    match e {
        StoreError::Busy { holder, .. } => (
            Class::Environment,
            Some(match holder {
                Some(holder) => format!(
                    "{holder} holds the tenant's lock and is most likely the writer: wait for it to finish, or pass --lock-wait 5m to apply"
                ),
                None => "another ferry (or another program) is writing to it: wait for it to finish and run the command again".to_string(),
            }),
        ),
        other => {
            let (class, hint) = store(other);
            (class, hint.map(Into::into))
        }
    }
}

/// The hint of a time too late to store: a shorter flag value, an earlier `FERRY_NOW`.
fn too_late(e: &ferry::context::TimeError) -> String {
    let ferry::context::TimeError::TooLate { flag, pinned, .. } = e;
    let mut ways: Vec<String> = flag.iter().map(|f| format!("use a shorter {f}")).collect();
    if *pinned {
        ways.push("set FERRY_NOW to an earlier time, or unset it".to_string());
    }
    if ways.is_empty() {
        ways.push("check the system clock".to_string());
    }
    ways.join("; ")
}

/// The class and hint of a plan error.
fn plan(e: &ferry::plan::PlanError) -> &'static str {
    use ferry::plan::PlanError as E;
    match e {
        E::Prerequisite { .. } => "deploy only between tenants of the same platform version, engine type and engine mode; for another cluster, migrate the engine's data first",
        E::NoSourceFacts => "run `ferry export --from SOURCE --commit` once so ferry.toml records the source tenant",
        E::Unresolved(_) => "add the referenced objects to the repository, or create them in the destination first",
        E::Conflict(_) => "pass --adopt to make the destination's objects ferry's, or rename one side",
        E::Cycle(_) => "remove one of the references in the cycle",
        E::OutsideSelection(_) => "widen the selection to what the objects need (`+X` selects X and its dependencies)",
        E::BlockedDelete(_) => "change or delete the objects that still refer to them first",
        E::Drift(_) => "look at the drift with --on-drift warn, then export the destination or re-apply",
        E::Immutable(_) => "the platform does not allow this change: create a new object instead",
    }
}

/// What to do about a plan the deletion guards refuse.
fn guard(e: &ferry::plan::guards::GuardError) -> String {
    use ferry::plan::guards::GuardError as G;
    match e {
        G::Protected { file, .. } => format!(
            "keep the objects (restore their files, or undo the rename); to delete one on purpose, first take it out of [guards] protect in {file} in a reviewed commit of its own"
        ),
        G::TooManyDeletes { deletes, .. } => format!(
            "review the deletes (`ferry plan` lists them); if they are meant, pass --allow-deletes {deletes}"
        ),
        G::Empty {
            env: Some((_, file)),
            ..
        } => format!(
            "check --ref and the repository: the revision has none of the objects ferry applied; to empty the tenant on purpose, set `allow_empty = true` under [guards] in {file}"
        ),
        G::Empty { deletes, .. } => format!(
            "check --ref and the repository: the revision has none of the objects ferry applied; to empty the tenant on purpose, pass --allow-deletes {deletes}"
        ),
        G::Env(_) => "fix the environment file".into(),
    }
}

/// The class and hint of an apply error.
fn apply(e: &ferry::apply::ApplyError) -> (Class, &'static str) {
    use ferry::apply::ApplyError as E;
    match e {
        E::Stale(_) => (
            Class::User,
            "make a new plan: the destination changed since this one",
        ),
        E::DesiredChanged(_) => (
            Class::User,
            "make a new plan from the repository as it is",
        ),
        E::Failed {
            source: StoreError::Cancelled,
            ..
        } => (
            Class::Interrupted,
            "nothing was changed; run the command again when you are ready",
        ),
        E::NoDeployment { .. } | E::NotRestorable { .. } => (
            Class::User,
            "`ferry history --tenant URL` lists the deployments and their ids (a unique prefix, `last` or `previous` will do)",
        ),
        E::AmbiguousDeployment { .. } => (
            Class::User,
            "give more of the id: `ferry history --tenant URL` shows each one's unique short form",
        ),
        E::MissingSecrets { .. } => (
            Class::Environment,
            "set each variable and provide each file where the apply runs (relative paths are from the repository's folder), then run again; `ferry plan --env ENV` lists the secrets and whether each is available",
        ),
        E::WaitedOut { .. } => (
            Class::Environment,
            "wait longer (a larger --lock-wait), or ask the holder to finish; `ferry status --tenant URL` shows the lock",
        ),
        // Given their own hints by the caller.
        E::Store(_) | E::TooLate(_) => (Class::Environment, "run the command again"),
        E::Failed { .. } => (
            Class::Environment,
            "`ferry history show last --tenant URL` shows why each object failed; fix the cause and apply again",
        ),
    }
}

/// What to do when an import check fails.
fn import_hint(check: ferry::ops::package::Check) -> &'static str {
    use ferry::ops::package::Check as C;
    match check {
        C::Integrity => "the file is damaged or is not a ferry package: copy it again, or make it again with `ferry package`",
        C::Credential => "both tenants need the same deployment credential: set it on the destination with `ferry tenant settings --credential-env VAR`, pass the same one with --credential-env, and make the package with it",
        C::PlatformVersion => "upgrade the older side, so that both run the same platform version, and make the package again",
        C::EngineType => "import into a tenant with the same compute engine as the source",
        C::EngineMode => "single-engine packages go into single-engine tenants, multi-engine into multi-engine: choose a matching destination",
        C::Cluster => "import into a tenant on the same cluster, or pass --allow-other-cluster if the objects do not depend on it",
        C::TypeCodes => "create the custom data-source type in the destination with the same type_code, or make a package that carries it (`--select +OBJECT` brings what an object depends on)",
        C::References => "make a package that carries the objects referred to (`--select +OBJECT`, or a full package), or create them in the destination first",
        C::Secrets => "set each variable, or create each file, the environment's [[secret]] entries name, then import again",
    }
}

const KIND_HINT: &str =
    "fix the kind schema; schemas/README.md of ferry documents the x-ferry block";

impl From<Error> for CliError {
    fn from(e: Error) -> CliError {
        use Class::*;
        // A rollback that cannot be planned is the planning error, after a line saying so.
        let e = match e {
            Error::RollbackPlan {
                deployment,
                commit,
                source,
            } => {
                let mut err = CliError::from(*source);
                err.details.insert(
                    0,
                    format!("cannot plan back to deployment {deployment} (commit {commit})"),
                );
                return err;
            }
            other => other,
        };
        let message = e.to_string();
        let (class, hint): (Class, Option<String>) = match &e {
            Error::Context(c) => return context(c, message),
            Error::Config(c) => config(c),
            Error::Repo(r) => (Environment, repo(r)),
            Error::Kind(_) => (User, Some(KIND_HINT.into())),
            Error::Store(s) => store_hint(s),
            Error::PutFile { source, .. } => store_hint(source),
            Error::TooLate(t) => (User, Some(too_late(t))),
            Error::Select(s) => (
                User,
                Some(
                    match s {
                        ferry::select::SelectError::Parse { .. } => {
                            "`ferry graph --help` shows the selector grammar"
                        }
                        ferry::select::SelectError::NoMatch { .. } => {
                            "check the spelling; `ferry graph --format json` lists every address"
                        }
                    }
                    .into(),
                ),
            ),
            Error::Desired(d) => (User, desired(d)),
            Error::Plan(p) => (User, Some(plan(p).into())),
            Error::Guard(g) => (User, Some(guard(g))),
            Error::Gate(ferry::apply::gate::GateError::NotPromoted { commit, missing, .. }) => (
                User,
                Some(format!(
                    "apply the same revision to {} first (`ferry apply --env {} --ref {}`), or pass --skip-gate \"REASON\" to apply without the gate (the reason is recorded in the deployment)",
                    missing.iter().map(|m| format!("`{}`", m.env)).collect::<Vec<_>>().join(" and "),
                    missing.first().map(|m| m.env.as_str()).unwrap_or("test"),
                    commit.get(..12).unwrap_or(commit),
                )),
            ),
            Error::NoSkipReason => (
                User,
                Some("say why, e.g. --skip-gate \"hotfix for INC-123, approved by the on-call lead\"".into()),
            ),
            Error::PlanFile(f) => {
                use ferry::plan::file::PlanFileError as F;
                match f {
                    F::Write { .. } | F::Read { .. } => (Environment, Some("check the path".into())),
                    F::NotAPlan { .. } => (User, Some("make one with `ferry plan --out PLAN`".into())),
                    F::OtherVersion { .. } => {
                        (User, Some("make the plan again with this ferry".into()))
                    }
                }
            }
            Error::Apply(ferry::apply::ApplyError::Store(s)) => store_hint(s),
            Error::Apply(ferry::apply::ApplyError::TooLate(t)) => (User, Some(too_late(t))),
            Error::Apply(a @ ferry::apply::ApplyError::MissingSecrets { missing }) => {
                let (class, hint) = apply(a);
                let mut err = CliError::new(
                    class,
                    format!(
                        "{} secret(s) the apply sets have no value here; nothing was changed",
                        missing.len()
                    ),
                );
                err.details = ferry::model::text::listed(missing, "\n")
                    .lines()
                    .map(String::from)
                    .collect();
                return err.hint(hint);
            }
            Error::Apply(a) => {
                let (class, hint) = apply(a);
                (class, Some(hint.into()))
            }
            Error::Export(x) => (
                match x {
                    ferry::export::ExportError::Store(s) => store(s).0,
                    _ => Environment,
                },
                Some("the repository may hold part of the export: `git status` shows it, `git checkout -- objects` undoes it".into()),
            ),
            Error::Diff(d) => return diff(d, message),
            Error::Invalid {
                place, problems, ..
            } => {
                let mut err = CliError::new(User, message);
                err.details = problems.iter().map(|p| p.to_string()).collect();
                if place.is_some() {
                    err = err.hint("`ferry validate --ref REF` shows the same problems; fix them and commit");
                }
                return err;
            }
            Error::UnknownKind { .. } => (User, Some("`ferry kinds` lists the kinds".into())),
            Error::UnknownCategory { .. } => (
                User,
                Some(format!(
                    "categories are {}",
                    ferry::kinds::Category::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
            Error::BadDate { .. } => (
                User,
                Some("write 2026-01-31 or 2026-01-31T12:00:00Z (UTC)".into()),
            ),
            Error::NoSuchObject { tenant, .. } => (
                User,
                Some(format!("`ferry object list --tenant {tenant}` shows what exists")),
            ),
            Error::Read { .. } => (Environment, Some("check the path".into())),
            Error::NotAFile { .. } => (
                User,
                Some("name object files (`.toml`) or folders of them".into()),
            ),
            Error::BadTenantFact { .. } => (
                User,
                Some("choose a value of printable characters, without `/` and without leading or trailing spaces".into()),
            ),
            Error::Write { .. } => (Environment, None),
            Error::VarNotSet { var } => (
                Environment,
                Some(format!(
                    "export {var}=… with the shared deployment credential, then run again"
                )),
            ),
            Error::ShortCredential { .. } => (
                User,
                Some("use a long random credential, e.g. `openssl rand -hex 32`".into()),
            ),
            Error::NothingToApply => (
                User,
                Some("`ferry apply --to sqlite:PATH` plans and applies; `ferry apply PLAN` applies a saved plan".into()),
            ),
            Error::Declined => (User, None),
            Error::NoConfirmation => (
                User,
                Some("pass --auto-approve (as CI does), or save the plan with `--out plan.json` (on `plan` or `rollback`) and apply it with `ferry apply plan.json`".into()),
            ),
            Error::AlreadyApplied { .. } => (
                User,
                Some("`ferry history show last --tenant URL` shows what it applied; to change the tenant again, make a new plan".into()),
            ),
            Error::PlanEdited { differences, .. } => {
                let mut err = CliError::new(User, message);
                err.details = differences.clone();
                return err.hint("apply a plan as `ferry plan --out` wrote it: make a new one (`ferry plan --out plan.json`), review it, and apply that");
            }
            Error::PlanCommit { .. } => (
                Environment,
                Some("apply the plan in the repository it was made from (--repo DIR)".into()),
            ),
            // Taken apart above.
            Error::RollbackPlan { .. } => (Internal, None),
            Error::NotCanonical { .. } => (User, Some("run `ferry fmt` to rewrite them".into())),
            Error::Synth(_) => (Internal, None),
            Error::Env(env) => {
                let mut err = CliError::new(
                    User,
                    format!(
                        "{} problem(s) in {}; nothing was planned or changed",
                        env.problems.len(),
                        env.path
                    ),
                );
                err.details = message.lines().map(String::from).collect();
                return err.hint("fix the environment file (its schema: schemas/environment.schema.json; `ferry validate --env ENV` checks it)");
            }
            Error::EnvAt { at, source } => {
                let mut err = CliError::new(
                    User,
                    format!(
                        "{} problem(s) in {} at {at}; no diff was made",
                        source.problems.len(),
                        source.path
                    ),
                );
                err.details = message.lines().map(String::from).collect();
                return err.hint("fix the environment file (`ferry validate --env ENV` checks it; `--ref REV` at a revision)");
            }
            Error::NoEnvironment { .. } => (
                User,
                Some("environments are the files environments/NAME.toml of the revision planned; commit a new one before planning with it".into()),
            ),
            Error::EnvTenantDisagrees { .. } => (User, None),
            Error::EnvWithoutTenant { .. } => (
                User,
                Some("add `tenant = \"sqlite:PATH\"` to the environment file, or pass --to URL".into()),
            ),
            Error::ThreeDotRange { .. } => (
                User,
                Some("to see what B changed since it branched from A: ferry diff \"$(git merge-base A B)..B\"".into()),
            ),
            Error::Package(p) => match p {
                ferry::package::PackageError::Name { .. } => (User, Some("choose another file name, e.g. retail_20261203.dp".into())),
                ferry::package::PackageError::Read { .. } => (Environment, Some("check the path".into())),
                ferry::package::PackageError::Write { .. } => (Environment, Some("write the package to a regular file in a folder you can write to".into())),
                ferry::package::PackageError::Corrupt { .. } => (User, Some("make the package again with `ferry package`".into())),
            },
            Error::PackageObject { .. } => (Internal, None),
            Error::PackageModes => (User, Some("drop --since for a selection, or --select/--exclude for an incremental package".into())),
            Error::NoSourceFacts { .. } => (User, Some("export from the source tenant (`ferry export --from URL`), which records its facts in ferry.toml, and commit".into())),
            Error::NoPackage { tenant, .. } => (User, Some(format!("`ferry package list --tenant {tenant}` lists the packages it keeps; give a package file to check and plan it directly"))),
            Error::AmbiguousPackage { tenant, .. } => (User, Some(format!("`ferry package list --tenant {tenant}` lists the ids"))),
            Error::PackageGate { .. } => (User, Some("pass --skip-gate REASON to deploy the package without the gate (the reason is recorded)".into())),
            Error::PackageWithoutTo => (User, Some("`ferry plan --package FILE|ID --to sqlite:PATH [--env ENV]`".into())),
            Error::PlanPackageGone { tenant, .. } => (User, Some(format!("import the package first (`ferry import FILE --to {tenant}`, or apply with `ferry apply --package FILE --to {tenant}`, which imports it), then make the plan again"))),
            Error::NothingToImport => (User, Some("`ferry import FILE --to sqlite:PATH`, or --env ENV to use the tenant of the package's environments/ENV.toml".into())),
            Error::ImportRefused { check, problems, .. } => {
                let mut err = CliError::new(User, message);
                if problems.len() > 1 {
                    err.details = problems.clone();
                }
                return err.hint(import_hint(*check));
            }
        };
        let mut err = CliError::new(class, message);
        err.hints.extend(hint);
        err
    }
}

/// The class and hint of a context error.
fn context(e: &ferry::context::ContextError, message: String) -> CliError {
    use ferry::context::ContextError as C;
    match e {
        C::BadNow { .. } => CliError::new(Class::Environment, message)
            .hint("write it as 2026-01-31T12:00:00Z, or unset it"),
        C::NotRepository { dir } => CliError::new(Class::Environment, message)
            .hint(format!("run `ferry init {}` first", dir.display())),
        C::NoConfigAt { .. } => {
            CliError::new(Class::User, message).hint("pick a revision made after `ferry init`")
        }
        C::Config(c) => {
            let (class, hint) = config(c);
            let mut err = CliError::new(class, message);
            err.hints.extend(hint);
            err
        }
        C::Repo(r) => {
            let mut err = CliError::new(Class::Environment, message);
            err.hints.extend(repo(r));
            err
        }
        C::Kind(_) => CliError::new(Class::User, message).hint(KIND_HINT),
    }
}

/// The class and hint of a `ferry.toml` error.
fn config(e: &ferry::config::ConfigError) -> (Class, Option<String>) {
    use ferry::config::ConfigError as C;
    match e {
        C::NotFound { .. } => (
            Class::Environment,
            Some("run `ferry init` to make a tenant repository, or pass --repo DIR".into()),
        ),
        C::TooNew { .. } => (Class::Environment, Some("upgrade ferry".into())),
        _ => (Class::User, Some("fix ferry.toml".into())),
    }
}

/// The hint of a repository error.
fn repo(e: &ferry::repo::RepoError) -> Option<String> {
    match e {
        ferry::repo::RepoError::RevisionNotFound { .. } => {
            Some("check the branch, tag or commit id (`git log --oneline`)".into())
        }
        ferry::repo::RepoError::InsideRepository { path, .. } => Some(format!(
            "`ferry init --no-git {0}` to commit it in that repository, `ferry init --git {0}` for a nested one, or init a folder outside it; nothing was written",
            path.display()
        )),
        _ => None,
    }
}

/// The hint of a desired-state error.
fn desired(e: &ferry::desired::DesiredError) -> Option<String> {
    use ferry::desired::DesiredError as D;
    match e {
        D::Kind(_) => Some(KIND_HINT.into()),
        D::Config(c) => config(c).1,
        D::Repo(r) => repo(r),
        _ => None,
    }
}

/// A diff error, with what to do.
fn diff(e: &ferry::diff::DiffError, message: String) -> CliError {
    use ferry::diff::DiffError as D;
    match e {
        D::Read(ferry::repo::RepoError::NotGit { path }) => CliError::new(
            Class::Environment,
            format!(
                "{} is not in a git repository: ferry diff compares git revisions",
                path.display()
            ),
        )
        .hint("run `git init` and commit the repository first"),
        D::Read(r) => {
            let mut err = CliError::new(Class::Environment, message);
            err.hints.extend(repo(r));
            err
        }
        D::Kinds { .. } => CliError::new(Class::User, message).hint(
            "fix the custom kind schema at that revision; schemas/README.md of ferry documents the x-ferry block",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_has_its_exit_code() {
        assert_eq!(exit_code(&Ok(Success::Done)), 0);
        assert_eq!(exit_code(&Ok(Success::Changes)), 2);
        assert_eq!(exit_code(&Ok(Success::Deletes)), 3);
        for (class, code) in [
            (Class::User, 1),
            (Class::Environment, 1),
            (Class::Internal, 1),
            (Class::Interrupted, 130),
            (Class::Closed, 0),
        ] {
            assert_eq!(
                exit_code(&Err(CliError::new(class, "x"))),
                code,
                "{class:?}"
            );
        }
    }

    #[test]
    fn a_busy_tenant_names_the_lock_holder_when_known() {
        let busy = |holder: Option<&str>| -> CliError {
            Error::Store(StoreError::Busy {
                tenant: ferry::store::TenantUrl::parse("sqlite:t.db").unwrap(),
                action: "begin",
                holder: holder.map(Into::into),
            })
            .into()
        };
        let e = busy(Some("ci (apply 1a2b3c4d)"));
        assert_eq!(
            (e.class, e.message.as_str()),
            (
                Class::Environment,
                "tenant sqlite:t.db is busy: another process is writing to it (begin)"
            )
        );
        assert!(
            e.hints[0].starts_with("ci (apply 1a2b3c4d) holds the tenant's lock"),
            "{e:?}"
        );
        assert!(busy(None).hints[0].starts_with("another ferry"), "{e:?}");
    }

    #[test]
    fn an_interrupted_write_is_an_interrupt() {
        let e: CliError = Error::Store(StoreError::Cancelled).into();
        assert_eq!(e.class, Class::Interrupted);
    }
}
