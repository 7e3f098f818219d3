//! Synthetic tenants for benchmarks and scale tests: a repository of N valid objects across every
//! exportable kind, with a realistic kind mix, fan-in and fan-out of references, about ten levels
//! of dependencies and SQL bodies of 0.5–4 KB. Same seed, same bytes.
//!
//! Each object starts from its kind's sample (`tests/fixtures/kinds/<kind>.toml`, embedded), takes
//! a new name and GUID, and has every reference field pointed at objects generated before it of
//! an accepted kind, so the graph is acyclic by construction. Levels follow the domain: data
//! segments and sources, then architecture, tables, metrics, labels, and quality rules last.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use uuid::Uuid;

use crate::kinds::{Registry, Scope};
use crate::model::{canonical, file, path, pointer, Address, Object};
use crate::repo::RepoError;

include!(concat!(env!("OUT_DIR"), "/kind_samples.rs"));

/// How many objects of each kind per 1,000, in generation order (dependencies first). Kinds with
/// a share of 0 get a fixed small count.
const MIX: &[(&str, u32, usize)] = &[
    // (kind, per mille, minimum)
    ("public_calendar", 0, 1),
    ("statistical_period", 0, 5),
    ("global_variable", 0, 5),
    ("scheduling_template", 0, 3),
    ("data_segment", 1, 1),
    ("compute_source", 0, 2),
    ("data_source_type", 0, 1),
    ("data_source", 5, 3),
    ("project", 2, 2),
    ("object_attribute", 0, 2),
    ("identification_feature", 0, 3),
    ("word_root", 4, 5),
    ("code_table", 4, 3),
    ("standard_set_directory", 0, 2),
    ("standard_set", 1, 2),
    ("standard_template", 0, 1),
    ("common_standard_attribute", 0, 1),
    ("data_standard", 10, 3),
    ("compliance_mapping_rule", 2, 1),
    ("subject_area", 3, 2),
    ("business_object", 10, 3),
    ("business_activity", 8, 3),
    ("resource", 3, 1),
    ("function", 3, 1),
    ("integration_task", 40, 2),
    ("logical_dimension_table", 50, 3),
    ("logical_fact_table", 40, 3),
    ("business_filter", 25, 2),
    ("atomic_metric", 60, 3),
    ("derived_metric", 100, 3),
    ("logical_aggregate_table", 30, 2),
    ("compute_task", 380, 5),
    ("realtime_task", 5, 1),
    ("standard_mapping", 5, 1),
    ("label_entity", 0, 2),
    ("label_entity_id", 0, 2),
    ("offline_label", 40, 3),
    ("offline_view", 5, 1),
    ("rule_template", 0, 5),
    ("quality_rule", 120, 3),
    ("sensitivity_level", 0, 4),
    ("data_classification", 2, 3),
    ("identification_rule", 2, 2),
    ("identification_result", 10, 2),
    ("key", 0, 2),
];

/// Words for names.
const WORDS: &[&str] = &[
    "order", "member", "store", "sku", "payment", "refund", "stock", "coupon", "channel", "region",
    "supplier", "shipment", "cart", "visit", "campaign", "price", "invoice", "return", "loyalty",
    "category",
];

/// A problem making a synthetic tenant.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The repository could not be made.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `mutate` needs a committed repository to change.
    #[error("{0} has no commit to change: commit the synthetic repository first (git add -A && git commit)")]
    NoCommit(String),
    /// A kind's sample is missing or broken (a bug in ferry's sources).
    #[error("sample of kind `{0}` is unusable: {1}")]
    Sample(String, String),
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Objects per kind.
    pub per_kind: BTreeMap<String, usize>,
    /// The deepest wave.
    pub depth: usize,
}

/// How many tiers the objects of a self-referring kind come in (see [`objects`]).
const SAME_KIND_TIERS: usize = 3;

