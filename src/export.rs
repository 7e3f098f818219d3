//! `ferry export`: a tenant's objects written into the repository as canonical files.
//!
//! Export streams the tenant's objects once, turns each into its canonical file (references as
//! current addresses, secret fields as the `(sensitive)` placeholder) and compares it with the
//! file already there, found by GUID: only new or different files are written, a renamed object's
//! file is moved, and the files of objects that no longer exist are removed — within the
//! selection only, so a filtered export never touches other files. Objects the platform cannot
//! move are not written; they are reported with the reason their kind gives.
//!
//! With an environment (`export --env prod`), the fields its overlay sets are written with the
//! repository's base value instead of the tenant's ([`WriteBack`]), and a tenant value that is
//! not the override's is reported as drift in that field ([`FieldDrift`]).
//!
//! Existing files are matched by the `guid = "…"` line that canonical files carry on their third
//! line, so an unchanged re-export reads each file once and parses none.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::config::{Config, SourceFacts, CONFIG_FILE};
use crate::desired::environment::FieldPath;
use crate::edit;
use crate::kinds::{Category, Registry};
use crate::model::{canonical, path};
use crate::repo::{self, RepoError};
use crate::store::{Filter, StoreError, StoredObject, Tenant};

/// Which objects an export covers. Empty lists mean "all"; the lists combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these kinds.
    pub kinds: Vec<String>,
    /// Only kinds of these categories.
    pub categories: Vec<Category>,
    /// Only objects of these projects (tenant-scoped objects are then left out).
    pub projects: Vec<String>,
    /// Only these addresses (what `--select`/`--exclude` chose over the tenant's graph). Such an
    /// export removes no files: objects that are gone are not in the graph to select from.
    pub addresses: Option<HashSet<String>>,
}

impl Selection {
    /// Whether an object of `kind` in `project` is selected.
    pub fn matches(&self, registry: &Registry, kind: &str, project: Option<&str>) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
            && (self.categories.is_empty()
                || registry
                    .get(kind)
                    .is_some_and(|k| self.categories.contains(&k.category)))
            && (self.projects.is_empty()
                || project.is_some_and(|p| self.projects.iter().any(|s| s == p)))
    }

    /// The kinds to ask the store for (empty: all).
    fn store_kinds(&self, registry: &Registry) -> Vec<String> {
        if self.categories.is_empty() {
            return self.kinds.clone();
        }
        registry
            .iter()
            .filter(|k| self.categories.contains(&k.category))
            .filter(|k| self.kinds.is_empty() || self.kinds.contains(&k.name))
            .map(|k| k.name.clone())
            .collect()
    }
}

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The selection.
    pub selection: Selection,
    /// Only objects changed at or after this time (RFC 3339, UTC).
    pub changed_since: Option<String>,
    /// Only objects changed before this time (RFC 3339, UTC).
    pub changed_until: Option<String>,
    /// With an environment: the fields its overlay sets, written back with base values.
    pub write_back: Option<WriteBack>,
}

/// What `export --env` writes instead of the tenant's values: for every field the
/// environment's overlay sets on an object, the repository's base value.
#[derive(Debug, Clone, Default)]
pub struct WriteBack {
    /// The environment's name.
    pub env: String,
    /// The overridden fields, by object.
    pub objects: HashMap<Uuid, Vec<Overridden>>,
}

/// One field an environment's override sets on one object.
#[derive(Debug, Clone)]
pub struct Overridden {
    /// The field as the environment file names it.
    pub field: FieldPath,
    /// The value the override sets.
    pub value: Value,
    /// `environments/prod.toml:12`.
    pub by: String,
    /// The repository's value of the field.
    pub base: Base,
}

/// The repository's value of an overridden field.
#[derive(Debug, Clone, PartialEq)]
pub enum Base {
    /// The object has no file yet (new in the tenant): the tenant's value is written.
    NoFile,
    /// The file does not have the field: the field is left out.
    Absent,
    /// The file's value.
    Value(Value),
}

/// A field an environment's override sets whose value in the tenant is not the override's:
/// changed there by hand (or the override changed since the last apply).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDrift {
    /// The object's address.
    pub address: String,
    /// The field, as the environment file names it.
    pub field: String,
    /// The override: `environments/prod.toml:12`.
    pub set_by: String,
    /// The override's value.
    #[serde(rename = "override")]
    pub expected: Value,
    /// The tenant's value (`None`: the tenant's object has no such field).
    pub tenant: Option<Value>,
}

