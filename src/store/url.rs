//! [`TenantUrl`]: how commands and output name a tenant, and the URL forms ferry knows.

use std::fmt;
use std::path::PathBuf;

use super::StoreError;

/// How a command names a tenant.
#[derive(Clone, PartialEq, Eq)]
pub enum TenantUrl {
    /// `sqlite:PATH`: the embedded store in one SQLite file.
    Sqlite(PathBuf),
}

impl TenantUrl {
    /// Parses `sqlite:PATH`.
    pub fn parse(text: &str) -> Result<TenantUrl, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::BadUrl {
                    url: text.to_string(),
                    why: "the path is empty".into(),
                });
            }
            return Ok(TenantUrl::Sqlite(PathBuf::from(path)));
        }
        let scheme = text.split(':').next().unwrap_or_default();
        Err(StoreError::BadUrl {
            // A URL of another scheme may carry a password: show only its scheme.
            url: if text.contains(':') {
                format!("{scheme}:…")
            } else {
                text.to_string()
            },
            why: "ferry knows `sqlite:PATH` tenants".into(),
        })
    }
}

impl fmt::Display for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
        }
    }
}

impl fmt::Debug for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
