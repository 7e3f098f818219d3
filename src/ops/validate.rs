//! `ferry validate`: every check the repository's object files must pass, at a revision or in
//! the working tree.

use super::Result;
use crate::context::Context;
use crate::validate::{self, Report};

/// What `ferry validate` checked and found.
#[derive(Debug)]
pub struct Validated {
    /// Every problem and every file that passed.
    pub report: Report,
    /// What was read: the revision, or "the working tree".
    pub read_from: String,
}

/// Checks the repository at `revision` (the working tree when `None`).
pub fn validate(ctx: &Context, revision: Option<&str>) -> Result<Validated> {
    let mut ws = ctx.workspace(revision)?;
    let report = validate::check(std::mem::take(&mut ws.snapshot.objects), &ws.registry);
    Ok(Validated {
        report,
        read_from: ws.read_from(),
    })
}
