//! Desired objects from git: a repository at a revision, read from the git object database (no
//! checkout) and validated as `ferry validate` does. [`read_all`] reads every object file;
//! [`read_changed`] only those that are not exactly what ferry last applied.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use uuid::Uuid;

use super::overlay::Expect;
use super::{Desired, PlanSource};
use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{KindError, Registry};
use crate::model::Object;
use crate::repo::{self, RepoError, Source};
use crate::store::actual::Actual;
use crate::store::{StoreError, Tenant};
use crate::validate::{self, Problem};

/// The desired side could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    /// The repository could not be read.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A kind schema is broken.
    #[error(transparent)]
    Kind(#[from] KindError),
    /// `ferry.toml` is broken or missing.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// No ferry.toml at the revision.
    #[error("the repository has no {CONFIG_FILE} at {0}")]
    NoConfig(String),
    /// The destination could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The objects do not validate.
    #[error("{} problem(s) in the repository at {revision}", problems.len())]
    Invalid {
        /// The revision read.
        revision: String,
        /// The problems, as `ferry validate` reports them.
        problems: Vec<Problem>,
    },
}

/// The desired objects, the kind registry they were read with, and each read object's git blob.
pub type DesiredRead = (Desired, Registry, HashMap<Uuid, String>);

/// The desired objects of the repository at `root` at `revision`, their registry, and each
/// object's git blob id.
pub fn read_all(root: &Path, revision: &str) -> Result<DesiredRead, DesiredError> {
    let mut snapshot = repo::snapshot(root, &Source::Revision(revision.to_string()))?;
    let config = config_of(&snapshot, revision)?;
    let registry = repo::registry_for(&snapshot)?;
    let report = validate::check(std::mem::take(&mut snapshot.objects), &registry);
    if !report.is_ok() {
        return Err(DesiredError::Invalid {
            revision: revision.to_string(),
            problems: report.problems,
        });
    }
    Ok(desired_read(
        root,
        revision,
        &snapshot,
        report,
        config,
        registry,
        HashSet::new(),
    ))
}

/// Whether a read object is reached by walking the destination's references from `frontier`
/// (the unchanged objects read objects refer to) through unchanged objects, asking the
/// destination a level at a time: then a cycle may close through objects that were not read.
fn may_close_cycle(
    tenant: &dyn Tenant,
    mut frontier: Vec<Uuid>,
    read: &HashSet<Uuid>,
    unchanged: &HashSet<Uuid>,
) -> Result<bool, StoreError> {
    let mut seen: HashSet<Uuid> = frontier.iter().copied().collect();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (_, t) in tenant.references_of(&frontier, true)? {
            if read.contains(&t) {
                return Ok(true);
            }
            if unchanged.contains(&t) && seen.insert(t) {
                next.push(t);
            }
        }
        frontier = next;
    }
    Ok(false)
}

/// Whether an unchanged object (or a member of an unchanged project) refers to one that moved
/// or is gone: its file still names the old address, which only a full read reports.
fn refers_to_moved(
    tenant: &dyn Tenant,
    moved_or_gone: &HashSet<Uuid>,
    unchanged: &HashSet<Uuid>,
) -> Result<bool, StoreError> {
    let gone: Vec<Uuid> = moved_or_gone.iter().copied().collect();
    Ok(tenant
        .references_of(&gone, false)?
        .iter()
        .any(|(from, _)| unchanged.contains(from)))
}

/// An applied record's blob: the git blob id, and after a `+` the digest of the environment
/// overrides the object was applied with ([`crate::desired::overlay::Keys`]).
pub fn split_blob(blob: &str) -> (&str, Option<&str>) {
    match blob.split_once('+') {
        Some((id, digest)) => (id, Some(digest)),
        None => (blob, None),
    }
}

/// The `ferry.toml` of a snapshot at `revision`.
fn config_of(snapshot: &repo::Snapshot, revision: &str) -> Result<Config, DesiredError> {
    let config = snapshot
        .config
        .as_ref()
        .ok_or_else(|| DesiredError::NoConfig(revision.to_string()))?;
    Ok(Config::parse(
        &String::from_utf8_lossy(&config.bytes),
        Path::new(CONFIG_FILE),
    )?)
}

/// The desired objects a validated read found, with their blobs.
fn desired_read(
    root: &Path,
    revision: &str,
    snapshot: &repo::Snapshot,
    report: validate::Report,
    config: Config,
    registry: Registry,
    unchanged: HashSet<Uuid>,
) -> DesiredRead {
    let blobs: HashMap<Uuid, String> = report
        .objects
        .iter()
        .filter_map(|l| Some((l.object.guid?, snapshot.blobs.get(&l.path)?.clone())))
        .collect();
    let objects: Vec<Object> = report.objects.into_iter().map(|l| l.object).collect();
    (
        Desired {
            objects,
            facts: config.source,
            source: PlanSource {
                kind: "git".into(),
                repository: Some(root.display().to_string()),
                revision: Some(revision.to_string()),
                id: snapshot.commit.clone().unwrap_or_default(),
            },
            selected: None,
            unchanged,
        },
        registry,
        blobs,
    )
}

