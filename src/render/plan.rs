//! A plan for people (text, for a terminal; Markdown, for a pull-request comment) and for
//! machines (JSON, described by `schemas/plan.schema.json`). A create shows every field of the
//! new object as Terraform does (`+ /spec/value = "0.13"`, folded in Markdown); an update the
//! fields that differ. Secret values never appear: plans carry only the placeholder.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{created_lines, field_lines, mermaid, plural};
use crate::plan::{Action, Change, Plan, PlannedSecret, SecretStatus};

/// The longest Markdown body a pull-request comment can hold, with room to spare.
pub const MARKDOWN_LIMIT: usize = 60_000;

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Adopt => "±",
        Action::Rename => ">",
        Action::Update => "~",
        Action::Delete => "-",
    }
}

fn colour(action: Action) -> &'static str {
    match action {
        Action::Create => "\x1b[32m",
        Action::Delete => "\x1b[31m",
        Action::Adopt | Action::Rename | Action::Update => "\x1b[33m",
    }
}

fn headline(change: &Change) -> String {
    match (change.action, &change.old_address) {
        (Action::Rename, Some(old)) => format!("rename {old} → {}", change.address),
        (Action::Adopt, _) => format!(
            "adopt  {} (destination GUID {} becomes {})",
            change.address,
            change.old_guid.map(|g| g.to_string()).unwrap_or_default(),
            change.guid
        ),
        (action, _) => format!("{:<6} {}", action.as_str(), change.address),
    }
}

/// The counts of each category's changes, as a Markdown table (nothing when there are none).
pub(super) fn category_table(
    categories: &BTreeMap<&str, BTreeMap<Action, usize>>,
    out: &mut String,
) {
    if !categories.is_empty() {
        out.push_str("| category | create | adopt | rename | update | delete |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (category, counts) in categories {
            let n = |a| counts.get(&a).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "| {category} | {} | {} | {} | {} | {} |",
                n(Action::Create),
                n(Action::Adopt),
                n(Action::Rename),
                n(Action::Update),
                n(Action::Delete)
            );
        }
        out.push('\n');
    }
}

/// The counts line: `3 to create, 1 to update, 2 secrets to set, …`.
pub fn summary(plan: &Plan) -> String {
    let counts = plan.counts();
    let to_set = plan.secrets_to_set();
    if counts.is_empty() && to_set == 0 {
        let not_checked = plan
            .secrets
            .iter()
            .filter(|s| s.status == SecretStatus::NotChecked)
            .count();
        return format!(
            "No changes: the destination matches ({} unchanged, {} not managed by ferry).{}",
            plan.unchanged,
            plan.unmanaged,
            if not_checked > 0 {
                format!(
                    " {not_checked} secret{} not checked: {} value{} not available here.",
                    plural(not_checked),
                    if not_checked == 1 { "its" } else { "their" },
                    if not_checked == 1 { " is" } else { "s are" }
                )
            } else {
                String::new()
            }
        );
    }
    let mut parts: Vec<String> = counts
        .iter()
        .map(|(a, n)| format!("{n} to {}", a.as_str()))
        .collect();
    if to_set > 0 {
        parts.push(format!("{to_set} secret{} to set", plural(to_set)));
    }
    format!(
        "Plan: {} ({} unchanged, {} not managed by ferry).",
        parts.join(", "),
        plan.unchanged,
        plan.unmanaged
    )
}

pub(super) fn per_category(plan: &Plan) -> BTreeMap<&str, BTreeMap<Action, usize>> {
    let mut out: BTreeMap<&str, BTreeMap<Action, usize>> = BTreeMap::new();
    for c in &plan.changes {
        *out.entry(c.category.as_str())
            .or_default()
            .entry(c.action)
            .or_default() += 1;
    }
    out
}

