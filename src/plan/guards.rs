//! Deletion guards: what an environment file says may never be deleted, and how much one plan may
//! delete. They live in `environments/<env>.toml` (`[guards]`), not in object files, so that
//! deleting an object's file cannot delete its protection too (Terraform's `prevent_destroy`
//! hole). [`check`] is pure over a built plan; the pipeline calls it for every plan, so `plan`,
//! `apply` and `apply PLAN` (which makes its plan again) all refuse the same way.
//!
//! - `protect = [SELECTOR, …]`: the objects the selectors choose **in the destination** (its
//!   objects as they are: a deleted object is no longer desired, so only the destination still
//!   names it) may not be deleted or renamed. A selector that matches nothing there nor among
//!   the desired objects is an error at its line, as an override's is: a typo must not leave
//!   prod unprotected. The selectors are evaluated for plans that delete or rename something,
//!   the only ones they can refuse, so that other plans keep the cost of their change.
//! - `max_deletes = N`: more than N deletes is an error unless `--allow-deletes M` with M at
//!   least the number of deletes. `--allow-deletes M` is a cap of its own: a plan with more than
//!   M deletes is refused whatever the environment says.
//! - A plan that deletes every object ferry manages in the destination (at least one) is refused
//!   unless the environment says `allow_empty = true`; without `--env`, unless `--allow-deletes M`
//!   acknowledges that many deletes. An empty or wrong revision (`--ref` of a branch that lost
//!   `objects/`) should never empty a tenant by accident, as Argo CD refuses to prune everything
//!   without `allowEmpty`.

use std::collections::{BTreeMap, HashSet};

use uuid::Uuid;

use super::{Action, Plan};
use crate::desired::environment::{EnvError, EnvProblem, Environment};
use crate::graph::Graph;
use crate::kinds::Registry;
use crate::model::{text, Object};

/// What the guards are checked with, besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct Guards<'a> {
    /// The environment (`--env`), whose `[guards]` apply.
    pub env: Option<&'a Environment>,
    /// `--allow-deletes M`.
    pub allow_deletes: Option<usize>,
    /// How many objects ferry manages in the destination (applied by ferry, still there).
    pub managed: usize,
}

/// A protected object the plan deletes or renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedChange {
    /// Its address in the destination.
    pub address: String,
    /// For a rename: the address it would get.
    pub renamed_to: Option<String>,
    /// The selector that protects it, as written.
    pub selector: String,
    /// `environments/prod.toml:19`.
    pub by: String,
}

impl std::fmt::Display for ProtectedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.renamed_to {
            Some(to) => write!(f, "{} (renamed to {to}", self.address)?,
            None => write!(f, "{} (deleted", self.address)?,
        }
        write!(f, "; protected by `{}` at {})", self.selector, self.by)
    }
}

/// A plan the guards refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// A `protect` selector that matches nothing (or does not hold).
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The plan deletes or renames protected objects.
    #[error("environment `{env}` protects {} object(s) this plan deletes or renames: {}; nothing was planned", objects.len(), text::listed(objects, "; "))]
    Protected {
        /// The environment.
        env: String,
        /// Its file.
        file: String,
        /// Each object, by address.
        objects: Vec<ProtectedChange>,
    },
    /// More deletes than `max_deletes` (or `--allow-deletes`) allows.
    #[error("the plan deletes {deletes} object(s), more than {}; nothing was planned", limit(env, *allowed))]
    TooManyDeletes {
        /// The environment's `max_deletes` with its file and line: (name, `file:line`, N).
        env: Option<(String, String, usize)>,
        /// `--allow-deletes M`.
        allowed: Option<usize>,
        /// How many the plan deletes.
        deletes: usize,
    },
    /// The plan deletes everything ferry manages in the destination.
    #[error("the plan deletes every object ferry manages in {tenant} ({deletes} of {deletes}) and keeps none{}; nothing was planned", match env { Some((name, _)) => format!(": environment `{name}` does not allow an empty desired state"), None => String::new() })]
    Empty {
        /// The destination.
        tenant: String,
        /// How many it deletes.
        deletes: usize,
        /// The environment and its file.
        env: Option<(String, String)>,
    },
}

fn limit(env: &Option<(String, String, usize)>, allowed: Option<usize>) -> String {
    match (env, allowed) {
        (Some((name, at, max)), Some(m)) => format!(
            "max_deletes = {max} of environment `{name}` ({at}) and --allow-deletes {m} allow"
        ),
        (Some((name, at, max)), None) => {
            format!("max_deletes = {max} of environment `{name}` ({at}) allows")
        }
        (None, Some(m)) => format!("--allow-deletes {m} allows"),
        (None, None) => "allowed".to_string(),
    }
}

