//! The embedded tenant store: one SQLite file (bundled SQLite, WAL mode, foreign keys on). The
//! only module that uses rusqlite.
//!
//! This file opens and creates the file and implements [`Tenant`] by delegating to one file per
//! concern: [`migrations`] (the schema, append-only numbered steps in `PRAGMA user_version`),
//! `read.rs` (objects, references, what ferry applied), `write.rs` (a batch of changes),
//! `deployments.rs` (deployment records, applies, packages) and `lock.rs` (the maintenance
//! lock). Every write is one `BEGIN IMMEDIATE` transaction, so a batch is all or nothing, even
//! when the process is killed, and two processes racing for the lock are serialised by SQLite.

mod deployments;
mod lock;
pub mod migrations;
mod read;
pub(super) mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use uuid::Uuid;

use super::{
    Actor, AppliedRecord, Change, Content, Deleted, Deployment, Facts, Filter, Lease, Lock,
    Managed, ObjectKey, PackageSummary, Settings, StoreError, StoredObject, StoredPackage, Tenant,
    TenantUrl, Written,
};
use crate::secret::Secret;
use crate::store::copy::{self, Cell, Kind};

pub use migrations::{MIGRATIONS, SCHEMA_VERSION};

/// A tenant in a SQLite file.
pub struct SqliteTenant {
    conn: Connection,
    path: PathBuf,
    url: TenantUrl,
}

impl std::fmt::Debug for SqliteTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteTenant({})", self.path.display())
    }
}

