//! [`build`]: desired + actual → [`Plan`].

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::OnceLock;

use serde_json::Value;
use uuid::Uuid;

use super::{Action, Change, Destination, Drift, Plan, PlanSource, PLAN_FORMAT};
use crate::config::SourceFacts;
use crate::edit;
use crate::graph::Graph;
use crate::kinds::Registry;
use crate::model::field_diff::field_changes;
use crate::model::{Address, Object};
use crate::store::{Facts, NewObject, StoredObject};

/// How many dependents a change lists before it only counts them.
pub const BLAST_RADIUS_SHOWN: usize = 20;

/// One desired object: as written (addresses) and as it would be stored (GUIDs, hash).
#[derive(Debug, Clone)]
pub struct DesiredObject<'o> {
    /// The object with address references.
    pub object: &'o Object,
    /// The object as a store keeps it: identity, address, hash and references (the spec and
    /// secrets are left empty; apply prepares them again).
    pub stored: NewObject,
}

/// The desired state.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The objects, any order.
    pub objects: Vec<Object>,
    /// The source tenant facts the repository records (`ferry.toml`).
    pub facts: Option<SourceFacts>,
    /// Where they came from.
    pub source: PlanSource,
    /// The addresses `--select`/`--exclude` chose; `None` plans everything. Objects outside it
    /// are neither changed nor deleted, and a chosen object may refer to one outside it only if
    /// the destination has it.
    pub selected: Option<HashSet<String>>,
    /// Desired objects known to be exactly what ferry last applied, whose files were not read
    /// (a fast plan); they are neither changed nor deleted.
    pub unchanged: HashSet<Uuid>,
}

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
    pub url: String,
    /// Its facts.
    pub facts: Facts,
    /// Every object.
    pub objects: Vec<StoredObject>,
    /// What ferry last applied, by GUID.
    pub applied: HashMap<Uuid, Applied>,
    /// Every reference between the destination's objects: (referring, referenced).
    pub edges: Vec<(Uuid, Uuid)>,
}

/// Plan options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Delete objects ferry applied earlier that are no longer desired.
    pub prune: bool,
    /// Make the destination's own object at a desired address ferry's, instead of a conflict.
    pub adopt: bool,
    /// A destination changed outside ferry is an error.
    pub fail_on_drift: bool,
    /// A different cluster is an error, not a warning.
    pub require_same_cluster: bool,
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The repository and the destination do not match.
    #[error("the destination {tenant} does not match the repository's source tenant: {}", mismatches.join("; "))]
    Prerequisite {
        /// The destination.
        tenant: String,
        /// Each fact that differs.
        mismatches: Vec<String>,
    },
    /// The repository records no source facts to check.
    #[error("the repository's ferry.toml records no source tenant, so the destination cannot be checked")]
    NoSourceFacts,
    /// References that resolve nowhere.
    #[error("{}", .0.join("\n"))]
    Unresolved(Vec<String>),
    /// Desired objects whose address another destination object holds.
    #[error("{}", .0.join("\n"))]
    Conflict(Vec<String>),
    /// Chosen objects refer to objects left out of the selection that the destination lacks.
    #[error("{}", .0.join("\n"))]
    OutsideSelection(Vec<String>),
    /// The plan would create a dependency cycle.
    #[error("dependency cycle: {0}")]
    Cycle(String),
    /// Deletes that others still depend on.
    #[error("{}", .0.join("\n"))]
    BlockedDelete(Vec<String>),
    /// Objects changed outside ferry, with fail_on_drift.
    #[error("{} object(s) changed outside ferry: {}", .0.len(), .0.join(", "))]
    Drift(Vec<String>),
    /// A field the platform does not allow to change.
    #[error("{}", .0.join("\n"))]
    Immutable(Vec<String>),
}

