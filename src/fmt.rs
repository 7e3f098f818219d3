//! `ferry fmt`: object files rewritten in canonical form ([`crate::model::canonical`]).
//!
//! Formatting needs only a parseable file with a `kind` and a `name`; a file that breaks its
//! schema is still formatted (as rustfmt formats code that does not type-check). New objects
//! without a `guid` are given a random (v4) one, which is then theirs in every environment.

use uuid::Uuid;

use crate::kinds::Registry;
use crate::model::{canonical, file};
use crate::repo::SourceFile;
use crate::validate::{Code, Problem};

/// A file whose canonical text differs from what is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The file, relative to the repository root.
    pub path: String,
    /// Its canonical text.
    pub text: String,
}

/// What formatting found.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Files to rewrite, by path.
    pub changes: Vec<Change>,
    /// Files that could not be formatted, left as they are.
    pub problems: Vec<Problem>,
}

/// The canonical form of every object file that is not canonical yet.
pub fn format_files(files: &[SourceFile], registry: &Registry) -> Outcome {
    let mut outcome = Outcome::default();
    for f in files {
        let name = f.path.rsplit('/').next().unwrap_or_default();
        if name.starts_with('.') || !name.ends_with(".toml") {
            continue;
        }
        let problem = |code, position, message: String| Problem {
            path: f.path.clone(),
            position,
            address: None,
            code,
            message,
            hint: Some("fix the file by hand, then run `ferry fmt` again".into()),
        };
        let Ok(text) = std::str::from_utf8(&f.bytes) else {
            outcome
                .problems
                .push(problem(Code::Encoding, None, "not UTF-8".into()));
            continue;
        };
        let doc = match file::parse_document(text) {
            Ok(doc) => doc,
            Err(e) => {
                outcome.problems.push(problem(
                    Code::Syntax,
                    e.position,
                    format!("TOML syntax: {}", e.message),
                ));
                continue;
            }
        };
        let mut object = match file::object_from_document(doc) {
            Ok(object) => object,
            Err(m) => {
                outcome.problems.push(problem(Code::Schema, None, m));
                continue;
            }
        };
        if object.guid.is_none() {
            object.guid = Some(Uuid::new_v4());
        }
        match canonical::to_canonical(&object, registry.get(&object.kind)) {
            Ok(canonical) if canonical != text => outcome.changes.push(Change {
                path: f.path.clone(),
                text: canonical,
            }),
            Ok(_) => {}
            Err(e) => outcome
                .problems
                .push(problem(Code::Schema, None, e.to_string())),
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_with_a_line_break_is_reported_not_written_into_the_schema_line() {
        // Found by the fuzz harness: the kind went into the `#:schema` comment as it was, so the
        // text after the line break became TOML.
        let file = SourceFile {
            path: "objects/global/project/sales.toml".into(),
            bytes: b"kind = \"project\\n[spec]\"\nname = \"sales\"\n".to_vec(),
            symlink: false,
        };
        let outcome = format_files(&[file], &Registry::builtin().unwrap());
        assert!(outcome.changes.is_empty());
        let [problem] = outcome.problems.as_slice() else {
            panic!("{:?}", outcome.problems)
        };
        assert_eq!(problem.path, "objects/global/project/sales.toml");
        assert!(
            problem
                .message
                .contains("the kind `project\\n[spec]` holds a control character"),
            "{}",
            problem.message
        );
    }
}
