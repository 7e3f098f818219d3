//! The write path: a batch of [`Change`]s inside one open transaction (see
//! [`crate::store::Tenant::write`]), and settings changes; the same steps as the SQLite
//! store's `write.rs`. The rows of every object the batch puts are read in one query before
//! the first change; statements are prepared once per batch.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Statement, Transaction};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{lock, parse_guid, pg_err, PgTenant};
use crate::model::hash::{canonical_json, canonical_json_of_map, content_hash};
use crate::store::sqlite::write::{
    change_action, followed, put_outcome, replace_string, Before, Follow,
};
use crate::store::{address_of, Actor, Change, NewObject, Outcome, StoreError, TenantUrl, Written};

/// Writes a batch inside an open write transaction. A server failure names the change it
/// happened in ([`StoreError::WriteFailed`]).
pub(super) fn write_batch(
    tx: &mut Transaction<'_>,
    url: &TenantUrl,
    batch: &[Change],
    actor: &Actor,
) -> Result<Vec<Written>, StoreError> {
    lock::check(tx, url, &actor.name, &actor.now)?;
    let mut writer = Writer {
        tx,
        url,
        actor,
        deleted: HashMap::new(),
        statements: HashMap::new(),
    };
    let mut at = 0;
    writer
        .run(batch, &mut at)
        .map_err(|e| in_change(e, batch, at))
}

struct Writer<'a, 'b> {
    tx: &'a mut Transaction<'b>,
    url: &'a TenantUrl,
    actor: &'a Actor,
    /// The objects the batch deleted: GUID → address.
    deleted: HashMap<String, String>,
    statements: HashMap<&'static str, Statement>,
}

