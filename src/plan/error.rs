//! Why no plan can be made: [`PlanError`]. Each variant carries what it concerns as data
//! (addresses, GUIDs, field pointers, values); the messages are rendered only by `Display`.

use std::fmt;

use serde_json::Value;
use uuid::Uuid;

use crate::model::Address;

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The repository and the destination do not match.
    #[error(
        "the destination {tenant} does not match the repository's source tenant: {}",
        Joined(mismatches, "; ")
    )]
    Prerequisite {
        /// The destination.
        tenant: crate::store::TenantUrl,
        /// Each fact that differs.
        mismatches: Vec<Mismatch>,
    },
    /// The repository records no source facts to check.
    #[error("the repository's ferry.toml records no source tenant, so the destination cannot be checked")]
    NoSourceFacts,
    /// References that resolve nowhere, in the order of the referring addresses.
    #[error("{}", Joined(.0, "\n"))]
    Unresolved(Vec<Unresolved>),
    /// Desired objects whose address another destination object holds, by address.
    #[error("{}", Joined(.0, "\n"))]
    Conflict(Vec<Conflict>),
    /// Chosen objects refer to objects left out of the selection that the destination lacks.
    #[error("{}", Joined(.0, "\n"))]
    OutsideSelection(Vec<OutsideReference>),
    /// The plan would create dependency cycles: for each, the addresses along it, the first
    /// again last; every cycle, as `ferry validate` reports them.
    #[error("{}", .0.iter().map(|c| format!("dependency cycle: {}", Joined(c, " → "))).collect::<Vec<_>>().join("\n"))]
    Cycle(Vec<Vec<Address>>),
    /// Deletes that others still depend on.
    #[error("{}", Joined(.0, "\n"))]
    BlockedDelete(Vec<BlockedDelete>),
    /// Objects changed outside ferry, with fail_on_drift: their addresses.
    #[error("{} object(s) changed outside ferry: {}", .0.len(), Joined(.0, ", "))]
    Drift(Vec<String>),
    /// Fields the platform does not allow to change (a kind's `immutable` pointers).
    #[error("{}", Joined(.0, "\n"))]
    Immutable(Vec<ImmutableChange>),
}

/// Items shown one after another with a separator.
struct Joined<'a, T>(&'a [T], &'static str);

impl<T: fmt::Display> fmt::Display for Joined<'_, T> {
    /// The first twenty items, then how many more.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::model::text::listed(self.0, self.1))
    }
}

/// A fact of the source tenant that a plan checks against the destination's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// The platform version.
    PlatformVersion,
    /// The engine type.
    EngineType,
    /// The engine mode (single or multi).
    EngineMode,
    /// The engine's cluster.
    Cluster,
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fact::PlatformVersion => "platform version",
            Fact::EngineType => "engine type",
            Fact::EngineMode => "engine mode",
            Fact::Cluster => "cluster",
        })
    }
}

/// A fact that differs between the repository's source tenant and the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Which fact.
    pub fact: Fact,
    /// Its value in the repository's `ferry.toml`.
    pub repository: String,
    /// Its value in the destination.
    pub destination: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {} in the repository but {} in the destination",
            self.fact, self.repository, self.destination
        )
    }
}

/// A reference of a desired object that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// It names an address that is neither desired nor in the destination.
    Missing {
        /// The referring object.
        address: String,
        /// The address it names.
        target: String,
        /// The field.
        pointer: String,
    },
    /// It is not a usable reference (not an address, or of a kind the field does not take).
    Invalid {
        /// The referring object.
        address: String,
        /// The field.
        pointer: String,
        /// What is wrong, as the reference check words it (naming the field).
        problem: String,
    },
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::Missing {
                address,
                target,
                pointer,
            } => write!(
                f,
                "{address} refers to {target} at {pointer}, which is neither desired nor in the destination"
            ),
            Unresolved::Invalid {
                address, problem, ..
            } => write!(f, "{address}: {problem}"),
        }
    }
}

/// A desired object whose address another destination object holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The address.
    pub address: String,
    /// The GUID of the destination's object there.
    pub holder: Uuid,
    /// The desired object's GUID.
    pub desired: Uuid,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the destination has another object at this address (GUID {}, desired {})",
            self.address, self.holder, self.desired
        )
    }
}

/// A chosen object's reference to one the selection leaves out and the destination lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideReference {
    /// The chosen object.
    pub address: String,
    /// The object it refers to.
    pub target: String,
    /// The field.
    pub pointer: String,
}

impl fmt::Display for OutsideReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} refers to {} at {}, which is not selected and not in the destination",
            self.address, self.target, self.pointer
        )
    }
}

/// A delete that an object which stays still depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedDelete {
    /// The object that would be deleted.
    pub address: String,
    /// What refers to it.
    pub by: Referrer,
}

/// What refers to an object that would be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referrer {
    /// A desired object, at this field.
    Desired {
        /// Its address.
        address: String,
        /// The field.
        pointer: String,
    },
    /// A destination object ferry does not manage (its address, when the destination has it).
    Unmanaged {
        /// Its address.
        address: Option<String>,
    },
}

impl fmt::Display for BlockedDelete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cannot be deleted: ", self.address)?;
        match &self.by {
            Referrer::Desired { address, pointer } => {
                write!(f, "{address} (desired) refers to it at {pointer}")
            }
            Referrer::Unmanaged { address } => write!(
                f,
                "{} (not managed by ferry) refers to it",
                address.as_deref().unwrap_or("an object")
            ),
        }
    }
}

