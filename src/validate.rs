//! Every check a repository's object files must pass, all reported in one run.
//!
//! Per file: UTF-8, TOML syntax, a known kind, the kind's schema (with the JSON pointer and the
//! line of each violation), names an address can hold, a GUID, and a path that matches the
//! object's address. Across files: duplicate GUIDs and addresses, references that resolve to an
//! object of an accepted kind, no dependency cycle, and only exportable objects. Environment
//! files ([`check_environments`]): each parses (with its line), and its overlay applies to the
//! objects (selectors match, fields are `env_specific`, values fit the kind's schema). Problems
//! are sorted by file and line, so the same repository always gives the same report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde_json::Value;

use crate::graph::{self, Graph};
use crate::kinds::{Kind, Registry};
use crate::model::file::{self, Position};
use crate::model::{check_name, path, Address, Object};
use crate::repo::SourceFile;

/// What kind of problem a [`Problem`] is; its name is shown in brackets (`error[schema]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// A file under `objects/` that is not an object file.
    StrayFile,
    /// Not UTF-8.
    Encoding,
    /// TOML syntax.
    Syntax,
    /// No `kind`, or one no schema defines.
    UnknownKind,
    /// The kind's schema refuses the document.
    Schema,
    /// A name that cannot be part of an address.
    Name,
    /// No GUID.
    MissingGuid,
    /// The file's path is not the one its address gives.
    Path,
    /// Two files with one GUID.
    DuplicateGuid,
    /// Two files with one address.
    DuplicateAddress,
    /// A reference that is not an address, or names an object that does not exist.
    MissingReference,
    /// A reference to an object of a kind the field does not accept.
    WrongKind,
    /// A dependency cycle.
    Cycle,
    /// An object that cannot be moved between tenants.
    NotExportable,
    /// An environment file that cannot be used.
    Environment,
    /// A secret field of a repository file that holds a value.
    SecretValue,
}

impl Code {
    /// The short name shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::StrayFile => "stray-file",
            Code::Encoding => "encoding",
            Code::Syntax => "syntax",
            Code::UnknownKind => "unknown-kind",
            Code::Schema => "schema",
            Code::Name => "name",
            Code::MissingGuid => "missing-guid",
            Code::Path => "path",
            Code::DuplicateGuid => "duplicate-guid",
            Code::DuplicateAddress => "duplicate-address",
            Code::MissingReference => "missing-reference",
            Code::WrongKind => "wrong-kind",
            Code::Cycle => "cycle",
            Code::NotExportable => "not-exportable",
            Code::Environment => "environment",
            Code::SecretValue => "secret-value",
        }
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the repository root.
    pub path: String,
    /// Where in the file, when known.
    pub position: Option<Position>,
    /// The object's address, when known.
    pub address: Option<String>,
    /// What kind of problem.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code.as_str(), self.path)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if let Some(a) = &self.address {
            write!(f, ": {a}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// An object file that parsed and passed its schema.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file, relative to the repository root.
    pub path: String,
    /// The file's text.
    pub text: String,
    /// The object.
    pub object: Object,
}

/// The result of checking a set of object files.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The files that parsed and passed their schema, sorted by path.
    pub objects: Vec<Loaded>,
    /// Every problem, sorted by file, line and code.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether there is no problem.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads one object file of a repository: [`parse_file`], then a GUID and a path that matches
/// the object's address. The object is `None` when a problem stops the file from being one;
/// problems that do not (a name, a GUID, a path) come with the object, so that the checks
/// across files still see it.
pub fn load_file(file: SourceFile, registry: &Registry) -> (Option<Loaded>, Vec<Problem>) {
    let (loaded, mut problems) = parse_owned(file, registry);
    let Some(loaded) = loaded else {
        return (None, problems);
    };
    let object = &loaded.object;
    let address = object.address().to_string();
    let kind = registry
        .get(&object.kind)
        .expect("parse_file checked the kind");
    let problem = |code, message: String, hint: String| Problem {
        path: loaded.path.clone(),
        position: None,
        address: Some(address.clone()),
        code,
        message,
        hint: Some(hint),
    };
    if object.guid.is_none() {
        problems.push(problem(
            Code::MissingGuid,
            "no `guid`".into(),
            "run `ferry fmt` to give new objects a GUID".into(),
        ));
    }
    let expected = path::object_path(
        kind.category,
        &kind.name,
        object.project.as_deref(),
        &object.name,
    );
    // A secret's value in a repository file would be in git for good: only the placeholder
    // (or nothing) may stand there. The value is never shown.
    for pattern in &kind.secrets {
        for (at, value) in crate::model::pointer::select_spec(&object.spec, pattern) {
            if value.as_str() != Some(crate::secret::PLACEHOLDER) {
                problems.push(Problem {
                    position: file::position_of(&loaded.text, &at),
                    ..problem(
                        Code::SecretValue,
                        format!("{at} holds a value (not shown): a secret's value never belongs in the repository"),
                        "write `(sensitive)` there or leave the field out, remove the value from git's history, and give it with a [[secret]] entry of the environment (environments/ENV.toml)".into(),
                    )
                });
            }
        }
    }
    if expected != loaded.path {
        problems.push(problem(
            Code::Path,
            format!("the file of `{address}` belongs at {expected}"),
            format!(
                "move it: git mv '{}' '{expected}' (or correct the name)",
                loaded.path
            ),
        ));
    }
    (Some(loaded), problems)
}

