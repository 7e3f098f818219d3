//! Matching desired objects to the destination's: by GUID first, then by address. Each desired
//! object becomes a create, an update (same GUID and address), a rename (same GUID, another
//! address), an adoption (`--adopt`: the destination's own object at the address takes the
//! desired GUID), a conflict (another object holds the address), or nothing (unchanged). A
//! create lists every field of the new object, an update the fields that differ.

use std::collections::HashSet;

use uuid::Uuid;

use super::build::{Desired, DesiredObject, Options};
use super::checks::immutable_fields;
use super::error::{Conflict, ImmutableChange, PlanError};
use super::index::Index;
use super::{Action, Change};
use crate::edit;
use crate::kinds::{Kind, Registry};
use crate::model::field_diff::{field_changes, new_fields};
use crate::store::StoredObject;

/// The outcome of matching.
pub(super) struct Matched {
    /// Creates, adoptions, renames and updates, in address order (all in wave 1 so far).
    pub changes: Vec<Change>,
    /// How many desired objects need no change (those known unchanged included).
    pub unchanged: usize,
    /// The destination objects some desired object matched (by GUID, or adopted).
    pub matched: HashSet<Uuid>,
    /// Every desired GUID: of the objects read and of those known unchanged.
    pub desired: HashSet<Uuid>,
}

/// Matches every prepared object; refuses conflicts, then changes to immutable fields.
pub(super) fn match_objects(
    prepared: &[DesiredObject],
    desired: &Desired,
    index: &Index,
    registry: &Registry,
    options: Options,
) -> Result<Matched, PlanError> {
    let mut out = Matched {
        changes: Vec::new(),
        unchanged: desired.unchanged.len(),
        matched: HashSet::new(),
        desired: prepared
            .iter()
            .map(|d| d.stored.guid)
            .chain(desired.unchanged.iter().copied())
            .collect(),
    };
    let mut conflicts = Vec::new();
    let mut immutable = Vec::new();
    for d in prepared {
        let kind = registry
            .get(&d.object.kind)
            .expect("prepared objects have known kinds");
        let new_address = d.object.address().to_string();
        let holder = index.at(&new_address).filter(|o| o.guid != d.stored.guid);
        // Another destination object at this address: a conflict, unless it is being renamed
        // away in this plan, or adopted.
        let mut adopted_from = None;
        if let Some(other) = holder {
            let leaving = out.desired.contains(&other.guid);
            if !leaving && !index.contains(&d.stored.guid) && options.adopt {
                adopted_from = Some(other);
            } else if !leaving {
                conflicts.push(Conflict {
                    address: new_address,
                    holder: other.guid,
                    desired: d.stored.guid,
                });
                continue;
            }
        }
        let Some(current) = index.get(&d.stored.guid).or(adopted_from) else {
            let mut change = new_change(Action::Create, d, kind, None);
            change.fields = new_fields(&d.object.spec, &[kind]);
            out.changes.push(change);
            continue;
        };
        out.matched.insert(current.guid);
        if adopted_from.is_none()
            && current.hash == d.stored.hash
            && current.address() == new_address
        {
            out.unchanged += 1;
            continue;
        }
        let adopted = adopted_from.is_some();
        let change = changed(
            d,
            kind,
            current,
            adopted,
            &new_address,
            index,
            &mut immutable,
        );
        out.changes.push(change);
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflict(conflicts));
    }
    if !immutable.is_empty() {
        return Err(PlanError::Immutable(immutable));
    }
    Ok(out)
}

/// The change of a desired object that differs from the destination's `current` (or adopts
/// it), with its field differences; notes changes of immutable fields in `immutable`.
fn changed(
    d: &DesiredObject,
    kind: &Kind,
    current: &StoredObject,
    adopted: bool,
    new_address: &str,
    index: &Index,
    immutable: &mut Vec<ImmutableChange>,
) -> Change {
    let actual_doc = edit::to_object(current, Some(kind), index.addresses()).to_document();
    let desired_doc = d.object.to_document();
    immutable_fields(kind, new_address, &actual_doc, &desired_doc, immutable);
    let old_address = current.address();
    let action = if adopted {
        Action::Adopt
    } else if old_address != new_address {
        Action::Rename
    } else {
        Action::Update
    };
    let mut change = new_change(action, d, kind, Some(current));
    change.fields = field_changes(&actual_doc, &desired_doc, &[kind]);
    if adopted {
        change.old_guid = Some(current.guid);
    }
    if old_address != change.address {
        change.old_address = Some(old_address);
    }
    change
}

/// A change of a desired object in wave 1, with no fields, drift, blast radius or risks yet.
fn new_change(
    action: Action,
    d: &DesiredObject,
    kind: &Kind,
    current: Option<&StoredObject>,
) -> Change {
    Change {
        action,
        guid: d.stored.guid,
        kind: d.stored.kind.clone(),
        category: kind.category.as_str().to_string(),
        address: d.stored.address(),
        old_address: None,
        old_guid: None,
        wave: 1,
        fields: Vec::new(),
        actual_hash: current.map(|c| c.hash.clone()),
        desired_hash: Some(d.stored.hash.clone()),
        drifted: false,
        blast_radius: Vec::new(),
        blast_radius_total: 0,
        risks: Vec::new(),
    }
}
