//! Writing inside a repository without ever following a symbolic link.
//!
//! Every file ferry writes into a repository (object files, `ferry.toml`, the schema copies, the
//! files `ferry init` makes) goes through a [`Disk`]: a path is relative to the repository root
//! and made of plain names only; every folder on the way is checked once to be a real folder
//! (not a link to one), and is made when missing; the file itself is opened without following a
//! link (`O_NOFOLLOW`), and a link in its place is replaced by the file, as git replaces a
//! tracked link on checkout. A folder reached through a link is refused, naming it, so nothing
//! is ever written or removed outside the repository.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};

use super::{io, RepoError};

/// Writes and removes files under one repository root; see the module documentation.
#[derive(Debug)]
pub struct Disk {
    root: PathBuf,
    /// Folders (relative to the root) known to be real folders.
    checked: HashSet<PathBuf>,
}

/// Opens `full` for writing, truncated, made if missing, never through a link at its last name.
fn open_no_follow(full: &Path, create_new: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(full)
}

impl Disk {
    /// A writer for the repository at `root`.
    pub fn new(root: &Path) -> Disk {
        Disk {
            root: root.to_path_buf(),
            checked: HashSet::new(),
        }
    }

    /// The relative path `rel` as a path of plain names, or an error naming it.
    fn plain(&self, rel: &str) -> Result<PathBuf, RepoError> {
        let path = Path::new(rel);
        let plain = !rel.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
        if plain {
            Ok(path.to_path_buf())
        } else {
            Err(RepoError::OutsideRepository {
                path: self.root.join(rel),
            })
        }
    }

