//! Deploying from a package (issue 15, point 4): `ferry plan --package FILE|ID` and `ferry apply
//! --package FILE|ID` give a destination exactly the objects applying the same commit from git
//! gives — full, incremental (renames and deletes included) and selection packages —, a package
//! applied twice finds nothing to do, and deploying sets the statuses the destination keeps.

use crate::common::{files_under, stderr, stdout, tenant, TestEnv};
use crate::package::{configure, four_changes, kept_packages, package, setup, CREDENTIAL, VAR};

/// A fresh tenant `name` with the shared credential, outside any repository; its URL.
fn destination(env: &TestEnv, name: &str) -> String {
    let url = tenant(env, name);
    configure(env, &url, CREDENTIAL);
    url
}

/// `ferry apply ARGS --auto-approve` run in the workplace (no repository there) with the
/// credential.
fn deploy(env: &TestEnv, args: &[&str]) -> assert_cmd::assert::Assert {
    env.ferry()
        .arg("apply")
        .args(args)
        .arg("--auto-approve")
        .env(VAR, CREDENTIAL)
        .assert()
}

/// `ferry apply --to URL --auto-approve ARGS` of the repository's HEAD, from `repo/`.
fn deploy_git(env: &TestEnv, url: &str, args: &[&str]) {
    env.ferry()
        .args(["apply", "--to", url, "--auto-approve"])
        .args(args)
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
}

/// The object files `ferry export` writes of `url` into a new repository `dir`.
fn exported(env: &TestEnv, url: &str, dir: &str) -> Vec<(String, Vec<u8>)> {
    if !env.path().join(dir).exists() {
        env.ferry()
            .args(["init", dir, "--no-git"])
            .assert()
            .success();
    }
    env.ferry()
        .args(["export", "--from", url, "--repo", dir, "--quiet"])
        .assert()
        .success();
    files_under(&env.path().join(dir).join("objects"))
}

/// Asserts the two tenants export the same object files, byte for byte.
fn same_exports(env: &TestEnv, git_url: &str, package_url: &str, tag: &str) {
    let from_git = exported(env, git_url, &format!("export-git-{tag}"));
    let from_package = exported(env, package_url, &format!("export-package-{tag}"));
    assert!(!from_git.is_empty());
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&from_package),
        names(&from_git),
        "{tag}: the same files"
    );
    assert!(from_package == from_git, "{tag}: the same bytes");
}

/// The deployment statuses of package `id`'s objects in `url`, by address.
fn statuses(env: &TestEnv, url: &str, id: &str) -> Vec<(String, String)> {
    let path = env.path().join(url.strip_prefix("sqlite:").unwrap());
    let tenant = ferry::store::open(&ferry::store::TenantUrl::Sqlite(path)).unwrap();
    let kept = tenant.package(id).unwrap().unwrap();
    kept.objects
        .into_iter()
        .map(|o| (o.address, o.status))
        .collect()
}

#[test]
fn full_and_incremental_packages_deploy_what_git_deploys_and_twice_is_nothing() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let far = destination(&env, "far");

    // Full: the whole commit, into a tenant that has nothing.
    let full = package(&env, "full.dp", &[]);
    deploy_git(&env, &prod, &[]);
    let out = deploy(&env, &["--package", full.to_str().unwrap(), "--to", &far]);
    let err = stderr(&out.success());
    assert!(err.contains("imported "), "{err}");
    assert!(
        err.contains("read 167 object(s) of the full package"),
        "{err}"
    );
    same_exports(&env, &prod, &far, "full");
    let ids = kept_packages(&env, &far);
    assert_eq!(ids.len(), 1);
    let done = statuses(&env, &far, &ids[0]);
    assert_eq!(done.len(), 167);
    assert!(done.iter().all(|(_, s)| s == "succeeded"), "{done:?}");

    // The same package again, by its id: nothing to do.
    let again = deploy(&env, &["--package", &ids[0], "--to", &far]);
    assert!(stderr(&again.success()).contains("nothing to apply"));

    // Incremental: a modify, a rename (and the object referring to it) and a delete, which the
    // package deletes without --prune.
    four_changes(&env);
    let inc = package(&env, "inc.dp", &["--since", "HEAD~1"]);
    deploy_git(&env, &prod, &["--prune"]);
    let plan = env
        .ferry()
        .args(["plan", "--package"])
        .arg(&inc)
        .args(["--to", &far])
        .env(VAR, CREDENTIAL)
        .assert()
        .success();
    let shown = stdout(&plan);
    assert!(
        shown.contains("rename word_root/chnl → word_root/channel"),
        "{shown}"
    );
    assert!(
        shown.contains("delete business_activity/order_to_cash"),
        "{shown}"
    );
    assert!(
        kept_packages(&env, &far).len() == 1,
        "a plan imports nothing"
    );
    deploy(&env, &["--package", inc.to_str().unwrap(), "--to", &far]).success();
    same_exports(&env, &prod, &far, "incremental");
    let ids = kept_packages(&env, &far);
    assert_eq!(ids.len(), 2);
    let inc_id = ids
        .iter()
        .find(|id| statuses(&env, &far, id).len() == 4)
        .unwrap();
    let done = statuses(&env, &far, inc_id);
    assert!(done.iter().all(|(_, s)| s == "succeeded"), "{done:?}");
    let again = deploy(&env, &["--package", inc_id, "--to", &far]);
    assert!(stderr(&again.success()).contains("nothing to apply"));
}

