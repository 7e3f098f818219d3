//! Saved plans (`ferry plan --out PLAN`, `ferry apply PLAN`): the file format, its version policy
//! and the plan hash.
//!
//! A saved plan is the [`Plan`] as pretty-printed JSON with one trailing newline. Its hash is
//! blake3 over exactly those bytes, so `b3sum plan.json` gives the `plan_hash` a deployment
//! records; a plan applied without being saved is hashed over the bytes it would be saved as.
//! A plan is read back only by the ferry version (and plan format) that wrote it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Plan, PLAN_FORMAT};
use crate::model::text::excerpt;

/// This ferry's version, as plan files record it.
pub const FERRY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A saved plan could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a plan.
    #[error("{} is not a ferry plan: {reason}", path.display())]
    NotAPlan {
        /// The file.
        path: PathBuf,
        /// What the JSON reader said.
        reason: String,
    },
    /// Another ferry version or plan format wrote it.
    #[error("{} was made by ferry {ferry_version} (plan format {format_version}); this is ferry {FERRY_VERSION} (plan format {PLAN_FORMAT})", path.display())]
    OtherVersion {
        /// The file.
        path: PathBuf,
        /// The ferry version that wrote it.
        ferry_version: String,
        /// Its plan format.
        format_version: u32,
    },
}

/// A plan with the hash of its saved form.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The plan.
    pub plan: Plan,
    /// blake3 of the file's bytes, hex.
    pub hash: String,
}

/// The bytes a plan is saved as.
pub fn to_bytes(plan: &Plan) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(plan).expect("plans serialize");
    bytes.push(b'\n');
    bytes
}

/// The hash of a plan: blake3 of its saved form, hex. The form is hashed as it is written, never
/// held whole (a first deployment's plan lists every field of every object it creates).
pub fn hash(plan: &Plan) -> String {
    let mut hasher = blake3::Hasher::new();
    {
        let mut writer = std::io::BufWriter::with_capacity(1 << 16, &mut hasher);
        serde_json::to_writer_pretty(&mut writer, plan).expect("plans serialize");
        writer.write_all(b"\n").expect("hashing writes nothing out");
        writer.flush().expect("hashing writes nothing out");
    }
    hasher.finalize().to_hex().to_string()
}

fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Saves `plan` at `path`; returns its hash.
pub fn write(path: &Path, plan: &Plan) -> Result<String, PlanFileError> {
    let bytes = to_bytes(plan);
    std::fs::write(path, &bytes).map_err(|source| PlanFileError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(hash_bytes(&bytes))
}

/// Reads a plan saved at `path` by this ferry.
pub fn read(path: &Path) -> Result<Saved, PlanFileError> {
    let bytes = std::fs::read(path).map_err(|source| PlanFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // The version fields first, so a plan of another format is refused as such, not as broken.
    #[derive(serde::Deserialize)]
    struct Versions {
        format_version: u32,
        ferry_version: String,
    }
    let not_a_plan = |e: serde_json::Error| PlanFileError::NotAPlan {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let versions: Versions = serde_json::from_slice(&bytes).map_err(not_a_plan)?;
    if versions.format_version != PLAN_FORMAT || versions.ferry_version != FERRY_VERSION {
        return Err(PlanFileError::OtherVersion {
            path: path.to_path_buf(),
            ferry_version: versions.ferry_version,
            format_version: versions.format_version,
        });
    }
    let plan: Plan = serde_json::from_slice(&bytes).map_err(not_a_plan)?;
    Ok(Saved {
        plan,
        hash: hash_bytes(&bytes),
    })
}

/// How many differences [`differences`] names; the rest are counted.
pub const DIFFERENCES_SHOWN: usize = 20;

/// The fields of a planned secret that depend on where the plan is made (whether the source had
/// a value there, and what that told): [`differences`] leaves them out, so that a plan made
/// without the values (a pull-request job) applies where they are.
const SECRET_FOUND: [&str; 3] = ["available", "status", "fingerprint"];

/// Where `saved` (a plan file as read) differs from `again` (the plan made again from what it
/// records), one line each: the place (a change or drift entry by its address), what the file
/// says and what the plan made again says, values quoted as excerpts. Empty when they are equal.
/// What the plan found of each secret's value is not compared ([`SECRET_FOUND`]; see
/// [`secret_values_changed`]).
pub fn differences(saved: &Plan, again: &Plan) -> Vec<String> {
    // Equal plans are the usual case: no documents built to compare.
    if saved == again {
        return Vec::new();
    }
    let mut saved = serde_json::to_value(saved).expect("plans serialize");
    let mut again = serde_json::to_value(again).expect("plans serialize");
    for plan in [&mut saved, &mut again] {
        if let Some(Value::Array(secrets)) = plan.get_mut("secrets") {
            for s in secrets.iter_mut().filter_map(Value::as_object_mut) {
                for key in SECRET_FOUND {
                    s.remove(key);
                }
            }
        }
    }
    let mut found = Vec::new();
    differ(&saved, &again, String::new(), &mut found);
    let total = found.len();
    found.truncate(DIFFERENCES_SHOWN);
    if total > DIFFERENCES_SHOWN {
        found.push(format!("and {} more", total - DIFFERENCES_SHOWN));
    }
    found
}

/// The secrets whose value the saved plan saw (it has a fingerprint) and whose source now has
/// another value, one line each; a value the plan did not see is taken as it is found, as a
/// plan made without the values is meant to be applied where they are.
pub fn secret_values_changed(saved: &Plan, again: &Plan) -> Vec<String> {
    saved
        .secrets
        .iter()
        .filter_map(|s| {
            let seen = s.fingerprint.as_ref()?;
            let now = again
                .secrets
                .iter()
                .find(|a| a.guid == s.guid && a.pointer == s.pointer)?;
            match &now.fingerprint {
                Some(f) if f != seen => Some(format!(
                    "secrets[{} {}]: the value of {} is not the one the plan was made with",
                    s.address, s.field, s.source
                )),
                _ => None,
            }
        })
        .collect()
}

fn differ(saved: &Value, again: &Value, place: String, found: &mut Vec<String>) {
    match (saved, again) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let null = Value::Null;
                let inner = if place.is_empty() {
                    key.clone()
                } else {
                    format!("{place}.{key}")
                };
                differ(
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    inner,
                    found,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                // Entries are named by their address when they have one (changes, drift).
                let name = match (x.get("address"), y.get("address")) {
                    (Some(Value::String(p)), Some(Value::String(q))) if p == q => excerpt(p, 80),
                    _ => i.to_string(),
                };
                differ(x, y, format!("{place}[{name}]"), found);
            }
        }
        // An object's field values may hold a secret a hand-edited file put there: they are
        // named, never quoted.
        (_, _) if saved != again && place.contains(".fields[") => found.push(format!(
            "{place}: the file's value is not the one the plan made again has (field values are not quoted: they may be secret)"
        )),
        (a, b) if a != b => found.push(format!(
            "{place}: the file says {}, the plan made again says {}",
            shown(a),
            shown(b)
        )),
        _ => {}
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_string(),
        Value::Array(items) => format!(
            "{} entries ({})",
            items.len(),
            excerpt(&value.to_string(), 80)
        ),
        other => excerpt(&other.to_string(), 80),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Destination, PlanSource};
    use crate::store::Facts;

    fn plan() -> Plan {
        Plan {
            format_version: PLAN_FORMAT,
            ferry_version: FERRY_VERSION.to_string(),
            source: PlanSource {
                kind: "git".into(),
                repository: Some("/repo".into()),
                revision: Some("HEAD".into()),
                id: "0123456789abcdef0123456789abcdef01234567".into(),
            },
            destination: Destination {
                url: crate::store::TenantUrl::parse("sqlite:/tmp/prod.db").unwrap(),
                name: "prod".into(),
                fingerprint: "f".repeat(64),
                facts: Facts {
                    name: "prod".into(),
                    platform_version: "4.5.0".into(),
                    engine: "maxcompute".into(),
                    engine_mode: "single".into(),
                    cluster: "c1".into(),
                },
            },
            changes: Vec::new(),
            drift: Vec::new(),
            unchanged: 3,
            unmanaged: 0,
            not_pruned: Vec::new(),
            warnings: Vec::new(),
            edges: Vec::new(),
            skipped: Vec::new(),
            made_with: Default::default(),
            environment: None,
            secrets: Vec::new(),
        }
    }

    #[test]
    fn a_saved_plan_reads_back_with_the_hash_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let written = write(&path, &plan()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(written, blake3::hash(&bytes).to_hex().to_string());
        assert!(bytes.ends_with(b"}\n"));
        let saved = read(&path).unwrap();
        assert_eq!(saved.plan, plan());
        assert_eq!(saved.hash, written);
        assert_eq!(hash(&plan()), written);
    }

    #[test]
    fn another_version_is_refused_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut old = plan();
        old.ferry_version = "0.0.1".into();
        write(&path, &old).unwrap();
        match read(&path) {
            Err(PlanFileError::OtherVersion { ferry_version, .. }) => {
                assert_eq!(ferry_version, "0.0.1")
            }
            other => panic!("{other:?}"),
        }
        // A future format whose other fields this ferry cannot read is still named by version.
        std::fs::write(
            &path,
            r#"{"format_version": 9, "ferry_version": "9.0.0", "changes": "?"}"#,
        )
        .unwrap();
        assert!(matches!(
            read(&path),
            Err(PlanFileError::OtherVersion {
                format_version: 9,
                ..
            })
        ));
    }

    #[test]
    fn broken_and_missing_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        assert!(matches!(read(&path), Err(PlanFileError::Read { .. })));
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(read(&path), Err(PlanFileError::NotAPlan { .. })));
        let mut text = String::from_utf8(to_bytes(&plan())).unwrap();
        text = text.replace("\"unchanged\": 3", "\"unchanged\": \"three\"");
        std::fs::write(&path, text).unwrap();
        assert!(matches!(read(&path), Err(PlanFileError::NotAPlan { .. })));
    }

    fn secret(
        status: crate::plan::SecretStatus,
        fingerprint: Option<&str>,
    ) -> crate::plan::PlannedSecret {
        crate::plan::PlannedSecret {
            address: "data_source/pos".into(),
            guid: uuid::Uuid::from_u128(1),
            field: "/spec/connection/password".into(),
            pointer: "/spec/connection/password".into(),
            source: crate::desired::environment::SecretFrom::Var("POS_PASSWORD".into()),
            by: "environments/prod.toml:8".into(),
            available: fingerprint.is_some(),
            status,
            fingerprint: fingerprint.map(String::from),
        }
    }

    #[test]
    fn what_a_plan_found_of_a_secret_is_not_compared_but_a_value_it_saw_is() {
        use crate::plan::SecretStatus::*;
        let mut saved = plan();
        saved.secrets = vec![secret(NotChecked, None)];
        let mut again = plan();
        again.secrets = vec![secret(Changed, Some("a"))];
        // Made without the value, applied where it is.
        assert_eq!(differences(&saved, &again), Vec::<String>::new());
        assert_eq!(secret_values_changed(&saved, &again), Vec::<String>::new());
        // Made with a value, applied with another.
        saved.secrets = vec![secret(Unchanged, Some("b"))];
        assert_eq!(differences(&saved, &again), Vec::<String>::new());
        assert_eq!(
            secret_values_changed(&saved, &again),
            ["secrets[data_source/pos /spec/connection/password]: the value of environment variable POS_PASSWORD is not the one the plan was made with"]
        );
        // Where a value comes from is compared.
        again.secrets[0].source = crate::desired::environment::SecretFrom::Var("OTHER".into());
        let found = differences(&saved, &again);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .starts_with("secrets[data_source/pos].source.env: the file says \"POS_PASSWORD\""),
            "{found:?}"
        );
    }

    #[test]
    fn a_destination_password_is_in_no_plan_file_output_or_error() {
        let url = crate::store::TenantUrl::parse("postgres://user:hunter2@host/db").unwrap();
        let mut with_password = plan();
        with_password.destination.url = url.clone();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        write(&path, &with_password).unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        let shown = [
            saved,
            crate::render::plan::text(&with_password, false),
            crate::render::plan::markdown(&with_password),
            format!("{with_password:?}"),
            crate::plan::PlanError::Prerequisite {
                tenant: url,
                mismatches: Vec::new(),
            }
            .to_string(),
        ];
        for text in &shown {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(shown[0].contains("postgres://user:(sensitive)@host/db"));
    }
}
