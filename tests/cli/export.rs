use std::path::Path;

use crate::common::{git, git_output, source_dir, stderr, stdout, tenant, TestEnv};

/// A tenant holding the retail example, and an initialized repository `repo`.
fn retail_tenant(env: &TestEnv) -> String {
    let url = tenant(env, "dev");
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects"))
        .assert()
        .success();
    env.ferry().args(["init", "repo"]).assert().success();
    url
}

use crate::common::files_under;

fn commits(repo: &Path) -> usize {
    git_output(repo, &["rev-list", "--count", "--all"])
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn export_put_export_round_trips_byte_for_byte() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    let first = files_under(&env.path().join("repo/objects"));
    assert_eq!(
        first,
        files_under(&source_dir().join("examples/retail/objects")),
        "export writes the example's files"
    );

    let other = tenant(&env, "copy");
    env.ferry()
        .args(["object", "put", "--tenant", &other, "repo/objects"])
        .assert()
        .success();
    env.ferry().args(["init", "repo2"]).assert().success();
    env.ferry()
        .args(["export", "--from", &other, "--repo", "repo2"])
        .assert()
        .success();
    assert_eq!(files_under(&env.path().join("repo2/objects")), first);
    let config = env.read("repo/ferry.toml");
    assert!(config.contains("[source]\nname = \"dev\"\nplatform_version = \"4.5.0\"\nengine = \"maxcompute\"\nengine_mode = \"single\"\ncluster = \"cn-shanghai-mc-01\"\n"), "{config}");
}

#[test]
fn an_unchanged_tenant_exports_nothing() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    let repo = env.path().join("repo");
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--commit",
            "-m",
            "First export",
        ])
        .assert()
        .success();
    assert!(stderr(&out).contains("committed "), "{}", stderr(&out));
    let message = git_output(&repo, &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("First export\n\nExported from dev: 167 added, 0 changed, 0 renamed, 0 deleted.\n\nadded    atomic_metric 5, "), "{message}");
    assert_eq!(
        git_output(&repo, &["status", "--porcelain"]),
        "",
        "the first commit holds the whole repository"
    );
    let times = |dir: &Path| -> Vec<std::time::SystemTime> {
        files_under(dir)
            .iter()
            .map(|(p, _)| std::fs::metadata(dir.join(p)).unwrap().modified().unwrap())
            .collect()
    };
    let before = times(&repo.join("objects"));
    let config_time = std::fs::metadata(repo.join("ferry.toml"))
        .unwrap()
        .modified()
        .unwrap();
    let count = commits(&repo);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    assert!(
        stderr(&out).ends_with("0 added, 0 changed, 0 renamed, 0 deleted\nnothing to commit\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(times(&repo.join("objects")), before, "no file was written");
    assert_eq!(
        std::fs::metadata(repo.join("ferry.toml"))
            .unwrap()
            .modified()
            .unwrap(),
        config_time
    );
    assert_eq!(commits(&repo), count, "no commit");
}

/// Issue 18, point 2: files an export without `--commit` wrote are committed by the next
/// `export --commit`, which compares the tenant with HEAD's tree, not with the working tree.
#[test]
fn export_then_export_commit_commits_what_the_first_wrote() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo"])
        .assert()
        .success();
    assert_eq!(
        commits(&repo),
        0,
        "an export without --commit commits nothing"
    );
    assert_ne!(git_output(&repo, &["status", "--porcelain"]), "");
    let said = env.run(env.ferry().args([
        "export", "--from", &url, "--repo", "repo", "--commit", "-m", "Export",
    ]));
    let said = said
        .lines()
        .filter(|l| !l.starts_with("  "))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("export_then_commit", said);
    assert_eq!(commits(&repo), 1);
    assert_eq!(
        git_output(&repo, &["status", "--porcelain"]),
        "",
        "the commit holds every file the first export wrote"
    );
    let committed = git_output(
        &repo,
        &["ls-tree", "-r", "-z", "--name-only", "HEAD", "objects"],
    );
    let files = committed
        .split('\0')
        .filter(|l| l.ends_with(".toml"))
        .count();
    assert_eq!(files, 167, "{committed}");
}

