//! `ferry package` and `ferry import` (issue 15, points 1 and 2): the package file (full,
//! incremental, selection; deterministic; named by the platform's rules; no secret value in it)
//! and each import check failing on its own, in order, with the destination unchanged.

use std::path::{Path, PathBuf};

use crate::common::{git, stderr, stdout, tenant_at, TestEnv};
use crate::plan::promoted_setup;

pub(crate) const CREDENTIAL: &str = "a-shared-deployment-credential-0123";
pub(crate) const VAR: &str = "FERRY_DEPLOYMENT_CREDENTIAL";

/// The example exported into `repo/` and committed, and a prod tenant configured with the shared
/// credential; returns prod's URL.
pub(crate) fn setup(env: &TestEnv) -> String {
    let (_, prod) = promoted_setup(env);
    configure(env, &prod, CREDENTIAL);
    prod
}

/// Sets `url`'s deployment credential.
pub(crate) fn configure(env: &TestEnv, url: &str, credential: &str) {
    env.ferry()
        .args(["tenant", "settings", url, "--credential-env", VAR])
        .env(VAR, credential)
        .assert()
        .success();
}

/// `ferry package -o FILE ARGS` run in `repo/` with the credential.
pub(crate) fn package(env: &TestEnv, file: &str, args: &[&str]) -> PathBuf {
    env.ferry()
        .args(["package", "-o"])
        .arg(env.path().join(file))
        .args(args)
        .env(VAR, CREDENTIAL)
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    env.path().join(file)
}

/// `ferry import FILE ARGS` with the credential.
pub(crate) fn import(env: &TestEnv, file: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    env.ferry()
        .arg("import")
        .arg(file)
        .args(args)
        .env(VAR, CREDENTIAL)
        .assert()
}

/// The tenant file at `url` (`sqlite:PATH`).
pub(crate) fn db(env: &TestEnv, url: &str) -> PathBuf {
    let path = Path::new(url.strip_prefix("sqlite:").unwrap());
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        env.path().join(path)
    }
}

/// Runs `import`, which must be refused by `check` (its message on stderr) with `url`'s store
/// byte for byte unchanged; returns stderr.
fn refused(
    env: &TestEnv,
    url: &str,
    check: &str,
    run: impl FnOnce() -> assert_cmd::assert::Assert,
) -> String {
    let before = std::fs::read(db(env, url)).unwrap();
    let kept = kept_packages(env, url);
    let files = top_level(env);
    let out = run().failure();
    assert_eq!(kept_packages(env, url), kept, "no package is kept");
    assert_eq!(top_level(env), files, "no file is written");
    let err = stderr(&out);
    assert!(err.contains(&format!("refused by {check}")), "{err}");
    assert!(err.contains("the destination was not changed"), "{err}");
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(
        std::fs::read(db(env, url)).unwrap(),
        before,
        "the destination is unchanged"
    );
    err
}

