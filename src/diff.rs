//! The objects that changed between two points of a repository's history (`ferry diff`),
//! matched by GUID, not by path.
//!
//! [`repo::changed_files`] lists the object files git sees changed (a tree-to-tree diff limited
//! to `objects/`, so only the blobs of changed files are read). [`diff`] parses the old and new
//! versions of those files and matches them by GUID, so a file that was moved and edited is one
//! renamed object, and a file replaced by another object with the same name is a deletion and an
//! addition. Changed fields come from [`field_changes`]: by JSON pointer, with text that holds
//! line breaks also as a unified diff, and a field that a kind declares secret only as
//! [`PLACEHOLDER`](crate::secret::PLACEHOLDER), whatever the file holds.
//!
//! A file that cannot be parsed is left out with a [`Warning`]; so is a file without a GUID
//! (`ferry fmt` gives it one), since nothing else can match it across commits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use uuid::Uuid;

use crate::kinds::{Kind, KindError, Registry};
use crate::model::field_diff::{field_changes, FieldChange};
use crate::model::Address;
use crate::render::plural;
use crate::repo::{self, ChangedFiles, RepoError, Snapshot, Source, SourceFile};
use crate::validate::{parse_file, Loaded};

/// How the text output names the working tree.
pub const WORKING_TREE: &str = "working tree";

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// A GUID only the new side has.
    Added,
    /// Same GUID and address, other fields.
    Modified,
    /// Same GUID, another address (and maybe other fields too).
    Renamed,
    /// A GUID only the old side has.
    Deleted,
}

impl Action {
    /// The word shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Modified => "modified",
            Action::Renamed => "renamed",
            Action::Deleted => "deleted",
        }
    }
}

/// One changed object.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What happened.
    pub action: Action,
    /// The object's identity.
    pub guid: Uuid,
    /// The object's kind (its old kind, for a deletion).
    pub kind: String,
    /// The object's address (its old address, for a deletion).
    pub address: Address,
    /// The address it had before, for a rename.
    pub old_address: Option<Address>,
    /// Its file (the old file, for a deletion).
    pub path: String,
    /// The file it was in before, when that was another path.
    pub old_path: Option<String>,
    /// The changed fields, sorted by pointer (empty for additions and deletions).
    pub fields: Vec<FieldChange>,
}

/// Which side of a diff a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The old side (`A` of `A..B`).
    From,
    /// The new side (`B` of `A..B`, or the working tree).
    To,
}

impl Side {
    /// `from` or `to`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::From => "from",
            Side::To => "to",
        }
    }
}

/// A changed file that was left out of the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The side the file was read from.
    pub side: Side,
    /// The file, relative to the repository root.
    pub path: String,
    /// Where in the file, when known.
    pub position: Option<crate::model::file::Position>,
    /// Why it was left out.
    pub message: String,
}

/// The objects that changed between two sides of a repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    /// The old side's commit id (`None`: the working tree).
    pub from: Option<String>,
    /// The new side's commit id (`None`: the working tree).
    pub to: Option<String>,
    /// The changed objects, sorted by address.
    pub changes: Vec<Change>,
    /// Changed files that were left out, sorted by path.
    pub warnings: Vec<Warning>,
    /// How many files under `objects/` changed.
    pub files_changed: usize,
    /// How many file contents were read to find the changes.
    pub blobs_read: usize,
}

/// Why a diff could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The changed files could not be read from git or the working tree.
    #[error(transparent)]
    Read(#[from] RepoError),
    /// A side's custom kind schemas are invalid.
    #[error("kind schemas at {revision}: {source}")]
    Kinds {
        /// The commit id, or `working tree`.
        revision: String,
        /// What is wrong.
        source: KindError,
    },
}

/// The objects that changed in the repository at `root` from `from` to `to`. Reads only the
/// changed object files (and the custom kind schemas) of each side.
pub fn between(root: &Path, from: &Source, to: &Source) -> Result<Diff, DiffError> {
    let changed = repo::changed_files(root, from, to)?;
    let registry = |files: &[SourceFile], commit: &Option<String>| {
        repo::registry_for(&Snapshot {
            kind_files: files.to_vec(),
            ..Snapshot::default()
        })
        .map_err(|source| DiffError::Kinds {
            revision: commit.clone().unwrap_or_else(|| WORKING_TREE.to_string()),
            source,
        })
    };
    let old = registry(&changed.old_kind_files, &changed.from)?;
    let new = registry(&changed.new_kind_files, &changed.to)?;
    Ok(diff(&changed, &old, &new))
}

