use std::path::PathBuf;

use super::prelude::*;

/// Write a synthetic tenant repository for benchmarks (hidden from help).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// About how many objects.
    #[arg(long, required_unless_present = "mutate")]
    objects: Option<usize>,
    /// Random seed: the same seed gives the same repository, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder to write (made with `ferry init`).
    #[arg(long)]
    out: PathBuf,
    /// Instead of writing a new repository, change about this many objects of the one in --out
    /// (edit, rename, delete) and commit the result.
    #[arg(long, value_name = "K")]
    mutate: Option<usize>,
}

pub fn run(ctx: &ferry::context::Context, args: Args) -> Result {
    if let Some(k) = args.mutate {
        let m = ferry::ops::synth::mutate(ctx, &args.out, k, args.seed)?;
        eprintln!(
            "{} edited, {} renamed, {} deleted; commit {}",
            m.edited.len(),
            m.renamed.len(),
            m.deleted.len(),
            m.commit.as_deref().unwrap_or("(none)")
        );
        return Ok(Success::Done);
    }
    let summary = ferry::ops::synth::write(&args.out, args.objects.unwrap_or_default(), args.seed)?;
    let total: usize = summary.per_kind.values().sum();
    eprintln!(
        "wrote {total} objects of {} kinds to {}, {} levels deep",
        summary.per_kind.len(),
        args.out.display(),
        summary.depth + 1
    );
    Ok(Success::Done)
}
