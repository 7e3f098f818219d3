//! The promotion gate: `requires = ["test"]` in `environments/prod.toml` lets `apply --env prod`
//! write only a revision whose objects were applied successfully to the `test` environment's
//! tenant first, as that tenant's deployment history records.
//!
//! "The same objects" is the revision's [`Content`]: the tree id of its `objects/` and a digest
//! of its custom kind schemas, not the commit id, so a merge commit with the objects test had
//! passes. The environment files are not part of it: test's overlay differs from prod's by
//! design. Any succeeded deployment in test's history with that content counts, not only the
//! newest (test may have moved on since); one made with `--select`/`--exclude` records no
//! content, since it applied part of a revision. A rollback is not gated: it returns a tenant to
//! what it already had. [`check`] decides from what the caller read of each required tenant.

use crate::desired::environment::Environment;
use crate::store::{Content, Deployment, TenantUrl};

/// What one required environment's tenant has.
#[derive(Debug, Clone, Copy)]
pub struct Requirement<'a> {
    /// The required environment (`test`).
    pub env: &'a str,
    /// The line of the `requires` entry naming it.
    pub line: usize,
    /// Its tenant.
    pub tenant: &'a TenantUrl,
    /// Its newest succeeded deployment of the same content, if any.
    pub found: Option<&'a Deployment>,
    /// Its newest succeeded deployment, of whatever content.
    pub last: Option<&'a Deployment>,
}

/// A required environment that has not had the objects applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The required environment.
    pub env: String,
    /// `environments/prod.toml:3`: where it is required.
    pub at: String,
    /// Its tenant.
    pub tenant: String,
    /// Its newest succeeded deployment: id and commit.
    pub last: Option<(String, String)>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` (required at {}; tenant {}) has not had them applied successfully: ",
            self.env, self.at, self.tenant
        )?;
        match &self.last {
            Some((id, commit)) => write!(
                f,
                "it last had commit {} applied, with other objects (deployment {id})",
                short(commit)
            ),
            None => write!(f, "it has had nothing applied yet"),
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The gate refuses the revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// A required environment's tenant has not had the revision's objects applied.
    #[error("the promotion gate of environment `{env}` refuses the objects of commit {}: {}; nothing was applied", short(commit), crate::model::text::listed(missing, "; "))]
    NotPromoted {
        /// The environment applied to.
        env: String,
        /// The revision's commit.
        commit: String,
        /// Each required environment that lacks it.
        missing: Vec<Missing>,
    },
}

/// Checks the gate of `env` for the revision `commit` whose objects are `content` (`None`: it
/// has no `objects/`, so nothing can have been applied of it), given what each required
/// environment's tenant has (`required`, in `requires` order).
pub fn check(
    env: &Environment,
    commit: &str,
    content: Option<&Content>,
    required: &[Requirement],
) -> Result<(), GateError> {
    let missing: Vec<Missing> = required
        .iter()
        .filter(|r| {
            content.is_none()
                || r.found
                    .is_none_or(|d| d.status != "succeeded" || d.content.as_ref() != content)
        })
        .map(|r| Missing {
            env: r.env.to_string(),
            at: env.at(r.line),
            tenant: r.tenant.to_string(),
            last: r.last.map(|d| (d.id.clone(), d.source.clone())),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(GateError::NotPromoted {
            env: env.name.clone(),
            commit: commit.to_string(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(id: &str, commit: &str, tree: &str, status: &str) -> Deployment {
        Deployment {
            id: id.into(),
            source: commit.into(),
            plan_hash: "h".into(),
            actor: "ci".into(),
            started_at: "2026-01-31T12:00:00Z".into(),
            finished_at: None,
            status: status.into(),
            results: Vec::new(),
            rollback_of: None,
            content: Some(Content {
                objects_tree: tree.into(),
                custom_kinds: None,
            }),
            skip_gate: None,
        }
    }

    #[test]
    fn the_gate_passes_on_the_same_objects_and_names_what_test_last_had() {
        let env = Environment::parse("prod", b"requires = [\"test\"]\n").unwrap();
        let tenant = TenantUrl::parse("sqlite:/t/test.db").unwrap();
        let content = Content {
            objects_tree: "t1".into(),
            custom_kinds: None,
        };
        let same = deployment("d1", "c0ffee000000aa", "t1", "succeeded");
        let other = deployment("d2", "beefbeefbeefbb", "t2", "succeeded");
        let req = |found, last| Requirement {
            env: "test",
            line: 1,
            tenant: &tenant,
            found,
            last,
        };
        check(
            &env,
            "abc",
            Some(&content),
            &[req(Some(&same), Some(&other))],
        )
        .unwrap();
        let e = check(
            &env,
            "abcdef1234567890",
            Some(&content),
            &[req(None, Some(&other))],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the promotion gate of environment `prod` refuses the objects of commit abcdef123456: `test` (required at environments/prod.toml:1; tenant sqlite:/t/test.db) has not had them applied successfully: it last had commit beefbeefbeef applied, with other objects (deployment d2); nothing was applied"
        );
        // Another content found (a store that matched loosely) or a failed one does not count.
        let failed = deployment("d3", "c0ffee000000aa", "t1", "failed");
        assert!(check(&env, "abc", Some(&content), &[req(Some(&other), None)]).is_err());
        assert!(check(&env, "abc", Some(&content), &[req(Some(&failed), None)]).is_err());
        assert!(check(&env, "abc", None, &[req(Some(&same), None)]).is_err());
        let e = check(&env, "abc", Some(&content), &[req(None, None)]).unwrap_err();
        assert!(
            e.to_string().contains("it has had nothing applied yet"),
            "{e}"
        );
    }
}
