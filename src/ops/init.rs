//! `ferry init`: a new tenant repository.

use std::path::Path;

use super::Result;
use crate::repo::{self, InitReport};

/// Makes (or refreshes) the tenant repository in `dir`.
pub fn init(dir: &Path) -> Result<InitReport> {
    Ok(repo::init(dir)?)
}
