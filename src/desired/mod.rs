//! Desired state: the objects a destination should hold, and where they come from.
//!
//! The source is a git ref ([`git`]) or a deployment package ([`package`]); the environment
//! overlay is a step after either. [`read`] decides how much of the source to read: when
//! the destination's applied index can be trusted, only the object files that are not exactly
//! what ferry last applied ([`git::read_changed`]); otherwise, or when asked, all of them
//! ([`git::read_all`]). The destination side it reads with it comes from [`crate::store::actual`].

pub mod environment;
pub mod git;
pub mod overlay;
pub mod package;
pub mod secrets;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use uuid::Uuid;

pub use git::DesiredError;

use crate::kinds::Registry;
use serde::{Deserialize, Serialize};

use crate::config::SourceFacts;
use crate::model::Object;
use crate::store::actual::Actual;
use crate::store::{actual, Tenant};

/// The desired state.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The objects, any order.
    pub objects: Vec<Object>,
    /// The source tenant facts the repository records (`ferry.toml`).
    pub facts: Option<SourceFacts>,
    /// Where they came from.
    pub source: PlanSource,
    /// The addresses `--select`/`--exclude` chose; `None` plans everything. Objects outside it
    /// are neither changed nor deleted, and a chosen object may refer to one outside it only if
    /// the destination has it.
    pub selected: Option<HashSet<String>>,
    /// Desired objects known to be exactly what ferry last applied, whose files were not read
    /// (a fast plan); they are neither changed nor deleted.
    pub unchanged: HashSet<Uuid>,
}

/// Where the desired objects came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSource {
    /// `git` or `package`.
    pub kind: String,
    /// The repository folder, for git.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The revision asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The commit id, or the package hash.
    pub id: String,
}

/// How much of the source to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Only what changed since the last apply, when that can be trusted.
    Changed,
    /// Every object file (a selection needs the whole graph; `FERRY_FULL_READ` asks for it).
    All,
}

/// Both sides of a plan, read together.
#[derive(Debug)]
pub struct Read {
    /// The desired objects.
    pub desired: Desired,
    /// The kind registry they were read with.
    pub registry: Registry,
    /// Each read object's git blob id.
    pub blobs: HashMap<Uuid, String>,
    /// The destination's objects and what ferry last applied.
    pub actual: Actual,
    /// For a read of only the changed files: how many were read and how many objects were
    /// known unchanged without reading.
    pub changed_only: Option<(usize, usize)>,
}

/// Reads the repository at `root` at `revision` and the destination `tenant`. `expect` says,
/// for an object file's path, what an environment overlay asks of it (see
/// [`overlay::Keys::expect`]; `Expect::Digest(None)` without one).
pub fn read(
    root: &Path,
    revision: &str,
    tenant: &dyn Tenant,
    mode: ReadMode,
    expect: &dyn Fn(&str) -> overlay::Expect,
) -> Result<Read, DesiredError> {
    if mode == ReadMode::Changed {
        let mut index = actual::read_index(tenant)?;
        if let Some((desired, registry, blobs)) =
            git::read_changed(root, revision, &mut index, tenant, expect)?
        {
            let changed_only = Some((desired.objects.len(), desired.unchanged.len()));
            let read: HashSet<Uuid> = desired.objects.iter().filter_map(|o| o.guid).collect();
            let actual = actual::with_bodies(tenant, index, &read, &desired.unchanged)?;
            tracing::debug!(?changed_only, "read only the changed object files");
            return Ok(Read {
                desired,
                registry,
                blobs,
                actual,
                changed_only,
            });
        }
        tracing::debug!("the applied index cannot be trusted here; reading every object file");
    }
    let (desired, registry, blobs) = git::read_all(root, revision)?;
    Ok(Read {
        desired,
        registry,
        blobs,
        actual: actual::read_all(tenant)?,
        changed_only: None,
    })
}
