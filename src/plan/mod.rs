//! The plan: the ordered changes that turn a destination tenant's objects (actual) into a
//! repository's objects at a commit (desired).
//!
//! [`build`] is pure over its inputs: the desired objects, the destination's objects and what
//! ferry last applied to each, and the options. It matches objects by GUID; finds creates,
//! updates (with field diffs), renames, deletes (only of objects ferry applied, and only with
//! `prune`), adoptions and conflicts; marks drift; checks the domain's prerequisites; orders the
//! changes in waves over the dependency graph, deletes last and dependents first; and counts the
//! blast radius of every change. The same inputs give the same plan, byte for byte.

mod blast;
pub mod build;
mod checks;
mod deletes;
mod drift;
pub mod error;
pub mod file;
pub mod guards;
mod index;
mod matching;
mod prepare;
mod risks;
mod waves;

pub use crate::desired::PlanSource;
pub use build::{build, Actual, Applied, Desired, DesiredObject, Options, PlanError};

use serde::{Deserialize, Serialize};

/// The plan file format this ferry writes and reads.
pub const PLAN_FORMAT: u32 = 2;

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new object.
    Create,
    /// The destination's object at the same address, made ferry's (takes the desired GUID), then
    /// updated.
    Adopt,
    /// Same GUID, new address (may also change fields).
    Rename,
    /// Same GUID and address, other fields.
    Update,
    /// An object ferry applied earlier that is no longer desired.
    Delete,
}

impl Action {
    /// The word shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Adopt => "adopt",
            Action::Rename => "rename",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

pub use crate::model::field_diff::FieldChange;

/// One object the plan changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What happens.
    pub action: Action,
    /// The object's GUID (the desired one for adoptions).
    pub guid: uuid::Uuid,
    /// Its kind.
    pub kind: String,
    /// Its category.
    pub category: String,
    /// Its address after the change (before, for deletes).
    pub address: String,
    /// Its address before a rename or adoption's GUID change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_address: Option<String>,
    /// For adoptions: the GUID the destination's object had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_guid: Option<uuid::Uuid>,
    /// The wave it runs in: 1 first; deletes come after every create and update.
    pub wave: usize,
    /// The fields that change: for a create every field of the new object (old absent), for an
    /// update, rename or adoption those that differ; empty for deletes.
    pub fields: Vec<FieldChange>,
    /// The destination's content hash when planned (absent for creates): apply refuses the plan
    /// when it has changed since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_hash: Option<String>,
    /// The content hash it will have (absent for deletes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_hash: Option<String>,
    /// Whether the destination's object was changed outside ferry since ferry last applied it.
    pub drifted: bool,
    /// Destination objects that depend on this one, transitively (updates, renames, deletes):
    /// the first [`build::BLAST_RADIUS_SHOWN`] by address.
    pub blast_radius: Vec<String>,
    /// How many destination objects depend on this one, transitively.
    pub blast_radius_total: usize,
    /// Warnings the apply will carry (`succeeded_with_risks`).
    pub risks: Vec<String>,
}

/// A destination object changed outside ferry, whatever the plan does with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Its address.
    pub address: String,
    /// Its GUID.
    pub guid: uuid::Uuid,
    /// The fields that differ from what ferry last applied.
    pub fields: Vec<FieldChange>,
    /// Deleted outside ferry: ferry applied it, and the destination no longer has it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format_version: u32,
    /// The ferry version that made it.
    pub ferry_version: String,
    /// Where the desired objects came from.
    pub source: PlanSource,
    /// The destination.
    pub destination: Destination,
    /// The changes in order: waves ascending, then address; deletes last.
    pub changes: Vec<Change>,
    /// Objects changed outside ferry.
    pub drift: Vec<Drift>,
    /// Desired objects that need no change.
    pub unchanged: usize,
    /// Destination objects ferry never applied and does not desire: left alone.
    pub unmanaged: usize,
    /// Destination objects ferry applied that are no longer desired, kept because `prune` was
    /// not given.
    pub not_pruned: Vec<String>,
    /// Warnings about the whole plan (e.g. a cluster mismatch accepted).
    pub warnings: Vec<String>,
    /// Dependencies among the changed objects: (dependent, dependency), sorted.
    pub edges: Vec<(String, String)>,
    /// Desired objects with changes that `--select`/`--exclude` left out of this plan.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// What the plan was made with: `apply PLAN` makes it again from these, the source commit
    /// and the destination, and refuses a file that differs.
    pub made_with: MadeWith,
    /// The environment whose overlay the desired objects have (`--env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<PlanEnvironment>,
    /// The secrets the environment supplies to the planned objects, which the apply sets from
    /// their sources (never a value), by address then pointer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<PlannedSecret>,
}

