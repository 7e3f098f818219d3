use std::process::{Command, Stdio};

use crate::common::{stderr, stdout, tenant, TestEnv};

#[test]
fn init_and_info() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    insta::assert_snapshot!(
        "info_empty",
        env.run(env.ferry().args(["tenant", "info", &url]))
    );
    let out = env
        .ferry()
        .args(["tenant", "info", &url, "--format", "json"])
        .assert()
        .success();
    let info: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(info["facts"]["engine"], "maxcompute");
    assert_eq!(info["objects"]["total"], 0);
    assert_eq!(info["lock"], serde_json::Value::Null);
}

#[test]
fn init_refuses_to_overwrite_and_names_missing_folders() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let args = [
        "--name",
        "x",
        "--platform-version",
        "1",
        "--engine",
        "hive",
        "--engine-mode",
        "multi",
        "--cluster",
        "c",
    ];
    let out = env
        .ferry()
        .args(["tenant", "init", &url])
        .args(args)
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with(
            "error: a file already exists at dev.db; ferry does not overwrite it\n  hint: "
        ),
        "{}",
        stderr(&out)
    );
    let out = env
        .ferry()
        .args(["tenant", "init", "sqlite:no/such/dir/t.db"])
        .args(args)
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with(
            "error: cannot create a tenant at no/such/dir/t.db: folder no/such/dir does not exist"
        ),
        "{}",
        stderr(&out)
    );
    let out = env
        .ferry()
        .args(["tenant", "init", "postgres://u:pw@127.0.0.1:1/db"])
        .args(args)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot connect to tenant postgres://u:(sensitive)@127.0.0.1:1/db: error connecting to server: "),
        "{err}"
    );
    assert!(
        err.contains("\n  hint: check the host, port, database, user and sslmode"),
        "{err}"
    );
    assert!(!err.contains("pw"), "{err}");
    let out = env
        .ferry()
        .args(["tenant", "init", "postgres://u:pw@h:port/db"])
        .args(args)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: `postgres://…` is not a tenant URL: the port is not a number"),
        "{err}"
    );
    assert!(!err.contains("pw"), "credentials in a URL are not echoed");
    let out = env
        .ferry()
        .args(["tenant", "init", "sqlite:x.db", "--engine-mode", "double"])
        .args(&args[..6])
        .arg("--cluster")
        .arg("c")
        .assert()
        .code(1);
    assert!(stderr(&out).contains("invalid value 'double'"));
}