/// A field an environment's override sets on an object new in the tenant: it has no base value
/// in the repository, so its file gets the tenant's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptField {
    /// The object's address.
    pub address: String,
    /// The field, as the environment file names it.
    pub field: String,
    /// The override: `environments/prod.toml:12`.
    pub set_by: String,
}

/// One object export wrote, moved or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// Its kind.
    pub kind: String,
    /// Its address.
    pub address: String,
    /// Its address before a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_address: Option<String>,
    /// Its file.
    pub path: String,
}

/// An object that was not exported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its address.
    pub address: String,
    /// Its kind.
    pub kind: String,
    /// Why it cannot be moved.
    pub reason: String,
}

/// What an export did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// New objects.
    pub added: Vec<Exported>,
    /// Objects whose file changed.
    pub changed: Vec<Exported>,
    /// Objects whose address changed (the file moved).
    pub renamed: Vec<Exported>,
    /// Objects whose file was removed.
    pub deleted: Vec<Exported>,
    /// Objects not exported.
    pub not_exportable: Vec<Skipped>,
    /// Files under objects/ that could not be matched to an object (no readable guid); left alone.
    pub unmatched_files: Vec<String>,
    /// Every file written, relative to the repository root.
    #[serde(skip)]
    pub written: Vec<String>,
    /// Every file removed, relative to the repository root.
    #[serde(skip)]
    pub removed: Vec<String>,
    /// How many objects were read from the tenant.
    pub objects_read: usize,
    /// With an environment: overridden fields whose tenant value is not the override's.
    pub drift: Vec<FieldDrift>,
    /// With an environment: overridden fields of new objects, written with the tenant's value.
    pub kept: Vec<KeptField>,
    /// With an environment: how many overridden fields were written with their base value.
    pub written_back: usize,
}

impl Report {
    /// Whether the export changed any object file.
    pub fn has_changes(&self) -> bool {
        !(self.added.is_empty()
            && self.changed.is_empty()
            && self.renamed.is_empty()
            && self.deleted.is_empty())
    }

    /// A commit message: a subject with the counts, and the counts per kind.
    pub fn commit_message(&self, tenant: &str, subject: Option<&str>) -> String {
        let counts = format!(
            "{} added, {} changed, {} renamed, {} deleted",
            self.added.len(),
            self.changed.len(),
            self.renamed.len(),
            self.deleted.len()
        );
        let mut message = match subject {
            Some(s) => format!("{s}\n\nExported from {tenant}: {counts}.\n"),
            None => format!("Export {tenant}: {counts}\n"),
        };
        let mut body = String::new();
        for (label, list) in [
            ("added", &self.added),
            ("changed", &self.changed),
            ("renamed", &self.renamed),
            ("deleted", &self.deleted),
        ] {
            if list.is_empty() {
                continue;
            }
            let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
            for e in list {
                *per_kind.entry(&e.kind).or_default() += 1;
            }
            let kinds: Vec<String> = per_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
            body.push_str(&format!("{label:<8} {}\n", kinds.join(", ")));
        }
        if !body.is_empty() {
            message.push('\n');
            message.push_str(&body);
        }
        message
    }
}

/// An export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the tenant failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the repository failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A file could not be written or removed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `ferry.toml` is not valid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// An object cannot be written as TOML.
    #[error(transparent)]
    Write(#[from] canonical::WriteError),
}