pub(super) fn blast_line(change: &Change) -> Option<String> {
    if change.blast_radius_total == 0 {
        return None;
    }
    let more = change.blast_radius_total - change.blast_radius.len();
    let mut line = format!(
        "blast radius: {} dependent object(s): {}",
        change.blast_radius_total,
        change.blast_radius.join(", ")
    );
    if more > 0 {
        let _ = write!(line, " and {more} more");
    }
    Some(line)
}

/// `Environment prod (environments/prod.toml): 4 fields overridden on 2 objects; …`
pub(super) fn environment_line(plan: &Plan) -> Option<String> {
    let env = plan.environment.as_ref()?;
    Some(format!(
        "Environment {} ({}): {} field{} overridden on {} object{}; changed fields an override set say `(set by FILE:LINE)`.",
        env.name,
        env.file,
        env.overrides,
        plural(env.overrides),
        env.objects_overridden,
        plural(env.objects_overridden)
    ))
}

/// The plan as text for a terminal; `colour` adds ANSI colours (never the only carrier of
/// meaning: every line has its action word and symbol).
pub fn text(plan: &Plan, colour_on: bool) -> String {
    let paint = |a: Action, s: &str| {
        if colour_on {
            format!("{}{s}\x1b[0m", colour(a))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ferry plan: {} {} → {} ({})",
        plan.source.kind,
        short(&plan.source.id),
        plan.destination.url,
        plan.destination.name
    );
    if let Some(line) = environment_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", summary(plan));
    let categories = per_category(plan);
    if !categories.is_empty() {
        out.push('\n');
        for (category, counts) in &categories {
            let parts: Vec<String> = counts
                .iter()
                .map(|(a, n)| format!("{n} {}", a.as_str()))
                .collect();
            let _ = writeln!(out, "  {category:<13} {}", parts.join(", "));
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "\nwarning: {w}");
    }
    if !plan.skipped.is_empty() {
        let shown: Vec<&str> = plan.skipped.iter().take(20).map(String::as_str).collect();
        let more = plan.skipped.len() - shown.len();
        let _ = writeln!(
            out,
            "\n{} object(s) with changes are left out by the selection: {}{}",
            plan.skipped.len(),
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    if !plan.not_pruned.is_empty() {
        let _ = writeln!(
            out,
            "\n{} object(s) ferry applied are no longer desired and are kept (use --prune to delete them): {}",
            plan.not_pruned.len(),
            plan.not_pruned.join(", ")
        );
    }
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "\nDrift: {} object(s) changed outside ferry since ferry applied them:",
            plan.drift.len()
        );
        for d in &plan.drift {
            if d.deleted {
                let _ = writeln!(out, "  ! {}  (deleted outside ferry)", d.address);
            } else {
                let _ = writeln!(out, "  ! {}", d.address);
            }
            field_lines(&d.fields, "      ", &mut out);
        }
    }
    let deletes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .collect();
    if !deletes.is_empty() {
        let _ = writeln!(
            out,
            "\nDeletes ({}), run last, dependents first:",
            deletes.len()
        );
        for c in &deletes {
            let _ = writeln!(
                out,
                "  {} {}  (wave {})",
                paint(Action::Delete, symbol(Action::Delete)),
                paint(Action::Delete, &headline(c)),
                c.wave
            );
            if let Some(line) = blast_line(c) {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    let mut wave = 0;
    for c in plan.changes.iter().filter(|c| c.action != Action::Delete) {
        if c.wave != wave {
            wave = c.wave;
            let _ = writeln!(out, "\nWave {wave}:");
        }
        let drift = if c.drifted { "  (drifted)" } else { "" };
        let _ = writeln!(
            out,
            "  {} {}{drift}",
            paint(c.action, symbol(c.action)),
            paint(c.action, &headline(c))
        );
        if c.action == Action::Create {
            created_lines(&c.fields, "      ", &mut out);
        } else {
            field_lines(&c.fields, "      ", &mut out);
        }
        if let Some(line) = blast_line(c) {
            let _ = writeln!(out, "      {line}");
        }
        for r in &c.risks {
            let _ = writeln!(out, "      risk: {r}");
        }
    }
    secret_lines(plan, &mut out);
    out
}

/// The mark of a secret's status in text output.
fn secret_symbol(status: SecretStatus) -> &'static str {
    match status {
        SecretStatus::New => "+",
        SecretStatus::Changed => "~",
        SecretStatus::Unchanged => "=",
        SecretStatus::NotChecked => "?",
    }
}

fn availability(s: &PlannedSecret) -> &'static str {
    if s.available {
        "available"
    } else {
        "not available here"
    }
}

/// The secrets section of a text plan: each secret's object, field, status and source (a
/// variable's name or a file's path, never a value).
fn secret_lines(plan: &Plan, out: &mut String) {
    if plan.secrets.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nSecrets ({}) the apply sets from their sources (values are never shown):",
        plan.secrets.len()
    );
    for s in &plan.secrets {
        let _ = writeln!(
            out,
            "  {} {} {}: {}, from {} ({}; {})",
            secret_symbol(s.status),
            s.address,
            s.field,
            s.status.as_str(),
            s.source,
            availability(s),
            s.by
        );
    }
}

/// The secrets of a Markdown plan, as a table.
fn markdown_secrets(plan: &Plan, out: &mut String) {
    if plan.secrets.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "**Secrets** the apply sets from their sources (values are never shown):\n\n| object | field | status | source | available here | set by |\n| --- | --- | --- | --- | --- | --- |"
    );
    for s in &plan.secrets {
        let source = match &s.source {
            crate::desired::environment::SecretFrom::Var(v) => {
                format!("environment variable `{v}`")
            }
            crate::desired::environment::SecretFrom::File(p) => format!("file `{p}`"),
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {source} | {} | {} |",
            s.address,
            s.field,
            s.status.as_str(),
            if s.available { "yes" } else { "no" },
            s.by
        );
    }
    out.push('\n');
}

