//! The store conformance suite: one set of behaviour tests, run against every [`Tenant`]
//! implementation from the same code (`sqlite_store::*` and `postgres_store::*`). The
//! PostgreSQL ones need a server: `FERRY_TEST_POSTGRES_URL` (`.ci/postgres` starts one and
//! sets it). Without it they are skipped with a message on stderr, unless `CI` is set: then
//! they fail, so that CI cannot pass without running them.

use uuid::Uuid;

use super::sqlite::test_support::{actor, facts, put};
use super::{
    AppliedRecord, Change, Content, Deployment, DeploymentResult, Filter, Lease, ObjectKey,
    Outcome, PackageObject, StoreError, StoredPackage, Tenant, TenantUrl,
};
use crate::secret::Secret;

const T0: &str = "2026-03-01T10:00:00Z";
const T1: &str = "2026-03-01T10:05:00Z";
const T2: &str = "2026-03-01T10:10:00Z";
const T3: &str = "2026-03-01T10:15:00Z";

/// A new, empty tenant of one store, and what it takes to open it again.
pub(crate) struct Store {
    pub t: Box<dyn Tenant>,
    pub url: TenantUrl,
    _dir: Option<tempfile::TempDir>,
}

impl Store {
    /// The same tenant, opened again (a second connection, as another process has).
    pub fn reopen(&self) -> Box<dyn Tenant> {
        super::open(&self.url).unwrap()
    }
}

/// A new SQLite tenant in a temporary folder.
pub(crate) fn sqlite() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let url = TenantUrl::Sqlite(dir.path().join("t.db"));
    Store {
        t: super::create(&url, &facts(), T0).unwrap(),
        url,
        _dir: Some(dir),
    }
}

/// The test server's URL: `FERRY_TEST_POSTGRES_URL`. `None` (with a message) when it is not
/// set; a failure when it is not set and `CI` is.
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var("FERRY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but FERRY_TEST_POSTGRES_URL is not: .ci/run starts a PostgreSQL server with .ci/postgres"
        ),
        _ => {
            eprintln!(
                "skipped: a PostgreSQL test (set FERRY_TEST_POSTGRES_URL, or run `. .ci/postgres` first)"
            );
            None
        }
    }
}

/// `base` with `?schema=NAME` (or `&schema=NAME`) added.
pub(crate) fn with_schema(base: &str, schema: &str) -> String {
    let join = if base.contains('?') { '&' } else { '?' };
    format!("{base}{join}schema={schema}")
}

/// A new PostgreSQL tenant in a schema of its own, when a server is there.
pub(crate) fn postgres() -> Option<Store> {
    let base = postgres_url()?;
    let schema = format!("t_{}", Uuid::new_v4().simple());
    let url = TenantUrl::parse(&with_schema(&base, &schema)).unwrap();
    Some(Store {
        t: super::create(&url, &facts(), T0).unwrap(),
        url,
        _dir: None,
    })
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(#[test] fn $name() { super::$name(&mut super::sqlite()); })*
        }
        mod postgres_store {
            $(#[test] fn $name() {
                if let Some(mut store) = super::postgres() { super::$name(&mut store); }
            })*
        }
    };
}

conformance!(
    put_get_list_rm,
    references_land_or_nothing_is_written,
    renames_and_swaps_in_one_batch,
    adoption_moves_the_guid_everywhere,
    secrets_are_kept_apart_and_follow_their_elements,
    history_versions_and_deletions,
    settings_and_facts,
    lock_rules,
    leases,
    apply_is_all_or_nothing,
    apply_refuses_a_tenant_changed_since_the_plan,
    deployments_are_recorded_and_read,
    packages_are_kept_and_expire,
    a_reopened_tenant_is_at_the_latest_schema,
    a_second_connection_sees_the_lock_and_is_kept_out,
);

