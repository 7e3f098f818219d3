//! Apply: a plan executed against its destination, as one deployment.
//!
//! [`apply`] re-checks the destination (the caller holds its maintenance lock): every object the
//! plan touches must still have the content hash the plan saw, and every desired object must
//! still hash to what the plan recorded. It then writes the whole plan in one store transaction
//! (creates keep the desired GUID; secrets go to the store's secret table, never into bodies),
//! records what was applied to each object (content hash, body, git blob id) for drift detection
//! and fast plans, and records the deployment with per-object results. On the embedded store a
//! failure leaves the tenant exactly as before, and a failed deployment is recorded.
//!
//! [`session`] holds the maintenance lock around an apply; [`records`] reads the deployment
//! records back: what `ferry status`, `ferry history` and `ferry rollback` show and use.

pub mod gate;
pub mod records;
pub mod session;

pub use records::{
    find_deployment, history, rollback_target, short_ids, status, Status, Summary, SHORT_ID_MIN,
};

use std::collections::HashMap;

use uuid::Uuid;

use crate::desired::secrets::SecretValues;
use crate::edit;
use crate::kinds::Registry;
use crate::model::hash::canonical_json_of_map;
use crate::model::Object;
use crate::plan::{Action, Plan};
use crate::store::{self, Actor, AppliedRecord, Deployment, DeploymentResult, StoreError, Tenant};

/// Why an apply did not happen, or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The destination changed since the plan for objects it touches.
    #[error("the destination changed since the plan was made: {}", join(.0))]
    Stale(Vec<Stale>),
    /// The desired objects are not what the plan recorded.
    #[error("the desired objects differ from the plan's: {}", join(.0))]
    DesiredChanged(Vec<DesiredChanged>),
    /// Secrets the plan sets have no value where the apply runs; nothing was written.
    #[error("{} secret(s) the apply sets have no value here, so nothing was changed: {}", missing.len(), join(missing))]
    MissingSecrets {
        /// Each: "ADDRESS FIELD: SOURCE REASON (FILE:LINE)".
        missing: Vec<String>,
    },
    /// The store refused the writes; nothing was applied.
    #[error("the apply failed and nothing was changed: {source}")]
    Failed {
        /// The deployment recorded as failed.
        deployment: String,
        /// What failed.
        source: StoreError,
    },
    /// No deployment has the id.
    #[error("tenant {tenant} has no deployment {id}")]
    NoDeployment {
        /// The tenant URL.
        tenant: store::TenantUrl,
        /// The id asked for.
        id: String,
    },
    /// A deployment id prefix that several deployments start with.
    #[error("deployment id `{key}` is ambiguous: it starts {}{}", candidates.join(", "), if *more > 0 { format!(" and {more} more") } else { String::new() })]
    AmbiguousDeployment {
        /// The prefix given.
        key: String,
        /// The first of the deployments it could be, as short ids.
        candidates: Vec<String>,
        /// How many more.
        more: usize,
    },
    /// A deployment that applied nothing cannot be rolled back to.
    #[error("deployment {id} {status}: it applied nothing to go back to")]
    NotRestorable {
        /// The deployment.
        id: String,
        /// Its status.
        status: String,
    },
    /// `--lock-wait` ran out while another holder kept the lock.
    #[error("waited {waited} for the lock and gave up: {source}")]
    WaitedOut {
        /// How long it waited (`--lock-wait`).
        waited: String,
        /// The lock that is still held.
        source: Box<StoreError>,
    },
    /// Reading the destination failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The lock's lease would end after the latest time ferry can store.
    #[error(transparent)]
    TooLate(#[from] crate::context::TimeError),
}

/// Items joined for one message, the first twenty of them.
fn join(items: &[impl std::fmt::Display]) -> String {
    crate::model::text::listed(items, "; ")
}