#[test]
fn a_selection_package_deploys_what_a_selected_git_apply_deploys() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let far = destination(&env, "far");
    let select = "+data_source/pos_smartpos";
    let sel = package(&env, "sel.dp", &["--select", select]);
    deploy_git(&env, &prod, &["--select", select]);
    deploy(&env, &["--package", sel.to_str().unwrap(), "--to", &far]).success();
    same_exports(&env, &prod, &far, "selection");
    let objects = exported(&env, &far, "export-package-selection");
    let names: Vec<&str> = objects.iter().map(|o| o.0.as_str()).collect();
    assert_eq!(
        names,
        [
            ".gitkeep",
            "global/data_source/pos_smartpos.toml",
            "global/data_source_type/smartpos_v3.toml"
        ],
        "only the selection and what it needs"
    );
}

#[test]
fn a_saved_plan_of_a_kept_package_applies_and_one_of_a_file_needs_the_import() {
    let env = TestEnv::new();
    setup(&env);
    let far = destination(&env, "far");
    let full = package(&env, "full.dp", &[]);
    // Planned from the file and saved: the destination does not keep the package yet.
    env.ferry()
        .args(["plan", "--package"])
        .arg(&full)
        .args(["--to", &far, "--out", "from-file.json"])
        .env(VAR, CREDENTIAL)
        .assert()
        .success();
    let before = std::fs::read(env.path().join("far.db")).unwrap();
    let out = env
        .ferry()
        .args(["apply", "from-file.json"])
        .assert()
        .failure();
    let err = stderr(&out);
    assert!(err.contains("does not keep"), "{err}");
    assert!(err.contains("ferry import"), "{err}");
    assert_eq!(std::fs::read(env.path().join("far.db")).unwrap(), before);

    // Imported, planned by its id, saved, applied.
    env.ferry()
        .arg("import")
        .arg(&full)
        .args(["--to", &far])
        .env(VAR, CREDENTIAL)
        .assert()
        .success();
    let id = kept_packages(&env, &far).remove(0);
    env.ferry()
        .args(["plan", "--package", &id, "--to", &far, "--out", "kept.json"])
        .assert()
        .success();
    assert_eq!(statuses(&env, &far, &id)[0].1, "pending");
    env.ferry().args(["apply", "kept.json"]).assert().success();
    assert!(statuses(&env, &far, &id)
        .iter()
        .all(|(_, s)| s == "succeeded"));
    // Applied once: the plan is refused a second time, and a new plan has nothing to do.
    env.ferry().args(["apply", "kept.json"]).assert().failure();
    let again = env
        .ferry()
        .args(["plan", "--package", &id, "--to", &far])
        .assert()
        .success();
    assert!(stdout(&again).contains("No changes"), "{}", stdout(&again));
}

