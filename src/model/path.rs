//! Where an object's file lives, and the reversible escaping of names into file names.
//!
//! An object's file is `objects/<category>/<kind>/[<project>/]<name>.toml`. Names may hold any
//! Unicode the platform allows (CJK included); the characters no common file system accepts are
//! written as `%XX` (the UTF-8 bytes, upper-case hex):
//!
//! - `%` itself, `\`, `:`, `*`, `?`, `"`, `<`, `>`, `|`;
//! - a leading `.` (hidden files, `.` and `..`), a trailing `.` or space (Windows drops them);
//! - the first letter of a name Windows reserves (`CON`, `PRN`, `AUX`, `NUL`, `COM1`–`COM9`,
//!   `LPT1`–`LPT9`, in any case, with or without an extension).
//!
//! Everything else is kept as it is, so most names are their own file names. [`unescape`] is the
//! exact inverse of [`escape`].
//!
//! File systems limit a file name to 255 bytes, and a CJK character takes three. An escaped name
//! longer than [`MAX_FILE_NAME_BYTES`] is cut at a character boundary and ends in `~` and 16 hex
//! digits of the name's blake3 hash, so it stays unique; such a file name does not unescape (the
//! name is in the file, and the path check compares against the same function).

use crate::kinds::Category;

/// The folder that holds every object file.
pub const OBJECTS_DIR: &str = "objects";

/// The longest file name (without `.toml`) written in full; longer ones are cut and hashed.
pub const MAX_FILE_NAME_BYTES: usize = 200;

/// The form two paths or addresses share when a file system that ignores letter case and Unicode
/// normalisation (macOS, Windows) would make them one file: NFC, lower case, NFC again.
pub fn folded(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.nfc().flat_map(char::to_lowercase).nfc().collect()
}

/// The repository-relative path (with `/` separators) of an object's file.
pub fn object_path(category: Category, kind: &str, project: Option<&str>, name: &str) -> String {
    let mut path = format!("{OBJECTS_DIR}/{}/{kind}/", category.as_str());
    if let Some(project) = project {
        path.push_str(&file_name(project));
        path.push('/');
    }
    path.push_str(&file_name(name));
    path.push_str(".toml");
    path
}

fn must_escape(c: char) -> bool {
    matches!(
        c,
        '%' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '/'
    ) || c.is_control()
}

fn is_reserved(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or(name)
        .trim_end()
        .to_uppercase();
    if matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let (Some(prefix), Some(digit)) = (stem.get(..3), stem.get(3..)) else {
        return false;
    };
    matches!(prefix, "COM" | "LPT")
        && matches!(
            digit,
            "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "\u{b9}" | "\u{b2}" | "\u{b3}"
        )
}

