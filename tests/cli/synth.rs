//! The synthetic tenants the benchmarks use are valid, deterministic and load into a tenant.

use crate::common::{git, stderr, stdout, tenant, TestEnv};

fn digest(dir: &std::path::Path) -> String {
    let mut files = Vec::new();
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    walk(&dir.join("objects"), &mut files);
    files.sort();
    let mut hasher = blake3::Hasher::new();
    for (path, bytes) in &files {
        hasher.update(path.rsplit("objects/").next().unwrap().as_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().to_hex().to_string()
}

#[test]
fn synthetic_tenants_are_valid_deterministic_and_loadable() {
    let env = TestEnv::new();
    let out = env
        .ferry()
        .args(["synth", "--objects", "600", "--seed", "7", "--out", "a"])
        .assert()
        .success();
    let said = stderr(&out);
    let levels: usize = said
        .split(", ")
        .last()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((10..=16).contains(&levels), "about ten levels deep: {said}");
    env.ferry()
        .args(["synth", "--objects", "600", "--seed", "7", "--out", "b"])
        .assert()
        .success();
    assert_eq!(digest(&env.path().join("a")), digest(&env.path().join("b")));
    env.ferry()
        .args(["synth", "--objects", "600", "--seed", "8", "--out", "c"])
        .assert()
        .success();
    assert_ne!(digest(&env.path().join("a")), digest(&env.path().join("c")));

    let out = env
        .ferry()
        .args(["validate", "--repo", "a"])
        .assert()
        .success();
    assert!(stderr(&out).contains("\nok: "), "{}", stderr(&out));
    env.ferry()
        .args(["fmt", "--check", "--repo", "a"])
        .assert()
        .success();
    let url = tenant(&env, "t");
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "a/objects"])
        .assert()
        .success();
    assert!(
        stderr(&out).contains(" created, 0 updated"),
        "{}",
        stderr(&out)
    );
}

/// A synthetic tenant plans and applies into an empty tenant; after that nothing is left to
/// do, and after --mutate the plan that reads only the changed files is the plan that reads
/// everything.
#[test]
fn synthetic_tenants_plan_and_apply() {
    let env = TestEnv::new();
    env.ferry()
        .args(["synth", "--objects", "400", "--seed", "5", "--out", "r"])
        .assert()
        .success();
    let repo = env.path().join("r");
    let config = repo.join("ferry.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[source]\nname = \"synth\"\nplatform_version = \"4.5.0\"\nengine = \"maxcompute\"\n\
         engine_mode = \"single\"\ncluster = \"cn-shanghai-mc-01\"\n",
    );
    std::fs::write(&config, text).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "synthetic"]);
    tenant(&env, "prod");
    let prod = format!("sqlite:{}", env.path().join("prod.db").display());
    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(stderr(&out).contains("applied 4"), "{}", stderr(&out));
    env.ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
    env.ferry()
        .args(["synth", "--mutate", "12", "--seed", "3", "--out", "r"])
        .assert()
        .success();
    let plan = |full: bool| {
        let mut cmd = env.ferry();
        cmd.args(["plan", "--to", &prod, "--prune", "--format", "json"])
            .current_dir(&repo);
        if full {
            cmd.env("FERRY_FULL_READ", "1");
        }
        stdout(&cmd.assert().success())
    };
    let fast = plan(false);
    assert_eq!(fast, plan(true));
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).starts_with("read 8 changed object file(s); "),
        "only the edited and renamed files are read: {}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_str(&fast).unwrap();
    assert_eq!(json["changes"].as_array().unwrap().len(), 12, "{fast}");
}

#[test]
fn mutations_keep_the_repository_valid() {
    let env = TestEnv::new();
    env.ferry()
        .args(["synth", "--objects", "600", "--seed", "3", "--out", "r"])
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["synth", "--mutate", "9", "--out", "r"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("has no commit to change"),
        "{}",
        stderr(&out)
    );
    let repo = env.path().join("r");
    crate::common::git(&repo, &["add", "-A"]);
    crate::common::git(&repo, &["commit", "-qm", "synthetic"]);
    let out = env
        .ferry()
        .args(["synth", "--mutate", "9", "--seed", "3", "--out", "r"])
        .assert()
        .success();
    assert!(
        stderr(&out).starts_with("3 edited, 3 renamed, 3 deleted; commit "),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["validate", "--repo", "r"])
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["diff", "HEAD~1..HEAD", "--repo", "r"])
        .assert()
        .success();
    assert!(
        stderr(&out).contains("9 objects changed: 0 added, 3 modified, 3 renamed, 3 deleted"),
        "{}",
        stderr(&out)
    );
    // More rounds with other seeds: every edit, rename and delete keeps the repository valid
    // (an edit once gave a description to a kind without one).
    for seed in 10..16 {
        env.ferry()
            .args([
                "synth",
                "--mutate",
                "120",
                "--seed",
                &seed.to_string(),
                "--out",
                "r",
            ])
            .assert()
            .success();
        let out = env.ferry().args(["validate", "--repo", "r"]).assert();
        assert!(
            out.get_output().status.success(),
            "seed {seed}: {}",
            stderr(&out)
        );
    }
}
