//! [`StoreError`]: every way a store operation fails, with the path, URL, address or GUID it
//! concerns as fields.

use std::path::PathBuf;

use uuid::Uuid;

use super::{TenantUrl, UrlProblem};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Not a tenant URL.
    #[error("`{url}` is not a tenant URL: {why}")]
    BadUrl {
        /// The URL, or only its scheme when it may hold a password.
        url: String,
        /// Why.
        why: UrlProblem,
    },
    /// A PostgreSQL server could not be reached or refused the connection (or its settings).
    #[error("cannot connect to tenant {tenant}: {message}")]
    Connect {
        /// The tenant (its password is never shown).
        tenant: TenantUrl,
        /// Why (the server's or the driver's words, a password removed).
        message: String,
    },
    /// A PostgreSQL schema that is not a ferry tenant.
    #[error("schema {schema} of {tenant} is not a ferry tenant")]
    NoTenantSchema {
        /// The tenant.
        tenant: TenantUrl,
        /// The schema.
        schema: String,
    },
    /// `tenant init` of a PostgreSQL schema that already holds tables.
    #[error("schema {schema} of {tenant} already holds {}; ferry keeps its tables in a schema of its own", if *is_tenant { "a ferry tenant".to_string() } else { format!("other tables ({table})") })]
    SchemaInUse {
        /// The tenant.
        tenant: TenantUrl,
        /// The schema.
        schema: String,
        /// One table it holds.
        table: String,
        /// Whether what it holds is a ferry tenant already.
        is_tenant: bool,
    },
    /// A PostgreSQL tenant made by a newer ferry.
    #[error("tenant {tenant} has store schema version {found}; this ferry knows up to {known}")]
    TooNewSchema {
        /// The tenant.
        tenant: TenantUrl,
        /// Its version.
        found: i64,
        /// The newest this ferry knows.
        known: i64,
    },
    /// `tenant copy` into a tenant that holds something.
    #[error("tenant {tenant} is not empty: it holds {what}; ferry copies only into a new or empty tenant")]
    NotEmpty {
        /// The destination.
        tenant: TenantUrl,
        /// What it holds.
        what: String,
    },
    /// A copied table read back differs from the source's.
    #[error("the copy at {tenant} differs from the source in table {table}")]
    CopyDiffers {
        /// The destination.
        tenant: TenantUrl,
        /// The table.
        table: &'static str,
    },
    /// A PostgreSQL failure.
    #[error("tenant {tenant}: {action}: {message}")]
    Server {
        /// The tenant.
        tenant: TenantUrl,
        /// What was being done.
        action: &'static str,
        /// What the server said.
        message: String,
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
    /// Another process kept a write transaction open longer than the store waits for one.
    #[error("tenant {tenant} is busy: another process is writing to it ({action})")]
    Busy {
        /// The tenant.
        tenant: TenantUrl,
        /// What was being done.
        action: &'static str,
        /// The lock holder, when known (the writer is most likely it).
        holder: Option<String>,
    },
    /// Another holder has the lock.
    #[error("tenant {tenant} is locked by {holder} for `{purpose}` until {expires_at}")]
    Locked {
        /// The tenant.
        tenant: TenantUrl,
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
        /// The tenant.
        tenant: TenantUrl,
        /// The holder.
        holder: String,
        /// Who asked.
        me: String,
    },
    /// The tenant is not as the plan saw it: another run wrote it after the plan was made (or
    /// while this apply waited for the database). Nothing was applied.
    #[error("tenant {tenant} changed after the plan was made: last written by {by}{}; nothing was applied", deployment.as_ref().map(|d| format!(" (deployment {d})")).unwrap_or_default())]
    ChangedSincePlan {
        /// The tenant.
        tenant: TenantUrl,
        /// Who wrote it last, and when (`WHO at TIME`).
        by: String,
        /// The deployment that wrote it, when a deployment did.
        deployment: Option<String>,
    },
    /// Another object has the address.
    #[error("address {address} is already used by object {guid}")]
    AddressTaken {
        /// The address.
        address: String,
        /// The object that has it.
        guid: Uuid,
    },
    /// An address differs from another object's only in letter case or Unicode normalisation.
    #[error("address {address} differs from {other} (object {guid}) only in letter case or Unicode normalisation (NFC/NFD): exported, both would be one file on macOS and Windows; nothing was written")]
    AddressFolds {
        /// The new address.
        address: String,
        /// The other object's address.
        other: String,
        /// The other object.
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
    /// A visitor of [`Tenant::for_each_object`](super::Tenant::for_each_object) stopped the
    /// iteration because of a failure of its own, which it reports itself.
    #[error("reading the tenant's objects was stopped by a failure of the caller")]
    Stopped,
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
    /// A stored body or GUID that cannot be read back.
    #[error("tenant {path}: object {object} has a damaged {}: {message}", if *damaged_guid { "guid" } else { "body" })]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// The object: its GUID, with its address in parentheses when the row says it.
        object: String,
        /// Whether the GUID is what is damaged (otherwise the body).
        damaged_guid: bool,
        /// What is wrong.
        message: String,
    },
}
