//! Issue 14: the deletion guards of an environment file (`protect`, `max_deletes`, the refusal
//! to delete everything ferry manages) and the promotion gate (`requires`, `--skip-gate`).

use std::path::{Path, PathBuf};

use crate::common::{git, git_output, stderr, stdout, tenant, TestEnv};
use crate::plan::promoted_setup;

/// A leaf object of the retail example (nothing refers to it), and two more.
const OSS: &str = "objects/global/data_source/oss_exports.toml";
const RULES: [&str; 2] = [
    "objects/quality/quality_rule/fct_order_pk_unique.toml",
    "objects/quality/quality_rule/dws_store_trade_1d_row_count.toml",
];

/// The retail example exported into `repo/` with environments `prod` (whose file ends with
/// `prod_tail`) and `test`, committed; returns the repository and the prod and test URLs.
fn setup(env: &TestEnv, prod_tail: &str) -> (PathBuf, String, String) {
    let (_, prod) = promoted_setup(env);
    tenant(env, "test");
    let test = format!("sqlite:{}", env.path().join("test.db").display());
    env.write(
        "repo/environments/prod.toml",
        &format!("tenant = \"sqlite:../prod.db\"\n{prod_tail}"),
    );
    env.write(
        "repo/environments/test.toml",
        "tenant = \"sqlite:../test.db\"\n",
    );
    let repo = env.path().join("repo");
    commit(&repo, "environments");
    (repo, prod, test)
}

fn commit(repo: &Path, message: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

fn history(env: &TestEnv, url: &str) -> serde_json::Value {
    serde_json::from_str(&stdout(
        &env.ferry()
            .args(["history", "--tenant", url, "--format", "json"])
            .assert()
            .success(),
    ))
    .unwrap()
}

fn deployments(env: &TestEnv, url: &str) -> usize {
    history(env, url)["deployments"].as_array().unwrap().len()
}

/// `ferry apply --env ENV --auto-approve` in the repository, and more arguments.
fn apply(env: &TestEnv, repo: &Path, name: &str, more: &[&str]) -> assert_cmd::assert::Assert {
    env.ferry()
        .args(["apply", "--env", name, "--auto-approve"])
        .args(more)
        .current_dir(repo)
        .assert()
}

fn plan(env: &TestEnv, repo: &Path, more: &[&str]) -> assert_cmd::assert::Assert {
    env.ferry()
        .args(["plan"])
        .args(more)
        .current_dir(repo)
        .assert()
}

#[test]
fn protected_objects_are_neither_deleted_nor_renamed() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(&env, "\n[guards]\nprotect = [\"kind:data_source\"]\n");
    apply(&env, &repo, "prod", &[]).success();

    // A delete: plan and apply both refuse, naming the object and the line that protects it.
    std::fs::remove_file(repo.join(OSS)).unwrap();
    std::fs::remove_file(repo.join(RULES[0])).unwrap();
    commit(&repo, "drop the OSS export source");
    for out in [
        plan(&env, &repo, &["--env", "prod", "--prune"]).code(1),
        apply(&env, &repo, "prod", &["--prune"]).code(1),
    ] {
        let said = stderr(&out);
        assert!(said.contains("error: environment `prod` protects 1 object(s) this plan deletes or renames: data_source/oss_exports (deleted; protected by `kind:data_source` at environments/prod.toml:4); nothing was planned"), "{said}");
        assert!(
            said.contains("hint: keep the objects (restore their files, or undo the rename); to delete one on purpose, first take it out of [guards] protect in environments/prod.toml"),
            "{said}"
        );
    }
    assert_eq!(deployments(&env, &prod), 1, "nothing was applied");

    // A rename is refused too.
    git(&repo, &["revert", "--no-edit", "HEAD"]);
    let text = std::fs::read_to_string(repo.join(OSS)).unwrap();
    std::fs::remove_file(repo.join(OSS)).unwrap();
    env.write(
        "repo/objects/global/data_source/oss_archive.toml",
        &text.replace("name = \"oss_exports\"", "name = \"oss_archive\""),
    );
    commit(&repo, "rename");
    let said = stderr(&plan(&env, &repo, &["--env", "prod"]).code(1));
    assert!(
        said.contains("data_source/oss_exports (renamed to data_source/oss_archive; protected by `kind:data_source` at environments/prod.toml:4)"),
        "{said}"
    );

    // What the selector does not choose may go.
    git(&repo, &["revert", "--no-edit", "HEAD"]);
    std::fs::remove_file(repo.join(RULES[0])).unwrap();
    commit(&repo, "drop a rule");
    apply(&env, &repo, "prod", &["--prune"]).success();
    assert_eq!(deployments(&env, &prod), 2);
}

