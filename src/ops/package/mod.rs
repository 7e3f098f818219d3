//! `ferry package` and `ferry import`: a change carried as one file to a destination that cannot
//! reach the source's git server, and checked on arrival (the format: [`crate::package`]).
//!
//! `package` reads the repository from git like `plan` does: every exportable object at a
//! revision (full), the objects a git tree diff finds changed between two commits and the
//! deletions (incremental: its cost follows the change), or the objects a selector chooses
//! (selection). `import` runs the platform's checks in order, stops at the first that fails
//! with the destination unchanged, and keeps a package that passes in the destination.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Error, Result};
use crate::config::{Config, SourceFacts, CONFIG_FILE};
use crate::context::Context;
use crate::graph::Graph;
use crate::kinds::{Exportable, Registry, BUILTIN_KINDS, KINDS_DIR};
use crate::model::Object;
use crate::package::{self, Deletion, FileEntry, LeftOut, Manifest, ObjectEntry, PackageError};
use crate::repo::{self, Source, SourceFile};
use crate::secret::{Secret, PLACEHOLDER};
use crate::validate;

mod import;
pub mod overview;
pub(crate) mod plan;

pub use import::*;

/// The variable the deployment credential is read from when no `--credential-env` is given.
pub const DEFAULT_CREDENTIAL_ENV: &str = "FERRY_DEPLOYMENT_CREDENTIAL";

/// What `ferry package` makes.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The package file to write.
    pub out: PathBuf,
    /// `--since`: an incremental package from this revision.
    pub since: Option<String>,
    /// `--until`: the revision the objects are at.
    pub until: String,
    /// `--select`.
    pub select: Option<String>,
    /// `--exclude`.
    pub exclude: Option<String>,
    /// The variable holding the deployment credential.
    pub credential_env: String,
}

/// A package made.
#[derive(Debug, Clone)]
pub struct Made {
    /// Where it was written.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its size in bytes.
    pub size: usize,
    /// blake3 of the file.
    pub hash: String,
    /// Secret fields whose value the repository holds, carried as the placeholder instead:
    /// "ADDRESS POINTER".
    pub masked: Vec<String>,
}

/// The deployment credential in `var`: set, and long enough.
fn credential(ctx: &Context, var: &str) -> Result<Secret> {
    let value = Secret::new(ctx.var(var).ok_or_else(|| Error::VarNotSet {
        var: var.to_string(),
    })?);
    if value.expose().len() < super::tenant::MIN_CREDENTIAL_LEN {
        return Err(Error::ShortCredential {
            var: var.to_string(),
            min: super::tenant::MIN_CREDENTIAL_LEN,
        });
    }
    Ok(value)
}

/// Whether a schema file of `schemas/kinds/` is a custom kind's (not named like a built-in).
fn is_custom_schema(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .and_then(|n| n.strip_suffix(".schema.json"))
        .is_some_and(|kind| !BUILTIN_KINDS.iter().any(|(b, _)| *b == kind))
}

/// `object` with every secret field that holds a value replaced by the placeholder; the
/// pointers replaced.
fn mask_secrets(object: &mut Object, registry: &Registry) -> Vec<String> {
    let Some(kind) = registry.get(&object.kind) else {
        return Vec::new();
    };
    let mut doc = serde_json::json!({ "spec": Value::Object(std::mem::take(&mut object.spec)) });
    let mut hits = Vec::new();
    for pattern in &kind.secrets {
        for (at, value) in crate::model::pointer::select(&doc, pattern) {
            if value.as_str() != Some(PLACEHOLDER) {
                hits.push(at);
            }
        }
    }
    for at in &hits {
        if let Some(slot) = doc.pointer_mut(at) {
            *slot = Value::String(PLACEHOLDER.into());
        }
    }
    if let Some(Value::Object(spec)) = doc.get_mut("spec").map(Value::take) {
        object.spec = spec;
    }
    hits
}

/// Why an object of this kind and spec is not exportable, if it is not.
fn refused<'r>(registry: &'r Registry, object: &Object) -> Option<&'r str> {
    registry.get(&object.kind)?.exportable.refuses(&object.spec)
}