fn put_get_list_rm(s: &mut Store) {
    let t = &mut s.t;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let ann = actor("ann", T0);
    let written = t
        .write(&[put(b, "b", None), put(a, "a", None)], &ann)
        .unwrap();
    assert_eq!(
        written.iter().map(|w| w.outcome).collect::<Vec<_>>(),
        [Outcome::Created, Outcome::Created]
    );
    let got = t.object(&ObjectKey::Guid(a)).unwrap().unwrap();
    assert_eq!(
        (got.address(), got.version, got.updated_by.as_str()),
        ("data_source/a".to_string(), 1, "ann")
    );
    assert_eq!(got.spec["size"], 1);
    assert_eq!(
        t.object(&ObjectKey::Address("data_source/b".into()))
            .unwrap()
            .unwrap()
            .guid,
        b
    );
    let mut listed = Vec::new();
    t.for_each_object(&Filter::default(), &mut |o| {
        listed.push(o.address());
        Ok(())
    })
    .unwrap();
    assert_eq!(
        listed,
        ["data_source/a", "data_source/b"],
        "sorted by address"
    );
    let only = Filter {
        kinds: vec!["project".into()],
        ..Filter::default()
    };
    let mut none = 0;
    t.for_each_object(&only, &mut |_| {
        none += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(none, 0);
    assert_eq!(t.counts().unwrap().get("data_source"), Some(&2));
    assert_eq!(t.addresses(&[a, Uuid::new_v4()]).unwrap().len(), 1);
    assert_eq!(
        t.guids(&["data_source/b".into(), "data_source/zz".into()])
            .unwrap(),
        [("data_source/b".to_string(), b)].into_iter().collect()
    );
    assert_eq!(t.address_index().unwrap().len(), 2);
    let index = t.object_index().unwrap();
    assert_eq!(index.len(), 2);
    assert!(index[0].spec.is_empty(), "the index has no bodies");
    // Unchanged puts change nothing.
    let again = t.write(&[put(a, "a", None)], &ann).unwrap();
    assert_eq!(
        (again[0].outcome, again[0].version),
        (Outcome::Unchanged, 1)
    );
    let gone = t.write(&[Change::Delete(a)], &ann).unwrap();
    assert_eq!((gone[0].outcome, gone[0].version), (Outcome::Deleted, 2));
    assert_eq!(t.object(&ObjectKey::Guid(a)).unwrap(), None);
    let e = t.write(&[Change::Delete(a)], &ann).unwrap_err();
    assert!(
        matches!(e, StoreError::NoSuchObject { guid } if guid == a),
        "{e:?}"
    );
}

fn references_land_or_nothing_is_written(s: &mut Store) {
    let t = &mut s.t;
    let (a, b, missing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let ann = actor("ann", T0);
    let e = t
        .write(&[put(a, "a", None), put(b, "b", Some(missing))], &ann)
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::DanglingReference { address, guid, .. } if address == "data_source/b" && *guid == missing),
        "{e:?}"
    );
    assert!(t.counts().unwrap().is_empty(), "not even the valid object");
    // A reference may land later in the batch.
    t.write(&[put(b, "b", Some(a)), put(a, "a", None)], &ann)
        .unwrap();
    assert_eq!(t.references_of(&[b], true).unwrap(), [(b, a)]);
    assert_eq!(t.references_of(&[a], false).unwrap(), [(b, a)]);
    assert_eq!(t.reference_edges().unwrap(), [(b, a)]);
    let e = t.write(&[Change::Delete(a)], &ann).unwrap_err();
    assert!(
        matches!(&e, StoreError::StillReferenced { address, dependent } if address == "data_source/a" && dependent == "data_source/b"),
        "{e:?}"
    );
    t.write(&[Change::Delete(a), Change::Delete(b)], &ann)
        .unwrap();
    assert!(t.counts().unwrap().is_empty());
    // An address is one object's.
    t.write(&[put(a, "a", None)], &ann).unwrap();
    let e = t.write(&[put(b, "a", None)], &ann).unwrap_err();
    assert!(
        matches!(&e, StoreError::AddressTaken { guid, .. } if *guid == a),
        "{e:?}"
    );
    // And it may not differ from another only in letter case.
    let e = t.write(&[put(b, "A", None)], &ann).unwrap_err();
    assert!(matches!(&e, StoreError::AddressFolds { .. }), "{e:?}");
    assert_eq!(t.counts().unwrap().get("data_source"), Some(&1));
}

fn renames_and_swaps_in_one_batch(s: &mut Store) {
    let t = &mut s.t;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let ann = actor("ann", T0);
    t.write(&[put(a, "a", None), put(b, "b", None)], &ann)
        .unwrap();
    let written = t
        .write(&[put(a, "b", Some(b)), put(b, "a", None)], &ann)
        .unwrap();
    assert_eq!(
        written
            .iter()
            .map(|w| (w.outcome, w.old_address.as_deref(), w.version))
            .collect::<Vec<_>>(),
        [
            (Outcome::Renamed, Some("data_source/a"), 2),
            (Outcome::Renamed, Some("data_source/b"), 2)
        ]
    );
    assert_eq!(
        t.guids(&["data_source/a".into()]).unwrap()["data_source/a"],
        b
    );
}

fn adoption_moves_the_guid_everywhere(s: &mut Store) {
    let t = &mut s.t;
    let (old, new, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let ann = actor("ann", T0);
    t.write(&[put(old, "a", None), put(b, "b", Some(old))], &ann)
        .unwrap();
    let written = t
        .write(&[Change::Adopt { from: old, to: new }], &ann)
        .unwrap();
    assert_eq!(
        (written[0].guid, written[0].outcome),
        (new, Outcome::Updated)
    );
    assert_eq!(t.object(&ObjectKey::Guid(old)).unwrap(), None);
    assert_eq!(t.references_of(&[b], true).unwrap(), [(b, new)]);
    let dependent = t.object(&ObjectKey::Guid(b)).unwrap().unwrap();
    assert_eq!(dependent.spec["peer"], new.to_string());
    let Change::Put(expected) = put(b, "b", Some(new)) else {
        unreachable!()
    };
    assert_eq!(dependent.hash, expected.hash, "the hash follows the body");
}

/// A put of `data_source/files` with config_files `names`, setting the content of `secrets`.
fn with_files(guid: Uuid, names: &[&str], secrets: &[(usize, &str)]) -> Change {
    let files: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({"file_type": "other", "file_name": n}))
        .collect();
    let mut spec = serde_json::Map::new();
    spec.insert("config_files".into(), serde_json::Value::Array(files));
    let hash = crate::model::hash::content_hash("data_source", "files", None, &spec);
    Change::Put(Box::new(super::NewObject {
        guid,
        kind: "data_source".into(),
        name: "files".into(),
        project: None,
        spec,
        hash,
        references: Vec::new(),
        secrets: secrets
            .iter()
            .map(|(i, v)| (format!("/spec/config_files/{i}/content"), Secret::new(*v)))
            .collect(),
    }))
}

fn secrets_are_kept_apart_and_follow_their_elements(s: &mut Store) {
    let t = &mut s.t;
    let g = Uuid::new_v4();
    let ann = actor("ann", T0);
    let kept = |t: &dyn Tenant| -> Vec<(String, String)> {
        t.secrets(g)
            .unwrap()
            .into_iter()
            .map(|(p, v)| (p, v.expose().to_string()))
            .collect()
    };
    t.write(
        &[with_files(g, &["a", "b", "c"], &[(0, "A"), (1, "B")])],
        &ann,
    )
    .unwrap();
    let o = t.object(&ObjectKey::Guid(g)).unwrap().unwrap();
    assert_eq!(
        o.secret_fields,
        [
            "/spec/config_files/0/content",
            "/spec/config_files/1/content"
        ]
    );
    assert!(
        !serde_json::to_string(&o.spec).unwrap().contains("\"A\""),
        "not in the body"
    );
    // A changed secret alone is an update.
    let w = t
        .write(&[with_files(g, &["a", "b", "c"], &[(0, "A2")])], &ann)
        .unwrap();
    assert_eq!(w[0].outcome, Outcome::Updated);
    t.write(&[with_files(g, &["c", "b", "a"], &[])], &ann)
        .unwrap();
    assert_eq!(
        kept(t.as_ref()),
        [
            ("/spec/config_files/1/content".into(), "B".into()),
            ("/spec/config_files/2/content".into(), "A2".into())
        ]
    );
    t.write(&[with_files(g, &["b", "d"], &[(1, "D")])], &ann)
        .unwrap();
    assert_eq!(
        kept(t.as_ref()),
        [
            ("/spec/config_files/0/content".into(), "B".into()),
            ("/spec/config_files/1/content".into(), "D".into())
        ]
    );
    assert_eq!(t.fingerprint_salt().unwrap().expose().len(), 64);
}

fn history_versions_and_deletions(s: &mut Store) {
    let t = &mut s.t;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    t.write(&[put(a, "a", None), put(b, "b", None)], &actor("ann", T0))
        .unwrap();
    t.write(&[put(a, "a", Some(b))], &actor("bob", T1)).unwrap();
    t.write(&[put(a, "a", None), Change::Delete(b)], &actor("bob", T2))
        .unwrap();
    let o = t.object(&ObjectKey::Guid(a)).unwrap().unwrap();
    assert_eq!(
        (o.version, o.updated_by.as_str(), o.updated_at.as_str()),
        (3, "bob", T2)
    );
    let window = Filter {
        changed_since: Some(T1.into()),
        changed_until: Some(T3.into()),
        ..Filter::default()
    };
    let deleted = t.deleted(&window).unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!((deleted[0].guid, deleted[0].deleted_at.as_str()), (b, T2));
    let before = Filter {
        changed_until: Some(T1.into()),
        ..Filter::default()
    };
    assert!(t.deleted(&before).unwrap().is_empty());
    let mut changed = Vec::new();
    t.for_each_object(&window, &mut |o| {
        changed.push(o.guid);
        Ok(())
    })
    .unwrap();
    assert_eq!(changed, [a]);
    // A GUID that comes back continues its history.
    let w = t.write(&[put(b, "b", None)], &actor("bob", T3)).unwrap();
    assert_eq!((w[0].outcome, w[0].version), (Outcome::Created, 3));
}

fn settings_and_facts(s: &mut Store) {
    let t = &mut s.t;
    assert_eq!(t.facts().unwrap(), facts());
    assert_eq!(t.settings().unwrap().retention_days, 30);
    let set = t
        .update_settings(Some(7), Some("fp".into()), &actor("ann", T0))
        .unwrap();
    assert_eq!(
        (set.retention_days, set.credential_fingerprint.as_deref()),
        (7, Some("fp"))
    );
    let kept = t.update_settings(None, None, &actor("ann", T0)).unwrap();
    assert_eq!(kept, set);
}

fn lock_rules(s: &mut Store) {
    let t = &mut s.t;
    assert_eq!(t.lock(T0).unwrap(), None);
    let lock = t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
    assert_eq!(t.lock(T1).unwrap(), Some(lock));
    let renewed = t.acquire_lock("ann", "deploy", T1, T3, None).unwrap();
    assert_eq!(
        (renewed.acquired_at.as_str(), renewed.expires_at.as_str()),
        (T0, T3),
        "a renewal keeps the time it was first taken"
    );
    let e = t.acquire_lock("bob", "fix", T1, T3, None).unwrap_err();
    assert!(
        matches!(&e, StoreError::Locked { holder, purpose, expires_at, .. } if holder == "ann" && purpose == "deploy" && expires_at == T3),
        "{e:?}"
    );
    let batch = [put(Uuid::new_v4(), "a", None)];
    let e = t.write(&batch, &actor("bob", T1)).unwrap_err();
    assert!(
        matches!(&e, StoreError::Locked { holder, .. } if holder == "ann"),
        "{e:?}"
    );
    let e = t
        .update_settings(Some(1), None, &actor("bob", T1))
        .unwrap_err();
    assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
    t.write(&batch, &actor("ann", T1)).unwrap();
    let e = t.release_lock("bob", false, T1).unwrap_err();
    assert!(
        matches!(&e, StoreError::NotHolder { holder, .. } if holder == "ann"),
        "{e:?}"
    );
    assert_eq!(
        t.release_lock("bob", true, T1).unwrap().unwrap().holder,
        "ann"
    );
    assert_eq!(t.lock(T1).unwrap(), None);
    assert_eq!(t.release_lock("ann", false, T1).unwrap(), None);
    // At the instant it expires it no longer holds; anyone takes it over or clears it.
    t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
    assert_eq!(t.lock(T2).unwrap(), None);
    let bob = t.acquire_lock("bob", "fix", T2, T3, None).unwrap();
    assert_eq!((bob.holder.as_str(), bob.acquired_at.as_str()), ("bob", T2));
    assert_eq!(
        t.release_lock("carol", false, T3).unwrap(),
        None,
        "expired: nothing"
    );
}

fn leases(s: &mut Store) {
    let t = &mut s.t;
    let lease = |pid: u32, at: &str| Lease {
        host: "h".into(),
        pid,
        renewed_at: at.into(),
    };
    let lock = t
        .acquire_lock("ci (apply 1)", "deploy", T0, T1, Some(&lease(42, T0)))
        .unwrap();
    assert_eq!(lock.lease, Some(lease(42, T0)));
    assert_eq!(t.lock(T0).unwrap(), Some(lock));
    let e = t
        .acquire_lock("ci (apply 2)", "deploy", T0, T1, Some(&lease(43, T0)))
        .unwrap_err();
    assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
    // Not renewed by its expiry: the next run takes it with its own lease.
    let lock = t
        .acquire_lock("ci (apply 2)", "deploy", T1, T2, Some(&lease(43, T1)))
        .unwrap();
    assert_eq!(
        (lock.holder.as_str(), lock.acquired_at.as_str(), lock.lease),
        ("ci (apply 2)", T1, Some(lease(43, T1)))
    );
    let e = t
        .acquire_lock("ci (apply 1)", "deploy", T1, T2, Some(&lease(42, T1)))
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Locked { holder, .. } if holder == "ci (apply 2)"),
        "{e:?}"
    );
}