/// The GUID a canonical object file carries on its `guid = "…"` line.
fn guid_of(bytes: &[u8]) -> Option<Uuid> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.lines()
        .take(8)
        .find_map(|l| l.strip_prefix("guid = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|g| Uuid::parse_str(g).ok())
}

/// The kind and project a file's path gives.
fn kind_and_project(rel: &str) -> Option<(String, Option<String>)> {
    let rest = rel.strip_prefix("objects/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [_, kind, _] => Some((kind.to_string(), None)),
        [_, kind, project, _] => Some((kind.to_string(), path::unescape(project).ok())),
        _ => None,
    }
}

/// Writes a file (and the folders it needs) without following links, and stages it for the
/// commit when there is one.
fn write(
    disk: &mut repo::Disk,
    rel: &str,
    text: &str,
    staging: Option<&mut repo::Staging>,
) -> Result<(), ExportError> {
    let file = disk.write(rel, text.as_bytes())?;
    if let Some(staging) = staging {
        let meta = file.metadata().map_err(|source| ExportError::Io {
            action: "write",
            path: rel.to_string(),
            source,
        })?;
        staging.add(rel, text.as_bytes(), &meta)?;
    }
    Ok(())
}

/// Removes an object file, and the folders that leaves empty up to `objects/`.
fn remove(disk: &mut repo::Disk, rel: &str) -> Result<(), ExportError> {
    disk.remove(rel, path::OBJECTS_DIR)?;
    Ok(())
}

/// Every object of a tenant with addresses for references, for building its dependency graph.
pub fn tenant_objects(
    tenant: &dyn Tenant,
    registry: &Registry,
) -> Result<Vec<crate::model::Object>, StoreError> {
    let addresses = tenant.address_index()?;
    let mut objects = Vec::new();
    tenant.for_each_object(&Filter::default(), &mut |o| {
        objects.push(edit::to_object(&o, registry.get(&o.kind), &addresses));
        Ok(())
    })?;
    Ok(objects)
}

/// Exports `tenant` into the repository at `root`. Each file written is staged in `staging`,
/// when given, for a commit. `progress` is called with (done, total) as objects are processed.
pub fn export(
    tenant: &dyn Tenant,
    root: &Path,
    registry: &Registry,
    options: &Options,
    mut staging: Option<&mut repo::Staging>,
    progress: &mut dyn FnMut(usize),
) -> Result<Report, ExportError> {
    let mut report = Report::default();
    let mut disk = repo::Disk::new(root);
    // Exporting through an environment does not make its tenant the repository's source.
    let keep_source = options.write_back.is_some();
    record_source(
        tenant,
        &mut disk,
        root,
        staging.as_deref_mut(),
        keep_source,
        &mut report,
    )?;
    let mut files = files_by_guid(root, &mut report)?;
    // What the commit builds on: a file equal on disk may still differ from it (an export
    // killed after writing files, before committing them).
    let head = match staging.as_deref() {
        Some(staging) => Some(staging.head_files(path::OBJECTS_DIR)?),
        None => None,
    };
    let addresses = tenant.address_index()?;
    let filter = Filter {
        kinds: options.selection.store_kinds(registry),
        changed_since: options.changed_since.clone(),
        changed_until: options.changed_until.clone(),
    };
    let mut run = Run {
        disk: &mut disk,
        registry,
        options,
        addresses: &addresses,
        staging: staging.as_deref_mut(),
        head: head.as_ref(),
        files: &mut files,
        seen: HashSet::new(),
        rendered: HashMap::new(),
        written_now: HashSet::new(),
        report: &mut report,
    };
    let mut failure: Option<ExportError> = None;
    tenant
        .for_each_object(&filter, &mut |stored: StoredObject| {
            run.report.objects_read += 1;
            progress(run.report.objects_read);
            run.one(stored).map_err(|e| {
                failure = Some(e);
                StoreError::Stopped
            })
        })
        .map_err(|e| failure.take().unwrap_or(ExportError::Store(e)))?;
    let Run {
        seen,
        rendered,
        written_now,
        ..
    } = run;

    let mut gone = gone_files(
        tenant, registry, options, &filter, &files, &seen, &addresses,
    )?;
    gone.retain(|(_, p)| !written_now.contains(p));
    if let (Some(head), Some(staging)) = (&head, staging) {
        let missing = missing_from_disk(head, &rendered, staging, &disk, &mut report)?;
        for (guid, (old, _)) in &missing {
            match rendered.get(guid) {
                // Moved by the killed export: a rename.
                Some(rel) => renamed_in_recovery(&mut report, old, rel),
                None => continue,
            }
        }
        let gone_too = gone_files(
            tenant, registry, options, &filter, &missing, &seen, &addresses,
        )?;
        for (_, rel) in gone_too {
            // Removed from disk by the killed export: only the commit still has it.
            report.removed.push(rel.clone());
            report.deleted.push(deleted_entry(rel));
        }
    }
    gone.sort_by(|a, b| a.1.cmp(&b.1));
    for (_, rel) in gone {
        remove(&mut disk, &rel)?;
        report.removed.push(rel.clone());
        report.deleted.push(deleted_entry(rel));
    }
    // A path removed and then written again (names swapped) is a written file; a file cut
    // short by a killed export, written whole now, is matched.
    report.removed.retain(|p| !written_now.contains(p));
    report.unmatched_files.retain(|p| !written_now.contains(p));
    sort(&mut report);
    Ok(report)
}

/// The report entry of a removed object file.
fn deleted_entry(rel: String) -> Exported {
    let (kind, _) = kind_and_project(&rel).unwrap_or_default();
    let address = path::address_from_path(&rel)
        .map(|a| a.to_string())
        .unwrap_or_else(|| rel.clone());
    Exported {
        kind,
        address,
        old_address: None,
        path: rel,
    }
}

/// The object files HEAD has that are neither on disk nor written by this export, by the GUID
/// their blob carries (read from git: only these few blobs are read). An export killed after
/// removing or moving files leaves such paths; the caller decides which are removals.
fn missing_from_disk(
    head: &HashMap<String, git2::Oid>,
    rendered: &HashMap<Uuid, String>,
    staging: &repo::Staging,
    disk: &repo::Disk,
    report: &mut Report,
) -> Result<HashMap<Uuid, (String, Vec<u8>)>, ExportError> {
    let claimed: HashSet<&str> = rendered.values().map(String::as_str).collect();
    let mut paths: Vec<(&String, &git2::Oid)> = head
        .iter()
        .filter(|(rel, _)| !claimed.contains(rel.as_str()) && !disk.exists(rel))
        .collect();
    paths.sort();
    let mut missing = HashMap::new();
    for (rel, id) in paths {
        let bytes = staging.blob(*id)?;
        match guid_of(&bytes) {
            Some(guid) if !missing.contains_key(&guid) => {
                missing.insert(guid, (rel.clone(), bytes));
            }
            _ => report.unmatched_files.push(rel.clone()),
        }
    }
    Ok(missing)
}

/// Records that the object now at `rel` was at `old` in the commit built on: its file counts
/// as renamed (not added), and `old` is removed from the commit.
fn renamed_in_recovery(report: &mut Report, old: &str, rel: &str) {
    report.removed.push(old.to_string());
    let old_address = path::address_from_path(old).map(|a| a.to_string());
    if let Some(at) = report.added.iter().position(|e| e.path == rel) {
        let entry = report.added.remove(at);
        report.renamed.push(Exported {
            old_address,
            ..entry
        });
    }
}

/// What one export carries from object to object.
struct Run<'a> {
    disk: &'a mut repo::Disk,
    registry: &'a Registry,
    options: &'a Options,
    addresses: &'a HashMap<Uuid, String>,
    staging: Option<&'a mut repo::Staging>,
    /// HEAD's object files and their blob ids, when committing.
    head: Option<&'a HashMap<String, git2::Oid>>,
    /// The repository's object files not yet matched to a tenant object, by GUID.
    files: &'a mut HashMap<Uuid, (String, Vec<u8>)>,
    /// The GUIDs of the tenant objects chosen for this export.
    seen: HashSet<Uuid>,
    /// The path each exported object's file has now, by GUID.
    rendered: HashMap<Uuid, String>,
    /// The paths written by this export so far.
    written_now: HashSet<String>,
    report: &'a mut Report,
}

