//! `ferry object put|get|list|rm`: direct edits of a tenant's objects, as the platform's own
//! users make them outside git.

use std::path::{Path, PathBuf};

use super::{Error, Result};
use crate::context::Context;
use crate::edit;
use crate::model::Object;
use crate::repo::SourceFile;
use crate::store::{self, Change, ObjectKey, StoredObject, TenantUrl, Written};

/// What `object put` did: the objects written, and the entries of the folders it was given
/// that it did not read.
#[derive(Debug, Default)]
pub struct Put {
    /// The objects written, in batch order.
    pub written: Vec<Written>,
    /// Entries not read, with why: links, FIFOs, devices, sockets.
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// Why an entry that is not a regular file or a folder is not read.
fn not_read(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_symlink() {
        "a symbolic link (only regular files are read)"
    } else {
        "not a regular file (only regular files are read)"
    }
}

/// Reads the object files at `path` into `out`, sorted by path. A file named on the command line
/// is read when it is a regular file (a link to one included); a folder is searched for `.toml`
/// files, hidden entries left out, reading regular files only: links, FIFOs and devices inside
/// it are listed in `skipped`, never opened.
fn collect(
    path: &Path,
    named: bool,
    out: &mut Vec<SourceFile>,
    skipped: &mut Vec<(PathBuf, &'static str)>,
) -> Result<()> {
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = if named {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .map_err(read_error)?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read_error)?
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
            let file_type = std::fs::symlink_metadata(&entry)
                .map_err(|source| Error::Read {
                    path: entry.clone(),
                    source,
                })?
                .file_type();
            if file_type.is_dir() {
                collect(&entry, false, out, skipped)?;
            } else if entry.extension().is_some_and(|e| e == "toml") {
                if file_type.is_file() {
                    collect(&entry, false, out, skipped)?;
                } else {
                    skipped.push((entry, not_read(file_type)));
                }
            }
        }
    } else if meta.is_file() {
        let bytes = std::fs::read(path).map_err(read_error)?;
        out.push(SourceFile {
            path: path.display().to_string(),
            bytes,
            symlink: false,
        });
    } else {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Puts the objects in `paths` into the tenant, all or nothing.
pub fn put(ctx: &Context, url: &TenantUrl, paths: &[PathBuf]) -> Result<Put> {
    let registry = ctx.registry()?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        collect(path, true, &mut files, &mut skipped)?;
    }
    let mut tenant = store::open(url)?;
    let (changes, paths) = match edit::resolve(files, &registry, tenant.as_ref()) {
        Ok(resolved) => resolved,
        Err(edit::EditError::Invalid(problems)) => {
            return Err(Error::Invalid {
                place: None,
                problems,
                consequence: format!("nothing was written to {}", tenant.url()),
            })
        }
        Err(edit::EditError::Store(e)) => return Err(e.into()),
    };
    let written = tenant.write(&changes, &ctx.store_actor()).map_err(|e| {
        // An address the tenant refuses is named with the file that asked for it.
        let address = match &e {
            store::StoreError::AddressFolds { address, .. }
            | store::StoreError::AddressTaken { address, .. } => address.clone(),
            _ => return Error::Store(e),
        };
        let at = changes
            .iter()
            .position(|c| matches!(c, store::Change::Put(o) if o.address() == address));
        match at {
            Some(i) => Error::PutFile {
                path: paths[i].clone(),
                source: Box::new(e),
            },
            None => Error::Store(e),
        }
    })?;
    Ok(Put { written, skipped })
}

/// The object at an address or GUID.
fn find(tenant: &dyn store::Tenant, key: &str) -> Result<StoredObject> {
    tenant
        .object(&ObjectKey::parse(key))?
        .ok_or_else(|| Error::NoSuchObject {
            key: key.to_string(),
            tenant: tenant.url().clone(),
        })
}

/// One object as stored, and as a file would hold it (address references).
#[derive(Debug)]
pub struct Got {
    /// As stored.
    pub stored: StoredObject,
    /// As a file holds it.
    pub object: Object,
    /// Its kind, when the registry knows it.
    pub kind: Option<crate::kinds::Kind>,
}

/// The object at an address or GUID.
pub fn get(ctx: &Context, url: &TenantUrl, key: &str) -> Result<Got> {
    let registry = ctx.registry()?;
    let tenant = store::open(url)?;
    let stored = find(tenant.as_ref(), key)?;
    let kind = registry.get(&stored.kind);
    let targets = kind
        .map(|k| edit::referenced_guids(&stored, k))
        .unwrap_or_default();
    let addresses = tenant.addresses(&targets)?.into_iter().collect();
    let object = edit::to_object(&stored, kind, &addresses);
    Ok(Got {
        kind: kind.cloned(),
        stored,
        object,
    })
}

/// Refuses kind names the registry does not know.
pub fn check_kinds(registry: &crate::kinds::Registry, kinds: &[String]) -> Result<()> {
    match kinds.iter().find(|k| registry.get(k).is_none()) {
        Some(kind) => Err(Error::UnknownKind { kind: kind.clone() }),
        None => Ok(()),
    }
}

/// Hands `each` the tenant's objects of the given kinds (all when empty), by address, one at a
/// time, so that listing a large tenant holds one object at a time.
pub fn list(
    ctx: &Context,
    url: &TenantUrl,
    kinds: &[String],
    each: &mut dyn FnMut(StoredObject),
) -> Result<()> {
    check_kinds(&ctx.registry()?, kinds)?;
    let tenant = store::open(url)?;
    // The index, without bodies: a listing needs none, so a damaged body cannot stop it.
    for o in tenant.object_index()? {
        if kinds.is_empty() || kinds.contains(&o.kind) {
            each(o);
        }
    }
    Ok(())
}

/// Deletes the objects at the addresses or GUIDs, all or nothing.
pub fn rm(ctx: &Context, url: &TenantUrl, keys: &[String]) -> Result<Vec<Written>> {
    let mut tenant = store::open(url)?;
    let mut changes = Vec::new();
    for key in keys {
        // Found without reading its body, so an object with a damaged body can be deleted.
        let found = match ObjectKey::parse(key) {
            ObjectKey::Guid(g) => tenant.addresses(&[g])?.into_keys().next(),
            ObjectKey::Address(a) => tenant.guids(&[a])?.into_values().next(),
        };
        let guid = found.ok_or_else(|| Error::NoSuchObject {
            key: key.to_string(),
            tenant: tenant.url().clone(),
        })?;
        changes.push(Change::Delete(guid));
    }
    Ok(tenant.write(&changes, &ctx.store_actor())?)
}
