use crate::common::{source_dir, text, TestEnv};

fn retail(env: &TestEnv, format: &str) -> String {
    let out = env
        .ferry()
        .args(["graph", "--format", format, "--repo"])
        .arg(source_dir().join("examples/retail"))
        .assert()
        .success();
    assert_eq!(text(&out.get_output().stderr, env), "");
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn mermaid_graph_of_the_example() {
    let env = TestEnv::new();
    insta::assert_snapshot!("retail_mermaid", retail(&env, "mermaid"));
}

#[test]
fn dot_and_json_graphs_of_the_example() {
    let env = TestEnv::new();
    let dot = retail(&env, "dot");
    assert!(dot.starts_with("digraph ferry {\n"));
    assert!(dot.contains("\"data_segment/"));
    let json: serde_json::Value = serde_json::from_str(&retail(&env, "json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/output/graph.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(jsonschema::is_valid(&schema, &json));
    let deepest = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["wave"].as_u64())
        .max();
    assert!(
        deepest >= Some(7),
        "the example is at least 8 levels deep, got {deepest:?}"
    );
    assert_eq!(retail(&env, "json"), retail(&env, "json"), "deterministic");
}

#[test]
fn graph_of_a_repository_with_a_cycle_warns() {
    let env = TestEnv::new();
    let dir = env.copy_example("examples/broken/cycle");
    let out = env
        .ferry()
        .args(["graph", "--format", "mermaid"])
        .current_dir(&dir)
        .assert()
        .success();
    let stderr = text(&out.get_output().stderr, &env);
    assert!(stderr.starts_with("warning: 1 problem(s)"), "{stderr}");
    let stdout = text(&out.get_output().stdout, &env);
    assert_eq!(stdout.matches(" --> ").count(), 3, "{stdout}");
}
