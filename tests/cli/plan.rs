use std::path::{Path, PathBuf};

use crate::common::{git, source_dir, stderr, stdout, tenant, text, TestEnv};

/// Tenant `dev` holding the retail example, exported and committed to `repo`; an empty `prod`.
pub fn promoted_setup(env: &TestEnv) -> (String, String) {
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
    tenant(env, "prod");
    // Absolute, so commands can run from inside the repository.
    (
        dev,
        format!("sqlite:{}", env.path().join("prod.db").display()),
    )
}

use crate::common::files_under as objects_of;

/// Issue 18, point 3: a plan of HEAD names on stderr the uncommitted object changes it does not
/// include (the first 20, then how many more) and how to plan them; stdout is the plan alone.
#[test]
fn a_plan_of_head_names_the_uncommitted_object_changes_it_leaves_out() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    let vat = "repo/objects/global/global_variable/vat_rate_default.toml";
    let text = env
        .read(vat)
        .replace("description = ", "description = \"edited\"\nx = ");
    env.write(vat, &text);
    std::fs::remove_file(repo.join("objects/standard/word_root/pay.toml")).unwrap();
    for i in 0..23 {
        env.write(
            &format!("repo/objects/global/global_variable/new_{i:02}.toml"),
            "kind = \"global_variable\"\n",
        );
    }
    let head = crate::common::git_output(&repo, &["rev-parse", "HEAD"]);
    let said = env.run(env.ferry().args(["plan", "--to", &prod]).current_dir(&repo));
    insta::assert_snapshot!("uncommitted", said.replace(&head[..12], "[COMMIT]"));

    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    let _: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("stdout is the plan alone");
    assert!(
        stderr(&out).contains("25 uncommitted object change(s)"),
        "{}",
        stderr(&out)
    );
    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).contains("25 uncommitted object change(s)"),
        "{}",
        stderr(&out)
    );

    // Another revision than HEAD's commit: the working tree is not the question.
    git(&repo, &["tag", "first"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "empty"]);
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--ref", "first"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(!stderr(&out).contains("uncommitted"), "{}", stderr(&out));
    git(&repo, &["reset", "-q", "--hard", "first"]);
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).contains("23 uncommitted"),
        "untracked files stay: {}",
        stderr(&out)
    );
}

#[test]
fn promote_the_example_to_an_empty_tenant() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 167 to create (0 unchanged, 0 not managed by ferry)."),
        "{text}"
    );
    // Every create comes after what it refers to.
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let wave: std::collections::HashMap<&str, u64> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["address"].as_str().unwrap(), c["wave"].as_u64().unwrap()))
        .collect();
    let out = env
        .ferry()
        .args(["graph", "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    let graph: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for edge in graph["edges"].as_array().unwrap() {
        let (a, b) = (
            edge["dependent"].as_str().unwrap(),
            edge["dependency"].as_str().unwrap(),
        );
        assert!(
            wave[a] > wave[b],
            "{a} (wave {}) runs after {b} (wave {})",
            wave[a],
            wave[b]
        );
    }

    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).starts_with("applied 167 change(s) to "),
        "{}",
        stderr(&out)
    );
    env.ferry().args(["init", "prod-export"]).assert().success();
    env.ferry()
        .args(["export", "--from", &prod, "--repo", "prod-export"])
        .assert()
        .success();
    assert_eq!(
        objects_of(&env.path().join("prod-export/objects")),
        objects_of(&repo.join("objects"))
    );
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
    assert!(stdout(&out)
        .contains("No changes: the destination matches (167 unchanged, 0 not managed by ferry)."));
}

#[test]
fn apply_without_a_terminal_needs_approval() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let out = env
        .ferry()
        .args(["apply", "--to", &prod])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(1);
    assert!(stderr(&out).contains("error: refusing to apply without confirmation: no terminal to ask on\n  hint: pass --auto-approve"), "{}", stderr(&out));
    // Nothing was applied.
    env.ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(env.path().join("repo"))
        .assert()
        .code(2);
}

// ---------------------------------------------------------------------------------------------
// Changes after a first deployment.