/// Reads one object file wherever it is: encoding, TOML syntax, a known kind, the kind's schema
/// and names an address can hold. The object is `None` when a problem stops the file from being
/// one; a bad name comes with the object.
pub fn parse_file(file: &SourceFile, registry: &Registry) -> (Option<Loaded>, Vec<Problem>) {
    let text = match std::str::from_utf8(&file.bytes) {
        Ok(text) => text,
        Err(e) => return (None, vec![encoding_problem(&file.path, e.valid_up_to())]),
    };
    match parse_inner(&file.path, text, registry) {
        Ok((object, problems)) => {
            let loaded = Loaded {
                path: file.path.clone(),
                text: text.to_string(),
                object,
            };
            (Some(loaded), problems)
        }
        Err(problems) => (None, problems),
    }
}

/// [`parse_file`] of a file given away: its bytes become the loaded text without a copy.
pub fn parse_owned(file: SourceFile, registry: &Registry) -> (Option<Loaded>, Vec<Problem>) {
    let SourceFile { path, bytes, .. } = file;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            return (None, vec![encoding_problem(&path, at)]);
        }
    };
    match parse_inner(&path, &text, registry) {
        Ok((object, problems)) => (Some(Loaded { path, text, object }), problems),
        Err(problems) => (None, problems),
    }
}

fn encoding_problem(path: &str, offset: usize) -> Problem {
    Problem {
        path: path.to_string(),
        position: None,
        address: None,
        code: Code::Encoding,
        message: format!("not UTF-8 (invalid byte at offset {offset})"),
        hint: Some("save the file as UTF-8".into()),
    }
}

fn parse_inner(
    path: &str,
    text: &str,
    registry: &Registry,
) -> Result<(Object, Vec<Problem>), Vec<Problem>> {
    let problem =
        |code, position, address: Option<String>, message: String, hint: Option<&str>| Problem {
            path: path.to_string(),
            position,
            address,
            code,
            message,
            hint: hint.map(str::to_string),
        };
    let doc = file::parse_document(text).map_err(|e| {
        vec![problem(
            Code::Syntax,
            e.position,
            None,
            format!("TOML syntax: {}", e.message),
            Some("fix the TOML at the line shown; `ferry fmt` rewrites valid files to canonical form"),
        )]
    })?;
    let kind_name = doc.get("kind").and_then(Value::as_str);
    let Some(kind) = kind_name.and_then(|k| registry.get(k)) else {
        let message = match kind_name {
            Some(k) => format!("unknown kind `{k}`"),
            None => "no `kind` field".to_string(),
        };
        return Err(vec![problem(
            Code::UnknownKind,
            file::position_of(text, "/kind"),
            None,
            message,
            Some("use a built-in kind (`ferry kinds` lists them) or add a schema in schemas/kinds/<kind>.schema.json"),
        )]);
    };
    let address_hint = {
        let name = doc.get("name").and_then(Value::as_str);
        let project = doc.get("project").and_then(Value::as_str);
        name.map(|n| match project {
            Some(p) => format!("{}/{p}/{n}", kind.name),
            None => format!("{}/{n}", kind.name),
        })
    };
    let schema_problems: Vec<Problem> = kind
        .validator()
        .iter_errors(&doc)
        .map(|e| {
            let mut at = e.instance_path().as_str().to_string();
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                e.kind()
            {
                if let Some(first) = unexpected.first() {
                    at = format!("{at}/{}", crate::model::pointer::escape_segment(first));
                }
            }
            let shown = if at.is_empty() {
                "/".to_string()
            } else {
                at.clone()
            };
            let holds_secret = kind
                .secrets
                .iter()
                .any(|p| crate::model::pointer::overlaps(p, &at));
            let message = if holds_secret {
                // A secret's value is never shown, not even in an error, nor any value that
                // may hold one (a table written as an array of tables, say): only its shape.
                format!(
                    "{shown}: {} (the value is not shown: it holds a secret field)",
                    e.masked_with(shape(e.instance()))
                )
            } else {
                let full = format!("{shown}: {e}");
                if full.len() <= MESSAGE_LIMIT {
                    full
                } else {
                    // A long value is quoted as a short excerpt.
                    format!("{shown}: {}", e.masked_with(excerpt(e.instance())))
                }
            };
            problem(
                Code::Schema,
                file::position_of(text, &at),
                address_hint.clone(),
                message,
                Some(&format!(
                    "see {} for the fields of `{}`",
                    schema_origin(kind),
                    kind.name
                )),
            )
        })
        .collect();
    if !schema_problems.is_empty() {
        return Err(schema_problems);
    }
    let object = file::object_from_document(doc)
        .map_err(|m| vec![problem(Code::Schema, None, address_hint.clone(), m, None)])?;
    let address = object.address().to_string();
    let mut problems = Vec::new();
    for (field, name) in [
        ("/name", Some(&object.name)),
        ("/project", object.project.as_ref()),
    ] {
        if let Some(Err(e)) = name.map(|n| check_name(n)) {
            problems.push(problem(
                Code::Name,
                file::position_of(text, field),
                Some(address.clone()),
                e.to_string(),
                Some("names may hold any characters but `/` and control characters, without leading or trailing spaces"),
            ));
        }
    }
    Ok((object, problems))
}

