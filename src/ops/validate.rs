//! `ferry validate`: every check the repository's object files must pass, at a revision or in
//! the working tree.

use super::Result;
use crate::context::Context;
use crate::repo::Uncommitted;
use crate::validate::{self, Report};

/// What `ferry validate` checked and found.
#[derive(Debug)]
pub struct Validated {
    /// Every problem and every file that passed.
    pub report: Report,
    /// What was read: the revision, or "the working tree".
    pub read_from: String,
    /// The commit a revision named (`None` for the working tree).
    pub commit: Option<String>,
    /// How many files under `objects/` were checked (`.gitkeep` aside).
    pub files: usize,
    /// For the working tree in a git work tree: its uncommitted changes under `objects/`.
    pub uncommitted: Option<Uncommitted>,
    /// The environments whose files were checked, by name.
    pub environments: Vec<String>,
}

impl Validated {
    /// What was checked, in one line: the revision and its commit, or the working tree and how
    /// it stands to HEAD (the same under `objects/`, or how many uncommitted changes it has).
    pub fn checked(&self) -> String {
        let mut files = format!(
            "{} object file{}",
            self.files,
            if self.files == 1 { "" } else { "s" }
        );
        if !self.environments.is_empty() {
            files.push_str(&format!(
                ", environment{} {}",
                if self.environments.len() == 1 {
                    ""
                } else {
                    "s"
                },
                self.environments.join(", ")
            ));
        }
        if let Some(commit) = &self.commit {
            let short: String = commit.chars().take(12).collect();
            return format!("checked {} (commit {short}, {files})", self.read_from);
        }
        match &self.uncommitted {
            None => format!("checked the working tree ({files}; not a git repository)"),
            Some(u) if u.head.is_none() => {
                format!("checked the working tree ({files}); nothing is committed yet")
            }
            Some(u) if u.changes.is_empty() => format!(
                "checked the working tree ({files}); objects/ is as committed at HEAD"
            ),
            Some(u) => format!(
                "checked the working tree ({files}), which has {} uncommitted object change(s): HEAD may differ (`ferry validate --ref HEAD` checks the commit)",
                u.changes.len()
            ),
        }
    }
}

/// Checks the repository at `revision` (the working tree when `None`): its object files, and
/// the environment files of `environments/` read from the same place, only `env`'s when given
/// (an error when it has none).
pub fn validate(ctx: &Context, revision: Option<&str>, env: Option<&str>) -> Result<Validated> {
    let mut ws = ctx.workspace(revision)?;
    let files = ws
        .snapshot
        .objects
        .iter()
        .filter(|f| !f.path.ends_with("/.gitkeep"))
        .count();
    let uncommitted = match revision {
        Some(_) => None,
        None => crate::repo::uncommitted_objects(&ws.root)?,
    };
    let mut report = validate::check(std::mem::take(&mut ws.snapshot.objects), &ws.registry);
    let mut environments = crate::repo::environment_files(&ws.root, revision)?;
    let known: Vec<String> = environments.iter().map(|(n, _)| n.clone()).collect();
    if let Some(name) = env {
        if !environments.iter().any(|(n, _)| n == name) {
            // The error that names what there is.
            super::pipeline::environment(&ws.root, revision, name)?;
        }
        environments.retain(|(n, _)| n == name);
    }
    let objects: Vec<crate::model::Object> =
        report.objects.iter().map(|l| l.object.clone()).collect();
    report.problems.extend(validate::check_environments(
        &environments,
        &known,
        &objects,
        &ws.registry,
    ));
    Ok(Validated {
        report,
        read_from: ws.read_from(),
        commit: ws.snapshot.commit.clone(),
        files,
        uncommitted,
        environments: environments.into_iter().map(|(n, _)| n).collect(),
    })
}
