use ferry::context::Context;
use ferry::ops::package::{PackageOptions, DEFAULT_CREDENTIAL_ENV};

use super::prelude::*;

/// Make a deployment package: one file that carries objects to a destination that cannot reach
/// this repository's git server (`ferry import` checks it there).
///
/// Full (the default): every exportable object at --until. Incremental (--since A): the objects
/// added, modified or renamed from A to --until and the deletions, found by a git tree diff, so
/// only the changed files are read. Selection (--select/--exclude, the selector grammar of
/// `ferry graph --help`; `+X` brings what X depends on).
///
/// The file is a tar archive compressed with zstd (`tar --zstd -tf FILE` lists it): manifest.json,
/// signature, the object files as in the repository, environments/*.toml and the custom kind
/// schemas. The signature is a keyed blake3 MAC over the manifest, with a key derived from the
/// shared deployment credential; the manifest holds every file's blake3 hash. No secret value is
/// ever in a package: a secret field holding one is carried as `(sensitive)`. The same commit,
/// options, credential and FERRY_NOW give the same bytes. The file name follows the platform's
/// rules: no leading `.` or space, none of ? 、 \ * " < > | / :, at most 255 characters.
///
/// `ferry package list --tenant URL` and `ferry package show ID --tenant URL` report the
/// packages a destination keeps (`ferry import`).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    sub: Option<Sub>,
    /// The package file to write (written beside it first, then renamed; never through a link).
    #[arg(short, long, value_name = "FILE", required = true)]
    out: Option<std::path::PathBuf>,
    /// Make an incremental package: what changed since this revision.
    #[arg(long, value_name = "REV")]
    since: Option<String>,
    /// The revision the objects are at.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    until: String,
    /// Package only the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    select: Option<String>,
    /// Leave out the objects this selector chooses.
    #[arg(long, value_name = "EXPR")]
    exclude: Option<String>,
    /// The environment variable holding the shared deployment credential (16 characters at
    /// least).
    #[arg(long, value_name = "VAR", default_value = DEFAULT_CREDENTIAL_ENV)]
    credential_env: String,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// List the packages a tenant keeps (imported with `ferry import`), oldest first: id, mode,
    /// when it was made and imported, its file name.
    List(ListArgs),
    /// The platform's overview of one kept package: per object its change type against the
    /// destination (new, changed, unchanged, delete), whether the destination's copy changed
    /// outside ferry since it was last applied ("environment changed"), and its deployment
    /// status (pending, deploying, succeeded, failed, succeeded_with_risks); counts per
    /// category; the kinds left out of the package and why.
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    tenant: TenantFlag,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The package: its id, a unique prefix of it, or `last` (the newest import).
    #[arg(value_name = "ID")]
    id: String,
    #[command(flatten)]
    tenant: TenantFlag,
    /// Compute the change types as this environment would deploy the package (the package's
    /// copy of environments/ENV.toml).
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    match args.sub {
        Some(Sub::List(list)) => return run_list(list),
        Some(Sub::Show(show)) => return run_show(ctx, show),
        None => {}
    }
    let made = ferry::ops::package::package(
        ctx,
        &PackageOptions {
            // clap requires -o unless a subcommand is given.
            out: args.out.unwrap_or_default(),
            since: args.since,
            until: args.until,
            select: args.select,
            exclude: args.exclude,
            credential_env: args.credential_env,
        },
    )?;
    for m in &made.masked {
        eprintln!("warning: {m} holds a secret value in git; the package carries (sensitive) in its place (supply it through an environment's [[secret]])");
    }
    let m = &made.manifest;
    let mut text = format!(
        "wrote {}: {} package of {} object(s), {} deletion(s), {} other file(s); {} bytes, blake3 {}\n",
        made.path.display(),
        m.mode,
        m.objects.len(),
        m.deletions.len(),
        m.files.len(),
        made.size,
        &made.hash[..16],
    );
    text.push_str(&format!(
        "  source {} (platform {}, {} {}, cluster {}); {}{}\n",
        m.source.name,
        m.source.platform_version,
        m.source.engine,
        m.source.engine_mode,
        m.source.cluster,
        m.base
            .as_deref()
            .map(|b| format!("from {} ", &b[..b.len().min(12)]))
            .unwrap_or_default(),
        format_args!("at {}", &m.head[..m.head.len().min(12)]),
    ));
    for l in &m.left_out {
        text.push_str(&format!(
            "  left out {}{}: {}\n",
            l.kind,
            if l.objects.is_empty() {
                String::new()
            } else {
                format!(" ({} object(s))", l.objects.len())
            },
            l.reason
        ));
    }
    out(&text)?;
    Ok(Success::Done)
}

