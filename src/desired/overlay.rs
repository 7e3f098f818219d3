//! The overlay step of the pipeline: the desired objects with an environment's overrides
//! applied, and the secrets it says where to find.
//!
//! ```text
//! desired (git ref) → overlay (environment) → actual → plan::build
//! ```
//!
//! An override sets fields the kind's schema lists as `env_specific` on the objects its
//! selector chooses; a selector that matches nothing, a field that is not `env_specific` (or
//! is secret), an element that is not there, and an object that no longer fits its kind's
//! schema afterwards are errors naming the environment file's line and the object. Everything
//! after this step (hashes, drift, the applied record) is of the overlaid objects.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use uuid::Uuid;

use super::environment::{EnvError, EnvProblem, Environment, FieldPath, SecretFrom, Segment};
use crate::graph::Graph;
use crate::kinds::{Category, Registry};
use crate::model::{text, Object};

/// A field an override set: its concrete pointer and the line of the environment file that set
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetField {
    /// The concrete pointer (`/spec/connection/host`).
    pub pointer: String,
    /// `environments/prod.toml:12`.
    pub by: String,
    /// The field as the environment file names it (array elements by key), to find it in
    /// another version of the object (`export --env` compares the tenant's).
    pub field: FieldPath,
    /// The value the override sets.
    pub value: Value,
}

/// A secret the environment supplies to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededSecret {
    /// The object.
    pub guid: Uuid,
    /// Its address.
    pub address: String,
    /// The concrete secret pointer (`/spec/config_files/1/content`).
    pub pointer: String,
    /// The field as the environment file names it.
    pub field: String,
    /// The same, parsed.
    pub path: FieldPath,
    /// Where the value comes from.
    pub from: SecretFrom,
    /// `environments/prod.toml:20`.
    pub by: String,
}

/// What the overlay did.
#[derive(Debug, Clone, Default)]
pub struct Overlaid {
    /// The fields set, per object, sorted by pointer.
    pub set: HashMap<Uuid, Vec<SetField>>,
    /// Per object an override chose: the [`Keys::digest`] of the overrides that chose it, which
    /// the applied record keeps beside the file's blob id.
    pub digests: HashMap<Uuid, String>,
    /// Over the objects left unread (`unread` of [`apply`]): how many fields the overrides set
    /// on them, and on how many, so a plan counts every object's overrides, read or not.
    pub unread_counts: (usize, usize),
    /// The secrets the environment supplies, by address then pointer.
    pub secrets: Vec<NeededSecret>,
}

impl Overlaid {
    /// The line that set `pointer` of `guid`, if an override did.
    pub fn set_by(&self, guid: Uuid, pointer: &str) -> Option<&str> {
        self.set
            .get(&guid)?
            .iter()
            .find(|f| f.pointer == pointer)
            .map(|f| f.by.as_str())
    }
}

/// What the overrides of an environment whose selectors do not use the graph do to one object,
/// told from its address alone: what a plan needs to know to leave an object's file unread.
#[derive(Debug)]
pub struct Keys<'e> {
    env: &'e Environment,
}

/// What [`Keys::expect`] says of one object file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// It must be read (a secret entry chooses it: its elements are found by key).
    Read,
    /// It may be left unread if ferry last applied it with these overrides (`None`: none).
    Digest(Option<String>),
}

impl<'e> Keys<'e> {
    /// Keys for `env`; `None` when a selector of an override or secret uses the graph (`+`,
    /// `@`), which only the whole graph answers.
    pub fn new(env: &'e Environment) -> Option<Keys<'e>> {
        let graph = env.overrides.iter().any(|o| o.select.uses_graph())
            || env.secrets.iter().any(|s| s.select.uses_graph());
        (!graph).then_some(Keys { env })
    }

    /// What the environment asks of the object at `address`, of `category`.
    pub fn expect(&self, address: &crate::model::Address, category: Category) -> Expect {
        if self
            .env
            .secrets
            .iter()
            .any(|s| s.select.matches_one(address, category))
        {
            return Expect::Read;
        }
        Expect::Digest(digest(
            self.env
                .overrides
                .iter()
                .filter(|o| o.select.matches_one(address, category)),
        ))
    }
}

/// blake3 over the fields and values of `overrides` (in file order), `None` when there are
/// none: equal digests give an object the same values.
fn digest<'o>(overrides: impl Iterator<Item = &'o super::environment::Override>) -> Option<String> {
    let mut hasher = blake3::Hasher::new();
    let mut any = false;
    for o in overrides {
        for (field, value, _) in &o.set {
            any = true;
            hasher.update(field.text.as_bytes());
            hasher.update(b"\0");
            hasher.update(crate::model::hash::canonical_json(value).as_bytes());
            hasher.update(b"\n");
        }
    }
    any.then(|| hasher.finalize().to_hex()[..32].to_string())
}

