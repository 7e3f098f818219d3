//! The dependency graph (`ferry graph`) as Graphviz DOT, a Mermaid flowchart and JSON.
//!
//! Arrows in DOT and Mermaid point the way changes flow: from an object to the objects that
//! depend on it (`data_segment/retail --> project/sales`), as lineage tools draw them. JSON
//! output is described by `schemas/output/*.schema.json`.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{mermaid, OUTPUT_VERSION};
use crate::graph::Graph;
use crate::kinds::Category;

fn fill(category: Category) -> &'static str {
    match category {
        Category::Global => "#dbeafe",
        Category::Architecture => "#dcfce7",
        Category::Development => "#fef3c7",
        Category::LabelSchema => "#fae8ff",
        Category::Label => "#fce7f3",
        Category::Standard => "#e0e7ff",
        Category::Quality => "#ffedd5",
        Category::Security => "#fee2e2",
    }
}

/// The graph in Graphviz DOT.
pub fn dot(graph: &Graph) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from(
        "digraph ferry {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n",
    );
    for node in graph.nodes() {
        let _ = writeln!(
            out,
            "  {} [fillcolor=\"{}\"];",
            quote(&node.address.to_string()),
            fill(node.category)
        );
    }
    for (dependent, dependency) in dedup_pairs(graph) {
        let _ = writeln!(out, "  {} -> {};", quote(&dependency), quote(&dependent));
    }
    out.push_str("}\n");
    out
}

/// (dependent, dependency) pairs, once each however many fields link them.
fn dedup_pairs(graph: &Graph) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = graph
        .edges()
        .into_iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    pairs.dedup();
    pairs
}

/// The graph as a Mermaid flowchart (renders in GitHub comments and Markdown files).
pub fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for category in Category::ALL {
        let _ = writeln!(
            out,
            "  classDef {} fill:{},stroke:#555,color:#111",
            category.as_str(),
            fill(category)
        );
    }
    let mut ids = std::collections::HashMap::new();
    for (i, node) in graph.nodes().enumerate() {
        let address = node.address.to_string();
        let _ = writeln!(
            out,
            "  n{i}[\"{}\"]:::{}",
            mermaid::escape(&address),
            node.category.as_str()
        );
        ids.insert(address, i);
    }
    for (dependent, dependency) in dedup_pairs(graph) {
        let _ = writeln!(out, "  n{} --> n{}", ids[&dependency], ids[&dependent]);
    }
    out
}

/// The graph as JSON (`schemas/output/graph.schema.json`).
pub fn json(graph: &Graph) -> Value {
    let waves = graph.waves();
    let nodes: Vec<Value> = graph
        .nodes()
        .map(|n| {
            json!({
                "address": n.address.to_string(),
                "kind": n.address.kind,
                "project": n.address.project,
                "name": n.address.name,
                "guid": n.guid.map(|g| g.to_string()),
                "category": n.category.as_str(),
                "wave": waves.as_ref().map(|w| w[&n.address]),
            })
        })
        .collect();
    let edges: Vec<Value> = graph
        .edges()
        .into_iter()
        .map(|(dependent, dependency, field)| {
            json!({
                "dependent": dependent.to_string(),
                "dependency": dependency.to_string(),
                "field": field,
            })
        })
        .collect();
    json!({
        "format_version": OUTPUT_VERSION,
        "nodes": nodes,
        "edges": edges,
    })
}