pub(super) fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The plan as Markdown for a pull-request comment: a summary table, the drift, collapsible
/// details per category (a create's fields folded once more), and a Mermaid graph of the
/// changed objects. Cut between two changes to stay under [`MARKDOWN_LIMIT`] characters, with a
/// note when it was.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### ferry plan for `{}`\n\nFrom {} `{}` to `{}`.\n\n{}{}\n",
        plan.destination.name,
        plan.source.kind,
        short(&plan.source.id),
        plan.destination.url,
        environment_line(plan)
            .map(|l| format!("{l}\n\n"))
            .unwrap_or_default(),
        summary(plan)
    );
    let categories = per_category(plan);
    category_table(&categories, &mut out);
    for w in &plan.warnings {
        let _ = writeln!(out, "> **Warning:** {w}\n");
    }
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "**Drift:** {} object(s) changed outside ferry:\n",
            plan.drift.len()
        );
        for d in &plan.drift {
            let gone = if d.deleted {
                " (deleted outside ferry)"
            } else {
                ""
            };
            let _ = writeln!(out, "- `{}`{gone}", d.address);
        }
        out.push('\n');
    }
    markdown_secrets(plan, &mut out);
    let room = MARKDOWN_LIMIT.saturating_sub(out.len() + CUT_NOTE.len());
    let (mut body, mut whole) = markdown_body(plan, &categories, room, true);
    let creates = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create && !c.fields.is_empty())
        .count();
    if !whole && creates > 0 {
        // Too long with every field of every new object: the changes come first.
        let note = format!(
            "_The fields of the {creates} new object{} are left out to fit a comment: `ferry plan` shows them._\n\n",
            plural(creates)
        );
        let (rest, fits) = markdown_body(plan, &categories, room.saturating_sub(note.len()), false);
        (body, whole) = (note + &rest, fits);
    }
    if !whole {
        body.push_str(CUT_NOTE);
    }
    out.push_str(&body);
    out
}

