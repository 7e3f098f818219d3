//! The dependency graph of objects: references are edges, from the object that refers (the
//! dependent) to the object it names (the dependency).
//!
//! Built once over a set of objects with petgraph; cycles are found with Tarjan's algorithm and
//! reported as the addresses along one concrete cycle; waves number each object by the longest
//! chain of dependencies below it, so wave 0 needs nothing and an object's dependencies are all in
//! earlier waves. Everything is ordered by address, so the same objects give the same graph, byte
//! for byte, whatever order they came in.

use std::collections::{BTreeMap, HashMap, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde_json::Value;

use crate::kinds::{Category, Kind, Registry, Scope};
use crate::model::{pointer, Address, Object};

/// A reference written in an object: the field it is in and the address text it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'k> {
    /// Concrete JSON pointer of the field (`/project` for a project-scoped object's project).
    pub pointer: String,
    /// The address as written.
    pub target: String,
    /// The kinds the field accepts (borrowed from the kind: hundreds of thousands of references
    /// are read in a large repository).
    pub accepts: &'k [String],
}

/// What a project-scoped object's `project` field accepts.
static PROJECT_ONLY: std::sync::LazyLock<[String; 1]> =
    std::sync::LazyLock::new(|| ["project".to_string()]);

/// Every reference an object's document holds, in field order. Values of the wrong JSON type
/// are skipped (the schema reports them).
pub fn references<'k>(kind: &'k Kind, doc: &Value) -> Vec<Reference<'k>> {
    let project = doc.get("project").and_then(Value::as_str);
    let spec = doc.get("spec").and_then(Value::as_object);
    collect_references(kind, project, spec)
}

/// [`references`] of an [`Object`], without building its document.
pub fn object_references<'k>(kind: &'k Kind, object: &Object) -> Vec<Reference<'k>> {
    collect_references(kind, object.project.as_deref(), Some(&object.spec))
}

