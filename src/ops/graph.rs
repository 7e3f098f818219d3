//! `ferry graph`: the dependency graph of the repository's objects, or of a selection.

use super::pipeline::choose;
use super::Result;
use crate::context::Context;
use crate::graph::Graph;
use crate::validate;

/// The graph, and how many problems kept objects out of it.
#[derive(Debug)]
pub struct GraphOutcome {
    /// The graph.
    pub graph: Graph,
    /// Problems in the repository (the graph shows only what resolves).
    pub problems: usize,
}

/// The graph at `revision` (the working tree when `None`), limited to a selection.
pub fn graph(
    ctx: &Context,
    revision: Option<&str>,
    select: Option<&str>,
    exclude: Option<&str>,
) -> Result<GraphOutcome> {
    let mut ws = ctx.workspace(revision)?;
    let report = validate::check(std::mem::take(&mut ws.snapshot.objects), &ws.registry);
    let problems = report.problems.len();
    let objects: Vec<_> = report.objects.into_iter().map(|l| l.object).collect();
    let mut graph = Graph::build(&objects, &ws.registry);
    if select.is_some() || exclude.is_some() {
        let chosen = choose(&graph, select, exclude)?;
        let objects: Vec<_> = objects
            .into_iter()
            .filter(|o| chosen.contains(&o.address()))
            .collect();
        graph = Graph::build(&objects, &ws.registry);
    }
    Ok(GraphOutcome { graph, problems })
}
