//! `ferry import`: the platform's checks on a package file, in order, stopping at the first that
//! fails with the destination unchanged ([`check`]), and a package that passes kept in the
//! destination ([`import`]), removing those past the tenant's retention.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::super::{Error, Result};
use super::credential;
use crate::context::{timestamp, Context};
use crate::desired::environment::Environment;
use crate::desired::{overlay, secrets};
use crate::kinds::Registry;
use crate::model::Object;
use crate::package::{self, Manifest, PackageError};
use crate::store::{self, ObjectKey, PackageObject, PackageSummary, StoredPackage, TenantUrl};

/// The checks of `ferry import`, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// 1: the archive reads and every file has the manifest's hash.
    Integrity,
    /// 1: the signature verifies with the destination's deployment credential.
    Credential,
    /// 2: the source's platform version is the destination's.
    PlatformVersion,
    /// 3: the same compute engine type.
    EngineType,
    /// 4: the same engine mode (single or multi).
    EngineMode,
    /// 5: the same compute cluster (a warning with `--allow-other-cluster`).
    Cluster,
    /// 6: every custom data-source type the package's data sources need, with the same code.
    TypeCodes,
    /// 7: every reference resolves in the package plus the destination.
    References,
    /// 8: every secret the chosen environment supplies has a value at its source.
    Secrets,
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 9] = [
        Check::Integrity,
        Check::Credential,
        Check::PlatformVersion,
        Check::EngineType,
        Check::EngineMode,
        Check::Cluster,
        Check::TypeCodes,
        Check::References,
        Check::Secrets,
    ];

    /// The check's number (the platform's priority; integrity and credential share 1).
    pub fn number(self) -> u8 {
        match self {
            Check::Integrity | Check::Credential => 1,
            Check::PlatformVersion => 2,
            Check::EngineType => 3,
            Check::EngineMode => 4,
            Check::Cluster => 5,
            Check::TypeCodes => 6,
            Check::References => 7,
            Check::Secrets => 8,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Integrity => "integrity",
            Check::Credential => "credential",
            Check::PlatformVersion => "platform version",
            Check::EngineType => "engine type",
            Check::EngineMode => "engine mode",
            Check::Cluster => "cluster",
            Check::TypeCodes => "data-source type codes",
            Check::References => "references",
            Check::Secrets => "secrets",
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "check {} ({})", self.number(), self.as_str())
    }
}

/// What `ferry import` does.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The package file.
    pub file: PathBuf,
    /// `--to`.
    pub to: Option<String>,
    /// `--env`: the environment (the package's copy of its file) whose tenant is the
    /// destination and whose secrets are checked.
    pub env: Option<String>,
    /// The variable holding the deployment credential.
    pub credential_env: String,
    /// `--allow-other-cluster`.
    pub allow_other_cluster: bool,
}

/// A package imported.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Its id in the destination.
    pub id: String,
    /// The destination.
    pub tenant: TenantUrl,
    /// Its manifest.
    pub manifest: Manifest,
    /// The checks passed, in order.
    pub passed: Vec<Check>,
    /// Warnings (another cluster with `--allow-other-cluster`, no environment to check secrets
    /// against).
    pub warnings: Vec<String>,
    /// The packages removed because they were older than the retention setting.
    pub removed: Vec<PackageSummary>,
    /// The destination's retention setting, in days.
    pub retention_days: u32,
}

use crate::desired::package::Unpacked;

fn refuse(check: Check, opts: &ImportOptions, problems: Vec<String>) -> Error {
    Error::ImportRefused {
        check,
        package: opts.file.clone(),
        problems,
    }
}

/// Check 1, first half: the archive and its object files.
fn unpack(opts: &ImportOptions) -> Result<Unpacked> {
    let opened = match package::open(&opts.file) {
        Ok(o) => o,
        Err(e @ PackageError::Read { .. }) => return Err(e.into()),
        Err(e) => return Err(refuse(Check::Integrity, opts, vec![e.to_string()])),
    };
    crate::desired::package::unpack(opened).map_err(|p| refuse(Check::Integrity, opts, p))
}

