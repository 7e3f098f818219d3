//! Tenant stores: where objects live. The [`Tenant`] trait is what export, plan and apply use;
//! [`sqlite`] is its reference implementation (the embedded default, `sqlite:PATH`) and
//! [`postgres`] the networked one (`postgres://…`); both pass one conformance suite
//! (`conformance.rs`). A [`TenantUrl`] names a tenant (`url.rs`); [`open`] and [`create`] pick
//! the implementation.
//!
//! A store keeps each object's body with references as GUIDs (so a rename touches one row), its
//! content hash ([`crate::model::hash`]), a version counter and who changed it when; secret
//! values apart from bodies; the maintenance lock; deployments; imported packages; and what ferry
//! last applied to each object, for drift detection. The values it takes and returns are defined
//! in `types.rs` and its errors in `error.rs`, both re-exported here.

pub mod actual;
pub mod copy;
mod error;
pub mod postgres;
pub mod sqlite;
mod types;
mod url;

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::secret::Secret;

pub use error::StoreError;
pub use types::{
    address_of, Actor, AppliedRecord, Change, Content, Deleted, Deployment, DeploymentResult,
    Drifted, Facts, Filter, Lease, Lock, Managed, NewObject, ObjectKey, Outcome, PackageObject,
    PackageSummary, Settings, StoredObject, StoredPackage, Written,
};
pub use url::{Password, PostgresUrl, TenantUrl, UrlProblem};

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

/// The test-only pause between the changes of a batch write, in milliseconds (0: none).
static FAULT_WRITE_DELAY_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Testing only: makes every batch write pause this long between its changes, so a test can
/// kill or interrupt a writer in the middle of a batch (the binary sets it from
/// `FERRY_FAULT_WRITE_DELAY_MS`).
pub fn set_fault_write_delay(delay: Option<std::time::Duration>) {
    let ms = delay.map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64);
    FAULT_WRITE_DELAY_MS.store(ms, std::sync::atomic::Ordering::SeqCst);
}

/// The pause [`set_fault_write_delay`] asked for.
pub fn fault_write_delay() -> Option<std::time::Duration> {
    match FAULT_WRITE_DELAY_MS.load(std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        ms => Some(std::time::Duration::from_millis(ms)),
    }
}

/// The fingerprint of a tenant's objects: blake3 over every (GUID, content hash) pair, in GUID
/// order. A plan records it ([`crate::plan::Destination::fingerprint`]) and a store's
/// [`Tenant::apply`] compares it inside its write transaction, so that a second writer between
/// the plan and the apply is never overwritten silently.
pub fn fingerprint<'a>(pairs: impl IntoIterator<Item = (Uuid, &'a str)>) -> String {
    let mut pairs: Vec<(Uuid, &str)> = pairs.into_iter().collect();
    pairs.sort_unstable();
    let mut hasher = blake3::Hasher::new();
    for (guid, hash) in pairs {
        hasher.update(guid.as_bytes());
        hasher.update(hash.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// Opens an existing tenant.
pub fn open(url: &TenantUrl) -> Result<Box<dyn Tenant>, StoreError> {
    match url {
        TenantUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteTenant::open(path)?)),
        TenantUrl::Postgres(pg) => Ok(Box::new(postgres::PgTenant::open(url, pg)?)),
    }
}

/// Creates a new tenant; refuses to overwrite one.
pub fn create(url: &TenantUrl, facts: &Facts, now: &str) -> Result<Box<dyn Tenant>, StoreError> {
    match url {
        TenantUrl::Sqlite(path) => Ok(Box::new(sqlite::SqliteTenant::create(path, facts, now)?)),
        TenantUrl::Postgres(pg) => Ok(Box::new(postgres::PgTenant::create(url, pg, facts, now)?)),
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
    /// The tenant's own random salt, made with it: it keys the fingerprints of secret values
    /// that plans record ([`Secret::tenant_fingerprint`]). Never shown.
    fn fingerprint_salt(&self) -> Result<Secret, StoreError>;
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
    /// records, and the deployment record. All or nothing. Inside that transaction, before any
    /// write, the tenant's [`fingerprint`] must still be `expected` (what the plan saw);
    /// otherwise [`StoreError::ChangedSincePlan`] names the last writer and nothing is written.
    fn apply(
        &mut self,
        expected: &str,
        batch: &[Change],
        applied: &[AppliedRecord],
        deployment: &Deployment,
        actor: &Actor,
    ) -> Result<Vec<Written>, StoreError>;
    /// The lock, if one is held and has not expired at `now`.
    fn lock(&self, now: &str) -> Result<Option<Lock>, StoreError>;
    /// Takes or renews the lock for `holder` until `expires_at`; an expired lock is taken over.
    /// `lease` names the process that keeps it renewed (its `renewed_at` is `now`), for an apply
    /// run's lock; `None` for a lock taken by hand. A renewal keeps the time it was first taken.
    fn acquire_lock(
        &mut self,
        holder: &str,
        purpose: &str,
        now: &str,
        expires_at: &str,
        lease: Option<&Lease>,
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
    /// Every deployment's id, newest first.
    fn deployment_ids(&self) -> Result<Vec<String>, StoreError>;
    /// The newest succeeded deployment: its id and source (the commit it applied).
    fn last_applied(&self) -> Result<Option<(String, String)>, StoreError>;
    /// The newest succeeded deployment whose revision had this [`Content`], with its results.
    fn applied_content(&self, content: &Content) -> Result<Option<Deployment>, StoreError>;
    /// The newest succeeded deployment that applied the plan with this hash: its id and start.
    fn applied_plan(&self, plan_hash: &str) -> Result<Option<(String, String)>, StoreError>;
    /// The objects ferry manages, and the drifted ones (one query).
    fn managed(&self) -> Result<Managed, StoreError>;
    /// Keeps a package and its objects (each `pending`), and removes, in the same transaction,
    /// the packages imported before `expired_before` (the retention setting); returns those
    /// removed.
    fn store_package(
        &mut self,
        package: &StoredPackage,
        expired_before: &str,
    ) -> Result<Vec<PackageSummary>, StoreError>;
    /// The packages kept, newest import first.
    fn packages(&self) -> Result<Vec<PackageSummary>, StoreError>;
    /// One kept package with its bytes and objects.
    fn package(&self, id: &str) -> Result<Option<StoredPackage>, StoreError>;
    /// Every row of one of the tables a copy carries ([`copy::TABLES`]), in its order.
    fn table_rows(&self, table: &copy::Table) -> Result<copy::Rows, StoreError>;
    /// Replaces every table a copy carries with `rows` (one per [`copy::TABLES`] entry), in one
    /// transaction; for `ferry tenant copy` into a tenant that holds nothing.
    fn load_tables(&mut self, rows: &[copy::Rows]) -> Result<(), StoreError>;
    /// Sets the deployment status, deployment and message of the objects of package `id` named
    /// by GUID in `objects` (their other fields are not read), in one transaction.
    fn set_package_statuses(
        &mut self,
        id: &str,
        objects: &[PackageObject],
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod conformance;
