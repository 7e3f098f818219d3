//! Environments seen from export, diff, validate and init (issue 14, point 4): export through an
//! overlay writes base values and reports drift in overridden fields; apply → export → plan is
//! a round trip for every environment; validate checks environment files; diff shows objects as
//! an environment sees them; init ships the environment schema.

use std::path::{Path, PathBuf};

use crate::common::{git, git_output, source_dir, stderr, stdout, tenant, TestEnv};
use crate::plan::promoted_setup;

/// dev, test and prod, each overriding other fields: hosts, databases, projects, owners, a
/// schedule queue the files do not have, and a variable.
const DEV: &str = r#"#:schema ../schemas/environment.schema.json
tenant = "sqlite:../env-dev.db"

[[override]]
select = "data_source/orders_mysql"
set."/spec/connection/host" = "orders.dev.retail.internal"

[[override]]
select = "kind:compute_task"
set."/spec/owner" = "dev.oncall"
"#;

const TEST: &str = r#"#:schema ../schemas/environment.schema.json
tenant = "sqlite:../env-test.db"

[[override]]
select = "data_source/orders_mysql"
set."/spec/connection/database" = "order_center_test"

[[override]]
select = "compute_source/mc_retail"
set."/spec/connection/project" = "rt_retail_test"
"#;

const PROD: &str = r#"#:schema ../schemas/environment.schema.json
tenant = "sqlite:../env-prod.db"

[variables]
orders_host = "orders-ro.prod-hq.retail.internal"

[[override]]
select = "data_source/orders_*"
set."/spec/owner" = "ops.retail"

[[override]]
select = "data_source/orders_mysql"
set."/spec/connection/host" = "${var.orders_host}"

[[override]]
select = "compute_task/retail_dw/dwd_trd_order_di"
set."/spec/schedule/queue" = "prod_high"
"#;

/// The line of PROD that sets the host of orders_mysql.
const PROD_HOST_LINE: usize = 13;

/// The promoted repository with the three environment files committed; returns the repository.
fn environments_setup(env: &TestEnv) -> PathBuf {
    promoted_setup(env);
    let repo = env.path().join("repo");
    for (name, text) in [("dev", DEV), ("test", TEST), ("prod", PROD)] {
        env.write(&format!("repo/environments/{name}.toml"), text);
        tenant(env, &format!("env-{name}"));
    }
    git(&repo, &["add", "environments"]);
    git(&repo, &["commit", "-q", "-m", "environments"]);
    repo
}

fn url(env: &TestEnv, name: &str) -> String {
    format!(
        "sqlite:{}",
        env.path().join(format!("env-{name}.db")).display()
    )
}

fn head(repo: &Path) -> String {
    git_output(repo, &["rev-parse", "HEAD"])
}

fn apply(env: &TestEnv, repo: &Path, name: &str) {
    env.ferry()
        .args(["apply", "--env", name, "--auto-approve"])
        .current_dir(repo)
        .assert()
        .success();
}

/// Apply with `--env E`, then export with `--env E --commit`, changes nothing in git, and the
/// next plan with `--env E` is empty: for each of three environments overriding other fields.
#[test]
fn apply_then_export_through_the_same_environment_is_a_round_trip() {
    let env = TestEnv::new();
    let repo = environments_setup(&env);
    for name in ["dev", "test", "prod"] {
        apply(&env, &repo, name);
        let before = head(&repo);
        let out = env
            .ferry()
            .args([
                "export",
                "--from",
                &url(&env, name),
                "--env",
                name,
                "--commit",
            ])
            .current_dir(&repo)
            .assert()
            .success();
        let said = stderr(&out);
        assert!(said.contains("nothing to commit"), "{name}: {said}");
        assert!(!said.contains("drift:"), "{name}: {said}");
        assert_eq!(head(&repo), before, "{name}");
        assert_eq!(git_output(&repo, &["status", "--porcelain"]), "", "{name}");
        env.ferry()
            .args(["plan", "--env", name, "--detailed-exitcode"])
            .current_dir(&repo)
            .assert()
            .code(0);
    }
    // Without the environment, the tenant's values are what export writes: prod's copy.
    env.ferry()
        .args(["export", "--from", &url(&env, "prod")])
        .current_dir(&repo)
        .assert()
        .success();
    let file =
        std::fs::read_to_string(repo.join("objects/global/data_source/orders_mysql.toml")).unwrap();
    assert!(
        file.contains("host = \"orders-ro.prod-hq.retail.internal\""),
        "{file}"
    );
}

/// The file of `address` in `tenant`, as `object get` prints it.
fn get(env: &TestEnv, tenant: &str, address: &str) -> String {
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", tenant, address])
        .assert()
        .success();
    stdout(&out)
}

