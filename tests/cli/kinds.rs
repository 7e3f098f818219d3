//! Every kind's sample file is valid, and the schemas refuse what they should.

use ferry::kinds::{Registry, Scope};
use ferry::model::path::object_path;
use ferry::repo::SourceFile;
use ferry::validate::{load_file, Code};

use crate::common::{source_dir, TestEnv};

fn fixture(kind: &str) -> Option<String> {
    std::fs::read_to_string(source_dir().join(format!("tests/fixtures/kinds/{kind}.toml"))).ok()
}

fn source_for(registry: &Registry, kind: &str, text: &str) -> SourceFile {
    let doc: toml::Table = toml::from_str(text).unwrap();
    let k = registry.get(kind).unwrap();
    let project = doc.get("project").and_then(|p| p.as_str());
    let name = doc["name"].as_str().unwrap();
    SourceFile {
        path: object_path(k.category, kind, project, name),
        bytes: text.as_bytes().to_vec(),
        symlink: false,
    }
}

#[test]
fn every_kind_has_a_valid_sample() {
    let registry = Registry::builtin().unwrap();
    for kind in registry.iter() {
        let text = fixture(&kind.name)
            .unwrap_or_else(|| panic!("tests/fixtures/kinds/{}.toml is missing", kind.name));
        let file = source_for(&registry, &kind.name, &text);
        let (_, problems) = load_file(file, &registry);
        if !problems.is_empty() {
            panic!(
                "{}: {}",
                kind.name,
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            kind.scope == Scope::Project,
            doc.contains_key("project"),
            "{}",
            kind.name
        );
    }
}

#[test]
fn every_schema_refuses_unknown_fields_with_their_line() {
    let registry = Registry::builtin().unwrap();
    for kind in registry.iter() {
        let text = fixture(&kind.name).unwrap();
        let text = text.replacen("[spec]\n", "[spec]\nno_such_field = 1\n", 1);
        let line = text
            .lines()
            .position(|l| l.starts_with("no_such_field"))
            .unwrap()
            + 1;
        let file = source_for(&registry, &kind.name, &text);
        let (_, problems) = load_file(file, &registry);
        assert_eq!(problems[0].code, Code::Schema, "{}", kind.name);
        assert_eq!(
            problems[0].position.map(|p| p.line),
            Some(line),
            "{}",
            kind.name
        );
        assert!(
            problems[0].message.contains("/spec/no_such_field"),
            "{}: {}",
            kind.name,
            problems[0].message
        );
    }
}

#[test]
fn every_schema_refuses_a_missing_name() {
    let registry = Registry::builtin().unwrap();
    for kind in registry.iter() {
        let text = fixture(&kind.name).unwrap();
        let file = source_for(&registry, &kind.name, &text);
        let without: String = text
            .lines()
            .filter(|l| !l.starts_with("name = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let file = SourceFile {
            bytes: without.into_bytes(),
            ..file
        };
        let (_, problems) = load_file(file, &registry);
        assert!(
            problems
                .iter()
                .any(|p| p.code == Code::Schema && p.message.contains("\"name\"")),
            "{}",
            kind.name
        );
    }
}

#[test]
fn kinds_command_lists_every_kind() {
    let env = TestEnv::new();
    let out = env
        .ferry()
        .args(["kinds", "--format", "json"])
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    let count = Registry::builtin().unwrap().iter().count();
    assert_eq!(doc["kinds"].as_array().unwrap().len(), count);
    let out = env.ferry().arg("kinds").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("compute_source"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("data_service_api") && l.ends_with(" no")),
        "{text}"
    );
}
