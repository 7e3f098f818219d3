use std::path::Path;

use crate::common::{source_dir, stderr, stdout, tenant, TestEnv};

/// Tenant `dev` holding the retail example, exported and committed to `repo`; an empty `prod`.
pub fn promoted_setup(env: &TestEnv) -> (String, String) {
    let dev = tenant(env, "dev");
    env.ferry()
        .args(["object", "put", "--tenant", &dev])
        .arg(source_dir().join("examples/retail/objects"))
        .assert()
        .success();
    env.ferry().args(["init", "repo"]).assert().success();
    env.ferry()
        .args(["export", "--from", &dev, "--repo", "repo", "--commit"])
        .assert()
        .success();
    tenant(env, "prod");
    // Absolute, so commands can run from inside the repository.
    (
        dev,
        format!("sqlite:{}", env.path().join("prod.db").display()),
    )
}

fn objects_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push((
                    path.strip_prefix(base).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn promote_the_example_to_an_empty_tenant() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 167 to create (0 unchanged, 0 not managed by ferry)."),
        "{text}"
    );
    // Every create comes after what it refers to.
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let wave: std::collections::HashMap<&str, u64> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap(), c["wave"].as_u64().unwrap()))
        .collect();
    let out = env
        .ferry()
        .args(["graph", "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    let graph: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for edge in graph["edges"].as_array().unwrap() {
        let (a, b) = (
            edge["dependent"].as_str().unwrap(),
            edge["dependency"].as_str().unwrap(),
        );
        assert!(
            wave[a] > wave[b],
            "{a} (wave {}) runs after {b} (wave {})",
            wave[a],
            wave[b]
        );
    }

    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).starts_with("applied 167 change(s) to "),
        "{}",
        stderr(&out)
    );
    env.ferry().args(["init", "prod-export"]).assert().success();
    env.ferry()
        .args(["export", "--from", &prod, "--repo", "prod-export"])
        .assert()
        .success();
    assert_eq!(
        objects_of(&env.path().join("prod-export/objects")),
        objects_of(&repo.join("objects"))
    );
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
    assert!(stdout(&out)
        .contains("No changes: the destination matches (167 unchanged, 0 not managed by ferry)."));
}

#[test]
fn apply_without_a_terminal_needs_approval() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let out = env
        .ferry()
        .args(["apply", "--to", &prod])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(1);
    assert!(stderr(&out).contains("error: refusing to apply without confirmation: no terminal to ask on\n  hint: pass --auto-approve"), "{}", stderr(&out));
    // Nothing was applied.
    env.ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(2);
}