#[test]
fn bad_tenant_files_are_named() {
    let env = TestEnv::new();
    env.write("notes.db", "this is not a database, just text that is long enough to have a header......................................................");
    let out = env
        .ferry()
        .args(["tenant", "info", "sqlite:notes.db"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with("error: notes.db is not a SQLite database"),
        "{}",
        stderr(&out)
    );

    let conn = rusqlite::Connection::open(env.path().join("other.db")).unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
    drop(conn);
    let out = env
        .ferry()
        .args(["tenant", "info", "sqlite:other.db"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with("error: other.db is a SQLite database but not a ferry tenant"),
        "{}",
        stderr(&out)
    );

    let out = env
        .ferry()
        .args(["tenant", "info", "sqlite:missing.db"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with(
            "error: no tenant at missing.db\n  hint: create it with `ferry tenant init"
        ),
        "{}",
        stderr(&out)
    );
    assert!(
        !env.path().join("missing.db").exists(),
        "opening never creates a file"
    );

    let url = tenant(&env, "future");
    let conn = rusqlite::Connection::open(env.path().join("future.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let out = env.ferry().args(["tenant", "info", &url]).assert().code(1);
    assert!(stderr(&out).starts_with("error: future.db has store schema version 99; this ferry knows up to 8\n  hint: upgrade ferry"), "{}", stderr(&out));
}

#[test]
fn settings_store_only_a_fingerprint_of_the_credential() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let canary = "canary-credential-0123456789abcdef";
    let out = env
        .ferry()
        .args([
            "tenant",
            "settings",
            &url,
            "--retention-days",
            "14",
            "--credential-env",
            "DEPLOY_KEY",
        ])
        .env("DEPLOY_KEY", canary)
        .assert()
        .success();
    let shown = stdout(&out);
    assert!(
        shown.starts_with("retention days   14\ncredential       set (fingerprint "),
        "{shown}"
    );
    let out = env
        .ferry()
        .args(["tenant", "settings", &url, "--format", "json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["retention_days"], 14);
    assert_eq!(json["credential_set"], true);
    for file in ["dev.db", "dev.db-wal"] {
        if let Ok(bytes) = std::fs::read(env.path().join(file)) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(canary),
                "{file} holds the credential"
            );
        }
    }
    let out = env
        .ferry()
        .args(["tenant", "settings", &url, "--credential-env", "UNSET_VAR"])
        .assert()
        .code(1);
    assert!(stderr(&out).starts_with("error: environment variable UNSET_VAR is not set"));
}

const SEGMENT: &str = "kind = \"data_segment\"\nname = \"retail\"\n\n[spec]\ndisplay_name = \"Retail\"\nprefix = \"rt\"\n";

#[test]
fn a_lock_stops_other_writers_and_expires() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("seg.toml", SEGMENT);
    let at = |t: &str| t.to_string();
    env.ferry()
        .args([
            "tenant",
            "lock",
            &url,
            "--purpose",
            "release 42",
            "--ttl",
            "30m",
        ])
        .env("FERRY_ACTOR", "alice@ci")
        .env("FERRY_NOW", at("2026-11-25T10:00:00Z"))
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml"])
        .env("FERRY_ACTOR", "bob@laptop")
        .env("FERRY_NOW", "2026-11-25T10:10:00Z")
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with("error: tenant sqlite:dev.db is locked by alice@ci for `release 42` until 2026-11-25T10:30:00Z\n  hint: wait"),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml"])
        .env("FERRY_ACTOR", "alice@ci")
        .env("FERRY_NOW", "2026-11-25T10:10:00Z")
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["tenant", "info", &url])
        .env("FERRY_NOW", "2026-11-25T10:10:00Z")
        .assert()
        .success();
    assert!(stdout(&out)
        .contains("lock             held by alice@ci for `release 42` until 2026-11-25T10:30:00Z"));
    let out = env
        .ferry()
        .args(["tenant", "unlock", &url])
        .env("FERRY_ACTOR", "bob@laptop")
        .env("FERRY_NOW", "2026-11-25T10:10:00Z")
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("locked by alice@ci, not by you (bob@laptop)\n  hint: pass --force"),
        "{}",
        stderr(&out)
    );
    // Past its expiry the lock is taken over.
    env.ferry()
        .args(["tenant", "lock", &url, "--purpose", "hotfix"])
        .env("FERRY_ACTOR", "bob@laptop")
        .env("FERRY_NOW", "2026-11-25T10:31:00Z")
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["tenant", "unlock", &url, "--force"])
        .env("FERRY_ACTOR", "carol@ops")
        .env("FERRY_NOW", "2026-11-25T10:32:00Z")
        .assert()
        .success();
    assert_eq!(
        stderr(&out),
        "released the lock bob@laptop held for `hotfix`\n"
    );
}

#[test]
fn two_processes_race_for_the_lock() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let bin = assert_cmd::cargo::cargo_bin("ferry");
    for round in 0..50 {
        let spawn = |who: &str| {
            Command::new(&bin)
                .args(["tenant", "lock", &url, "--purpose", "race"])
                .current_dir(env.path())
                .env("FERRY_ACTOR", who)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let a = spawn("a@host");
        let b = spawn("b@host");
        let a = a.wait_with_output().unwrap();
        let b = b.wait_with_output().unwrap();
        assert!(
            a.status.success() != b.status.success(),
            "round {round}: exactly one wins"
        );
        let (winner, loser) = if a.status.success() {
            ("a@host", b)
        } else {
            ("b@host", a)
        };
        let message = String::from_utf8_lossy(&loser.stderr);
        assert!(
            message.starts_with(&format!(
                "error: tenant {url} is locked by {winner} for `race` until "
            )),
            "round {round}: {message}"
        );
        env.ferry()
            .args(["tenant", "unlock", &url, "--force"])
            .assert()
            .success();
    }
}