/// Makes a package ([`PackageOptions`]) and writes it.
pub fn package(ctx: &Context, opts: &PackageOptions) -> Result<Made> {
    let name = opts
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    package::check_name(&name).map_err(|rule| PackageError::Name {
        path: opts.out.clone(),
        rule,
    })?;
    let selecting = opts.select.is_some() || opts.exclude.is_some();
    if opts.since.is_some() && selecting {
        return Err(Error::PackageModes);
    }
    let credential = credential(ctx, &opts.credential_env)?;
    let root = ctx.root_at(Some(&opts.until))?;
    // ferry.toml, the kind schemas and the commit, without the object files (an incremental
    // package reads only the changed ones).
    let mut snapshot = if opts.since.is_some() {
        repo::snapshot_without_objects(&root, &opts.until)?
    } else {
        repo::snapshot_at(&root, &opts.until, &|_, _| false)?
    };
    let source = source_facts(&snapshot, &opts.until)?;
    let registry = repo::registry_for(&snapshot)?;
    let head = snapshot.commit.clone().unwrap_or_default();

    let mut loaded: Vec<(validate::Loaded, Option<&'static str>)> = Vec::new();
    let mut deletions = Vec::new();
    let mut base = None;
    let mut left: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let place = |rev: &str| Some(format!("the repository at {rev}"));
    if let Some(since) = &opts.since {
        let changed = repo::changed_files(
            &root,
            &Source::Revision(since.clone()),
            &Source::Revision(opts.until.clone()),
        )?;
        base = changed.from.clone();
        let old_registry = repo::registry_for(&repo::Snapshot {
            kind_files: changed.old_kind_files.clone(),
            ..Default::default()
        })?;
        let diff = crate::diff::diff(&changed, &old_registry, &registry);
        let new_files: HashMap<&str, &SourceFile> = changed
            .files
            .iter()
            .filter_map(|f| Some((f.path.as_str(), f.new.as_ref()?)))
            .collect();
        let mut files = Vec::new();
        let mut change_of: HashMap<String, &'static str> = HashMap::new();
        for c in &diff.changes {
            if c.action == crate::diff::Action::Deleted {
                let kind = old_registry.get(&c.kind);
                if kind.is_some_and(|k| matches!(k.exportable, Exportable::Never { .. })) {
                    continue;
                }
                deletions.push(Deletion {
                    address: c.address.to_string(),
                    guid: c.guid,
                });
            } else if let Some(f) = new_files.get(c.path.as_str()) {
                files.push((*f).clone());
                change_of.insert(c.path.clone(), c.action.as_str());
            }
        }
        // The changed files validated alone: references to objects not read are taken as
        // resolving (the destination is checked on import).
        let known = validate::Known {
            has_address: Box::new(|_| true),
            path_of: Box::new(|_| None),
        };
        let report = validate::check_with(files, &registry, &known);
        let mut problems = report.problems.clone();
        problems.extend(diff.warnings.iter().map(|w| validate::Problem {
            path: w.path.clone(),
            position: w.position,
            address: None,
            code: validate::Code::Syntax,
            message: w.message.clone(),
            hint: None,
        }));
        if !problems.is_empty() {
            return Err(Error::Invalid {
                place: place(&opts.until),
                problems,
                consequence: "no package was made".into(),
            });
        }
        for l in report.objects {
            let change = change_of.get(&l.path).copied();
            loaded.push((l, change));
        }
        deletions.sort_by(|a, b| a.address.cmp(&b.address));
    } else {
        let files = std::mem::take(&mut snapshot.objects);
        let report = validate::check(files, &registry);
        if !report.is_ok() {
            return Err(Error::Invalid {
                place: place(&opts.until),
                problems: report.problems,
                consequence: "no package was made".into(),
            });
        }
        let chosen = if selecting {
            let graph = Graph::build(report.objects.iter().map(|l| &l.object), &registry);
            Some(
                super::pipeline::choose(&graph, opts.select.as_deref(), opts.exclude.as_deref())?
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<HashSet<String>>(),
            )
        } else {
            None
        };
        for l in report.objects {
            if chosen
                .as_ref()
                .is_none_or(|c| c.contains(&l.object.address().to_string()))
            {
                loaded.push((l, None));
            }
        }
    }
    // Kinds that are never exported are named whether or not the repository has objects of them.
    for kind in registry.iter() {
        if let Exportable::Never { reason } = &kind.exportable {
            left.insert(kind.name.clone(), (reason.clone(), Vec::new()));
        }
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut objects = Vec::new();
    let mut masked = Vec::new();
    for (l, change) in loaded {
        let mut object = l.object;
        if let Some(reason) = refused(&registry, &object) {
            left.entry(object.kind.clone())
                .or_insert_with(|| (reason.to_string(), Vec::new()))
                .1
                .push(object.address().to_string());
            continue;
        }
        let address = object.address().to_string();
        let hits = mask_secrets(&mut object, &registry);
        let bytes = if hits.is_empty() {
            l.text.into_bytes()
        } else {
            masked.extend(hits.iter().map(|p| format!("{address} {p}")));
            crate::model::canonical::to_canonical(&object, registry.get(&object.kind))
                .map_err(|source| Error::PackageObject {
                    path: l.path.clone(),
                    source,
                })?
                .into_bytes()
        };
        let Some(guid) = object.guid else {
            return Err(Error::Invalid {
                place: place(&opts.until),
                problems: vec![validate::Problem {
                    path: l.path.clone(),
                    position: None,
                    address: Some(address),
                    code: validate::Code::Schema,
                    message: "the object has no guid".into(),
                    hint: Some("run `ferry fmt` to give it one, and commit".into()),
                }],
                consequence: "no package was made".into(),
            });
        };
        objects.push(ObjectEntry {
            address,
            guid,
            kind: object.kind.clone(),
            path: l.path.clone(),
            blake3: package::hash(&bytes),
            change: change.map(String::from),
        });
        files.push((l.path, bytes));
    }
    objects.sort_by(|a, b| a.path.cmp(&b.path));
    let mut other = Vec::new();
    for (env, bytes) in repo::environment_files(&root, Some(&opts.until))? {
        other.push((format!("{}/{env}.toml", repo::ENVIRONMENTS_DIR), bytes));
    }
    for f in &snapshot.kind_files {
        if is_custom_schema(&f.path) {
            let name = f.path.rsplit('/').next().unwrap_or_default();
            other.push((format!("{KINDS_DIR}/{name}"), f.bytes.clone()));
        }
    }
    other.sort();
    let file_entries: Vec<FileEntry> = other
        .iter()
        .map(|(path, bytes)| FileEntry {
            path: path.clone(),
            blake3: package::hash(bytes),
        })
        .collect();
    files.extend(other);
    let manifest = Manifest {
        format_version: package::FORMAT_VERSION,
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        source,
        mode: if opts.since.is_some() {
            "incremental"
        } else if selecting {
            "selection"
        } else {
            "full"
        }
        .to_string(),
        base,
        head,
        select: opts.select.clone(),
        exclude: opts.exclude.clone(),
        created_at: ctx.timestamp(),
        objects,
        deletions,
        left_out: left
            .into_iter()
            .map(|(kind, (reason, mut objects))| {
                objects.sort();
                LeftOut {
                    kind,
                    reason,
                    objects,
                }
            })
            .collect(),
        files: file_entries,
    };
    let manifest_bytes = manifest.to_bytes();
    let signature = package::sign(&credential, &manifest_bytes);
    let bytes = package::build(&manifest_bytes, &signature, &files);
    package::write_file(&opts.out, &bytes)?;
    Ok(Made {
        path: opts.out.clone(),
        size: bytes.len(),
        hash: package::hash(&bytes),
        manifest,
        masked,
    })
}

/// The source facts of `ferry.toml` in `snapshot`.
fn source_facts(snapshot: &repo::Snapshot, revision: &str) -> Result<SourceFacts> {
    let config = snapshot
        .config
        .as_ref()
        .ok_or_else(|| Error::NoSourceFacts {
            revision: revision.to_string(),
        })?;
    let config = Config::parse(
        &String::from_utf8_lossy(&config.bytes),
        Path::new(CONFIG_FILE),
    )?;
    config.source.ok_or_else(|| Error::NoSourceFacts {
        revision: revision.to_string(),
    })
}