/// The folded details and the graph, while they fit in `room` characters, and whether all did.
fn markdown_body(
    plan: &Plan,
    categories: &BTreeMap<&str, BTreeMap<Action, usize>>,
    room: usize,
    create_fields: bool,
) -> (String, bool) {
    let mut body = String::new();
    if !markdown_details(plan, categories, room, (create_fields, true), &mut body) {
        return (body, false);
    }
    let mut graph = String::new();
    markdown_graph(plan, &mut graph);
    if body.len() + graph.len() > room {
        return (body, false);
    }
    body.push_str(&graph);
    (body, true)
}

/// The note that ends a Markdown plan cut to fit a comment.
const CUT_NOTE: &str =
    "_The plan was cut here to fit a comment: run `ferry plan` for all of it._\n";

/// The changes of each category, folded, with their fields (a create's only with
/// `create_fields`), blast radius and risks, written to `body` change by change while they fit
/// in `room` characters. Returns whether all did; a cut falls between two changes, and every
/// `<details>` and code block opened is closed.
pub(super) fn markdown_details(
    plan: &Plan,
    categories: &BTreeMap<&str, BTreeMap<Action, usize>>,
    room: usize,
    (create_fields, diffs): (bool, bool),
    body: &mut String,
) -> bool {
    const CLOSE: &str = "</details>\n\n";
    for category in categories.keys() {
        let changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.category == *category)
            .collect();
        let open = format!(
            "<details><summary>{category} ({})</summary>\n\n",
            changes.len()
        );
        if body.len() + open.len() + CLOSE.len() > room {
            return false;
        }
        body.push_str(&open);
        for c in changes {
            let item = markdown_change(c, create_fields, diffs);
            if body.len() + item.len() + CLOSE.len() > room {
                body.push_str(CLOSE);
                return false;
            }
            body.push_str(&item);
        }
        body.push_str(CLOSE);
    }
    true
}

/// One change in Markdown: with fields to show (a create's only with `create_fields`, none
/// with `diffs` false), a `<details>` section whose summary is its headline and whose body is
/// its fields as a diff (a ```diff block, `+`/`-` in column 0, so GitHub renders it as one),
/// then its blast radius and risks; otherwise a list item of the headline, blast radius and
/// risks.
pub(super) fn markdown_change(c: &Change, create_fields: bool, diffs: bool) -> String {
    let mut item = String::new();
    let drift = if c.drifted { " (drifted)" } else { "" };
    let address = headline(c)
        .split_once(' ')
        .map(|x| x.1.trim().to_string())
        .unwrap_or_default();
    let show_fields =
        diffs && !c.fields.is_empty() && (create_fields || c.action != Action::Create);
    if show_fields {
        let n = c.fields.len();
        let _ = writeln!(
            item,
            "<details><summary>wave {}: <b>{}</b> <code>{}</code>{drift} ({n} field{})</summary>\n",
            c.wave,
            c.action.as_str(),
            html(&address),
            plural(n)
        );
        let mut lines = String::new();
        diff_lines(c, &mut lines);
        let fence = fence(&lines);
        let _ = writeln!(item, "{fence}diff\n{lines}{fence}\n");
        if let Some(line) = blast_line(c) {
            let _ = writeln!(item, "- {line}");
        }
        for r in &c.risks {
            let _ = writeln!(item, "- **risk:** {r}");
        }
        item.push_str("\n</details>\n\n");
    } else {
        let drift = if c.drifted { " _(drifted)_" } else { "" };
        let _ = writeln!(
            item,
            "- wave {}: **{}** `{address}`{drift}",
            c.wave,
            c.action.as_str(),
        );
        if let Some(line) = blast_line(c) {
            let _ = writeln!(item, "  - {line}");
        }
        for r in &c.risks {
            let _ = writeln!(item, "  - **risk:** {r}");
        }
        item.push('\n');
    }
    item
}