/// `promoted_setup`, then the repository applied to `prod`. Returns (dev, prod, repo).
fn deployed_setup(env: &TestEnv) -> (String, String, PathBuf) {
    let (dev, prod) = promoted_setup(env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    (dev, prod, repo)
}

/// Replaces `from` by `to` in the file at `rel` below `dir`; `from` must be there.
fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// Commits every change of the work tree, with pinned dates.
fn commit(repo: &Path, message: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

const SQL_TASK: &str = "objects/development/compute_task/retail_dw/ads_inventory_month_end.toml";
const DIRECTORY: &str = "objects/standard/standard_set_directory/customer.toml";
const RULE: &str = "objects/quality/quality_rule/fct_payment_channel_not_null.toml";
const TEMPLATE: &str = "objects/quality/rule_template/null_ratio_threshold.toml";

/// A small change set on the deployed example: a longer SQL body and a new schedule, a renamed
/// standard directory with a new description (its dependents follow the new address), and a
/// quality rule removed with the rule template only it used.
fn change_set(repo: &Path) {
    edit(
        repo,
        SQL_TASK,
        "WHERE   f.ds = '${month_end}'\n",
        "WHERE   f.ds = '${month_end}'\nAND     f.onhand_qty > 0\n",
    );
    edit(
        repo,
        SQL_TASK,
        "cron = \"0 0 4 1 * ?\"",
        "cron = \"0 0 5 1 * ?\"",
    );
    edit(
        repo,
        DIRECTORY,
        "description = \"Standards about members and customers.\"",
        "description = \"Standards about members.\"",
    );
    edit(repo, DIRECTORY, "name = \"customer\"", "name = \"members\"");
    std::fs::rename(
        repo.join(DIRECTORY),
        repo.join("objects/standard/standard_set_directory/members.toml"),
    )
    .unwrap();
    // Its only dependent in the repository follows the new address.
    edit(
        repo,
        "objects/standard/standard_set/member_basic.toml",
        "\"standard_set_directory/customer\"",
        "\"standard_set_directory/members\"",
    );
    std::fs::remove_file(repo.join(RULE)).unwrap();
    std::fs::remove_file(repo.join(TEMPLATE)).unwrap();
    commit(
        repo,
        "Change a task, rename a directory, drop a quality rule",
    );
}

const NEW_SOURCE: &str = "objects/global/data_source/crm_archive.toml";

/// A new data source with a password and a description on two lines, and a tag added to
/// another, committed: a create shows every field, an array change its elements.
fn create_set(repo: &Path) {
    std::fs::write(
        repo.join(NEW_SOURCE),
        "#:schema ../../../schemas/kinds/data_source.schema.json
kind = \"data_source\"
guid = \"3f0c2a4e-8d1b-4c6e-9a7f-1b2c3d4e5f60\"
name = \"crm_archive\"

[spec]
description = \"\"\"
Loyalty CRM archive: members who left.
Read once a month by the churn report.
\"\"\"
type = \"postgresql\"
owner = \"chen.hao\"
tags = [\"members\", \"archive\"]

[spec.connection]
host = \"crm-archive.prod.retail.internal\"
port = 5432
database = \"loyalty_archive\"
auth_type = \"username_password\"
username = \"dw_reader\"
password = \"(sensitive)\"
",
    )
    .unwrap();
    edit(
        repo,
        "objects/global/data_source/orders_mysql.toml",
        "tags = [\"oltp\", \"orders\"]",
        "tags = [\"oltp\", \"replica\", \"orders\"]",
    );
    commit(repo, "Add the CRM archive, tag the orders replica");
}

/// The lines of one change in a text plan: its `headline` and the lines indented below it.
fn change_block(text: &str, headline: &str) -> String {
    let mut lines = text.lines().skip_while(|l| *l != headline);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {headline:?} in {text}"));
    let below = lines.take_while(|l| l.starts_with("      "));
    std::iter::once(first)
        .chain(below)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `ferry plan --format json` with `args`, checked against `schemas/plan.schema.json`.
fn plan_json(env: &TestEnv, repo: &Path, args: &[&str]) -> serde_json::Value {
    let out = env
        .ferry()
        .args(["plan", "--format", "json"])
        .args(args)
        .current_dir(repo)
        .assert()
        .success();
    let plan = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_plan(&plan);
    plan
}

/// Asserts that `plan` is valid against `schemas/plan.schema.json`.
pub fn assert_valid_plan(plan: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/plan.schema.json")).unwrap(),
    )
    .unwrap();
    if !jsonschema::is_valid(&schema, plan) {
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(plan)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        panic!(
            "the plan does not match schemas/plan.schema.json:\n{}",
            errors.join("\n")
        );
    }
}

fn change<'p>(plan: &'p serde_json::Value, address: &str) -> &'p serde_json::Value {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change of {address} in {plan:#}"))
}

#[test]
fn update_rename_and_delete_with_and_without_prune() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    change_set(&repo);

    // Without --prune: the update and the rename; the removed objects are kept.
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 1 to rename, 1 to update (163 unchanged, 0 not managed by ferry)."),
        "{text}"
    );
    assert!(
        text.contains(
            "2 object(s) ferry applied are no longer desired and are kept (use --prune to delete them): \
             quality_rule/fct_payment_channel_not_null, rule_template/null_ratio_threshold"
        ),
        "{text}"
    );
    assert!(!text.contains("- delete"), "{text}");
    assert!(
        text.contains(
            "  ~ update compute_task/retail_dw/ads_inventory_month_end\n      /spec/code:\n        @@ -10,5 +10,6 @@\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("        +AND     f.onhand_qty > 0\n"),
        "{text}"
    );
    assert!(
        text.contains("      /spec/schedule/cron: \"0 0 4 1 * ?\" → \"0 0 5 1 * ?\"\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  > rename standard_set_directory/customer → standard_set_directory/members\n      /spec/description: \"Standards about members and customers.\" → \"Standards about members.\"\n"
        ),
        "{text}"
    );
    // The dependents of the renamed directory keep their content: they are not changed.
    assert!(!text.contains("standard_set/member_basic\n"), "{text}");
    assert!(text.contains("blast radius: "), "{text}");

    // Applying without --prune keeps them.
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    env.ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "standard_set_directory/members",
        ])
        .assert()
        .success();
    env.ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "quality_rule/fct_payment_channel_not_null",
        ])
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains(
            "No changes: the destination matches (165 unchanged, 0 not managed by ferry)."
        ),
        "{}",
        stdout(&out)
    );

    // With --prune: deleted, the rule (a dependent) before its template.
    let plan = plan_json(&env, &repo, &["--to", &prod, "--prune"]);
    let rule = change(&plan, "quality_rule/fct_payment_channel_not_null");
    let template = change(&plan, "rule_template/null_ratio_threshold");
    assert_eq!(rule["action"], "delete");
    assert_eq!(template["action"], "delete");
    assert!(
        rule["wave"].as_u64() < template["wave"].as_u64(),
        "{rule:#} {template:#}"
    );
    assert!(plan["not_pruned"].as_array().unwrap().is_empty());
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--prune", "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(3);
    let text = stdout(&out);
    assert!(text.contains("Deletes (2), run last, dependents first:\n  - delete quality_rule/fct_payment_channel_not_null  (wave 1)\n  - delete rule_template/null_ratio_threshold  (wave 2)\n"), "{text}");
    env.ferry()
        .args(["plan", "--to", &prod, "--prune", "--out", "p.json"])
        .current_dir(&repo)
        .assert()
        .success();
    env.ferry()
        .args(["apply", "p.json"])
        .current_dir(&repo)
        .assert()
        .success();
    env.ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "rule_template/null_ratio_threshold",
        ])
        .assert()
        .code(1);
    env.ferry()
        .args(["plan", "--to", &prod, "--prune", "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
}

/// The destination object `global_variable/NAME` of the platform's own users (no GUID: the
/// tenant gives it one).
fn put_variable(env: &TestEnv, tenant: &str, name: &str, value: &str) {
    let file = env.write(
        &format!("outside/{name}.toml"),
        &format!(
            "kind = \"global_variable\"\nname = \"{name}\"\n\n[spec]\ntype = \"number\"\nvalue = \"{value}\"\n"
        ),
    );
    env.ferry()
        .args(["object", "put", "--tenant", tenant])
        .arg(file)
        .assert()
        .success();
}

#[test]
fn objects_ferry_never_applied_are_left_alone() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    put_variable(&env, &prod, "prod_only", "1");
    for args in [&[][..], &["--prune"][..]] {
        let out = env
            .ferry()
            .args(["plan", "--to", &prod, "--detailed-exitcode"])
            .args(args)
            .current_dir(&repo)
            .assert()
            .code(0);
        assert!(
            stdout(&out).contains(
                "No changes: the destination matches (167 unchanged, 1 not managed by ferry)."
            ),
            "{}",
            stdout(&out)
        );
    }
    let plan = plan_json(&env, &repo, &["--to", &prod, "--prune"]);
    assert_eq!(plan["unmanaged"], 1);
    assert!(plan["changes"].as_array().unwrap().is_empty());
    env.ferry()
        .args(["apply", "--to", &prod, "--prune", "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    env.ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "global_variable/prod_only",
        ])
        .assert()
        .success();
}

