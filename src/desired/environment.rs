//! Environment files: `environments/<env>.toml`, what one destination differs in.
//!
//! ```toml
//! #:schema ../schemas/environment.schema.json
//! tenant = "sqlite:../tenants/prod.db"   # relative to the repository
//! requires = ["test"]                    # the promotion gate
//!
//! [variables]
//! pos_host = "pos-hq.prod.retail.internal"
//!
//! [[override]]
//! select = "data_source/pos_smartpos"
//! set."/spec/connection/host" = "${var.pos_host}"
//!
//! [[secret]]
//! select = "data_source/pos_smartpos"
//! field = "/spec/connection/password"
//! env = "POS_PASSWORD"
//!
//! [[secret]]
//! select = "compute_source/emr_prod"
//! field = "/spec/config_files[file_name=krb5.conf]/content"
//! file = "/etc/ferry/prod/krb5.conf"
//!
//! [guards]
//! protect = ["kind:data_source"]
//! max_deletes = 10
//! ```
//!
//! [`Environment::parse`] reads the file and reports every problem it can tell without the
//! objects (unknown keys, wrong types, undefined variables, malformed selectors and pointers)
//! with its line; [`super::overlay`] applies it to the desired objects.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::select::Selector;

/// Where environment files live in a tenant repository.
pub const ENVIRONMENTS_DIR: &str = crate::repo::ENVIRONMENTS_DIR;

/// The schema of environment files, shipped with ferry and written by `ferry init` to
/// [`SCHEMA_PATH`].
pub const SCHEMA: &str = include_str!("../../schemas/environment.schema.json");

/// Where a tenant repository keeps the copy of [`SCHEMA`] its environment files point at.
pub const SCHEMA_PATH: &str = "schemas/environment.schema.json";

/// One problem in an environment file, at a line (1-based; 0 when the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProblem {
    /// The line.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// An environment file that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(path, problems))]
pub struct EnvError {
    /// The file, relative to the repository (`environments/prod.toml`).
    pub path: String,
    /// The problems, by line.
    pub problems: Vec<EnvProblem>,
}

fn render(path: &str, problems: &[EnvProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| match p.line {
            0 => format!("{path}: {}", p.message),
            n => format!("{path}:{n}: {}", p.message),
        })
        .collect();
    crate::model::text::listed(&lines, "\n")
}

impl EnvError {
    /// One problem.
    pub fn one(path: &str, line: usize, message: impl Into<String>) -> EnvError {
        EnvError {
            path: path.to_string(),
            problems: vec![EnvProblem {
                line,
                message: message.into(),
            }],
        }
    }
}

/// Where a secret's value comes from; in a plan file `{"env": "NAME"}` or `{"file": "PATH"}`,
/// as the environment file says it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum SecretFrom {
    /// An environment variable of the process that runs ferry (a CI secret variable).
    #[serde(rename = "env")]
    Var(String),
    /// A file's bytes (relative paths from the repository's folder).
    #[serde(rename = "file")]
    File(String),
}

impl std::fmt::Display for SecretFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretFrom::Var(v) => write!(f, "environment variable {v}"),
            SecretFrom::File(p) => write!(f, "file {p}"),
        }
    }
}

/// One field path an entry names: a JSON pointer whose array segments may name an element by a
/// key instead of its position (`/spec/config_files[file_name=krb5.conf]/content`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// As written.
    pub text: String,
    /// The segments: a plain name, or an element of the array named before it, chosen by the
    /// value of one of its fields.
    pub segments: Vec<Segment>,
}

/// One segment of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A table key.
    Key(String),
    /// The array element whose `field` is `value`.
    Element {
        /// The field that names elements (`file_name`).
        field: String,
        /// Its value.
        value: String,
    },
}

