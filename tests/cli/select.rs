//! `--select` and `--exclude` on graph and export.

use crate::common::{source_dir, stderr, stdout, tenant, TestEnv};

fn graph_nodes(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let out = env
        .ferry()
        .args(["graph", "--format", "json", "--repo"])
        .arg(source_dir().join("examples/retail"))
        .args(args)
        .assert()
        .success();
    let graph: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_metric_and_everything_it_needs() {
    let env = TestEnv::new();
    let nodes = graph_nodes(
        &env,
        &["--select", "+derived_metric/retail_dw/gmv_1d_store"],
    );
    for expected in [
        "derived_metric/retail_dw/gmv_1d_store",
        "atomic_metric/retail_dw/gmv_amount",
        "data_segment/retail",
        "project/retail_dw",
    ] {
        assert!(
            nodes.iter().any(|n| n == expected),
            "{expected} in {nodes:?}"
        );
    }
    assert!(
        !nodes.iter().any(|n| n.starts_with("quality_rule/")),
        "nothing that depends on it: {nodes:?}"
    );
    // Closed under dependencies: every edge from a chosen node lands on a chosen node.
    let out = env
        .ferry()
        .args(["graph", "--format", "json", "--repo"])
        .arg(source_dir().join("examples/retail"))
        .assert()
        .success();
    let full: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for e in full["edges"].as_array().unwrap() {
        if nodes.iter().any(|n| n == e["dependent"].as_str().unwrap()) {
            assert!(
                nodes.iter().any(|n| n == e["dependency"].as_str().unwrap()),
                "{e}"
            );
        }
    }
}

#[test]
fn impact_of_a_data_source() {
    let env = TestEnv::new();
    let nodes = graph_nodes(&env, &["--select", "data_source/orders_mysql+"]);
    assert!(nodes.contains(&"data_source/orders_mysql".to_string()));
    assert!(nodes.len() > 1, "something depends on it: {nodes:?}");
    let fewer = graph_nodes(&env, &["--select", "data_source/orders_mysql+1"]);
    assert!(fewer.len() <= nodes.len());
    let none = graph_nodes(
        &env,
        &[
            "--select",
            "data_source/orders_mysql+",
            "--exclude",
            "data_source/orders_mysql+",
        ],
    );
    assert!(none.is_empty());
    let both = graph_nodes(&env, &["--select", "kind:data_segment kind:project"]);
    assert!(
        both.iter()
            .all(|n| n.starts_with("data_segment/") || n.starts_with("project/")),
        "{both:?}"
    );
    let one = graph_nodes(&env, &["--select", "kind:project,project/retail_d*"]);
    assert_eq!(one, ["project/retail_dw"]);
}

#[test]
fn selector_errors_name_the_part_or_position() {
    let env = TestEnv::new();
    let run = |expr: &str| {
        let out = env
            .ferry()
            .args(["graph", "--repo"])
            .arg(source_dir().join("examples/retail"))
            .args(["--select", expr])
            .assert()
            .code(1);
        stderr(&out)
    };
    let err = run("kind:project kind:projet");
    assert!(
        err.starts_with(
            "error: selector part `kind:projet` matches no object: no kind `projet`; did you mean `project`?\n  hint: check the spelling"
        ),
        "{err}"
    );
    let err = run("category:nope");
    assert!(
        err.starts_with(
            "error: selector `category:nope`, at character 10: unknown category `nope`"
        ),
        "{err}"
    );
}

#[test]
fn export_of_a_selection() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects"))
        .assert()
        .success();
    env.ferry().args(["init", "repo"]).assert().success();
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--select",
            "+data_segment/retail",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let added: Vec<&str> = report["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["data_segment/retail"]);
}

#[test]
fn plan_and_apply_a_selection() {
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    let repo = env.path().join("repo");
    let metric = "+derived_metric/retail_dw/gmv_1d_store";
    let out = env
        .ferry()
        .args([
            "plan", "--to", &prod, "--select", metric, "--format", "json",
        ])
        .current_dir(&repo)
        .assert()
        .success();
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let planned: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    let chosen = graph_nodes(&env, &["--select", metric]);
    let mut sorted = planned.clone();
    sorted.sort();
    assert_eq!(sorted, chosen, "the plan creates exactly the chain");
    assert_eq!(
        plan["skipped"].as_array().unwrap().len(),
        167 - chosen.len()
    );
    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--select", metric, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).contains(&format!("applied {} change(s)", chosen.len())),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args([
            "plan",
            "--to",
            &prod,
            "--select",
            metric,
            "--detailed-exitcode",
        ])
        .current_dir(&repo)
        .assert()
        .code(0);

    // A chosen object whose dependencies are neither chosen nor in the destination.
    let out = env
        .ferry()
        .args([
            "plan",
            "--to",
            &prod,
            "--select",
            "derived_metric/retail_dw/order_count_30d_member",
        ])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("derived_metric/retail_dw/order_count_30d_member refers to "),
        "{err}"
    );
    assert!(
        err.contains("which is not selected and not in the destination"),
        "{err}"
    );
    assert!(err.contains("hint: widen the selection"), "{err}");
}

/// Issue 18, point 11: a part that matches nothing says when its kind does not exist and
/// suggests the nearest existing kinds, addresses and names.
#[test]
fn a_part_that_matches_nothing_suggests_the_nearest() {
    let env = TestEnv::new();
    let retail = source_dir().join("examples/retail");
    let mut said = String::new();
    for select in [
        "derivd_metric/retail_dw/gmv_1d_store+",
        "derived_metric/retail_dw/gmv_1d",
        "derived_metric/gmv_1d_store",
        "kind:atomic_metrc",
        "project:retail_dx",
        "dwd_trd_ordr_di",
    ] {
        let out = env
            .ferry()
            .args(["graph", "--select", select, "--repo"])
            .arg(&retail)
            .assert()
            .code(1);
        said.push_str(&format!("--select '{select}'\n{}", stderr(&out)));
    }
    insta::assert_snapshot!("no_match", said);
}
