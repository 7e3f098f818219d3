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
    // The schema environment files' `#:schema ../schemas/environment.schema.json` line names.
    assert_eq!(
        env.read("tenant/schemas/environment.schema.json"),
        ferry::desired::environment::SCHEMA
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
    env.write("tenant/schemas/environment.schema.json", "stale");
    env.ferry().args(["init", "tenant"]).assert().success();
    assert_eq!(env.read("tenant/ferry.toml"), config);
    assert_ne!(
        env.read("tenant/schemas/kinds/project.schema.json"),
        "stale",
        "schema copies are refreshed"
    );
    assert_eq!(
        env.read("tenant/schemas/environment.schema.json"),
        ferry::desired::environment::SCHEMA,
        "the environment schema is refreshed too"
    );
}

/// Issue 18, point 4: inside another repository's work tree init asks, naming that repository,
/// and writes nothing; --no-git keeps the tenant repository in it, --git nests one. A tenant
/// repository already there is refreshed without asking.
#[test]
fn init_inside_a_git_repository_asks_whether_to_nest_one() {
    let env = TestEnv::new();
    crate::common::git(env.path(), &["init", "-q"]);
    let said = env.run(env.ferry().args(["init", "sub/tenant"]));
    insta::assert_snapshot!("inside_a_repository", said);
    assert!(!env.path().join("sub").exists(), "nothing was written");

    let said = env.run(env.ferry().args(["init", "--no-git", "sub/tenant"]));
    assert!(
        said.ends_with(
            "  in the git repository [TMP] (no git init)\ntenant repository ready in sub/tenant\n"
        ),
        "{said}"
    );
    assert!(!env.path().join("sub/tenant/.git").exists());
    env.ferry().args(["init", "sub/tenant"]).assert().success();
    assert!(
        !env.path().join("sub/tenant/.git").exists(),
        "refreshed, not nested"
    );

    let said = env.run(env.ferry().args(["init", "--git", "nested"]));
    assert!(said.contains("  initialized a git repository\n"), "{said}");
    assert!(env.path().join("nested/.git").is_dir());
    // The top of a work tree is its own repository: nothing to ask.
    env.ferry().args(["init", "."]).assert().success();
    assert!(env.path().join("ferry.toml").is_file());

    let said = env.run(env.ferry().args(["init", "--git", "--no-git", "x"]));
    assert!(said.starts_with("exit: 1\n"), "{said}");
}

#[test]
fn init_no_git_outside_a_repository_makes_a_plain_folder() {
    let env = TestEnv::new();
    env.ferry()
        .args(["init", "--no-git", "plain"])
        .assert()
        .success();
    assert!(env.path().join("plain/ferry.toml").is_file());
    assert!(!env.path().join("plain/.git").exists());
}
