//! Reading the two sides of a plan: the desired objects from a repository at a revision (read
//! from the git object database and validated as `ferry validate` does), and the destination's
//! objects with what ferry last applied.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use uuid::Uuid;

use super::build::{Actual, Applied, Desired};
use super::PlanSource;
use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{KindError, Registry};
use crate::model::Object;
use crate::repo::{self, RepoError, Source};
use crate::store::{Filter, StoreError, Tenant};
use crate::validate::{self, Problem};

/// The desired side could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
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
pub fn desired_from_repository(root: &Path, revision: &str) -> Result<DesiredRead, SourceError> {
    let mut snapshot = repo::snapshot(root, &Source::Revision(revision.to_string()))?;
    let config = snapshot
        .config
        .as_ref()
        .ok_or_else(|| SourceError::NoConfig(revision.to_string()))?;
    let config = Config::parse(
        &String::from_utf8_lossy(&config.bytes),
        Path::new(CONFIG_FILE),
    )?;
    let registry = repo::registry_for(&snapshot)?;
    let report = validate::check(std::mem::take(&mut snapshot.objects), &registry);
    if !report.is_ok() {
        return Err(SourceError::Invalid {
            revision: revision.to_string(),
            problems: report.problems,
        });
    }
    let blobs: HashMap<Uuid, String> = report
        .objects
        .iter()
        .filter_map(|l| Some((l.object.guid?, snapshot.blobs.get(&l.path)?.clone())))
        .collect();
    let objects: Vec<Object> = report.objects.into_iter().map(|l| l.object).collect();
    let commit = snapshot.commit.unwrap_or_default();
    Ok((
        Desired {
            objects,
            facts: config.source,
            source: PlanSource {
                kind: "git".into(),
                repository: Some(root.display().to_string()),
                revision: Some(revision.to_string()),
                id: commit,
            },
            selected: None,
            unchanged: Default::default(),
        },
        registry,
        blobs,
    ))
}

/// The destination's objects and what ferry last applied to them.
pub fn actual_from_tenant(tenant: &dyn Tenant) -> Result<Actual, StoreError> {
    let facts = tenant.facts()?;
    let mut objects = Vec::new();
    tenant.for_each_object(&Filter::default(), &mut |o| {
        objects.push(o);
        Ok(())
    })?;
    let applied = tenant
        .applied()?
        .into_iter()
        .map(|(guid, a)| {
            (
                guid,
                Applied {
                    hash: a.hash,
                    body: Some(a.body),
                    blob: a.blob_id,
                },
            )
        })
        .collect();
    Ok(Actual {
        url: tenant.url().to_string(),
        facts,
        objects,
        applied,
        edges: tenant.reference_edges()?,
    })
}

