//! What ferry promises under bad file systems, crashes and concurrency (README, "Guarantees"):
//! each test here is named there.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use crate::apply::redescribe;
use crate::common::{source_dir, stderr, stdout, tenant, TestEnv};

/// A tenant holding the retail example, and an exported repository `repo` of it.
fn retail_repo(env: &TestEnv) -> String {
    let url = tenant(env, "dev");
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects"))
        .assert()
        .success();
    env.ferry().args(["init", "repo"]).assert().success();
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo"])
        .assert()
        .success();
    url
}

/// A file outside the repository, and its content, which nothing may change.
fn outside_file(env: &TestEnv, name: &str) -> std::path::PathBuf {
    let path = env.path().join("outside").join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "outside: keep me\n").unwrap();
    path
}

fn assert_untouched(path: &Path) {
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "outside: keep me\n",
        "{} was written through a link",
        path.display()
    );
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn export_replaces_a_linked_object_file_or_schema_copy_and_never_writes_its_target() {
    let env = TestEnv::new();
    let url = retail_repo(&env);
    let repo = env.path().join("repo");
    let object = repo.join("objects/global/compute_source/mc_retail.toml");
    let schema = repo.join("schemas/kinds/compute_source.schema.json");
    let object_target = outside_file(&env, "object.toml");
    let schema_target = outside_file(&env, "schema.json");
    for (path, target) in [(&object, &object_target), (&schema, &schema_target)] {
        std::fs::remove_file(path).unwrap();
        symlink(target, path).unwrap();
    }
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    for (path, target) in [(&object, &object_target), (&schema, &schema_target)] {
        assert_untouched(target);
        assert!(!is_link(path), "{} is still a link", path.display());
        assert!(
            std::fs::read_to_string(path).unwrap().contains("guid")
                || path.ends_with("compute_source.schema.json")
        );
    }
}

#[test]
fn export_refuses_a_folder_reached_through_a_link_naming_it_and_writes_nothing_outside() {
    let env = TestEnv::new();
    let url = retail_repo(&env);
    let repo = env.path().join("repo");
    let folder = repo.join("objects/quality");
    let outside = env.path().join("outside-folder");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    symlink(&outside, &folder).unwrap();
    let assert = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo"])
        .assert()
        .failure();
    let err = stderr(&assert);
    assert!(err.contains("objects/quality"), "{err}");
    assert!(err.contains("link"), "{err}");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "written outside"
    );
}

#[test]
fn export_refuses_a_linked_ferry_toml_and_init_leaves_a_dangling_one_alone() {
    let env = TestEnv::new();
    let url = retail_repo(&env);
    let config = env.path().join("repo/ferry.toml");
    let target = outside_file(&env, "ferry.toml");
    std::fs::remove_file(&config).unwrap();
    symlink(&target, &config).unwrap();
    let assert = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo"])
        .assert()
        .failure();
    let err = stderr(&assert);
    assert!(err.contains("ferry.toml"), "{err}");
    assert_untouched(&target);

    // init never makes a file through a link, even a dangling one.
    std::fs::create_dir_all(env.path().join("fresh")).unwrap();
    let nowhere = env.path().join("outside/nowhere.toml");
    symlink(&nowhere, env.path().join("fresh/ferry.toml")).unwrap();
    env.ferry().args(["init", "fresh"]).assert().success();
    assert!(!nowhere.exists(), "init wrote through a dangling link");
    let schemas = env.path().join("fresh/schemas");
    std::fs::remove_dir_all(&schemas).unwrap();
    symlink(env.path().join("outside"), &schemas).unwrap();
    let assert = env.ferry().args(["init", "fresh"]).assert().failure();
    assert!(stderr(&assert).contains("schemas"), "{}", stderr(&assert));
    assert!(!env.path().join("outside/kinds").exists());
}

