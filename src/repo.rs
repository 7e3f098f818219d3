//! The tenant repository, on disk and in git: the only module that uses git2.
//!
//! A [`Snapshot`] is what ferry reads from a repository: `ferry.toml`, every file under
//! `objects/` and the custom kind schemas. It comes from the working tree or, for a reproducible
//! read, from the git object database at a revision, without a checkout.

use std::path::{Path, PathBuf};

use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{Registry, BUILTIN_KINDS, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

/// The folder of per-environment files.
pub const ENVIRONMENTS_DIR: &str = "environments";

/// One file read from a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// The file's bytes (empty for a symbolic link).
    pub bytes: Vec<u8>,
    /// Whether it is a symbolic link rather than a file.
    pub symlink: bool,
}

/// Where to read a repository's files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The files on disk, as they are now.
    WorkTree,
    /// A git revision (branch, tag, commit id, `HEAD~2`, …), read from the object database.
    Revision(String),
}

/// The files of a repository that ferry reads.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// `ferry.toml`, if present.
    pub config: Option<SourceFile>,
    /// Every file under `objects/`, sorted by path.
    pub objects: Vec<SourceFile>,
    /// Every file under `schemas/kinds/`, sorted by path.
    pub kind_files: Vec<SourceFile>,
    /// The commit read, for [`Source::Revision`].
    pub commit: Option<String>,
}

