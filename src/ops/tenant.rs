//! `ferry tenant init|info|settings|lock|unlock`: a tenant's facts, settings and maintenance lock.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Error, Result};
use crate::context::{timestamp, Context};
use crate::kinds::Registry;
use crate::secret::Secret;
use crate::store::{self, Deployment, Facts, Lock, Settings, TenantUrl};

/// The least length of a deployment credential.
pub const MIN_CREDENTIAL_LEN: usize = 16;

/// The keyed fingerprint of a deployment credential: blake3 keyed by a key derived for this one
/// purpose, so the stored value neither reveals the credential nor matches any other hash of it.
pub fn credential_fingerprint(credential: &Secret) -> String {
    credential.fingerprint("deployment credential")
}

/// Makes a new tenant at `url`.
pub fn init(ctx: &Context, url: &TenantUrl, facts: &Facts) -> Result<()> {
    // The facts are shown by every command that names the tenant, and written to ferry.toml:
    // never empty, never control characters.
    for (flag, value) in [
        ("--name", &facts.name),
        ("--platform-version", &facts.platform_version),
        ("--engine", &facts.engine),
        ("--cluster", &facts.cluster),
    ] {
        crate::model::check_name(value).map_err(|e| Error::BadTenantFact {
            flag,
            why: e.to_string(),
        })?;
    }
    store::create(url, facts, &ctx.timestamp())?;
    Ok(())
}

/// Copies the tenant at `from` to `to` (`ferry tenant copy`): see [`store::copy`].
pub fn copy(ctx: &Context, from: &TenantUrl, to: &TenantUrl) -> Result<store::copy::Copied> {
    Ok(store::copy::copy(from, to, &ctx.timestamp())?)
}

/// What `ferry tenant info` shows.
#[derive(Debug)]
pub struct Info {
    /// The tenant URL.
    pub url: TenantUrl,
    /// Its facts.
    pub facts: Facts,
    /// Objects per kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Objects per category (`other` for kinds ferry does not know).
    pub by_category: BTreeMap<String, u64>,
    /// The lock, when held.
    pub lock: Option<Lock>,
    /// The latest deployment.
    pub last: Option<Deployment>,
}

impl Info {
    /// How many objects in all.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }
}

/// A tenant's facts, counts, lock and last deployment.
pub fn info(ctx: &Context, url: &TenantUrl) -> Result<Info> {
    let tenant = store::open(url)?;
    let facts = tenant.facts()?;
    let by_kind = tenant.counts()?;
    let lock = tenant.lock(&ctx.timestamp())?;
    let last = tenant.deployments(1)?.into_iter().next();
    let registry = Registry::builtin()?;
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for (kind, n) in &by_kind {
        let category = registry
            .get(kind)
            .map(|k| k.category.as_str().to_string())
            .unwrap_or_else(|| "other".to_string());
        *by_category.entry(category).or_default() += n;
    }
    Ok(Info {
        url: tenant.url().clone(),
        facts,
        by_kind,
        by_category,
        lock,
        last,
    })
}

/// What `ferry tenant settings` changes.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    /// Days to keep imported packages.
    pub retention_days: Option<u32>,
    /// The environment variable holding the new deployment credential.
    pub credential_env: Option<String>,
}

/// The settings after the change (none when nothing was asked), and whether they changed.
pub fn settings(
    ctx: &Context,
    url: &TenantUrl,
    change: &SettingsChange,
) -> Result<(Settings, bool)> {
    let mut tenant = store::open(url)?;
    let fingerprint = match &change.credential_env {
        Some(var) => {
            let value = Secret::new(
                ctx.var(var)
                    .ok_or_else(|| Error::VarNotSet { var: var.clone() })?,
            );
            if value.expose().len() < MIN_CREDENTIAL_LEN {
                return Err(Error::ShortCredential {
                    var: var.clone(),
                    min: MIN_CREDENTIAL_LEN,
                });
            }
            Some(credential_fingerprint(&value))
        }
        None => None,
    };
    if change.retention_days.is_some() || fingerprint.is_some() {
        let s = tenant.update_settings(change.retention_days, fingerprint, &ctx.store_actor())?;
        Ok((s, true))
    } else {
        Ok((tenant.settings()?, false))
    }
}

/// Takes (or renews) the maintenance lock for the acting user, for `ttl`; an expiry after the
/// latest time ferry can store is refused. A lock taken by hand has no lease: it holds for its
/// whole `ttl`.
pub fn lock(ctx: &Context, url: &TenantUrl, purpose: &str, ttl: Duration) -> Result<Lock> {
    let now = ctx.now();
    let until = ctx
        .clock()
        .later(now, ttl, "the lock's expiry", Some("--ttl"))?;
    let mut tenant = store::open(url)?;
    Ok(tenant.acquire_lock(
        ctx.actor(),
        purpose,
        &timestamp(now),
        &timestamp(until),
        None,
    )?)
}

/// Releases the maintenance lock (another holder's only with `force`); the lock released, if
/// there was one.
pub fn unlock(ctx: &Context, url: &TenantUrl, force: bool) -> Result<Option<Lock>> {
    let mut tenant = store::open(url)?;
    Ok(tenant.release_lock(ctx.actor(), force, &ctx.timestamp())?)
}