/// The first 12 characters of a hash.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// One way the destination changed since the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Its platform version, engine, engine mode or cluster.
    Facts {
        /// When planned.
        planned: Box<store::Facts>,
        /// Now.
        now: Box<store::Facts>,
    },
    /// An object the plan touches has other content.
    Changed {
        /// Its address.
        address: String,
        /// Its content hash when planned.
        planned: String,
        /// Its content hash now.
        now: String,
        /// Who changed it, and when.
        by: String,
    },
    /// An object the plan touches is gone.
    Deleted {
        /// Its address.
        address: String,
    },
    /// An object the plan creates exists already.
    Exists {
        /// Its address.
        address: String,
        /// Its GUID.
        guid: Uuid,
        /// Who made it, and when.
        by: String,
    },
    /// Another object took an address the plan creates an object at.
    AddressTaken {
        /// The address.
        address: String,
    },
    /// The deployment that made (some of) these changes.
    By {
        /// Its id.
        deployment: String,
        /// Who ran it.
        actor: String,
        /// When it started.
        at: String,
    },
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stale::Facts { planned: p, now: n } => {
                // Only the facts that differ, the tenant's name first: a plan applied to
                // another tenant than it was made for says so.
                let differ: Vec<String> = [
                    ("tenant name", &p.name, &n.name),
                    ("platform version", &p.platform_version, &n.platform_version),
                    ("engine", &p.engine, &n.engine),
                    ("engine mode", &p.engine_mode, &n.engine_mode),
                    ("cluster", &p.cluster, &n.cluster),
                ]
                .into_iter()
                .filter(|(_, p, n)| p != n)
                .map(|(fact, p, n)| format!("{fact} {p} when planned, now {n}"))
                .collect();
                write!(f, "the destination's facts changed ({})", differ.join("; "))
            }
            Stale::Changed {
                address,
                planned,
                now,
                by,
            } => write!(
                f,
                "{address} was changed by {by} (content hash {} → {})",
                short(planned),
                short(now)
            ),
            Stale::Deleted { address } => write!(f, "{address} was deleted"),
            Stale::Exists { address, guid, by } => {
                write!(f, "{address} now exists (GUID {guid}, made by {by})")
            }
            Stale::AddressTaken { address } => {
                write!(f, "{address} now exists with another GUID")
            }
            Stale::By {
                deployment,
                actor,
                at,
            } => {
                write!(
                    f,
                    "deployment {deployment} by {actor} at {at} made these changes"
                )
            }
        }
    }
}

/// One way a desired object is not what the plan recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesiredChanged {
    /// The source no longer has it.
    Gone {
        /// Its address.
        address: String,
    },
    /// Its content differs.
    OtherContent {
        /// Its address.
        address: String,
    },
}

impl std::fmt::Display for DesiredChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DesiredChanged::Gone { address } => write!(f, "{address} is no longer in the source"),
            DesiredChanged::OtherContent { address } => {
                write!(f, "{address} has other content than when planned")
            }
        }
    }
}

/// What a deployment records besides the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// What the revision's objects were (the promotion gate of another environment looks for
    /// it): `None` for a plan of part of a revision.
    pub content: Option<store::Content>,
    /// `--skip-gate REASON`.
    pub skip_gate: Option<String>,
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The deployment record.
    pub deployment: Deployment,
}

/// Applies `plan` to `tenant`. `desired` are the objects of the plan's source, `blobs` their git
/// blob ids, `secrets` the values of the plan's secrets; `plan_hash` is the hash of the plan's
/// saved form ([`crate::plan::file::hash`]). The caller holds the maintenance lock as `actor`
/// ([`session`]). The deployment records `notes`.
///
/// Every planned secret is set from its value, at its concrete pointer in the desired object
/// (elements found by key, so a reordered array keeps each value with its element): with its
/// object's change, or, for an object that is otherwise unchanged and whose secret is `new` or
/// `changed`, as a change of its own (recorded with action `set_secrets`).
#[allow(clippy::too_many_arguments)]
pub fn apply(
    plan: &Plan,
    plan_hash: &str,
    desired: &[Object],
    blobs: &HashMap<Uuid, String>,
    registry: &Registry,
    notes: &Notes,
    secrets: &SecretValues,
    tenant: &mut dyn Tenant,
    actor: &Actor,
) -> Result<Applied, ApplyError> {
    let missing = secrets.missing_of(&plan.secrets);
    if !missing.is_empty() {
        return Err(ApplyError::MissingSecrets { missing });
    }
    let started_at = actor.now.clone();
    let by_address = recheck(plan, tenant)?;
    let (batch, applied, secrets_only) =
        prepare_batch(plan, desired, blobs, registry, secrets, &by_address)?;
    let to_write = ToWrite {
        plan,
        plan_hash,
        notes,
    };
    write(
        &to_write,
        &batch,
        &applied,
        &secrets_only,
        tenant,
        actor,
        started_at,
    )
}

