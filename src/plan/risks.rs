//! Risks a change carries into the apply (which records it as `succeeded_with_risks`): today,
//! a destination on another cluster, accepted, on the changes of the kinds that declare
//! `cluster_bound` in their schema.

use super::error::Mismatch;
use super::{Action, Change};
use crate::kinds::Registry;

/// Puts the risk of an accepted cluster mismatch on every create, adoption, rename and update
/// of a cluster-bound kind.
pub(super) fn cluster(changes: &mut [Change], accepted: Option<&Mismatch>, registry: &Registry) {
    let Some(mismatch) = accepted else {
        return;
    };
    let risk = format!(
        "cluster differs: {} in the repository, {} in the destination; check the engine's projects and connections there",
        mismatch.repository, mismatch.destination
    );
    for c in changes {
        let bound = registry.get(&c.kind).is_some_and(|k| k.cluster_bound);
        if c.action != Action::Delete && bound {
            c.risks.push(risk.clone());
        }
    }
}
