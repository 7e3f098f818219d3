//! Reads: the tenant's facts and settings, objects (one, all, or filtered, with or without their
//! bodies), addresses and GUIDs, references, deletions in a time window, secrets, counts, and
//! what ferry last applied (drift).

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{parse_guid, SqliteTenant};
use crate::secret::Secret;
use crate::store::{
    AppliedRecord, Deleted, Drifted, Facts, Filter, Managed, ObjectKey, Settings, StoreError,
    StoredObject,
};

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

/// The columns of a [`Row`], in order.
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

/// The end of an open time window: after every RFC 3339 time.
const NO_END: &str = "~";

pub(super) fn facts(t: &SqliteTenant) -> Result<Facts, StoreError> {
    t.conn
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
        .map_err(t.err("read facts"))
}

pub(super) fn settings(t: &SqliteTenant) -> Result<Settings, StoreError> {
    t.conn
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
        .map_err(t.err("read settings"))
}

/// The `WHERE` clause (over the objects table `o`) and its arguments for a filter.
fn filter_clause(filter: &Filter) -> (String, Vec<String>) {
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
            "o.guid IN (SELECT guid FROM object_changes WHERE changed_at >= ? AND changed_at < ?)"
                .to_string(),
        );
        let (since, until) = window(filter);
        args.push(since);
        args.push(until);
    }
    if conditions.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", conditions.join(" AND ")), args)
    }
}

/// A filter's time window as `[since, until)`, open ends filled in.
fn window(filter: &Filter) -> (String, String) {
    (
        filter.changed_since.clone().unwrap_or_default(),
        filter
            .changed_until
            .clone()
            .unwrap_or_else(|| NO_END.to_string()),
    )
}

pub(super) fn for_each_object(
    t: &SqliteTenant,
    filter: &Filter,
    each: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let err = t.err("list");
    let (filter_sql, args) = filter_clause(filter);
    let columns = OBJECT_COLUMNS
        .split(", ")
        .map(|c| format!("o.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let objects_sql = format!("SELECT {columns} FROM objects o {filter_sql} ORDER BY o.address");
    let secrets_sql = format!(
        "SELECT s.guid, s.pointer FROM secrets s JOIN objects o ON o.guid = s.guid {filter_sql}
         ORDER BY s.guid, s.pointer"
    );
    let mut secret_fields: HashMap<String, Vec<String>> = HashMap::new();
    {
        let mut stmt = t.conn.prepare(&secrets_sql).map_err(&err)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let guid: String = r.get(0).map_err(&err)?;
            let pointer: String = r.get(1).map_err(&err)?;
            secret_fields.entry(guid).or_default().push(pointer);
        }
    }
    let mut stmt = t.conn.prepare(&objects_sql).map_err(&err)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(args.iter()))
        .map_err(&err)?;
    while let Some(r) = rows.next().map_err(&err)? {
        let row = read_row(r).map_err(&err)?;
        let fields = secret_fields.remove(&row.0).unwrap_or_default();
        each(to_object(t, row, fields, true)?)?;
    }
    Ok(())
}

pub(super) fn object(
    t: &SqliteTenant,
    key: &ObjectKey,
) -> Result<Option<StoredObject>, StoreError> {
    let (column, arg) = match key {
        ObjectKey::Guid(g) => ("guid", g.to_string()),
        ObjectKey::Address(a) => ("address", a.clone()),
    };
    let sql = format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE {column} = ?1");
    let row = t
        .conn
        .query_row(&sql, [arg], read_row)
        .optional()
        .map_err(t.err("read object"))?;
    match row {
        Some(row) => {
            let fields = secret_fields_of(t, &row.0)?;
            Ok(Some(to_object(t, row, fields, true)?))
        }
        None => Ok(None),
    }
}