/// The object changes in a set of changed files: each side parsed with its own kind registry,
/// objects matched by GUID, fields compared. Pure: reads nothing but its arguments.
pub fn diff(changed: &ChangedFiles, old_registry: &Registry, new_registry: &Registry) -> Diff {
    let mut warnings = Vec::new();
    let mut old = load_side(changed, Side::From, old_registry, &mut warnings);
    let mut new = load_side(changed, Side::To, new_registry, &mut warnings);
    let skipped: BTreeSet<(Side, &str)> =
        warnings.iter().map(|w| (w.side, w.path.as_str())).collect();
    let guids: BTreeSet<Uuid> = old.keys().chain(new.keys()).copied().collect();
    let mut changes = Vec::new();
    for guid in guids {
        let change = match (old.remove(&guid), new.remove(&guid)) {
            // The other side of its file could not be read: what happened to it is unknown,
            // and the warning says so.
            (Some(o), None) if skipped.contains(&(Side::To, o.path.as_str())) => continue,
            (None, Some(n)) if skipped.contains(&(Side::From, n.path.as_str())) => continue,
            (Some(o), None) => Change {
                action: Action::Deleted,
                guid,
                kind: o.object.kind.clone(),
                address: o.object.address(),
                old_address: None,
                path: o.path,
                old_path: None,
                fields: Vec::new(),
            },
            (None, Some(n)) => Change {
                action: Action::Added,
                guid,
                kind: n.object.kind.clone(),
                address: n.object.address(),
                old_address: None,
                path: n.path,
                old_path: None,
                fields: Vec::new(),
            },
            (Some(o), Some(n)) => match compare(guid, o, n, old_registry, new_registry) {
                Some(change) => change,
                // Only the file's text changed (formatting, comments, its place).
                None => continue,
            },
            (None, None) => continue,
        };
        changes.push(change);
    }
    changes.sort_by(|a, b| {
        (a.address.to_string(), a.action, a.guid).cmp(&(b.address.to_string(), b.action, b.guid))
    });
    warnings.sort_by(|a, b| (&a.path, a.side, a.position).cmp(&(&b.path, b.side, b.position)));
    Diff {
        from: changed.from.clone(),
        to: changed.to.clone(),
        changes,
        warnings,
        files_changed: changed.files.len(),
        blobs_read: changed.blobs_read,
    }
}