/// The ids of the packages `url` keeps.
pub(crate) fn kept_packages(env: &TestEnv, url: &str) -> Vec<String> {
    let url = ferry::store::TenantUrl::Sqlite(db(env, url));
    let tenant = ferry::store::open(&url).unwrap();
    tenant
        .packages()
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

/// The names in the workplace's folder.
fn top_level(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Commits four changes in `repo/`: one object modified, one renamed (and the one referring to
/// it modified), one deleted.
pub(crate) fn four_changes(env: &TestEnv) {
    let repo = env.path().join("repo");
    let vat = "repo/objects/global/global_variable/vat_rate_default.toml";
    let text = env
        .read(vat)
        .replace("description = \"", "description = \"edited ");
    env.write(vat, &text);
    let word = "objects/standard/word_root";
    git(
        &repo,
        &[
            "mv",
            &format!("{word}/chnl.toml"),
            &format!("{word}/channel.toml"),
        ],
    );
    let renamed = env
        .read(&format!("repo/{word}/channel.toml"))
        .replace("name = \"chnl\"", "name = \"channel\"");
    env.write(&format!("repo/{word}/channel.toml"), &renamed);
    let std_file = "repo/objects/standard/data_standard/pay_chnl_cd.toml";
    let text = env
        .read(std_file)
        .replace("\"word_root/chnl\"", "\"word_root/channel\"");
    env.write(std_file, &text);
    git(
        &repo,
        &[
            "rm",
            "-q",
            "objects/architecture/business_activity/order_to_cash.toml",
        ],
    );
    git(&repo, &["commit", "-qam", "four changes"]);
}

fn manifest(file: &Path) -> ferry::package::Manifest {
    ferry::package::read::open(file).unwrap().manifest
}

/// `tar --zstd -tf FILE`, or `None` (with a visible message) when this tar cannot read zstd.
fn tar_list(file: &Path) -> Option<Vec<String>> {
    let out = std::process::Command::new("tar")
        .args(["--zstd", "-tf"])
        .arg(file)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(
            String::from_utf8(o.stdout)
                .unwrap()
                .lines()
                .map(String::from)
                .collect(),
        ),
        _ => {
            eprintln!(
                "SKIPPED: `tar --zstd -tf` is not available here; the listing is not checked"
            );
            None
        }
    }
}

#[test]
fn full_incremental_and_selection_packages_list_with_tar_and_import() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let full = package(&env, "full.dp", &[]);
    let m = manifest(&full);
    assert_eq!(m.mode, "full");
    assert_eq!(m.base, None);
    assert_eq!(m.objects.len(), 167);
    assert!(m.deletions.is_empty());
    assert!(m.left_out.iter().any(|l| l.kind == "data_service_api"));
    assert_eq!(m.source.platform_version, "4.5.0");
    assert_eq!(m.created_at, crate::common::NOW);
    if let Some(list) = tar_list(&full) {
        assert_eq!(list[0], "manifest.json");
        assert_eq!(list[1], "signature");
        assert_eq!(list.len(), 2 + m.objects.len() + m.files.len());
        assert!(list.contains(&"objects/global/data_source/orders_mysql.toml".to_string()));
    }
    let said = stdout(&import(&env, &full, &["--to", &prod]).success());
    assert!(said.contains("passed check 8 (secrets)"), "{said}");
    let kept = kept_packages(&env, &prod);
    assert_eq!(kept.len(), 1);
    assert!(said.contains(&format!("as package {}", kept[0])), "{said}");
    assert!(said.contains("full package of 167 object(s)"), "{said}");

    // An incremental package: one modified, one renamed (and the one referring to it), one
    // deleted, into a destination that has the base applied.
    let repo = env.path().join("repo");
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(&repo)
        .assert()
        .success();
    four_changes(&env);
    env.ferry()
        .args(["validate"])
        .current_dir(&repo)
        .assert()
        .success();
    let inc = package(&env, "inc.dp", &["--since", "HEAD~1"]);
    let m = manifest(&inc);
    assert_eq!(m.mode, "incremental");
    assert!(m.base.is_some());
    let changes: Vec<(String, Option<String>)> = m
        .objects
        .iter()
        .map(|o| (o.address.clone(), o.change.clone()))
        .collect();
    let change = |a: &str, c: &str| (a.to_string(), Some(c.to_string()));
    assert_eq!(
        changes,
        [
            change("global_variable/vat_rate_default", "modified"),
            change("data_standard/pay_chnl_cd", "modified"),
            change("word_root/channel", "renamed"),
        ]
    );
    assert_eq!(m.deletions.len(), 1);
    assert_eq!(m.deletions[0].address, "business_activity/order_to_cash");
    if let Some(list) = tar_list(&inc) {
        assert_eq!(list.len(), 2 + 3 + m.files.len());
    }
    import(&env, &inc, &["--to", &prod]).success();

    // A selection with what it depends on.
    let sel = package(&env, "sel.dp", &["--select", "+data_source/pos_smartpos"]);
    let m = manifest(&sel);
    assert_eq!(m.mode, "selection");
    let addresses: Vec<&str> = m.objects.iter().map(|o| o.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["data_source/pos_smartpos", "data_source_type/smartpos_v3"]
    );
    if let Some(list) = tar_list(&sel) {
        assert_eq!(list.len(), 4 + m.files.len());
    }
    import(&env, &sel, &["--to", &prod]).success();
}

#[test]
fn the_same_commit_and_options_give_the_same_bytes() {
    let env = TestEnv::new();
    setup(&env);
    let a = std::fs::read(package(&env, "a.dp", &[])).unwrap();
    let b = std::fs::read(package(&env, "b.dp", &[])).unwrap();
    assert_eq!(a, b);
    let later = env
        .ferry()
        .args(["package", "-o", "../c.dp"])
        .env(VAR, CREDENTIAL)
        .env("FERRY_NOW", "2026-12-24T00:00:00Z")
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    drop(later);
    assert_ne!(
        std::fs::read(env.path().join("c.dp")).unwrap(),
        a,
        "created_at is in the manifest"
    );
}

#[test]
fn package_names_follow_the_platform_rules() {
    let env = TestEnv::new();
    setup(&env);
    for (name, rule) in [
        (".hidden.dp", "must not start with `.`"),
        (" space.dp", "must not start with ` `"),
        ("a:b.dp", "must not hold `:`"),
        ("a*b.dp", "must not hold `*`"),
        ("a、b.dp", "must not hold `、`"),
        (&"x".repeat(256), "at most 255 characters"),
    ] {
        let out = env
            .ferry()
            .args(["package", "-o", &format!("../{name}")])
            .env(VAR, CREDENTIAL)
            .current_dir(env.path().join("repo"))
            .assert()
            .failure();
        let err = stderr(&out);
        assert!(err.contains(rule), "{name}: {err}");
        assert!(!env.path().join(name).exists());
    }
}

#[test]
fn a_package_needs_a_long_enough_credential_and_refuses_since_with_select() {
    let env = TestEnv::new();
    setup(&env);
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        let mut cmd = env.ferry();
        cmd.args(["package", "-o", "../p.dp"])
            .args(args)
            .current_dir(env.path().join("repo"));
        for (k, v) in vars {
            cmd.env(k, v);
        }
        stderr(&cmd.assert().failure())
    };
    assert!(run(&[], &[]).contains("FERRY_DEPLOYMENT_CREDENTIAL is not set"));
    assert!(run(&[(VAR, "short")], &[]).contains("shorter than 16"));
    assert!(run(
        &[(VAR, CREDENTIAL)],
        &["--since", "HEAD", "--select", "kind:project"]
    )
    .contains("one or the other"));
    assert!(!env.path().join("p.dp").exists());
}

