//! JSON pointers with a `*` wildcard, as kind schemas use them to name reference, secret and
//! environment-specific fields.
//!
//! A pointer is RFC 6901 (`/spec/inputs/0/data_source`, `~1` for `/`, `~0` for `~`), extended with
//! one segment: `*` matches every element of an array or every value of a table.

use serde_json::{Map, Value};

/// Splits a pointer into its unescaped segments. `""` is the whole document.
pub fn segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// Escapes one segment for a pointer.
pub fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Every value the (possibly wildcarded) pointer reaches, with the concrete pointer to it, in
/// document order.
pub fn select<'v>(doc: &'v Value, pointer: &str) -> Vec<(String, &'v Value)> {
    walk(vec![(String::new(), doc)], &segments(pointer))
}

/// [`select`] over an object's `spec` table without building its whole document: `pointer`
/// must start with `/spec/` (every reference, secret and exportability pointer of a kind does);
/// others reach nothing.
pub fn select_spec<'v>(spec: &'v Map<String, Value>, pointer: &str) -> Vec<(String, &'v Value)> {
    select_spec_segments(spec, &segments(pointer))
}

/// [`select_spec`] of a pointer already split into [`segments`].
pub fn select_spec_segments<'v>(
    spec: &'v Map<String, Value>,
    segs: &[String],
) -> Vec<(String, &'v Value)> {
    let Some(("spec", rest)) = segs.split_first().map(|(f, r)| (f.as_str(), r)) else {
        return Vec::new();
    };
    let Some((first, rest)) = rest.split_first() else {
        return Vec::new();
    };
    let start: Vec<(String, &Value)> = if first == "*" {
        spec.iter()
            .map(|(k, v)| (format!("/spec/{}", escape_segment(k)), v))
            .collect()
    } else {
        spec.get(first.as_str())
            .map(|v| (format!("/spec/{}", escape_segment(first)), v))
            .into_iter()
            .collect()
    };
    walk(start, rest)
}

fn walk<'v>(mut found: Vec<(String, &'v Value)>, segs: &[String]) -> Vec<(String, &'v Value)> {
    for seg in segs {
        let mut next = Vec::new();
        for (at, value) in found {
            match (seg.as_str(), value) {
                ("*", Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        next.push((format!("{at}/{i}"), item));
                    }
                }
                ("*", Value::Object(map)) => {
                    for (k, item) in map {
                        next.push((format!("{at}/{}", escape_segment(k)), item));
                    }
                }
                (key, Value::Object(map)) => {
                    if let Some(item) = map.get(key) {
                        next.push((format!("{at}/{}", escape_segment(key)), item));
                    }
                }
                (index, Value::Array(items)) => {
                    if let Some(item) = index.parse::<usize>().ok().and_then(|i| items.get(i)) {
                        next.push((format!("{at}/{index}"), item));
                    }
                }
                _ => {}
            }
        }
        found = next;
    }
    found
}

/// Whether a concrete pointer is matched by a (possibly wildcarded) pattern.
pub fn matches(pattern: &str, concrete: &str) -> bool {
    let p = segments(pattern);
    let c = segments(concrete);
    p.len() == c.len() && p.iter().zip(&c).all(|(p, c)| p == "*" || p == c)
}

/// Whether the value at `concrete` and the places `pattern` matches overlap: one is inside the
/// other (or they are the same). A value at `/spec` holds whatever a pattern below it matches.
pub fn overlaps(pattern: &str, concrete: &str) -> bool {
    let p = segments(pattern);
    let c = segments(concrete);
    p.iter().zip(&c).all(|(p, c)| p == "*" || p == c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_overlaps_the_patterns_inside_it_and_around_it() {
        assert!(overlaps("/spec/connection/password", "/spec/connection"));
        assert!(overlaps("/spec/connection/password", ""));
        assert!(overlaps(
            "/spec/config_files/*/content",
            "/spec/config_files"
        ));
        assert!(overlaps(
            "/spec/config_files/*/content",
            "/spec/config_files/2/content/x"
        ));
        assert!(!overlaps(
            "/spec/connection/password",
            "/spec/connection/host"
        ));
        assert!(!overlaps("/spec/connection/password", "/spec/name"));
    }

    #[test]
    fn selects_through_wildcards() {
        let doc = json!({"spec": {"inputs": [{"ds": "a"}, {"x": 1}, {"ds": "b"}], "a/b": 1}});
        let got: Vec<_> = select(&doc, "/spec/inputs/*/ds")
            .into_iter()
            .map(|(p, v)| (p, v.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/spec/inputs/0/ds".to_string(), json!("a")),
                ("/spec/inputs/2/ds".to_string(), json!("b"))
            ]
        );
        assert_eq!(select(&doc, "/spec/a~1b")[0].0, "/spec/a~1b");
        assert!(select(&doc, "/spec/missing").is_empty());
        assert!(matches("/spec/inputs/*/ds", "/spec/inputs/2/ds"));
        assert!(!matches("/spec/inputs/*/ds", "/spec/inputs/2"));
        let spec = doc["spec"].as_object().unwrap();
        for pointer in [
            "/spec/inputs/*/ds",
            "/spec/a~1b",
            "/spec/*",
            "/spec/missing",
            "/kind",
        ] {
            assert_eq!(
                select_spec(spec, pointer),
                select(&doc, pointer),
                "{pointer}"
            );
        }
    }
}