/// The environment `name` a package is deployed with, and where it came from: the destination
/// side's own `environments/NAME.toml` when ferry runs in a tenant repository that has one (at
/// HEAD, or in the working tree of a folder that is not a git repository), else the package's
/// copy (that of the commit packaged). `file` names the package in errors.
pub(crate) fn package_environment(
    ctx: &Context,
    opened: &package::Opened,
    name: &str,
    file: &Path,
) -> Result<(Environment, String)> {
    if let Ok(root) = ctx.root() {
        let revision = crate::repo::commit_id(&root, "HEAD").map(|_| "HEAD");
        match crate::ops::pipeline::environment(&root, revision, name) {
            Ok(env) => {
                let at = revision.map_or(" (working tree)", |_| " at HEAD");
                let origin = format!("{} of the repository {}{at}", env.path, root.display());
                return Ok((env, origin));
            }
            Err(Error::NoEnvironment { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let path = crate::desired::environment::path_of(name);
    match opened.files.get(&path) {
        Some(bytes) => Ok((
            Environment::parse(name, bytes)?,
            format!("the package's copy of {path}"),
        )),
        None => Err(Error::NoEnvironment {
            name: name.to_string(),
            path,
            at: format!("in package {}", file.display()),
            known: opened
                .files
                .keys()
                .filter_map(|p| p.strip_prefix("environments/")?.strip_suffix(".toml"))
                .map(String::from)
                .collect(),
        }),
    }
}

/// A package that passed the import checks, not yet kept.
pub struct Checked {
    /// The package, its objects as it carries them (without any overlay).
    pub unpacked: Unpacked,
    /// The destination.
    pub url: TenantUrl,
    /// The checks passed, in order.
    pub passed: Vec<Check>,
    /// Warnings, as [`Imported::warnings`].
    pub warnings: Vec<String>,
}

/// Runs the import checks of [`ImportOptions`] in order and writes nothing: what `import`
/// does before it keeps the package, and what `plan --package FILE` does.
pub fn check(ctx: &Context, opts: &ImportOptions) -> Result<Checked> {
    let mut passed = Vec::new();
    let mut warnings = Vec::new();
    let unpacked = unpack(opts)?;
    let opened = &unpacked.opened;
    let registry = &unpacked.registry;
    passed.push(Check::Integrity);
    // A relative path in an environment (its tenant, a secret file) is from the repository's
    // folder when there is one, else from where ferry runs.
    let base = ctx.root().unwrap_or_else(|_| ctx.start().to_path_buf());
    let env = opts
        .env
        .as_deref()
        .map(|name| package_environment(ctx, opened, name, &opts.file).map(|(env, _)| env))
        .transpose()?;
    let url = {
        // The package's environment file names the tenant as its source repository saw it:
        // --to, given on the destination's side, wins over it.
        let given = opts.to.as_deref().map(TenantUrl::parse).transpose()?;
        match (&env, given) {
            (_, Some(given)) => given,
            (Some(env), None) => crate::ops::pipeline::tenant_of(&base, env, None)?,
            (None, None) => return Err(Error::NothingToImport),
        }
    };
    let tenant = store::open(&url)?;
    let settings = tenant.settings()?;
    let Some(stored) = settings.credential_fingerprint.as_deref() else {
        return Err(refuse(
            Check::Credential,
            opts,
            vec![format!(
                "tenant {url} has no deployment credential configured"
            )],
        ));
    };
    let credential = credential(ctx, &opts.credential_env)?;
    if crate::ops::tenant::credential_fingerprint(&credential) != stored {
        return Err(refuse(
            Check::Credential,
            opts,
            vec![format!(
                "the credential in {} is not the one tenant {url} has configured",
                opts.credential_env
            )],
        ));
    }
    if !package::verify(&credential, &opened.manifest_bytes, &opened.signature) {
        return Err(refuse(
            Check::Credential,
            opts,
            vec![format!(
                "the signature does not verify with tenant {url}'s credential: the package was made with another credential, or its manifest was changed"
            )],
        ));
    }
    passed.push(Check::Credential);
    let facts = tenant.facts()?;
    let source = &opened.manifest.source;
    for (check, theirs, ours) in [
        (
            Check::PlatformVersion,
            &source.platform_version,
            &facts.platform_version,
        ),
        (Check::EngineType, &source.engine, &facts.engine),
        (Check::EngineMode, &source.engine_mode, &facts.engine_mode),
        (Check::Cluster, &source.cluster, &facts.cluster),
    ] {
        if theirs != ours {
            let what = format!(
                "the package comes from {} `{theirs}`, tenant {url} has `{ours}`",
                check.as_str()
            );
            if check == Check::Cluster && opts.allow_other_cluster {
                warnings.push(format!("warning: {what} (--allow-other-cluster)"));
            } else {
                return Err(refuse(check, opts, vec![what]));
            }
        }
        passed.push(check);
    }
    let problems = type_code_problems(&unpacked.objects, tenant.as_ref(), &url)?;
    if !problems.is_empty() {
        return Err(refuse(Check::TypeCodes, opts, problems));
    }
    passed.push(Check::TypeCodes);
    let problems = reference_problems(
        &unpacked.objects,
        &opened.manifest,
        registry,
        tenant.as_ref(),
        &url,
    )?;
    if !problems.is_empty() {
        return Err(refuse(Check::References, opts, problems));
    }
    passed.push(Check::References);
    match &env {
        Some(env) => {
            let mut objects = unpacked.objects.clone();
            let carried: HashSet<Uuid> = objects.iter().filter_map(|o| o.guid).collect();
            let unread: Vec<_> = tenant
                .object_index()?
                .into_iter()
                .filter(|o| !carried.contains(&o.guid))
                .filter_map(|o| {
                    let category = registry.get(&o.kind)?.category;
                    Some((
                        crate::model::Address {
                            kind: o.kind,
                            project: o.project,
                            name: o.name,
                        },
                        category,
                    ))
                })
                .collect();
            let overlaid = overlay::apply(env, &mut objects, registry, &unread)?;
            let values = secrets::read(ctx, &base, &overlaid.secrets);
            if !values.missing.is_empty() {
                return Err(refuse(
                    Check::Secrets,
                    opts,
                    values.missing.iter().map(|m| m.to_string()).collect(),
                ));
            }
        }
        None => warnings.push(
            "note: no --env: the secrets an environment supplies were not checked".to_string(),
        ),
    }
    passed.push(Check::Secrets);
    Ok(Checked {
        unpacked,
        url,
        passed,
        warnings,
    })
}

/// The full id of the package `id` names in `tenant` (at `url`): its id, a unique prefix of it,
/// or `last` (the newest import).
pub(crate) fn resolve_id(tenant: &dyn store::Tenant, url: &TenantUrl, id: &str) -> Result<String> {
    let kept = tenant.packages()?;
    let no_package = || Error::NoPackage {
        id: crate::model::text::excerpt(id, 64),
        tenant: url.clone(),
    };
    if id == "last" {
        return kept
            .iter()
            .max_by(|a, b| (&a.imported_at, &a.id).cmp(&(&b.imported_at, &b.id)))
            .map(|p| p.id.clone())
            .ok_or_else(no_package);
    }
    if let Some(p) = kept.iter().find(|p| p.id == id) {
        return Ok(p.id.clone());
    }
    let matching: Vec<&PackageSummary> = kept
        .iter()
        .filter(|p| !id.is_empty() && p.id.starts_with(id))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(no_package()),
        more => Err(Error::AmbiguousPackage {
            id: id.to_string(),
            tenant: url.clone(),
            matches: more.iter().map(|p| p.id.clone()).collect(),
        }),
    }
}

/// The package `id` names ([`resolve_id`]) in the destination `tenant` (at `url`), with its
/// full id, unpacked. (It passed the import checks when it was kept.)
pub(crate) fn kept(
    tenant: &dyn store::Tenant,
    url: &TenantUrl,
    id: &str,
) -> Result<(String, Unpacked)> {
    let id = resolve_id(tenant, url, id)?;
    let Some(stored) = tenant.package(&id)? else {
        return Err(Error::NoPackage {
            id,
            tenant: url.clone(),
        });
    };
    let label = PathBuf::from(format!("package {id} of tenant {url}"));
    let opened = package::read::parse(&label, stored.content)?;
    let unpacked =
        crate::desired::package::unpack(opened).map_err(|problems| Error::ImportRefused {
            check: Check::Integrity,
            package: label,
            problems,
        })?;
    Ok((id, unpacked))
}

/// Imports a package ([`ImportOptions`]): the checks in order, then the package kept.
pub fn import(ctx: &Context, opts: &ImportOptions) -> Result<Imported> {
    let Checked {
        unpacked,
        url,
        passed,
        warnings,
    } = check(ctx, opts)?;
    let opened = unpacked.opened;
    let mut tenant = store::open(&url)?;
    let settings = tenant.settings()?;
    let now = ctx.now();
    let retention = Duration::from_secs(u64::from(settings.retention_days) * 86_400);
    let cutoff = now
        .checked_sub(retention)
        .map(timestamp)
        .unwrap_or_else(|| "0000".to_string());
    let manifest = opened.manifest.clone();
    let mut rows: Vec<PackageObject> = manifest
        .objects
        .iter()
        .map(|o| PackageObject {
            guid: o.guid,
            address: o.address.clone(),
            kind: o.kind.clone(),
            change: o.change.clone().unwrap_or_else(|| "carried".into()),
            status: "pending".into(),
            deployment_id: None,
            message: None,
        })
        .collect();
    rows.extend(manifest.deletions.iter().map(|d| PackageObject {
        guid: d.guid,
        address: d.address.clone(),
        kind: d.address.split('/').next().unwrap_or_default().to_string(),
        change: "deleted".into(),
        status: "pending".into(),
        deployment_id: None,
        message: None,
    }));
    let id = Uuid::now_v7().to_string();
    let removed = tenant.store_package(
        &StoredPackage {
            id: id.clone(),
            hash: opened.hash.clone(),
            name: opts
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            mode: manifest.mode.clone(),
            created_at: manifest.created_at.clone(),
            imported_at: timestamp(now),
            imported_by: ctx.actor().to_string(),
            manifest: String::from_utf8_lossy(&opened.manifest_bytes).into_owned(),
            content: opened.bytes,
            objects: rows,
        },
        &cutoff,
    )?;
    Ok(Imported {
        id,
        tenant: url,
        manifest,
        passed,
        warnings,
        removed,
        retention_days: settings.retention_days,
    })
}

/// Check 6: the custom data-source types the package's data sources name, each in the package
/// or the destination, and a type the package carries with the destination's code.
fn type_code_problems(
    objects: &[Object],
    tenant: &dyn store::Tenant,
    url: &TenantUrl,
) -> Result<Vec<String>> {
    let carried: HashMap<String, &Object> = objects
        .iter()
        .filter(|o| o.kind == "data_source_type")
        .map(|o| (o.address().to_string(), o))
        .collect();
    let code = |spec: &serde_json::Map<String, Value>| {
        spec.get("type_code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut problems = BTreeSet::new();
    for o in objects.iter().filter(|o| o.kind == "data_source") {
        if o.spec.get("type").and_then(Value::as_str) != Some("custom") {
            continue;
        }
        let Some(target) = o.spec.get("custom_type").and_then(Value::as_str) else {
            continue;
        };
        let address = o.address();
        match carried.get(target) {
            Some(t) => {
                let ours = code(&t.spec);
                let theirs = match t.guid {
                    Some(g) => tenant.object(&ObjectKey::Guid(g))?,
                    None => None,
                }
                .or(tenant.object(&ObjectKey::Address(target.to_string()))?);
                if let Some(theirs) = theirs.filter(|x| x.kind == "data_source_type") {
                    let theirs = code(&theirs.spec);
                    if theirs != ours {
                        problems.insert(format!(
                            "{address}: type {target} has type_code `{ours}` in the package and `{theirs}` in tenant {url} (a type code cannot change)"
                        ));
                    }
                }
            }
            None => {
                let found = tenant.object(&ObjectKey::Address(target.to_string()))?;
                if found.is_none_or(|f| f.kind != "data_source_type") {
                    problems.insert(format!(
                        "{address}: custom type {target} is in neither the package nor tenant {url}"
                    ));
                }
            }
        }
    }
    Ok(problems.into_iter().collect())
}

/// Check 7: every reference of the package's objects lands on an object of the package or on
/// one the destination has and the package does not delete.
fn reference_problems(
    objects: &[Object],
    manifest: &Manifest,
    registry: &Registry,
    tenant: &dyn store::Tenant,
    url: &TenantUrl,
) -> Result<Vec<String>> {
    let carried: HashSet<String> = objects.iter().map(|o| o.address().to_string()).collect();
    let deleted: HashSet<Uuid> = manifest.deletions.iter().map(|d| d.guid).collect();
    let mut wanted: Vec<(String, String, String)> = Vec::new();
    for o in objects {
        let Some(kind) = registry.get(&o.kind) else {
            continue;
        };
        for r in crate::graph::object_references(kind, o) {
            if !carried.contains(&r.target) {
                wanted.push((o.address().to_string(), r.pointer, r.target));
            }
        }
    }
    let mut problems = BTreeSet::new();
    // A deletion must leave nothing referring to the object: destination objects the package
    // neither carries (in their new form) nor deletes keep their references.
    if !deleted.is_empty() {
        let carried_guids: HashSet<Uuid> = objects.iter().filter_map(|o| o.guid).collect();
        let guids: Vec<Uuid> = deleted.iter().copied().collect();
        let edges: Vec<(Uuid, Uuid)> = tenant
            .references_of(&guids, false)?
            .into_iter()
            .filter(|(from, _)| !carried_guids.contains(from) && !deleted.contains(from))
            .collect();
        if !edges.is_empty() {
            let mut ends: Vec<Uuid> = edges.iter().flat_map(|(a, b)| [*a, *b]).collect();
            ends.sort();
            ends.dedup();
            let names = tenant.addresses(&ends)?;
            let name = |g: &Uuid| names.get(g).cloned().unwrap_or_else(|| g.to_string());
            for (from, to) in edges {
                problems.insert(format!(
                    "{} → {}: the package deletes {}, which {} in tenant {url} refers to and the package does not change",
                    name(&from),
                    name(&to),
                    name(&to),
                    name(&from)
                ));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(problems.into_iter().collect());
    }
    let targets: Vec<String> = wanted
        .iter()
        .map(|w| w.2.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = tenant.guids(&targets)?;
    for (from, pointer, target) in wanted {
        match found.get(&target) {
            Some(g) if deleted.contains(g) => {
                problems.insert(format!(
                    "{from} {pointer} → {target}: the package deletes it"
                ));
            }
            Some(_) => {}
            None => {
                problems.insert(format!(
                    "{from} {pointer} → {target}: in neither the package nor tenant {url}"
                ));
            }
        }
    }
    Ok(problems.into_iter().collect())
}
