use std::collections::BTreeMap;

use serde_json::json;

use ferry::kinds::Registry;
use ferry::store::{self, Facts, TenantUrl};

use super::{actor, out, out_json, CliError};

/// Create and manage tenants: facts, settings and the maintenance lock.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a new embedded tenant (refuses to overwrite any file).
    Init(InitArgs),
    /// Show a tenant's facts, object counts per category, lock and last deployment.
    Info(InfoArgs),
    /// Show or change settings: package retention and the deployment credential.
    Settings(SettingsArgs),
    /// Take (or renew) the maintenance lock. While another holder has it, writes fail at once.
    Lock(LockArgs),
    /// Release the maintenance lock.
    Unlock(UnlockArgs),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EngineMode {
    Single,
    Multi,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The tenant URL: sqlite:PATH.
    url: String,
    /// Tenant name.
    #[arg(long)]
    name: String,
    /// Platform version, e.g. 4.5.0.
    #[arg(long)]
    platform_version: String,
    /// Compute engine type, e.g. maxcompute, hive, spark, starrocks.
    #[arg(long)]
    engine: String,
    /// Single- or multi-engine tenant.
    #[arg(long, value_enum)]
    engine_mode: EngineMode,
    /// Compute cluster id.
    #[arg(long)]
    cluster: String,
}

use super::TextOrJson as Format;

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// The tenant URL.
    url: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    /// The tenant URL.
    url: String,
    /// Days to keep imported packages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3650))]
    retention_days: Option<u32>,
    /// Read the deployment credential from this environment variable; only its keyed
    /// fingerprint is stored, never the credential.
    #[arg(long, value_name = "VAR")]
    credential_env: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// The tenant URL.
    url: String,
    /// Why the tenant is locked (shown to anyone the lock stops).
    #[arg(long)]
    purpose: String,
    /// How long until the lock lapses unless renewed (e.g. 30m, 2h).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    ttl: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// The tenant URL.
    url: String,
    /// Release the lock even if someone else holds it.
    #[arg(long)]
    force: bool,
}

pub fn run(cmd: Command) -> super::Result {
    match cmd {
        Command::Init(a) => init(a),
        Command::Info(a) => info(a),
        Command::Settings(a) => settings(a),
        Command::Lock(a) => lock(a),
        Command::Unlock(a) => unlock(a),
    }
}

fn init(a: InitArgs) -> super::Result {
    let url = TenantUrl::parse(&a.url)?;
    let facts = Facts {
        name: a.name,
        platform_version: a.platform_version,
        engine: a.engine,
        engine_mode: match a.engine_mode {
            EngineMode::Single => "single".into(),
            EngineMode::Multi => "multi".into(),
        },
        cluster: a.cluster,
    };
    store::create(&url, &facts, &actor()?.now)?;
    eprintln!("created tenant {} at {url}", facts.name);
    Ok(())
}

fn info(a: InfoArgs) -> super::Result {
    let tenant = super::open_tenant(&a.url)?;
    let facts = tenant.facts()?;
    let counts = tenant.counts()?;
    let now = actor()?.now;
    let lock = tenant.lock(&now)?;
    let last = tenant.deployments(1)?.into_iter().next();
    let registry = Registry::builtin()?;
    let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
    for (kind, n) in &counts {
        let category = registry
            .get(kind)
            .map(|k| k.category.as_str().to_string())
            .unwrap_or_else(|| "other".to_string());
        *by_category.entry(category).or_default() += n;
    }
    let total: u64 = counts.values().sum();
    match a.format {
        Format::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "url": tenant.url().to_string(),
            "facts": facts,
            "objects": { "total": total, "by_category": by_category, "by_kind": counts },
            "lock": lock,
            "last_deployment": last.map(|d| json!({
                "id": d.id, "source": d.source, "status": d.status, "actor": d.actor,
                "started_at": d.started_at, "finished_at": d.finished_at,
            })),
        })),
        Format::Text => {
            let mut text = format!(
                "tenant           {}\nurl              {}\nplatform version {}\nengine           {} ({}-engine)\ncluster          {}\nobjects          {total}\n",
                facts.name,
                tenant.url(),
                facts.platform_version,
                facts.engine,
                facts.engine_mode,
                facts.cluster
            );
            for (category, n) in &by_category {
                text.push_str(&format!("  {category:<14} {n}\n"));
            }
            match &lock {
                Some(l) => text.push_str(&format!(
                    "lock             held by {} for `{}` until {}\n",
                    l.holder, l.purpose, l.expires_at
                )),
                None => text.push_str("lock             none\n"),
            }
            match last {
                Some(d) => text.push_str(&format!(
                    "last deployment  {} {} at {} by {}\n",
                    d.id, d.status, d.started_at, d.actor
                )),
                None => text.push_str("last deployment  none\n"),
            }
            out(&text);
        }
    }
    Ok(())
}

/// The keyed fingerprint of a deployment credential: blake3 keyed by a key derived for this one
/// purpose, so the stored value neither reveals the credential nor matches any other hash of it.
pub fn credential_fingerprint(credential: &str) -> String {
    ferry::secret::Secret::new(credential).fingerprint("deployment credential")
}

fn settings(a: SettingsArgs) -> super::Result {
    let mut tenant = super::open_tenant(&a.url)?;
    let fingerprint = match &a.credential_env {
        Some(var) => {
            let value = std::env::var(var).map_err(|_| {
                CliError::new(
                    format!("environment variable {var} is not set"),
                    Some(format!(
                        "export {var}=… with the shared deployment credential, then run again"
                    )),
                )
            })?;
            if value.len() < 16 {
                return Err(CliError::new(
                    format!("the credential in {var} is shorter than 16 characters"),
                    Some("use a long random credential, e.g. `openssl rand -hex 32`".to_string()),
                ));
            }
            Some(credential_fingerprint(&value))
        }
        None => None,
    };
    let settings = if a.retention_days.is_some() || fingerprint.is_some() {
        let s = tenant.update_settings(a.retention_days, fingerprint, &actor()?)?;
        eprintln!("settings updated");
        s
    } else {
        tenant.settings()?
    };
    match a.format {
        Format::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "retention_days": settings.retention_days,
            "credential_set": settings.credential_fingerprint.is_some(),
            "credential_fingerprint": settings.credential_fingerprint,
        })),
        Format::Text => out(&format!(
            "retention days   {}\ncredential       {}\n",
            settings.retention_days,
            match &settings.credential_fingerprint {
                Some(f) => format!("set (fingerprint {})", &f[..16]),
                None => "not set".to_string(),
            }
        )),
    }
    Ok(())
}

fn lock(a: LockArgs) -> super::Result {
    let mut tenant = super::open_tenant(&a.url)?;
    let me = super::actor_name();
    let now = super::now()?;
    let expires = super::timestamp(now + a.ttl);
    let lock = tenant.acquire_lock(&me, &a.purpose, &super::timestamp(now), &expires)?;
    eprintln!(
        "locked {} for `{}` by {} until {}",
        tenant.url(),
        lock.purpose,
        lock.holder,
        lock.expires_at
    );
    Ok(())
}

fn unlock(a: UnlockArgs) -> super::Result {
    let mut tenant = super::open_tenant(&a.url)?;
    let me = super::actor_name();
    match tenant.release_lock(&me, a.force, &actor()?.now)? {
        Some(l) if l.holder != me => {
            eprintln!("released the lock {} held for `{}`", l.holder, l.purpose)
        }
        Some(_) => eprintln!("unlocked {}", tenant.url()),
        None => eprintln!("{} was not locked", tenant.url()),
    }
    Ok(())
}
