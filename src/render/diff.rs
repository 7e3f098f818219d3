//! A [`Diff`] for people (text: one block per object, and the summary and warning lines) and for
//! machines (JSON, described by `schemas/output/diff.schema.json`). A change that only follows
//! renames is marked so. Secret fields show only the placeholder.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{field_lines, plural, OUTPUT_VERSION};
use crate::diff::{Action, Change, Diff, Side, WORKING_TREE};
use crate::model::Address;

/// `4 objects changed: 1 added, 1 modified, 1 renamed, 1 deleted`, or `no changes`.
pub fn summary(diff: &Diff) -> String {
    let n = diff.changes.len();
    if n == 0 {
        return "no changes".to_string();
    }
    let count = |action| {
        let following = diff.count_following(action);
        let of = diff.count(action);
        match following {
            0 => format!("{of} {}", action.as_str()),
            f => format!(
                "{of} {} ({f} follow{} a rename)",
                action.as_str(),
                if f == 1 { "s" } else { "" }
            ),
        }
    };
    format!(
        "{n} object{} changed: {}, {}, {}, {}",
        plural(n),
        count(Action::Added),
        count(Action::Modified),
        count(Action::Renamed),
        count(Action::Deleted),
    )
}

/// `  (follows the rename of A → B)`, or of several, after a change that does nothing but
/// follow renames; empty otherwise.
fn follows_note(change: &Change) -> String {
    if change.follows.is_empty() {
        return String::new();
    }
    let renames: Vec<String> = change
        .follows
        .iter()
        .map(|r| format!("{} → {}", r.from, r.to))
        .collect();
    format!(
        "  (follows the rename{} of {})",
        plural(renames.len()),
        renames.join(", ")
    )
}

/// How a side is named in messages: a short commit id, or `working tree`.
pub fn side_label(diff: &Diff, side: Side) -> String {
    let commit = match side {
        Side::From => &diff.from,
        Side::To => &diff.to,
    };
    match commit {
        Some(id) => id.chars().take(12).collect(),
        None => WORKING_TREE.to_string(),
    }
}

/// One line per warning: `warning: FILE:LINE:COLUMN (at SIDE): MESSAGE; skipped`.
pub fn warning_lines(diff: &Diff) -> Vec<String> {
    diff.warnings
        .iter()
        .map(|w| {
            let at = match w.position {
                Some(p) => format!(":{}:{}", p.line, p.column),
                None => String::new(),
            };
            format!(
                "warning: {}{at} (at {}): {}; file skipped",
                w.path,
                side_label(diff, w.side),
                w.message
            )
        })
        .collect()
}

/// What a diff through an environment says about it, for stderr: which environment, and a side
/// that has no file of it (so has no overrides).
pub fn environment_lines(diff: &Diff) -> Vec<String> {
    let Some(env) = &diff.environment else {
        return Vec::new();
    };
    let path = crate::desired::environment::path_of(&env.name);
    let mut lines = vec![format!(
        "objects as environment {} sees them ({path} at each side)",
        env.name
    )];
    for (side, there) in [(Side::From, env.at_from), (Side::To, env.at_to)] {
        if !there {
            lines.push(format!(
                "note: {path} does not exist at {}: that side has no overrides",
                side_label(diff, side)
            ));
        }
    }
    lines
}

/// The changes for people: one block per object, sorted by address; a change that only follows
/// renames says so.
///
/// ```text
/// renamed  data_segment/retail → data_segment/retail_cn
/// modified compute_task/sales/x
///   /spec/schedule/cron: "0 2 * * *" → "0 3 * * *"
/// modified project/sales  (follows the rename of data_segment/retail → data_segment/retail_cn)
///   /spec/data_segment: "data_segment/retail" → "data_segment/retail_cn"
/// ```
pub fn text(diff: &Diff) -> String {
    let mut out = String::new();
    for change in &diff.changes {
        let note = follows_note(change);
        let _ = match &change.old_address {
            Some(old) => writeln!(
                out,
                "{:<8} {old} → {}{note}",
                change.action.as_str(),
                change.address
            ),
            None => writeln!(
                out,
                "{:<8} {}{note}",
                change.action.as_str(),
                change.address
            ),
        };
        field_lines(&change.fields, "  ", &mut out);
    }
    out
}

/// The changes for machines (`schemas/output/diff.schema.json`).
pub fn json(diff: &Diff) -> Value {
    let side = |commit: &Option<String>| match commit {
        Some(id) => id.clone(),
        None => WORKING_TREE.to_string(),
    };
    let changes: Vec<Value> = diff
        .changes
        .iter()
        .map(|c| {
            let fields: Vec<Value> = c
                .fields
                .iter()
                .map(|f| {
                    let mut field = json!({
                        "pointer": f.pointer,
                        "old": f.old,
                        "new": f.new,
                        "sensitive": f.sensitive,
                        "unified_diff": f.unified_diff,
                    });
                    if let Some(by) = &f.set_by {
                        field["set_by"] = json!(by);
                    }
                    field
                })
                .collect();
            json!({
                "action": c.action.as_str(),
                "address": c.address.to_string(),
                "old_address": c.old_address.as_ref().map(Address::to_string),
                "guid": c.guid.to_string(),
                "kind": c.kind,
                "path": c.path,
                "old_path": c.old_path,
                "fields": fields,
                "follows_renames": c
                    .follows
                    .iter()
                    .map(|r| json!({"from": r.from.to_string(), "to": r.to.to_string()}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let warnings: Vec<Value> = diff
        .warnings
        .iter()
        .map(|w| {
            json!({
                "side": w.side.as_str(),
                "path": w.path,
                "line": w.position.map(|p| p.line),
                "column": w.position.map(|p| p.column),
                "message": w.message,
            })
        })
        .collect();
    let mut doc = json!({
        "format_version": OUTPUT_VERSION,
        "from": side(&diff.from),
        "to": side(&diff.to),
        "changes": changes,
        "warnings": warnings,
        "stats": {
            "files_changed": diff.files_changed,
            "blobs_read": diff.blobs_read,
        },
    });
    if let Some(env) = &diff.environment {
        doc["environment"] = json!({
            "name": env.name,
            "file_at_from": env.at_from,
            "file_at_to": env.at_to,
        });
    }
    doc
}
