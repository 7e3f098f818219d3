//! The networked tenant store: a schema of its own in a PostgreSQL database
//! (`postgres://…?schema=NAME`, `ferry` by default), through the synchronous `postgres` crate
//! with TLS by rustls ([`connect`]). The only module that uses the `postgres` crate.
//!
//! Its tables are the SQLite store's, made by the same numbered steps ([`migrations`]); reads
//! are in `read.rs`, a batch of changes in `write.rs`, deployments and packages in
//! `deployments.rs`, the lock in `lock.rs`. Every plan-path read is one query whatever the
//! tenant's size: lists of keys go as arrays (`= ANY($1)`), never one query per object.
//!
//! # Transactions and isolation
//!
//! Every write is one transaction, so a batch (and an apply: the batch, the applied records
//! and the deployment record) is all or nothing, even when the process is killed: the server
//! rolls back the transaction of a connection that goes away. Writers are serialised by a row
//! lock: a write transaction first takes `SELECT … FROM tenant … FOR UPDATE` (waiting up to
//! `lock_timeout`, 10 s, then [`StoreError::Busy`] naming the lock's holder), as SQLite's
//! `BEGIN IMMEDIATE` serialises its writers. The isolation level is READ COMMITTED, chosen
//! over REPEATABLE READ and SERIALIZABLE on purpose: each statement sees what was committed
//! before it began, so once a writer holds the row lock every later statement of its
//! transaction sees every earlier writer's commit; the re-check of what a plan saw (the
//! tenant's [`crate::store::fingerprint`]) runs after the row lock is taken, inside the write
//! transaction, and so no other writer can come between it and the writes. A snapshot level
//! would instead have read the tenant as of the transaction's start (before the row lock was
//! granted) and failed with serialization errors to retry, not with an error naming who wrote.
//!
//! The maintenance lock is a lease row taken by one statement (`INSERT … ON CONFLICT … DO
//! UPDATE … WHERE` the holder is the same or the lock has expired), which the server runs
//! atomically: two runners cannot both get it. It does not wait for a writer's row lock, so a
//! runner that finds it held fails at once naming the holder; every write checks it inside
//! its transaction and fails naming the holder too.

pub mod connect;
mod deployments;
mod lock;
pub mod migrations;
mod read;
mod write;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use postgres::error::SqlState;
use postgres::{Client, Transaction};
use uuid::Uuid;

use super::{
    Actor, AppliedRecord, Change, Content, Deleted, Deployment, Facts, Filter, Lease, Lock,
    Managed, ObjectKey, PackageSummary, PostgresUrl, Settings, StoreError, StoredObject,
    StoredPackage, Tenant, TenantUrl, Written,
};
use crate::secret::Secret;
use crate::store::copy::{self, Cell, Kind};

pub use migrations::{MIGRATIONS, SCHEMA_VERSION};

/// A tenant in a PostgreSQL schema.
pub struct PgTenant {
    client: RefCell<Client>,
    url: TenantUrl,
    schema: String,
}

impl std::fmt::Debug for PgTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgTenant({})", self.url)
    }
}

