//! Deployment packages: one file that carries a change to a destination that cannot reach the
//! source's git server (`ferry package`, `ferry import`).
//!
//! A package is a tar archive compressed with zstd (`tar --zstd -tf FILE` lists it) holding, in
//! this order: `manifest.json` ([`Manifest`]), `signature` (a keyed blake3 MAC over the exact
//! bytes of `manifest.json`, see [`sign`]), then every other file sorted by path: the object
//! files under `objects/` as in the repository, the repository's `environments/*.toml` and its
//! custom kind schemas (`schemas/kinds/*.schema.json`). The manifest lists every file with the
//! blake3 hash of its bytes, so the signature covers them all. After the compressed archive, a
//! zstd skippable frame (which zstd, and so tar, skips) holds the blake3 hash of every byte
//! before it, so that no byte of the file can change unnoticed.
//!
//! [`mod@write`] makes the bytes (deterministic: the same inputs give the same bytes); [`read`]
//! opens them with limits and never writes to disk.

pub mod manifest;
pub mod read;
pub mod write;

pub use manifest::{Deletion, FileEntry, LeftOut, Manifest, ObjectEntry, FORMAT_VERSION};
pub use read::{open, Opened};
pub use write::{build, write_file};

use crate::secret::Secret;

/// The archive's manifest entry.
pub const MANIFEST: &str = "manifest.json";
/// The archive's signature entry.
pub const SIGNATURE: &str = "signature";
/// The blake3 `derive_key` context of the signature key: the key is derived from the shared
/// deployment credential for this one purpose.
pub const SIGNATURE_CONTEXT: &str = "ferry 2026-12 deployment package signature v1";

/// The signature of `manifest`: blake3 keyed by `derive_key(SIGNATURE_CONTEXT, credential)`,
/// as 64 hex digits.
pub fn sign(credential: &Secret, manifest: &[u8]) -> String {
    let key = blake3::derive_key(SIGNATURE_CONTEXT, credential.expose().as_bytes());
    blake3::keyed_hash(&key, manifest).to_hex().to_string()
}

/// Whether `signature` (hex) is the signature of `manifest` with `credential` (compared in
/// constant time).
pub fn verify(credential: &Secret, manifest: &[u8], signature: &str) -> bool {
    let Ok(given) = blake3::Hash::from_hex(signature.trim()) else {
        return false;
    };
    let key = blake3::derive_key(SIGNATURE_CONTEXT, credential.expose().as_bytes());
    blake3::keyed_hash(&key, manifest) == given
}

/// blake3 of a file's bytes, as hex.
pub fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A package file name the platform refuses, and which of its rules it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameRule {
    /// No name.
    #[error("the package name is empty")]
    Empty,
    /// Starts with `.` or a space.
    #[error("a package name must not start with `{0}`")]
    Leading(char),
    /// Holds a forbidden character.
    #[error("a package name must not hold `{0}` (none of ? 、 \\ * \" < > | / : is allowed)")]
    Forbidden(char),
    /// A control character.
    #[error("a package name must not hold control characters")]
    Control,
    /// Too long (each non-ASCII character counts as 2, as the platform counts Chinese ones).
    #[error("a package name is at most 255 characters (each non-ASCII character counts as 2); this one counts {0}")]
    TooLong(usize),
}

/// The characters the platform forbids in a package name.
pub const FORBIDDEN: &[char] = &['?', '、', '\\', '*', '"', '<', '>', '|', '/', ':'];

/// Checks a package's file name against the platform's rules (domain notes §3).
pub fn check_name(name: &str) -> Result<(), NameRule> {
    let Some(first) = name.chars().next() else {
        return Err(NameRule::Empty);
    };
    if first == '.' || first == ' ' {
        return Err(NameRule::Leading(first));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(NameRule::Forbidden(c));
    }
    if name.chars().any(char::is_control) {
        return Err(NameRule::Control);
    }
    let length: usize = name.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
    if length > 255 {
        return Err(NameRule::TooLong(length));
    }
    Ok(())
}

/// A package could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The file name breaks a platform rule.
    #[error("{}: {rule}", path.display())]
    Name {
        /// The path given.
        path: std::path::PathBuf,
        /// The rule.
        rule: NameRule,
    },
    /// The archive is not a package ferry can read (integrity).
    #[error("{}: {why}", path.display())]
    Corrupt {
        /// The package file.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {}: {why}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        why: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_platform_rules() {
        assert_eq!(check_name("retail_2026-12-03.dp"), Ok(()));
        assert_eq!(check_name(""), Err(NameRule::Empty));
        assert_eq!(check_name(".hidden.dp"), Err(NameRule::Leading('.')));
        assert_eq!(check_name(" a.dp"), Err(NameRule::Leading(' ')));
        for c in FORBIDDEN {
            assert_eq!(
                check_name(&format!("a{c}b.dp")),
                Err(NameRule::Forbidden(*c))
            );
        }
        assert_eq!(check_name("a\nb"), Err(NameRule::Control));
        assert_eq!(check_name(&"a".repeat(255)), Ok(()));
        assert_eq!(check_name(&"a".repeat(256)), Err(NameRule::TooLong(256)));
        assert_eq!(check_name(&"包".repeat(128)), Err(NameRule::TooLong(256)));
        assert_eq!(check_name(&"包".repeat(127)), Ok(()));
    }

    #[test]
    fn signatures_depend_on_the_credential_and_every_byte() {
        let c = Secret::new("a-long-shared-credential");
        let s = sign(&c, b"{}");
        assert!(verify(&c, b"{}", &s));
        assert!(!verify(&c, b"{ }", &s));
        assert!(!verify(&Secret::new("another-long-credential"), b"{}", &s));
        assert!(!verify(&c, b"{}", "not hex"));
        assert!(!s.contains("a-long-shared-credential"));
    }
}
