//! Deployments: an apply (a batch, what ferry applied, and the deployment record, in one
//! transaction), deployment records and their per-object results, the deployment history, and
//! the packages a tenant keeps.

use std::path::Path;

use rusqlite::{params, OptionalExtension, Transaction};

use super::{commit, db, parse_guid, write, SqliteTenant};
use crate::store::{
    Actor, AppliedRecord, Change, Content, Deployment, DeploymentResult, PackageObject,
    PackageSummary, StoreError, StoredPackage, Written,
};

/// See [`crate::store::Tenant::apply`].
pub(super) fn apply(
    t: &mut SqliteTenant,
    expected: &str,
    batch: &[Change],
    applied: &[AppliedRecord],
    deployment: &Deployment,
    actor: &Actor,
) -> Result<Vec<Written>, StoreError> {
    let (path, url) = (t.path.clone(), t.url.clone());
    let tx = t.begin()?;
    // Inside the write transaction: no other writer can come between this check and the writes.
    if fingerprint(&tx, &path)? != expected {
        return Err(changed_since_plan(&tx, &path, &url)?);
    }
    let written = write::write_batch(&tx, &path, &url, batch, actor)?;
    forget_deleted(&tx, &path, batch)?;
    record_applied(&tx, &path, applied, &deployment.id, &actor.now)?;
    insert(&tx, &path, deployment)?;
    if crate::store::cancelled() {
        return Err(StoreError::Cancelled);
    }
    commit(tx, &path)?;
    Ok(written)
}

/// The tenant's [`crate::store::fingerprint`], read inside `tx`.
fn fingerprint(tx: &Transaction<'_>, path: &Path) -> Result<String, StoreError> {
    let err = |e| db(path, "read objects", e);
    let mut stmt = tx
        .prepare_cached("SELECT guid, hash FROM objects")
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(err)?;
    let mut pairs = Vec::new();
    for row in rows {
        let (guid, hash) = row.map_err(err)?;
        pairs.push((parse_guid(path, &guid)?, hash));
    }
    Ok(crate::store::fingerprint(
        pairs.iter().map(|(g, h)| (*g, h.as_str())),
    ))
}

