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
