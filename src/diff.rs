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
//! With an environment (`ferry diff --env prod`), [`diff_prepared`] passes each side's objects
//! through the overlay before they are compared: every object file of both sides is read (an
//! overlay's selectors need the whole graph, and an environment file's change changes objects
//! whose files did not), and a field an override set on the new side says which line set it.
//!
//! A file that cannot be parsed is left out with a [`Warning`]; so is a file without a GUID
//! (`ferry fmt` gives it one), since nothing else can match it across commits.
//!
//! Files name references by address, so renaming an object rewrites the files of the objects
//! that refer to it (a plan, which keeps references as GUIDs, shows the rename alone). A change
//! that does nothing but follow renames of the same diff — every reference that differs named a
//! renamed object at its old address and names it at its new one — says so
//! ([`Change::follows`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;
use uuid::Uuid;

use crate::desired::overlay::SetField;
use crate::graph;
use crate::kinds::{Kind, KindError, Registry};
use crate::model::field_diff::{field_changes, FieldChange};
use crate::model::{Address, Object};
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
    /// The renames of this diff that this change does nothing but follow, sorted: every
    /// difference between its two versions (its fields, and for a rename its address) is a
    /// reference, or its project, that named a renamed object at the old address and names it
    /// at the new one. Empty when the change is more than that.
    pub follows: Vec<Rename>,
}

/// A rename in a diff: the object at `from` is at `to` on the new side (same GUID).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rename {
    /// The old address.
    pub from: Address,
    /// The new address.
    pub to: Address,
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
    /// With an environment: the objects were compared as it sees them.
    pub environment: Option<DiffEnvironment>,
}

/// The environment a diff saw the objects through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffEnvironment {
    /// Its name.
    pub name: String,
    /// Whether the old side has its file (without one, that side has no overrides).
    pub at_from: bool,
    /// Whether the new side has its file.
    pub at_to: bool,
}

/// What a diff's [`diff_prepared`] does to each side's objects after reading them (an
/// environment's overlay), returning the fields it set, by object.
pub type Prepare<'a> = dyn FnMut(Side, &mut [Object]) -> HashMap<Uuid, Vec<SetField>> + 'a;

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
    diff_prepared(changed, old_registry, new_registry, None)
}

/// [`diff`] with each side's objects passed through `prepare` once read; the fields it sets on
/// the new side are marked with the line that set them ([`FieldChange::set_by`]).
pub fn diff_prepared(
    changed: &ChangedFiles,
    old_registry: &Registry,
    new_registry: &Registry,
    prepare: Option<&mut Prepare>,
) -> Diff {
    let mut warnings = Vec::new();
    let mut old = load_side(changed, Side::From, old_registry, &mut warnings);
    let mut new = load_side(changed, Side::To, new_registry, &mut warnings);
    let mut set = HashMap::new();
    if let Some(prepare) = prepare {
        prepare_side(&mut old, Side::From, prepare);
        set = prepare_side(&mut new, Side::To, prepare);
    }
    let skipped: BTreeSet<(Side, &str)> =
        warnings.iter().map(|w| (w.side, w.path.as_str())).collect();
    let guids: BTreeSet<Uuid> = old.keys().chain(new.keys()).copied().collect();
    let mut changes = Vec::new();
    // Both versions of every modified or renamed object, to find what follows a rename.
    let mut compared: HashMap<Uuid, (Object, Object)> = HashMap::new();
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
                follows: Vec::new(),
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
                follows: Vec::new(),
            },
            (Some(o), Some(n)) => match compare(guid, &o, &n, old_registry, new_registry) {
                Some(change) => {
                    compared.insert(guid, (o.object, n.object));
                    change
                }
                // Only the file's text changed (formatting, comments, its place).
                None => continue,
            },
            (None, None) => continue,
        };
        changes.push(change);
    }
    mark_followers(&mut changes, &compared, old_registry, new_registry);
    for change in &mut changes {
        let Some(fields) = set.get(&change.guid) else {
            continue;
        };
        for field in &mut change.fields {
            field.set_by = fields
                .iter()
                .find(|s| {
                    field.pointer == s.pointer
                        || field.pointer.starts_with(&format!("{}/", s.pointer))
                })
                .map(|s| s.by.clone());
        }
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
        environment: None,
    }
}

