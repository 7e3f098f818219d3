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
    /// Object files not read (see [`snapshot_at`]): (path, git blob id as [`BlobKey`]), sorted.
    pub skipped: Vec<(String, BlobKey)>,
    /// The git blob id of every object file read from a revision, by path.
    pub blobs: std::collections::HashMap<String, String>,
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
        skipped: Vec::new(),
        blobs: Default::default(),
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
    snapshot_at(root, revision, &|_, _| false)
}

/// A git object id as its 20 raw bytes: what [`snapshot_at`] compares blobs by, without
/// writing 100,000 ids out in hex.
pub type BlobKey = [u8; 20];

/// The [`BlobKey`] of a blob id written in hex; `None` if it is not one.
pub fn blob_key(hex: &str) -> Option<BlobKey> {
    git2::Oid::from_str(hex)
        .ok()
        .and_then(|id| id.as_bytes().try_into().ok())
}

/// The repository at a revision, reading only the object files `skip` (given each file's path
/// and git blob id) does not skip; skipped files are listed in [`Snapshot::skipped`]. Every
/// object file read has its blob id in [`Snapshot::blobs`].
pub fn snapshot_at(
    root: &Path,
    revision: &str,
    skip: &dyn Fn(&str, &BlobKey) -> bool,
) -> Result<Snapshot, RepoError> {
    let repo = open(root)?;
    let git = |action| {
        move |source| RepoError::Git {
            action,
            path: root.to_path_buf(),
            source,
        }
    };
    let (tree, commit_id) = revision_tree(&repo, root, revision)?;
    // The ferry repository may be a sub-folder of the git work tree.
    let prefix = prefix_in(&repo, root)?;
    let join = |rel: &str| join_prefix(&prefix, rel);
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
    let skipped = std::cell::RefCell::new(Vec::new());
    let blobs = std::cell::RefCell::new(std::collections::HashMap::new());
    let read_dir = |rel: &str, may_skip: bool| -> Result<Vec<SourceFile>, RepoError> {
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
                let key: BlobKey = entry
                    .id()
                    .as_bytes()
                    .try_into()
                    .expect("git object ids are 20 bytes");
                if may_skip && skip(&path, &key) {
                    skipped.borrow_mut().push((path, key));
                    return git2::TreeWalkResult::Ok;
                }
                if may_skip {
                    blobs
                        .borrow_mut()
                        .insert(path.clone(), entry.id().to_string());
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
    let objects = read_dir(OBJECTS_DIR, true)?;
    let kind_files = read_dir(KINDS_DIR, false)?;
    let mut skipped = skipped.into_inner();
    skipped.sort();
    Ok(Snapshot {
        config,
        objects,
        kind_files,
        commit: Some(commit_id),
        skipped,
        blobs: blobs.into_inner(),
    })
}

/// Commits exactly the given files of the ferry repository at `root` on top of HEAD (or as the
/// first commit), leaving anything else staged or changed in the work tree out of the commit.
/// `written` are paths (relative to `root`) whose current content is committed, `removed` are
/// paths deleted. Returns the new commit id, or `None` when the tree would not change.
pub fn commit_files(
    root: &Path,
    written: &[String],
    removed: &[String],
    message: &str,
) -> Result<Option<String>, RepoError> {
    let repo = open(root)?;
    let git = |action| {
        move |source| RepoError::Git {
            action,
            path: root.to_path_buf(),
            source,
        }
    };
    if repo.workdir().is_none() {
        return Err(RepoError::NotGit {
            path: root.to_path_buf(),
        });
    }
    let prefix = prefix_in(&repo, root)?;
    let in_repo = |rel: &str| join_prefix(&prefix, rel);
    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit().map_err(git("read HEAD"))?),
        Err(_) => None,
    };
    // A scratch index holding HEAD's tree plus these changes only.
    let mut scratch = git2::Index::new().map_err(git("make an index"))?;
    if let Some(parent) = &parent {
        scratch
            .read_tree(&parent.tree().map_err(git("read tree"))?)
            .map_err(git("read tree"))?;
    }
    let mut real = repo.index().map_err(git("read index"))?;
    for rel in written {
        let full = root.join(rel);
        let bytes = std::fs::read(&full).map_err(io("cannot read", &full))?;
        let id = repo.blob(&bytes).map_err(git("write blob"))?;
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: bytes.len() as u32,
            id,
            flags: 0,
            flags_extended: 0,
            path: in_repo(rel).into_bytes(),
        };
        scratch.add(&entry).map_err(git("stage"))?;
        real.add_path(Path::new(&in_repo(rel)))
            .map_err(git("stage"))?;
    }
    for rel in removed {
        let path = in_repo(rel);
        let _ = scratch.remove_path(Path::new(&path));
        let _ = real.remove_path(Path::new(&path));
    }
    let tree_id = scratch.write_tree_to(&repo).map_err(git("write tree"))?;
    if parent.as_ref().is_some_and(|p| p.tree_id() == tree_id) {
        real.write().map_err(git("write index"))?;
        return Ok(None);
    }
    let tree = repo.find_tree(tree_id).map_err(git("read tree"))?;
    let signature = repo
        .signature()
        .or_else(|_| git2::Signature::now("ferry", "ferry@localhost"))
        .map_err(git("make a signature"))?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let id = repo
        .commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )
        .map_err(git("commit"))?;
    real.write().map_err(git("write index"))?;
    Ok(Some(id.to_string()))
}

