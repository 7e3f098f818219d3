//! Every output ferry prints, for people and for machines: [`plan`] (text for a terminal,
//! Markdown for a pull-request comment), [`diff`] (the objects changed between two commits),
//! [`graph`] (DOT, Mermaid and JSON) and [`json`] (the validation report). Mermaid labels are
//! escaped in one place (`mermaid.rs`).
//!
//! Every JSON document carries [`OUTPUT_VERSION`] as `format_version` and is described by a
//! schema in `schemas/`. Secret values never appear: secret fields carry only the placeholder.

pub mod diff;
pub mod graph;
pub mod json;
mod mermaid;
pub mod plan;
pub mod review;

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::field_diff::{element_changes, ElementChange, FieldChange};
use crate::secret::PLACEHOLDER;

/// The version of every JSON document ferry prints.
pub const OUTPUT_VERSION: u32 = 1;

/// `""` for one, `"s"` for any other count.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Changed fields, one a line at `indent`: `POINTER: OLD → NEW`; for text with line breaks,
/// `POINTER:` and its unified diff below, indented once more; for two arrays, `POINTER:` and the
/// elements removed (`- "x"`) and added (`+ "y"`) below. The same in plans and diffs.
fn field_lines(fields: &[FieldChange], indent: &str, out: &mut String) {
    for f in fields {
        if let Some(elements) = element_changes(f) {
            let _ = writeln!(out, "{indent}{}:{}", f.pointer, set_by(f));
            for element in elements {
                let _ = match element {
                    ElementChange::Removed(v) => writeln!(out, "{indent}  - {v}"),
                    ElementChange::Added(v) => writeln!(out, "{indent}  + {v}"),
                };
            }
            continue;
        }
        match &f.unified_diff {
            Some(diff) if !f.sensitive => {
                let _ = writeln!(out, "{indent}{}:{}", f.pointer, set_by(f));
                for line in diff.lines() {
                    let _ = writeln!(out, "{indent}  {line}");
                }
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{indent}{}: {} → {}{}",
                    f.pointer,
                    show(f.old.as_ref(), f.sensitive),
                    show(f.new.as_ref(), f.sensitive),
                    set_by(f)
                );
            }
        }
    }
}

/// The fields of a new object, one a line at `indent`, as Terraform shows a create:
/// `+ POINTER = VALUE`, a secret as `(sensitive)`, and text with line breaks whole, as a block
/// between `<<EOT` and `EOT` with its lines indented below the pointer.
fn created_lines(fields: &[FieldChange], indent: &str, out: &mut String) {
    for f in fields {
        match &f.new {
            Some(Value::String(text)) if !f.sensitive && text.contains('\n') => {
                let _ = writeln!(out, "{indent}+ {} = <<EOT{}", f.pointer, set_by(f));
                for line in text.lines() {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "{indent}      {line}");
                    }
                }
                let _ = writeln!(out, "{indent}  EOT");
            }
            new => {
                let _ = writeln!(
                    out,
                    "{indent}+ {} = {}{}",
                    f.pointer,
                    show(new.as_ref(), f.sensitive),
                    set_by(f)
                );
            }
        }
    }
}

/// `  (set by environments/prod.toml:12)` after a field an environment override set.
fn set_by(f: &FieldChange) -> String {
    f.set_by
        .as_deref()
        .map(|by| format!("  (set by {by})"))
        .unwrap_or_default()
}

/// A value in text output: JSON, `(absent)` for a missing field, `(sensitive)` for a secret.
fn show(value: Option<&Value>, sensitive: bool) -> String {
    match value {
        None => "(absent)".to_string(),
        Some(Value::String(s)) if sensitive && s == PLACEHOLDER => PLACEHOLDER.to_string(),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_show_as_the_placeholder_alone() {
        let placeholder = Value::String(PLACEHOLDER.into());
        assert_eq!(show(Some(&placeholder), true), "(sensitive)");
        assert_eq!(show(Some(&placeholder), false), "\"(sensitive)\"");
        assert_eq!(show(None, true), "(absent)");
    }

    #[test]
    fn field_lines_show_text_as_a_diff_and_secrets_as_the_placeholder() {
        let secret = Value::String(PLACEHOLDER.into());
        let fields = [
            FieldChange {
                pointer: "/spec/password".into(),
                old: Some(secret.clone()),
                new: Some(secret),
                sensitive: true,
                unified_diff: None,
                set_by: None,
            },
            FieldChange {
                pointer: "/spec/sql".into(),
                old: Some("a\n".into()),
                new: Some("b\n".into()),
                sensitive: false,
                unified_diff: Some("@@ -1 +1 @@\n-a\n+b\n".into()),
                set_by: None,
            },
        ];
        let mut out = String::new();
        field_lines(&fields, "  ", &mut out);
        assert_eq!(
            out,
            "  /spec/password: (sensitive) → (sensitive)\n  /spec/sql:\n    @@ -1 +1 @@\n    -a\n    +b\n"
        );
    }

    #[test]
    fn arrays_show_the_elements_removed_and_added() {
        let fields = [FieldChange {
            pointer: "/spec/tags".into(),
            old: Some(serde_json::json!(["a", "b"])),
            new: Some(serde_json::json!(["a", "c"])),
            sensitive: false,
            unified_diff: None,
            set_by: None,
        }];
        let mut out = String::new();
        field_lines(&fields, "  ", &mut out);
        assert_eq!(out, "  /spec/tags:\n    - \"b\"\n    + \"c\"\n");
    }

    #[test]
    fn a_new_object_shows_every_field_text_whole_and_secrets_as_the_placeholder() {
        let new = |pointer: &str, value: Value, sensitive: bool| FieldChange {
            pointer: pointer.into(),
            old: None,
            new: Some(value),
            sensitive,
            unified_diff: None,
            set_by: None,
        };
        let fields = [
            new("/spec/code", "select 1\n\nfrom a\n".into(), false),
            new("/spec/password", PLACEHOLDER.into(), true),
            new("/spec/port", 3306.into(), false),
        ];
        let mut out = String::new();
        created_lines(&fields, "  ", &mut out);
        assert_eq!(
            out,
            "  + /spec/code = <<EOT\n        select 1\n\n        from a\n    EOT\n  + /spec/password = (sensitive)\n  + /spec/port = 3306\n"
        );
    }
}
