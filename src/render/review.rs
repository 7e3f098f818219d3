//! The review comment of a pull request (`ferry review`): one GitHub-flavoured Markdown comment
//! holding the plan of every environment the change is promoted to, in promotion order. It
//! starts with [`MARKER`], which CI finds to update the comment instead of posting another, and
//! stays under GitHub's limit of 65,536 characters ([`COMMENT_LIMIT`]) by cutting details
//! (per-object diffs first, then graphs) with a note that points at the saved plans.
//!
//! Per environment: the summary table, what the environment overrides, the secrets that change
//! (never a value), drift, deletes and the guards that check them (and what a guard refused),
//! blast radius, the Mermaid graph of the changed objects and each object's diff, folded.

use std::fmt::Write as _;

use super::plan::{
    blast_line, category_table, environment_line, markdown_details, markdown_graph, per_category,
    short, summary,
};
use super::plural;
use crate::plan::{Action, Plan, SecretStatus};

/// The hidden first line of every review comment: CI finds the comment by it.
pub const MARKER: &str = "<!-- ferry:review -->";

/// The most characters a comment may hold: GitHub refuses a longer one.
pub const COMMENT_LIMIT: usize = 65_536;

/// What the comment must stay under, with room for what CI adds around it.
const TARGET: usize = COMMENT_LIMIT - 1_536;

/// One environment's plan, as the comment shows it.
#[derive(Debug, Clone)]
pub struct Reviewed<'a> {
    /// The environment's name.
    pub env: &'a str,
    /// Its plan (when a guard refused it: the plan it refused).
    pub plan: &'a Plan,
    /// What a guard refused, and what to do about it; `None` when the guards let it pass.
    pub refused: Option<String>,
    /// The environment's deletion guards, described (`protect \`kind:project\` (line 60)`).
    pub guards: Vec<String>,
    /// Where the plan was saved (`--out-dir`), for `ferry apply`.
    pub saved: Option<String>,
}

/// How much of each environment the comment shows: everything, then less until it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    /// Every object's diff, a create's fields too, and the graph.
    All,
    /// The diffs of changed objects, not the fields of new ones.
    NoCreateFields,
    /// Each object's headline, blast radius and risks; the graph.
    NoDiffs,
    /// Headlines alone, cut between two objects if need be.
    NoGraphs,
}

/// The review comment for the environments' plans, in the order given. `artifacts` names
/// where the saved plans are (the folder of `--out-dir`), for the note of a cut comment.
pub fn comment(reviewed: &[Reviewed], artifacts: Option<&str>) -> String {
    for detail in [Detail::All, Detail::NoCreateFields, Detail::NoDiffs] {
        let text = render(reviewed, artifacts, detail, usize::MAX);
        if text.len() <= TARGET {
            return text;
        }
    }
    // Headlines alone, each environment in an equal share of what is left.
    let head = render(reviewed, artifacts, Detail::NoGraphs, 0).len();
    let share = TARGET.saturating_sub(head) / reviewed.len().max(1);
    render(reviewed, artifacts, Detail::NoGraphs, share)
}

fn render(reviewed: &[Reviewed], artifacts: Option<&str>, detail: Detail, room: usize) -> String {
    let mut out = String::new();
    let source = reviewed.first().map(|r| &r.plan.source);
    let _ = writeln!(out, "{MARKER}");
    match source {
        Some(s) => {
            let names: Vec<String> = reviewed.iter().map(|r| format!("`{}`", r.env)).collect();
            let _ = writeln!(
                out,
                "## ferry review of {} `{}`: {}\n",
                s.kind,
                short(&s.id),
                names.join(" → ")
            );
        }
        None => out.push_str("## ferry review\n\n"),
    }
    overview(reviewed, &mut out);
    if detail > Detail::All {
        let (what, at) = match detail {
            Detail::NoCreateFields => ("the fields of new objects are", ""),
            Detail::NoDiffs => ("per-object diffs are", ""),
            _ => (
                "per-object diffs and dependency graphs are",
                ", and objects past the cut",
            ),
        };
        let plans = match artifacts {
            Some(dir) => format!(
                "the saved plans (`{dir}/ENV.plan.json`, this job's artifact) hold all of it: `ferry show` reads them"
            ),
            None => "`ferry plan --env ENV` shows all of it (`ferry review --out-dir DIR` saves the plans)".into(),
        };
        let _ = writeln!(
            out,
            "> [!NOTE]\n> This comment is cut to fit GitHub's limit: {what} left out{at}; {plans}.\n"
        );
    }
    for r in reviewed {
        environment(r, detail, room, &mut out);
    }
    out
}

