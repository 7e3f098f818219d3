//! The tenant repository, on disk and in git: the only module that uses git2.
//!
//! A [`Snapshot`] is what ferry reads from a repository: `ferry.toml`, every file under
//! `objects/` and the custom kind schemas. It comes from the working tree or, for a reproducible
//! read, from the git object database at a revision, without a checkout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{Registry, BUILTIN_KINDS, KINDS_DIR};
use crate::model::path::OBJECTS_DIR;

mod pack;

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
    let mut staging = Staging::open(root)?;
    for rel in written {
        staging.add_file(rel)?;
    }
    staging.commit(removed, message)
}

/// A commit being made while its files are written: each file's blob is hashed, compressed and
/// added to one new pack as the file is written, on a thread of its own (no file is read back,
/// and no loose object is made per file). [`Staging::commit`] adds the trees and the commit to
/// that pack, gives it to git, then moves HEAD and records the files in git's index with their
/// stat data, so `git status` finds them unchanged without reading them.
pub struct Staging {
    repo: git2::Repository,
    root: PathBuf,
    prefix: String,
    parent: Option<git2::Oid>,
    /// The files to commit, by path in the git work tree: sorted by path, one entry a path, up
    /// to `sorted`, then in the order staged (of a path staged twice, the later file counts).
    files: Vec<(String, Staged)>,
    sorted: usize,
    /// Packs the blobs; started with the first.
    writer: Option<pack::Writer>,
    /// How many blobs went to the writer.
    sent: usize,
}

/// A file to commit.
struct Staged {
    /// Its blob's place in the order blobs went to the writer.
    blob: usize,
    /// `None`: git stats (and reads) the file itself for its index entry.
    stat: Option<Stat>,
}

/// What git's index keeps of a work-tree file's stat data.
#[derive(Debug, Clone, Copy)]
struct Stat {
    ctime: (i32, u32),
    mtime: (i32, u32),
    dev: u32,
    ino: u32,
    uid: u32,
    gid: u32,
    size: u32,
}

impl Stat {
    /// The stat data of a plain, non-executable file (git keeps 32 bits of each field); `None`
    /// for anything else, which git then stats itself.
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        if !meta.file_type().is_file() || meta.mode() & 0o111 != 0 {
            return None;
        }
        Some(Stat {
            ctime: (meta.ctime() as i32, meta.ctime_nsec() as u32),
            mtime: (meta.mtime() as i32, meta.mtime_nsec() as u32),
            dev: meta.dev() as u32,
            ino: meta.ino() as u32,
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.size() as u32,
        })
    }

    #[cfg(not(unix))]
    fn of(_meta: &std::fs::Metadata) -> Option<Stat> {
        None
    }
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

impl Staging {
    /// Starts a commit in the git repository holding the ferry repository at `root`, which must
    /// have a work tree.
    pub fn open(root: &Path) -> Result<Staging, RepoError> {
        let repo = open(root)?;
        if repo.workdir().is_none() {
            return Err(RepoError::NotGit {
                path: root.to_path_buf(),
            });
        }
        let prefix = prefix_in(&repo, root)?;
        let parent = match repo.head() {
            Ok(head) => Some(
                head.peel_to_commit()
                    .map_err(git_error(root, "read HEAD"))?
                    .id(),
            ),
            Err(_) => None,
        };
        Ok(Staging {
            repo,
            root: root.to_path_buf(),
            prefix,
            parent,
            files: Vec::new(),
            sorted: 0,
            writer: None,
            sent: 0,
        })
    }

    /// Stages a file just written: `rel` (relative to the root) holds `bytes`, and `meta` is its
    /// metadata, taken after the write.
    pub fn add(
        &mut self,
        rel: &str,
        bytes: &[u8],
        meta: &std::fs::Metadata,
    ) -> Result<(), RepoError> {
        self.stage(rel, bytes, Stat::of(meta))
    }

