//! Reading the two sides of a plan: the desired objects from a repository at a revision (read
//! from the git object database and validated as `ferry validate` does), and the destination's
//! objects with what ferry last applied.

use std::collections::HashMap;
use std::path::Path;

use uuid::Uuid;

use super::build::{Actual, Applied, Desired};
use super::PlanSource;
use crate::config::{Config, CONFIG_FILE};
use crate::kinds::{KindError, Registry};
use crate::model::Object;
use crate::repo::{self, RepoError, Source};
use crate::store::{Filter, StoreError, Tenant};
use crate::validate::{self, Problem};

/// The desired side could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The repository could not be read.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A kind schema is broken.
    #[error(transparent)]
    Kind(#[from] KindError),
    /// `ferry.toml` is broken or missing.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// No ferry.toml at the revision.
    #[error("the repository has no {CONFIG_FILE} at {0}")]
    NoConfig(String),
    /// The objects do not validate.
    #[error("{} problem(s) in the repository at {revision}", problems.len())]
    Invalid {
        /// The revision read.
        revision: String,
        /// The problems, as `ferry validate` reports them.
        problems: Vec<Problem>,
    },
}

/// The desired objects of the repository at `root` at `revision`, their registry, and each
/// object's git blob id.
pub fn desired_from_repository(
    root: &Path,
    revision: &str,
) -> Result<(Desired, Registry, HashMap<Uuid, String>), SourceError> {
    let snapshot = repo::snapshot(root, &Source::Revision(revision.to_string()))?;
    let config = snapshot
        .config
        .as_ref()
        .ok_or_else(|| SourceError::NoConfig(revision.to_string()))?;
    let config = Config::parse(
        &String::from_utf8_lossy(&config.bytes),
        Path::new(CONFIG_FILE),
    )?;
    let registry = repo::registry_for(&snapshot)?;
    let report = validate::check(&snapshot.objects, &registry);
    if !report.is_ok() {
        return Err(SourceError::Invalid {
            revision: revision.to_string(),
            problems: report.problems,
        });
    }
    let blobs: HashMap<Uuid, String> = report
        .objects
        .iter()
        .filter_map(|l| {
            let blob = repo::blob_id(l.text.as_bytes());
            Some((l.object.guid?, blob))
        })
        .collect();
    let objects: Vec<Object> = report.objects.into_iter().map(|l| l.object).collect();
    let commit = snapshot.commit.unwrap_or_default();
    Ok((
        Desired {
            objects,
            facts: config.source,
            source: PlanSource {
                kind: "git".into(),
                repository: Some(root.display().to_string()),
                revision: Some(revision.to_string()),
                id: commit,
            },
            selected: None,
        },
        registry,
        blobs,
    ))
}

/// The destination's objects and what ferry last applied to them.
pub fn actual_from_tenant(tenant: &dyn Tenant) -> Result<Actual, StoreError> {
    let facts = tenant.facts()?;
    let mut objects = Vec::new();
    tenant.for_each_object(&Filter::default(), &mut |o| {
        objects.push(o);
        Ok(())
    })?;
    let applied = tenant
        .applied()?
        .into_iter()
        .map(|(guid, a)| {
            (
                guid,
                Applied {
                    hash: a.hash,
                    body: Some(a.body),
                },
            )
        })
        .collect();
    Ok(Actual {
        url: tenant.url().to_string(),
        facts,
        objects,
        applied,
    })
}
