//! From a [`PostgresUrl`] to a connection, the libpq way: the password from the URL, else
//! `PGPASSWORD`, else the password file (`PGPASSFILE` or `~/.pgpass`); host, port, user and
//! database defaulted from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`; `sslmode` (`disable`,
//! `prefer` (the default), `require`, `verify-ca`, `verify-full`) with TLS through rustls and
//! its `ring` provider. No message made here holds a password: the driver's are cleaned of it
//! too ([`scrub`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::store::{PostgresUrl, StoreError, TenantUrl};

/// The schema a tenant's tables are in when the URL names none.
pub const DEFAULT_SCHEMA: &str = "ferry";

/// What a URL asks for, decoded.
pub(super) struct Target {
    pub config: Config,
    pub tls: Tls,
    pub schema: String,
    /// The password in use, to remove from any message.
    pub password: Option<String>,
}

/// How to secure the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tls {
    /// `sslmode=disable`.
    Off,
    /// `prefer` or `require`: encrypted (required or not), the certificate not checked (as
    /// libpq does without a root certificate).
    Unverified(SslMode),
    /// `verify-ca` and `verify-full`: the certificate chain and the host name are checked,
    /// against `sslrootcert` or the web's root certificates.
    Verified,
}

/// Decodes `url` with the environment `env` (a variable's value by name) and the home folder.
pub(super) fn target(
    url: &PostgresUrl,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<(Target, Option<PathBuf>), String> {
    let mut schema = DEFAULT_SCHEMA.to_string();
    let mut sslmode = "prefer".to_string();
    let mut rootcert = None;
    let mut query_password = None;
    let mut socket_host = None;
    let mut connect_timeout = Duration::from_secs(10);
    let mut application_name = "ferry".to_string();
    for param in url.query().unwrap_or_default().split('&') {
        if param.is_empty() {
            continue;
        }
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let value = decode(value);
        match key {
            "schema" => schema = value,
            "sslmode" => sslmode = value,
            "sslrootcert" => rootcert = Some(PathBuf::from(value)),
            "password" => query_password = Some(value),
            "host" => socket_host = Some(value),
            "application_name" => application_name = value,
            "connect_timeout" => {
                connect_timeout = Duration::from_secs(
                    value
                        .parse()
                        .map_err(|_| "connect_timeout is not a number of seconds".to_string())?,
                )
            }
            other => {
                return Err(format!(
                    "the URL parameter `{other}` is not one ferry knows (schema, sslmode, sslrootcert, host, connect_timeout, application_name, password)"
                ))
            }
        }
    }
    if schema.is_empty() {
        return Err("?schema= is empty".into());
    }
    let tls = match sslmode.as_str() {
        "disable" => Tls::Off,
        "prefer" | "allow" => Tls::Unverified(SslMode::Prefer),
        "require" => Tls::Unverified(SslMode::Require),
        "verify-ca" | "verify-full" => Tls::Verified,
        _ => {
            return Err(
                "sslmode is not one of disable, prefer, require, verify-ca, verify-full".into(),
            )
        }
    };
    let host = match (socket_host, url.host()) {
        (Some(h), _) => h,
        (None, "") => env("PGHOST").unwrap_or_else(|| "/var/run/postgresql".into()),
        (None, h) => h.trim_start_matches('[').trim_end_matches(']').to_string(),
    };
    let port = match url.port() {
        Some(p) => p,
        None => match env("PGPORT") {
            Some(p) => p.parse().map_err(|_| "PGPORT is not a port number")?,
            None => 5432,
        },
    };
    let user = url
        .user()
        .filter(|u| !u.is_empty())
        .map(decode)
        .or_else(|| env("PGUSER"))
        .or_else(|| env("USER"))
        .ok_or("the URL names no user, and neither PGUSER nor USER is set")?;
    let database = url
        .database()
        .filter(|d| !d.is_empty())
        .map(decode)
        .or_else(|| env("PGDATABASE"))
        .unwrap_or_else(|| user.clone());
    let passfile = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".pgpass")));
    // A URL read back from a plan file or a record has `(sensitive)` for its password: the
    // password then comes from where libpq would look next.
    let password = match url.password().and_then(|p| p.expose()) {
        Some(p) => Some(decode(p)),
        None => query_password,
    }
    .or_else(|| env("PGPASSWORD"))
    .or_else(|| {
        let passhost = if host.starts_with('/') {
            "localhost"
        } else {
            &host
        };
        passfile
            .as_deref()
            .and_then(|f| from_passfile(f, passhost, port, &database, &user))
    });
    let mut config = Config::new();
    config
        .host(&host)
        .port(port)
        .user(&user)
        .dbname(&database)
        .application_name(&application_name)
        .connect_timeout(connect_timeout);
    if let Some(p) = &password {
        config.password(p);
    }
    match tls {
        Tls::Off => config.ssl_mode(SslMode::Disable),
        Tls::Unverified(mode) => config.ssl_mode(mode),
        Tls::Verified => config.ssl_mode(SslMode::Require),
    };
    Ok((
        Target {
            config,
            tls,
            schema,
            password,
        },
        rootcert,
    ))
}

