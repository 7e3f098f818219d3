//! A git pack of new objects, written to a file as the objects come, so that a commit of many
//! files costs one pack (and its index) instead of a loose object (a compressed file of its own)
//! per file.
//!
//! The pack holds whole objects, no deltas (a later `git gc` finds those), in git's pack format
//! version 2 with an index of version 2 (git reads both since 2006); `git verify-pack` and
//! `git fsck` check them in the tests. Blobs are hashed, compressed and written on a thread of
//! their own ([`Writer`]) while the caller goes on writing files.
//!
//! Why not git2: the only pack writer it exposes is libgit2's pack builder (also behind
//! `Mempack::dump`), which searches every object for deltas before it writes; for a commit of
//! 100,000 new files that search is the cost this module exists to avoid. The format is small
//! and fixed, and the tests check every pack with `git verify-pack` and `git fsck`.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// zlib level 1, git's own for loose objects (`core.looseCompression`): fast, and the texts are
/// small.
const LEVEL: u32 = 1;

/// Blobs go to the writer thread in batches of about this many bytes (one wake-up per batch, not
/// per blob), and at most this many batches wait.
const BATCH: usize = 256 << 10;
const QUEUE: usize = 8;

/// One object in the pack.
struct Entry {
    id: git2::Oid,
    offset: u64,
    crc: u32,
}

/// A pack being written, in a temporary file of the repository's `objects/pack`.
pub(super) struct Pack {
    dir: PathBuf,
    temp: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    entries: Vec<Entry>,
    ids: HashSet<git2::Oid>,
    deflate: Compress,
    buf: Vec<u8>,
}

/// Removes the temporary files (`tmp_ferry_<pid>_<n>.pack`/`.idx`) that ferry processes which
/// no longer exist left in `dir` when they were killed in the middle of writing a pack. Files
/// of a process still running are left alone; a file that cannot be removed stays (it is never
/// read: git ignores `tmp_` files).
pub(super) fn remove_abandoned(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix("tmp_ferry_") else {
            continue;
        };
        let pid = rest.split('_').next().and_then(|p| p.parse::<u32>().ok());
        let ours = name.ends_with(".pack") || name.ends_with(".idx");
        if let Some(pid) = pid.filter(|_| ours) {
            if pid != std::process::id() && crate::context::process_gone(pid) {
                tracing::debug!(file = name, "removing a pack file left by a killed ferry");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A new file in `dir` named `tmp_ferry_<pid>_<n>.<ext>`.
fn temp_file(dir: &Path, ext: &str) -> io::Result<(PathBuf, File)> {
    let mut attempt = 0u32;
    loop {
        let path = dir.join(format!("tmp_ferry_{}_{attempt}.{ext}", std::process::id()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

impl Pack {
    /// Starts a pack in `dir` (the repository's `objects/pack`).
    pub(super) fn create(dir: &Path) -> io::Result<Pack> {
        std::fs::create_dir_all(dir)?;
        let (temp, file) = temp_file(dir, "pack")?;
        let mut pack = Pack {
            dir: dir.to_path_buf(),
            temp,
            out: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            entries: Vec::new(),
            ids: HashSet::new(),
            deflate: Compress::new(Compression::new(LEVEL), true),
            buf: Vec::new(),
        };
        // The object count is filled in by `finish`.
        pack.out.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        pack.offset = 12;
        Ok(pack)
    }

    /// Whether the pack holds the object `id`.
    pub(super) fn contains(&self, id: git2::Oid) -> bool {
        self.ids.contains(&id)
    }

    /// Adds an object (once: a second add of the same id does nothing). `id` must be git's id of
    /// `data` as an object of type `kind`.
    pub(super) fn add(
        &mut self,
        kind: git2::ObjectType,
        id: git2::Oid,
        data: &[u8],
    ) -> io::Result<()> {
        if self.ids.contains(&id) {
            return Ok(());
        }
        let code: u8 = match kind {
            git2::ObjectType::Commit => 1,
            git2::ObjectType::Tree => 2,
            git2::ObjectType::Blob => 3,
            git2::ObjectType::Tag => 4,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "only commits, trees, blobs and tags go into a pack",
                ))
            }
        };
        if self.entries.len() >= u32::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "too many objects for one pack",
            ));
        }
        self.buf.clear();
        // The header: type and size, 4 bits of size then 7 bits per byte, low bits first.
        let mut size = data.len() as u64;
        let mut byte = (code << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size != 0 {
            self.buf.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        self.buf.push(byte);
        // The object, zlib-compressed.
        self.deflate.reset();
        self.buf.reserve(data.len() + data.len() / 8 + 64);
        let mut input = data;
        loop {
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.buf, FlushCompress::Finish)
                .map_err(io::Error::other)?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            match status {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError => self.buf.reserve(self.buf.capacity().max(64)),
            }
        }
        self.out.write_all(&self.buf)?;
        let mut crc = Crc::new();
        crc.update(&self.buf);
        self.entries.push(Entry {
            id,
            offset: self.offset,
            crc: crc.sum(),
        });
        self.ids.insert(id);
        self.offset += self.buf.len() as u64;
        Ok(())
    }

    /// Completes the pack (its object count and checksum), writes its index, and gives both
    /// their names in `objects/pack`: the pack first, so git never sees an index without its
    /// pack. Returns the pack's path.
    pub(super) fn finish(mut self) -> io::Result<PathBuf> {
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&(self.entries.len() as u32).to_be_bytes())?;
        file.seek(SeekFrom::Start(0))?;
        let mut sha = sha1_smol::Sha1::new();
        let mut chunk = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            sha.update(&chunk[..n]);
        }
        let checksum = sha.digest().bytes();
        file.seek(SeekFrom::End(0))?;
        file.write_all(&checksum)?;
        let index = self.index(&checksum);
        let (index_temp, mut index_file) = temp_file(&self.dir, "idx")?;
        let written = index_file.write_all(&index).and_then(|_| {
            drop(index_file);
            let name: String = checksum.iter().map(|b| format!("{b:02x}")).collect();
            let pack = self.dir.join(format!("pack-{name}.pack"));
            read_only(&self.temp)?;
            read_only(&index_temp)?;
            std::fs::rename(&self.temp, &pack)?;
            std::fs::rename(&index_temp, self.dir.join(format!("pack-{name}.idx")))?;
            Ok(pack)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&index_temp);
        }
        written
    }

    /// The pack's index (version 2): a fan-out table of the ids by first byte, the sorted ids,
    /// each object's CRC-32 and offset, then the pack's checksum and the index's own.
    fn index(&mut self, checksum: &[u8; 20]) -> Vec<u8> {
        self.entries.sort_unstable_by_key(|e| e.id);
        let n = self.entries.len();
        let mut out = Vec::with_capacity(8 + 1024 + n * 28 + 40);
        out.extend_from_slice(b"\xfftOc\0\0\0\x02");
        let mut fanout = [0u32; 256];
        for e in &self.entries {
            fanout[e.id.as_bytes()[0] as usize] += 1;
        }
        let mut total = 0u32;
        for count in fanout {
            total += count;
            out.extend_from_slice(&total.to_be_bytes());
        }
        for e in &self.entries {
            out.extend_from_slice(e.id.as_bytes());
        }
        for e in &self.entries {
            out.extend_from_slice(&e.crc.to_be_bytes());
        }
        let mut large = Vec::new();
        for e in &self.entries {
            let small = if e.offset < 0x8000_0000 {
                e.offset as u32
            } else {
                large.push(e.offset);
                0x8000_0000 | (large.len() - 1) as u32
            };
            out.extend_from_slice(&small.to_be_bytes());
        }
        for offset in large {
            out.extend_from_slice(&offset.to_be_bytes());
        }
        out.extend_from_slice(checksum);
        let own = sha1_smol::Sha1::from(&out).digest().bytes();
        out.extend_from_slice(&own);
        out
    }
}