/// The longest schema error message quoted whole; a longer one quotes an [`excerpt`].
const MESSAGE_LIMIT: usize = 200;

/// What a value is, without any of its content: "an array of 2 items", "a table", "a string".
fn shape(value: &Value) -> String {
    match value {
        Value::Null => "a null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(items) if items.len() == 1 => "an array of 1 item".into(),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "a table".into(),
    }
}

/// A short excerpt of a value for an error message: its JSON form (control characters
/// escaped) cut after 60 characters.
pub fn excerpt(value: &Value) -> String {
    let json = value.to_string();
    crate::model::text::excerpt(&json, 60)
}

fn schema_origin(kind: &crate::kinds::Kind) -> String {
    if kind.builtin {
        format!("schemas/kinds/{}.schema.json", kind.name)
    } else {
        kind.origin.clone()
    }
}

/// Checks every file and the set as a whole.
pub fn check(files: Vec<SourceFile>, registry: &Registry) -> Report {
    check_with(files, registry, &Known::default())
}

/// The path of a known object by GUID; see [`Known`].
pub type PathOf<'a> = Box<dyn Fn(&uuid::Uuid) -> Option<String> + 'a>;

/// Objects known to be in the repository without their files being read (a fast plan skips the
/// files ferry applied unchanged): references may land on them, and their GUIDs are taken.
/// Asked one object at a time, so a caller with thousands of them builds no set.
pub struct Known<'a> {
    /// Whether an object at this address is known.
    pub has_address: Box<dyn Fn(&Address) -> bool + 'a>,
    /// The path of the known object with this GUID, if there is one.
    pub path_of: PathOf<'a>,
}

impl Default for Known<'_> {
    fn default() -> Self {
        Known {
            has_address: Box::new(|_| false),
            path_of: Box::new(|_| None),
        }
    }
}

