//! A deployment package as a source of desired state, beside a git ref: its object files
//! validated against the package's own kind schemas ([`unpack`]), and the desired state a plan
//! reads from them ([`desired`]).
//!
//! A full package plans like a git commit (objects the destination has and the package does
//! not are deleted only with `--prune`). An incremental or selection package carries only part
//! of the objects: every other destination object is taken as it is (`Desired::unchanged`), and
//! the deletions an incremental package lists are the only objects left unmatched, so they are
//! deleted without `--prune` ([`prunes`]).

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{Desired, PlanSource};
use crate::kinds::{Registry, KINDS_DIR};
use crate::model::Object;
use crate::package::{ObjectEntry, Opened};
use crate::repo::{self, SourceFile};
use crate::validate;

/// A package read and checked for integrity: its objects parsed, with the kind registry of the
/// package's schemas.
#[derive(Debug)]
pub struct Unpacked {
    /// The package.
    pub opened: Opened,
    /// Its objects.
    pub objects: Vec<Object>,
    /// The kinds of ferry and those the package carries.
    pub registry: Registry,
}

/// Parses and validates the object files of `opened` with the package's kind schemas, and
/// checks each is the object the manifest lists. The problems, one line each, on failure.
pub fn unpack(opened: Opened) -> Result<Unpacked, Vec<String>> {
    let kind_files: Vec<SourceFile> = opened
        .files
        .iter()
        .filter(|(p, _)| p.starts_with(KINDS_DIR))
        .map(|(p, b)| SourceFile::new(p, b.clone(), false))
        .collect();
    let registry = repo::registry_for(&repo::Snapshot {
        kind_files,
        ..Default::default()
    })
    .map_err(|e| vec![e.to_string()])?;
    let files: Vec<SourceFile> = opened
        .manifest
        .objects
        .iter()
        .filter_map(|o| {
            Some(SourceFile::new(
                &o.path,
                opened.files.get(&o.path)?.clone(),
                false,
            ))
        })
        .collect();
    let known = validate::Known {
        has_address: Box::new(|_| true),
        path_of: Box::new(|_| None),
    };
    let report = validate::check_with(files, &registry, &known);
    if !report.is_ok() {
        return Err(report.problems.iter().map(|p| p.to_string()).collect());
    }
    let by_path: HashMap<&str, &ObjectEntry> = opened
        .manifest
        .objects
        .iter()
        .map(|o| (o.path.as_str(), o))
        .collect();
    let mut objects = Vec::with_capacity(report.objects.len());
    for l in report.objects {
        let Some(entry) = by_path.get(l.path.as_str()) else {
            return Err(vec![format!("{}: not in the manifest", l.path)]);
        };
        if l.object.guid != Some(entry.guid)
            || l.object.kind != entry.kind
            || l.object.address().to_string() != entry.address
        {
            return Err(vec![format!(
                "{}: the object is not the one the manifest lists ({} {})",
                l.path, entry.address, entry.guid
            )]);
        }
        objects.push(l.object);
    }
    Ok(Unpacked {
        opened,
        objects,
        registry,
    })
}

/// The desired state of `unpacked` for a destination holding `destination` (the GUIDs of its
/// objects). `label` names the package in the plan (its id in the destination, or its file).
pub fn desired(
    unpacked: &Unpacked,
    label: &str,
    destination: impl IntoIterator<Item = Uuid>,
) -> Desired {
    let manifest = &unpacked.opened.manifest;
    let partial = manifest.mode != "full";
    let unchanged = if partial {
        let carried: HashSet<Uuid> = manifest
            .objects
            .iter()
            .map(|o| o.guid)
            .chain(manifest.deletions.iter().map(|d| d.guid))
            .collect();
        destination
            .into_iter()
            .filter(|g| !carried.contains(g))
            .collect()
    } else {
        HashSet::new()
    };
    Desired {
        objects: unpacked.objects.clone(),
        facts: Some(manifest.source.clone()),
        source: PlanSource {
            kind: "package".into(),
            repository: None,
            revision: Some(label.to_string()),
            id: unpacked.opened.hash.clone(),
        },
        selected: None,
        unchanged,
    }
}

/// Whether a plan of `unpacked` deletes the objects it leaves unmatched without `--prune`: an
/// incremental or selection package, where those are only the deletions it lists.
pub fn prunes(unpacked: &Unpacked) -> bool {
    unpacked.opened.manifest.mode != "full"
}
