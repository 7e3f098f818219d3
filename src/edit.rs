//! Direct edits of a tenant's objects, as the platform's own users make them outside git
//! (`ferry object put|get|list|rm`), and the two conversions every reader and writer of a store
//! needs:
//!
//! - [`resolve`]: object files → store changes. References (addresses) become GUIDs, found in the
//!   same batch first and then in the tenant; secret values are split from the body; the content
//!   hash is computed.
//! - [`to_object`]: a stored object → an object with addresses again, secret fields holding the
//!   placeholder `(sensitive)`.
//!
//! A file without a `guid` updates the tenant's object at the same address if there is one, and
//! otherwise creates an object with a new random GUID.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use uuid::Uuid;

use crate::graph;
use crate::kinds::{Kind, Registry};
use crate::model::{file, hash, pointer, Address, Object};
use crate::repo::SourceFile;
use crate::secret::{Secret, PLACEHOLDER};
use crate::store::{Change, NewObject, StoreError, StoredObject, Tenant};
use crate::validate::{self, Code, Loaded, Problem};

/// Why a set of files cannot be put.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Problems in the files.
    #[error("{} problem(s) in the files", .0.len())]
    Invalid(Vec<Problem>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Object files → the changes that put them into `tenant`, with the file each change comes from.
/// Problems in any file stop the whole batch (nothing is written), and all of them are reported.
pub fn resolve(
    files: Vec<SourceFile>,
    registry: &Registry,
    tenant: &dyn Tenant,
) -> Result<(Vec<Change>, Vec<String>), EditError> {
    use rayon::prelude::*;
    let mut problems = Vec::new();
    let mut loaded: Vec<Loaded> = Vec::new();
    // Files are parsed and checked against their schemas in parallel, in order.
    let parsed: Vec<_> = files
        .into_par_iter()
        .map(|f| validate::parse_owned(f, registry))
        .collect();
    for (l, p) in parsed {
        problems.extend(p);
        loaded.extend(l);
    }
    let seen_guid = batch_duplicates(&loaded, &mut problems);
    // Every address the batch names or refers to, looked up in the tenant at once.
    let mut wanted: BTreeSet<String> = loaded
        .iter()
        .map(|l| l.object.address().to_string())
        .collect();
    for l in &loaded {
        let kind = registry
            .get(&l.object.kind)
            .expect("parse_file checked the kind");
        wanted.extend(
            graph::object_references(kind, &l.object)
                .into_iter()
                .map(|r| r.target),
        );
    }
    let in_tenant = tenant.guids(&wanted.into_iter().collect::<Vec<_>>())?;
    let batch = batch_guids(&loaded, &in_tenant, &seen_guid, &mut problems);
    let lookup = |address: &str| {
        batch
            .get(address)
            .or_else(|| in_tenant.get(address))
            .copied()
    };
    // References resolved and hashes computed in parallel, in order; each file's text and
    // parsed form are dropped as soon as its change is made.
    let prepared: Vec<(String, Result<NewObject, Vec<Problem>>)> = loaded
        .into_par_iter()
        .map(|l| {
            let kind = registry
                .get(&l.object.kind)
                .expect("parse_file checked the kind");
            let guid = batch[&l.object.address().to_string()];
            let new =
                prepare(kind, &l.object, guid, &lookup).map_err(|found| in_batch_terms(&l, found));
            (l.path, new)
        })
        .collect();
    let mut changes = Vec::with_capacity(prepared.len());
    let mut paths = Vec::with_capacity(prepared.len());
    for (path, result) in prepared {
        match result {
            Ok(new) => {
                changes.push(Change::Put(Box::new(new)));
                paths.push(path);
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok((changes, paths))
    } else {
        problems.sort_by(|a, b| (&a.path, a.position, a.code).cmp(&(&b.path, b.position, b.code)));
        Err(EditError::Invalid(problems))
    }
}

/// Duplicate addresses (letter case and Unicode normalisation aside) and GUIDs among the
/// batch's files; returns the batch's GUIDs with the file that holds each.
fn batch_duplicates<'a>(
    loaded: &'a [Loaded],
    problems: &mut Vec<Problem>,
) -> HashMap<Uuid, &'a str> {
    let mut seen_address: HashMap<String, (&str, Address)> = HashMap::new();
    let mut seen_guid: HashMap<Uuid, &str> = HashMap::new();
    for l in loaded {
        let address = l.object.address();
        let folded = crate::model::path::folded(&address.to_string());
        if let Some((first, first_address)) = seen_address.get(&folded) {
            let message = if *first_address == address {
                format!("{address} is also in {first}")
            } else {
                format!(
                    "{address} differs from {first_address} in {first} only in letter case or Unicode normalisation (NFC/NFD): exported, both would be one file on macOS and Windows"
                )
            };
            problems.push(problem(
                l,
                Code::DuplicateAddress,
                "/name",
                message,
                "put each object once, under one name",
            ));
        } else {
            seen_address.insert(folded, (&l.path, address.clone()));
        }
        if let Some(guid) = l.object.guid {
            if let Some(first) = seen_guid.insert(guid, &l.path) {
                problems.push(problem(
                    l,
                    Code::DuplicateGuid,
                    "/guid",
                    format!("guid {guid} is also in {first}"),
                    "give each object its own guid",
                ));
            }
        }
    }
    seen_guid
}

/// The GUID of each of the batch's objects, by address: its own, the tenant's object's at that
/// address, or a new one.
fn batch_guids(
    loaded: &[Loaded],
    in_tenant: &BTreeMap<String, Uuid>,
    seen_guid: &HashMap<Uuid, &str>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, Uuid> {
    let mut batch: BTreeMap<String, Uuid> = BTreeMap::new();
    for l in loaded {
        let address = l.object.address().to_string();
        let guid = match (l.object.guid, in_tenant.get(&address)) {
            (Some(guid), Some(existing))
                if *existing != guid && !seen_guid.contains_key(existing) =>
            {
                problems.push(problem(
                    l,
                    Code::DuplicateAddress,
                    "/guid",
                    format!("{address} is already object {existing} in the tenant, not {guid}"),
                    "remove the `guid` line to update the tenant's object, or rename this one",
                ));
                guid
            }
            (Some(guid), _) => guid,
            // The object at this address is renamed away by another file of this batch: this
            // file is a new object.
            (None, Some(existing)) if seen_guid.contains_key(existing) => Uuid::new_v4(),
            (None, Some(existing)) => *existing,
            (None, None) => Uuid::new_v4(),
        };
        batch.insert(address, guid);
    }
    batch
}

/// `prepare`'s problems, with the hints and messages of a batch of files.
fn in_batch_terms(l: &Loaded, found: Vec<RefProblem>) -> Vec<Problem> {
    found
        .into_iter()
        .map(|p| {
            let hint = match p.code {
                Code::MissingReference if p.target.is_some() => {
                    format!(
                        "put {} first, or in the same command",
                        p.target.as_deref().unwrap_or_default()
                    )
                }
                _ => p.hint.to_string(),
            };
            let message = match (&p.code, &p.target) {
                (Code::MissingReference, Some(t)) => {
                    format!(
                        "{} refers to {t}, which is neither in these files nor in the tenant",
                        p.pointer
                    )
                }
                _ => p.message,
            };
            problem(l, p.code, &p.pointer, message, &hint)
        })
        .collect()
}

fn problem(l: &Loaded, code: Code, at: &str, message: String, hint: &str) -> Problem {
    Problem {
        path: l.path.clone(),
        position: file::position_of(&l.text, at),
        address: Some(l.object.address().to_string()),
        code,
        message,
        hint: Some(hint.to_string()),
    }
}

/// A reference that cannot be resolved, found by [`prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefProblem {
    /// `missing-reference` or `wrong-kind`.
    pub code: Code,
    /// The field.
    pub pointer: String,
    /// The address written, when it is one that could not be found.
    pub target: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: &'static str,
}

/// An object document (references as addresses, secrets maybe present) → the object a store
/// keeps: references resolved to GUIDs through `lookup` (address → GUID), secret values split
/// out, the content hash computed.
pub fn prepare(
    kind: &Kind,
    object: &Object,
    guid: Uuid,
    lookup: &dyn Fn(&str) -> Option<Uuid>,
) -> Result<NewObject, Vec<RefProblem>> {
    let mut problems = Vec::new();
    // The spec alone, in a document of its own so that the kind's `/spec/…` pointers reach it.
    let mut resolved = serde_json::json!({ "spec": Value::Object(object.spec.clone()) });
    let mut references = Vec::new();
    for r in graph::object_references(kind, object) {
        let target = match Address::parse(&r.target) {
            Ok(t) => t,
            Err(e) => {
                problems.push(RefProblem {
                    code: Code::MissingReference,
                    pointer: r.pointer.clone(),
                    target: None,
                    message: format!("{}: {e}", r.pointer),
                    hint: "write the address of an object",
                });
                continue;
            }
        };
        if !r.accepts.contains(&target.kind) {
            problems.push(RefProblem {
                code: Code::WrongKind,
                pointer: r.pointer.clone(),
                target: None,
                message: format!(
                    "{} refers to {target}, but the field takes only {}",
                    r.pointer,
                    r.accepts.join(", ")
                ),
                hint: "point it at an object of an accepted kind",
            });
            continue;
        }
        let text = target.to_string();
        let Some(target_guid) = lookup(&text) else {
            problems.push(RefProblem {
                code: Code::MissingReference,
                pointer: r.pointer.clone(),
                target: Some(text.clone()),
                message: format!("{} refers to {text}, which does not exist", r.pointer),
                hint: "add the object, or correct the address",
            });
            continue;
        };
        if r.pointer != "/project" {
            if let Some(slot) = resolved.pointer_mut(&r.pointer) {
                *slot = Value::String(target_guid.to_string());
            }
        }
        references.push((r.pointer, target_guid));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let secrets = take_secrets(kind, &mut resolved);
    let spec = match resolved.get_mut("spec").map(Value::take) {
        Some(Value::Object(spec)) => spec,
        _ => Default::default(),
    };
    let object = Object {
        kind: object.kind.clone(),
        guid: object.guid,
        name: object.name.clone(),
        project: object.project.clone(),
        spec,
    };
    let hash = hash::content_hash(
        &object.kind,
        &object.name,
        object.project.as_deref(),
        &object.spec,
    );
    Ok(NewObject {
        guid,
        kind: object.kind,
        name: object.name,
        project: object.project,
        spec: object.spec,
        hash,
        references,
        secrets,
    })
}

/// Removes the kind's secret fields from `doc`, returning the values to store. A field holding
/// the placeholder `(sensitive)` is removed without a value: the tenant keeps what it has.
pub fn take_secrets(kind: &Kind, doc: &mut Value) -> Vec<(String, Secret)> {
    let mut found: Vec<(String, Option<Secret>)> = Vec::new();
    for pattern in &kind.secrets {
        for (at, value) in pointer::select(doc, pattern) {
            let secret = match value {
                Value::String(s) if s == PLACEHOLDER => None,
                Value::String(s) => Some(Secret::new(s.clone())),
                other => Some(Secret::new(other.to_string())),
            };
            found.push((at, secret));
        }
    }
    let mut out = Vec::new();
    for (at, secret) in found {
        remove_at(doc, &at);
        if let Some(secret) = secret {
            out.push((at, secret));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn remove_at(doc: &mut Value, at: &str) {
    let Some((parent, last)) = at.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    if let Some(Value::Object(map)) = doc.pointer_mut(parent) {
        map.remove(&key);
    }
}

/// A stored object with addresses for its references (from `addresses`, GUID → address) and the
/// placeholder in each secret field that has a value. A reference whose target is not in
/// `addresses` keeps the GUID.
pub fn to_object(
    stored: &StoredObject,
    kind: Option<&Kind>,
    addresses: &HashMap<Uuid, String>,
) -> Object {
    let mut doc = serde_json::json!({ "spec": Value::Object(stored.spec.clone()) });
    if let Some(kind) = kind {
        for rule in &kind.references {
            let hits: Vec<String> = pointer::select(&doc, &rule.pointer)
                .into_iter()
                .map(|(at, _)| at)
                .collect();
            for at in hits {
                if let Some(slot) = doc.pointer_mut(&at) {
                    replace_guids(slot, addresses);
                }
            }
        }
    }
    for at in &stored.secret_fields {
        if let Some((parent, last)) = at.rsplit_once('/') {
            let key = last.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(map)) = doc.pointer_mut(parent) {
                map.insert(key, Value::String(PLACEHOLDER.into()));
            }
        }
    }
    let spec = match doc.get_mut("spec").map(Value::take) {
        Some(Value::Object(spec)) => spec,
        _ => Default::default(),
    };
    Object {
        kind: stored.kind.clone(),
        guid: Some(stored.guid),
        name: stored.name.clone(),
        project: stored.project.clone(),
        spec,
    }
}

fn replace_guids(value: &mut Value, addresses: &HashMap<Uuid, String>) {
    match value {
        Value::String(s) => {
            if let Some(address) = Uuid::parse_str(s).ok().and_then(|g| addresses.get(&g)) {
                *s = address.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace_guids(v, addresses)),
        _ => {}
    }
}

/// Every GUID a stored object refers to through its kind's reference fields.
pub fn referenced_guids(stored: &StoredObject, kind: &Kind) -> Vec<Uuid> {
    let mut out = Vec::new();
    for rule in &kind.references {
        for (_, value) in pointer::select_spec(&stored.spec, &rule.pointer) {
            let mut push = |v: &Value| {
                if let Some(g) = v.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                    out.push(g);
                }
            };
            match value {
                Value::Array(items) => items.iter().for_each(&mut push),
                other => push(other),
            }
        }
    }
    out
}