#[test]
fn drift_is_shown_and_can_fail_the_plan() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    // Someone changes an applied object in the destination.
    let out = env
        .ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "global_variable/vat_rate_default",
        ])
        .assert()
        .success();
    let changed = stdout(&out).replace("value = \"0.13\"", "value = \"0.09\"");
    let file = env.write("outside/vat.toml", &changed);
    env.ferry()
        .args(["object", "put", "--tenant", &prod])
        .arg(file)
        .assert()
        .success();

    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains(
            "Drift: 1 object(s) changed outside ferry since ferry applied them:\n  ! global_variable/vat_rate_default\n      /spec/value: \"0.13\" → \"0.09\"\n"
        ),
        "{text}"
    );
    // The plan puts it back, and says it drifted.
    assert!(
        text.contains("  ~ update global_variable/vat_rate_default  (drifted)\n      /spec/value: \"0.09\" → \"0.13\"\n"),
        "{text}"
    );
    let plan = plan_json(&env, &repo, &["--to", &prod]);
    assert_eq!(
        plan["drift"][0]["address"],
        "global_variable/vat_rate_default"
    );
    assert_eq!(plan["drift"][0]["fields"][0]["pointer"], "/spec/value");
    assert_eq!(
        change(&plan, "global_variable/vat_rate_default")["drifted"],
        true
    );

    let out = env
        .ferry()
        .args([
            "plan",
            "--to",
            &prod,
            "--on-drift",
            "fail",
            "--detailed-exitcode",
        ])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(
            "error: 1 object(s) changed outside ferry: global_variable/vat_rate_default\n  hint: "
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");

    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    let out = env
        .ferry()
        .args([
            "plan",
            "--to",
            &prod,
            "--on-drift",
            "fail",
            "--detailed-exitcode",
        ])
        .current_dir(&repo)
        .assert()
        .code(0);
    assert!(!stdout(&out).contains("Drift"), "{}", stdout(&out));
}