impl SqliteTenant {
    /// Opens an existing tenant, migrating an older store.
    pub fn open(path: &Path) -> Result<SqliteTenant, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let read_only = std::fs::metadata(path)
            .map(|m| m.permissions().readonly())
            .unwrap_or(false);
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut tenant = SqliteTenant::connect(path, flags, "open")?;
        match tenant.configure(read_only) {
            // A file in WAL mode is read through its -shm file, which a reader that may not
            // write the file's folder cannot make. With no -wal file no writer is at work, so
            // the file is read as it is (SQLite's `immutable`): reads work on a read-only file.
            Err(StoreError::ReadOnly { .. } | StoreError::Database { .. })
                if read_only && !Path::new(&format!("{}-wal", path.display())).exists() =>
            {
                tenant = SqliteTenant::connect_immutable(path)?;
                tenant.configure(true)?;
            }
            other => other?,
        }
        migrations::upgrade(&mut tenant.conn, path)?;
        Ok(tenant)
    }

    /// Opens a read-only file as immutable: no locks, no -shm file.
    fn connect_immutable(path: &Path) -> Result<SqliteTenant, StoreError> {
        let mut uri = String::from("file:");
        for c in path.to_string_lossy().chars() {
            match c {
                '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
                c => uri.push(c),
            }
        }
        uri.push_str("?immutable=1");
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&uri, flags).map_err(|e| db(path, "open", e))?;
        Ok(SqliteTenant {
            conn,
            path: path.to_path_buf(),
            url: TenantUrl::Sqlite(path.to_path_buf()),
        })
    }

    /// Creates a new tenant file; refuses to overwrite any file.
    pub fn create(path: &Path, facts: &Facts, now: &str) -> Result<SqliteTenant, StoreError> {
        if path.exists() {
            return Err(StoreError::Exists {
                path: path.to_path_buf(),
            });
        }
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(StoreError::NoFolder {
                path: path.to_path_buf(),
                folder: folder.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut tenant = SqliteTenant::connect(path, flags, "create")?;
        if let Err(e) = tenant.initialise(facts, now) {
            drop(tenant);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            return Err(e);
        }
        Ok(tenant)
    }

    fn connect(
        path: &Path,
        flags: OpenFlags,
        action: &'static str,
    ) -> Result<SqliteTenant, StoreError> {
        let conn = Connection::open_with_flags(path, flags).map_err(|e| db(path, action, e))?;
        Ok(SqliteTenant {
            conn,
            path: path.to_path_buf(),
            url: TenantUrl::Sqlite(path.to_path_buf()),
        })
    }

    /// Makes the schema of a new file and writes its facts and default settings.
    fn initialise(&mut self, facts: &Facts, now: &str) -> Result<(), StoreError> {
        self.configure(false)?;
        migrations::migrate(&mut self.conn, &self.path, 0)?;
        self.conn
            .execute(
                "INSERT INTO tenant (id, name, platform_version, engine, engine_mode, cluster, created_at, fingerprint_salt)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, lower(hex(randomblob(32))))",
                params![facts.name, facts.platform_version, facts.engine, facts.engine_mode, facts.cluster, now],
            )
            .map_err(self.err("write facts"))?;
        self.conn
            .execute("INSERT INTO settings (id) VALUES (1)", [])
            .map_err(self.err("write settings"))?;
        Ok(())
    }

    fn configure(&mut self, read_only: bool) -> Result<(), StoreError> {
        let conn = &self.conn;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(self.err("configure"))?;
        // Reading the schema version first tells a non-database file from a database.
        conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(self.err("read"))?;
        if !read_only {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(self.err("enable WAL"))?;
        }
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
        )
        .map_err(self.err("configure"))?;
        Ok(())
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE`: it waits for another writer up to the busy
    /// timeout, and no other writer starts before it ends).
    ///
    /// When the wait runs out, the error names the lock's holder, who is most likely the writer.
    fn begin(&mut self) -> Result<Transaction<'_>, StoreError> {
        let path = &self.path;
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| match db(path, "begin", e) {
                StoreError::Busy { tenant, action, .. } => StoreError::Busy {
                    tenant,
                    action,
                    holder: holder_of(path),
                },
                other => other,
            })
    }

    /// Fails at once when another holder has the lock, before waiting for a write transaction:
    /// a write by someone else during a deployment is refused naming the holder, not after the
    /// busy timeout.
    fn check_lock(&self, actor: &Actor) -> Result<(), StoreError> {
        lock::check(&self.conn, &self.path, &self.url, &actor.name, &actor.now).map(|_| ())
    }

    /// Turns a rusqlite error met while doing `action` into a [`StoreError`] naming this file.
    fn err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| db(&self.path, action, e)
    }
}

/// The lock holder of the tenant at `path`, read on a connection of its own (the busy one may be
/// in the middle of a failed statement); `None` when there is none or it cannot be read.
fn holder_of(path: &Path) -> Option<String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).ok()?;
    lock::read(&conn, path).ok().flatten().map(|l| l.holder)
}

/// A rusqlite error met at `path` while doing `action`, as a [`StoreError`].
fn db(path: &Path, action: &'static str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotSqlite {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: path.to_path_buf(),
        },
        // Another connection's write transaction outlasted the busy timeout.
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            tenant: TenantUrl::Sqlite(path.to_path_buf()),
            action,
            holder: None,
        },
        _ => StoreError::Database {
            path: path.to_path_buf(),
            action,
            message: e.to_string(),
        },
    }
}

/// A GUID read from the file; a damaged one is [`StoreError::Corrupt`].
fn parse_guid(path: &Path, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        object: text.to_string(),
        damaged_guid: true,
        message: e.to_string(),
    })
}

/// Commits a transaction.
fn commit(tx: Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    tx.commit().map_err(|e| db(path, "commit", e))
}

impl Tenant for SqliteTenant {
    fn url(&self) -> &TenantUrl {
        &self.url
    }

    fn facts(&self) -> Result<Facts, StoreError> {
        read::facts(self)
    }

    fn settings(&self) -> Result<Settings, StoreError> {
        read::settings(self)
    }

    fn update_settings(
        &mut self,
        retention_days: Option<u32>,
        credential_fingerprint: Option<String>,
        actor: &Actor,
    ) -> Result<Settings, StoreError> {
        write::update_settings(self, retention_days, credential_fingerprint, actor)?;
        read::settings(self)
    }

    fn for_each_object(
        &self,
        filter: &Filter,
        each: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        read::for_each_object(self, filter, each)
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<StoredObject>, StoreError> {
        read::object(self, key)
    }

    fn addresses(&self, guids: &[Uuid]) -> Result<BTreeMap<Uuid, String>, StoreError> {
        read::addresses(self, guids)
    }

    fn guids(&self, addresses: &[String]) -> Result<BTreeMap<String, Uuid>, StoreError> {
        read::guids(self, addresses)
    }

    fn address_index(&self) -> Result<HashMap<Uuid, String>, StoreError> {
        read::address_index(self)
    }

    fn deleted(&self, filter: &Filter) -> Result<Vec<Deleted>, StoreError> {
        read::deleted(self, filter)
    }

    fn secrets(&self, guid: Uuid) -> Result<Vec<(String, Secret)>, StoreError> {
        read::secrets(self, guid)
    }

    fn fingerprint_salt(&self) -> Result<Secret, StoreError> {
        read::fingerprint_salt(self)
    }

    fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        read::counts(self)
    }

    fn write(&mut self, batch: &[Change], actor: &Actor) -> Result<Vec<Written>, StoreError> {
        self.check_lock(actor)?;
        let (path, url) = (self.path.clone(), self.url.clone());
        let tx = self.begin()?;
        let written = write::write_batch(&tx, &path, &url, batch, actor)?;
        commit(tx, &path)?;
        Ok(written)
    }

    fn applied(&self) -> Result<HashMap<Uuid, AppliedRecord>, StoreError> {
        read::applied(self, true)
    }

    fn object_index(&self) -> Result<Vec<StoredObject>, StoreError> {
        read::object_index(self)
    }

    fn applied_index(&self) -> Result<HashMap<Uuid, AppliedRecord>, StoreError> {
        read::applied(self, false)
    }

    fn reference_edges(&self) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        read::reference_edges(self)
    }

    fn references_of(&self, guids: &[Uuid], from: bool) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        read::references_of(self, guids, from)
    }

    fn apply(
        &mut self,
        expected: &str,
        batch: &[Change],
        applied: &[AppliedRecord],
        deployment: &Deployment,
        actor: &Actor,
    ) -> Result<Vec<Written>, StoreError> {
        deployments::apply(self, expected, batch, applied, deployment, actor)
    }

    fn lock(&self, now: &str) -> Result<Option<Lock>, StoreError> {
        lock::live(self, now)
    }

    fn acquire_lock(
        &mut self,
        holder: &str,
        purpose: &str,
        now: &str,
        expires_at: &str,
        lease: Option<&Lease>,
    ) -> Result<Lock, StoreError> {
        lock::acquire(self, holder, purpose, now, expires_at, lease)
    }

    fn release_lock(
        &mut self,
        holder: &str,
        force: bool,
        now: &str,
    ) -> Result<Option<Lock>, StoreError> {
        lock::release(self, holder, force, now)
    }

    fn record_deployment(&mut self, deployment: &Deployment) -> Result<(), StoreError> {
        deployments::record(self, deployment)
    }

    fn deployments(&self, limit: usize) -> Result<Vec<Deployment>, StoreError> {
        deployments::latest(self, limit)
    }

    fn deployment(&self, id: &str) -> Result<Option<Deployment>, StoreError> {
        deployments::one(self, id)
    }

    fn deployment_ids(&self) -> Result<Vec<String>, StoreError> {
        deployments::ids(self)
    }

    fn applied_content(&self, content: &Content) -> Result<Option<Deployment>, StoreError> {
        deployments::applied_content(self, content)
    }

    fn last_applied(&self) -> Result<Option<(String, String)>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, source FROM deployments WHERE status = 'succeeded'
                 ORDER BY started_at DESC, id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err("read deployments"))
    }

    fn applied_plan(&self, plan_hash: &str) -> Result<Option<(String, String)>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, started_at FROM deployments WHERE plan_hash = ?1 AND status = 'succeeded'
                 ORDER BY started_at DESC, id DESC LIMIT 1",
                [plan_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err("read deployments"))
    }

    fn managed(&self) -> Result<Managed, StoreError> {
        read::managed(self)
    }

    fn store_package(
        &mut self,
        package: &StoredPackage,
        expired_before: &str,
    ) -> Result<Vec<PackageSummary>, StoreError> {
        deployments::store_package(self, package, expired_before)
    }

    fn packages(&self) -> Result<Vec<PackageSummary>, StoreError> {
        deployments::packages(self)
    }

    fn package(&self, id: &str) -> Result<Option<StoredPackage>, StoreError> {
        deployments::package(self, id)
    }

    fn table_rows(&self, table: &copy::Table) -> Result<copy::Rows, StoreError> {
        use rusqlite::types::ValueRef;
        let err = self.err("read for a copy");
        let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            columns.join(", "),
            table.name,
            table.order.0
        );
        let mut stmt = self.conn.prepare(&sql).map_err(&err)?;
        let mut rows = stmt.query([]).map_err(&err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(&err)? {
            let mut row = Vec::with_capacity(columns.len());
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                let text = |t: &[u8]| String::from_utf8_lossy(t).into_owned();
                row.push(match (r.get_ref(i).map_err(&err)?, kind) {
                    (ValueRef::Null, _) => Cell::Null,
                    (ValueRef::Integer(n), Kind::Int | Kind::BigInt) => Cell::Int(n),
                    (ValueRef::Integer(n), _) => Cell::Text(n.to_string()),
                    (ValueRef::Real(f), _) => Cell::Text(f.to_string()),
                    (ValueRef::Text(t), Kind::Bytes) | (ValueRef::Blob(t), Kind::Bytes) => {
                        Cell::Bytes(t.to_vec())
                    }
                    (ValueRef::Text(t), _) | (ValueRef::Blob(t), _) => Cell::Text(text(t)),
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn load_tables(&mut self, rows: &[copy::Rows]) -> Result<(), StoreError> {
        use rusqlite::types::Value;
        let path = self.path.clone();
        let tx = self.begin()?;
        let err = |e| db(&path, "write a copy", e);
        tx.execute_batch("PRAGMA defer_foreign_keys = ON")
            .map_err(err)?;
        for table in copy::TABLES.iter().rev() {
            tx.execute(&format!("DELETE FROM {}", table.name), [])
                .map_err(err)?;
        }
        for (table, rows) in copy::TABLES.iter().zip(rows) {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
            let marks = vec!["?"; columns.len()].join(", ");
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO {} ({}) VALUES ({marks})",
                    table.name,
                    columns.join(", ")
                ))
                .map_err(err)?;
            for row in rows {
                let values = row.iter().map(|c| match c {
                    Cell::Null => Value::Null,
                    Cell::Int(n) => Value::Integer(*n),
                    Cell::Text(t) => Value::Text(t.clone()),
                    Cell::Bytes(b) => Value::Blob(b.clone()),
                });
                insert
                    .execute(rusqlite::params_from_iter(values))
                    .map_err(err)?;
            }
        }
        commit(tx, &path)
    }

    fn set_package_statuses(
        &mut self,
        id: &str,
        objects: &[super::PackageObject],
    ) -> Result<(), StoreError> {
        deployments::set_package_statuses(self, id, objects)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A tenant in a temporary folder and objects to write to it.

    use serde_json::{json, Map, Value};
    use uuid::Uuid;

    use super::SqliteTenant;
    use crate::store::{Actor, Change, Facts, NewObject};

    /// The facts every test tenant has.
    pub fn facts() -> Facts {
        Facts {
            name: "t".into(),
            platform_version: "4.5.0".into(),
            engine: "spark".into(),
            engine_mode: "single".into(),
            cluster: "c1".into(),
        }
    }

    /// A new tenant file in a new temporary folder (kept alive by the returned guard).
    pub fn tenant() -> (tempfile::TempDir, SqliteTenant) {
        let dir = tempfile::tempdir().unwrap();
        let tenant =
            SqliteTenant::create(&dir.path().join("t.db"), &facts(), "2026-01-01T00:00:00Z")
                .unwrap();
        (dir, tenant)
    }

    /// `name` acting at `now`.
    pub fn actor(name: &str, now: &str) -> Actor {
        Actor {
            name: name.into(),
            now: now.into(),
        }
    }

    /// A put of `data_source/NAME` with the given GUID, referring to `refers_to` at `/spec/peer`.
    pub fn put(guid: Uuid, name: &str, refers_to: Option<Uuid>) -> Change {
        let mut spec = Map::new();
        spec.insert("size".into(), json!(1));
        let mut references = Vec::new();
        if let Some(target) = refers_to {
            spec.insert("peer".into(), Value::String(target.to_string()));
            references.push(("/spec/peer".to_string(), target));
        }
        let hash = crate::model::hash::content_hash("data_source", name, None, &spec);
        Change::Put(Box::new(NewObject {
            guid,
            kind: "data_source".into(),
            name: name.into(),
            project: None,
            spec,
            hash,
            references,
            secrets: Vec::new(),
        }))
    }
}
