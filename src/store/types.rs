//! The values a store keeps and returns: tenant facts and settings, objects as stored and as
//! written, batches of changes and what they did, the maintenance lock and its lease, deployment records,
//! packages, list filters. Plain data shared by every [`super::Tenant`] implementation; the one
//! rule kept here is when a lock is live ([`Lock::live_at`]).

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::secret::Secret;

/// What a tenant is: the facts a deployment must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Facts {
    /// Tenant name.
    pub name: String,
    /// Platform version.
    pub platform_version: String,
    /// Compute engine type.
    pub engine: String,
    /// `single` or `multi`.
    pub engine_mode: String,
    /// Compute cluster id.
    pub cluster: String,
}

/// Tenant settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Days imported packages are kept.
    pub retention_days: u32,
    /// The keyed fingerprint of the deployment credential, if one is set.
    pub credential_fingerprint: Option<String>,
}

/// An object as a store keeps it: references as GUIDs, no secret values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredObject {
    /// Identity.
    pub guid: Uuid,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Project, for project-scoped kinds.
    pub project: Option<String>,
    /// Fields, with references as GUID strings and secret fields absent.
    pub spec: Map<String, Value>,
    /// Content hash ([`crate::model::hash::content_hash`]).
    pub hash: String,
    /// Bumped on every change.
    pub version: i64,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
    /// Who last changed it.
    pub updated_by: String,
    /// The secret fields that have a value (pointers), sorted.
    pub secret_fields: Vec<String>,
}

/// The address text of an object given by its parts.
pub fn address_of(kind: &str, project: Option<&str>, name: &str) -> String {
    crate::model::Address {
        kind: kind.to_string(),
        project: project.map(str::to_string),
        name: name.to_string(),
    }
    .to_string()
}

impl StoredObject {
    /// The object's address.
    pub fn address(&self) -> String {
        address_of(&self.kind, self.project.as_deref(), &self.name)
    }
}

/// An object to create or update: references already resolved to GUIDs, secrets split out.
#[derive(Debug, Clone, PartialEq)]
pub struct NewObject {
    /// Identity: an existing object with this GUID is updated (and renamed if its address
    /// changed); otherwise one is created.
    pub guid: Uuid,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Project.
    pub project: Option<String>,
    /// Fields with GUID references and no secrets.
    pub spec: Map<String, Value>,
    /// Content hash of the above.
    pub hash: String,
    /// Every reference: (field pointer, target GUID).
    pub references: Vec<(String, Uuid)>,
    /// Secret values to set: (field pointer, value). Fields not listed keep their value.
    pub secrets: Vec<(String, Secret)>,
}

impl NewObject {
    /// The object's address.
    pub fn address(&self) -> String {
        address_of(&self.kind, self.project.as_deref(), &self.name)
    }
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create, update or rename.
    Put(Box<NewObject>),
    /// Delete by GUID.
    Delete(Uuid),
    /// Give the object `from` the GUID `to` (adoption): its references, secrets and the bodies
    /// of the objects that refer to it follow.
    Adopt {
        /// The GUID it has.
        from: Uuid,
        /// The GUID it takes.
        to: Uuid,
    },
}

/// What ferry applied to one object: what drift detection and fast plans compare against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRecord {
    /// The object.
    pub guid: Uuid,
    /// Its content hash as applied.
    pub hash: String,
    /// Its spec as applied (GUID references, canonical JSON, no secrets).
    pub body: String,
    /// The git blob the object came from, when it came from a repository.
    pub blob_id: Option<String>,
}

/// What a batch did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new object.
    Created,
    /// Content or secrets changed.
    Updated,
    /// The address changed (and maybe the content).
    Renamed,
    /// Nothing changed.
    Unchanged,
    /// Removed.
    Deleted,
}

/// The result of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    /// The object's GUID.
    pub guid: Uuid,
    /// Its address after the change (before, for deletes).
    pub address: String,
    /// Its address before a rename.
    pub old_address: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Its version after the change.
    pub version: i64,
}