/// An object from its row; its `spec` stays empty unless `with_body`.
fn to_object(
    t: &SqliteTenant,
    row: Row,
    secret_fields: Vec<String>,
    with_body: bool,
) -> Result<StoredObject, StoreError> {
    let (guid, kind, name, project, body, hash, version, updated_at, updated_by) = row;
    let spec: Map<String, Value> = if with_body {
        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
            path: t.path.clone(),
            object: format!(
                "{guid} ({})",
                super::write::address_of(&kind, project.as_deref(), &name)
            ),
            damaged_guid: false,
            message: crate::model::text::excerpt(&e.to_string(), 200),
        })?
    } else {
        Map::new()
    };
    Ok(StoredObject {
        guid: parse_guid(&t.path, &guid)?,
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

fn secret_fields_of(t: &SqliteTenant, guid: &str) -> Result<Vec<String>, StoreError> {
    let err = t.err("read secrets");
    let mut stmt = t
        .conn
        .prepare_cached("SELECT pointer FROM secrets WHERE guid = ?1 ORDER BY pointer")
        .map_err(&err)?;
    let rows = stmt
        .query_map([guid], |r| r.get::<_, String>(0))
        .map_err(&err)?;
    rows.collect::<Result<_, _>>().map_err(&err)
}

pub(super) fn object_index(t: &SqliteTenant) -> Result<Vec<StoredObject>, StoreError> {
    let err = t.err("list");
    // An empty body in place of the body: the covering index `objects_summary` has the rest.
    let mut stmt = t
        .conn
        .prepare(
            "SELECT guid, kind, name, project, '' AS body, hash, version, updated_at, updated_by
             FROM objects ORDER BY address",
        )
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(&err)? {
        let row = read_row(r).map_err(&err)?;
        out.push(to_object(t, row, Vec::new(), false)?);
    }
    Ok(out)
}

pub(super) fn addresses(
    t: &SqliteTenant,
    guids: &[Uuid],
) -> Result<BTreeMap<Uuid, String>, StoreError> {
    let found = look_up(
        t,
        "SELECT address FROM objects WHERE guid = ?1",
        guids,
        Uuid::to_string,
    )?;
    Ok(found
        .into_iter()
        .map(|(guid, address)| (*guid, address))
        .collect())
}

pub(super) fn guids(
    t: &SqliteTenant,
    addresses: &[String],
) -> Result<BTreeMap<String, Uuid>, StoreError> {
    let found = look_up(
        t,
        "SELECT guid FROM objects WHERE address = ?1",
        addresses,
        String::clone,
    )?;
    found
        .into_iter()
        .map(|(address, guid)| Ok((address.clone(), parse_guid(&t.path, &guid)?)))
        .collect()
}

/// Each key with the text `sql` (one column, the key as `?1`) finds for it; keys it finds
/// nothing for are left out. One indexed query per key.
fn look_up<'k, K>(
    t: &SqliteTenant,
    sql: &str,
    keys: &'k [K],
    text: impl Fn(&K) -> String,
) -> Result<Vec<(&'k K, String)>, StoreError> {
    let err = t.err("read addresses");
    let mut stmt = t.conn.prepare_cached(sql).map_err(&err)?;
    let mut out = Vec::new();
    for key in keys {
        if let Some(found) = stmt
            .query_row([text(key)], |r| r.get::<_, String>(0))
            .optional()
            .map_err(&err)?
        {
            out.push((key, found));
        }
    }
    Ok(out)
}

pub(super) fn address_index(t: &SqliteTenant) -> Result<HashMap<Uuid, String>, StoreError> {
    let err = t.err("read addresses");
    let mut stmt = t
        .conn
        .prepare("SELECT guid, address FROM objects")
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(&err)?;
    let mut out = HashMap::new();
    for row in rows {
        let (guid, address) = row.map_err(&err)?;
        out.insert(parse_guid(&t.path, &guid)?, address);
    }
    Ok(out)
}

pub(super) fn deleted(t: &SqliteTenant, filter: &Filter) -> Result<Vec<Deleted>, StoreError> {
    let err = t.err("read history");
    let mut stmt = t
        .conn
        .prepare(
            "SELECT c.guid, c.address, c.changed_at FROM object_changes c
             WHERE c.action = 'deleted' AND c.changed_at >= ?1 AND c.changed_at < ?2
               AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.guid = c.guid)
             ORDER BY c.address",
        )
        .map_err(&err)?;
    let (since, until) = window(filter);
    let rows = stmt
        .query_map(params![since, until], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(&err)?;
    let mut out = Vec::new();
    for row in rows {
        let (guid, address, deleted_at) = row.map_err(&err)?;
        let kind = address.split('/').next().unwrap_or_default().to_string();
        if !filter.kinds.is_empty() && !filter.kinds.contains(&kind) {
            continue;
        }
        out.push(Deleted {
            guid: parse_guid(&t.path, &guid)?,
            address,
            kind,
            deleted_at,
        });
    }
    Ok(out)
}

/// See [`crate::store::Tenant::fingerprint_salt`].
pub(super) fn fingerprint_salt(t: &SqliteTenant) -> Result<Secret, StoreError> {
    let salt: Option<String> = t
        .conn
        .query_row(
            "SELECT fingerprint_salt FROM tenant WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .map_err(t.err("read the fingerprint salt"))?;
    Ok(Secret::new(salt.unwrap_or_default()))
}

pub(super) fn secrets(t: &SqliteTenant, guid: Uuid) -> Result<Vec<(String, Secret)>, StoreError> {
    let err = t.err("read secrets");
    let mut stmt = t
        .conn
        .prepare_cached("SELECT pointer, value FROM secrets WHERE guid = ?1 ORDER BY pointer")
        .map_err(&err)?;
    let rows = stmt
        .query_map([guid.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, Secret::new(r.get::<_, String>(1)?)))
        })
        .map_err(&err)?;
    rows.collect::<Result<_, _>>().map_err(&err)
}