    fn stage(&mut self, rel: &str, bytes: &[u8], stat: Option<Stat>) -> Result<(), RepoError> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self
                .writer
                .insert(pack::Writer::start(self.repo.path(), &pack_dir(&self.repo))),
        };
        if writer.send(bytes).is_err() {
            // The writer stopped: say why.
            let failure = match self.writer.take().map(pack::Writer::finish) {
                Some(Err(failure)) => failure,
                _ => pack::Failure::Git(git2::Error::from_str("the pack writer stopped")),
            };
            return Err(self.failed(failure));
        }
        self.files.push((
            join_prefix(&self.prefix, rel),
            Staged {
                blob: self.sent,
                stat,
            },
        ));
        self.sent += 1;
        Ok(())
    }

    /// Sorts the files by path, keeping the file staged last for a path staged twice.
    fn sort(&mut self) {
        if self.sorted == self.files.len() {
            return;
        }
        self.files.reverse();
        // Stable: of equal paths, the last staged comes first, and stays.
        self.files.sort_by(|a, b| a.0.cmp(&b.0));
        self.files.dedup_by(|later, first| later.0 == first.0);
        self.sorted = self.files.len();
    }

    /// Whether a file is staged at `path` (in the git work tree).
    fn is_staged(&mut self, path: &str) -> bool {
        if self.files.len() - self.sorted > 64 {
            self.sort();
        }
        let (sorted, recent) = self.files.split_at(self.sorted);
        sorted
            .binary_search_by(|(p, _)| p.as_str().cmp(path))
            .is_ok()
            || recent.iter().any(|(p, _)| p == path)
    }

    fn failed(&self, failure: pack::Failure) -> RepoError {
        match failure {
            pack::Failure::Io(path, source) => RepoError::Io {
                action: "cannot write",
                path,
                source,
            },
            pack::Failure::Git(source) => git_error(&self.root, "write blob")(source),
        }
    }

    /// Stages the file at `rel` (relative to the root) as it is on disk, unless it was staged
    /// already.
    pub fn add_file(&mut self, rel: &str) -> Result<(), RepoError> {
        if self.is_staged(&join_prefix(&self.prefix, rel)) {
            return Ok(());
        }
        let full = self.root.join(rel);
        let link = std::fs::symlink_metadata(&full).map_err(io("cannot read", &full))?;
        let mut file = std::fs::File::open(&full).map_err(io("cannot read", &full))?;
        // The stat data before the content: a change while reading shows as a newer file.
        let meta = file.metadata().map_err(io("cannot read", &full))?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io("cannot read", &full))?;
        // A link's target is committed, and git's index describes the link itself.
        let stat = if link.file_type().is_symlink() {
            None
        } else {
            Stat::of(&meta)
        };
        self.stage(rel, &bytes, stat)
    }

    /// Commits the staged files, and the removal of `removed` (paths relative to the root), on
    /// top of HEAD (or as the first commit), leaving anything else staged or changed in the work
    /// tree out of the commit. Returns the new commit id, or `None` when the tree would not
    /// change (then git's index is still updated for the staged files).
    pub fn commit(
        mut self,
        removed: &[String],
        message: &str,
    ) -> Result<Option<String>, RepoError> {
        self.sort();
        let root = self.root.clone();
        let git = |action| git_error(&root, action);
        let (mut pack, ids) = match self.writer.take().map(pack::Writer::finish) {
            Some(Ok(written)) => written,
            Some(Err(failure)) => return Err(self.failed(failure)),
            None => (None, Vec::new()),
        };
        if ids.len() != self.sent {
            return Err(self.failed(pack::Failure::Git(git2::Error::from_str(
                "the pack writer lost a blob",
            ))));
        }
        let mut top = Dir::default();
        for (path, staged) in &self.files {
            top.set(path, Change::File(ids[staged.blob]));
        }
        for rel in removed {
            top.set(&join_prefix(&self.prefix, rel), Change::Remove);
        }
        let parent = match self.parent {
            Some(id) => Some(self.repo.find_commit(id).map_err(git("read HEAD"))?),
            None => None,
        };
        let base = match &parent {
            Some(commit) => Some(commit.tree().map_err(git("read tree"))?),
            None => None,
        };
        let (tree_id, tree_bytes) =
            match write_tree(&self.repo, &mut pack, &root, &top, base.as_ref())? {
                Some(tree) => tree,
                None => {
                    // Everything is gone: the empty tree.
                    let id = git2::Oid::hash_object(git2::ObjectType::Tree, b"")
                        .map_err(git("write tree"))?;
                    store(
                        &self.repo,
                        &mut pack,
                        &root,
                        git2::ObjectType::Tree,
                        id,
                        b"",
                    )?;
                    (id, Vec::new())
                }
            };
        if base.as_ref().is_some_and(|b| b.id() == tree_id) {
            drop(pack);
            self.update_index(&ids, removed)?;
            return Ok(None);
        }
        let signature = self
            .repo
            .signature()
            .or_else(|_| git2::Signature::now("ferry", "ferry@localhost"))
            .map_err(git("make a signature"))?;
        let odb = self.repo.odb().map_err(git("open the object database"))?;
        // Git makes a commit only over a tree it can read: the root tree and the commit are made
        // in memory first, then go into the pack with the rest.
        let memory = odb
            .add_new_mempack_backend(1000)
            .map_err(git("open the object database"))?;
        odb.write(git2::ObjectType::Tree, &tree_bytes)
            .map_err(git("write tree"))?;
        let tree = self.repo.find_tree(tree_id).map_err(git("read tree"))?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let id = self
            .repo
            .commit(None, &signature, &signature, message, &tree, &parents)
            .map_err(git("commit"))?;
        let commit_bytes = odb.read(id).map_err(git("commit"))?.data().to_vec();
        let dir = pack_dir(&self.repo);
        let mut pack = match pack {
            Some(pack) => pack,
            None => pack::Pack::create(&dir).map_err(io("cannot write", &dir))?,
        };
        pack.add(git2::ObjectType::Commit, id, &commit_bytes)
            .map_err(io("cannot write", &dir))?;
        pack.finish().map_err(io("cannot write", &dir))?;
        odb.refresh().map_err(git("read the pack"))?;
        memory.reset().map_err(git("read the pack"))?;
        // HEAD moves only once git reads the commit and its tree from the repository's files.
        let check = git2::Repository::open(self.repo.path()).map_err(git("read the pack"))?;
        let check = check.odb().map_err(git("read the pack"))?;
        check
            .read(id)
            .and_then(|_| check.read(tree_id))
            .map_err(git("read the new pack (HEAD did not move; run `git fsck`)"))?;
        self.move_head(id, &signature)?;
        self.update_index(&ids, removed)?;
        Ok(Some(id.to_string()))
    }

    /// Points HEAD (the branch it names, created when unborn) at the commit `id`, with git's
    /// reflog message, unless HEAD moved since the staging began.
    fn move_head(&self, id: git2::Oid, signature: &git2::Signature) -> Result<(), RepoError> {
        let git = |action| git_error(&self.root, action);
        // The reference HEAD resolves to: a branch (which may not exist yet) or HEAD itself.
        let mut name = "HEAD".to_string();
        for _ in 0..10 {
            match self.repo.find_reference(&name) {
                Ok(reference) => match reference.symbolic_target().map_err(git("read HEAD"))? {
                    Some(target) => name = target.to_string(),
                    None => break,
                },
                Err(e) if e.code() == git2::ErrorCode::NotFound => break,
                Err(e) => return Err(git("read HEAD")(e)),
            }
        }
        let commit = self.repo.find_commit(id).map_err(git("commit"))?;
        let message = format!(
            "commit{}: {}",
            if self.parent.is_none() {
                " (initial)"
            } else {
                ""
            },
            commit.summary().ok().flatten().unwrap_or_default()
        );
        let mut transaction = self.repo.transaction().map_err(git("update HEAD"))?;
        transaction.lock_ref(&name).map_err(git("update HEAD"))?;
        if self.repo.refname_to_id(&name).ok() != self.parent {
            return Err(git("update HEAD")(git2::Error::from_str(&format!(
                "{name} moved while ferry was committing; the files are written but not committed: commit them with git, or run the export again"
            ))));
        }
        transaction
            .set_target(&name, id, Some(signature), &message)
            .map_err(git("update HEAD"))?;
        transaction.commit().map_err(git("update HEAD"))
    }

    /// Records the staged files in git's index (with their stat data, when known) and removes
    /// the removed ones.
    fn update_index(&self, ids: &[git2::Oid], removed: &[String]) -> Result<(), RepoError> {
        let git = |action| git_error(&self.root, action);
        let mut index = self.repo.index().map_err(git("read index"))?;
        // Staging a file resolves a merge conflict on it, as `git add` does.
        let conflicted = index.has_conflicts();
        // In path order, the index's own: each new entry goes at the end, not in the middle.
        for (path, staged) in &self.files {
            if conflicted {
                let _ = index.conflict_remove(Path::new(path));
            }
            match staged.stat {
                Some(stat) => index.add(&git2::IndexEntry {
                    ctime: git2::IndexTime::new(stat.ctime.0, stat.ctime.1),
                    mtime: git2::IndexTime::new(stat.mtime.0, stat.mtime.1),
                    dev: stat.dev,
                    ino: stat.ino,
                    mode: 0o100644,
                    uid: stat.uid,
                    gid: stat.gid,
                    file_size: stat.size,
                    id: ids[staged.blob],
                    flags: 0,
                    flags_extended: 0,
                    path: path.as_bytes().to_vec(),
                }),
                None => index.add_path(Path::new(path)),
            }
            .map_err(git("stage"))?;
        }
        for rel in removed {
            let _ = index.remove_path(Path::new(&join_prefix(&self.prefix, rel)));
        }
        index.write().map_err(git("write index"))
    }
}

