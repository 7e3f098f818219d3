//! Tenant stores: where objects live. The [`Tenant`] trait is what export, plan and apply use;
//! [`sqlite`] is its reference implementation (the embedded default, `sqlite:PATH`).
//!
//! A store keeps each object's body with references as GUIDs (so a rename touches one row), its
//! content hash ([`crate::model::hash`]), a version counter and who changed it when; secret
//! values apart from bodies; the maintenance lock; deployments; imported packages; and what ferry
//! last applied to each object, for drift detection.

pub mod actual;
pub mod sqlite;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::secret::Secret;

/// How a command names a tenant.
#[derive(Clone, PartialEq, Eq)]
pub enum TenantUrl {
    /// `sqlite:PATH`: the embedded store in one SQLite file.
    Sqlite(PathBuf),
}

impl TenantUrl {
    /// Parses `sqlite:PATH`.
    pub fn parse(text: &str) -> Result<TenantUrl, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::BadUrl {
                    url: text.to_string(),
                    why: "the path is empty".into(),
                });
            }
            return Ok(TenantUrl::Sqlite(PathBuf::from(path)));
        }
        let scheme = text.split(':').next().unwrap_or_default();
        Err(StoreError::BadUrl {
            // A URL of another scheme may carry a password: show only its scheme.
            url: if text.contains(':') {
                format!("{scheme}:…")
            } else {
                text.to_string()
            },
            why: "ferry knows `sqlite:PATH` tenants".into(),
        })
    }

    /// The same tenant named so that it means the same from any folder: a relative `sqlite:`
    /// path made absolute.
    pub fn absolute(&self) -> TenantUrl {
        match self {
            // The tenant file exists (it was just opened): canonicalize resolves `..` and links.
            TenantUrl::Sqlite(path) if path.is_relative() => TenantUrl::Sqlite(
                path.canonicalize()
                    .or_else(|_| std::path::absolute(path))
                    .unwrap_or_else(|_| path.clone()),
            ),
            other => other.clone(),
        }
    }
}

impl fmt::Display for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
        }
    }
}

impl fmt::Debug for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Set when the process is asked to stop (Ctrl-C, SIGTERM). Process-wide, as signals are.
static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks every write in progress to stop: it stops before its next change (or before its commit)
/// with [`StoreError::Cancelled`] and rolls back. Safe to call from a signal handler's thread.
pub fn cancel() {
    CANCELLED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`cancel`] was called.
pub fn cancelled() -> bool {
    CANCELLED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Opens an existing tenant.
pub fn open(url: &TenantUrl) -> Result<Box<dyn Tenant>, StoreError> {
    match url {
        TenantUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteTenant::open(path)?)),
    }
}

/// Creates a new tenant; refuses to overwrite one.
pub fn create(url: &TenantUrl, facts: &Facts, now: &str) -> Result<Box<dyn Tenant>, StoreError> {
    match url {
        TenantUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteTenant::create(path, facts, now)?)),
    }
}

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

/// A package kept in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPackage {
    /// blake3 of the package file.
    pub hash: String,
    /// File name.
    pub name: String,
    /// When imported (RFC 3339, UTC).
    pub imported_at: String,
    /// When it may be dropped (RFC 3339, UTC).
    pub expires_at: String,
    /// The manifest, as JSON text.
    pub manifest: String,
    /// The package file.
    pub content: Vec<u8>,
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