/// Builds the plan.
pub fn build(
    desired: &Desired,
    actual: &Actual,
    registry: &Registry,
    options: Options,
) -> Result<Plan, PlanError> {
    let mut warnings = Vec::new();
    let cluster_risk = check_facts(desired, actual, options, &mut warnings)?;

    let by_guid: HashMap<Uuid, &StoredObject> =
        actual.objects.iter().map(|o| (o.guid, o)).collect();
    // Every destination object's address, both ways: built on first use (a plan without
    // changes never needs them).
    let addresses_cell: OnceLock<HashMap<Uuid, String>> = OnceLock::new();
    let actual_addresses = || {
        addresses_cell.get_or_init(|| {
            actual
                .objects
                .iter()
                .map(|o| (o.guid, o.address()))
                .collect()
        })
    };
    let by_address_cell: OnceLock<HashMap<&str, &StoredObject>> = OnceLock::new();
    let by_address = || {
        by_address_cell.get_or_init(|| {
            let addresses = actual_addresses();
            actual
                .objects
                .iter()
                .map(|o| (addresses[&o.guid].as_str(), o))
                .collect()
        })
    };

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
            .or_else(|| by_address().get(a).map(|o| &o.guid))
            .copied()
    };
    let mut unresolved = Vec::new();
    let mut prepared: Vec<DesiredObject> = Vec::with_capacity(desired_sorted.len());
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
    for (object, result) in results {
        match result {
            Ok(stored) => prepared.push(DesiredObject { object, stored }),
            Err(problems) => {
                for p in problems {
                    unresolved.push(match p.target {
                        Some(t) => format!(
                            "{} refers to {t} at {}, which is neither desired nor in the destination",
                            object.address(),
                            p.pointer
                        ),
                        None => format!("{}: {}", object.address(), p.message),
                    });
                }
            }
        }
    }
    if !unresolved.is_empty() {
        return Err(PlanError::Unresolved(unresolved));
    }

    // A selection: leave the rest out, and refuse references to what is left out and missing.
    let mut skipped = Vec::new();
    if let Some(chosen) = &desired.selected {
        let mut outside = BTreeSet::new();
        let left_out: HashMap<Uuid, String> = prepared
            .iter()
            .filter(|d| !chosen.contains(&d.object.address().to_string()))
            .map(|d| (d.stored.guid, d.object.address().to_string()))
            .collect();
        for d in prepared
            .iter()
            .filter(|d| chosen.contains(&d.object.address().to_string()))
        {
            for (pointer, target) in &d.stored.references {
                if let Some(address) = left_out.get(target) {
                    if !by_guid.contains_key(target) {
                        outside.insert(format!(
                            "{} refers to {address} at {pointer}, which is not selected and not in the destination",
                            d.object.address()
                        ));
                    }
                }
            }
        }
        if !outside.is_empty() {
            return Err(PlanError::OutsideSelection(outside.into_iter().collect()));
        }
        for d in &prepared {
            let current = by_guid.get(&d.stored.guid);
            let same = current.is_some_and(|c| {
                c.hash == d.stored.hash && c.address() == d.object.address().to_string()
            });
            if !same && left_out.contains_key(&d.stored.guid) {
                skipped.push(d.object.address().to_string());
            }
        }
        prepared.retain(|d| !left_out.contains_key(&d.stored.guid));
    }
    let selecting = desired.selected.is_some();

    // Match by GUID.
    let mut changes: Vec<Change> = Vec::new();
    let mut conflicts = Vec::new();
    let mut immutable = Vec::new();
    let mut unchanged = desired.unchanged.len();
    let mut matched: HashSet<Uuid> = HashSet::new();
    let desired_guid_set: HashSet<Uuid> = prepared
        .iter()
        .map(|d| d.stored.guid)
        .chain(desired.unchanged.iter().copied())
        .collect();
    for d in &prepared {
        let kind = registry
            .get(&d.object.kind)
            .expect("prepared objects have known kinds");
        let new_address = d.object.address().to_string();
        let holder = by_address()
            .get(new_address.as_str())
            .filter(|o| o.guid != d.stored.guid);
        // Another destination object at this address: a conflict, unless it is being renamed
        // away in this plan, or adopted.
        let mut adopted_from = None;
        if let Some(other) = holder {
            let leaving = desired_guid_set.contains(&other.guid);
            if !leaving && !by_guid.contains_key(&d.stored.guid) && options.adopt {
                adopted_from = Some(*other);
            } else if !leaving {
                conflicts.push(format!(
                    "{new_address}: the destination has another object at this address (GUID {}, desired {})",
                    other.guid, d.stored.guid
                ));
                continue;
            }
        }
        let current = by_guid.get(&d.stored.guid).copied().or(adopted_from);
        let Some(current) = current else {
            changes.push(new_change(
                Action::Create,
                d,
                kind.category.as_str(),
                None,
                None,
                Vec::new(),
            ));
            continue;
        };
        matched.insert(current.guid);
        if adopted_from.is_none()
            && current.hash == d.stored.hash
            && current.address() == new_address
        {
            unchanged += 1;
            continue;
        }
        let actual_doc = edit::to_object(current, Some(kind), actual_addresses()).to_document();
        let desired_doc = d.object.to_document();
        for rule in &kind.immutable {
            let old = crate::model::pointer::select(&actual_doc, rule);
            let new = crate::model::pointer::select(&desired_doc, rule);
            if old != new {
                let field = rule.strip_prefix("/spec/").unwrap_or(rule);
                let value = |v: Option<&(String, &Value)>| {
                    v.map(|(_, v)| v.to_string()).unwrap_or_default()
                };
                immutable.push(format!(
                    "{new_address}: {field} cannot change ({} → {}); create a new {} instead",
                    value(old.first()),
                    value(new.first()),
                    kind.name.replace('_', " ")
                ));
            }
        }
        let fields = field_changes(&actual_doc, &desired_doc, &[kind]);
        let action = if adopted_from.is_some() {
            Action::Adopt
        } else if current.address() != new_address {
            Action::Rename
        } else {
            Action::Update
        };
        let mut change = new_change(
            action,
            d,
            kind.category.as_str(),
            Some(current),
            Some(current.address()),
            fields,
        );
        if adopted_from.is_some() {
            change.old_guid = Some(current.guid);
        }
        if change.old_address.as_deref() == Some(change.address.as_str()) {
            change.old_address = None;
        }
        changes.push(change);
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflict(conflicts));
    }
    if !immutable.is_empty() {
        return Err(PlanError::Immutable(immutable));
    }

    // What is no longer desired.
    let mut unmanaged = 0;
    let mut not_pruned = Vec::new();
    let mut deleting: Vec<&StoredObject> = Vec::new();
    for o in &actual.objects {
        if matched.contains(&o.guid) || desired_guid_set.contains(&o.guid) {
            continue;
        }
        if !actual.applied.contains_key(&o.guid) {
            unmanaged += 1;
        } else if selecting {
            // A selection is over the desired objects: it deletes nothing.
        } else if options.prune {
            deleting.push(o);
        } else {
            not_pruned.push(o.address());
        }
    }
    not_pruned.sort();
    // Nothing that stays may refer to what is deleted.
    let deleted: HashSet<Uuid> = deleting.iter().map(|o| o.guid).collect();
    if !deleted.is_empty() {
        let mut blocked = BTreeSet::new();
        for d in &prepared {
            for (pointer, target) in &d.stored.references {
                if deleted.contains(target) {
                    blocked.insert(format!(
                        "{} cannot be deleted: {} (desired) refers to it at {pointer}",
                        actual_addresses()[target],
                        d.object.address()
                    ));
                }
            }
        }
        // Destination objects that stay as they are (not desired, not managed) and refer to a
        // deleted one, a project's members included.
        for (from, to) in &actual.edges {
            if deleted.contains(to)
                && !deleted.contains(from)
                && !desired_guid_set.contains(from)
                && !matched.contains(from)
            {
                blocked.insert(format!(
                    "{} cannot be deleted: {} (not managed by ferry) refers to it",
                    actual_addresses()[to],
                    actual_addresses()
                        .get(from)
                        .map(String::as_str)
                        .unwrap_or("an object")
                ));
            }
        }
        if !blocked.is_empty() {
            return Err(PlanError::BlockedDelete(blocked.into_iter().collect()));
        }
    }

    // Drift: destination objects whose content is not what ferry last applied.
    let mut drift = Vec::new();
    for o in &actual.objects {
        let Some(applied) = actual.applied.get(&o.guid) else {
            continue;
        };
        if applied.hash == o.hash {
            continue;
        }
        let kind = registry.get(&o.kind);
        let fields = match (&applied.body, kind) {
            (Some(body), Some(kind)) => {
                let spec = serde_json::from_str(body).unwrap_or_default();
                let then = StoredObject { spec, ..o.clone() };
                field_changes(
                    &edit::to_object(&then, Some(kind), actual_addresses()).to_document(),
                    &edit::to_object(o, Some(kind), actual_addresses()).to_document(),
                    &[kind],
                )
            }
            _ => Vec::new(),
        };
        drift.push(Drift {
            address: o.address(),
            guid: o.guid,
            fields,
        });
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    if options.fail_on_drift && !drift.is_empty() {
        return Err(PlanError::Drift(
            drift.iter().map(|d| d.address.clone()).collect(),
        ));
    }
    let drifted: HashSet<Uuid> = drift.iter().map(|d| d.guid).collect();
    for c in &mut changes {
        c.drifted = drifted.contains(&c.guid) || c.old_guid.is_some_and(|g| drifted.contains(&g));
    }

    // Waves: creates, adoptions, renames and updates over the graph of the changed objects.
    let changed_guids: HashSet<Uuid> = changes.iter().map(|c| c.guid).collect();
    let changed_objects = prepared
        .iter()
        .filter(|d| changed_guids.contains(&d.stored.guid))
        .map(|d| d.object);
    let graph = Graph::build(changed_objects, registry);
    if let Some(cycle) = graph.cycles().first() {
        return Err(PlanError::Cycle(
            cycle
                .iter()
                .map(Address::to_string)
                .collect::<Vec<_>>()
                .join(" → "),
        ));
    }
    let waves = graph.waves().unwrap_or_default();
    let mut edges: Vec<(String, String)> = graph
        .edges()
        .into_iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let wave_of: HashMap<String, usize> =
        waves.iter().map(|(a, w)| (a.to_string(), w + 1)).collect();
    for c in &mut changes {
        c.wave = wave_of.get(&c.address).copied().unwrap_or(1);
    }
    let last_wave = changes.iter().map(|c| c.wave).max().unwrap_or(0);

    // Deletes after, dependents first.
    let deleted_objects: Vec<Object> = deleting
        .iter()
        .map(|o| edit::to_object(o, registry.get(&o.kind), actual_addresses()))
        .collect();
    let delete_graph = Graph::build(&deleted_objects, registry);
    let delete_waves = delete_graph.waves().unwrap_or_default();
    edges.extend(
        delete_graph
            .edges()
            .into_iter()
            .map(|(a, b, _)| (a.to_string(), b.to_string())),
    );
    edges.sort();
    edges.dedup();
    let deepest = delete_waves.values().copied().max().unwrap_or(0);
    let delete_wave_of: HashMap<String, usize> = delete_waves
        .iter()
        .map(|(a, w)| (a.to_string(), *w))
        .collect();
    for o in &deleting {
        let depth = delete_wave_of.get(&o.address()).copied().unwrap_or(0);
        let category = registry
            .get(&o.kind)
            .map(|k| k.category.as_str())
            .unwrap_or("global");
        changes.push(Change {
            action: Action::Delete,
            guid: o.guid,
            kind: o.kind.clone(),
            category: category.to_string(),
            address: o.address(),
            old_address: None,
            old_guid: None,
            wave: last_wave + 1 + (deepest - depth),
            fields: Vec::new(),
            actual_hash: Some(o.hash.clone()),
            desired_hash: None,
            drifted: drifted.contains(&o.guid),
            blast_radius: Vec::new(),
            blast_radius_total: 0,
            risks: Vec::new(),
        });
    }

    // Blast radius: destination objects that depend on each changed one, transitively.
    let mut dependents: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if changes.iter().any(|c| c.action != Action::Create) {
        for (from, to) in &actual.edges {
            dependents.entry(*to).or_default().push(*from);
        }
    }
    for c in &mut changes {
        if c.action == Action::Create {
            continue;
        }
        let start = c.old_guid.unwrap_or(c.guid);
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        let mut found = BTreeSet::new();
        while let Some(g) = queue.pop_front() {
            for d in dependents.get(&g).map(Vec::as_slice).unwrap_or_default() {
                if seen.insert(*d) {
                    found.insert(actual_addresses()[d].clone());
                    queue.push_back(*d);
                }
            }
        }
        c.blast_radius_total = found.len();
        c.blast_radius = found.into_iter().take(BLAST_RADIUS_SHOWN).collect();
    }

    // A different cluster accepted: what runs on the cluster carries the risk.
    if let Some(risk) = &cluster_risk {
        for c in &mut changes {
            let bound = registry.get(&c.kind).is_some_and(|k| k.cluster_bound);
            if c.action != Action::Delete && bound {
                c.risks.push(risk.clone());
            }
        }
    }

    changes.sort_by(|a, b| (a.wave, &a.address).cmp(&(b.wave, &b.address)));
    Ok(Plan {
        format_version: PLAN_FORMAT,
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        source: desired.source.clone(),
        destination: Destination {
            url: actual.url.clone(),
            name: actual.facts.name.clone(),
            fingerprint: fingerprint(&actual.objects),
            facts: actual.facts.clone(),
        },
        changes,
        drift,
        unchanged,
        unmanaged,
        not_pruned,
        warnings,
        edges,
        skipped,
    })
}