#[test]
fn a_package_id_the_destination_does_not_keep_is_refused_naming_the_tenant() {
    let env = TestEnv::new();
    let far = destination(&env, "far");
    let out = env
        .ferry()
        .args(["plan", "--package", "nosuch", "--to", &far])
        .assert()
        .failure();
    let err = stderr(&out);
    assert!(err.contains("no package nosuch in tenant sqlite:"), "{err}");
    assert!(err.contains("ferry package list --tenant"), "{err}");
    let out = env
        .ferry()
        .args(["plan", "--package", "nosuch", "--env", "prod"])
        .assert()
        .failure();
    assert!(
        stderr(&out).contains("--package needs --to"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_package_deployed_with_an_environment_applies_the_package_copy_of_its_overrides() {
    let env = TestEnv::new();
    setup(&env);
    let far = destination(&env, "far");
    env.write(
        "repo/environments/far.toml",
        "tenant = \"sqlite:../far.db\"\n\n[[override]]\nselect = \"data_source/pos_smartpos\"\nset.\"/spec/connection/database\" = \"POSHQ_FAR\"\n",
    );
    env.write(
        "repo/environments/gated.toml",
        "tenant = \"sqlite:../far.db\"\nrequires = [\"far\"]\n",
    );
    crate::common::git(&env.path().join("repo"), &["add", "environments"]);
    crate::common::git(&env.path().join("repo"), &["commit", "-qm", "far"]);
    let full = package(&env, "full.dp", &[]);
    // The repository's copy is edited after packaging: the package's copy is the one used.
    std::fs::remove_dir_all(env.path().join("repo")).unwrap();
    let out = deploy(
        &env,
        &[
            "--package",
            full.to_str().unwrap(),
            "--to",
            &far,
            "--env",
            "far",
        ],
    );
    let err = stderr(&out.success());
    assert!(
        err.contains("environment far from the package's copy of environments/far.toml"),
        "{err}"
    );
    let got = env
        .ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &far,
            "data_source/pos_smartpos",
        ])
        .assert()
        .success();
    assert!(
        stdout(&got).contains("database = \"POSHQ_FAR\""),
        "{}",
        stdout(&got)
    );
    // The destination side's own file, in the tenant repository ferry runs in, wins.
    env.ferry()
        .args(["init", "own", "--git"])
        .assert()
        .success();
    env.write(
        "own/environments/far.toml",
        "tenant = \"sqlite:../far.db\"\n\n[[override]]\nselect = \"data_source/pos_smartpos\"\nset.\"/spec/connection/database\" = \"POSHQ_OWN\"\n",
    );
    crate::common::git(&env.path().join("own"), &["add", "-A"]);
    crate::common::git(&env.path().join("own"), &["commit", "-qm", "far"]);
    let own = env
        .ferry()
        .args(["apply", "--package"])
        .arg(&full)
        .args(["--to", "sqlite:../far.db", "--env", "far", "--auto-approve"])
        .env(VAR, CREDENTIAL)
        .current_dir(env.path().join("own"))
        .assert()
        .success();
    let err = stderr(&own);
    assert!(
        err.contains("environment far from environments/far.toml of the repository"),
        "{err}"
    );
    let got = env
        .ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &far,
            "data_source/pos_smartpos",
        ])
        .assert()
        .success();
    assert!(
        stdout(&got).contains("database = \"POSHQ_OWN\""),
        "{}",
        stdout(&got)
    );
    let unknown = deploy(
        &env,
        &[
            "--package",
            full.to_str().unwrap(),
            "--to",
            &far,
            "--env",
            "nope",
        ],
    );
    let err = stderr(&unknown.failure());
    assert!(err.contains("nope"), "{err}");
    // A promotion gate cannot be checked from a package: refused, unless skipped with a reason.
    let package = full.to_str().unwrap();
    let gated = deploy(
        &env,
        &["--package", package, "--to", &far, "--env", "gated"],
    );
    let err = stderr(&gated.failure());
    assert!(
        err.contains("environment gated has a promotion gate"),
        "{err}"
    );
    assert!(err.contains("--skip-gate REASON"), "{err}");
    let skipped = deploy(
        &env,
        &[
            "--package",
            package,
            "--to",
            &far,
            "--env",
            "gated",
            "--skip-gate",
            "air-gapped",
        ],
    );
    skipped.success();
    let history = stdout(
        &env.ferry()
            .args(["history", "--tenant", &far])
            .assert()
            .success(),
    );
    assert!(history.contains("(gate skipped)"), "{history}");
}