#[test]
fn a_protect_selector_that_matches_nothing_is_an_error_at_its_line() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(
        &env,
        "\n[guards]\nprotect = [\n  \"kind:data_source\",\n  \"data_source/oss_export\",\n]\n",
    );
    // A plan that deletes and renames nothing cannot break a protection: the selectors are not
    // evaluated.
    apply(&env, &repo, "prod", &[]).success();
    std::fs::remove_file(repo.join(RULES[0])).unwrap();
    commit(&repo, "drop a rule");
    let said = stderr(&apply(&env, &repo, "prod", &["--prune"]).code(1));
    assert!(said.contains("environments/prod.toml:6: [guards] protect: neither the destination nor the desired objects have what it names: selector part `data_source/oss_export` matches no object"), "{said}");
    assert!(
        said.contains(
            "error: 1 problem(s) in environments/prod.toml; nothing was planned or changed"
        ),
        "{said}"
    );
    assert_eq!(deployments(&env, &prod), 1);
}

#[test]
fn more_deletes_than_max_deletes_need_allow_deletes_and_a_saved_plan_rechecks_it() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(&env, "\n[guards]\nmax_deletes = 1\n");
    apply(&env, &repo, "prod", &[]).success();
    for rule in RULES {
        std::fs::remove_file(repo.join(rule)).unwrap();
    }
    commit(&repo, "drop two rules");

    let out = plan(&env, &repo, &["--env", "prod", "--prune"]).code(1);
    let said = stderr(&out);
    assert!(said.contains("error: the plan deletes 2 object(s), more than max_deletes = 1 of environment `prod` (environments/prod.toml:4) allows; nothing was planned"), "{said}");
    assert!(
        said.contains("hint: review the deletes (`ferry plan` lists them); if they are meant, pass --allow-deletes 2"),
        "{said}"
    );
    let said = stderr(
        &plan(
            &env,
            &repo,
            &["--env", "prod", "--prune", "--allow-deletes", "1"],
        )
        .code(1),
    );
    assert!(said.contains("max_deletes = 1 of environment `prod` (environments/prod.toml:4) and --allow-deletes 1 allow"), "{said}");

    // Allowed, saved: the file records it, and apply makes the plan again with it.
    let saved = env.path().join("plan.json");
    env.ferry()
        .args([
            "plan",
            "--env",
            "prod",
            "--prune",
            "--allow-deletes",
            "2",
            "--out",
        ])
        .arg(&saved)
        .current_dir(&repo)
        .assert()
        .success();
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(file["made_with"]["allow_deletes"], 2);
    // A file whose allowance was lowered by hand is refused by the guard when made again.
    file["made_with"]["allow_deletes"] = 1.into();
    let edited = env.write("edited.json", &serde_json::to_string_pretty(&file).unwrap());
    let said = stderr(&env.ferry().arg("apply").arg(&edited).assert().code(1));
    assert!(
        said.contains("error: the plan deletes 2 object(s), more than max_deletes = 1"),
        "{said}"
    );
    assert_eq!(deployments(&env, &prod), 1);
    env.ferry().arg("apply").arg(&saved).assert().success();
    assert_eq!(deployments(&env, &prod), 2);
    // With a plan file, the allowance is the file's.
    let said = stderr(
        &env.ferry()
            .arg("apply")
            .arg(&saved)
            .args(["--allow-deletes", "9"])
            .assert()
            .code(1),
    );
    assert!(said.contains("--allow-deletes"), "{said}");
}

