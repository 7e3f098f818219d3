//! A plan for people (text, for a terminal; Markdown, for a pull-request comment) and for
//! machines (JSON, described by `schemas/plan.schema.json`). Secret values never appear: plans
//! carry only the placeholder.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{field_lines, mermaid};
use crate::plan::{Action, Change, Plan};

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

/// The counts line: `3 to create, 1 to update, …`.
pub fn summary(plan: &Plan) -> String {
    let counts = plan.counts();
    if counts.is_empty() {
        return format!(
            "No changes: the destination matches ({} unchanged, {} not managed by ferry).",
            plan.unchanged, plan.unmanaged
        );
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(a, n)| format!("{n} to {}", a.as_str()))
        .collect();
    format!(
        "Plan: {} ({} unchanged, {} not managed by ferry).",
        parts.join(", "),
        plan.unchanged,
        plan.unmanaged
    )
}

fn per_category(plan: &Plan) -> BTreeMap<&str, BTreeMap<Action, usize>> {
    let mut out: BTreeMap<&str, BTreeMap<Action, usize>> = BTreeMap::new();
    for c in &plan.changes {
        *out.entry(c.category.as_str())
            .or_default()
            .entry(c.action)
            .or_default() += 1;
    }
    out
}

fn blast_line(change: &Change) -> Option<String> {
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
        field_lines(&c.fields, "      ", &mut out);
        if let Some(line) = blast_line(c) {
            let _ = writeln!(out, "      {line}");
        }
        for r in &c.risks {
            let _ = writeln!(out, "      risk: {r}");
        }
    }
    out
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The plan as Markdown for a pull-request comment: a summary table, the drift, collapsible
/// details per category, and a Mermaid graph of the changed objects. Cut to stay under
/// [`MARKDOWN_LIMIT`] characters, with a note when it was.
pub fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### ferry plan for `{}`\n\nFrom {} `{}` to `{}`.\n\n{}\n",
        plan.destination.name,
        plan.source.kind,
        short(&plan.source.id),
        plan.destination.url,
        summary(plan)
    );
    let categories = per_category(plan);
    if !categories.is_empty() {
        out.push_str("| category | create | adopt | rename | update | delete |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (category, counts) in &categories {
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
    let mut body = markdown_details(plan, &categories);
    markdown_graph(plan, &mut body);
    let room = MARKDOWN_LIMIT.saturating_sub(out.len() + 200);
    if body.len() > room {
        let mut cut = room;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        let _ = write!(
            body,
            "\n\n_The plan was cut here to fit a comment: run `ferry plan` for all of it._\n"
        );
    }
    out.push_str(&body);
    out
}

/// The changes of each category, folded, with their field diffs, blast radius and risks.
fn markdown_details(plan: &Plan, categories: &BTreeMap<&str, BTreeMap<Action, usize>>) -> String {
    let mut body = String::new();
    for category in categories.keys() {
        let changes: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.category == *category)
            .collect();
        let _ = writeln!(
            body,
            "<details><summary>{category} ({})</summary>\n",
            changes.len()
        );
        for c in changes {
            let drift = if c.drifted { " _(drifted)_" } else { "" };
            let _ = writeln!(
                body,
                "- wave {}: **{}** `{}`{drift}",
                c.wave,
                c.action.as_str(),
                headline(c)
                    .split_once(' ')
                    .map(|x| x.1.trim())
                    .unwrap_or_default()
            );
            if !c.fields.is_empty() {
                body.push_str("\n  ```diff\n");
                let mut lines = String::new();
                field_lines(&c.fields, "  ", &mut lines);
                body.push_str(&lines);
                body.push_str("  ```\n");
            }
            if let Some(line) = blast_line(c) {
                let _ = writeln!(body, "  - {line}");
            }
            for r in &c.risks {
                let _ = writeln!(body, "  - **risk:** {r}");
            }
        }
        body.push_str("\n</details>\n\n");
    }
    body
}

/// The Mermaid graph of the changed objects, folded, at the end of `body`.
fn markdown_graph(plan: &Plan, body: &mut String) {
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
