//! [`TenantUrl`]: how commands, saved plans, deployment records and output name a tenant. It
//! owns the URL forms ferry knows (`sqlite:PATH`, `postgres://…`), the rule that makes a
//! `sqlite:` path absolute, and the redaction of passwords: `Display`, `Debug`, the serialized
//! form and parse errors never show one, so that no format string, plan file or error message
//! can leak it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::StoreError;
use crate::secret::{Secret, PLACEHOLDER};

/// How a command names a tenant.
///
/// Shown, debugged and serialized as its redacted text (`sqlite:PATH`,
/// `postgres://user:(sensitive)@host/db`); read back from that text by [`TenantUrl::parse`] or
/// serde. Two URLs are equal when they name the same tenant the same way: a password's value is
/// not compared (a URL read back from a plan file has only [`Password::Redacted`]).
#[derive(Clone, PartialEq, Eq)]
pub enum TenantUrl {
    /// `sqlite:PATH` (or `sqlite://PATH`): the embedded store in one SQLite file.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`: a schema in a PostgreSQL database.
    Postgres(Box<PostgresUrl>),
}

/// The parts of a `postgres://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE][?PARAMS]` URL, each as
/// written (percent-encoding is kept, not decoded).
#[derive(Clone)]
pub struct PostgresUrl {
    scheme: &'static str,
    user: Option<String>,
    password: Option<Password>,
    host: String,
    port: Option<u16>,
    database: Option<String>,
    query: Option<String>,
}

/// The password of a URL.
#[derive(Clone)]
pub enum Password {
    /// The password as given.
    Given(Secret),
    /// Only that there is one: the URL was read back from its redacted text.
    Redacted,
}

impl Password {
    /// The value, when it is known: only for connecting with it.
    pub fn expose(&self) -> Option<&str> {
        match self {
            Password::Given(secret) => Some(secret.expose()),
            Password::Redacted => None,
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PLACEHOLDER)
    }
}

/// Why a text is not a tenant URL. The reasons name the part that is wrong, never its text (it
/// may be a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// `sqlite:` with nothing after it.
    #[error("the path is empty")]
    EmptyPath,
    /// A scheme ferry does not know, or no scheme.
    #[error("ferry knows `sqlite:PATH` tenants")]
    UnknownScheme,
    /// `postgres:` without `//`.
    #[error("write it as postgres://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE][?PARAMS]")]
    NotPostgresForm,
    /// A port that is not a number up to 65535.
    #[error("the port is not a number up to 65535")]
    BadPort,
    /// `[` without its `]`, or text after the `]` other than `:PORT`.
    #[error("the host in [ ] is not closed or not followed by :PORT")]
    BadHost,
    /// `host1,host2`: libpq's list of hosts.
    #[error("ferry takes one PostgreSQL host, not a list")]
    SeveralHosts,
}

/// Query parameters whose values are secrets: redacted like the password.
const SECRET_PARAMS: &[&str] = &["password", "sslpassword"];

impl TenantUrl {
    /// Parses `sqlite:PATH`, `sqlite://PATH`, `postgres://…` and `postgresql://…`.
    pub fn parse(text: &str) -> Result<TenantUrl, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(bad_url(text.to_string(), UrlProblem::EmptyPath));
            }
            return Ok(TenantUrl::Sqlite(PathBuf::from(path)));
        }
        let scheme = text.split(':').next().unwrap_or_default();
        if let Some(scheme) = ["postgres", "postgresql"]
            .into_iter()
            .find(|s| *s == scheme)
        {
            return PostgresUrl::parse(scheme, &text[scheme.len() + 1..])
                .map(|url| TenantUrl::Postgres(Box::new(url)))
                // The text may hold a password anywhere: show only the scheme.
                .map_err(|why| bad_url(format!("{scheme}://…"), why));
        }
        // A URL of another scheme may carry a password: show only its scheme.
        let shown = if text.contains(':') {
            format!("{scheme}:…")
        } else {
            text.to_string()
        };
        Err(bad_url(shown, UrlProblem::UnknownScheme))
    }

    /// The same URL with a relative `sqlite:` path made absolute, so that a saved plan names
    /// its destination wherever it is applied from: an existing file's path is canonicalized
    /// (resolving `..` and links), another is joined to the current directory. Other URLs, and a
    /// path that cannot be resolved, stay as they are.
    pub fn absolute(&self) -> TenantUrl {
        match self {
            TenantUrl::Sqlite(path) if path.is_relative() => path
                .canonicalize()
                .or_else(|_| std::path::absolute(path))
                .map(TenantUrl::Sqlite)
                .unwrap_or_else(|_| self.clone()),
            _ => self.clone(),
        }
    }
}