/// The deployed example; the repository gets `global_variable/promo_cap` while the destination
/// makes its own. Returns (prod, repo, the destination's GUID of it).
fn adoption_setup(env: &TestEnv) -> (String, PathBuf, String) {
    let (_, prod, repo) = deployed_setup(env);
    // The repository gets a new variable; the destination has its own at that address.
    std::fs::write(
        repo.join("objects/global/global_variable/promo_cap.toml"),
        "#:schema ../../../schemas/kinds/global_variable.schema.json\nkind = \"global_variable\"\nguid = \"5f0c1b9e-2d7a-4c43-9a57-0d7f3b1f2e11\"\nname = \"promo_cap\"\n\n[spec]\ntype = \"number\"\nvalue = \"0.3\"\n",
    )
    .unwrap();
    commit(&repo, "Add promo_cap");
    put_variable(env, &prod, "promo_cap", "0.5");
    let out = env
        .ferry()
        .args([
            "object",
            "list",
            "--tenant",
            &prod,
            "--kind",
            "global_variable",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let theirs = list
        .as_array()
        .or_else(|| list["objects"].as_array())
        .unwrap()
        .iter()
        .find(|o| o["address"] == "global_variable/promo_cap")
        .unwrap()["guid"]
        .as_str()
        .unwrap()
        .to_string();

    (prod, repo, theirs)
}

#[test]
fn a_destination_object_at_a_desired_address_conflicts_unless_adopted() {
    let env = TestEnv::new();
    let (prod, repo, theirs) = adoption_setup(&env);
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(&format!(
            "error: global_variable/promo_cap: the destination has another object at this address (GUID {theirs}, desired 5f0c1b9e-2d7a-4c43-9a57-0d7f3b1f2e11)\n  hint: pass --adopt"
        )),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .code(1);

    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--adopt", "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 1 to adopt (167 unchanged, 0 not managed by ferry)."),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  ± adopt  global_variable/promo_cap (destination GUID {theirs} becomes 5f0c1b9e-2d7a-4c43-9a57-0d7f3b1f2e11)\n      /spec/value: \"0.5\" → \"0.3\"\n"
        )),
        "{text}"
    );
}

