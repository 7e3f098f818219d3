use std::path::Path;

use ferry::graph::Graph;

/// Print the dependency graph of the repository's objects.
///
/// Arrows point from an object to the objects that depend on it. Mermaid output renders in
/// GitHub comments and Markdown; DOT renders with Graphviz (`ferry graph | dot -Tsvg`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read this git revision instead of the working tree.
    #[arg(long = "ref", value_name = "REF")]
    revision: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    format: Format,
    /// Only the objects this selector chooses (e.g. `data_source/orders_mysql+` shows what a
    /// change to that data source would touch).
    #[arg(long, value_name = "EXPR", long_help = super::select::HELP)]
    select: Option<String>,
    /// Leave out the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    exclude: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Dot,
    Mermaid,
    Json,
}

pub fn run(args: Args, repo: Option<&Path>) -> super::Result {
    let root = super::repo_root_at(repo, args.revision.as_deref())?;
    let (mut snapshot, registry) = super::load(&root, args.revision.as_deref())?;
    let report = ferry::validate::check(std::mem::take(&mut snapshot.objects), &registry);
    if !report.is_ok() {
        eprintln!(
            "warning: {} problem(s) in the repository; the graph shows only what resolves (run `ferry validate`)",
            report.problems.len()
        );
    }
    let objects: Vec<_> = report.objects.into_iter().map(|l| l.object).collect();
    let mut graph = Graph::build(&objects, &registry);
    if args.select.is_some() || args.exclude.is_some() {
        let chosen =
            super::select::choose(&graph, args.select.as_deref(), args.exclude.as_deref())?;
        let objects: Vec<_> = objects
            .into_iter()
            .filter(|o| chosen.contains(&o.address()))
            .collect();
        graph = Graph::build(&objects, &registry);
    }
    let text = match args.format {
        Format::Dot => ferry::render::graph::dot(&graph),
        Format::Mermaid => ferry::render::graph::mermaid(&graph),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&ferry::render::graph::json(&graph))
                .expect("JSON values serialize")
        ),
    };
    super::out(&text);
    Ok(())
}
