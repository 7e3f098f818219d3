//! [`build`]: desired + actual → [`Plan`]. This file holds the plan's inputs and the order of
//! its steps; each step is a sibling module: `prepare` (references resolved, hashes), `checks`
//! (prerequisites, the selection's boundary, immutable fields), `matching` (creates, updates,
//! renames, adoptions, conflicts), `deletes`, `drift`, `waves`, `blast` (blast radius) and
//! `risks`; `index` holds the lookups over the destination they share.

use super::index::{Addresses, Index};
use super::{blast, checks, deletes, drift, matching, prepare, risks, waves};
use super::{Destination, Plan, PLAN_FORMAT};

use crate::kinds::Registry;
use crate::model::Object;
use crate::store::{NewObject, StoredObject};

pub use super::blast::BLAST_RADIUS_SHOWN;
pub use super::error::PlanError;
pub use crate::desired::Desired;
pub use crate::store::actual::{Actual, Applied};

/// One desired object: as written (addresses) and as it would be stored (GUIDs, hash).
#[derive(Debug, Clone)]
pub struct DesiredObject<'o> {
    /// The object with address references.
    pub object: &'o Object,
    /// The object as a store keeps it: identity, address, hash and references (the spec and
    /// secrets are left empty; apply prepares them again).
    pub stored: NewObject,
}

/// Plan options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Builds the plan. The checks run in this order, and the first that fails is the error:
/// prerequisites, references, the selection's boundary, conflicts, immutable fields, blocked
/// deletes, drift (with `fail_on_drift`), cycles.
pub fn build(
    desired: &Desired,
    actual: &Actual,
    registry: &Registry,
    options: Options,
) -> Result<Plan, PlanError> {
    let mut warnings = Vec::new();
    let other_cluster = checks::prerequisites(desired, actual, options, &mut warnings)?;
    let addresses = Addresses::new();
    let index = Index::new(&actual.objects, &addresses);

    let mut prepared = prepare::prepare(desired, &index, registry)?;
    let skipped = match &desired.selected {
        Some(chosen) => checks::select(&mut prepared, chosen, &index)?,
        None => Vec::new(),
    };
    let matched = matching::match_objects(&prepared, desired, &index, registry, options)?;
    let unmatched = deletes::unmatched(actual, &matched, desired.selected.is_some(), options);
    let deleting = &unmatched.deleting;
    deletes::check_blocked(deleting, &prepared, &matched, actual, &index)?;
    let mut changes = matched.changes;
    let drift = drift::find(actual, &index, registry);
    let drifted = drift::mark(&mut changes, &drift, options)?;

    let mut edges = waves::order_changes(&mut changes, &prepared, registry)?;
    let last_wave = changes.iter().map(|c| c.wave).max().unwrap_or(0);
    let delete_waves = waves::order_deletes(deleting, last_wave, &index, registry, &mut edges);
    edges.sort();
    edges.dedup();
    deletes::add_changes(&mut changes, deleting, &delete_waves, &drifted, registry);
    blast::measure(&mut changes, actual, &index);
    risks::cluster(&mut changes, other_cluster.as_ref(), registry);
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
        unchanged: matched.unchanged,
        unmanaged: unmatched.unmanaged,
        not_pruned: unmatched.not_pruned,
        warnings,
        edges,
        skipped,
        made_with: super::MadeWith {
            options,
            ..Default::default()
        },
        environment: None,
        secrets: Vec::new(),
    })
}

/// The destination's [`crate::store::fingerprint`].
pub fn fingerprint(objects: &[StoredObject]) -> String {
    crate::store::fingerprint(objects.iter().map(|o| (o.guid, o.hash.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceFacts;
    use crate::edit;
    use crate::model::hash::canonical_json;
    use crate::plan::Action;
    use crate::plan::PlanSource;
    use crate::store::Facts;
    use proptest::prelude::*;
    use serde_json::json;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};
    use uuid::Uuid;

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
                url: crate::store::TenantUrl::parse("sqlite:test.db").unwrap(),
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
                gone: Vec::new(),
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
