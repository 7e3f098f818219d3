//! Every `--format json` output matches its schema in `schemas/output/`, on real, non-trivial
//! output; and no output shows a secret.

use serde_json::Value;

use crate::common::{source_dir, stdout, tenant, TestEnv};

/// A secret value no output may show.
const CANARY: &str = "canary-password-5b1e";

/// A deployment credential no output may show.
const CREDENTIAL: &str = "canary-credential-0123456789abcdef";

/// Runs ferry with `args` and parses its stdout as JSON; it must show no secret.
fn json_of(env: &TestEnv, args: &[&str]) -> Value {
    let text = stdout(
        &env.ferry()
            .args(args)
            .env("FERRY_CREDENTIAL", CREDENTIAL)
            .assert()
            .success(),
    );
    assert!(!text.contains(CANARY), "{args:?} shows a secret:\n{text}");
    assert!(
        !text.contains(CREDENTIAL),
        "{args:?} shows the credential:\n{text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
}

/// Asserts that `doc` matches `schemas/output/{name}.schema.json`, and that the schema is strict:
/// it refuses the document with an unknown field added.
pub(crate) fn check(name: &str, doc: &Value) {
    let path = source_dir().join(format!("schemas/output/{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        jsonschema::meta::is_valid(&schema),
        "{name}.schema.json is not a valid schema"
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {}\n{doc:#}", errors.join("\n"));
    assert!(jsonschema::is_valid(&schema, doc));
    assert_eq!(doc["format_version"], 1, "{name}");
    let mut extra = doc.clone();
    extra["no_such_field"] = Value::Bool(true);
    assert!(!validator.is_valid(&extra), "{name} allows unknown fields");
}

/// Tenant `dev` with the retail example and a data source holding a secret; returns its URL
/// and the data source's address.
fn dev_with_a_secret(env: &TestEnv) -> (String, String) {
    let url = tenant(env, "dev");
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects"))
        .assert()
        .success();
    let address = "data_source/orders_mysql".to_string();
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, &address])
        .assert()
        .success();
    let source = stdout(&out);
    let with_secret = source.replacen(
        "[spec.connection]\n",
        &format!("[spec.connection]\npassword = \"{CANARY}\"\n"),
        1,
    );
    assert_ne!(with_secret, source, "the object has a connection table");
    env.write("ds.toml", &with_secret);
    env.ferry()
        .args(["object", "put", "--tenant", &url, "ds.toml"])
        .assert()
        .success();
    (url, address)
}

#[test]
fn kinds_output_matches_its_schema() {
    let env = TestEnv::new();
    let doc = json_of(&env, &["kinds", "--format", "json"]);
    check("kinds", &doc);
    let kinds = doc["kinds"].as_array().unwrap();
    assert_eq!(
        kinds.len(),
        ferry::kinds::Registry::builtin().unwrap().iter().count()
    );
    assert!(kinds.iter().any(|k| k["scope"] == "project"));
    assert!(kinds
        .iter()
        .any(|k| !k["references"].as_array().unwrap().is_empty()));
    assert!(kinds
        .iter()
        .any(|k| !k["secrets"].as_array().unwrap().is_empty()));
}

#[test]
fn tenant_outputs_match_their_schemas() {
    let env = TestEnv::new();
    let (url, _) = dev_with_a_secret(&env);
    let info = json_of(&env, &["tenant", "info", &url, "--format", "json"]);
    check("tenant-info", &info);
    assert!(info["objects"]["total"].as_u64().unwrap() > 100, "{info:#}");
    assert!(info["lock"].is_null());

    let settings = json_of(&env, &["tenant", "settings", &url, "--format", "json"]);
    check("tenant-settings", &settings);
    assert_eq!(settings["credential_set"], false);
    let settings = json_of(
        &env,
        &[
            "tenant",
            "settings",
            &url,
            "--retention-days",
            "7",
            "--credential-env",
            "FERRY_CREDENTIAL",
            "--format",
            "json",
        ],
    );
    check("tenant-settings", &settings);
    assert_eq!(settings["retention_days"], 7);
    assert_eq!(settings["credential_set"], true);

    env.ferry()
        .args(["tenant", "lock", &url, "--purpose", "schema test"])
        .assert()
        .success();
    let info = json_of(&env, &["tenant", "info", &url, "--format", "json"]);
    check("tenant-info", &info);
    assert_eq!(info["lock"]["purpose"], "schema test");
    assert!(info["lock"]["lease"].is_null(), "a lock by hand: {info:#}");

    // An apply run's lock, with its lease.
    with_a_lease(&env.path().join("dev.db"));
    let info = json_of(&env, &["tenant", "info", &url, "--format", "json"]);
    check("tenant-info", &info);
    assert_eq!(info["lock"]["lease"]["pid"], 4321, "{info:#}");
}

/// Makes the tenant file's lock an apply run's, with a lease (as a running apply leaves it).
fn with_a_lease(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let changed = conn
        .execute(
            "UPDATE lock SET holder = 'ci (apply 1a2b3c4d)', host = 'runner-7', pid = 4321,
             renewed_at = '2026-01-31T12:00:00Z' WHERE id = 1",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1, "a lock is held");
}

#[test]
fn object_outputs_match_their_schemas() {
    let env = TestEnv::new();
    let (url, secret_holder) = dev_with_a_secret(&env);
    let list = json_of(
        &env,
        &["object", "list", "--tenant", &url, "--format", "json"],
    );
    check("object-list", &list);
    assert!(list["objects"].as_array().unwrap().len() > 100);
    let list = json_of(
        &env,
        &[
            "object",
            "list",
            "--tenant",
            &url,
            "--kind",
            "compute_task",
            "--format",
            "json",
        ],
    );
    check("object-list", &list);
    assert!(list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["kind"] == "compute_task"));

    let get = |object: &str| {
        json_of(
            &env,
            &[
                "object", "get", "--tenant", &url, object, "--format", "json",
            ],
        )
    };
    let secret = get(&secret_holder);
    check("object-get", &secret);
    assert_eq!(secret["spec"]["connection"]["password"], "(sensitive)");
    let task = get("compute_task/retail_dw/ads_member_rfm_d");
    check("object-get", &task);
    assert_eq!(task["project"], "retail_dw");
    // By GUID, too.
    check("object-get", &get(task["guid"].as_str().unwrap()));
}

#[test]
fn status_and_history_outputs_match_their_schemas() {
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    let repo = env.path().join("repo");
    let status = |env: &TestEnv| json_of(env, &["status", "--tenant", &prod, "--format", "json"]);
    let history = |env: &TestEnv| json_of(env, &["history", "--tenant", &prod, "--format", "json"]);

    // Before any deployment.
    check("status", &status(&env));
    check("history", &history(&env));

    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    // Drift: one object changed and one deleted outside ferry.
    let out = env
        .ferry()
        .args([
            "object",
            "get",
            "--tenant",
            &prod,
            "data_source/crm_postgresql",
        ])
        .assert()
        .success();
    // A new description; the old one becomes a comment.
    let changed = stdout(&out).replacen("description = ", "description = \"changed\"\n# ", 1);
    env.write("changed.toml", &changed);
    env.ferry()
        .args(["object", "put", "--tenant", &prod, "changed.toml"])
        .assert()
        .success();
    // As the platform deletes: no record of it in ferry's tables.
    let conn = rusqlite::Connection::open(env.path().join("prod.db")).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         DELETE FROM objects WHERE address = 'business_activity/order_to_cash';",
    )
    .unwrap();
    drop(conn);
    env.ferry()
        .args(["tenant", "lock", &prod, "--purpose", "schema test"])
        .assert()
        .success();

    let s = status(&env);
    check("status", &s);
    assert_eq!(s["last_deployment"]["status"], "succeeded");
    assert!(!s["lock"].is_null());
    with_a_lease(&env.path().join("prod.db"));
    let s = status(&env);
    check("status", &s);
    assert_eq!(s["lock"]["lease"]["host"], "runner-7", "{s:#}");
    let mut states: Vec<&str> = s["drifted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(states, ["changed", "deleted"], "{s:#}");

    let h = history(&env);
    check("history", &h);
    assert_eq!(h["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(h["deployments"][0], s["last_deployment"]);
    let shown = json_of(
        &env,
        &[
            "history", "show", "last", "--tenant", &prod, "--format", "json",
        ],
    );
    check("history-show", &shown);
    assert_eq!(shown["deployment"]["id"], s["last_deployment"]["id"]);
    assert_eq!(
        shown["deployment"]["results"].as_array().unwrap().len(),
        167
    );

    let info = json_of(&env, &["tenant", "info", &prod, "--format", "json"]);
    check("tenant-info", &info);
    assert_eq!(info["last_deployment"]["id"], s["last_deployment"]["id"]);
}

#[test]
fn ferry_log_turns_on_diagnostics_on_stderr_only() {
    let env = TestEnv::new();
    let (_, prod) = crate::plan::promoted_setup(&env);
    let repo = env.path().join("repo");
    let plan = |log: Option<&str>| {
        let mut cmd = env.ferry();
        cmd.args(["plan", "--to", &prod, "--format", "json"])
            .current_dir(&repo);
        if let Some(filter) = log {
            cmd.env("FERRY_LOG", filter);
        }
        let out = cmd.assert().success();
        (stdout(&out), crate::common::stderr(&out))
    };
    let (quiet_out, quiet_err) = plan(None);
    let (debug_out, debug_err) = plan(Some("ferry=debug"));
    assert!(!quiet_err.contains("built the plan"), "{quiet_err}");
    assert!(debug_err.contains("built the plan"), "{debug_err}");
    // Diagnostics never touch the data on stdout.
    assert_eq!(quiet_out, debug_out);
}
