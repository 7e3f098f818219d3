//! Objects, addresses and the object file format.
//!
//! An [`Object`] is one thing in a tenant: its `kind`, a `guid` that is the same in every
//! environment, a `name`, the `project` it lives in (for project-scoped kinds) and a `spec` of
//! kind-specific fields. Its [`Address`] (`kind/name` or `kind/project/name`) is the name people
//! use in files, references, selectors and output. [`file`] reads object files, [`canonical`] is
//! the only writer of them and [`path`] maps addresses to file paths and back.

pub mod canonical;
pub mod field_diff;
pub mod file;
pub mod hash;
pub mod path;
pub mod pointer;
pub mod text;

use std::fmt;

use serde_json::{Map, Value};
use uuid::Uuid;

/// Longest object name ferry accepts, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// One metadata object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The kind (a schema in `schemas/kinds/`).
    pub kind: String,
    /// Identity across tenants. `None` only for a file that has not been given one yet.
    pub guid: Option<Uuid>,
    /// The name, unique per kind (and project, for project-scoped kinds).
    pub name: String,
    /// The project, for project-scoped kinds.
    pub project: Option<String>,
    /// Kind-specific fields.
    pub spec: Map<String, Value>,
}

impl Object {
    /// The object's address.
    pub fn address(&self) -> Address {
        Address {
            kind: self.kind.clone(),
            project: self.project.clone(),
            name: self.name.clone(),
        }
    }

    /// The object as one JSON document (`kind`, `guid`, `name`, `project`, `spec`), the shape the
    /// kind schemas describe and JSON pointers address.
    pub fn to_document(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("kind".into(), Value::String(self.kind.clone()));
        if let Some(guid) = self.guid {
            doc.insert("guid".into(), Value::String(guid.to_string()));
        }
        doc.insert("name".into(), Value::String(self.name.clone()));
        if let Some(project) = &self.project {
            doc.insert("project".into(), Value::String(project.clone()));
        }
        doc.insert("spec".into(), Value::Object(self.spec.clone()));
        Value::Object(doc)
    }
}

/// The human name of an object: `kind/name`, or `kind/project/name` for project-scoped kinds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// The kind.
    pub kind: String,
    /// The project, for project-scoped kinds.
    pub project: Option<String>,
    /// The object's name.
    pub name: String,
}

impl Address {
    /// Parses `kind/name` or `kind/project/name`. Whether the kind is project-scoped is checked
    /// by the caller against the kind registry.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad = || AddressError::Malformed(text.to_string());
        let (kind, project, name) = match parts.as_slice() {
            [kind, name] => (*kind, None, *name),
            [kind, project, name] => (*kind, Some(*project), *name),
            _ => return Err(bad()),
        };
        if kind.is_empty() || name.is_empty() || project.is_some_and(str::is_empty) {
            return Err(bad());
        }
        Ok(Address {
            kind: kind.to_string(),
            project: project.map(str::to_string),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.project {
            Some(p) => write!(f, "{}/{}/{}", self.kind, p, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Why a text is not an address or a name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not `kind/name` or `kind/project/name`.
    #[error("`{}` is not an address: write `kind/name`, or `kind/project/name` for project-scoped kinds", text::excerpt(.0, 80))]
    Malformed(String),
    /// A name that cannot be part of an address.
    #[error("name `{}` {why}", text::excerpt(name, 80))]
    BadName {
        /// The offending name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Checks that `name` can be an object or project name: not empty, no `/` (it separates the parts
/// of an address), no control characters, at most [`MAX_NAME_CHARS`] characters. Any other
/// Unicode, CJK included, is allowed; [`path`] escapes what a file system cannot hold.
pub fn check_name(name: &str) -> Result<(), AddressError> {
    let why = if name.is_empty() {
        Some("is empty")
    } else if name.contains('/') {
        Some("contains `/`, which separates the parts of an address")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else if name.trim() != name {
        Some("starts or ends with white space")
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some("is longer than 255 characters")
    } else {
        None
    };
    match why {
        Some(why) => Err(AddressError::BadName {
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips() {
        for text in [
            "project/retail",
            "compute_task/sales/dwd_orders",
            "metric/销售/日销售额",
        ] {
            assert_eq!(Address::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for text in ["project", "a/b/c/d", "/x", "kind/", "k//n", ""] {
            assert!(Address::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_malformed_address_is_quoted_escaped_and_cut() {
        let text = format!("\u{1b}[31m{}", "x".repeat(500));
        let shown = Address::parse(&text).unwrap_err().to_string();
        assert!(shown.starts_with("`\\u{1b}[31mxxx"), "{shown}");
        assert!(shown.contains("… (505 bytes in all)"), "{shown}");
        assert!(!shown.contains('\u{1b}'));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("订单 表").is_ok());
        assert!(check_name("a/b").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(" a").is_err());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(256)).is_err());
    }
}