#[test]
fn object_put_reads_regular_files_only_and_says_what_it_skipped() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let dir = env.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        source_dir().join("examples/retail/objects/global/compute_source/mc_retail.toml"),
        dir.join("mc_retail.toml"),
    )
    .unwrap();
    let outside = outside_file(&env, "secret.toml");
    symlink(&outside, dir.join("linked.toml")).unwrap();
    symlink("/dev/zero", dir.join("zero.toml")).unwrap();
    let fifo = dir.join("pipe.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let assert = env
        .ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(&dir)
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    let out = stderr(&assert);
    for name in ["linked.toml", "zero.toml", "pipe.toml"] {
        assert!(
            out.lines()
                .any(|l| l.contains("skipped") && l.contains(name)),
            "{name} not reported as skipped:\n{out}"
        );
    }
    let list = env
        .ferry()
        .args(["object", "list", "--tenant", &url])
        .assert()
        .success();
    assert_eq!(
        stdout(&list)
            .lines()
            .filter(|l| l.contains("compute_source"))
            .count(),
        1
    );

    // Named on the command line, a file that is not a regular one is an error naming it.
    let assert = env
        .ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(&fifo)
        .timeout(Duration::from_secs(60))
        .assert()
        .failure();
    assert!(stderr(&assert).contains("pipe.toml"), "{}", stderr(&assert));
}

const VAT: &str = "objects/global/global_variable/vat_rate_default.toml";
const BUCKET: &str = "objects/global/global_variable/oss_export_bucket.toml";

/// Commits a new description of `rel` on a new branch `branch` made at `base`.
fn commit_on(repo: &Path, base: &str, branch: &str, rel: &str, description: &str) {
    crate::common::git(repo, &["checkout", "-q", "-b", branch, base]);
    redescribe(repo, rel, description);
    crate::common::git(repo, &["commit", "-qam", description]);
}

#[test]
fn two_applies_at_once_inside_one_window_have_exactly_one_winner_and_it_is_what_the_tenant_holds() {
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    race_rounds(&env, &prod, 20);
}