impl Writer<'_, '_> {
    fn err(&self, action: &'static str) -> impl Fn(postgres::Error) -> StoreError + '_ {
        pg_err(self.url, action)
    }

    /// The statement for `sql`, prepared once per batch.
    fn statement(
        &mut self,
        sql: &'static str,
        action: &'static str,
    ) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(pg_err(self.url, action))?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn exec(
        &mut self,
        sql: &'static str,
        action: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let s = self.statement(sql, action)?;
        self.tx
            .execute(&s, params)
            .map_err(pg_err(self.url, action))
    }

    fn query(
        &mut self,
        sql: &'static str,
        action: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let s = self.statement(sql, action)?;
        self.tx.query(&s, params).map_err(pg_err(self.url, action))
    }

    fn run(&mut self, batch: &[Change], at: &mut usize) -> Result<Vec<Written>, StoreError> {
        let delay = crate::store::fault_write_delay();
        let before = self.free_renamed(batch)?;
        let mut written = Vec::with_capacity(batch.len());
        for (i, change) in batch.iter().enumerate() {
            *at = i;
            if crate::store::cancelled() {
                return Err(StoreError::Cancelled);
            }
            if let Some(delay) = delay {
                if i == 1 {
                    eprintln!("fault injection: batch write in progress");
                }
                std::thread::sleep(delay);
            }
            written.push(match change {
                Change::Put(o) => self.put(o, before.get(&o.guid.to_string()))?,
                Change::Adopt { from, to } => self.adopt(*from, *to)?,
                Change::Delete(guid) => self.delete(*guid)?,
            });
        }
        *at = batch.len();
        self.check_references()?;
        self.check_folded(&written)?;
        Ok(written)
    }

    /// See the SQLite store's `check_folded`.
    fn check_folded(&mut self, written: &[Written]) -> Result<(), StoreError> {
        use crate::model::path::folded;
        let new: HashMap<String, &Written> = written
            .iter()
            .filter(|w| matches!(w.outcome, Outcome::Created | Outcome::Renamed))
            .map(|w| (folded(&w.address), w))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let mut clash: Option<(String, String, String)> = None;
        for row in self.query("SELECT guid, address FROM objects", "check addresses", &[])? {
            let address: String = row.get(1);
            let Some(w) = new.get(&folded(&address)) else {
                continue;
            };
            if address != w.address {
                let found = (w.address.clone(), address, row.get::<_, String>(0));
                if clash
                    .as_ref()
                    .is_none_or(|c| (&found.0, &found.1) < (&c.0, &c.1))
                {
                    clash = Some(found);
                }
            }
        }
        match clash {
            None => Ok(()),
            Some((address, other, guid)) => Err(StoreError::AddressFolds {
                address,
                other,
                guid: parse_guid(self.url, &guid)?,
            }),
        }
    }

    /// The current rows of the given objects, in one query.
    fn rows_of(&mut self, guids: &[String]) -> Result<HashMap<String, Before>, StoreError> {
        Ok(self
            .query(
                "SELECT guid, address, hash, version FROM objects WHERE guid = ANY($1)",
                "read object",
                &[&guids],
            )?
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect())
    }

    /// Reads each put or adopted object's row as it was (one query), and moves the objects a
    /// put renames to a temporary address (one statement), so that an address a rename frees
    /// can be taken by another change of the same batch.
    fn free_renamed(&mut self, batch: &[Change]) -> Result<HashMap<String, Before>, StoreError> {
        let keys: Vec<String> = batch
            .iter()
            .filter_map(|c| match c {
                Change::Put(o) => Some(o.guid.to_string()),
                Change::Adopt { from, .. } => Some(from.to_string()),
                Change::Delete(_) => None,
            })
            .collect();
        let current = self.rows_of(&keys)?;
        let mut before = HashMap::new();
        let mut renamed: Vec<String> = Vec::new();
        for change in batch {
            match change {
                Change::Put(o) => {
                    let guid = o.guid.to_string();
                    if before.contains_key(&guid) {
                        continue;
                    }
                    if let Some(row) = current.get(&guid) {
                        if row.0 != o.address() {
                            renamed.push(guid.clone());
                        }
                        before.insert(guid, row.clone());
                    }
                }
                Change::Adopt { from, to } => {
                    if let Some(row) = current.get(&from.to_string()) {
                        before.insert(to.to_string(), row.clone());
                    }
                }
                Change::Delete(_) => {}
            }
        }
        if !renamed.is_empty() {
            self.exec(
                "UPDATE objects SET address = E'\\x01renaming/' || guid WHERE guid = ANY($1)",
                "rename",
                &[&renamed],
            )?;
        }
        Ok(before)
    }

    fn row_of(&mut self, guid: &str) -> Result<Option<Before>, StoreError> {
        Ok(self
            .query(
                "SELECT address, hash, version FROM objects WHERE guid = $1",
                "read object",
                &[&guid],
            )?
            .first()
            .map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    fn put(&mut self, o: &NewObject, existing: Option<&Before>) -> Result<Written, StoreError> {
        let guid = o.guid.to_string();
        let address = o.address();
        let holder: Option<String> = self
            .query(
                "SELECT guid FROM objects WHERE address = $1",
                "read object",
                &[&address],
            )?
            .first()
            .map(|r| r.get(0));
        if let Some(other) = holder.filter(|g| *g != guid) {
            return Err(StoreError::AddressTaken {
                address,
                guid: parse_guid(self.url, &other)?,
            });
        }
        let secrets_changed = self.secrets_differ(&guid, o)?;
        let (outcome, version, old_address) =
            put_outcome(existing, &address, &o.hash, secrets_changed, || {
                self.last_version(&guid)
            })?;
        if outcome != Outcome::Unchanged {
            if existing.is_some() {
                self.follow_elements(&guid, &o.spec)?;
            }
            self.write_object(&guid, &address, o, version)?;
            self.record_change(&guid, version, &address, change_action(outcome))?;
        }
        Ok(Written {
            guid: o.guid,
            address,
            old_address,
            outcome,
            version,
        })
    }

    /// Whether any secret the put sets differs from the value kept (one query).
    fn secrets_differ(&mut self, guid: &str, o: &NewObject) -> Result<bool, StoreError> {
        if o.secrets.is_empty() {
            return Ok(false);
        }
        let kept: HashMap<String, String> = self
            .query(
                "SELECT pointer, value FROM secrets WHERE guid = $1",
                "read secrets",
                &[&guid],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(o.secrets
            .iter()
            .any(|(pointer, value)| kept.get(pointer).map(String::as_str) != Some(value.expose())))
    }

    /// See the SQLite store's `follow_elements`: secret values inside array elements follow
    /// their elements when an array is reordered.
    fn follow_elements(&mut self, guid: &str, spec: &Map<String, Value>) -> Result<(), StoreError> {
        let kept: Vec<(String, String)> = self
            .query(
                "SELECT pointer, value FROM secrets WHERE guid = $1 ORDER BY pointer",
                "move secrets",
                &[&guid],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let indexed = |p: &String| {
            crate::model::pointer::segments(p)
                .iter()
                .any(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        };
        if !kept.iter().any(|(p, _)| indexed(p)) {
            return Ok(());
        }
        let old: Option<String> = self
            .query(
                "SELECT body FROM objects WHERE guid = $1",
                "move secrets",
                &[&guid],
            )?
            .first()
            .map(|r| r.get(0));
        let Some(old) = old.and_then(|b| serde_json::from_str::<Value>(&b).ok()) else {
            return Ok(());
        };
        let old = serde_json::json!({ "spec": old });
        let new = serde_json::json!({ "spec": Value::Object(spec.clone()) });
        let mut gone: Vec<String> = Vec::new();
        let mut moved: Vec<(String, String)> = Vec::new();
        for (pointer, value) in kept.iter().filter(|(p, _)| indexed(p)) {
            match followed(&old, &new, pointer) {
                Follow::Stay => {}
                Follow::Move(to) => {
                    gone.push(pointer.clone());
                    moved.push((to, value.clone()));
                }
                Follow::Drop => gone.push(pointer.clone()),
            }
        }
        self.exec(
            "DELETE FROM secrets WHERE guid = $1 AND pointer = ANY($2)",
            "move secrets",
            &[&guid, &gone],
        )?;
        let (to, values): (Vec<String>, Vec<String>) = moved.into_iter().unzip();
        self.exec(
            "INSERT INTO secrets (guid, pointer, value) SELECT $1, p, v FROM unnest($2::text[], $3::text[]) AS x (p, v)
             ON CONFLICT (guid, pointer) DO UPDATE SET value = EXCLUDED.value",
            "move secrets",
            &[&guid, &to, &values],
        )?;
        Ok(())
    }

    /// Writes an object's row, its references and the secrets it sets.
    fn write_object(
        &mut self,
        guid: &str,
        address: &str,
        o: &NewObject,
        version: i64,
    ) -> Result<(), StoreError> {
        let body = canonical_json_of_map(&o.spec);
        let (now, name) = (self.actor.now.clone(), self.actor.name.clone());
        self.exec(
            "INSERT INTO objects (guid, kind, address, project, name, body, hash, version, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (guid) DO UPDATE SET kind = EXCLUDED.kind, address = EXCLUDED.address,
                 project = EXCLUDED.project, name = EXCLUDED.name, body = EXCLUDED.body,
                 hash = EXCLUDED.hash, version = EXCLUDED.version,
                 updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
            "write object",
            &[&guid, &o.kind, &address, &o.project, &o.name, &body, &o.hash, &version, &now, &name],
        )?;
        let (pointers, targets): (Vec<String>, Vec<String>) = o
            .references
            .iter()
            .map(|(p, t)| (p.clone(), t.to_string()))
            .unzip();
        self.exec(
            "DELETE FROM object_refs WHERE from_guid = $1",
            "write references",
            &[&guid],
        )?;
        if !pointers.is_empty() {
            self.exec(
                "INSERT INTO object_refs (from_guid, pointer, to_guid)
                 SELECT $1, p, t FROM unnest($2::text[], $3::text[]) AS x (p, t)
                 ON CONFLICT (from_guid, pointer) DO UPDATE SET to_guid = EXCLUDED.to_guid",
                "write references",
                &[&guid, &pointers, &targets],
            )?;
        }
        if !o.secrets.is_empty() {
            let (pointers, values): (Vec<String>, Vec<String>) = o
                .secrets
                .iter()
                .map(|(p, v)| (p.clone(), v.expose().to_string()))
                .unzip();
            self.exec(
                "INSERT INTO secrets (guid, pointer, value)
                 SELECT $1, p, v FROM unnest($2::text[], $3::text[]) AS x (p, v)
                 ON CONFLICT (guid, pointer) DO UPDATE SET value = EXCLUDED.value",
                "write secrets",
                &[&guid, &pointers, &values],
            )?;
        }
        Ok(())
    }

    fn record_change(
        &mut self,
        guid: &str,
        version: i64,
        address: &str,
        action: &str,
    ) -> Result<(), StoreError> {
        let (now, name) = (self.actor.now.clone(), self.actor.name.clone());
        self.exec(
            "INSERT INTO object_changes (guid, version, address, action, changed_at, changed_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
            "write history",
            &[&guid, &version, &address, &action, &now, &name],
        )?;
        Ok(())
    }

    /// Gives the object `from` the GUID `to`: its row, references, secrets, and the bodies of
    /// the objects that refer to it.
    fn adopt(&mut self, from: Uuid, to: Uuid) -> Result<Written, StoreError> {
        let (from_s, to_s) = (from.to_string(), to.to_string());
        let Some((address, _, version)) = self.row_of(&from_s)? else {
            return Err(StoreError::NoSuchObject { guid: from });
        };
        // Foreign keys are checked at commit, once every row has the new GUID.
        self.tx
            .batch_execute("SET CONSTRAINTS ALL DEFERRED")
            .map_err(self.err("adopt"))?;
        for sql in [
            "UPDATE objects SET guid = $2 WHERE guid = $1",
            "UPDATE object_refs SET from_guid = $2 WHERE from_guid = $1",
            "UPDATE object_refs SET to_guid = $2 WHERE to_guid = $1",
            "UPDATE secrets SET guid = $2 WHERE guid = $1",
        ] {
            self.exec(sql, "adopt", &[&from_s, &to_s])?;
        }
        self.exec("DELETE FROM applied WHERE guid = $1", "adopt", &[&from_s])?;
        self.rekey_dependents(&from_s, &to_s)?;
        Ok(Written {
            guid: to,
            address,
            old_address: None,
            outcome: Outcome::Updated,
            version,
        })
    }

    fn rekey_dependents(&mut self, from: &str, to: &str) -> Result<(), StoreError> {
        let dependents = self.query(
            "SELECT o.guid, o.kind, o.name, o.project, o.body, o.hash FROM objects o
             WHERE o.guid IN (SELECT from_guid FROM object_refs WHERE to_guid = $1)",
            "adopt",
            &[&to],
        )?;
        for r in dependents {
            let (guid, kind, name, project, body, old_hash): (
                String,
                String,
                String,
                Option<String>,
                String,
                String,
            ) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
            let mut spec: Value = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: self.url.to_string().into(),
                object: format!("{guid} ({})", address_of(&kind, project.as_deref(), &name)),
                damaged_guid: false,
                message: e.to_string(),
            })?;
            replace_string(&mut spec, from, to);
            let spec = match spec {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            let hash = content_hash(&kind, &name, project.as_deref(), &spec);
            let body = canonical_json(&Value::Object(spec));
            self.exec(
                "UPDATE objects SET body = $2, hash = $3 WHERE guid = $1",
                "adopt",
                &[&guid, &body, &hash],
            )?;
            self.exec(
                "UPDATE applied SET hash = $2, body = replace(body, $4, $5)
                 WHERE guid = $1 AND hash = $3",
                "adopt",
                &[&guid, &hash, &old_hash, &from, &to],
            )?;
        }
        Ok(())
    }

    fn last_version(&mut self, guid: &str) -> Result<i64, StoreError> {
        Ok(self
            .query(
                "SELECT COALESCE(MAX(version), 0)::bigint FROM object_changes WHERE guid = $1",
                "read history",
                &[&guid],
            )?
            .first()
            .map_or(0, |r| r.get(0)))
    }

    fn delete(&mut self, g: Uuid) -> Result<Written, StoreError> {
        let guid = g.to_string();
        let Some((address, _, version)) = self.row_of(&guid)? else {
            return Err(StoreError::NoSuchObject { guid: g });
        };
        self.exec(
            "DELETE FROM objects WHERE guid = $1",
            "delete object",
            &[&guid],
        )?;
        self.record_change(&guid, version + 1, &address, "deleted")?;
        self.deleted.insert(guid, address.clone());
        Ok(Written {
            guid: g,
            address,
            old_address: None,
            outcome: Outcome::Deleted,
            version: version + 1,
        })
    }

    /// Fails unless every reference lands on an object, now that the whole batch is in.
    fn check_references(&mut self) -> Result<(), StoreError> {
        let dangling = self.query(
            "SELECT r.to_guid, r.pointer, f.address
             FROM object_refs r JOIN objects f ON f.guid = r.from_guid
             LEFT JOIN objects t ON t.guid = r.to_guid
             WHERE t.guid IS NULL ORDER BY f.address, r.pointer LIMIT 1",
            "check references",
            &[],
        )?;
        let Some(r) = dangling.first() else {
            return Ok(());
        };
        let (to, pointer, from): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        Err(match self.deleted.get(&to) {
            Some(address) => StoreError::StillReferenced {
                address: address.clone(),
                dependent: from,
            },
            None => StoreError::DanglingReference {
                address: from,
                pointer,
                guid: parse_guid(self.url, &to)?,
            },
        })
    }
}

/// Names the change of a batch a server failure happened in (`at`).
fn in_change(e: StoreError, batch: &[Change], at: usize) -> StoreError {
    let StoreError::Server { message, .. } = &e else {
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

/// Changes settings (`None` keeps a value), unless another holder has the lock.
pub(super) fn update_settings(
    t: &mut PgTenant,
    retention_days: Option<u32>,
    credential_fingerprint: Option<String>,
    actor: &Actor,
) -> Result<(), StoreError> {
    lock::check(&mut *t.client.borrow_mut(), &t.url, &actor.name, &actor.now)?;
    let days = retention_days.map(|d| d as i32);
    t.in_write(|tx, url| {
        lock::check(tx, url, &actor.name, &actor.now)?;
        tx.execute(
            "UPDATE settings SET retention_days = COALESCE($1, retention_days),
                 credential_fingerprint = COALESCE($2, credential_fingerprint),
                 updated_at = $3, updated_by = $4
             WHERE id = 1",
            &[&days, &credential_fingerprint, &actor.now, &actor.name],
        )
        .map_err(pg_err(url, "write settings"))?;
        Ok(())
    })
}
