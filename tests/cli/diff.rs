//! `ferry diff`: changed objects between two commits (or a commit and the working tree),
//! matched by GUID, read from real git repositories.

use std::path::{Path, PathBuf};

use crate::common::{git, source_dir, stderr, stdout, text, TestEnv};

const SEGMENT: &str = "objects/global/data_segment/retail.toml";
const PERIOD: &str = "objects/global/statistical_period/7d.toml";
const TASK: &str = "objects/development/compute_task/retail_dw/ads_inventory_month_end.toml";
const RULE: &str = "objects/quality/quality_rule/fct_payment_channel_not_null.toml";
const SOURCE: &str = "objects/global/data_source/orders_mysql.toml";

const NEW_VARIABLE: &str = "#:schema ../../../schemas/kinds/global_variable.schema.json\nkind = \"global_variable\"\nguid = \"0d7c8f35-3c8e-4c1f-9d0a-6f3a2b1c0e01\"\nname = \"promo_discount_cap\"\n\n[spec]\ntype = \"number\"\nvalue = \"0.3\"\n";

fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// The retail example in its own git repository, with one commit.
fn retail_repo(env: &TestEnv) -> PathBuf {
    let root = env.copy_example("examples/retail");
    git(&root, &["init", "-q"]);
    commit(&root, "export retail-dev");
    root
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} holds {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// One change of each action: a rename by `git mv`, a file moved (without git) and edited, a
/// modified task with a new schedule and SQL, a deleted rule and a new variable.
fn change_everything(root: &Path) {
    git(
        root,
        &["mv", SEGMENT, "objects/global/data_segment/retail_cn.toml"],
    );
    edit(
        &root.join("objects/global/data_segment/retail_cn.toml"),
        "name = \"retail\"",
        "name = \"retail_cn\"",
    );
    let moved = root.join("objects/global/statistical_period/last_7d.toml");
    std::fs::rename(root.join(PERIOD), &moved).unwrap();
    edit(&moved, "name = \"7d\"", "name = \"last_7d\"");
    edit(
        &moved,
        "display_name = \"Last 7 days\"",
        "display_name = \"Last seven days\"",
    );
    let task = root.join(TASK);
    edit(&task, "cron = \"0 0 4 1 * ?\"", "cron = \"0 0 5 1 * ?\"");
    edit(
        &task,
        "WHERE   f.ds = '${month_end}'\n",
        "WHERE   f.ds = '${month_end}'\nAND     f.onhand_qty > 0\n",
    );
    edit(
        &task,
        "       ,COUNT(DISTINCT f.sku_id)                 AS sku_cnt\n",
        "",
    );
    std::fs::remove_file(root.join(RULE)).unwrap();
    std::fs::write(
        root.join("objects/global/global_variable/promo_discount_cap.toml"),
        NEW_VARIABLE,
    )
    .unwrap();
}

fn diff_schema() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/output/diff.schema.json")).unwrap(),
    )
    .unwrap()
}

fn json_diff(env: &TestEnv, dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = env
        .ferry()
        .arg("diff")
        .args(args)
        .args(["--format", "json"])
        .current_dir(dir)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(jsonschema::is_valid(&diff_schema(), &json), "{json:#}");
    json
}

#[test]
fn added_modified_renamed_and_deleted_between_two_commits() {
    let env = TestEnv::new();
    let root = retail_repo(&env);
    change_everything(&root);
    commit(&root, "rename the segment, reschedule the stocktake");
    insta::assert_snapshot!(
        "four_actions",
        env.run(
            env.ferry()
                .args(["diff", "HEAD~1..HEAD"])
                .current_dir(&root)
        )
    );
}

