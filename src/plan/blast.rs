//! Blast radius: for each update, rename, adoption and delete, the destination objects that
//! depend on the changed one, transitively, over the destination's references.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use uuid::Uuid;

use super::build::Actual;
use super::index::Index;
use super::{Action, Change};

/// How many dependents a change lists before it only counts them.
pub const BLAST_RADIUS_SHOWN: usize = 20;

/// Fills in the blast radius of every change but creates (which nothing depends on yet).
pub(super) fn measure(changes: &mut [Change], actual: &Actual, index: &Index) {
    let mut dependents: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if changes.iter().any(|c| c.action != Action::Create) {
        for (from, to) in &actual.edges {
            dependents.entry(*to).or_default().push(*from);
        }
    }
    for c in changes {
        if c.action == Action::Create {
            continue;
        }
        // An adoption: what depends on the destination's object it takes over.
        let start = c.old_guid.unwrap_or(c.guid);
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        let mut found = BTreeSet::new();
        while let Some(g) = queue.pop_front() {
            for d in dependents.get(&g).map(Vec::as_slice).unwrap_or_default() {
                if seen.insert(*d) {
                    found.insert(index.addresses()[d].clone());
                    queue.push_back(*d);
                }
            }
        }
        c.blast_radius_total = found.len();
        c.blast_radius = found.into_iter().take(BLAST_RADIUS_SHOWN).collect();
    }
}