// Fails in the store, not in the plan: `Change::Adopt` in src/store/sqlite.rs runs
// "DELETE FROM applied WHERE guid = ?1" with two parameters ("Wrong number of parameters passed
// to query. Got 2, needed 1"), so an adoption can never be applied.
#[test]
fn an_adoption_applies_and_then_nothing_is_left_to_do() {
    let env = TestEnv::new();
    let (prod, repo, _) = adoption_setup(&env);
    env.ferry()
        .args(["apply", "--to", &prod, "--adopt", "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
    assert!(
        stdout(&out).contains(
            "No changes: the destination matches (168 unchanged, 0 not managed by ferry)."
        ),
        "{}",
        stdout(&out)
    );
    let out = env
        .ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "global_variable/promo_cap",
        ])
        .assert()
        .success();
    assert!(
        stdout(&out).contains("guid = \"5f0c1b9e-2d7a-4c43-9a57-0d7f3b1f2e11\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_dangling_reference_or_a_cycle_stops_the_plan() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    edit(
        &repo,
        RULE,
        "rule_template = \"rule_template/null_ratio_threshold\"",
        "rule_template = \"rule_template/gone\"",
    );
    commit(&repo, "Dangle");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("error[missing-reference]: objects/quality/quality_rule/fct_payment_channel_not_null.toml:")
            && err.contains("quality_rule/fct_payment_channel_not_null: /spec/rule_template refers to rule_template/gone, which does not exist"),
        "{err}"
    );
    assert!(
        err.contains("error: 1 problem(s) in the repository at HEAD; no plan was made"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
    git(&repo, &["revert", "--no-edit", "HEAD"]);

    // enterprise → customer → enterprise
    edit(
        &repo,
        "objects/standard/standard_set_directory/enterprise.toml",
        "[spec]\n",
        "[spec]\nparent = \"standard_set_directory/customer\"\n",
    );
    commit(&repo, "Cycle");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("error[cycle]: ")
            && err.contains("standard_set_directory/customer → standard_set_directory/enterprise → standard_set_directory/customer"),
        "{err}"
    );
    assert!(err.contains("no plan was made"), "{err}");
}

/// An embedded tenant with the given facts.
fn tenant_with(env: &TestEnv, name: &str, facts: [&str; 4]) -> String {
    let url = format!("sqlite:{}", env.path().join(format!("{name}.db")).display());
    env.ferry()
        .args(["tenant", "init", &url, "--name", name])
        .args(["--platform-version", facts[0], "--engine", facts[1]])
        .args(["--engine-mode", facts[2], "--cluster", facts[3]])
        .assert()
        .success();
    url
}

#[test]
fn prerequisites_are_checked_for_each_fact() {
    let env = TestEnv::new();
    let (_, _) = promoted_setup(&env);
    let repo = env.path().join("repo");
    let same = ["4.5.0", "maxcompute", "single", "cn-shanghai-mc-01"];
    for (i, (facts, message)) in [
        (
            ["4.6.0", same[1], same[2], same[3]],
            "platform version is 4.5.0 in the repository but 4.6.0 in the destination",
        ),
        (
            [same[0], "hive", same[2], same[3]],
            "engine type is maxcompute in the repository but hive in the destination",
        ),
        (
            [same[0], same[1], "multi", same[3]],
            "engine mode is single in the repository but multi in the destination",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let url = tenant_with(&env, &format!("other{i}"), facts);
        let out = env
            .ferry()
            .args(["plan", "--to", &url, "--detailed-exitcode"])
            .current_dir(&repo)
            .assert()
            .code(1);
        assert!(
            stderr(&out).contains(&format!(
                "error: the destination {url} does not match the repository's source tenant: {message}\n  hint: "
            )),
            "{}",
            stderr(&out)
        );
        env.ferry()
            .args(["apply", "--to", &url, "--auto-approve"])
            .current_dir(&repo)
            .assert()
            .code(1);
    }

    // Another cluster: a warning, and a risk on what runs on the cluster; an error on request.
    let url = tenant_with(
        &env,
        "beijing",
        [same[0], same[1], same[2], "cn-beijing-mc-02"],
    );
    let out = env
        .ferry()
        .args(["plan", "--to", &url, "--require-same-cluster"])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(
            "does not match the repository's source tenant: cluster is cn-shanghai-mc-01 in the repository but cn-beijing-mc-02 in the destination"
        ),
        "{}",
        stderr(&out)
    );
    let out = env
        .ferry()
        .args(["plan", "--to", &url, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains("warning: cluster is cn-shanghai-mc-01 in the repository but cn-beijing-mc-02 in the destination"),
        "{text}"
    );
    assert!(
        change_block(&text, "  + create compute_source/mc_retail").contains(
            "\n      risk: cluster differs: cn-shanghai-mc-01 in the repository, cn-beijing-mc-02 in the destination"
        ),
        "{text}"
    );
    let plan = plan_json(&env, &repo, &["--to", &url]);
    let risky: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["risks"].as_array().unwrap().is_empty())
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    // 2 compute sources and 4 projects.
    assert_eq!(risky.len(), 6, "{risky:?}");
    assert!(risky
        .iter()
        .all(|k| ["compute_source", "project"].contains(k)));
    let out = env
        .ferry()
        .args(["plan", "--to", &url, "--format", "markdown"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stdout(&out).contains("  - **risk:** cluster differs: cn-shanghai-mc-01 in the repository, cn-beijing-mc-02 in the destination"),
        "{}",
        stdout(&out)
    );
    let out = env
        .ferry()
        .args(["apply", "--to", &url, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out).contains("applied 167 change(s) to ")
            && stderr(&out).contains(" (6 with risks)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_data_source_type_code_cannot_change() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    edit(
        &repo,
        "objects/global/data_source_type/smartpos_v3.toml",
        "type_code = \"SMARTPOS_V3\"",
        "type_code = \"SMARTPOS_V4\"",
    );
    commit(&repo, "New type code");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(
            "error: data_source_type/smartpos_v3: type_code cannot change (\"SMARTPOS_V3\" → \"SMARTPOS_V4\"); create a new data source type instead\n"
        ),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .code(1);
}

#[test]
fn exit_codes() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    let plan = |args: &[&str], code: i32| {
        env.ferry()
            .arg("plan")
            .args(args)
            .current_dir(&repo)
            .assert()
            .code(code);
    };
    // Changes: 2 with --detailed-exitcode, 0 without.
    plan(&["--to", &prod, "--detailed-exitcode"], 2);
    plan(&["--to", &prod], 0);
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    // No changes: 0 either way.
    plan(&["--to", &prod, "--detailed-exitcode"], 0);
    plan(&["--to", &prod], 0);
    // Deletes: 3 with --detailed-exitcode, 0 without; without --prune, nothing to delete: 0.
    std::fs::remove_file(repo.join(RULE)).unwrap();
    commit(&repo, "Drop a rule");
    plan(&["--to", &prod, "--prune", "--detailed-exitcode"], 3);
    plan(&["--to", &prod, "--prune"], 0);
    plan(&["--to", &prod, "--detailed-exitcode"], 0);
    // Errors: 1, with or without --detailed-exitcode, usage errors included.
    plan(&["--to", "sqlite:missing.db", "--detailed-exitcode"], 1);
    plan(
        &["--to", &prod, "--ref", "no-such-ref", "--detailed-exitcode"],
        1,
    );
    plan(
        &["--to", &prod, "--format", "yaml", "--detailed-exitcode"],
        1,
    );
    plan(&["--detailed-exitcode"], 1);
}

/// The full commit id of HEAD in `repo`.
fn head(repo: &Path) -> String {
    crate::common::git_output(repo, &["rev-parse", "HEAD"])
        .trim()
        .to_string()
}

#[test]
fn snapshots_of_a_small_change_set() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    change_set(&repo);
    create_set(&repo);
    let commit = head(&repo);
    let redact = |bytes: &[u8]| {
        text(bytes, &env)
            .replace(&commit, "[COMMIT]")
            .replace(&commit[..12], "[COMMIT]")
    };
    for (format, name) in [
        ("text", "change_set_text"),
        ("markdown", "change_set_markdown"),
        ("json", "change_set_json"),
    ] {
        let out = env
            .ferry()
            .args(["plan", "--to", &prod, "--prune", "--format", format])
            .current_dir(&repo)
            .assert()
            .success();
        let shown = redact(&out.get_output().stdout);
        assert!(!shown.contains("canary"), "{shown}");
        insta::assert_snapshot!(name, shown);
    }
    // The saved plan is the JSON output, and valid against the schema.
    let out = env
        .ferry()
        .args(["plan", "--to", &prod, "--prune", "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    env.ferry()
        .args(["plan", "--to", &prod, "--prune", "--out", "plan.json"])
        .current_dir(&repo)
        .assert()
        .success();
    let saved = std::fs::read_to_string(repo.join("plan.json")).unwrap();
    assert_eq!(saved, stdout(&out));
    assert_valid_plan(&serde_json::from_str(&saved).unwrap());
    // A plan is the same, byte for byte, from the same inputs.
    env.ferry()
        .args(["plan", "--to", &prod, "--prune", "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success()
        .stdout(saved.clone());
    // It applies from another folder (its destination and repository are absolute).
    std::fs::create_dir_all(env.path().join("outside")).unwrap();
    env.ferry()
        .args(["apply"])
        .arg(repo.join("plan.json"))
        .current_dir(env.path().join("outside"))
        .assert()
        .success();
}

#[test]
fn json_output_matches_the_plan_schema() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    // First deployment: all creates.
    let plan = plan_json(&env, &repo, &["--to", &prod]);
    assert_eq!(plan["changes"].as_array().unwrap().len(), 167);
    // Every create lists the new object's fields.
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["fields"].as_array().is_some_and(|f| !f.is_empty())
                && c["fields"][0]["old"].is_null()),
        "{plan:#}"
    );
    // A wrong plan is refused (the schema is not vacuous).
    let mut broken = plan.clone();
    broken["changes"][0]["action"] = "replace".into();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/plan.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::is_valid(&schema, &broken));
    let mut broken = plan.clone();
    broken["format_version"] = 1.into();
    assert!(!jsonschema::is_valid(&schema, &broken));
    let mut broken = plan.clone();
    broken["made_with"]["options"]["prune"] = "yes".into();
    assert!(!jsonschema::is_valid(&schema, &broken));
}

/// Names swapped between two objects, and a new object at an address a rename frees, go
/// through the store, export, plan and apply.
#[test]
fn swapped_names_and_reused_addresses() {
    let env = TestEnv::new();
    let (dev, prod, repo) = deployed_setup(&env);
    let get = |address: &str| {
        let out = env
            .ferry()
            .args(["object", "get", "--tenant", &dev, address])
            .assert()
            .success();
        stdout(&out)
    };
    let (amt, pay) = (get("word_root/amt"), get("word_root/pay"));
    env.write(
        "swap/amt.toml",
        &amt.replace("name = \"amt\"", "name = \"pay\""),
    );
    env.write(
        "swap/pay.toml",
        &pay.replace("name = \"pay\"", "name = \"amt\""),
    );
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &dev, "swap"])
        .assert()
        .success();
    assert!(stderr(&out).contains("2 renamed"), "{}", stderr(&out));
    let chnl = get("word_root/chnl");
    env.write(
        "reuse/old.toml",
        &chnl.replace("name = \"chnl\"", "name = \"chnl_old\""),
    );
    let fresh = chnl
        .lines()
        .filter(|l| !l.starts_with("guid = "))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    env.write("reuse/new.toml", &fresh);
    env.ferry()
        .args(["object", "put", "--tenant", &dev, "reuse"])
        .assert()
        .success();

    env.ferry()
        .args(["export", "--from", &dev, "--repo", "repo", "--commit"])
        .assert()
        .success();
    env.ferry()
        .args(["validate"])
        .current_dir(&repo)
        .assert()
        .success();
    let amt_file =
        std::fs::read_to_string(repo.join("objects/standard/word_root/amt.toml")).unwrap();
    assert_eq!(
        amt_file.lines().nth(2),
        pay.lines().nth(2),
        "amt.toml holds the object that was pay"
    );

    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    env.ferry()
        .args(["plan", "--to", &prod, "--detailed-exitcode"])
        .current_dir(&repo)
        .assert()
        .code(0);
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &prod, "word_root/amt"])
        .assert()
        .success();
    assert_eq!(stdout(&out).lines().nth(2), pay.lines().nth(2));
}

