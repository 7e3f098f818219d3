//! The README's first command keeps working.

use std::path::Path;

use crate::common::{source_dir, stderr, stdout, TestEnv};

/// `examples/promote.sh` in `env`, stdout and stderr in one stream (as a terminal shows them),
/// with `path` as PATH and FERRY as given.
fn promote(env: &TestEnv, ferry: Option<&Path>, path: &str) -> assert_cmd::assert::Assert {
    let mut cmd = assert_cmd::Command::new("bash");
    cmd.arg("-c")
        .arg(r#"exec "$0" 2>&1"#)
        .arg(source_dir().join("examples/promote.sh"))
        .current_dir(env.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", env.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("NO_COLOR", "1");
    if let Some(ferry) = ferry {
        cmd.env("FERRY", ferry);
    }
    cmd.assert()
}

#[test]
fn the_promote_example_runs_end_to_end() {
    let env = TestEnv::new();
    let out = promote(
        &env,
        Some(&assert_cmd::cargo::cargo_bin("ferry")),
        &std::env::var("PATH").unwrap_or_default(),
    )
    .success();
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("/spec/schedule/cron: \"0 30 2 * * ?\" → \"0 30 3 * * ?\""),
        "{said}"
    );
    assert!(
        said.contains("Plan: 1 to update (166 unchanged, 0 not managed by ferry)."),
        "{said}"
    );
    assert!(
        said.contains(
            "No changes: the destination matches (167 unchanged, 0 not managed by ferry)."
        ),
        "{said}"
    );
    // Issue 18, point 9: every step shows its header, then its own result, before the next.
    let in_order = [
        "$ ferry tenant init sqlite:dev.db ",
        "created tenant retail-dev",
        "$ ferry object put --tenant sqlite:dev.db ",
        "put 167 object(s) into sqlite:dev.db",
        "$ ferry init repo\n",
        "tenant repository ready in repo",
        "$ ferry export --from sqlite:dev.db --repo repo --commit -m 'First export of retail-dev'\n",
        "exported ",
        "committed ",
        "$ ferry tenant init sqlite:test.db ",
        "created tenant retail-test",
        "$ ferry tenant init sqlite:prod.db ",
        "created tenant retail-prod",
        // Issue 14: prod's promotion gate refuses what test has not had.
        "$ ferry apply --env prod --auto-approve\n",
        "error: the promotion gate of environment `prod` refuses the objects of commit ",
        "$ ferry plan --env test --out ../test.json\n",
        "saved the plan to ../test.json",
        "$ ferry apply ../test.json\n",
        "applied 167 change(s)",
        "$ ferry plan --env prod --out ../prod.json\n",
        "saved the plan to ../prod.json",
        "$ ferry apply ../prod.json\n",
        "applied 167 change(s)",
        "$ ferry object put --tenant sqlite:../dev.db ../changed.toml\n",
        "put 1 object(s)",
        "$ ferry export --from sqlite:../dev.db --commit -m 'Run the order task later'\n",
        "committed ",
        "$ ferry diff HEAD~1..HEAD\n",
        "1 object changed",
        "$ ferry plan --env prod\n",
        "Environment prod (environments/prod.toml): 24 fields overridden on 17 objects",
        "Plan: 1 to update",
        "= data_source/orders_mysql /spec/connection/password: unchanged, from environment variable FERRY_PROD_ORDERS_MYSQL_PASSWORD (available; environments/prod.toml:44)",
        "$ ferry apply --env test --auto-approve\n",
        "applied 1 change(s)",
        "$ ferry apply --env prod --auto-approve\n",
        "applied 1 change(s)",
        "$ ferry history --tenant sqlite:../prod.db\n",
        "ID ",
        "$ ferry plan --env prod --detailed-exitcode\n",
        "No changes",
        // Issue 16, point 6: the review comment of the second change, test's plan saved and
        // prod's refused by its guard.
        "$ ferry diff HEAD~1..HEAD\n",
        "renamed  data_source/holo_retail → data_source/holo_serving",
        "5 objects changed: 0 added, 2 modified (1 follows a rename), 1 renamed, 2 deleted",
        "$ ferry review --env test --env prod --prune --out-dir ../plans\n",
        "<!-- ferry:review -->\n## ferry review of git ",
        "| `test` | `retail-test` | 0 | 0 | 1 | 1 | 2 | 1 | 0 | pass |\n| `prod` | `retail-prod` | 0 | 0 | 1 | 1 | 2 | 1 | 0 | **refused** |",
        "Saved plan: `../plans/test.plan.json`",
        "| `data_source/crm_postgresql` | `/spec/connection/password` | changed | environment variable `FERRY_TEST_CRM_PASSWORD` |",
        "> **Refused by a guard:** environment `prod` protects 1 object(s) this plan deletes or renames: data_source/holo_retail (renamed to data_source/holo_serving",
        "| `data_source/crm_postgresql` | `/spec/connection/password` | changed | environment variable `FERRY_PROD_CRM_PASSWORD` |",
        "+AND     f.onhand_qty > 0",
        "```mermaid",
        "error: the guards of environment `prod` refused its plan",
    ];
    let mut rest = said.as_str();
    for expected in in_order {
        match rest.find(expected) {
            Some(at) => rest = &rest[at + expected.len()..],
            None => panic!("`{expected}` does not follow in its place:\n{said}"),
        }
    }
}

/// Without FERRY the script builds ferry, and says so first: the build is silent and long.
#[test]
fn the_promote_example_says_it_builds_before_it_builds() {
    let env = TestEnv::new();
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, "#!/bin/sh\necho \"cargo $*\"\nexit 3\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = promote(&env, None, &format!("{}:/usr/bin:/bin", bin.display())).code(3);
    let said = stdout(&out);
    assert!(
        said.starts_with("building ferry (first time: a few minutes)\ncargo build --locked "),
        "{said}"
    );
}