impl FieldPath {
    /// Parses a field path as an environment file writes it.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let Some(rest) = text.strip_prefix("/spec/") else {
            return Err(format!(
                "`{text}` is not a field of an object: fields are JSON pointers under /spec (`/spec/connection/host`)"
            ));
        };
        let mut segments = vec![Segment::Key("spec".into())];
        for raw in rest.split('/') {
            let (key, element) = match raw.split_once('[') {
                Some((key, tail)) => {
                    let inner = tail.strip_suffix(']').ok_or_else(|| {
                        format!("`{text}`: `{raw}` opens `[` without closing it at the end of the segment")
                    })?;
                    let (field, value) = inner.split_once('=').ok_or_else(|| {
                        format!("`{text}`: an element is chosen as `[FIELD=VALUE]`, e.g. `config_files[file_name=krb5.conf]`")
                    })?;
                    if field.is_empty() || value.is_empty() {
                        return Err(format!("`{text}`: `[{inner}]` needs a field and a value"));
                    }
                    (key, Some((field.to_string(), value.to_string())))
                }
                None => (raw, None),
            };
            if key.is_empty() {
                return Err(format!("`{text}` has an empty segment"));
            }
            if key == "*" || key.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "`{text}`: `{key}` chooses array elements by position; name the element by a field of it instead (`config_files[file_name=krb5.conf]`), so that reordering the array cannot move a value to another element"
                ));
            }
            segments.push(Segment::Key(key.replace("~1", "/").replace("~0", "~")));
            if let Some((field, value)) = element {
                segments.push(Segment::Element { field, value });
            }
        }
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    /// Whether the path names an array element by key anywhere.
    pub fn has_elements(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Element { .. }))
    }

    /// The path as a pattern of the kind schemas' pointers (`*` for each element).
    pub fn pattern(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Key(k) => out.push_str(&crate::model::pointer::escape_segment(k)),
                Segment::Element { .. } => out.push('*'),
            }
        }
        out
    }

    /// The concrete pointer in `doc` (an object document): elements found by their key. `Err`
    /// names the element that is not there.
    pub fn concrete(&self, doc: &Value) -> Result<String, String> {
        let mut at = String::new();
        let mut here = Some(doc);
        for s in &self.segments {
            match s {
                Segment::Key(k) => {
                    at.push('/');
                    at.push_str(&crate::model::pointer::escape_segment(k));
                    here = here.and_then(|v| v.get(k));
                }
                Segment::Element { field, value } => {
                    let items = here.and_then(Value::as_array).ok_or_else(|| {
                        format!("{at} is not an array with an element whose {field} is `{value}`")
                    })?;
                    let i = items
                        .iter()
                        .position(|e| e.get(field).and_then(Value::as_str) == Some(value))
                        .ok_or_else(|| {
                            let names: Vec<String> = items
                                .iter()
                                .filter_map(|e| e.get(field).and_then(Value::as_str))
                                .map(|n| format!("`{n}`"))
                                .collect();
                            format!(
                                "{at} has no element whose {field} is `{value}` (it has {})",
                                if names.is_empty() {
                                    "none".to_string()
                                } else {
                                    crate::model::text::listed(&names, ", ")
                                }
                            )
                        })?;
                    let same = items
                        .iter()
                        .filter(|e| e.get(field).and_then(Value::as_str) == Some(value))
                        .count();
                    if same > 1 {
                        return Err(format!(
                            "{at} has {same} elements whose {field} is `{value}`: an element is named by its {field}, so each must be unique"
                        ));
                    }
                    at.push_str(&format!("/{i}"));
                    here = Some(&items[i]);
                }
            }
        }
        Ok(at)
    }
}

/// One `[[override]]`.
#[derive(Debug, Clone)]
pub struct Override {
    /// Its line.
    pub line: usize,
    /// The selector, parsed.
    pub select: Selector,
    /// The fields it sets: (path, value with variables substituted, line), in file order.
    pub set: Vec<(FieldPath, Value, usize)>,
}

/// One `[[secret]]`.
#[derive(Debug, Clone)]
pub struct SecretEntry {
    /// Its line.
    pub line: usize,
    /// The selector, parsed.
    pub select: Selector,
    /// The secret field.
    pub field: FieldPath,
    /// Where the value comes from.
    pub from: SecretFrom,
}