#[test]
fn apply_works_inside_the_appliers_own_maintenance_lock() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["tenant", "lock", &prod, "--purpose", "release window"])
        .env("FERRY_ACTOR", "alice@ops")
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .env("FERRY_ACTOR", "bob@ci")
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("is locked by alice@ops for `release window`"),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .env("FERRY_ACTOR", "alice@ops")
        .current_dir(&repo)
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["tenant", "info", &prod])
        .assert()
        .success();
    assert!(
        stdout(&out).contains("lock             held by alice@ops for `release window`"),
        "the window stays open"
    );
}

#[test]
fn a_saved_plan_is_refused_when_the_destination_facts_changed() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["plan", "--to", &prod, "--out", "p.json"])
        .current_dir(&repo)
        .assert()
        .success();
    let conn = rusqlite::Connection::open(env.path().join("prod.db")).unwrap();
    conn.execute("UPDATE tenant SET platform_version = '4.6.0'", [])
        .unwrap();
    drop(conn);
    let out = env
        .ferry()
        .args(["apply", "p.json"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains(
            "the destination's facts changed (platform version 4.5.0 when planned, now 4.6.0)"
        ),
        "{err}"
    );
    // Another tenant with the same facts at the plan's URL: the name is what differs.
    std::fs::remove_file(env.path().join("prod.db")).unwrap();
    crate::common::tenant_at(&env, &prod, "stage");
    let out = env
        .ferry()
        .args(["apply", "p.json"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("the destination's facts changed (tenant name prod when planned, now stage)"),
        "{err}"
    );
}

/// The plan that reads only what changed since the last apply is the plan that reads the whole
/// commit, byte for byte.
#[test]
fn reading_only_the_changed_files_gives_the_same_plan() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    change_set(&repo);
    let plan = |full: bool, extra: &[&str]| {
        let mut cmd = env.ferry();
        cmd.args(["plan", "--to", &prod, "--format", "json"])
            .args(extra)
            .current_dir(&repo);
        if full {
            cmd.env("FERRY_FULL_READ", "1");
        }
        stdout(&cmd.assert().success())
    };
    let fast = plan(false, &[]);
    assert_eq!(fast, plan(true, &[]));
    // Blast radii are among what is compared (the fast read asks the destination for the
    // references around the changed objects only).
    let json: serde_json::Value = serde_json::from_str(&fast).unwrap();
    assert!(
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["blast_radius_total"].as_u64().unwrap() > 0),
        "{fast}"
    );
    // The first really read only the changed files.
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stderr(&out)
            .starts_with("read 3 changed object file(s); 162 are as ferry last applied them\n"),
        "{}",
        stderr(&out)
    );
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .env("FERRY_FULL_READ", "1")
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        !stderr(&out).contains("changed object file(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(plan(false, &["--prune"]), plan(true, &["--prune"]));
    // A file edited to refer to an object that is not there is still caught, though the object
    // it refers to did not change.
    edit(
        &repo,
        "objects/quality/quality_rule/dws_store_trade_1d_row_count.toml",
        "monitored_object = \"",
        "monitored_object = \"logical_fact_table/retail_dw/nowhere",
    );
    commit(&repo, "broken reference");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("error[missing-reference]"),
        "{}",
        stderr(&out)
    );
}