/// The object files of one side of `changed`, by GUID; files that cannot be read or matched
/// become warnings.
fn load_side(
    changed: &ChangedFiles,
    side: Side,
    registry: &Registry,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<Uuid, Loaded> {
    let mut by_guid: BTreeMap<Uuid, Loaded> = BTreeMap::new();
    for file in &changed.files {
        let source = match side {
            Side::From => file.old.as_ref(),
            Side::To => file.new.as_ref(),
        };
        let Some(source) = source.filter(|f| is_object_file(f)) else {
            continue;
        };
        let mut warn = |position, message: String| {
            warnings.push(Warning {
                side,
                path: source.path.clone(),
                position,
                message,
            })
        };
        let (loaded, problems) = parse_file(source, registry);
        let Some(loaded) = loaded else {
            let more = match problems.len() {
                0 | 1 => String::new(),
                n => format!(" (and {} more problem{})", n - 1, plural(n - 1)),
            };
            match problems.first() {
                Some(first) => warn(first.position, format!("{}{more}", first.message)),
                None => warn(None, "not an object file".to_string()),
            }
            continue;
        };
        let Some(guid) = loaded.object.guid else {
            warn(
                None,
                format!(
                    "{} has no `guid`, so it cannot be matched (run `ferry fmt` to give it one)",
                    loaded.object.address()
                ),
            );
            continue;
        };
        if let Some(first) = by_guid.get(&guid) {
            warn(
                None,
                format!("guid {guid} is also the guid of {}", first.path),
            );
            continue;
        }
        by_guid.insert(guid, loaded);
    }
    by_guid
}

/// The change between two versions of one object, or `None` when only its file's text changed.
fn compare(
    guid: Uuid,
    o: Loaded,
    n: Loaded,
    old_registry: &Registry,
    new_registry: &Registry,
) -> Option<Change> {
    let kinds: Vec<&Kind> = [
        old_registry.get(&o.object.kind),
        new_registry.get(&n.object.kind),
    ]
    .into_iter()
    .flatten()
    .collect();
    let fields = field_changes(&o.object.to_document(), &n.object.to_document(), &kinds);
    let (old_address, new_address) = (o.object.address(), n.object.address());
    let action = if old_address != new_address {
        Action::Renamed
    } else if !fields.is_empty() {
        Action::Modified
    } else {
        return None;
    };
    Some(Change {
        action,
        guid,
        kind: n.object.kind.clone(),
        address: new_address,
        old_address: (action == Action::Renamed).then_some(old_address),
        old_path: (o.path != n.path).then_some(o.path),
        path: n.path,
        fields,
    })
}

/// Whether a file under `objects/` can be an object file (`validate` reports the others).
fn is_object_file(file: &SourceFile) -> bool {
    let name = file.path.rsplit('/').next().unwrap_or_default();
    !file.symlink && !name.starts_with('.') && name.ends_with(".toml")
}

impl Diff {
    /// How many changes of an action.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render;
    use crate::repo::ChangedFile;

    const SEGMENT: &str = "kind = \"data_segment\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a01\"\nname = \"retail\"\n\n[spec]\ndisplay_name = \"Retail\"\nprefix = \"rt\"\n";

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.to_string(),
            bytes: text.as_bytes().to_vec(),
            symlink: false,
        }
    }

    fn run(files: Vec<(&str, Option<&str>, Option<&str>)>) -> Diff {
        let registry = Registry::builtin().unwrap();
        let changed = ChangedFiles {
            files: files
                .into_iter()
                .map(|(path, old, new)| ChangedFile {
                    path: path.to_string(),
                    old: old.map(|t| file(path, t)),
                    new: new.map(|t| file(path, t)),
                })
                .collect(),
            ..ChangedFiles::default()
        };
        diff(&changed, &registry, &registry)
    }

    #[test]
    fn a_moved_and_edited_file_is_one_rename() {
        let renamed = SEGMENT
            .replace("\"retail\"", "\"retail_cn\"")
            .replace("\"rt\"", "\"rc\"");
        let diff = run(vec![
            (
                "objects/global/data_segment/retail.toml",
                Some(SEGMENT),
                None,
            ),
            (
                "objects/global/data_segment/retail_cn.toml",
                None,
                Some(&renamed),
            ),
        ]);
        assert_eq!(diff.changes.len(), 1);
        let change = &diff.changes[0];
        assert_eq!(change.action, Action::Renamed);
        assert_eq!(change.address.to_string(), "data_segment/retail_cn");
        assert_eq!(
            change.old_path.as_deref(),
            Some("objects/global/data_segment/retail.toml")
        );
        assert_eq!(
            render::diff::text(&diff),
            "renamed  data_segment/retail → data_segment/retail_cn\n  /spec/prefix: \"rt\" → \"rc\"\n"
        );
        assert_eq!(
            render::diff::summary(&diff),
            "1 object changed: 0 added, 0 modified, 1 renamed, 0 deleted"
        );
    }

    #[test]
    fn a_file_replaced_by_another_object_is_a_deletion_and_an_addition() {
        let other = SEGMENT.replace("1a01", "1a02");
        let path = "objects/global/data_segment/retail.toml";
        let diff = run(vec![(path, Some(SEGMENT), Some(&other))]);
        let actions: Vec<_> = diff.changes.iter().map(|c| c.action).collect();
        assert_eq!(actions, vec![Action::Added, Action::Deleted]);
    }

    #[test]
    fn formatting_alone_is_no_change_and_broken_files_are_warnings() {
        let path = "objects/global/data_segment/retail.toml";
        let reformatted = format!("# a comment\n{SEGMENT}");
        let diff = run(vec![
            (path, Some(SEGMENT), Some(&reformatted)),
            // Broken at the new side: not reported as deleted.
            (
                "objects/global/data_segment/x.toml",
                Some(&SEGMENT.replace("1a01", "1a09")),
                Some("kind = "),
            ),
            ("objects/global/data_segment/.gitkeep", None, Some("")),
        ]);
        assert!(diff.changes.is_empty());
        assert_eq!(render::diff::summary(&diff), "no changes");
        assert_eq!(diff.warnings.len(), 1);
        assert_eq!(diff.warnings[0].side, Side::To);
        assert!(render::diff::warning_lines(&diff)[0].starts_with(
            "warning: objects/global/data_segment/x.toml:1:8 (at working tree): TOML syntax"
        ));
    }
}
