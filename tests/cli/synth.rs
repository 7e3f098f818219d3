//! The synthetic tenants the benchmarks use are valid, deterministic and load into a tenant.

use crate::common::{stderr, tenant, TestEnv};

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
    assert!(stderr(&out).starts_with("ok: "), "{}", stderr(&out));
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
