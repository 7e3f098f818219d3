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
            vec!["tenant", "info", "postgres://ana:hunter2@127.0.0.1:1/ferry"],
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

#[test]
fn huge_durations_and_times_are_refused_never_a_panic() {
    let env = TestEnv::new();
    let _repo = retail_repo(&env);
    let prod = tenant(&env, "prod");
    let late = "9999-12-31T23:59:59Z";
    let cases: Vec<(Option<&str>, Vec<&str>, &[&str])> = vec![
        (
            None,
            vec!["tenant", "lock", &prod, "--purpose", "x", "--ttl", "3000000d"],
            &["invalid value '3000000d' for '--ttl <TTL>'", "longer than 100 years"],
        ),
        (
            Some(late),
            vec!["tenant", "lock", &prod, "--purpose", "x"],
            &[
                "error: the lock's expiry would be 30m after FERRY_NOW=9999-12-31T23:59:59Z, past 9999-12-31T23:59:59Z",
                "hint: use a shorter --ttl; set FERRY_NOW to an earlier time, or unset it",
            ],
        ),
        (
            Some(late),
            vec!["apply", "--to", &prod, "--repo", "retail", "--auto-approve"],
            &[
                "error: the apply's lock lease would be 1m after FERRY_NOW=9999-12-31T23:59:59Z",
                "hint: set FERRY_NOW to an earlier time",
            ],
        ),
        (
            None,
            vec![
                "apply",
                "--to",
                &prod,
                "--repo",
                "retail",
                "--auto-approve",
                "--lock-wait",
                "580000000000y",
            ],
            &[
                "invalid value '580000000000y' for '--lock-wait <DURATION>'",
                "longer than 100 years",
            ],
        ),
    ];
    // Another actor holds the lock, as in the report of the last case.
    env.ferry()
        .env("FERRY_ACTOR", "alice@ops")
        .args(["tenant", "lock", &prod, "--purpose", "maintenance"])
        .assert()
        .success();
    for (now, args, wanted) in cases {
        let mut cmd = env.ferry();
        if let Some(now) = now {
            cmd.env("FERRY_NOW", now);
            // The lock above is not live in the year 9999.
        }
        let out = cmd.args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        for w in wanted {
            assert!(err.contains(w), "{args:?}: no `{w}` in:\n{err}");
        }
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
