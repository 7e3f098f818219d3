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
    assert!(levels >= 10, "{said}");
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
