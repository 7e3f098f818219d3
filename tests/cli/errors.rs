//! The errors a user meets most, each pinned whole: exit status, stdout and stderr together, so a
//! change to a message, its hint or its exit code shows in review.

use crate::common::{git, tenant, TestEnv};

/// A git repository holding the retail example, committed.
fn retail_repo(env: &TestEnv) -> std::path::PathBuf {
    let repo = env.copy_example("examples/retail");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "retail"]);
    repo
}

#[test]
fn errors_a_user_meets() {
    let env = TestEnv::new();
    let _repo = retail_repo(&env);
    let prod = tenant(&env, "prod");
    env.write("plan.json", "not a plan\n");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("plan without a destination", vec!["plan"]),
        ("apply with nothing to apply", vec!["apply"]),
        ("validate outside a repository", vec!["validate"]),
        ("a broken saved plan", vec!["apply", "plan.json"]),
        (
            "a tenant that does not exist",
            vec!["plan", "--to", "sqlite:missing.db", "--repo", "retail"],
        ),
        (
            "an unknown revision",
            vec!["plan", "--to", &prod, "--repo", "retail", "--ref", "nope"],
        ),
        (
            "a PostgreSQL tenant, password hidden",
            vec!["tenant", "info", "postgres://ana:hunter2@db.example/ferry"],
        ),
        (
            "a selector that matches nothing",
            vec![
                "plan",
                "--to",
                &prod,
                "--repo",
                "retail",
                "--select",
                "no_such_kind/x",
            ],
        ),
        (
            "rollback to an unknown deployment",
            vec![
                "rollback",
                "--to",
                &prod,
                "--deployment",
                "nope",
                "--repo",
                "retail",
            ],
        ),
    ];
    let mut all = String::new();
    for (what, args) in cases {
        let shown = env.run(env.ferry().args(args.iter()));
        assert!(!shown.contains("hunter2"), "{what}: {shown}");
        all.push_str(&format!("── {what}: ferry {}\n{shown}", args.join(" ")));
    }
    insta::assert_snapshot!("errors_a_user_meets", all);
}

#[test]
fn a_plan_with_changes_and_its_detailed_exit_code() {
    let env = TestEnv::new();
    let _repo = retail_repo(&env);
    let prod = tenant(&env, "prod");
    let shown = env.run(env.ferry().args([
        "plan",
        "--to",
        &prod,
        "--repo",
        "retail",
        "--detailed-exitcode",
        "--select",
        "global_variable/vat_rate_default",
    ]));
    insta::assert_snapshot!("plan_detailed_exit_code", shown);
}
