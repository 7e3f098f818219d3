//! The PostgreSQL store's schema: the same append-only numbered steps as the SQLite store's
//! ([`crate::store::sqlite::MIGRATIONS`]), one for one, in PostgreSQL's words, recorded in the
//! table `ferry_schema` of the tenant's schema. Text columns have the "C" collation, so that sorting and comparing addresses and times goes by bytes, as on
//! SQLite, whatever the database's collation. An older store is migrated when opened, one
//! transaction per step, under a row lock so that two processes opening it do not both migrate;
//! a newer one is refused.

use super::PgTenant;
use crate::store::StoreError;

/// The schema, one step per version; step N does what SQLite's step N does. Append only.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema. `seq` columns stand in for SQLite's rowid (insertion order).
    r#"
    CREATE TABLE tenant (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT COLLATE "C" NOT NULL,
        platform_version TEXT COLLATE "C" NOT NULL,
        engine TEXT COLLATE "C" NOT NULL,
        engine_mode TEXT COLLATE "C" NOT NULL CHECK (engine_mode IN ('single', 'multi')),
        cluster TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        retention_days INTEGER NOT NULL DEFAULT 30,
        credential_fingerprint TEXT COLLATE "C",
        updated_at TEXT COLLATE "C",
        updated_by TEXT COLLATE "C"
    );
    CREATE TABLE objects (
        guid TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT COLLATE "C" NOT NULL,
        address TEXT COLLATE "C" NOT NULL UNIQUE,
        project TEXT COLLATE "C",
        name TEXT COLLATE "C" NOT NULL,
        body TEXT COLLATE "C" NOT NULL,
        hash TEXT COLLATE "C" NOT NULL,
        version BIGINT NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        updated_by TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX objects_by_kind ON objects (kind, address);
    CREATE TABLE object_refs (
        from_guid TEXT COLLATE "C" NOT NULL REFERENCES objects (guid) ON DELETE CASCADE
            DEFERRABLE INITIALLY IMMEDIATE,
        pointer TEXT COLLATE "C" NOT NULL,
        to_guid TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (from_guid, pointer)
    );
    CREATE INDEX object_refs_by_target ON object_refs (to_guid);
    CREATE TABLE object_changes (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        guid TEXT COLLATE "C" NOT NULL,
        version BIGINT NOT NULL,
        address TEXT COLLATE "C" NOT NULL,
        action TEXT COLLATE "C" NOT NULL,
        changed_at TEXT COLLATE "C" NOT NULL,
        changed_by TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (guid, version)
    );
    CREATE INDEX object_changes_by_time ON object_changes (changed_at);
    CREATE INDEX object_changes_by_seq ON object_changes (seq);
    CREATE TABLE secrets (
        guid TEXT COLLATE "C" NOT NULL REFERENCES objects (guid) ON DELETE CASCADE
            DEFERRABLE INITIALLY IMMEDIATE,
        pointer TEXT COLLATE "C" NOT NULL,
        value TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (guid, pointer)
    );
    CREATE TABLE lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT COLLATE "C" NOT NULL,
        purpose TEXT COLLATE "C" NOT NULL,
        acquired_at TEXT COLLATE "C" NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE deployments (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT COLLATE "C" PRIMARY KEY,
        source TEXT COLLATE "C" NOT NULL,
        plan_hash TEXT COLLATE "C" NOT NULL,
        actor TEXT COLLATE "C" NOT NULL,
        started_at TEXT COLLATE "C" NOT NULL,
        finished_at TEXT COLLATE "C",
        status TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE deployment_results (
        deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
        guid TEXT COLLATE "C" NOT NULL,
        address TEXT COLLATE "C" NOT NULL,
        action TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        message TEXT COLLATE "C",
        PRIMARY KEY (deployment_id, guid)
    );
    CREATE TABLE packages (
        hash TEXT COLLATE "C" PRIMARY KEY,
        name TEXT COLLATE "C" NOT NULL,
        imported_at TEXT COLLATE "C" NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL,
        manifest TEXT COLLATE "C" NOT NULL,
        content BYTEA NOT NULL
    );
    CREATE TABLE applied (
        guid TEXT COLLATE "C" PRIMARY KEY,
        hash TEXT COLLATE "C" NOT NULL,
        blob_id TEXT COLLATE "C",
        deployment_id TEXT COLLATE "C",
        applied_at TEXT COLLATE "C" NOT NULL
    );
    "#,
    // 2: what ferry applied keeps the body too, to show which fields drifted.
    r#"
    ALTER TABLE applied ADD COLUMN body TEXT COLLATE "C";
    "#,
    // 3: covering indexes (INCLUDE keeps the keys small): a plan reads every object's identity,
    // address and hash, and what ferry applied, without the bodies.
    r#"
    CREATE INDEX objects_summary ON objects (address)
        INCLUDE (guid, kind, name, project, hash, version, updated_at, updated_by);
    CREATE INDEX applied_summary ON applied (guid) INCLUDE (hash, blob_id);
    "#,
    // 4: an apply run's lock is a lease.
    r#"
    ALTER TABLE lock ADD COLUMN host TEXT COLLATE "C";
    ALTER TABLE lock ADD COLUMN pid BIGINT;
    ALTER TABLE lock ADD COLUMN renewed_at TEXT COLLATE "C";
    "#,
    // 5: a rollback names the deployment it went back to.
    r#"
    ALTER TABLE deployments ADD COLUMN rollback_of TEXT COLLATE "C";
    "#,
    // 6: the promotion gate.
    r#"
    ALTER TABLE deployments ADD COLUMN objects_tree TEXT COLLATE "C";
    ALTER TABLE deployments ADD COLUMN custom_kinds TEXT COLLATE "C";
    ALTER TABLE deployments ADD COLUMN skip_gate TEXT COLLATE "C";
    CREATE INDEX deployments_by_objects ON deployments (objects_tree, started_at);
    "#,
    // 7: the tenant's own random salt (gen_random_uuid draws from a strong source).
    r#"
    ALTER TABLE tenant ADD COLUMN fingerprint_salt TEXT COLLATE "C";
    UPDATE tenant SET fingerprint_salt =
        replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    "#,
    // 8: imported packages get an id, a mode, who imported them and one row per object.
    r#"
    CREATE TABLE packages_v8 (
        id TEXT COLLATE "C" PRIMARY KEY,
        hash TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        mode TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        imported_at TEXT COLLATE "C" NOT NULL,
        imported_by TEXT COLLATE "C" NOT NULL,
        manifest TEXT COLLATE "C" NOT NULL,
        content BYTEA NOT NULL
    );
    INSERT INTO packages_v8
        SELECT hash, hash, name, 'unknown', imported_at, imported_at, '', manifest, content
        FROM packages;
    DROP TABLE packages;
    ALTER TABLE packages_v8 RENAME TO packages;
    ALTER INDEX packages_v8_pkey RENAME TO packages_pkey;
    CREATE INDEX packages_by_time ON packages (imported_at, id);
    CREATE TABLE package_objects (
        package_id TEXT COLLATE "C" NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
        guid TEXT COLLATE "C" NOT NULL,
        address TEXT COLLATE "C" NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        change TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL DEFAULT 'pending',
        deployment_id TEXT COLLATE "C",
        message TEXT COLLATE "C",
        PRIMARY KEY (package_id, guid)
    );
    "#,
];

/// The store schema version this ferry writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The table that records the schema version.
pub(super) const VERSION_TABLE: &str =
    "CREATE TABLE ferry_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
     INSERT INTO ferry_schema VALUES (1, 0);";

/// Brings an open tenant to [`SCHEMA_VERSION`], one transaction per step; refuses a newer one.
pub(super) fn upgrade(t: &PgTenant) -> Result<(), StoreError> {
    let mut client = t.client.borrow_mut();
    loop {
        let mut tx = client.transaction().map_err(t.err("migrate"))?;
        let version: i64 = tx
            .query_one(
                "SELECT version FROM ferry_schema WHERE id = 1 FOR UPDATE",
                &[],
            )
            .map_err(t.err("read schema version"))?
            .get(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNewSchema {
                tenant: t.url.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        step(&mut tx, t, version)?;
        tx.commit().map_err(t.err("migrate"))?;
    }
}

/// Runs step `from + 1` inside `tx`.
pub(super) fn step(
    tx: &mut postgres::Transaction<'_>,
    t: &PgTenant,
    from: i64,
) -> Result<(), StoreError> {
    tx.batch_execute(MIGRATIONS[from as usize])
        .map_err(t.err("migrate"))?;
    tx.execute(
        "UPDATE ferry_schema SET version = $1 WHERE id = 1",
        &[&(from + 1)],
    )
    .map_err(t.err("migrate"))?;
    Ok(())
}

/// Runs every step inside `tx` (a new tenant).
pub(super) fn all(client: &mut postgres::Transaction<'_>, t: &PgTenant) -> Result<(), StoreError> {
    client
        .batch_execute(VERSION_TABLE)
        .map_err(t.err("migrate"))?;
    for from in 0..SCHEMA_VERSION {
        step(client, t, from)?;
    }
    Ok(())
}
