//! Reads: facts and settings, objects (one, all, filtered, with or without their bodies),
//! addresses and GUIDs, references, deletions in a time window, secrets, counts, and what ferry
//! last applied. Each is one query (two for the objects with their secret fields), whatever
//! the number of keys asked for: lists of keys go as one array parameter.

use std::collections::{BTreeMap, HashMap};

use postgres::types::ToSql;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{parse_guid, PgTenant};
use crate::secret::Secret;
use crate::store::{
    address_of, AppliedRecord, Deleted, Drifted, Facts, Filter, Managed, ObjectKey, Settings,
    StoreError, StoredObject,
};

/// The columns of an object row, in order.
const OBJECT_COLUMNS: &str =
    "o.guid, o.kind, o.name, o.project, o.body, o.hash, o.version, o.updated_at, o.updated_by";

/// The end of an open time window: after every RFC 3339 time.
const NO_END: &str = "~";

impl PgTenant {
    /// Runs a query on the tenant's connection.
    pub(super) fn rows(
        &self,
        action: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        self.client
            .borrow_mut()
            .query(sql, params)
            .map_err(self.err(action))
    }
}

pub(super) fn facts(t: &PgTenant) -> Result<Facts, StoreError> {
    let rows = t.rows(
        "read facts",
        "SELECT name, platform_version, engine, engine_mode, cluster FROM tenant WHERE id = 1",
        &[],
    )?;
    let r = rows.first().ok_or_else(|| StoreError::NoTenantSchema {
        tenant: t.url.clone(),
        schema: t.schema.clone(),
    })?;
    Ok(Facts {
        name: r.get(0),
        platform_version: r.get(1),
        engine: r.get(2),
        engine_mode: r.get(3),
        cluster: r.get(4),
    })
}

pub(super) fn settings(t: &PgTenant) -> Result<Settings, StoreError> {
    let rows = t.rows(
        "read settings",
        "SELECT retention_days, credential_fingerprint FROM settings WHERE id = 1",
        &[],
    )?;
    let r = rows.first().ok_or_else(|| StoreError::NoTenantSchema {
        tenant: t.url.clone(),
        schema: t.schema.clone(),
    })?;
    Ok(Settings {
        retention_days: r.get::<_, i32>(0) as u32,
        credential_fingerprint: r.get(1),
    })
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

/// The `WHERE` clause over `o` for a filter: its parameters are always $1 (kinds, empty for
/// any), $2 and $3 (the window, or null for any time).
const FILTER: &str = "WHERE (cardinality($1::text[]) = 0 OR o.kind = ANY($1))
    AND ($2::text IS NULL OR o.guid IN (SELECT guid FROM object_changes
        WHERE changed_at >= $2 AND changed_at < $3))";

pub(super) fn for_each_object(
    t: &PgTenant,
    filter: &Filter,
    each: &mut dyn FnMut(StoredObject) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (since, until) = window(filter);
    let (since, until) = if filter.by_time() {
        (Some(since), Some(until))
    } else {
        (None, None)
    };
    let params: [&(dyn ToSql + Sync); 3] = [&filter.kinds, &since, &until];
    let mut secret_fields: HashMap<String, Vec<String>> = HashMap::new();
    for r in t.rows(
        "list",
        &format!(
            "SELECT s.guid, s.pointer FROM secrets s JOIN objects o ON o.guid = s.guid {FILTER}
             ORDER BY s.guid, s.pointer"
        ),
        &params,
    )? {
        secret_fields.entry(r.get(0)).or_default().push(r.get(1));
    }
    // Read whole, then handed out: the visitor may read the tenant itself.
    let rows = t.rows(
        "list",
        &format!("SELECT {OBJECT_COLUMNS} FROM objects o {FILTER} ORDER BY o.address"),
        &params,
    )?;
    for r in rows {
        let fields = secret_fields
            .remove(r.get::<_, &str>(0))
            .unwrap_or_default();
        each(to_object(t, &r, fields, true)?)?;
    }
    Ok(())
}

pub(super) fn object(t: &PgTenant, key: &ObjectKey) -> Result<Option<StoredObject>, StoreError> {
    let (column, arg) = match key {
        ObjectKey::Guid(g) => ("guid", g.to_string()),
        ObjectKey::Address(a) => ("address", a.clone()),
    };
    let rows = t.rows(
        "read object",
        &format!(
            "SELECT {OBJECT_COLUMNS}, ARRAY(SELECT pointer FROM secrets s WHERE s.guid = o.guid
                 ORDER BY pointer)
             FROM objects o WHERE o.{column} = $1"
        ),
        &[&arg],
    )?;
    match rows.first() {
        Some(r) => Ok(Some(to_object(t, r, r.get(9), true)?)),
        None => Ok(None),
    }
}

