//! Making a folder a tenant repository (`ferry init`), and refreshing the copies of the built-in
//! kind schemas that editors validate object files against.

use std::path::{Path, PathBuf};

use super::{git_error, io, Disk, RepoError, ENVIRONMENTS_DIR};
use crate::config::{Config, CONFIG_FILE};
use crate::desired::environment;
use crate::kinds::{BUILTIN_KINDS, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

/// Writes the built-in kind schemas into `schemas/kinds/` of the repository `disk` writes, and
/// the environment file schema to `schemas/environment.schema.json`, where they are missing or
/// differ, so editors validate object and environment files against this ferry's. Returns the
/// paths written, relative to `root`.
pub fn refresh_schemas(disk: &mut Disk) -> Result<Vec<String>, RepoError> {
    disk.create_dir(KINDS_DIR)?;
    let mut written = Vec::new();
    let environment = (environment::SCHEMA_PATH.to_string(), environment::SCHEMA);
    let kinds = BUILTIN_KINDS
        .iter()
        .map(|(name, text)| (format!("{KINDS_DIR}/{name}.schema.json"), *text));
    for (rel, text) in kinds.chain([environment]) {
        if disk.read(&rel).as_deref() != Some(text.as_bytes()) {
            disk.write(&rel, text.as_bytes())?;
            written.push(rel);
        }
    }
    Ok(written)
}

/// Whether `init` makes a git repository.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GitChoice {
    /// `git init` when the folder is in no git work tree; refused when it is inside another
    /// repository's work tree (the user chooses, with [`GitChoice::Nest`] or
    /// [`GitChoice::Enclosing`]), unless it is a tenant repository already.
    #[default]
    Auto,
    /// `--git`: a repository of the folder's own, nested in an enclosing one if there is one.
    Nest,
    /// `--no-git`: no `git init`; the folder belongs to the enclosing repository, if any.
    Enclosing,
}

/// The nearest folder from `dir` up that exists (`dir` itself may not yet).
fn existing_ancestor(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .find(|d| !d.as_os_str().is_empty() && d.is_dir())
}

/// The git repository whose work tree holds `dir` without `dir` being its top: its work tree
/// (the repository folder itself when bare). `None` when `dir` is the top of a work tree, or in
/// no repository.
pub fn enclosing_repository(dir: &Path) -> Option<PathBuf> {
    let start = existing_ancestor(dir).unwrap_or(Path::new("."));
    let repo = git2::Repository::discover(start).ok()?;
    let top = repo.workdir().unwrap_or_else(|| repo.path());
    let top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
    let here = dir.canonicalize().ok();
    (here.as_deref() != Some(top.as_path())).then_some(top)
}

/// What `init` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitReport {
    /// Files and folders created, relative to the root.
    pub created: Vec<String>,
    /// Whether a git repository was created.
    pub git_initialized: bool,
}

/// Makes `root` a tenant repository: `ferry.toml`, `objects/`, `environments/`, `.gitignore`,
/// the built-in kind schemas in `schemas/kinds/` and the environment schema (refreshed when
/// they differ), and `git init`
/// as `git` says. A folder inside another repository's work tree that is no tenant repository
/// yet is refused with [`GitChoice::Auto`], naming that repository, before anything is written.
/// Existing files other than the built-in schema copies are left as they are, so running it
/// again is harmless.
pub fn init(root: &Path, git: GitChoice) -> Result<InitReport, RepoError> {
    let enclosing = enclosing_repository(root);
    if let (GitChoice::Auto, Some(enclosing)) = (git, &enclosing) {
        // A tenant repository already: the choice was made when it was made.
        if !root.join(CONFIG_FILE).is_file() {
            return Err(RepoError::InsideRepository {
                path: root.to_path_buf(),
                enclosing: enclosing.clone(),
            });
        }
    }
    let mut report = InitReport::default();
    std::fs::create_dir_all(root).map_err(io("cannot create folder", root))?;
    let mut disk = Disk::new(root);
    let mut write_new = |rel: &str, text: &str, report: &mut InitReport| -> Result<(), RepoError> {
        // Anything there, a link included, is left as it is.
        if disk.exists(rel) {
            return Ok(());
        }
        disk.write(rel, text.as_bytes())?;
        report.created.push(rel.to_string());
        Ok(())
    };
    write_new(CONFIG_FILE, &Config::default().to_text(), &mut report)?;
    write_new(
        ".gitignore",
        "# ferry: never commit secret values or local tenants\n*.db\n*.db-wal\n*.db-shm\n.env\n*.secret\n",
        &mut report,
    )?;
    for dir in [OBJECTS_DIR, ENVIRONMENTS_DIR] {
        if disk.create_dir(dir)? {
            disk.write(&format!("{dir}/.gitkeep"), b"")?;
            report.created.push(format!("{dir}/"));
        }
    }
    report.created.extend(refresh_schemas(&mut disk)?);
    let in_a_repository = git2::Repository::discover(root).is_ok();
    let git_init = match git {
        GitChoice::Auto => !in_a_repository,
        GitChoice::Nest => enclosing.is_some() || !in_a_repository,
        GitChoice::Enclosing => false,
    };
    if git_init {
        git2::Repository::init(root).map_err(git_error(root, "init"))?;
        report.git_initialized = true;
    }
    Ok(report)
}
