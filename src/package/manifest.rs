//! `manifest.json`: what a package holds and where it comes from. The signature covers its exact
//! bytes, and it lists every other file of the archive with the blake3 hash of its bytes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::SourceFacts;

/// The package format this ferry writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A package's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The package format ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The ferry that made it.
    pub ferry_version: String,
    /// The source tenant's facts (`ferry.toml`): import compares them with the destination's.
    pub source: SourceFacts,
    /// `full`, `incremental` or `selection`.
    pub mode: String,
    /// The commit an incremental package starts from.
    pub base: Option<String>,
    /// The commit the package's objects are at.
    pub head: String,
    /// `--select`, for a selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<String>,
    /// `--exclude`, for a selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<String>,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// The objects it carries, sorted by path.
    pub objects: Vec<ObjectEntry>,
    /// The objects it deletes (incremental packages), sorted by address.
    pub deletions: Vec<Deletion>,
    /// The kinds left out, with why, sorted by kind.
    pub left_out: Vec<LeftOut>,
    /// The other files (environment files, custom kind schemas), sorted by path.
    pub files: Vec<FileEntry>,
}

/// One object a package carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectEntry {
    /// Its address.
    pub address: String,
    /// Its GUID.
    pub guid: Uuid,
    /// Its kind.
    pub kind: String,
    /// Its file in the archive (`objects/…`, as in the repository).
    pub path: String,
    /// blake3 of the file's bytes.
    pub blake3: String,
    /// For an incremental package: `added`, `modified` or `renamed` (`None` in the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// An object a package deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    /// Its address at the base commit.
    pub address: String,
    /// Its GUID.
    pub guid: Uuid,
}

/// A kind whose objects a package does not carry, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeftOut {
    /// The kind.
    pub kind: String,
    /// Why (the kind schema's `exportable` reason).
    pub reason: String,
    /// The objects of the repository left out for it, sorted.
    pub objects: Vec<String>,
}

/// Another file a package carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its path in the archive (`environments/prod.toml`, `schemas/kinds/x.schema.json`).
    pub path: String,
    /// blake3 of its bytes.
    pub blake3: String,
}

impl Manifest {
    /// The manifest's bytes: pretty JSON with a final newline (what the signature covers).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        text.push('\n');
        text.into_bytes()
    }

    /// Every file the manifest lists, with its hash.
    pub fn listed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.objects
            .iter()
            .map(|o| (o.path.as_str(), o.blake3.as_str()))
            .chain(
                self.files
                    .iter()
                    .map(|f| (f.path.as_str(), f.blake3.as_str())),
            )
    }
}