fn bad_url(url: String, why: UrlProblem) -> StoreError {
    StoreError::BadUrl { url, why }
}

impl PostgresUrl {
    /// Parses what follows `scheme:`.
    fn parse(scheme: &'static str, rest: &str) -> Result<PostgresUrl, UrlProblem> {
        let rest = rest.strip_prefix("//").ok_or(UrlProblem::NotPostgresForm)?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        // The last `@` ends the user part, so that an unencoded `@` in a password is kept.
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (user, password) = match userinfo.map(|u| u.split_once(':').ok_or(u)) {
            None => (None, None),
            Some(Err(user)) => (Some(user.to_string()), None),
            Some(Ok((user, PLACEHOLDER))) => (Some(user.to_string()), Some(Password::Redacted)),
            Some(Ok((user, password))) => (
                Some(user.to_string()),
                Some(Password::Given(Secret::new(password))),
            ),
        };
        let (host, port) = split_host_port(hostport)?;
        let (database, query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (tail, None),
        };
        Ok(PostgresUrl {
            scheme,
            user,
            password,
            host: host.to_string(),
            port,
            database: database.strip_prefix('/').map(str::to_string),
            query,
        })
    }

    /// The user name, if one is given.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password, if one is given.
    pub fn password(&self) -> Option<&Password> {
        self.password.as_ref()
    }

    /// The host (a name, an address, `[IPv6]`, or empty for the local socket).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if one is given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The database name, if one is given.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The query parameters as written (`sslmode=require&…`). They may hold a `password`
    /// parameter: show them only through the URL's `Display`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
}