fn put(env: &TestEnv, tenant: &str, name: &str, text: &str) {
    env.write(name, text);
    env.ferry()
        .args(["object", "put", "--tenant", tenant, name])
        .assert()
        .success();
}

/// A field an override sets, changed in prod by hand, is drift in that field (stderr and JSON,
/// with the override's file:line) and the file keeps the repository's value; a field no
/// override sets is exported as usual; a new object an override matches keeps prod's value and
/// says so.
#[test]
fn export_through_an_environment_writes_base_values_and_reports_drift() {
    let env = TestEnv::new();
    let repo = environments_setup(&env);
    apply(&env, &repo, "prod");
    let prod = url(&env, "prod");
    let mysql = get(&env, &prod, "data_source/orders_mysql");
    assert!(mysql.contains("host = \"orders-ro.prod-hq.retail.internal\""));
    put(
        &env,
        &prod,
        "mysql.toml",
        &mysql
            .replace(
                "orders-ro.prod-hq.retail.internal",
                "orders-by-hand.internal",
            )
            .replace(
                "Order service database (read replica)",
                "Order service database",
            ),
    );
    let kafka = get(&env, &prod, "data_source/orders_kafka");
    let guid = kafka
        .lines()
        .find_map(|l| l.strip_prefix("guid = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    put(
        &env,
        &prod,
        "archive.toml",
        &kafka
            .replace(&guid, "7d6c51f1-3c1a-4b8e-9d4e-2a3b4c5d6e7f")
            .replace("name = \"orders_kafka\"", "name = \"orders_archive\"")
            .replace("owner = \"ops.retail\"", "owner = \"someone\""),
    );
    let out = env
        .ferry()
        .args([
            "export", "--from", &prod, "--env", "prod", "--format", "json",
        ])
        .current_dir(&repo)
        .assert()
        .success();
    let said = stderr(&out);
    assert!(
        said.contains(&format!("drift: data_source/orders_mysql /spec/connection/host: the tenant has \"orders-by-hand.internal\", the override environments/prod.toml:{PROD_HOST_LINE} sets \"orders-ro.prod-hq.retail.internal\"; the file keeps the repository's value")),
        "{said}"
    );
    assert!(
        said.contains("note: data_source/orders_archive is new in the tenant: /spec/owner (set by environments/prod.toml:9) is written as the tenant has it"),
        "{said}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let environment = &report["environment"];
    assert_eq!(environment["name"], "prod");
    assert_eq!(
        environment["drift"],
        serde_json::json!([
            {
                "address": "data_source/orders_archive",
                "field": "/spec/owner",
                "set_by": "environments/prod.toml:9",
                "override": "ops.retail",
                "tenant": "someone",
            },
            {
                "address": "data_source/orders_mysql",
                "field": "/spec/connection/host",
                "set_by": format!("environments/prod.toml:{PROD_HOST_LINE}"),
                "override": "orders-ro.prod-hq.retail.internal",
                "tenant": "orders-by-hand.internal",
            },
        ])
    );
    // The base values: dev's host, the owner and no queue as the files have them.
    let changed = git_output(&repo, &["status", "--porcelain"]);
    assert_eq!(
        changed,
        " M objects/global/data_source/orders_mysql.toml\n?? objects/global/data_source/orders_archive.toml\n",
        "{changed}"
    );
    let diff = git_output(
        &repo,
        &[
            "diff",
            "-U0",
            "objects/global/data_source/orders_mysql.toml",
        ],
    );
    let lines: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "-description = \"Order service database (read replica): orders, order lines, payments.\"",
            "+description = \"Order service database: orders, order lines, payments.\"",
        ],
        "{diff}"
    );
    let archive =
        std::fs::read_to_string(repo.join("objects/global/data_source/orders_archive.toml"))
            .unwrap();
    assert!(archive.contains("owner = \"someone\""), "{archive}");
    // What the schema of export's JSON says.
    crate::output::check("export", &report);
}

