//! The kind registry: every object kind is a JSON Schema with an `x-ferry` block, not Rust code.
//!
//! The built-in kinds are the files in `schemas/kinds/`, embedded into the binary at build time. A
//! repository may add its own kinds in its `schemas/kinds/` folder; files there named like a
//! built-in kind are the copies `ferry init` writes for editors and are not read (the binary's own
//! version is authoritative). `schemas/README.md` documents the `x-ferry` block.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::model::pointer;

include!(concat!(env!("OUT_DIR"), "/builtin_kinds.rs"));

/// The folder, in ferry's source and in every tenant repository, that holds kind schemas.
pub const KINDS_DIR: &str = "schemas/kinds";

/// The functional area an object belongs to: the export selector and the overview tabs of the
/// platform, and the second folder level of the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Platform-wide objects: data segments, compute and data sources, projects, calendars.
    Global,
    /// Data architecture: subject areas, business objects and activities.
    Architecture,
    /// Development: tasks, logical tables, metrics, resources, functions.
    Development,
    /// Tag (label) architecture: entities and their identifiers.
    LabelSchema,
    /// Tags (labels) and label views.
    Label,
    /// Data standards.
    Standard,
    /// Data quality.
    Quality,
    /// Data security.
    Security,
}

impl Category {
    /// Every category, in the platform's order.
    pub const ALL: [Category; 8] = [
        Category::Global,
        Category::Architecture,
        Category::Development,
        Category::LabelSchema,
        Category::Label,
        Category::Standard,
        Category::Quality,
        Category::Security,
    ];

    /// The name used in files and folders.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Global => "global",
            Category::Architecture => "architecture",
            Category::Development => "development",
            Category::LabelSchema => "label_schema",
            Category::Label => "label",
            Category::Standard => "standard",
            Category::Quality => "quality",
            Category::Security => "security",
        }
    }

    /// Parses a category name.
    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a kind's objects live at tenant level or inside a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Address `kind/name`.
    Tenant,
    /// Address `kind/project/name`; the object depends on `project/<project>`.
    Project,
}

/// A field that refers to other objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRule {
    /// JSON pointer (with `*` wildcards) of the field, from the document root.
    pub pointer: String,
    /// The kinds the field may point at.
    pub targets: Vec<String>,
    /// The pointer's segments, split once (see [`crate::model::pointer::segments`]).
    pub segments: Vec<String>,
}

/// When a kind's objects can be moved between tenants.
#[derive(Debug, Clone, PartialEq)]
pub enum Exportable {
    /// Always.
    Always,
    /// Never, for this reason.
    Never {
        /// Why not.
        reason: String,
    },
    /// Not when every listed field holds one of its listed values.
    NotWhen {
        /// Why not.
        reason: String,
        /// Pointer → values that make the object not exportable.
        when: BTreeMap<String, Vec<Value>>,
    },
}

impl Exportable {
    /// `Some(reason)` when an object with this `spec` cannot be exported.
    pub fn refuses(&self, spec: &serde_json::Map<String, Value>) -> Option<&str> {
        match self {
            Exportable::Always => None,
            Exportable::Never { reason } => Some(reason),
            Exportable::NotWhen { reason, when } => {
                let hit = when.iter().all(|(ptr, values)| {
                    crate::model::pointer::select_spec(spec, ptr)
                        .first()
                        .is_some_and(|(_, v)| values.contains(v))
                });
                hit.then_some(reason.as_str())
            }
        }
    }
}

/// One kind: its schema and what ferry needs to know about it.
#[derive(Debug, Clone)]
pub struct Kind {
    /// The kind's name.
    pub name: String,
    /// Its category.
    pub category: Category,
    /// Tenant- or project-scoped.
    pub scope: Scope,
    /// Reference fields.
    pub references: Vec<ReferenceRule>,
    /// Fields never exported.
    pub secrets: Vec<String>,
    /// Fields an environment overlay may change.
    pub env_specific: Vec<String>,
    /// Whether its objects can be moved.
    pub exportable: Exportable,
    /// Whether its objects are bound to the engine's cluster: a plan into a destination on
    /// another cluster puts a risk on their creates and updates.
    pub cluster_bound: bool,
    /// Fields the platform does not allow to change once an object exists (pointers, `*`
    /// wildcards allowed): a plan that changes one is refused.
    pub immutable: Vec<String>,
    /// Whether the kind ships with ferry.
    pub builtin: bool,
    /// The schema document.
    pub schema: Value,
    /// Where the schema came from (`(built-in)` or a file path), for messages.
    pub origin: String,
    validator: std::sync::Arc<jsonschema::Validator>,
}

