//! Selectors: a small language over the dependency graph for choosing part of a tenant, in the
//! spirit of dbt's graph operators.
//!
//! ```text
//! expression  = term { " " term }          union: space-separated terms
//! term        = part { "," part }          intersection: comma-separated parts
//! part        = [ "@" | [N] "+" ] atom [ "+" [N] ]
//! atom        = kind:GLOB | category:NAME | project:GLOB | ADDRESS-GLOB | NAME-GLOB
//! ```
//!
//! - An address glob is `kind/name` or `kind/project/name` where `*` matches any characters but
//!   `/` and `**` matches any characters; a glob without `/` or `:` matches object names.
//! - `+X`: X and everything it depends on, transitively; `N+X` to depth N.
//! - `X+`: X and everything that depends on it; `X+N` to depth N.
//! - `@X`: X, everything that depends on it, and everything those depend on.
//! - A part that matches nothing is an error naming it, so a typo never yields an empty deploy;
//!   the error says when the kind, project or category itself is unknown or empty, and suggests
//!   the nearest existing kinds, projects, names or addresses (optimal string alignment distance,
//!   [`strsim::osa_distance`]).

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use crate::graph::Graph;
use crate::kinds::Category;
use crate::model::Address;

/// A parse error or a selection that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The expression is not well formed.
    #[error("selector `{expression}`, at character {}: {message}", position + 1)]
    Parse {
        /// The expression.
        expression: String,
        /// Character offset (from 0) of the bad token.
        position: usize,
        /// What is wrong.
        message: String,
    },
    /// A part of the expression selects no object.
    #[error("selector part `{part}` matches no object{}", why.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    NoMatch {
        /// The part.
        part: String,
        /// Why, when it can be told: a kind, project or category that does not exist or has no
        /// object, and the nearest existing names or addresses (`did you mean …?`).
        why: Option<String>,
    },
}

/// How far a graph operator reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    All,
    Upto(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Kind(String),
    Category(Category),
    Project(String),
    Address(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    text: String,
    at: bool,
    dependencies: Option<Depth>,
    dependents: Option<Depth>,
    atom: Atom,
}

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    text: String,
    terms: Vec<Vec<Part>>,
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_error(expression: &str, position: usize, message: impl Into<String>) -> SelectError {
    SelectError::Parse {
        expression: expression.to_string(),
        position,
        message: message.into(),
    }
}

impl Selector {
    /// Parses an expression.
    pub fn parse(expression: &str) -> Result<Selector, SelectError> {
        let mut terms = Vec::new();
        let chars: Vec<char> = expression.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i].is_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            let mut parts = Vec::new();
            let mut offset = start;
            let term: String = chars[start..i].iter().collect();
            for piece in term.split(',') {
                parts.push(parse_part(expression, offset, piece)?);
                offset += piece.chars().count() + 1;
            }
            terms.push(parts);
        }
        if terms.is_empty() {
            return Err(parse_error(expression, 0, "the selector is empty"));
        }
        Ok(Selector {
            text: expression.to_string(),
            terms,
        })
    }

    /// Whether the selector uses a graph operator (`+`, `@`): then only the whole graph can tell
    /// what it chooses, and [`Selector::matches_one`] cannot.
    pub fn uses_graph(&self) -> bool {
        self.terms
            .iter()
            .flatten()
            .any(|p| p.at || p.dependencies.is_some() || p.dependents.is_some())
    }

    /// Whether the selector chooses the object at `address` of `category`, told from the address
    /// alone: right only for a selector that does not [use the graph](Selector::uses_graph).
    pub fn matches_one(&self, address: &Address, category: Category) -> bool {
        self.terms
            .iter()
            .any(|term| term.iter().all(|p| p.matches(address, category)))
    }

    /// The addresses of `graph` this selector chooses.
    pub fn select(&self, graph: &Graph) -> Result<BTreeSet<Address>, SelectError> {
        let mut out = BTreeSet::new();
        for term in &self.terms {
            let mut acc: Option<BTreeSet<Address>> = None;
            for part in term {
                let chosen = part.select(graph);
                if chosen.is_empty() {
                    return Err(SelectError::NoMatch {
                        part: part.text.clone(),
                        why: part.atom.why_nothing(graph),
                    });
                }
                acc = Some(match acc {
                    None => chosen,
                    Some(prev) => prev.intersection(&chosen).cloned().collect(),
                });
            }
            out.extend(acc.unwrap_or_default());
        }
        Ok(out)
    }
}

