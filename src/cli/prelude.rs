//! Flag groups several commands share, defined once (cargo's `command_prelude`), and the output
//! helpers every command prints with.

use std::io::Write as _;
use std::time::Duration;

use ferry::ops::pipeline::PlanRequest;
use ferry::plan::Options;
use ferry::store::{Lock, TenantUrl};

pub use super::error::{Class, CliError, Success};

/// A command's result.
pub type Result<T = Success> = std::result::Result<T, CliError>;

/// The long help of every `--select`.
pub const SELECT_HELP: &str = "Only the objects this selector chooses over the dependency graph.

  kind/name, kind/project/name   an address; `*` matches within a part, `**` across parts
  name                           a name glob, any kind
  kind:K  category:C  project:P  by kind, category or project (globs allowed for K and P)
  +X   X and everything it depends on (N+X: to depth N)
  X+   X and everything that depends on it (X+N: to depth N)
  @X   X, everything that depends on it, and everything those depend on
  A B  union (space);  A,B  intersection (comma)

A part that matches nothing is an error, suggesting the nearest existing names. Example:
--select 'derived_metric/retail_dw/gmv_1d_store+'";

/// The output formats most commands offer: text for people, JSON for machines.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TextOrJson {
    /// For people.
    Text,
    /// For machines (described by a schema in schemas/output/).
    Json,
}

// `--repo DIR`, for the commands that read the tenant repository. (Not a doc comment: a
// flattened group's doc comment would become the help of the command it is flattened into.)
#[derive(Debug, Clone, clap::Args)]
pub struct RepoFlag {
    /// The tenant repository (default: the nearest folder, from here up, with a ferry.toml).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<std::path::PathBuf>,
}

/// `--tenant URL`, for the commands that read or edit one tenant.
#[derive(Debug, Clone, clap::Args)]
pub struct TenantFlag {
    /// The tenant (sqlite:PATH).
    #[arg(long = "tenant", value_name = "URL")]
    pub tenant: String,
}

impl TenantFlag {
    /// The tenant URL, parsed.
    pub fn url(&self) -> Result<TenantUrl> {
        tenant_url(&self.tenant)
    }
}

/// `--select` and `--exclude`.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectFlags {
    /// Only the objects this selector chooses over the dependency graph (--help: the grammar).
    #[arg(long, value_name = "EXPR", long_help = SELECT_HELP)]
    pub select: Option<String>,
    /// Leave out the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    pub exclude: Option<String>,
}

/// What to do when destination objects were changed outside ferry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDrift {
    /// Say so in the plan.
    Warn,
    /// Refuse to plan.
    Fail,
}

/// The flags that say what to plan, shared by `plan` and `apply` (the destination, `--to`, is
/// each command's own: required by one, optional in the other).
#[derive(Debug, Clone, clap::Args)]
pub struct PlanFlags {
    /// The git revision to deploy.
    #[arg(long = "ref", value_name = "REF", default_value = "HEAD")]
    pub revision: String,
    /// Delete objects ferry applied earlier that the revision no longer has.
    #[arg(long)]
    pub prune: bool,
    /// Plan a deployment package instead of --ref: a package file (checked as `ferry import`
    /// checks it; `apply` imports it first) or the id of a package the destination keeps. An
    /// incremental or selection package changes only what it carries and deletes what it lists
    /// (without --prune); --env uses the package's copy of the environment file. Needs --to.
    #[arg(long, value_name = "FILE|ID", conflicts_with = "revision")]
    pub package: Option<String>,
    #[command(flatten)]
    pub checks: PlanChecks,
}

/// The plan flags `rollback` shares with `plan` (it chooses the revision and prunes itself).
#[derive(Debug, Clone, clap::Args)]
pub struct PlanChecks {
    /// Make the destination's own object at a desired address ferry's (it takes the desired
    /// GUID), instead of failing with a conflict.
    #[arg(long)]
    pub adopt: bool,
    /// What to do when destination objects were changed outside ferry since it applied them.
    #[arg(long, value_enum, default_value = "warn")]
    pub on_drift: OnDrift,
    /// A destination on another compute cluster is an error, not a warning.
    #[arg(long)]
    pub require_same_cluster: bool,
    #[command(flatten)]
    pub selection: SelectFlags,
    #[command(flatten)]
    pub env: EnvFlag,
    /// Allow up to M deletes: needed when the plan deletes more than the environment's
    /// `max_deletes`, or (without --env) every object ferry manages in the destination; a plan
    /// with more than M deletes is refused. A saved plan records it.
    #[arg(long, value_name = "M")]
    pub allow_deletes: Option<usize>,
}