/// Whether the repository holding `root` has a commit at HEAD.
pub fn has_head(root: &Path) -> bool {
    open(root).is_ok_and(|r| r.head().is_ok_and(|h| h.peel_to_commit().is_ok()))
}

/// The git blob id of some bytes, as git computes it (SHA-1 over `blob <len>\0` and the bytes).
pub fn blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .map(|o| o.to_string())
        .unwrap_or_default()
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
        git2::Repository::init(root).map_err(|source| RepoError::Git {
            action: "init",
            path: root.to_path_buf(),
            source,
        })?;
        report.git_initialized = true;
    }
    Ok(report)
}

/// One file under `objects/` that differs between two [`Source`]s, with its content on each
/// side. Renames are not detected here: a moved file is one change that removes the old path
/// and one that adds the new path; objects are matched by GUID later, in [`crate::diff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// The file at the old side (`None` when it did not exist there).
    pub old: Option<SourceFile>,
    /// The file at the new side (`None` when it does not exist there).
    pub new: Option<SourceFile>,
}

/// The object files that changed between two [`Source`]s, and what was read to find them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedFiles {
    /// The old side's commit id (`None`: the working tree).
    pub from: Option<String>,
    /// The new side's commit id (`None`: the working tree).
    pub to: Option<String>,
    /// Every changed path under `objects/`, sorted by path.
    pub files: Vec<ChangedFile>,
    /// The custom kind schemas (files of `schemas/kinds/` not named like a built-in kind) at the
    /// old side, sorted by path.
    pub old_kind_files: Vec<SourceFile>,
    /// The custom kind schemas at the new side, sorted by path.
    pub new_kind_files: Vec<SourceFile>,
    /// How many file contents were read (git blobs and working-tree files): the cost of the
    /// diff, which follows the number of changed files, not the size of the repository.
    pub blobs_read: usize,
}