/// A tenant store.
pub trait Tenant {
    /// The URL it was opened from.
    fn url(&self) -> &TenantUrl;
    /// Its facts.
    fn facts(&self) -> Result<Facts, StoreError>;
    /// Its settings.
    fn settings(&self) -> Result<Settings, StoreError>;
    /// Changes settings (`None` keeps a value).
    fn update_settings(
        &mut self,
        retention_days: Option<u32>,
        credential_fingerprint: Option<String>,
        actor: &Actor,
    ) -> Result<Settings, StoreError>;
    /// Calls `each` for every object matching `filter`, sorted by address, in one pass.
    fn for_each_object(
        &self,
        filter: &Filter,
        each: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// One object.
    fn object(&self, key: &ObjectKey) -> Result<Option<StoredObject>, StoreError>;
    /// GUID → current address for the given GUIDs (missing ones are absent), in one query.
    fn addresses(&self, guids: &[Uuid]) -> Result<BTreeMap<Uuid, String>, StoreError>;
    /// Address → GUID for the given addresses (missing ones are absent).
    fn guids(&self, addresses: &[String]) -> Result<BTreeMap<String, Uuid>, StoreError>;
    /// Every object's GUID and address, in one query.
    fn address_index(&self) -> Result<std::collections::HashMap<Uuid, String>, StoreError>;
    /// Objects deleted (and not recreated) with a change time in the filter's window.
    fn deleted(&self, filter: &Filter) -> Result<Vec<Deleted>, StoreError>;
    /// The secret values of one object: (pointer, value), sorted by pointer.
    fn secrets(&self, guid: Uuid) -> Result<Vec<(String, Secret)>, StoreError>;
    /// Object counts per kind.
    fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError>;
    /// Applies a batch in one transaction: all or nothing. Fails at once when another holder
    /// has the maintenance lock, when an address is taken by another object, or when a deleted
    /// object is still referenced.
    fn write(&mut self, batch: &[Change], actor: &Actor) -> Result<Vec<Written>, StoreError>;
    /// What ferry last applied, by GUID, in one query.
    fn applied(&self) -> Result<std::collections::HashMap<Uuid, AppliedRecord>, StoreError>;
    /// Every object without its body (`spec` empty, no secret fields), by address, in one
    /// query: what a plan needs of the objects it does not change.
    fn object_index(&self) -> Result<Vec<StoredObject>, StoreError>;
    /// What ferry last applied, by GUID, without the bodies (`body` empty).
    fn applied_index(&self) -> Result<std::collections::HashMap<Uuid, AppliedRecord>, StoreError>;
    /// Every reference between objects as (referring GUID, referenced GUID), a project's
    /// members included, in one query, in no particular order (a pair repeats when one object
    /// refers to another from two fields).
    fn reference_edges(&self) -> Result<Vec<(Uuid, Uuid)>, StoreError>;
    /// The references from or to the given objects (`from` picks the side), as
    /// (referring GUID, referenced GUID): one indexed query per object, for a plan that needs
    /// the neighbourhood of a few changed objects, not every reference of the tenant.
    fn references_of(&self, guids: &[Uuid], from: bool) -> Result<Vec<(Uuid, Uuid)>, StoreError>;
    /// Applies a deployment in one transaction: the batch (as [`Tenant::write`]), the applied
    /// records, and the deployment record. All or nothing.
    fn apply(
        &mut self,
        batch: &[Change],
        applied: &[AppliedRecord],
        deployment: &Deployment,
        actor: &Actor,
    ) -> Result<Vec<Written>, StoreError>;
    /// The lock, if one is held and has not expired at `now`.
    fn lock(&self, now: &str) -> Result<Option<Lock>, StoreError>;
    /// Takes or renews the lock for `holder` until `expires_at`; an expired lock is taken over.
    fn acquire_lock(
        &mut self,
        holder: &str,
        purpose: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<Lock, StoreError>;
    /// Releases the lock held by `holder` (any holder's with `force`); returns what was released.
    fn release_lock(
        &mut self,
        holder: &str,
        force: bool,
        now: &str,
    ) -> Result<Option<Lock>, StoreError>;
    /// Records (or updates) a deployment and its results.
    fn record_deployment(&mut self, deployment: &Deployment) -> Result<(), StoreError>;
    /// The latest deployments, newest first.
    fn deployments(&self, limit: usize) -> Result<Vec<Deployment>, StoreError>;
    /// One deployment with its results.
    fn deployment(&self, id: &str) -> Result<Option<Deployment>, StoreError>;
    /// The objects ferry manages, and the drifted ones (one query).
    fn managed(&self) -> Result<Managed, StoreError>;
    /// Keeps a package.
    fn store_package(&mut self, package: &StoredPackage) -> Result<(), StoreError>;
    /// Hashes and names of the packages kept, newest first.
    fn packages(&self) -> Result<Vec<(String, String, String)>, StoreError>;
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not a tenant URL.
    #[error("`{url}` is not a tenant URL: {why}")]
    BadUrl {
        /// The URL (credentials removed).
        url: String,
        /// Why.
        why: String,
    },
    /// No tenant at the path.
    #[error("no tenant at {path}")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// The folder of a new tenant does not exist.
    #[error("cannot create a tenant at {path}: folder {folder} does not exist")]
    NoFolder {
        /// The path.
        path: PathBuf,
        /// The missing folder.
        folder: PathBuf,
    },
    /// A tenant already exists there.
    #[error("a file already exists at {path}; ferry does not overwrite it")]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// The file is not a SQLite database.
    #[error("{path} is not a SQLite database")]
    NotSqlite {
        /// The path.
        path: PathBuf,
    },
    /// A SQLite database without ferry's tables.
    #[error("{path} is a SQLite database but not a ferry tenant")]
    NotTenant {
        /// The path.
        path: PathBuf,
    },
    /// Made by a newer ferry.
    #[error("{path} has store schema version {found}; this ferry knows up to {known}")]
    TooNew {
        /// The path.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// The newest this ferry knows.
        known: i64,
    },
    /// Cannot write the file.
    #[error("{path} is read-only")]
    ReadOnly {
        /// The path.
        path: PathBuf,
    },
    /// Another holder has the lock.
    #[error("tenant {tenant} is locked by {holder} for `{purpose}` until {expires_at}")]
    Locked {
        /// The tenant URL.
        tenant: String,
        /// The holder.
        holder: String,
        /// Why they hold it.
        purpose: String,
        /// When it lapses.
        expires_at: String,
    },
    /// The lock is held by someone else and `force` was not given.
    #[error("tenant {tenant} is locked by {holder}, not by you ({me})")]
    NotHolder {
        /// The tenant URL.
        tenant: String,
        /// The holder.
        holder: String,
        /// Who asked.
        me: String,
    },
    /// Another object has the address.
    #[error("address {address} is already used by object {guid}")]
    AddressTaken {
        /// The address.
        address: String,
        /// The object that has it.
        guid: Uuid,
    },
    /// A deleted object is still referenced.
    #[error("{address} cannot be deleted: {dependent} refers to it")]
    StillReferenced {
        /// The object.
        address: String,
        /// One object that refers to it.
        dependent: String,
    },
    /// A reference to an object that is not in the tenant.
    #[error("{address} refers to {guid} at {pointer}, which is not in the tenant")]
    DanglingReference {
        /// The referring object.
        address: String,
        /// The field.
        pointer: String,
        /// The missing GUID.
        guid: Uuid,
    },
    /// A deleted object does not exist.
    #[error("no object {guid} to delete")]
    NoSuchObject {
        /// The GUID.
        guid: Uuid,
    },
    /// A database failure while writing one object of a batch; nothing was written.
    #[error("writing {address}: {message}")]
    WriteFailed {
        /// The object's GUID.
        guid: Uuid,
        /// Its address (its GUID for deletes and adoptions).
        address: String,
        /// What the database said.
        message: String,
    },
    /// The write was stopped by [`cancel`] and rolled back.
    #[error("interrupted: the write was stopped and nothing was written")]
    Cancelled,
    /// Any other database failure.
    #[error("tenant {path}: {action}: {message}")]
    Database {
        /// The path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// What SQLite said.
        message: String,
    },
    /// A stored body that cannot be read back.
    #[error("tenant {path}: object {guid} has a damaged body: {message}")]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// The object.
        guid: String,
        /// What is wrong.
        message: String,
    },
}
