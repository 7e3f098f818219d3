use std::path::Path;

use crate::common::{source_dir, stderr, stdout, tenant, TestEnv};

fn list_json(env: &TestEnv, url: &str) -> serde_json::Value {
    let out = env
        .ferry()
        .args(["object", "list", "--tenant", url, "--format", "json"])
        .assert()
        .success();
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn toml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// Issue 18, point 12: `object list` prints a header row over aligned columns.
#[test]
fn object_list_has_a_header_row() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let said = env.run(env.ferry().args(["object", "list", "--tenant", &url]));
    assert!(
        said.ends_with("--- stdout\n--- stderr\nno objects\n"),
        "{said}"
    );
    env.ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects/global/global_variable"))
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["object", "list", "--tenant", &url])
        .assert()
        .success();
    // The example's files hold their GUIDs, so the listing is the same in every run.
    let listed = stdout(&out);
    insta::assert_snapshot!("list_header", listed);
}

/// Every example object put into a tenant and read back is its file, byte for byte.
#[test]
fn put_then_get_gives_back_every_file() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let objects = source_dir().join("examples/retail/objects");
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(&objects)
        .assert()
        .success();
    let mut files = Vec::new();
    toml_files(&objects, &mut files);
    assert!(stderr(&out).ends_with(&format!(
        "put {0} object(s) into {url}: {0} created, 0 updated, 0 renamed, 0 unchanged\n",
        files.len()
    )));
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let guid = text
            .lines()
            .find_map(|l| l.strip_prefix("guid = \""))
            .unwrap()
            .trim_end_matches('"');
        let out = env
            .ferry()
            .args(["object", "get", "--tenant", &url, guid])
            .assert()
            .success();
        assert_eq!(stdout(&out), text, "{}", file.display());
    }
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url])
        .arg(&objects)
        .assert()
        .success();
    assert!(stderr(&out).ends_with(&format!(
        "0 created, 0 updated, 0 renamed, {} unchanged\n",
        files.len()
    )));
}

const SEGMENT: &str = "kind = \"data_segment\"\nguid = \"11111111-1111-4111-8111-111111111111\"\nname = \"retail\"\n\n[spec]\ndisplay_name = \"Retail\"\nprefix = \"rt\"\n";
const AREA: &str = "kind = \"subject_area\"\nguid = \"22222222-2222-4222-8222-222222222222\"\nname = \"trade\"\n\n[spec]\ndisplay_name = \"Trade\"\ndata_segment = \"data_segment/retail\"\n";

#[test]
fn updates_renames_and_deletes() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("seg.toml", SEGMENT);
    env.write("area.toml", AREA);
    env.ferry()
        .args(["object", "put", "--tenant", &url, "area.toml", "seg.toml"])
        .assert()
        .success();
    let before = list_json(&env, &url);
    let area_hash = before["objects"][1]["hash"].clone();

    // Rename the segment: one rename, and the area that refers to it keeps its hash.
    env.write(
        "seg.toml",
        &SEGMENT.replace("name = \"retail\"", "name = \"retail_cn\""),
    );
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml"])
        .assert()
        .success();
    assert!(
        stderr(&out).starts_with("  renamed data_segment/retail → data_segment/retail_cn (v2)\n"),
        "{}",
        stderr(&out)
    );
    let after = list_json(&env, &url);
    assert_eq!(after["objects"][1]["address"], "subject_area/trade");
    assert_eq!(after["objects"][1]["hash"], area_hash);
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, "subject_area/trade"])
        .assert()
        .success();
    assert!(stdout(&out).contains("data_segment = \"data_segment/retail_cn\""));

    // A file without a guid updates the object at its address.
    env.write(
        "area2.toml",
        &AREA
            .replace("guid = \"22222222-2222-4222-8222-222222222222\"\n", "")
            .replace("\"Trade\"", "\"Trading\"")
            .replace("data_segment/retail", "data_segment/retail_cn"),
    );
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "area2.toml"])
        .assert()
        .success();
    assert!(
        stderr(&out).starts_with("  updated subject_area/trade (v2)\n"),
        "{}",
        stderr(&out)
    );

    let out = env
        .ferry()
        .args(["object", "rm", "--tenant", &url, "data_segment/retail_cn"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with(
            "error: data_segment/retail_cn cannot be deleted: subject_area/trade refers to it"
        ),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args([
            "object",
            "rm",
            "--tenant",
            &url,
            "subject_area/trade",
            "data_segment/retail_cn",
        ])
        .assert()
        .success();
    assert_eq!(list_json(&env, &url)["objects"], serde_json::json!([]));
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, "subject_area/trade"])
        .assert()
        .code(1);
    assert!(stderr(&out).starts_with("error: no object subject_area/trade in sqlite:dev.db"));
}

