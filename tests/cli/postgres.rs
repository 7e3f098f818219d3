//! The PostgreSQL store through the CLI: the end-to-end promotion both ways between SQLite and
//! PostgreSQL, the concurrency and kill tests against a PostgreSQL tenant, and a canary
//! password that appears in no output, plan file, deployment record or error. They need a
//! server (`FERRY_TEST_POSTGRES_URL`, set by `.ci/postgres`); without one they are skipped
//! with a message, unless `CI` is set (then they fail).

use crate::apply::{converged, history, object_list, sigkill_rounds, status};
use crate::common::{postgres_tenant, postgres_url, source_dir, stderr, stdout, tenant, TestEnv};

/// The promoted setup of `plan.rs` with a PostgreSQL prod: a dev tenant (SQLite) filled from
/// examples/retail, exported and committed into `repo/`, and an empty prod on PostgreSQL.
fn promoted_to_postgres(env: &TestEnv) -> Option<(String, String)> {
    let prod = postgres_tenant(env, "prod")?;
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
    Some((dev, prod))
}

#[test]
fn promotion_from_sqlite_through_git_to_postgres_and_back() {
    let env = TestEnv::new();
    let Some((dev, prod)) = promoted_to_postgres(&env) else {
        return;
    };
    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    assert!(
        stderr(&out).contains("applied 167 change(s)"),
        "{}",
        stderr(&out)
    );
    converged(&env, &prod);
    assert_eq!(object_list(&env, &prod), object_list(&env, &dev));
    let s = status(&env, &prod);
    assert_eq!(s["managed"], 167, "{s}");
    assert_eq!(
        history(&env, &prod)["deployments"][0]["status"],
        "succeeded"
    );

    // The reverse: prod on PostgreSQL exported into a repository of its own, applied to a new
    // SQLite tenant, which then holds the same objects.
    env.ferry().args(["init", "back"]).assert().success();
    env.ferry()
        .args(["export", "--from", &prod, "--repo", "back", "--commit"])
        .assert()
        .success();
    tenant(&env, "local");
    let local = format!("sqlite:{}", env.path().join("local.db").display());
    env.ferry()
        .args(["apply", "--to", &local, "--auto-approve"])
        .current_dir(env.path().join("back"))
        .assert()
        .success();
    assert_eq!(object_list(&env, &local), object_list(&env, &prod));
    env.ferry()
        .args(["plan", "--to", &local, "--detailed-exitcode"])
        .current_dir(env.path().join("back"))
        .assert()
        .code(0);
}

#[test]
fn two_applies_at_once_against_postgres_have_exactly_one_winner() {
    let env = TestEnv::new();
    let Some((_, prod)) = promoted_to_postgres(&env) else {
        return;
    };
    crate::guarantees::race_rounds(&env, &prod, 20);
}

#[test]
fn sigkill_of_applies_against_postgres_leaves_all_or_nothing() {
    let env = TestEnv::new();
    let Some((_, prod)) = promoted_to_postgres(&env) else {
        return;
    };
    sigkill_rounds(&env, &prod, 10);
}