#[test]
fn renames_move_files_and_deletes_remove_them() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    // Rename a word root in the tenant: same GUID, new name.
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, "word_root/amt"])
        .assert()
        .success();
    env.write(
        "renamed.toml",
        &stdout(&out).replace("name = \"amt\"", "name = \"amount\""),
    );
    env.ferry()
        .args(["object", "put", "--tenant", &url, "renamed.toml"])
        .assert()
        .success();
    env.ferry()
        .args(["object", "rm", "--tenant", &url, "key/member_pii_aes"])
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    let said = stderr(&out);
    assert!(said.contains("  deleted  key/member_pii_aes\n"), "{said}");
    assert!(
        said.contains("  renamed  word_root/amt → word_root/amount\n"),
        "{said}"
    );
    let names = git_output(&repo, &["diff", "-M", "--name-status", "HEAD~1", "HEAD"]);
    assert!(
        names.lines().any(|l| l.starts_with('R')
            && l.ends_with(
                "\tobjects/standard/word_root/amt.toml\tobjects/standard/word_root/amount.toml"
            )),
        "git sees a rename: {names}"
    );
    // The objects that refer to it show its new address.
    assert!(
        names.contains("M\tobjects/standard/data_standard/pay_amt.toml"),
        "{names}"
    );
    assert!(
        names.contains("D\tobjects/security/key/member_pii_aes.toml"),
        "{names}"
    );
    assert!(!repo
        .join("objects/security/key/member_pii_aes.toml")
        .exists());
    let out = env
        .ferry()
        .args(["diff", "HEAD~1..HEAD", "--repo", "repo"])
        .assert()
        .success();
    let diff = stdout(&out);
    assert!(
        diff.contains("renamed  word_root/amt → word_root/amount"),
        "{diff}"
    );
    assert!(diff.contains("deleted  key/member_pii_aes"), "{diff}");
}

#[test]
fn a_filtered_export_touches_only_its_selection() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo"])
        .assert()
        .success();
    env.ferry()
        .args(["object", "rm", "--tenant", &url, "key/member_pii_aes"])
        .assert()
        .success();
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--category",
            "standard",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["deleted"], serde_json::json!([]));
    assert!(
        env.path()
            .join("repo/objects/security/key/member_pii_aes.toml")
            .exists(),
        "outside the selection"
    );
    let out = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--kind", "key"])
        .assert()
        .success();
    assert!(stderr(&out).contains("1 deleted"), "{}", stderr(&out));
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--category",
            "nope",
        ])
        .assert()
        .code(1);
    assert!(stderr(&out).starts_with(
        "error: unknown category `nope`\n  hint: categories are global, architecture,"
    ));
}

#[test]
fn export_by_change_date_includes_any_change_in_the_window() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let segment = |name: &str, display: &str| {
        format!("kind = \"data_segment\"\nname = \"{name}\"\n\n[spec]\ndisplay_name = \"{display}\"\nprefix = \"rt\"\n")
    };
    let put = |file: &str, text: &str, at: &str| {
        env.write(file, text);
        env.ferry()
            .args(["object", "put", "--tenant", &url, file])
            .env("FERRY_NOW", at)
            .assert()
            .success();
    };
    put("a.toml", &segment("a", "A"), "2026-01-01T00:00:00Z");
    put("b.toml", &segment("b", "B"), "2026-01-01T00:00:00Z");
    put("b.toml", &segment("b", "B2"), "2026-02-10T00:00:00Z");
    put("b.toml", &segment("b", "B3"), "2026-03-10T00:00:00Z");
    put("c.toml", &segment("c", "C"), "2026-03-01T00:00:00Z");
    env.ferry().args(["init", "repo"]).assert().success();
    // February: only b, changed then (and again later).
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--changed-since",
            "2026-02-01",
            "--changed-until",
            "2026-03-01",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let added: Vec<&str> = report["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(added, ["data_segment/b"]);
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--changed-since",
            "2026-03-01",
        ])
        .assert()
        .success();
    // b was written with its current content in February; only c is new.
    assert!(
        stderr(&out).contains("1 added, 0 changed"),
        "{}",
        stderr(&out)
    );
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url,
            "--repo",
            "repo",
            "--changed-since",
            "yesterday",
        ])
        .assert()
        .code(1);
    assert!(stderr(&out).starts_with("error: --changed-since `yesterday` is not a date"));
}

