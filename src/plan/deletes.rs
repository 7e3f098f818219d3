//! What is no longer desired: destination objects ferry never applied are left alone
//! (unmanaged); those it applied are deleted with `prune` (never under a selection) or listed as
//! not pruned. A delete that something staying still refers to stops the plan.

use std::collections::HashSet;

use uuid::Uuid;

use super::build::{Actual, DesiredObject, Options};
use super::error::{by_message, BlockedDelete, PlanError, Referrer};
use super::index::Index;
use super::matching::Matched;
use super::{Action, Change};
use crate::kinds::Registry;
use crate::store::StoredObject;

/// The destination objects no desired object matched.
pub(super) struct Unmatched<'a> {
    /// How many ferry never applied.
    pub unmanaged: usize,
    /// The addresses of those ferry applied and keeps because `prune` was not given, sorted.
    pub not_pruned: Vec<String>,
    /// Those to delete, in the destination's order.
    pub deleting: Vec<&'a StoredObject>,
}

/// Sorts the destination objects no desired object matched.
pub(super) fn unmatched<'a>(
    actual: &'a Actual,
    matched: &Matched,
    selecting: bool,
    options: Options,
) -> Unmatched<'a> {
    let mut out = Unmatched {
        unmanaged: 0,
        not_pruned: Vec::new(),
        deleting: Vec::new(),
    };
    for o in &actual.objects {
        if matched.matched.contains(&o.guid) || matched.desired.contains(&o.guid) {
            continue;
        }
        if !actual.applied.contains_key(&o.guid) {
            out.unmanaged += 1;
        } else if selecting {
            // A selection is over the desired objects: it deletes nothing.
        } else if options.prune {
            out.deleting.push(o);
        } else {
            out.not_pruned.push(o.address());
        }
    }
    out.not_pruned.sort();
    out
}

/// Refuses deletes that a desired object, or a destination object that stays as it is (not
/// desired, not managed; a project's members included), still refers to.
pub(super) fn check_blocked(
    deleting: &[&StoredObject],
    prepared: &[DesiredObject],
    matched: &Matched,
    actual: &Actual,
    index: &Index,
) -> Result<(), PlanError> {
    let deleted: HashSet<Uuid> = deleting.iter().map(|o| o.guid).collect();
    if deleted.is_empty() {
        return Ok(());
    }
    let addresses = index.addresses();
    let mut blocked = Vec::new();
    for d in prepared {
        for (pointer, target) in &d.stored.references {
            if deleted.contains(target) {
                blocked.push(BlockedDelete {
                    address: addresses[target].clone(),
                    by: Referrer::Desired {
                        address: d.object.address().to_string(),
                        pointer: pointer.clone(),
                    },
                });
            }
        }
    }
    for (from, to) in &actual.edges {
        if deleted.contains(to)
            && !deleted.contains(from)
            && !matched.desired.contains(from)
            && !matched.matched.contains(from)
        {
            blocked.push(BlockedDelete {
                address: addresses[to].clone(),
                by: Referrer::Unmanaged {
                    address: addresses.get(from).cloned(),
                },
            });
        }
    }
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(PlanError::BlockedDelete(by_message(blocked)))
    }
}

/// Adds the delete changes to `changes`, each in its wave (`waves[i]` for `deleting[i]`).
pub(super) fn add_changes(
    changes: &mut Vec<Change>,
    deleting: &[&StoredObject],
    waves: &[usize],
    drifted: &HashSet<Uuid>,
    registry: &Registry,
) {
    changes.extend(deleting.iter().zip(waves).map(|(o, wave)| {
        Change {
            action: Action::Delete,
            guid: o.guid,
            kind: o.kind.clone(),
            category: registry
                .get(&o.kind)
                .map(|k| k.category.as_str())
                .unwrap_or("global")
                .to_string(),
            address: o.address(),
            old_address: None,
            old_guid: None,
            wave: *wave,
            fields: Vec::new(),
            actual_hash: Some(o.hash.clone()),
            desired_hash: None,
            drifted: drifted.contains(&o.guid),
            blast_radius: Vec::new(),
            blast_radius_total: 0,
            risks: Vec::new(),
        }
    }));
}
