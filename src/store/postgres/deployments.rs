//! Deployments: an apply (a batch, what ferry applied, and the deployment record, in one
//! transaction, after re-checking the tenant's fingerprint inside it), deployment records and
//! their results, the deployment history, and the packages a tenant keeps. Records and results
//! are written with one statement each (arrays), read with one query for all results.

use postgres::Transaction;

use super::{parse_guid, pg_err, write, PgTenant};
use crate::store::{
    Actor, AppliedRecord, Change, Content, Deployment, DeploymentResult, PackageObject,
    PackageSummary, StoreError, StoredPackage, TenantUrl, Written,
};

/// See [`crate::store::Tenant::apply`].
pub(super) fn apply(
    t: &mut PgTenant,
    expected: &str,
    batch: &[Change],
    applied: &[AppliedRecord],
    deployment: &Deployment,
    actor: &Actor,
) -> Result<Vec<Written>, StoreError> {
    t.in_write(|tx, url| apply_in(tx, url, expected, batch, applied, deployment, actor))
}

fn apply_in(
    tx: &mut Transaction<'_>,
    url: &TenantUrl,
    expected: &str,
    batch: &[Change],
    applied: &[AppliedRecord],
    deployment: &Deployment,
    actor: &Actor,
) -> Result<Vec<Written>, StoreError> {
    // Inside the write transaction, after the writers' row lock: no other writer can come
    // between this check and the writes (see the module doc of `postgres`).
    if fingerprint(tx, url)? != expected {
        return Err(changed_since_plan(tx, url)?);
    }
    let written = write::write_batch(tx, url, batch, actor)?;
    let deleted: Vec<String> = batch
        .iter()
        .filter_map(|c| match c {
            Change::Delete(g) => Some(g.to_string()),
            _ => None,
        })
        .collect();
    tx.execute("DELETE FROM applied WHERE guid = ANY($1)", &[&deleted])
        .map_err(pg_err(url, "record applied"))?;
    record_applied(tx, url, applied, &deployment.id, &actor.now)?;
    insert(tx, url, deployment)?;
    if crate::store::cancelled() {
        return Err(StoreError::Cancelled);
    }
    Ok(written)
}

fn fingerprint(tx: &mut Transaction<'_>, url: &TenantUrl) -> Result<String, StoreError> {
    let rows = tx
        .query("SELECT guid, hash FROM objects", &[])
        .map_err(pg_err(url, "read objects"))?;
    let mut pairs = Vec::with_capacity(rows.len());
    for r in &rows {
        pairs.push((parse_guid(url, r.get(0))?, r.get::<_, &str>(1)));
    }
    Ok(crate::store::fingerprint(pairs))
}