#[test]
fn bad_files_change_nothing() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("seg.toml", SEGMENT);
    env.ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml"])
        .assert()
        .success();
    let before = list_json(&env, &url);
    let cases = [
        ("unknown.toml", "kind = \"data_lake\"\nname = \"x\"\n[spec]\n", "error[unknown-kind]: unknown.toml:1:1: unknown kind `data_lake`"),
        ("schema.toml", "kind = \"data_segment\"\nname = \"x\"\n[spec]\ndisplay_name = \"X\"\nprefix = \"x\"\nmode = \"sometimes\"\n", "error[schema]: schema.toml:6:1: data_segment/x: /spec/mode: \"sometimes\" is not one of"),
        ("dangling.toml", &AREA.replace("data_segment/retail", "data_segment/nowhere"), "error[missing-reference]: dangling.toml:7:1: subject_area/trade: /spec/data_segment refers to data_segment/nowhere, which is neither in these files nor in the tenant"),
        ("taken.toml", &SEGMENT.replace("11111111-1111-4111-8111-111111111111", "33333333-3333-4333-8333-333333333333"), "error[duplicate-address]: taken.toml:2:1: data_segment/retail: data_segment/retail is already object 11111111-1111-4111-8111-111111111111 in the tenant, not 33333333-3333-4333-8333-333333333333"),
    ];
    for (file, text, expected) in cases {
        env.write(file, text);
        // A good file in the same batch is not written either.
        env.write(
            "good.toml",
            &SEGMENT.replace("retail", "wholesale").replace(
                "11111111-1111-4111-8111-111111111111",
                "44444444-4444-4444-8444-444444444444",
            ),
        );
        let out = env
            .ferry()
            .args(["object", "put", "--tenant", &url, "good.toml", file])
            .assert()
            .code(1);
        let err = stderr(&out);
        assert!(err.starts_with(expected), "{file}: {err}");
        assert!(
            err.ends_with("nothing was written to sqlite:dev.db\n"),
            "{err}"
        );
        assert_eq!(list_json(&env, &url), before, "{file} changed the tenant");
    }
    env.write("dup.toml", SEGMENT);
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml", "dup.toml"])
        .assert()
        .code(1);
    assert!(stderr(&out).contains("error[duplicate-address]: dup.toml:3:1: data_segment/retail: data_segment/retail is also in seg.toml"), "{}", stderr(&out));
    let out = env
        .ferry()
        .args(["object", "list", "--tenant", &url, "--kind", "nope"])
        .assert()
        .code(1);
    assert!(stderr(&out).starts_with("error: unknown kind `nope`"));
}

#[test]
fn secrets_never_show() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let canary = "canary-password-7f3a";
    let source =
        std::fs::read_to_string(source_dir().join("tests/fixtures/kinds/data_source.toml"))
            .unwrap();
    let with_secret = source.replacen(
        "[spec.connection]\n",
        &format!("[spec.connection]\npassword = \"{canary}\"\n"),
        1,
    );
    assert_ne!(with_secret, source, "the fixture has a connection table");
    env.write("ds.toml", &with_secret);
    let put = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "ds.toml"])
        .env("FERRY_LOG", "trace")
        .assert()
        .success();
    let address = stderr(&put).split_whitespace().nth(1).unwrap().to_string();
    let mut seen = stderr(&put);
    for args in [
        vec!["object", "get", "--tenant", &url, &address],
        vec![
            "object", "get", "--tenant", &url, &address, "--format", "json",
        ],
        vec!["object", "list", "--tenant", &url, "--format", "json"],
        vec!["tenant", "info", &url, "--format", "json"],
    ] {
        let out = env.ferry().args(&args).assert().success();
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
    }
    assert!(!seen.contains(canary), "the secret leaked:\n{seen}");
    assert!(seen.contains("password = \"(sensitive)\""), "{seen}");

    // Putting the file back as `get` printed it keeps the secret.
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, &address])
        .assert()
        .success();
    env.write("ds2.toml", &stdout(&out));
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "ds2.toml"])
        .assert()
        .success();
    assert!(
        stderr(&out).ends_with("0 created, 0 updated, 0 renamed, 1 unchanged\n"),
        "{}",
        stderr(&out)
    );
    use ferry::store::Tenant as _;
    let store = ferry::store::sqlite::SqliteTenant::open(&env.path().join("dev.db")).unwrap();
    let stored = store
        .object(&ferry::store::ObjectKey::Address(address.clone()))
        .unwrap()
        .unwrap();
    let secrets = store.secrets(stored.guid).unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].1.expose(), canary);
}

#[test]
fn read_only_tenants_refuse_writes() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("seg.toml", SEGMENT);
    let path = env.path().join("dev.db");
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with("error: dev.db is read-only\n  hint: make the file writable"),
        "{}",
        stderr(&out)
    );
    env.ferry()
        .args(["object", "list", "--tenant", &url])
        .assert()
        .success();
}