/// [`check`] of some of a repository's files, the others being `known`.
pub fn check_with(files: Vec<SourceFile>, registry: &Registry, known: &Known) -> Report {
    use rayon::prelude::*;
    let mut report = Report::default();
    // Objects whose own file cannot be read: references to them are not reported again.
    let mut broken = HashSet::new();
    // Files are parsed and checked against their schemas in parallel, in order.
    let read: Vec<(Option<Loaded>, Vec<Problem>, String)> = files
        .into_par_iter()
        .filter_map(|file| {
            let name = file.path.rsplit('/').next().unwrap_or_default();
            if name == ".gitkeep" {
                return None;
            }
            let stray = if file.symlink {
                Some("a symbolic link, not an object file (object files are regular files)")
            } else if name.starts_with('.') {
                Some("a hidden file, not an object file")
            } else if !name.ends_with(".toml") {
                Some("not an object file (object files end in .toml)")
            } else {
                None
            };
            if let Some(message) = stray {
                let problem = Problem {
                    path: file.path.clone(),
                    position: None,
                    address: None,
                    code: Code::StrayFile,
                    message: message.into(),
                    hint: Some("move the file out of objects/".into()),
                };
                return Some((None, vec![problem], String::new()));
            }
            let path = file.path.clone();
            let (loaded, problems) = load_file(file, registry);
            Some((loaded, problems, path))
        })
        .collect();
    for (loaded, problems, path) in read {
        match loaded {
            Some(loaded) => report.objects.push(loaded),
            None if !path.is_empty() => {
                let named = problems
                    .iter()
                    .find_map(|p| p.address.as_deref())
                    .and_then(|a| Address::parse(a).ok())
                    .or_else(|| path::address_from_path(&path));
                broken.extend(named);
            }
            None => {}
        }
        report.problems.extend(problems);
    }
    report.objects.sort_by(|a, b| a.path.cmp(&b.path));
    let set_problems = check_set(&report.objects, &broken, known, registry);
    report.problems.extend(set_problems);
    report.problems.sort_by(|a, b| {
        (&a.path, a.position, a.code, &a.message).cmp(&(&b.path, b.position, b.code, &b.message))
    });
    report
}

/// The checks across files: duplicates, references, cycles and exportability. References to
/// `broken` addresses (objects whose files have problems of their own) are not reported.
pub fn check_set(
    objects: &[Loaded],
    broken: &HashSet<Address>,
    known: &Known,
    registry: &Registry,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let by_address = check_unique(objects, known, &mut problems);
    for loaded in objects {
        let Some(kind) = registry.get(&loaded.object.kind) else {
            continue;
        };
        let lookup = Lookup {
            by_address: &by_address,
            broken,
            known,
            registry,
        };
        check_references(loaded, kind, &lookup, &mut problems);
        problems.extend(not_exportable(loaded, kind));
    }
    check_cycles(objects, &by_address, registry, &mut problems);
    problems
}

/// Where a reference's target may be found: in the repository, among the broken files, or
/// among the objects outside the checked set.
struct Lookup<'a> {
    by_address: &'a HashMap<Address, &'a Loaded>,
    broken: &'a HashSet<Address>,
    known: &'a Known<'a>,
    registry: &'a Registry,
}

/// Duplicate GUIDs, duplicate addresses and paths that differ only in letter case or Unicode
/// normalisation; returns the
/// objects by address (the first of each address).
fn check_unique<'a>(
    objects: &'a [Loaded],
    known: &Known,
    problems: &mut Vec<Problem>,
) -> HashMap<Address, &'a Loaded> {
    let mut by_guid: HashMap<uuid::Uuid, &Loaded> = HashMap::new();
    let mut by_address: HashMap<Address, &Loaded> = HashMap::new();
    let mut by_folded_path: HashMap<String, &Loaded> = HashMap::new();
    for loaded in objects {
        let folded = crate::model::path::folded(&loaded.path);
        if let Some(first) = by_folded_path.get(&folded) {
            if first.path != loaded.path {
                problems.push(Problem {
                    path: loaded.path.clone(),
                    position: file::position_of(&loaded.text, "/name"),
                    address: Some(loaded.object.address().to_string()),
                    code: Code::DuplicateAddress,
                    message: format!(
                        "{} differs from {} only in letter case or Unicode normalisation (NFC/NFD): on macOS and Windows both are one file",
                        loaded.object.address(),
                        first.object.address()
                    ),
                    hint: Some("rename one of the objects".into()),
                });
            }
        } else {
            by_folded_path.insert(folded, loaded);
        }
        let address = loaded.object.address();
        if let Some(guid) = loaded.object.guid {
            if let Some(other) = (known.path_of)(&guid) {
                problems.push(Problem {
                    path: loaded.path.clone(),
                    position: file::position_of(&loaded.text, "/guid"),
                    address: Some(address.to_string()),
                    code: Code::DuplicateGuid,
                    message: format!("guid {guid} is also the guid of the object in {other}"),
                    hint: Some("a copied file keeps its GUID: delete the `guid` line of the copy and run `ferry fmt` to give it a new one".into()),
                });
            }
            if let Some(first) = by_guid.get(&guid) {
                problems.push(Problem {
                    path: loaded.path.clone(),
                    position: file::position_of(&loaded.text, "/guid"),
                    address: Some(address.to_string()),
                    code: Code::DuplicateGuid,
                    message: format!(
                        "guid {guid} is also the guid of {} ({})",
                        first.object.address(),
                        first.path
                    ),
                    hint: Some("a copied file keeps its GUID: delete the `guid` line of the copy and run `ferry fmt` to give it a new one".into()),
                });
            } else {
                by_guid.insert(guid, loaded);
            }
        }
        if let Some(first) = by_address.get(&address) {
            problems.push(Problem {
                path: loaded.path.clone(),
                position: file::position_of(&loaded.text, "/name"),
                address: Some(address.to_string()),
                code: Code::DuplicateAddress,
                message: format!("address {address} is also used by {}", first.path),
                hint: Some("rename one of the objects".into()),
            });
        } else {
            by_address.insert(address, loaded);
        }
    }
    by_address
}

