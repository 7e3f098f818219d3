//! `ferry.toml`: the file that makes a folder a tenant repository.
//!
//! ```toml
//! format_version = 1
//!
//! [source]                 # the tenant the objects were exported from (written by export)
//! name = "retail-dev"
//! platform_version = "4.5.0"
//! engine = "maxcompute"
//! engine_mode = "single"
//! cluster = "cn-shanghai-01"
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::file::{position_at, Position};

/// The name of the file at the root of every tenant repository.
pub const CONFIG_FILE: &str = "ferry.toml";

/// The repository format this ferry writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The contents of `ferry.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The repository format version.
    pub format_version: u32,
    /// Facts of the tenant the objects came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceFacts>,
}

/// What a destination must match to receive these objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFacts {
    /// Tenant name.
    pub name: String,
    /// Platform version, e.g. `4.5.0`.
    pub platform_version: String,
    /// Compute engine type, e.g. `maxcompute`, `hive`, `spark`, `starrocks`.
    pub engine: String,
    /// `single` or `multi`.
    pub engine_mode: String,
    /// Compute cluster id.
    pub cluster: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            format_version: FORMAT_VERSION,
            source: None,
        }
    }
}

/// `ferry.toml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No `ferry.toml` in the folder or any parent.
    #[error("no {CONFIG_FILE} in {start} or any folder above it")]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}{}: {message}", position.map(|p| format!(":{}:{}", p.line, p.column)).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where.
        position: Option<Position>,
        /// What is wrong.
        message: String,
    },
    /// Written by a newer ferry.
    #[error("{path} has format_version {found}; this ferry reads version {FORMAT_VERSION}")]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
}

impl Config {
    /// Parses the text of `ferry.toml`; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            position: e.span().map(|s| position_at(text, s.start)),
            message: e.message().trim().replace('\n', " "),
        })?;
        if config.format_version > FORMAT_VERSION {
            return Err(ConfigError::TooNew {
                path: path.to_path_buf(),
                found: config.format_version,
            });
        }
        if let Some(facts) = &config.source {
            let invalid = |field: &str, message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                position: crate::model::file::position_of(text, &format!("/source/{field}")),
                message,
            };
            if !matches!(facts.engine_mode.as_str(), "single" | "multi") {
                return Err(invalid(
                    "engine_mode",
                    format!(
                        "source.engine_mode is \"{}\"; it must be \"single\" or \"multi\"",
                        crate::model::text::excerpt(&facts.engine_mode, 40)
                    ),
                ));
            }
            for (field, value) in [
                ("name", &facts.name),
                ("platform_version", &facts.platform_version),
                ("engine", &facts.engine),
                ("cluster", &facts.cluster),
            ] {
                if value.trim().is_empty() {
                    return Err(invalid(field, format!("source.{field} is empty")));
                }
            }
        }
        Ok(config)
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).expect("Config always serializes");
        format!("# ferry tenant repository: see README.md of ferry for the format.\n{body}")
    }
}

/// The root of the tenant repository that holds `start`: the nearest folder, from `start` up,
/// with a `ferry.toml`.
pub fn find_root(start: &Path) -> Result<PathBuf, ConfigError> {
    let start = start.canonicalize().map_err(|source| ConfigError::Read {
        path: start.to_path_buf(),
        source,
    })?;
    start
        .ancestors()
        .find(|dir| dir.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
        .ok_or(ConfigError::NotFound { start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let config = Config {
            format_version: 1,
            source: Some(SourceFacts {
                name: "dev".into(),
                platform_version: "4.5.0".into(),
                engine: "maxcompute".into(),
                engine_mode: "single".into(),
                cluster: "c1".into(),
            }),
        };
        assert_eq!(
            Config::parse(&config.to_text(), Path::new("x")).unwrap(),
            config
        );
    }

    #[test]
    fn unknown_keys_and_new_versions_are_refused() {
        let err =
            Config::parse("format_version = 1\nfoo = 2\n", Path::new("ferry.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ferry.toml:2:1: unknown field `foo`"),
            "{err}"
        );
        let err = Config::parse("format_version = 9\n", Path::new("ferry.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::TooNew { found: 9, .. }));
    }
}
