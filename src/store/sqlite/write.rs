//! The write path: a batch of [`Change`]s inside one open transaction (see
//! [`crate::store::Tenant::write`]), and settings changes. A batch checks the lock, frees the
//! addresses its renames leave, applies each change in order, then checks that every reference
//! lands on an object; any failure leaves the transaction to roll back, so nothing is written.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{commit, db, lock, parse_guid, SqliteTenant};
use crate::model::hash::{canonical_json, canonical_json_of_map, content_hash};
use crate::store::{Actor, Change, NewObject, Outcome, StoreError, TenantUrl, Written};

/// Writes a batch inside an open transaction: see [`crate::store::Tenant::write`]. A database
/// failure names the change it happened in ([`StoreError::WriteFailed`]).
pub(super) fn write_batch(
    tx: &Transaction<'_>,
    path: &Path,
    url: &TenantUrl,
    batch: &[Change],
    actor: &Actor,
) -> Result<Vec<Written>, StoreError> {
    lock::check(tx, path, url, &actor.name, &actor.now)?;
    let mut writer = Writer {
        tx,
        path,
        actor,
        deleted: HashMap::new(),
    };
    let mut at = 0;
    writer
        .run(batch, &mut at)
        .map_err(|e| in_change(e, batch, at))
}

/// An object's row as it was before the batch: address, hash, version.
pub(crate) type Before = (String, String, i64);

/// What putting an object at `address` with content `hash` does, given its row before the
/// batch (`existing`) and whether its secrets differ: the outcome, the version it gets and the
/// address a rename leaves. A GUID that comes back (deleted, then created again) continues its
/// history from `last_version`.
pub(crate) fn put_outcome(
    existing: Option<&Before>,
    address: &str,
    hash: &str,
    secrets_changed: bool,
    last_version: impl FnOnce() -> Result<i64, StoreError>,
) -> Result<(Outcome, i64, Option<String>), StoreError> {
    Ok(match existing {
        None => (Outcome::Created, last_version()? + 1, None),
        Some((old, h, v)) if old == address && h == hash && !secrets_changed => {
            (Outcome::Unchanged, *v, None)
        }
        Some((old, _, v)) if old != address => (Outcome::Renamed, v + 1, Some(old.clone())),
        Some((_, _, v)) => (Outcome::Updated, v + 1, None),
    })
}

/// The change log's word for a write's outcome.
pub(crate) fn change_action(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Created => "created",
        Outcome::Renamed => "renamed",
        _ => "updated",
    }
}

/// One batch being written.
struct Writer<'a> {
    tx: &'a Transaction<'a>,
    path: &'a Path,
    actor: &'a Actor,
    /// The objects the batch deleted: GUID → address.
    deleted: HashMap<String, String>,
}