impl Kind {
    /// The kind's compiled schema validator.
    pub fn validator(&self) -> &jsonschema::Validator {
        &self.validator
    }

    /// Whether a concrete pointer is one of the kind's secret fields.
    pub fn is_secret(&self, concrete: &str) -> bool {
        self.secrets.iter().any(|p| pointer::matches(p, concrete))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct XFerry {
    category: Category,
    scope: Scope,
    #[serde(default)]
    references: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    env_specific: Vec<String>,
    #[serde(default = "default_exportable")]
    exportable: XExportable,
    #[serde(default)]
    cluster_bound: bool,
    #[serde(default)]
    immutable: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum XExportable {
    Flag(bool),
    Rule {
        reason: String,
        #[serde(default)]
        when: BTreeMap<String, Vec<Value>>,
    },
}

fn default_exportable() -> XExportable {
    XExportable::Flag(true)
}

/// A kind schema that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    /// The file could not be read.
    #[error("cannot read kind schema {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The schema is not valid, or its `x-ferry` block is wrong.
    #[error("kind schema {origin}: {message}")]
    Invalid {
        /// The file (or `(built-in)`).
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Every known kind, by name.
#[derive(Debug, Clone)]
pub struct Registry {
    kinds: BTreeMap<String, Kind>,
}

impl Registry {
    /// The built-in kinds only.
    pub fn builtin() -> Result<Registry, KindError> {
        let mut kinds = BTreeMap::new();
        for (name, text) in BUILTIN_KINDS {
            let kind = Kind::from_text(name, text, "(built-in)".into(), true)?;
            kinds.insert(name.to_string(), kind);
        }
        let registry = Registry { kinds };
        registry.check_targets()?;
        Ok(registry)
    }

    /// The built-in kinds plus custom kinds given as `(kind, schema text, origin)`. Custom files
    /// named like a built-in kind are the copies `ferry init` writes for editors and are skipped.
    pub fn with_custom(
        custom: impl IntoIterator<Item = (String, String, String)>,
    ) -> Result<Registry, KindError> {
        let mut registry = Registry::builtin()?;
        for (name, text, origin) in custom {
            if registry.kinds.get(&name).is_some_and(|k| k.builtin) {
                continue;
            }
            let kind = Kind::from_text(&name, &text, origin, false)?;
            registry.kinds.insert(name, kind);
        }
        registry.check_targets()?;
        Ok(registry)
    }

    fn check_targets(&self) -> Result<(), KindError> {
        for kind in self.kinds.values() {
            for rule in &kind.references {
                for target in &rule.targets {
                    if !self.kinds.contains_key(target) {
                        return Err(KindError::Invalid {
                            origin: kind.origin.clone(),
                            message: format!(
                                "kind `{}`: reference {} names unknown kind `{target}`",
                                kind.name, rule.pointer
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// A kind by name.
    pub fn get(&self, name: &str) -> Option<&Kind> {
        self.kinds.get(name)
    }

    /// Every kind, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Kind> {
        self.kinds.values()
    }

    /// The names of every kind, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }
}

impl Kind {
    fn from_text(name: &str, text: &str, origin: String, builtin: bool) -> Result<Kind, KindError> {
        let invalid = |message: String| KindError::Invalid {
            origin: origin.clone(),
            message,
        };
        // The name is a path segment of every object file and address of the kind.
        let good_name = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !good_name {
            return Err(invalid(format!(
                "kind name `{}` (the file name before .schema.json) must be lower-case letters, digits and `_`, starting with a letter, at most 64 characters",
                crate::model::text::excerpt(name, 80)
            )));
        }
        let schema: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let x = schema
            .get("x-ferry")
            .ok_or_else(|| invalid("no `x-ferry` block (see schemas/README.md)".into()))?;
        let x: XFerry = serde_json::from_value(x.clone())
            .map_err(|e| invalid(format!("bad `x-ferry` block: {e}")))?;
        if schema
            .pointer("/properties/kind/const")
            .and_then(Value::as_str)
            != Some(name)
        {
            return Err(invalid(format!(
                "`properties.kind` must be {{\"const\": \"{name}\"}}, matching the file name"
            )));
        }
        for ptr in x.references.keys().chain(&x.secrets).chain(&x.env_specific) {
            if !ptr.starts_with("/spec/") {
                return Err(invalid(format!("pointer `{ptr}` must start with /spec/")));
            }
        }
        for ptr in &x.immutable {
            if let Some(problem) = pointer_problem(ptr) {
                return Err(invalid(format!("`immutable` pointer `{ptr}` {problem}")));
            }
        }
        // A project-scoped object lives in its project's folder: the schema must require one,
        // and a tenant-scoped kind must not have one.
        let requires_project = schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|f| f == "project"));
        let has_project = schema.pointer("/properties/project").is_some();
        match x.scope {
            Scope::Project if !(requires_project && has_project) => {
                return Err(invalid(
                    "`scope: project` needs a `project` property the schema requires: add \"project\": {\"type\": \"string\"} to `properties` and \"project\" to `required`".into(),
                ))
            }
            Scope::Tenant if has_project => {
                return Err(invalid(
                    "a `project` property needs `scope: project` in `x-ferry` (tenant-scoped objects belong to no project)".into(),
                ))
            }
            _ => {}
        }
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|e| invalid(format!("not a valid JSON Schema: {e}")))?;
        let exportable = match x.exportable {
            XExportable::Flag(true) => Exportable::Always,
            XExportable::Flag(false) => {
                return Err(invalid(
                    "`exportable: false` needs a reason: write {\"reason\": \"…\"}".into(),
                ))
            }
            XExportable::Rule { reason, when } if when.is_empty() => Exportable::Never { reason },
            XExportable::Rule { when, .. } if when.keys().any(|p| !p.starts_with("/spec/")) => {
                return Err(invalid(
                    "`exportable.when` pointers must start with /spec/".into(),
                ))
            }
            XExportable::Rule { reason, when } => Exportable::NotWhen { reason, when },
        };
        Ok(Kind {
            name: name.to_string(),
            category: x.category,
            scope: x.scope,
            references: x
                .references
                .into_iter()
                .map(|(pointer, targets)| ReferenceRule {
                    segments: crate::model::pointer::segments(&pointer),
                    pointer,
                    targets,
                })
                .collect(),
            secrets: x.secrets,
            env_specific: x.env_specific,
            exportable,
            cluster_bound: x.cluster_bound,
            immutable: x.immutable,
            builtin,
            schema,
            origin,
            validator: std::sync::Arc::new(validator),
        })
    }

    /// The schema node that describes the value at `path` (concrete segments below the root),
    /// following `properties`, `items` and local `$ref`s; `None` when the schema does not say.
    pub fn schema_at(&self, path: &[&str]) -> Option<&Value> {
        let mut node = self.resolve(&self.schema)?;
        for seg in path {
            let prop = node
                .get("properties")
                .and_then(Value::as_object)
                .and_then(|props| props.get(*seg));
            node = if let Some(prop) = prop {
                self.resolve(prop)?
            } else if let Some(items) = node.get("items") {
                self.resolve(items)?
            } else if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
                self.resolve(extra)?
            } else {
                return None;
            };
        }
        Some(node)
    }

    fn resolve<'a>(&'a self, node: &'a Value) -> Option<&'a Value> {
        let mut node = node;
        for _ in 0..16 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(r) => node = self.schema.pointer(r.strip_prefix('#')?)?,
                None => return Some(node),
            }
        }
        None
    }
}

/// What is wrong with a field pointer of an `x-ferry` block, if anything: it must start with
/// `/spec/`, have no empty segment, and escape `~` only as `~0` or `~1` (RFC 6901).
fn pointer_problem(ptr: &str) -> Option<&'static str> {
    let Some(rest) = ptr.strip_prefix("/spec/") else {
        return Some("must start with /spec/");
    };
    if rest.split('/').any(str::is_empty) {
        return Some("has an empty segment");
    }
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Some("has a `~` that is not `~0` or `~1`");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_kind_loads_and_references_known_kinds() {
        let registry = Registry::builtin().expect("built-in kinds load");
        assert!(registry.get("project").is_some());
        for kind in registry.iter() {
            for rule in &kind.references {
                for target in &rule.targets {
                    assert!(registry.get(target).is_some(), "{} → {target}", kind.name);
                }
            }
        }
    }

    #[test]
    fn every_pointer_names_a_schema_property() {
        let registry = Registry::builtin().unwrap();
        for kind in registry.iter() {
            let pointers = kind
                .references
                .iter()
                .map(|r| &r.pointer)
                .chain(&kind.secrets)
                .chain(&kind.env_specific)
                .chain(&kind.immutable);
            for ptr in pointers {
                let segs = pointer::segments(ptr);
                let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
                assert!(
                    kind.schema_at(&segs).is_some(),
                    "{}: pointer {ptr} names no property of the schema",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn project_scoped_kinds_require_a_project() {
        let registry = Registry::builtin().unwrap();
        for kind in registry.iter() {
            let required = kind.schema["required"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let needs = required.contains(&Value::String("project".into()));
            assert_eq!(needs, kind.scope == Scope::Project, "{}", kind.name);
            assert_eq!(
                kind.schema["additionalProperties"],
                Value::Bool(false),
                "{}",
                kind.name
            );
        }
    }

    /// A one-field kind schema with the given `x-ferry` block.
    fn schema(x_ferry: &str) -> String {
        format!(
            r#"{{"type": "object", "properties": {{"kind": {{"const": "gadget"}},
                "spec": {{"type": "object", "properties": {{"code": {{"type": "string"}}}}}}}},
                "x-ferry": {x_ferry}}}"#
        )
    }

    fn load(x_ferry: &str) -> Result<Kind, KindError> {
        Kind::from_text(
            "gadget",
            &schema(x_ferry),
            "gadget.schema.json".into(),
            false,
        )
    }

    #[test]
    fn cluster_bound_and_immutable_are_read_from_the_block() {
        let plain = load(r#"{"category": "global", "scope": "tenant"}"#).unwrap();
        assert!(!plain.cluster_bound);
        assert!(plain.immutable.is_empty());
        let kind = load(
            r#"{"category": "global", "scope": "tenant", "cluster_bound": true,
                "immutable": ["/spec/code", "/spec/parts/*/id", "/spec/a~1b"]}"#,
        )
        .unwrap();
        assert!(kind.cluster_bound);
        assert_eq!(
            kind.immutable,
            ["/spec/code", "/spec/parts/*/id", "/spec/a~1b"]
        );
        let registry = Registry::builtin().unwrap();
        let bound: Vec<&str> = registry
            .iter()
            .filter(|k| k.cluster_bound)
            .map(|k| k.name.as_str())
            .collect();
        assert_eq!(bound, ["compute_source", "project"]);
        assert_eq!(
            registry.get("data_source_type").unwrap().immutable,
            ["/spec/type_code"]
        );
    }

    #[test]
    fn bad_cluster_bound_or_immutable_declarations_are_refused() {
        for (block, message) in [
            (
                r#""cluster_bound": "yes""#,
                "bad `x-ferry` block: invalid type: string \"yes\", expected a boolean",
            ),
            (
                r#""immutable": "/spec/code""#,
                "bad `x-ferry` block: invalid type: string \"/spec/code\", expected a sequence",
            ),
            (
                r#""immutable": ["/name"]"#,
                "`immutable` pointer `/name` must start with /spec/",
            ),
            (
                r#""immutable": ["/spec//code"]"#,
                "`immutable` pointer `/spec//code` has an empty segment",
            ),
            (
                r#""immutable": ["/spec/code/"]"#,
                "`immutable` pointer `/spec/code/` has an empty segment",
            ),
            (
                r#""immutable": ["/spec/a~2b"]"#,
                "`immutable` pointer `/spec/a~2b` has a `~` that is not `~0` or `~1`",
            ),
            (
                r#""order": 100"#,
                "bad `x-ferry` block: unknown field `order`",
            ),
        ] {
            let err = load(&format!(
                r#"{{"category": "global", "scope": "tenant", {block}}}"#
            ))
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with(&format!("kind schema gadget.schema.json: {message}")),
                "{block}: {err}"
            );
        }
    }
}
