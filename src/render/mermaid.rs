//! Mermaid, the one escaper of the text in its node labels: the graph's flowchart and the plan's
//! graph of changes (in Markdown) both write labels through it.

/// `text` as a Mermaid label between double quotes: the characters that would end or break it
/// (`&`, `"`, `<`, `>`) as Mermaid's entity codes.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_angle_brackets_become_entity_codes() {
        assert_eq!(
            super::escape(r#"kind/a&"b"<c>"#),
            "kind/a#amp;#quot;b#quot;#lt;c#gt;"
        );
    }
}
