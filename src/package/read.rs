//! Opening a package: the file read into memory with limits, decompressed with a cap, its tar
//! entries checked (regular files only, at the paths a package has, each below a size limit)
//! and kept in memory, never extracted to disk; then its manifest parsed and every file's hash
//! compared with it. Whatever the bytes, the result is a package or an error, never a panic.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use super::{hash, Manifest, PackageError, FORMAT_VERSION, MANIFEST, SIGNATURE};

/// The largest package file read.
pub const MAX_FILE: u64 = 1 << 30;
/// The largest archive (decompressed) read.
pub const MAX_ARCHIVE: u64 = 1 << 30;
/// The largest entry read.
pub const MAX_ENTRY: u64 = 64 << 20;
/// The most entries read.
pub const MAX_ENTRIES: usize = 2_000_000;

/// A package read and checked for integrity (not yet for its signature: that needs the
/// destination's credential).
#[derive(Debug, Clone)]
pub struct Opened {
    /// The manifest.
    pub manifest: Manifest,
    /// Its bytes, as the signature covers them.
    pub manifest_bytes: Vec<u8>,
    /// The signature (hex).
    pub signature: String,
    /// Every other file, by path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// blake3 of the package file.
    pub hash: String,
    /// The package file's bytes.
    pub bytes: Vec<u8>,
}