#[test]
fn package_show_reports_change_types_environment_changes_and_statuses_with_counts() {
    let env = TestEnv::new();
    let prod = setup(&env);
    deploy_git(&env, &prod, &[]);
    let empty = env
        .ferry()
        .args(["package", "list", "--tenant", &prod])
        .assert()
        .success();
    assert!(
        stderr(&empty).contains("no packages in tenant"),
        "{}",
        stderr(&empty)
    );
    four_changes(&env);
    let inc = package(&env, "inc.dp", &["--since", "HEAD~1"]);
    env.ferry()
        .arg("import")
        .arg(&inc)
        .args(["--to", &prod])
        .env(VAR, CREDENTIAL)
        .assert()
        .success();
    // Changed outside ferry since it was applied: the destination's copy of the renamed object.
    let got = env
        .ferry()
        .args(["object", "get", "--tenant", &prod, "word_root/chnl"])
        .assert()
        .success();
    let edited = stdout(&got).replace("description = \"", "description = \"by hand ");
    env.write("edited.toml", &edited);
    env.ferry()
        .args(["object", "put", "--tenant", &prod, "edited.toml"])
        .assert()
        .success();

    let listed = stdout(
        &env.ferry()
            .args(["package", "list", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(listed.starts_with("ID  "), "{listed}");
    assert!(listed.contains("incremental"), "{listed}");
    assert!(listed.contains("inc.dp"), "{listed}");
    let id = kept_packages(&env, &prod).remove(0);

    let show = |format: &str| {
        stdout(
            &env.ferry()
                .args([
                    "package",
                    "show",
                    &id[..13],
                    "--tenant",
                    &prod,
                    "--format",
                    format,
                ])
                .assert()
                .success(),
        )
    };
    let text = show("text");
    assert!(text.contains(&format!("package      {id}")), "{text}");
    assert!(text.contains("mode         incremental, from "), "{text}");
    assert!(
        text.contains("changed    pending  global_variable/vat_rate_default\n"),
        "{text}"
    );
    assert!(
        text.contains("changed    pending  word_root/channel  (environment changed)\n"),
        "{text}"
    );
    assert!(
        text.contains("delete     pending  business_activity/order_to_cash\n"),
        "{text}"
    );
    // Its file changed only in the name of the object it refers to: the same object by GUID.
    assert!(
        text.contains("unchanged  pending  data_standard/pay_chnl_cd\n"),
        "{text}"
    );
    assert!(text.contains("\ntotal "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&show("json")).unwrap();
    crate::output::check("package-show", &json);
    let total = &json["package"]["counts"]["total"];
    assert_eq!(total["objects"], 4);
    assert_eq!(total["changes"]["changed"], 2);
    assert_eq!(total["changes"]["unchanged"], 1);
    assert_eq!(total["changes"]["delete"], 1);
    assert_eq!(total["environment_changed"], 1);
    assert_eq!(total["statuses"]["pending"], 4);
    let listed: serde_json::Value = serde_json::from_str(&stdout(
        &env.ferry()
            .args(["package", "list", "--tenant", &prod, "--format", "json"])
            .assert()
            .success(),
    ))
    .unwrap();
    crate::output::check("package-list", &listed);

    // Deployed (over the change made by hand): every object succeeded and none changes now.
    deploy(&env, &["--package", "last", "--to", &prod]).success();
    let json: serde_json::Value = serde_json::from_str(&show("json")).unwrap();
    let total = &json["package"]["counts"]["total"];
    assert_eq!(total["changes"]["unchanged"], 4, "{json:#}");
    assert_eq!(total["statuses"]["succeeded"], 4, "{json:#}");
    assert_eq!(total["environment_changed"], 0, "{json:#}");
    let deployment = json["package"]["objects"][0]["deployment"]
        .as_str()
        .unwrap();
    let history = stdout(
        &env.ferry()
            .args(["history", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(history.contains(&deployment[..8]), "{history}");

    let out = env
        .ferry()
        .args(["package", "show", "0000", "--tenant", &prod])
        .assert()
        .failure();
    assert!(
        stderr(&out).contains("no package 0000 in tenant"),
        "{}",
        stderr(&out)
    );
}
