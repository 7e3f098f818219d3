//! The field differ: the changed fields of two versions of an object, by JSON pointer, the one
//! comparison behind `ferry diff` (an object at two commits) and `ferry plan` (desired against
//! the destination, and the destination against what ferry last applied, for drift).
//!
//! Every changed leaf value (or array, as a whole) under `/spec` is one [`FieldChange`]; tables
//! are compared key by key, in key order. Text that holds line breaks (SQL, code) also carries a
//! unified diff. A field that a kind declares secret (or lies within one) shows only
//! [`PLACEHOLDER`], whatever the documents hold, and never a unified diff.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::kinds::Kind;
use crate::model::pointer;
use crate::secret::PLACEHOLDER;

/// One changed field of an object.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// JSON pointer of the field (`/spec/schedule/cron`).
    pub pointer: String,
    /// The old value (`None`: the field was absent). Secret fields hold [`PLACEHOLDER`].
    pub old: Option<Value>,
    /// The new value (`None`: the field is absent now). Secret fields hold [`PLACEHOLDER`].
    pub new: Option<Value>,
    /// Whether the field is (or lies within) a field the kind declares secret.
    pub sensitive: bool,
    /// For text with line breaks: the change as unified diff hunks (`@@ … @@` lines on).
    pub unified_diff: Option<String>,
}

/// The changed fields of two versions of an object's document, under `/spec` (the address
/// fields `kind`, `name` and `project` show as a rename; the GUID is the same by construction).
pub fn field_changes(old: &Value, new: &Value, kinds: &[&Kind]) -> Vec<FieldChange> {
    let mut raw = Vec::new();
    compare("/spec", old.get("spec"), new.get("spec"), &mut raw);
    raw.into_iter()
        .map(|(pointer, old, new)| {
            let sensitive = secret_at(kinds, &pointer);
            fn text(v: Option<&Value>) -> Option<&str> {
                match v {
                    None => Some(""),
                    Some(Value::String(s)) => Some(s.as_str()),
                    Some(_) => None,
                }
            }
            let unified_diff = match (text(old), text(new)) {
                (Some(a), Some(b)) if !sensitive && (a.contains('\n') || b.contains('\n')) => Some(
                    similar::TextDiff::from_lines(a, b)
                        .unified_diff()
                        .context_radius(3)
                        .to_string(),
                ),
                _ => None,
            };
            FieldChange {
                old: old.map(|v| mask(kinds, &pointer, v)),
                new: new.map(|v| mask(kinds, &pointer, v)),
                pointer,
                sensitive,
                unified_diff,
            }
        })
        .collect()
}

type RawChange<'v> = (String, Option<&'v Value>, Option<&'v Value>);

/// Every changed leaf (or array) below `at`; tables are compared key by key, in key order.
fn compare<'v>(
    at: &str,
    old: Option<&'v Value>,
    new: Option<&'v Value>,
    out: &mut Vec<RawChange<'v>>,
) {
    if old == new {
        return;
    }
    let table = |v: Option<&'v Value>| match v {
        Some(Value::Object(m)) if !m.is_empty() => Some(m),
        _ => None,
    };
    match (old, new, table(old), table(new)) {
        (_, _, Some(a), Some(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = format!("{at}/{}", pointer::escape_segment(key));
                compare(&child, a.get(key), b.get(key), out);
            }
        }
        (Some(_), None, Some(a), None) => {
            for (key, value) in a {
                let child = format!("{at}/{}", pointer::escape_segment(key));
                compare(&child, Some(value), None, out);
            }
        }
        (None, Some(_), None, Some(b)) => {
            for (key, value) in b {
                let child = format!("{at}/{}", pointer::escape_segment(key));
                compare(&child, None, Some(value), out);
            }
        }
        _ => out.push((at.to_string(), old, new)),
    }
}

/// Whether `at` is, or lies within, a field one of the kinds declares secret.
fn secret_at(kinds: &[&Kind], at: &str) -> bool {
    let segments = pointer::segments(at);
    let mut prefix = String::new();
    for segment in segments {
        prefix.push('/');
        prefix.push_str(&pointer::escape_segment(&segment));
        if kinds.iter().any(|k| k.is_secret(&prefix)) {
            return true;
        }
    }
    false
}

/// `value` (at `at`) with every secret field in it replaced by the placeholder.
fn mask(kinds: &[&Kind], at: &str, value: &Value) -> Value {
    if secret_at(kinds, at) {
        return Value::String(PLACEHOLDER.to_string());
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let child = format!("{at}/{}", pointer::escape_segment(k));
                    (k.clone(), mask(kinds, &child, v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| mask(kinds, &format!("{at}/{i}"), v))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;

    #[test]
    fn fields_diff_by_pointer_with_text_as_a_unified_diff() {
        let old = serde_json::json!({"spec": {"a": 1, "t": {"x": "same", "y": [1, 2]}, "sql": "select 1\nfrom a\n"}});
        let new = serde_json::json!({"spec": {"a": 1, "t": {"x": "same", "y": [1, 3], "z": true}, "sql": "select 2\nfrom a\n"}});
        let fields = field_changes(&old, &new, &[]);
        let pointers: Vec<_> = fields.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/spec/sql", "/spec/t/y", "/spec/t/z"]);
        assert_eq!(
            fields[0].unified_diff.as_deref(),
            Some("@@ -1,2 +1,2 @@\n-select 1\n+select 2\n from a\n")
        );
        assert_eq!(fields[2].old, None);
        assert_eq!(fields[1].unified_diff, None);
    }

    #[test]
    fn secret_fields_show_only_the_placeholder() {
        let registry = Registry::builtin().unwrap();
        let kind = registry.get("data_source").unwrap();
        let old = serde_json::json!({"spec": {"connection": {"password": "(sensitive)", "host": "a"}, "config_files": [{"name": "k", "content": "(sensitive)"}]}});
        let new = serde_json::json!({"spec": {"connection": {"password": "hunter2\nsecond line", "host": "b"}, "config_files": [{"name": "k", "content": "canary-secret"}, {"name": "j", "content": "x"}]}});
        let fields = field_changes(&old, &new, &[kind]);
        let text = format!("{fields:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("canary-secret"),
            "{text}"
        );
        let password = fields
            .iter()
            .find(|f| f.pointer == "/spec/connection/password")
            .unwrap();
        assert!(password.sensitive && password.unified_diff.is_none());
        assert_eq!(password.new, Some(Value::String(PLACEHOLDER.into())));
    }
}