/// `rounds` rounds of two applies at once from two processes against `prod` (the promoted
/// setup's destination): exactly one winner each round, and the tenant is the winner's commit.
pub fn race_rounds(env: &TestEnv, prod: &str, rounds: usize) {
    let prod = prod.to_string();
    let repo = env.path().join("repo");
    let ci = |cmd: &mut assert_cmd::Command| {
        cmd.env("FERRY_ACTOR", "ci")
            .current_dir(env.path().join("repo"));
    };
    let mut first = env.ferry();
    ci(&mut first);
    first
        .args(["apply", "--to", &prod, "--auto-approve"])
        .assert()
        .success();
    let mut lock = env.ferry();
    ci(&mut lock);
    lock.args(["tenant", "lock", &prod, "--purpose", "release"])
        .assert()
        .success();
    let mut base = crate::common::git_output(&repo, &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    for round in 0..rounds {
        // Even rounds: two plans of two commits; odd rounds: one plan applied twice.
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        commit_on(&repo, &base, &a, VAT, &format!("VAT, round {round}"));
        commit_on(&repo, &base, &b, BUCKET, &format!("Bucket, round {round}"));
        let plans: Vec<(String, String)> = if round % 2 == 0 {
            vec![(a.clone(), "a.json".into()), (b.clone(), "b.json".into())]
        } else {
            vec![(a.clone(), "a.json".into()), (a.clone(), "a.json".into())]
        };
        for (rev, out) in &plans {
            let mut plan = env.ferry();
            ci(&mut plan);
            plan.args(["plan", "--to", &prod, "--ref", rev, "--out", out])
                .assert()
                .success();
        }
        let children: Vec<_> = plans
            .iter()
            .map(|(_, out)| {
                env.ferry_command()
                    .env("FERRY_ACTOR", "ci")
                    .current_dir(&repo)
                    .args(["apply", out])
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outcomes: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let winners: Vec<usize> = (0..2).filter(|&i| outcomes[i].status.success()).collect();
        let all = outcomes
            .iter()
            .map(|o| env.render(o))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(winners.len(), 1, "round {round}: not one winner:\n{all}");
        let loser = &outcomes[1 - winners[0]];
        let err = String::from_utf8_lossy(&loser.stderr);
        // The same plan twice: the loser, arriving after the winner wrote, finds it applied.
        let already = err.contains("was already applied to");
        assert!(
            err.contains("changed after the plan was made")
                || err.contains("changed since the plan")
                || already,
            "round {round}: {err}"
        );
        assert!(
            err.contains("by ci") || already,
            "round {round}: the loser does not name the winner: {err}"
        );
        // The tenant is exactly the winner's commit.
        let winner = plans[winners[0]].0.clone();
        let mut check = env.ferry();
        ci(&mut check);
        check
            .args([
                "plan",
                "--to",
                &prod,
                "--ref",
                &winner,
                "--detailed-exitcode",
            ])
            .assert()
            .code(0);
        base = winner;
    }
}

#[test]
fn an_object_deleted_outside_ferry_is_drift_and_comes_back_continuing_its_history() {
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    let repo = env.path().join("repo");
    let in_repo = |args: &[&str]| {
        let mut cmd = env.ferry();
        cmd.args(args).current_dir(&repo);
        cmd
    };
    in_repo(&["apply", "--to", &prod, "--auto-approve"])
        .assert()
        .success();
    const RULE: &str = "quality_rule/fct_order_pk_unique";
    in_repo(&["object", "rm", "--tenant", &prod, RULE])
        .assert()
        .success();

    let status = stdout(&in_repo(&["status", "--tenant", &prod]).assert().success());
    assert!(status.contains("drifted          1 object(s)"), "{status}");
    assert!(status.contains(&format!("deleted  {RULE}")), "{status}");
    let plan = stdout(&in_repo(&["plan", "--to", &prod]).assert().success());
    assert!(
        plan.contains(&format!("! {RULE}  (deleted outside ferry)")),
        "{plan}"
    );
    let refused = in_repo(&["plan", "--to", &prod, "--on-drift", "fail"])
        .assert()
        .code(1);
    assert!(stderr(&refused).contains(RULE), "{}", stderr(&refused));

    // Applied again, it comes back with its GUID, its history continuing (v1, deleted v2, v3).
    in_repo(&["apply", "--to", &prod, "--auto-approve"])
        .assert()
        .success();
    let version = || {
        let list = stdout(
            &in_repo(&["object", "list", "--tenant", &prod])
                .assert()
                .success(),
        );
        let line = list
            .lines()
            .find(|l| l.contains(RULE))
            .expect("the rule is back");
        line.rsplit(' ').next().unwrap().to_string()
    };
    assert_eq!(version(), "v3");
    let status = stdout(&in_repo(&["status", "--tenant", &prod]).assert().success());
    assert!(status.contains("drifted          0 object(s)"), "{status}");

    // Deleted again, `object put` of its file brings it back too (v5).
    in_repo(&["object", "rm", "--tenant", &prod, RULE])
        .assert()
        .success();
    in_repo(&[
        "object",
        "put",
        "--tenant",
        &prod,
        "objects/quality/quality_rule/fct_order_pk_unique.toml",
    ])
    .assert()
    .success();
    assert_eq!(version(), "v5");
}

/// The tree HEAD of `repo` points at, and whether `git status` is clean.
fn head_tree_and_clean(repo: &Path) -> (String, bool) {
    let tree = crate::common::git_output(repo, &["rev-parse", "HEAD^{tree}"]);
    let status = crate::common::git_output(repo, &["status", "--porcelain"]);
    (tree.trim().to_string(), status.trim().is_empty())
}

#[test]
fn an_export_killed_at_any_moment_is_completed_by_the_next_one() {
    let env = TestEnv::new();
    // Tenant a: a synthetic tenant; tenant b: the same objects with edits, renames and deletes.
    env.ferry()
        .args(["synth", "--objects", "1000", "--seed", "3", "--out", "s"])
        .assert()
        .success();
    let s = env.path().join("s");
    crate::common::git(&s, &["add", "-A"]);
    crate::common::git(&s, &["commit", "-qm", "synthetic"]);
    let (a, b) = (tenant(&env, "a"), tenant(&env, "b"));
    for url in [&a, &b] {
        env.ferry()
            .args(["object", "put", "--tenant", url, "s/objects"])
            .assert()
            .success();
    }
    env.ferry()
        .args(["synth", "--mutate", "40", "--seed", "4", "--out", "s"])
        .assert()
        .success();
    env.ferry()
        .args(["object", "put", "--tenant", &b, "s/objects"])
        .assert()
        .success();
    let deleted: Vec<String> = crate::common::git_output(&s, &["diff", "--name-status", "HEAD~1"])
        .lines()
        .filter_map(|l| l.strip_prefix("D\t"))
        .map(|p| {
            let rest = p.strip_prefix("objects/").unwrap();
            let rest = &rest[rest.find('/').unwrap() + 1..];
            rest.strip_suffix(".toml").unwrap().to_string()
        })
        .collect();
    assert!(!deleted.is_empty());
    env.ferry()
        .args(["object", "rm", "--tenant", &b])
        .args(&deleted)
        .assert()
        .success();

    let export = |url: &str, repo: &str| {
        env.ferry()
            .args(["export", "--from", url, "--repo", repo, "--commit"])
            .assert()
            .success();
    };
    // What uninterrupted exports commit: a's initial export, then b's on top of it.
    env.ferry().args(["init", "ref"]).assert().success();
    let started = std::time::Instant::now();
    export(&a, "ref");
    let took = started.elapsed();
    let (initial, clean) = head_tree_and_clean(&env.path().join("ref"));
    assert!(clean);
    crate::common::copy_dir(&env.path().join("ref"), &env.path().join("ref-a"));
    export(&b, "ref");
    let (incremental, clean) = head_tree_and_clean(&env.path().join("ref"));
    assert!(clean);
    assert_ne!(initial, incremental);

    for round in 0..20u64 {
        let dir = format!("k{round}");
        let (url, expected) = if round % 2 == 0 {
            env.ferry().args(["init", &dir]).assert().success();
            (&a, &initial)
        } else {
            crate::common::copy_dir(&env.path().join("ref-a"), &env.path().join(&dir));
            (&b, &incremental)
        };
        // Spread over the export's run, and a little past it.
        let at = took.mul_f64(((round * 7919) % 20) as f64 / 16.0);
        let mut child = env
            .ferry_command()
            .args(["export", "--from", url, "--repo", &dir, "--commit"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        child.wait().unwrap();
        export(url, &dir);
        let repo = env.path().join(&dir);
        let (tree, clean) = head_tree_and_clean(&repo);
        assert_eq!(
            &tree, expected,
            "round {round} (killed after {at:?}): another tree"
        );
        assert!(
            clean,
            "round {round}: {}",
            crate::common::git_output(&repo, &["status", "--porcelain"])
        );
        let pack = repo.join(".git/objects/pack");
        let leftovers: Vec<_> = std::fs::read_dir(&pack)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("tmp_"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
}

/// A data source file with its connection written as an array of tables, holding a password.
const WRONG_SHAPE: &str = r#"kind = "data_source"
name = "crm"

[spec]
type = "postgresql"

[[spec.connection]]
host = "crm.internal"
port = 5432
database = "loyalty"
auth_type = "username_password"
username = "reader"
password = "hunter2-SECRET"
"#;

/// A data source file with its config files written as one table, holding a file's content.
const WRONG_FILES: &str = r#"kind = "data_source"
name = "hdfs"

[spec]
type = "postgresql"

[spec.connection]
host = "crm.internal"
port = 5432
database = "loyalty"
auth_type = "username_password"
username = "reader"

[spec.config_files]
file_type = "keytab"
file_name = "dw.keytab"
content = "c2VjcmV0LUtFWVRBQi1TRUNSRVQ="
"#;

#[test]
fn a_schema_error_around_a_secret_shows_its_shape_never_its_value() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("in/crm.toml", WRONG_SHAPE);
    env.write("in/hdfs.toml", WRONG_FILES);
    let secrets = ["hunter2-SECRET", "c2VjcmV0LUtFWVRBQi1TRUNSRVQ="];
    let no_secret = |what: &str, out: &std::process::Output| {
        let all = env.render(out);
        for s in secrets {
            assert!(!all.contains(s), "{what} shows a secret:\n{all}");
        }
        all
    };
    for file in ["in/crm.toml", "in/hdfs.toml"] {
        let out = env
            .ferry()
            .args(["object", "put", "--tenant", &url, file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let all = no_secret("object put", &out);
        assert!(all.contains("/spec/"), "{all}");
        assert!(all.contains("not shown"), "{all}");
    }
    // In a repository: validate (text and JSON) and plan.
    env.ferry().args(["init", "repo"]).assert().success();
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    env.write("repo/objects/global/data_source/crm.toml", WRONG_SHAPE);
    env.write("repo/objects/global/data_source/hdfs.toml", WRONG_FILES);
    let repo = env.path().join("repo");
    crate::common::git(&repo, &["add", "-A"]);
    crate::common::git(&repo, &["commit", "-qm", "wrong shapes"]);
    for args in [
        vec!["validate"],
        vec!["validate", "--format", "json"],
        vec!["plan", "--to", "sqlite:../dev.db"],
        vec!["diff", "HEAD~1..HEAD"],
    ] {
        let out = env.ferry().args(&args).current_dir(&repo).output().unwrap();
        let all = no_secret(&args.join(" "), &out);
        assert!(
            all.contains("/spec/connection"),
            "{}: {all}",
            args.join(" ")
        );
    }
}

#[test]
fn a_huge_value_is_quoted_as_an_excerpt_and_control_characters_never_reach_the_terminal() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let huge = "x".repeat(5_000_000);
    env.write(
        "in/big.toml",
        &format!("kind = \"global_variable\"\nname = \"big\"\n\n[spec]\nvalue_type = {{ a = \"{huge}\" }}\n"),
    );
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "in/big.toml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.len() < 2_000,
        "an error of {} bytes",
        out.stderr.len()
    );

    let out = env
        .ferry()
        .args([
            "tenant",
            "init",
            "sqlite:esc.db",
            "--name",
            "a\u{1b}[31mb",
            "--platform-version",
            "4.5.0",
        ])
        .args([
            "--engine",
            "maxcompute",
            "--engine-mode",
            "single",
            "--cluster",
            "c1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !out.stderr.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("control character"));
    assert!(!env.path().join("esc.db").exists());
}

#[test]
fn a_saved_plan_edited_by_hand_is_refused_naming_what_differs() {
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    let repo = env.path().join("repo");
    let vat = "objects/global/global_variable/vat_rate_default.toml";
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    redescribe(&repo, vat, "VAT rate, from git.");
    crate::common::git(&repo, &["commit", "-qam", "describe the VAT rate"]);
    env.ferry()
        .args(["plan", "--to", &prod, "--out", "plan.json"])
        .current_dir(&repo)
        .assert()
        .success();
    let plan = std::fs::read_to_string(repo.join("plan.json")).unwrap();
    let list = |env: &TestEnv| {
        stdout(
            &env.ferry()
                .args(["object", "list", "--tenant", &prod, "--format", "json"])
                .assert()
                .success(),
        )
    };
    let before = list(&env);
    let edit = |from: &str, to: &str| {
        assert!(plan.contains(from), "{from} is not in the plan:\n{plan}");
        plan.replacen(from, to, 1)
    };
    let fingerprint = {
        let json: serde_json::Value = serde_json::from_str(&plan).unwrap();
        json["destination"]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let forged = [
        (
            edit("\"action\": \"update\"", "\"action\": \"delete\""),
            "changes[global_variable/vat_rate_default].action: the file says \"delete\", the plan made again says \"update\"",
        ),
        (
            edit("\"new\": \"VAT rate, from git.\"", "\"new\": \"forged\""),
            "changes[global_variable/vat_rate_default].fields[0].new: the file's value is not the one the plan made again has (field values are not quoted: they may be secret)",
        ),
        (
            edit("\"kind\": \"global_variable\"", "\"kind\": \"metric\""),
            "changes[global_variable/vat_rate_default].kind: the file says \"metric\", the plan made again says \"global_variable\"",
        ),
        (
            edit(
                "\"address\": \"global_variable/vat_rate_default\"",
                "\"address\": \"global_variable/vat_rate_forged\"",
            ),
            "changes[0].address: the file says \"global_variable/vat_rate_forged\", the plan made again says \"global_variable/vat_rate_default\"",
        ),
        (
            edit("\"unchanged\": 166", "\"unchanged\": 1"),
            "unchanged: the file says 1, the plan made again says 166",
        ),
        (
            edit(&fingerprint, &"0".repeat(64)),
            "destination.fingerprint: the file says 0000000000000000000000000000000000000000000000000000000000000000, the tenant now gives",
        ),
    ];
    for (text, difference) in forged {
        std::fs::write(repo.join("forged.json"), &text).unwrap();
        let out = env
            .ferry()
            .args(["apply", "forged.json"])
            .current_dir(&repo)
            .assert()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.contains("forged.json is not the plan that commit") && err.contains(difference),
            "{difference}\n{err}"
        );
        assert!(err.contains("nothing was applied"), "{err}");
        // A field value the file carries (a secret, perhaps) is never quoted back.
        assert!(!err.contains("\"forged\""), "{err}");
        assert_eq!(list(&env), before, "a forged plan changed the tenant");
    }
    // The plan as written applies, and its deployment records what was made again.
    env.ferry()
        .args(["apply", "plan.json"])
        .current_dir(&repo)
        .assert()
        .success();
    assert_ne!(list(&env), before);
}

/// Changes the owner of everything under `dir` to `uid`.
fn chown_all(dir: &Path, uid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid)).unwrap();
    if dir.is_dir() && !dir.is_symlink() {
        for entry in std::fs::read_dir(dir).unwrap() {
            chown_all(&entry.unwrap().path(), uid);
        }
    }
}

/// A tenant file that may not be written, in a folder that may not be written (so SQLite cannot
/// make its -shm file), is read by every command that only reads, and refused by writers.
/// Run as root, the commands run as `nobody`, for whom the permissions hold.
#[test]
fn a_read_only_tenant_file_is_read_by_every_reading_command() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    const NOBODY: u32 = 65534;
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    redescribe(
        &repo,
        "objects/global/global_variable/vat_rate_default.toml",
        "VAT rate, from git.",
    );
    crate::common::git(&repo, &["commit", "-qam", "describe the VAT rate"]);
    let ro = env.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::copy(env.path().join("prod.db"), ro.join("prod.db")).unwrap();
    assert!(!env.path().join("prod.db-wal").exists());
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        chown_all(&repo, NOBODY);
        std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(ro.join("prod.db"), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let url = format!("sqlite:{}", ro.join("prod.db").display());
    let run = |args: &[&str]| {
        let mut cmd = env.ferry_command();
        cmd.args(args).current_dir(&repo).env("HOME", &repo);
        if root {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        cmd.output().unwrap()
    };
    for args in [
        &["tenant", "info", &url][..],
        &["status", "--tenant", &url],
        &["history", "--tenant", &url],
        &["object", "list", "--tenant", &url],
        &[
            "object",
            "get",
            "--tenant",
            &url,
            "global_variable/vat_rate_default",
        ],
        &["plan", "--to", &url],
    ] {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "plan" {
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("global_variable/vat_rate_default"),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    let out = run(&["apply", "--to", &url, "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("prod.db is read-only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&ro).unwrap().count(),
        1,
        "nothing was made beside it"
    );
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}