/// The desired objects like [`read_all`], but without reading the files ferry
/// applied unchanged: a file whose git blob is the one ferry last applied to an object, still at
/// the address its path gives, with the destination's content still what was applied, is that
/// object unchanged, and is not read. Only the other files are read and validated (references
/// may land on the unchanged objects). So a plan's cost follows the change, not the repository.
///
/// Returns `None` when the shortcut cannot be trusted and the whole commit must be read: a blob
/// that stands in two files, an unchanged object that refers to one renamed or gone, a read
/// object that may close a dependency cycle through unchanged ones, or problems in the files
/// read (the whole commit is read to report all of them).
pub fn read_changed(
    root: &Path,
    revision: &str,
    actual: &mut Actual,
    tenant: &dyn Tenant,
    expect: &dyn Fn(&str) -> Expect,
) -> Result<Option<DesiredRead>, DesiredError> {
    let by_guid: HashMap<Uuid, &crate::store::StoredObject> =
        actual.objects.iter().map(|o| (o.guid, o)).collect();
    // Blob → the object ferry applied it to (and the digest of the overrides it was applied
    // with), when the destination still has what was applied.
    let mut owner: HashMap<repo::BlobKey, (Uuid, Option<&str>)> =
        HashMap::with_capacity(actual.applied.len());
    for (guid, a) in &actual.applied {
        if let (Some(blob), Some(o)) = (a.blob.as_deref(), by_guid.get(guid)) {
            if o.hash == a.hash {
                let (blob, digest) = split_blob(blob);
                owner.extend(repo::blob_key(blob).map(|k| (k, (*guid, digest))));
            }
        }
    }
    if owner.is_empty() {
        return Ok(None);
    }
    let skip = |path: &str, blob: &repo::BlobKey| {
        owner.get(blob).is_some_and(|(g, digest)| {
            let o = by_guid[g];
            crate::model::path::address_from_path(path)
                .is_some_and(|a| a.name == o.name && a.kind == o.kind && a.project == o.project)
                && match expect(path) {
                    Expect::Digest(expected) => expected.as_deref() == *digest,
                    Expect::Read => false,
                }
        })
    };
    let mut snapshot = repo::snapshot_at(root, revision, &skip)?;
    let config = config_of(&snapshot, revision)?;
    let registry = repo::registry_for(&snapshot)?;
    let mut unchanged: HashSet<Uuid> = HashSet::with_capacity(snapshot.skipped.len());
    for (_, blob) in &snapshot.skipped {
        if !unchanged.insert(owner[blob].0) {
            return Ok(None); // the same blob in two files: a copy; read everything
        }
    }
    // The unchanged object at an address, asked of the destination for the few addresses the
    // files read refer to (no map of every address is built).
    let looked_up: RefCell<HashMap<String, Option<Uuid>>> = RefCell::new(HashMap::new());
    let failed: RefCell<Option<StoreError>> = RefCell::new(None);
    let unchanged_at = |address: &str| -> Option<Uuid> {
        if let Some(found) = looked_up.borrow().get(address) {
            return *found;
        }
        let found = match tenant.guids(&[address.to_string()]) {
            Ok(map) => map.get(address).copied(),
            Err(e) => {
                failed.borrow_mut().get_or_insert(e);
                None
            }
        };
        let found = found.filter(|g| unchanged.contains(g));
        looked_up.borrow_mut().insert(address.to_string(), found);
        found
    };
    let known = validate::Known {
        has_address: Box::new(|a| unchanged_at(&a.to_string()).is_some()),
        path_of: Box::new(|guid| {
            unchanged.contains(guid).then(|| {
                let blob = actual.applied[guid]
                    .blob
                    .as_deref()
                    .and_then(|b| repo::blob_key(split_blob(b).0));
                snapshot
                    .skipped
                    .iter()
                    .find(|(_, b)| Some(b) == blob.as_ref())
                    .map(|(p, _)| p.clone())
                    .unwrap_or_default()
            })
        }),
    };
    let report = validate::check_with(std::mem::take(&mut snapshot.objects), &registry, &known);
    drop(known);
    if let Some(e) = failed.take() {
        return Err(e.into());
    }
    if !report.is_ok() {
        // The files read alone may not show every problem (a cycle through unchanged objects
        // next to one among the read ones): the whole commit is read, so the plan reports what
        // `ferry validate` reports. Only a broken commit pays for it.
        return Ok(None);
    }
    // Objects read: those renamed (another address than in the destination) or new.
    let read: HashMap<Uuid, String> = report
        .objects
        .iter()
        .filter_map(|l| Some((l.object.guid?, l.object.address().to_string())))
        .collect();
    // An unchanged object must not refer to an object that moved or is gone, nor sit on a path
    // from a read object back to it (a cycle the read objects alone do not show).
    let moved_or_gone: HashSet<Uuid> = actual
        .objects
        .iter()
        .filter(|o| !unchanged.contains(&o.guid))
        .filter(|o| read.get(&o.guid).is_none_or(|a| *a != o.address()))
        .map(|o| o.guid)
        .collect();
    let read_guids: HashSet<Uuid> = read.keys().copied().collect();
    let mut frontier: Vec<Uuid> = Vec::new();
    for l in &report.objects {
        let Some(kind) = registry.get(&l.object.kind) else {
            continue;
        };
        for r in crate::graph::object_references(kind, &l.object) {
            frontier.extend(unchanged_at(&r.target));
        }
    }
    if let Some(e) = failed.take() {
        return Err(e.into());
    }
    if may_close_cycle(tenant, frontier, &read_guids, &unchanged)?
        || refers_to_moved(tenant, &moved_or_gone, &unchanged)?
    {
        return Ok(None);
    }
    Ok(Some(desired_read(
        root, revision, &snapshot, report, config, registry, unchanged,
    )))
}