/// An object from its row; its `spec` stays empty unless `with_body`.
fn to_object(
    t: &PgTenant,
    r: &postgres::Row,
    secret_fields: Vec<String>,
    with_body: bool,
) -> Result<StoredObject, StoreError> {
    let guid: &str = r.get(0);
    let kind: String = r.get(1);
    let name: String = r.get(2);
    let project: Option<String> = r.get(3);
    let spec: Map<String, Value> = if with_body {
        serde_json::from_str(r.get(4)).map_err(|e| StoreError::Corrupt {
            path: t.url.to_string().into(),
            object: format!("{guid} ({})", address_of(&kind, project.as_deref(), &name)),
            damaged_guid: false,
            message: crate::model::text::excerpt(&e.to_string(), 200),
        })?
    } else {
        Map::new()
    };
    Ok(StoredObject {
        guid: parse_guid(&t.url, guid)?,
        kind,
        name,
        project,
        spec,
        hash: r.get(5),
        version: r.get(6),
        updated_at: r.get(7),
        updated_by: r.get(8),
        secret_fields,
    })
}

pub(super) fn object_index(t: &PgTenant) -> Result<Vec<StoredObject>, StoreError> {
    let rows = t.rows(
        "list",
        "SELECT o.guid, o.kind, o.name, o.project, '' AS body, o.hash, o.version, o.updated_at,
             o.updated_by
         FROM objects o ORDER BY o.address",
        &[],
    )?;
    rows.iter()
        .map(|r| to_object(t, r, Vec::new(), false))
        .collect()
}

pub(super) fn addresses(
    t: &PgTenant,
    guids: &[Uuid],
) -> Result<BTreeMap<Uuid, String>, StoreError> {
    let keys: Vec<String> = guids.iter().map(Uuid::to_string).collect();
    let rows = t.rows(
        "read addresses",
        "SELECT guid, address FROM objects WHERE guid = ANY($1)",
        &[&keys],
    )?;
    rows.iter()
        .map(|r| Ok((parse_guid(&t.url, r.get(0))?, r.get(1))))
        .collect()
}

pub(super) fn guids(
    t: &PgTenant,
    addresses: &[String],
) -> Result<BTreeMap<String, Uuid>, StoreError> {
    let rows = t.rows(
        "read addresses",
        "SELECT address, guid FROM objects WHERE address = ANY($1)",
        &[&addresses],
    )?;
    rows.iter()
        .map(|r| Ok((r.get(0), parse_guid(&t.url, r.get(1))?)))
        .collect()
}

pub(super) fn address_index(t: &PgTenant) -> Result<HashMap<Uuid, String>, StoreError> {
    let rows = t.rows("read addresses", "SELECT guid, address FROM objects", &[])?;
    rows.iter()
        .map(|r| Ok((parse_guid(&t.url, r.get(0))?, r.get(1))))
        .collect()
}

pub(super) fn deleted(t: &PgTenant, filter: &Filter) -> Result<Vec<Deleted>, StoreError> {
    let (since, until) = window(filter);
    let rows = t.rows(
        "read history",
        "SELECT c.guid, c.address, c.changed_at FROM object_changes c
         WHERE c.action = 'deleted' AND c.changed_at >= $1 AND c.changed_at < $2
           AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.guid = c.guid)
         ORDER BY c.address",
        &[&since, &until],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let address: String = r.get(1);
        let kind = address.split('/').next().unwrap_or_default().to_string();
        if !filter.kinds.is_empty() && !filter.kinds.contains(&kind) {
            continue;
        }
        out.push(Deleted {
            guid: parse_guid(&t.url, r.get(0))?,
            address,
            kind,
            deleted_at: r.get(2),
        });
    }
    Ok(out)
}