/// The error for a tenant that is not as its plan saw it, naming its last writer: the newest
/// line of the objects' history, and the newest successful deployment by that writer.
fn changed_since_plan(
    tx: &Transaction<'_>,
    path: &Path,
    url: &crate::store::TenantUrl,
) -> Result<StoreError, StoreError> {
    let err = |e| db(path, "read history", e);
    let last: Option<(String, String)> = tx
        .query_row(
            "SELECT changed_by, changed_at FROM object_changes ORDER BY rowid DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(err)?;
    let Some((writer, at)) = last else {
        return Ok(StoreError::ChangedSincePlan {
            tenant: url.clone(),
            by: "an unknown writer".into(),
            deployment: None,
        });
    };
    let deployment: Option<String> = tx
        .query_row(
            "SELECT id FROM deployments WHERE actor = ?1 AND status <> 'failed'
             ORDER BY started_at DESC, rowid DESC LIMIT 1",
            [&writer],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    Ok(StoreError::ChangedSincePlan {
        tenant: url.clone(),
        by: format!("{writer} at {at}"),
        deployment,
    })
}

/// Removes what ferry applied to the objects a deployment deletes: they are gone by ferry's
/// hand, not drift.
fn forget_deleted(tx: &Transaction<'_>, path: &Path, batch: &[Change]) -> Result<(), StoreError> {
    let err = |e| db(path, "record applied", e);
    let mut delete = tx
        .prepare_cached("DELETE FROM applied WHERE guid = ?1")
        .map_err(err)?;
    for change in batch {
        if let Change::Delete(guid) = change {
            delete.execute([guid.to_string()]).map_err(err)?;
        }
    }
    Ok(())
}

/// Records what a deployment applied to each object, replacing what was recorded before.
fn record_applied(
    tx: &Transaction<'_>,
    path: &Path,
    applied: &[AppliedRecord],
    deployment_id: &str,
    now: &str,
) -> Result<(), StoreError> {
    let err = |e| db(path, "record applied", e);
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO applied (guid, hash, blob_id, deployment_id, applied_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(err)?;
    for a in applied {
        insert
            .execute(params![
                a.guid.to_string(),
                a.hash,
                a.blob_id,
                deployment_id,
                now,
                a.body
            ])
            .map_err(err)?;
    }
    Ok(())
}

/// See [`crate::store::Tenant::record_deployment`].
pub(super) fn record(t: &mut SqliteTenant, d: &Deployment) -> Result<(), StoreError> {
    let path = t.path.clone();
    let tx = t.begin()?;
    insert(&tx, &path, d)?;
    commit(tx, &path)
}

/// Records a deployment and its results inside an open transaction.
fn insert(tx: &Transaction<'_>, path: &Path, d: &Deployment) -> Result<(), StoreError> {
    let err = |e| db(path, "record deployment", e);
    tx.execute(
        "INSERT OR REPLACE INTO deployments (id, source, plan_hash, actor, started_at, finished_at, status, rollback_of, objects_tree, custom_kinds, skip_gate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            d.id,
            d.source,
            d.plan_hash,
            d.actor,
            d.started_at,
            d.finished_at,
            d.status,
            d.rollback_of,
            d.content.as_ref().map(|c| &c.objects_tree),
            d.content.as_ref().and_then(|c| c.custom_kinds.as_ref()),
            d.skip_gate
        ],
    )
    .map_err(err)?;
    tx.execute(
        "DELETE FROM deployment_results WHERE deployment_id = ?1",
        [&d.id],
    )
    .map_err(err)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO deployment_results (deployment_id, guid, address, action, status, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(err)?;
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
            .map_err(err)?;
    }
    Ok(())
}

/// See [`crate::store::Tenant::deployments`].
pub(super) fn latest(t: &SqliteTenant, limit: usize) -> Result<Vec<Deployment>, StoreError> {
    read(
        t,
        "ORDER BY started_at DESC, id DESC LIMIT CAST(?1 AS INTEGER)",
        &limit.to_string(),
    )
}

/// See [`crate::store::Tenant::deployment_ids`].
pub(super) fn ids(t: &SqliteTenant) -> Result<Vec<String>, StoreError> {
    let err = t.err("read deployments");
    let mut stmt = t
        .conn
        .prepare("SELECT id FROM deployments ORDER BY started_at DESC, id DESC")
        .map_err(&err)?;
    let ids = stmt
        .query_map([], |r| r.get(0))
        .map_err(&err)?
        .collect::<Result<_, _>>()
        .map_err(&err);
    ids
}

/// See [`crate::store::Tenant::deployment`].
pub(super) fn one(t: &SqliteTenant, id: &str) -> Result<Option<Deployment>, StoreError> {
    Ok(read(t, "WHERE id = ?1", id)?.pop())
}

/// See [`crate::store::Tenant::applied_content`].
pub(super) fn applied_content(
    t: &SqliteTenant,
    content: &Content,
) -> Result<Option<Deployment>, StoreError> {
    let err = t.err("read deployments");
    let id: Option<String> = t
        .conn
        .query_row(
            "SELECT id FROM deployments
             WHERE objects_tree = ?1 AND custom_kinds IS ?2 AND status = 'succeeded'
             ORDER BY started_at DESC, id DESC LIMIT 1",
            params![content.objects_tree, content.custom_kinds],
            |r| r.get(0),
        )
        .optional()
        .map_err(&err)?;
    match id {
        Some(id) => one(t, &id),
        None => Ok(None),
    }
}

/// Deployments chosen by `clause` (with one parameter), with their results.
fn read(t: &SqliteTenant, clause: &str, param: &str) -> Result<Vec<Deployment>, StoreError> {
    let err = t.err("read deployments");
    let mut stmt = t
        .conn
        .prepare(&format!(
            "SELECT id, source, plan_hash, actor, started_at, finished_at, status, rollback_of, objects_tree, custom_kinds, skip_gate FROM deployments {clause}"
        ))
        .map_err(&err)?;
    let rows = stmt
        .query_map([param], |r| {
            let custom_kinds: Option<String> = r.get(9)?;
            Ok(Deployment {
                id: r.get(0)?,
                source: r.get(1)?,
                plan_hash: r.get(2)?,
                actor: r.get(3)?,
                started_at: r.get(4)?,
                finished_at: r.get(5)?,
                status: r.get(6)?,
                results: Vec::new(),
                rollback_of: r.get(7)?,
                content: r.get::<_, Option<String>>(8)?.map(|objects_tree| Content {
                    objects_tree,
                    custom_kinds,
                }),
                skip_gate: r.get(10)?,
            })
        })
        .map_err(&err)?;
    let mut deployments: Vec<Deployment> = rows.collect::<Result<_, _>>().map_err(&err)?;
    let mut stmt = t
        .conn
        .prepare(
            "SELECT guid, address, action, status, message FROM deployment_results
             WHERE deployment_id = ?1 ORDER BY address",
        )
        .map_err(&err)?;
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
            .map_err(&err)?;
        for row in rows {
            let (guid, address, action, status, message) = row.map_err(&err)?;
            d.results.push(DeploymentResult {
                guid: parse_guid(&t.path, &guid)?,
                address,
                action,
                status,
                message,
            });
        }
    }
    Ok(deployments)
}

/// See [`crate::store::Tenant::store_package`].
pub(super) fn store_package(
    t: &mut SqliteTenant,
    p: &StoredPackage,
    expired_before: &str,
) -> Result<Vec<PackageSummary>, StoreError> {
    let path = t.path.clone();
    let err = |action: &'static str| {
        let path = path.clone();
        move |e| db(&path, action, e)
    };
    let tx = t.begin()?;
    let removed = {
        let mut stmt = tx
            .prepare(
                "SELECT id, hash, name, mode, created_at, imported_at FROM packages
                 WHERE imported_at < ?1 ORDER BY imported_at, id",
            )
            .map_err(err("read packages"))?;
        let rows = stmt
            .query_map(params![expired_before], summary)
            .map_err(err("read packages"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(err("read packages"))?
    };
    for old in &removed {
        tx.execute(
            "DELETE FROM package_objects WHERE package_id = ?1",
            params![old.id],
        )
        .map_err(err("remove package"))?;
        tx.execute("DELETE FROM packages WHERE id = ?1", params![old.id])
            .map_err(err("remove package"))?;
    }
    tx.execute(
        "INSERT INTO packages
           (id, hash, name, mode, created_at, imported_at, imported_by, manifest, content)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            p.id,
            p.hash,
            p.name,
            p.mode,
            p.created_at,
            p.imported_at,
            p.imported_by,
            p.manifest,
            p.content
        ],
    )
    .map_err(err("keep package"))?;
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO package_objects (package_id, guid, address, kind, change, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(err("keep package"))?;
        for o in &p.objects {
            stmt.execute(params![
                p.id,
                o.guid.to_string(),
                o.address,
                o.kind,
                o.change,
                o.status
            ])
            .map_err(err("keep package"))?;
        }
    }
    commit(tx, &path)?;
    Ok(removed)
}

/// See [`crate::store::Tenant::set_package_statuses`].
pub(super) fn set_package_statuses(
    t: &mut SqliteTenant,
    id: &str,
    objects: &[PackageObject],
) -> Result<(), StoreError> {
    let path = t.path.clone();
    let err = |e| db(&path, "set package statuses", e);
    let tx = t.begin()?;
    {
        let mut stmt = tx
            .prepare(
                "UPDATE package_objects SET status = ?3, deployment_id = ?4, message = ?5
                 WHERE package_id = ?1 AND guid = ?2",
            )
            .map_err(err)?;
        for o in objects {
            stmt.execute(params![
                id,
                o.guid.to_string(),
                o.status,
                o.deployment_id,
                o.message
            ])
            .map_err(err)?;
        }
    }
    commit(tx, &path)
}

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<PackageSummary> {
    Ok(PackageSummary {
        id: r.get(0)?,
        hash: r.get(1)?,
        name: r.get(2)?,
        mode: r.get(3)?,
        created_at: r.get(4)?,
        imported_at: r.get(5)?,
    })
}

/// See [`crate::store::Tenant::packages`].
pub(super) fn packages(t: &SqliteTenant) -> Result<Vec<PackageSummary>, StoreError> {
    let err = t.err("read packages");
    let mut stmt = t
        .conn
        .prepare(
            "SELECT id, hash, name, mode, created_at, imported_at FROM packages
             ORDER BY imported_at DESC, id DESC",
        )
        .map_err(&err)?;
    let rows = stmt.query_map([], summary).map_err(&err)?;
    rows.collect::<Result<_, _>>().map_err(&err)
}

/// See [`crate::store::Tenant::package`].
pub(super) fn package(t: &SqliteTenant, id: &str) -> Result<Option<StoredPackage>, StoreError> {
    let err = t.err("read package");
    let found = t
        .conn
        .query_row(
            "SELECT id, hash, name, mode, created_at, imported_at, imported_by, manifest, content
             FROM packages WHERE id = ?1",
            params![id],
            |r| {
                Ok(StoredPackage {
                    id: r.get(0)?,
                    hash: r.get(1)?,
                    name: r.get(2)?,
                    mode: r.get(3)?,
                    created_at: r.get(4)?,
                    imported_at: r.get(5)?,
                    imported_by: r.get(6)?,
                    manifest: r.get(7)?,
                    content: r.get(8)?,
                    objects: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(&err)?;
    let Some(mut p) = found else {
        return Ok(None);
    };
    let mut stmt = t
        .conn
        .prepare(
            "SELECT guid, address, kind, change, status, deployment_id, message FROM package_objects
             WHERE package_id = ?1 ORDER BY address, guid",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map(params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(&err)?;
    for row in rows {
        let (guid, address, kind, change, status, deployment_id, message) = row.map_err(&err)?;
        p.objects.push(PackageObject {
            guid: parse_guid(&t.path, &guid)?,
            address,
            kind,
            change,
            status,
            deployment_id,
            message,
        });
    }
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::sqlite::test_support::{actor, put, tenant};
    use crate::store::Tenant;

    const NOW: &str = "2026-03-01T10:00:00Z";

    /// The fingerprint of a tenant without objects.
    fn empty_fingerprint() -> String {
        crate::store::fingerprint([])
    }

    fn deployment(id: &str, started_at: &str, guid: Uuid) -> Deployment {
        Deployment {
            id: id.into(),
            source: "abc123".into(),
            plan_hash: "h".into(),
            actor: "ann".into(),
            started_at: started_at.into(),
            finished_at: Some(started_at.into()),
            status: "succeeded".into(),
            rollback_of: None,
            content: None,
            skip_gate: None,
            results: vec![DeploymentResult {
                guid,
                address: "data_source/a".into(),
                action: "create".into(),
                status: "succeeded".into(),
                message: None,
            }],
        }
    }

    #[test]
    fn an_apply_records_what_it_applied_and_the_deployment() {
        let (_dir, mut t) = tenant();
        let a = Uuid::new_v4();
        let batch = [put(a, "a", None)];
        let Change::Put(o) = &batch[0] else {
            unreachable!()
        };
        let record = AppliedRecord {
            guid: a,
            hash: o.hash.clone(),
            body: "{}".into(),
            blob_id: Some("blob".into()),
        };
        let d = deployment("d1", NOW, a);
        t.apply(
            &empty_fingerprint(),
            &batch,
            std::slice::from_ref(&record),
            &d,
            &actor("ann", NOW),
        )
        .unwrap();
        assert_eq!(t.applied().unwrap()[&a], record);
        assert_eq!(t.deployment("d1").unwrap(), Some(d));
        assert_eq!(t.managed().unwrap().count, 1);
    }

    #[test]
    fn the_newest_succeeded_deployment_of_a_content_is_found_with_its_skip_reason() {
        let (_dir, mut t) = tenant();
        let a = Uuid::new_v4();
        let content = |tree: &str, kinds: Option<&str>| Content {
            objects_tree: tree.into(),
            custom_kinds: kinds.map(String::from),
        };
        let with = |id: &str, at: &str, c: Content, status: &str| Deployment {
            content: Some(c),
            status: status.into(),
            skip_gate: Some("hotfix".into()),
            ..deployment(id, at, a)
        };
        for d in [
            with(
                "d1",
                "2026-03-01T10:00:00Z",
                content("t1", None),
                "succeeded",
            ),
            with(
                "d2",
                "2026-03-01T11:00:00Z",
                content("t1", None),
                "succeeded",
            ),
            with("d3", "2026-03-01T12:00:00Z", content("t1", None), "failed"),
            with(
                "d4",
                "2026-03-01T13:00:00Z",
                content("t1", Some("k")),
                "succeeded",
            ),
            deployment("d5", "2026-03-01T14:00:00Z", a),
        ] {
            t.record_deployment(&d).unwrap();
        }
        let found = t.applied_content(&content("t1", None)).unwrap().unwrap();
        assert_eq!(found.id, "d2");
        assert_eq!(found.skip_gate.as_deref(), Some("hotfix"));
        assert_eq!(found.results.len(), 1);
        let found = t.applied_content(&content("t1", Some("k"))).unwrap();
        assert_eq!(found.map(|d| d.id).as_deref(), Some("d4"));
        assert!(t.applied_content(&content("t2", None)).unwrap().is_none());
        assert!(t
            .applied_content(&content("t1", Some("j")))
            .unwrap()
            .is_none());
        assert_eq!(t.deployment("d5").unwrap().unwrap().content, None);
    }

    #[test]
    fn an_apply_against_a_tenant_changed_since_its_plan_writes_nothing_and_names_the_writer() {
        let (_dir, mut t) = tenant();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let planned = empty_fingerprint();
        let first = Deployment {
            actor: "ann (apply 1)".into(),
            ..deployment("d1", NOW, a)
        };
        t.apply(
            &planned,
            &[put(a, "a", None)],
            &[],
            &first,
            &actor("ann (apply 1)", NOW),
        )
        .unwrap();
        // A second apply planned against the same (empty) tenant.
        let e = t
            .apply(
                &planned,
                &[put(b, "b", None)],
                &[],
                &deployment("d2", NOW, b),
                &actor("ann", NOW),
            )
            .unwrap_err();
        let StoreError::ChangedSincePlan {
            by,
            deployment: last,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(by, &format!("ann (apply 1) at {NOW}"));
        assert_eq!(last.as_deref(), Some("d1"));
        assert!(
            e.to_string().contains("last written by ann (apply 1)"),
            "{e}"
        );
        assert_eq!(t.deployment("d2").unwrap(), None);
        assert_eq!(t.counts().unwrap().values().sum::<u64>(), 1);
        // Against the tenant as it is now, it applies.
        let now = crate::store::fingerprint(
            t.object_index()
                .unwrap()
                .iter()
                .map(|o| (o.guid, o.hash.as_str())),
        );
        t.apply(
            &now,
            &[put(b, "b", None)],
            &[],
            &deployment("d2", NOW, b),
            &actor("ann", NOW),
        )
        .unwrap();
    }

    #[test]
    fn a_failed_apply_records_nothing() {
        let (_dir, mut t) = tenant();
        let (a, missing) = (Uuid::new_v4(), Uuid::new_v4());
        let d = deployment("d1", NOW, a);
        let e = t
            .apply(
                &empty_fingerprint(),
                &[put(a, "a", Some(missing))],
                &[],
                &d,
                &actor("ann", NOW),
            )
            .unwrap_err();
        assert!(matches!(e, StoreError::DanglingReference { .. }), "{e:?}");
        assert_eq!(t.deployment("d1").unwrap(), None);
        assert!(t.counts().unwrap().is_empty());
    }

    #[test]
    fn the_history_is_newest_first_and_a_record_can_be_updated() {
        let (_dir, mut t) = tenant();
        let g = Uuid::new_v4();
        let mut first = deployment("d1", "2026-03-01T10:00:00Z", g);
        t.record_deployment(&first).unwrap();
        t.record_deployment(&deployment("d2", "2026-03-02T10:00:00Z", g))
            .unwrap();
        let ids = |t: &SqliteTenant, n| {
            t.deployments(n)
                .unwrap()
                .into_iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&t, 10), ["d2", "d1"]);
        assert_eq!(ids(&t, 1), ["d2"]);
        first.status = "failed".into();
        first.results.clear();
        t.record_deployment(&first).unwrap();
        assert_eq!(t.deployment("d1").unwrap(), Some(first));
    }

    #[test]
    fn packages_are_kept_newest_first_and_expire() {
        let (_dir, mut t) = tenant();
        let guid = Uuid::new_v4();
        for (id, at) in [
            ("p1", "2026-03-01T10:00:00Z"),
            ("p2", "2026-03-02T10:00:00Z"),
        ] {
            let removed = t
                .store_package(
                    &StoredPackage {
                        id: id.into(),
                        hash: format!("h-{id}"),
                        name: format!("{id}.dp"),
                        mode: "full".into(),
                        created_at: at.into(),
                        imported_at: at.into(),
                        imported_by: "ann".into(),
                        manifest: "{}".into(),
                        content: vec![1, 2, 3],
                        objects: vec![PackageObject {
                            guid,
                            address: "word_root/a".into(),
                            kind: "word_root".into(),
                            change: "carried".into(),
                            status: "pending".into(),
                            deployment_id: None,
                            message: None,
                        }],
                    },
                    "2026-01-01T00:00:00Z",
                )
                .unwrap();
            assert!(removed.is_empty());
        }
        let ids: Vec<String> = t.packages().unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(ids, ["p2", "p1"]);
        let p1 = t.package("p1").unwrap().unwrap();
        assert_eq!(p1.content, vec![1, 2, 3]);
        assert_eq!(p1.objects.len(), 1);
        assert_eq!(p1.objects[0].status, "pending");
        assert_eq!(t.package("nope").unwrap(), None);
        let mut p3 = p1.clone();
        p3.id = "p3".into();
        p3.imported_at = "2026-03-05T10:00:00Z".into();
        let removed = t.store_package(&p3, "2026-03-02T00:00:00Z").unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].id, "p1");
        let ids: Vec<String> = t.packages().unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(ids, ["p3", "p2"]);
        assert_eq!(t.package("p1").unwrap(), None);
    }
}
