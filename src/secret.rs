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

    /// A file's bytes as a secret value: UTF-8 text as it is, any other bytes as standard
    /// base64 (RFC 4648, padded), since the store keeps text.
    pub fn from_bytes(bytes: Vec<u8>) -> Secret {
        match String::from_utf8(bytes) {
            Ok(text) => Secret(text),
            Err(e) => Secret(base64(e.as_bytes())),
        }
    }

    /// A fingerprint of the value keyed per tenant: `salt` is the tenant's own random salt
    /// ([`crate::store::Tenant::fingerprint_salt`]), so a fingerprint written into a plan file
    /// cannot be checked against guessed values without the tenant; `context` separates uses
    /// (the object's GUID and field).
    pub fn tenant_fingerprint(&self, salt: &Secret, context: &str) -> String {
        let mut material = Vec::with_capacity(salt.0.len() + 1 + context.len());
        material.extend_from_slice(salt.0.as_bytes());
        material.push(0);
        material.extend_from_slice(context.as_bytes());
        let key = blake3::derive_key("ferry 2026-12 tenant secret fingerprint v1", &material);
        blake3::keyed_hash(&key, self.0.as_bytes())
            .to_hex()
            .to_string()
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

/// Standard base64 with padding (RFC 4648, section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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

    #[test]
    fn tenant_fingerprints_depend_on_the_salt_and_the_context() {
        let s = Secret::new("hunter2");
        let (a, b) = (Secret::new("salt-a"), Secret::new("salt-b"));
        assert_eq!(
            s.tenant_fingerprint(&a, "x"),
            Secret::new("hunter2").tenant_fingerprint(&a, "x")
        );
        assert_ne!(s.tenant_fingerprint(&a, "x"), s.tenant_fingerprint(&b, "x"));
        assert_ne!(s.tenant_fingerprint(&a, "x"), s.tenant_fingerprint(&a, "y"));
        assert_ne!(s.tenant_fingerprint(&a, "x"), s.fingerprint("x"));
    }

    #[test]
    fn file_bytes_are_text_as_they_are_or_base64() {
        assert_eq!(
            Secret::from_bytes(b"[libdefaults]\n".to_vec()).expose(),
            "[libdefaults]\n"
        );
        // RFC 4648's test vectors, behind a byte that is not UTF-8.
        for (bytes, text) in [
            (&b"\xff"[..], "/w=="),
            (b"\xfff", "/2Y="),
            (b"\xfffo", "/2Zv"),
            (b"\xfffoo", "/2Zvbw=="),
        ] {
            assert_eq!(Secret::from_bytes(bytes.to_vec()).expose(), text);
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b""), "");
    }
}
