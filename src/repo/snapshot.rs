//! Reading a repository as a [`Snapshot`]: `ferry.toml`, every file under `objects/` and the
//! custom kind schemas, from the working tree or, for a reproducible read, from the git object
//! database at a revision, without a checkout; and the kind registry a snapshot's schemas make.

use std::path::Path;

use super::{
    git_error, io, join_prefix, open, prefix_in, revision_tree, slash_path, RepoError, Source,
    SourceFile,
};
use crate::config::CONFIG_FILE;
use crate::kinds::{Registry, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

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

/// Reads the repository at `root` from `source`.
pub fn snapshot(root: &Path, source: &Source) -> Result<Snapshot, RepoError> {
    match source {
        Source::WorkTree => snapshot_worktree(root),
        Source::Revision(rev) => snapshot_revision(root, rev),
    }
}

fn snapshot_worktree(root: &Path) -> Result<Snapshot, RepoError> {
    worktree(root, true)
}

/// The working tree's `ferry.toml` and kind schemas, without its object files: what a command
/// that needs only the kind registry reads (a repository may hold 100,000 object files).
pub fn snapshot_kinds(root: &Path) -> Result<Snapshot, RepoError> {
    worktree(root, false)
}

fn worktree(root: &Path, with_objects: bool) -> Result<Snapshot, RepoError> {
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
    if with_objects {
        walk(root, Path::new(OBJECTS_DIR), &mut objects)?;
    }
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
    snapshot_of(root, revision, Some(skip))
}

/// The repository at a revision without its object files: `ferry.toml`, the kind schemas and
/// the commit id, without listing `objects/` (what an incremental package needs besides the
/// changed files, at a cost that does not grow with the repository).
pub fn snapshot_without_objects(root: &Path, revision: &str) -> Result<Snapshot, RepoError> {
    snapshot_of(root, revision, None)
}

/// Which object files [`snapshot_at`] leaves unread, given each file's path and blob id.
type Skip<'a> = dyn Fn(&str, &BlobKey) -> bool + 'a;

/// [`snapshot_at`], or with `skip` `None` [`snapshot_without_objects`].
fn snapshot_of(
    root: &Path,
    revision: &str,
    skip: Option<&Skip<'_>>,
) -> Result<Snapshot, RepoError> {
    let repo = open(root)?;
    let git = |action| git_error(root, action);
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
                if may_skip && skip.is_some_and(|skip| skip(&path, &key)) {
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
    let objects = match skip {
        Some(_) => read_dir(OBJECTS_DIR, true)?,
        None => Vec::new(),
    };
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
