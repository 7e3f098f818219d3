//! The canonical form of an object file: the only writer of object files.
//!
//! ```toml
//! #:schema ../../../schemas/kinds/project.schema.json
//! kind = "project"
//! guid = "…"
//! name = "sales"
//!
//! [spec]
//! …
//! ```
//!
//! - a first line `#:schema <path>` giving the kind's schema relative to the file, so editors that
//!   understand it (taplo, Even Better TOML) validate and complete offline;
//! - the header keys in the fixed order `kind`, `guid`, `name`, `project`, then the `[spec]` table;
//! - inside `spec`, at every level, keys in the order the kind schema lists its `properties`,
//!   then keys the schema does not name in byte order; plain values before sub-tables and arrays
//!   of tables (as TOML requires);
//! - strings that hold a line break (SQL, code) as multi-line strings;
//! - LF line ends and exactly one trailing newline.
//!
//! The same object always gives the same bytes, and canonical text parsed and written again is
//! unchanged (a property test holds both).

use serde_json::Value;

use crate::kinds::Kind;

use super::Object;

/// The relative path from an object file to its kind's schema in the same repository.
pub fn schema_line(kind: &str, project_scoped: bool) -> String {
    let up = if project_scoped {
        "../../../../"
    } else {
        "../../../"
    };
    format!("#:schema {up}schemas/kinds/{kind}.schema.json")
}

/// Why an object cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write {address}: {message}")]
pub struct WriteError {
    /// The object's address.
    pub address: String,
    /// What value cannot be TOML.
    pub message: String,
}

/// The canonical text of an object. `kind` gives the key order; `None` (an unknown kind) sorts
/// every key.
pub fn to_canonical(object: &Object, kind: Option<&Kind>) -> Result<String, WriteError> {
    let fail = |message: String| WriteError {
        address: object.address().to_string(),
        message,
    };
    // The kind is written in the `#:schema` comment too, where a line break would end the
    // comment and make the rest of the kind TOML, and other control characters are not allowed.
    if object.kind.chars().any(char::is_control) {
        return Err(fail(format!(
            "the kind `{}` holds a control character, which the `#:schema` line cannot hold",
            super::text::excerpt(&object.kind, 60)
        )));
    }
    let mut top = toml::Table::new();
    top.insert("kind".into(), toml::Value::String(object.kind.clone()));
    if let Some(guid) = object.guid {
        top.insert("guid".into(), toml::Value::String(guid.to_string()));
    }
    top.insert("name".into(), toml::Value::String(object.name.clone()));
    if let Some(project) = &object.project {
        top.insert("project".into(), toml::Value::String(project.clone()));
    }
    let spec_schema = kind.and_then(|k| k.schema_at(&["spec"]));
    let spec = ordered_table(kind, spec_schema, &object.spec).map_err(fail)?;
    top.insert("spec".into(), toml::Value::Table(spec));
    let body = toml::to_string(&top).map_err(|e| fail(e.to_string()))?;
    let mut text = schema_line(&object.kind, object.project.is_some());
    text.push('\n');
    text.push_str(body.trim_end_matches('\n'));
    text.push('\n');
    Ok(text)
}

fn ordered_table(
    kind: Option<&Kind>,
    schema: Option<&Value>,
    map: &serde_json::Map<String, Value>,
) -> Result<toml::Table, String> {
    let props = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    let mut keys: Vec<&String> = Vec::with_capacity(map.len());
    if let Some(props) = props {
        keys.extend(props.keys().filter(|k| map.contains_key(*k)));
    }
    let mut rest: Vec<&String> = map
        .keys()
        .filter(|k| !props.is_some_and(|p| p.contains_key(*k)))
        .collect();
    rest.sort();
    keys.extend(rest);
    let mut table = toml::Table::new();
    for key in keys {
        let child = props
            .and_then(|p| p.get(key))
            .and_then(|s| resolve(kind, s));
        table.insert(key.clone(), to_toml(kind, child, &map[key])?);
    }
    Ok(table)
}

