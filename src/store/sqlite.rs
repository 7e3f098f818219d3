//! The embedded tenant store: one SQLite file (bundled SQLite, WAL mode, foreign keys on). The
//! only module that uses rusqlite.
//!
//! Schema changes are append-only numbered [`MIGRATIONS`], recorded in `PRAGMA user_version`: an
//! older store is migrated when opened, a newer one is refused. Every write is one `BEGIN
//! IMMEDIATE` transaction, so a batch is all or nothing, even when the process is killed, and two
//! processes racing for the lock are serialised by SQLite.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    Actor, Change, Deployment, DeploymentResult, Facts, Filter, Lock, ObjectKey, Outcome, Settings,
    StoreError, StoredObject, StoredPackage, Tenant, TenantUrl, Written,
};
use crate::model::hash::canonical_json;
use crate::secret::Secret;

/// The store's schema, one migration per version. Append only: never edit a released step.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE tenant (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        platform_version TEXT NOT NULL,
        engine TEXT NOT NULL,
        engine_mode TEXT NOT NULL CHECK (engine_mode IN ('single', 'multi')),
        cluster TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        retention_days INTEGER NOT NULL DEFAULT 30,
        credential_fingerprint TEXT,
        updated_at TEXT,
        updated_by TEXT
    );
    CREATE TABLE objects (
        guid TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        address TEXT NOT NULL UNIQUE,
        project TEXT,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    );
    CREATE INDEX objects_by_kind ON objects (kind, address);
    CREATE TABLE object_refs (
        from_guid TEXT NOT NULL REFERENCES objects (guid) ON DELETE CASCADE,
        pointer TEXT NOT NULL,
        to_guid TEXT NOT NULL,
        PRIMARY KEY (from_guid, pointer)
    );
    CREATE INDEX object_refs_by_target ON object_refs (to_guid);
    CREATE TABLE object_changes (
        guid TEXT NOT NULL,
        version INTEGER NOT NULL,
        address TEXT NOT NULL,
        action TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        PRIMARY KEY (guid, version)
    );
    CREATE INDEX object_changes_by_time ON object_changes (changed_at);
    CREATE TABLE secrets (
        guid TEXT NOT NULL REFERENCES objects (guid) ON DELETE CASCADE,
        pointer TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (guid, pointer)
    );
    CREATE TABLE lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        purpose TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        plan_hash TEXT NOT NULL,
        actor TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL
    );
    CREATE TABLE deployment_results (
        deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        guid TEXT NOT NULL,
        address TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT,
        PRIMARY KEY (deployment_id, guid)
    );
    CREATE TABLE packages (
        hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        manifest TEXT NOT NULL,
        content BLOB NOT NULL
    );
    CREATE TABLE applied (
        guid TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        blob_id TEXT,
        deployment_id TEXT,
        applied_at TEXT NOT NULL
    );
    "#,
    // 2: what ferry applied keeps the body too, to show which fields drifted.
    r#"
    ALTER TABLE applied ADD COLUMN body TEXT;
    "#,
    // 3: covering indexes, so that a plan reads every object's identity, address and hash (and
    // what ferry applied) without reading the bodies stored beside them.
    r#"
    CREATE INDEX objects_summary ON objects
        (address, guid, kind, name, project, hash, version, updated_at, updated_by);
    CREATE INDEX applied_summary ON applied (guid, hash, blob_id);
    "#,
];

/// The store schema version this ferry writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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
        let conn = Connection::open_with_flags(path, flags).map_err(|e| db(path, "open", e))?;
        let mut tenant = SqliteTenant {
            conn,
            path: path.to_path_buf(),
            url: TenantUrl::Sqlite(path.to_path_buf()),
        };
        tenant.configure(read_only)?;
        let version: i64 = tenant
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db(path, "read schema version", e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == 0 {
            return Err(StoreError::NotTenant {
                path: path.to_path_buf(),
            });
        }
        if version < SCHEMA_VERSION {
            tenant.migrate(version)?;
        }
        Ok(tenant)
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
        let conn = Connection::open_with_flags(path, flags).map_err(|e| db(path, "create", e))?;
        let mut tenant = SqliteTenant {
            conn,
            path: path.to_path_buf(),
            url: TenantUrl::Sqlite(path.to_path_buf()),
        };
        let result = (|| {
            tenant.configure(false)?;
            tenant.migrate(0)?;
            tenant
                .conn
                .execute(
                    "INSERT INTO tenant (id, name, platform_version, engine, engine_mode, cluster, created_at)
                     VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
                    params![facts.name, facts.platform_version, facts.engine, facts.engine_mode, facts.cluster, now],
                )
                .map_err(|e| db(path, "write facts", e))?;
            tenant
                .conn
                .execute("INSERT INTO settings (id) VALUES (1)", [])
                .map_err(|e| db(path, "write settings", e))?;
            Ok(())
        })();
        if let Err(e) = result {
            drop(tenant);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            return Err(e);
        }
        Ok(tenant)
    }

    fn configure(&mut self, read_only: bool) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(|e| db(&path, "configure", e))?;
        // Reading the schema version first tells a non-database file from a database.
        self.conn
            .query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| db(&path, "read", e))?;
        if !read_only {
            self.conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map_err(|e| db(&path, "enable WAL", e))?;
        }
        self.conn
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
            )
            .map_err(|e| db(&path, "configure", e))?;
        Ok(())
    }

    fn migrate(&mut self, from: i64) -> Result<(), StoreError> {
        let path = self.path.clone();
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db(&path, "migrate", e))?;
            tx.execute_batch(sql).map_err(|e| db(&path, "migrate", e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| db(&path, "migrate", e))?;
            tx.commit().map_err(|e| db(&path, "migrate", e))?;
        }
        Ok(())
    }
}