/// A parsed environment file.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Its name (`prod` for `environments/prod.toml`).
    pub name: String,
    /// Its path, relative to the repository.
    pub path: String,
    /// The destination's URL as written, with its line.
    pub tenant: Option<(String, usize)>,
    /// Environments whose tenants must have had the same objects applied first, with their
    /// lines.
    pub requires: Vec<(String, usize)>,
    /// `[variables]`.
    pub variables: BTreeMap<String, String>,
    /// `[[override]]`, in file order (a later one wins on the same field).
    pub overrides: Vec<Override>,
    /// `[[secret]]`.
    pub secrets: Vec<SecretEntry>,
    /// `[guards] protect`: selectors with their lines.
    pub protect: Vec<(Selector, usize)>,
    /// `[guards] max_deletes`, with its line.
    pub max_deletes: Option<(usize, usize)>,
    /// `[guards] allow_empty`: planning a desired state that deletes everything ferry manages.
    pub allow_empty: bool,
    /// blake3 of the file's bytes.
    pub digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    tenant: Option<Spanned<String>>,
    #[serde(default)]
    requires: Vec<Spanned<String>>,
    #[serde(default)]
    variables: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default, rename = "override")]
    overrides: Vec<Spanned<RawOverride>>,
    #[serde(default, rename = "secret")]
    secrets: Vec<Spanned<RawSecret>>,
    #[serde(default)]
    guards: RawGuards,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    select: Spanned<String>,
    set: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecret {
    select: Spanned<String>,
    field: Spanned<String>,
    env: Option<Spanned<String>>,
    file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGuards {
    #[serde(default)]
    protect: Vec<Spanned<String>>,
    max_deletes: Option<Spanned<i64>>,
    #[serde(default)]
    allow_empty: bool,
}

/// Whether `name` can be an environment's name (a file name in `environments/`).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an environment name: letters, digits, `-` and `_`, at most 64, as the file environments/NAME.toml",
            crate::model::text::excerpt(name, 80)
        ))
    }
}

/// The path of environment `name`'s file in a repository.
pub fn path_of(name: &str) -> String {
    format!("{ENVIRONMENTS_DIR}/{name}.toml")
}