fn resolve<'a>(kind: Option<&'a Kind>, node: &'a Value) -> Option<&'a Value> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => kind?.schema.pointer(r.strip_prefix('#')?),
        None => Some(node),
    }
}

fn to_toml(
    kind: Option<&Kind>,
    schema: Option<&Value>,
    value: &Value,
) -> Result<toml::Value, String> {
    Ok(match value {
        Value::Null => {
            return Err("a null value cannot be written in TOML; remove the field".into())
        }
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(f)) if n.is_f64() => toml::Value::Float(f),
            _ => return Err(format!("number {n} does not fit a TOML integer")),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => {
            let item_schema = schema
                .and_then(|s| s.get("items"))
                .and_then(|s| resolve(kind, s));
            toml::Value::Array(
                items
                    .iter()
                    .map(|v| to_toml(kind, item_schema, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Object(map) => toml::Value::Table(ordered_table(kind, schema, map)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;
    use crate::model::file;
    use proptest::prelude::*;
    use serde_json::json;

    fn object(spec: Value) -> Object {
        Object {
            kind: "project".into(),
            guid: Some(uuid::Uuid::from_u128(0x1234)),
            name: "sales".into(),
            project: None,
            spec: spec.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn keys_follow_the_schema_then_byte_order() {
        let registry = Registry::builtin().unwrap();
        let obj = object(json!({
            "zeta": 1, "compute_sources": ["compute_source/mc"], "display_name": "Sales", "alpha": "a\nb\n"
        }));
        let text = to_canonical(&obj, registry.get("project")).unwrap();
        let expected = "#:schema ../../../schemas/kinds/project.schema.json\n\
            kind = \"project\"\nguid = \"00000000-0000-0000-0000-000000001234\"\nname = \"sales\"\n\n\
            [spec]\ndisplay_name = \"Sales\"\ncompute_sources = [\"compute_source/mc\"]\nalpha = \"\"\"\na\nb\n\"\"\"\nzeta = 1\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn empty_spec_is_written() {
        let text = to_canonical(&object(json!({})), None).unwrap();
        assert!(text.ends_with("name = \"sales\"\n\n[spec]\n"), "{text}");
    }

    #[test]
    fn a_kind_with_a_control_character_is_refused() {
        for kind in ["\u{0}", "project\n[spec]\nx = 1", "a\u{1b}[31m"] {
            let mut obj = object(json!({}));
            obj.kind = kind.into();
            let err = to_canonical(&obj, None).unwrap_err();
            assert!(
                err.message
                    .ends_with("holds a control character, which the `#:schema` line cannot hold"),
                "{err}"
            );
            assert!(!err.message.contains(kind), "{err}");
        }
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            (-1.0e12f64..1.0e12).prop_map(|f| json!(f)),
            "\\PC{0,12}".prop_map(Value::String),
            "[a-z '\"\\\\\n\t]{0,30}".prop_map(Value::String),
            Just(Value::String(
                "SELECT *\nFROM t\nWHERE a = '''x''' AND b = \"\"\"\n".into()
            )),
        ]
    }

    fn spec_value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,8}|\\PC{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_round_trips(
            spec in prop::collection::btree_map("[a-z_]{1,10}", spec_value(), 0..6),
            name in "\\PC{1,20}",
        ) {
            let registry = Registry::builtin().unwrap();
            let mut obj = object(Value::Object(spec.into_iter().collect()));
            obj.name = name;
            let text = to_canonical(&obj, registry.get("project")).unwrap();
            let doc = file::parse_document(&text).unwrap();
            let back = file::object_from_document(doc).unwrap();
            prop_assert_eq!(&back, &obj);
            let again = to_canonical(&back, registry.get("project")).unwrap();
            prop_assert_eq!(again, text);
        }
    }
}
