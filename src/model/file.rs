//! Reading object files: TOML text → a JSON document → an [`Object`], with line and column for
//! every problem.
//!
//! Object files are TOML; kind schemas are JSON Schema; so a file is parsed into a
//! `serde_json::Value` document (TOML dates and times become strings). Positions are computed
//! only when a problem needs one: [`position_of`] re-parses the text with spans and walks to the
//! JSON pointer concerned.

use serde_json::{Map, Number, Value};
use uuid::Uuid;

use super::pointer;
use super::Object;

/// A line and column, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// The position of a byte offset in `text`.
pub fn position_at(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, index: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut index: usize) -> usize {
        while !self.is_char_boundary(index) {
            index -= 1;
        }
        index
    }
}

/// A TOML syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// What the parser said, on one line.
    pub message: String,
    /// Where.
    pub position: Option<Position>,
}

/// Parses TOML text into a JSON document.
pub fn parse_document(text: &str) -> Result<Value, SyntaxError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| SyntaxError {
        message: e.message().trim().replace('\n', " "),
        position: e.span().map(|s| position_at(text, s.start)),
    })?;
    toml_table_to_json(table).map_err(|message| SyntaxError {
        message,
        position: None,
    })
}

fn toml_table_to_json(table: toml::Table) -> Result<Value, String> {
    // Sized exactly: a repository holds hundreds of thousands of these tables.
    let mut map = Map::with_capacity(table.len());
    for (k, v) in table {
        map.insert(k, toml_to_json(v)?);
    }
    Ok(Value::Object(map))
}

fn toml_to_json(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Number(i.into()),
        toml::Value::Float(f) => {
            Value::Number(Number::from_f64(f).ok_or_else(|| format!("{f} is not a finite number"))?)
        }
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(toml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => toml_table_to_json(t)?,
    })
}

/// Where the value at a JSON pointer is written in the TOML text: the deepest part of the
/// pointer that exists (so a missing field points at its table).
pub fn position_of(text: &str, json_pointer: &str) -> Option<Position> {
    use toml::de::{DeTable, DeValue};
    if json_pointer.is_empty() {
        // The document itself: its first line.
        return Some(Position { line: 1, column: 1 });
    }
    let root = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut table: Option<&DeTable> = Some(root.get_ref());
    let mut array: Option<&toml::de::DeArray> = None;
    for seg in pointer::segments(json_pointer) {
        let next = if let Some(t) = table {
            t.iter()
                .find(|(k, _)| k.get_ref().as_ref() == seg)
                .map(|(k, v)| (k.span(), v))
        } else if let Some(a) = array {
            seg.parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .map(|v| (v.span(), v))
        } else {
            None
        };
        let Some((at, value)) = next else { break };
        span = Some(at);
        table = None;
        array = None;
        match value.get_ref() {
            DeValue::Table(t) => table = Some(t),
            DeValue::Array(a) => array = Some(a),
            _ => {}
        }
    }
    span.map(|s| position_at(text, s.start))
}

/// The header fields of a document that the schema has accepted, as an [`Object`].
///
/// Call after schema validation; the errors here are what a schema cannot say.
pub fn object_from_document(doc: Value) -> Result<Object, String> {
    let Value::Object(mut map) = doc else {
        return Err("the file is not a table".into());
    };
    if let Some(key) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "kind" | "guid" | "name" | "project" | "spec"))
    {
        return Err(format!(
            "unknown top-level field `{key}`: an object file holds kind, guid, name, project and [spec]"
        ));
    }
    let mut field = |key: &str| -> Result<Option<String>, String> {
        match map.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("`{key}` must be a string")),
        }
    };
    let kind = field("kind")?.ok_or("`kind` is missing")?;
    let name = field("name")?.ok_or("`name` is missing")?;
    let project = field("project")?;
    let guid = match field("guid")? {
        None => None,
        Some(s) => Some(Uuid::parse_str(&s).map_err(|_| format!("guid `{s}` is not a UUID"))?),
    };
    let spec = match map.remove("spec") {
        Some(Value::Object(m)) => m,
        None => Map::new(),
        Some(_) => return Err("`spec` must be a table".into()),
    };
    Ok(Object {
        kind,
        guid,
        name,
        project,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "kind = \"project\"\nname = \"销售\"\n\n[spec]\nmode = \"x\"\nlist = [\"a\", \"b\"]\n\n[[spec.rows]]\nv = 1\n";

    #[test]
    fn positions_follow_pointers() {
        assert_eq!(
            position_of(TEXT, "/spec/mode"),
            Some(Position { line: 5, column: 1 })
        );
        assert_eq!(position_of(TEXT, "/spec/list/1").map(|p| p.line), Some(6));
        assert_eq!(position_of(TEXT, "/spec/rows/0/v").map(|p| p.line), Some(9));
        assert_eq!(position_of(TEXT, "/spec/missing").map(|p| p.line), Some(4));
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let err = parse_document("kind = \"a\"\nname = \n").unwrap_err();
        assert_eq!(err.position.map(|p| p.line), Some(2));
    }

    #[test]
    fn column_counts_characters() {
        assert_eq!(position_at("名前 = 1", 6), Position { line: 1, column: 3 });
    }
}