/// Passes the objects of one side through `prepare`, returning the fields it set.
fn prepare_side(
    side_objects: &mut BTreeMap<Uuid, Loaded>,
    side: Side,
    prepare: &mut Prepare,
) -> HashMap<Uuid, Vec<SetField>> {
    let mut objects: Vec<Object> = side_objects.values().map(|l| l.object.clone()).collect();
    let set = prepare(side, &mut objects);
    for (loaded, object) in side_objects.values_mut().zip(objects) {
        loaded.object = object;
    }
    set
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
    o: &Loaded,
    n: &Loaded,
    old_registry: &Registry,
    new_registry: &Registry,
) -> Option<Change> {
    let kinds = kinds_of(&o.object, &n.object, old_registry, new_registry);
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
        old_path: (o.path != n.path).then(|| o.path.clone()),
        path: n.path.clone(),
        fields,
        follows: Vec::new(),
    })
}

/// The kinds of an object's two versions that the registries know (for the secret fields).
fn kinds_of<'r>(
    old: &Object,
    new: &Object,
    old_registry: &'r Registry,
    new_registry: &'r Registry,
) -> Vec<&'r Kind> {
    [old_registry.get(&old.kind), new_registry.get(&new.kind)]
        .into_iter()
        .flatten()
        .collect()
}

/// Sets [`Change::follows`] on every modified or renamed object whose old version, with each
/// reference to a renamed object (and its project, if renamed) rewritten to the new address,
/// is its new version.
fn mark_followers(
    changes: &mut [Change],
    compared: &HashMap<Uuid, (Object, Object)>,
    old_registry: &Registry,
    new_registry: &Registry,
) {
    let renames: HashMap<String, Rename> = changes
        .iter()
        .filter_map(|c| {
            let from = c.old_address.clone()?;
            let rename = Rename {
                from,
                to: c.address.clone(),
            };
            Some((rename.from.to_string(), rename))
        })
        .collect();
    if renames.is_empty() {
        return;
    }
    for change in changes.iter_mut() {
        let Some((old, new)) = compared.get(&change.guid) else {
            continue;
        };
        let Some(kind) = old_registry.get(&old.kind) else {
            continue;
        };
        let (followed, mut follows) = follow_renames(old, kind, &renames);
        if follows.is_empty() || followed.address() != new.address() {
            continue;
        }
        let kinds = kinds_of(old, new, old_registry, new_registry);
        if field_changes(&followed.to_document(), &new.to_document(), &kinds).is_empty() {
            follows.sort();
            follows.dedup();
            change.follows = follows;
        }
    }
}