/// Fails when someone other than `holder` has the lock and it has not expired at `now`.
fn check_lock(
    conn: &Connection,
    path: &Path,
    url: &TenantUrl,
    holder: &str,
    now: &str,
) -> Result<(), StoreError> {
    {
        if let Some(lock) = read_lock(conn).map_err(|e| db(path, "read lock", e))? {
            if lock.holder != holder && lock.expires_at.as_str() > now {
                return Err(StoreError::Locked {
                    tenant: url.to_string(),
                    holder: lock.holder,
                    purpose: lock.purpose,
                    expires_at: lock.expires_at,
                });
            }
        }
        Ok(())
    }
}

/// Writes a batch inside an open transaction: see [`Tenant::write`].
fn write_in(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    url: &TenantUrl,
    batch: &[Change],
    actor: &Actor,
    at: &mut usize,
) -> Result<Vec<Written>, StoreError> {
    let delay = fault_delay();
    check_lock(tx, path, url, &actor.name, &actor.now)?;
    let path_ref = path;
    let err = |action| move |e| db(path_ref, action, e);
    if batch.len() > 1000 {
        // A large batch touches its indexes all over: a page cache of 64 MiB (instead of 2)
        // keeps SQLite from spilling and re-reading pages in the middle of the transaction.
        tx.execute_batch("PRAGMA cache_size = -65536")
            .map_err(err("configure"))?;
    }
    let mut written = Vec::with_capacity(batch.len());
    let mut deleted: HashMap<String, String> = HashMap::new();
    // Renames first move their objects to a temporary address, so that an address a rename frees
    // can be taken by another change of the same batch (a swap of two names included).
    // Each put object's row as it was (address, hash, version), read once here.
    let mut before: HashMap<String, (String, String, i64)> = HashMap::new();
    let row_of = |guid: &str| -> Result<Option<(String, String, i64)>, StoreError> {
        tx.prepare_cached("SELECT address, hash, version FROM objects WHERE guid = ?1")
            .and_then(|mut s| {
                s.query_row([guid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(err("read object"))
    };
    for change in batch {
        let o = match change {
            Change::Put(o) => o,
            // An adopted object keeps its row under its new GUID (adoptions keep the address).
            Change::Adopt { from, to } => {
                if let Some(row) = row_of(&from.to_string())? {
                    before.insert(to.to_string(), row);
                }
                continue;
            }
            Change::Delete(_) => continue,
        };
        let guid = o.guid.to_string();
        if before.contains_key(&guid) {
            continue;
        }
        let Some(current) = row_of(&guid)? else {
            continue;
        };
        if current.0 != o.address() {
            tx.prepare_cached("UPDATE objects SET address = ?2 WHERE guid = ?1")
                .and_then(|mut s| s.execute([&guid, &format!("\u{1}renaming/{guid}")]))
                .map_err(err("rename"))?;
        }
        before.insert(guid, current);
    }
    for (i, change) in batch.iter().enumerate() {
        *at = i;
        if super::cancelled() {
            return Err(StoreError::Cancelled);
        }
        if let Some(delay) = delay {
            if i == 1 {
                eprintln!("fault injection: batch write in progress");
            }
            std::thread::sleep(delay);
        }
        match change {
            Change::Put(o) => {
                let guid = o.guid.to_string();
                let address = o.address();
                let holder: Option<String> = tx
                    .prepare_cached("SELECT guid FROM objects WHERE address = ?1")
                    .and_then(|mut s| s.query_row([&address], |r| r.get(0)).optional())
                    .map_err(err("read object"))?;
                if let Some(other) = holder.filter(|g| *g != guid) {
                    return Err(StoreError::AddressTaken {
                        address,
                        guid: parse_guid(path, &other)?,
                    });
                }
                let existing = before.get(&guid).cloned();
                let mut secrets_changed = false;
                for (pointer, value) in &o.secrets {
                    let old: Option<String> = tx
                        .prepare_cached(
                            "SELECT value FROM secrets WHERE guid = ?1 AND pointer = ?2",
                        )
                        .and_then(|mut s| {
                            s.query_row(params![guid, pointer], |r| r.get(0)).optional()
                        })
                        .map_err(err("read secrets"))?;
                    if old.as_deref() != Some(value.expose()) {
                        secrets_changed = true;
                    }
                }
                let (outcome, version, old_address) = match &existing {
                    None => (Outcome::Created, 1, None),
                    Some((old, hash, v))
                        if *old == address && *hash == o.hash && !secrets_changed =>
                    {
                        (Outcome::Unchanged, *v, None)
                    }
                    Some((old, _, v)) if *old != address => {
                        (Outcome::Renamed, v + 1, Some(old.clone()))
                    }
                    Some((_, _, v)) => (Outcome::Updated, v + 1, None),
                };
                if outcome != Outcome::Unchanged {
                    let body = crate::model::hash::canonical_json_of_map(&o.spec);
                    tx.prepare_cached(
                            "INSERT INTO objects (guid, kind, address, project, name, body, hash, version, updated_at, updated_by)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                             ON CONFLICT (guid) DO UPDATE SET kind = excluded.kind, address = excluded.address,
                                 project = excluded.project, name = excluded.name, body = excluded.body,
                                 hash = excluded.hash, version = excluded.version,
                                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                        )
                        .and_then(|mut s| {
                            s.execute(params![
                                guid, o.kind, address, o.project, o.name, body, o.hash, version, actor.now, actor.name
                            ])
                        })
                        .map_err(err("write object"))?;
                    tx.prepare_cached("DELETE FROM object_refs WHERE from_guid = ?1")
                        .and_then(|mut s| s.execute([&guid]))
                        .map_err(err("write references"))?;
                    let mut insert = tx
                            .prepare_cached("INSERT OR REPLACE INTO object_refs (from_guid, pointer, to_guid) VALUES (?1, ?2, ?3)")
                            .map_err(err("write references"))?;
                    for (pointer, target) in &o.references {
                        insert
                            .execute(params![guid, pointer, target.to_string()])
                            .map_err(err("write references"))?;
                    }
                    for (pointer, value) in &o.secrets {
                        tx.prepare_cached("INSERT OR REPLACE INTO secrets (guid, pointer, value) VALUES (?1, ?2, ?3)")
                                .and_then(|mut s| s.execute(params![guid, pointer, value.expose()]))
                                .map_err(err("write secrets"))?;
                    }
                    let action = match outcome {
                        Outcome::Created => "created",
                        Outcome::Renamed => "renamed",
                        _ => "updated",
                    };
                    tx.prepare_cached(
                            "INSERT INTO object_changes (guid, version, address, action, changed_at, changed_by)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .and_then(|mut s| s.execute(params![guid, version, address, action, actor.now, actor.name]))
                        .map_err(err("write history"))?;
                }
                written.push(Written {
                    guid: o.guid,
                    address,
                    old_address,
                    outcome,
                    version,
                });
            }
            Change::Adopt { from, to } => {
                let (from_s, to_s) = (from.to_string(), to.to_string());
                let existing: Option<(String, i64)> = tx
                    .prepare_cached("SELECT address, version FROM objects WHERE guid = ?1")
                    .and_then(|mut s| {
                        s.query_row([&from_s], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(err("read object"))?;
                let Some((address, version)) = existing else {
                    return Err(StoreError::NoSuchObject { guid: *from });
                };
                // Foreign keys are checked at commit, once every row has the new GUID.
                tx.execute_batch("PRAGMA defer_foreign_keys = ON")
                    .map_err(err("adopt"))?;
                for sql in [
                    "UPDATE objects SET guid = ?2 WHERE guid = ?1",
                    "UPDATE object_refs SET from_guid = ?2 WHERE from_guid = ?1",
                    "UPDATE object_refs SET to_guid = ?2 WHERE to_guid = ?1",
                    "UPDATE secrets SET guid = ?2 WHERE guid = ?1",
                ] {
                    tx.prepare_cached(sql)
                        .and_then(|mut s| s.execute([&from_s, &to_s]))
                        .map_err(err("adopt"))?;
                }
                tx.prepare_cached("DELETE FROM applied WHERE guid = ?1")
                    .and_then(|mut s| s.execute([&from_s]))
                    .map_err(err("adopt"))?;
                // The bodies of the objects that refer to it hold its GUID: rewrite them.
                type Dependent = (String, String, String, Option<String>, String, String);
                let dependents: Vec<Dependent> = {
                    let mut stmt = tx
                            .prepare_cached(
                                "SELECT o.guid, o.kind, o.name, o.project, o.body, o.hash FROM objects o
                                 WHERE o.guid IN (SELECT from_guid FROM object_refs WHERE to_guid = ?1)",
                            )
                            .map_err(err("adopt"))?;
                    let rows = stmt
                        .query_map([&to_s], |r| {
                            Ok((
                                r.get(0)?,
                                r.get(1)?,
                                r.get(2)?,
                                r.get(3)?,
                                r.get(4)?,
                                r.get(5)?,
                            ))
                        })
                        .map_err(err("adopt"))?;
                    rows.collect::<Result<_, _>>().map_err(err("adopt"))?
                };
                for (guid, kind, name, project, body, old_hash) in dependents {
                    let mut spec: Value =
                        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                            path: path.to_path_buf(),
                            guid: guid.clone(),
                            message: e.to_string(),
                        })?;
                    replace_string(&mut spec, &from_s, &to_s);
                    let spec = match spec {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let hash =
                        crate::model::hash::content_hash(&kind, &name, project.as_deref(), &spec);
                    tx.prepare_cached("UPDATE objects SET body = ?2, hash = ?3 WHERE guid = ?1")
                        .and_then(|mut s| {
                            s.execute(params![guid, canonical_json(&Value::Object(spec)), hash])
                        })
                        .map_err(err("adopt"))?;
                    // What ferry applied to it named the old GUID too; unless it had drifted,
                    // it still matches, so re-key it rather than show false drift.
                    tx.prepare_cached(
                        "UPDATE applied SET hash = ?2, body = replace(body, ?4, ?5)
                         WHERE guid = ?1 AND hash = ?3",
                    )
                    .and_then(|mut s| s.execute(params![guid, hash, old_hash, from_s, to_s]))
                    .map_err(err("adopt"))?;
                }
                written.push(Written {
                    guid: *to,
                    address,
                    old_address: None,
                    outcome: Outcome::Updated,
                    version,
                });
            }
            Change::Delete(g) => {
                let guid = g.to_string();
                let existing: Option<(String, i64)> = tx
                    .prepare_cached("SELECT address, version FROM objects WHERE guid = ?1")
                    .and_then(|mut s| {
                        s.query_row([&guid], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(err("read object"))?;
                let Some((address, version)) = existing else {
                    return Err(StoreError::NoSuchObject { guid: *g });
                };
                for sql in [
                    "DELETE FROM objects WHERE guid = ?1",
                    "DELETE FROM applied WHERE guid = ?1",
                ] {
                    tx.prepare_cached(sql)
                        .and_then(|mut s| s.execute([&guid]))
                        .map_err(err("delete object"))?;
                }
                tx.prepare_cached(
                        "INSERT INTO object_changes (guid, version, address, action, changed_at, changed_by)
                         VALUES (?1, ?2, ?3, 'deleted', ?4, ?5)",
                    )
                    .and_then(|mut s| s.execute(params![guid, version + 1, address, actor.now, actor.name]))
                    .map_err(err("write history"))?;
                deleted.insert(guid, address.clone());
                written.push(Written {
                    guid: *g,
                    address,
                    old_address: None,
                    outcome: Outcome::Deleted,
                    version: version + 1,
                });
            }
        }
    }
    *at = batch.len();
    // Every reference must land on an object once the whole batch is in.
    let dangling: Option<(String, String, String, Option<String>)> = tx
        .query_row(
            "SELECT r.to_guid, r.pointer, f.address, NULL
                 FROM object_refs r JOIN objects f ON f.guid = r.from_guid
                 LEFT JOIN objects t ON t.guid = r.to_guid
                 WHERE t.guid IS NULL ORDER BY f.address, r.pointer LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(err("check references"))?;
    if let Some((to, pointer, from, _)) = dangling {
        return Err(match deleted.get(&to) {
            Some(address) => StoreError::StillReferenced {
                address: address.clone(),
                dependent: from,
            },
            None => StoreError::DanglingReference {
                address: from,
                pointer,
                guid: parse_guid(path, &to)?,
            },
        });
    }
    Ok(written)
}

/// Names the change of a batch a database failure happened in (`at`, from [`write_in`]), so
/// that the caller can say which object failed.
fn in_change(e: StoreError, batch: &[Change], at: usize) -> StoreError {
    let StoreError::Database { message, .. } = &e else {
        return e;
    };
    let (guid, address) = match batch.get(at) {
        Some(Change::Put(o)) => (o.guid, o.address()),
        Some(Change::Delete(g)) => (*g, g.to_string()),
        Some(Change::Adopt { to, .. }) => (*to, to.to_string()),
        None => return e,
    };
    StoreError::WriteFailed {
        guid,
        address,
        message: message.clone(),
    }
}

/// Replaces every string equal to `from` with `to`, at any depth.
fn replace_string(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_string(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_string(v, from, to)),
        _ => {}
    }
}

/// Records a deployment and its results inside an open transaction.
fn insert_deployment(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    d: &Deployment,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR REPLACE INTO deployments (id, source, plan_hash, actor, started_at, finished_at, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![d.id, d.source, d.plan_hash, d.actor, d.started_at, d.finished_at, d.status],
    )
    .map_err(|e| db(path, "record deployment", e))?;
    tx.execute(
        "DELETE FROM deployment_results WHERE deployment_id = ?1",
        [&d.id],
    )
    .map_err(|e| db(path, "record deployment", e))?;
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO deployment_results (deployment_id, guid, address, action, status, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(|e| db(path, "record deployment", e))?;
    for r in &d.results {
        insert
            .execute(params![
                d.id,
                r.guid.to_string(),
                r.address,
                r.action,
                r.status,
                r.message
            ])
            .map_err(|e| db(path, "record deployment", e))?;
    }
    Ok(())
}

fn db(path: &Path, action: &'static str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotSqlite {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: path.to_path_buf(),
        },
        _ => StoreError::Database {
            path: path.to_path_buf(),
            action,
            message: e.to_string(),
        },
    }
}

fn read_lock(conn: &Connection) -> rusqlite::Result<Option<Lock>> {
    conn.query_row(
        "SELECT holder, purpose, acquired_at, expires_at FROM lock WHERE id = 1",
        [],
        |r| {
            Ok(Lock {
                holder: r.get(0)?,
                purpose: r.get(1)?,
                acquired_at: r.get(2)?,
                expires_at: r.get(3)?,
            })
        },
    )
    .optional()
}

fn parse_guid(path: &Path, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        guid: text.to_string(),
        message: e.to_string(),
    })
}

/// A raw object row: guid, kind, name, project, body, hash, version, updated_at, updated_by.
type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    String,
    String,
);

/// An object row without its body: guid, kind, name, project, hash, version, updated_at,
/// updated_by.
type IndexRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
    String,
);

const OBJECT_COLUMNS: &str =
    "guid, kind, name, project, body, hash, version, updated_at, updated_by";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

impl SqliteTenant {
    /// The rows of a two-column text query, in one pass.
    /// What ferry applied to every object; the bodies only when `with_body` (the index alone is
    /// read from the covering index `applied_summary`).
    fn read_applied(
        &self,
        with_body: bool,
    ) -> Result<HashMap<Uuid, super::AppliedRecord>, StoreError> {
        let action = "read applied";
        let sql = if with_body {
            "SELECT guid, hash, blob_id, body FROM applied"
        } else {
            "SELECT guid, hash, blob_id, NULL FROM applied"
        };
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| db(&self.path, action, e))?;
        let mut rows = stmt.query([]).map_err(|e| db(&self.path, action, e))?;
        let mut out = HashMap::new();
        while let Some(r) = rows.next().map_err(|e| db(&self.path, action, e))? {
            type AppliedRow = (String, String, Option<String>, Option<String>);
            let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<AppliedRow> {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            };
            let (guid, hash, blob_id, body) = read(r).map_err(|e| db(&self.path, action, e))?;
            let guid = parse_guid(&self.path, &guid)?;
            let body = match body {
                Some(body) => body,
                None if with_body => "{}".into(),
                None => String::new(),
            };
            out.insert(
                guid,
                super::AppliedRecord {
                    guid,
                    hash,
                    body,
                    blob_id,
                },
            );
        }
        Ok(out)
    }

    fn pairs(&self, sql: &str, action: &'static str) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| db(&self.path, action, e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| db(&self.path, action, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| db(&self.path, action, e))
    }

    fn to_object(&self, row: Row, secret_fields: Vec<String>) -> Result<StoredObject, StoreError> {
        let (guid, kind, name, project, body, hash, version, updated_at, updated_by) = row;
        let spec: Map<String, Value> =
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                guid: guid.clone(),
                message: e.to_string(),
            })?;
        Ok(StoredObject {
            guid: parse_guid(&self.path, &guid)?,
            kind,
            name,
            project,
            spec,
            hash,
            version,
            updated_at,
            updated_by,
            secret_fields,
        })
    }

    fn secret_fields_of(&self, guid: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT pointer FROM secrets WHERE guid = ?1 ORDER BY pointer")
            .map_err(|e| db(&self.path, "read secrets", e))?;
        let rows = stmt
            .query_map([guid], |r| r.get::<_, String>(0))
            .map_err(|e| db(&self.path, "read secrets", e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| db(&self.path, "read secrets", e))
    }
}

impl SqliteTenant {
    /// Deployments chosen by `clause` (with one parameter), with their results.
    fn read_deployments(&self, clause: &str, param: &str) -> Result<Vec<Deployment>, StoreError> {
        let err = |e| db(&self.path, "read deployments", e);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT id, source, plan_hash, actor, started_at, finished_at, status FROM deployments {clause}"
            ))
            .map_err(err)?;
        let rows = stmt
            .query_map([param], |r| {
                Ok(Deployment {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    plan_hash: r.get(2)?,
                    actor: r.get(3)?,
                    started_at: r.get(4)?,
                    finished_at: r.get(5)?,
                    status: r.get(6)?,
                    results: Vec::new(),
                })
            })
            .map_err(err)?;
        let mut deployments: Vec<Deployment> = rows.collect::<Result<_, _>>().map_err(err)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT guid, address, action, status, message FROM deployment_results
                 WHERE deployment_id = ?1 ORDER BY address",
            )
            .map_err(err)?;
        for d in &mut deployments {
            let rows = stmt
                .query_map([&d.id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                })
                .map_err(err)?;
            for row in rows {
                let (guid, address, action, status, message) = row.map_err(err)?;
                d.results.push(DeploymentResult {
                    guid: parse_guid(&self.path, &guid)?,
                    address,
                    action,
                    status,
                    message,
                });
            }
        }
        Ok(deployments)
    }
}

