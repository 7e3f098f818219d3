//! `ferry export`: a tenant's objects written into the repository as canonical files, and with
//! `commit`, committed (only those files and the repository's own).
//!
//! With an environment (`--env prod`), its file and the base values are read from the working
//! tree, the files export compares with and writes: the overlay is applied to the repository's
//! objects (and to the tenant's objects that have no file yet), and every field it sets is
//! written with the file's value, not the tenant's ([`crate::export::WriteBack`]).

use super::pipeline::choose;
use super::{Error, Result};
use crate::context::{timestamp, Context};
use crate::desired::overlay;
use crate::export::{self, Base, Options, Overridden, Report, Selection, WriteBack};
use crate::graph::Graph;
use crate::kinds::{self, Category, Registry};
use crate::repo::Staging;
use crate::store::{self, TenantUrl};

/// What `ferry export` was asked.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only these kinds.
    pub kinds: Vec<String>,
    /// Only kinds of these categories.
    pub categories: Vec<String>,
    /// Only objects of these projects.
    pub projects: Vec<String>,
    /// `--select`.
    pub select: Option<String>,
    /// `--exclude`.
    pub exclude: Option<String>,
    /// Only objects changed at or after this date.
    pub changed_since: Option<String>,
    /// Only objects changed before this date.
    pub changed_until: Option<String>,
    /// Commit the result, with this subject when given.
    pub commit: Option<Option<String>>,
    /// `--env`: write the repository's base values for the fields this environment's overlay
    /// sets, and report those whose tenant value is not the override's.
    pub env: Option<String>,
}

/// What `ferry export` did.
#[derive(Debug)]
pub struct ExportOutcome {
    /// The files written, moved and removed.
    pub report: Report,
    /// The repository root.
    pub root: std::path::PathBuf,
    /// The exported tenant's name.
    pub tenant: String,
    /// The commit made, if any.
    pub commit: Option<String>,
}

/// A date flag as RFC 3339: `2026-01-31` is midnight UTC.
fn parse_date(flag: &'static str, text: &str) -> Result<String> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    crate::context::parse_time(&full)
        .map(timestamp)
        .map_err(|e| Error::BadDate {
            flag,
            text: text.to_string(),
            reason: e.to_string(),
        })
}