    /// Checks that every folder of `dir` (relative) is a real folder, making those that are
    /// missing when `make`. Returns false when one is missing and not made.
    fn folders(&mut self, dir: &Path, make: bool) -> Result<bool, RepoError> {
        let mut at = PathBuf::new();
        for part in dir.components() {
            at.push(part);
            if self.checked.contains(&at) {
                continue;
            }
            let full = self.root.join(&at);
            match std::fs::symlink_metadata(&full) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(RepoError::Symlink { path: full })
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(RepoError::NotAFolder { path: full }),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    if !make {
                        return Ok(false);
                    }
                    match std::fs::create_dir(&full) {
                        Ok(()) => {}
                        // Made meanwhile: checked again on the next write.
                        Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(io("cannot create folder", &full)(e)),
                    }
                }
                Err(e) => return Err(io("cannot read", &full)(e)),
            }
            self.checked.insert(at.clone());
        }
        Ok(true)
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes the folder `rel` (and those above it) when missing. Returns whether it was made.
    pub fn create_dir(&mut self, rel: &str) -> Result<bool, RepoError> {
        let path = self.plain(rel)?;
        let existed = self.checked.contains(&path) || self.exists(rel);
        self.folders(&path, true)?;
        Ok(!existed)
    }

    /// Whether anything (a file, a folder, a link, even a dangling one) is at `rel`.
    pub fn exists(&self, rel: &str) -> bool {
        std::fs::symlink_metadata(self.root.join(rel)).is_ok()
    }

    /// The bytes of the regular file at `rel`, if there is one there (a link is not read).
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let full = self.root.join(rel);
        let meta = std::fs::symlink_metadata(&full).ok()?;
        if !meta.is_file() {
            return None;
        }
        std::fs::read(full).ok()
    }

    /// Writes `bytes` to the file at `rel`, making its folders; a link at `rel` is replaced by
    /// the file. Returns the file, written and still open (for its metadata).
    pub fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<File, RepoError> {
        let path = self.plain(rel)?;
        if let Some(parent) = path.parent() {
            self.folders(parent, true)?;
        }
        let full = self.root.join(&path);
        let mut file = match open_no_follow(&full, false) {
            Ok(file) => file,
            Err(e) => {
                match std::fs::symlink_metadata(&full) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        // The link itself goes; the file takes its place.
                        std::fs::remove_file(&full).map_err(io("cannot replace link", &full))?;
                    }
                    Ok(meta) if !meta.is_file() => {
                        return Err(RepoError::NotAFile { path: full });
                    }
                    _ => return Err(io("cannot write", &full)(e)),
                }
                open_no_follow(&full, true).map_err(io("cannot write", &full))?
            }
        };
        file.write_all(bytes).map_err(io("cannot write", &full))?;
        Ok(file)
    }

    /// Removes the file (or link) at `rel`, and the folders that leaves empty up to (not
    /// including) `keep`. Returns false when nothing was there.
    pub fn remove(&mut self, rel: &str, keep: &str) -> Result<bool, RepoError> {
        let path = self.plain(rel)?;
        if let Some(parent) = path.parent() {
            if !self.folders(parent, false)? {
                return Ok(false);
            }
        }
        let full = self.root.join(&path);
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => return Err(RepoError::NotAFile { path: full }),
            Ok(_) => std::fs::remove_file(&full).map_err(io("cannot remove", &full))?,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io("cannot read", &full)(e)),
        }
        let keep = Path::new(keep);
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d.as_os_str().is_empty() || d == keep || !d.starts_with(keep) {
                break;
            }
            if std::fs::remove_dir(self.root.join(d)).is_err() {
                break;
            }
            self.checked.remove(d);
            dir = d.parent();
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outside_and_repo() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::create_dir_all(repo.join("objects")).unwrap();
        (dir, outside, repo)
    }

    #[test]
    fn a_link_in_the_place_of_a_file_is_replaced_and_its_target_untouched() {
        let (_dir, outside, repo) = outside_and_repo();
        std::fs::write(outside.join("target"), "keep me").unwrap();
        std::os::unix::fs::symlink(outside.join("target"), repo.join("ferry.toml")).unwrap();
        // A dangling link too.
        std::os::unix::fs::symlink(outside.join("nothing"), repo.join("objects/a.toml")).unwrap();
        let mut disk = Disk::new(&repo);
        disk.write("ferry.toml", b"new").unwrap();
        disk.write("objects/a.toml", b"a").unwrap();
        assert_eq!(
            std::fs::read_to_string(outside.join("target")).unwrap(),
            "keep me"
        );
        assert!(!outside.join("nothing").exists());
        let meta = std::fs::symlink_metadata(repo.join("ferry.toml")).unwrap();
        assert!(meta.is_file());
        assert_eq!(
            std::fs::read_to_string(repo.join("ferry.toml")).unwrap(),
            "new"
        );
    }

    #[test]
    fn a_folder_reached_through_a_link_is_refused_for_writes_and_removals() {
        let (_dir, outside, repo) = outside_and_repo();
        std::fs::write(outside.join("x.toml"), "keep me").unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("objects/data")).unwrap();
        let mut disk = Disk::new(&repo);
        let e = disk.write("objects/data/y.toml", b"y").unwrap_err();
        assert!(
            matches!(&e, RepoError::Symlink { path } if path.ends_with("objects/data")),
            "{e:?}"
        );
        assert!(e.to_string().contains("objects/data"), "{e}");
        let e = disk.remove("objects/data/x.toml", "objects").unwrap_err();
        assert!(matches!(e, RepoError::Symlink { .. }), "{e:?}");
        assert!(!outside.join("y.toml").exists());
        assert_eq!(
            std::fs::read_to_string(outside.join("x.toml")).unwrap(),
            "keep me"
        );
    }

    #[test]
    fn paths_that_climb_out_are_refused() {
        let (_dir, _outside, repo) = outside_and_repo();
        let mut disk = Disk::new(&repo);
        for rel in ["../outside/x", "/etc/x", "objects/../../x", ""] {
            let e = disk.write(rel, b"x").unwrap_err();
            assert!(
                matches!(e, RepoError::OutsideRepository { .. }),
                "{rel}: {e:?}"
            );
        }
    }

    #[test]
    fn removing_a_file_removes_the_folders_it_leaves_empty_up_to_the_kept_one() {
        let (_dir, _outside, repo) = outside_and_repo();
        let mut disk = Disk::new(&repo);
        disk.write("objects/a/b/c.toml", b"c").unwrap();
        assert!(disk.remove("objects/a/b/c.toml", "objects").unwrap());
        assert!(!repo.join("objects/a").exists());
        assert!(repo.join("objects").is_dir());
        assert!(!disk.remove("objects/a/b/c.toml", "objects").unwrap());
        // The folder is made again after its removal.
        disk.write("objects/a/b/c.toml", b"c").unwrap();
        assert!(repo.join("objects/a/b/c.toml").is_file());
    }
}
