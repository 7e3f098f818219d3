use crate::common::TestEnv;

#[test]
fn init_makes_a_repository_that_validates() {
    let env = TestEnv::new();
    env.ferry().args(["init", "tenant"]).assert().success();
    let root = env.path().join("tenant");
    for file in [
        "ferry.toml",
        ".gitignore",
        "objects/.gitkeep",
        "environments/.gitkeep",
    ] {
        assert!(root.join(file).is_file(), "{file} written");
    }
    assert!(root.join(".git").is_dir(), "git repository created");
    let schemas = std::fs::read_dir(root.join("schemas/kinds"))
        .unwrap()
        .count();
    assert_eq!(
        schemas,
        ferry::kinds::Registry::builtin().unwrap().iter().count()
    );
    let out = env
        .ferry()
        .args(["validate", "--repo", "tenant"])
        .assert()
        .success();
    assert_eq!(
        crate::common::text(&out.get_output().stderr, &env),
        "checked the working tree (0 object files); nothing is committed yet\nok: 0 objects valid\n"
    );
}

#[test]
fn init_again_keeps_existing_files() {
    let env = TestEnv::new();
    env.ferry().args(["init", "tenant"]).assert().success();
    let config = "format_version = 1\n\n[source]\nname = \"dev\"\nplatform_version = \"4.5.0\"\nengine = \"hive\"\nengine_mode = \"single\"\ncluster = \"c\"\n";
    env.write("tenant/ferry.toml", config);
    std::fs::write(
        env.path().join("tenant/schemas/kinds/project.schema.json"),
        "stale",
    )
    .unwrap();
    env.ferry().args(["init", "tenant"]).assert().success();
    assert_eq!(env.read("tenant/ferry.toml"), config);
    assert_ne!(
        env.read("tenant/schemas/kinds/project.schema.json"),
        "stale",
        "schema copies are refreshed"
    );
}

#[test]
fn init_inside_a_git_repository_does_not_nest_one() {
    let env = TestEnv::new();
    crate::common::git(env.path(), &["init", "-q"]);
    env.ferry().args(["init", "sub/tenant"]).assert().success();
    assert!(!env.path().join("sub/tenant/.git").exists());
}
