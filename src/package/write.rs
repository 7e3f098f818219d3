//! Making a package's bytes, and writing them to a file safely.
//!
//! Deterministic: entries in a fixed order (manifest, signature, then the other files sorted by
//! path), every header with mode 0644, uid and gid 0, no user or group name and mtime 0, and a
//! fixed zstd level with the frame checksum on, so the same inputs give the same bytes.

use std::io::Write;
use std::path::Path;

use super::{PackageError, MANIFEST, SIGNATURE};

/// The zstd level packages are compressed with.
pub const ZSTD_LEVEL: i32 = 19;

/// The zstd frame header every package starts with: the magic number, the frame header
/// descriptor (content checksum on, no content size, no dictionary) and the window descriptor
/// of [`ZSTD_LEVEL`] (a window of 8 MiB). The reader refuses any other.
pub const FRAME_HEADER: [u8; 6] = [0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x68];

/// The package file: `manifest`, `signature`, then `files` ((path, bytes), sorted here).
pub fn build(manifest: &[u8], signature: &str, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    let signature = format!("{signature}\n");
    let entries = [(MANIFEST, manifest), (SIGNATURE, signature.as_bytes())]
        .into_iter()
        .chain(sorted.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        // Paths are the repository's, checked when read: relative, without `..`.
        tar.append_data(&mut header, path, bytes)
            .expect("writing a tar archive into memory");
    }
    let tar = tar.into_inner().expect("writing a tar archive into memory");
    let mut encoder = zstd::Encoder::new(Vec::new(), ZSTD_LEVEL).expect("a zstd encoder in memory");
    encoder
        .include_checksum(true)
        .expect("the zstd checksum flag");
    encoder.write_all(&tar).expect("compressing into memory");
    let mut file = encoder.finish().expect("compressing into memory");
    let sum = blake3::hash(&file);
    file.extend_from_slice(&TRAILER_MAGIC);
    file.extend_from_slice(&32u32.to_le_bytes());
    file.extend_from_slice(sum.as_bytes());
    file
}

/// The magic number of the zstd skippable frame that ends a package (zstd readers, and so
/// `tar --zstd`, skip it). It holds the blake3 hash of every byte before it: zstd's own checksum
/// covers the decompressed data only, and a compressed stream has bits that change nothing when
/// decompressed, so this hash is what makes every byte of the file count.
pub const TRAILER_MAGIC: [u8; 4] = [0x5e, 0x2a, 0x4d, 0x18];

/// The trailer's length: magic, frame size (32, little-endian) and the hash.
pub const TRAILER_LEN: usize = 4 + 4 + 32;

/// Writes `bytes` to `path`: into a new temporary file beside it (created, never opened if it
/// exists), then renamed over it. A `path` that is a symbolic link or not a regular file is
/// refused: ferry never writes through a link.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    let fail = |why: String| PackageError::Write {
        path: path.to_path_buf(),
        why,
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(fail(
                "it is a symbolic link; ferry does not write through links".into(),
            ))
        }
        Ok(m) if !m.is_file() => return Err(fail("it exists and is not a regular file".into())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e.to_string())),
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(e.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_inputs_give_the_same_bytes() {
        let files = vec![
            ("objects/b.toml".to_string(), b"b".to_vec()),
            ("objects/a.toml".to_string(), b"a".to_vec()),
        ];
        let mut reversed = files.clone();
        reversed.reverse();
        assert_eq!(build(b"{}", "00", &files), build(b"{}", "00", &reversed));
    }

    #[test]
    fn every_package_starts_with_the_same_frame_header() {
        let small = build(b"{}", "00", &[]);
        let large: Vec<(String, Vec<u8>)> = (0..2000)
            .map(|i| {
                (
                    format!("objects/a/k/{i}.toml"),
                    format!("{i}").repeat(500).into_bytes(),
                )
            })
            .collect();
        let large = build(b"{}", "00", &large);
        assert!(small.starts_with(&FRAME_HEADER), "{:x?}", &small[..8]);
        assert!(large.starts_with(&FRAME_HEADER), "{:x?}", &large[..8]);
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "kept").unwrap();
        let link = dir.path().join("p.dp");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_file(&link, b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
        write_file(&dir.path().join("q.dp"), b"x").unwrap();
        assert_eq!(std::fs::read(dir.path().join("q.dp")).unwrap(), b"x");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 3, "no temporary file is left");
    }
}
