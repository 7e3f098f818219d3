//! The checks that refuse a plan before anything is ordered: the source tenant's facts against
//! the destination's (prerequisites), a selection's boundary (chosen objects may not need ones
//! left out that the destination lacks), and the fields a kind declares immutable.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use uuid::Uuid;

use super::build::{Actual, Desired, DesiredObject, Options};
use super::error::{by_message, Fact, ImmutableChange, Mismatch, OutsideReference, PlanError};
use super::index::Index;
use crate::kinds::Kind;
use crate::model::pointer;

/// Checks the prerequisites. Returns the cluster mismatch when it is accepted (a warning, and a
/// risk on the changes of cluster-bound kinds) rather than refused.
pub(super) fn prerequisites(
    desired: &Desired,
    actual: &Actual,
    options: Options,
    warnings: &mut Vec<String>,
) -> Result<Option<Mismatch>, PlanError> {
    let Some(source) = &desired.facts else {
        return Err(PlanError::NoSourceFacts);
    };
    let dest = &actual.facts;
    let mut mismatches = Vec::new();
    for (fact, a, b) in [
        (
            Fact::PlatformVersion,
            &source.platform_version,
            &dest.platform_version,
        ),
        (Fact::EngineType, &source.engine, &dest.engine),
        (Fact::EngineMode, &source.engine_mode, &dest.engine_mode),
        (Fact::Cluster, &source.cluster, &dest.cluster),
    ] {
        if a != b {
            mismatches.push(Mismatch {
                fact,
                repository: a.clone(),
                destination: b.clone(),
            });
        }
    }
    let mut accepted = None;
    if !options.require_same_cluster {
        if let Some(at) = mismatches.iter().position(|m| m.fact == Fact::Cluster) {
            let cluster = mismatches.remove(at);
            warnings.push(format!(
                "{cluster}: the engine's metadata and data must already be in the destination's cluster"
            ));
            accepted = Some(cluster);
        }
    }
    if mismatches.is_empty() {
        Ok(accepted)
    } else {
        Err(PlanError::Prerequisite {
            tenant: actual.url.clone(),
            mismatches,
        })
    }
}

/// Leaves out of `prepared` the objects outside the selection `chosen` (addresses), refusing
/// references from chosen objects to left-out ones the destination lacks. Returns the addresses
/// of the left-out objects that have changes, in address order.
pub(super) fn select(
    prepared: &mut Vec<DesiredObject>,
    chosen: &HashSet<String>,
    index: &Index,
) -> Result<Vec<String>, PlanError> {
    let left_out: HashMap<Uuid, String> = prepared
        .iter()
        .filter(|d| !chosen.contains(&d.object.address().to_string()))
        .map(|d| (d.stored.guid, d.object.address().to_string()))
        .collect();
    let mut outside = Vec::new();
    for d in prepared
        .iter()
        .filter(|d| chosen.contains(&d.object.address().to_string()))
    {
        for (pointer, target) in &d.stored.references {
            if let Some(address) = left_out.get(target) {
                if !index.contains(target) {
                    outside.push(OutsideReference {
                        address: d.object.address().to_string(),
                        target: address.clone(),
                        pointer: pointer.clone(),
                    });
                }
            }
        }
    }
    if !outside.is_empty() {
        return Err(PlanError::OutsideSelection(by_message(outside)));
    }
    let mut skipped = Vec::new();
    for d in prepared.iter() {
        let Some(address) = left_out.get(&d.stored.guid) else {
            continue;
        };
        let same = index
            .get(&d.stored.guid)
            .is_some_and(|c| c.hash == d.stored.hash && c.address() == *address);
        if !same {
            skipped.push(address.clone());
        }
    }
    prepared.retain(|d| !left_out.contains_key(&d.stored.guid));
    Ok(skipped)
}

/// Adds to `out` each field `kind` declares immutable whose value differs between the
/// destination's object and the desired one (both as documents, references as addresses).
pub(super) fn immutable_fields(
    kind: &Kind,
    address: &str,
    actual: &Value,
    desired: &Value,
    out: &mut Vec<ImmutableChange>,
) {
    for rule in &kind.immutable {
        let old = pointer::select(actual, rule);
        let new = pointer::select(desired, rule);
        if old == new {
            continue;
        }
        let value_at = |found: &[(String, &Value)], at: &str| {
            found
                .iter()
                .find(|(p, _)| p == at)
                .map(|(_, v)| (*v).clone())
        };
        // Each field either side has, the destination's first, in document order.
        let mut fields: Vec<&str> = old.iter().map(|(at, _)| at.as_str()).collect();
        fields.extend(
            new.iter()
                .map(|(at, _)| at.as_str())
                .filter(|at| !old.iter().any(|(p, _)| p == at)),
        );
        for at in fields {
            let (was, will) = (value_at(&old, at), value_at(&new, at));
            if was != will {
                out.push(ImmutableChange {
                    address: address.to_string(),
                    kind: kind.name.clone(),
                    pointer: at.to_string(),
                    old: was,
                    new: will,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;
    use serde_json::json;

    fn gadget() -> Registry {
        let schema = r#"{"type": "object",
            "properties": {"kind": {"const": "gadget"}, "spec": {"type": "object"}},
            "x-ferry": {"category": "global", "scope": "tenant",
                        "immutable": ["/spec/code", "/spec/parts/*/id"]}}"#;
        Registry::with_custom([("gadget".into(), schema.into(), "gadget.schema.json".into())])
            .unwrap()
    }

    fn changes(old: Value, new: Value) -> Vec<(String, Option<Value>, Option<Value>)> {
        let registry = gadget();
        let mut out = Vec::new();
        immutable_fields(
            registry.get("gadget").unwrap(),
            "gadget/g",
            &json!({ "kind": "gadget", "name": "g", "spec": old }),
            &json!({ "kind": "gadget", "name": "g", "spec": new }),
            &mut out,
        );
        out.into_iter().map(|c| (c.pointer, c.old, c.new)).collect()
    }

    #[test]
    fn only_declared_fields_that_differ_are_immutable_changes() {
        let spec = json!({"code": "A", "note": "x", "parts": [{"id": 1}, {"id": 2}]});
        assert!(changes(spec.clone(), spec.clone()).is_empty());
        let mut other = spec.clone();
        other["note"] = json!("y");
        other["parts"][0]["weight"] = json!(3);
        assert!(changes(spec.clone(), other).is_empty());

        let mut other = spec.clone();
        other["code"] = json!("B");
        other["parts"][1]["id"] = json!(5);
        assert_eq!(
            changes(spec.clone(), other),
            [
                ("/spec/code".into(), Some(json!("A")), Some(json!("B"))),
                ("/spec/parts/1/id".into(), Some(json!(2)), Some(json!(5))),
            ]
        );
        // A field set or removed changes too.
        let mut other = spec.clone();
        other.as_object_mut().unwrap().remove("code");
        other["parts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 9}));
        assert_eq!(
            changes(spec, other),
            [
                ("/spec/code".into(), Some(json!("A")), None),
                ("/spec/parts/2/id".into(), None, Some(json!(9))),
            ]
        );
    }
}