/// The plan a deployment writes, and what it records beside it.
struct ToWrite<'a> {
    plan: &'a Plan,
    plan_hash: &'a str,
    notes: &'a Notes,
}

/// The action a deployment records for an object whose secrets alone it set.
pub const SET_SECRETS: &str = "set_secrets";

/// The destination's objects by address, once every object the plan touches is checked to be as
/// the plan saw it (and its facts).
pub fn recheck(plan: &Plan, tenant: &dyn Tenant) -> Result<HashMap<String, Uuid>, ApplyError> {
    // The destination now, for the objects the plan touches.
    let mut current: HashMap<Uuid, (String, String, String)> = HashMap::new();
    let mut by_address: HashMap<String, Uuid> = HashMap::new();
    // Who last wrote each object the plan touches, and when.
    let mut writers: HashMap<Uuid, (String, String)> = HashMap::new();
    tenant.for_each_object(&store::Filter::default(), &mut |o| {
        by_address.insert(o.address(), o.guid);
        let by = format!("{} at {}", o.updated_by, o.updated_at);
        current.insert(o.guid, (o.address(), o.hash, by));
        writers.insert(o.guid, (o.updated_by, o.updated_at));
        Ok(())
    })?;
    let mut stale = Vec::new();
    let facts = tenant.facts()?;
    if facts != plan.destination.facts {
        stale.push(Stale::Facts {
            planned: Box::new(plan.destination.facts.clone()),
            now: Box::new(facts),
        });
    }
    // Addresses the plan itself frees, by renaming or deleting what holds them.
    let freed: std::collections::HashSet<&str> = plan
        .changes
        .iter()
        .filter_map(|c| match c.action {
            Action::Rename => c.old_address.as_deref(),
            Action::Delete => Some(c.address.as_str()),
            _ => None,
        })
        .collect();
    for c in &plan.changes {
        let was = c.old_guid.unwrap_or(c.guid);
        match (&c.actual_hash, current.get(&was)) {
            (Some(planned), Some((_, now, by))) if planned != now => stale.push(Stale::Changed {
                address: c.address.clone(),
                planned: planned.clone(),
                now: now.clone(),
                by: by.clone(),
            }),
            (Some(_), None) => stale.push(Stale::Deleted {
                address: c.old_address.as_ref().unwrap_or(&c.address).clone(),
            }),
            (None, Some((_, _, by))) => stale.push(Stale::Exists {
                address: c.address.clone(),
                guid: c.guid,
                by: by.clone(),
            }),
            (None, None)
                if by_address.contains_key(&c.address) && !freed.contains(c.address.as_str()) =>
            {
                stale.push(Stale::AddressTaken {
                    address: c.address.clone(),
                })
            }
            _ => {}
        }
    }
    if !stale.is_empty() {
        // Name the deployment that made the changes, when the newest one did: it wrote one of
        // the changed objects, as the writer the object names, no earlier than that write.
        let changed: Vec<(Uuid, &(String, String))> = plan
            .changes
            .iter()
            .map(|c| (c.old_guid.unwrap_or(c.guid), c.actual_hash.as_deref()))
            .filter(|(g, planned)| current.get(g).map(|o| o.1.as_str()) != *planned)
            .filter_map(|(g, _)| Some((g, writers.get(&g)?)))
            .collect();
        if let Some(newest) = tenant.deployments(1)?.into_iter().next() {
            let made_them = newest.status != "failed"
                && changed.iter().any(|(guid, (by, at))| {
                    *by == newest.actor
                        && *at >= newest.started_at
                        && newest.results.iter().any(|r| r.guid == *guid)
                });
            if made_them {
                stale.push(Stale::By {
                    deployment: newest.id,
                    actor: newest.actor,
                    at: newest.started_at,
                });
            }
        }
        return Err(ApplyError::Stale(stale));
    }
    Ok(by_address)
}

