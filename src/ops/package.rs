//! `ferry package` and `ferry import`: a change carried as one file to a destination that cannot
//! reach the source's git server, and checked on arrival (the format: [`crate::package`]).
//!
//! `package` reads the repository from git like `plan` does: every exportable object at a
//! revision (full), the objects a git tree diff finds changed between two commits and the
//! deletions (incremental: its cost follows the change), or the objects a selector chooses
//! (selection). `import` runs the platform's checks in order, stops at the first that fails
//! with the destination unchanged, and keeps a package that passes in the destination.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::{Error, Result};
use crate::config::{Config, SourceFacts, CONFIG_FILE};
use crate::context::{timestamp, Context};
use crate::desired::environment::Environment;
use crate::desired::{overlay, secrets};
use crate::graph::Graph;
use crate::kinds::{Exportable, Registry, BUILTIN_KINDS, KINDS_DIR};
use crate::model::Object;
use crate::package::{self, Deletion, FileEntry, LeftOut, Manifest, ObjectEntry, PackageError};
use crate::repo::{self, Source, SourceFile};
use crate::secret::{Secret, PLACEHOLDER};
use crate::store::{self, ObjectKey, PackageObject, PackageSummary, StoredPackage, TenantUrl};
use crate::validate;

/// The variable the deployment credential is read from when no `--credential-env` is given.
pub const DEFAULT_CREDENTIAL_ENV: &str = "FERRY_DEPLOYMENT_CREDENTIAL";

/// What `ferry package` makes.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The package file to write.
    pub out: PathBuf,
    /// `--since`: an incremental package from this revision.
    pub since: Option<String>,
    /// `--until`: the revision the objects are at.
    pub until: String,
    /// `--select`.
    pub select: Option<String>,
    /// `--exclude`.
    pub exclude: Option<String>,
    /// The variable holding the deployment credential.
    pub credential_env: String,
}

/// A package made.
#[derive(Debug, Clone)]
pub struct Made {
    /// Where it was written.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its size in bytes.
    pub size: usize,
    /// blake3 of the file.
    pub hash: String,
    /// Secret fields whose value the repository holds, carried as the placeholder instead:
    /// "ADDRESS POINTER".
    pub masked: Vec<String>,
}

/// The deployment credential in `var`: set, and long enough.
fn credential(ctx: &Context, var: &str) -> Result<Secret> {
    let value = Secret::new(ctx.var(var).ok_or_else(|| Error::VarNotSet {
        var: var.to_string(),
    })?);
    if value.expose().len() < super::tenant::MIN_CREDENTIAL_LEN {
        return Err(Error::ShortCredential {
            var: var.to_string(),
            min: super::tenant::MIN_CREDENTIAL_LEN,
        });
    }
    Ok(value)
}

/// Whether a schema file of `schemas/kinds/` is a custom kind's (not named like a built-in).
fn is_custom_schema(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .and_then(|n| n.strip_suffix(".schema.json"))
        .is_some_and(|kind| !BUILTIN_KINDS.iter().any(|(b, _)| *b == kind))
}

/// `object` with every secret field that holds a value replaced by the placeholder; the
/// pointers replaced.
fn mask_secrets(object: &mut Object, registry: &Registry) -> Vec<String> {
    let Some(kind) = registry.get(&object.kind) else {
        return Vec::new();
    };
    let mut doc = serde_json::json!({ "spec": Value::Object(std::mem::take(&mut object.spec)) });
    let mut hits = Vec::new();
    for pattern in &kind.secrets {
        for (at, value) in crate::model::pointer::select(&doc, pattern) {
            if value.as_str() != Some(PLACEHOLDER) {
                hits.push(at);
            }
        }
    }
    for at in &hits {
        if let Some(slot) = doc.pointer_mut(at) {
            *slot = Value::String(PLACEHOLDER.into());
        }
    }
    if let Some(Value::Object(spec)) = doc.get_mut("spec").map(Value::take) {
        object.spec = spec;
    }
    hits
}

/// Why an object of this kind and spec is not exportable, if it is not.
fn refused<'r>(registry: &'r Registry, object: &Object) -> Option<&'r str> {
    registry.get(&object.kind)?.exportable.refuses(&object.spec)
}

