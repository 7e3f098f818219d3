use ferry::context::Context;

use super::prelude::*;

/// Print the dependency graph of the repository's objects.
///
/// Arrows point from an object to the objects that depend on it. Mermaid output renders in
/// GitHub comments and Markdown; DOT renders with Graphviz (`ferry graph | dot -Tsvg`).
/// `--select 'data_source/orders_mysql+'` shows what a change to that data source would touch.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read this git revision instead of the working tree.
    #[arg(long = "ref", value_name = "REF")]
    revision: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    format: Format,
    #[command(flatten)]
    selection: SelectFlags,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Dot,
    Mermaid,
    Json,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let done = ferry::ops::graph::graph(
        ctx,
        args.revision.as_deref(),
        args.selection.select.as_deref(),
        args.selection.exclude.as_deref(),
    )?;
    if done.problems > 0 {
        eprintln!(
            "warning: {} problem(s) in the repository; the graph shows only what resolves (run `ferry validate`)",
            done.problems
        );
    }
    match args.format {
        Format::Dot => out(&ferry::render::graph::dot(&done.graph))?,
        Format::Mermaid => out(&ferry::render::graph::mermaid(&done.graph))?,
        Format::Json => out_json(&ferry::render::graph::json(&done.graph))?,
    }
    Ok(Success::Done)
}
