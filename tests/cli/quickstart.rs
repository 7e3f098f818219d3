//! The README's first command keeps working.

use crate::common::{source_dir, stderr, stdout, TestEnv};

#[test]
fn the_promote_example_runs_end_to_end() {
    let env = TestEnv::new();
    let out = assert_cmd::Command::new("bash")
        .arg(source_dir().join("examples/promote.sh"))
        .current_dir(env.path())
        .env("FERRY", assert_cmd::cargo::cargo_bin("ferry"))
        .env("HOME", env.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("NO_COLOR", "1")
        .assert()
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
}
