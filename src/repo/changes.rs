//! The object files that changed between two [`Source`]s, with their content on each side: a git
//! tree diff limited to `objects/`, so only the blobs of changed files are read.

use std::path::Path;

use super::{
    git_error, io, join_prefix, open, prefix_in, revision_tree, RepoError, Source, SourceFile,
};
use crate::kinds::{BUILTIN_KINDS, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

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
    let git = |action| git_error(root, action);
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
        let read_side = |file: git2::DiffFile, in_workdir: bool, blobs_read: &mut usize| {
            if in_workdir {
                read_workdir_file(workdir.as_deref(), root, git_path, &path, blobs_read)
            } else {
                read_blob_file(&repo, root, &file, &path, blobs_read)
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

/// One side of a changed file in the working tree (`workdir`, where `git_path` is): its bytes,
/// or `None` when it is not a file there (gone, or a folder).
fn read_workdir_file(
    workdir: Option<&Path>,
    root: &Path,
    git_path: &str,
    path: &str,
    blobs_read: &mut usize,
) -> Result<Option<SourceFile>, RepoError> {
    let found = |bytes, symlink| Some(SourceFile::new(path, bytes, symlink));
    let Some(workdir) = workdir else {
        return Err(RepoError::NotGit {
            path: root.to_path_buf(),
        });
    };
    let full = workdir.join(git_path);
    match std::fs::symlink_metadata(&full) {
        Ok(meta) if meta.file_type().is_symlink() => Ok(found(Vec::new(), true)),
        Ok(meta) if meta.is_file() => {
            let bytes = std::fs::read(&full).map_err(io("cannot read", &full))?;
            *blobs_read += 1;
            Ok(found(bytes, false))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", &full)(e)),
    }
}

/// One side of a changed file in a git tree: its blob, or `None` when it is not a file (a
/// submodule or a folder).
fn read_blob_file(
    repo: &git2::Repository,
    root: &Path,
    file: &git2::DiffFile,
    path: &str,
    blobs_read: &mut usize,
) -> Result<Option<SourceFile>, RepoError> {
    let found = |bytes, symlink| Some(SourceFile::new(path, bytes, symlink));
    match file.mode() {
        git2::FileMode::Link => Ok(found(Vec::new(), true)),
        git2::FileMode::Blob | git2::FileMode::BlobExecutable => {
            let blob = repo
                .find_blob(file.id())
                .map_err(git_error(root, "read blob"))?;
            *blobs_read += 1;
            Ok(found(blob.content().to_vec(), false))
        }
        // A submodule or a folder: not an object file.
        _ => Ok(None),
    }
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
                    .map_err(git_error(root, "read blob"))?;
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