/// A repository operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A file or folder could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A file name that is not UTF-8 cannot be an object's name.
    #[error("file name of {path} is not UTF-8: rename it (ferry names are Unicode text)")]
    NonUtf8Path {
        /// The file.
        path: PathBuf,
    },
    /// The folder is not inside a git repository.
    #[error("{path} is not in a git repository, so --ref cannot be read: run `git init` (or `ferry init`) and commit first")]
    NotGit {
        /// The folder.
        path: PathBuf,
    },
    /// The revision does not name a commit.
    #[error("git revision `{revision}` not found in {path}: {message}")]
    RevisionNotFound {
        /// The revision asked for.
        revision: String,
        /// The repository.
        path: PathBuf,
        /// What git said.
        message: String,
    },
    /// Another git failure.
    #[error("git: {action} in {path}: {source}")]
    Git {
        /// What was being done.
        action: &'static str,
        /// The repository.
        path: PathBuf,
        /// What git said.
        source: git2::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> RepoError + 'a {
    move |source| RepoError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the repository at `root` from `source`.
pub fn snapshot(root: &Path, source: &Source) -> Result<Snapshot, RepoError> {
    match source {
        Source::WorkTree => snapshot_worktree(root),
        Source::Revision(rev) => snapshot_revision(root, rev),
    }
}

fn snapshot_worktree(root: &Path) -> Result<Snapshot, RepoError> {
    let config_path = root.join(CONFIG_FILE);
    let config = match std::fs::read(&config_path) {
        Ok(bytes) => Some(SourceFile {
            path: CONFIG_FILE.into(),
            bytes,
            symlink: false,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("cannot read", &config_path)(e)),
    };
    let mut objects = Vec::new();
    walk(root, Path::new(OBJECTS_DIR), &mut objects)?;
    let mut kind_files = Vec::new();
    walk(root, Path::new(KINDS_DIR), &mut kind_files)?;
    objects.sort_by(|a, b| a.path.cmp(&b.path));
    kind_files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Snapshot {
        config,
        objects,
        kind_files,
        commit: None,
    })
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<SourceFile>) -> Result<(), RepoError> {
    let dir = root.join(rel);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("cannot read folder", &dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io("cannot read folder", &dir))?;
        let name = entry.file_name();
        let child = rel.join(&name);
        if name.to_str().is_none() {
            return Err(RepoError::NonUtf8Path {
                path: root.join(&child),
            });
        }
        let file_type = entry
            .file_type()
            .map_err(io("cannot read", &root.join(&child)))?;
        if file_type.is_dir() {
            walk(root, &child, out)?;
        } else if file_type.is_symlink() {
            out.push(SourceFile {
                path: slash_path(&child),
                bytes: Vec::new(),
                symlink: true,
            });
        } else if file_type.is_file() {
            let full = root.join(&child);
            let bytes = std::fs::read(&full).map_err(io("cannot read", &full))?;
            out.push(SourceFile {
                path: slash_path(&child),
                bytes,
                symlink: false,
            });
        }
    }
    Ok(())
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The folder of the git repository that holds `start` (its work tree, or the repository itself
/// when bare), if any.
pub fn git_root(start: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(start).ok()?;
    Some(repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf())
}

fn open(root: &Path) -> Result<git2::Repository, RepoError> {
    git2::Repository::discover(root).map_err(|_| RepoError::NotGit {
        path: root.to_path_buf(),
    })
}

fn snapshot_revision(root: &Path, revision: &str) -> Result<Snapshot, RepoError> {
    let repo = open(root)?;
    let git = |action| {
        move |source| RepoError::Git {
            action,
            path: root.to_path_buf(),
            source,
        }
    };
    let commit = repo
        .revparse_single(revision)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| RepoError::RevisionNotFound {
            revision: revision.to_string(),
            path: root.to_path_buf(),
            message: e.message().to_string(),
        })?;
    let tree = commit.tree().map_err(git("read tree"))?;
    // The ferry repository may be a sub-folder of the git work tree.
    let prefix = match repo.workdir() {
        Some(workdir) => {
            let workdir = workdir.canonicalize().map_err(io("cannot read", workdir))?;
            let root = root.canonicalize().map_err(io("cannot read", root))?;
            match root.strip_prefix(&workdir) {
                Ok(rel) => slash_path(rel),
                // A bare repository's folder, or its .git folder: read from the tree's root.
                Err(_) if repo.path().canonicalize().ok().as_deref() == Some(root.as_path()) => {
                    String::new()
                }
                Err(_) => {
                    return Err(RepoError::NotGit {
                        path: root.to_path_buf(),
                    })
                }
            }
        }
        None => String::new(),
    };
    let join = |rel: &str| {
        if prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{prefix}/{rel}")
        }
    };
    let read_blob = |entry: &git2::TreeEntry| -> Result<Vec<u8>, RepoError> {
        let blob = repo.find_blob(entry.id()).map_err(git("read blob"))?;
        Ok(blob.content().to_vec())
    };
    let config = match tree.get_path(Path::new(&join(CONFIG_FILE))) {
        Ok(entry) => Some(SourceFile {
            path: CONFIG_FILE.into(),
            bytes: read_blob(&entry)?,
            symlink: false,
        }),
        Err(_) => None,
    };
    let read_dir = |rel: &str| -> Result<Vec<SourceFile>, RepoError> {
        let mut out = Vec::new();
        let Ok(entry) = tree.get_path(Path::new(&join(rel))) else {
            return Ok(out);
        };
        let Ok(sub) = repo.find_tree(entry.id()) else {
            return Ok(out);
        };
        let mut failure = None;
        sub.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                let path = format!("{rel}/{dir}{}", String::from_utf8_lossy(entry.name_bytes()));
                if entry.filemode() == 0o120000 {
                    out.push(SourceFile {
                        path,
                        bytes: Vec::new(),
                        symlink: true,
                    });
                    return git2::TreeWalkResult::Ok;
                }
                match read_blob(entry) {
                    Ok(bytes) => out.push(SourceFile {
                        path,
                        bytes,
                        symlink: false,
                    }),
                    Err(e) => {
                        failure = Some(e);
                        return git2::TreeWalkResult::Abort;
                    }
                }
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(git("walk tree"))
        .or_else(|e| if failure.is_some() { Ok(()) } else { Err(e) })?;
        if let Some(e) = failure {
            return Err(e);
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    };
    let objects = read_dir(OBJECTS_DIR)?;
    let kind_files = read_dir(KINDS_DIR)?;
    Ok(Snapshot {
        config,
        objects,
        kind_files,
        commit: Some(commit.id().to_string()),
    })
}

/// The kind registry for a snapshot: the built-in kinds plus its custom kinds.
pub fn registry_for(snapshot: &Snapshot) -> Result<Registry, crate::kinds::KindError> {
    let custom = snapshot.kind_files.iter().filter_map(|f| {
        let name = f.path.rsplit('/').next()?.strip_suffix(".schema.json")?;
        Some((
            name.to_string(),
            String::from_utf8_lossy(&f.bytes).into_owned(),
            f.path.clone(),
        ))
    });
    Registry::with_custom(custom)
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
    let kinds_dir = root.join(KINDS_DIR);
    std::fs::create_dir_all(&kinds_dir).map_err(io("cannot create folder", &kinds_dir))?;
    for (name, text) in BUILTIN_KINDS {
        let rel = format!("{KINDS_DIR}/{name}.schema.json");
        let path = root.join(&rel);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
            std::fs::write(&path, text).map_err(io("cannot write", &path))?;
            report.created.push(rel);
        }
    }
    if git2::Repository::discover(root).is_err() {
        git2::Repository::init(root).map_err(|source| RepoError::Git {
            action: "init",
            path: root.to_path_buf(),
            source,
        })?;
        report.git_initialized = true;
    }
    Ok(report)
}