fn new_change(
    action: Action,
    d: &DesiredObject,
    category: &str,
    current: Option<&StoredObject>,
    old_address: Option<String>,
    fields: Vec<crate::model::field_diff::FieldChange>,
) -> Change {
    Change {
        action,
        guid: d.stored.guid,
        kind: d.stored.kind.clone(),
        category: category.to_string(),
        address: d.stored.address(),
        old_address,
        old_guid: None,
        wave: 1,
        fields,
        actual_hash: current.map(|c| c.hash.clone()),
        desired_hash: Some(d.stored.hash.clone()),
        drifted: false,
        blast_radius: Vec::new(),
        blast_radius_total: 0,
        risks: Vec::new(),
    }
}

/// blake3 over every (GUID, content hash) of the destination, in GUID order.
pub fn fingerprint(objects: &[StoredObject]) -> String {
    let mut pairs: Vec<(Uuid, &str)> = objects.iter().map(|o| (o.guid, o.hash.as_str())).collect();
    pairs.sort();
    let mut hasher = blake3::Hasher::new();
    for (guid, hash) in pairs {
        hasher.update(guid.as_bytes());
        hasher.update(hash.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// Checks the prerequisites; returns the risk a cluster mismatch (accepted) puts on changes of
/// the kinds that declare `cluster_bound`.
fn check_facts(
    desired: &Desired,
    actual: &Actual,
    options: Options,
    warnings: &mut Vec<String>,
) -> Result<Option<String>, PlanError> {
    let Some(source) = &desired.facts else {
        return Err(PlanError::NoSourceFacts);
    };
    let dest = &actual.facts;
    let mut mismatches = Vec::new();
    for (what, a, b) in [
        (
            "platform version",
            &source.platform_version,
            &dest.platform_version,
        ),
        ("engine type", &source.engine, &dest.engine),
        ("engine mode", &source.engine_mode, &dest.engine_mode),
    ] {
        if a != b {
            mismatches.push(format!(
                "{what} is {a} in the repository but {b} in the destination"
            ));
        }
    }
    let mut risk = None;
    if source.cluster != dest.cluster {
        let message = format!(
            "cluster is {} in the repository but {} in the destination",
            source.cluster, dest.cluster
        );
        if options.require_same_cluster {
            mismatches.push(message);
        } else {
            warnings.push(format!(
                "{message}: the engine's metadata and data must already be in the destination's cluster"
            ));
            risk = Some(format!(
                "cluster differs: {} in the repository, {} in the destination; check the engine's projects and connections there",
                source.cluster, dest.cluster
            ));
        }
    }
    if mismatches.is_empty() {
        Ok(risk)
    } else {
        Err(PlanError::Prerequisite {
            tenant: actual.url.clone(),
            mismatches,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::hash::canonical_json;
    use proptest::prelude::*;
    use serde_json::json;

    /// What happens to one object of a random change set.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Fate {
        Keep,
        Update,
        Delete,
        Create,
    }

    fn fate() -> impl Strategy<Value = Fate> {
        prop_oneof![
            Just(Fate::Keep),
            Just(Fate::Update),
            Just(Fate::Delete),
            Just(Fate::Create)
        ]
    }

    fn guid(i: usize) -> Uuid {
        Uuid::from_u128(0x1000 + i as u128)
    }

    fn directory(i: usize, parent: Option<usize>, description: &str) -> Object {
        let mut spec = json!({ "description": description });
        if let Some(p) = parent {
            spec["parent"] = json!(format!("standard_set_directory/d{p:02}"));
        }
        Object {
            kind: "standard_set_directory".into(),
            guid: Some(guid(i)),
            name: format!("d{i:02}"),
            project: None,
            spec: spec.as_object().unwrap().clone(),
        }
    }

    fn facts() -> SourceFacts {
        SourceFacts {
            name: "dev".into(),
            platform_version: "4.5.0".into(),
            engine: "maxcompute".into(),
            engine_mode: "single".into(),
            cluster: "c1".into(),
        }
    }

    /// A random forest of directories (each may have a parent among the earlier ones), the
    /// fate of each, and for updates a new parent pick.
    fn case() -> impl Strategy<Value = Vec<(Option<usize>, Fate, Option<usize>)>> {
        (2usize..14).prop_flat_map(|n| {
            (0..n)
                .map(|i| {
                    let parent = if i == 0 {
                        Just(None).boxed()
                    } else {
                        proptest::option::of(0..i).boxed()
                    };
                    let reparent = if i == 0 {
                        Just(None).boxed()
                    } else {
                        proptest::option::of(0..i).boxed()
                    };
                    (parent, fate(), reparent)
                })
                .collect::<Vec<_>>()
        })
    }

    proptest! {
        #[test]
        fn waves_respect_every_reference(case in case()) {
            let registry = Registry::builtin().unwrap();
            let kind = registry.get("standard_set_directory").unwrap();
            // Make the fates consistent: the children of a deleted directory are deleted; the
            // children of a new one are new.
            let mut fates: Vec<Fate> = Vec::new();
            for (parent, fate, _) in &case {
                let fate = match parent.map(|p| fates[p]) {
                    Some(Fate::Delete) => Fate::Delete,
                    Some(Fate::Create) => Fate::Create,
                    _ => *fate,
                };
                fates.push(fate);
            }
            // The destination: every directory that is not new, applied by ferry.
            let mut actual_objects: Vec<StoredObject> = Vec::new();
            let mut applied = HashMap::new();
            let lookup = |a: &str| {
                a.strip_prefix("standard_set_directory/d")
                    .and_then(|n| n.parse::<usize>().ok())
                    .map(guid)
            };
            for (i, (parent, _, _)) in case.iter().enumerate() {
                if fates[i] == Fate::Create {
                    continue;
                }
                let o = directory(i, *parent, "v0");
                let new = edit::prepare(kind, &o, guid(i), &lookup).unwrap();
                applied.insert(
                    new.guid,
                    Applied {
                        hash: new.hash.clone(),
                        body: Some(canonical_json(&Value::Object(new.spec.clone()))),
                        blob: None,
                    },
                );
                actual_objects.push(StoredObject {
                    guid: new.guid,
                    kind: new.kind,
                    name: new.name,
                    project: None,
                    spec: new.spec,
                    hash: new.hash,
                    version: 1,
                    updated_at: String::new(),
                    updated_by: String::new(),
                    secret_fields: Vec::new(),
                });
            }
            // The repository: the survivors, updated ones with a new description and maybe a
            // new parent (one that is kept).
            let mut desired_objects = Vec::new();
            let mut desired_parent: HashMap<usize, usize> = HashMap::new();
            for (i, (parent, _, reparent)) in case.iter().enumerate() {
                let (parent, description) = match fates[i] {
                    Fate::Delete => continue,
                    Fate::Keep => (*parent, "v0"),
                    Fate::Create => (*parent, "new"),
                    Fate::Update => (
                        reparent.filter(|p| fates[*p] != Fate::Delete).or(*parent),
                        "v1",
                    ),
                };
                if let Some(p) = parent {
                    desired_parent.insert(i, p);
                }
                desired_objects.push(directory(i, parent, description));
            }
            let desired = Desired {
                objects: desired_objects,
                facts: Some(facts()),
                source: PlanSource {
                    kind: "git".into(),
                    repository: None,
                    revision: None,
                    id: "0".repeat(40),
                },
                selected: None,
                unchanged: HashSet::new(),
            };
            let actual = Actual {
                url: "sqlite:test.db".into(),
                facts: Facts {
                    name: "prod".into(),
                    platform_version: "4.5.0".into(),
                    engine: "maxcompute".into(),
                    engine_mode: "single".into(),
                    cluster: "c1".into(),
                },
                edges: actual_objects
                    .iter()
                    .flat_map(|o| {
                        let kind = registry.get(&o.kind).unwrap();
                        edit::referenced_guids(o, kind).into_iter().map(move |t| (o.guid, t))
                    })
                    .collect(),
                objects: actual_objects,
                applied,
            };
            let options = Options { prune: true, ..Options::default() };
            let plan = build(&desired, &actual, &registry, options).unwrap();

            let index = |address: &str| -> usize {
                address.strip_prefix("standard_set_directory/d").unwrap().parse().unwrap()
            };
            let wave: HashMap<usize, (Action, usize)> = plan
                .changes
                .iter()
                .map(|c| (index(&c.address), (c.action, c.wave)))
                .collect();
            for (i, f) in fates.iter().enumerate() {
                let expected = match f {
                    Fate::Keep => None,
                    Fate::Update => Some(Action::Update),
                    Fate::Delete => Some(Action::Delete),
                    Fate::Create => Some(Action::Create),
                };
                prop_assert_eq!(wave.get(&i).map(|w| w.0), expected, "d{:02}", i);
            }
            let last_put = plan
                .changes
                .iter()
                .filter(|c| c.action != Action::Delete)
                .map(|c| c.wave)
                .max()
                .unwrap_or(0);
            for c in &plan.changes {
                let i = index(&c.address);
                if c.action == Action::Delete {
                    prop_assert!(c.wave > last_put, "{} runs before a create or update", c.address);
                    // Before what it referred to, when that is deleted too.
                    if let Some(p) = case[i].0 {
                        if let Some((Action::Delete, w)) = wave.get(&p) {
                            prop_assert!(c.wave < *w, "{} (wave {}) before d{:02} (wave {})", c.address, c.wave, p, w);
                        }
                    }
                } else if let Some(p) = desired_parent.get(&i) {
                    // After what it refers to, when that changes too.
                    if let Some((action, w)) = wave.get(p) {
                        prop_assert!(*action != Action::Delete);
                        prop_assert!(c.wave > *w, "{} (wave {}) after d{:02} (wave {})", c.address, c.wave, p, w);
                    }
                }
            }
            // Same inputs, same plan.
            prop_assert_eq!(build(&desired, &actual, &registry, options).unwrap(), plan);
        }
    }
}
