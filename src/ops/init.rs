//! `ferry init`: a new tenant repository.

use std::path::Path;

use super::Result;
use crate::repo::{self, GitChoice, InitReport};

/// Makes (or refreshes) the tenant repository in `dir`, with `git init` as `git` says.
pub fn init(dir: &Path, git: GitChoice) -> Result<InitReport> {
    Ok(repo::init(dir, git)?)
}
