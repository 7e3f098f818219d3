//! The tenant repository, on disk and in git: the only module that uses git2.
//!
//! ferry reads a repository as a [`Snapshot`] (`snapshot.rs`: `ferry.toml`, the object files and
//! the custom kind schemas, from the working tree or from git at a revision without a checkout),
//! lists the object files that changed between two revisions (`changes.rs`:
//! [`changed_files`]), commits the files an export wrote (`commit.rs`: [`Staging`], with the
//! trees in `tree.rs` and the pack in `pack.rs`), says what is uncommitted under `objects/`
//! (`status.rs`: [`uncommitted_objects`]), and makes a new repository (`init.rs`: [`init()`]).
//! This file holds what they share: where to read from ([`Source`]), a file read
//! ([`SourceFile`]), the error type, and the helpers that find the git repository and the ferry
//! repository's place in it.

use std::path::{Path, PathBuf};

mod changes;
mod commit;
mod disk;
mod init;
mod pack;
mod snapshot;
mod status;
mod tree;

pub use changes::{changed_files, ChangedFile, ChangedFiles};
pub use commit::{commit_files, Staging};
pub use disk::Disk;
pub use init::{enclosing_repository, init, refresh_schemas, GitChoice, InitReport};
pub use snapshot::{
    blob_key, registry_for, snapshot, snapshot_at, snapshot_kinds, snapshot_without_objects,
    BlobKey, Snapshot,
};
pub use status::{commit_id, uncommitted_objects, FileState, Uncommitted};

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

impl SourceFile {
    /// A file at `path` (relative, `/`-separated) with its bytes, or a link when `symlink`.
    pub fn new(path: &str, bytes: Vec<u8>, symlink: bool) -> Self {
        SourceFile {
            path: path.to_string(),
            bytes,
            symlink,
        }
    }
}

/// Where to read a repository's files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The files on disk, as they are now.
    WorkTree,
    /// A git revision (branch, tag, commit id, `HEAD~2`, …), read from the object database.
    Revision(String),
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
    /// ferry never writes through a symbolic link nor into a folder reached through one.
    #[error("{path} is a symbolic link: ferry never writes through a link or into a folder reached through one; replace it with a real folder or file (or remove it) and run again")]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A folder was expected and something else is there.
    #[error("{path} is not a folder: move it out of the way and run again")]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A file was expected and something else (a folder, a FIFO, a device) is there.
    #[error("{path} is not a regular file: move it out of the way and run again")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A path that would leave the repository.
    #[error("{path} is outside the repository: ferry writes only inside it")]
    OutsideRepository {
        /// The path.
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
    /// `ferry init` in a folder inside another git repository's work tree, without saying
    /// whether the tenant repository is part of it.
    #[error("{path} is inside the git repository {enclosing}: say whether the tenant repository belongs to it (--no-git) or gets a repository of its own (--git)")]
    InsideRepository {
        /// The folder.
        path: PathBuf,
        /// The enclosing repository's work tree.
        enclosing: PathBuf,
    },
    /// Another ferry is committing in the same repository.
    #[error("another ferry (process {pid}) is committing in {path}: wait for it to finish and run again")]
    Committing {
        /// The repository.
        path: PathBuf,
        /// Its process.
        pid: u32,
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
    // libgit2 hashes every object it reads again to check its id; git itself does not (the
    // pack's checksums cover the bytes). In a folder of 100,000 object files that is one
    // multi-megabyte tree hashed on every read: the whole cost of a small incremental package.
    static NO_REHASH: std::sync::Once = std::sync::Once::new();
    NO_REHASH.call_once(|| git2::opts::strict_hash_verification(false));
    git2::Repository::discover(root).map_err(|_| RepoError::NotGit {
        path: root.to_path_buf(),
    })
}

fn git_error<'a>(
    root: &'a Path,
    action: &'static str,
) -> impl FnOnce(git2::Error) -> RepoError + 'a {
    move |source| RepoError::Git {
        action,
        path: root.to_path_buf(),
        source,
    }
}

/// The commit `revision` names, its tree, and where the repository at `root` sits in the git
/// work tree; `None` when the revision names no commit.
fn commit_tree<'r>(
    repo: &'r git2::Repository,
    root: &Path,
    revision: &str,
) -> Result<Option<(git2::Commit<'r>, git2::Tree<'r>, String)>, RepoError> {
    let prefix = prefix_in(repo, root)?;
    let Ok(commit) = repo
        .revparse_single(revision)
        .and_then(|o| o.peel_to_commit())
    else {
        return Ok(None);
    };
    let tree = commit.tree().map_err(git_error(root, "read tree"))?;
    Ok(Some((commit, tree, prefix)))
}

/// The id of the commit `revision` names in the repository at `root`, and the tree id of the
/// repository's `objects/` folder in it (`None` when it has none); `None` when the revision
/// names no commit there.
pub fn objects_tree(
    root: &Path,
    revision: &str,
) -> Result<Option<(String, Option<String>)>, RepoError> {
    let repo = open(root)?;
    let Some((commit, tree, prefix)) = commit_tree(&repo, root, revision)? else {
        return Ok(None);
    };
    let objects = join_prefix(&prefix, crate::model::path::OBJECTS_DIR);
    let id = tree
        .get_path(Path::new(&objects))
        .ok()
        .map(|e| e.id().to_string());
    Ok(Some((commit.id().to_string(), id)))
}