impl Environment {
    /// Parses the file of environment `name` from its bytes, reporting every problem with its
    /// line.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Environment, EnvError> {
        let path = path_of(name);
        let text = std::str::from_utf8(bytes).map_err(|e| {
            EnvError::one(
                &path,
                line_of(
                    &String::from_utf8_lossy(&bytes[..e.valid_up_to()]),
                    usize::MAX,
                ),
                "the file is not UTF-8 text",
            )
        })?;
        let line = |span: std::ops::Range<usize>| line_of(text, span.start);
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let at = e.span().map(&line).unwrap_or(0);
            EnvError::one(&path, at, e.message().trim().to_string())
        })?;
        let mut problems = Vec::new();
        let mut problem =
            |line: usize, message: String| problems.push(EnvProblem { line, message });

        let mut variables = BTreeMap::new();
        for (k, v) in &raw.variables {
            let key = k.get_ref();
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                problem(
                    line(k.span()),
                    format!(
                        "variable name `{}` may hold only letters, digits, `_` and `-`",
                        crate::model::text::excerpt(key, 80)
                    ),
                );
            }
            if v.get_ref().contains("${") {
                problem(
                    line(v.span()),
                    format!(
                        "variable `{}` uses `${{…}}`: a variable's value is plain text (variables cannot use other variables)",
                        crate::model::text::excerpt(key, 80)
                    ),
                );
            }
            variables.insert(key.clone(), v.get_ref().clone());
        }
        let selector =
            |s: &Spanned<String>, problem: &mut dyn FnMut(usize, String)| match Selector::parse(
                s.get_ref(),
            ) {
                Ok(sel) => Some(sel),
                Err(e) => {
                    problem(line(s.span()), e.to_string());
                    None
                }
            };
        let mut overrides = Vec::new();
        for o in &raw.overrides {
            let at = line(o.span());
            let o = o.get_ref();
            let select = selector(&o.select, &mut problem);
            if o.set.is_empty() {
                problem(
                    at,
                    "the override sets no field: add `set.\"/spec/FIELD\" = VALUE`".into(),
                );
            }
            let mut set = Vec::new();
            for (k, v) in &o.set {
                let l = line(k.span());
                let field = match FieldPath::parse(k.get_ref()) {
                    Ok(f) => f,
                    Err(e) => {
                        problem(l, e);
                        continue;
                    }
                };
                match substitute(&to_json(v.get_ref()), &variables) {
                    Ok(value) => set.push((field, value, l)),
                    Err(e) => problem(line(v.span()), e),
                }
            }
            if let Some(select) = select {
                overrides.push(Override {
                    line: at,
                    select,
                    set,
                });
            }
        }
        let mut secrets = Vec::new();
        for s in &raw.secrets {
            let at = line(s.span());
            let s = s.get_ref();
            let select = selector(&s.select, &mut problem);
            let field = FieldPath::parse(s.field.get_ref())
                .map_err(|e| problem(line(s.field.span()), e))
                .ok();
            let from = match (&s.env, &s.file) {
                (Some(v), None) if valid_var(v.get_ref()) => {
                    Some(SecretFrom::Var(v.get_ref().clone()))
                }
                (Some(v), None) => {
                    problem(line(v.span()), format!("`{}` is not an environment variable name (letters, digits and `_`, not starting with a digit)", crate::model::text::excerpt(v.get_ref(), 80)));
                    None
                }
                (None, Some(f)) if !f.get_ref().is_empty() => {
                    Some(SecretFrom::File(f.get_ref().clone()))
                }
                (None, Some(f)) => {
                    problem(
                        line(f.span()),
                        "`file` is empty: give the path of the file whose bytes are the value"
                            .into(),
                    );
                    None
                }
                _ => {
                    problem(at, "a secret comes from exactly one of `env = \"VARIABLE\"` or `file = \"PATH\"`".into());
                    None
                }
            };
            if let (Some(select), Some(field), Some(from)) = (select, field, from) {
                secrets.push(SecretEntry {
                    line: at,
                    select,
                    field,
                    from,
                });
            }
        }
        let mut requires = Vec::new();
        for r in &raw.requires {
            match check_name(r.get_ref()) {
                Ok(()) if r.get_ref() == name => problem(
                    line(r.span()),
                    format!("environment `{name}` cannot require itself"),
                ),
                Ok(()) => requires.push((r.get_ref().clone(), line(r.span()))),
                Err(e) => problem(line(r.span()), e),
            }
        }
        let mut protect = Vec::new();
        for p in &raw.guards.protect {
            if let Some(sel) = selector(p, &mut problem) {
                protect.push((sel, line(p.span())));
            }
        }
        let max_deletes = match &raw.guards.max_deletes {
            Some(m) if *m.get_ref() < 0 => {
                problem(line(m.span()), "`max_deletes` cannot be negative".into());
                None
            }
            Some(m) => Some((*m.get_ref() as usize, line(m.span()))),
            None => None,
        };
        if let Some(t) = &raw.tenant {
            if let Err(e) = crate::store::TenantUrl::parse(t.get_ref()) {
                problem(line(t.span()), e.to_string());
            }
        }
        if !problems.is_empty() {
            return Err(EnvError { path, problems });
        }
        Ok(Environment {
            name: name.to_string(),
            path,
            tenant: raw.tenant.map(|t| {
                let l = line(t.span());
                (t.into_inner(), l)
            }),
            requires,
            variables,
            overrides,
            secrets,
            protect,
            max_deletes,
            allow_empty: raw.guards.allow_empty,
            digest: blake3::hash(bytes).to_hex().to_string(),
        })
    }

    /// `path:line`, for output.
    pub fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.path)
    }
}