/// The columns of `ferry package list`.
const LIST_HEADER: [&str; 5] = ["ID", "MODE", "CREATED", "IMPORTED", "NAME"];

fn run_list(args: ListArgs) -> Result {
    let url = args.tenant.url()?;
    let kept = ferry::ops::package::overview::list(&url)?;
    match args.format {
        TextOrJson::Json => out_json(&serde_json::json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "tenant": url,
            "packages": kept,
        }))?,
        TextOrJson::Text => {
            if kept.is_empty() {
                eprintln!("no packages in tenant {url}: `ferry import FILE --to {url}` keeps one");
                return Ok(Success::Done);
            }
            let rows: Vec<[String; 5]> = kept
                .iter()
                .map(|p| {
                    [
                        p.id.clone(),
                        p.mode.clone(),
                        p.created_at.clone(),
                        p.imported_at.clone(),
                        ferry::model::text::excerpt(&p.name, 255),
                    ]
                })
                .collect();
            out(&table(LIST_HEADER, &rows))?;
        }
    }
    Ok(Success::Done)
}

fn run_show(ctx: &Context, args: ShowArgs) -> Result {
    let url = args.tenant.url()?;
    let overview = ferry::ops::package::overview::show(ctx, &url, &args.id, args.env.as_deref())?;
    match args.format {
        TextOrJson::Json => out_json(&serde_json::json!({
            "format_version": ferry::render::OUTPUT_VERSION,
            "package": overview,
        }))?,
        TextOrJson::Text => out(&show_text(&overview))?,
    }
    Ok(Success::Done)
}

/// The columns of the counts `ferry package show` prints per category: change types against
/// the destination, how many changed outside ferry ("environment changed"), deployment statuses.
const COUNTS_HEADER: [&str; 12] = [
    "CATEGORY",
    "OBJECTS",
    "NEW",
    "CHANGED",
    "UNCHANGED",
    "DELETE",
    "ENV-CHANGED",
    "PENDING",
    "DEPLOYING",
    "SUCCEEDED",
    "FAILED",
    "WITH-RISKS",
];

/// `ferry package show` as text: the package, the counts per category, one line per object,
/// the kinds left out.
fn show_text(o: &ferry::ops::package::overview::Overview) -> String {
    let mut text = String::new();
    let mut row = |label: &str, value: &str| text.push_str(&format!("{label:<12} {value}\n"));
    row("package", &o.id);
    row("name", &ferry::model::text::excerpt(&o.name, 255));
    row("hash", &o.hash);
    let range = match &o.base {
        Some(base) => format!("{}, from {} to {}", o.mode, short(base), short(&o.head)),
        None => format!("{}, at {}", o.mode, short(&o.head)),
    };
    row("mode", &range);
    row(
        "source",
        &format!(
            "{} (platform {}, {} {}, cluster {})",
            o.source.name,
            o.source.platform_version,
            o.source.engine,
            o.source.engine_mode,
            o.source.cluster
        ),
    );
    row("created", &o.created_at);
    row(
        "imported",
        &format!("{} by {}", o.imported_at, o.imported_by),
    );
    row("tenant", &o.tenant.to_string());
    if let Some(env) = &o.environment {
        row("environment", env);
    }
    text.push('\n');
    let mut categories: Vec<&str> = o
        .counts
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "total")
        .collect();
    categories.push("total");
    let rows: Vec<[String; 12]> = categories
        .into_iter()
        .filter_map(|category| {
            let c = o.counts.get(category)?;
            let change = |k: &str| c.changes.get(k).copied().unwrap_or(0).to_string();
            let status = |k: &str| c.statuses.get(k).copied().unwrap_or(0).to_string();
            Some([
                category.to_string(),
                c.objects.to_string(),
                change("new"),
                change("changed"),
                change("unchanged"),
                change("delete"),
                c.environment_changed.to_string(),
                status("pending"),
                status("deploying"),
                status("succeeded"),
                status("failed"),
                status("succeeded_with_risks"),
            ])
        })
        .collect();
    text.push_str(&table(COUNTS_HEADER, &rows));
    if !o.objects.is_empty() {
        text.push('\n');
        let rows: Vec<[String; 3]> = o
            .objects
            .iter()
            .map(|x| {
                let mut address = x.address.clone();
                if x.environment_changed {
                    address.push_str("  (environment changed)");
                }
                if let Some(m) = &x.message {
                    address.push_str(&format!(": {m}"));
                }
                [x.change.to_string(), x.status.clone(), address]
            })
            .collect();
        text.push_str(&table(["CHANGE", "STATUS", "OBJECT"], &rows));
    }
    for l in &o.left_out {
        text.push_str(&format!("left out {}: {}\n", l.kind, l.reason));
    }
    text
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
