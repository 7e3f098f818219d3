//! The content hash of an object: what drift detection, change detection and packages compare.
//!
//! The hash is blake3 over the UTF-8 bytes of the object's **canonical JSON**:
//!
//! - one JSON object with the keys `kind`, `name`, `project` (only for project-scoped objects) and
//!   `spec`;
//! - in `spec`, references hold the referenced object's GUID (lower-case hyphenated UUID), not its
//!   address, so renaming an object does not change the hash of the objects that refer to it;
//! - secret fields are absent (their values are compared through a keyed hash of their own);
//! - object keys sorted by their UTF-8 bytes at every level, no white space, strings escaped as
//!   `serde_json` escapes them, integers in decimal, floats in `serde_json`'s shortest form.
//!
//! The GUID itself is not hashed: it is the identity the hash is filed under. The result is
//! written as 64 lower-case hex digits.

use std::io::Write;

use serde_json::{Map, Value};

/// The canonical JSON text of a value: keys sorted at every level, no white space.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

/// [`canonical_json`] of a table, without wrapping it in a [`Value`].
pub fn canonical_json_of_map(map: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    write_map(map.iter(), map.len(), &mut out);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

/// Writes the canonical JSON of `value` to `out` (a buffer or a hasher: nothing is collected).
fn write_canonical(value: &Value, out: &mut impl Write) {
    match value {
        Value::Object(map) => write_map(map.iter(), map.len(), out),
        Value::Array(items) => {
            put(out, b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    put(out, b",");
                }
                write_canonical(item, out);
            }
            put(out, b"]");
        }
        other => write_json(other, out),
    }
}

fn write_map<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    len: usize,
    out: &mut impl Write,
) {
    let mut sorted: Vec<(&String, &Value)> = Vec::with_capacity(len);
    sorted.extend(entries);
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    put(out, b"{");
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            put(out, b",");
        }
        write_json(key, out);
        put(out, b":");
        write_canonical(value, out);
    }
    put(out, b"}");
}

fn write_json(value: &(impl serde::Serialize + ?Sized), out: &mut impl Write) {
    serde_json::to_writer(out, value).expect("writing JSON to memory cannot fail");
}

fn put(out: &mut impl Write, bytes: &[u8]) {
    out.write_all(bytes).expect("writing to memory cannot fail");
}

/// The content hash of an object whose `spec` already holds GUID references and no secrets.
pub fn content_hash(
    kind: &str,
    name: &str,
    project: Option<&str>,
    spec: &Map<String, Value>,
) -> String {
    // The document {"kind", "name", ["project",] "spec"}: its keys are already in sorted order.
    let mut hasher = blake3::Hasher::new();
    put(&mut hasher, b"{\"kind\":");
    write_json(kind, &mut hasher);
    put(&mut hasher, b",\"name\":");
    write_json(name, &mut hasher);
    if let Some(project) = project {
        put(&mut hasher, b",\"project\":");
        write_json(project, &mut hasher);
    }
    put(&mut hasher, b",\"spec\":");
    write_map(spec.iter(), spec.len(), &mut hasher);
    put(&mut hasher, b"}");
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter() {
        let a = json!({"b": 1, "a": {"y": [1, "x"], "x": true}});
        let b = json!({"a": {"x": true, "y": [1, "x"]}, "b": 1});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":true,"y":[1,"x"]},"b":1}"#);
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    #[test]
    fn hash_is_canonical_json_of_the_document() {
        let spec = json!({"z": [1, 2.5, null], "a": {"k\"ey": "v\u{e9}", "b": false}});
        let doc = json!({"kind": "metric", "name": "n", "project": "p", "spec": spec});
        assert_eq!(
            content_hash("metric", "n", Some("p"), spec.as_object().unwrap()),
            blake3::hash(canonical_json(&doc).as_bytes())
                .to_hex()
                .to_string()
        );
    }

    #[test]
    fn hash_is_stable() {
        let spec = json!({"display_name": "Retail"});
        let h = content_hash("data_segment", "retail", None, spec.as_object().unwrap());
        // blake3 of {"kind":"data_segment","name":"retail","spec":{"display_name":"Retail"}}
        assert_eq!(
            h,
            blake3::hash(
                br#"{"kind":"data_segment","name":"retail","spec":{"display_name":"Retail"}}"#
            )
            .to_hex()
            .to_string()
        );
        assert_ne!(
            h,
            content_hash("data_segment", "retail2", None, spec.as_object().unwrap())
        );
    }
}
