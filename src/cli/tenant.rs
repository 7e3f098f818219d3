use serde_json::json;

use ferry::context::Context;
use ferry::ops::tenant::{self, SettingsChange};
use ferry::store::Facts;

use super::prelude::*;

/// Create and manage tenants: facts, settings and the maintenance lock.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a new tenant: a SQLite file (refuses to overwrite any file) or a PostgreSQL schema
    /// (refuses a schema that holds any table).
    Init(InitArgs),
    /// Show a tenant's facts, object counts per category, lock and last deployment.
    Info(InfoArgs),
    /// Show or change settings: package retention and the deployment credential.
    Settings(SettingsArgs),
    /// Take (or renew) the maintenance lock. While another holder has it, writes fail at once.
    Lock(LockArgs),
    /// Release the maintenance lock.
    Unlock(UnlockArgs),
    /// Copy a whole tenant to another store, e.g. SQLite to PostgreSQL or back: facts,
    /// settings, objects, secrets, history, applied records, deployments and packages (not the
    /// lock). The copy is checked table by table against the source's content hashes. The
    /// destination is created, or must hold nothing.
    Copy(CopyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The tenant to copy: sqlite:PATH or postgres://….
    from: String,
    /// Where to copy it: a new sqlite:PATH, or a postgres://…?schema=NAME that holds nothing.
    to: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EngineMode {
    Single,
    Multi,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The tenant URL: sqlite:PATH, or postgres://USER@HOST[:PORT]/DATABASE[?schema=NAME]
    /// (schema `ferry` unless given).
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

use TextOrJson as Format;

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
    /// How long until the lock lapses unless renewed (e.g. 30m, 2h; at most 100 years). A lock
    /// taken by hand keeps it whole: it is no short lease like an apply run's.
    #[arg(long, default_value = "30m", value_parser = duration)]
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

pub fn run(ctx: &Context, cmd: Command) -> Result {
    match cmd {
        Command::Init(a) => init(ctx, a),
        Command::Info(a) => info(ctx, a),
        Command::Settings(a) => settings(ctx, a),
        Command::Lock(a) => lock(ctx, a),
        Command::Unlock(a) => unlock(ctx, a),
        Command::Copy(a) => copy(ctx, a),
    }?;
    Ok(Success::Done)
}

fn init(ctx: &Context, a: InitArgs) -> Result<()> {
    let url = tenant_url(&a.url)?;
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
    tenant::init(ctx, &url, &facts)?;
    eprintln!("created tenant {} at {url}", facts.name);
    Ok(())
}

fn copy(ctx: &Context, a: CopyArgs) -> Result<()> {
    let (from, to) = (tenant_url(&a.from)?, tenant_url(&a.to)?);
    let copied = tenant::copy(ctx, &from, &to)?;
    let count = |name: &str| {
        copied
            .tables
            .iter()
            .find(|(t, _)| *t == name)
            .map_or(0, |(_, n)| *n)
    };
    eprintln!(
        "copied {from} to {to}: {} object(s), {} secret value(s), {} history line(s), {} deployment(s), {} package(s); every table verified",
        count("objects"),
        count("secrets"),
        count("object_changes"),
        count("deployments"),
        count("packages")
    );
    Ok(())
}

fn info(ctx: &Context, a: InfoArgs) -> Result<()> {
    let info = tenant::info(ctx, &tenant_url(&a.url)?)?;
    let total = info.total();
    let facts = &info.facts;
    match a.format {
        Format::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "url": info.url.to_string(),
            "facts": facts,
            "objects": { "total": total, "by_category": info.by_category, "by_kind": info.by_kind },
            "lock": info.lock,
            "last_deployment": info.last.as_ref().map(|d| json!({
                "id": d.id, "source": d.source, "status": d.status, "actor": d.actor,
                "started_at": d.started_at, "finished_at": d.finished_at,
            })),
        })),
        Format::Text => {
            let mut text = format!(
                "tenant           {}\nurl              {}\nplatform version {}\nengine           {} ({}-engine)\ncluster          {}\nobjects          {total}\n",
                facts.name,
                info.url,
                facts.platform_version,
                facts.engine,
                facts.engine_mode,
                facts.cluster
            );
            for (category, n) in &info.by_category {
                text.push_str(&format!("  {category:<14} {n}\n"));
            }
            match &info.lock {
                Some(l) => text.push_str(&format!("lock             {}\n", lock_text(l))),
                None => text.push_str("lock             free\n"),
            }
            match &info.last {
                Some(d) => text.push_str(&format!(
                    "last deployment  {} {} at {} by {}\n",
                    d.id, d.status, d.started_at, d.actor
                )),
                None => text.push_str("last deployment  none\n"),
            }
            out(&text)
        }
    }
}

fn settings(ctx: &Context, a: SettingsArgs) -> Result<()> {
    let change = SettingsChange {
        retention_days: a.retention_days,
        credential_env: a.credential_env,
    };
    let (settings, changed) = tenant::settings(ctx, &tenant_url(&a.url)?, &change)?;
    if changed {
        eprintln!("settings updated");
    }
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
                Some(f) => format!("set (fingerprint {})", f.get(..16).unwrap_or(f)),
                None => "not set".to_string(),
            }
        )),
    }
}

fn lock(ctx: &Context, a: LockArgs) -> Result<()> {
    let url = tenant_url(&a.url)?;
    let lock = tenant::lock(ctx, &url, &a.purpose, a.ttl)?;
    eprintln!(
        "locked {url} for `{}` by {} until {}",
        lock.purpose, lock.holder, lock.expires_at
    );
    Ok(())
}

fn unlock(ctx: &Context, a: UnlockArgs) -> Result<()> {
    let url = tenant_url(&a.url)?;
    match tenant::unlock(ctx, &url, a.force)? {
        Some(l) if l.holder != ctx.actor() => {
            eprintln!("released the lock {} held for `{}`", l.holder, l.purpose)
        }
        Some(_) => eprintln!("unlocked {url}"),
        None => eprintln!("{url} was not locked"),
    }
    Ok(())
}
