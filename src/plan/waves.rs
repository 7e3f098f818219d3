//! Ordering: creates, adoptions, renames and updates run in numbered waves over the dependency
//! graph of the changed objects (an object after every changed object it refers to); deletes run
//! after all of them, dependents before what they refer to.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::build::DesiredObject;
use super::error::PlanError;
use super::index::Index;
use super::Change;
use crate::edit;
use crate::graph::Graph;
use crate::kinds::Registry;
use crate::model::Object;
use crate::store::StoredObject;

/// A dependency between two changed objects: (dependent, dependency) addresses.
pub(super) type Edge = (String, String);

/// Numbers the waves of `changes` (creates, adoptions, renames and updates; 1 first); refuses a
/// dependency cycle among them. Returns the dependencies among them.
pub(super) fn order_changes(
    changes: &mut [Change],
    prepared: &[DesiredObject],
    registry: &Registry,
) -> Result<Vec<Edge>, PlanError> {
    let changed: HashSet<Uuid> = changes.iter().map(|c| c.guid).collect();
    let changed_objects = prepared
        .iter()
        .filter(|d| changed.contains(&d.stored.guid))
        .map(|d| d.object);
    let graph = Graph::build(changed_objects, registry);
    let cycles = graph.cycles();
    if !cycles.is_empty() {
        return Err(PlanError::Cycle(cycles));
    }
    let waves = graph.waves().unwrap_or_default();
    let wave_of: HashMap<String, usize> =
        waves.iter().map(|(a, w)| (a.to_string(), w + 1)).collect();
    for c in changes {
        c.wave = wave_of.get(&c.address).copied().unwrap_or(1);
    }
    Ok(edges(&graph))
}

/// The wave of each object of `deleting` (in its order), after wave `last` and dependents
/// first. Adds the dependencies among them to `edges`.
pub(super) fn order_deletes(
    deleting: &[&StoredObject],
    last: usize,
    index: &Index,
    registry: &Registry,
    edges_out: &mut Vec<Edge>,
) -> Vec<usize> {
    let objects: Vec<Object> = deleting
        .iter()
        .map(|o| edit::to_object(o, registry.get(&o.kind), index.addresses()))
        .collect();
    let graph = Graph::build(&objects, registry);
    let depths = graph.waves().unwrap_or_default();
    edges_out.extend(edges(&graph));
    let deepest = depths.values().copied().max().unwrap_or(0);
    let depth_of: HashMap<String, usize> =
        depths.iter().map(|(a, w)| (a.to_string(), *w)).collect();
    deleting
        .iter()
        .map(|o| {
            let depth = depth_of.get(&o.address()).copied().unwrap_or(0);
            last + 1 + (deepest - depth)
        })
        .collect()
}

fn edges(graph: &Graph) -> Vec<Edge> {
    graph
        .edges()
        .into_iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect()
}