/// The objects of a synthetic tenant of about `n` objects, in dependency order.
pub fn objects(n: usize, seed: u64, registry: &Registry) -> Result<Vec<Object>, SynthError> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut counts: Vec<(&str, usize)> = MIX
        .iter()
        .map(|(kind, per_mille, min)| (*kind, (n * *per_mille as usize / 1000).max(*min)))
        .collect();
    // Fill up to n with compute tasks, the most common kind.
    let total: usize = counts.iter().map(|c| c.1).sum();
    if total < n {
        if let Some(c) = counts.iter_mut().find(|c| c.0 == "compute_task") {
            c.1 += n - total;
        }
    }
    let mut by_kind: BTreeMap<String, Vec<Address>> = BTreeMap::new();
    let mut out = Vec::with_capacity(n.max(total));
    for (kind_name, count) in counts {
        let kind = registry
            .get(kind_name)
            .ok_or_else(|| SynthError::Sample(kind_name.into(), "no such kind".into()))?;
        let sample = KIND_SAMPLES
            .iter()
            .find(|(k, _)| *k == kind_name)
            .map(|(_, text)| *text)
            .ok_or_else(|| SynthError::Sample(kind_name.into(), "no sample".into()))?;
        let template = file::parse_document(sample)
            .map_err(|e| SynthError::Sample(kind_name.into(), e.to_string()))?;
        for i in 0..count {
            let mut doc = template.clone();
            let word = WORDS[rng.usize(..WORDS.len())];
            let name = format!("{kind_name}_{word}_{i:06}");
            doc["name"] = Value::String(name.clone());
            let project = if kind.scope == Scope::Project {
                let projects = by_kind
                    .get("project")
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let p = &projects[rng.usize(..projects.len())];
                doc["project"] = Value::String(p.name.clone());
                Some(p.name.clone())
            } else {
                None
            };
            // Objects of a kind that refers to itself (task upstreams, table lineage) come in
            // tiers, and refer only to objects of earlier tiers: no cycles, and chains of the
            // kind stay SAME_KIND_TIERS deep, so the whole graph is about ten levels deep.
            let tier_start = (i * SAME_KIND_TIERS / count.max(1)) * count / SAME_KIND_TIERS;
            for rule in &kind.references {
                let candidates: Vec<&Address> = rule
                    .targets
                    .iter()
                    .filter_map(|t| {
                        let of_kind = by_kind.get(t)?;
                        Some(if t == kind_name {
                            &of_kind[..tier_start.min(of_kind.len())]
                        } else {
                            &of_kind[..]
                        })
                    })
                    .flatten()
                    .collect();
                let hits: Vec<String> = pointer::select(&doc, &rule.pointer)
                    .into_iter()
                    .map(|(at, _)| at)
                    .collect();
                for at in hits.into_iter().rev() {
                    if candidates.is_empty() {
                        // Nothing to point at yet (the first of a self-referring kind): drop it.
                        remove(&mut doc, &at);
                        continue;
                    }
                    let Some(slot) = doc.pointer_mut(&at) else {
                        continue;
                    };
                    // Fan-in: prefer recent objects of the kind a little, so some are popular.
                    let mut pick = || {
                        let i = if rng.bool() {
                            rng.usize(..candidates.len())
                        } else {
                            candidates.len() - 1 - rng.usize(..candidates.len().min(8))
                        };
                        Value::String(candidates[i].to_string())
                    };
                    match slot {
                        Value::Array(items) => {
                            let len = items.len().clamp(1, 3);
                            let mut picked: Vec<Value> = (0..len).map(|_| pick()).collect();
                            picked.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                            picked.dedup();
                            *items = picked;
                        }
                        other => *other = pick(),
                    }
                }
            }
            for (key, value) in [
                ("sql", sql(&mut rng, &name)),
                ("script", sql(&mut rng, &name)),
            ] {
                if let Some(Value::String(s)) = doc.pointer_mut(&format!("/spec/{key}")) {
                    *s = value;
                }
            }
            let guid = Uuid::from_u64_pair(seed ^ 0x5eed_f00d, out.len() as u64 + 1);
            doc["guid"] = Value::String(guid.to_string());
            let object = file::object_from_document(doc.clone())
                .map_err(|e| SynthError::Sample(kind_name.into(), e))?;
            by_kind
                .entry(kind_name.to_string())
                .or_default()
                .push(Address {
                    kind: kind_name.to_string(),
                    project,
                    name,
                });
            out.push(object);
        }
    }
    Ok(out)
}

