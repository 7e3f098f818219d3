//! `ferry synth` (hidden): synthetic tenant repositories for benchmarks and scale tests.

use std::path::Path;

use super::{Error, Result};
use crate::context::Context;
use crate::kinds::Registry;
use crate::synth::{self, Mutation, Summary};

/// Writes a synthetic repository of about `objects` objects in `out`.
pub fn write(out: &Path, objects: usize, seed: u64) -> Result<Summary> {
    let registry = Registry::builtin()?;
    synth::write_repository(out, objects, seed, &registry).map_err(|e| Error::Synth(e.to_string()))
}

/// Changes about `k` objects of the synthetic repository in `out` and commits the result, dated
/// by the context's clock.
pub fn mutate(ctx: &Context, out: &Path, k: usize, seed: u64) -> Result<Mutation> {
    let registry = Registry::builtin()?;
    synth::mutate(out, k, seed, &registry, ctx.now()).map_err(|e| Error::Synth(e.to_string()))
}