/// Who writes, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `user@host`, or what FERRY_ACTOR says; also the lock holder identity.
    pub name: String,
    /// Now (RFC 3339, UTC).
    pub now: String,
}

/// The maintenance lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    /// Who holds it.
    pub holder: String,
    /// Why.
    pub purpose: String,
    /// When it was taken (RFC 3339, UTC).
    pub acquired_at: String,
    /// When it lapses unless renewed (RFC 3339, UTC).
    pub expires_at: String,
    /// The process that keeps it renewed, for a lock an apply run holds; `None` for a lock taken
    /// by hand (`ferry tenant lock`), which lasts its whole time to live.
    pub lease: Option<Lease>,
}

/// Who keeps a lock renewed: the process of an apply run, and its last renewal. A process on
/// the same host that no longer exists holds nothing, whatever the expiry says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// The host the process runs on.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it last renewed the lock (RFC 3339, UTC).
    pub renewed_at: String,
}

impl Lock {
    /// Whether the lock still holds at `now` (RFC 3339, UTC): until the instant it expires,
    /// not at it. The one expiry rule: every store and every caller asks this.
    pub fn live_at(&self, now: &str) -> bool {
        // RFC 3339 UTC times of one format order as their text does.
        self.expires_at.as_str() > now
    }

    /// Whether the lock keeps `holder` out at `now`: it is live and someone else holds it.
    pub fn bars(&self, holder: &str, now: &str) -> bool {
        self.live_at(now) && self.holder != holder
    }
}

/// A deployment record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    /// Id (UUID v7).
    pub id: String,
    /// What was deployed: a commit id or a package hash.
    pub source: String,
    /// Hash of the plan that was applied.
    pub plan_hash: String,
    /// Who applied it.
    pub actor: String,
    /// Start (RFC 3339, UTC).
    pub started_at: String,
    /// End (RFC 3339, UTC).
    pub finished_at: Option<String>,
    /// `succeeded`, `failed`, `running`.
    pub status: String,
    /// Per-object results.
    pub results: Vec<DeploymentResult>,
    /// For a rollback: the deployment it went back to.
    pub rollback_of: Option<String>,
    /// What the deployed revision's objects were, for the promotion gate: `None` for a plan of
    /// part of a revision (`--select`, `--exclude`), a package, or a deployment recorded before
    /// ferry kept it.
    pub content: Option<Content>,
    /// `--skip-gate REASON`: why the promotion gate was not checked.
    pub skip_gate: Option<String>,
}

/// What a revision's objects are, as git names them ([`crate::repo::content`]): the tree id of
/// its `objects/` and a digest of its custom kind schemas (those the objects were validated and
/// applied with; ferry's built-in kinds are its own), the same in a merge commit with the same
/// objects. The environment files are left out: each destination's overlay differs from the
/// others' by design.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Content {
    /// The tree id of `objects/`.
    pub objects_tree: String,
    /// blake3 over the names and blob ids of its custom kind schemas; `None` without any.
    pub custom_kinds: Option<String>,
}

/// What a deployment did to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentResult {
    /// The object's GUID.
    pub guid: Uuid,
    /// Its address.
    pub address: String,
    /// `create`, `update`, `rename`, `delete`.
    pub action: String,
    /// `succeeded`, `failed`, `skipped`, `succeeded_with_risks`.
    pub status: String,
    /// Why it failed, or the risk it carried.
    pub message: Option<String>,
}

/// The objects ferry manages in a tenant (those it applied), and those of them changed outside
/// ferry since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Managed {
    /// Objects ferry applied that still exist.
    pub count: u64,
    /// Managed objects whose content hash differs from what ferry applied, or that were deleted
    /// outside ferry; sorted by address.
    pub drifted: Vec<Drifted>,
}

