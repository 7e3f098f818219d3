//! Secret values: wrapped so that no format string can print them.
//!
//! A [`Secret`]'s `Debug` and `Display` print `(sensitive)`; the value is reached only through
//! [`Secret::expose`], which names every place that needs it. Secret fields in object files and
//! output hold the placeholder [`PLACEHOLDER`], which `object put` reads as "keep the value the
//! tenant has".

use std::fmt;

/// What output shows in place of a secret, and what a file holds where a secret belongs.
pub const PLACEHOLDER: &str = "(sensitive)";

/// A secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: only for writing it where it belongs (the tenant's secret store).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A keyed hash of the value for change detection: equal values give equal fingerprints,
    /// and the fingerprint does not reveal the value. `context` separates uses (e.g. the
    /// object's GUID and field), so equal secrets in two fields do not look alike.
    pub fn fingerprint(&self, context: &str) -> String {
        let key = blake3::derive_key("ferry 2026-11 secret fingerprint v1", context.as_bytes());
        blake3::keyed_hash(&key, self.0.as_bytes())
            .to_hex()
            .to_string()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PLACEHOLDER)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PLACEHOLDER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?}", vec![s.clone()]),
            "(sensitive) (sensitive) [(sensitive)]"
        );
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(s.fingerprint("a"), Secret::new("hunter2").fingerprint("a"));
        assert_ne!(s.fingerprint("a"), s.fingerprint("b"));
        assert!(!s.fingerprint("a").contains("hunter2"));
    }
}