#[test]
fn secrets_never_reach_the_repository() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    let canary = "canary-s3cret-91c2";
    let out = env
        .ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &url,
            "data_source/orders_mysql",
        ])
        .assert()
        .success();
    let text = stdout(&out);
    let with_secret = text.replacen(
        "[spec.connection]\n",
        &format!("[spec.connection]\npassword = \"{canary}\"\n"),
        1,
    );
    assert_ne!(with_secret, text);
    env.write("ds.toml", &with_secret);
    env.ferry()
        .args(["object", "put", "--tenant", &url, "ds.toml"])
        .assert()
        .success();
    let mut seen = String::new();
    for format in ["text", "json"] {
        let out = env
            .ferry()
            .args([
                "export", "--from", &url, "--repo", "repo", "--commit", "--format", format,
            ])
            .assert()
            .success();
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
    }
    assert!(!seen.contains(canary));
    let file = env.read("repo/objects/global/data_source/orders_mysql.toml");
    assert!(file.contains("password = \"(sensitive)\""), "{file}");
    for (path, bytes) in files_under(&env.path().join("repo")) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(canary),
            "{path} holds the secret"
        );
    }
    // Every object git holds, loose or packed, uncompressed.
    let all = crate::common::git_output_bytes(
        &env.path().join("repo"),
        &["cat-file", "--batch-all-objects", "--batch"],
    );
    assert!(
        !String::from_utf8_lossy(&all).contains(canary),
        "a git object holds the secret"
    );
    let _ = git;
}

#[test]
fn objects_that_cannot_move_are_listed_with_their_reasons() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/unmovable"))
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo"])
        .assert()
        .success();
    insta::assert_snapshot!(
        "not_exportable",
        stderr(&out).split("not exported").nth(1).unwrap()
    );
    let out = env
        .ferry()
        .args([
            "export", "--from", &url, "--repo", "repo", "--format", "json",
        ])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["not_exportable"].as_array().unwrap().len(), 5);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/output/export.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(jsonschema::is_valid(&schema, &report), "{report:#}");
    assert!(!env
        .path()
        .join("repo/objects/development/data_service_api")
        .exists());
}

#[test]
fn export_needs_a_repository() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let out = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "nowhere"])
        .assert()
        .code(1);
    assert!(stderr(&out).starts_with("error: nowhere is not a tenant repository (no ferry.toml)\n  hint: run `ferry init nowhere` first"), "{}", stderr(&out));
}

/// After an export commit: git's index describes the files as written (so git sees no change
/// without reading them), the work tree is clean, the repository is sound, and every object is
/// packed.
fn assert_committed_cleanly(repo: &Path, what: &str) {
    // Before `git status`, which may refresh the index.
    assert_eq!(
        git_output(repo, &["diff-files", "--name-only"]),
        "",
        "{what}: the index's stat data matches the files"
    );
    assert_eq!(
        git_output(repo, &["status", "--porcelain"]),
        "",
        "{what}: the work tree is clean"
    );
    git_output(repo, &["fsck", "--strict", "--no-dangling"]);
    let counts = git_output(repo, &["count-objects", "-v"]);
    assert!(
        counts.starts_with("count: 0\n"),
        "{what}: no loose object: {counts}"
    );
}