/// `name` quoted as an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PgTenant {
    fn connect(url: &TenantUrl, pg: &PostgresUrl) -> Result<PgTenant, StoreError> {
        let (client, schema) = connect::connect(url, pg)?;
        Ok(PgTenant {
            client: RefCell::new(client),
            url: url.clone(),
            schema,
        })
    }

    /// The tables in the tenant's schema, sorted.
    fn tables(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1
                 ORDER BY 1",
                &[&self.schema],
            )
            .map_err(self.err("read schema"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Points the session at the tenant's schema and sets its lock wait.
    fn configure(&self) -> Result<(), StoreError> {
        self.client
            .borrow_mut()
            .batch_execute(&format!(
                "SET search_path TO {}; SET lock_timeout = '10s'; SET client_min_messages = warning",
                ident(&self.schema)
            ))
            .map_err(self.err("configure"))
    }

    /// Opens an existing tenant, migrating an older store.
    pub fn open(url: &TenantUrl, pg: &PostgresUrl) -> Result<PgTenant, StoreError> {
        let t = PgTenant::connect(url, pg)?;
        t.configure()?;
        if !t.tables()?.iter().any(|name| name == "ferry_schema") {
            return Err(StoreError::NoTenantSchema {
                tenant: url.clone(),
                schema: t.schema.clone(),
            });
        }
        migrations::upgrade(&t)?;
        Ok(t)
    }

    /// Makes a new tenant in the URL's schema (creating the schema when it does not exist);
    /// refuses a schema that holds any table. One transaction: nothing is left when it fails.
    pub fn create(
        url: &TenantUrl,
        pg: &PostgresUrl,
        facts: &Facts,
        now: &str,
    ) -> Result<PgTenant, StoreError> {
        let t = PgTenant::connect(url, pg)?;
        t.configure()?;
        {
            let mut client = t.client.borrow_mut();
            let mut tx = client.transaction().map_err(t.err("create"))?;
            // Two inits of one schema at once: the second waits, then finds the first's tables.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('ferry init ' || $1))",
                &[&t.schema],
            )
            .map_err(t.err("create"))?;
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(&t.schema)))
                .map_err(t.err("create schema"))?;
            let tables: Vec<String> = tx
                .query(
                    "SELECT table_name::text FROM information_schema.tables
                     WHERE table_schema = $1 ORDER BY 1",
                    &[&t.schema],
                )
                .map_err(t.err("read schema"))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if let Some(first) = tables.first() {
                return Err(StoreError::SchemaInUse {
                    tenant: url.clone(),
                    schema: t.schema.clone(),
                    table: first.clone(),
                    is_tenant: tables.iter().any(|n| n == "ferry_schema"),
                });
            }
            migrations::all(&mut tx, &t)?;
            tx.execute(
                "INSERT INTO tenant (id, name, platform_version, engine, engine_mode, cluster, created_at, fingerprint_salt)
                 VALUES (1, $1, $2, $3, $4, $5, $6,
                     replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''))",
                &[&facts.name, &facts.platform_version, &facts.engine, &facts.engine_mode, &facts.cluster, &now],
            )
            .map_err(t.err("write facts"))?;
            tx.execute("INSERT INTO settings (id) VALUES (1)", &[])
                .map_err(t.err("write settings"))?;
            tx.commit().map_err(t.err("create"))?;
        }
        Ok(t)
    }

    /// Runs `f` in a write transaction holding the writers' row lock, and commits what it
    /// did unless it fails (then everything rolls back). When the wait for the row lock runs
    /// out, the error names the maintenance lock's holder, who is most likely the writer.
    fn in_write<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>, &TenantUrl) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let url = &self.url;
        let mut client = self.client.borrow_mut();
        let outcome = (|| {
            let mut tx = client.transaction().map_err(pg_err(url, "begin"))?;
            tx.execute("SELECT 1 FROM tenant WHERE id = 1 FOR UPDATE", &[])
                .map_err(pg_err(url, "begin"))?;
            let value = f(&mut tx, url)?;
            tx.commit().map_err(pg_err(url, "commit"))?;
            Ok(value)
        })();
        match outcome {
            Err(StoreError::Busy {
                tenant,
                action,
                holder: None,
            }) => Err(StoreError::Busy {
                tenant,
                action,
                holder: lock::read(&mut *client, url)
                    .ok()
                    .flatten()
                    .map(|l| l.holder),
            }),
            other => other,
        }
    }

    /// Turns a driver error met while doing `action` into a [`StoreError`] naming this tenant.
    fn err(&self, action: &'static str) -> impl Fn(postgres::Error) -> StoreError + '_ {
        pg_err(&self.url, action)
    }
}

/// A driver error met at `url` while doing `action`, as a [`StoreError`].
fn pg_err<'a>(
    url: &'a TenantUrl,
    action: &'static str,
) -> impl Fn(postgres::Error) -> StoreError + 'a {
    move |e| {
        if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            return StoreError::Busy {
                tenant: url.clone(),
                action,
                holder: None,
            };
        }
        let password = match url {
            TenantUrl::Postgres(pg) => pg.password().and_then(|p| p.expose()).map(str::to_string),
            TenantUrl::Sqlite(_) => None,
        };
        StoreError::Server {
            tenant: url.clone(),
            action,
            message: connect::scrub(&connect::describe(&e), password.as_deref()),
        }
    }
}

/// A GUID read from the server; a damaged one is [`StoreError::Corrupt`].
fn parse_guid(url: &TenantUrl, text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt {
        path: PathBuf::from(url.to_string()),
        object: text.to_string(),
        damaged_guid: true,
        message: e.to_string(),
    })
}