/// The GUIDs of the destination objects each `protect` selector of `env` chooses in `actual`
/// (the destination's graph), with the selector and its line. A selector that matches nothing
/// there is looked for among `desired` (built only then): matching nothing in either is an
/// error at its line.
pub fn protected(
    env: &Environment,
    actual: &Graph,
    desired: &[Object],
    registry: &Registry,
) -> Result<BTreeMap<Uuid, (String, usize)>, EnvError> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    let mut desired_graph: Option<Graph> = None;
    for (selector, line) in &env.protect {
        match selector.select(actual) {
            Ok(chosen) => {
                for node in actual.nodes().filter(|n| chosen.contains(&n.address)) {
                    if let Some(guid) = node.guid {
                        out.entry(guid).or_insert((selector.to_string(), *line));
                    }
                }
            }
            Err(in_actual) => {
                let graph =
                    desired_graph.get_or_insert_with(|| Graph::build(desired.iter(), registry));
                if selector.select(graph).is_err() {
                    problems.push(EnvProblem {
                        line: *line,
                        message: format!("[guards] protect: neither the destination nor the desired objects have what it names: {in_actual}; a selector that matches nothing protects nothing, so a typo is an error rather than an unprotected object"),
                    });
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(EnvError {
            path: env.path.clone(),
            problems,
        })
    }
}

/// Checks the plan against the guards: protected objects (`protected`, from [`protected`]) are
/// neither deleted nor renamed; not everything ferry manages is deleted; not more deletes than
/// `max_deletes` and `--allow-deletes` allow. The first that fails is the error.
pub fn check(
    plan: &Plan,
    guards: &Guards,
    protected: &BTreeMap<Uuid, (String, usize)>,
) -> Result<(), GuardError> {
    let deletes = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    if let Some(env) = guards.env {
        let mut hit: Vec<ProtectedChange> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Delete | Action::Rename))
            .filter_map(|c| {
                let (selector, line) = protected.get(&c.guid)?;
                Some(match c.action {
                    Action::Rename => ProtectedChange {
                        address: c.old_address.clone().unwrap_or_else(|| c.address.clone()),
                        renamed_to: Some(c.address.clone()),
                        selector: selector.clone(),
                        by: env.at(*line),
                    },
                    _ => ProtectedChange {
                        address: c.address.clone(),
                        renamed_to: None,
                        selector: selector.clone(),
                        by: env.at(*line),
                    },
                })
            })
            .collect();
        if !hit.is_empty() {
            hit.sort_by(|a, b| a.address.cmp(&b.address));
            return Err(GuardError::Protected {
                env: env.name.clone(),
                file: env.path.clone(),
                objects: hit,
            });
        }
    }
    if deletes > 0 && deletes >= guards.managed {
        let allowed = match guards.env {
            Some(env) => env.allow_empty,
            None => guards.allow_deletes.is_some_and(|m| m >= deletes),
        };
        if !allowed {
            return Err(GuardError::Empty {
                tenant: plan.destination.url.to_string(),
                deletes,
                env: guards.env.map(|e| (e.name.clone(), e.path.clone())),
            });
        }
    }
    let max = guards.env.and_then(|e| {
        e.max_deletes
            .map(|(n, line)| (e.name.clone(), e.at(line), n))
    });
    let over_max = max.as_ref().is_some_and(|(_, _, n)| deletes > *n)
        && guards.allow_deletes.is_none_or(|m| deletes > m);
    let over_allowed = guards.allow_deletes.is_some_and(|m| deletes > m);
    if over_max || over_allowed {
        return Err(GuardError::TooManyDeletes {
            env: max,
            allowed: guards.allow_deletes,
            deletes,
        });
    }
    Ok(())
}