impl Run<'_> {
    /// Exports one tenant object: writes, renames or removes its file as needed.
    fn one(&mut self, stored: StoredObject) -> Result<(), ExportError> {
        let selection = &self.options.selection;
        if !selection.matches(self.registry, &stored.kind, stored.project.as_deref())
            || selection
                .addresses
                .as_ref()
                .is_some_and(|chosen| !chosen.contains(&stored.address()))
        {
            return Ok(());
        }
        self.seen.insert(stored.guid);
        let address = stored.address();
        let Some(kind) = self.registry.get(&stored.kind) else {
            self.report.not_exportable.push(Skipped {
                address,
                kind: stored.kind.clone(),
                reason: "no schema for this kind in ferry or the repository".into(),
            });
            return Ok(());
        };
        let mut object = edit::to_object(&stored, Some(kind), self.addresses);
        if let Some(fields) = self
            .options
            .write_back
            .as_ref()
            .and_then(|w| w.objects.get(&stored.guid))
        {
            write_back(&mut object, &address, fields, self.report);
        }
        let existing = self.files.remove(&stored.guid);
        if let Some(reason) = kind.exportable.refuses(&object.spec) {
            self.report.not_exportable.push(Skipped {
                address: address.clone(),
                kind: kind.name.clone(),
                reason: reason.to_string(),
            });
            if let Some((old, _)) = existing {
                // It was exported while it could be; it cannot be any more.
                remove(self.disk, &old)?;
                self.report.removed.push(old.clone());
                self.report.deleted.push(Exported {
                    kind: kind.name.clone(),
                    address,
                    old_address: None,
                    path: old,
                });
            }
            return Ok(());
        }
        let text = canonical::to_canonical(&object, Some(kind))?;
        let rel = path::object_path(
            kind.category,
            &kind.name,
            object.project.as_deref(),
            &object.name,
        );
        let entry = Exported {
            kind: kind.name.clone(),
            address: address.clone(),
            old_address: None,
            path: rel.clone(),
        };
        self.rendered.insert(stored.guid, rel.clone());
        let staging = self.staging.as_deref_mut();
        match existing {
            None => {
                write(self.disk, &rel, &text, staging)?;
                self.report.added.push(entry);
            }
            Some((old, _)) if old != rel => {
                let old_address = path::address_from_path(&old).map(|a| a.to_string());
                // Another object may already have been written at the old path (a swap of
                // names): then it is that object's file now, and stays.
                if !self.written_now.contains(&old) {
                    remove(self.disk, &old)?;
                }
                write(self.disk, &rel, &text, staging)?;
                self.report.removed.push(old);
                self.report.renamed.push(Exported {
                    old_address,
                    ..entry
                });
            }
            Some((_, bytes)) if bytes != text.as_bytes() => {
                write(self.disk, &rel, &text, staging)?;
                self.report.changed.push(entry);
            }
            Some(_) => {
                // As on disk; the commit needs it too when HEAD has other bytes there.
                let (Some(head), Some(staging)) = (self.head, staging) else {
                    return Ok(());
                };
                let id = staging.blob_id(text.as_bytes())?;
                match head.get(&rel) {
                    Some(at_head) if *at_head == id => return Ok(()),
                    Some(_) => self.report.changed.push(entry),
                    None => self.report.added.push(entry),
                }
                // The bytes are in hand: only the file's stat data is read, for the index.
                let full = self.disk.root().join(&rel);
                let meta = std::fs::symlink_metadata(&full).map_err(|source| ExportError::Io {
                    action: "read",
                    path: rel.clone(),
                    source,
                })?;
                staging.add(&rel, text.as_bytes(), &meta)?;
            }
        }
        self.written_now.insert(rel.clone());
        self.report.written.push(rel);
        Ok(())
    }
}