/// An environment file that does not apply to the repository's objects stops the export before
/// it writes anything, naming the line.
#[test]
fn export_through_a_broken_environment_writes_nothing() {
    let env = TestEnv::new();
    let repo = environments_setup(&env);
    apply(&env, &repo, "prod");
    env.write(
        "repo/environments/prod.toml",
        &PROD.replace("data_source/orders_mysql", "data_source/orders_mysq"),
    );
    let out = env
        .ferry()
        .args([
            "export",
            "--from",
            &url(&env, "prod"),
            "--env",
            "prod",
            "--commit",
        ])
        .current_dir(&repo)
        .assert()
        .code(1);
    let said = stderr(&out);
    assert!(
        said.contains(
            "environments/prod.toml:11: selector part `data_source/orders_mysq` matches no object"
        ),
        "{said}"
    );
    assert_eq!(
        git_output(&repo, &["status", "--porcelain"]),
        " M environments/prod.toml\n"
    );
    let out = env
        .ferry()
        .args(["export", "--from", &url(&env, "prod"), "--env", "staging"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let said = stderr(&out);
    assert!(
        said.contains("no environment `staging`: environments/staging.toml does not exist in the working tree (environments there: dev, prod, test)"),
        "{said}"
    );
}

/// Every environment file of the examples matches the shipped JSON Schema.
#[test]
fn example_environment_files_match_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/environment.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut checked = 0;
    for example in std::fs::read_dir(source_dir().join("examples")).unwrap() {
        let dir = example.unwrap().path().join("environments");
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let doc: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc = serde_json::to_value(doc).unwrap();
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 0, "no environment file under examples/");
    // And the files this test module writes.
    for text in [DEV, TEST, PROD] {
        let doc = serde_json::to_value(toml::from_str::<toml::Value>(text).unwrap()).unwrap();
        assert!(validator.is_valid(&doc), "{text}");
    }
    let bad =
        serde_json::to_value(toml::from_str::<toml::Value>("tenants = \"x\"").unwrap()).unwrap();
    assert!(!validator.is_valid(&bad));
}

/// `init` writes the environment schema beside the kind schemas, an export commit holds it and
/// an export refreshes it, so the `#:schema` line of environment files resolves in editors.
#[test]
fn export_commits_and_refreshes_the_environment_schema() {
    let env = TestEnv::new();
    let (dev, _) = promoted_setup(&env);
    let repo = env.path().join("repo");
    assert_eq!(
        git_output(&repo, &["ls-files", "schemas/environment.schema.json"]),
        "schemas/environment.schema.json\n"
    );
    env.write("repo/schemas/environment.schema.json", "stale");
    env.ferry()
        .args(["export", "--from", &dev, "--repo", "repo", "--commit"])
        .assert()
        .success();
    assert_eq!(
        env.read("repo/schemas/environment.schema.json"),
        ferry::desired::environment::SCHEMA
    );
    assert_eq!(git_output(&repo, &["status", "--porcelain"]), "");
}

/// `ferry validate` checks every environment file over the objects it checks, each problem with
/// its file and line: a file that does not parse (an undefined variable), a selector that
/// matches nothing, a field that is not env_specific, a value the kind's schema refuses, a
/// `requires` naming no environment; `--env ENV` checks only that one, `--ref` the committed
/// files.
#[test]
fn validate_checks_every_environment_file() {
    let env = TestEnv::new();
    let repo = environments_setup(&env);
    env.write(
        "repo/environments/test.toml",
        &TEST.replace("\"order_center_test\"", "\"${var.test_db}\""),
    );
    env.write(
        "repo/environments/prod.toml",
        &format!(
            "{}{}",
            PROD.replace("data_source/orders_*", "data_source/order_*")
                .replace("tenant = ", "requires = [\"tset\"]\ntenant = "),
            r#"
[[override]]
select = "data_source/orders_mysql"
set."/spec/description" = "prod"
set."/spec/connection/port" = "high"
"#
        ),
    );
    let said = env.run(env.ferry().args(["validate"]).current_dir(&repo));
    insta::assert_snapshot!("validate_environments", said);
    // One environment: only its file (its gate may name the others).
    env.write(
        "repo/environments/dev.toml",
        &DEV.replace("tenant = ", "requires = [\"test\"]\ntenant = "),
    );
    let said = env.run(
        env.ferry()
            .args(["validate", "--env", "dev"])
            .current_dir(&repo),
    );
    assert!(said.starts_with("exit: 0\n"), "{said}");
    assert!(said.contains(", environment dev)"), "{said}");
    let said = env.run(
        env.ferry()
            .args(["validate", "--env", "test"])
            .current_dir(&repo),
    );
    assert!(said.starts_with("exit: 1\n"), "{said}");
    assert!(!said.contains("prod.toml"), "{said}");
    // The committed files are valid.
    let said = env.run(
        env.ferry()
            .args(["validate", "--ref", "HEAD"])
            .current_dir(&repo),
    );
    assert!(said.starts_with("exit: 0\n"), "{said}");
    assert!(said.contains("environments dev, prod, test)"), "{said}");
    let said = env.run(
        env.ferry()
            .args(["validate", "--env", "staging"])
            .current_dir(&repo),
    );
    assert!(said.starts_with("exit: 1\n"), "{said}");
    assert!(
        said.contains("no environment `staging`: environments/staging.toml does not exist in the working tree (environments there: dev, prod, test)"),
        "{said}"
    );
    // JSON names the code.
    let out = env
        .ferry()
        .args(["validate", "--env", "test", "--format", "json"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["problems"][0]["code"], "environment");
    assert_eq!(report["problems"][0]["path"], "environments/test.toml");
    assert_eq!(report["problems"][0]["line"], 6);
    crate::output::check("validate", &report);
}

/// `ferry diff --env ENV` compares the objects as ENV sees them, each side with the environment
/// file at that side: a change of the environment file alone is a change (marked with the line
/// that set it), a change of a base value the environment overrides is none, other changes show
/// as usual; a side without the file has no overrides.
#[test]
fn diff_through_an_environment_shows_what_changes_there() {
    let env = TestEnv::new();
    let repo = environments_setup(&env);
    env.write(
        "repo/environments/prod.toml",
        &PROD.replace(
            "orders-ro.prod-hq.retail.internal",
            "orders-ro.prod-eu.retail.internal",
        ),
    );
    let mysql = "repo/objects/global/data_source/orders_mysql.toml";
    env.write(
        mysql,
        &env.read(mysql)
            .replace(
                "orders-ro.prod.retail.internal",
                "orders-ro.base.retail.internal",
            )
            .replace("port = 3306\ndatabase", "port = 3307\ndatabase"),
    );
    let said = env.run(
        env.ferry()
            .args(["diff", "--env", "prod"])
            .current_dir(&repo),
    );
    insta::assert_snapshot!("diff_through_prod", said);
    // Without the environment: the files' change.
    let said = env.run(env.ferry().args(["diff"]).current_dir(&repo));
    assert!(
        said.contains("  /spec/connection/host: \"orders-ro.prod.retail.internal\" → \"orders-ro.base.retail.internal\"\n"),
        "{said}"
    );
    assert!(!said.contains("set by"), "{said}");
    let out = env
        .ferry()
        .args(["diff", "--env", "prod", "--format", "json"])
        .current_dir(&repo)
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["environment"]["name"], "prod");
    crate::output::check("diff", &doc);

    // The commit before the environments has no prod.toml: its side has no overrides.
    let said = env.run(
        env.ferry()
            .args(["diff", "--env", "prod", "HEAD~1..HEAD"])
            .current_dir(&repo),
    );
    assert!(said.starts_with("exit: 0\n"), "{said}");
    let before: String = git_output(&repo, &["rev-parse", "HEAD~1"])
        .chars()
        .take(12)
        .collect();
    assert!(
        said.contains(&format!(
            "note: environments/prod.toml does not exist at {before}: that side has no overrides"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("  /spec/connection/host: \"orders-ro.prod.retail.internal\" → \"orders-ro.prod-hq.retail.internal\"  (set by environments/prod.toml:{PROD_HOST_LINE})\n")),
        "{said}"
    );
    // A side whose environment file does not apply is an error naming the side and the line.
    env.write(
        "repo/environments/prod.toml",
        &PROD.replace("data_source/orders_mysql", "data_source/orders_mysq"),
    );
    let said = env.run(
        env.ferry()
            .args(["diff", "--env", "prod"])
            .current_dir(&repo),
    );
    assert!(said.starts_with("exit: 1\n"), "{said}");
    assert!(
        said.contains(
            "error: 1 problem(s) in environments/prod.toml at working tree; no diff was made"
        ),
        "{said}"
    );
    assert!(
        said.contains("environments/prod.toml:11: selector part `data_source/orders_mysq`"),
        "{said}"
    );
    let said = env.run(
        env.ferry()
            .args(["diff", "--env", "staging"])
            .current_dir(&repo),
    );
    assert!(said.contains("no environment `staging`"), "{said}");
}

/// Promotion gates that require each other (prod requires test, test requires prod) can never
/// be met: `ferry validate` names the cycle at the line of the `requires`.
#[test]
fn validate_refuses_promotion_gates_that_form_a_cycle() {
    let env = TestEnv::new();
    let repo = environments_setup(&env);
    env.write(
        "repo/environments/test.toml",
        &TEST.replace("tenant = ", "requires = [\"prod\"]\ntenant = "),
    );
    env.write(
        "repo/environments/prod.toml",
        &PROD.replace("tenant = ", "requires = [\"test\"]\ntenant = "),
    );
    let said = env.run(env.ferry().args(["validate"]).current_dir(&repo));
    assert!(said.starts_with("exit: 1\n"), "{said}");
    assert!(
        said.contains("environments/prod.toml:")
            && said.contains("the promotion gates form a cycle (prod requires test requires prod)"),
        "{said}"
    );
    assert_eq!(said.matches("form a cycle").count(), 1, "{said}");
}