/// Applies `env` to `objects`: every desired object, or, for a plan that left files unread,
/// those read, with `unread` the (address, category) of the others (an override's selector
/// must match something among either).
pub fn apply(
    env: &Environment,
    objects: &mut [Object],
    registry: &Registry,
    unread: &[(crate::model::Address, Category)],
) -> Result<Overlaid, EnvError> {
    let mut problems: Vec<EnvProblem> = Vec::new();
    let graph = Graph::build(objects.iter(), registry);
    let at: HashMap<String, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.address().to_string(), i))
        .collect();
    let chosen = |select: &crate::select::Selector, line: usize, problems: &mut Vec<EnvProblem>| {
        match select.select(&graph) {
            Ok(set) => set
                .iter()
                .filter_map(|a| at.get(&a.to_string()).copied())
                .collect::<Vec<usize>>(),
            Err(_) if unread.iter().any(|(a, c)| select.matches_one(a, *c)) => Vec::new(),
            Err(e) => {
                problems.push(EnvProblem {
                    line,
                    message: format!("{e}: a selector that matches nothing is an error, so that a typo cannot leave this environment with another's values"),
                });
                Vec::new()
            }
        }
    };
    // Per object: pointer → (value, line, field); a later override wins.
    let mut sets: BTreeMap<usize, BTreeMap<String, (Value, usize, FieldPath)>> = BTreeMap::new();
    // Per object: the overrides that chose it, in file order.
    let mut choosers: BTreeMap<usize, Vec<&super::environment::Override>> = BTreeMap::new();
    for o in &env.overrides {
        for i in chosen(&o.select, o.line, &mut problems) {
            choosers.entry(i).or_default().push(o);
            let object = &objects[i];
            let address = object.address().to_string();
            let Some(kind) = registry.get(&object.kind) else {
                continue;
            };
            let doc = object.to_document();
            for (field, value, line) in &o.set {
                let concrete = match field.concrete(&doc) {
                    Ok(c) => c,
                    Err(e) => {
                        problems.push(EnvProblem {
                            line: *line,
                            message: format!("{address}: {e}"),
                        });
                        continue;
                    }
                };
                // A secret field, or a table or array holding one (a kind may make a parent of
                // a secret field env_specific): its value would be in the repository.
                if kind
                    .secrets
                    .iter()
                    .any(|p| crate::model::pointer::overlaps(p, &concrete))
                {
                    problems.push(EnvProblem {
                        line: *line,
                        message: format!("{address}: {} is or holds a secret field of kind {}: secrets are never values in the repository; set the fields beside it one by one, and say where the secret comes from with a [[secret]] entry (`env = \"VARIABLE\"` or `file = \"PATH\"`)", field.text, kind.name),
                    });
                    continue;
                }
                if !kind
                    .env_specific
                    .iter()
                    .any(|p| crate::model::pointer::matches(p, &concrete))
                {
                    let allowed: Vec<String> =
                        kind.env_specific.iter().map(|p| format!("`{p}`")).collect();
                    problems.push(EnvProblem {
                        line: *line,
                        message: format!(
                            "{address}: {} is not an environment-specific field of kind {}, so no environment may set it; {}",
                            field.text,
                            kind.name,
                            if allowed.is_empty() {
                                "this kind has none".to_string()
                            } else {
                                format!("its env_specific fields are {}", text::listed(&allowed, ", "))
                            }
                        ),
                    });
                    continue;
                }
                sets.entry(i)
                    .or_default()
                    .insert(concrete, (value.clone(), *line, field.clone()));
            }
        }
    }
    let mut overlaid = Overlaid::default();
    for (address, category) in unread {
        let fields: std::collections::BTreeSet<&str> = env
            .overrides
            .iter()
            .filter(|o| o.select.matches_one(address, *category))
            .flat_map(|o| o.set.iter().map(|(f, _, _)| f.text.as_str()))
            .collect();
        if !fields.is_empty() {
            overlaid.unread_counts.0 += fields.len();
            overlaid.unread_counts.1 += 1;
        }
    }
    for (i, overrides) in choosers {
        if let (Some(guid), Some(d)) = (objects[i].guid, digest(overrides.into_iter())) {
            overlaid.digests.insert(guid, d);
        }
    }
    for (i, fields) in sets {
        let object = &mut objects[i];
        let address = object.address().to_string();
        let mut spec = Value::Object(std::mem::take(&mut object.spec));
        let mut lines = Vec::new();
        for (pointer, (value, line, _)) in &fields {
            set_at(&mut spec, pointer, value.clone());
            lines.push(*line);
        }
        let Value::Object(spec) = spec else {
            unreachable!("the spec stays a table");
        };
        object.spec = spec;
        if let Some(kind) = registry.get(&object.kind) {
            let doc = object.to_document();
            // Each refusal at the line that set the value refused (or within it), else at the
            // object's first override.
            lines.sort_unstable();
            lines.dedup();
            let mut by_line: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for e in kind.validator().iter_errors(&doc) {
                let at = e.instance_path().to_string();
                let line = fields
                    .iter()
                    .find(|(p, _)| at == **p || at.starts_with(&format!("{p}/")))
                    .map_or(lines[0], |(_, (_, line, _))| *line);
                by_line.entry(line).or_default().push(format!("{at}: {e}"));
            }
            for (line, errors) in by_line {
                problems.push(EnvProblem {
                    line,
                    message: format!(
                        "{address}: with this environment's overrides the object does not fit kind {}'s schema: {}",
                        kind.name,
                        text::listed(&errors, "; ")
                    ),
                });
            }
        }
        if let Some(guid) = object.guid {
            overlaid.set.insert(
                guid,
                fields
                    .into_iter()
                    .map(|(pointer, (value, line, field))| SetField {
                        pointer,
                        by: env.at(line),
                        field,
                        value,
                    })
                    .collect(),
            );
        }
    }
    for s in &env.secrets {
        for i in chosen(&s.select, s.line, &mut problems) {
            let object = &objects[i];
            let address = object.address().to_string();
            let Some(kind) = registry.get(&object.kind) else {
                continue;
            };
            if !kind.secrets.iter().any(|p| pattern_covers(p, &s.field)) {
                let secrets: Vec<String> = kind.secrets.iter().map(|p| format!("`{p}`")).collect();
                problems.push(EnvProblem {
                    line: s.line,
                    message: format!(
                        "{address}: {} is not a secret field of kind {} ({})",
                        s.field.text,
                        kind.name,
                        if secrets.is_empty() {
                            "it has none".to_string()
                        } else {
                            format!("its secret fields are {}", text::listed(&secrets, ", "))
                        }
                    ),
                });
                continue;
            }
            match s.field.concrete(&object.to_document()) {
                Ok(pointer) => {
                    if let Some(guid) = object.guid {
                        overlaid.secrets.push(NeededSecret {
                            guid,
                            address,
                            pointer,
                            field: s.field.text.clone(),
                            path: s.field.clone(),
                            from: s.from.clone(),
                            by: env.at(s.line),
                        });
                    }
                }
                Err(e) => problems.push(EnvProblem {
                    line: s.line,
                    message: format!("{address}: {e}"),
                }),
            }
        }
    }
    overlaid
        .secrets
        .sort_by(|a, b| (&a.address, &a.pointer).cmp(&(&b.address, &b.pointer)));
    // Two entries giving one field two sources would make the value depend on their order.
    for pair in overlaid.secrets.windows(2) {
        if pair[0].guid == pair[1].guid && pair[0].pointer == pair[1].pointer {
            problems.push(EnvProblem {
                line: line_of(&pair[1].by),
                message: format!(
                    "{}: {} already has a source at {}; give each secret field one source",
                    pair[1].address, pair[1].field, pair[0].by
                ),
            });
        }
    }
    if problems.is_empty() {
        // A secret the environment supplies is in the desired object as the placeholder, as
        // the destination's copy shows one it has: a plan shows no removal of a secret the
        // apply sets, and a create shows that it will have one.
        let at: HashMap<Uuid, usize> = objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| Some((o.guid?, i)))
            .collect();
        for s in &overlaid.secrets {
            let object = &mut objects[at[&s.guid]];
            let mut spec = Value::Object(std::mem::take(&mut object.spec));
            if spec
                .pointer(s.pointer.trim_start_matches("/spec"))
                .is_none()
            {
                set_at(
                    &mut spec,
                    &s.pointer,
                    Value::String(crate::secret::PLACEHOLDER.to_string()),
                );
            }
            if let Value::Object(map) = spec {
                object.spec = map;
            }
        }
        Ok(overlaid)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(EnvError {
            path: env.path.clone(),
            problems,
        })
    }
}