pub(super) fn counts(t: &SqliteTenant) -> Result<BTreeMap<String, u64>, StoreError> {
    let err = t.err("count");
    let mut stmt = t
        .conn
        .prepare("SELECT kind, COUNT(*) FROM objects GROUP BY kind ORDER BY kind")
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(&err)?;
    rows.collect::<Result<_, _>>().map_err(&err)
}

pub(super) fn references_of(
    t: &SqliteTenant,
    guids: &[Uuid],
    from: bool,
) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    let err = t.err("read references");
    let sql = if from {
        "SELECT to_guid FROM object_refs WHERE from_guid = ?1"
    } else {
        "SELECT from_guid FROM object_refs WHERE to_guid = ?1"
    };
    let mut stmt = t.conn.prepare_cached(sql).map_err(&err)?;
    let mut out = Vec::new();
    for guid in guids {
        let mut rows = stmt.query([guid.to_string()]).map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let other: String = r.get(0).map_err(&err)?;
            let other = parse_guid(&t.path, &other)?;
            out.push(if from { (*guid, other) } else { (other, *guid) });
        }
    }
    Ok(out)
}

pub(super) fn reference_edges(t: &SqliteTenant) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    // Hundreds of thousands of rows: GUIDs are parsed from SQLite's own text, not copied.
    let err = t.err("read references");
    let mut stmt = t
        .conn
        .prepare("SELECT from_guid, to_guid FROM object_refs")
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(&err)? {
        let text = |i: usize| -> Result<&str, StoreError> {
            r.get_ref(i)
                .and_then(|v| v.as_str().map_err(Into::into))
                .map_err(&err)
        };
        let from = parse_guid(&t.path, text(0)?)?;
        let to = parse_guid(&t.path, text(1)?)?;
        out.push((from, to));
    }
    Ok(out)
}

/// What ferry applied to every object; the bodies only when `with_body` (the index alone is
/// read from the covering index `applied_summary`).
pub(super) fn applied(
    t: &SqliteTenant,
    with_body: bool,
) -> Result<HashMap<Uuid, AppliedRecord>, StoreError> {
    let err = t.err("read applied");
    let sql = if with_body {
        "SELECT guid, hash, blob_id, body FROM applied"
    } else {
        "SELECT guid, hash, blob_id, NULL FROM applied"
    };
    let mut stmt = t.conn.prepare(sql).map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next().map_err(&err)? {
        type AppliedRow = (String, String, Option<String>, Option<String>);
        let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<AppliedRow> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        };
        let (guid, hash, blob_id, body) = read(r).map_err(&err)?;
        let guid = parse_guid(&t.path, &guid)?;
        let body = match body {
            Some(body) => body,
            None if with_body => "{}".into(),
            None => String::new(),
        };
        out.insert(
            guid,
            AppliedRecord {
                guid,
                hash,
                body,
                blob_id,
            },
        );
    }
    Ok(out)
}

pub(super) fn managed(t: &SqliteTenant) -> Result<Managed, StoreError> {
    let err = t.err("read applied");
    let count: i64 = t
        .conn
        .query_row(
            "SELECT COUNT(*) FROM applied a JOIN objects o ON o.guid = a.guid",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    let mut stmt = t
        .conn
        .prepare(
            "SELECT a.guid, COALESCE(o.address, (SELECT c.address FROM object_changes c
                 WHERE c.guid = a.guid ORDER BY c.version DESC LIMIT 1), a.guid), o.guid IS NULL
             FROM applied a LEFT JOIN objects o ON o.guid = a.guid
             WHERE o.guid IS NULL OR o.hash <> a.hash
             ORDER BY 2",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })
        .map_err(&err)?;
    let mut drifted = Vec::new();
    for row in rows {
        let (guid, address, deleted) = row.map_err(&err)?;
        drifted.push(Drifted {
            guid: parse_guid(&t.path, &guid)?,
            address,
            state: if deleted { "deleted" } else { "changed" },
        });
    }
    Ok(Managed {
        count: count as u64,
        drifted,
    })
}