#[test]
fn tenant_init_refuses_a_schema_that_holds_a_tenant_or_other_tables() {
    let env = TestEnv::new();
    let Some(url) = postgres_tenant(&env, "prod") else {
        return;
    };
    let out = env
        .ferry()
        .args(["tenant", "init", &url, "--name", "again"])
        .args(["--platform-version", "4.5.0", "--engine", "maxcompute"])
        .args(["--engine-mode", "single", "--cluster", "c"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("already holds a ferry tenant"), "{err}");
    assert!(
        err.contains("hint: choose another schema with ?schema=NAME"),
        "{err}"
    );
}

/// Every place a password could leak: the output of every command that names the tenant
/// (text and JSON), the plan file, the deployment record, and errors (a failed connection, a
/// held lock).
#[test]
fn the_password_appears_in_no_output_plan_file_deployment_record_or_error() {
    let env = TestEnv::new();
    let Some((_, prod)) = promoted_to_postgres(&env) else {
        return;
    };
    // The server's real password is the canary: it is random, and every command below uses it.
    let base = postgres_url().unwrap();
    let canary = base
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password.to_string())
        .expect("the test server's URL has a password");
    assert!(canary.len() >= 8, "too short to be a canary");
    let repo = env.path().join("repo");
    let mut said = String::new();
    let mut run = |args: &[&str], code: Option<i32>| {
        let out = env.ferry().args(args).current_dir(&repo).output().unwrap();
        if let Some(code) = code {
            assert_eq!(
                out.status.code(),
                Some(code),
                "{args:?}: {}",
                env.render(&out)
            );
        }
        said.push_str(&env.render(&out));
    };
    run(&["plan", "--to", &prod, "--out", "plan.json"], Some(0));
    run(&["plan", "--to", &prod, "--format", "json"], Some(0));
    run(&["show", "plan.json"], Some(0));
    run(&["apply", "plan.json"], Some(0));
    run(&["status", "--tenant", &prod], Some(0));
    run(&["status", "--tenant", &prod, "--format", "json"], Some(0));
    run(&["history", "--tenant", &prod, "--format", "json"], Some(0));
    run(
        &[
            "history", "show", "last", "--tenant", &prod, "--format", "json",
        ],
        Some(0),
    );
    run(&["tenant", "info", &prod], Some(0));
    run(&["tenant", "lock", &prod, "--purpose", "canary"], Some(0));
    run(&["export", "--from", &prod, "--repo", "."], None);
    run(&["apply", "--to", &prod, "--auto-approve"], None);
    // Another holder is refused, naming the tenant.
    let out = env
        .ferry()
        .env("FERRY_ACTOR", "someone-else")
        .args([
            "object",
            "rm",
            "--tenant",
            &prod,
            "global_variable/vat_rate_default",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", env.render(&out));
    let refused = env.render(&out);
    assert!(refused.contains("locked by"), "{refused}");
    said.push_str(&refused);
    // A failed connection: the wrong password given, and a server that is not there.
    let wrong = prod.replacen(&canary, &format!("{canary}x"), 1);
    let out = env
        .ferry()
        .args(["tenant", "info", &wrong])
        .output()
        .unwrap();
    let failed = env.render(&out);
    assert!(
        failed.contains("password authentication failed"),
        "{failed}"
    );
    said.push_str(&failed);
    let nowhere = prod.replacen("@127.0.0.1:", "@127.0.0.1:1", 1);
    said.push_str(
        &env.render(
            &env.ferry()
                .args(["tenant", "info", &nowhere])
                .output()
                .unwrap(),
        ),
    );

    assert!(
        said.contains("(sensitive)"),
        "the URL is shown, redacted:\n{said}"
    );
    assert!(!said.contains(&canary), "the password was shown:\n{said}");
    let plan = std::fs::read_to_string(repo.join("plan.json")).unwrap();
    assert!(
        plan.contains("(sensitive)") && !plan.contains(&canary),
        "{plan}"
    );
    let record = stdout(
        &env.ferry()
            .args([
                "history", "show", "last", "--tenant", &prod, "--format", "json",
            ])
            .assert()
            .success(),
    );
    assert!(!record.contains(&canary), "{record}");
}

/// `ferry tenant copy` both ways: a deployed PostgreSQL tenant to a new SQLite file and that
/// back to a new PostgreSQL schema; each copy holds the same objects, history, deployments and
/// drift state, and a destination that holds anything is refused.
#[test]
fn tenant_copy_moves_a_whole_tenant_both_ways_and_refuses_a_non_empty_destination() {
    let env = TestEnv::new();
    let Some((dev, prod)) = promoted_to_postgres(&env) else {
        return;
    };
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    let local = format!("sqlite:{}", env.path().join("local.db").display());
    let out = env
        .ferry()
        .args(["tenant", "copy", &prod, &local])
        .assert()
        .success();
    assert!(
        stderr(&out)
            .contains("167 object(s), 0 secret value(s), 167 history line(s), 1 deployment(s)"),
        "{}",
        stderr(&out)
    );
    let up = crate::common::postgres_schema_url().unwrap();
    env.ferry()
        .args(["tenant", "copy", &local, &up])
        .assert()
        .success();
    for copy in [&local, &up] {
        assert_eq!(object_list(&env, copy), object_list(&env, &prod));
        assert_eq!(history(&env, copy), history(&env, &prod));
        let (a, b) = (status(&env, copy), status(&env, &prod));
        assert_eq!(
            (&a["managed"], &a["drifted"]),
            (&b["managed"], &b["drifted"])
        );
        converged(&env, copy);
    }
    // Into a tenant that holds objects: refused, naming it, and nothing changes.
    let before = object_list(&env, &dev);
    let out = env
        .ferry()
        .args(["tenant", "copy", &prod, &dev])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("is not empty: it holds 167 object(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(object_list(&env, &dev), before);
}