/// A secret the apply sets: where its value comes from, and what the plan could tell of it
/// without showing it.
///
/// The apply sets every planned secret from its source, whatever its status: the status is
/// what the plan knew when it was made. A secret that is `changed` or `new` counts as a change
/// of the plan even when its object is otherwise unchanged (the apply then sets the secret
/// alone). `available`, `status` and `fingerprint` depend on where the plan is made (a
/// pull-request job holds no production secrets), so `apply PLAN` does not compare them,
/// except that a value the plan saw (a `fingerprint`) must still be the value found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSecret {
    /// The object's address.
    pub address: String,
    /// Its GUID.
    pub guid: uuid::Uuid,
    /// The field as the environment file names it
    /// (`/spec/config_files[file_name=krb5.conf]/content`).
    pub field: String,
    /// The concrete pointer in the desired object (`/spec/config_files/1/content`).
    pub pointer: String,
    /// Where the value comes from: a variable's name or a file's path, never the value.
    pub source: crate::desired::environment::SecretFrom,
    /// The environment file's line that says so (`environments/prod.toml:20`).
    pub by: String,
    /// Whether the source had a value where the plan was made.
    pub available: bool,
    /// What the apply does to the destination's value.
    pub status: SecretStatus,
    /// The value's fingerprint, keyed by the destination's own salt, when it was available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// What a planned secret does to the destination's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStatus {
    /// The destination has no value for the field.
    New,
    /// The source's value differs from the destination's.
    Changed,
    /// The source's value is the destination's.
    Unchanged,
    /// The destination has a value, and the source has none where the plan was made.
    NotChecked,
}

impl SecretStatus {
    /// The words shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretStatus::New => "new",
            SecretStatus::Changed => "changed",
            SecretStatus::Unchanged => "unchanged",
            SecretStatus::NotChecked => "not checked",
        }
    }

    /// Whether the apply changes the destination's value.
    pub fn sets(self) -> bool {
        matches!(self, SecretStatus::New | SecretStatus::Changed)
    }
}

/// The environment a plan was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEnvironment {
    /// Its name (`prod`).
    pub name: String,
    /// Its file (`environments/prod.toml`).
    pub file: String,
    /// blake3 of the file at the plan's commit.
    pub digest: String,
    /// How many fields its overrides set, over every desired object.
    pub overrides: usize,
    /// On how many objects.
    pub objects_overridden: usize,
}

/// The options and selection a plan was made with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeWith {
    /// The plan options.
    pub options: Options,
    /// `--select`.
    pub select: Option<String>,
    /// `--exclude`.
    pub exclude: Option<String>,
    /// For a rollback plan: the deployment it goes back to (whose commit is the plan's source).
    #[serde(default)]
    pub rollback_of: Option<String>,
    /// `--env`: the environment whose overlay the plan's desired objects have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// `--allow-deletes M`: how many deletes the deletion guards allow ([`guards`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_deletes: Option<usize>,
}

/// The destination's identity when planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// Its URL.
    pub url: crate::store::TenantUrl,
    /// Its name.
    pub name: String,
    /// A fingerprint of its objects: blake3 over every (GUID, hash) pair in GUID order.
    pub fingerprint: String,
    /// Its platform version, engine, engine mode and cluster when planned: apply refuses the
    /// plan if they changed since.
    pub facts: crate::store::Facts,
}

impl Plan {
    /// Whether the plan changes anything: an object, or a secret's value (`new` or `changed`;
    /// a secret `not checked` is not counted, or every plan made without the values would
    /// have changes).
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || self.secrets.iter().any(|s| s.status.sets())
    }

    /// How many secrets' values the apply changes (`new` or `changed`).
    pub fn secrets_to_set(&self) -> usize {
        self.secrets.iter().filter(|s| s.status.sets()).count()
    }

    /// Whether the plan deletes anything.
    pub fn has_deletes(&self) -> bool {
        self.changes.iter().any(|c| c.action == Action::Delete)
    }

    /// Counts per action.
    pub fn counts(&self) -> std::collections::BTreeMap<Action, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for c in &self.changes {
            *counts.entry(c.action).or_default() += 1;
        }
        counts
    }
}

/// A plan of `changes` to a tenant `prod`, for tests of what reads plans.
#[cfg(test)]
pub(crate) fn test_plan(changes: Vec<Change>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT,
        ferry_version: "0".into(),
        source: PlanSource {
            kind: "git".into(),
            repository: None,
            revision: None,
            id: "0".repeat(40),
        },
        destination: Destination {
            url: crate::store::TenantUrl::parse("sqlite:prod.db").unwrap(),
            name: "prod".into(),
            fingerprint: "f".repeat(64),
            facts: crate::store::Facts {
                name: "prod".into(),
                platform_version: "4.5.0".into(),
                engine: "maxcompute".into(),
                engine_mode: "single".into(),
                cluster: "c1".into(),
            },
        },
        changes,
        drift: Vec::new(),
        unchanged: 0,
        unmanaged: 0,
        not_pruned: Vec::new(),
        warnings: Vec::new(),
        edges: Vec::new(),
        skipped: Vec::new(),
        made_with: MadeWith::default(),
        environment: None,
        secrets: Vec::new(),
    }
}