/// `text` with `&`, `<` and `>` as HTML entities (inside a `<summary>`).
pub(super) fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A code fence longer than any run of backticks in `text` (SQL quotes names with them).
pub(super) fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// A change's fields as the lines of a diff block, every line starting in column 0 with `+`
/// (added), `-` (removed), `@` (a text's hunk) or a space (context, and the pointer above a
/// text's or an array's changes): a create's fields as `+ POINTER = VALUE` (text with line
/// breaks whole, between `<<EOT` and `EOT`), a changed value as `- POINTER = OLD` then
/// `+ POINTER = NEW`, text as its unified diff, an array as the elements removed and added.
/// Secrets show only the placeholder.
pub(super) fn diff_lines(c: &Change, out: &mut String) {
    for f in &c.fields {
        let by = super::set_by(f);
        if c.action == Action::Create {
            match &f.new {
                Some(serde_json::Value::String(text)) if !f.sensitive && text.contains('\n') => {
                    let _ = writeln!(out, "+ {} = <<EOT{by}", f.pointer);
                    for line in text.lines() {
                        let _ = writeln!(out, "+     {line}");
                    }
                    let _ = writeln!(out, "+   EOT");
                }
                new => {
                    let _ = writeln!(
                        out,
                        "+ {} = {}{by}",
                        f.pointer,
                        super::show(new.as_ref(), f.sensitive)
                    );
                }
            }
            continue;
        }
        if let Some(elements) = crate::model::field_diff::element_changes(f) {
            let _ = writeln!(out, "  {}:{by}", f.pointer);
            for element in elements {
                let _ = match element {
                    crate::model::field_diff::ElementChange::Removed(v) => writeln!(out, "- {v}"),
                    crate::model::field_diff::ElementChange::Added(v) => writeln!(out, "+ {v}"),
                };
            }
            continue;
        }
        match &f.unified_diff {
            Some(diff) if !f.sensitive => {
                let _ = writeln!(out, "  {}:{by}", f.pointer);
                for line in diff.lines() {
                    if line.starts_with(['+', '-', '@', ' ']) {
                        let _ = writeln!(out, "{line}");
                    } else {
                        let _ = writeln!(out, " {line}");
                    }
                }
            }
            _ => {
                if f.old.is_some() {
                    let _ = writeln!(
                        out,
                        "- {} = {}",
                        f.pointer,
                        super::show(f.old.as_ref(), f.sensitive)
                    );
                }
                if f.new.is_some() {
                    let _ = writeln!(
                        out,
                        "+ {} = {}{by}",
                        f.pointer,
                        super::show(f.new.as_ref(), f.sensitive)
                    );
                }
            }
        }
    }
}