fn changed_since_plan(tx: &mut Transaction<'_>, url: &TenantUrl) -> Result<StoreError, StoreError> {
    let err = pg_err(url, "read history");
    let last = tx
        .query_opt(
            "SELECT changed_by, changed_at FROM object_changes ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .map_err(&err)?;
    let Some(last) = last else {
        return Ok(StoreError::ChangedSincePlan {
            tenant: url.clone(),
            by: "an unknown writer".into(),
            deployment: None,
        });
    };
    let (writer, at): (String, String) = (last.get(0), last.get(1));
    let deployment: Option<String> = tx
        .query_opt(
            "SELECT id FROM deployments WHERE actor = $1 AND status <> 'failed'
             ORDER BY started_at DESC, seq DESC LIMIT 1",
            &[&writer],
        )
        .map_err(&err)?
        .map(|r| r.get(0));
    Ok(StoreError::ChangedSincePlan {
        tenant: url.clone(),
        by: format!("{writer} at {at}"),
        deployment,
    })
}

/// Records what a deployment applied to each object (one statement).
fn record_applied(
    tx: &mut Transaction<'_>,
    url: &TenantUrl,
    applied: &[AppliedRecord],
    deployment_id: &str,
    now: &str,
) -> Result<(), StoreError> {
    if applied.is_empty() {
        return Ok(());
    }
    let guids: Vec<String> = applied.iter().map(|a| a.guid.to_string()).collect();
    let hashes: Vec<&str> = applied.iter().map(|a| a.hash.as_str()).collect();
    let blobs: Vec<Option<&str>> = applied.iter().map(|a| a.blob_id.as_deref()).collect();
    let bodies: Vec<&str> = applied.iter().map(|a| a.body.as_str()).collect();
    tx.execute(
        "INSERT INTO applied (guid, hash, blob_id, deployment_id, applied_at, body)
         SELECT g, h, b, $5, $6, y FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
             AS x (g, h, b, y)
         ON CONFLICT (guid) DO UPDATE SET hash = EXCLUDED.hash, blob_id = EXCLUDED.blob_id,
             deployment_id = EXCLUDED.deployment_id, applied_at = EXCLUDED.applied_at,
             body = EXCLUDED.body",
        &[&guids, &hashes, &blobs, &bodies, &deployment_id, &now],
    )
    .map_err(pg_err(url, "record applied"))?;
    Ok(())
}

/// See [`crate::store::Tenant::record_deployment`].
pub(super) fn record(t: &mut PgTenant, d: &Deployment) -> Result<(), StoreError> {
    t.in_write(|tx, url| insert(tx, url, d))
}

/// Records a deployment and its results inside an open transaction.
fn insert(tx: &mut Transaction<'_>, url: &TenantUrl, d: &Deployment) -> Result<(), StoreError> {
    let err = pg_err(url, "record deployment");
    tx.execute(
        "INSERT INTO deployments (id, source, plan_hash, actor, started_at, finished_at, status, rollback_of, objects_tree, custom_kinds, skip_gate)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, plan_hash = EXCLUDED.plan_hash,
             actor = EXCLUDED.actor, started_at = EXCLUDED.started_at,
             finished_at = EXCLUDED.finished_at, status = EXCLUDED.status,
             rollback_of = EXCLUDED.rollback_of, objects_tree = EXCLUDED.objects_tree,
             custom_kinds = EXCLUDED.custom_kinds, skip_gate = EXCLUDED.skip_gate",
        &[
            &d.id,
            &d.source,
            &d.plan_hash,
            &d.actor,
            &d.started_at,
            &d.finished_at,
            &d.status,
            &d.rollback_of,
            &d.content.as_ref().map(|c| &c.objects_tree),
            &d.content.as_ref().and_then(|c| c.custom_kinds.as_ref()),
            &d.skip_gate,
        ],
    )
    .map_err(&err)?;
    tx.execute(
        "DELETE FROM deployment_results WHERE deployment_id = $1",
        &[&d.id],
    )
    .map_err(&err)?;
    if d.results.is_empty() {
        return Ok(());
    }
    let guids: Vec<String> = d.results.iter().map(|r| r.guid.to_string()).collect();
    let addresses: Vec<&str> = d.results.iter().map(|r| r.address.as_str()).collect();
    let actions: Vec<&str> = d.results.iter().map(|r| r.action.as_str()).collect();
    let statuses: Vec<&str> = d.results.iter().map(|r| r.status.as_str()).collect();
    let messages: Vec<Option<&str>> = d.results.iter().map(|r| r.message.as_deref()).collect();
    tx.execute(
        "INSERT INTO deployment_results (deployment_id, guid, address, action, status, message)
         SELECT $1, g, a, c, s, m
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x (g, a, c, s, m)
         ON CONFLICT (deployment_id, guid) DO UPDATE SET address = EXCLUDED.address,
             action = EXCLUDED.action, status = EXCLUDED.status, message = EXCLUDED.message",
        &[&d.id, &guids, &addresses, &actions, &statuses, &messages],
    )
    .map_err(&err)?;
    Ok(())
}

const DEPLOYMENT_COLUMNS: &str = "id, source, plan_hash, actor, started_at, finished_at, status, rollback_of, objects_tree, custom_kinds, skip_gate";

/// Deployments chosen by `clause` (with parameter $1), with their results (two queries).
fn read(
    t: &PgTenant,
    clause: &str,
    param: &(dyn postgres::types::ToSql + Sync),
) -> Result<Vec<Deployment>, StoreError> {
    let mut client = t.client.borrow_mut();
    let err = t.err("read deployments");
    let rows = client
        .query(
            &format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments {clause}"),
            &[param],
        )
        .map_err(&err)?;
    let mut deployments: Vec<Deployment> = rows
        .iter()
        .map(|r| {
            let custom_kinds: Option<String> = r.get(9);
            Deployment {
                id: r.get(0),
                source: r.get(1),
                plan_hash: r.get(2),
                actor: r.get(3),
                started_at: r.get(4),
                finished_at: r.get(5),
                status: r.get(6),
                results: Vec::new(),
                rollback_of: r.get(7),
                content: r.get::<_, Option<String>>(8).map(|objects_tree| Content {
                    objects_tree,
                    custom_kinds,
                }),
                skip_gate: r.get(10),
            }
        })
        .collect();
    let ids: Vec<&str> = deployments.iter().map(|d| d.id.as_str()).collect();
    let results = client
        .query(
            "SELECT deployment_id, guid, address, action, status, message FROM deployment_results
             WHERE deployment_id = ANY($1) ORDER BY deployment_id, address",
            &[&ids],
        )
        .map_err(&err)?;
    let mut by_id: std::collections::HashMap<String, Vec<DeploymentResult>> =
        std::collections::HashMap::new();
    for r in results {
        by_id.entry(r.get(0)).or_default().push(DeploymentResult {
            guid: parse_guid(&t.url, r.get(1))?,
            address: r.get(2),
            action: r.get(3),
            status: r.get(4),
            message: r.get(5),
        });
    }
    for d in &mut deployments {
        d.results = by_id.remove(&d.id).unwrap_or_default();
    }
    Ok(deployments)
}

pub(super) fn latest(t: &PgTenant, limit: usize) -> Result<Vec<Deployment>, StoreError> {
    read(
        t,
        "ORDER BY started_at DESC, id DESC LIMIT $1",
        &(limit as i64),
    )
}

pub(super) fn ids(t: &PgTenant) -> Result<Vec<String>, StoreError> {
    Ok(t.rows(
        "read deployments",
        "SELECT id FROM deployments ORDER BY started_at DESC, id DESC",
        &[],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

pub(super) fn one(t: &PgTenant, id: &str) -> Result<Option<Deployment>, StoreError> {
    Ok(read(t, "WHERE id = $1", &id)?.pop())
}

pub(super) fn applied_content(
    t: &PgTenant,
    content: &Content,
) -> Result<Option<Deployment>, StoreError> {
    let id: Option<String> = t
        .rows(
            "read deployments",
            "SELECT id FROM deployments
             WHERE objects_tree = $1 AND custom_kinds IS NOT DISTINCT FROM $2 AND status = 'succeeded'
             ORDER BY started_at DESC, id DESC LIMIT 1",
            &[&content.objects_tree, &content.custom_kinds],
        )?
        .first()
        .map(|r| r.get(0));
    match id {
        Some(id) => one(t, &id),
        None => Ok(None),
    }
}

fn summary(r: &postgres::Row) -> PackageSummary {
    PackageSummary {
        id: r.get(0),
        hash: r.get(1),
        name: r.get(2),
        mode: r.get(3),
        created_at: r.get(4),
        imported_at: r.get(5),
    }
}

pub(super) fn store_package(
    t: &mut PgTenant,
    p: &StoredPackage,
    expired_before: &str,
) -> Result<Vec<PackageSummary>, StoreError> {
    t.in_write(|tx, url| keep_package(tx, url, p, expired_before))
}

fn keep_package(
    tx: &mut Transaction<'_>,
    url: &TenantUrl,
    p: &StoredPackage,
    expired_before: &str,
) -> Result<Vec<PackageSummary>, StoreError> {
    let removed: Vec<PackageSummary> = tx
        .query(
            "DELETE FROM packages WHERE imported_at < $1
             RETURNING id, hash, name, mode, created_at, imported_at",
            &[&expired_before],
        )
        .map_err(pg_err(url, "remove package"))?
        .iter()
        .map(summary)
        .collect();
    let mut removed = removed;
    removed.sort_by(|a, b| (&a.imported_at, &a.id).cmp(&(&b.imported_at, &b.id)));
    tx.execute(
        "INSERT INTO packages
           (id, hash, name, mode, created_at, imported_at, imported_by, manifest, content)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &p.id,
            &p.hash,
            &p.name,
            &p.mode,
            &p.created_at,
            &p.imported_at,
            &p.imported_by,
            &p.manifest,
            &p.content,
        ],
    )
    .map_err(pg_err(url, "keep package"))?;
    if !p.objects.is_empty() {
        let guids: Vec<String> = p.objects.iter().map(|o| o.guid.to_string()).collect();
        let addresses: Vec<&str> = p.objects.iter().map(|o| o.address.as_str()).collect();
        let kinds: Vec<&str> = p.objects.iter().map(|o| o.kind.as_str()).collect();
        let changes: Vec<&str> = p.objects.iter().map(|o| o.change.as_str()).collect();
        let statuses: Vec<&str> = p.objects.iter().map(|o| o.status.as_str()).collect();
        tx.execute(
            "INSERT INTO package_objects (package_id, guid, address, kind, change, status)
             SELECT $1, g, a, k, c, s
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x (g, a, k, c, s)",
            &[&p.id, &guids, &addresses, &kinds, &changes, &statuses],
        )
        .map_err(pg_err(url, "keep package"))?;
    }
    Ok(removed)
}

pub(super) fn packages(t: &PgTenant) -> Result<Vec<PackageSummary>, StoreError> {
    Ok(t.rows(
        "read packages",
        "SELECT id, hash, name, mode, created_at, imported_at FROM packages
             ORDER BY imported_at DESC, id DESC",
        &[],
    )?
    .iter()
    .map(summary)
    .collect())
}

pub(super) fn package(t: &PgTenant, id: &str) -> Result<Option<StoredPackage>, StoreError> {
    let rows = t.rows(
        "read package",
        "SELECT id, hash, name, mode, created_at, imported_at, imported_by, manifest, content
         FROM packages WHERE id = $1",
        &[&id],
    )?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let mut p = StoredPackage {
        id: r.get(0),
        hash: r.get(1),
        name: r.get(2),
        mode: r.get(3),
        created_at: r.get(4),
        imported_at: r.get(5),
        imported_by: r.get(6),
        manifest: r.get(7),
        content: r.get(8),
        objects: Vec::new(),
    };
    for r in t.rows(
        "read package",
        "SELECT guid, address, kind, change, status, deployment_id, message FROM package_objects
         WHERE package_id = $1 ORDER BY address, guid",
        &[&id],
    )? {
        p.objects.push(PackageObject {
            guid: parse_guid(&t.url, r.get(0))?,
            address: r.get(1),
            kind: r.get(2),
            change: r.get(3),
            status: r.get(4),
            deployment_id: r.get(5),
            message: r.get(6),
        });
    }
    Ok(Some(p))
}

/// See [`crate::store::Tenant::set_package_statuses`]: one statement for all the objects.
pub(super) fn set_package_statuses(
    t: &mut PgTenant,
    id: &str,
    objects: &[PackageObject],
) -> Result<(), StoreError> {
    let guids: Vec<String> = objects.iter().map(|o| o.guid.to_string()).collect();
    let statuses: Vec<&str> = objects.iter().map(|o| o.status.as_str()).collect();
    let deployments: Vec<Option<&str>> =
        objects.iter().map(|o| o.deployment_id.as_deref()).collect();
    let messages: Vec<Option<&str>> = objects.iter().map(|o| o.message.as_deref()).collect();
    t.in_write(|tx, url| {
        tx.execute(
            "UPDATE package_objects p SET status = x.s, deployment_id = x.d, message = x.m
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS x (g, s, d, m)
             WHERE p.package_id = $1 AND p.guid = x.g",
            &[&id, &guids, &statuses, &deployments, &messages],
        )
        .map_err(pg_err(url, "set package statuses"))?;
        Ok(())
    })
}
