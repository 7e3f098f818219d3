//! Secrets from the environment (issue 14, point 3): an environment's `[[secret]]` entries name
//! where each value comes from (a variable, a file); plans list them without their values and
//! say whether each would change; apply sets them in the destination's secret table only, and
//! refuses before it writes when a source has no value. The canary test puts one unique value
//! through every command and finds it nowhere but in the destination's secret table.

use std::path::Path;

use crate::common::*;

const HIVE_GUID: &str = "3b0c6b1e-8a55-4b0e-9c61-1f2d3e4a5b6c";

/// The object file of `data_source/warehouse_hive`: a Kerberos data source with a password and
/// two configuration files, the first holding `krb5`.
fn hive_file(password: &str, krb5: &str) -> String {
    format!(
        r#"kind = "data_source"
guid = "{HIVE_GUID}"
name = "warehouse_hive"

[spec]
description = "Hive warehouse."
type = "hive"
owner = "li.na"

[spec.connection]
host = "hive.dev.internal"
port = 10000
auth_type = "kerberos"
username = "etl"
password = "{password}"
kerberos_principal = "etl@DEV"

[[spec.config_files]]
file_type = "krb5_conf"
file_name = "krb5.conf"
content = "{krb5}"

[[spec.config_files]]
file_type = "core_site"
file_name = "core-site.xml"
"#
    )
}

/// environments/prod.toml: the prod tenant, a host override, the password from HIVE_PASSWORD
/// and krb5.conf's content from a file outside the repository.
const PROD_ENV: &str = r#"#:schema ../schemas/environment.schema.json
tenant = "sqlite:../prod.db"

[[override]]
select = "data_source/warehouse_hive"
set."/spec/connection/host" = "hive.prod.internal"

[[secret]]
select = "data_source/warehouse_hive"
field = "/spec/connection/password"
env = "HIVE_PASSWORD"

[[secret]]
select = "data_source/warehouse_hive"
field = "/spec/config_files[file_name=krb5.conf]/content"
file = "../secrets/krb5.conf"
"#;

/// A dev tenant holding the Hive data source (with `password`), exported and committed into
/// `repo/` with environments/prod.toml, and an empty prod tenant. Returns prod's URL.
fn setup(env: &TestEnv, password: &str) -> String {
    let dev = tenant(env, "dev");
    env.write("inputs/hive.toml", &hive_file(password, "dev krb5"));
    env.ferry()
        .args(["object", "put", "--tenant", &dev, "inputs/hive.toml"])
        .assert()
        .success();
    env.ferry().args(["init", "repo"]).assert().success();
    env.ferry()
        .args(["export", "--from", &dev, "--repo", "repo", "--commit"])
        .assert()
        .success();
    commit_env(env, PROD_ENV);
    tenant(env, "prod");
    format!("sqlite:{}", env.path().join("prod.db").display())
}

/// Writes and commits environments/prod.toml.
fn commit_env(env: &TestEnv, text: &str) {
    env.write("repo/environments/prod.toml", text);
    let repo = env.path().join("repo");
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "prod environment"]);
}