/// Writes the base value of each overridden field into the tenant's `object`, and reports the
/// fields whose tenant value is not the override's.
fn write_back(
    object: &mut crate::model::Object,
    address: &str,
    fields: &[Overridden],
    report: &mut Report,
) {
    let doc = object.to_document();
    let mut spec = Value::Object(std::mem::take(&mut object.spec));
    for f in fields {
        // The tenant's object may hold an array's elements in another order.
        let at = f.field.concrete(&doc).ok();
        let tenant = at.as_deref().and_then(|p| doc.pointer(p)).cloned();
        if tenant.as_ref() != Some(&f.value) {
            report.drift.push(FieldDrift {
                address: address.to_string(),
                field: f.field.text.clone(),
                set_by: f.by.clone(),
                expected: f.value.clone(),
                tenant,
            });
        }
        let Some(at) = at else {
            continue;
        };
        match &f.base {
            Base::NoFile => report.kept.push(KeptField {
                address: address.to_string(),
                field: f.field.text.clone(),
                set_by: f.by.clone(),
            }),
            Base::Absent => {
                put(&mut spec, &at, None);
                report.written_back += 1;
            }
            Base::Value(v) => {
                put(&mut spec, &at, Some(v.clone()));
                report.written_back += 1;
            }
        }
    }
    if let Value::Object(map) = spec {
        object.spec = map;
    }
}

