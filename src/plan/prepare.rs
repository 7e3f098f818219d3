//! Desired objects as a store would keep them: references resolved to GUIDs (through the desired
//! objects first, then the destination's), secrets split out, content hashes computed. A
//! reference that resolves nowhere stops the plan ([`PlanError::Unresolved`]).

use std::collections::HashMap;

use uuid::Uuid;

use super::build::{Desired, DesiredObject};
use super::error::{PlanError, Unresolved};
use super::index::Index;
use crate::edit;
use crate::kinds::Registry;
use crate::model::Object;

/// The desired objects of known kinds and with a GUID, prepared, in address order.
pub(super) fn prepare<'o>(
    desired: &'o Desired,
    index: &Index,
    registry: &Registry,
) -> Result<Vec<DesiredObject<'o>>, PlanError> {
    // Desired GUIDs by address, for resolving references; then the destination's.
    let mut desired_sorted: Vec<&Object> = desired.objects.iter().collect();
    desired_sorted.sort_by_cached_key(|o| o.address());
    let desired_guids: HashMap<String, Uuid> = desired_sorted
        .iter()
        .filter_map(|o| Some((o.address().to_string(), o.guid?)))
        .collect();
    let lookup = |a: &str| {
        desired_guids
            .get(a)
            .copied()
            .or_else(|| index.at(a).map(|o| o.guid))
    };
    // References resolved, secrets split and hashes computed in parallel, in order.
    let results: Vec<_> = {
        use rayon::prelude::*;
        desired_sorted
            .par_iter()
            .filter_map(|object| {
                let kind = registry.get(&object.kind)?;
                let guid = object.guid?;
                // Only the hash and references are kept: the body is prepared again when the
                // plan is applied, so holding it here would double a large plan's memory.
                let prepared = edit::prepare(kind, object, guid, &lookup).map(|mut stored| {
                    stored.spec = Default::default();
                    stored.secrets = Vec::new();
                    stored
                });
                Some((*object, prepared))
            })
            .collect()
    };
    let mut unresolved = Vec::new();
    let mut prepared = Vec::with_capacity(results.len());
    for (object, result) in results {
        match result {
            Ok(stored) => prepared.push(DesiredObject { object, stored }),
            Err(problems) => {
                let address = object.address().to_string();
                unresolved.extend(problems.into_iter().map(|p| match p.target {
                    Some(target) => Unresolved::Missing {
                        address: address.clone(),
                        target,
                        pointer: p.pointer,
                    },
                    None => Unresolved::Invalid {
                        address: address.clone(),
                        pointer: p.pointer,
                        problem: p.message,
                    },
                }));
            }
        }
    }
    if unresolved.is_empty() {
        Ok(prepared)
    } else {
        Err(PlanError::Unresolved(unresolved))
    }
}