fn line_of(by: &str) -> usize {
    by.rsplit(':')
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0)
}

/// Whether a kind's secret pattern names the field `field` names (elements as `*`).
fn pattern_covers(pattern: &str, field: &FieldPath) -> bool {
    let p = crate::model::pointer::segments(pattern);
    p.len() == field.segments.len()
        && p.iter().zip(&field.segments).all(|(p, s)| match s {
            Segment::Key(k) => p == k || p == "*",
            Segment::Element { .. } => p == "*",
        })
}

/// Sets the value at a concrete pointer below `spec` (pointers start with `/spec`), making the
/// tables on the way.
fn set_at(spec: &mut Value, pointer: &str, value: Value) {
    let segments = crate::model::pointer::segments(pointer);
    let mut here = spec;
    let path = &segments[1..];
    for (n, seg) in path.iter().enumerate() {
        let last = n + 1 == path.len();
        here = match here {
            Value::Array(items) => {
                let i: usize = seg.parse().unwrap_or(usize::MAX);
                match items.get_mut(i) {
                    Some(v) => v,
                    None => return,
                }
            }
            other => {
                if !other.is_object() {
                    *other = Value::Object(Map::new());
                }
                let map = other.as_object_mut().expect("a table");
                if last {
                    map.insert(seg.clone(), value);
                    return;
                }
                map.entry(seg.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
        };
        if last {
            *here = value;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> (Vec<Object>, Registry) {
        let registry = Registry::builtin().unwrap();
        let source: Object = Object {
            kind: "data_source".into(),
            guid: Some(Uuid::from_u128(1)),
            name: "pos".into(),
            project: None,
            spec: serde_json::json!({
                "type": "mysql",
                "description": "POS",
                "connection": {"host": "db.dev", "port": 3306, "database": "pos"},
                "config_files": [
                    {"file_type": "other", "file_name": "a.conf"},
                    {"file_type": "krb5_conf", "file_name": "krb5.conf"}
                ]
            })
            .as_object()
            .unwrap()
            .clone(),
        };
        (vec![source], registry)
    }

    fn env(text: &str) -> Environment {
        Environment::parse("prod", text.as_bytes()).unwrap()
    }

    #[test]
    fn an_override_sets_env_specific_fields_and_says_where() {
        let (mut objects, registry) = objects();
        let e = env("[variables]\nh = \"db.prod\"\n\n[[override]]\nselect = \"data_source/pos\"\nset.\"/spec/connection/host\" = \"${var.h}\"\n");
        let done = apply(&e, &mut objects, &registry, &[]).unwrap();
        assert_eq!(objects[0].spec["connection"]["host"], "db.prod");
        assert_eq!(
            done.set_by(Uuid::from_u128(1), "/spec/connection/host"),
            Some("environments/prod.toml:6")
        );
    }

    #[test]
    fn fields_that_are_not_env_specific_or_are_secret_are_refused_with_their_line() {
        let (mut objects, registry) = objects();
        let e = env("[[override]]\nselect = \"data_source/pos\"\nset.\"/spec/description\" = \"x\"\nset.\"/spec/connection/password\" = \"p\"\n");
        let err = apply(&e, &mut objects, &registry, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("environments/prod.toml:3: data_source/pos: /spec/description is not an environment-specific field of kind data_source"), "{err}");
        assert!(err.contains("environments/prod.toml:4: data_source/pos: /spec/connection/password is or holds a secret field"), "{err}");
    }

    #[test]
    fn a_table_or_array_holding_a_secret_field_is_refused_even_when_env_specific() {
        let schema = r#"{
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "properties": {"kind": {"const": "vault_conn"}, "guid": {}, "name": {}, "spec": {"type": "object"}},
          "x-ferry": {"category": "global", "scope": "tenant",
            "secrets": ["/spec/conn/password", "/spec/tokens/*/token"],
            "env_specific": ["/spec/conn", "/spec/tokens"]}
        }"#;
        let registry = Registry::with_custom([(
            "vault_conn".to_string(),
            schema.to_string(),
            "schemas/kinds/vault_conn.schema.json".to_string(),
        )])
        .unwrap();
        let mut objects = vec![Object {
            kind: "vault_conn".into(),
            guid: Some(Uuid::from_u128(7)),
            name: "v1".into(),
            project: None,
            spec: serde_json::Map::new(),
        }];
        let e = env("[[override]]\nselect = \"vault_conn/v1\"\nset.\"/spec/conn\" = { host = \"h\", password = \"p\" }\nset.\"/spec/tokens\" = [{ id = \"t\", token = \"x\" }]\n");
        let err = apply(&e, &mut objects, &registry, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":3: vault_conn/v1: /spec/conn is or holds a secret field"),
            "{err}"
        );
        assert!(
            err.contains(":4: vault_conn/v1: /spec/tokens is or holds a secret field"),
            "{err}"
        );
        assert!(objects[0].spec.is_empty());
    }

    #[test]
    fn a_selector_that_matches_nothing_is_refused() {
        let (mut objects, registry) = objects();
        let e = env(
            "[[override]]\nselect = \"data_source/post\"\nset.\"/spec/connection/host\" = \"x\"\n",
        );
        let err = apply(&e, &mut objects, &registry, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "environments/prod.toml:1: selector part `data_source/post` matches no object"
            ),
            "{err}"
        );
        assert_eq!(objects[0].spec["connection"]["host"], "db.dev");
    }

    #[test]
    fn a_value_the_schema_refuses_is_named() {
        let (mut objects, registry) = objects();
        let e = env("[[override]]\nselect = \"data_source/pos\"\nset.\"/spec/connection/port\" = \"high\"\n");
        let err = apply(&e, &mut objects, &registry, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("environments/prod.toml:3: data_source/pos: with this environment's overrides the object does not fit"), "{err}");
        assert!(err.contains("/spec/connection/port"), "{err}");
    }

    #[test]
    fn secrets_are_found_by_element_key() {
        let (mut objects, registry) = objects();
        let e = env("[[secret]]\nselect = \"data_source/pos\"\nfield = \"/spec/config_files[file_name=krb5.conf]/content\"\nenv = \"KRB5\"\n\n[[secret]]\nselect = \"data_source/pos\"\nfield = \"/spec/connection/password\"\nenv = \"POS_PASSWORD\"\n");
        let done = apply(&e, &mut objects, &registry, &[]).unwrap();
        let pointers: Vec<&str> = done.secrets.iter().map(|s| s.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/spec/config_files/1/content", "/spec/connection/password"]
        );
        objects[0].spec["config_files"]
            .as_array_mut()
            .unwrap()
            .reverse();
        let done = apply(&e, &mut objects, &registry, &[]).unwrap();
        assert_eq!(done.secrets[0].pointer, "/spec/config_files/0/content");
        let e = env("[[secret]]\nselect = \"data_source/pos\"\nfield = \"/spec/connection/host\"\nenv = \"H\"\n");
        let err = apply(&e, &mut objects, &registry, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a secret field of kind data_source"),
            "{err}"
        );
    }
}