#[test]
fn a_commit_leaves_git_clean_and_the_next_one_holds_just_the_change() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    assert_committed_cleanly(&repo, "first export");

    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, "word_root/amt"])
        .assert()
        .success();
    let changed = stdout(&out).replace(
        "description = \"A money amount in CNY, two decimals.\"",
        "description = \"A money amount in CNY.\"",
    );
    assert_ne!(changed, stdout(&out));
    env.write("changed.toml", &changed);
    env.ferry()
        .args(["object", "put", "--tenant", &url, "changed.toml"])
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["export", "--from", &url, "--repo", "repo", "--commit"])
        .assert()
        .success();
    assert!(
        stderr(&out).contains("0 added, 1 changed, 0 renamed, 0 deleted\ncommitted "),
        "{}",
        stderr(&out)
    );
    assert_eq!(commits(&repo), 2);
    assert_eq!(
        git_output(&repo, &["diff", "--name-only", "HEAD~1", "HEAD"]),
        "objects/standard/word_root/amt.toml\n"
    );
    assert_eq!(
        git_output(&repo, &["show", "HEAD:objects/standard/word_root/amt.toml"]),
        env.read("repo/objects/standard/word_root/amt.toml")
    );
    assert!(env
        .read("repo/objects/standard/word_root/amt.toml")
        .contains("description = \"A money amount in CNY.\""));
    assert_committed_cleanly(&repo, "second export");
    assert_eq!(
        git_output(&repo, &["reflog", "--format=%gs"]),
        "commit: Export dev: 0 added, 1 changed, 0 renamed, 0 deleted\n\
         commit (initial): Export dev: 167 added, 0 changed, 0 renamed, 0 deleted\n",
        "the reflog reads as git's own"
    );
}

#[test]
fn a_commit_in_a_sub_folder_leaves_other_staged_changes_alone() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects"))
        .assert()
        .success();
    git(env.path(), &["init", "-q", "--initial-branch", "trunk"]);
    env.write("notes.txt", "not ferry's\n");
    git(env.path(), &["add", "notes.txt"]);
    env.ferry()
        .args(["init", "--no-git", "sub/repo"])
        .assert()
        .success();
    env.ferry()
        .args(["export", "--from", &url, "--repo", "sub/repo", "--commit"])
        .assert()
        .success();
    let files = git_output(
        env.path(),
        &[
            "-c",
            "core.quotePath=false",
            "ls-tree",
            "-r",
            "--name-only",
            "trunk",
        ],
    );
    assert!(
        files.lines().all(|f| f.starts_with("sub/repo/")),
        "only the ferry repository's files: {files}"
    );
    assert!(files.contains("sub/repo/objects/standard/word_root/amt.toml\n"));
    assert!(files.contains("sub/repo/ferry.toml\n"));
    assert_eq!(
        git_output(
            env.path(),
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        "A  notes.txt\n",
        "still staged, not committed"
    );
    git_output(env.path(), &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn export_commits_are_dated_by_the_clock_so_their_ids_are_stable() {
    let env = TestEnv::new();
    let url = retail_tenant(&env);
    env.ferry().args(["init", "twin"]).assert().success();
    let mut ids = Vec::new();
    for repo in ["repo", "twin"] {
        env.ferry()
            .args([
                "export", "--from", &url, "--repo", repo, "--commit", "-m", "Export",
            ])
            .assert()
            .success();
        let dir = env.path().join(repo);
        ids.push(git_output(&dir, &["rev-parse", "HEAD"]));
        assert_eq!(
            git_output(&dir, &["log", "-1", "--format=%cI %aI"]).trim(),
            "2026-01-31T12:00:00Z 2026-01-31T12:00:00Z",
            "the commit takes FERRY_NOW"
        );
    }
    assert_eq!(ids[0], ids[1], "same tenant, same clock: same commit");
}