/// What the objects of `revision` are, for the promotion gate ([`crate::store::Content`]): the
/// tree id of its `objects/`, and a digest of its custom kind schemas (blake3 over each file
/// name under `schemas/kinds/` that is not a built-in kind's copy, a NUL, its blob id and a
/// newline, in name order; `None` when there are none). `None` when the revision is not a
/// commit or has no `objects/`.
pub fn content(root: &Path, revision: &str) -> Result<Option<crate::store::Content>, RepoError> {
    let repo = open(root)?;
    let Some((_, tree, prefix)) = commit_tree(&repo, root, revision)? else {
        return Ok(None);
    };
    let objects = join_prefix(&prefix, crate::model::path::OBJECTS_DIR);
    let Ok(objects) = tree.get_path(Path::new(&objects)) else {
        return Ok(None);
    };
    let kinds = join_prefix(&prefix, crate::kinds::KINDS_DIR);
    let mut custom: Vec<(String, String)> = Vec::new();
    if let Some(dir) = tree
        .get_path(Path::new(&kinds))
        .ok()
        .and_then(|e| repo.find_tree(e.id()).ok())
    {
        for entry in dir.iter() {
            let Ok(name) = entry.name() else { continue };
            let builtin = name.strip_suffix(".schema.json").is_some_and(|kind| {
                crate::kinds::BUILTIN_KINDS
                    .iter()
                    .any(|(builtin, _)| *builtin == kind)
            });
            if !builtin && entry.kind() == Some(git2::ObjectType::Blob) {
                custom.push((name.to_string(), entry.id().to_string()));
            }
        }
    }
    custom.sort();
    let custom_kinds = (!custom.is_empty()).then(|| {
        let mut hasher = blake3::Hasher::new();
        for (name, blob) in &custom {
            hasher.update(name.as_bytes());
            hasher.update(b"\0");
            hasher.update(blob.as_bytes());
            hasher.update(b"\n");
        }
        hasher.finalize().to_hex().to_string()
    });
    Ok(Some(crate::store::Content {
        objects_tree: objects.id().to_string(),
        custom_kinds,
    }))
}

/// Whether the repository holding `root` has a commit at HEAD.
pub fn has_head(root: &Path) -> bool {
    open(root).is_ok_and(|r| r.head().is_ok_and(|h| h.peel_to_commit().is_ok()))
}

/// Where the repository at `root` sits inside the git work tree, `/`-separated (`""` at the top,
/// and for a bare repository).
fn prefix_in(repo: &git2::Repository, root: &Path) -> Result<String, RepoError> {
    let Some(workdir) = repo.workdir() else {
        return Ok(String::new());
    };
    let workdir = workdir.canonicalize().map_err(io("cannot read", workdir))?;
    let canonical_root = root.canonicalize().map_err(io("cannot read", root))?;
    match canonical_root.strip_prefix(&workdir) {
        Ok(rel) => Ok(slash_path(rel)),
        Err(_) if repo.path().canonicalize().ok().as_deref() == Some(canonical_root.as_path()) => {
            Ok(String::new())
        }
        Err(_) => Err(RepoError::NotGit {
            path: root.to_path_buf(),
        }),
    }
}

fn join_prefix(prefix: &str, rel: &str) -> String {
    if prefix.is_empty() {
        rel.to_string()
    } else {
        format!("{prefix}/{rel}")
    }
}

/// The tree and commit id a revision names.
fn revision_tree<'r>(
    repo: &'r git2::Repository,
    root: &Path,
    revision: &str,
) -> Result<(git2::Tree<'r>, String), RepoError> {
    let commit = repo
        .revparse_single(revision)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| RepoError::RevisionNotFound {
            revision: revision.to_string(),
            path: root.to_path_buf(),
            message: e.message().to_string(),
        })?;
    let tree = commit.tree().map_err(git_error(root, "read tree"))?;
    Ok((tree, commit.id().to_string()))
}

/// The files of `environments/` (`NAME.toml` only, not below), as (name, bytes) sorted by name:
/// at `revision` from the git object database, or from the working tree when `None`. A link in
/// the working tree is not followed (it is left out, as git would store it as a link).
pub fn environment_files(
    root: &Path,
    revision: Option<&str>,
) -> Result<Vec<(String, Vec<u8>)>, RepoError> {
    let mut out = Vec::new();
    match revision {
        Some(revision) => {
            let repo = open(root)?;
            let prefix = prefix_in(&repo, root)?;
            let (tree, _) = revision_tree(&repo, root, revision)?;
            let Ok(entry) = tree.get_path(Path::new(&join_prefix(&prefix, ENVIRONMENTS_DIR)))
            else {
                return Ok(out);
            };
            let Ok(dir) = repo.find_tree(entry.id()) else {
                return Ok(out);
            };
            for e in dir.iter() {
                let Some(name) = e.name().ok().and_then(|n| n.strip_suffix(".toml")) else {
                    continue;
                };
                if e.kind() != Some(git2::ObjectType::Blob) || e.filemode() == 0o120000 {
                    continue;
                }
                let blob = repo
                    .find_blob(e.id())
                    .map_err(git_error(root, "read blob"))?;
                out.push((name.to_string(), blob.content().to_vec()));
            }
        }
        None => {
            let dir = root.join(ENVIRONMENTS_DIR);
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(io("cannot read", &dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(io("cannot read", &dir))?;
                let file_name = entry.file_name();
                let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".toml")) else {
                    continue;
                };
                let kind = entry
                    .file_type()
                    .map_err(io("cannot read", &entry.path()))?;
                if !kind.is_file() {
                    continue;
                }
                let bytes =
                    std::fs::read(entry.path()).map_err(io("cannot read", &entry.path()))?;
                out.push((name.to_string(), bytes));
            }
        }
    }
    out.sort();
    Ok(out)
}