/// Sets (or with `None` removes) the value at a concrete pointer (`/spec/…`) in `spec`, making
/// the tables on the way to a value set.
fn put(spec: &mut Value, pointer: &str, value: Option<Value>) {
    let segments = crate::model::pointer::segments(pointer);
    let Some((last, path)) = segments.get(1..).and_then(<[String]>::split_last) else {
        return;
    };
    let mut here = spec;
    for seg in path {
        here = match here {
            Value::Array(items) => match seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            Value::Object(map) => {
                if value.is_none() && !map.contains_key(seg) {
                    return;
                }
                map.entry(seg.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            _ => return,
        };
    }
    match (here, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(last.clone(), v);
        }
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Array(items), Some(v)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = v;
            }
        }
        _ => {}
    }
}

/// The report's lists in address (or path) order.
fn sort(report: &mut Report) {
    for list in [
        &mut report.added,
        &mut report.changed,
        &mut report.renamed,
        &mut report.deleted,
    ] {
        list.sort_by(|a, b| a.address.cmp(&b.address));
    }
    report
        .not_exportable
        .sort_by(|a, b| a.address.cmp(&b.address));
    report.unmatched_files.sort();
    report
        .drift
        .sort_by(|a, b| (&a.address, &a.field).cmp(&(&b.address, &b.field)));
    report
        .kept
        .sort_by(|a, b| (&a.address, &a.field).cmp(&(&b.address, &b.field)));
}

/// Records the source tenant's facts in `ferry.toml` (when they changed; with `keep_source`,
/// only when it records none) and refreshes the schema copies; both are files the export
/// wrote.
fn record_source(
    tenant: &dyn Tenant,
    disk: &mut repo::Disk,
    root: &Path,
    staging: Option<&mut repo::Staging>,
    keep_source: bool,
    report: &mut Report,
) -> Result<(), ExportError> {
    let config_path = root.join(CONFIG_FILE);
    if std::fs::symlink_metadata(&config_path).is_ok_and(|m| m.file_type().is_symlink()) {
        // Export rewrites ferry.toml: never through a link.
        return Err(RepoError::Symlink { path: config_path }.into());
    }
    let config_text = std::fs::read_to_string(&config_path).map_err(|source| ExportError::Io {
        action: "read",
        path: CONFIG_FILE.into(),
        source,
    })?;
    let mut config = Config::parse(&config_text, Path::new(CONFIG_FILE))?;
    let facts = tenant.facts()?;
    let source = SourceFacts {
        name: facts.name,
        platform_version: facts.platform_version,
        engine: facts.engine,
        engine_mode: facts.engine_mode,
        cluster: facts.cluster,
    };
    if config.source.as_ref() != Some(&source) && !(keep_source && config.source.is_some()) {
        config.source = Some(source);
        write(disk, CONFIG_FILE, &config.to_text(), staging)?;
        report.written.push(CONFIG_FILE.into());
    }
    report.written.extend(repo::refresh_schemas(disk)?);
    Ok(())
}

/// The object files there now, by the GUID on their `guid` line; files without a readable one
/// are listed as unmatched.
fn files_by_guid(
    root: &Path,
    report: &mut Report,
) -> Result<HashMap<Uuid, (String, Vec<u8>)>, ExportError> {
    let snapshot = repo::snapshot(root, &repo::Source::WorkTree)?;
    let mut files: HashMap<Uuid, (String, Vec<u8>)> =
        HashMap::with_capacity(snapshot.objects.len());
    for f in snapshot.objects {
        let name = f.path.rsplit('/').next().unwrap_or_default();
        if name.starts_with('.') || !name.ends_with(".toml") || f.symlink {
            continue;
        }
        match guid_of(&f.bytes) {
            Some(guid) if !files.contains_key(&guid) => {
                files.insert(guid, (f.path, f.bytes));
            }
            _ => report.unmatched_files.push(f.path),
        }
    }

    Ok(files)
}