/// Every reference of `loaded` parses, points at a kind its field accepts, and exists.
fn check_references(loaded: &Loaded, kind: &Kind, lookup: &Lookup, problems: &mut Vec<Problem>) {
    let address = loaded.object.address().to_string();
    for reference in graph::object_references(kind, &loaded.object) {
        let problem = |code, message: String, hint: String| Problem {
            path: loaded.path.clone(),
            position: file::position_of(&loaded.text, &reference.pointer),
            address: Some(address.clone()),
            code,
            message,
            hint: Some(hint),
        };
        let accepts = reference.accepts.join(", ");
        let target = match Address::parse(&reference.target) {
            Ok(target) => target,
            Err(e) => {
                problems.push(problem(
                    Code::MissingReference,
                    format!("{}: {e}", reference.pointer),
                    format!("this field takes the address of a {accepts}"),
                ));
                continue;
            }
        };
        if !reference.accepts.contains(&target.kind) {
            problems.push(problem(
                Code::WrongKind,
                format!(
                    "{} refers to {target}, a {}, but the field takes only {accepts}",
                    reference.pointer, target.kind
                ),
                format!("point it at a {accepts}"),
            ));
            continue;
        }
        if !lookup.by_address.contains_key(&target)
            && !lookup.broken.contains(&target)
            && !(lookup.known.has_address)(&target)
        {
            let scoped = lookup.registry.get(&target.kind).map(|k| k.scope);
            let hint = match (scoped, &target.project) {
                (Some(crate::kinds::Scope::Project), None) => format!(
                    "`{}` is project-scoped: write {}/<project>/{}",
                    target.kind, target.kind, target.name
                ),
                (Some(crate::kinds::Scope::Tenant), Some(_)) => format!(
                    "`{}` is not project-scoped: write {}/{}",
                    target.kind, target.kind, target.name
                ),
                _ => format!("add {target} to the repository, or correct the address"),
            };
            problems.push(problem(
                Code::MissingReference,
                format!(
                    "{} refers to {target}, which does not exist",
                    reference.pointer
                ),
                hint,
            ));
        }
    }
}

/// The problem of an object whose kind may not move between tenants, if it is one.
fn not_exportable(loaded: &Loaded, kind: &Kind) -> Option<Problem> {
    let address = loaded.object.address().to_string();
    if let Some(reason) = kind.exportable.refuses(&loaded.object.spec) {
        return Some(Problem {
            path: loaded.path.clone(),
            position: None,
            address: Some(address),
            code: Code::NotExportable,
            message: match kind.exportable {
                crate::kinds::Exportable::Never { .. } => {
                    format!(
                        "`{}` objects cannot be moved between tenants: {reason}",
                        kind.name
                    )
                }
                _ => format!(
                    "this `{}` cannot be moved between tenants: {reason}",
                    kind.name
                ),
            },
            hint: Some("remove the file from the repository; move the object by hand".into()),
        });
    }
    None
}