fn collect_references<'k>(
    kind: &'k Kind,
    project: Option<&str>,
    spec: Option<&serde_json::Map<String, Value>>,
) -> Vec<Reference<'k>> {
    let mut out = Vec::new();
    if kind.scope == Scope::Project {
        if let Some(project) = project {
            out.push(Reference {
                pointer: "/project".into(),
                target: format!("project/{project}"),
                accepts: &PROJECT_ONLY[..],
            });
        }
    }
    let Some(spec) = spec else { return out };
    for rule in &kind.references {
        for (at, value) in pointer::select_spec_segments(spec, &rule.segments) {
            let mut push = |at: String, target: &str| {
                out.push(Reference {
                    pointer: at,
                    target: target.to_string(),
                    accepts: &rule.targets,
                })
            };
            match value {
                Value::String(s) => push(at, s),
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Value::String(s) = item {
                            push(format!("{at}/{i}"), s);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// One object in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The object's address.
    pub address: Address,
    /// Its GUID, when it has one.
    pub guid: Option<uuid::Uuid>,
    /// Its category.
    pub category: Category,
}

/// An edge: `dependent` refers to `dependency` through `pointer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The field that holds the reference.
    pub pointer: String,
}

/// The dependency graph.
#[derive(Debug, Clone)]
pub struct Graph {
    graph: DiGraph<Node, Edge>,
    index: HashMap<Address, NodeIndex>,
    /// The names of the kinds of the registry it was built with, sorted.
    kinds: Vec<String>,
}

impl Graph {
    /// Builds the graph of `objects`. References that do not resolve to one of the objects, or
    /// resolve to a kind the field does not accept, are left out (validation reports them).
    /// Objects of unknown kinds are left out.
    pub fn build<'o>(objects: impl IntoIterator<Item = &'o Object>, registry: &Registry) -> Graph {
        let mut sorted: Vec<(&Object, &Kind)> = objects
            .into_iter()
            .filter_map(|o| registry.get(&o.kind).map(|k| (o, k)))
            .collect();
        sorted.sort_by_cached_key(|(o, _)| o.address());
        let mut graph = DiGraph::with_capacity(sorted.len(), sorted.len() * 2);
        let mut index = HashMap::with_capacity(sorted.len());
        for (object, kind) in &sorted {
            let address = object.address();
            if index.contains_key(&address) {
                continue;
            }
            let node = graph.add_node(Node {
                address: address.clone(),
                guid: object.guid,
                category: kind.category,
            });
            index.insert(address, node);
        }
        for (object, kind) in &sorted {
            let from = index[&object.address()];
            for reference in object_references(kind, object) {
                let Ok(target) = Address::parse(&reference.target) else {
                    continue;
                };
                if !reference.accepts.contains(&target.kind) {
                    continue;
                }
                if let Some(&to) = index.get(&target) {
                    graph.add_edge(
                        from,
                        to,
                        Edge {
                            pointer: reference.pointer,
                        },
                    );
                }
            }
        }
        let mut kinds: Vec<String> = registry.names().into_iter().map(str::to_string).collect();
        kinds.sort();
        Graph {
            graph,
            index,
            kinds,
        }
    }

    /// The graph of objects known by identity only (a destination's index: kind, project, name
    /// and GUID) with `edges` between them as (dependent GUID, dependency GUID) pairs. Objects of
    /// unknown kinds, and edges between GUIDs that are not among the objects, are left out.
    pub fn of_identities(
        objects: impl IntoIterator<Item = (Address, uuid::Uuid)>,
        edges: impl IntoIterator<Item = (uuid::Uuid, uuid::Uuid)>,
        registry: &Registry,
    ) -> Graph {
        let mut sorted: Vec<(Address, uuid::Uuid, Category)> = objects
            .into_iter()
            .filter_map(|(a, g)| registry.get(&a.kind).map(|k| (a, g, k.category)))
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut graph = DiGraph::with_capacity(sorted.len(), sorted.len());
        let mut index = HashMap::with_capacity(sorted.len());
        let mut by_guid = HashMap::with_capacity(sorted.len());
        for (address, guid, category) in sorted {
            if index.contains_key(&address) {
                continue;
            }
            let node = graph.add_node(Node {
                address: address.clone(),
                guid: Some(guid),
                category,
            });
            index.insert(address, node);
            by_guid.insert(guid, node);
        }
        let mut pairs: Vec<(NodeIndex, NodeIndex)> = edges
            .into_iter()
            .filter_map(|(from, to)| Some((*by_guid.get(&from)?, *by_guid.get(&to)?)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        for (from, to) in pairs {
            graph.add_edge(
                from,
                to,
                Edge {
                    pointer: String::new(),
                },
            );
        }
        let mut kinds: Vec<String> = registry.names().into_iter().map(str::to_string).collect();
        kinds.sort();
        Graph {
            graph,
            index,
            kinds,
        }
    }

    /// The names of every kind the graph's registry knows (whether or not an object has it),
    /// sorted: what a selector's unknown kind is compared with.
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// The nodes, by address.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph.node_weights()
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether the graph has no objects.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Every edge as (dependent, dependency, field), sorted.
    pub fn edges(&self) -> Vec<(&Address, &Address, &str)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some((
                    &self.graph[a].address,
                    &self.graph[b].address,
                    self.graph[e].pointer.as_str(),
                ))
            })
            .collect();
        edges.sort();
        edges.dedup();
        edges
    }

    /// The objects `address` refers to directly, sorted.
    pub fn dependencies(&self, address: &Address) -> Vec<&Address> {
        self.neighbours(address, Direction::Outgoing)
    }

    /// The objects that refer to `address` directly, sorted.
    pub fn dependents(&self, address: &Address) -> Vec<&Address> {
        self.neighbours(address, Direction::Incoming)
    }

    fn neighbours(&self, address: &Address, dir: Direction) -> Vec<&Address> {
        let Some(&n) = self.index.get(address) else {
            return Vec::new();
        };
        let mut out: Vec<&Address> = self
            .graph
            .neighbors_directed(n, dir)
            .map(|m| &self.graph[m].address)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// One cycle per strongly connected component that has one, each as the addresses along it,
    /// starting at its smallest address and ending where it started. Sorted.
    pub fn cycles(&self) -> Vec<Vec<Address>> {
        let mut cycles = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let start = *scc
                .iter()
                .min_by_key(|n| &self.graph[**n].address)
                .expect("a component is not empty");
            cycles.push(self.cycle_through(start, &scc));
        }
        cycles.sort();
        cycles
    }

    /// The shortest cycle from `start` back to itself inside one component, by breadth-first
    /// search over neighbours in address order.
    fn cycle_through(&self, start: NodeIndex, scc: &[NodeIndex]) -> Vec<Address> {
        let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
        let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut end = None;
        while let Some(n) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(n, Direction::Outgoing)
                .filter(|m| members.contains(m))
                .collect();
            next.sort_by_key(|m| &self.graph[*m].address);
            next.dedup();
            for m in next {
                if m == start {
                    end = Some(n);
                    break;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(m) {
                    e.insert(n);
                    queue.push_back(m);
                }
            }
            if end.is_some() {
                break;
            }
        }
        let mut path = vec![start];
        let mut at = end.unwrap_or(start);
        let mut back = Vec::new();
        while at != start {
            back.push(at);
            at = parent[&at];
        }
        path.extend(back.into_iter().rev());
        path.push(start);
        path.into_iter()
            .map(|n| self.graph[n].address.clone())
            .collect()
    }

    /// Each object's wave: 0 for objects that depend on nothing in the graph, otherwise one more
    /// than the highest wave among its dependencies. `None` when the graph has a cycle.
    pub fn waves(&self) -> Option<BTreeMap<&Address, usize>> {
        let order = petgraph::algo::toposort(&self.graph, None).ok()?;
        let mut wave = vec![0usize; self.graph.node_count()];
        for n in order.into_iter().rev() {
            wave[n.index()] = self
                .graph
                .neighbors_directed(n, Direction::Outgoing)
                .map(|m| wave[m.index()] + 1)
                .max()
                .unwrap_or(0);
        }
        Some(
            self.graph
                .node_indices()
                .map(|n| (&self.graph[n].address, wave[n.index()]))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: &str, name: &str, spec: Value) -> Object {
        Object {
            kind: kind.into(),
            guid: None,
            name: name.into(),
            project: None,
            spec: spec.as_object().unwrap().clone(),
        }
    }

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn waves_follow_dependencies() {
        let registry = Registry::builtin().unwrap();
        let objects = vec![
            obj(
                "project",
                "p",
                json!({"compute_sources": ["compute_source/c"], "data_segment": "data_segment/s"}),
            ),
            obj("data_segment", "s", json!({})),
            obj("compute_source", "c", json!({})),
        ];
        let graph = Graph::build(&objects, &registry);
        let waves = graph.waves().unwrap();
        assert_eq!(waves[&addr("data_segment/s")], 0);
        assert_eq!(waves[&addr("project/p")], 1);
        assert_eq!(
            graph.dependents(&addr("data_segment/s")),
            vec![&addr("project/p")]
        );
        assert!(graph.cycles().is_empty());
    }

    #[test]
    fn cycles_are_reported_in_order() {
        let registry = Registry::builtin().unwrap();
        let objects = vec![
            obj(
                "standard_set_directory",
                "b",
                json!({"parent": "standard_set_directory/c"}),
            ),
            obj(
                "standard_set_directory",
                "a",
                json!({"parent": "standard_set_directory/b"}),
            ),
            obj(
                "standard_set_directory",
                "c",
                json!({"parent": "standard_set_directory/a"}),
            ),
        ];
        let graph = Graph::build(&objects, &registry);
        let cycles = graph.cycles();
        let names: Vec<String> = cycles[0].iter().map(|a| a.name.clone()).collect();
        assert_eq!(names, ["a", "b", "c", "a"]);
        assert!(graph.waves().is_none());
    }
}