#[test]
fn no_secret_value_is_ever_in_a_package() {
    let env = TestEnv::new();
    setup(&env);
    let repo = env.path().join("repo");
    let file = "repo/objects/global/data_source/orders_mysql.toml";
    let text = env.read(file).replace(
        "[spec.connection]\n",
        "[spec.connection]\npassword = \"hunter2-in-git\"\n",
    );
    assert!(
        text.contains("hunter2-in-git"),
        "the fixture has a [spec.connection] table"
    );
    env.write(file, &text);
    git(&repo, &["commit", "-qam", "a password in git"]);
    // A secret's value in git is an error of the commit (validate's `secret-value`): no package
    // is made of it, and the value is not shown.
    let out = env
        .ferry()
        .args(["package", "-o", "../p.dp"])
        .env(VAR, CREDENTIAL)
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("error[secret-value]: objects/global/data_source/orders_mysql.toml:")
            && err.contains("/spec/connection/password holds a value (not shown)"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !stdout(&out).contains("hunter2"),
        "{err}"
    );
    assert!(!env.path().join("p.dp").exists());
}

#[test]
fn a_damaged_or_truncated_package_is_refused_by_the_integrity_check() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let good = std::fs::read(package(&env, "p.dp", &[])).unwrap();
    let n = good.len();
    for at in [0, 5, 13, n / 3, n / 2, n - 40, n - 4, n - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x20;
        let file = env.path().join("bad.dp");
        std::fs::write(&file, &bad).unwrap();
        let err = refused(&env, &prod, "check 1", || {
            import(&env, &file, &["--to", &prod])
        });
        assert!(
            err.contains("check 1 (integrity)") || err.contains("check 1 (credential)"),
            "byte {at}: {err}"
        );
    }
    for keep in [0, 10, n / 2, n - 1] {
        let file = env.path().join("cut.dp");
        std::fs::write(&file, &good[..keep]).unwrap();
        refused(&env, &prod, "check 1 (integrity)", || {
            import(&env, &file, &["--to", &prod])
        });
    }
}

