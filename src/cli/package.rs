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
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package file to write (written beside it first, then renamed; never through a link).
    #[arg(short, long, value_name = "FILE")]
    out: std::path::PathBuf,
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

pub fn run(ctx: &Context, args: Args) -> Result {
    let made = ferry::ops::package::package(
        ctx,
        &PackageOptions {
            out: args.out,
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
