//! The trees of a new commit: the changed folders written over HEAD's trees, in git's own
//! format and order, into the commit's pack (only the trees that change; the others are HEAD's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{git_error, io, pack, RepoError};

/// The folder new packs go to.
pub(super) fn pack_dir(repo: &git2::Repository) -> PathBuf {
    repo.commondir().join("objects").join("pack")
}

/// Puts an object into the pack, unless the repository or the pack has it.
pub(super) fn store(
    repo: &git2::Repository,
    pack: &mut Option<pack::Pack>,
    root: &Path,
    kind: git2::ObjectType,
    id: git2::Oid,
    data: &[u8],
) -> Result<(), RepoError> {
    if pack.as_ref().is_some_and(|p| p.contains(id)) {
        return Ok(());
    }
    let odb = repo
        .odb()
        .map_err(git_error(root, "open the object database"))?;
    if odb.exists_ext(id, git2::OdbLookupFlags::NO_REFRESH) {
        return Ok(());
    }
    let dir = pack_dir(repo);
    let pack = match pack {
        Some(pack) => pack,
        None => pack.insert(pack::Pack::create(&dir).map_err(io("cannot write", &dir))?),
    };
    pack.add(kind, id, data).map_err(io("cannot write", &dir))
}

/// A folder of the new tree: its changes over the same folder in HEAD, by entry name.
#[derive(Default)]
pub(super) struct Dir {
    changes: BTreeMap<String, Change>,
}

pub(super) enum Change {
    /// A file with this blob.
    File(git2::Oid),
    /// No file by this name.
    Remove,
    /// A folder with changes.
    Dir(Dir),
}

impl Dir {
    /// Records a change at a `/`-separated path below this folder. A later change of the same
    /// path wins, except that removing a file never removes a folder.
    pub(super) fn set(&mut self, path: &str, change: Change) {
        match path.split_once('/') {
            None => {
                if matches!(change, Change::Remove)
                    && matches!(self.changes.get(path), Some(Change::Dir(_)))
                {
                    return;
                }
                self.changes.insert(path.to_string(), change);
            }
            Some((name, rest)) => {
                let entry = self
                    .changes
                    .entry(name.to_string())
                    .or_insert_with(|| Change::Dir(Dir::default()));
                if !matches!(entry, Change::Dir(_)) {
                    if matches!(change, Change::Remove) {
                        // A path below a file: nothing to remove.
                        return;
                    }
                    *entry = Change::Dir(Dir::default());
                }
                if let Change::Dir(dir) = entry {
                    dir.set(rest, change);
                }
            }
        }
    }
}

const TREE_MODE: i32 = 0o040000;

fn is_tree(mode: i32) -> bool {
    mode & 0o170000 == TREE_MODE
}

/// Writes the tree of `dir` over `base` (its tree in HEAD, if any), and every changed tree below
/// it, into the pack. Returns its id and bytes, or `None` when it is empty.
pub(super) fn write_tree(
    repo: &git2::Repository,
    pack: &mut Option<pack::Pack>,
    root: &Path,
    dir: &Dir,
    base: Option<&git2::Tree>,
) -> Result<Option<(git2::Oid, Vec<u8>)>, RepoError> {
    let git = |action| git_error(root, action);
    let mut entries: BTreeMap<Vec<u8>, (i32, git2::Oid)> = base
        .map(|tree| {
            tree.iter()
                .map(|e| (e.name_bytes().to_vec(), (e.filemode(), e.id())))
                .collect()
        })
        .unwrap_or_default();
    for (name, change) in &dir.changes {
        let key = name.as_bytes();
        match change {
            Change::File(id) => {
                entries.insert(key.to_vec(), (0o100644, *id));
            }
            Change::Remove => {
                if entries.get(key).is_some_and(|(mode, _)| !is_tree(*mode)) {
                    entries.remove(key);
                }
            }
            Change::Dir(sub) => {
                let sub_base = match entries.get(key) {
                    Some((mode, id)) if is_tree(*mode) => {
                        Some(repo.find_tree(*id).map_err(git("read tree"))?)
                    }
                    _ => None,
                };
                match write_tree(repo, pack, root, sub, sub_base.as_ref())? {
                    Some((id, _)) => {
                        entries.insert(key.to_vec(), (TREE_MODE, id));
                    }
                    None if sub_base.is_some() => {
                        entries.remove(key);
                    }
                    None => {}
                }
            }
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    // Git's order: by name, a folder's name read as if it ended with '/'.
    let mut sorted: Vec<(Vec<u8>, i32, git2::Oid)> = entries
        .into_iter()
        .map(|(name, (mode, id))| (name, mode, id))
        .collect();
    let key = |name: &[u8], mode: i32| -> Vec<u8> {
        let mut key = name.to_vec();
        if is_tree(mode) {
            key.push(b'/');
        }
        key
    };
    sorted.sort_by_cached_key(|(name, mode, _)| key(name, *mode));
    let mut bytes = Vec::with_capacity(sorted.len() * 64);
    for (name, mode, id) in &sorted {
        bytes.extend_from_slice(format!("{mode:o} ").as_bytes());
        bytes.extend_from_slice(name);
        bytes.push(0);
        bytes.extend_from_slice(id.as_bytes());
    }
    let id = git2::Oid::hash_object(git2::ObjectType::Tree, &bytes).map_err(git("write tree"))?;
    if base.is_none_or(|b| b.id() != id) {
        store(repo, pack, root, git2::ObjectType::Tree, id, &bytes)?;
    }
    Ok(Some((id, bytes)))
}
