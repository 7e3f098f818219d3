//! `ferry apply`, `status`, `history` and `rollback`: stale plans, the lock, failures, crashes,
//! interrupts, idempotence and rollback. (The end-to-end promotion and the missing-terminal
//! refusal are in `plan.rs`.)

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{git, stderr, stdout, tenant, TestEnv};
use crate::plan::promoted_setup;

const VAT: &str = "objects/global/global_variable/vat_rate_default.toml";

/// `ferry object list` of a tenant: GUID, address and version of every object.
pub fn object_list(env: &TestEnv, url: &str) -> String {
    stdout(
        &env.ferry()
            .args(["object", "list", "--tenant", url])
            .assert()
            .success(),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub fn history(env: &TestEnv, url: &str) -> serde_json::Value {
    json(&stdout(
        &env.ferry()
            .args(["history", "--tenant", url, "--format", "json"])
            .assert()
            .success(),
    ))
}

pub fn status(env: &TestEnv, url: &str) -> serde_json::Value {
    json(&stdout(
        &env.ferry()
            .args(["status", "--tenant", url, "--format", "json"])
            .assert()
            .success(),
    ))
}

/// Applies the repository's HEAD to `url`.
fn apply(env: &TestEnv, url: &str) -> assert_cmd::assert::Assert {
    env.ferry()
        .args(["apply", "--to", url, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
}

/// A plan of the repository's HEAD for `url` has no changes.
pub fn converged(env: &TestEnv, url: &str) {
    env.ferry()
        .args(["plan", "--to", url, "--detailed-exitcode"])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(0);
}

/// A real `ferry apply` process, not waited for.
fn spawn_apply(env: &TestEnv, url: &str, extra: &[(&str, &str)]) -> Child {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
    cmd.args(["apply", "--to", url, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("ferry starts")
}

/// Rewrites the description of the object file at `rel` (below `dir`).
pub fn redescribe(dir: &Path, rel: &str, description: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("description = ").expect("a description");
    let end = start + text[start..].find('\n').unwrap();
    let text = format!(
        "{}description = \"{description}\"{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&path, text).unwrap();
}

#[test]
fn a_stale_saved_plan_is_refused_naming_the_object() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    apply(&env, &prod).success();
    let repo = env.path().join("repo");
    redescribe(&repo, VAT, "VAT rate, from git.");
    git(&repo, &["commit", "-qam", "describe the VAT rate"]);
    env.ferry()
        .args(["plan", "--to", &prod, "--out", "plan.json"])
        .current_dir(&repo)
        .assert()
        .success();
    // Someone changes the same object in the destination, outside git.
    std::fs::create_dir_all(env.path().join("outside")).unwrap();
    std::fs::copy(repo.join(VAT), env.path().join("outside/vat.toml")).unwrap();
    redescribe(
        &env.path().join("outside"),
        "vat.toml",
        "VAT rate, by hand.",
    );
    env.ferry()
        .args(["object", "put", "--tenant", &prod, "outside/vat.toml"])
        .assert()
        .success();
    let before = object_list(&env, &prod);
    let out = env
        .ferry()
        .args(["apply", "plan.json"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("error: the destination changed since the plan was made: global_variable/vat_rate_default was changed by test at 2026-01-31T12:00:00Z (content hash"),
        "{err}"
    );
    assert!(err.contains("hint: make a new plan"), "{err}");
    assert_eq!(object_list(&env, &prod), before);
    // Nothing was recorded, and the lock was released.
    assert_eq!(
        history(&env, &prod)["deployments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(status(&env, &prod)["lock"].is_null());
    // Status names the object changed outside ferry.
    let s = status(&env, &prod);
    assert_eq!(s["managed"], 167);
    assert_eq!(
        s["drifted"][0]["address"],
        "global_variable/vat_rate_default"
    );
    assert_eq!(s["drifted"][0]["state"], "changed");
    let text = stdout(
        &env.ferry()
            .args(["status", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(
        text.contains(
            "drifted          1 object(s)\n  changed  global_variable/vat_rate_default\n"
        ),
        "{text}"
    );
}

#[test]
fn a_second_apply_finds_nothing_to_do() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    apply(&env, &prod).success();
    let out = apply(&env, &prod).success();
    assert!(
        stderr(&out).contains("nothing to apply"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        history(&env, &prod)["deployments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let s = status(&env, &prod);
    assert_eq!(s["managed"], 167);
    assert_eq!(s["drifted"].as_array().unwrap().len(), 0);
    assert_eq!(s["last_deployment"]["status"], "succeeded");
    assert_eq!(s["last_deployment"]["counts"]["succeeded"], 167);
}

#[test]
fn a_held_lock_fails_at_once_and_lock_wait_waits_for_it() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    env.ferry()
        .env("FERRY_ACTOR", "alice@ops")
        .args(["tenant", "lock", &prod, "--purpose", "maintenance"])
        .assert()
        .success();
    let out = apply(&env, &prod).code(1);
    assert!(
        stderr(&out).contains("is locked by alice@ops for `maintenance` until"),
        "{}",
        stderr(&out)
    );
    assert_eq!(object_list(&env, &prod), "");
    let s = status(&env, &prod);
    assert_eq!(s["lock"]["holder"], "alice@ops");

    // alice releases the lock once apply says it waits for it (no sleep racing the wait: the
    // wait's bound is only a guard against a hang).
    let mut child = env
        .ferry_command()
        .args([
            "apply",
            "--to",
            &prod,
            "--auto-approve",
            "--lock-wait",
            "10m",
        ])
        .current_dir(env.path().join("repo"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferry starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut err = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("waiting for the lock held by") {
            break;
        }
    }
    env.ferry()
        .env("FERRY_ACTOR", "alice@ops")
        .args(["tenant", "unlock", &prod])
        .assert()
        .success();
    for line in lines {
        err.push_str(&line.unwrap());
        err.push('\n');
    }
    assert!(child.wait().unwrap().success(), "{err}");
    assert!(
        err.contains("waiting for the lock held by alice@ops"),
        "{err}"
    );
    assert!(err.contains("applied 167 change(s)"), "{err}");
    assert!(status(&env, &prod)["lock"].is_null());
}

#[test]
fn lock_wait_gives_up_naming_the_holder() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    env.ferry()
        .env("FERRY_ACTOR", "alice@ops")
        .args(["tenant", "lock", &prod, "--purpose", "maintenance"])
        .assert()
        .success();
    let out = env
        .ferry()
        .args([
            "apply",
            "--to",
            &prod,
            "--auto-approve",
            "--lock-wait",
            "300ms",
        ])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("error: waited 300ms for the lock and gave up: tenant ")
            && stderr(&out).contains("is locked by alice@ops"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("hint: wait longer"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_expired_lock_is_taken_over() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    env.ferry()
        .env("FERRY_ACTOR", "crashed@ci")
        .env("FERRY_NOW", "2026-01-01T10:00:00Z")
        .args([
            "tenant",
            "lock",
            &prod,
            "--purpose",
            "deploy",
            "--ttl",
            "30m",
        ])
        .assert()
        .success();
    // Within the expiry: refused.
    env.ferry()
        .env("FERRY_NOW", "2026-01-01T10:20:00Z")
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(1);
    // After it: taken over, applied, released.
    let out = env
        .ferry()
        .env("FERRY_NOW", "2026-01-01T10:31:00Z")
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    assert!(
        stderr(&out).contains("applied 167 change(s)"),
        "{}",
        stderr(&out)
    );
    let s = json(&stdout(
        &env.ferry()
            .env("FERRY_NOW", "2026-01-01T10:00:00Z")
            .args(["status", "--tenant", &prod, "--format", "json"])
            .assert()
            .success(),
    ));
    assert!(s["lock"].is_null(), "{s}");
    assert_eq!(s["last_deployment"]["started_at"], "2026-01-01T10:31:00Z");
}

#[test]
fn an_apply_that_fails_midway_changes_nothing_and_is_recorded() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    // A change in the middle of the plan fails in the destination.
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--format", "json"])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    let plan = json(&stdout(&out));
    let changes = plan["changes"].as_array().unwrap();
    let victim = changes[changes.len() / 2]["address"].as_str().unwrap();
    let name = victim.rsplit('/').next().unwrap();
    let conn = rusqlite::Connection::open(env.path().join("prod.db")).unwrap();
    conn.execute_batch(&format!(
        "CREATE TRIGGER fail BEFORE INSERT ON objects WHEN NEW.name = '{name}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ))
    .unwrap();
    drop(conn);

    let before = object_list(&env, &prod);
    let out = apply(&env, &prod).code(1);
    let err = stderr(&out);
    assert!(
        err.contains("error: the apply failed and nothing was changed: writing ")
            && err.contains(victim)
            && err.contains("injected failure"),
        "{err}"
    );
    assert!(
        err.contains("hint: `ferry history show last --tenant URL` shows why each object failed"),
        "{err}"
    );
    assert_eq!(object_list(&env, &prod), before);
    // `history show` says why: the failed object with its reason, and the skipped ones.
    let shown = stdout(
        &env.ferry()
            .args(["history", "show", "last", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(shown.contains("\nstatus       failed\n"), "{shown}");
    assert!(
        shown.contains("\nobjects      167: 1 failed, 166 skipped\n"),
        "{shown}"
    );
    let failed_line = shown
        .lines()
        .find(|l| l.starts_with("  failed "))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        failed_line.contains(victim) && failed_line.contains("injected failure"),
        "{failed_line}"
    );
    assert_eq!(
        shown
            .lines()
            .filter(|l| l.starts_with("  skipped "))
            .count(),
        166
    );

    let h = history(&env, &prod);
    let d = &h["deployments"][0];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["counts"]["failed"], 1, "{d}");
    assert_eq!(d["counts"]["skipped"], 166, "{d}");
    let text = stdout(
        &env.ferry()
            .args(["history", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(text.contains("  failed  "), "{text}");
    assert!(text.contains("1 failed, 166 skipped"), "{text}");
    let s = status(&env, &prod);
    assert!(s["lock"].is_null(), "{s}");
    assert_eq!(s["managed"], 0);
    assert_eq!(s["last_deployment"]["status"], "failed");

    // With the cause gone, the same apply goes through.
    let conn = rusqlite::Connection::open(env.path().join("prod.db")).unwrap();
    conn.execute_batch("DROP TRIGGER fail").unwrap();
    drop(conn);
    apply(&env, &prod).success();
    converged(&env, &prod);
    let h = history(&env, &prod);
    let deployments = h["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2);
    // `previous` is the failed one; a unique prefix (the short id) names a deployment; a prefix
    // both share is refused, listing them.
    let show = |key: &str| {
        env.ferry()
            .args([
                "history", "show", key, "--tenant", &prod, "--format", "json",
            ])
            .assert()
    };
    let failed = json(&stdout(&show("previous").success()));
    assert_eq!(failed["deployment"]["status"], "failed");
    for d in deployments {
        let short = d["short_id"].as_str().unwrap();
        assert!(short.len() >= 8 && d["id"].as_str().unwrap().starts_with(short));
        let one = json(&stdout(&show(short).success()));
        assert_eq!(one["deployment"]["id"], d["id"]);
    }
    let (a, b) = (
        deployments[0]["id"].as_str().unwrap(),
        deployments[1]["id"].as_str().unwrap(),
    );
    let shared: String = a
        .chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect();
    // UUID v7 ids begin with their millisecond: ids made seconds apart share a prefix (the first
    // hex digit alone spans centuries), so the ambiguous case is always met.
    assert!(!shared.is_empty(), "{a} {b}");
    let err = stderr(&show(&shared).code(1));
    assert!(
        err.contains(&format!(
            "deployment id `{shared}` is ambiguous: it starts "
        )),
        "{err}"
    );
    let text = stdout(
        &env.ferry()
            .args(["history", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(text.starts_with("ID "), "a header row: {text}");
}

#[test]
fn sigkill_at_random_moments_leaves_all_or_nothing() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    sigkill_rounds(&env, &prod, 20);
}

/// Kills `rounds` applies of the repository's HEAD to `prod` at random moments: each time the
/// tenant is as before or as after, never between; then an apply goes through (the killed runs'
/// leases have lapsed).
pub fn sigkill_rounds(env: &TestEnv, prod: &str, rounds: usize) {
    let prod = prod.to_string();
    let before = object_list(env, &prod);
    // What "after" looks like: the same apply on a twin tenant.
    tenant(env, "twin");
    apply(
        env,
        &format!("sqlite:{}", env.path().join("twin.db").display()),
    )
    .success();
    let after = object_list(env, "sqlite:twin.db");
    assert_ne!(before, after);

    let mut seen_before = 0;
    for i in 0..rounds {
        // Each run an hour later: the killed run's lock has expired and is taken over.
        let now = format!("2026-01-01T{i:02}:00:00Z");
        let mut child = spawn_apply(
            env,
            &prod,
            &[("FERRY_FAULT_WRITE_DELAY_MS", "5"), ("FERRY_NOW", &now)],
        );
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..=400)));
        child.kill().unwrap();
        child.wait().unwrap();
        let now_list = object_list(env, &prod);
        assert!(
            now_list == before || now_list == after,
            "run {i}: the tenant is half applied:\n{now_list}"
        );
        if now_list == before {
            seen_before += 1;
        }
    }
    assert!(seen_before > 0, "no kill landed before the commit");
    let out = env
        .ferry()
        .env("FERRY_NOW", "2026-01-01T21:00:00Z")
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    let err = stderr(&out);
    assert!(
        err.contains("applied 167 change(s)") || err.contains("nothing to apply"),
        "{err}"
    );
    assert_eq!(object_list(env, &prod), after);
    converged(env, &prod);
}

/// Reads the child's stderr on a thread; returns once it says its batch write is under way,
/// with a handle that yields the whole stderr when the child has ended.
fn wait_for_write(child: &mut Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("fault injection: batch write in progress") {
                let _ = tx.send(());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        panic!(
            "the apply ended before writing:\n{}",
            reader.join().unwrap()
        );
    }
    reader
}

#[test]
fn ctrl_c_or_sigterm_during_apply_rolls_back_and_releases_the_lock() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    for signal in ["-INT", "-TERM"] {
        let mut child = spawn_apply(&env, &prod, &[("FERRY_FAULT_WRITE_DELAY_MS", "20")]);
        let reader = wait_for_write(&mut child);
        std::thread::sleep(Duration::from_millis(100));
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let exit = child.wait().unwrap();
        let err = reader.join().unwrap();
        assert_eq!(exit.code(), Some(130), "{signal}: {err}");
        assert!(
            err.contains("interrupted: stopping, rolling back and releasing the lock"),
            "{signal}: {err}"
        );
        assert!(
            err.contains("error: the apply failed and nothing was changed: interrupted"),
            "{signal}: {err}"
        );
        assert_eq!(object_list(&env, &prod), "", "{signal}");
        let s = status(&env, &prod);
        assert!(s["lock"].is_null(), "{signal}: the lock was kept: {s}");
        assert_eq!(s["last_deployment"]["status"], "failed");
    }
    // Nothing stands in the way of the next apply.
    apply(&env, &prod).success();
    converged(&env, &prod);
}

#[test]
fn an_apply_killed_mid_write_leaves_a_lock_the_next_apply_takes_over_at_once() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    // Both runs at the same pinned time: the killed run's lease has not lapsed for the second,
    // so only the dead-process rule lets it in (no `unlock --force`, no waiting out a TTL).
    let now = crate::common::NOW;
    let mut child = spawn_apply(
        &env,
        &prod,
        &[
            ("FERRY_FAULT_WRITE_DELAY_MS", "20"),
            ("FERRY_NOW", now),
            ("FERRY_ACTOR", "ci"),
        ],
    );
    let pid = child.id();
    let reader = wait_for_write(&mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    assert_eq!(object_list(&env, &prod), "", "the killed write rolled back");
    // The dead run's lock is still there, naming its process on this host.
    let s = status(&env, &prod);
    assert!(
        s["lock"]["holder"]
            .as_str()
            .unwrap()
            .starts_with("ci (apply "),
        "{s}"
    );
    assert_eq!(s["lock"]["lease"]["pid"], pid, "{s}");
    assert_eq!(s["lock"]["expires_at"], "2026-01-31T12:01:00Z", "{s}");
    let text = stdout(
        &env.ferry()
            .args(["status", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(
        text.contains(&format!(
            "until 2026-01-31T12:01:00Z (lease: pid {pid} on host "
        )) && text.contains(", renewed 2026-01-31T12:00:00Z)\n"),
        "{text}"
    );

    let out = env
        .ferry()
        .args([
            "apply",
            "--to",
            &prod,
            "--auto-approve",
            "--lock-wait",
            "2m",
        ])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "took over the lock of {}: its process {pid} on this host (",
            s["lock"]["holder"].as_str().unwrap()
        )) && err.contains(") is gone\n"),
        "{err}"
    );
    assert!(!err.contains("waiting for the lock"), "{err}");
    assert!(err.contains("applied 167 change(s)"), "{err}");
    assert!(status(&env, &prod)["lock"].is_null());
    converged(&env, &prod);
}

#[test]
fn rollback_returns_to_what_a_deployment_applied() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    apply(&env, &prod).success();
    crate::common::copy_dir(&repo.join("objects"), &env.path().join("commit1"));

    // Commit 2: one object changed, one added.
    redescribe(&repo, VAT, "VAT rate, second edition.");
    let added = "objects/global/global_variable/vat_rate_reduced.toml";
    let text = std::fs::read_to_string(repo.join(VAT)).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("guid = "))
        .map(|l| l.replace("vat_rate_default", "vat_rate_reduced") + "\n")
        .collect();
    std::fs::write(repo.join(added), text).unwrap();
    env.ferry()
        .args(["fmt"])
        .current_dir(&repo)
        .assert()
        .success();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "second"]);
    let out = apply(&env, &prod).success();
    assert!(
        stderr(&out).contains("applied 2 change(s)"),
        "{}",
        stderr(&out)
    );

    let h = history(&env, &prod);
    let deployments = h["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2);
    assert_eq!(deployments[0]["counts"]["succeeded"], 2);
    let first = deployments[1]["id"].as_str().unwrap().to_string();
    let text = stdout(
        &env.ferry()
            .args(["history", "--tenant", &prod, "--limit", "1"])
            .assert()
            .success(),
    );
    assert_eq!(text.lines().count(), 2, "a header and one line: {text}");
    assert!(
        text.contains("  succeeded  ") && text.ends_with("  2 succeeded\n"),
        "{text}"
    );

    // Like apply: without --auto-approve and no terminal to ask on, the plan and nothing changed.
    let before = object_list(&env, &prod);
    let out = env
        .ferry()
        .args(["rollback", "--to", &prod, "--deployment", &first])
        .current_dir(&repo)
        .assert()
        .code(1);
    let plan = stdout(&out);
    assert!(plan.contains("global_variable/vat_rate_default"), "{plan}");
    assert!(plan.contains("global_variable/vat_rate_reduced"), "{plan}");
    assert!(
        stderr(&out).contains("hint: pass --auto-approve"),
        "{}",
        stderr(&out)
    );
    assert_eq!(object_list(&env, &prod), before);
    // Like plan: saved for review, in any format, with the detailed exit code (3: a delete).
    let out = env
        .ferry()
        .args(["rollback", "--to", &prod, "--deployment", &first])
        .args([
            "--out",
            "rb.json",
            "--format",
            "markdown",
            "--detailed-exitcode",
        ])
        .current_dir(&repo)
        .assert()
        .code(3);
    assert!(
        stdout(&out).starts_with("### ferry plan for `prod`"),
        "{}",
        stdout(&out)
    );
    let saved = json(&std::fs::read_to_string(repo.join("rb.json")).unwrap());
    assert_eq!(saved["made_with"]["rollback_of"], first.as_str());
    assert_eq!(object_list(&env, &prod), before);

    // `previous` names the first deployment; the rollback is recorded as one.
    let out = env
        .ferry()
        .args([
            "rollback",
            "--to",
            &prod,
            "--deployment",
            "previous",
            "--auto-approve",
        ])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).contains(&format!(", a rollback to deployment {first}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        history(&env, &prod)["deployments"][0]["rollback_of"],
        first.as_str()
    );
    let shown = stdout(
        &env.ferry()
            .args(["history", "show", "last", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(
        shown.contains(&format!("\nrollback to  {first}\n")),
        "{shown}"
    );
    env.ferry().args(["init", "prod-export"]).assert().success();
    env.ferry()
        .args(["export", "--from", &prod, "--repo", "prod-export"])
        .assert()
        .success();
    assert_eq!(
        objects_of(&env.path().join("prod-export/objects")),
        objects_of(&env.path().join("commit1"))
    );
    // The rollback is a deployment of commit 1; rolling back again finds nothing to do.
    let h = history(&env, &prod);
    assert_eq!(h["deployments"][0]["source"], h["deployments"][2]["source"]);
    let out = env
        .ferry()
        .args([
            "rollback",
            "--to",
            &prod,
            "--deployment",
            &first,
            "--auto-approve",
        ])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).contains("nothing to roll back"),
        "{}",
        stderr(&out)
    );
    // A saved rollback plan applied later is recorded as the rollback too; one whose target
    // was edited is refused.
    apply(&env, &prod).success();
    env.ferry()
        .args([
            "rollback",
            "--to",
            &prod,
            "--deployment",
            &first,
            "--out",
            "rb.json",
        ])
        .current_dir(&repo)
        .assert()
        .success();
    let text = std::fs::read_to_string(repo.join("rb.json")).unwrap();
    let second = h["deployments"][1]["id"].as_str().unwrap();
    std::fs::write(
        repo.join("forged.json"),
        text.replace(first.as_str(), second),
    )
    .unwrap();
    let out = env
        .ferry()
        .args(["apply", "forged.json"])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("made_with.rollback_of"),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["apply", "rb.json"])
        .current_dir(&repo)
        .assert()
        .success();
    assert_eq!(
        history(&env, &prod)["deployments"][0]["rollback_of"],
        first.as_str()
    );
}

#[test]
fn rollback_to_an_unknown_or_failed_deployment_is_refused() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let out = env
        .ferry()
        .args(["rollback", "--to", &prod, "--deployment", "0000"])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("has no deployment 0000"), "{err}");
    assert!(
        err.contains("hint: `ferry history --tenant URL` lists"),
        "{err}"
    );

    env.ferry()
        .env("FERRY_ACTOR", "alice@ops")
        .args(["tenant", "lock", &prod, "--purpose", "maintenance"])
        .assert()
        .success();
    let conn = rusqlite::Connection::open(env.path().join("prod.db")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fail BEFORE INSERT ON objects BEGIN SELECT RAISE(ABORT, 'no'); END",
    )
    .unwrap();
    drop(conn);
    env.ferry()
        .env("FERRY_ACTOR", "alice@ops")
        .args(["tenant", "unlock", &prod])
        .assert()
        .success();
    apply(&env, &prod).code(1);
    let failed = history(&env, &prod)["deployments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env
        .ferry()
        .args(["rollback", "--to", &prod, "--deployment", &failed])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(&format!(
            "deployment {failed} failed: it applied nothing to go back to"
        )),
        "{}",
        stderr(&out)
    );
}

use crate::common::files_under as objects_of;

#[test]
fn a_saved_plans_file_hash_is_the_plan_hash_its_deployment_records() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["plan", "--to", &prod, "--out", "plan.json"])
        .current_dir(&repo)
        .assert()
        .success();
    let bytes = std::fs::read(repo.join("plan.json")).unwrap();
    let file_hash = blake3::hash(&bytes).to_hex().to_string();
    env.ferry()
        .args(["apply", "plan.json"])
        .current_dir(&repo)
        .assert()
        .success();
    let recorded = &history(&env, &prod)["deployments"][0]["plan_hash"];
    assert_eq!(recorded.as_str(), Some(file_hash.as_str()));
    // Applied again: one short line naming the deployment that applied it, not 167 objects.
    let id = history(&env, &prod)["deployments"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = env
        .ferry()
        .args(["apply", "plan.json"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: plan.json was already applied to {prod}, in deployment {id} at "
        )),
        "{err}"
    );
    assert!(err.len() < 500, "{err}");
}

/// While an apply writes, a write by someone else is refused as locked, naming the apply's
/// actor, instead of waiting for the database and failing as busy with no name.
#[test]
fn a_write_by_someone_else_during_an_apply_is_refused_naming_the_holder() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let mut child = spawn_apply(
        &env,
        &prod,
        &[("FERRY_FAULT_WRITE_DELAY_MS", "20"), ("FERRY_ACTOR", "ci")],
    );
    let reader = wait_for_write(&mut child);
    std::fs::create_dir_all(env.path().join("outside")).unwrap();
    std::fs::copy(
        env.path().join("repo").join(VAT),
        env.path().join("outside/vat.toml"),
    )
    .unwrap();
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &prod, "outside/vat.toml"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("is locked by ci (apply "), "{err}");
    assert!(!err.contains("busy"), "{err}");
    let exit = child.wait().unwrap();
    let apply_err = reader.join().unwrap();
    assert!(exit.success(), "{apply_err}");
    converged(&env, &prod);
}

/// `ferry status` in (or with) a repository says whether HEAD is what the tenant last had
/// applied, as Argo CD says Synced or OutOfSync, with the commit each side is at.
#[test]
fn status_says_whether_head_is_what_the_tenant_last_had_applied() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    let sync = |env: &TestEnv| {
        let out = env
            .ferry()
            .args(["status", "--tenant", &prod, "--format", "json"])
            .current_dir(&repo)
            .assert()
            .success();
        json(&stdout(&out))["sync"].clone()
    };
    let s = sync(&env);
    assert_eq!(s["state"], "out_of_sync", "{s}");
    assert_eq!(s["reason"], "nothing has been applied to the tenant yet");
    apply(&env, &prod).success();
    let s = sync(&env);
    assert_eq!(s["state"], "synced", "{s}");
    assert_eq!(s["head"], s["applied"]);
    // A commit that changes no object keeps it synced; one that changes an object does not.
    std::fs::write(repo.join("NOTES.md"), "notes\n").unwrap();
    git(&repo, &["add", "NOTES.md"]);
    git(&repo, &["commit", "-qm", "notes"]);
    let s = sync(&env);
    assert_eq!(s["state"], "synced", "{s}");
    assert_ne!(s["head"], s["applied"]);
    redescribe(&repo, VAT, "VAT rate, from git.");
    git(&repo, &["commit", "-qam", "describe the VAT rate"]);
    let s = sync(&env);
    assert_eq!(s["state"], "out_of_sync", "{s}");
    let reason = s["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("HEAD (")
            && reason.contains(") has other objects than the last applied commit ("),
        "{reason}"
    );
    let text = stdout(
        &env.ferry()
            .args(["status", "--tenant", &prod, "--repo", "repo"])
            .assert()
            .success(),
    );
    assert!(text.starts_with("tenant           prod (sqlite:"), "{text}");
    assert!(
        text.contains("\nsync             out of sync: HEAD ("),
        "{text}"
    );
    assert!(text.contains("\n  HEAD "), "{text}");
    // Outside a repository, and without --repo, nothing is said about it.
    let out = env
        .ferry()
        .args(["status", "--tenant", &prod, "--format", "json"])
        .assert()
        .success();
    assert!(json(&stdout(&out))["sync"].is_null());
}

/// `ferry show PLAN` renders a saved plan without its tenant, exactly as `plan` showed it.
#[test]
fn show_renders_a_saved_plan_as_plan_did() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    for format in ["text", "markdown", "json"] {
        let planned = stdout(
            &env.ferry()
                .args([
                    "plan",
                    "--to",
                    &prod,
                    "--out",
                    "plan.json",
                    "--format",
                    format,
                ])
                .current_dir(&repo)
                .assert()
                .success(),
        );
        std::fs::remove_file(env.path().join("prod.db")).unwrap();
        let shown = stdout(
            &env.ferry()
                .args(["show", "plan.json", "--format", format])
                .current_dir(&repo)
                .assert()
                .success(),
        );
        assert_eq!(shown, planned, "{format}");
        if format == "json" {
            assert_eq!(
                shown,
                std::fs::read_to_string(repo.join("plan.json")).unwrap()
            );
        }
        crate::common::tenant(&env, "prod");
    }
    let out = env.ferry().args(["show", "nope.json"]).assert().code(1);
    assert!(
        stderr(&out).contains("cannot read nope.json"),
        "{}",
        stderr(&out)
    );
}