/// `object` with every reference (and its project) that names the old address of one of
/// `renames` rewritten to the new address, and the renames it named.
fn follow_renames(
    object: &Object,
    kind: &Kind,
    renames: &HashMap<String, Rename>,
) -> (Object, Vec<Rename>) {
    let mut followed = object.clone();
    let mut spec = Value::Object(std::mem::take(&mut followed.spec));
    let mut follows = Vec::new();
    for r in graph::object_references(kind, object) {
        let target = Address::parse(&r.target).map(|a| a.to_string());
        let Some(rename) = target.ok().and_then(|t| renames.get(&t)) else {
            continue;
        };
        if r.pointer == "/project" {
            followed.project = Some(rename.to.name.clone());
        } else if let Some(slot) = r
            .pointer
            .strip_prefix("/spec")
            .and_then(|at| spec.pointer_mut(at))
        {
            *slot = Value::String(rename.to.to_string());
        } else {
            continue;
        }
        follows.push(rename.clone());
    }
    if let Value::Object(map) = spec {
        followed.spec = map;
    }
    (followed, follows)
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

    /// How many changes of an action do nothing but follow renames.
    pub fn count_following(&self, action: Action) -> usize {
        self.changes
            .iter()
            .filter(|c| c.action == action && !c.follows.is_empty())
            .count()
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

    const PROJECT: &str = include_str!("../examples/retail/objects/global/project/retail_rt.toml");
    const KAFKA: &str =
        include_str!("../examples/retail/objects/global/data_source/orders_kafka.toml");
    const TASK: &str = include_str!(
        "../examples/retail/objects/development/realtime_task/retail_rt/rt_store_live_sales.toml"
    );

    /// The project `retail_rt` renamed `live` and `orders_kafka` renamed `orders_stream`, with
    /// the realtime task in that project (and reading that source) rewritten to follow; `edit`
    /// changes the task's new version further.
    fn renamed_project_and_source(edit: fn(String) -> String) -> Diff {
        let task = TASK
            .replace("project = \"retail_rt\"", "project = \"live\"")
            .replace(
                "\"data_source/orders_kafka\"",
                "\"data_source/orders_stream\"",
            );
        run(vec![
            ("objects/global/project/retail_rt.toml", Some(PROJECT), None),
            (
                "objects/global/project/live.toml",
                None,
                Some(&PROJECT.replace("name = \"retail_rt\"", "name = \"live\"")),
            ),
            (
                "objects/global/data_source/orders_kafka.toml",
                Some(KAFKA),
                None,
            ),
            (
                "objects/global/data_source/orders_stream.toml",
                None,
                Some(&KAFKA.replace("name = \"orders_kafka\"", "name = \"orders_stream\"")),
            ),
            (
                "objects/development/realtime_task/retail_rt/rt_store_live_sales.toml",
                Some(TASK),
                None,
            ),
            (
                "objects/development/realtime_task/live/rt_store_live_sales.toml",
                None,
                Some(&edit(task)),
            ),
        ])
    }

    #[test]
    fn an_object_moved_only_by_renames_follows_them() {
        let diff = renamed_project_and_source(|task| task);
        let task = diff
            .changes
            .iter()
            .find(|c| c.kind == "realtime_task")
            .unwrap();
        assert_eq!(task.action, Action::Renamed);
        let follows: Vec<String> = task
            .follows
            .iter()
            .map(|r| format!("{} → {}", r.from, r.to))
            .collect();
        assert_eq!(
            follows,
            vec![
                "data_source/orders_kafka → data_source/orders_stream",
                "project/retail_rt → project/live",
            ]
        );
        assert!(diff
            .changes
            .iter()
            .filter(|c| c.kind != "realtime_task")
            .all(|c| c.follows.is_empty()));
        assert_eq!(
            render::diff::summary(&diff),
            "3 objects changed: 0 added, 0 modified, 3 renamed (1 follows a rename), 0 deleted"
        );
        assert!(render::diff::text(&diff).contains(
            "renamed  realtime_task/retail_rt/rt_store_live_sales → realtime_task/live/rt_store_live_sales  (follows the renames of data_source/orders_kafka → data_source/orders_stream, project/retail_rt → project/live)\n  /spec/data_sources:\n    - \"data_source/orders_kafka\"\n    + \"data_source/orders_stream\"\n"
        ));
    }

    #[test]
    fn an_object_with_changes_of_its_own_does_not_only_follow() {
        let owner = |task: String| task.replace("owner = \"wang.fang\"", "owner = \"li.wei\"");
        let diff = renamed_project_and_source(owner);
        assert!(diff.changes.iter().all(|c| c.follows.is_empty()));
        // Nor one that names another object than the renamed one's new address.
        let elsewhere = |task: String| {
            task.replace(
                "\"data_source/orders_stream\"",
                "\"data_source/pos_smartpos\"",
            )
        };
        let diff = renamed_project_and_source(elsewhere);
        assert!(diff.changes.iter().all(|c| c.follows.is_empty()));
    }
}