#[test]
fn json_output_follows_its_schema() {
    let env = TestEnv::new();
    let root = retail_repo(&env);
    change_everything(&root);
    commit(&root, "second");
    let json = json_diff(&env, &root, &["HEAD~1..HEAD"]);
    assert_eq!(json["format_version"], 1);
    assert_ne!(json["from"], json["to"]);
    assert_eq!(json["stats"]["files_changed"], 7);
    // A rename, a moved-and-edited file and a modified task read two blobs each.
    assert_eq!(json["stats"]["blobs_read"], 8);
    let changes = json["changes"].as_array().unwrap();
    let by_address = |address: &str| {
        changes
            .iter()
            .find(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("{address} in {json:#}"))
    };
    let period = by_address("statistical_period/last_7d");
    assert_eq!(period["action"], "renamed");
    assert_eq!(period["old_address"], "statistical_period/7d");
    assert_eq!(period["old_path"], PERIOD);
    assert_eq!(period["guid"], "1d224fd3-23fc-4268-b514-3b02225e01f6");
    assert_eq!(
        period["fields"],
        serde_json::json!([{
            "pointer": "/spec/display_name",
            "old": "Last 7 days",
            "new": "Last seven days",
            "sensitive": false,
            "unified_diff": null,
        }])
    );
    let task = by_address("compute_task/retail_dw/ads_inventory_month_end");
    assert_eq!(task["action"], "modified");
    assert_eq!(task["old_path"], serde_json::Value::Null);
    let code = &task["fields"][0];
    assert_eq!(code["pointer"], "/spec/code");
    let unified = code["unified_diff"].as_str().unwrap();
    assert!(unified.starts_with("@@ "), "{unified}");
    assert!(
        unified.contains("\n+AND     f.onhand_qty > 0\n"),
        "{unified}"
    );
    assert_eq!(task["fields"][1]["pointer"], "/spec/schedule/cron");
    assert_eq!(task["fields"][1]["unified_diff"], serde_json::Value::Null);
    let rule = by_address("quality_rule/fct_payment_channel_not_null");
    assert_eq!(
        (&rule["action"], &rule["path"]),
        (&"deleted".into(), &RULE.into())
    );
    assert_eq!(
        by_address("global_variable/promo_discount_cap")["action"],
        "added"
    );
}

/// Renames an object's file (by `git mv`) and its name, as an export of a renamed object does.
fn rename(root: &Path, folder: &str, from: &str, to: &str) {
    let new = format!("{folder}/{to}.toml");
    git(root, &["mv", &format!("{folder}/{from}.toml"), &new]);
    edit(
        &root.join(new),
        &format!("name = \"{from}\""),
        &format!("name = \"{to}\""),
    );
}

const METRICS: &str = "objects/development/derived_metric/retail_dw";
const TRADE_1D: &str =
    "objects/development/logical_aggregate_table/retail_dw/dws_store_trade_1d.toml";
const MEMBER_30D: &str =
    "objects/development/logical_aggregate_table/retail_dw/dws_member_trade_30d.toml";
const PAID_LABEL: &str = "objects/label/offline_label/retail_label/paid_amount_30d.toml";

/// Three derived metrics renamed, and the files that refer to them rewritten to the new
/// addresses, as `ferry export` writes them: objects that do nothing but follow the renames say
/// so, one that also drops a metric does not, and arrays show the elements removed and added.
#[test]
fn changes_that_only_follow_a_rename_say_so() {
    let env = TestEnv::new();
    let root = retail_repo(&env);
    for (from, to) in [
        ("gmv_1d_store", "gmv_day_store"),
        ("order_count_1d_store", "order_count_day_store"),
        ("paid_amount_30d_member", "paid_amount_30d_mbr"),
    ] {
        rename(&root, METRICS, from, to);
        for dependent in [TRADE_1D, MEMBER_30D, PAID_LABEL] {
            let path = root.join(dependent);
            let text = std::fs::read_to_string(&path).unwrap();
            let (old, new) = (
                format!("\"derived_metric/retail_dw/{from}\""),
                format!("\"derived_metric/retail_dw/{to}\""),
            );
            std::fs::write(&path, text.replace(&old, &new)).unwrap();
        }
    }
    // Also a change of its own: not only following.
    edit(
        &root.join(MEMBER_30D),
        ", \"derived_metric/retail_dw/近7天会员移动支付金额\"]",
        "]",
    );
    commit(&root, "rename three metrics");
    insta::assert_snapshot!(
        "follows_a_rename",
        env.run(
            env.ferry()
                .args(["diff", "HEAD~1..HEAD"])
                .current_dir(&root)
        )
    );
    let json = json_diff(&env, &root, &["HEAD~1..HEAD"]);
    let follows = |address: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("{address} in {json:#}"))["follows_renames"]
            .clone()
    };
    assert_eq!(
        follows("offline_label/retail_label/paid_amount_30d"),
        serde_json::json!([{
            "from": "derived_metric/retail_dw/paid_amount_30d_member",
            "to": "derived_metric/retail_dw/paid_amount_30d_mbr",
        }])
    );
    assert_eq!(
        follows("logical_aggregate_table/retail_dw/dws_store_trade_1d")
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        follows("logical_aggregate_table/retail_dw/dws_member_trade_30d"),
        serde_json::json!([])
    );
    assert_eq!(
        follows("derived_metric/retail_dw/gmv_day_store"),
        serde_json::json!([])
    );
}

