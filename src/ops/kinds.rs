//! `ferry kinds`: the object kinds, built-in and the repository's own.

use super::Result;
use crate::context::Context;
use crate::kinds::Kind;

/// Every kind, by category then name.
pub fn kinds(ctx: &Context) -> Result<Vec<Kind>> {
    let registry = ctx.registry()?;
    let mut kinds: Vec<Kind> = registry.iter().cloned().collect();
    kinds.sort_by_key(|k| (k.category, k.name.clone()));
    Ok(kinds)
}
