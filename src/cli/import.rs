use ferry::context::Context;
use ferry::ops::package::{ImportOptions, DEFAULT_CREDENTIAL_ENV};

use super::prelude::*;

/// Import a deployment package into a destination tenant, after the platform's checks.
///
/// The checks run in this order and the first that fails stops the import, naming the check and
/// what to do; the destination is then unchanged: 1 integrity (the archive reads, holds only a
/// package's files, and every file has the manifest's hash) and credential (the credential given
/// is the one the destination has configured with `ferry tenant settings --credential-env`, and
/// the package's signature verifies with it); 2 platform version, 3 engine type, 4 engine mode
/// (single or multi) and 5 cluster equal to the destination's (a warning with
/// --allow-other-cluster); 6 every custom data-source type the package's data sources use is in
/// the package or the destination, with the same type_code; 7 every reference resolves in the
/// package plus the destination; 8 with --env, every secret the environment's [[secret]] entries
/// supply has a value at its source here.
///
/// A package that passes is kept in the destination with an id; packages imported longer ago
/// than the destination's retention setting (`ferry tenant settings --retention-days`) are
/// removed at the same time, and the output names them. The package is read into memory with
/// limits and never extracted to disk.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package file.
    #[arg(value_name = "FILE")]
    file: std::path::PathBuf,
    /// The destination tenant.
    #[arg(long, value_name = "URL", required_unless_present = "env")]
    to: Option<String>,
    /// Import into the tenant of this environment (the package's copy of environments/ENV.toml),
    /// and check the secrets it supplies.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The environment variable holding the shared deployment credential.
    #[arg(long, value_name = "VAR", default_value = DEFAULT_CREDENTIAL_ENV)]
    credential_env: String,
    /// Import a package from another cluster, with a warning.
    #[arg(long)]
    allow_other_cluster: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result {
    let imported = ferry::ops::package::import(
        ctx,
        &ImportOptions {
            file: args.file.clone(),
            to: args.to,
            env: args.env,
            credential_env: args.credential_env,
            allow_other_cluster: args.allow_other_cluster,
        },
    )?;
    for w in &imported.warnings {
        eprintln!("{w}");
    }
    let m = &imported.manifest;
    let mut text = String::new();
    for c in &imported.passed {
        text.push_str(&format!("passed {c}\n"));
    }
    text.push_str(&format!(
        "imported {} into {} as package {}: {} package of {} object(s), {} deletion(s), at {}\n",
        args.file.display(),
        imported.tenant,
        imported.id,
        m.mode,
        m.objects.len(),
        m.deletions.len(),
        &m.head[..m.head.len().min(12)],
    ));
    if !imported.removed.is_empty() {
        text.push_str(&format!(
            "removed {} package(s) imported more than {} day(s) ago (the tenant's retention):\n",
            imported.removed.len(),
            imported.retention_days
        ));
        for r in &imported.removed {
            text.push_str(&format!(
                "  {} {} (imported {})\n",
                r.id, r.name, r.imported_at
            ));
        }
    }
    out(&text)?;
    Ok(Success::Done)
}