/// A deployment record for tests.
fn deployment(id: &str, status: &str, results: Vec<DeploymentResult>) -> Deployment {
    Deployment {
        id: id.into(),
        source: format!("commit-{id}"),
        plan_hash: format!("plan-{id}"),
        actor: "ann".into(),
        started_at: T1.into(),
        finished_at: Some(T2.into()),
        status: status.into(),
        results,
        rollback_of: None,
        content: Some(Content {
            objects_tree: format!("tree-{id}"),
            custom_kinds: None,
        }),
        skip_gate: None,
    }
}

fn applied_of(change: &Change) -> AppliedRecord {
    let Change::Put(o) = change else {
        unreachable!()
    };
    AppliedRecord {
        guid: o.guid,
        hash: o.hash.clone(),
        body: crate::model::hash::canonical_json_of_map(&o.spec),
        blob_id: Some("blob".into()),
    }
}

fn empty_fingerprint() -> String {
    super::fingerprint(std::iter::empty())
}

fn apply_is_all_or_nothing(s: &mut Store) {
    let t = &mut s.t;
    let (a, b, missing) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let ann = actor("ann", T1);
    let batch = [put(a, "a", None), put(b, "b", Some(missing))];
    let applied: Vec<_> = batch.iter().map(applied_of).collect();
    let e = t
        .apply(
            &empty_fingerprint(),
            &batch,
            &applied,
            &deployment("d1", "succeeded", vec![]),
            &ann,
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::DanglingReference { .. }), "{e:?}");
    assert!(t.counts().unwrap().is_empty());
    assert!(t.applied().unwrap().is_empty());
    assert_eq!(t.deployment("d1").unwrap(), None, "no record either");
    // A good one writes all three.
    let batch = [put(a, "a", None), put(b, "b", Some(a))];
    let applied: Vec<_> = batch.iter().map(applied_of).collect();
    let results = vec![DeploymentResult {
        guid: a,
        address: "data_source/a".into(),
        action: "create".into(),
        status: "succeeded".into(),
        message: None,
    }];
    t.apply(
        &empty_fingerprint(),
        &batch,
        &applied,
        &deployment("d2", "succeeded", results),
        &ann,
    )
    .unwrap();
    assert_eq!(t.counts().unwrap().get("data_source"), Some(&2));
    let recorded = t.applied().unwrap();
    assert_eq!(recorded[&a], applied[0]);
    assert!(
        t.applied_index().unwrap()[&a].body.is_empty(),
        "the index has no bodies"
    );
    assert_eq!(t.deployment("d2").unwrap().unwrap().results.len(), 1);
    let managed = t.managed().unwrap();
    assert_eq!((managed.count, managed.drifted.len()), (2, 0));
    // A change outside ferry is drift; a delete outside ferry too.
    t.write(&[put(b, "b", None)], &actor("bob", T2)).unwrap();
    t.write(&[Change::Delete(a)], &actor("bob", T2)).unwrap();
    let drifted: Vec<_> = t
        .managed()
        .unwrap()
        .drifted
        .into_iter()
        .map(|d| (d.address, d.state))
        .collect();
    assert_eq!(
        drifted,
        [
            ("data_source/a".to_string(), "deleted"),
            ("data_source/b".to_string(), "changed")
        ]
    );
}

