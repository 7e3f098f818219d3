//! User text quoted in messages: at most a short excerpt, with control characters escaped, so
//! that a 50 MB field cannot make a 50 MB error line and an ESC cannot reach the terminal.

/// `text` for a message: control characters escaped (`\u{1b}`, `\n`), cut after `max` characters
/// with `…` and the length of the whole.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (shown, c) in text.chars().enumerate() {
        if shown == max {
            out.push_str(&format!("… ({} bytes in all)", text.len()));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// How many items a message lists; the rest are counted ("and 147 more").
pub const LISTED: usize = 20;

/// `items` joined by `separator` for a message: the first [`LISTED`], then how many more.
pub fn listed<T: std::fmt::Display>(items: &[T], separator: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().take(LISTED).enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(&item.to_string());
    }
    if items.len() > LISTED {
        out.push_str(&format!("{separator}and {} more", items.len() - LISTED));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_at_twenty_and_counted() {
        let items: Vec<usize> = (1..=25).collect();
        let text = listed(&items, "; ");
        assert!(text.starts_with("1; 2; "), "{text}");
        assert!(text.ends_with("; 20; and 5 more"), "{text}");
        assert_eq!(listed(&items[..3], ", "), "1, 2, 3");
    }

    #[test]
    fn long_text_is_cut_and_control_characters_are_escaped() {
        assert_eq!(excerpt("short", 60), "short");
        assert_eq!(excerpt("a\u{1b}[31mb\n", 60), "a\\u{1b}[31mb\\n");
        let long = "x".repeat(50_000_000);
        let cut = excerpt(&long, 60);
        assert!(cut.len() < 100, "{}", cut.len());
        assert!(cut.ends_with("… (50000000 bytes in all)"), "{cut}");
        // Cut on a character, not a byte.
        assert_eq!(excerpt("近7天会员", 2), "近7… (13 bytes in all)");
    }
}
