//! The destination side of a plan (actual state): a tenant's objects with what ferry last applied
//! to each. [`read_all`] reads everything; [`read_index`] reads identities and hashes only, and
//! [`with_bodies`] then loads the bodies a plan over a fast desired read needs.

use std::collections::HashSet;

use uuid::Uuid;

use super::{Filter, ObjectKey, StoreError, Tenant};
use std::collections::HashMap;

use super::{Facts, StoredObject};

/// What ferry last applied to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its content hash then.
    pub hash: String,
    /// Its spec then (GUID references, canonical JSON), for showing drifted fields.
    pub body: Option<String>,
    /// The git blob it came from, when it came from a repository.
    pub blob: Option<String>,
}

/// The destination as it is.
#[derive(Debug, Clone)]
pub struct Actual {
    /// Its URL.
    pub url: super::TenantUrl,
    /// Its facts.
    pub facts: Facts,
    /// Every object.
    pub objects: Vec<StoredObject>,
    /// What ferry last applied, by GUID.
    pub applied: HashMap<Uuid, Applied>,
    /// Every reference between the destination's objects: (referring, referenced).
    pub edges: Vec<(Uuid, Uuid)>,
    /// Objects ferry applied that are gone from the destination (deleted outside ferry): GUID
    /// and last address, by address.
    pub gone: Vec<(Uuid, String)>,
}

/// The objects ferry applied that are no longer among `objects`, with their last addresses
/// (asked of the tenant only when there are some).
fn gone(
    tenant: &dyn Tenant,
    objects: &[StoredObject],
    applied: &HashMap<Uuid, Applied>,
) -> Result<Vec<(Uuid, String)>, StoreError> {
    let present: HashSet<Uuid> = objects.iter().map(|o| o.guid).collect();
    if applied.keys().all(|g| present.contains(g)) {
        return Ok(Vec::new());
    }
    Ok(tenant
        .managed()?
        .drifted
        .into_iter()
        .filter(|d| d.state == "deleted")
        .map(|d| (d.guid, d.address))
        .collect())
}

/// The destination's objects and what ferry last applied to them.
pub fn read_all(tenant: &dyn Tenant) -> Result<Actual, StoreError> {
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
        url: tenant.url().clone(),
        facts,
        gone: gone(tenant, &objects, &applied)?,
        objects,
        applied,
        edges: tenant.reference_edges()?,
    })
}

/// The destination without bodies: every object's identity, address and hash, and what ferry
/// applied (hashes and blobs). Enough for [`crate::desired::git::read_changed`], which reads the references between
/// objects when it needs them; [`with_bodies`] then loads the bodies (and the references) the
/// plan needs.
pub fn read_index(tenant: &dyn Tenant) -> Result<Actual, StoreError> {
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
    let objects = tenant.object_index()?;
    Ok(Actual {
        url: tenant.url().clone(),
        facts: tenant.facts()?,
        gone: gone(tenant, &objects, &applied)?,
        objects,
        applied,
        edges: Vec::new(),
    })
}

/// Loads into `actual` the bodies a plan needs, given the GUIDs of the desired objects it `read`
/// and those it knows `unchanged` without reading: of the objects it read, of the
/// destination objects it does not know unchanged (deletes, unmanaged ones), and of drifted
/// objects (with what was applied to them, to show the drifted fields); and the references
/// between destination objects, unless nothing was read and every object is unchanged (a plan
/// without changes, which has no blast radius to count).
pub fn with_bodies(
    tenant: &dyn Tenant,
    mut actual: Actual,
    read: &HashSet<Uuid>,
    unchanged: &HashSet<Uuid>,
) -> Result<Actual, StoreError> {
    let mut drifted = HashSet::new();
    for o in &mut actual.objects {
        let is_drifted = actual
            .applied
            .get(&o.guid)
            .is_some_and(|a| a.hash != o.hash);
        if is_drifted {
            drifted.insert(o.guid);
        }
        if read.contains(&o.guid) || !unchanged.contains(&o.guid) || is_drifted {
            if let Some(full) = tenant.object(&ObjectKey::Guid(o.guid))? {
                *o = full;
            }
        }
    }
    let no_change = read.is_empty() && actual.objects.iter().all(|o| unchanged.contains(&o.guid));
    if !no_change && actual.edges.is_empty() {
        // The references a plan counts (blast radius) or checks (deletes): every reference into
        // an object that may change or go, and into those that depend on it, transitively;
        // asked of the destination a level at a time.
        let mut level: Vec<Uuid> = actual
            .objects
            .iter()
            .filter(|o| read.contains(&o.guid) || !unchanged.contains(&o.guid))
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