/// The desired objects like [`desired_from_repository`], but without reading the files ferry
/// applied unchanged: a file whose git blob is the one ferry last applied to an object, still at
/// the address its path gives, with the destination's content still what was applied, is that
/// object unchanged, and is not read. Only the other files are read and validated (references
/// may land on the unchanged objects). So a plan's cost follows the change, not the repository.
///
/// Returns `None` when the shortcut cannot be trusted and the whole commit must be read: a blob
/// that stands in two files, an unchanged object that refers to one renamed or gone, or a read
/// object that may close a dependency cycle through unchanged ones.
pub fn desired_fast(
    root: &Path,
    revision: &str,
    actual: &mut Actual,
    tenant: &dyn Tenant,
) -> Result<Option<DesiredRead>, SourceError> {
    use std::collections::HashSet;
    let by_guid: HashMap<Uuid, &crate::store::StoredObject> =
        actual.objects.iter().map(|o| (o.guid, o)).collect();
    // Blob → the object ferry applied it to, when the destination still has what was applied.
    let mut owner: HashMap<repo::BlobKey, Uuid> = HashMap::with_capacity(actual.applied.len());
    for (guid, a) in &actual.applied {
        if let (Some(blob), Some(o)) = (a.blob.as_deref(), by_guid.get(guid)) {
            if o.hash == a.hash {
                owner.extend(repo::blob_key(blob).map(|k| (k, *guid)));
            }
        }
    }
    if owner.is_empty() {
        return Ok(None);
    }
    let skip = |path: &str, blob: &repo::BlobKey| {
        owner.get(blob).is_some_and(|g| {
            let o = by_guid[g];
            crate::model::path::address_from_path(path)
                .is_some_and(|a| a.name == o.name && a.kind == o.kind && a.project == o.project)
        })
    };
    let mut snapshot = repo::snapshot_at(root, revision, &skip)?;
    let config = snapshot
        .config
        .as_ref()
        .ok_or_else(|| SourceError::NoConfig(revision.to_string()))?;
    let config = Config::parse(
        &String::from_utf8_lossy(&config.bytes),
        Path::new(CONFIG_FILE),
    )?;
    let registry = repo::registry_for(&snapshot)?;
    let mut unchanged: HashSet<Uuid> = HashSet::with_capacity(snapshot.skipped.len());
    for (_, blob) in &snapshot.skipped {
        if !unchanged.insert(owner[blob]) {
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
                    .and_then(repo::blob_key);
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
        return Err(SourceError::Invalid {
            revision: revision.to_string(),
            problems: report.problems,
        });
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
    // Walk the destination's references from there, asking the destination for the references
    // of the objects reached, a level at a time: reaching a read object means a cycle may close
    // through unchanged objects.
    let mut seen: HashSet<Uuid> = frontier.iter().copied().collect();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (_, t) in tenant.references_of(&frontier, true)? {
            if read_guids.contains(&t) {
                return Ok(None);
            }
            if unchanged.contains(&t) && seen.insert(t) {
                next.push(t);
            }
        }
        frontier = next;
    }
    // An unchanged object (or a member of an unchanged project) referring to one that moved or
    // is gone: its file still names the old address, which only a full read reports.
    let gone: Vec<Uuid> = moved_or_gone.iter().copied().collect();
    if tenant
        .references_of(&gone, false)?
        .iter()
        .any(|(from, _)| unchanged.contains(from))
    {
        return Ok(None);
    }
    let blobs: HashMap<Uuid, String> = report
        .objects
        .iter()
        .filter_map(|l| Some((l.object.guid?, snapshot.blobs.get(&l.path)?.clone())))
        .collect();
    let objects: Vec<Object> = report.objects.into_iter().map(|l| l.object).collect();
    Ok(Some((
        Desired {
            objects,
            facts: config.source,
            source: PlanSource {
                kind: "git".into(),
                repository: Some(root.display().to_string()),
                revision: Some(revision.to_string()),
                id: snapshot.commit.unwrap_or_default(),
            },
            selected: None,
            unchanged,
        },
        registry,
        blobs,
    )))
}

/// The destination without bodies: every object's identity, address and hash, and what ferry
/// applied (hashes and blobs). Enough for [`desired_fast`], which reads the references between
/// objects when it needs them; [`with_bodies`] then loads the bodies (and the references) the
/// plan needs.
pub fn actual_index(tenant: &dyn Tenant) -> Result<Actual, StoreError> {
    let applied = tenant
        .applied_index()?
        .into_iter()
        .map(|(guid, a)| {
            (
                guid,
                Applied {
                    hash: a.hash,
                    body: None,
                    blob: a.blob_id,
                },
            )
        })
        .collect();
    Ok(Actual {
        url: tenant.url().to_string(),
        facts: tenant.facts()?,
        objects: tenant.object_index()?,
        applied,
        edges: Vec::new(),
    })
}

/// Loads into `actual` the bodies a plan over `desired` needs: of the objects it read, of the
/// destination objects it does not know unchanged (deletes, unmanaged ones), and of drifted
/// objects (with what was applied to them, to show the drifted fields); and the references
/// between destination objects, unless nothing was read and every object is unchanged (a plan
/// without changes, which has no blast radius to count).
pub fn with_bodies(
    tenant: &dyn Tenant,
    mut actual: Actual,
    desired: &Desired,
) -> Result<Actual, StoreError> {
    use std::collections::HashSet;
    let read: HashSet<Uuid> = desired.objects.iter().filter_map(|o| o.guid).collect();
    let mut drifted = HashSet::new();
    for o in &mut actual.objects {
        let is_drifted = actual
            .applied
            .get(&o.guid)
            .is_some_and(|a| a.hash != o.hash);
        if is_drifted {
            drifted.insert(o.guid);
        }
        if read.contains(&o.guid) || !desired.unchanged.contains(&o.guid) || is_drifted {
            if let Some(full) = tenant.object(&crate::store::ObjectKey::Guid(o.guid))? {
                *o = full;
            }
        }
    }
    let no_change = desired.objects.is_empty()
        && actual
            .objects
            .iter()
            .all(|o| desired.unchanged.contains(&o.guid));
    if !no_change && actual.edges.is_empty() {
        // The references a plan counts (blast radius) or checks (deletes): every reference into
        // an object that may change or go, and into those that depend on it, transitively;
        // asked of the destination a level at a time.
        let mut level: Vec<Uuid> = actual
            .objects
            .iter()
            .filter(|o| read.contains(&o.guid) || !desired.unchanged.contains(&o.guid))
            .map(|o| o.guid)
            .collect();
        let mut seen: HashSet<Uuid> = level.iter().copied().collect();
        while !level.is_empty() {
            let found = tenant.references_of(&level, false)?;
            level = found
                .iter()
                .filter(|(from, _)| seen.insert(*from))
                .map(|(from, _)| *from)
                .collect();
            actual.edges.extend(found);
        }
    }
    if !drifted.is_empty() {
        for (guid, a) in tenant.applied()? {
            if drifted.contains(&guid) {
                if let Some(entry) = actual.applied.get_mut(&guid) {
                    entry.body = Some(a.body);
                }
            }
        }
    }
    Ok(actual)
}
