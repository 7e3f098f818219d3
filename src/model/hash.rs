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

use serde_json::{Map, Value};

/// The canonical JSON text of a value: keys sorted at every level, no white space.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The content hash of an object whose `spec` already holds GUID references and no secrets.
pub fn content_hash(
    kind: &str,
    name: &str,
    project: Option<&str>,
    spec: &Map<String, Value>,
) -> String {
    let mut doc = Map::new();
    doc.insert("kind".into(), Value::String(kind.into()));
    doc.insert("name".into(), Value::String(name.into()));
    if let Some(project) = project {
        doc.insert("project".into(), Value::String(project.into()));
    }
    doc.insert("spec".into(), Value::Object(spec.clone()));
    blake3::hash(canonical_json(&Value::Object(doc)).as_bytes())
        .to_hex()
        .to_string()
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
