//! Drift: destination objects whose content is no longer what ferry last applied, with the
//! fields that differ when ferry kept the applied spec, and objects ferry applied that were
//! deleted outside ferry. Drift is shown, marks the changes of
//! drifted objects, and is an error with `fail_on_drift`.

use std::collections::HashSet;

use uuid::Uuid;

use super::build::{Actual, Options};
use super::error::PlanError;
use super::index::Index;
use super::{Change, Drift};
use crate::edit;
use crate::kinds::Registry;
use crate::model::field_diff::field_changes;
use crate::store::StoredObject;

/// Every drifted destination object, by address.
pub(super) fn find(actual: &Actual, index: &Index, registry: &Registry) -> Vec<Drift> {
    let mut drift = Vec::new();
    for o in &actual.objects {
        let Some(applied) = actual.applied.get(&o.guid) else {
            continue;
        };
        if applied.hash == o.hash {
            continue;
        }
        let fields = match (&applied.body, registry.get(&o.kind)) {
            (Some(body), Some(kind)) => {
                let spec = serde_json::from_str(body).unwrap_or_default();
                let then = StoredObject { spec, ..o.clone() };
                field_changes(
                    &edit::to_object(&then, Some(kind), index.addresses()).to_document(),
                    &edit::to_object(o, Some(kind), index.addresses()).to_document(),
                    &[kind],
                )
            }
            _ => Vec::new(),
        };
        drift.push(Drift {
            address: o.address(),
            guid: o.guid,
            fields,
            deleted: false,
        });
    }
    for (guid, address) in &actual.gone {
        drift.push(Drift {
            address: address.clone(),
            guid: *guid,
            fields: Vec::new(),
            deleted: true,
        });
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    drift
}

/// Refuses drift with `fail_on_drift`; otherwise marks the changes of drifted objects (an
/// adoption by the GUID it takes over) and returns the drifted GUIDs.
pub(super) fn mark(
    changes: &mut [Change],
    drift: &[Drift],
    options: Options,
) -> Result<HashSet<Uuid>, PlanError> {
    if options.fail_on_drift && !drift.is_empty() {
        return Err(PlanError::Drift(
            drift.iter().map(|d| d.address.clone()).collect(),
        ));
    }
    let drifted: HashSet<Uuid> = drift.iter().map(|d| d.guid).collect();
    for c in changes {
        c.drifted = drifted.contains(&c.guid) || c.old_guid.is_some_and(|g| drifted.contains(&g));
    }
    Ok(drifted)
}