#[test]
fn a_desired_state_that_deletes_everything_ferry_manages_is_refused_unless_allowed() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(&env, "");
    apply(&env, &repo, "prod", &[]).success();
    let managed = history(&env, &prod)["deployments"][0]["counts"]["succeeded"]
        .as_u64()
        .unwrap()
        + history(&env, &prod)["deployments"][0]["counts"]["succeeded_with_risks"]
            .as_u64()
            .unwrap_or(0);
    git(&repo, &["rm", "-r", "-q", "objects"]);
    git(&repo, &["commit", "-q", "-m", "no objects"]);

    let said = stderr(&apply(&env, &repo, "prod", &["--prune", "--allow-deletes", "1000"]).code(1));
    assert!(said.contains(&format!("error: the plan deletes every object ferry manages in {prod} ({managed} of {managed}) and keeps none: environment `prod` does not allow an empty desired state; nothing was planned")), "{said}");
    assert!(
        said.contains("set `allow_empty = true` under [guards] in environments/prod.toml"),
        "{said}"
    );
    // Without --env the guard holds too, and --allow-deletes acknowledges the deletes.
    let said = stderr(&plan(&env, &repo, &["--to", &prod, "--prune"]).code(1));
    assert!(
        said.contains("and keeps none; nothing was planned"),
        "{said}"
    );
    assert!(
        said.contains(&format!("pass --allow-deletes {managed}")),
        "{said}"
    );
    plan(
        &env,
        &repo,
        &[
            "--to",
            &prod,
            "--prune",
            "--allow-deletes",
            &managed.to_string(),
        ],
    )
    .success();
    assert_eq!(deployments(&env, &prod), 1);

    env.write(
        "repo/environments/prod.toml",
        "tenant = \"sqlite:../prod.db\"\n\n[guards]\nallow_empty = true\n",
    );
    commit(&repo, "prod may be emptied");
    apply(&env, &repo, "prod", &["--prune"]).success();
    assert_eq!(deployments(&env, &prod), 2);
}

