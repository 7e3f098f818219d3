//! `ferry diff`: the objects that changed between two revisions (or a revision and the working
//! tree), matched by GUID.

use super::{Error, Result};
use crate::context::Context;
use crate::diff::{self, Diff};
use crate::repo::Source;

/// The two sides a RANGE names: `A..B`, `A` (against the working tree) or nothing (`HEAD`
/// against the working tree).
pub fn sides(range: Option<&str>) -> Result<(Source, Source)> {
    let revision =
        |rev: &str| Source::Revision(if rev.is_empty() { "HEAD" } else { rev }.to_string());
    let Some(range) = range else {
        return Ok((revision("HEAD"), Source::WorkTree));
    };
    if range.contains("...") {
        return Err(Error::ThreeDotRange {
            range: range.to_string(),
        });
    }
    Ok(match range.split_once("..") {
        Some((from, to)) => (revision(from), revision(to)),
        None => (revision(range), Source::WorkTree),
    })
}

/// The diff a RANGE names.
pub fn diff(ctx: &Context, range: Option<&str>) -> Result<Diff> {
    let (from, to) = sides(range)?;
    let to_revision = match &to {
        Source::Revision(rev) => Some(rev.as_str()),
        Source::WorkTree => None,
    };
    let root = ctx.root_at(to_revision)?;
    Ok(diff::between(&root, &from, &to)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_two_sides() {
        let rev = |r: &str| Source::Revision(r.to_string());
        assert_eq!(sides(None).unwrap(), (rev("HEAD"), Source::WorkTree));
        assert_eq!(sides(Some("a..b")).unwrap(), (rev("a"), rev("b")));
        assert_eq!(sides(Some("..b")).unwrap(), (rev("HEAD"), rev("b")));
        assert_eq!(sides(Some("a")).unwrap(), (rev("a"), Source::WorkTree));
        assert!(matches!(
            sides(Some("a...b")),
            Err(Error::ThreeDotRange { .. })
        ));
    }
}
