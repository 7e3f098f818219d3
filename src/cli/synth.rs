use std::path::PathBuf;

/// Write a synthetic tenant repository for benchmarks (hidden from help).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// About how many objects.
    #[arg(long)]
    objects: usize,
    /// Random seed: the same seed gives the same repository, byte for byte.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder to write (made with `ferry init`).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> super::Result {
    let registry = ferry::kinds::Registry::builtin()?;
    let summary = ferry::synth::write_repository(&args.out, args.objects, args.seed, &registry)
        .map_err(|e| super::CliError::new(e, None))?;
    let total: usize = summary.per_kind.values().sum();
    eprintln!(
        "wrote {total} objects of {} kinds to {}, {} levels deep",
        summary.per_kind.len(),
        args.out.display(),
        summary.depth + 1
    );
    Ok(())
}
