use std::path::PathBuf;

use serde_json::json;

use ferry::context::Context;
use ferry::model::canonical;
use ferry::ops::object;
use ferry::store::Outcome;

use super::prelude::*;

/// Edit a tenant's objects directly, as the platform's own users do outside git.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create or update objects from files (folders are searched for .toml files). References
    /// are resolved to the objects in the same files first, then in the tenant; a file without
    /// a guid updates the object at its address, or creates one with a new GUID. All or nothing.
    Put(PutArgs),
    /// Print one object (by address or GUID) as a canonical TOML file; secrets show as (sensitive).
    Get(GetArgs),
    /// List objects.
    List(ListArgs),
    /// Delete objects (by address or GUID); refused while other objects refer to them.
    Rm(RmArgs),
}

use TextOrJson as Format;

#[derive(Debug, clap::Args)]
pub struct PutArgs {
    #[command(flatten)]
    tenant: TenantFlag,
    /// The repository whose custom kinds apply (its schemas/kinds/).
    #[command(flatten)]
    repo: RepoFlag,
    /// Object files or folders of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    tenant: TenantFlag,
    /// The repository whose custom kinds apply (its schemas/kinds/).
    #[command(flatten)]
    repo: RepoFlag,
    /// An address (kind/name or kind/project/name) or a GUID.
    object: String,
    /// Output format: toml (the object file) or json.
    #[arg(long, value_enum, default_value = "toml")]
    format: GetFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GetFormat {
    Toml,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    tenant: TenantFlag,
    /// The repository whose custom kinds apply (its schemas/kinds/).
    #[command(flatten)]
    repo: RepoFlag,
    /// Only these kinds.
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    #[command(flatten)]
    tenant: TenantFlag,
    /// Addresses or GUIDs.
    #[arg(required = true)]
    objects: Vec<String>,
}

impl Command {
    /// `--repo DIR`: put, get and list read the repository's custom kinds; rm reads none.
    pub fn repo(&self) -> Option<PathBuf> {
        match self {
            Command::Put(a) => a.repo.repo.clone(),
            Command::Get(a) => a.repo.repo.clone(),
            Command::List(a) => a.repo.repo.clone(),
            Command::Rm(_) => None,
        }
    }
}

pub fn run(ctx: &Context, cmd: Command) -> Result {
    match cmd {
        Command::Put(a) => put(ctx, a),
        Command::Get(a) => get(ctx, a),
        Command::List(a) => list(ctx, a),
        Command::Rm(a) => rm(ctx, a),
    }?;
    Ok(Success::Done)
}

/// How many changed objects `put` and `rm` name one by one before summing up the rest.
const SHOWN: usize = 50;

fn put(ctx: &Context, a: PutArgs) -> Result<()> {
    let url = a.tenant.url()?;
    let put = object::put(ctx, &url, &a.files)?;
    for (path, why) in &put.skipped {
        eprintln!("  skipped {}: {why}", path.display());
    }
    let written = put.written;
    let mut counts = [0usize; 5];
    let mut shown = 0usize;
    for w in &written {
        let (i, verb) = match w.outcome {
            Outcome::Created => (0, "created"),
            Outcome::Updated => (1, "updated"),
            Outcome::Renamed => (2, "renamed"),
            Outcome::Unchanged => (3, "unchanged"),
            Outcome::Deleted => (4, "deleted"),
        };
        counts[i] += 1;
        if w.outcome == Outcome::Unchanged {
            continue;
        }
        shown += 1;
        if shown > SHOWN {
            continue;
        }
        match &w.old_address {
            Some(old) => eprintln!("  {verb} {old} → {} (v{})", w.address, w.version),
            None => eprintln!("  {verb} {} (v{})", w.address, w.version),
        }
    }
    if shown > SHOWN {
        eprintln!("  … and {} more", shown - SHOWN);
    }
    eprintln!(
        "put {} object(s) into {url}: {} created, {} updated, {} renamed, {} unchanged",
        written.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    Ok(())
}

fn get(ctx: &Context, a: GetArgs) -> Result<()> {
    let got = object::get(ctx, &a.tenant.url()?, &a.object)?;
    let stored = &got.stored;
    match a.format {
        GetFormat::Toml => {
            let text = canonical::to_canonical(&got.object, got.kind.as_ref())
                .map_err(|e| CliError::new(Class::Internal, e))?;
            out(&text)
        }
        GetFormat::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "address": stored.address(),
            "guid": stored.guid,
            "kind": stored.kind,
            "name": stored.name,
            "project": stored.project,
            "version": stored.version,
            "hash": stored.hash,
            "updated_at": stored.updated_at,
            "updated_by": stored.updated_by,
            "spec": got.object.spec,
        })),
    }
}

/// The columns `ferry object list` prints, as its header row.
const LIST_HEADER: [&str; 3] = ["GUID", "ADDRESS", "VERSION"];

fn list(ctx: &Context, a: ListArgs) -> Result<()> {
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    object::list(ctx, &a.tenant.url()?, &a.kinds, &mut |o| match a.format {
        Format::Text => lines.push([
            o.guid.to_string(),
            o.address().to_string(),
            format!("v{}", o.version),
        ]),
        Format::Json => rows.push(json!({
            "address": o.address(),
            "guid": o.guid,
            "kind": o.kind,
            "version": o.version,
            "hash": o.hash,
            "updated_at": o.updated_at,
            "updated_by": o.updated_by,
        })),
    })?;
    match a.format {
        Format::Text if lines.is_empty() => {
            eprintln!("no objects");
            Ok(())
        }
        Format::Text => out(&table(LIST_HEADER, &lines)),
        Format::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "objects": rows,
        })),
    }
}

fn rm(ctx: &Context, a: RmArgs) -> Result<()> {
    let url = a.tenant.url()?;
    let written = object::rm(ctx, &url, &a.objects)?;
    for w in written.iter().take(SHOWN) {
        eprintln!("  deleted {}", w.address);
    }
    if written.len() > SHOWN {
        eprintln!("  … and {} more", written.len() - SHOWN);
    }
    eprintln!("deleted {} object(s) from {url}", written.len());
    Ok(())
}