/// A process killed in the middle of a batch leaves the tenant as it was before the batch.
#[test]
fn a_killed_writer_leaves_the_tenant_unchanged() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("seg.toml", &SEGMENT.replace("\"retail\"", "\"wholesale\""));
    env.ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml"])
        .assert()
        .success();
    let before = list_json(&env, &url);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .args(["object", "put", "--tenant", &url])
        .arg(source_dir().join("examples/retail/objects"))
        .current_dir(env.path())
        .env("FERRY_FAULT_WRITE_DELAY_MS", "20")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the batch is being written (the fault hook says so after the first object),
    // then kill it.
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let marker = lines.find(|l| {
        l.as_ref()
            .is_ok_and(|l| l.contains("batch write in progress"))
    });
    assert!(marker.is_some(), "the writer reached the batch");
    std::thread::sleep(std::time::Duration::from_millis(200));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the writer was killed before it finished"
    );
    assert_eq!(list_json(&env, &url), before);
}

#[test]
fn a_bad_secret_value_is_not_echoed() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let source =
        std::fs::read_to_string(source_dir().join("tests/fixtures/kinds/data_source.toml"))
            .unwrap();
    let bad = source.replacen(
        "[spec.connection]\n",
        "[spec.connection]\npassword = 918273645\n",
        1,
    );
    env.write("ds.toml", &bad);
    let out = env
        .ferry()
        .args(["object", "put", "--tenant", &url, "ds.toml"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("/spec/connection/password: a number is not of type \"string\" (the value is not shown: it holds a secret field)"), "{err}");
    assert!(!err.contains("918273645"), "{err}");
}

/// A variable object file named `name`.
fn variable(name: &str) -> String {
    format!(
        "kind = \"global_variable\"\nname = \"{name}\"\n\n[spec]\ntype = \"number\"\nvalue = \"1\"\ndescription = \"x\"\n"
    )
}

/// Names that would be one file on macOS or Windows (letter case, NFC against NFD) are refused
/// at `put`, naming both, whether the other is in the tenant or in the same put.
#[test]
fn names_differing_only_in_case_or_unicode_normalisation_are_refused_naming_both() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    let nfc = "caf\u{e9}";
    let nfd = "cafe\u{301}";
    env.write("Rate.toml", &variable("Rate"));
    env.write("rate.toml", &variable("rate"));
    env.write("nfc.toml", &variable(nfc));
    env.write("nfd.toml", &variable(nfd));
    for file in ["Rate.toml", "nfc.toml"] {
        env.ferry()
            .args(["object", "put", "--tenant", &url, file])
            .assert()
            .success();
    }
    let before = list_json(&env, &url);
    for (file, address, other) in [("rate.toml", "rate", "Rate"), ("nfd.toml", nfd, nfc)] {
        let out = env
            .ferry()
            .args(["object", "put", "--tenant", &url, file])
            .assert()
            .code(1);
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!(
                "error: {file}: address global_variable/{address} differs from global_variable/{other} (object "
            )) && err.contains("only in letter case or Unicode normalisation (NFC/NFD)"),
            "{err}"
        );
        assert!(err.contains("hint: rename"), "{err}");
    }
    // Both in one put: a problem of the second file, naming the first.
    let other = TestEnv::new();
    let url2 = tenant(&other, "dev");
    other.write("nfc.toml", &variable(nfc));
    other.write("nfd.toml", &variable(nfd));
    let out = other
        .ferry()
        .args(["object", "put", "--tenant", &url2, "nfc.toml", "nfd.toml"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(&format!(
            "error[duplicate-address]: nfd.toml:2:1: global_variable/{nfd}: global_variable/{nfd} differs from global_variable/{nfc} in nfc.toml only in letter case or Unicode normalisation"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(list_json(&env, &url), before);
    assert_eq!(
        list_json(&other, &url2)["objects"].as_array().map(Vec::len),
        Some(0)
    );
}

/// A body damaged in the tenant file does not stop a listing; reading it names the object by
/// GUID and address, and the object can still be deleted.
#[test]
fn a_damaged_body_is_named_by_its_address_and_does_not_stop_a_listing() {
    let env = TestEnv::new();
    let url = tenant(&env, "dev");
    env.write("seg.toml", SEGMENT);
    env.write("area.toml", AREA);
    env.ferry()
        .args(["object", "put", "--tenant", &url, "seg.toml", "area.toml"])
        .assert()
        .success();
    let conn = rusqlite::Connection::open(env.path().join("dev.db")).unwrap();
    conn.execute(
        "UPDATE objects SET body = '{broken' WHERE address = 'subject_area/trade'",
        [],
    )
    .unwrap();
    drop(conn);
    let listed = list_json(&env, &url);
    let addresses: Vec<&str> = listed["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses, ["data_segment/retail", "subject_area/trade"]);
    let out = env
        .ferry()
        .args(["object", "get", "--tenant", &url, "subject_area/trade"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).starts_with(
            "error: tenant dev.db: object 22222222-2222-4222-8222-222222222222 (subject_area/trade) has a damaged body: "
        ),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: the tenant file is damaged"));
    env.ferry()
        .args(["object", "rm", "--tenant", &url, "subject_area/trade"])
        .assert()
        .success();
}