impl Writer<'_> {
    fn err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| db(self.path, action, e)
    }

    /// Applies the batch in order; `at` follows the change being applied.
    fn run(&mut self, batch: &[Change], at: &mut usize) -> Result<Vec<Written>, StoreError> {
        let delay = fault_delay();
        if batch.len() > 1000 {
            // A large batch touches its indexes all over: a page cache of 64 MiB (instead of 2)
            // keeps SQLite from spilling and re-reading pages in the middle of the transaction.
            self.tx
                .execute_batch("PRAGMA cache_size = -65536")
                .map_err(self.err("configure"))?;
        }
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

    /// Fails when an address the batch created or renamed to differs from another object's only
    /// in letter case or Unicode normalisation ([`crate::model::path::folded`]): exported, the two
    /// would be one file on macOS and Windows. Reads every address only when the batch made new
    /// ones.
    fn check_folded(&self, written: &[Written]) -> Result<(), StoreError> {
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
        let mut statement = self
            .tx
            .prepare_cached("SELECT guid, address FROM objects")
            .map_err(self.err("check addresses"))?;
        let mut rows = statement.query([]).map_err(self.err("check addresses"))?;
        while let Some(row) = rows.next().map_err(self.err("check addresses"))? {
            let address: String = row.get(1).map_err(self.err("check addresses"))?;
            let Some(w) = new.get(&folded(&address)) else {
                continue;
            };
            if address != w.address {
                let guid: String = row.get(0).map_err(self.err("check addresses"))?;
                let found = (w.address.clone(), address, guid);
                // The first by address, so the error is the same on every run.
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
                guid: parse_guid(self.path, &guid)?,
            }),
        }
    }

    /// An object's current row.
    fn row_of(&self, guid: &str) -> Result<Option<Before>, StoreError> {
        self.tx
            .prepare_cached("SELECT address, hash, version FROM objects WHERE guid = ?1")
            .and_then(|mut s| {
                s.query_row([guid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(self.err("read object"))
    }

    /// Reads each put object's row as it was, once, and moves the objects a put renames to a
    /// temporary address, so that an address a rename frees can be taken by another change of
    /// the same batch (a swap of two names included). An adopted object keeps its row under its
    /// new GUID (adoptions keep the address).
    fn free_renamed(&self, batch: &[Change]) -> Result<HashMap<String, Before>, StoreError> {
        let mut before = HashMap::new();
        for change in batch {
            let o = match change {
                Change::Put(o) => o,
                Change::Adopt { from, to } => {
                    if let Some(row) = self.row_of(&from.to_string())? {
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
            let Some(current) = self.row_of(&guid)? else {
                continue;
            };
            if current.0 != o.address() {
                self.tx
                    .prepare_cached("UPDATE objects SET address = ?2 WHERE guid = ?1")
                    .and_then(|mut s| s.execute([&guid, &format!("\u{1}renaming/{guid}")]))
                    .map_err(self.err("rename"))?;
            }
            before.insert(guid, current);
        }
        Ok(before)
    }

    /// Creates, updates or renames one object (`existing`: its row before the batch).
    fn put(&self, o: &NewObject, existing: Option<&Before>) -> Result<Written, StoreError> {
        let guid = o.guid.to_string();
        let address = o.address();
        let holder: Option<String> = self
            .tx
            .prepare_cached("SELECT guid FROM objects WHERE address = ?1")
            .and_then(|mut s| s.query_row([&address], |r| r.get(0)).optional())
            .map_err(self.err("read object"))?;
        if let Some(other) = holder.filter(|g| *g != guid) {
            return Err(StoreError::AddressTaken {
                address,
                guid: parse_guid(self.path, &other)?,
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

    /// Whether any secret the put sets differs from the value kept.
    fn secrets_differ(&self, guid: &str, o: &NewObject) -> Result<bool, StoreError> {
        for (pointer, value) in &o.secrets {
            let old: Option<String> = self
                .tx
                .prepare_cached("SELECT value FROM secrets WHERE guid = ?1 AND pointer = ?2")
                .and_then(|mut s| s.query_row(params![guid, pointer], |r| r.get(0)).optional())
                .map_err(self.err("read secrets"))?;
            if old.as_deref() != Some(value.expose()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Moves the secret values kept inside array elements to where those elements are in the
    /// new body, so that reordering an array (`config_files`) keeps each element's value with
    /// it. An element is found by its content (bodies hold no secrets): the first element of the
    /// same array in `spec` equal to the old one, itself when it did not move. A value whose
    /// element is not found stays where it was (its element's content changed), unless its
    /// place is past the new array's end: then nothing holds it, and it is removed.
    fn follow_elements(&self, guid: &str, spec: &Map<String, Value>) -> Result<(), StoreError> {
        let err = self.err("move secrets");
        let pointers: Vec<String> = {
            let mut stmt = self
                .tx
                .prepare_cached("SELECT pointer FROM secrets WHERE guid = ?1 ORDER BY pointer")
                .map_err(&err)?;
            let rows = stmt
                .query_map([guid], |r| r.get(0))
                .map_err(&err)?
                .collect::<Result<Vec<String>, _>>()
                .map_err(&err)?;
            rows
        };
        // Only values inside an array element can have moved.
        let indexed = |p: &String| {
            crate::model::pointer::segments(p)
                .iter()
                .any(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        };
        if !pointers.iter().any(indexed) {
            return Ok(());
        }
        let old: Option<String> = self
            .tx
            .prepare_cached("SELECT body FROM objects WHERE guid = ?1")
            .and_then(|mut s| s.query_row([guid], |r| r.get(0)).optional())
            .map_err(&err)?;
        let Some(old) = old.and_then(|b| serde_json::from_str::<Value>(&b).ok()) else {
            return Ok(());
        };
        let old = serde_json::json!({ "spec": old });
        let new = serde_json::json!({ "spec": Value::Object(spec.clone()) });
        let mut moves: Vec<(String, String)> = Vec::new();
        let mut dropped: Vec<&String> = Vec::new();
        for pointer in pointers.iter().filter(|p| indexed(p)) {
            match followed(&old, &new, pointer) {
                Follow::Stay => {}
                Follow::Move(to) => moves.push((pointer.clone(), to)),
                Follow::Drop => dropped.push(pointer),
            }
        }
        for pointer in dropped {
            self.tx
                .prepare_cached("DELETE FROM secrets WHERE guid = ?1 AND pointer = ?2")
                .and_then(|mut s| s.execute(params![guid, pointer]))
                .map_err(&err)?;
        }
        // Read every moved value first, so that two elements that swapped places swap values.
        let mut values = Vec::with_capacity(moves.len());
        for (from, to) in &moves {
            let value: String = self
                .tx
                .prepare_cached("SELECT value FROM secrets WHERE guid = ?1 AND pointer = ?2")
                .and_then(|mut s| s.query_row(params![guid, from], |r| r.get(0)))
                .map_err(&err)?;
            values.push((to, value));
        }
        for (from, _) in &moves {
            self.tx
                .prepare_cached("DELETE FROM secrets WHERE guid = ?1 AND pointer = ?2")
                .and_then(|mut s| s.execute(params![guid, from]))
                .map_err(&err)?;
        }
        for (to, value) in values {
            self.tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO secrets (guid, pointer, value) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![guid, to, value]))
                .map_err(&err)?;
        }
        Ok(())
    }

    /// Writes an object's row, its references and the secrets it sets.
    fn write_object(
        &self,
        guid: &str,
        address: &str,
        o: &NewObject,
        version: i64,
    ) -> Result<(), StoreError> {
        let body = canonical_json_of_map(&o.spec);
        let actor = self.actor;
        self.tx
            .prepare_cached(
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
            .map_err(self.err("write object"))?;
        let refs = self.err("write references");
        self.tx
            .prepare_cached("DELETE FROM object_refs WHERE from_guid = ?1")
            .and_then(|mut s| s.execute([guid]))
            .map_err(&refs)?;
        let mut insert = self
            .tx
            .prepare_cached(
                "INSERT OR REPLACE INTO object_refs (from_guid, pointer, to_guid) VALUES (?1, ?2, ?3)",
            )
            .map_err(&refs)?;
        for (pointer, target) in &o.references {
            insert
                .execute(params![guid, pointer, target.to_string()])
                .map_err(&refs)?;
        }
        let mut insert = self
            .tx
            .prepare_cached(
                "INSERT OR REPLACE INTO secrets (guid, pointer, value) VALUES (?1, ?2, ?3)",
            )
            .map_err(self.err("write secrets"))?;
        for (pointer, value) in &o.secrets {
            insert
                .execute(params![guid, pointer, value.expose()])
                .map_err(self.err("write secrets"))?;
        }
        Ok(())
    }

    /// Adds a line to an object's history.
    fn record_change(
        &self,
        guid: &str,
        version: i64,
        address: &str,
        action: &str,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO object_changes (guid, version, address, action, changed_at, changed_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    guid,
                    version,
                    address,
                    action,
                    self.actor.now,
                    self.actor.name
                ])
            })
            .map_err(self.err("write history"))?;
        Ok(())
    }

    /// Gives the object `from` the GUID `to`: its row, references, secrets, and the bodies of
    /// the objects that refer to it.
    fn adopt(&self, from: Uuid, to: Uuid) -> Result<Written, StoreError> {
        let (from_s, to_s) = (from.to_string(), to.to_string());
        let Some((address, _, version)) = self.row_of(&from_s)? else {
            return Err(StoreError::NoSuchObject { guid: from });
        };
        let err = self.err("adopt");
        // Foreign keys are checked at commit, once every row has the new GUID.
        self.tx
            .execute_batch("PRAGMA defer_foreign_keys = ON")
            .map_err(&err)?;
        for sql in [
            "UPDATE objects SET guid = ?2 WHERE guid = ?1",
            "UPDATE object_refs SET from_guid = ?2 WHERE from_guid = ?1",
            "UPDATE object_refs SET to_guid = ?2 WHERE to_guid = ?1",
            "UPDATE secrets SET guid = ?2 WHERE guid = ?1",
        ] {
            self.tx
                .prepare_cached(sql)
                .and_then(|mut s| s.execute([&from_s, &to_s]))
                .map_err(&err)?;
        }
        self.tx
            .prepare_cached("DELETE FROM applied WHERE guid = ?1")
            .and_then(|mut s| s.execute([&from_s]))
            .map_err(&err)?;
        self.rekey_dependents(&from_s, &to_s)?;
        Ok(Written {
            guid: to,
            address,
            old_address: None,
            outcome: Outcome::Updated,
            version,
        })
    }

    /// The bodies of the objects that refer to an adopted object hold its old GUID `from`:
    /// rewrites them (and their hashes) to `to`.
    fn rekey_dependents(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let err = self.err("adopt");
        type Dependent = (String, String, String, Option<String>, String, String);
        let dependents: Vec<Dependent> = {
            let mut stmt = self
                .tx
                .prepare_cached(
                    "SELECT o.guid, o.kind, o.name, o.project, o.body, o.hash FROM objects o
                     WHERE o.guid IN (SELECT from_guid FROM object_refs WHERE to_guid = ?1)",
                )
                .map_err(&err)?;
            let rows = stmt
                .query_map([to], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .map_err(&err)?;
            rows.collect::<Result<_, _>>().map_err(&err)?
        };
        for (guid, kind, name, project, body, old_hash) in dependents {
            let mut spec: Value = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: self.path.to_path_buf(),
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
            self.tx
                .prepare_cached("UPDATE objects SET body = ?2, hash = ?3 WHERE guid = ?1")
                .and_then(|mut s| {
                    s.execute(params![guid, canonical_json(&Value::Object(spec)), hash])
                })
                .map_err(&err)?;
            // What ferry applied to it named the old GUID too; unless it had drifted, it still
            // matches, so re-key it rather than show false drift.
            self.tx
                .prepare_cached(
                    "UPDATE applied SET hash = ?2, body = replace(body, ?4, ?5)
                     WHERE guid = ?1 AND hash = ?3",
                )
                .and_then(|mut s| s.execute(params![guid, hash, old_hash, from, to]))
                .map_err(&err)?;
        }
        Ok(())
    }

    /// The newest version in an object's history (0 when it has none).
    fn last_version(&self, guid: &str) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM object_changes WHERE guid = ?1")
            .and_then(|mut s| s.query_row([guid], |r| r.get(0)))
            .map_err(self.err("read history"))
    }

    /// Deletes one object (its references and secrets go with it). What ferry applied to it
    /// stays: a deletion outside an apply is drift ("deleted outside ferry"); an apply removes
    /// the applied records of what it deletes itself.
    fn delete(&mut self, g: Uuid) -> Result<Written, StoreError> {
        let guid = g.to_string();
        let Some((address, _, version)) = self.row_of(&guid)? else {
            return Err(StoreError::NoSuchObject { guid: g });
        };
        self.tx
            .prepare_cached("DELETE FROM objects WHERE guid = ?1")
            .and_then(|mut s| s.execute([&guid]))
            .map_err(self.err("delete object"))?;
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

    /// Fails unless every reference lands on an object, now that the whole batch is in: a
    /// reference to an object the batch deleted is [`StoreError::StillReferenced`], any other
    /// [`StoreError::DanglingReference`].
    fn check_references(&self) -> Result<(), StoreError> {
        let dangling: Option<(String, String, String)> = self
            .tx
            .query_row(
                "SELECT r.to_guid, r.pointer, f.address
                 FROM object_refs r JOIN objects f ON f.guid = r.from_guid
                 LEFT JOIN objects t ON t.guid = r.to_guid
                 WHERE t.guid IS NULL ORDER BY f.address, r.pointer LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.err("check references"))?;
        let Some((to, pointer, from)) = dangling else {
            return Ok(());
        };
        Err(match self.deleted.get(&to) {
            Some(address) => StoreError::StillReferenced {
                address: address.clone(),
                dependent: from,
            },
            None => StoreError::DanglingReference {
                address: from,
                pointer,
                guid: parse_guid(self.path, &to)?,
            },
        })
    }
}

/// The address of an object from the columns of its row.
pub(super) fn address_of(kind: &str, project: Option<&str>, name: &str) -> String {
    match project {
        Some(project) => format!("{kind}/{project}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Names the change of a batch a database failure happened in (`at`), so that the caller can
/// say which object failed.
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

/// Where a secret value kept inside an array element goes when the body changes.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::store) enum Follow {
    /// It stays at its pointer: its element did not move, or is not found (its content changed).
    Stay,
    /// Its element moved here.
    Move(String),
    /// Its element is gone and its place is past the array's end: nothing is there to hold it.
    Drop,
}

/// Where the value at `pointer` of `old` belongs in `new`: the pointer with its first array
/// index replaced by the index of the first element of the same array in `new` that equals the
/// old element (the same index when that one still does).
pub(in crate::store) fn followed(old: &Value, new: &Value, pointer: &str) -> Follow {
    let segments = crate::model::pointer::segments(pointer);
    let escaped = |segments: &[String]| -> String {
        segments
            .iter()
            .map(|s| format!("/{}", crate::model::pointer::escape_segment(s)))
            .collect()
    };
    let mut here = old;
    for (n, seg) in segments.iter().enumerate() {
        if let Value::Array(items) = here {
            let (Ok(i), Some(theirs)) = (
                seg.parse::<usize>(),
                new.pointer(&escaped(&segments[..n]))
                    .and_then(Value::as_array),
            ) else {
                return Follow::Stay;
            };
            let Some(element) = items.get(i) else {
                return Follow::Stay;
            };
            if theirs.get(i) == Some(element) {
                return Follow::Stay;
            }
            return match theirs.iter().position(|e| e == element) {
                Some(j) => {
                    let mut out = segments.clone();
                    out[n] = j.to_string();
                    Follow::Move(escaped(&out))
                }
                None if i >= theirs.len() => Follow::Drop,
                None => Follow::Stay,
            };
        }
        match here.get(seg.as_str()) {
            Some(next) => here = next,
            None => return Follow::Stay,
        }
    }
    Follow::Stay
}

/// Replaces every string equal to `from` with `to`, at any depth.
pub(in crate::store) fn replace_string(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s == from => *s = to.to_string(),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_string(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_string(v, from, to)),
        _ => {}
    }
}

/// Whether the test-only fault injection asks for a pause between the changes of a batch, so a
/// test can kill the process in the middle of a write ([`crate::store::set_fault_write_delay`]).
fn fault_delay() -> Option<Duration> {
    crate::store::fault_write_delay()
}

/// Changes settings (`None` keeps a value), unless another holder has the lock.
pub(super) fn update_settings(
    t: &mut SqliteTenant,
    retention_days: Option<u32>,
    credential_fingerprint: Option<String>,
    actor: &Actor,
) -> Result<(), StoreError> {
    t.check_lock(actor)?;
    let (path, url) = (t.path.clone(), t.url.clone());
    let tx = t.begin()?;
    lock::check(&tx, &path, &url, &actor.name, &actor.now)?;
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
    commit(tx, &path)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::sqlite::test_support::{actor, put, tenant};
    use crate::store::{ObjectKey, Tenant};

    const NOW: &str = "2026-03-01T10:00:00Z";

    fn outcomes(written: &[Written]) -> Vec<(&str, Outcome)> {
        written
            .iter()
            .map(|w| (w.address.as_str(), w.outcome))
            .collect()
    }

    /// A put of `data_source/files` whose config_files are `names` in that order, setting the
    /// content of each file `secrets` names.
    fn with_files(guid: Uuid, names: &[&str], secrets: &[(usize, &str)]) -> Change {
        let files: Vec<Value> = names
            .iter()
            .map(|n| serde_json::json!({"file_type": "other", "file_name": n}))
            .collect();
        let mut spec = Map::new();
        spec.insert("config_files".into(), Value::Array(files));
        let hash = content_hash("data_source", "files", None, &spec);
        Change::Put(Box::new(NewObject {
            guid,
            kind: "data_source".into(),
            name: "files".into(),
            project: None,
            spec,
            hash,
            references: Vec::new(),
            secrets: secrets
                .iter()
                .map(|(i, v)| {
                    (
                        format!("/spec/config_files/{i}/content"),
                        crate::secret::Secret::new(*v),
                    )
                })
                .collect(),
        }))
    }

    #[test]
    fn secrets_inside_array_elements_follow_their_elements() {
        let (_dir, mut t) = tenant();
        let g = Uuid::new_v4();
        let kept = |t: &SqliteTenant| -> Vec<(String, String)> {
            t.secrets(g)
                .unwrap()
                .into_iter()
                .map(|(p, v)| (p, v.expose().to_string()))
                .collect()
        };
        t.write(
            &[with_files(g, &["a", "b", "c"], &[(0, "A"), (1, "B")])],
            &actor("ann", NOW),
        )
        .unwrap();
        // Reordered with no values given (placeholders): each value goes with its file.
        t.write(&[with_files(g, &["c", "b", "a"], &[])], &actor("ann", NOW))
            .unwrap();
        assert_eq!(
            kept(&t),
            [
                ("/spec/config_files/1/content".into(), "B".into()),
                ("/spec/config_files/2/content".into(), "A".into())
            ]
        );
        // A value given for the new place wins; a file that is gone takes its value along.
        t.write(
            &[with_files(g, &["b", "d"], &[(1, "D")])],
            &actor("ann", NOW),
        )
        .unwrap();
        assert_eq!(
            kept(&t),
            [
                ("/spec/config_files/0/content".into(), "B".into()),
                ("/spec/config_files/1/content".into(), "D".into())
            ]
        );
        // Two files that swap places swap values.
        t.write(&[with_files(g, &["d", "b"], &[])], &actor("ann", NOW))
            .unwrap();
        assert_eq!(
            kept(&t),
            [
                ("/spec/config_files/0/content".into(), "D".into()),
                ("/spec/config_files/1/content".into(), "B".into())
            ]
        );
    }

    #[test]
    fn a_batch_with_a_dangling_reference_writes_nothing() {
        let (_dir, mut t) = tenant();
        let (a, b, missing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let e = t
            .write(
                &[put(a, "a", None), put(b, "b", Some(missing))],
                &actor("ann", NOW),
            )
            .unwrap_err();
        let StoreError::DanglingReference {
            address,
            pointer,
            guid,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(
            (address.as_str(), pointer.as_str(), *guid),
            ("data_source/b", "/spec/peer", missing)
        );
        assert!(t.counts().unwrap().is_empty(), "not even the valid object");
        assert_eq!(t.object(&ObjectKey::Guid(a)).unwrap(), None);
    }

    #[test]
    fn a_reference_may_land_later_in_the_batch() {
        let (_dir, mut t) = tenant();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let written = t
            .write(
                &[put(b, "b", Some(a)), put(a, "a", None)],
                &actor("ann", NOW),
            )
            .unwrap();
        assert_eq!(
            outcomes(&written),
            [
                ("data_source/b", Outcome::Created),
                ("data_source/a", Outcome::Created)
            ]
        );
        assert_eq!(t.references_of(&[b], true).unwrap(), [(b, a)]);
    }

    #[test]
    fn an_address_is_taken_by_one_object() {
        let (_dir, mut t) = tenant();
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        t.write(&[put(first, "a", None)], &actor("ann", NOW))
            .unwrap();
        let e = t
            .write(&[put(second, "a", None)], &actor("ann", NOW))
            .unwrap_err();
        let StoreError::AddressTaken { address, guid } = &e else {
            panic!("{e:?}");
        };
        assert_eq!((address.as_str(), *guid), ("data_source/a", first));
    }

    #[test]
    fn a_referenced_object_cannot_be_deleted() {
        let (_dir, mut t) = tenant();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ann = actor("ann", NOW);
        t.write(&[put(a, "a", None), put(b, "b", Some(a))], &ann)
            .unwrap();
        let e = t.write(&[Change::Delete(a)], &ann).unwrap_err();
        let StoreError::StillReferenced { address, dependent } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(
            (address.as_str(), dependent.as_str()),
            ("data_source/a", "data_source/b")
        );
        assert!(t.object(&ObjectKey::Guid(a)).unwrap().is_some());
        // With its dependent, it goes.
        let written = t
            .write(&[Change::Delete(a), Change::Delete(b)], &ann)
            .unwrap();
        assert_eq!(
            outcomes(&written),
            [
                ("data_source/a", Outcome::Deleted),
                ("data_source/b", Outcome::Deleted)
            ]
        );
        assert!(t.counts().unwrap().is_empty());
        let e = t.write(&[Change::Delete(a)], &ann).unwrap_err();
        assert!(
            matches!(e, StoreError::NoSuchObject { guid } if guid == a),
            "{e:?}"
        );
    }

    #[test]
    fn outcomes_and_versions() {
        let (_dir, mut t) = tenant();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ann = actor("ann", NOW);
        t.write(&[put(a, "a", None), put(b, "b", None)], &ann)
            .unwrap();
        let written = t.write(&[put(a, "a", None)], &ann).unwrap();
        assert_eq!(
            (written[0].outcome, written[0].version),
            (Outcome::Unchanged, 1)
        );
        let written = t.write(&[put(a, "a", Some(b))], &ann).unwrap();
        assert_eq!(
            (written[0].outcome, written[0].version),
            (Outcome::Updated, 2)
        );
        // Two objects swap names in one batch.
        let written = t
            .write(&[put(a, "b", Some(b)), put(b, "a", None)], &ann)
            .unwrap();
        assert_eq!(
            written
                .iter()
                .map(|w| (w.outcome, w.old_address.as_deref(), w.version))
                .collect::<Vec<_>>(),
            [
                (Outcome::Renamed, Some("data_source/a"), 3),
                (Outcome::Renamed, Some("data_source/b"), 2)
            ]
        );
        assert_eq!(
            t.guids(&["data_source/a".into()]).unwrap()["data_source/a"],
            b
        );
    }

    #[test]
    fn an_adopted_object_takes_its_new_guid_everywhere() {
        let (_dir, mut t) = tenant();
        let (old, new, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let ann = actor("ann", NOW);
        t.write(&[put(old, "a", None), put(b, "b", Some(old))], &ann)
            .unwrap();
        let written = t
            .write(&[Change::Adopt { from: old, to: new }], &ann)
            .unwrap();
        assert_eq!(outcomes(&written), [("data_source/a", Outcome::Updated)]);
        assert_eq!(written[0].guid, new);
        assert_eq!(t.object(&ObjectKey::Guid(old)).unwrap(), None);
        assert_eq!(t.references_of(&[b], true).unwrap(), [(b, new)]);
        let dependent = t.object(&ObjectKey::Guid(b)).unwrap().unwrap();
        assert_eq!(dependent.spec["peer"], new.to_string());
        let Change::Put(expected) = put(b, "b", Some(new)) else {
            unreachable!()
        };
        assert_eq!(dependent.hash, expected.hash, "the hash follows the body");
    }
}