fn push_escaped(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// The file name (without `.toml`) of a name: [`escape`]d, and cut and hashed when longer than
/// [`MAX_FILE_NAME_BYTES`].
pub fn file_name(name: &str) -> String {
    let escaped = escape(name);
    if escaped.len() <= MAX_FILE_NAME_BYTES {
        return escaped;
    }
    let mut cut = MAX_FILE_NAME_BYTES - 17;
    while !escaped.is_char_boundary(cut) {
        cut -= 1;
    }
    // Do not cut an escape in half.
    if let Some(i) = escaped[..cut].rfind('%').filter(|i| cut - i < 3) {
        cut = i;
    }
    let hash = blake3::hash(name.as_bytes()).to_hex();
    format!("{}~{}", &escaped[..cut], &hash[..16])
}

/// Escapes a name into a file name (without the `.toml` extension).
pub fn escape(name: &str) -> String {
    let count = name.chars().count();
    let reserved = is_reserved(name);
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let first = i == 0;
        let last = i + 1 == count;
        if must_escape(c)
            || (first && c == '.')
            || (first && reserved)
            || (last && (c == '.' || c == ' '))
        {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Why a file name is not the escaped form of any name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file name `{file_name}` is not a name escaped the way ferry writes it ({why}); rename the file to `{suggestion}`")]
pub struct UnescapeError {
    /// The file name.
    pub file_name: String,
    /// What is wrong.
    pub why: &'static str,
    /// The file name ferry would write for the same text.
    pub suggestion: String,
}

/// Turns a file name (without `.toml`) back into the name it escapes. Refuses file names that
/// [`escape`] would not have written, so that every name has exactly one file name.
pub fn unescape(file_name: &str) -> Result<String, UnescapeError> {
    let bytes = file_name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let fail = |why| UnescapeError {
        file_name: file_name.to_string(),
        why,
        suggestion: escape(file_name),
    };
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = file_name
                .get(i + 1..i + 3)
                .ok_or_else(|| fail("`%` must be followed by two hex digits"))?;
            if !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            {
                return Err(fail("`%` must be followed by two upper-case hex digits"));
            }
            out.push(u8::from_str_radix(hex, 16).map_err(|_| fail("bad escape"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).map_err(|_| fail("escapes are not UTF-8"))?;
    if crate::model::check_name(&name).is_err() {
        return Err(fail("it names a name ferry refuses"));
    }
    if escape(&name) != file_name {
        return Err(UnescapeError {
            file_name: file_name.to_string(),
            why: "not the canonical escaping",
            suggestion: escape(&name),
        });
    }
    Ok(name)
}

/// The address a file's path gives, if it is where an object file belongs and its names
/// unescape: for messages about files that cannot be read.
pub fn address_from_path(path: &str) -> Option<crate::model::Address> {
    let rest = path
        .strip_prefix(OBJECTS_DIR)?
        .strip_prefix('/')?
        .strip_suffix(".toml")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (kind, project, name) = match parts.as_slice() {
        [_category, kind, name] => (*kind, None, *name),
        [_category, kind, project, name] => (*kind, Some(unescape(project).ok()?), *name),
        _ => return None,
    };
    Some(crate::model::Address {
        kind: kind.to_string(),
        project,
        name: unescape(name).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_names_are_kept() {
        assert_eq!(escape("dwd_orders_di"), "dwd_orders_di");
        assert_eq!(escape("日销售额"), "日销售额");
        assert_eq!(escape("a b.c"), "a b.c");
    }

    #[test]
    fn awkward_names_are_escaped() {
        assert_eq!(escape("a:b"), "a%3Ab");
        assert_eq!(escape("100%"), "100%25");
        assert_eq!(escape(".hidden"), "%2Ehidden");
        assert_eq!(escape("end."), "end%2E");
        assert_eq!(escape("con"), "%63on");
        assert_eq!(escape("COM1.txt"), "%43OM1.txt");
        assert_eq!(escape("COM10"), "COM10");
        assert_eq!(escape("conin$"), "%63onin$");
        assert_eq!(escape("LPT\u{b9}"), "%4CPT\u{b9}");
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let name = "订".repeat(90);
        let file = file_name(&name);
        assert!(file.len() <= MAX_FILE_NAME_BYTES, "{}", file.len());
        assert_ne!(file, file_name(&format!("{name}单")));
        assert_eq!(file_name("short"), "short");
        let escapes = "%".repeat(100);
        assert!(file_name(&escapes).len() <= MAX_FILE_NAME_BYTES);
        assert!(!file_name(&escapes).contains("%2~"), "escapes are not cut");
    }

    #[test]
    fn addresses_come_back_from_paths() {
        let a = address_from_path("objects/development/compute_task/sales/a%3Ab.toml").unwrap();
        assert_eq!(a.to_string(), "compute_task/sales/a:b");
        assert_eq!(
            address_from_path("objects/global/project/p.toml")
                .unwrap()
                .to_string(),
            "project/p"
        );
        assert!(address_from_path("objects/x.toml").is_none());
        assert!(address_from_path("objects/global/project/a%2Fb.toml").is_none());
    }

    #[test]
    fn non_canonical_file_names_are_refused() {
        assert!(unescape("a%3ab").is_err());
        assert!(unescape("a%").is_err());
        assert!(
            unescape("a%41").is_err(),
            "escaping a plain letter is not canonical"
        );
        assert_eq!(unescape("a%3Ab").unwrap(), "a:b");
    }

    #[test]
    fn paths() {
        assert_eq!(
            object_path(
                Category::Development,
                "compute_task",
                Some("sales"),
                "dwd:x"
            ),
            "objects/development/compute_task/sales/dwd%3Ax.toml"
        );
        assert_eq!(
            object_path(Category::Global, "project", None, "sales"),
            "objects/global/project/sales.toml"
        );
    }

    proptest! {
        #[test]
        fn escape_round_trips(name in "\\PC{1,40}") {
            prop_assume!(crate::model::check_name(&name).is_ok());
            let escaped = escape(&name);
            prop_assert!(!escaped.contains('/'));
            prop_assert!(!escaped.starts_with('.'));
            prop_assert_eq!(unescape(&escaped).unwrap(), name);
        }
    }
}