/// The GUIDs of `plan`'s deletes and renames: the objects a `protect` selector can refuse.
pub fn touched(plan: &Plan) -> HashSet<Uuid> {
    plan.changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Rename))
        .map(|c| c.guid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;
    use crate::plan::Change;

    fn change(action: Action, n: u128, address: &str, old: Option<&str>) -> Change {
        Change {
            action,
            guid: Uuid::from_u128(n),
            kind: "data_source".into(),
            category: "architecture".into(),
            address: address.into(),
            old_address: old.map(String::from),
            old_guid: None,
            wave: 1,
            fields: Vec::new(),
            actual_hash: None,
            desired_hash: None,
            drifted: false,
            blast_radius: Vec::new(),
            blast_radius_total: 0,
            risks: Vec::new(),
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        crate::plan::test_plan(changes)
    }

    fn env(guards: &str) -> Environment {
        Environment::parse("prod", format!("[guards]\n{guards}").as_bytes()).unwrap()
    }

    fn destination() -> (Graph, Registry) {
        let registry = Registry::builtin().unwrap();
        let objects = [
            ("data_source/pos", 1),
            ("data_source/crm", 2),
            ("global_variable/vat", 3),
        ]
        .map(|(a, n)| (Address::parse(a).unwrap(), Uuid::from_u128(n)));
        (Graph::of_identities(objects, [], &registry), registry)
    }

    #[test]
    fn protected_objects_are_neither_deleted_nor_renamed() {
        let (graph, registry) = destination();
        let e = env("protect = [\"kind:data_source\"]\n");
        let protect = protected(&e, &graph, &[], &registry).unwrap();
        assert_eq!(protect.len(), 2);
        let guards = Guards {
            env: Some(&e),
            allow_deletes: Some(10),
            managed: 3,
        };
        let p = plan(vec![
            change(Action::Delete, 1, "data_source/pos", None),
            change(
                Action::Rename,
                2,
                "data_source/crm2",
                Some("data_source/crm"),
            ),
        ]);
        let err = check(&p, &guards, &protect).unwrap_err().to_string();
        assert_eq!(err, "environment `prod` protects 2 object(s) this plan deletes or renames: data_source/crm (renamed to data_source/crm2; protected by `kind:data_source` at environments/prod.toml:2); data_source/pos (deleted; protected by `kind:data_source` at environments/prod.toml:2); nothing was planned");
        let p = plan(vec![change(Action::Delete, 3, "global_variable/vat", None)]);
        check(&p, &guards, &protect).unwrap();
    }

    #[test]
    fn a_protect_selector_that_matches_nothing_anywhere_is_an_error_at_its_line() {
        let (graph, registry) = destination();
        let e = env("max_deletes = 1\nprotect = [\"kind:data_source\", \"data_source/post\"]\n");
        let err = protected(&e, &graph, &[], &registry).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].line, 3);
        assert!(
            err.to_string()
                .starts_with("environments/prod.toml:3: [guards] protect: neither the destination nor the desired objects have what it names: selector part `data_source/post` matches no object"),
            "{err}"
        );
    }

    #[test]
    fn more_deletes_than_max_deletes_need_allow_deletes() {
        let e = env("max_deletes = 1\n");
        let p = plan(vec![
            change(Action::Delete, 1, "data_source/pos", None),
            change(Action::Delete, 2, "data_source/crm", None),
        ]);
        let guards = |allow_deletes| Guards {
            env: Some(&e),
            allow_deletes,
            managed: 3,
        };
        let none = BTreeMap::new();
        let err = check(&p, &guards(None), &none).unwrap_err().to_string();
        assert_eq!(err, "the plan deletes 2 object(s), more than max_deletes = 1 of environment `prod` (environments/prod.toml:2) allows; nothing was planned");
        assert!(check(&p, &guards(Some(1)), &none).is_err());
        check(&p, &guards(Some(2)), &none).unwrap();
        // Without an environment, --allow-deletes is a cap of its own.
        let alone = Guards {
            env: None,
            allow_deletes: Some(1),
            managed: 3,
        };
        assert_eq!(
            check(&p, &alone, &none).unwrap_err().to_string(),
            "the plan deletes 2 object(s), more than --allow-deletes 1 allows; nothing was planned"
        );
    }

    #[test]
    fn deleting_everything_ferry_manages_is_refused_unless_allowed() {
        let p = plan(vec![
            change(Action::Delete, 1, "data_source/pos", None),
            change(Action::Delete, 2, "data_source/crm", None),
        ]);
        let none = BTreeMap::new();
        let strict = env("");
        let guards = Guards {
            env: Some(&strict),
            allow_deletes: Some(2),
            managed: 2,
        };
        assert_eq!(
            check(&p, &guards, &none).unwrap_err().to_string(),
            "the plan deletes every object ferry manages in sqlite:prod.db (2 of 2) and keeps none: environment `prod` does not allow an empty desired state; nothing was planned"
        );
        let lax = env("allow_empty = true\n");
        check(
            &p,
            &Guards {
                env: Some(&lax),
                ..guards
            },
            &none,
        )
        .unwrap();
        // Without an environment --allow-deletes acknowledges them.
        let alone = Guards {
            env: None,
            allow_deletes: None,
            managed: 2,
        };
        assert!(matches!(
            check(&p, &alone, &none),
            Err(GuardError::Empty { env: None, .. })
        ));
        check(
            &p,
            &Guards {
                allow_deletes: Some(2),
                ..alone
            },
            &none,
        )
        .unwrap();
        // Keeping one is not empty.
        check(
            &p,
            &Guards {
                managed: 3,
                ..alone
            },
            &none,
        )
        .unwrap();
    }
}
