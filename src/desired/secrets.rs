//! Secret values from where they live: the environment variables of the process (through the
//! [`Context`], which owns them) and files on the machine that runs ferry, for the secrets an
//! environment's `[[secret]]` entries name ([`NeededSecret`]); and what a plan can say of each
//! without showing it ([`planned`]).
//!
//! A variable that is unset or empty has no value (a CI system often gives an empty string for
//! a secret it does not have). A file is read as it is, never written: a relative path is from
//! the repository's folder; its bytes are the value when they are UTF-8 text, and otherwise
//! their standard base64 ([`Secret::from_bytes`]). Reading never fails: a source without a
//! value is noted, so that a plan can say so and an apply can refuse before it writes.

use std::collections::HashMap;
use std::path::Path;

use uuid::Uuid;

use super::environment::{FieldPath, SecretFrom};
use super::overlay::NeededSecret;
use crate::context::Context;
use crate::plan::{PlannedSecret, SecretStatus};
use crate::secret::Secret;
use crate::store::{ObjectKey, StoreError, Tenant};

/// A needed secret whose source has no value here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The object.
    pub guid: Uuid,
    /// The concrete pointer.
    pub pointer: String,
    /// The object's address.
    pub address: String,
    /// The field as the environment file names it.
    pub field: String,
    /// The source.
    pub from: SecretFrom,
    /// Why it has no value: "is not set", "cannot be read: …".
    pub reason: String,
    /// The environment file's line (`environments/prod.toml:20`).
    pub by: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} {} ({})",
            self.address, self.field, self.from, self.reason, self.by
        )
    }
}

/// The values found for the needed secrets, by object and concrete pointer, and the sources
/// that had none.
#[derive(Debug, Default, Clone)]
pub struct SecretValues {
    values: HashMap<(Uuid, String), Secret>,
    /// The needed secrets without a value, in the order they were needed.
    pub missing: Vec<Missing>,
}

impl SecretValues {
    /// The value for `pointer` of `guid`, when its source had one.
    pub fn get(&self, guid: Uuid, pointer: &str) -> Option<&Secret> {
        self.values.get(&(guid, pointer.to_string()))
    }

    /// The planned secrets that have no value here, as "ADDRESS FIELD: SOURCE REASON (LINE)".
    pub fn missing_of(&self, planned: &[PlannedSecret]) -> Vec<String> {
        self.missing
            .iter()
            .filter(|m| {
                planned
                    .iter()
                    .any(|p| p.guid == m.guid && p.pointer == m.pointer)
            })
            .map(|m| m.to_string())
            .collect()
    }
}

/// Reads the value of every needed secret from its source; `root` is the repository's folder.
pub fn read(ctx: &Context, root: &Path, needed: &[NeededSecret]) -> SecretValues {
    let mut found = SecretValues::default();
    // A file named by several entries is read once.
    let mut files: HashMap<&str, Result<Secret, String>> = HashMap::new();
    for n in needed {
        let value = match &n.from {
            SecretFrom::Var(name) => match ctx.var(name) {
                Some(v) if !v.is_empty() => Ok(Secret::new(v)),
                Some(_) => Err("is set but empty".to_string()),
                None => Err("is not set".to_string()),
            },
            SecretFrom::File(path) => files
                .entry(path.as_str())
                .or_insert_with(|| read_file(root, path))
                .clone(),
        };
        match value {
            Ok(v) => {
                found.values.insert((n.guid, n.pointer.clone()), v);
            }
            Err(reason) => found.missing.push(Missing {
                guid: n.guid,
                pointer: n.pointer.clone(),
                address: n.address.clone(),
                field: n.field.clone(),
                from: n.from.clone(),
                reason,
                by: n.by.clone(),
            }),
        }
    }
    found
}

