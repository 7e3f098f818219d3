//! Making a folder a tenant repository (`ferry init`), and refreshing the copies of the built-in
//! kind schemas that editors validate object files against.

use std::path::Path;

use super::{git_error, io, Disk, RepoError, ENVIRONMENTS_DIR};
use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{BUILTIN_KINDS, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

/// Writes the built-in kind schemas into `schemas/kinds/` of the repository `disk` writes where they are missing or
/// differ, so editors validate object files against this ferry's kinds. Returns the paths
/// written, relative to `root`.
pub fn refresh_schemas(disk: &mut Disk) -> Result<Vec<String>, RepoError> {
    disk.create_dir(KINDS_DIR)?;
    let mut written = Vec::new();
    for (name, text) in BUILTIN_KINDS {
        let rel = format!("{KINDS_DIR}/{name}.schema.json");
        if disk.read(&rel).as_deref() != Some(text.as_bytes()) {
            disk.write(&rel, text.as_bytes())?;
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
    if git2::Repository::discover(root).is_err() {
        git2::Repository::init(root).map_err(git_error(root, "init"))?;
        report.git_initialized = true;
    }
    Ok(report)
}
