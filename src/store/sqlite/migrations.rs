//! The store's schema: append-only numbered [`MIGRATIONS`], recorded in `PRAGMA user_version`.
//! An older store is migrated when opened, one transaction per step; a newer one is refused;
//! a SQLite file at version 0 is not a tenant.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::db;
use crate::store::StoreError;

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
    // 4: an apply run's lock is a lease: the host and process that renew it, and when they
    // last did (all null for a lock taken by hand).
    r#"
    ALTER TABLE lock ADD COLUMN host TEXT;
    ALTER TABLE lock ADD COLUMN pid INTEGER;
    ALTER TABLE lock ADD COLUMN renewed_at TEXT;
    "#,
    // 5: a deployment made by `ferry rollback` names the deployment it went back to.
    r#"
    ALTER TABLE deployments ADD COLUMN rollback_of TEXT;
    "#,
    // 6: the promotion gate: what a deployment's revision's objects were (the tree id of
    // objects/ and a digest of the custom kind schemas), and why the gate was skipped, if it was.
    r#"
    ALTER TABLE deployments ADD COLUMN objects_tree TEXT;
    ALTER TABLE deployments ADD COLUMN custom_kinds TEXT;
    ALTER TABLE deployments ADD COLUMN skip_gate TEXT;
    CREATE INDEX deployments_by_objects ON deployments (objects_tree, started_at);
    "#,
    // 7: a random salt of the tenant's own, that keys the fingerprints of secret values a plan
    // file records, so that they cannot be checked against guesses without the tenant.
    r#"
    ALTER TABLE tenant ADD COLUMN fingerprint_salt TEXT;
    UPDATE tenant SET fingerprint_salt = lower(hex(randomblob(32)));
    "#,
    // 8: imported deployment packages get an id, their mode and creation time, who imported
    // them, and one row per object they carry with its deployment status (`pending` until a
    // deployment from the package sets it); retention goes by the time of import.
    r#"
    CREATE TABLE packages_v8 (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        name TEXT NOT NULL,
        mode TEXT NOT NULL,
        created_at TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        imported_by TEXT NOT NULL,
        manifest TEXT NOT NULL,
        content BLOB NOT NULL
    );
    INSERT INTO packages_v8
        SELECT hash, hash, name, 'unknown', imported_at, imported_at, '', manifest, content
        FROM packages;
    DROP TABLE packages;
    ALTER TABLE packages_v8 RENAME TO packages;
    CREATE INDEX packages_by_time ON packages (imported_at, id);
    CREATE TABLE package_objects (
        package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
        guid TEXT NOT NULL,
        address TEXT NOT NULL,
        kind TEXT NOT NULL,
        change TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        deployment_id TEXT,
        message TEXT,
        PRIMARY KEY (package_id, guid)
    );
    "#,
];

/// The store schema version this ferry writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the store at `conn` to [`SCHEMA_VERSION`]: refuses a store made by a newer ferry and a
/// database that is not a tenant, migrates an older one.
pub(super) fn upgrade(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn
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
    migrate(conn, path, version)
}