/// Reads the package at `path` (a regular file; a link is followed, as for any file read).
pub fn open(path: &Path) -> Result<Opened, PackageError> {
    let read_err = |source| PackageError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(corrupt(path, "not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(corrupt(
            path,
            &format!(
                "{} bytes, more than the {MAX_FILE} a package may have",
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    parse(path, bytes)
}

fn corrupt(path: &Path, why: &str) -> PackageError {
    PackageError::Corrupt {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Whether `path` is where a package has files: `objects/…/NAME.toml`,
/// `environments/NAME.toml`, `schemas/kinds/NAME.schema.json` (relative, no `.` or `..`, no
/// empty part, no backslash or control character).
fn allowed(path: &str) -> bool {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.chars().any(char::is_control)
    {
        return false;
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return false;
    }
    match parts.as_slice() {
        [MANIFEST] | [SIGNATURE] => true,
        ["objects", rest @ ..] => rest.len() >= 2 && path.ends_with(".toml"),
        ["environments", name] => name.ends_with(".toml"),
        ["schemas", "kinds", name] => name.ends_with(".schema.json"),
        _ => false,
    }
}

/// [`open`] over bytes already read (`path` names them in errors).
pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Opened, PackageError> {
    let bad = |why: String| corrupt(path, &why);
    // The frame header's fields (window size, flags) are covered by no checksum: it must be the
    // one ferry writes, so that no byte of the file can change unnoticed.
    if !bytes.starts_with(&super::write::FRAME_HEADER) {
        return Err(bad(
            "not a package: its zstd frame header is not the one ferry writes (the file is damaged, or not a ferry package)".into(),
        ));
    }
    let trailer_at = bytes.len().saturating_sub(super::write::TRAILER_LEN);
    let (frame, trailer) = bytes.split_at(trailer_at);
    if trailer.len() != super::write::TRAILER_LEN
        || trailer[..4] != super::write::TRAILER_MAGIC
        || trailer[4..8] != 32u32.to_le_bytes()
    {
        return Err(bad(
            "the file does not end with a package's checksum frame: it is cut short, damaged, or not a ferry package".into(),
        ));
    }
    if blake3::hash(frame).as_bytes()[..] != trailer[8..] {
        return Err(bad(
            "the file's checksum does not match its bytes: it is damaged".into(),
        ));
    }
    let mut tar = Vec::new();
    zstd::stream::read::Decoder::new(frame)
        .and_then(|d| d.take(MAX_ARCHIVE + 1).read_to_end(&mut tar))
        .map_err(|e| bad(format!("not a zstd-compressed package, or damaged: {e}")))?;
    if tar.len() as u64 > MAX_ARCHIVE {
        return Err(bad(format!(
            "decompresses to more than the {MAX_ARCHIVE} bytes a package may have"
        )));
    }
    let mut archive = tar::Archive::new(tar.as_slice());
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (n, entry) in entries.enumerate() {
        if n >= MAX_ENTRIES {
            return Err(bad(format!("more than {MAX_ENTRIES} entries")));
        }
        let mut entry = entry.map_err(|e| bad(format!("a damaged tar entry: {e}")))?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| bad("an entry whose path is not UTF-8".into()))?;
        let shown = crate::model::text::excerpt(&name, 80);
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            return Err(bad(format!(
                "entry {shown} is not a regular file ({kind:?}): a package holds no links, devices or folders"
            )));
        }
        if !allowed(&name) {
            return Err(bad(format!(
                "entry {shown} is outside a package's layout (manifest.json, signature, objects/, environments/, schemas/kinds/)"
            )));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| bad(format!("entry {shown} has a damaged size: {e}")))?;
        if size > MAX_ENTRY {
            return Err(bad(format!(
                "entry {shown} declares {size} bytes, more than the {MAX_ENTRY} an entry may have"
            )));
        }
        let mut content = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_ENTRY + 1)
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("entry {shown} cannot be read: {e}")))?;
        if content.len() as u64 != size {
            return Err(bad(format!("entry {shown} is cut short")));
        }
        if files.insert(name, content).is_some() {
            return Err(bad(format!("entry {shown} appears twice")));
        }
    }
    let manifest_bytes = files
        .remove(MANIFEST)
        .ok_or_else(|| bad(format!("no {MANIFEST}")))?;
    let signature = files
        .remove(SIGNATURE)
        .ok_or_else(|| bad(format!("no {SIGNATURE}")))?;
    let signature = String::from_utf8(signature)
        .map_err(|_| bad("the signature is not text".into()))?
        .trim()
        .to_string();
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| bad(format!("{MANIFEST} cannot be read: {e}")))?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "package format {}, this ferry reads format {FORMAT_VERSION}",
            manifest.format_version
        )));
    }
    let mut listed = std::collections::BTreeSet::new();
    for (file, expected) in manifest.listed() {
        if !listed.insert(file) {
            return Err(bad(format!("{MANIFEST} lists {file} twice")));
        }
        match files.get(file) {
            None => return Err(bad(format!("{MANIFEST} lists {file}, which is missing"))),
            Some(content) if hash(content) != expected => {
                return Err(bad(format!(
                    "{file} does not have the hash {MANIFEST} gives it"
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = files.keys().find(|f| !listed.contains(f.as_str())) {
        return Err(bad(format!(
            "{} is in the archive but not in {MANIFEST}",
            crate::model::text::excerpt(extra, 80)
        )));
    }
    Ok(Opened {
        manifest,
        manifest_bytes,
        signature,
        files,
        hash: hash(&bytes),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{build, sign, FileEntry, ObjectEntry};
    use crate::secret::Secret;

    /// A package of one object file at `path`, signed with `credential`.
    fn package_of(path: &str, credential: &Secret) -> Vec<u8> {
        let object = b"kind = \"word_root\"\n".to_vec();
        let env = b"tenant = \"sqlite:prod.db\"\n".to_vec();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            ferry_version: "0.1.0".into(),
            source: crate::config::SourceFacts {
                name: "dev".into(),
                platform_version: "4.5.0".into(),
                engine: "maxcompute".into(),
                engine_mode: "single".into(),
                cluster: "c1".into(),
            },
            mode: "full".into(),
            base: None,
            head: "0".repeat(40),
            select: None,
            exclude: None,
            created_at: "2026-01-31T12:00:00Z".into(),
            objects: vec![ObjectEntry {
                address: "word_root/x".into(),
                guid: uuid::Uuid::nil(),
                kind: "word_root".into(),
                path: path.into(),
                blake3: hash(&object),
                change: None,
            }],
            deletions: vec![],
            left_out: vec![],
            files: vec![FileEntry {
                path: "environments/prod.toml".into(),
                blake3: hash(&env),
            }],
        };
        let bytes = manifest.to_bytes();
        let signature = sign(credential, &bytes);
        build(
            &bytes,
            &signature,
            &[
                (path.into(), object),
                ("environments/prod.toml".into(), env),
            ],
        )
    }

    #[test]
    fn a_package_reads_back_long_paths_included() {
        let credential = Secret::new("a-long-shared-credential");
        let long = format!("objects/standard/word_root/{}.toml", "x".repeat(200));
        for path in ["objects/standard/word_root/x.toml", long.as_str()] {
            let bytes = package_of(path, &credential);
            let opened = parse(Path::new("p.dp"), bytes.clone()).unwrap();
            assert_eq!(opened.manifest.objects[0].path, path);
            assert_eq!(
                opened.files.keys().map(String::as_str).collect::<Vec<_>>(),
                ["environments/prod.toml", path]
            );
            assert!(crate::package::verify(
                &credential,
                &opened.manifest_bytes,
                &opened.signature
            ));
            assert_eq!(opened.hash, hash(&bytes));
        }
    }

    #[test]
    fn only_a_package_layout_is_allowed() {
        for ok in [
            "manifest.json",
            "signature",
            "objects/global/data_source/a.toml",
            "environments/prod.toml",
            "schemas/kinds/x.schema.json",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for refused in [
            "",
            "/etc/passwd",
            "../x",
            "objects/../../x.toml",
            "objects/./a/b.toml",
            "objects//a.toml",
            "objects/a.toml",
            "environments/a/b.toml",
            "schemas/kinds/x.json",
            "objects\\a\\b.toml",
            "other.txt",
        ] {
            assert!(!allowed(refused), "{refused}");
        }
    }
}