/// A repository change that leaves an unchanged file pointing at a renamed object is caught,
/// although that file's blob is the one ferry applied.
#[test]
fn an_unchanged_file_left_pointing_at_a_renamed_object_is_caught() {
    let env = TestEnv::new();
    let (_, prod, repo) = deployed_setup(&env);
    // Rename the directory by hand without updating the objects that refer to it.
    let old = repo.join(DIRECTORY);
    let text = std::fs::read_to_string(&old)
        .unwrap()
        .replace("name = \"customer\"", "name = \"client\"");
    std::fs::remove_file(&old).unwrap();
    std::fs::write(
        repo.join("objects/standard/standard_set_directory/client.toml"),
        text,
    )
    .unwrap();
    commit(&repo, "rename without dependents");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("refers to standard_set_directory/customer, which does not exist"),
        "{}",
        stderr(&out)
    );
}

/// A repository's own kind that declares `cluster_bound` and `immutable` in its `x-ferry` block:
/// its changes carry the cluster risk, and a change of its immutable field is refused.
#[test]
fn a_custom_kind_declares_cluster_binding_and_immutable_fields() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    let schema = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "additionalProperties": false, "required": ["kind", "name", "spec"],
  "properties": {
    "kind": {"const": "gadget"}, "guid": {"type": "string"}, "name": {"type": "string"},
    "spec": {"type": "object", "additionalProperties": false,
             "properties": {"code": {"type": "string"}, "note": {"type": "string"}}}
  },
  "x-ferry": {"category": "global", "scope": "tenant", "cluster_bound": true, "immutable": ["/spec/code"]}
}"#;
    env.write("repo/schemas/kinds/gadget.schema.json", schema);
    let gadget = "objects/global/gadget/g1.toml";
    env.write(
        &format!("repo/{gadget}"),
        "kind = \"gadget\"\nguid = \"7d1f0e2a-5b3c-4d4e-8f60-718293a4b5c6\"\nname = \"g1\"\n\n[spec]\ncode = \"G-1\"\nnote = \"first\"\n",
    );
    commit(&repo, "A gadget");

    // Another cluster: the gadget's create carries the risk, as compute sources' do.
    let same = ["4.5.0", "maxcompute", "single"];
    let beijing = tenant_with(
        &env,
        "beijing",
        [same[0], same[1], same[2], "cn-beijing-mc-02"],
    );
    let plan = plan_json(&env, &repo, &["--to", &beijing]);
    let risk = "cluster differs: cn-shanghai-mc-01 in the repository, cn-beijing-mc-02 in the destination; check the engine's projects and connections there";
    assert_eq!(
        change(&plan, "gadget/g1")["risks"],
        serde_json::json!([risk])
    );
    assert_eq!(
        change(&plan, "data_segment/retail")["risks"],
        serde_json::json!([])
    );
    let out = env
        .ferry()
        .args(["plan", "--to", &beijing])
        .current_dir(&repo)
        .assert()
        .success();
    assert!(
        stdout(&out).contains(&format!(
            "  + create gadget/g1\n      + /spec/code = \"G-1\"\n      + /spec/note = \"first\"\n      risk: {risk}\n"
        )),
        "{}",
        stdout(&out)
    );

    // The same cluster: no risk; once applied, the immutable field cannot change.
    let plan = plan_json(&env, &repo, &["--to", &prod]);
    assert_eq!(change(&plan, "gadget/g1")["risks"], serde_json::json!([]));
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    edit(&repo, gadget, "note = \"first\"", "note = \"second\"");
    commit(&repo, "Another note");
    let plan = plan_json(&env, &repo, &["--to", &prod]);
    assert_eq!(change(&plan, "gadget/g1")["action"], "update");
    edit(&repo, gadget, "code = \"G-1\"", "code = \"G-2\"");
    commit(&repo, "Another code");
    let out = env
        .ferry()
        .args(["plan", "--to", &prod])
        .current_dir(&repo)
        .assert()
        .code(1);
    assert_eq!(
        stderr(&out),
        "read 1 changed object file(s); 167 are as ferry last applied them\n\
         error: gadget/g1: code cannot change (\"G-1\" → \"G-2\"); create a new gadget instead\n  hint: the platform does not allow this change: create a new object instead\n"
    );
}

