//! Making a folder a tenant repository (`ferry init`), and refreshing the copies of the built-in
//! kind schemas that editors validate object files against.

use std::path::Path;

use super::{git_error, io, RepoError, ENVIRONMENTS_DIR};
use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{BUILTIN_KINDS, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

/// Writes the built-in kind schemas into `<root>/schemas/kinds/` where they are missing or
/// differ, so editors validate object files against this ferry's kinds. Returns the paths
/// written, relative to `root`.
pub fn refresh_schemas(root: &Path) -> Result<Vec<String>, RepoError> {
    let kinds_dir = root.join(KINDS_DIR);
    std::fs::create_dir_all(&kinds_dir).map_err(io("cannot create folder", &kinds_dir))?;
    let mut written = Vec::new();
    for (name, text) in BUILTIN_KINDS {
        let rel = format!("{KINDS_DIR}/{name}.schema.json");
        let path = root.join(&rel);
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            std::fs::write(&path, text).map_err(io("cannot write", &path))?;
            written.push(rel);
        }
    }
    Ok(written)
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
/// the built-in kind schemas in `schemas/kinds/` (refreshed when they differ), and `git init`
/// when the folder is not inside a git repository yet. Existing files other than the built-in
/// schema copies are left as they are, so running it again is harmless.
pub fn init(root: &Path) -> Result<InitReport, RepoError> {
    let mut report = InitReport::default();
    std::fs::create_dir_all(root).map_err(io("cannot create folder", root))?;
    let write_new = |rel: &str, text: &str, report: &mut InitReport| -> Result<(), RepoError> {
        let path = root.join(rel);
        if path.exists() {
            return Ok(());
        }
        std::fs::write(&path, text).map_err(io("cannot write", &path))?;
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
        let path = root.join(dir);
        if !path.exists() {
            std::fs::create_dir_all(&path).map_err(io("cannot create folder", &path))?;
            std::fs::write(path.join(".gitkeep"), "").map_err(io("cannot write", &path))?;
            report.created.push(format!("{dir}/"));
        }
    }
    report.created.extend(refresh_schemas(root)?);
    if git2::Repository::discover(root).is_err() {
        git2::Repository::init(root).map_err(git_error(root, "init"))?;
        report.git_initialized = true;
    }
    Ok(report)
}