/// One managed object changed outside ferry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drifted {
    /// Its GUID.
    pub guid: Uuid,
    /// Its address (its last one, when deleted).
    pub address: String,
    /// `changed` or `deleted`.
    pub state: &'static str,
}

/// A package kept in the tenant (`ferry import`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPackage {
    /// Its id in the tenant.
    pub id: String,
    /// blake3 of the package file.
    pub hash: String,
    /// The file name it was imported from.
    pub name: String,
    /// `full`, `incremental` or `selection`.
    pub mode: String,
    /// When it was made (the manifest's `created_at`).
    pub created_at: String,
    /// When imported (RFC 3339, UTC).
    pub imported_at: String,
    /// Who imported it.
    pub imported_by: String,
    /// The manifest, as JSON text (the bytes the signature covers).
    pub manifest: String,
    /// The package file.
    pub content: Vec<u8>,
    /// Its objects and deletions, each with a deployment status.
    pub objects: Vec<PackageObject>,
}

/// One object of a kept package, with its deployment status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageObject {
    /// Its GUID.
    pub guid: uuid::Uuid,
    /// Its address (for a deletion, at the package's base).
    pub address: String,
    /// Its kind.
    pub kind: String,
    /// What the package does to it: `carried` (full and selection packages), `added`,
    /// `modified`, `renamed` or `deleted`.
    pub change: String,
    /// `pending`, `deploying`, `succeeded`, `failed` or `succeeded_with_risks`.
    pub status: String,
    /// The deployment that set the status.
    pub deployment_id: Option<String>,
    /// Why it failed, or the risk it carried.
    pub message: Option<String>,
}

/// A kept package without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageSummary {
    /// Its id.
    pub id: String,
    /// blake3 of the file.
    pub hash: String,
    /// The file name.
    pub name: String,
    /// Its mode.
    pub mode: String,
    /// When it was made.
    pub created_at: String,
    /// When it was imported.
    pub imported_at: String,
}

/// Which objects to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these kinds (all when empty).
    pub kinds: Vec<String>,
    /// Only objects with a change at or after this time (RFC 3339, UTC).
    pub changed_since: Option<String>,
    /// Only objects with a change before this time (RFC 3339, UTC).
    pub changed_until: Option<String>,
}

impl Filter {
    /// Whether the filter limits objects by change time.
    pub fn by_time(&self) -> bool {
        self.changed_since.is_some() || self.changed_until.is_some()
    }
}

/// An object deleted in a time window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deleted {
    /// Its GUID.
    pub guid: Uuid,
    /// Its address when it was deleted.
    pub address: String,
    /// Its kind.
    pub kind: String,
    /// When.
    pub deleted_at: String,
}

/// How to name one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKey {
    /// By GUID.
    Guid(Uuid),
    /// By address text.
    Address(String),
}

impl ObjectKey {
    /// A GUID if the text is one, else an address.
    pub fn parse(text: &str) -> ObjectKey {
        match Uuid::parse_str(text) {
            Ok(guid) => ObjectKey::Guid(guid),
            Err(_) => ObjectKey::Address(text.to_string()),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectKey::Guid(g) => write!(f, "{g}"),
            ObjectKey::Address(a) => f.write_str(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_holds_until_it_expires() {
        let lock = Lock {
            holder: "ann".into(),
            purpose: "deploy".into(),
            acquired_at: "2026-03-01T10:00:00Z".into(),
            expires_at: "2026-03-01T10:10:00Z".into(),
            lease: None,
        };
        assert!(lock.live_at("2026-03-01T10:09:59Z"));
        assert!(!lock.live_at("2026-03-01T10:10:00Z"));
        assert!(!lock.live_at("2026-03-01T11:00:00Z"));
        assert!(lock.bars("bob", "2026-03-01T10:05:00Z"));
        assert!(!lock.bars("ann", "2026-03-01T10:05:00Z"));
        assert!(!lock.bars("bob", "2026-03-01T10:10:00Z"));
    }
}