/// Two dependency cycles in the changed objects: the plan names both, as `validate` does, on
/// the fast path (only changed files read) and the full read alike.
#[test]
fn a_plan_names_every_dependency_cycle() {
    let env = TestEnv::new();
    let (_, prod) = promoted_setup(&env);
    let repo = env.path().join("repo");
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    let dir = repo.join("objects/standard/standard_set_directory");
    let enterprise = std::fs::read_to_string(dir.join("enterprise.toml")).unwrap();
    std::fs::write(
        dir.join("enterprise.toml"),
        enterprise.replace(
            "[spec]\n",
            "[spec]\nparent = \"standard_set_directory/customer\"\n",
        ),
    )
    .unwrap();
    let trade = std::fs::read_to_string(dir.join("trade.toml")).unwrap();
    std::fs::write(
        dir.join("trade.toml"),
        trade.replace(
            "standard_set_directory/enterprise",
            "standard_set_directory/trade",
        ),
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "two cycles"]);
    for full in ["", "1"] {
        let mut cmd = env.ferry();
        cmd.args(["plan", "--to", &prod]).current_dir(&repo);
        if !full.is_empty() {
            cmd.env("FERRY_FULL_READ", full);
        }
        let err = stderr(&cmd.assert().code(1));
        for cycle in [
            "dependency cycle: standard_set_directory/customer → standard_set_directory/enterprise → standard_set_directory/customer",
            "dependency cycle: standard_set_directory/trade → standard_set_directory/trade",
        ] {
            assert!(err.contains(cycle), "full read {full:?}: {cycle}\n{err}");
        }
    }
}
