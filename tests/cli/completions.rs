//! Issue 16, point 5: `ferry completions SHELL` prints a script the shell loads, offering
//! ferry's commands, and `ferry man` prints manual pages man renders, or writes one per command.

use crate::common::TestEnv;

/// The stdout of a `ferry` run that succeeds.
fn ferry_stdout(env: &TestEnv, args: &[&str]) -> String {
    let out = env.ferry().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn the_bash_completion_script_loads_and_completes_commands_and_flags() {
    let env = TestEnv::new();
    let ferry = assert_cmd::cargo::cargo_bin("ferry");
    // What README says to run, then what bash does on `ferry pl<TAB>` and `ferry plan --lock<TAB>`
    // … of apply.
    let script = format!(
        r#"source <("{ferry}" completions bash) && complete -p ferry
COMP_WORDS=(ferry pl); COMP_CWORD=1; _ferry ferry pl ferry; echo "commands: ${{COMPREPLY[*]}}"
COMP_WORDS=(ferry apply --lock); COMP_CWORD=2; _ferry ferry --lock apply; echo "flags: ${{COMPREPLY[*]}}""#,
        ferry = ferry.display()
    );
    let out = env.command("bash").arg("-c").arg(&script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-F _ferry ferry"), "{stdout}");
    assert!(stdout.contains("commands: plan"), "{stdout}");
    assert!(stdout.contains("flags: --lock-wait"), "{stdout}");
}

#[test]
fn every_shell_gets_a_script_naming_ferrys_commands() {
    let env = TestEnv::new();
    for (shell, first) in [
        ("bash", "_ferry()"),
        ("zsh", "#compdef ferry"),
        ("fish", "__fish_ferry"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = ferry_stdout(&env, &["completions", shell]);
        assert!(script.contains(first), "{shell}: {script}");
        for command in ["plan", "apply", "completions"] {
            assert!(script.contains(command), "{shell} offers {command}");
        }
    }
    let out = env.ferry().args(["completions", "tcsh"]).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
    assert!(
        stderr.contains("bash, elvish, fish, powershell, zsh"),
        "{stderr}"
    );
}

#[test]
fn the_manual_pages_render_with_man() {
    let env = TestEnv::new();
    let roff = ferry_stdout(&env, &["man"]);
    assert!(
        roff.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {}",
        &roff[..80]
    );
    // One page for ferry and one for each command; none for a hidden one.
    assert!(roff.contains(".TH ferry 1"), "ferry's page");
    assert!(roff.contains(".TH ferry-plan 1"), "plan's page");
    assert!(
        roff.contains(".TH ferry-tenant-init 1"),
        "a nested command's page"
    );
    assert!(!roff.contains("ferry-synth"), "no page of a hidden command");

    if std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_err()
    {
        // .ci/run installs man-db; a developer's machine without man skips, saying so.
        assert!(
            std::env::var_os("CI").is_none(),
            "`man` is not installed, and CI must render the manual (.ci/run installs man-db)"
        );
        eprintln!("SKIPPED: `ferry man | man -l -`: man is not installed (apt-get install man-db)");
        return;
    }
    env.write("ferry.man", &roff);
    let out = env
        .command("man")
        .args(["--warnings", "-l", "ferry.man"])
        // The help texts hold `…` and CJK: man renders them in a UTF-8 locale.
        .env("LANG", "C.UTF-8")
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man failed: {warnings}");
    assert!(warnings.trim().is_empty(), "man warns: {warnings}");
    assert!(
        text.contains("ferry - ferry: a data platform tenant"),
        "{text}"
    );
    assert!(text.contains("ferry-apply(1)"), "{text}");
    assert!(text.contains("Apply a plan to its destination"), "{text}");
    assert!(text.contains("--lock-wait"), "{text}");
}

#[test]
fn man_out_dir_writes_one_page_per_command() {
    let env = TestEnv::new();
    let out = env
        .ferry()
        .args(["man", "--out-dir", "man/man1"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let mut pages: Vec<String> = std::fs::read_dir(env.path().join("man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert!(
        stderr.contains(&format!("wrote {} manual pages into man/man1", pages.len())),
        "{stderr}"
    );
    for page in [
        "ferry.1",
        "ferry-plan.1",
        "ferry-tenant-init.1",
        "ferry-man.1",
    ] {
        assert!(pages.contains(&page.to_string()), "{page} in {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("synth")), "{pages:?}");
    assert_eq!(
        std::fs::read_to_string(env.path().join("man/man1/ferry-plan.1")).unwrap(),
        {
            let all = ferry_stdout(&env, &["man"]);
            let start = all.find(".TH ferry-plan 1").unwrap();
            let start = all[..start].rfind(".ie \\n(.g").unwrap();
            let end = all[start + 1..]
                .find(".ie \\n(.g")
                .map_or(all.len(), |e| start + 1 + e);
            all[start..end].to_string()
        },
        "the file is the page stdout carries"
    );
}

#[test]
fn man_out_dir_that_cannot_be_made_is_an_error_naming_it() {
    let env = TestEnv::new();
    env.write("taken", "a file, not a folder\n");
    let out = env
        .ferry()
        .args(["man", "--out-dir", "taken/man1"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.starts_with("error: cannot write taken/man1: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: give --out-dir a folder you can write to"),
        "{stderr}"
    );
    assert!(!env.path().join("taken/man1").exists());
}