/// Whether the test-only fault injection asks for a pause between the changes of a batch, so a
/// test can kill the process in the middle of a write (`FERRY_FAULT_WRITE_DELAY_MS`).
fn fault_delay() -> Option<Duration> {
    std::env::var("FERRY_FAULT_WRITE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
}

impl Tenant for SqliteTenant {
    fn url(&self) -> &TenantUrl {
        &self.url
    }

    fn facts(&self) -> Result<Facts, StoreError> {
        self.conn
            .query_row(
                "SELECT name, platform_version, engine, engine_mode, cluster FROM tenant WHERE id = 1",
                [],
                |r| {
                    Ok(Facts {
                        name: r.get(0)?,
                        platform_version: r.get(1)?,
                        engine: r.get(2)?,
                        engine_mode: r.get(3)?,
                        cluster: r.get(4)?,
                    })
                },
            )
            .map_err(|e| db(&self.path, "read facts", e))
    }

    fn settings(&self) -> Result<Settings, StoreError> {
        self.conn
            .query_row(
                "SELECT retention_days, credential_fingerprint FROM settings WHERE id = 1",
                [],
                |r| {
                    Ok(Settings {
                        retention_days: r.get(0)?,
                        credential_fingerprint: r.get(1)?,
                    })
                },
            )
            .map_err(|e| db(&self.path, "read settings", e))
    }

    fn update_settings(
        &mut self,
        retention_days: Option<u32>,
        credential_fingerprint: Option<String>,
        actor: &Actor,
    ) -> Result<Settings, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db(&path, "begin", e))?;
        check_lock(&tx, &path, &self.url, &actor.name, &actor.now)?;
        tx.execute(
            "UPDATE settings SET retention_days = COALESCE(?1, retention_days),
                 credential_fingerprint = COALESCE(?2, credential_fingerprint),
                 updated_at = ?3, updated_by = ?4
             WHERE id = 1",
            params![
                retention_days,
                credential_fingerprint,
                actor.now,
                actor.name
            ],
        )
        .map_err(|e| db(&path, "write settings", e))?;
        tx.commit().map_err(|e| db(&path, "commit", e))?;
        self.settings()
    }

    fn for_each_object(
        &self,
        filter: &Filter,
        each: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Conditions shared by both queries, over the objects table `o`.
        let mut conditions = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if !filter.kinds.is_empty() {
            conditions.push(format!(
                "o.kind IN ({})",
                vec!["?"; filter.kinds.len()].join(", ")
            ));
            args.extend(filter.kinds.iter().cloned());
        }
        if filter.by_time() {
            conditions.push(
                "o.guid IN (SELECT guid FROM object_changes WHERE changed_at >= ? AND changed_at < ?)".to_string(),
            );
            args.push(filter.changed_since.clone().unwrap_or_default());
            args.push(
                filter
                    .changed_until
                    .clone()
                    .unwrap_or_else(|| "~".to_string()),
            );
        }
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let columns = OBJECT_COLUMNS
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let objects_sql =
            format!("SELECT {columns} FROM objects o {filter_sql} ORDER BY o.address");
        let secrets_sql = format!(
            "SELECT s.guid, s.pointer FROM secrets s JOIN objects o ON o.guid = s.guid {filter_sql} ORDER BY s.guid, s.pointer"
        );
        let kinds = rusqlite::params_from_iter(args.iter());
        let mut secret_fields: HashMap<String, Vec<String>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare(&secrets_sql)
                .map_err(|e| db(&self.path, "list", e))?;
            let mut rows = stmt.query(kinds).map_err(|e| db(&self.path, "list", e))?;
            while let Some(r) = rows.next().map_err(|e| db(&self.path, "list", e))? {
                let guid: String = r.get(0).map_err(|e| db(&self.path, "list", e))?;
                let pointer: String = r.get(1).map_err(|e| db(&self.path, "list", e))?;
                secret_fields.entry(guid).or_default().push(pointer);
            }
        }
        let mut stmt = self
            .conn
            .prepare(&objects_sql)
            .map_err(|e| db(&self.path, "list", e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(|e| db(&self.path, "list", e))?;
        while let Some(r) = rows.next().map_err(|e| db(&self.path, "list", e))? {
            let row = read_row(r).map_err(|e| db(&self.path, "list", e))?;
            let fields = secret_fields.remove(&row.0).unwrap_or_default();
            each(self.to_object(row, fields)?)?;
        }
        Ok(())
    }

    fn object(&self, key: &ObjectKey) -> Result<Option<StoredObject>, StoreError> {
        let (sql, arg) = match key {
            ObjectKey::Guid(g) => (
                format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE guid = ?1"),
                g.to_string(),
            ),
            ObjectKey::Address(a) => (
                format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE address = ?1"),
                a.clone(),
            ),
        };
        let row = self
            .conn
            .query_row(&sql, [arg], read_row)
            .optional()
            .map_err(|e| db(&self.path, "read object", e))?;
        match row {
            Some(row) => {
                let fields = self.secret_fields_of(&row.0)?;
                Ok(Some(self.to_object(row, fields)?))
            }
            None => Ok(None),
        }
    }

    fn addresses(&self, guids: &[Uuid]) -> Result<BTreeMap<Uuid, String>, StoreError> {
        let mut out = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address FROM objects WHERE guid = ?1")
            .map_err(|e| db(&self.path, "read addresses", e))?;
        for guid in guids {
            if let Some(address) = stmt
                .query_row([guid.to_string()], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| db(&self.path, "read addresses", e))?
            {
                out.insert(*guid, address);
            }
        }
        Ok(out)
    }

    fn guids(&self, addresses: &[String]) -> Result<BTreeMap<String, Uuid>, StoreError> {
        let mut out = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT guid FROM objects WHERE address = ?1")
            .map_err(|e| db(&self.path, "read addresses", e))?;
        for address in addresses {
            if let Some(guid) = stmt
                .query_row([address], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| db(&self.path, "read addresses", e))?
            {
                out.insert(address.clone(), parse_guid(&self.path, &guid)?);
            }
        }
        Ok(out)
    }

    fn address_index(&self) -> Result<HashMap<Uuid, String>, StoreError> {
        self.pairs("SELECT guid, address FROM objects", "read addresses")?
            .into_iter()
            .map(|(guid, address)| Ok((parse_guid(&self.path, &guid)?, address)))
            .collect()
    }

    fn deleted(&self, filter: &Filter) -> Result<Vec<super::Deleted>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.guid, c.address, c.changed_at FROM object_changes c
                 WHERE c.action = 'deleted' AND c.changed_at >= ?1 AND c.changed_at < ?2
                   AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.guid = c.guid)
                 ORDER BY c.address",
            )
            .map_err(|e| db(&self.path, "read history", e))?;
        let since = filter.changed_since.clone().unwrap_or_default();
        let until = filter
            .changed_until
            .clone()
            .unwrap_or_else(|| "~".to_string());
        let rows = stmt
            .query_map(params![since, until], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| db(&self.path, "read history", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (guid, address, deleted_at) = row.map_err(|e| db(&self.path, "read history", e))?;
            let kind = address.split('/').next().unwrap_or_default().to_string();
            if !filter.kinds.is_empty() && !filter.kinds.contains(&kind) {
                continue;
            }
            out.push(super::Deleted {
                guid: parse_guid(&self.path, &guid)?,
                address,
                kind,
                deleted_at,
            });
        }
        Ok(out)
    }

    fn secrets(&self, guid: Uuid) -> Result<Vec<(String, Secret)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT pointer, value FROM secrets WHERE guid = ?1 ORDER BY pointer")
            .map_err(|e| db(&self.path, "read secrets", e))?;
        let rows = stmt
            .query_map([guid.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, Secret::new(r.get::<_, String>(1)?)))
            })
            .map_err(|e| db(&self.path, "read secrets", e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| db(&self.path, "read secrets", e))
    }

    fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, COUNT(*) FROM objects GROUP BY kind ORDER BY kind")
            .map_err(|e| db(&self.path, "count", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| db(&self.path, "count", e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| db(&self.path, "count", e))
    }

    fn write(&mut self, batch: &[Change], actor: &Actor) -> Result<Vec<Written>, StoreError> {
        let path = self.path.clone();
        let url = self.url.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db(&path, "begin", e))?;
        let mut at = 0;
        let written = write_in(&tx, &path, &url, batch, actor, &mut at)
            .map_err(|e| in_change(e, batch, at))?;
        tx.commit().map_err(|e| db(&path, "commit", e))?;
        Ok(written)
    }

    fn object_index(&self) -> Result<Vec<StoredObject>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT guid, kind, name, project, hash, version, updated_at, updated_by FROM objects
                 ORDER BY address",
            )
            .map_err(|e| db(&self.path, "list", e))?;
        let mut rows = stmt.query([]).map_err(|e| db(&self.path, "list", e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| db(&self.path, "list", e))? {
            let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<IndexRow> {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            };
            let (guid, kind, name, project, hash, version, updated_at, updated_by) =
                read(r).map_err(|e| db(&self.path, "list", e))?;
            out.push(StoredObject {
                guid: parse_guid(&self.path, &guid)?,
                kind,
                name,
                project,
                spec: Map::new(),
                hash,
                version,
                updated_at,
                updated_by,
                secret_fields: Vec::new(),
            });
        }
        Ok(out)
    }

    fn applied_index(&self) -> Result<HashMap<Uuid, super::AppliedRecord>, StoreError> {
        self.read_applied(false)
    }

    fn references_of(&self, guids: &[Uuid], from: bool) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        let action = "read references";
        let sql = if from {
            "SELECT to_guid FROM object_refs WHERE from_guid = ?1"
        } else {
            "SELECT from_guid FROM object_refs WHERE to_guid = ?1"
        };
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| db(&self.path, action, e))?;
        let mut out = Vec::new();
        for guid in guids {
            let mut rows = stmt
                .query([guid.to_string()])
                .map_err(|e| db(&self.path, action, e))?;
            while let Some(r) = rows.next().map_err(|e| db(&self.path, action, e))? {
                let other: String = r.get(0).map_err(|e| db(&self.path, action, e))?;
                let other = parse_guid(&self.path, &other)?;
                out.push(if from { (*guid, other) } else { (other, *guid) });
            }
        }
        Ok(out)
    }

    fn reference_edges(&self) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        // Hundreds of thousands of rows: GUIDs are parsed from SQLite's own text, not copied.
        let action = "read references";
        let mut stmt = self
            .conn
            .prepare("SELECT from_guid, to_guid FROM object_refs")
            .map_err(|e| db(&self.path, action, e))?;
        let mut rows = stmt.query([]).map_err(|e| db(&self.path, action, e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| db(&self.path, action, e))? {
            let text = |i: usize| -> Result<&str, StoreError> {
                r.get_ref(i)
                    .and_then(|v| v.as_str().map_err(Into::into))
                    .map_err(|e| db(&self.path, action, e))
            };
            let from = parse_guid(&self.path, text(0)?)?;
            let to = parse_guid(&self.path, text(1)?)?;
            out.push((from, to));
        }
        Ok(out)
    }

    fn applied(&self) -> Result<HashMap<Uuid, super::AppliedRecord>, StoreError> {
        self.read_applied(true)
    }

    fn apply(
        &mut self,
        batch: &[Change],
        applied: &[super::AppliedRecord],
        deployment: &Deployment,
        actor: &Actor,
    ) -> Result<Vec<Written>, StoreError> {
        let path = self.path.clone();
        let url = self.url.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db(&path, "begin", e))?;
        let mut at = 0;
        let written = write_in(&tx, &path, &url, batch, actor, &mut at)
            .map_err(|e| in_change(e, batch, at))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO applied (guid, hash, blob_id, deployment_id, applied_at, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| db(&path, "record applied", e))?;
            for a in applied {
                insert
                    .execute(params![
                        a.guid.to_string(),
                        a.hash,
                        a.blob_id,
                        deployment.id,
                        actor.now,
                        a.body
                    ])
                    .map_err(|e| db(&path, "record applied", e))?;
            }
        }
        insert_deployment(&tx, &path, deployment)?;
        if super::cancelled() {
            return Err(StoreError::Cancelled);
        }
        tx.commit().map_err(|e| db(&path, "commit", e))?;
        Ok(written)
    }

    fn lock(&self, now: &str) -> Result<Option<Lock>, StoreError> {
        Ok(read_lock(&self.conn)
            .map_err(|e| db(&self.path, "read lock", e))?
            .filter(|l| l.expires_at.as_str() > now))
    }

    fn acquire_lock(
        &mut self,
        holder: &str,
        purpose: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<Lock, StoreError> {
        let path = self.path.clone();
        let url = self.url.clone();
        // A plain read first (WAL lets it run beside another process's write): a lock held by
        // someone else fails at once, without waiting for that process's transaction.
        if let Some(l) = read_lock(&self.conn).map_err(|e| db(&path, "read lock", e))? {
            if l.expires_at.as_str() > now && l.holder != holder {
                return Err(StoreError::Locked {
                    tenant: url.to_string(),
                    holder: l.holder,
                    purpose: l.purpose,
                    expires_at: l.expires_at,
                });
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db(&path, "begin", e))?;
        let current = read_lock(&tx).map_err(|e| db(&path, "read lock", e))?;
        let acquired_at = match current {
            Some(l) if l.expires_at.as_str() > now && l.holder != holder => {
                return Err(StoreError::Locked {
                    tenant: url.to_string(),
                    holder: l.holder,
                    purpose: l.purpose,
                    expires_at: l.expires_at,
                })
            }
            Some(l) if l.expires_at.as_str() > now => l.acquired_at,
            _ => now.to_string(),
        };
        let lock = Lock {
            holder: holder.to_string(),
            purpose: purpose.to_string(),
            acquired_at,
            expires_at: expires_at.to_string(),
        };
        tx.execute(
            "INSERT OR REPLACE INTO lock (id, holder, purpose, acquired_at, expires_at) VALUES (1, ?1, ?2, ?3, ?4)",
            params![lock.holder, lock.purpose, lock.acquired_at, lock.expires_at],
        )
        .map_err(|e| db(&path, "write lock", e))?;
        tx.commit().map_err(|e| db(&path, "commit", e))?;
        Ok(lock)
    }

    fn release_lock(
        &mut self,
        holder: &str,
        force: bool,
        now: &str,
    ) -> Result<Option<Lock>, StoreError> {
        let path = self.path.clone();
        let url = self.url.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db(&path, "begin", e))?;
        let current = read_lock(&tx).map_err(|e| db(&path, "read lock", e))?;
        let released = match current {
            None => None,
            Some(l) if l.holder != holder && !force && l.expires_at.as_str() > now => {
                return Err(StoreError::NotHolder {
                    tenant: url.to_string(),
                    holder: l.holder,
                    me: holder.to_string(),
                })
            }
            Some(l) => {
                tx.execute("DELETE FROM lock WHERE id = 1", [])
                    .map_err(|e| db(&path, "write lock", e))?;
                Some(l).filter(|l| l.expires_at.as_str() > now)
            }
        };
        tx.commit().map_err(|e| db(&path, "commit", e))?;
        Ok(released)
    }

    fn record_deployment(&mut self, d: &Deployment) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db(&path, "begin", e))?;
        insert_deployment(&tx, &path, d)?;
        tx.commit().map_err(|e| db(&path, "commit", e))
    }

    fn deployments(&self, limit: usize) -> Result<Vec<Deployment>, StoreError> {
        self.read_deployments(
            "ORDER BY started_at DESC, id DESC LIMIT CAST(?1 AS INTEGER)",
            &limit.to_string(),
        )
    }

    fn deployment(&self, id: &str) -> Result<Option<Deployment>, StoreError> {
        Ok(self.read_deployments("WHERE id = ?1", id)?.pop())
    }

    fn managed(&self) -> Result<super::Managed, StoreError> {
        let err = |e| db(&self.path, "read applied", e);
        let count: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM applied a JOIN objects o ON o.guid = a.guid",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.guid, COALESCE(o.address, (SELECT c.address FROM object_changes c
                     WHERE c.guid = a.guid ORDER BY c.version DESC LIMIT 1), a.guid), o.guid IS NULL
                 FROM applied a LEFT JOIN objects o ON o.guid = a.guid
                 WHERE o.guid IS NULL OR o.hash <> a.hash
                 ORDER BY 2",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .map_err(err)?;
        let mut drifted = Vec::new();
        for row in rows {
            let (guid, address, deleted) = row.map_err(err)?;
            drifted.push(super::Drifted {
                guid: parse_guid(&self.path, &guid)?,
                address,
                state: if deleted { "deleted" } else { "changed" },
            });
        }
        Ok(super::Managed {
            count: count as u64,
            drifted,
        })
    }

    fn store_package(&mut self, p: &StoredPackage) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO packages (hash, name, imported_at, expires_at, manifest, content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![p.hash, p.name, p.imported_at, p.expires_at, p.manifest, p.content],
            )
            .map_err(|e| db(&self.path, "keep package", e))?;
        Ok(())
    }

    fn packages(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash, name, imported_at FROM packages ORDER BY imported_at DESC, hash")
            .map_err(|e| db(&self.path, "read packages", e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| db(&self.path, "read packages", e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| db(&self.path, "read packages", e))
    }
}