fn valid_var(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The 1-based line of byte `offset` in `text` (the last line for an offset past the end).
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn to_json(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// `value` with every `${var.NAME}` in its strings replaced by the variable's value.
fn substitute(value: &Value, variables: &BTreeMap<String, String>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(substitute_text(s, variables)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, variables))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, variables)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_text(text: &str, variables: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            format!(
                "`${{` without a closing `}}` in \"{}\"",
                crate::model::text::excerpt(text, 80)
            )
        })?;
        let inner = &after[..end];
        let name = inner.strip_prefix("var.").ok_or_else(|| {
            format!(
                "`${{{}}}`: only variables of this file are substituted, as `${{var.NAME}}`",
                crate::model::text::excerpt(inner, 60)
            )
        })?;
        let value = variables.get(name).ok_or_else(|| {
            let defined: Vec<String> = variables.keys().map(|k| format!("`{k}`")).collect();
            format!(
                "variable `{}` is not defined in [variables]{}",
                crate::model::text::excerpt(name, 60),
                if defined.is_empty() {
                    String::new()
                } else {
                    format!(" (defined: {})", crate::model::text::listed(&defined, ", "))
                }
            )
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: &str = r#"#:schema ../schemas/environment.schema.json
tenant = "sqlite:prod.db"
requires = ["test"]

[variables]
host = "db.prod"

[[override]]
select = "data_source/pos"
set."/spec/connection/host" = "${var.host}"
set."/spec/connection/port" = 6200

[[secret]]
select = "data_source/pos"
field = "/spec/config_files[file_name=krb5.conf]/content"
file = "krb5.conf"

[guards]
protect = ["kind:data_source"]
max_deletes = 3
"#;

    #[test]
    fn a_file_parses_with_its_lines_and_variables() {
        let env = Environment::parse("prod", PROD.as_bytes()).unwrap();
        assert_eq!(env.path, "environments/prod.toml");
        assert_eq!(env.tenant, Some(("sqlite:prod.db".into(), 2)));
        assert_eq!(env.requires, vec![("test".to_string(), 3)]);
        let o = &env.overrides[0];
        assert_eq!(o.line, 8);
        assert_eq!(o.set[0].0.text, "/spec/connection/host");
        assert_eq!(o.set[0].1, Value::String("db.prod".into()));
        assert_eq!(o.set[0].2, 10);
        assert_eq!(o.set[1].1, serde_json::json!(6200));
        let s = &env.secrets[0];
        assert_eq!(s.field.pattern(), "/spec/config_files/*/content");
        assert_eq!(s.from, SecretFrom::File("krb5.conf".into()));
        assert_eq!(env.max_deletes, Some((3, 20)));
        assert_eq!(env.protect[0].1, 19);
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let text = r#"[variables]
h = "x"

[[override]]
select = "+"
set."/spec/connection/host" = "${var.nope}"
set."spec/port" = 1

[[secret]]
select = "data_source/pos"
field = "/spec/config_files/0/content"
env = "1BAD"
"#;
        let e = Environment::parse("prod", text.as_bytes()).unwrap_err();
        let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![5, 6, 7, 11, 12], "{e}");
        let shown = e.to_string();
        assert!(shown.contains("environments/prod.toml:6: variable `nope` is not defined in [variables] (defined: `h`)"), "{shown}");
        assert!(shown.contains("by position"), "{shown}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_their_line() {
        let e = Environment::parse(
            "prod",
            b"tenant = \"sqlite:x\"\n\n[guards]\nmax_delete = 3\n",
        )
        .unwrap_err();
        assert_eq!(e.problems[0].line, 4, "{e}");
        assert!(e.to_string().contains("max_delete"), "{e}");
        let e = Environment::parse("prod", b"requires = \"test\"\n").unwrap_err();
        assert_eq!(e.problems[0].line, 1, "{e}");
    }

    #[test]
    fn elements_are_found_by_their_key_not_their_position() {
        let field = FieldPath::parse("/spec/config_files[file_name=b.conf]/content").unwrap();
        let doc = serde_json::json!({"spec": {"config_files": [
            {"file_name": "a.conf"}, {"file_name": "b.conf"}
        ]}});
        assert_eq!(
            field.concrete(&doc).unwrap(),
            "/spec/config_files/1/content"
        );
        let reordered = serde_json::json!({"spec": {"config_files": [
            {"file_name": "b.conf"}, {"file_name": "a.conf"}
        ]}});
        assert_eq!(
            field.concrete(&reordered).unwrap(),
            "/spec/config_files/0/content"
        );
        let missing = FieldPath::parse("/spec/config_files[file_name=c.conf]/content").unwrap();
        let e = missing.concrete(&doc).unwrap_err();
        assert!(e.contains("`a.conf`, `b.conf`"), "{e}");
        let twice = serde_json::json!({"spec": {"config_files": [
            {"file_name": "b.conf"}, {"file_name": "b.conf"}
        ]}});
        let e = field.concrete(&twice).unwrap_err();
        assert!(
            e.contains("has 2 elements whose file_name is `b.conf`"),
            "{e}"
        );
    }

    #[test]
    fn a_variable_cannot_use_another() {
        let e =
            Environment::parse("prod", b"[variables]\na = \"${var.b}\"\nb = \"x\"\n").unwrap_err();
        assert_eq!(e.problems[0].line, 2, "{e}");
        assert!(
            e.to_string()
                .contains("variables cannot use other variables"),
            "{e}"
        );
    }

    #[test]
    fn names_are_file_names() {
        assert!(check_name("prod-eu_1").is_ok());
        for bad in ["", "../x", "a/b", "-x", "a.b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
