//! [`TenantUrl`]: how commands, plan files and output name a tenant, and the URL forms ferry
//! knows: `sqlite:PATH` (the embedded store) and `postgres://…` (recognised, so that a password
//! in it can never be shown; the PostgreSQL store itself is not in this version).
//!
//! A URL may carry a credential (`postgres://user:PASSWORD@host/db`, or `?password=…`). The
//! type keeps the full text private: [`Display`](fmt::Display), [`Debug`](fmt::Debug), its
//! serialized form and every error show the password as `(sensitive)`, so no format string, plan
//! file or deployment record can leak it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::StoreError;

/// What a password is shown as.
const REDACTED: &str = "(sensitive)";

/// How a command names a tenant.
#[derive(Clone, PartialEq, Eq)]
pub enum TenantUrl {
    /// `sqlite:PATH`: the embedded store in one SQLite file.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, kept whole (with any password) but never shown so.
    Postgres(PostgresUrl),
}

/// A PostgreSQL connection URL whose password is never displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// The URL as given, password included.
    full: String,
}

impl PostgresUrl {
    /// The URL with its password (in the authority or in a `password=` parameter) replaced by
    /// `(sensitive)`.
    pub fn redacted(&self) -> String {
        redact(&self.full)
    }

    /// The URL as given, password included: only for connecting, never for output.
    pub fn expose(&self) -> &str {
        &self.full
    }
}

/// `text` with the password of its authority and of any `password=` query parameter replaced.
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:{REDACTED}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                        format!("{k}={REDACTED}")
                    }
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl TenantUrl {
    /// Parses `sqlite:PATH` or `postgres://…`.
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
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let url = PostgresUrl {
                full: text.to_string(),
            };
            let rest = text.split_once("://").map(|(_, r)| r).unwrap_or_default();
            let host = rest
                .split(['/', '?'])
                .next()
                .unwrap_or_default()
                .rsplit('@')
                .next()
                .unwrap_or_default();
            if host.is_empty() {
                return Err(StoreError::BadUrl {
                    url: url.redacted(),
                    why: "no host".into(),
                });
            }
            return Ok(TenantUrl::Postgres(url));
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

    /// The same tenant named so that it means the same from any folder: a relative `sqlite:`
    /// path made absolute (the tenant file exists when this is asked: `..` and links resolve).
    pub fn absolute(&self) -> TenantUrl {
        match self {
            TenantUrl::Sqlite(path) if path.is_relative() => TenantUrl::Sqlite(
                path.canonicalize()
                    .or_else(|_| std::path::absolute(path))
                    .unwrap_or_else(|_| path.clone()),
            ),
            other => other.clone(),
        }
    }
}

impl fmt::Display for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            TenantUrl::Postgres(url) => f.write_str(&url.redacted()),
        }
    }
}

impl fmt::Debug for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for TenantUrl {
    /// As displayed: a serialized URL never carries a password.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TenantUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TenantUrl, D::Error> {
        let text = String::deserialize(deserializer)?;
        TenantUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret-pw";

    #[test]
    fn a_postgres_password_is_never_shown() {
        for text in [
            format!("postgres://user:{SECRET}@host/db"),
            format!("postgresql://user:{SECRET}@host:5432/db?sslmode=require"),
            format!("postgres://user@host/db?sslmode=require&password={SECRET}"),
        ] {
            let url = TenantUrl::parse(&text).unwrap();
            let shown = [
                url.to_string(),
                format!("{url:?}"),
                serde_json::to_string(&url).unwrap(),
            ];
            for s in &shown {
                assert!(!s.contains(SECRET), "{s}");
                assert!(s.contains("(sensitive)"), "{s}");
            }
            match &url {
                TenantUrl::Postgres(p) => assert_eq!(p.expose(), text),
                other => panic!("{other:?}"),
            }
        }
        let url = TenantUrl::parse(&format!("postgres://user:{SECRET}@host/db")).unwrap();
        assert_eq!(url.to_string(), "postgres://user:(sensitive)@host/db");
    }

    #[test]
    fn parse_errors_never_show_a_password() {
        for text in [
            format!("postgres://user:{SECRET}@/db"),
            format!("mysql://user:{SECRET}@host/db"),
        ] {
            let e = TenantUrl::parse(&text).unwrap_err();
            assert!(!e.to_string().contains(SECRET), "{e}");
            assert!(!format!("{e:?}").contains(SECRET), "{e:?}");
        }
    }

    #[test]
    fn sqlite_urls_round_trip_and_become_absolute() {
        let url = TenantUrl::parse("sqlite:dev.db").unwrap();
        assert_eq!(url.to_string(), "sqlite:dev.db");
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(serde_json::from_str::<TenantUrl>(&json).unwrap(), url);
        match url.absolute() {
            TenantUrl::Sqlite(path) => assert!(path.is_absolute()),
            other => panic!("{other:?}"),
        }
        assert!(TenantUrl::parse("sqlite:").is_err());
    }
}