fn remove(doc: &mut Value, at: &str) {
    let Some((parent, last)) = at.rsplit_once('/') else {
        return;
    };
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last.replace("~1", "/").replace("~0", "~"));
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                if i < items.len() {
                    items.remove(i);
                }
            }
        }
        _ => {}
    }
}

fn sql(rng: &mut fastrand::Rng, name: &str) -> String {
    let target = rng.usize(500..4000);
    let mut text = format!(
        "-- {name}: synthetic task body\nINSERT OVERWRITE TABLE {name} PARTITION (ds = '${{bizdate}}')\nSELECT\n"
    );
    let mut i = 0;
    while text.len() < target {
        let a = WORDS[rng.usize(..WORDS.len())];
        let b = WORDS[rng.usize(..WORDS.len())];
        text.push_str(&format!(
            "    COALESCE(t{i}.{a}_id, '-1') AS {a}_{b}_id_{i},\n    SUM(CASE WHEN t{i}.status = 'PAID' THEN t{i}.amount ELSE 0 END) AS {b}_amount_{i},\n"
        ));
        i += 1;
    }
    text.push_str(
        "    1 AS marker\nFROM dwd_trade_order_di t0\nWHERE t0.ds = '${bizdate}'\nGROUP BY 1;\n",
    );
    text
}

/// Writes a synthetic tenant repository of about `n` objects to `dir` (made with `init`).
pub fn write_repository(
    dir: &Path,
    n: usize,
    seed: u64,
    registry: &Registry,
) -> Result<Summary, SynthError> {
    // As `ferry init` did before it asked: its own git repository unless inside one.
    let git = match crate::repo::enclosing_repository(dir) {
        Some(_) => crate::repo::GitChoice::Enclosing,
        None => crate::repo::GitChoice::Auto,
    };
    crate::repo::init(dir, git)?;
    let objects = objects(n, seed, registry)?;
    let mut summary = Summary::default();
    for object in &objects {
        let kind = registry
            .get(&object.kind)
            .expect("generated from a known kind");
        let rel = path::object_path(
            kind.category,
            &kind.name,
            object.project.as_deref(),
            &object.name,
        );
        let text = canonical::to_canonical(object, Some(kind))
            .map_err(|e| SynthError::Sample(object.kind.clone(), e.to_string()))?;
        let full = dir.join(&rel);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|source| SynthError::Write {
                path: rel.clone(),
                source,
            })?;
        }
        std::fs::write(&full, text).map_err(|source| SynthError::Write {
            path: rel.clone(),
            source,
        })?;
        *summary.per_kind.entry(object.kind.clone()).or_default() += 1;
    }
    let graph = crate::graph::Graph::build(&objects, registry);
    summary.depth = graph
        .waves()
        .and_then(|w| w.values().max().copied())
        .unwrap_or(0);
    Ok(summary)
}

/// What [`mutate`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mutation {
    /// Objects whose description changed.
    pub edited: Vec<String>,
    /// Objects renamed: (old address, new address).
    pub renamed: Vec<(String, String)>,
    /// Objects deleted.
    pub deleted: Vec<String>,
    /// The commit made.
    pub commit: Option<String>,
}

