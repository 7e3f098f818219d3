//! The uncommitted changes under `objects/`: what `git status` says of the repository's object
//! files, so that `plan` (which reads a commit) and `validate` (which reads the working tree) can
//! say what they did not see. A status limited to the `objects/` pathspec, untracked folders
//! reported as one entry (as `git status` does by default), no rename detection (a moved file is
//! a deletion and an addition), submodules and ignored files left out: its cost is a `stat` of
//! each tracked object file and a walk of HEAD's `objects/` tree, never a read of a file git's
//! index says is unchanged.

use std::path::Path;

use super::{git_error, join_prefix, prefix_in, RepoError};
use crate::model::path::OBJECTS_DIR;

/// How a path under `objects/` differs from HEAD, in the order changes are listed (changes to
/// committed files first, new files last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileState {
    /// Changed (in the index, the working tree or both), or changed type.
    Modified,
    /// In HEAD, gone from the working tree or the index.
    Deleted,
    /// Not in HEAD (untracked, or staged as new). An untracked folder is one entry.
    Added,
}

impl FileState {
    /// The word `git status` would use.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Added => "added",
            FileState::Modified => "modified",
            FileState::Deleted => "deleted",
        }
    }
}

/// The uncommitted changes under the repository's `objects/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uncommitted {
    /// HEAD's commit id (`None` before the first commit).
    pub head: Option<String>,
    /// Each changed path, relative to the repository root and `/`-separated (an untracked
    /// folder ends in `/`), sorted by state, then path.
    pub changes: Vec<(FileState, String)>,
}

/// The uncommitted changes under `objects/` of the repository at `root` (which may be a folder
/// inside a larger git work tree); `None` when `root` is in no git work tree.
pub fn uncommitted_objects(root: &Path) -> Result<Option<Uncommitted>, RepoError> {
    let Ok(repo) = git2::Repository::discover(root) else {
        return Ok(None);
    };
    if repo.is_bare() {
        return Ok(None);
    }
    let prefix = prefix_in(&repo, root)?;
    let objects = join_prefix(&prefix, OBJECTS_DIR);
    let mut opts = git2::StatusOptions::new();
    opts.pathspec(format!("{objects}/"))
        .disable_pathspec_match(true)
        .include_untracked(true)
        .recurse_untracked_dirs(false)
        .include_ignored(false)
        .exclude_submodules(true);
    let started = std::time::Instant::now();
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_error(root, "read the status of objects/"))?;
    tracing::debug!(
        entries = statuses.len(),
        ms = started.elapsed().as_millis() as u64,
        "read the git status of objects/"
    );
    let mut changes = Vec::new();
    for entry in statuses.iter() {
        let status = entry.status();
        let state = if status.intersects(git2::Status::WT_NEW | git2::Status::INDEX_NEW) {
            FileState::Added
        } else if status.intersects(git2::Status::WT_DELETED | git2::Status::INDEX_DELETED) {
            FileState::Deleted
        } else if status.intersects(
            git2::Status::WT_MODIFIED
                | git2::Status::INDEX_MODIFIED
                | git2::Status::WT_TYPECHANGE
                | git2::Status::INDEX_TYPECHANGE
                | git2::Status::CONFLICTED,
        ) {
            FileState::Modified
        } else {
            continue;
        };
        let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
        let rel = match prefix.as_str() {
            "" => path,
            prefix => match path.strip_prefix(prefix).and_then(|p| p.strip_prefix('/')) {
                Some(rel) => rel.to_string(),
                None => continue,
            },
        };
        changes.push((state, rel));
    }
    changes.sort();
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string());
    Ok(Some(Uncommitted { head, changes }))
}

/// The commit id `revision` names in the repository holding `root`, if it names one.
pub fn commit_id(root: &Path, revision: &str) -> Option<String> {
    let repo = git2::Repository::discover(root).ok()?;
    let commit = repo.revparse_single(revision).ok()?.peel_to_commit().ok()?;
    Some(commit.id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_all(repo: &git2::Repository) {
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
            .unwrap();
    }

    #[test]
    fn the_status_names_object_changes_only_relative_to_the_tenant_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let root = dir.path().join("platform/retail");
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("objects/global/project/a.toml", "a");
        write("objects/global/project/b.toml", "b");
        write("ferry.toml", "x");
        commit_all(&repo);
        let status = uncommitted_objects(&root).unwrap().unwrap();
        assert_eq!(status.changes, []);
        assert!(status.head.is_some());

        write("objects/global/project/a.toml", "changed");
        std::fs::remove_file(root.join("objects/global/project/b.toml")).unwrap();
        write("objects/global/data_source/new/one.toml", "n");
        write("objects/global/project/c.toml", "c");
        write("ferry.toml", "changed, but not an object");
        write("elsewhere.txt", "not in the tenant repository");
        let status = uncommitted_objects(&root).unwrap().unwrap();
        let said: Vec<(&str, &str)> = status
            .changes
            .iter()
            .map(|(s, p)| (s.as_str(), p.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                ("modified", "objects/global/project/a.toml"),
                ("deleted", "objects/global/project/b.toml"),
                ("added", "objects/global/data_source/"),
                ("added", "objects/global/project/c.toml"),
            ]
        );
    }

    #[test]
    fn no_git_repository_has_no_status() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(uncommitted_objects(dir.path()).unwrap(), None);
        assert_eq!(commit_id(dir.path(), "HEAD"), None);
    }
}