pub(super) fn fingerprint_salt(t: &PgTenant) -> Result<Secret, StoreError> {
    let rows = t.rows(
        "read the fingerprint salt",
        "SELECT fingerprint_salt FROM tenant WHERE id = 1",
        &[],
    )?;
    let salt: Option<String> = rows.first().and_then(|r| r.get(0));
    Ok(Secret::new(salt.unwrap_or_default()))
}

pub(super) fn secrets(t: &PgTenant, guid: Uuid) -> Result<Vec<(String, Secret)>, StoreError> {
    let rows = t.rows(
        "read secrets",
        "SELECT pointer, value FROM secrets WHERE guid = $1 ORDER BY pointer",
        &[&guid.to_string()],
    )?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), Secret::new(r.get::<_, String>(1))))
        .collect())
}

pub(super) fn counts(t: &PgTenant) -> Result<BTreeMap<String, u64>, StoreError> {
    let rows = t.rows(
        "count",
        "SELECT kind, COUNT(*) FROM objects GROUP BY kind ORDER BY kind",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
        .collect())
}

pub(super) fn references_of(
    t: &PgTenant,
    guids: &[Uuid],
    from: bool,
) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    let keys: Vec<String> = guids.iter().map(Uuid::to_string).collect();
    let sql = if from {
        "SELECT from_guid, to_guid FROM object_refs WHERE from_guid = ANY($1)"
    } else {
        "SELECT from_guid, to_guid FROM object_refs WHERE to_guid = ANY($1)"
    };
    let rows = t.rows("read references", sql, &[&keys])?;
    rows.iter()
        .map(|r| Ok((parse_guid(&t.url, r.get(0))?, parse_guid(&t.url, r.get(1))?)))
        .collect()
}

pub(super) fn reference_edges(t: &PgTenant) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    let rows = t.rows(
        "read references",
        "SELECT from_guid, to_guid FROM object_refs",
        &[],
    )?;
    rows.iter()
        .map(|r| Ok((parse_guid(&t.url, r.get(0))?, parse_guid(&t.url, r.get(1))?)))
        .collect()
}

/// What ferry applied to every object; the bodies only when `with_body`.
pub(super) fn applied(
    t: &PgTenant,
    with_body: bool,
) -> Result<HashMap<Uuid, AppliedRecord>, StoreError> {
    let sql = if with_body {
        "SELECT guid, hash, blob_id, body FROM applied"
    } else {
        "SELECT guid, hash, blob_id, NULL::text FROM applied"
    };
    let mut out = HashMap::new();
    for r in t.rows("read applied", sql, &[])? {
        let guid = parse_guid(&t.url, r.get(0))?;
        let body: Option<String> = r.get(3);
        let body = match body {
            Some(body) => body,
            None if with_body => "{}".into(),
            None => String::new(),
        };
        out.insert(
            guid,
            AppliedRecord {
                guid,
                hash: r.get(1),
                body,
                blob_id: r.get(2),
            },
        );
    }
    Ok(out)
}

pub(super) fn managed(t: &PgTenant) -> Result<Managed, StoreError> {
    let count: i64 = t
        .rows(
            "read applied",
            "SELECT COUNT(*) FROM applied a JOIN objects o ON o.guid = a.guid",
            &[],
        )?
        .first()
        .map_or(0, |r| r.get(0));
    let rows = t.rows(
        "read applied",
        "SELECT a.guid, COALESCE(o.address, (SELECT c.address FROM object_changes c
             WHERE c.guid = a.guid ORDER BY c.version DESC LIMIT 1), a.guid), o.guid IS NULL
         FROM applied a LEFT JOIN objects o ON o.guid = a.guid
         WHERE o.guid IS NULL OR o.hash <> a.hash
         ORDER BY 2",
        &[],
    )?;
    let mut drifted = Vec::new();
    for r in rows {
        drifted.push(Drifted {
            guid: parse_guid(&t.url, r.get(0))?,
            address: r.get(1),
            state: if r.get::<_, bool>(2) {
                "deleted"
            } else {
                "changed"
            },
        });
    }
    Ok(Managed {
        count: count as u64,
        drifted,
    })
}