/// The problems of environment files (`(name, bytes)` as [`crate::repo::environment_files`]
/// gives them) over the repository's `objects`: a name that cannot be an environment's, every
/// parse problem (syntax, unknown keys, undefined variables, selectors, pointers), then what the
/// overlay refuses (a selector that matches nothing, a field that is not `env_specific` or is
/// secret, a value the kind's schema refuses), and a `requires` naming none of `known` (the
/// repository's environments, checked or not).
pub fn check_environments(
    files: &[(String, Vec<u8>)],
    known: &[String],
    objects: &[Object],
    registry: &Registry,
) -> Vec<Problem> {
    use crate::desired::{environment, overlay};
    let mut problems = Vec::new();
    let mut gates: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    let hint =
        "fix the environment file at the line shown (its schema: schemas/environment.schema.json)";
    let problem = |path: &str, line: usize, message: String| Problem {
        path: path.to_string(),
        position: (line > 0).then_some(Position { line, column: 1 }),
        address: None,
        code: Code::Environment,
        message,
        hint: Some(hint.to_string()),
    };
    for (name, bytes) in files {
        let path = environment::path_of(name);
        if let Err(why) = environment::check_name(name) {
            problems.push(problem(&path, 0, why));
            continue;
        }
        let env = match environment::Environment::parse(name, bytes) {
            Ok(env) => env,
            Err(e) => {
                problems.extend(
                    e.problems
                        .into_iter()
                        .map(|p| problem(&e.path, p.line, p.message)),
                );
                continue;
            }
        };
        let mut overlaid = objects.to_vec();
        if let Err(e) = overlay::apply(&env, &mut overlaid, registry, &[]) {
            problems.extend(
                e.problems
                    .into_iter()
                    .map(|p| problem(&e.path, p.line, p.message)),
            );
        }
        gates.insert(name.clone(), env.requires.clone());
        // The gate names environments by their files.
        for (required, line) in &env.requires {
            if !known.contains(required) {
                problems.push(problem(
                    &path,
                    *line,
                    format!(
                        "requires environment `{required}`, but there is no {}",
                        environment::path_of(required)
                    ),
                ));
            }
        }
    }
    // A gate cycle (test requires prod, prod requires test) can never be met.
    for cycle in gate_cycles(&gates) {
        let line = gates[&cycle[0]]
            .iter()
            .find(|(n, _)| *n == cycle[1 % cycle.len()])
            .map_or(0, |(_, l)| *l);
        let mut names = cycle.clone();
        names.push(cycle[0].clone());
        problems.push(problem(
            &environment::path_of(&cycle[0]),
            line,
            format!(
                "the promotion gates form a cycle ({}): no environment of it can ever be deployed; remove one of the `requires`",
                names.join(" requires ")
            ),
        ));
    }
    problems
        .sort_by(|a, b| (&a.path, a.position, &a.message).cmp(&(&b.path, b.position, &b.message)));
    problems
}

/// The cycles among environments' `requires`, each once, starting at its smallest name.
fn gate_cycles(gates: &BTreeMap<String, Vec<(String, usize)>>) -> Vec<Vec<String>> {
    let mut cycles = std::collections::BTreeSet::new();
    for start in gates.keys() {
        // Depth-first from `start`, along paths of names greater than it (so each cycle is
        // found from its smallest member only).
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, path)) = stack.pop() {
            for (next, _) in gates.get(&at).map(Vec::as_slice).unwrap_or_default() {
                if next == start {
                    cycles.insert(path.clone());
                } else if next > start && !path.contains(next) && gates.contains_key(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    cycles.into_iter().collect()
}

/// A problem for every dependency cycle among `objects`.
fn check_cycles(
    objects: &[Loaded],
    by_address: &HashMap<Address, &Loaded>,
    registry: &Registry,
    problems: &mut Vec<Problem>,
) {
    let graph = Graph::build(objects.iter().map(|l| &l.object), registry);
    for cycle in graph.cycles() {
        let first = &cycle[0];
        let Some(loaded) = by_address.get(first) else {
            continue;
        };
        let chain: Vec<String> = cycle.iter().map(Address::to_string).collect();
        problems.push(Problem {
            path: loaded.path.clone(),
            position: None,
            address: Some(first.to_string()),
            code: Code::Cycle,
            message: format!("dependency cycle: {}", chain.join(" → ")),
            hint: Some("objects cannot depend on themselves, even through others: remove one of these references".into()),
        });
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    fn gates(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<(String, usize)>> {
        pairs
            .iter()
            .map(|(n, r)| {
                (
                    n.to_string(),
                    r.iter().map(|x| (x.to_string(), 1)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn each_gate_cycle_is_found_once_from_its_smallest_name() {
        let found = gate_cycles(&gates(&[
            ("dev", &[]),
            ("test", &["dev", "prod"]),
            ("prod", &["test"]),
            ("solo", &["solo"]),
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a", "missing"]),
        ]));
        let names: Vec<String> = found.iter().map(|c| c.join(">")).collect();
        assert_eq!(names, ["a>b>c", "prod>test", "solo"]);
        assert!(gate_cycles(&gates(&[("test", &["dev"]), ("prod", &["test"])])).is_empty());
    }
}