/// The table of every environment: its tenant, the counts of its changes, its secrets to set,
/// its drift and whether its guards let the plan pass.
fn overview(reviewed: &[Reviewed], out: &mut String) {
    out.push_str("| environment | tenant | create | adopt | rename | update | delete | secrets to set | drift | guards |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for r in reviewed {
        let counts = r.plan.counts();
        let n = |a| counts.get(&a).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.env,
            r.plan.destination.name,
            n(Action::Create),
            n(Action::Adopt),
            n(Action::Rename),
            n(Action::Update),
            n(Action::Delete),
            r.plan.secrets_to_set(),
            r.plan.drift.len(),
            if r.refused.is_some() {
                "**refused**"
            } else {
                "pass"
            }
        );
    }
    out.push('\n');
}

fn environment(r: &Reviewed, detail: Detail, room: usize, out: &mut String) {
    let plan = r.plan;
    let _ = writeln!(
        out,
        "### `{}`: tenant `{}` (`{}`)\n",
        r.env, plan.destination.name, plan.destination.url
    );
    if let Some(refused) = &r.refused {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **Refused by a guard:** {}\n> This plan cannot be applied; what it would do is below.\n",
            refused.replace('\n', "\n> ")
        );
    }
    if let Some(line) = environment_line(plan) {
        let _ = writeln!(out, "{line}\n");
    }
    let _ = writeln!(out, "{}\n", summary(plan));
    let categories = per_category(plan);
    category_table(&categories, out);
    for w in &plan.warnings {
        let _ = writeln!(out, "> [!WARNING]\n> {w}\n");
    }
    if let Some(saved) = &r.saved {
        let _ = writeln!(out, "Saved plan: `{saved}` (`ferry apply {saved}`).\n");
    } else if r.refused.is_some() {
        out.push_str("No plan was saved: a refused plan cannot be applied.\n\n");
    }
    secrets(plan, out);
    drift(plan, out);
    deletes(r, out);
    if !plan.changes.is_empty() {
        let waves = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::Delete)
            .map(|c| c.wave)
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "**Order:** {waves} wave{} of creates, renames and updates, dependencies first; deletes last, dependents first.\n",
            plural(waves)
        );
        let mut body = String::new();
        let whole = markdown_details(
            plan,
            &categories,
            room,
            (detail == Detail::All, detail < Detail::NoDiffs),
            &mut body,
        );
        out.push_str(&body);
        if !whole {
            let _ = writeln!(
                out,
                "_The list of `{}` was cut here to fit the comment._\n",
                r.env
            );
        }
        if detail < Detail::NoGraphs {
            markdown_graph(plan, out);
            out.push('\n');
        }
    }
}

/// The secrets the apply sets that change, or that the job cannot check (it holds no value),
/// as a table; the unchanged ones counted. Never a value.
fn secrets(plan: &Plan, out: &mut String) {
    if plan.secrets.is_empty() {
        return;
    }
    let shown: Vec<_> = plan
        .secrets
        .iter()
        .filter(|s| s.status != SecretStatus::Unchanged)
        .collect();
    let counts: Vec<String> = [
        SecretStatus::Changed,
        SecretStatus::New,
        SecretStatus::NotChecked,
        SecretStatus::Unchanged,
    ]
    .iter()
    .filter_map(|status| {
        let n = plan.secrets.iter().filter(|s| s.status == *status).count();
        (n > 0).then(|| format!("{n} {}", status.as_str()))
    })
    .collect();
    let _ = writeln!(
        out,
        "**Secrets** the environment sets (values are never shown): {}.\n",
        counts.join(", ")
    );
    if shown.is_empty() {
        return;
    }
    out.push_str(
        "| object | field | status | source | set by |\n| --- | --- | --- | --- | --- |\n",
    );
    for s in shown {
        let source = match &s.source {
            crate::desired::environment::SecretFrom::Var(v) => {
                format!("environment variable `{v}`")
            }
            crate::desired::environment::SecretFrom::File(p) => format!("file `{p}`"),
        };
        let status = match s.status {
            SecretStatus::NotChecked => "not checked (this job holds no value)".to_string(),
            other => other.as_str().to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {status} | {source} | {} |",
            s.address, s.field, s.by
        );
    }
    out.push('\n');
}