#[test]
fn the_working_tree_against_head_or_a_revision() {
    let env = TestEnv::new();
    let root = retail_repo(&env);
    let out = env
        .ferry()
        .arg("diff")
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("", "no changes\n")
    );

    edit(
        &root.join(TASK),
        "priority = \"medium\"",
        "priority = \"high\"",
    );
    commit(&root, "raise the priority");
    // Uncommitted: an edit, a staged deletion and an untracked file.
    edit(&root.join(SEGMENT), "prefix = \"rt\"", "prefix = \"rc\"");
    git(&root, &["rm", "-q", RULE]);
    std::fs::write(
        root.join("objects/global/global_variable/promo_discount_cap.toml"),
        NEW_VARIABLE,
    )
    .unwrap();

    let out = env
        .ferry()
        .arg("diff")
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(
        stdout(&out),
        "modified data_segment/retail\n  /spec/prefix: \"rt\" → \"rc\"\nadded    global_variable/promo_discount_cap\ndeleted  quality_rule/fct_payment_channel_not_null\n"
    );
    assert_eq!(
        stderr(&out),
        "3 objects changed: 1 added, 1 modified, 0 renamed, 1 deleted\n"
    );
    let head = env
        .ferry()
        .args(["diff", "HEAD"])
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(stdout(&head), stdout(&out));

    let json = json_diff(&env, &root, &["HEAD~1"]);
    assert_eq!(json["to"], "working tree");
    assert!(json["from"].as_str().unwrap().len() == 40, "{json:#}");
    let addresses: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        vec![
            "compute_task/retail_dw/ads_inventory_month_end",
            "data_segment/retail",
            "global_variable/promo_discount_cap",
            "quality_rule/fct_payment_channel_not_null",
        ]
    );
    // The untracked file and the edited file are read from disk, the rest from git.
    assert_eq!(json["stats"]["files_changed"], 4);
    assert_eq!(json["stats"]["blobs_read"], 6);
}

#[test]
fn a_file_that_does_not_parse_is_a_warning_and_is_skipped() {
    let env = TestEnv::new();
    let root = retail_repo(&env);
    edit(&root.join(SEGMENT), "prefix = \"rt\"", "prefix = ");
    edit(
        &root.join(TASK),
        "priority = \"medium\"",
        "priority = \"high\"",
    );
    let out = env
        .ferry()
        .arg("diff")
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(
        stdout(&out),
        "modified compute_task/retail_dw/ads_inventory_month_end\n  /spec/schedule/priority: \"medium\" → \"high\"\n"
    );
    let said = stderr(&out);
    assert!(
        said.starts_with(&format!(
            "warning: {SEGMENT}:11:10 (at working tree): TOML syntax: "
        )),
        "{said}"
    );
    assert!(
        said.ends_with(
            "; file skipped\n1 object changed: 0 added, 1 modified, 0 renamed, 0 deleted\n"
        ),
        "{said}"
    );
    let json = json_diff(&env, &root, &[]);
    assert_eq!(json["warnings"][0]["path"], SEGMENT);
    assert_eq!(json["warnings"][0]["side"], "to");
}

#[test]
fn secret_fields_show_only_the_placeholder() {
    let env = TestEnv::new();
    let root = env.copy_example("examples/retail");
    edit(
        &root.join(SOURCE),
        "username = \"dataphin_reader\"\n",
        "username = \"dataphin_reader\"\npassword = \"(sensitive)\"\n",
    );
    git(&root, &["init", "-q"]);
    commit(&root, "first");
    edit(
        &root.join(SOURCE),
        "\"(sensitive)\"",
        "\"canary-Zq81-hunter2\"",
    );
    commit(&root, "a secret committed by mistake");
    let out = env
        .ferry()
        .args(["diff", "HEAD~1..HEAD"])
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(
        stdout(&out),
        "modified data_source/orders_mysql\n  /spec/connection/password: (sensitive) → (sensitive)\n"
    );
    let json = json_diff(&env, &root, &["HEAD~1..HEAD"]);
    let field = &json["changes"][0]["fields"][0];
    assert_eq!(
        (&field["new"], &field["sensitive"]),
        (&"(sensitive)".into(), &true.into())
    );
    assert!(!json.to_string().contains("canary"), "{json:#}");
}