/// The largest secret file read (a certificate, a keytab or a key file is far smaller): a
/// larger one is refused, not read into memory.
pub const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// A file's bytes as a secret value; `Err` says why there is none.
fn read_file(root: &Path, path: &str) -> Result<Secret, String> {
    use std::io::Read;
    let at = root.join(path);
    let too_big =
        || format!("is larger than {MAX_SECRET_FILE} bytes, the most a secret file may hold");
    match std::fs::metadata(&at) {
        Ok(m) if !m.is_file() => return Err("is not a regular file".to_string()),
        Ok(m) if m.len() > MAX_SECRET_FILE => return Err(too_big()),
        Ok(_) => {}
        Err(e) => return Err(format!("cannot be read: {e}")),
    }
    let mut bytes = Vec::new();
    // Read at most one byte past the limit: a file that grew since is refused all the same.
    std::fs::File::open(&at)
        .and_then(|f| f.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(too_big());
    }
    Ok(Secret::from_bytes(bytes))
}

/// What the plan says of each needed secret of the objects it covers (`selected`, when a
/// selection chose some): whether its source has a value here, and, comparing fingerprints
/// keyed by the destination's salt, whether the apply changes the destination's value. The
/// destination's value is found by the field's element key in the destination's own object,
/// so an array reordered in the repository compares each element with itself. `adopted` maps
/// the GUIDs of adoptions to the GUID the destination's object has.
pub fn planned(
    needed: &[NeededSecret],
    values: &SecretValues,
    tenant: &dyn Tenant,
    selected: Option<&std::collections::HashSet<String>>,
    adopted: &HashMap<Uuid, Uuid>,
) -> Result<Vec<PlannedSecret>, StoreError> {
    let needed: Vec<&NeededSecret> = needed
        .iter()
        .filter(|n| selected.is_none_or(|s| s.contains(&n.address)))
        .collect();
    if needed.is_empty() {
        return Ok(Vec::new());
    }
    let salt = tenant.fingerprint_salt()?;
    // Per destination object: its document and its secret values.
    type Kept = Option<(serde_json::Value, Vec<(String, Secret)>)>;
    let mut destination: HashMap<Uuid, Kept> = HashMap::new();
    let mut out = Vec::with_capacity(needed.len());
    for n in needed {
        let at = adopted.get(&n.guid).copied().unwrap_or(n.guid);
        if let std::collections::hash_map::Entry::Vacant(slot) = destination.entry(at) {
            let found = match tenant.object(&ObjectKey::Guid(at))? {
                Some(o) => Some((
                    serde_json::json!({ "spec": serde_json::Value::Object(o.spec) }),
                    tenant.secrets(at)?,
                )),
                None => None,
            };
            slot.insert(found);
        }
        let context = format!("{} {}", n.guid, n.field);
        let theirs = destination[&at].as_ref().and_then(|(doc, secrets)| {
            let pointer = FieldPath::parse(&n.field).ok()?.concrete(doc).ok()?;
            secrets
                .iter()
                .find(|(p, _)| *p == pointer)
                .map(|(_, v)| v.tenant_fingerprint(&salt, &context))
        });
        let ours = values
            .get(n.guid, &n.pointer)
            .map(|v| v.tenant_fingerprint(&salt, &context));
        let status = match (&theirs, &ours) {
            (None, _) => SecretStatus::New,
            (Some(_), None) => SecretStatus::NotChecked,
            (Some(t), Some(o)) if t == o => SecretStatus::Unchanged,
            (Some(_), Some(_)) => SecretStatus::Changed,
        };
        out.push(PlannedSecret {
            address: n.address.clone(),
            guid: n.guid,
            field: n.field.clone(),
            pointer: n.pointer.clone(),
            source: n.from.clone(),
            by: n.by.clone(),
            available: ours.is_some(),
            status,
            fingerprint: ours,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_past_the_limit_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.pem"), b"-----BEGIN-----").unwrap();
        let big = vec![b'x'; MAX_SECRET_FILE as usize + 1];
        std::fs::write(dir.path().join("big.pem"), big).unwrap();
        assert!(read_file(dir.path(), "ok.pem").is_ok());
        let why = read_file(dir.path(), "big.pem").unwrap_err();
        assert!(why.contains("is larger than 1048576 bytes"), "{why}");
        let why = read_file(dir.path(), ".").unwrap_err();
        assert_eq!(why, "is not a regular file");
    }
}
