//! The field differ: the changed fields of two versions of an object, by JSON pointer, the one
//! comparison behind `ferry diff` (an object at two commits) and `ferry plan` (desired against
//! the destination, and the destination against what ferry last applied, for drift).
//!
//! Every changed leaf value (or array, as a whole) under `/spec` is one [`FieldChange`]; tables
//! are compared key by key, in key order. Text that holds line breaks (SQL, code) also carries a
//! unified diff. A field that a kind declares secret (or lies within one) shows only
//! [`PLACEHOLDER`], whatever the documents hold, and never a unified diff. [`new_fields`] lists
//! a new object (a plan's create) the same way: every leaf, old absent, masked by the same
//! code. [`element_changes`] splits a changed array into the elements removed and added, for
//! display.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

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
    /// For text with line breaks: the change as unified diff hunks (`@@ … @@` lines on). `None`
    /// for the fields of a new object ([`new_fields`]): the text is all in `new`.
    pub unified_diff: Option<String>,
    /// In a plan with an environment: the line of the environment file whose override set the
    /// field's new value (`environments/prod.toml:12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<String>,
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
            masked(kinds, pointer, old, new, sensitive, unified_diff)
        })
        .collect()
}

/// Every field of a new object's `spec`, as changes from absent: one per leaf value (or array),
/// in pointer order, masked as [`field_changes`] masks, without unified diffs (a new text is
/// shown whole, from `new`). What a plan shows of a create.
pub fn new_fields(spec: &Map<String, Value>, kinds: &[&Kind]) -> Vec<FieldChange> {
    let mut raw = Vec::new();
    let keys: BTreeSet<&String> = spec.keys().collect();
    for key in keys {
        let at = format!("/spec/{}", pointer::escape_segment(key));
        compare(&at, None, spec.get(key), &mut raw);
    }
    raw.into_iter()
        .map(|(pointer, old, new)| {
            let sensitive = secret_at(kinds, &pointer);
            masked(kinds, pointer, old, new, sensitive, None)
        })
        .collect()
}

/// The change at `pointer`, its values masked.
fn masked(
    kinds: &[&Kind],
    pointer: String,
    old: Option<&Value>,
    new: Option<&Value>,
    sensitive: bool,
    unified_diff: Option<String>,
) -> FieldChange {
    FieldChange {
        old: old.map(|v| mask(kinds, &pointer, v)),
        new: new.map(|v| mask(kinds, &pointer, v)),
        pointer,
        sensitive,
        unified_diff,
        set_by: None,
    }
}

/// One element of a changed array, for display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ElementChange<'v> {
    /// An element only the old array has.
    Removed(&'v Value),
    /// An element only the new array has.
    Added(&'v Value),
}

/// A changed array as the elements removed and added (a longest-common-subsequence diff, in
/// array order; elements both arrays keep in place are left out). `None` when the change is
/// not between two arrays, or when the arrays differ in nothing that shows (secrets inside
/// them are masked).
pub fn element_changes<'v>(change: &'v FieldChange) -> Option<Vec<ElementChange<'v>>> {
    let (Some(Value::Array(old)), Some(Value::Array(new))) = (&change.old, &change.new) else {
        return None;
    };
    if change.sensitive {
        return None;
    }
    let key = |items: &[Value]| items.iter().map(Value::to_string).collect::<Vec<_>>();
    let (old_keys, new_keys) = (key(old), key(new));
    let mut out = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_keys, &new_keys) {
        let (tag, removed, added) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        out.extend(old[removed].iter().map(ElementChange::Removed));
        out.extend(new[added].iter().map(ElementChange::Added));
    }
    (!out.is_empty()).then_some(out)
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
            for key in a.keys().collect::<BTreeSet<_>>() {
                let child = format!("{at}/{}", pointer::escape_segment(key));
                compare(&child, a.get(key), None, out);
            }
        }
        (None, Some(_), None, Some(b)) => {
            for key in b.keys().collect::<BTreeSet<_>>() {
                let child = format!("{at}/{}", pointer::escape_segment(key));
                compare(&child, None, b.get(key), out);
            }
        }
        _ => out.push((at.to_string(), old, new)),
    }
}

/// Whether `at` is, or lies within, a field one of the kinds declares secret. Runs for every
/// field of every object a plan creates, so it compares the escaped segments in place instead of
/// building pointers.
fn secret_at(kinds: &[&Kind], at: &str) -> bool {
    secrets(kinds).any(|pattern| leads(pattern, at))
}

/// Whether a secret field lies strictly within `at`.
fn secret_within(kinds: &[&Kind], at: &str) -> bool {
    secrets(kinds).any(|pattern| leads(at, pattern) && !leads(pattern, at))
}

