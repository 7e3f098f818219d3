//! The commit writer: exactly the files an export wrote (and the removals), committed on top of
//! HEAD without touching anything else staged or changed in the work tree. Blobs go into one new
//! pack as the files are written ([`Staging`]); the trees are written over HEAD's (`tree.rs`);
//! HEAD and git's index move only once git reads the new commit back.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::tree::{pack_dir, store, write_tree, Change, Dir};
use super::{git_error, io, join_prefix, open, pack, prefix_in, RepoError};

/// Commits exactly the given files of the ferry repository at `root` on top of HEAD (or as the
/// first commit), leaving anything else staged or changed in the work tree out of the commit.
/// `written` are paths (relative to `root`) whose current content is committed, `removed` are
/// paths deleted. The commit is dated `when` (see [`Staging::commit`]). Returns the new commit
/// id, or `None` when the tree would not change.
pub fn commit_files(
    root: &Path,
    written: &[String],
    removed: &[String],
    message: &str,
    when: SystemTime,
) -> Result<Option<String>, RepoError> {
    let mut staging = Staging::open(root)?;
    for rel in written {
        staging.add_file(rel)?;
    }
    staging.commit(removed, message, when)
}

/// A commit being made while its files are written: each file's blob is hashed, compressed and
/// added to one new pack as the file is written, on a thread of its own (no file is read back,
/// and no loose object is made per file). [`Staging::commit`] adds the trees and the commit to
/// that pack, gives it to git, then records the files in git's index with their stat data (so
/// `git status` finds them unchanged without reading them) and moves HEAD.
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

/// The file a commit keeps in the git folder while it may hold git's locks (the index, HEAD's
/// reference), holding its process id. Git's lock files name no process, so a `.lock` file left
/// by a killed ferry would stop every later commit (git's own "another git process seems to be
/// running"); the marker tells the next ferry that the locks are a dead process's, to release.
const MARKER: &str = "ferry-commit.pid";

/// The marker of a commit under way; removed when dropped.
struct Marker(PathBuf);