#[test]
fn a_wrong_or_missing_credential_is_refused_by_the_credential_check() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let file = package(&env, "p.dp", &[]);
    // The destination has another credential.
    let err = refused(&env, &prod, "check 1 (credential)", || {
        env.ferry()
            .args(["import"])
            .arg(&file)
            .args(["--to", &prod])
            .env(VAR, "another-credential-of-the-same-length")
            .assert()
    });
    assert!(err.contains("is not the one tenant"), "{err}");
    assert!(!err.contains("another-credential"), "{err}");
    // A package signed with another credential.
    configure(&env, &prod, "another-credential-of-the-same-length");
    let err = refused(&env, &prod, "check 1 (credential)", || {
        env.ferry()
            .args(["import"])
            .arg(&file)
            .args(["--to", &prod])
            .env(VAR, "another-credential-of-the-same-length")
            .assert()
    });
    assert!(err.contains("signature does not verify"), "{err}");
    // A destination without one.
    tenant_at(&env, "sqlite:bare.db", "bare");
    let err = refused(&env, "sqlite:bare.db", "check 1 (credential)", || {
        import(&env, &file, &["--to", "sqlite:bare.db"])
    });
    assert!(err.contains("no deployment credential configured"), "{err}");
}

/// A tenant with the example's facts but `flag` set to `value`, with the credential.
fn tenant_with(env: &TestEnv, name: &str, flag: &str, value: &str) -> String {
    let url = format!("sqlite:{name}.db");
    let mut facts = vec![
        ("--platform-version", "4.5.0"),
        ("--engine", "maxcompute"),
        ("--engine-mode", "single"),
        ("--cluster", "cn-shanghai-mc-01"),
    ];
    for f in &mut facts {
        if f.0 == flag {
            f.1 = value;
        }
    }
    let mut cmd = env.ferry();
    cmd.args(["tenant", "init", &url, "--name", name]);
    for (k, v) in facts {
        cmd.args([k, v]);
    }
    cmd.assert().success();
    configure(env, &url, CREDENTIAL);
    url
}

