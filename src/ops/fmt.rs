//! `ferry fmt`: object files rewritten in canonical form (or, with `check`, only listed).

use super::{Error, Result};
use crate::context::Context;
use crate::fmt::{self, Outcome};

/// Finds the files that are not canonical and, unless `check`, rewrites them.
pub fn fmt(ctx: &Context, check: bool) -> Result<Outcome> {
    let ws = ctx.workspace(None)?;
    let outcome = fmt::format_files(&ws.snapshot.objects, &ws.registry);
    if !check {
        for change in &outcome.changes {
            let path = ws.root.join(&change.path);
            std::fs::write(&path, &change.text).map_err(|source| Error::Write { path, source })?;
        }
    }
    Ok(outcome)
}