/// The store changes of the plan, what is recorded as applied, and the objects (GUID, address)
/// whose secrets alone change, from the desired objects resolved as the plan resolved them;
/// refuses objects that are not what the plan recorded.
#[allow(clippy::type_complexity)]
fn prepare_batch(
    plan: &Plan,
    desired: &[Object],
    blobs: &HashMap<Uuid, String>,
    registry: &Registry,
    secrets: &SecretValues,
    by_address: &HashMap<String, Uuid>,
) -> Result<(Vec<store::Change>, Vec<AppliedRecord>, Vec<(Uuid, String)>), ApplyError> {
    // The values to set, per object.
    let mut values: HashMap<Uuid, Vec<(String, crate::secret::Secret)>> = HashMap::new();
    for s in &plan.secrets {
        if let Some(v) = secrets.get(s.guid, &s.pointer) {
            values
                .entry(s.guid)
                .or_default()
                .push((s.pointer.clone(), v.clone()));
        }
    }
    let with_values = |mut new: store::NewObject| {
        if let Some(set) = values.get(&new.guid) {
            new.secrets
                .retain(|(p, _)| !set.iter().any(|(q, _)| q == p));
            new.secrets.extend(set.iter().cloned());
            new.secrets.sort_by(|a, b| a.0.cmp(&b.0));
        }
        new
    };
    // The desired objects, resolved as the plan resolved them.
    let desired_guids: HashMap<String, Uuid> = desired
        .iter()
        .filter_map(|o| Some((o.address().to_string(), o.guid?)))
        .collect();
    let lookup = |a: &str| desired_guids.get(a).or_else(|| by_address.get(a)).copied();
    let by_guid: HashMap<Uuid, &Object> =
        desired.iter().filter_map(|o| Some((o.guid?, o))).collect();
    let mut batch = Vec::new();
    let mut applied = Vec::new();
    let mut changed_desired = Vec::new();
    // Every change's object prepared in parallel, in plan order.
    let prepared: Vec<Option<store::NewObject>> = {
        use rayon::prelude::*;
        plan.changes
            .par_iter()
            .map(|c| {
                if c.action == Action::Delete {
                    return None;
                }
                by_guid
                    .get(&c.guid)
                    .and_then(|o| registry.get(&o.kind).map(|k| (o, k)))
                    .and_then(|(o, k)| edit::prepare(k, o, c.guid, &lookup).ok())
            })
            .collect()
    };
    for (c, prepared) in plan.changes.iter().zip(prepared) {
        if c.action == Action::Delete {
            batch.push(store::Change::Delete(c.guid));
            continue;
        }
        let Some(new) = prepared else {
            changed_desired.push(DesiredChanged::Gone {
                address: c.address.clone(),
            });
            continue;
        };
        if Some(&new.hash) != c.desired_hash.as_ref() {
            changed_desired.push(DesiredChanged::OtherContent {
                address: c.address.clone(),
            });
            continue;
        }
        if let (Action::Adopt, Some(from)) = (c.action, c.old_guid) {
            batch.push(store::Change::Adopt { from, to: c.guid });
        }
        applied.push(AppliedRecord {
            guid: c.guid,
            hash: new.hash.clone(),
            body: canonical_json_of_map(&new.spec),
            blob_id: blobs.get(&c.guid).cloned(),
        });
        batch.push(store::Change::Put(Box::new(with_values(new))));
    }
    // Objects the plan leaves as they are but whose secret the apply sets: the same body (the
    // store's fingerprint check, inside the write, refuses one changed since the plan) with
    // the values. What ferry applied to them stays as recorded.
    let changed: std::collections::HashSet<Uuid> = plan.changes.iter().map(|c| c.guid).collect();
    let mut secrets_only: Vec<(Uuid, String)> = plan
        .secrets
        .iter()
        .filter(|s| s.status.sets() && !changed.contains(&s.guid))
        .map(|s| (s.guid, s.address.clone()))
        .collect();
    secrets_only.dedup();
    for (guid, address) in &secrets_only {
        let prepared = by_guid
            .get(guid)
            .and_then(|o| registry.get(&o.kind).map(|k| (o, k)))
            .and_then(|(o, k)| edit::prepare(k, o, *guid, &lookup).ok());
        match prepared {
            Some(new) => batch.push(store::Change::Put(Box::new(with_values(new)))),
            None => changed_desired.push(DesiredChanged::Gone {
                address: address.clone(),
            }),
        }
    }
    if !changed_desired.is_empty() {
        return Err(ApplyError::DesiredChanged(changed_desired));
    }
    Ok((batch, applied, secrets_only))
}