#[test]
fn the_gate_refuses_prod_before_test_and_passes_after_for_the_same_objects() {
    let env = TestEnv::new();
    let (repo, prod, test) = setup(&env, "requires = [\"test\"]\n");
    let head = git_output(&repo, &["rev-parse", "HEAD"]).trim().to_string();

    // Before test: apply and apply PLAN refuse, naming test, its tenant and what it had.
    let saved = env.path().join("prod.json");
    env.ferry()
        .args(["plan", "--env", "prod", "--out"])
        .arg(&saved)
        .current_dir(&repo)
        .assert()
        .success();
    for out in [
        apply(&env, &repo, "prod", &[]).code(1),
        env.ferry().arg("apply").arg(&saved).assert().code(1),
    ] {
        let said = stderr(&out);
        assert!(said.contains(&format!("error: the promotion gate of environment `prod` refuses the objects of commit {}: `test` (required at environments/prod.toml:2; tenant {test}) has not had them applied successfully: it has had nothing applied yet; nothing was applied", &head[..12])), "{said}");
        assert!(said.contains(&format!("hint: apply the same revision to `test` first (`ferry apply --env test --ref {}`), or pass --skip-gate \"REASON\"", &head[..12])), "{said}");
        assert!(
            !said.contains("+ create"),
            "refused before the plan is shown: {said}"
        );
    }
    assert_eq!(deployments(&env, &prod), 0);

    // After test: both pass.
    apply(&env, &repo, "test", &[]).success();
    env.ferry().arg("apply").arg(&saved).assert().success();
    assert_eq!(deployments(&env, &prod), 1);

    // A change on a branch, applied to test there; merged into the main line after another
    // commit that changes no object: the merge commit has test's objects, so prod takes it.
    let main = git_output(&repo, &["branch", "--show-current"])
        .trim()
        .to_string();
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    let vat = repo.join("objects/global/global_variable/vat_rate_default.toml");
    let text = std::fs::read_to_string(&vat).unwrap();
    std::fs::write(
        &vat,
        text.replace("description = \"", "description = \"Reviewed. "),
    )
    .unwrap();
    commit(&repo, "reword the VAT rate");
    apply(&env, &repo, "test", &[]).success();
    let feature = git_output(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    git(&repo, &["checkout", "-q", &main]);
    env.write("repo/NOTES.md", "notes\n");
    commit(&repo, "notes");
    git(
        &repo,
        &["merge", "-q", "--no-ff", "feature", "-m", "merge feature"],
    );
    let merge = git_output(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    assert_ne!(merge, feature);
    apply(&env, &repo, "prod", &[]).success();
    assert_eq!(deployments(&env, &prod), 2);
    assert_eq!(
        history(&env, &prod)["deployments"][0]["source"],
        merge.as_str()
    );

    // Objects test never had: refused, naming what test last had.
    std::fs::write(
        &vat,
        text.replace("description = \"", "description = \"Again. "),
    )
    .unwrap();
    commit(&repo, "reword again");
    let said = stderr(&apply(&env, &repo, "prod", &[]).code(1));
    assert!(
        said.contains(&format!(
            "it last had commit {} applied, with other objects",
            &feature[..12]
        )),
        "{said}"
    );
    assert_eq!(deployments(&env, &prod), 2);
    // A rollback is not gated: it returns prod to what it had.
    env.ferry()
        .args([
            "rollback",
            "--env",
            "prod",
            "--deployment",
            "previous",
            "--auto-approve",
        ])
        .current_dir(&repo)
        .assert()
        .success();
    assert_eq!(deployments(&env, &prod), 3);
}

#[test]
fn skip_gate_applies_without_the_gate_and_records_why() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(&env, "requires = [\"test\"]\n");
    let said = stderr(&apply(&env, &repo, "prod", &["--skip-gate", "  "]).code(1));
    assert!(
        said.contains("error: --skip-gate needs a reason, recorded in the deployment"),
        "{said}"
    );
    assert_eq!(deployments(&env, &prod), 0);

    apply(
        &env,
        &repo,
        "prod",
        &["--skip-gate", "hotfix INC-42, approved by the on-call lead"],
    )
    .success();
    let shown: serde_json::Value = serde_json::from_str(&stdout(
        &env.ferry()
            .args([
                "history", "show", "last", "--tenant", &prod, "--format", "json",
            ])
            .assert()
            .success(),
    ))
    .unwrap();
    assert_eq!(
        shown["deployment"]["skip_gate"],
        "hotfix INC-42, approved by the on-call lead"
    );
    let text = stdout(
        &env.ferry()
            .args(["history", "show", "last", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(
        text.contains("gate skipped hotfix INC-42, approved by the on-call lead\n"),
        "{text}"
    );
    let table = stdout(
        &env.ferry()
            .args(["history", "--tenant", &prod])
            .assert()
            .success(),
    );
    assert!(table.contains("(gate skipped)"), "{table}");
    assert_eq!(
        history(&env, &prod)["deployments"][0]["skip_gate"],
        "hotfix INC-42, approved by the on-call lead"
    );
}

/// Found by an attack on issue 14: a required environment whose tenant is this environment's
/// own (through a link, or the same path) would let prod's own history meet its gate.
#[test]
fn a_required_environment_on_the_same_tenant_is_refused() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(&env, "requires = [\"test\"]\n");
    std::os::unix::fs::symlink(env.path().join("prod.db"), env.path().join("link.db")).unwrap();
    env.write(
        "repo/environments/test.toml",
        "tenant = \"sqlite:../link.db\"\n",
    );
    commit(&repo, "test on prod's tenant");
    let said = stderr(&apply(&env, &repo, "prod", &[]).code(1));
    assert!(
        said.contains("environments/prod.toml:2: requires `test`, whose tenant")
            && said.contains("is this environment's own"),
        "{said}"
    );
    assert_eq!(deployments(&env, &prod), 0);
}

/// Found by an attack on issue 14: deploying an older revision whose environment file had no
/// `requires` does not pass around the gate that HEAD's file sets.
#[test]
fn an_older_revision_without_the_gate_is_still_gated_by_head() {
    let env = TestEnv::new();
    let (repo, prod, _) = setup(&env, "");
    let ungated = git_output(&repo, &["rev-parse", "HEAD"]).trim().to_string();
    env.write(
        "repo/environments/prod.toml",
        "tenant = \"sqlite:../prod.db\"\nrequires = [\"test\"]\n",
    );
    commit(&repo, "prod requires test");
    let said = stderr(&apply(&env, &repo, "prod", &["--ref", &ungated]).code(1));
    assert!(
        said.contains(
            "error: the promotion gate of environment `prod` refuses the objects of commit"
        ),
        "{said}"
    );
    assert_eq!(deployments(&env, &prod), 0);
}