impl Drop for Pack {
    fn drop(&mut self) {
        // Nothing once `finish` renamed it.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// Git keeps packs and their indexes read-only.
fn read_only(path: &Path) -> io::Result<()> {
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(path, permissions)
}

/// Why the writer thread stopped.
#[derive(Debug)]
pub(super) enum Failure {
    /// The pack could not be written.
    Io(PathBuf, io::Error),
    /// Git could not hash a blob or look one up.
    Git(git2::Error),
}

/// What the writer thread made: the pack (`None` when every blob was in the repository already)
/// and each blob's id, in the order the blobs were sent.
pub(super) type Written = (Option<Pack>, Vec<git2::Oid>);

/// Blobs one after the other in one buffer, so a blob costs no allocation of its own.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

/// Blobs hashed, compressed and packed on a thread of their own, except those the repository
/// has already.
pub(super) struct Writer {
    sender: Option<mpsc::SyncSender<Batch>>,
    /// Batches the thread is done with, to fill again.
    spare: mpsc::Receiver<Batch>,
    thread: Option<std::thread::JoinHandle<Result<Written, Failure>>>,
    batch: Batch,
}

impl Writer {
    /// Starts the thread; it opens the repository at `git_dir` (its `.git`) for its own use.
    pub(super) fn start(git_dir: &Path, pack_dir: &Path) -> Writer {
        let (sender, receiver) = mpsc::sync_channel::<Batch>(QUEUE);
        let (spare_sender, spare) = mpsc::channel::<Batch>();
        let git_dir = git_dir.to_path_buf();
        let pack_dir = pack_dir.to_path_buf();
        let thread = std::thread::spawn(move || -> Result<Written, Failure> {
            let repo = git2::Repository::open(&git_dir).map_err(Failure::Git)?;
            let odb = repo.odb().map_err(Failure::Git)?;
            let mut pack: Option<Pack> = None;
            let mut ids = Vec::new();
            for mut batch in receiver {
                let mut start = 0;
                for &end in &batch.ends {
                    let data = &batch.data[start..end];
                    start = end;
                    let id = git2::Oid::hash_object(git2::ObjectType::Blob, data)
                        .map_err(Failure::Git)?;
                    ids.push(id);
                    if pack.as_ref().is_some_and(|p| p.contains(id))
                        || odb.exists_ext(id, git2::OdbLookupFlags::NO_REFRESH)
                    {
                        continue;
                    }
                    let failed = |e| Failure::Io(pack_dir.clone(), e);
                    let pack = match &mut pack {
                        Some(pack) => pack,
                        None => pack.insert(Pack::create(&pack_dir).map_err(failed)?),
                    };
                    pack.add(git2::ObjectType::Blob, id, data).map_err(failed)?;
                }
                batch.data.clear();
                batch.ends.clear();
                let _ = spare_sender.send(batch);
            }
            Ok((pack, ids))
        });
        Writer {
            sender: Some(sender),
            spare,
            thread: Some(thread),
            batch: Batch::default(),
        }
    }

    /// Queues a blob for the thread. `Err` when the thread stopped: [`Writer::finish`] says why.
    pub(super) fn send(&mut self, data: &[u8]) -> Result<(), ()> {
        self.batch.data.extend_from_slice(data);
        self.batch.ends.push(self.batch.data.len());
        if self.batch.data.len() >= BATCH {
            return self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ()> {
        if self.batch.ends.is_empty() {
            return Ok(());
        }
        let next = self.spare.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        match &self.sender {
            Some(sender) => sender.send(batch).map_err(|_| ()),
            None => Err(()),
        }
    }

    /// Waits for the thread to pack every blob sent.
    pub(super) fn finish(mut self) -> Result<Written, Failure> {
        // A failed send means the thread stopped, and its result says why.
        let _ = self.flush();
        self.sender = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok((None, Vec::new())),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread, which drops (and removes) its pack.
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn git_reads_and_verifies_a_pack() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let pack_dir = repo.path().join("objects/pack");
        // Sizes around each header length, and one that compresses badly.
        let mut objects: Vec<Vec<u8>> = vec![Vec::new(), b"hello\n".to_vec()];
        for size in [15usize, 16, 2047, 2048, 262_143, 262_144] {
            objects.push((0..size).map(|i| (i % 251) as u8).collect());
        }
        let mut seed = 7u64;
        objects.push(
            (0..100_000)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 33) as u8
                })
                .collect(),
        );
        let mut writer = Writer::start(repo.path(), &pack_dir);
        for data in &objects {
            writer.send(data).unwrap();
            writer.send(data).unwrap();
        }
        let (pack, ids) = writer.finish().unwrap();
        let mut pack = pack.unwrap();
        assert_eq!(ids.len(), objects.len() * 2);
        let temp = pack.temp.clone();
        // A tree and a commit as well.
        let mut tree = Vec::new();
        tree.extend_from_slice(b"100644 a\0");
        tree.extend_from_slice(ids[2].as_bytes());
        let tree_id = git2::Oid::hash_object(git2::ObjectType::Tree, &tree).unwrap();
        pack.add(git2::ObjectType::Tree, tree_id, &tree).unwrap();
        let commit =
            format!("tree {tree_id}\nauthor A <a@b> 0 +0000\ncommitter A <a@b> 0 +0000\n\nm\n");
        let commit_id =
            git2::Oid::hash_object(git2::ObjectType::Commit, commit.as_bytes()).unwrap();
        pack.add(git2::ObjectType::Commit, commit_id, commit.as_bytes())
            .unwrap();
        let path = pack.finish().unwrap();
        assert!(!temp.exists(), "the temporary file is renamed");
        let odb = repo.odb().unwrap();
        odb.refresh().unwrap();
        for (i, data) in objects.iter().enumerate() {
            assert_eq!(odb.read(ids[2 * i]).unwrap().data(), &data[..]);
        }
        let verified = git(dir.path(), &["verify-pack", "-v", path.to_str().unwrap()]);
        assert!(
            verified.contains(&format!("{commit_id} commit")),
            "{verified}"
        );
        git(dir.path(), &["update-ref", "HEAD", &commit_id.to_string()]);
        git(dir.path(), &["fsck", "--strict", "--no-dangling"]);
        let names: Vec<String> = std::fs::read_dir(&pack_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "a pack and its index: {names:?}");
        assert!(
            std::fs::read_dir(repo.path().join("objects"))
                .unwrap()
                .all(|e| e.unwrap().file_name().len() != 2),
            "no loose object"
        );
    }

    #[test]
    fn blobs_the_repository_has_are_not_packed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let id = repo.blob(b"known\n").unwrap();
        let mut writer = Writer::start(repo.path(), &repo.path().join("objects/pack"));
        writer.send(b"known\n").unwrap();
        let (pack, ids) = writer.finish().unwrap();
        assert!(pack.is_none());
        assert_eq!(ids, vec![id]);
    }
}