/// Connects to the tenant at `url`.
pub(super) fn connect(
    tenant: &TenantUrl,
    url: &PostgresUrl,
) -> Result<(Client, String), StoreError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let fail = |message: String| StoreError::Connect {
        tenant: tenant.clone(),
        message,
    };
    let (target, rootcert) = target(url, &env, home.as_deref()).map_err(fail)?;
    let redacted = matches!(url.password(), Some(crate::store::Password::Redacted));
    let clean = |e: postgres::Error| {
        let mut message = scrub(&describe(&e), target.password.as_deref());
        if redacted && target.password.is_none() {
            message.push_str(
                " (a URL read from a plan file or record carries no password: give it with PGPASSWORD or ~/.pgpass)",
            );
        }
        fail(message)
    };
    let client = match target.tls {
        Tls::Off => target.config.connect(NoTls).map_err(clean)?,
        tls => {
            let config = tls_config(tls, rootcert.as_deref()).map_err(fail)?;
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(config);
            target.config.connect(connector).map_err(clean)?
        }
    };
    Ok((client, target.schema))
}

/// A driver error with its causes (the driver's own text says little: "error connecting to
/// server").
pub(super) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// `message` with every occurrence of `password` replaced by `(sensitive)`.
pub(super) fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => message.replace(p, crate::secret::PLACEHOLDER),
        _ => message.to_string(),
    }
}