/// Changes about `k` objects of the synthetic repository at `dir` and commits the result: a third
/// edited (their description), a third renamed and a third deleted, the last two among objects
/// nothing refers to, so the repository stays valid. Same seed, same changes; the commit is
/// dated `when`.
pub fn mutate(
    dir: &Path,
    k: usize,
    seed: u64,
    registry: &Registry,
    when: std::time::SystemTime,
) -> Result<Mutation, SynthError> {
    if !crate::repo::has_head(dir) {
        return Err(SynthError::NoCommit(dir.display().to_string()));
    }
    let mut snapshot = crate::repo::snapshot(dir, &crate::repo::Source::WorkTree)?;
    let report = crate::validate::check(std::mem::take(&mut snapshot.objects), registry);
    let objects: Vec<Object> = report.objects.iter().map(|l| l.object.clone()).collect();
    let graph = crate::graph::Graph::build(&objects, registry);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x6d75_7461_7465);
    let mut order: Vec<usize> = (0..report.objects.len()).collect();
    rng.shuffle(&mut order);
    let mut mutation = Mutation::default();
    let (mut written, mut removed) = (Vec::new(), Vec::new());
    let mut touched = std::collections::HashSet::new();
    for i in order {
        let done = mutation.edited.len() + mutation.renamed.len() + mutation.deleted.len();
        if done >= k {
            break;
        }
        let loaded = &report.objects[i];
        let address = loaded.object.address();
        let kind = registry
            .get(&loaded.object.kind)
            .expect("validated kinds are known");
        let leaf = graph.dependents(&address).is_empty();
        let wanted = done % 3;
        // Renames and deletes only where nothing refers to the object (and nothing it refers to
        // was touched, so references stay valid).
        if wanted != 0 && (!leaf || touched.contains(&address)) {
            continue;
        }
        // Edits change the description, of kinds that have one.
        if wanted == 0 && !loaded.object.spec.contains_key("description") {
            continue;
        }
        match wanted {
            0 => {
                let mut object = loaded.object.clone();
                object.spec.insert(
                    "description".into(),
                    Value::String(format!("mutated by ferry synth ({done})")),
                );
                let text = canonical::to_canonical(&object, Some(kind))
                    .map_err(|e| SynthError::Sample(object.kind.clone(), e.to_string()))?;
                write_file(dir, &loaded.path, &text)?;
                written.push(loaded.path.clone());
                mutation.edited.push(address.to_string());
            }
            1 => {
                let mut object = loaded.object.clone();
                object.name = format!("{}_renamed", object.name);
                let rel = path::object_path(
                    kind.category,
                    &kind.name,
                    object.project.as_deref(),
                    &object.name,
                );
                let text = canonical::to_canonical(&object, Some(kind))
                    .map_err(|e| SynthError::Sample(object.kind.clone(), e.to_string()))?;
                remove_file(dir, &loaded.path)?;
                write_file(dir, &rel, &text)?;
                removed.push(loaded.path.clone());
                written.push(rel);
                mutation
                    .renamed
                    .push((address.to_string(), object.address().to_string()));
            }
            _ => {
                remove_file(dir, &loaded.path)?;
                removed.push(loaded.path.clone());
                mutation.deleted.push(address.to_string());
            }
        }
        touched.insert(address.clone());
        touched.extend(graph.dependencies(&address).into_iter().cloned());
    }
    let message = format!(
        "synth: {} edited, {} renamed, {} deleted",
        mutation.edited.len(),
        mutation.renamed.len(),
        mutation.deleted.len()
    );
    mutation.commit = crate::repo::commit_files(dir, &written, &removed, &message, when)?;
    Ok(mutation)
}

fn write_file(dir: &Path, rel: &str, text: &str) -> Result<(), SynthError> {
    let full = dir.join(rel);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).map_err(|source| SynthError::Write {
            path: rel.into(),
            source,
        })?;
    }
    std::fs::write(&full, text).map_err(|source| SynthError::Write {
        path: rel.into(),
        source,
    })
}

fn remove_file(dir: &Path, rel: &str) -> Result<(), SynthError> {
    std::fs::remove_file(dir.join(rel)).map_err(|source| SynthError::Write {
        path: rel.into(),
        source,
    })
}