/// Makes a package ([`PackageOptions`]) and writes it.
pub fn package(ctx: &Context, opts: &PackageOptions) -> Result<Made> {
    let name = opts
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    package::check_name(&name).map_err(|rule| PackageError::Name {
        path: opts.out.clone(),
        rule,
    })?;
    let selecting = opts.select.is_some() || opts.exclude.is_some();
    if opts.since.is_some() && selecting {
        return Err(Error::PackageModes);
    }
    let credential = credential(ctx, &opts.credential_env)?;
    let root = ctx.root_at(Some(&opts.until))?;
    // ferry.toml, the kind schemas and the commit, without the object files (an incremental
    // package reads only the changed ones).
    let incremental = opts.since.is_some();
    let skip_all = |_: &str, _: &repo::BlobKey| true;
    let keep_all = |_: &str, _: &repo::BlobKey| false;
    let skip: &dyn Fn(&str, &repo::BlobKey) -> bool =
        if incremental { &skip_all } else { &keep_all };
    let mut snapshot = repo::snapshot_at(&root, &opts.until, skip)?;
    let source = source_facts(&snapshot, &opts.until)?;
    let registry = repo::registry_for(&snapshot)?;
    let head = snapshot.commit.clone().unwrap_or_default();

    let mut loaded: Vec<(validate::Loaded, Option<&'static str>)> = Vec::new();
    let mut deletions = Vec::new();
    let mut base = None;
    let mut left: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    let place = |rev: &str| Some(format!("the repository at {rev}"));
    if let Some(since) = &opts.since {
        let changed = repo::changed_files(
            &root,
            &Source::Revision(since.clone()),
            &Source::Revision(opts.until.clone()),
        )?;
        base = changed.from.clone();
        let old_registry = repo::registry_for(&repo::Snapshot {
            kind_files: changed.old_kind_files.clone(),
            ..Default::default()
        })?;
        let diff = crate::diff::diff(&changed, &old_registry, &registry);
        let new_files: HashMap<&str, &SourceFile> = changed
            .files
            .iter()
            .filter_map(|f| Some((f.path.as_str(), f.new.as_ref()?)))
            .collect();
        let mut files = Vec::new();
        let mut change_of: HashMap<String, &'static str> = HashMap::new();
        for c in &diff.changes {
            if c.action == crate::diff::Action::Deleted {
                let kind = old_registry.get(&c.kind);
                if kind.is_some_and(|k| matches!(k.exportable, Exportable::Never { .. })) {
                    continue;
                }
                deletions.push(Deletion {
                    address: c.address.to_string(),
                    guid: c.guid,
                });
            } else if let Some(f) = new_files.get(c.path.as_str()) {
                files.push((*f).clone());
                change_of.insert(c.path.clone(), c.action.as_str());
            }
        }
        // The changed files validated alone: references to objects not read are taken as
        // resolving (the destination is checked on import).
        let known = validate::Known {
            has_address: Box::new(|_| true),
            path_of: Box::new(|_| None),
        };
        let report = validate::check_with(files, &registry, &known);
        let mut problems = report.problems.clone();
        problems.extend(diff.warnings.iter().map(|w| validate::Problem {
            path: w.path.clone(),
            position: w.position,
            address: None,
            code: validate::Code::Syntax,
            message: w.message.clone(),
            hint: None,
        }));
        if !problems.is_empty() {
            return Err(Error::Invalid {
                place: place(&opts.until),
                problems,
                consequence: "no package was made".into(),
            });
        }
        for l in report.objects {
            let change = change_of.get(&l.path).copied();
            loaded.push((l, change));
        }
        deletions.sort_by(|a, b| a.address.cmp(&b.address));
    } else {
        let files = std::mem::take(&mut snapshot.objects);
        let report = validate::check(files, &registry);
        if !report.is_ok() {
            return Err(Error::Invalid {
                place: place(&opts.until),
                problems: report.problems,
                consequence: "no package was made".into(),
            });
        }
        let chosen = if selecting {
            let graph = Graph::build(report.objects.iter().map(|l| &l.object), &registry);
            Some(
                super::pipeline::choose(&graph, opts.select.as_deref(), opts.exclude.as_deref())?
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<HashSet<String>>(),
            )
        } else {
            None
        };
        for l in report.objects {
            if chosen
                .as_ref()
                .is_none_or(|c| c.contains(&l.object.address().to_string()))
            {
                loaded.push((l, None));
            }
        }
    }
    // Kinds that are never exported are named whether or not the repository has objects of them.
    for kind in registry.iter() {
        if let Exportable::Never { reason } = &kind.exportable {
            left.insert(kind.name.clone(), (reason.clone(), Vec::new()));
        }
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut objects = Vec::new();
    let mut masked = Vec::new();
    for (l, change) in loaded {
        let mut object = l.object;
        if let Some(reason) = refused(&registry, &object) {
            left.entry(object.kind.clone())
                .or_insert_with(|| (reason.to_string(), Vec::new()))
                .1
                .push(object.address().to_string());
            continue;
        }
        let address = object.address().to_string();
        let hits = mask_secrets(&mut object, &registry);
        let bytes = if hits.is_empty() {
            l.text.into_bytes()
        } else {
            masked.extend(hits.iter().map(|p| format!("{address} {p}")));
            crate::model::canonical::to_canonical(&object, registry.get(&object.kind))
                .map_err(|source| Error::PackageObject {
                    path: l.path.clone(),
                    source,
                })?
                .into_bytes()
        };
        let Some(guid) = object.guid else {
            return Err(Error::Invalid {
                place: place(&opts.until),
                problems: vec![validate::Problem {
                    path: l.path.clone(),
                    position: None,
                    address: Some(address),
                    code: validate::Code::Schema,
                    message: "the object has no guid".into(),
                    hint: Some("run `ferry fmt` to give it one, and commit".into()),
                }],
                consequence: "no package was made".into(),
            });
        };
        objects.push(ObjectEntry {
            address,
            guid,
            kind: object.kind.clone(),
            path: l.path.clone(),
            blake3: package::hash(&bytes),
            change: change.map(String::from),
        });
        files.push((l.path, bytes));
    }
    objects.sort_by(|a, b| a.path.cmp(&b.path));
    let mut other = Vec::new();
    for (env, bytes) in repo::environment_files(&root, Some(&opts.until))? {
        other.push((format!("{}/{env}.toml", repo::ENVIRONMENTS_DIR), bytes));
    }
    for f in &snapshot.kind_files {
        if is_custom_schema(&f.path) {
            let name = f.path.rsplit('/').next().unwrap_or_default();
            other.push((format!("{KINDS_DIR}/{name}"), f.bytes.clone()));
        }
    }
    other.sort();
    let file_entries: Vec<FileEntry> = other
        .iter()
        .map(|(path, bytes)| FileEntry {
            path: path.clone(),
            blake3: package::hash(bytes),
        })
        .collect();
    files.extend(other);
    let manifest = Manifest {
        format_version: package::FORMAT_VERSION,
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        source,
        mode: if incremental {
            "incremental"
        } else if selecting {
            "selection"
        } else {
            "full"
        }
        .to_string(),
        base,
        head,
        select: opts.select.clone(),
        exclude: opts.exclude.clone(),
        created_at: ctx.timestamp(),
        objects,
        deletions,
        left_out: left
            .into_iter()
            .map(|(kind, (reason, mut objects))| {
                objects.sort();
                LeftOut {
                    kind,
                    reason,
                    objects,
                }
            })
            .collect(),
        files: file_entries,
    };
    let manifest_bytes = manifest.to_bytes();
    let signature = package::sign(&credential, &manifest_bytes);
    let bytes = package::build(&manifest_bytes, &signature, &files);
    package::write_file(&opts.out, &bytes)?;
    Ok(Made {
        path: opts.out.clone(),
        size: bytes.len(),
        hash: package::hash(&bytes),
        manifest,
        masked,
    })
}

/// The source facts of `ferry.toml` in `snapshot`.
fn source_facts(snapshot: &repo::Snapshot, revision: &str) -> Result<SourceFacts> {
    let config = snapshot
        .config
        .as_ref()
        .ok_or_else(|| Error::NoSourceFacts {
            revision: revision.to_string(),
        })?;
    let config = Config::parse(
        &String::from_utf8_lossy(&config.bytes),
        Path::new(CONFIG_FILE),
    )?;
    config.source.ok_or_else(|| Error::NoSourceFacts {
        revision: revision.to_string(),
    })
}

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

/// The environment `name` as the package carries it.
pub(crate) fn package_environment(
    opened: &package::Opened,
    name: &str,
    file: &Path,
) -> Result<Environment> {
    let path = crate::desired::environment::path_of(name);
    match opened.files.get(&path) {
        Some(bytes) => Ok(Environment::parse(name, bytes)?),
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
        .map(|name| package_environment(opened, name, &opts.file))
        .transpose()?;
    let url = {
        // The package's environment file names the tenant as its source repository saw it:
        // --to, given on the destination's side, wins over it.
        let given = opts.to.as_deref().map(TenantUrl::parse).transpose()?;
        match (&env, given) {
            (_, Some(given)) => given,
            (Some(env), None) => super::pipeline::tenant_of(&base, env, None)?,
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
    if super::tenant::credential_fingerprint(&credential) != stored {
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

/// The package `id` the destination `tenant` (at `url`) keeps, unpacked. (It passed the import
/// checks when it was kept.)
pub(crate) fn kept(tenant: &dyn store::Tenant, url: &TenantUrl, id: &str) -> Result<Unpacked> {
    let Some(stored) = tenant.package(id)? else {
        return Err(Error::NoPackage {
            id: id.to_string(),
            tenant: url.clone(),
        });
    };
    let label = PathBuf::from(format!("package {id} of tenant {url}"));
    let opened = package::read::parse(&label, stored.content)?;
    crate::desired::package::unpack(opened).map_err(|problems| Error::ImportRefused {
        check: Check::Integrity,
        package: label,
        problems,
    })
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
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<String> = wanted
        .iter()
        .map(|w| w.2.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = tenant.guids(&targets)?;
    let mut problems = BTreeSet::new();
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