#[test]
fn each_tenant_fact_that_differs_is_refused_by_its_check_and_another_cluster_may_be_allowed() {
    let env = TestEnv::new();
    setup(&env);
    let file = package(&env, "p.dp", &[]);
    for (flag, value, check) in [
        ("--platform-version", "4.6.0", "check 2 (platform version)"),
        ("--engine", "hive", "check 3 (engine type)"),
        ("--engine-mode", "multi", "check 4 (engine mode)"),
        ("--cluster", "cn-beijing-mc-02", "check 5 (cluster)"),
    ] {
        let name = flag.trim_start_matches('-').replace('-', "_");
        let url = tenant_with(&env, &name, flag, value);
        let err = refused(&env, &url, check, || import(&env, &file, &["--to", &url]));
        assert!(err.contains(&format!("has `{value}`")), "{err}");
    }
    let out = import(
        &env,
        &file,
        &["--to", "sqlite:cluster.db", "--allow-other-cluster"],
    )
    .success();
    assert!(
        stderr(&out).contains("warning: the package comes from cluster `cn-shanghai-mc-01`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_first_failing_check_is_the_one_reported() {
    let env = TestEnv::new();
    setup(&env);
    let file = package(&env, "p.dp", &[]);
    // Another platform version and another engine: check 2 is reported.
    env.ferry()
        .args(["tenant", "init", "sqlite:two.db", "--name", "two"])
        .args(["--platform-version", "4.6.0", "--engine", "hive"])
        .args(["--engine-mode", "single", "--cluster", "cn-shanghai-mc-01"])
        .assert()
        .success();
    configure(&env, "sqlite:two.db", CREDENTIAL);
    let err = refused(&env, "sqlite:two.db", "check 2 (platform version)", || {
        import(&env, &file, &["--to", "sqlite:two.db"])
    });
    assert!(!err.contains("check 3"), "{err}");
    // And another credential too: check 1 comes first.
    configure(
        &env,
        "sqlite:two.db",
        "another-credential-of-the-same-length",
    );
    refused(&env, "sqlite:two.db", "check 1 (credential)", || {
        import(&env, &file, &["--to", "sqlite:two.db"])
    });
}

#[test]
fn a_custom_data_source_type_missing_or_with_another_code_is_refused_by_check_6() {
    let env = TestEnv::new();
    let prod = setup(&env);
    // Without its type, into a tenant that lacks it.
    let file = package(&env, "ds.dp", &["--select", "data_source/pos_smartpos"]);
    let err = refused(&env, &prod, "check 6 (data-source type codes)", || {
        import(&env, &file, &["--to", &prod])
    });
    assert!(
        err.contains(
            "custom type data_source_type/smartpos_v3 is in neither the package nor tenant"
        ),
        "{err}"
    );
    // The destination has the type with another code.
    let ty = env.read("repo/objects/global/data_source_type/smartpos_v3.toml");
    let code = ty
        .lines()
        .find(|l| l.starts_with("type_code"))
        .unwrap()
        .to_string();
    env.write(
        "other/smartpos_v3.toml",
        &ty.replace(&code, "type_code = \"OTHER_CODE\""),
    );
    env.ferry()
        .args(["object", "put", "--tenant", &prod])
        .arg(env.path().join("other/smartpos_v3.toml"))
        .assert()
        .success();
    let file = package(&env, "both.dp", &["--select", "+data_source/pos_smartpos"]);
    let err = refused(&env, &prod, "check 6 (data-source type codes)", || {
        import(&env, &file, &["--to", &prod])
    });
    assert!(err.contains("`OTHER_CODE` in tenant"), "{err}");
}

#[test]
fn a_reference_that_resolves_nowhere_is_refused_by_check_7() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let file = package(
        &env,
        "t.dp",
        &["--select", "compute_task/retail_dw/dim_member_df"],
    );
    let err = refused(&env, &prod, "check 7 (references)", || {
        import(&env, &file, &["--to", &prod])
    });
    assert!(err.contains("compute_task/retail_dw/dim_member_df /project → project/retail_dw: in neither the package nor tenant"), "{err}");
}

#[test]
fn a_deletion_an_unchanged_destination_object_still_refers_to_is_refused_by_check_7() {
    let env = TestEnv::new();
    let prod = setup(&env);
    env.ferry()
        .args(["apply", "--to", &prod, "--auto-approve"])
        .current_dir(env.path().join("repo"))
        .assert()
        .success();
    // In the destination only, a fact table comes to refer to the activity the package deletes.
    let got = env
        .ferry()
        .args(["object", "get", "--tenant", &prod])
        .arg("logical_fact_table/retail_dw/fct_payment")
        .assert()
        .success();
    let edited = stdout(&got).replace(
        "business_activity = \"business_activity/pay_order\"",
        "business_activity = \"business_activity/order_to_cash\"",
    );
    env.write("fct_payment.toml", &edited);
    env.ferry()
        .args(["object", "put", "--tenant", &prod, "fct_payment.toml"])
        .assert()
        .success();
    four_changes(&env);
    let inc = package(&env, "inc.dp", &["--since", "HEAD~1"]);
    let err = refused(&env, &prod, "check 7 (references)", || {
        import(&env, &inc, &["--to", &prod])
    });
    assert!(
        err.contains("logical_fact_table/retail_dw/fct_payment → business_activity/order_to_cash: the package deletes business_activity/order_to_cash, which logical_fact_table/retail_dw/fct_payment in tenant"),
        "{err}"
    );
}

#[test]
fn a_secret_without_a_source_value_is_refused_by_check_8() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let repo = env.path().join("repo");
    env.write(
        "repo/environments/prod.toml",
        &format!(
            "tenant = \"{prod}\"\n\n[[secret]]\nselect = \"data_source/orders_mysql\"\nfield = \"/spec/connection/password\"\nenv = \"PROD_MYSQL_PASSWORD\"\n"
        ),
    );
    git(&repo, &["add", "environments"]);
    git(&repo, &["commit", "-qm", "prod"]);
    let file = package(&env, "p.dp", &[]);
    let err = refused(&env, &prod, "check 8 (secrets)", || {
        import(&env, &file, &["--env", "prod"])
    });
    assert!(err.contains("data_source/orders_mysql /spec/connection/password: environment variable PROD_MYSQL_PASSWORD is not set (environments/prod.toml:3)"), "{err}");
    let out = env
        .ferry()
        .arg("import")
        .arg(&file)
        .args(["--env", "prod"])
        .env(VAR, CREDENTIAL)
        .env("PROD_MYSQL_PASSWORD", "s3cret-value")
        .assert()
        .success();
    assert!(stdout(&out).contains("passed check 8 (secrets)"));
    assert!(!stdout(&out).contains("s3cret") && !stderr(&out).contains("s3cret"));
    let err = stderr(&import(&env, &file, &["--env", "nope"]).failure());
    assert!(
        err.contains("no environment `nope`") && err.contains("(environments there: prod)"),
        "{err}"
    );
}

