//! `ferry diff`: the objects that changed between two revisions (or a revision and the working
//! tree), matched by GUID; with an environment, as that environment sees them: each side's
//! objects with the overlay of the environment's file at that side.

use std::collections::HashMap;

use super::{Error, Result};
use crate::context::Context;
use crate::desired::environment::{self, Environment};
use crate::desired::overlay;
use crate::diff::{self, Diff, DiffEnvironment, Side};
use crate::repo::{ChangedFile, ChangedFiles, Source};

/// The two sides a RANGE names: `A..B`, `A` (against the working tree) or nothing (`HEAD`
/// against the working tree).
pub fn sides(range: Option<&str>) -> Result<(Source, Source)> {
    let revision =
        |rev: &str| Source::Revision(if rev.is_empty() { "HEAD" } else { rev }.to_string());
    let Some(range) = range else {
        return Ok((revision("HEAD"), Source::WorkTree));
    };
    if range.contains("...") {
        return Err(Error::ThreeDotRange {
            range: range.to_string(),
        });
    }
    Ok(match range.split_once("..") {
        Some((from, to)) => (revision(from), revision(to)),
        None => (revision(range), Source::WorkTree),
    })
}

fn revision(source: &Source) -> Option<&str> {
    match source {
        Source::Revision(rev) => Some(rev.as_str()),
        Source::WorkTree => None,
    }
}

/// How a side is named in messages: the revision, or the working tree.
fn label(source: &Source) -> String {
    revision(source).unwrap_or(diff::WORKING_TREE).to_string()
}

/// The diff a RANGE names; with `env`, of the objects as that environment sees them.
pub fn diff(ctx: &Context, range: Option<&str>, env: Option<&str>) -> Result<Diff> {
    let (from, to) = sides(range)?;
    let root = ctx.root_at(revision(&to))?;
    match env {
        None => Ok(diff::between(&root, &from, &to)?),
        Some(name) => through(&root, &from, &to, name),
    }
}

/// Environment `name`'s file at one side, parsed (`None` when that side has none).
fn environment_at(
    root: &std::path::Path,
    side: &Source,
    name: &str,
) -> Result<Option<Environment>> {
    let files = crate::repo::environment_files(root, revision(side))?;
    let Some((_, bytes)) = files.into_iter().find(|(n, _)| n == name) else {
        return Ok(None);
    };
    Environment::parse(name, &bytes)
        .map(Some)
        .map_err(|source| Error::EnvAt {
            at: label(side),
            source,
        })
}

/// The diff of every object of both sides, each side with the overlay of environment `name`'s
/// file at that side (none where it has no file; an error when neither has one).
fn through(root: &std::path::Path, from: &Source, to: &Source, name: &str) -> Result<Diff> {
    if let Err(why) = environment::check_name(name) {
        return Err(Error::Env(environment::EnvError::one(
            &environment::path_of(name),
            0,
            why,
        )));
    }
    let envs = [
        environment_at(root, from, name)?,
        environment_at(root, to, name)?,
    ];
    if envs.iter().all(Option::is_none) {
        // The error that names the environments there are.
        super::pipeline::environment(root, revision(to), name)?;
    }
    let old = crate::repo::snapshot(root, from)?;
    let new = crate::repo::snapshot(root, to)?;
    let registry = |snapshot: &crate::repo::Snapshot, side: &Source| {
        crate::repo::registry_for(snapshot).map_err(|source| {
            Error::Diff(diff::DiffError::Kinds {
                revision: snapshot.commit.clone().unwrap_or_else(|| label(side)),
                source,
            })
        })
    };
    let registries = [registry(&old, from)?, registry(&new, to)?];
    let blobs_read = old.objects.len() + new.objects.len();
    // Every object file, paired by path: an overlay's selectors need the whole graph.
    let mut files: std::collections::BTreeMap<String, ChangedFile> = Default::default();
    for (file, old_side) in old
        .objects
        .into_iter()
        .map(|f| (f, true))
        .chain(new.objects.into_iter().map(|f| (f, false)))
    {
        let entry = files
            .entry(file.path.clone())
            .or_insert_with(|| ChangedFile {
                path: file.path.clone(),
                old: None,
                new: None,
            });
        if old_side {
            entry.old = Some(file);
        } else {
            entry.new = Some(file);
        }
    }
    let files_changed = files
        .values()
        .filter(|f| f.old.as_ref().map(|f| &f.bytes) != f.new.as_ref().map(|f| &f.bytes))
        .count();
    let changed = ChangedFiles {
        from: old.commit,
        to: new.commit,
        files: files.into_values().collect(),
        old_kind_files: Vec::new(),
        new_kind_files: Vec::new(),
        blobs_read,
    };
    let mut failure: Option<Error> = None;
    let mut prepare = |side: Side, objects: &mut [crate::model::Object]| {
        let (i, source) = match side {
            Side::From => (0, from),
            Side::To => (1, to),
        };
        let Some(env) = &envs[i] else {
            return HashMap::new();
        };
        match overlay::apply(env, objects, &registries[i], &[]) {
            Ok(overlaid) => overlaid.set,
            Err(source_error) => {
                failure.get_or_insert(Error::EnvAt {
                    at: label(source),
                    source: source_error,
                });
                HashMap::new()
            }
        }
    };
    let mut done =
        diff::diff_prepared(&changed, &registries[0], &registries[1], Some(&mut prepare));
    if let Some(e) = failure {
        return Err(e);
    }
    done.files_changed = files_changed;
    done.environment = Some(DiffEnvironment {
        name: name.to_string(),
        at_from: envs[0].is_some(),
        at_to: envs[1].is_some(),
    });
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_two_sides() {
        let rev = |r: &str| Source::Revision(r.to_string());
        assert_eq!(sides(None).unwrap(), (rev("HEAD"), Source::WorkTree));
        assert_eq!(sides(Some("a..b")).unwrap(), (rev("a"), rev("b")));
        assert_eq!(sides(Some("..b")).unwrap(), (rev("HEAD"), rev("b")));
        assert_eq!(sides(Some("a")).unwrap(), (rev("a"), Source::WorkTree));
        assert!(matches!(
            sides(Some("a...b")),
            Err(Error::ThreeDotRange { .. })
        ));
    }
}