fn apply_refuses_a_tenant_changed_since_the_plan(s: &mut Store) {
    let t = &mut s.t;
    let seen = empty_fingerprint();
    t.write(&[put(Uuid::new_v4(), "other", None)], &actor("bob", T1))
        .unwrap();
    let batch = [put(Uuid::new_v4(), "a", None)];
    let e = t
        .apply(
            &seen,
            &batch,
            &[],
            &deployment("d1", "succeeded", vec![]),
            &actor("ann", T2),
        )
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::ChangedSincePlan { by, .. } if by == &format!("bob at {T1}")),
        "{e:?}"
    );
    assert_eq!(t.counts().unwrap().get("data_source"), Some(&1));
    assert_eq!(t.deployment("d1").unwrap(), None);
}

fn deployments_are_recorded_and_read(s: &mut Store) {
    let t = &mut s.t;
    let mut first = deployment("d1", "running", vec![]);
    t.record_deployment(&first).unwrap();
    first.status = "succeeded".into();
    first.results = vec![DeploymentResult {
        guid: Uuid::new_v4(),
        address: "data_source/x".into(),
        action: "create".into(),
        status: "succeeded".into(),
        message: Some("why".into()),
    }];
    t.record_deployment(&first).unwrap();
    let mut second = deployment("d2", "failed", vec![]);
    second.started_at = T2.into();
    t.record_deployment(&second).unwrap();
    assert_eq!(t.deployment("d1").unwrap(), Some(first.clone()));
    assert_eq!(t.deployment_ids().unwrap(), ["d2", "d1"]);
    assert_eq!(t.deployments(1).unwrap(), [second]);
    assert_eq!(
        t.last_applied().unwrap(),
        Some(("d1".into(), "commit-d1".into()))
    );
    assert_eq!(
        t.applied_plan("plan-d1").unwrap(),
        Some(("d1".into(), T1.into()))
    );
    assert_eq!(t.applied_plan("plan-d2").unwrap(), None, "it failed");
    assert_eq!(
        t.applied_content(first.content.as_ref().unwrap()).unwrap(),
        Some(first)
    );
}