#[test]
fn packages_older_than_the_retention_are_removed_at_the_next_import() {
    let env = TestEnv::new();
    let prod = setup(&env);
    env.ferry()
        .args(["tenant", "settings", &prod, "--retention-days", "7"])
        .assert()
        .success();
    let file = package(&env, "w.dp", &["--select", "kind:word_root"]);
    let first = stdout(&import(&env, &file, &["--to", &prod]).success());
    assert!(!first.contains("removed"), "{first}");
    let id = first
        .split("as package ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string();
    let out = env
        .ferry()
        .arg("import")
        .arg(&file)
        .args(["--to", &prod])
        .env(VAR, CREDENTIAL)
        .env("FERRY_NOW", "2026-12-31T00:00:00Z")
        .assert()
        .success();
    let said = stdout(&out);
    assert!(
        said.contains("removed 1 package(s) imported more than 7 day(s) ago"),
        "{said}"
    );
    assert!(said.contains(&format!("  {id} w.dp (imported ")), "{said}");
}

#[test]
fn a_package_carries_the_environment_files_and_custom_kind_schemas_only() {
    let env = TestEnv::new();
    let prod = setup(&env);
    let repo = env.path().join("repo");
    let schema = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "additionalProperties": false, "required": ["kind", "name", "spec"],
  "properties": {
    "kind": {"const": "dashboard"}, "guid": {"type": "string"}, "name": {"type": "string"},
    "spec": {"type": "object", "additionalProperties": false, "properties": {"segment": {"type": "string"}}}
  },
  "x-ferry": {"category": "global", "scope": "tenant", "references": {"/spec/segment": ["data_segment"]}}
}"#;
    env.write("repo/schemas/kinds/dashboard.schema.json", schema);
    env.write(
        "repo/objects/global/dashboard/board.toml",
        "kind = \"dashboard\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a03\"\nname = \"board\"\n\n[spec]\nsegment = \"data_segment/retail\"\n",
    );
    env.write(
        "repo/environments/prod.toml",
        &format!("tenant = \"{prod}\"\n"),
    );
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "a custom kind"]);
    let file = package(&env, "p.dp", &[]);
    let m = manifest(&file);
    let files: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        files,
        [
            "environments/prod.toml",
            "schemas/kinds/dashboard.schema.json"
        ]
    );
    assert!(m.objects.iter().any(|o| o.address == "dashboard/board"));
    // The destination reads the custom kind from the package.
    import(&env, &file, &["--env", "prod"]).success();
}