/// The files under `objects/` that differ between `from` and `to`, with the old and new bytes of
/// each: a git tree-to-tree diff (tree-to-working-tree, untracked files included, when one side
/// is [`Source::WorkTree`]) limited to the repository's `objects/` folder, so only the blobs of
/// changed files are read. `root` may be a sub-folder of the git work tree.
pub fn changed_files(root: &Path, from: &Source, to: &Source) -> Result<ChangedFiles, RepoError> {
    let repo = open(root)?;
    let prefix = prefix_in(&repo, root)?;
    let mut blobs_read = 0;
    let (from_tree, from_commit) = match from {
        Source::WorkTree => (None, None),
        Source::Revision(rev) => {
            let (tree, id) = revision_tree(&repo, root, rev)?;
            (Some(tree), Some(id))
        }
    };
    let (to_tree, to_commit) = match to {
        Source::WorkTree => (None, None),
        Source::Revision(rev) => {
            let (tree, id) = revision_tree(&repo, root, rev)?;
            (Some(tree), Some(id))
        }
    };
    let mut changed = ChangedFiles {
        from: from_commit,
        to: to_commit,
        ..ChangedFiles::default()
    };
    changed.old_kind_files =
        custom_kind_files(&repo, root, &prefix, from_tree.as_ref(), &mut blobs_read)?;
    changed.new_kind_files =
        custom_kind_files(&repo, root, &prefix, to_tree.as_ref(), &mut blobs_read)?;
    // git diffs a tree against the working tree only in that direction: swap the sides after.
    let (old_tree, new_tree, swapped) = match (from_tree, to_tree) {
        (None, None) => {
            changed.blobs_read = blobs_read;
            return Ok(changed);
        }
        (None, Some(tree)) => (Some(tree), None, true),
        (old, new) => (old, new, false),
    };
    let git = |action| {
        move |source| RepoError::Git {
            action,
            path: root.to_path_buf(),
            source,
        }
    };
    let mut opts = git2::DiffOptions::new();
    opts.pathspec(format!("{}/", join_prefix(&prefix, OBJECTS_DIR)))
        .disable_pathspec_match(true)
        .include_typechange(true)
        .ignore_submodules(true);
    let diff = match &new_tree {
        Some(new) => repo
            .diff_tree_to_tree(old_tree.as_ref(), Some(new), Some(&mut opts))
            .map_err(git("diff trees"))?,
        None => {
            opts.include_untracked(true).recurse_untracked_dirs(true);
            repo.diff_tree_to_workdir_with_index(old_tree.as_ref(), Some(&mut opts))
                .map_err(git("diff the working tree"))?
        }
    };
    let workdir = repo.workdir().map(Path::to_path_buf);
    for delta in diff.deltas() {
        let git_path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .unwrap_or_else(|| Path::new(""));
        let Some(git_path) = git_path.to_str() else {
            return Err(RepoError::NonUtf8Path {
                path: root.join(git_path),
            });
        };
        let path = match prefix.as_str() {
            "" => git_path.to_string(),
            prefix => match git_path
                .strip_prefix(prefix)
                .and_then(|p| p.strip_prefix('/'))
            {
                Some(rel) => rel.to_string(),
                None => continue,
            },
        };
        let status = delta.status();
        let read_side = |file: git2::DiffFile,
                         in_workdir: bool,
                         blobs_read: &mut usize|
         -> Result<Option<SourceFile>, RepoError> {
            let found = |bytes, symlink| {
                Some(SourceFile {
                    path: path.clone(),
                    bytes,
                    symlink,
                })
            };
            if in_workdir {
                let Some(workdir) = &workdir else {
                    return Err(RepoError::NotGit {
                        path: root.to_path_buf(),
                    });
                };
                let full = workdir.join(git_path);
                return match std::fs::symlink_metadata(&full) {
                    Ok(meta) if meta.file_type().is_symlink() => Ok(found(Vec::new(), true)),
                    Ok(meta) if meta.is_file() => {
                        let bytes = std::fs::read(&full).map_err(io("cannot read", &full))?;
                        *blobs_read += 1;
                        Ok(found(bytes, false))
                    }
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io("cannot read", &full)(e)),
                };
            }
            match file.mode() {
                git2::FileMode::Link => Ok(found(Vec::new(), true)),
                git2::FileMode::Blob | git2::FileMode::BlobExecutable => {
                    let blob = repo.find_blob(file.id()).map_err(git("read blob"))?;
                    *blobs_read += 1;
                    Ok(found(blob.content().to_vec(), false))
                }
                // A submodule or a folder: not an object file.
                _ => Ok(None),
            }
        };
        let old = match status {
            git2::Delta::Added | git2::Delta::Untracked => None,
            _ => read_side(delta.old_file(), false, &mut blobs_read)?,
        };
        let new = match status {
            git2::Delta::Deleted => None,
            _ => read_side(delta.new_file(), new_tree.is_none(), &mut blobs_read)?,
        };
        if old.is_none() && new.is_none() {
            continue;
        }
        let (old, new) = if swapped { (new, old) } else { (old, new) };
        changed.files.push(ChangedFile { path, old, new });
    }
    changed.files.sort_by(|a, b| a.path.cmp(&b.path));
    changed.blobs_read = blobs_read;
    Ok(changed)
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
    let tree = commit.tree().map_err(|source| RepoError::Git {
        action: "read tree",
        path: root.to_path_buf(),
        source,
    })?;
    Ok((tree, commit.id().to_string()))
}

/// The custom kind schemas of a tree (`None`: the working tree): the `*.schema.json` files of
/// `schemas/kinds/` that are not named like a built-in kind (those are editor copies, never read).
fn custom_kind_files(
    repo: &git2::Repository,
    root: &Path,
    prefix: &str,
    tree: Option<&git2::Tree>,
    blobs_read: &mut usize,
) -> Result<Vec<SourceFile>, RepoError> {
    let is_custom = |name: &str| {
        name.strip_suffix(".schema.json")
            .is_some_and(|kind| !BUILTIN_KINDS.iter().any(|(builtin, _)| *builtin == kind))
    };
    let mut out = Vec::new();
    match tree {
        None => {
            let dir = root.join(KINDS_DIR);
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(io("cannot read folder", &dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(io("cannot read folder", &dir))?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let full = entry.path();
                if !is_custom(&name) || !full.is_file() {
                    continue;
                }
                let bytes = std::fs::read(&full).map_err(io("cannot read", &full))?;
                *blobs_read += 1;
                out.push(SourceFile {
                    path: format!("{KINDS_DIR}/{name}"),
                    bytes,
                    symlink: false,
                });
            }
        }
        Some(tree) => {
            let Ok(entry) = tree.get_path(Path::new(&join_prefix(prefix, KINDS_DIR))) else {
                return Ok(out);
            };
            let Ok(dir) = repo.find_tree(entry.id()) else {
                return Ok(out);
            };
            for entry in dir.iter() {
                let Ok(name) = entry.name() else { continue };
                if !is_custom(name) || entry.kind() != Some(git2::ObjectType::Blob) {
                    continue;
                }
                let blob = repo
                    .find_blob(entry.id())
                    .map_err(|source| RepoError::Git {
                        action: "read blob",
                        path: root.to_path_buf(),
                        source,
                    })?;
                *blobs_read += 1;
                out.push(SourceFile {
                    path: format!("{KINDS_DIR}/{name}"),
                    bytes: blob.content().to_vec(),
                    symlink: false,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