/// Runs the migrations after version `from`, each in its own transaction.
pub(super) fn migrate(conn: &mut Connection, path: &Path, from: i64) -> Result<(), StoreError> {
    let err = |e| db(path, "migrate", e);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::test_support::tenant;
    use crate::store::sqlite::SqliteTenant;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_tenant_has_the_latest_schema() {
        let (dir, t) = tenant();
        assert_eq!(version(&t.conn), SCHEMA_VERSION);
        drop(t);
        let t = SqliteTenant::open(&dir.path().join("t.db")).unwrap();
        assert_eq!(version(&t.conn), SCHEMA_VERSION);
    }

    #[test]
    fn an_older_store_is_migrated_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path, 0).unwrap();
        // Back to version 1: what the first ferry made.
        conn.execute_batch(
            &format!("{UNDO_8}DROP INDEX objects_summary; DROP INDEX applied_summary;
             ALTER TABLE applied DROP COLUMN body; ALTER TABLE lock DROP COLUMN host;
             ALTER TABLE lock DROP COLUMN pid; ALTER TABLE lock DROP COLUMN renewed_at;
             ALTER TABLE deployments DROP COLUMN rollback_of;
             DROP INDEX deployments_by_objects; ALTER TABLE deployments DROP COLUMN objects_tree;
             ALTER TABLE deployments DROP COLUMN custom_kinds; ALTER TABLE deployments DROP COLUMN skip_gate;
             ALTER TABLE tenant DROP COLUMN fingerprint_salt; PRAGMA user_version = 1;"),
        )
        .unwrap();
        drop(conn);
        let t = SqliteTenant::open(&path).unwrap();
        assert_eq!(version(&t.conn), SCHEMA_VERSION);
        // Step 2's column is there.
        t.conn
            .execute(
                "INSERT INTO applied (guid, hash, applied_at, body) VALUES ('g', 'h', 'now', '{}')",
                [],
            )
            .unwrap();
    }

    #[test]
    fn a_version_3_store_gains_the_lease_columns_and_keeps_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path, 0).unwrap();
        // Back to version 3, holding a lock taken by hand.
        conn.execute_batch(
            &format!("{UNDO_8}ALTER TABLE lock DROP COLUMN host; ALTER TABLE lock DROP COLUMN pid;
             ALTER TABLE lock DROP COLUMN renewed_at;
             ALTER TABLE deployments DROP COLUMN rollback_of;
             DROP INDEX deployments_by_objects; ALTER TABLE deployments DROP COLUMN objects_tree;
             ALTER TABLE deployments DROP COLUMN custom_kinds; ALTER TABLE deployments DROP COLUMN skip_gate;
             ALTER TABLE tenant DROP COLUMN fingerprint_salt; PRAGMA user_version = 3;
             INSERT INTO lock (id, holder, purpose, acquired_at, expires_at)
             VALUES (1, 'ann', 'fix', '2026-03-01T10:00:00Z', '2026-03-01T11:00:00Z');"),
        )
        .unwrap();
        drop(conn);
        let t = SqliteTenant::open(&path).unwrap();
        assert_eq!(version(&t.conn), SCHEMA_VERSION);
        use crate::store::Tenant;
        let lock = t.lock("2026-03-01T10:30:00Z").unwrap().unwrap();
        assert_eq!((lock.holder.as_str(), lock.lease), ("ann", None));
        // Step 4's columns are there, and step 5's.
        t.conn
            .execute(
                "UPDATE lock SET host = 'h', pid = 7, renewed_at = 'now' WHERE id = 1",
                [],
            )
            .unwrap();
        t.conn
            .execute("UPDATE deployments SET rollback_of = 'd'", [])
            .unwrap();
        // And step 6's.
        t.conn
            .execute(
                "UPDATE deployments SET objects_tree = 't', custom_kinds = 'k', skip_gate = 'why'",
                [],
            )
            .unwrap();
    }

    /// SQL that takes a store back from step 8 to step 7's `packages` table.
    const UNDO_8: &str = "DROP TABLE package_objects; DROP TABLE packages;
        CREATE TABLE packages (hash TEXT PRIMARY KEY, name TEXT NOT NULL,
            imported_at TEXT NOT NULL, expires_at TEXT NOT NULL, manifest TEXT NOT NULL,
            content BLOB NOT NULL);\n";

    #[test]
    fn a_version_7_store_keeps_its_packages_with_an_id() {
        use crate::store::Tenant;
        let (_dir, t) = tenant();
        t.conn
            .execute_batch(&format!(
                "{UNDO_8}PRAGMA user_version = 7;
                 INSERT INTO packages VALUES ('h1', 'p.dp', '2026-03-01T10:00:00Z',
                     '2026-04-01T00:00:00Z', '{{}}', x'0102');"
            ))
            .unwrap();
        let path = t.path.clone();
        drop(t);
        let t = SqliteTenant::open(&path).unwrap();
        assert_eq!(version(&t.conn), SCHEMA_VERSION);
        let kept = t.packages().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].id.as_str(), kept[0].name.as_str()), ("h1", "p.dp"));
        assert_eq!(t.package("h1").unwrap().unwrap().content, vec![1, 2]);
    }

    #[test]
    fn every_tenant_has_a_salt_of_its_own_and_older_ones_gain_one() {
        use crate::store::Tenant;
        let (_a, a) = tenant();
        let (_b, b) = tenant();
        let salt = a.fingerprint_salt().unwrap();
        assert_eq!(salt.expose().len(), 64);
        assert_ne!(salt, b.fingerprint_salt().unwrap());
        // A version 6 store gets one when migrated.
        a.conn
            .execute_batch(&format!(
                "{UNDO_8}ALTER TABLE tenant DROP COLUMN fingerprint_salt; PRAGMA user_version = 6;"
            ))
            .unwrap();
        let path = a.path.clone();
        drop(a);
        let a = SqliteTenant::open(&path).unwrap();
        let again = a.fingerprint_salt().unwrap();
        assert_eq!(again.expose().len(), 64);
        assert_ne!(again, salt);
    }

    #[test]
    fn a_newer_store_is_refused() {
        let (dir, t) = tenant();
        t.conn
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(t);
        let path = dir.path().join("t.db");
        match SqliteTenant::open(&path) {
            Err(StoreError::TooNew {
                path: p,
                found,
                known,
            }) => {
                assert_eq!(
                    (p, found, known),
                    (path, SCHEMA_VERSION + 1, SCHEMA_VERSION)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_database_without_a_schema_is_not_a_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert!(matches!(
            SqliteTenant::open(&path),
            Err(StoreError::NotTenant { .. })
        ));
    }
}