/// The files of objects that are gone from the tenant, within the selection.
fn gone_files(
    tenant: &dyn Tenant,
    registry: &Registry,
    options: &Options,
    filter: &Filter,
    files: &HashMap<Uuid, (String, Vec<u8>)>,
    seen: &HashSet<Uuid>,
    addresses: &HashMap<Uuid, String>,
) -> Result<Vec<(Uuid, String)>, ExportError> {
    let gone: Vec<(Uuid, String)> = if filter.by_time() {
        let deleted: HashSet<Uuid> = tenant
            .deleted(filter)?
            .into_iter()
            .map(|d| d.guid)
            .collect();
        files
            .iter()
            .filter(|(guid, _)| deleted.contains(guid))
            .filter(|(_, (p, _))| {
                options.selection.addresses.is_none()
                    && kind_and_project(p).is_some_and(|(kind, project)| {
                        options
                            .selection
                            .matches(registry, &kind, project.as_deref())
                    })
            })
            .map(|(guid, (p, _))| (*guid, p.clone()))
            .collect()
    } else if options.selection.addresses.is_some() {
        Vec::new()
    } else {
        files
            .iter()
            .filter(|(guid, _)| !seen.contains(guid) && !addresses.contains_key(guid))
            .filter(|(_, (p, _))| {
                kind_and_project(p).is_some_and(|(kind, project)| {
                    options
                        .selection
                        .matches(registry, &kind, project.as_deref())
                })
            })
            .map(|(guid, (p, _))| (*guid, p.clone()))
            .collect()
    };
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::environment::Environment;

    /// The fields an environment file's first override names, by pointer.
    fn fields(text: &str) -> Vec<(FieldPath, Value)> {
        let env = Environment::parse("prod", text.as_bytes()).unwrap();
        env.overrides[0]
            .set
            .iter()
            .map(|(f, v, _)| (f.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn overridden_fields_get_their_base_value_and_drift_is_named() {
        let mut object = crate::model::Object {
            kind: "data_source".into(),
            guid: Some(Uuid::from_u128(1)),
            name: "pos".into(),
            project: None,
            spec: serde_json::json!({
                "owner": "ops",
                "connection": {"host": "by-hand", "schema": "prod"},
                "files": [{"name": "b", "type": "y"}, {"name": "a", "type": "prod"}],
            })
            .as_object()
            .unwrap()
            .clone(),
        };
        let set = fields(
            "[[override]]\nselect = \"data_source/pos\"\nset.\"/spec/owner\" = \"ops\"\nset.\"/spec/connection/host\" = \"db.prod\"\nset.\"/spec/connection/schema\" = \"prod\"\nset.\"/spec/files[name=a]/type\" = \"prod\"\n",
        );
        // host, schema, files[name=a]/type, owner.
        let base = [
            Base::Value("db.dev".into()),
            Base::Absent,
            Base::Value("dev".into()),
            Base::Value("dev".into()),
        ];
        let overridden: Vec<Overridden> = set
            .into_iter()
            .zip(base)
            .map(|((field, value), base)| Overridden {
                field,
                value,
                by: "environments/prod.toml:3".into(),
                base,
            })
            .collect();
        let mut report = Report::default();
        write_back(&mut object, "data_source/pos", &overridden, &mut report);
        assert_eq!(
            Value::Object(object.spec.clone()),
            serde_json::json!({
                "owner": "dev",
                "connection": {"host": "db.dev"},
                // The element by its name, wherever the tenant has it.
                "files": [{"name": "b", "type": "y"}, {"name": "a", "type": "dev"}],
            })
        );
        assert_eq!(report.written_back, 4);
        let drift: Vec<(&str, Option<&Value>)> = report
            .drift
            .iter()
            .map(|d| (d.field.as_str(), d.tenant.as_ref()))
            .collect();
        assert_eq!(
            drift,
            vec![("/spec/connection/host", Some(&Value::from("by-hand")))]
        );

        // A new object (no file): the tenant's value stays, and says so.
        let mut report = Report::default();
        let new: Vec<Overridden> = overridden
            .into_iter()
            .map(|o| Overridden {
                base: Base::NoFile,
                ..o
            })
            .collect();
        let before = object.spec.clone();
        write_back(&mut object, "data_source/pos", &new, &mut report);
        assert_eq!(object.spec, before);
        assert_eq!(report.kept.len(), 4, "{:?}", report.kept);
        assert_eq!(report.written_back, 0);
    }
}