#[test]
fn unknown_revisions_and_ranges_are_errors() {
    let env = TestEnv::new();
    let root = retail_repo(&env);
    let out = env
        .ferry()
        .args(["diff", "nope..HEAD"])
        .current_dir(&root)
        .assert()
        .code(1);
    assert_eq!(stdout(&out), "");
    let said = text(&out.get_output().stderr, &env);
    assert!(
        said.starts_with("error: git revision `nope` not found in [TMP]/retail: ")
            && said
                .ends_with("\n  hint: check the branch, tag or commit id (`git log --oneline`)\n"),
        "{said}"
    );
    let out = env
        .ferry()
        .args(["diff", "main...HEAD"])
        .current_dir(&root)
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("not A...B\n  hint: "),
        "{}",
        stderr(&out)
    );

    let plain = env.copy_example("examples/broken/cycle");
    let out = env.ferry().arg("diff").current_dir(&plain).assert().code(1);
    let said = text(&out.get_output().stderr, &env);
    assert!(
        said.contains("is not in a git repository: ferry diff compares git revisions\n  hint: "),
        "{said}"
    );
}

/// The tenant repository is one folder of a larger git work tree: paths are relative to it, and
/// object files elsewhere in the work tree are not its objects.
#[test]
fn a_repository_in_a_sub_folder_of_the_work_tree() {
    let env = TestEnv::new();
    let mono = env.path().join("mono");
    let root = mono.join("platform/retail");
    crate::common::copy_dir(&source_dir().join("examples/retail"), &root);
    let elsewhere = mono.join("objects/global/global_variable/promo_discount_cap.toml");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::write(&elsewhere, NEW_VARIABLE).unwrap();
    git(&mono, &["init", "-q"]);
    commit(&mono, "first");
    change_everything(&root);
    std::fs::write(&elsewhere, NEW_VARIABLE.replace("0.3", "0.4")).unwrap();
    commit(&mono, "second");

    let in_root = env
        .ferry()
        .args(["diff", "HEAD~1..HEAD"])
        .current_dir(&root)
        .assert()
        .success();
    let by_flag = env
        .ferry()
        .args(["diff", "HEAD~1..HEAD", "--repo", "mono/platform/retail"])
        .assert()
        .success();
    assert_eq!(stdout(&in_root), stdout(&by_flag));
    assert_eq!(
        stderr(&in_root),
        "5 objects changed: 1 added, 1 modified, 2 renamed, 1 deleted\n"
    );
    let json = json_diff(&env, &root, &["HEAD~1..HEAD"]);
    assert_eq!(json["stats"]["files_changed"], 7);
    let renamed = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "data_segment/retail_cn")
        .unwrap();
    assert_eq!(
        renamed["path"],
        "objects/global/data_segment/retail_cn.toml"
    );
    assert_eq!(renamed["old_path"], SEGMENT);

    // The working tree too, untracked files included.
    std::fs::remove_file(
        root.join(RULE.replace("fct_payment_channel_not_null", "fct_order_pk_unique")),
    )
    .unwrap();
    std::fs::write(
        root.join("objects/global/global_variable/promo_discount_floor.toml"),
        NEW_VARIABLE
            .replace("promo_discount_cap", "promo_discount_floor")
            .replace("0e01", "0e02"),
    )
    .unwrap();
    let out = env
        .ferry()
        .arg("diff")
        .current_dir(&root)
        .assert()
        .success();
    assert_eq!(
        stdout(&out),
        "added    global_variable/promo_discount_floor\ndeleted  quality_rule/fct_order_pk_unique\n"
    );
}

/// The cost of a diff follows the change: of 10,000 objects, 5 changed files read 10 blobs.
#[test]
fn only_the_changed_blobs_are_read() {
    let env = TestEnv::new();
    env.ferry()
        .args(["synth", "--objects", "10000", "--seed", "3", "--out", "big"])
        .assert()
        .success();
    let root = env.path().join("big");
    git(&root, &["init", "-q"]);
    commit(&root, "10,000 objects");
    let mut files = Vec::new();
    collect(&root.join("objects"), &mut files);
    files.sort();
    assert!(files.len() >= 10_000, "{} files", files.len());
    let mut changed = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if changed < 5 && text.contains("\ndescription = \"") {
            std::fs::write(
                file,
                text.replacen("\ndescription = \"", "\ndescription = \"Changed. ", 1),
            )
            .unwrap();
            changed += 1;
        }
    }
    assert_eq!(changed, 5);
    commit(&root, "5 changes");
    let json = json_diff(&env, &root, &["HEAD~1..HEAD"]);
    assert_eq!(
        json["stats"],
        serde_json::json!({"files_changed": 5, "blobs_read": 10})
    );
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 5);
    assert!(changes
        .iter()
        .all(|c| c["action"] == "modified" && c["fields"][0]["pointer"] == "/spec/description"));
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}