/// The folder new packs go to.
fn pack_dir(repo: &git2::Repository) -> PathBuf {
    repo.commondir().join("objects").join("pack")
}

/// Puts an object into the pack, unless the repository or the pack has it.
fn store(
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
struct Dir {
    changes: BTreeMap<String, Change>,
}

enum Change {
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
    fn set(&mut self, path: &str, change: Change) {
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
fn write_tree(
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

/// Whether the repository holding `root` has a commit at HEAD.
pub fn has_head(root: &Path) -> bool {
    open(root).is_ok_and(|r| r.head().is_ok_and(|h| h.peel_to_commit().is_ok()))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a file under `root` and stages it, as export does.
    fn put(staging: &mut Staging, root: &Path, rel: &str, text: &str) {
        let full = root.join(rel);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        let meta = std::fs::metadata(&full).unwrap();
        staging.add(rel, text.as_bytes(), &meta).unwrap();
    }

    /// The tree git itself makes of the work tree.
    fn tree_of_work_tree(repo: &git2::Repository) -> git2::Oid {
        let mut index = git2::Index::new().unwrap();
        let odb = repo.odb().unwrap();
        let workdir = repo.workdir().unwrap().to_path_buf();
        let mut files = Vec::new();
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.ends_with(".git") {
                    continue;
                }
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        walk(&workdir, &mut files);
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let rel = file.strip_prefix(&workdir).unwrap();
            index
                .add(&git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode: 0o100644,
                    uid: 0,
                    gid: 0,
                    file_size: bytes.len() as u32,
                    id: odb.write(git2::ObjectType::Blob, &bytes).unwrap(),
                    flags: 0,
                    flags_extended: 0,
                    path: slash_path(rel).into_bytes(),
                })
                .unwrap();
        }
        index.write_tree_to(repo).unwrap()
    }

    fn clean(repo: &git2::Repository) -> bool {
        let mut options = git2::StatusOptions::new();
        options.include_untracked(true);
        repo.statuses(Some(&mut options)).unwrap().is_empty()
    }

    #[test]
    fn trees_are_the_ones_git_makes_and_the_index_matches_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let repo = git2::Repository::init(root).unwrap();

        let mut staging = Staging::open(root).unwrap();
        for rel in ["a.txt", "d/b.txt", "d/e/c.txt", "z.txt", "d-x/f.txt"] {
            put(&mut staging, root, rel, &format!("{rel}\n"));
        }
        let first = staging.commit(&[], "first\n").unwrap().unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        assert_eq!(head.id().to_string(), first);
        assert_eq!(head.parent_count(), 0);
        assert_eq!(head.tree_id(), tree_of_work_tree(&repo));
        assert!(clean(&repo));

        // A change, a removal, names that sort around a folder's, and a file written twice.
        let mut staging = Staging::open(root).unwrap();
        put(&mut staging, root, "d/b.txt", "changed\n");
        std::fs::remove_file(root.join("d/e/c.txt")).unwrap();
        std::fs::remove_dir(root.join("d/e")).unwrap();
        put(&mut staging, root, "d.txt", "d.txt\n");
        put(&mut staging, root, "d0", "d0\n");
        put(&mut staging, root, "twice.txt", "first\n");
        put(&mut staging, root, "twice.txt", "second\n");
        staging.add_file("twice.txt").unwrap();
        let second = staging
            .commit(&["d/e/c.txt".to_string()], "second\n")
            .unwrap()
            .unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        assert_eq!(head.id().to_string(), second);
        assert_eq!(head.parent_id(0).unwrap().to_string(), first);
        assert_eq!(head.tree_id(), tree_of_work_tree(&repo));
        let twice = head
            .tree()
            .unwrap()
            .get_path(Path::new("twice.txt"))
            .unwrap();
        assert_eq!(repo.find_blob(twice.id()).unwrap().content(), b"second\n");
        assert!(clean(&repo));

        // Nothing changed: no commit.
        let mut staging = Staging::open(root).unwrap();
        staging.add_file("a.txt").unwrap();
        assert_eq!(staging.commit(&[], "none\n").unwrap(), None);

        // Everything removed: the empty tree.
        let all: Vec<String> = [
            "a.txt",
            "d/b.txt",
            "d.txt",
            "d0",
            "twice.txt",
            "z.txt",
            "d-x/f.txt",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        for rel in &all {
            std::fs::remove_file(root.join(rel)).unwrap();
        }
        let staging = Staging::open(root).unwrap();
        staging.commit(&all, "empty\n").unwrap().unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        assert_eq!(head.tree().unwrap().len(), 0);
        assert!(clean(&repo));
        let fsck = std::process::Command::new("git")
            .args(["fsck", "--strict", "--no-dangling"])
            .current_dir(root)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            fsck.status.success(),
            "{}",
            String::from_utf8_lossy(&fsck.stderr)
        );
        assert!(
            !std::fs::read_dir(repo.path().join("objects/pack"))
                .unwrap()
                .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("tmp_")),
            "no temporary file is left"
        );
    }

    #[test]
    fn a_repository_in_a_sub_folder_commits_under_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let root = dir.path().join("sub/repo");
        std::fs::create_dir_all(&root).unwrap();
        let mut staging = Staging::open(&root).unwrap();
        put(&mut staging, &root, "objects/x.toml", "x\n");
        staging.commit(&[], "sub\n").unwrap().unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        assert!(head
            .tree()
            .unwrap()
            .get_path(Path::new("sub/repo/objects/x.toml"))
            .is_ok());
        assert_eq!(head.tree_id(), tree_of_work_tree(&repo));
        assert!(clean(&repo));
    }
}