fn packages_are_kept_and_expire(s: &mut Store) {
    let t = &mut s.t;
    let guid = Uuid::new_v4();
    let package = |id: &str, at: &str| StoredPackage {
        id: id.into(),
        hash: format!("h-{id}"),
        name: format!("{id}.dp"),
        mode: "full".into(),
        created_at: at.into(),
        imported_at: at.into(),
        imported_by: "ann".into(),
        manifest: "{}".into(),
        content: vec![0, 1, 2, 255],
        objects: vec![PackageObject {
            guid,
            address: "data_source/a".into(),
            kind: "data_source".into(),
            change: "create".into(),
            status: "pending".into(),
            deployment_id: None,
            message: None,
        }],
    };
    assert!(t.store_package(&package("p1", T0), T0).unwrap().is_empty());
    t.store_package(&package("p2", T1), T0).unwrap();
    assert_eq!(t.package("p1").unwrap(), Some(package("p1", T0)));
    assert_eq!(
        t.packages()
            .unwrap()
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        ["p2", "p1"]
    );
    // A deployment from the package sets its objects' statuses.
    let mut done = package("p2", T1).objects;
    done[0].status = "succeeded".into();
    done[0].deployment_id = Some("d1".into());
    done[0].message = Some("why".into());
    t.set_package_statuses("p2", &done).unwrap();
    assert_eq!(t.package("p2").unwrap().unwrap().objects, done);
    let removed = t.store_package(&package("p3", T2), T1).unwrap();
    assert_eq!(
        removed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p1"]
    );
    assert_eq!(t.package("p1").unwrap(), None);
}

fn a_reopened_tenant_is_at_the_latest_schema(s: &mut Store) {
    s.t.write(&[put(Uuid::new_v4(), "a", None)], &actor("ann", T0))
        .unwrap();
    let again = s.reopen();
    assert_eq!(again.facts().unwrap(), facts());
    assert_eq!(again.counts().unwrap().get("data_source"), Some(&1));
    // Creating it again is refused, and leaves it as it was.
    assert!(super::create(&s.url, &facts(), T1).is_err());
    assert_eq!(again.counts().unwrap().get("data_source"), Some(&1));
}

fn a_second_connection_sees_the_lock_and_is_kept_out(s: &mut Store) {
    s.t.acquire_lock("ann", "deploy", T0, T3, None).unwrap();
    let mut other = s.reopen();
    assert_eq!(other.lock(T1).unwrap().unwrap().holder, "ann");
    let e = other
        .write(&[put(Uuid::new_v4(), "a", None)], &actor("bob", T1))
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Locked { holder, .. } if holder == "ann"),
        "{e:?}"
    );
    let e = other.acquire_lock("bob", "x", T1, T2, None).unwrap_err();
    assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
}