// `--env ENV`. (Not a doc comment: see RepoFlag.)
#[derive(Debug, Clone, clap::Args)]
pub struct EnvFlag {
    /// The environment (environments/ENV.toml at the revision read): its overrides, secrets,
    /// guards and gate, and its tenant when --to is not given.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
}

impl PlanChecks {
    /// The plan request for the destination `to` (or the environment's tenant) at `revision`.
    pub fn request(
        &self,
        ctx: &ferry::context::Context,
        to: Option<&str>,
        revision: &str,
        prune: bool,
    ) -> Result<PlanRequest> {
        let env = self.env.env.as_deref();
        Ok(PlanRequest {
            to: match (to, env) {
                (Some(to), None) => tenant_url(to)?,
                _ => ferry::ops::pipeline::destination(ctx, to, env, revision)?,
            },
            revision: revision.to_string(),
            options: Options {
                prune,
                adopt: self.adopt,
                fail_on_drift: self.on_drift == OnDrift::Fail,
                require_same_cluster: self.require_same_cluster,
            },
            select: self.selection.select.clone(),
            exclude: self.selection.exclude.clone(),
            rollback_of: None,
            env: env.map(String::from),
            allow_deletes: self.allow_deletes,
            package: None,
        })
    }
}

impl PlanFlags {
    /// The plan request for the destination `to` (or the environment's tenant).
    pub fn request(&self, ctx: &ferry::context::Context, to: Option<&str>) -> Result<PlanRequest> {
        if let Some(package) = &self.package {
            let to = to.ok_or(ferry::ops::Error::PackageWithoutTo)?;
            // The environment is the package's: its tenant is not read from the repository.
            let mut checks = self.checks.clone();
            checks.env.env = None;
            let mut request = checks.request(ctx, Some(to), &self.revision, self.prune)?;
            request.env = self.checks.env.env.clone();
            request.package = Some(package.clone());
            return Ok(request);
        }
        self.checks.request(ctx, to, &self.revision, self.prune)
    }
}

/// The longest duration a flag takes (`--ttl`, `--lock-wait`): 100 years of 365.25 days.
pub const LONGEST: Duration = Duration::from_secs(100 * 31_557_600);

/// Parses a duration flag (`30s`, `5m`, `2h`, `7d`), refusing one longer than [`LONGEST`].
pub fn duration(text: &str) -> std::result::Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d > LONGEST {
        return Err(format!(
            "`{text}` is longer than 100 years, the longest ferry takes; give a shorter duration (e.g. 30m, 2h, 7d)"
        ));
    }
    Ok(d)
}

/// Rows of cells as a table under a header row, columns two spaces apart (the last one not
/// padded): what `history` and `object list` print.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 2;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text + "\n"
    };
    let mut text = line(header);
    for row in rows {
        text.push_str(&line(row.each_ref().map(String::as_str)));
    }
    text
}

/// A held lock, for `tenant info` and `status`: who, why, until when, and the process that
/// keeps it renewed when it is an apply run's lease.
pub fn lock_text(l: &Lock) -> String {
    let mut text = format!(
        "held by {} for `{}` until {}",
        l.holder, l.purpose, l.expires_at
    );
    if let Some(lease) = &l.lease {
        text.push_str(&format!(
            " (lease: pid {} on host {}, renewed {})",
            lease.pid, lease.host, lease.renewed_at
        ));
    }
    text
}

/// A tenant URL argument, parsed.
pub fn tenant_url(text: &str) -> Result<TenantUrl> {
    TenantUrl::parse(text).map_err(|e| ferry::ops::Error::from(e).into())
}

/// Writes data to stdout; a closed pipe (`ferry graph | head`) ends the command quietly.
pub fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(CliError::new(Class::Closed, "stdout was closed"))
        }
        Err(e) => Err(CliError::new(
            Class::Environment,
            format!("cannot write to stdout: {e}"),
        )),
    }
}

/// Prints JSON on stdout.
pub fn out_json(value: &serde_json::Value) -> Result<()> {
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    ))
}

/// A JSON document with `format_version` first, then the fields of `value`.
pub fn document(value: &impl serde::Serialize) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert(
        "format_version".into(),
        ferry::render::OUTPUT_VERSION.into(),
    );
    if let serde_json::Value::Object(fields) = serde_json::to_value(value).expect("serializes") {
        doc.extend(fields);
    }
    doc.into()
}

/// Whether to colour stdout: a terminal, and neither `NO_COLOR` nor `--no-color`.
pub fn colour(ctx: &ferry::context::Context) -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && !ctx.no_colour()
}