/// The Mermaid graph of the changed objects, folded, at the end of `body`.
pub(super) fn markdown_graph(plan: &Plan, body: &mut String) {
    let edges = &plan.edges;
    if !edges.is_empty() || !plan.changes.is_empty() {
        body.push_str("<details><summary>dependency graph of the changes</summary>\n\n```mermaid\nflowchart LR\n");
        let ids: BTreeMap<&str, usize> = plan
            .changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.address.as_str(), i))
            .collect();
        for (i, c) in plan.changes.iter().enumerate() {
            let _ = writeln!(
                *body,
                "  n{i}[\"{} {}\"]",
                c.action.as_str(),
                mermaid::escape(&c.address)
            );
        }
        for (dependent, dependency) in edges {
            if let (Some(a), Some(b)) = (ids.get(dependency.as_str()), ids.get(dependent.as_str()))
            {
                let _ = writeln!(*body, "  n{a} --> n{b}");
            }
        }
        body.push_str("```\n\n</details>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::field_diff::FieldChange;

    fn plan(changes: Vec<Change>) -> Plan {
        crate::plan::test_plan(changes)
    }

    /// A change of `global_variable/vN` whose one field holds `size` characters.
    fn change(action: Action, n: usize, size: usize) -> Change {
        let text = Some(serde_json::Value::String("x".repeat(size)));
        Change {
            action,
            guid: uuid::Uuid::from_u128(n as u128),
            kind: "global_variable".into(),
            category: "global".into(),
            address: format!("global_variable/v{n:05}"),
            old_address: None,
            old_guid: None,
            wave: 1,
            fields: vec![FieldChange {
                pointer: "/spec/value".into(),
                old: (action != Action::Create).then(|| "old".into()),
                new: text,
                sensitive: false,
                unified_diff: None,
                set_by: None,
            }],
            actual_hash: None,
            desired_hash: None,
            drifted: false,
            blast_radius: Vec::new(),
            blast_radius_total: 0,
            risks: vec!["a risk".into()],
        }
    }

    /// Every `<details>` and code block a Markdown text opens, it closes.
    fn assert_balanced(md: &str) {
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count(),
            "{md}"
        );
        assert_eq!(md.matches("```").count() % 2, 0, "{md}");
    }

    #[test]
    fn a_create_shows_its_fields_folded() {
        let md = markdown(&plan(vec![change(Action::Create, 1, 4)]));
        assert!(
            md.contains("<details><summary>wave 1: <b>create</b> <code>global_variable/v00001</code> (1 field)</summary>\n\n```diff\n+ /spec/value = \"xxxx\"\n```\n\n- **risk:** a risk\n\n</details>\n"),
            "{md}"
        );
        assert_balanced(&md);
    }

    /// Issue 16: a diff block renders as a diff on GitHub: every line in column 0, changed
    /// lines starting with `-` or `+`, text as its unified diff, a fence longer than any run
    /// of backticks in it.
    #[test]
    fn diff_blocks_have_their_signs_in_column_0() {
        let mut c = change(Action::Update, 1, 2);
        c.fields.push(FieldChange {
            pointer: "/spec/code".into(),
            old: Some("select `a`\n".into()),
            new: Some("select ```b```\n".into()),
            sensitive: false,
            unified_diff: Some("@@ -1 +1 @@\n-select `a`\n+select ```b```\n".into()),
            set_by: Some("environments/prod.toml:9".into()),
        });
        let md = markdown(&plan(vec![c]));
        assert!(
            md.contains("\n````diff\n- /spec/value = \"old\"\n+ /spec/value = \"xx\"\n  /spec/code:  (set by environments/prod.toml:9)\n@@ -1 +1 @@\n-select `a`\n+select ```b```\n````\n"),
            "{md}"
        );
    }

    #[test]
    fn creates_too_big_for_a_comment_leave_their_fields_out() {
        // One create holds more than a comment: every change is listed, with its risks.
        let changes = vec![
            change(Action::Create, 1, 10),
            change(Action::Create, 2, MARKDOWN_LIMIT),
            change(Action::Update, 3, 10),
        ];
        let md = markdown(&plan(changes));
        assert!(md.len() <= MARKDOWN_LIMIT, "{}", md.len());
        assert!(
            md.contains("_The fields of the 2 new objects are left out to fit a comment: `ferry plan` shows them._"),
            "{md}"
        );
        assert!(!md.contains(CUT_NOTE), "{md}");
        assert!(!md.contains("<b>create</b>"), "{md}");
        assert!(
            md.contains("- wave 1: **create** `global_variable/v00002`\n  - **risk:** a risk\n")
        );
        assert!(
            md.contains("\n- /spec/value = \"old\"\n+ /spec/value = \"xxxxxxxxxx\"\n"),
            "{md}"
        );
        assert!(md.contains("```mermaid"), "{md}");
        assert_balanced(&md);
    }

    #[test]
    fn a_plan_too_big_for_a_comment_is_cut_between_two_changes() {
        let changes = (0..200).map(|n| change(Action::Update, n, 1000)).collect();
        let md = markdown(&plan(changes));
        assert!(md.len() <= MARKDOWN_LIMIT, "{}", md.len());
        assert!(md.ends_with(CUT_NOTE), "{md}");
        assert!(!md.contains("```mermaid"), "{md}");
        assert!(md.contains("global_variable/v00040"), "{md}");
        assert!(!md.contains("global_variable/v00199"), "{md}");
        assert_balanced(&md);
    }
}