fn drift(plan: &Plan, out: &mut String) {
    if plan.drift.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "**Drift:** {} object{} changed outside ferry since ferry applied {}: the apply overwrites {}.\n",
        plan.drift.len(),
        plural(plan.drift.len()),
        if plan.drift.len() == 1 { "it" } else { "them" },
        if plan.drift.len() == 1 { "it" } else { "them" },
    );
    for d in &plan.drift {
        let gone = if d.deleted {
            " (deleted outside ferry)"
        } else {
            ""
        };
        let fields: Vec<String> = d
            .fields
            .iter()
            .map(|f| format!("`{}`", f.pointer))
            .collect();
        let _ = writeln!(
            out,
            "- `{}`{gone}{}",
            d.address,
            if fields.is_empty() {
                String::new()
            } else {
                format!(": {}", fields.join(", "))
            }
        );
    }
    out.push('\n');
}

/// The deletes (run last, dependents first) with their blast radius, the objects kept because
/// `--prune` was not given, and the guards that checked them.
fn deletes(r: &Reviewed, out: &mut String) {
    let plan = r.plan;
    let deletes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .collect();
    let renames = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Rename)
        .count();
    if !deletes.is_empty() {
        let _ = writeln!(
            out,
            "**Deletes** ({}), run last, dependents first:\n",
            deletes.len()
        );
        for c in &deletes {
            let _ = writeln!(
                out,
                "- wave {}: `{}`{}",
                c.wave,
                c.address,
                blast_line(c).map(|l| format!(" ({l})")).unwrap_or_default()
            );
        }
        out.push('\n');
    }
    if !plan.not_pruned.is_empty() {
        let _ = writeln!(
            out,
            "{} object{} ferry applied {} no longer desired and kept (`--prune` deletes them): {}\n",
            plan.not_pruned.len(),
            plural(plan.not_pruned.len()),
            if plan.not_pruned.len() == 1 { "is" } else { "are" },
            plan.not_pruned
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if deletes.is_empty() && renames == 0 && r.refused.is_none() {
        return;
    }
    let file = plan
        .environment
        .as_ref()
        .map(|e| e.file.as_str())
        .unwrap_or("the environment file");
    if r.guards.is_empty() {
        let _ = writeln!(
            out,
            "**Guards:** `{file}` has no `[guards]`; only deleting everything ferry manages is refused.\n"
        );
    } else {
        let verdict = if r.refused.is_some() {
            "refused this plan, above"
        } else {
            "let this plan pass"
        };
        let _ = writeln!(
            out,
            "**Guards** of `{file}` ({verdict}): {}.\n",
            r.guards.join("; ")
        );
    }
}

/// The deletion guards of `env`, described for the comment, with what this plan does against
/// each: `protect \`kind:project\` (line 60)`, `max_deletes = 10 (line 61; this plan deletes 2)`.
pub fn guard_lines(
    env: &crate::desired::environment::Environment,
    plan: &Plan,
    allow_deletes: Option<usize>,
) -> Vec<String> {
    let deletes = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    // The selectors of one line together: `protect = [A, B]` is one line.
    let mut by_line: Vec<(usize, Vec<String>)> = Vec::new();
    for (selector, line) in &env.protect {
        match by_line.last_mut() {
            Some((at, selectors)) if at == line => selectors.push(format!("`{selector}`")),
            _ => by_line.push((*line, vec![format!("`{selector}`")])),
        }
    }
    let mut lines: Vec<String> = by_line
        .into_iter()
        .map(|(line, selectors)| format!("protect {} (line {line})", selectors.join(", ")))
        .collect();
    if let Some((max, line)) = env.max_deletes {
        lines.push(format!(
            "`max_deletes = {max}` (line {line}; this plan deletes {deletes})"
        ));
    }
    if let Some(m) = allow_deletes {
        lines.push(format!("`--allow-deletes {m}`"));
    }
    if env.allow_empty {
        lines.push("`allow_empty = true`".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::field_diff::FieldChange;
    use crate::plan::Change;

    fn change(action: Action, n: usize, size: usize) -> Change {
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
                new: Some(serde_json::Value::String("x".repeat(size))),
                sensitive: false,
                unified_diff: None,
                set_by: None,
            }],
            actual_hash: None,
            desired_hash: None,
            drifted: false,
            blast_radius: Vec::new(),
            blast_radius_total: 0,
            risks: Vec::new(),
        }
    }

    fn reviewed<'a>(env: &'a str, plan: &'a Plan) -> Reviewed<'a> {
        Reviewed {
            env,
            plan,
            refused: None,
            guards: Vec::new(),
            saved: None,
        }
    }

    fn balanced(md: &str) {
        assert_eq!(
            md.matches("<details>").count(),
            md.matches("</details>").count(),
            "{md}"
        );
        assert_eq!(md.matches("```").count() % 2, 0, "{md}");
    }

    #[test]
    fn the_comment_starts_with_the_marker_and_shows_each_environment() {
        let a = crate::plan::test_plan(vec![change(Action::Update, 1, 3)]);
        let b = crate::plan::test_plan(vec![change(Action::Delete, 2, 3)]);
        let mut refused = reviewed("prod", &b);
        refused.refused = Some("environment `prod` protects 1 object".into());
        let md = comment(&[reviewed("test", &a), refused], None);
        assert!(md.starts_with("<!-- ferry:review -->\n"), "{md}");
        assert!(md.contains("### `test`"), "{md}");
        assert!(md.contains("### `prod`"), "{md}");
        assert!(
            md.contains("> **Refused by a guard:** environment `prod` protects 1 object"),
            "{md}"
        );
        assert!(md.contains("| **refused** |"), "{md}");
        assert!(
            md.contains("\n- /spec/value = \"old\"\n+ /spec/value = \"xxx\"\n"),
            "{md}"
        );
        assert!(!md.contains("cut to fit"), "{md}");
        balanced(&md);
    }

    #[test]
    fn a_comment_too_long_drops_diffs_then_graphs_and_says_where_the_plans_are() {
        // Diffs alone are too long: they go, the graph stays.
        let big =
            crate::plan::test_plan((0..70).map(|n| change(Action::Update, n, 1000)).collect());
        let md = comment(
            &[reviewed("test", &big), reviewed("prod", &big)],
            Some("plans"),
        );
        assert!(md.len() <= COMMENT_LIMIT, "{}", md.len());
        assert!(md.contains("per-object diffs are left out"), "{md}");
        assert!(md.contains("`plans/ENV.plan.json`"), "{md}");
        assert!(md.contains("```mermaid"), "{md}");
        assert!(!md.contains("```diff"), "{md}");
        assert!(md.contains("global_variable/v00069"), "{md}");
        balanced(&md);
        // So many objects that their headlines do not fit: the graphs go, the lists are cut.
        let huge =
            crate::plan::test_plan((0..3000).map(|n| change(Action::Update, n, 10)).collect());
        let md = comment(&[reviewed("test", &huge), reviewed("prod", &huge)], None);
        assert!(md.len() <= COMMENT_LIMIT, "{}", md.len());
        assert!(md.contains("dependency graphs are left out"), "{md}");
        assert!(!md.contains("```mermaid"), "{md}");
        assert!(md.contains("The list of `test` was cut here"), "{md}");
        assert!(md.contains("The list of `prod` was cut here"), "{md}");
        assert!(
            md.contains("`ferry plan --env ENV` shows all of it"),
            "{md}"
        );
        balanced(&md);
    }
}