/// Splits `HOST[:PORT]` (HOST may be `[IPv6]`).
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), UrlProblem> {
    let (host, port) = if text.starts_with('[') {
        let close = text.find(']').ok_or(UrlProblem::BadHost)? + 1;
        match &text[close..] {
            "" => (&text[..close], None),
            after => (
                &text[..close],
                Some(after.strip_prefix(':').ok_or(UrlProblem::BadHost)?),
            ),
        }
    } else if text.contains(',') {
        return Err(UrlProblem::SeveralHosts);
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = port
        .map(|p| p.parse::<u16>().map_err(|_| UrlProblem::BadPort))
        .transpose()?;
    Ok((host, port))
}

impl PartialEq for PostgresUrl {
    fn eq(&self, other: &PostgresUrl) -> bool {
        self.scheme == other.scheme
            && self.user == other.user
            && self.password.is_some() == other.password.is_some()
            && self.host == other.host
            && self.port == other.port
            && self.database == other.database
            && self.query == other.query
    }
}

impl Eq for PostgresUrl {}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if self.user.is_some() || self.password.is_some() {
            f.write_str(self.user.as_deref().unwrap_or_default())?;
            if self.password.is_some() {
                write!(f, ":{PLACEHOLDER}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(database) = &self.database {
            write!(f, "/{database}")?;
        }
        if let Some(query) = &self.query {
            f.write_str("?")?;
            for (i, param) in query.split('&').enumerate() {
                if i > 0 {
                    f.write_str("&")?;
                }
                match param.split_once('=') {
                    Some((key, _)) if SECRET_PARAMS.contains(&key) => {
                        write!(f, "{key}={PLACEHOLDER}")?
                    }
                    _ => f.write_str(param)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            TenantUrl::Postgres(url) => fmt::Display::fmt(url, f),
        }
    }
}

impl fmt::Debug for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for TenantUrl {
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

    fn parse(text: &str) -> TenantUrl {
        TenantUrl::parse(text).unwrap()
    }

    fn problem(text: &str) -> (String, UrlProblem) {
        match TenantUrl::parse(text) {
            Err(StoreError::BadUrl { url, why }) => (url, why),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(parse("sqlite:dev.db"), TenantUrl::Sqlite("dev.db".into()));
        assert_eq!(parse("sqlite://a/b.db"), TenantUrl::Sqlite("a/b.db".into()));
        assert_eq!(parse("sqlite:/a/b.db").to_string(), "sqlite:/a/b.db");
        assert_eq!(format!("{:?}", parse("sqlite:x.db")), "sqlite:x.db");
        assert_eq!(
            problem("sqlite:"),
            ("sqlite:".into(), UrlProblem::EmptyPath)
        );
        assert_eq!(problem("sqlite://").1, UrlProblem::EmptyPath);
        assert_eq!(
            problem("dev.db"),
            ("dev.db".into(), UrlProblem::UnknownScheme)
        );
        assert_eq!(
            problem("mysql://u:secret@h/db"),
            ("mysql:…".into(), UrlProblem::UnknownScheme)
        );
    }

    #[test]
    fn postgres_parts() {
        let TenantUrl::Postgres(url) =
            parse("postgresql://ann:pw@db.example:6432/retail?sslmode=require")
        else {
            panic!("not postgres");
        };
        assert_eq!(url.user(), Some("ann"));
        assert_eq!(url.password().and_then(Password::expose), Some("pw"));
        assert_eq!(url.host(), "db.example");
        assert_eq!(url.port(), Some(6432));
        assert_eq!(url.database(), Some("retail"));
        assert_eq!(url.query(), Some("sslmode=require"));
        assert_eq!(
            url.to_string(),
            "postgresql://ann:(sensitive)@db.example:6432/retail?sslmode=require"
        );
        let TenantUrl::Postgres(url) = parse("postgres://[::1]:5432") else {
            panic!("not postgres");
        };
        assert_eq!(
            (url.host(), url.port(), url.user()),
            ("[::1]", Some(5432), None)
        );
        for text in [
            "postgres://",
            "postgres://host",
            "postgres://ann@host/db",
            "postgres://:(sensitive)@host",
            "postgres://[::1]/db?a=1&b",
        ] {
            assert_eq!(parse(text).to_string(), text, "round trip");
        }
    }

    #[test]
    fn postgres_mistakes() {
        for (text, why) in [
            ("postgres:host/db", UrlProblem::NotPostgresForm),
            ("postgres://u:secret@host:port/db", UrlProblem::BadPort),
            ("postgres://u:secret@host:70000", UrlProblem::BadPort),
            ("postgres://u:secret@[::1/db", UrlProblem::BadHost),
            ("postgres://u:secret@[::1]x", UrlProblem::BadHost),
            ("postgres://u:secret@h1,h2/db", UrlProblem::SeveralHosts),
        ] {
            assert_eq!(problem(text), ("postgres://…".into(), why), "{text}");
        }
    }

    #[test]
    fn passwords_are_never_shown() {
        let url = parse("postgres://user:secret@host/db");
        assert_eq!(url.to_string(), "postgres://user:(sensitive)@host/db");
        assert_eq!(format!("{url:?}"), "postgres://user:(sensitive)@host/db");
        assert_eq!(
            format!("{:?}", Some(vec![url.clone()])),
            "Some([postgres://user:(sensitive)@host/db])"
        );
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(json, r#""postgres://user:(sensitive)@host/db""#);
        // Read back, it names the same tenant, and knows there is a password but not which.
        let back: TenantUrl = serde_json::from_str(&json).unwrap();
        assert_eq!(back, url);
        let TenantUrl::Postgres(back) = back else {
            panic!("not postgres");
        };
        assert!(matches!(back.password(), Some(Password::Redacted)));
        assert_eq!(back.password().and_then(Password::expose), None);

        let url = parse("postgres://user:secret@host/db?sslmode=require&password=secret");
        assert_eq!(
            url.to_string(),
            "postgres://user:(sensitive)@host/db?sslmode=require&password=(sensitive)"
        );
        // A password with an `@` in it is still all password.
        let url = parse("postgres://user:se@cret@host/db");
        assert_eq!(url.to_string(), "postgres://user:(sensitive)@host/db");

        for bad in [
            "postgres://user:secret@host:x/db",
            "postgresql://user:secret@h1,h2/db",
            "postgres:user:secret@host/db",
        ] {
            let e = TenantUrl::parse(bad).unwrap_err();
            assert!(!e.to_string().contains("secret"), "{e}");
            assert!(!format!("{e:?}").contains("secret"), "{e:?}");
            let e = serde_json::from_str::<TenantUrl>(&format!("\"{bad}\"")).unwrap_err();
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn absolute_paths() {
        let dir = tempfile::tempdir().unwrap();
        let abs = TenantUrl::Sqlite(dir.path().join("t.db"));
        assert_eq!(abs.absolute(), abs, "an absolute path stays");
        let TenantUrl::Sqlite(path) = parse("sqlite:no-such-dir/t.db").absolute() else {
            panic!("not sqlite");
        };
        assert!(
            path.is_absolute() && path.ends_with("no-such-dir/t.db"),
            "{path:?}"
        );
        let pg = parse("postgres://u:secret@h/db");
        assert_eq!(pg.absolute(), pg);
    }
}