impl Marker {
    /// Writes the marker, first releasing the locks a killed ferry's marker says it left; fails
    /// when a ferry that is still running holds it.
    fn enter(repo: &git2::Repository, root: &Path) -> Result<Marker, RepoError> {
        let path = repo.path().join(MARKER);
        if let Ok(text) = std::fs::read_to_string(&path) {
            match text.trim().parse::<u32>() {
                Ok(pid) if pid != std::process::id() && !crate::context::process_gone(pid) => {
                    return Err(RepoError::Committing {
                        path: root.to_path_buf(),
                        pid,
                    })
                }
                _ => {
                    for lock in git_locks(repo) {
                        if std::fs::remove_file(&lock).is_ok() {
                            tracing::debug!(lock = %lock.display(), "released a lock left by a killed ferry");
                        }
                    }
                }
            }
        }
        std::fs::write(&path, format!("{}\n", std::process::id()))
            .map_err(io("cannot write", &path))?;
        Ok(Marker(path))
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The lock files a commit takes: the index's, HEAD's and the branch HEAD names.
fn git_locks(repo: &git2::Repository) -> Vec<PathBuf> {
    let git = repo.path();
    let mut locks = vec![git.join("index.lock"), git.join("HEAD.lock")];
    if let Ok(head) = repo.find_reference("HEAD") {
        if let Ok(Some(target)) = head.symbolic_target() {
            if target.starts_with("refs/") && !target.contains("..") {
                locks.push(git.join(format!("{target}.lock")));
            }
        }
    }
    locks
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
        pack::remove_abandoned(&pack_dir(&repo));
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

    /// The files HEAD has below `dir` (relative to the root), as paths relative to the root
    /// with their blob ids; nothing is read but the trees. Empty before the first commit.
    pub fn head_files(
        &self,
        dir: &str,
    ) -> Result<std::collections::HashMap<String, git2::Oid>, RepoError> {
        let git = |action| git_error(&self.root, action);
        let mut files = std::collections::HashMap::new();
        let Some(parent) = self.parent else {
            return Ok(files);
        };
        let tree = self
            .repo
            .find_commit(parent)
            .and_then(|c| c.tree())
            .map_err(git("read HEAD"))?;
        let below = join_prefix(&self.prefix, dir);
        let sub = match tree.get_path(Path::new(&below)) {
            Ok(entry) => entry.to_object(&self.repo).map_err(git("read tree"))?,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(files),
            Err(e) => return Err(git("read tree")(e)),
        };
        let Some(sub) = sub.as_tree() else {
            return Ok(files);
        };
        sub.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                if let Ok(name) = entry.name() {
                    files.insert(format!("{dir}/{parent}{name}"), entry.id());
                }
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(git("read tree"))?;
        Ok(files)
    }

    /// The blob id git gives a file holding `bytes`.
    pub fn blob_id(&self, bytes: &[u8]) -> Result<git2::Oid, RepoError> {
        git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
            .map_err(git_error(&self.root, "hash a file"))
    }

    /// The bytes of the blob `id`.
    pub fn blob(&self, id: git2::Oid) -> Result<Vec<u8>, RepoError> {
        self.repo
            .find_blob(id)
            .map(|b| b.content().to_vec())
            .map_err(git_error(&self.root, "read blob"))
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

    /// Stages the regular file at `rel` (relative to the root) as it is on disk, unless it was
    /// staged already; a link or anything else that is not a regular file is refused.
    pub fn add_file(&mut self, rel: &str) -> Result<(), RepoError> {
        if self.is_staged(&join_prefix(&self.prefix, rel)) {
            return Ok(());
        }
        let full = self.root.join(rel);
        let link = std::fs::symlink_metadata(&full).map_err(io("cannot read", &full))?;
        if link.file_type().is_symlink() {
            // A link's target may be outside the repository: never read into a commit.
            return Err(RepoError::Symlink { path: full });
        }
        let mut file = std::fs::File::open(&full).map_err(io("cannot read", &full))?;
        // The stat data before the content: a change while reading shows as a newer file.
        let meta = file.metadata().map_err(io("cannot read", &full))?;
        if !meta.is_file() {
            return Err(RepoError::NotAFile { path: full });
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io("cannot read", &full))?;
        let stat = Stat::of(&meta);
        self.stage(rel, &bytes, stat)
    }

    /// Commits the staged files, and the removal of `removed` (paths relative to the root), on
    /// top of HEAD (or as the first commit), leaving anything else staged or changed in the work
    /// tree out of the commit. The author and committer are the repository's git user
    /// (`user.name`, `user.email`), or `ferry <ferry@localhost>` when it has none, dated `when`
    /// in UTC, so the same files, message and time give the same commit id. Returns the new
    /// commit id, or `None` when the tree would not change (then git's index is still updated
    /// for the staged files).
    pub fn commit(
        mut self,
        removed: &[String],
        message: &str,
        when: SystemTime,
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
            let _marker = Marker::enter(&self.repo, &self.root)?;
            self.update_index(&ids, removed)?;
            return Ok(None);
        }
        let signature = self.signature(when)?;
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
        // The index first: a process killed between the two leaves HEAD behind the index and
        // the files, which the next export finds different from HEAD and commits. The other
        // way round it would leave HEAD and the files new and the index old, and the next export
        // would see nothing to do.
        let _marker = Marker::enter(&self.repo, &self.root)?;
        self.update_index(&ids, removed)?;
        self.move_head(id, &signature)?;
        Ok(Some(id.to_string()))
    }

    /// The signature of the commit: the repository's git user, or ferry, at `when` (UTC).
    fn signature(&self, when: SystemTime) -> Result<git2::Signature<'static>, RepoError> {
        let seconds = match when.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        let (name, email) = match self.repo.signature() {
            Ok(user) => (
                String::from_utf8_lossy(user.name_bytes()).into_owned(),
                String::from_utf8_lossy(user.email_bytes()).into_owned(),
            ),
            Err(_) => ("ferry".to_string(), "ferry@localhost".to_string()),
        };
        git2::Signature::new(&name, &email, &git2::Time::new(seconds, 0))
            .map_err(git_error(&self.root, "make a signature"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::slash_path;

    /// 2026-01-01T00:00:00Z.
    fn when() -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600)
    }

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
    fn locks_a_killed_ferry_left_are_released_and_a_running_ones_are_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let repo = git2::Repository::init(root).unwrap();
        let git = repo.path().to_path_buf();
        // A ferry that died holding the index's and the branch's locks.
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead = gone.id();
        gone.wait().unwrap();
        std::fs::write(git.join(MARKER), format!("{dead}\n")).unwrap();
        std::fs::write(git.join("index.lock"), "").unwrap();
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("refs/heads/master.lock"), "").unwrap();
        let mut staging = Staging::open(root).unwrap();
        put(&mut staging, root, "a.txt", "a\n");
        staging.commit(&[], "first\n", when()).unwrap().unwrap();
        assert!(clean(&repo));
        for left in [MARKER, "index.lock", "refs/heads/master.lock"] {
            assert!(!git.join(left).exists(), "{left} is still there");
        }
        // A ferry that is still running (this test's parent) keeps its locks.
        let running = std::os::unix::process::parent_id();
        std::fs::write(git.join(MARKER), format!("{running}\n")).unwrap();
        let mut staging = Staging::open(root).unwrap();
        put(&mut staging, root, "b.txt", "b\n");
        match staging.commit(&[], "second\n", when()) {
            Err(RepoError::Committing { pid, .. }) => assert_eq!(pid, running),
            other => panic!("{other:?}"),
        }
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
        let first = staging.commit(&[], "first\n", when()).unwrap().unwrap();
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
            .commit(&["d/e/c.txt".to_string()], "second\n", when())
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
        assert_eq!(staging.commit(&[], "none\n", when()).unwrap(), None);

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
        staging.commit(&all, "empty\n", when()).unwrap().unwrap();
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
        staging.commit(&[], "sub\n", when()).unwrap().unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        assert!(head
            .tree()
            .unwrap()
            .get_path(Path::new("sub/repo/objects/x.toml"))
            .is_ok());
        assert_eq!(head.tree_id(), tree_of_work_tree(&repo));
        assert!(clean(&repo));
    }

    #[test]
    fn the_commit_is_dated_when_given_so_the_same_files_make_the_same_commit() {
        let commit_in = |dir: &Path| {
            let repo = git2::Repository::init(dir).unwrap();
            let mut config = repo.config().unwrap();
            config.set_str("user.name", "Ann").unwrap();
            config.set_str("user.email", "ann@example.com").unwrap();
            let mut staging = Staging::open(dir).unwrap();
            put(&mut staging, dir, "objects/x.toml", "x\n");
            let id = staging.commit(&[], "export\n", when()).unwrap().unwrap();
            let commit = repo.find_commit(git2::Oid::from_str(&id).unwrap()).unwrap();
            assert_eq!(commit.time().seconds(), 1_767_225_600);
            assert_eq!(commit.time().offset_minutes(), 0);
            assert_eq!(commit.author().name(), Ok("Ann"));
            assert_eq!(commit.committer().email(), Ok("ann@example.com"));
            id
        };
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        assert_eq!(commit_in(a.path()), commit_in(b.path()));
    }
}