/// Writes the batch and the deployment record in one store transaction; a failure is recorded
/// as a failed deployment, naming the object that failed.
#[allow(clippy::too_many_arguments)]
fn write(
    to_write: &ToWrite,
    batch: &[store::Change],
    applied: &[AppliedRecord],
    secrets_only: &[(Uuid, String)],
    tenant: &mut dyn Tenant,
    actor: &Actor,
    started_at: String,
) -> Result<Applied, ApplyError> {
    let ToWrite {
        plan,
        plan_hash,
        notes,
    } = *to_write;
    let id = Uuid::now_v7().to_string();
    // A change's status and message; `None` for an object whose secrets alone are set.
    type StatusOf<'a> = dyn Fn(Option<&crate::plan::Change>) -> (String, Option<String>) + 'a;
    let results = |status: &StatusOf<'_>| -> Vec<DeploymentResult> {
        let mut out: Vec<DeploymentResult> = plan
            .changes
            .iter()
            .map(|c| {
                let (status, message) = status(Some(c));
                DeploymentResult {
                    guid: c.guid,
                    address: c.address.clone(),
                    action: c.action.as_str().to_string(),
                    status,
                    message,
                }
            })
            .collect();
        for (guid, address) in secrets_only {
            let (status, message) = status(None);
            out.push(DeploymentResult {
                guid: *guid,
                address: address.clone(),
                action: SET_SECRETS.to_string(),
                status,
                message,
            });
        }
        out
    };
    let mut deployment = Deployment {
        id: id.clone(),
        source: plan.source.id.clone(),
        plan_hash: plan_hash.to_string(),
        actor: actor.name.clone(),
        started_at,
        finished_at: Some(actor.now.clone()),
        status: "succeeded".into(),
        rollback_of: plan.made_with.rollback_of.clone(),
        content: notes.content.clone(),
        skip_gate: notes.skip_gate.clone(),
        results: results(&|c| {
            if c.is_none_or(|c| c.risks.is_empty()) {
                ("succeeded".into(), None)
            } else {
                let risks = c.map(|c| c.risks.join("; "));
                ("succeeded_with_risks".into(), risks)
            }
        }),
    };
    match tenant.apply(
        &plan.destination.fingerprint,
        batch,
        applied,
        &deployment,
        actor,
    ) {
        Ok(_) => Ok(Applied { deployment }),
        Err(e) => {
            // Nothing was written. Name the object that failed, when the error does.
            let message = e.to_string();
            let failed = failed_change(plan, &e);
            deployment.status = "failed".into();
            deployment.finished_at = Some(actor.now.clone());
            deployment.results = results(&|c| {
                let is_failed = match (failed, c) {
                    (None, _) => true,
                    (Some(f), Some(c)) => std::ptr::eq(f, c),
                    (Some(_), None) => false,
                };
                if is_failed {
                    ("failed".into(), Some(message.clone()))
                } else {
                    (
                        "skipped".into(),
                        Some("the deployment failed: nothing was applied".into()),
                    )
                }
            });
            tenant.record_deployment(&deployment)?;
            Err(ApplyError::Failed {
                deployment: id,
                source: e,
            })
        }
    }
}

/// The change of `plan` a store error names, if it names one.
fn failed_change<'p>(plan: &'p Plan, e: &StoreError) -> Option<&'p crate::plan::Change> {
    let by_address = |a: &str| plan.changes.iter().find(|c| c.address == a);
    match e {
        StoreError::WriteFailed { guid, .. } => plan.changes.iter().find(|c| c.guid == *guid),
        StoreError::AddressTaken { address, .. }
        | StoreError::StillReferenced { address, .. }
        | StoreError::DanglingReference { address, .. } => by_address(address),
        StoreError::NoSuchObject { guid } => plan.changes.iter().find(|c| c.guid == *guid),
        _ => None,
    }
}