/// A field the plan would change that the kind declares immutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImmutableChange {
    /// The object.
    pub address: String,
    /// Its kind.
    pub kind: String,
    /// The field (a concrete pointer from the document root, `/spec/…`).
    pub pointer: String,
    /// Its value in the destination (`None`: absent).
    pub old: Option<Value>,
    /// Its desired value (`None`: absent).
    pub new: Option<Value>,
}

impl fmt::Display for ImmutableChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.pointer.strip_prefix("/spec/").unwrap_or(&self.pointer);
        let value = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
        write!(
            f,
            "{}: {field} cannot change ({} → {}); create a new {} instead",
            self.address,
            value(&self.old),
            value(&self.new),
            self.kind.replace('_', " ")
        )
    }
}

/// Sorts problems by their message and drops repeats: the order people read them in.
pub(super) fn by_message<T: fmt::Display + PartialEq>(mut problems: Vec<T>) -> Vec<T> {
    problems.sort_by_cached_key(ToString::to_string);
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(e: PlanError) -> String {
        e.to_string()
    }

    #[test]
    fn messages_render_from_the_data() {
        let mismatch = |fact, a: &str, b: &str| Mismatch {
            fact,
            repository: a.into(),
            destination: b.into(),
        };
        assert_eq!(
            text(PlanError::Prerequisite {
                tenant: crate::store::TenantUrl::parse("sqlite:prod.db").unwrap(),
                mismatches: vec![
                    mismatch(Fact::EngineMode, "single", "multi"),
                    mismatch(Fact::Cluster, "c1", "c2"),
                ],
            }),
            "the destination sqlite:prod.db does not match the repository's source tenant: \
             engine mode is single in the repository but multi in the destination; \
             cluster is c1 in the repository but c2 in the destination"
        );
        assert_eq!(
            text(PlanError::Unresolved(vec![
                Unresolved::Missing {
                    address: "project/sales".into(),
                    target: "compute_source/mc".into(),
                    pointer: "/spec/compute_sources/0".into(),
                },
                Unresolved::Invalid {
                    address: "project/sales".into(),
                    pointer: "/spec/data_segment".into(),
                    problem: "/spec/data_segment: not an address".into(),
                },
            ])),
            "project/sales refers to compute_source/mc at /spec/compute_sources/0, which is neither desired nor in the destination\n\
             project/sales: /spec/data_segment: not an address"
        );
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(
            text(PlanError::Conflict(vec![Conflict {
                address: "project/sales".into(),
                holder: a,
                desired: b,
            }])),
            format!("project/sales: the destination has another object at this address (GUID {a}, desired {b})")
        );
        assert_eq!(
            text(PlanError::Cycle(vec![
                vec![
                    Address::parse("project/a").unwrap(),
                    Address::parse("project/b").unwrap(),
                    Address::parse("project/a").unwrap(),
                ],
                vec![
                    Address::parse("project/c").unwrap(),
                    Address::parse("project/c").unwrap(),
                ],
            ])),
            "dependency cycle: project/a → project/b → project/a\n\
             dependency cycle: project/c → project/c"
        );
        assert_eq!(
            text(PlanError::BlockedDelete(vec![
                BlockedDelete {
                    address: "data_segment/retail".into(),
                    by: Referrer::Desired {
                        address: "project/sales".into(),
                        pointer: "/spec/data_segment".into(),
                    },
                },
                BlockedDelete {
                    address: "data_segment/retail".into(),
                    by: Referrer::Unmanaged { address: None },
                },
            ])),
            "data_segment/retail cannot be deleted: project/sales (desired) refers to it at /spec/data_segment\n\
             data_segment/retail cannot be deleted: an object (not managed by ferry) refers to it"
        );
        assert_eq!(
            text(PlanError::Drift(vec![
                "project/a".into(),
                "project/b".into()
            ])),
            "2 object(s) changed outside ferry: project/a, project/b"
        );
        assert_eq!(
            text(PlanError::Immutable(vec![
                ImmutableChange {
                    address: "data_source_type/pos".into(),
                    kind: "data_source_type".into(),
                    pointer: "/spec/type_code".into(),
                    old: Some(json!("POS_V3")),
                    new: Some(json!("POS_V4")),
                },
                ImmutableChange {
                    address: "gadget/g".into(),
                    kind: "gadget".into(),
                    pointer: "/spec/parts/1/id".into(),
                    old: Some(json!(7)),
                    new: None,
                },
            ])),
            "data_source_type/pos: type_code cannot change (\"POS_V3\" → \"POS_V4\"); create a new data source type instead\n\
             gadget/g: parts/1/id cannot change (7 → ); create a new gadget instead"
        );
    }

    #[test]
    fn problems_are_ordered_by_their_message() {
        let outside = |address: &str, target: &str| OutsideReference {
            address: address.into(),
            target: target.into(),
            pointer: "/spec/x".into(),
        };
        // "a/b c refers …" sorts before "a/b refers …" as text.
        let sorted = by_message(vec![
            outside("a/b", "t/1"),
            outside("a/b c", "t/1"),
            outside("a/b", "t/1"),
        ]);
        assert_eq!(sorted, [outside("a/b c", "t/1"), outside("a/b", "t/1")]);
    }
}