fn secrets<'k>(kinds: &'k [&Kind]) -> impl Iterator<Item = &'k str> {
    kinds
        .iter()
        .flat_map(|k| k.secrets.iter())
        .map(String::as_str)
        .filter(|p| !p.is_empty())
}

/// Whether the segments of `head` match the first segments of `pointer` (`*` in either matches
/// any one segment): `pointer` is, or lies within, what `head` names.
fn leads(head: &str, pointer: &str) -> bool {
    let mut rest = pointer.split('/');
    head.split('/')
        .all(|h| rest.next().is_some_and(|p| h == p || h == "*" || p == "*"))
}

/// `value` (at `at`) with every secret field in it replaced by the placeholder.
fn mask(kinds: &[&Kind], at: &str, value: &Value) -> Value {
    if secret_at(kinds, at) {
        return Value::String(PLACEHOLDER.to_string());
    }
    if !secret_within(kinds, at) {
        return value.clone();
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

    #[test]
    fn a_new_object_is_every_leaf_in_pointer_order_with_secrets_masked() {
        let registry = Registry::builtin().unwrap();
        let kind = registry.get("data_source").unwrap();
        // File order, not pointer order.
        let new = serde_json::json!({
            "type": "mysql",
            "description": "two\nlines\n",
            "connection": {"port": 3306, "password": "canary-secret", "host": "h"},
            "config_files": [{"name": "k", "content": "canary-file"}],
            "empty": {},
        });
        let fields = new_fields(new.as_object().unwrap(), &[kind]);
        let pointers: Vec<_> = fields.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/spec/config_files",
                "/spec/connection/host",
                "/spec/connection/password",
                "/spec/connection/port",
                "/spec/description",
                "/spec/empty",
                "/spec/type",
            ]
        );
        assert!(fields
            .iter()
            .all(|f| f.old.is_none() && f.unified_diff.is_none()));
        let text = format!("{fields:?}");
        assert!(!text.contains("canary"), "{text}");
        assert!(fields[2].sensitive);
        assert_eq!(fields[2].new, Some(Value::String(PLACEHOLDER.into())));
        assert_eq!(
            fields[0].new,
            Some(serde_json::json!([{"name": "k", "content": PLACEHOLDER}]))
        );
        // The same masking as an update's.
        let updated = field_changes(
            &serde_json::json!({}),
            &serde_json::json!({"spec": new}),
            &[kind],
        );
        let values = |fs: &[FieldChange]| -> Vec<Option<Value>> {
            fs.iter().map(|f| f.new.clone()).collect()
        };
        assert_eq!(values(&updated), values(&fields));
    }

    #[test]
    fn secret_fields_are_found_by_their_leading_segments() {
        let registry = Registry::builtin().unwrap();
        let kind = registry.get("data_source").unwrap();
        let at = |p: &str| secret_at(&[kind], p);
        assert!(at("/spec/connection/password"));
        assert!(at("/spec/connection/password/x"));
        assert!(at("/spec/config_files/3/content"));
        assert!(!at("/spec/config_files/3/name"));
        assert!(!at("/spec/connection/password_hint"));
        assert!(!at("/spec/connection"));
        assert!(!at("/spec"));
        let within = |p: &str| secret_within(&[kind], p);
        assert!(within("/spec/connection") && within("/spec/config_files/3"));
        assert!(!within("/spec/connection/password") && !within("/spec/connection/host"));
        assert!(!secret_at(&[], "/spec/connection/password"));
    }

    #[test]
    fn arrays_split_into_the_elements_removed_and_added() {
        let change = |old: Value, new: Value| FieldChange {
            pointer: "/spec/a".into(),
            old: Some(old),
            new: Some(new),
            sensitive: false,
            unified_diff: None,
            set_by: None,
        };
        let (a, b, c, d) = (
            Value::from("a"),
            Value::from("b"),
            Value::from("c"),
            Value::from("d"),
        );
        let renamed = change(
            serde_json::json!(["a", "b", "c"]),
            serde_json::json!(["a", "d", "c"]),
        );
        assert_eq!(
            element_changes(&renamed),
            Some(vec![ElementChange::Removed(&b), ElementChange::Added(&d)])
        );
        let grown = change(serde_json::json!([]), serde_json::json!(["a", "c"]));
        assert_eq!(
            element_changes(&grown),
            Some(vec![ElementChange::Added(&a), ElementChange::Added(&c)])
        );
        // Not two arrays; or nothing that shows (masked secrets alike).
        assert_eq!(
            element_changes(&change(Value::from("a"), serde_json::json!(["a"]))),
            None
        );
        let masked = serde_json::json!([{"content": PLACEHOLDER}]);
        assert_eq!(element_changes(&change(masked.clone(), masked)), None);
        let mut secret = renamed.clone();
        secret.sensitive = true;
        assert_eq!(element_changes(&secret), None);
    }
}
