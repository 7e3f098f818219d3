//! Issue 18, point 12: the flags every command shares say the same thing everywhere. `--repo`
//! is offered only where a repository is read, `--no-color` does what `NO_COLOR` does, and the
//! actor has a real user name when `$USER` is unset.

use crate::common::{stderr, tenant, TestEnv};

#[test]
fn repo_is_offered_only_by_the_commands_that_read_a_repository() {
    let env = TestEnv::new();
    let help = |args: &[&str]| -> String {
        let out = env.ferry().args(args).arg("--help").assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    for command in [
        &["init"][..],
        &["fmt"],
        &["validate"],
        &["graph"],
        &["export"],
        &["plan"],
        &["apply"],
        &["status"],
        &["rollback"],
        &["diff"],
        &["kinds"],
        &["object", "put"],
        &["object", "get"],
        &["object", "list"],
    ] {
        assert!(
            help(command).contains("--repo <DIR>"),
            "{command:?} offers --repo"
        );
    }
    for command in [
        &["show"][..],
        &["history"],
        &["tenant", "init"],
        &["tenant", "info"],
        &["tenant", "settings"],
        &["tenant", "lock"],
        &["tenant", "unlock"],
        &["object", "rm"],
    ] {
        assert!(
            !help(command).contains("--repo"),
            "{command:?} reads no repository"
        );
    }
    let url = tenant(&env, "t");
    let said = env.run(
        env.ferry()
            .args(["tenant", "info", &url, "--repo", "elsewhere"]),
    );
    assert!(
        said.starts_with("exit: 1\n") && said.contains("unexpected argument '--repo'"),
        "{said}"
    );
}

/// Colour is only ever used on a terminal: `script` gives ferry one.
#[test]
fn no_color_does_what_no_color_does_on_a_terminal() {
    let env = TestEnv::new();
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` to give ferry a terminal");
        return;
    }
    let (_, prod) = crate::plan::promoted_setup(&env);
    let ferry = assert_cmd::cargo::cargo_bin("ferry");
    let on_a_terminal = |flags: &str| -> String {
        let line = format!("'{}' plan --to '{prod}' {flags}", ferry.display());
        let out = env
            .command("script")
            .args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR")
            .current_dir(env.path().join("repo"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_a_terminal("");
    assert!(coloured.contains("\x1b[32m"), "{coloured}");
    let plain = on_a_terminal("--no-color");
    assert!(plain.contains("Plan: 167 to create"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain}");
}

#[test]
fn without_user_the_actor_is_the_os_user_name() {
    let env = TestEnv::new();
    let url = tenant(&env, "t");
    let out = env
        .ferry()
        .args(["tenant", "lock", &url, "--purpose", "test"])
        .env_remove("FERRY_ACTOR")
        .env("HOSTNAME", "box")
        .assert()
        .success();
    let id = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let user = String::from_utf8(id.stdout).unwrap();
    assert!(
        stderr(&out).contains(&format!(" by {}@box until ", user.trim())),
        "{}",
        stderr(&out)
    );
}