/// `ferry` run in the repository, with `vars` set.
fn ferry_in_repo(env: &TestEnv, vars: &[(&str, &str)]) -> assert_cmd::Command {
    let mut cmd = env.ferry();
    cmd.current_dir(env.path().join("repo"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// The secret table of the tenant at `db`: (pointer, value, the file_name of the element the
/// pointer is in, if any) of the Hive data source, by pointer.
fn secret_table(db: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let body: String = conn
        .query_row(
            "SELECT body FROM objects WHERE guid = ?1",
            [HIVE_GUID],
            |r| r.get(0),
        )
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let doc = serde_json::json!({ "spec": body });
    let mut stmt = conn
        .prepare("SELECT pointer, value FROM secrets WHERE guid = ?1 ORDER BY pointer")
        .unwrap();
    let rows = stmt
        .query_map([HIVE_GUID], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    rows.into_iter()
        .map(|(pointer, value)| {
            let file = pointer
                .strip_suffix("/content")
                .and_then(|element| doc.pointer(element))
                .and_then(|e| e.get("file_name"))
                .and_then(|n| n.as_str())
                .map(String::from);
            (pointer, value, file)
        })
        .collect()
}

fn deployments(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM deployments", [], |r| r.get(0))
        .unwrap()
}

fn objects(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))
        .unwrap()
}

fn plan_json(out: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn head(env: &TestEnv) -> String {
    git_output(&env.path().join("repo"), &["rev-parse", "HEAD"])[..12].to_string()
}

#[test]
fn secrets_come_from_a_variable_and_a_file_and_the_plan_says_what_the_apply_sets() {
    let env = TestEnv::new();
    let prod = setup(&env, "dev-password");
    let db = env.path().join("prod.db");
    // A pull-request job: no values. The plan lists both secrets, new, not available.
    let said = env.run(ferry_in_repo(&env, &[]).args(["plan", "--env", "prod"]));
    insta::assert_snapshot!("plan_without_values", said.replace(&head(&env), "[COMMIT]"));
    let md =
        env.run(ferry_in_repo(&env, &[]).args(["plan", "--env", "prod", "--format", "markdown"]));
    assert!(
        md.contains("| `data_source/warehouse_hive` | `/spec/connection/password` | new | environment variable `HIVE_PASSWORD` | no | environments/prod.toml:8 |"),
        "{md}"
    );
    // A selection that leaves the object out leaves its secrets out too.
    let out = ferry_in_repo(&env, &[])
        .args(["plan", "--env", "prod", "--format", "json"])
        .args(["--exclude", "data_source/warehouse_hive"])
        .assert()
        .success();
    assert!(plan_json(&out).get("secrets").is_none());
    // With the values: the apply sets them, each in its place.
    env.write(
        "secrets/krb5.conf",
        "[libdefaults]\n  default_realm = PROD\n",
    );
    let with = [("HIVE_PASSWORD", "prod-password-1")];
    let out = ferry_in_repo(&env, &with)
        .args(["plan", "--env", "prod", "--format", "json"])
        .assert()
        .success();
    let plan = plan_json(&out);
    crate::plan::assert_valid_plan(&plan);
    let secrets = plan["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(
        secrets[0]["field"],
        "/spec/config_files[file_name=krb5.conf]/content"
    );
    assert_eq!(secrets[0]["pointer"], "/spec/config_files/0/content");
    assert_eq!(
        secrets[0]["source"],
        serde_json::json!({"file": "../secrets/krb5.conf"})
    );
    assert_eq!(
        secrets[1]["source"],
        serde_json::json!({"env": "HIVE_PASSWORD"})
    );
    assert!(secrets
        .iter()
        .all(|s| s["available"] == true && s["status"] == "new"));
    ferry_in_repo(&env, &with)
        .args(["apply", "--env", "prod", "--auto-approve"])
        .assert()
        .success();
    assert_eq!(
        secret_table(&db),
        [
            (
                "/spec/config_files/0/content".to_string(),
                "[libdefaults]\n  default_realm = PROD\n".to_string(),
                Some("krb5.conf".to_string())
            ),
            (
                "/spec/connection/password".to_string(),
                "prod-password-1".to_string(),
                None
            ),
        ]
    );
    // The same values: nothing to do.
    let out = ferry_in_repo(&env, &with)
        .args(["plan", "--env", "prod", "--detailed-exitcode"])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(text.contains("No changes"), "{text}");
    assert!(
        text.contains("  = data_source/warehouse_hive /spec/connection/password: unchanged, from environment variable HIVE_PASSWORD (available; environments/prod.toml:8)"),
        "{text}"
    );
    // Without the values the plan cannot tell, and says so; it is no change.
    std::fs::remove_file(env.path().join("secrets/krb5.conf")).unwrap();
    let out = ferry_in_repo(&env, &[])
        .args(["plan", "--env", "prod", "--detailed-exitcode"])
        .assert()
        .code(0);
    let text = stdout(&out);
    assert!(
        text.contains("2 secrets not checked: their values are not available here."),
        "{text}"
    );
    assert!(text.contains("  ? data_source/warehouse_hive /spec/connection/password: not checked, from environment variable HIVE_PASSWORD (not available here; environments/prod.toml:8)"), "{text}");
    // A new password alone is a change, and the apply sets it alone.
    env.write(
        "secrets/krb5.conf",
        "[libdefaults]\n  default_realm = PROD\n",
    );
    let rotated = [("HIVE_PASSWORD", "prod-password-2")];
    let out = ferry_in_repo(&env, &rotated)
        .args(["plan", "--env", "prod", "--detailed-exitcode"])
        .assert()
        .code(2);
    let text = stdout(&out);
    assert!(
        text.contains("Plan: 1 secret to set (1 unchanged"),
        "{text}"
    );
    assert!(
        text.contains("  ~ data_source/warehouse_hive /spec/connection/password: changed"),
        "{text}"
    );
    ferry_in_repo(&env, &rotated)
        .args(["apply", "--env", "prod", "--auto-approve"])
        .assert()
        .success();
    assert_eq!(secret_table(&db)[1].1, "prod-password-2");
    let shown = stdout(
        &env.ferry()
            .args([
                "history", "show", "last", "--tenant", &prod, "--format", "json",
            ])
            .assert()
            .success(),
    );
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(
        shown["deployment"]["results"][0]["action"], "set_secrets",
        "{shown}"
    );
    assert_eq!(
        shown["deployment"]["results"][0]["address"],
        "data_source/warehouse_hive"
    );
    // And then there is nothing left to do.
    ferry_in_repo(&env, &rotated)
        .args(["plan", "--env", "prod", "--detailed-exitcode"])
        .assert()
        .code(0);
}

#[test]
fn each_missing_source_is_refused_at_apply_naming_it_and_none_at_plan() {
    let env = TestEnv::new();
    setup(&env, "dev-password");
    let db = env.path().join("prod.db");
    let refused = |vars: &[(&str, &str)]| -> String {
        // The plan works without values, and says which are missing.
        ferry_in_repo(&env, vars)
            .args(["plan", "--env", "prod"])
            .assert()
            .success();
        let out = ferry_in_repo(&env, vars)
            .args(["apply", "--env", "prod", "--auto-approve"])
            .assert()
            .code(1);
        assert_eq!(objects(&db), 0, "nothing was written");
        assert_eq!(deployments(&db), 0, "nothing was recorded");
        assert!(stdout(&out).is_empty(), "no plan shown: {}", stdout(&out));
        env.render(out.get_output())
    };
    // Both missing: each named, with its object, field, source and line.
    insta::assert_snapshot!("both_missing", refused(&[]));
    // The variable unset, or empty.
    env.write("secrets/krb5.conf", "[libdefaults]\n");
    let err = refused(&[]);
    assert!(
        err.contains("error: 1 secret(s) the apply sets have no value here; nothing was changed"),
        "{err}"
    );
    assert!(err.contains("data_source/warehouse_hive /spec/connection/password: environment variable HIVE_PASSWORD is not set (environments/prod.toml:8)"), "{err}");
    let err = refused(&[("HIVE_PASSWORD", "")]);
    assert!(
        err.contains(
            "environment variable HIVE_PASSWORD is set but empty (environments/prod.toml:8)"
        ),
        "{err}"
    );
    // The file missing, or not a file.
    std::fs::remove_file(env.path().join("secrets/krb5.conf")).unwrap();
    let err = refused(&[("HIVE_PASSWORD", "p")]);
    assert!(err.contains("data_source/warehouse_hive /spec/config_files[file_name=krb5.conf]/content: file ../secrets/krb5.conf cannot be read: "), "{err}");
    assert!(!err.contains("HIVE_PASSWORD is"), "{err}");
    std::fs::create_dir_all(env.path().join("secrets/krb5.conf")).unwrap();
    let err = refused(&[("HIVE_PASSWORD", "p")]);
    assert!(
        err.contains("file ../secrets/krb5.conf is not a regular file (environments/prod.toml:13)"),
        "{err}"
    );
    // Bytes that are not UTF-8 are kept as base64.
    std::fs::remove_dir(env.path().join("secrets/krb5.conf")).unwrap();
    std::fs::write(env.path().join("secrets/krb5.conf"), b"\xff\xfeok").unwrap();
    ferry_in_repo(&env, &[("HIVE_PASSWORD", "p")])
        .args(["apply", "--env", "prod", "--auto-approve"])
        .assert()
        .success();
    assert_eq!(secret_table(&db)[0].1, "//5vaw==");
}

#[test]
fn reordered_config_files_keep_their_values() {
    let env = TestEnv::new();
    setup(&env, "dev-password");
    let db = env.path().join("prod.db");
    env.write("secrets/krb5.conf", "krb5 of prod");
    let with = [("HIVE_PASSWORD", "p")];
    ferry_in_repo(&env, &with)
        .args(["apply", "--env", "prod", "--auto-approve"])
        .assert()
        .success();
    // core-site.xml gets a value of its own in prod, by hand.
    let rel = "repo/objects/global/data_source/warehouse_hive.toml";
    let exported = env.read(rel);
    env.write(
        "inputs/by-hand.toml",
        &exported
            .replace("hive.dev.internal", "hive.prod.internal")
            .replace(
                "file_name = \"core-site.xml\"",
                "file_name = \"core-site.xml\"\ncontent = \"core-site of prod\"",
            ),
    );
    let prod = format!("sqlite:{}", db.display());
    env.ferry()
        .args(["object", "put", "--tenant", &prod, "inputs/by-hand.toml"])
        .assert()
        .success();
    let before = secret_table(&db);
    assert_eq!(before[0].2.as_deref(), Some("krb5.conf"), "{before:?}");
    assert_eq!(before[1].2.as_deref(), Some("core-site.xml"), "{before:?}");
    // The repository swaps the two files.
    let (head_part, files) = exported.split_once("[[spec.config_files]]").unwrap();
    let blocks: Vec<&str> = files.split("[[spec.config_files]]").collect();
    assert_eq!(blocks.len(), 2, "{exported}");
    let swapped = format!(
        "{head_part}[[spec.config_files]]{}\n[[spec.config_files]]{}",
        blocks[1].trim_end(),
        blocks[0].trim_end_matches('\n')
    );
    env.write(rel, &format!("{}\n", swapped.trim_end()));
    let repo = env.path().join("repo");
    git(&repo, &["commit", "-qam", "core-site first"]);
    // The plan compares krb5.conf with krb5.conf, wherever it is.
    let out = ferry_in_repo(&env, &with)
        .args(["plan", "--env", "prod", "--format", "json"])
        .assert()
        .success();
    let plan = plan_json(&out);
    assert_eq!(
        plan["secrets"][0]["pointer"],
        "/spec/config_files/1/content"
    );
    assert_eq!(plan["secrets"][0]["status"], "unchanged", "{plan}");
    ferry_in_repo(&env, &with)
        .args(["apply", "--env", "prod", "--auto-approve"])
        .assert()
        .success();
    let after = secret_table(&db);
    let by_file: Vec<(Option<&str>, &str)> = after
        .iter()
        .map(|(_, v, f)| (f.as_deref(), v.as_str()))
        .collect();
    assert_eq!(
        by_file,
        [
            (Some("core-site.xml"), "core-site of prod"),
            (Some("krb5.conf"), "krb5 of prod"),
            (None, "p"),
        ],
        "{after:?}"
    );
    assert_eq!(after[1].0, "/spec/config_files/1/content");
}

#[test]
fn a_plan_made_without_the_values_applies_where_they_are() {
    let env = TestEnv::new();
    setup(&env, "dev-password");
    let db = env.path().join("prod.db");
    // Made in a pull-request job: no values.
    ferry_in_repo(&env, &[])
        .args(["plan", "--env", "prod", "--out", "../pr.json"])
        .assert()
        .success();
    let pr: serde_json::Value = serde_json::from_str(&env.read("pr.json")).unwrap();
    let secrets = pr["secrets"].as_array().unwrap();
    assert!(
        secrets
            .iter()
            .all(|s| s.get("fingerprint").is_none() && s["available"] == false),
        "{pr}"
    );
    // Applied where the values are, though what the plan found of them differs now.
    env.write("secrets/krb5.conf", "krb5");
    let out = ferry_in_repo(&env, &[])
        .args(["apply", "../pr.json"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("1 secret(s) the apply sets have no value here"),
        "{}",
        stderr(&out)
    );
    assert_eq!(objects(&db), 0);
    ferry_in_repo(&env, &[("HIVE_PASSWORD", "one")])
        .args(["apply", "../pr.json"])
        .assert()
        .success();
    assert_eq!(secret_table(&db)[1].1, "one");
    // A plan that saw a value is applied with that value only.
    ferry_in_repo(&env, &[("HIVE_PASSWORD", "two")])
        .args(["plan", "--env", "prod", "--out", "../seen.json"])
        .assert()
        .success();
    let out = ferry_in_repo(&env, &[("HIVE_PASSWORD", "three")])
        .args(["apply", "../seen.json"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("secrets[data_source/warehouse_hive /spec/connection/password]: the value of environment variable HIVE_PASSWORD is not the one the plan was made with"), "{err}");
    assert_eq!(secret_table(&db)[1].1, "one");
    ferry_in_repo(&env, &[("HIVE_PASSWORD", "two")])
        .args(["apply", "../seen.json"])
        .assert()
        .success();
    assert_eq!(secret_table(&db)[1].1, "two");
}

/// Every byte a command printed, kept for the canary search.
struct Printed {
    bytes: Vec<u8>,
    commands: usize,
}

impl Printed {
    fn run(&mut self, cmd: &mut assert_cmd::Command) -> std::process::Output {
        let out = cmd.output().unwrap();
        self.bytes.extend_from_slice(&out.stdout);
        self.bytes.extend_from_slice(&out.stderr);
        self.commands += 1;
        out
    }

    fn ok(&mut self, cmd: &mut assert_cmd::Command) -> std::process::Output {
        let out = self.run(cmd);
        assert!(
            out.status.success() || out.status.code() == Some(2),
            "{:?}: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn fails(&mut self, cmd: &mut assert_cmd::Command) -> String {
        let out = self.run(cmd);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// Every row of every table of the SQLite file at `db` but `secrets`, as text.
fn non_secret_tables(db: &Path) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'secrets'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 5, "{tables:?}");
    let mut text = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                use rusqlite::types::ValueRef;
                match row.get_ref(i).unwrap() {
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        text.push_str(&String::from_utf8_lossy(t));
                        // Package contents are compressed: their bytes are searched as they are.
                        text.push('\n');
                    }
                    other => text.push_str(&format!("{other:?}\n")),
                }
            }
        }
    }
    text
}

/// The canary: one unique value, a dev password and a prod password (from a variable) and a
/// configuration file (from a file), through every command; it must appear nowhere but in the
/// destination's secret table, and it must be there.
#[test]
fn a_canary_secret_appears_in_no_output_file_commit_or_table_but_the_secret_table() {
    let env = TestEnv::new();
    let canary = format!("cnry{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let krb5 = format!("[realms]\n{canary}-krb5\n");
    let mut p = Printed {
        bytes: Vec::new(),
        commands: 0,
    };
    let repo = env.path().join("repo");
    // Inputs that hold the value by design live apart from what ferry writes.
    let inputs = tempfile::tempdir().unwrap();
    let input = |name: &str, text: &str| {
        let path = inputs.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    for name in ["dev", "prod"] {
        p.ok(env
            .ferry()
            .args([
                "tenant",
                "init",
                &format!("sqlite:{name}.db"),
                "--name",
                name,
            ])
            .args(["--platform-version", "4.5.0", "--engine", "maxcompute"])
            .args(["--engine-mode", "single", "--cluster", "cn-shanghai-mc-01"]));
    }
    let (dev, prod) = (
        "sqlite:dev.db",
        format!("sqlite:{}", env.path().join("prod.db").display()),
    );
    // object put: the value in the dev tenant, as the platform's users set it.
    let hive = input("hive.toml", &hive_file(&canary, &format!("{canary}-dev")));
    p.ok(env
        .ferry()
        .args(["object", "put", "--tenant", dev])
        .arg(&hive));
    p.ok(env
        .ferry()
        .args(["object", "put", "--tenant", dev])
        .arg(&hive));
    for format in ["toml", "json"] {
        p.ok(env.ferry().args([
            "object",
            "get",
            "data_source/warehouse_hive",
            "--tenant",
            dev,
            "--format",
            format,
        ]));
    }
    for format in ["text", "json"] {
        p.ok(env
            .ferry()
            .args(["object", "list", "--tenant", dev, "--format", format]));
    }
    // init, export, the environment, diff, validate.
    p.ok(env.ferry().args(["init", "repo"]));
    p.ok(env
        .ferry()
        .args(["export", "--from", dev, "--repo", "repo", "--commit"]));
    p.ok(env.ferry().args([
        "export", "--from", dev, "--repo", "repo", "--format", "json",
    ]));
    let env_file = PROD_ENV.replace(
        "../secrets/krb5.conf",
        &inputs.path().join("krb5.conf").display().to_string(),
    );
    input("krb5.conf", &krb5);
    env.write("repo/environments/prod.toml", &env_file);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "prod environment"]);
    let in_repo = |vars: &[(&str, &str)]| ferry_in_repo(&env, vars);
    for format in ["text", "json"] {
        p.ok(in_repo(&[]).args(["diff", "HEAD~1..HEAD", "--format", format]));
        p.ok(in_repo(&[]).args(["diff", "--format", format]));
        p.ok(in_repo(&[]).args(["validate", "--format", format]));
        // And through the environment, with its value in the process.
        let with = [("HIVE_PASSWORD", canary.as_str())];
        p.ok(in_repo(&with).args(["diff", "HEAD~1..HEAD", "--env", "prod", "--format", format]));
        p.ok(in_repo(&with).args(["validate", "--env", "prod", "--format", format]));
    }
    // Plans in every format, without the values (a pull-request job) and with them.
    let with = [("HIVE_PASSWORD", canary.as_str())];
    for vars in [&[][..], &with[..]] {
        for format in ["text", "markdown", "json"] {
            p.ok(in_repo(vars).args(["plan", "--env", "prod", "--format", format]));
        }
    }
    p.ok(in_repo(&[]).args(["plan", "--env", "prod", "--out", "../pr-plan.json"]));
    p.ok(in_repo(&with).args(["plan", "--env", "prod", "--out", "../plan.json"]));
    // Applies: refused without the value, then the pull-request plan where the values are.
    let err = p.fails(in_repo(&[]).args(["apply", "--env", "prod", "--auto-approve"]));
    assert!(err.contains("HIVE_PASSWORD is not set"), "{err}");
    p.fails(in_repo(&[("HIVE_PASSWORD", "other")]).args(["apply", "../plan.json"]));
    p.ok(in_repo(&with).args(["apply", "../pr-plan.json"]));
    p.ok(in_repo(&with).args(["apply", "--env", "prod", "--auto-approve"]));
    let rotated = format!("{canary}-rotated");
    p.ok(in_repo(&[("HIVE_PASSWORD", rotated.as_str())]).args(["plan", "--env", "prod"]));
    p.ok(in_repo(&[("HIVE_PASSWORD", rotated.as_str())]).args([
        "apply",
        "--env",
        "prod",
        "--auto-approve",
    ]));
    // What the destination says of itself.
    for format in ["text", "json"] {
        p.ok(env
            .ferry()
            .args(["status", "--tenant", &prod, "--format", format]));
        p.ok(env
            .ferry()
            .args(["history", "--tenant", &prod, "--format", format]));
        p.ok(env.ferry().args([
            "history", "show", "last", "--tenant", &prod, "--format", format,
        ]));
        p.ok(env
            .ferry()
            .args(["tenant", "info", &prod, "--format", format]));
        p.ok(env
            .ferry()
            .args(["object", "list", "--tenant", &prod, "--format", format]));
    }
    for format in ["toml", "json"] {
        p.ok(env.ferry().args([
            "object",
            "get",
            "data_source/warehouse_hive",
            "--tenant",
            &prod,
            "--format",
            format,
        ]));
    }
    // Prod exported back through its environment (the nightly drift job), into the repository.
    for format in ["text", "json"] {
        p.ok(in_repo(&[]).args([
            "export", "--from", &prod, "--env", "prod", "--format", format,
        ]));
    }
    // Rollback to the first deployment (back to the first password), saved and applied.
    let first = {
        let conn = rusqlite::Connection::open(env.path().join("prod.db")).unwrap();
        conn.query_row(
            "SELECT id FROM deployments ORDER BY started_at, rowid LIMIT 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap()
    };
    p.ok(in_repo(&with).args([
        "rollback",
        "--env",
        "prod",
        "--deployment",
        &first,
        "--out",
        "../rollback.json",
    ]));
    p.ok(in_repo(&with).args([
        "rollback",
        "--env",
        "prod",
        "--deployment",
        &first,
        "--auto-approve",
    ]));
    p.ok(in_repo(&with).args([
        "plan",
        "--env",
        "prod",
        "--format",
        "json",
        "--detailed-exitcode",
    ]));
    // Errors: a schema error in the secret's own table, at put and in the repository.
    let bad = hive_file(&canary, &canary).replace("port = 10000", "port = \"high\"");
    let bad_input = input("bad.toml", &bad);
    let err = p.fails(
        env.ferry()
            .args(["object", "put", "--tenant", dev])
            .arg(&bad_input),
    );
    assert!(err.contains("/spec/connection"), "{err}");
    env.write(
        "repo/objects/global/data_source/bad_hive.toml",
        &bad.replace(HIVE_GUID, "9d7f1c64-2f0e-4b59-8f43-0f9a2d6c1e55")
            .replace("warehouse_hive", "bad_hive"),
    );
    let err = p.fails(in_repo(&[]).args(["validate"]));
    assert!(err.contains("bad_hive"), "{err}");
    p.fails(in_repo(&[]).args(["validate", "--format", "json"]));
    p.ok(in_repo(&[]).args(["diff"]));
    std::fs::remove_file(repo.join("objects/global/data_source/bad_hive.toml")).unwrap();
    p.fails(in_repo(&with).args(["plan", "--env", "nope"]));
    assert!(p.commands > 50, "{}", p.commands);

    // Searched: every byte printed.
    let found = |haystack: &[u8]| {
        haystack
            .windows(canary.len())
            .any(|w| w == canary.as_bytes())
    };
    assert!(
        !found(&p.bytes),
        "printed: {}",
        String::from_utf8_lossy(&p.bytes)
    );
    // Every file written under the workplace (the repository, the plans, git's own files), the
    // tenants' WAL and shared-memory files included; the tenants themselves by table below.
    let files = files_under(env.path());
    assert!(files.iter().any(|(f, _)| f == "plan.json"));
    assert!(files.iter().any(|(f, _)| f == "rollback.json"));
    for (name, bytes) in &files {
        if name == "dev.db" || name == "prod.db" {
            continue;
        }
        assert!(!found(bytes), "{name} holds the secret");
    }
    // Every git object, loose or packed.
    let objects = git_output_bytes(&repo, &["cat-file", "--batch-all-objects", "--batch"]);
    assert!(objects.len() > 1000);
    assert!(!found(&objects), "a git object holds the secret");
    // The search finds what is there: dev's secret table holds the value put.
    let dev_secrets: Vec<String> = rusqlite::Connection::open(env.path().join("dev.db"))
        .unwrap()
        .prepare("SELECT value FROM secrets")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(found(dev_secrets.join("\n").as_bytes()));
    // Every table of both tenants but the secret table.
    for db in ["dev.db", "prod.db"] {
        let tables = non_secret_tables(&env.path().join(db));
        assert!(
            !tables.contains(&canary),
            "a table of {db} holds the secret"
        );
    }
    // The value did arrive where it belongs: the destination's secret table.
    let table = secret_table(&env.path().join("prod.db"));
    assert_eq!(
        table,
        [
            (
                "/spec/config_files/0/content".to_string(),
                krb5.clone(),
                Some("krb5.conf".to_string())
            ),
            (
                "/spec/connection/password".to_string(),
                canary.clone(),
                None
            ),
        ]
    );
    // The plan's fingerprints are keyed by prod's own salt, not the plain keyed hash.
    let plan: serde_json::Value = serde_json::from_str(&env.read("plan.json")).unwrap();
    let password = &plan["secrets"][1];
    let fingerprint = password["fingerprint"].as_str().unwrap();
    let context = format!("{HIVE_GUID} /spec/connection/password");
    for plain_context in [context.as_str(), "", "/spec/connection/password", HIVE_GUID] {
        let key = blake3::derive_key(
            "ferry 2026-11 secret fingerprint v1",
            plain_context.as_bytes(),
        );
        assert_ne!(
            fingerprint,
            blake3::keyed_hash(&key, canary.as_bytes())
                .to_hex()
                .as_str()
        );
    }
    assert_ne!(
        fingerprint,
        blake3::hash(canary.as_bytes()).to_hex().as_str()
    );
    let salt: String = rusqlite::Connection::open(env.path().join("prod.db"))
        .unwrap()
        .query_row("SELECT fingerprint_salt FROM tenant", [], |r| r.get(0))
        .unwrap();
    let key = blake3::derive_key(
        "ferry 2026-12 tenant secret fingerprint v1",
        format!("{salt}\0{context}").as_bytes(),
    );
    assert_eq!(
        fingerprint,
        blake3::keyed_hash(&key, canary.as_bytes())
            .to_hex()
            .as_str()
    );
}
