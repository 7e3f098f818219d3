//! The JSON documents that are not a plan, a diff or a graph: the validation report. Every JSON
//! document ferry prints carries [`OUTPUT_VERSION`] and is described by a schema in
//! `schemas/output/`.

use serde_json::{json, Value};

use super::OUTPUT_VERSION;
use crate::validate::Problem;

/// A validation report as JSON (`schemas/output/validate.schema.json`).
pub fn problems(objects: usize, problems: &[Problem]) -> Value {
    let problems: Vec<Value> = problems
        .iter()
        .map(|p| {
            json!({
                "code": p.code.as_str(),
                "path": p.path,
                "line": p.position.map(|p| p.line),
                "column": p.position.map(|p| p.column),
                "address": p.address,
                "message": p.message,
                "hint": p.hint,
            })
        })
        .collect();
    json!({
        "format_version": OUTPUT_VERSION,
        "valid": problems.is_empty(),
        "objects": objects,
        "problems": problems,
    })
}