/// `--select` minus `--exclude` over `graph`; `None` selects everything.
pub fn choose(
    graph: &Graph,
    select: Option<&Selector>,
    exclude: Option<&Selector>,
) -> Result<BTreeSet<Address>, SelectError> {
    let mut chosen = match select {
        Some(s) => s.select(graph)?,
        None => graph.nodes().map(|n| n.address.clone()).collect(),
    };
    if let Some(e) = exclude {
        for a in e.select(graph)? {
            chosen.remove(&a);
        }
    }
    Ok(chosen)
}

fn parse_depth(digits: &str) -> Option<Depth> {
    if digits.is_empty() {
        Some(Depth::All)
    } else {
        digits.parse().ok().map(Depth::Upto)
    }
}

fn parse_part(expression: &str, offset: usize, piece: &str) -> Result<Part, SelectError> {
    if piece.is_empty() {
        return Err(parse_error(
            expression,
            offset,
            "empty part: two commas in a row, or a comma at an end",
        ));
    }
    let mut rest = piece;
    let mut at = false;
    let mut dependencies = None;
    let mut consumed = 0;
    if let Some(r) = rest.strip_prefix('@') {
        at = true;
        rest = r;
        consumed = 1;
    } else {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if rest[digits.len()..].starts_with('+') {
            dependencies = parse_depth(&digits);
            if dependencies.is_none() {
                return Err(parse_error(expression, offset, "the depth is too large"));
            }
            consumed = digits.len() + 1;
            rest = &rest[consumed..];
        }
    }
    let mut dependents = None;
    if let Some(plus) = rest.rfind('+') {
        let digits = &rest[plus + 1..];
        if digits.chars().all(|c| c.is_ascii_digit()) {
            dependents = parse_depth(digits);
            if dependents.is_none() {
                return Err(parse_error(
                    expression,
                    offset + consumed + plus,
                    "the depth is too large",
                ));
            }
            rest = &rest[..plus];
        }
    }
    let atom_at = offset + consumed;
    if rest.is_empty() {
        return Err(parse_error(
            expression,
            atom_at,
            "a graph operator needs an object: write +kind/name or kind/name+",
        ));
    }
    if at && (dependents.is_some() || rest.starts_with('+')) {
        return Err(parse_error(
            expression,
            offset,
            "`@` takes no other graph operator",
        ));
    }
    if let Some(bad) = rest.find(['+', '@']) {
        return Err(parse_error(
            expression,
            atom_at + rest[..bad].chars().count(),
            "`+` and `@` go only at the start or end of a part",
        ));
    }
    let atom = if let Some((key, value)) = rest.split_once(':') {
        if value.is_empty() {
            return Err(parse_error(
                expression,
                atom_at + key.chars().count() + 1,
                format!("`{key}:` needs a value"),
            ));
        }
        match key {
            "kind" => Atom::Kind(value.to_string()),
            "project" => Atom::Project(value.to_string()),
            "category" => Atom::Category(Category::parse(value).ok_or_else(|| {
                parse_error(
                    expression,
                    atom_at + key.chars().count() + 1,
                    format!(
                        "unknown category `{value}`; categories are {}",
                        Category::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?),
            other => {
                return Err(parse_error(
                    expression,
                    atom_at,
                    format!("unknown selector method `{other}:`; use kind:, category: or project:"),
                ))
            }
        }
    } else if rest.contains('/') {
        Atom::Address(rest.to_string())
    } else {
        Atom::Name(rest.to_string())
    };
    Ok(Part {
        text: piece.to_string(),
        at,
        dependencies,
        dependents,
        atom,
    })
}

/// Whether `text` matches `pattern`, where `*` matches any characters but `/` and `**` any.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p {
            [] => t.is_empty(),
            ['*', '*', rest @ ..] => (0..=t.len()).any(|i| go(rest, &t[i..])),
            ['*', rest @ ..] => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != '/')
                .any(|i| go(rest, &t[i..])),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

impl Part {
    fn matches(&self, address: &Address, category: Category) -> bool {
        match &self.atom {
            Atom::Kind(k) => glob(k, &address.kind),
            Atom::Category(c) => *c == category,
            Atom::Project(p) => address
                .project
                .as_deref()
                .is_some_and(|project| glob(p, project)),
            Atom::Address(a) => glob(a, &address.to_string()),
            Atom::Name(n) => glob(n, &address.name),
        }
    }

    fn select(&self, graph: &Graph) -> BTreeSet<Address> {
        let base: BTreeSet<Address> = graph
            .nodes()
            .filter(|n| self.matches(&n.address, n.category))
            .map(|n| n.address.clone())
            .collect();
        if base.is_empty() {
            return base;
        }
        let mut out = base.clone();
        if self.at {
            let down = walk(graph, &base, Depth::All, false);
            let up = walk(graph, &down, Depth::All, true);
            out.extend(down);
            out.extend(up);
            return out;
        }
        if let Some(depth) = self.dependencies {
            out.extend(walk(graph, &base, depth, true));
        }
        if let Some(depth) = self.dependents {
            out.extend(walk(graph, &base, depth, false));
        }
        out
    }
}

/// How many suggestions a selector that matches nothing offers.
const SUGGESTED: usize = 3;

/// Whether `text` holds glob characters (then it is not compared by distance).
fn is_glob(text: &str) -> bool {
    text.contains('*')
}

/// The candidates nearest to `wanted` (at most [`SUGGESTED`], nearest first, then in order),
/// within an edit distance of a third of its length (at least 2), as `` `a`, `b` ``.
fn nearest<'c>(wanted: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    let limit = (wanted.chars().count() / 3).max(2);
    let mut near: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(wanted, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    near.sort();
    near.dedup_by(|a, b| a.1 == b.1);
    let shown: Vec<String> = near
        .iter()
        .take(SUGGESTED)
        .map(|(_, c)| format!("`{c}`"))
        .collect();
    (!shown.is_empty()).then(|| shown.join(", "))
}

/// `; did you mean …?` when something is near `wanted`.
fn did_you_mean<'c>(wanted: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    nearest(wanted, candidates)
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_default()
}

impl Atom {
    /// Why this atom matches nothing in `graph`, when it can be told.
    fn why_nothing(&self, graph: &Graph) -> Option<String> {
        let kind_problem = |kind: &str| -> Option<String> {
            if is_glob(kind) {
                return None;
            }
            if !graph.kinds().iter().any(|k| k == kind) {
                let kinds = graph.kinds().iter().map(String::as_str);
                return Some(format!("no kind `{kind}`{}", did_you_mean(kind, kinds)));
            }
            if !graph.nodes().any(|n| n.address.kind == kind) {
                return Some(format!("no object is of kind `{kind}`"));
            }
            None
        };
        match self {
            Atom::Kind(k) => kind_problem(k),
            Atom::Category(c) => Some(format!("no object is in category `{}`", c.as_str())),
            Atom::Project(p) if !is_glob(p) => {
                let projects: BTreeSet<&str> = graph
                    .nodes()
                    .filter_map(|n| n.address.project.as_deref())
                    .collect();
                Some(format!(
                    "no object is in project `{p}`{}",
                    did_you_mean(p, projects)
                ))
            }
            Atom::Project(_) => None,
            Atom::Address(a) => {
                let kind = a.split('/').next().unwrap_or_default();
                if let Some(problem) = kind_problem(kind) {
                    return Some(problem);
                }
                if is_glob(a) {
                    return None;
                }
                let addresses: Vec<String> = graph.nodes().map(|n| n.address.to_string()).collect();
                // The same kind and name in a project, when the project was left out or is wrong.
                let name = a.rsplit('/').next().unwrap_or_default();
                let same_name: Vec<&str> = graph
                    .nodes()
                    .zip(&addresses)
                    .filter(|(n, _)| n.address.kind == kind && n.address.name == name)
                    .map(|(_, a)| a.as_str())
                    .collect();
                let near = match same_name.as_slice() {
                    [] => nearest(a, addresses.iter().map(String::as_str)),
                    found => nearest(a, found.iter().copied()).or_else(|| {
                        Some(
                            found
                                .iter()
                                .take(SUGGESTED)
                                .map(|f| format!("`{f}`"))
                                .collect::<Vec<_>>()
                                .join(", "),
                        )
                    }),
                };
                near.map(|n| format!("did you mean {n}?"))
            }
            Atom::Name(n) => {
                if graph.kinds().iter().any(|k| k == n) {
                    return Some(format!(
                        "`{n}` is a kind, not an object's name: write `kind:{n}`"
                    ));
                }
                if is_glob(n) {
                    return None;
                }
                let names: BTreeSet<&str> =
                    graph.nodes().map(|n| n.address.name.as_str()).collect();
                nearest(n, names)
                    .map(|near| format!("no object is named `{n}`; did you mean {near}?"))
            }
        }
    }
}

/// The objects reachable from `start` (included) along dependencies (`up`) or dependents.
fn walk(graph: &Graph, start: &BTreeSet<Address>, depth: Depth, up: bool) -> BTreeSet<Address> {
    let mut seen: BTreeSet<Address> = start.clone();
    let mut queue: VecDeque<(Address, usize)> = start.iter().map(|a| (a.clone(), 0)).collect();
    while let Some((a, d)) = queue.pop_front() {
        if let Depth::Upto(max) = depth {
            if d >= max {
                continue;
            }
        }
        let next = if up {
            graph.dependencies(&a)
        } else {
            graph.dependents(&a)
        };
        for n in next {
            if seen.insert(n.clone()) {
                queue.push_back((n.clone(), d + 1));
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Registry;
    use crate::model::Object;
    use proptest::prelude::*;
    use serde_json::json;

    fn obj(kind: &str, name: &str, spec: serde_json::Value) -> Object {
        Object {
            kind: kind.into(),
            guid: None,
            name: name.into(),
            project: None,
            spec: spec.as_object().unwrap().clone(),
        }
    }

    /// segment ← area ← object; dirs: root ← a ← b, root ← c.
    fn graph() -> Graph {
        let objects = vec![
            obj("data_segment", "retail", json!({})),
            obj(
                "subject_area",
                "trade",
                json!({"data_segment": "data_segment/retail"}),
            ),
            obj(
                "business_object",
                "member",
                json!({"subject_area": "subject_area/trade"}),
            ),
            obj("standard_set_directory", "root", json!({})),
            obj(
                "standard_set_directory",
                "a",
                json!({"parent": "standard_set_directory/root"}),
            ),
            obj(
                "standard_set_directory",
                "b",
                json!({"parent": "standard_set_directory/a"}),
            ),
            obj(
                "standard_set_directory",
                "c",
                json!({"parent": "standard_set_directory/root"}),
            ),
        ];
        Graph::build(&objects, &Registry::builtin().unwrap())
    }

    fn names(expr: &str) -> Vec<String> {
        Selector::parse(expr)
            .unwrap()
            .select(&graph())
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect()
    }

    #[test]
    fn atoms() {
        assert_eq!(names("kind:data_segment"), ["retail"]);
        assert_eq!(names("category:architecture"), ["member", "trade"]);
        assert_eq!(names("standard_set_directory/*"), ["a", "b", "c", "root"]);
        assert_eq!(names("r*"), ["retail", "root"]);
        assert_eq!(names("**/trade"), ["trade"]);
    }

    #[test]
    fn graph_operators() {
        assert_eq!(
            names("+business_object/member"),
            ["member", "retail", "trade"]
        );
        assert_eq!(names("1+business_object/member"), ["member", "trade"]);
        assert_eq!(
            names("standard_set_directory/root+"),
            ["a", "b", "c", "root"]
        );
        assert_eq!(names("standard_set_directory/root+1"), ["a", "c", "root"]);
        assert_eq!(names("@standard_set_directory/a"), ["a", "b", "root"]);
    }

    #[test]
    fn union_intersection() {
        assert_eq!(
            names("kind:data_segment kind:subject_area"),
            ["retail", "trade"]
        );
        assert_eq!(
            names("standard_set_directory/root+,standard_set_directory/*b*"),
            ["b"]
        );
        let g = graph();
        let chosen = choose(
            &g,
            Some(&Selector::parse("standard_set_directory/root+").unwrap()),
            Some(&Selector::parse("standard_set_directory/a+").unwrap()),
        )
        .unwrap();
        assert_eq!(
            chosen.into_iter().map(|a| a.name).collect::<Vec<_>>(),
            ["c", "root"]
        );
    }

    #[test]
    fn errors_name_the_position() {
        let err = |e: &str| match Selector::parse(e).unwrap_err() {
            SelectError::Parse {
                position, message, ..
            } => (position, message),
            other => panic!("{other:?}"),
        };
        assert_eq!(err("kind:a,,kind:b").0, 7);
        assert_eq!(err("x category:nope").0, 11);
        assert!(err("x category:nope")
            .1
            .starts_with("unknown category `nope`"));
        assert_eq!(err("@a+").0, 0);
        assert_eq!(err("a+b+c").0, 1);
        assert_eq!(err("colour:red").0, 0);
        assert_eq!(err("kind:").0, 5);
        assert_eq!(err("+").0, 1);
        assert_eq!(err("   ").0, 0);
        let none = Selector::parse("kind:data_segment kind:no_such")
            .unwrap()
            .select(&graph())
            .unwrap_err();
        assert_eq!(
            none,
            SelectError::NoMatch {
                part: "kind:no_such".into(),
                why: Some("no kind `no_such`".into()),
            }
        );
    }

    fn why(expr: &str) -> String {
        Selector::parse(expr)
            .unwrap()
            .select(&graph())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_part_that_matches_nothing_says_why_and_suggests_the_nearest() {
        assert_eq!(
            why("subjct_area/trade"),
            "selector part `subjct_area/trade` matches no object: no kind `subjct_area`; did you mean `subject_area`?"
        );
        assert_eq!(
            why("kind:busines_object+"),
            "selector part `kind:busines_object+` matches no object: no kind `busines_object`; did you mean `business_object`?"
        );
        assert_eq!(
            why("subject_area/trad"),
            "selector part `subject_area/trad` matches no object: did you mean `subject_area/trade`?"
        );
        assert_eq!(
            why("standard_set_directory/x"),
            "selector part `standard_set_directory/x` matches no object: did you mean `standard_set_directory/a`, `standard_set_directory/b`, `standard_set_directory/c`?"
        );
        assert_eq!(
            why("kind:compute_task"),
            "selector part `kind:compute_task` matches no object: no object is of kind `compute_task`"
        );
        assert_eq!(
            why("category:security"),
            "selector part `category:security` matches no object: no object is in category `security`"
        );
        assert_eq!(
            why("membr"),
            "selector part `membr` matches no object: no object is named `membr`; did you mean `member`?"
        );
        assert_eq!(
            why("data_segment"),
            "selector part `data_segment` matches no object: `data_segment` is a kind, not an object's name: write `kind:data_segment`"
        );
        assert_eq!(
            why("subject_area/*x*"),
            "selector part `subject_area/*x*` matches no object"
        );
        assert_eq!(
            why("zzzzzzzzzzzz/q"),
            "selector part `zzzzzzzzzzzz/q` matches no object: no kind `zzzzzzzzzzzz`"
        );
    }

    fn random_graph() -> impl Strategy<Value = Vec<Object>> {
        (2usize..24).prop_flat_map(|n| {
            prop::collection::vec(prop::option::of(0usize..1000), n).prop_map(move |parents| {
                parents
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let spec = match p {
                            Some(p) if i > 0 => {
                                json!({"parent": format!("standard_set_directory/d{}", p % i)})
                            }
                            _ => json!({}),
                        };
                        obj("standard_set_directory", &format!("d{i}"), spec)
                    })
                    .collect()
            })
        })
    }

    proptest! {
        #[test]
        fn closures_are_closed(objects in random_graph(), pick in 0usize..1000) {
            let g = Graph::build(&objects, &Registry::builtin().unwrap());
            let x = format!("standard_set_directory/d{}", pick % objects.len());
            let up = Selector::parse(&format!("+{x}")).unwrap().select(&g).unwrap();
            for a in &up {
                for d in g.dependencies(a) {
                    prop_assert!(up.contains(d), "+X is closed under dependencies");
                }
            }
            let down = Selector::parse(&format!("{x}+")).unwrap().select(&g).unwrap();
            for a in &down {
                for d in g.dependents(a) {
                    prop_assert!(down.contains(d), "X+ is closed under dependents");
                }
            }
        }
    }
}