fn tls_config(tls: Tls, rootcert: Option<&Path>) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    Ok(match tls {
        Tls::Verified => {
            let mut roots = RootCertStore::empty();
            match rootcert {
                Some(path) => {
                    use rustls::pki_types::pem::PemObject;
                    let certs = CertificateDer::pem_file_iter(path)
                        .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
                    for cert in certs {
                        let cert = cert.map_err(|e| {
                            format!("cannot read sslrootcert {}: {e}", path.display())
                        })?;
                        roots.add(cert).map_err(|e| {
                            format!(
                                "sslrootcert {} holds a bad certificate: {e}",
                                path.display()
                            )
                        })?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth(),
    })
}

/// Accepts any server certificate (still checking the handshake's signatures): `sslmode=prefer`
/// and `require`, which encrypt without authenticating the server, as libpq's do.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Percent-decodes a URL part (invalid escapes are kept as written).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password the password file gives for this connection: its first line whose fields
/// (`host:port:database:user:password`, `*` for any, `\:` and `\\` escaped) match. A file that
/// others may read is ignored, as libpq does.
fn from_passfile(file: &Path, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_passfile_line(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], database)
            && matches(&fields[3], user)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_passfile_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().unwrap().push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(text: &str) -> PostgresUrl {
        match TenantUrl::parse(text).unwrap() {
            TenantUrl::Postgres(url) => *url,
            other => panic!("{other:?}"),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn url_parts_and_defaults() {
        let (t, _) = target(
            &pg("postgres://ann:p%40ss@db.example:6432/retail?schema=prod&sslmode=require"),
            &no_env,
            None,
        )
        .unwrap();
        assert_eq!(t.schema, "prod");
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.tls, Tls::Unverified(SslMode::Require));
        assert_eq!(t.config.get_user(), Some("ann"));
        assert_eq!(t.config.get_dbname(), Some("retail"));
        assert_eq!(t.config.get_ports(), [6432]);
        let env = |name: &str| match name {
            "PGUSER" => Some("bob".to_string()),
            "PGPASSWORD" => Some("from-env".to_string()),
            _ => None,
        };
        let (t, _) = target(&pg("postgres://db.example"), &env, None).unwrap();
        assert_eq!(t.schema, DEFAULT_SCHEMA);
        assert_eq!(t.tls, Tls::Unverified(SslMode::Prefer));
        assert_eq!(t.password.as_deref(), Some("from-env"));
        assert_eq!(
            t.config.get_dbname(),
            Some("bob"),
            "the database defaults to the user"
        );
        assert_eq!(t.config.get_ports(), [5432]);
        let (t, _) = target(&pg("postgres://u@h/d?sslmode=verify-full"), &no_env, None).unwrap();
        assert_eq!(t.tls, Tls::Verified);
        let (t, _) = target(&pg("postgres://u@h/d?sslmode=disable"), &no_env, None).unwrap();
        assert_eq!(t.tls, Tls::Off);
    }

    #[test]
    fn mistakes_name_the_parameter_never_its_value() {
        for (text, says) in [
            (
                "postgres://u@h/d?sslmode=sometimes",
                "sslmode is not one of",
            ),
            ("postgres://u@h/d?sslpassword=secret", "`sslpassword`"),
            ("postgres://u@h/d?schema=", "empty"),
        ] {
            let e = target(&pg(text), &no_env, None).err().unwrap();
            assert!(e.contains(says), "{text}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn a_redacted_password_is_looked_for_where_libpq_looks_next() {
        let env = |name: &str| (name == "PGPASSWORD").then(|| "from-env".to_string());
        let (t, _) = target(&pg("postgres://u:(sensitive)@h/d"), &env, None).unwrap();
        assert_eq!(t.password.as_deref(), Some("from-env"));
        let (t, _) = target(&pg("postgres://u:(sensitive)@h/d"), &no_env, None).unwrap();
        assert_eq!(t.password, None);
    }

    #[test]
    fn the_password_file_is_read_the_libpq_way() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:no\ndb.example:6432:retail:ann:first\\:part\\\\x\n*:*:*:*:fallback\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let (t, _) = target(
            &pg("postgres://ann@db.example:6432/retail"),
            &no_env,
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(t.password.as_deref(), Some("first:part\\x"));
        let (t, _) = target(&pg("postgres://ann@elsewhere/x"), &no_env, Some(dir.path())).unwrap();
        assert_eq!(t.password.as_deref(), Some("fallback"));
        // The URL's password comes first.
        let (t, _) = target(
            &pg("postgres://ann:given@db.example:6432/retail"),
            &no_env,
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(t.password.as_deref(), Some("given"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let (t, _) =
                target(&pg("postgres://ann@elsewhere/x"), &no_env, Some(dir.path())).unwrap();
            assert_eq!(t.password, None, "a file others can read is ignored");
        }
    }

    #[test]
    fn scrub_removes_the_password() {
        assert_eq!(
            scrub("auth failed for hunter2 at hunter2", Some("hunter2")),
            "auth failed for (sensitive) at (sensitive)"
        );
        assert_eq!(scrub("plain", None), "plain");
    }
}