/// The selection the flags name, checked against the registry.
fn selection(registry: &Registry, options: &ExportOptions) -> Result<Options> {
    super::object::check_kinds(registry, &options.kinds)?;
    let categories = options
        .categories
        .iter()
        .map(|c| {
            Category::parse(c).ok_or_else(|| Error::UnknownCategory {
                category: c.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Options {
        selection: Selection {
            kinds: options.kinds.clone(),
            categories,
            projects: options.projects.clone(),
            addresses: None,
        },
        changed_since: options
            .changed_since
            .as_deref()
            .map(|d| parse_date("--changed-since", d))
            .transpose()?,
        changed_until: options
            .changed_until
            .as_deref()
            .map(|d| parse_date("--changed-until", d))
            .transpose()?,
        write_back: None,
    })
}

/// What environment `name`'s overlay sets, for writing base values back: the environment file
/// and the object files of the working tree, and the tenant's objects that have no file there
/// (new in the tenant), so that its selectors choose as the next plan's will.
fn write_back(
    root: &std::path::Path,
    registry: &Registry,
    name: &str,
    tenant_objects: &[crate::model::Object],
) -> Result<WriteBack> {
    let env = super::pipeline::environment(root, None, name)?;
    let snapshot = crate::repo::snapshot(root, &crate::repo::Source::WorkTree)?;
    // Files that do not parse are left out: `ferry validate` reports them, and export leaves
    // them alone.
    let mut objects: Vec<crate::model::Object> = snapshot
        .objects
        .iter()
        .filter_map(|f| crate::validate::parse_file(f, registry).0)
        .map(|l| l.object)
        .filter(|o| o.guid.is_some())
        .collect();
    let base: std::collections::HashMap<uuid::Uuid, serde_json::Value> = objects
        .iter()
        .filter_map(|o| Some((o.guid?, o.to_document())))
        .collect();
    let taken: std::collections::HashSet<String> =
        objects.iter().map(|o| o.address().to_string()).collect();
    objects.extend(
        tenant_objects
            .iter()
            .filter(|o| o.guid.is_some_and(|g| !base.contains_key(&g)))
            .filter(|o| !taken.contains(&o.address().to_string()))
            .cloned(),
    );
    let overlaid = overlay::apply(&env, &mut objects, registry, &[])?;
    // A secret the environment supplies is the environment's, not the repository's: its field
    // is written as the repository's file has it (usually absent), not as the tenant's
    // `(sensitive)` placeholder.
    let mut set = overlaid.set;
    for s in overlaid.secrets {
        set.entry(s.guid).or_default().push(overlay::SetField {
            pointer: s.pointer,
            by: s.by,
            field: s.path,
            value: serde_json::Value::String(crate::secret::PLACEHOLDER.to_string()),
        });
    }
    let objects = set
        .into_iter()
        .map(|(guid, fields)| {
            let doc = base.get(&guid);
            let fields = fields
                .into_iter()
                .map(|f| Overridden {
                    base: match doc {
                        None => Base::NoFile,
                        Some(doc) => match doc.pointer(&f.pointer) {
                            Some(v) => Base::Value(v.clone()),
                            None => Base::Absent,
                        },
                    },
                    field: f.field,
                    value: f.value,
                    by: f.by,
                })
                .collect();
            (guid, fields)
        })
        .collect();
    Ok(WriteBack {
        env: env.name,
        objects,
    })
}

/// The repository's own files that go into an export commit beside the object files, so the
/// first commit is a complete repository. A link in the place of one is left out of the commit.
fn own_files(root: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = [
        ".gitignore",
        crate::config::CONFIG_FILE,
        "objects/.gitkeep",
        "environments/.gitkeep",
    ]
    .iter()
    .filter(|rel| std::fs::symlink_metadata(root.join(rel)).is_ok_and(|m| m.is_file()))
    .map(|rel| rel.to_string())
    .collect();
    files.extend(
        kinds::BUILTIN_KINDS
            .iter()
            .map(|(name, _)| format!("{}/{name}.schema.json", kinds::KINDS_DIR)),
    );
    files.push(crate::desired::environment::SCHEMA_PATH.to_string());
    files
}

/// Exports the tenant at `from` into the repository. `progress` is told (done, total) as
/// objects are processed.
pub fn export(
    ctx: &Context,
    from: &TenantUrl,
    options: &ExportOptions,
    progress: &mut dyn FnMut(usize, u64),
) -> Result<ExportOutcome> {
    let root = ctx.root()?;
    let registry = ctx.registry()?;
    let mut export_options = selection(&registry, options)?;
    let tenant = store::open(from)?;
    let selecting = options.select.is_some() || options.exclude.is_some();
    let objects = match selecting || options.env.is_some() {
        true => export::tenant_objects(tenant.as_ref(), &registry)?,
        false => Vec::new(),
    };
    if let Some(name) = &options.env {
        export_options.write_back = Some(write_back(&root, &registry, name, &objects)?);
    }
    if selecting {
        let graph = Graph::build(&objects, &registry);
        let chosen = choose(
            &graph,
            options.select.as_deref(),
            options.exclude.as_deref(),
        )?;
        export_options.selection.addresses = Some(chosen.iter().map(|a| a.to_string()).collect());
    }
    let total: u64 = tenant.counts()?.values().sum();
    // With a commit, each file's blob is made as the file is written.
    let mut staging = match options.commit {
        Some(_) => Some(Staging::open(&root)?),
        None => None,
    };
    let mut on_progress = |done: usize| progress(done, total);
    let report = export::export(
        tenant.as_ref(),
        &root,
        &registry,
        &export_options,
        staging.as_mut(),
        &mut on_progress,
    )?;
    let facts = tenant.facts()?;
    let commit = match (staging, &options.commit) {
        (Some(mut staging), Some(subject)) => {
            // The files export wrote are staged already; these are read from disk, and those
            // that did not change leave the tree as it is.
            let mut files = report.written.clone();
            files.extend(own_files(&root));
            files.sort();
            files.dedup();
            for rel in &files {
                staging.add_file(rel)?;
            }
            let message = report.commit_message(&facts.name, subject.as_deref());
            staging.commit(&report.removed, &message, ctx.now())?
        }
        _ => None,
    };
    Ok(ExportOutcome {
        report,
        root,
        tenant: facts.name,
        commit,
    })
}
