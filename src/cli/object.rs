use std::path::{Path, PathBuf};

use serde_json::json;

use ferry::edit;
use ferry::kinds::Registry;
use ferry::model::canonical;
use ferry::repo::SourceFile;
use ferry::store::{Change, Filter, ObjectKey, Outcome};

use super::{out, out_json, CliError};

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

use super::TextOrJson as Format;

#[derive(Debug, clap::Args)]
pub struct PutArgs {
    /// The tenant URL.
    #[arg(long)]
    tenant: String,
    /// Object files or folders of them.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The tenant URL.
    #[arg(long)]
    tenant: String,
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
    /// The tenant URL.
    #[arg(long)]
    tenant: String,
    /// Only these kinds.
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The tenant URL.
    #[arg(long)]
    tenant: String,
    /// Addresses or GUIDs.
    #[arg(required = true)]
    objects: Vec<String>,
}

pub fn run(cmd: Command, repo: Option<&Path>) -> super::Result {
    match cmd {
        Command::Put(a) => put(a, repo),
        Command::Get(a) => get(a, repo),
        Command::List(a) => list(a, repo),
        Command::Rm(a) => rm(a),
    }
}

fn collect(path: &Path, out: &mut Vec<SourceFile>) -> super::Result {
    let meta = std::fs::metadata(path).map_err(|e| {
        CliError::new(
            format!("cannot read {}: {e}", path.display()),
            Some("check the path".to_string()),
        )
    })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| {
                CliError::new(format!("cannot read folder {}: {e}", path.display()), None)
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if entry.is_dir() || entry.extension().is_some_and(|e| e == "toml") {
                collect(&entry, out)?;
            }
        }
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display()), None))?;
        out.push(SourceFile {
            path: path.display().to_string(),
            bytes,
            symlink: false,
        });
    }
    Ok(())
}

/// How many changed objects `put` and `rm` name one by one before summing up the rest.
const SHOWN: usize = 50;

fn put(a: PutArgs, repo: Option<&Path>) -> super::Result {
    let registry = super::registry(repo)?;
    let mut files = Vec::new();
    for path in &a.files {
        collect(path, &mut files)?;
    }
    let mut tenant = super::open_tenant(&a.tenant)?;
    let changes = match edit::resolve(files, &registry, tenant.as_ref()) {
        Ok(changes) => changes,
        Err(edit::EditError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return Err(CliError::reported(format!(
                "{} problem(s); nothing was written to {}",
                problems.len(),
                tenant.url()
            )));
        }
        Err(edit::EditError::Store(e)) => return Err(e.into()),
    };
    let written = tenant.write(&changes, &super::actor()?)?;
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
            None if w.outcome != Outcome::Unchanged => {
                eprintln!("  {verb} {} (v{})", w.address, w.version)
            }
            None => {}
        }
    }
    if shown > SHOWN {
        eprintln!("  … and {} more", shown - SHOWN);
    }
    eprintln!(
        "put {} object(s) into {}: {} created, {} updated, {} renamed, {} unchanged",
        written.len(),
        tenant.url(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    Ok(())
}

fn find(tenant: &dyn ferry::store::Tenant, key: &str) -> super::Result<ferry::store::StoredObject> {
    tenant.object(&ObjectKey::parse(key))?.ok_or_else(|| {
        CliError::new(
            format!("no object {key} in {}", tenant.url()),
            Some(format!(
                "`ferry object list --tenant {}` shows what exists",
                tenant.url()
            )),
        )
    })
}

fn get(a: GetArgs, repo: Option<&Path>) -> super::Result {
    let registry = super::registry(repo)?;
    let tenant = super::open_tenant(&a.tenant)?;
    let stored = find(tenant.as_ref(), &a.object)?;
    let kind = registry.get(&stored.kind);
    let targets = kind
        .map(|k| edit::referenced_guids(&stored, k))
        .unwrap_or_default();
    let addresses = tenant.addresses(&targets)?.into_iter().collect();
    let object = edit::to_object(&stored, kind, &addresses);
    match a.format {
        GetFormat::Toml => {
            let text =
                canonical::to_canonical(&object, kind).map_err(|e| CliError::new(e, None))?;
            out(&text);
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
            "spec": object.spec,
        })),
    }
    Ok(())
}

fn list(a: ListArgs, repo: Option<&Path>) -> super::Result {
    let registry: Registry = super::registry(repo)?;
    for kind in &a.kinds {
        if registry.get(kind).is_none() {
            return Err(CliError::new(
                format!("unknown kind `{kind}`"),
                Some("`ferry kinds` lists the kinds".to_string()),
            ));
        }
    }
    let tenant = super::open_tenant(&a.tenant)?;
    let filter = Filter {
        kinds: a.kinds,
        ..Filter::default()
    };
    let mut text = String::new();
    let mut rows = Vec::new();
    tenant.for_each_object(&filter, &mut |o| {
        match a.format {
            Format::Text => {
                text.push_str(&format!("{}  {}  v{}\n", o.guid, o.address(), o.version))
            }
            Format::Json => rows.push(json!({
                "address": o.address(),
                "guid": o.guid,
                "kind": o.kind,
                "version": o.version,
                "hash": o.hash,
                "updated_at": o.updated_at,
                "updated_by": o.updated_by,
            })),
        }
        Ok(())
    })?;
    match a.format {
        Format::Text => out(&text),
        Format::Json => out_json(&json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "objects": rows,
        })),
    }
    Ok(())
}

fn rm(a: RmArgs) -> super::Result {
    let mut tenant = super::open_tenant(&a.tenant)?;
    let mut changes = Vec::new();
    for key in &a.objects {
        changes.push(Change::Delete(find(tenant.as_ref(), key)?.guid));
    }
    let written = tenant.write(&changes, &super::actor()?)?;
    for w in written.iter().take(SHOWN) {
        eprintln!("  deleted {}", w.address);
    }
    if written.len() > SHOWN {
        eprintln!("  … and {} more", written.len() - SHOWN);
    }
    eprintln!("deleted {} object(s) from {}", written.len(), tenant.url());
    Ok(())
}