impl Tenant for PgTenant {
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
        // A plain read first: a lock held by someone else fails at once, without waiting for
        // another writer's transaction.
        lock::check(
            &mut *self.client.borrow_mut(),
            &self.url,
            &actor.name,
            &actor.now,
        )?;
        self.in_write(|tx, url| write::write_batch(tx, url, batch, actor))
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
        Ok(lock::read(&mut *self.client.borrow_mut(), &self.url)?.filter(|l| l.live_at(now)))
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
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT id, source FROM deployments WHERE status = 'succeeded'
                 ORDER BY started_at DESC, id DESC LIMIT 1",
                &[],
            )
            .map_err(self.err("read deployments"))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn applied_plan(&self, plan_hash: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT id, started_at FROM deployments WHERE plan_hash = $1 AND status = 'succeeded'
                 ORDER BY started_at DESC, id DESC LIMIT 1",
                &[&plan_hash],
            )
            .map_err(self.err("read deployments"))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
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

    fn set_package_statuses(
        &mut self,
        id: &str,
        objects: &[super::PackageObject],
    ) -> Result<(), StoreError> {
        deployments::set_package_statuses(self, id, objects)
    }

    fn table_rows(&self, table: &copy::Table) -> Result<copy::Rows, StoreError> {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        let rows = self.rows(
            "read for a copy",
            &format!(
                "SELECT {} FROM {} ORDER BY {}",
                columns.join(", "),
                table.name,
                table.order.1
            ),
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, kind))| match kind {
                        Kind::Int => r
                            .get::<_, Option<i32>>(i)
                            .map_or(Cell::Null, |n| Cell::Int(n.into())),
                        Kind::BigInt => r.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
                        Kind::Text => r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
                        Kind::Bytes => r
                            .get::<_, Option<Vec<u8>>>(i)
                            .map_or(Cell::Null, Cell::Bytes),
                    })
                    .collect()
            })
            .collect())
    }

    fn load_tables(&mut self, rows: &[copy::Rows]) -> Result<(), StoreError> {
        use postgres::types::ToSql;
        self.in_write(|tx, url| {
            let err = pg_err(url, "write a copy");
            tx.batch_execute("SET CONSTRAINTS ALL DEFERRED")
                .map_err(&err)?;
            for table in copy::TABLES.iter().rev() {
                tx.batch_execute(&format!("DELETE FROM {}", table.name))
                    .map_err(&err)?;
            }
            // One statement per table: every column as an array, rows kept in order.
            for (table, rows) in copy::TABLES.iter().zip(rows) {
                if rows.is_empty() {
                    continue;
                }
                let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
                let mut casts = Vec::new();
                for (i, (_, kind)) in table.columns.iter().enumerate() {
                    let cells = rows.iter().map(|r| &r[i]);
                    let (array, cast): (Box<dyn ToSql + Sync>, &str) = match kind {
                        Kind::Int => (
                            Box::new(
                                cells
                                    .map(|c| match c {
                                        Cell::Int(n) => Some(*n as i32),
                                        _ => None,
                                    })
                                    .collect::<Vec<_>>(),
                            ),
                            "int4[]",
                        ),
                        Kind::BigInt => (
                            Box::new(
                                cells
                                    .map(|c| match c {
                                        Cell::Int(n) => Some(*n),
                                        _ => None,
                                    })
                                    .collect::<Vec<_>>(),
                            ),
                            "int8[]",
                        ),
                        Kind::Text => (
                            Box::new(
                                cells
                                    .map(|c| match c {
                                        Cell::Text(t) => Some(t.clone()),
                                        _ => None,
                                    })
                                    .collect::<Vec<_>>(),
                            ),
                            "text[]",
                        ),
                        Kind::Bytes => (
                            Box::new(
                                cells
                                    .map(|c| match c {
                                        Cell::Bytes(b) => Some(b.clone()),
                                        _ => None,
                                    })
                                    .collect::<Vec<_>>(),
                            ),
                            "bytea[]",
                        ),
                    };
                    params.push(array);
                    casts.push(format!("${}::{cast}", i + 1));
                }
                let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
                let names: Vec<String> = (0..columns.len()).map(|i| format!("c{i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({columns}) SELECT {names} FROM unnest({casts})
                         WITH ORDINALITY AS x ({names}, n) ORDER BY n",
                    table = table.name,
                    columns = columns.join(", "),
                    names = names.join(", "),
                    casts = casts.join(", ")
                );
                let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
                tx.execute(&sql, &refs).map_err(&err)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::{postgres_url, with_schema};
    use crate::store::sqlite::test_support::facts;

    const T0: &str = "2026-03-01T10:00:00Z";

    /// A URL of a new schema on the test server, and a plain connection to that database.
    fn fresh() -> Option<(TenantUrl, Client, String)> {
        let base = postgres_url()?;
        let schema = format!("s_{}", Uuid::new_v4().simple());
        let url = TenantUrl::parse(&with_schema(&base, &schema)).unwrap();
        let TenantUrl::Postgres(pg) = &url else {
            unreachable!()
        };
        let (client, _) = connect::connect(&url, pg).unwrap();
        Some((url, client, schema))
    }

    #[test]
    fn init_refuses_a_schema_that_holds_other_tables() {
        let Some((url, mut client, schema)) = fresh() else {
            return;
        };
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {0}; CREATE TABLE {0}.customers (id int)",
                ident(&schema)
            ))
            .unwrap();
        let e = crate::store::create(&url, &facts(), T0).err().unwrap();
        assert!(
            matches!(&e, StoreError::SchemaInUse { table, is_tenant: false, .. } if table == "customers"),
            "{e:?}"
        );
        // Nothing of ferry's was left there.
        let n: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
                &[&schema],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
        // And a schema without ferry's tables is not a tenant.
        let e = crate::store::open(&url).err().unwrap();
        assert!(matches!(e, StoreError::NoTenantSchema { .. }), "{e:?}");
    }

    #[test]
    fn an_older_store_is_migrated_and_a_newer_one_refused() {
        let Some((url, mut client, schema)) = fresh() else {
            return;
        };
        // What a ferry of schema version 3 made.
        let mut sql = format!(
            "CREATE SCHEMA {0}; SET search_path TO {0}; {1}",
            ident(&schema),
            migrations::VERSION_TABLE
        );
        for step in &MIGRATIONS[..3] {
            sql.push_str(step);
        }
        sql.push_str(&format!(
            "UPDATE ferry_schema SET version = 3;
             INSERT INTO tenant VALUES (1, 't', '4.5.0', 'spark', 'single', 'c1', '{T0}');
             INSERT INTO settings (id) VALUES (1);
             INSERT INTO lock VALUES (1, 'ann', 'fix', '{T0}', '2026-03-01T11:00:00Z');"
        ));
        client.batch_execute(&sql).unwrap();
        let t = crate::store::open(&url).unwrap();
        let version: i64 = client
            .query_one("SELECT version FROM ferry_schema", &[])
            .unwrap()
            .get(0);
        assert_eq!(version, SCHEMA_VERSION);
        let lock = t.lock("2026-03-01T10:30:00Z").unwrap().unwrap();
        assert_eq!((lock.holder.as_str(), lock.lease), ("ann", None));
        assert_eq!(
            t.fingerprint_salt().unwrap().expose().len(),
            64,
            "step 7 ran"
        );
        assert!(t.packages().unwrap().is_empty(), "step 8 ran");
        drop(t);
        client
            .execute("UPDATE ferry_schema SET version = version + 1", &[])
            .unwrap();
        let e = crate::store::open(&url).err().unwrap();
        assert!(
            matches!(e, StoreError::TooNewSchema { found, known, .. } if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
            "{e:?}"
        );
    }

    /// Whether the connection `url` names is encrypted, as the server says.
    fn encrypted(url: &str) -> Result<bool, StoreError> {
        let url = TenantUrl::parse(url).unwrap();
        let TenantUrl::Postgres(pg) = &url else {
            unreachable!()
        };
        let (mut client, _) = connect::connect(&url, pg)?;
        Ok(client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0))
    }

    #[test]
    fn sslmode_is_honoured_over_tls_with_rustls() {
        let Some(base) = postgres_url() else {
            return;
        };
        let Ok(ca) = std::env::var("FERRY_TEST_POSTGRES_CA") else {
            eprintln!("skipped: the test server has no TLS (FERRY_TEST_POSTGRES_CA is not set)");
            return;
        };
        let base = base.split('?').next().unwrap().to_string();
        assert!(!encrypted(&format!("{base}?sslmode=disable")).unwrap());
        assert!(encrypted(&format!("{base}?sslmode=prefer")).unwrap());
        assert!(encrypted(&format!("{base}?sslmode=require")).unwrap());
        assert!(encrypted(&format!("{base}?sslmode=verify-full&sslrootcert={ca}")).unwrap());
        // verify-full checks the certificate: not one of the web's roots.
        let e = encrypted(&format!("{base}?sslmode=verify-full")).unwrap_err();
        assert!(
            matches!(&e, StoreError::Connect { message, .. } if message.contains("UnknownIssuer")),
            "{e:?}"
        );
    }

    #[test]
    fn a_wrong_password_is_refused_without_being_shown() {
        let Some(base) = postgres_url() else {
            return;
        };
        let TenantUrl::Postgres(pg) = TenantUrl::parse(&base).unwrap() else {
            panic!("not a postgres URL");
        };
        let canary = "canary-3f9a1c";
        let text = format!(
            "postgres://{}:{canary}@{}:{}/{}?sslmode=disable",
            pg.user().unwrap_or("ferry"),
            pg.host(),
            pg.port().unwrap_or(5432),
            pg.database().unwrap_or("ferry")
        );
        let url = TenantUrl::parse(&text).unwrap();
        let e = crate::store::open(&url).err().unwrap();
        assert!(matches!(e, StoreError::Connect { .. }), "{e:?}");
        assert!(
            e.to_string().contains("password authentication failed"),
            "{e}"
        );
        assert!(!e.to_string().contains(canary), "{e}");
        assert!(!format!("{e:?}").contains(canary), "{e:?}");
    }
}