/// A store made by an older ferry (schema version 1) is migrated when opened, to the lease
/// columns of the lock (migration 4), a rollback's target (migration 5) and the salt of secret
/// fingerprints (migration 7) and the packages with ids and per-object statuses (migration 8)
/// included.
#[test]
fn older_stores_are_migrated() {
    let env = TestEnv::new();
    let url = tenant(&env, "old");
    let path = env.path().join("old.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE package_objects; DROP TABLE packages;
         CREATE TABLE packages (hash TEXT PRIMARY KEY, name TEXT NOT NULL,
             imported_at TEXT NOT NULL, expires_at TEXT NOT NULL, manifest TEXT NOT NULL,
             content BLOB NOT NULL);
         DROP INDEX objects_summary; DROP INDEX applied_summary;
         ALTER TABLE applied DROP COLUMN body; ALTER TABLE lock DROP COLUMN host;
         ALTER TABLE lock DROP COLUMN pid; ALTER TABLE lock DROP COLUMN renewed_at;
         ALTER TABLE deployments DROP COLUMN rollback_of;
             DROP INDEX deployments_by_objects; ALTER TABLE deployments DROP COLUMN objects_tree;
             ALTER TABLE deployments DROP COLUMN custom_kinds; ALTER TABLE deployments DROP COLUMN skip_gate;
             ALTER TABLE tenant DROP COLUMN fingerprint_salt; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    env.ferry()
        .args(["tenant", "info", &url])
        .assert()
        .success();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 8);
    let salt: String = conn
        .query_row("SELECT fingerprint_salt FROM tenant", [], |r| r.get(0))
        .unwrap();
    assert_eq!(salt.len(), 64, "migration 7 gives the tenant a salt");
    conn.execute(
        "INSERT INTO lock (id, holder, purpose, acquired_at, expires_at, host, pid, renewed_at)
         VALUES (1, 'h', 'p', 't', 't', 'host', 1, 't')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO applied (guid, hash, applied_at, body) VALUES ('g', 'h', 't', '{}')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO deployments (id, source, plan_hash, actor, started_at, status, objects_tree, custom_kinds, skip_gate)
         VALUES ('d', 's', 'h', 'a', 't', 'succeeded', 'tree', NULL, 'why')",
        [],
    )
    .unwrap();
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('objects_summary', 'applied_summary')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 2, "migration 3 adds the covering indexes");
    conn.execute(
        "INSERT INTO packages (id, hash, name, mode, created_at, imported_at, imported_by, manifest, content)
         VALUES ('p', 'h', 'p.dp', 'full', 't', 't', 'a', '{}', x'00')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO package_objects (package_id, guid, address, kind, change) VALUES ('p', 'g', 'a/b', 'a', 'carried')",
        [],
    )
    .unwrap();
}

/// `ferry tenant copy` between two SQLite tenants: the copy holds the same objects and
/// history; an existing empty tenant is filled; one that holds anything is refused.
#[test]
fn tenant_copy_copies_everything_into_a_new_or_empty_tenant_only() {
    let env = TestEnv::new();
    let (dev, prod) = crate::plan::promoted_setup(&env);
    let list = |url: &str| {
        crate::common::stdout(
            &env.ferry()
                .args(["object", "list", "--tenant", url])
                .assert()
                .success(),
        )
    };
    env.ferry()
        .args(["tenant", "copy", &dev, "sqlite:copy.db"])
        .assert()
        .success();
    assert_eq!(list("sqlite:copy.db"), list(&dev));
    // prod exists and is empty: it is filled.
    env.ferry()
        .args(["tenant", "copy", &dev, &prod])
        .assert()
        .success();
    assert_eq!(list(&prod), list(&dev));
    let out = env
        .ferry()
        .args(["tenant", "copy", &dev, "sqlite:copy.db"])
        .assert()
        .code(1);
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("is not empty: it holds 167 object(s)"),
        "{err}"
    );
    assert!(err.contains("hint: copy into a new tenant URL"), "{err}");
}
