use crate::common::{git, source_dir, stderr, text, TestEnv};

#[test]
fn the_retail_example_is_valid() {
    let env = TestEnv::new();
    let out = env
        .ferry()
        .args(["validate", "--repo"])
        .arg(source_dir().join("examples/retail"))
        .assert()
        .success();
    let stderr = text(&out.get_output().stderr, &env);
    assert!(
        stderr.starts_with("checked the working tree (")
            && stderr.contains("\nok: ")
            && stderr.ends_with(" objects valid\n"),
        "{stderr}"
    );
}

/// Every folder of examples/broken shows exactly the problem it is named after; the messages
/// are held in one snapshot.
#[test]
fn each_broken_example_fails_with_its_own_problem() {
    let env = TestEnv::new();
    let broken = source_dir().join("examples/broken");
    let mut cases: Vec<_> = std::fs::read_dir(&broken)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 12,
        "examples/broken holds a case per problem code"
    );
    let mut all = String::new();
    for case in &cases {
        let dir = env.copy_example(&format!("examples/broken/{case}"));
        let out = env
            .ferry()
            .arg("validate")
            .current_dir(&dir)
            .assert()
            .code(1);
        let stderr = text(&out.get_output().stderr, &env);
        let codes: std::collections::BTreeSet<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("error["))
            .filter_map(|l| l.split(']').next())
            .collect();
        assert_eq!(
            codes.into_iter().collect::<Vec<_>>(),
            vec![case.as_str()],
            "{case}:\n{stderr}"
        );
        all.push_str(&format!("── {case}\n{stderr}"));
    }
    insta::assert_snapshot!("broken_examples", all);
}

fn repo_with(env: &TestEnv, files: &[(&str, &str)]) -> std::path::PathBuf {
    env.ferry().args(["init", "tenant"]).assert().success();
    for (path, text) in files {
        env.write(&format!("tenant/{path}"), text);
    }
    env.path().join("tenant")
}

const SEGMENT: &str = "kind = \"data_segment\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a01\"\nname = \"retail\"\n\n[spec]\ndisplay_name = \"Retail\"\nprefix = \"rt\"\n";

#[test]
fn schema_problems_name_the_field_and_line() {
    let env = TestEnv::new();
    let project = "kind = \"project\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a02\"\nname = \"sales\"\n\n[spec]\ndisplay_name = \"Sales\"\nmode = \"sometimes\"\ncompute_sources = []\n";
    let root = repo_with(&env, &[("objects/global/project/sales.toml", project)]);
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(stderr.contains("error[schema]: objects/global/project/sales.toml:7:1: project/sales: /spec/mode: \"sometimes\" is not one of"), "{stderr}");
    assert!(stderr.contains("error[schema]: objects/global/project/sales.toml:8:1: project/sales: /spec/compute_sources: [] has less than 1 item"), "{stderr}");
    assert!(
        stderr.contains("hint: see schemas/kinds/project.schema.json"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("error: 2 problems in 1 file\n"),
        "{stderr}"
    );
}

#[test]
fn json_report_follows_its_schema() {
    let env = TestEnv::new();
    let root = repo_with(&env, &[("objects/global/data_segment/wrong.toml", SEGMENT)]);
    let out = env
        .ferry()
        .args(["validate", "--format", "json"])
        .current_dir(&root)
        .assert()
        .code(1);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(report["problems"][0]["code"], "path");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(source_dir().join("schemas/output/validate.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(jsonschema::is_valid(&schema, &report), "{report:#}");
}

#[test]
fn validate_reads_a_revision_without_checking_it_out() {
    let env = TestEnv::new();
    let root = repo_with(
        &env,
        &[("objects/global/data_segment/retail.toml", SEGMENT)],
    );
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "segment"]);
    env.write(
        "tenant/objects/global/data_segment/retail.toml",
        "kind = \"data_segment\"\nname = [\n",
    );
    env.ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let out = env
        .ferry()
        .args(["validate", "--ref", "HEAD"])
        .current_dir(&root)
        .assert()
        .success();
    let said = text(&out.get_output().stderr, &env);
    assert!(
        said.starts_with("checked HEAD (commit ")
            && said.ends_with(", 1 object file)\nok: 1 objects valid\n"),
        "{said}"
    );
    assert_eq!(
        env.read("tenant/objects/global/data_segment/retail.toml"),
        "kind = \"data_segment\"\nname = [\n",
        "working tree untouched"
    );
}

/// Issue 18, point 3: validate says on stderr what it checked: the working tree (and whether it
/// has uncommitted object changes, so HEAD may differ) or the revision and its commit; stdout
/// keeps only the JSON report.
#[test]
fn validate_says_whether_it_checked_the_working_tree_or_a_revision() {
    let env = TestEnv::new();
    let root = repo_with(
        &env,
        &[("objects/global/data_segment/retail.toml", SEGMENT)],
    );
    let mut said = String::new();
    let mut run = |args: &[&str]| {
        let out = env.run(env.ferry().args(args).current_dir(&root));
        said.push_str(&format!("$ ferry {}\n{out}\n", args.join(" ")));
    };
    run(&["validate"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "segment"]);
    run(&["validate"]);
    env.write(
        "tenant/objects/global/data_segment/outlet.toml",
        &SEGMENT
            .replace("retail", "outlet")
            .replace("1a01", "1a09")
            .replace("\"rt\"", "\"ot\""),
    );
    run(&["validate"]);
    run(&["validate", "--ref", "HEAD"]);
    let head = crate::common::git_output(&root, &["rev-parse", "HEAD"]);
    insta::assert_snapshot!("what_was_checked", said.replace(&head[..12], "[COMMIT]"));
    let out = env
        .ferry()
        .args(["validate", "--format", "json"])
        .current_dir(&root)
        .assert()
        .success();
    let report: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("stdout is the JSON report");
    assert_eq!(report["objects"], 2, "{report}");
}

#[test]
fn unknown_revision_is_an_error_with_a_hint() {
    let env = TestEnv::new();
    let root = repo_with(&env, &[]);
    let out = env
        .ferry()
        .args(["validate", "--ref", "no-such-branch"])
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(
        stderr.starts_with("error: git revision `no-such-branch` not found in "),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: check the branch, tag or commit id"),
        "{stderr}"
    );
}

#[test]
fn outside_a_repository_says_to_run_init() {
    let env = TestEnv::new();
    let out = env.ferry().arg("validate").assert().code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(
        stderr.starts_with(
            "error: no ferry.toml in [TMP] or any folder above it\n  hint: run `ferry init`"
        ),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_1() {
    let env = TestEnv::new();
    env.ferry()
        .args(["validate", "--no-such-flag"])
        .assert()
        .code(1);
    env.ferry().arg("--help").assert().success();
}

#[test]
fn repositories_may_add_their_own_kinds() {
    let env = TestEnv::new();
    let schema = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "additionalProperties": false, "required": ["kind", "name", "spec"],
  "properties": {
    "kind": {"const": "dashboard"}, "guid": {"type": "string"}, "name": {"type": "string"},
    "spec": {"type": "object", "additionalProperties": false, "properties": {"segment": {"type": "string"}}}
  },
  "x-ferry": {"category": "global", "scope": "tenant", "references": {"/spec/segment": ["data_segment"]}}
}"#;
    let dashboard = "kind = \"dashboard\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a03\"\nname = \"board\"\n\n[spec]\nsegment = \"data_segment/retail\"\n";
    let root = repo_with(
        &env,
        &[
            ("schemas/kinds/dashboard.schema.json", schema),
            ("objects/global/data_segment/retail.toml", SEGMENT),
            ("objects/global/dashboard/board.toml", dashboard),
        ],
    );
    env.ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .success();
    env.write(
        "tenant/schemas/kinds/dashboard.schema.json",
        &schema.replace("data_segment\"]", "no_such_kind\"]"),
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(stderr.starts_with("error: kind schema schemas/kinds/dashboard.schema.json: kind `dashboard`: reference /spec/segment names unknown kind `no_such_kind`"), "{stderr}");
}

/// A custom kind must be usable as a path segment, and its scope must agree with its schema.
#[test]
fn a_custom_kind_named_dot_dot_or_project_scoped_without_a_project_is_refused() {
    let env = TestEnv::new();
    let schema = |kind: &str, scope: &str, project: bool| {
        let (property, required) = if project {
            (r#""project": {"type": "string"}, "#, r#", "project""#)
        } else {
            ("", "")
        };
        format!(
            r#"{{"type": "object", "additionalProperties": false, "required": ["kind", "name", "spec"{required}],
  "properties": {{"kind": {{"const": "{kind}"}}, "guid": {{"type": "string"}}, "name": {{"type": "string"}}, {property}"spec": {{"type": "object"}}}},
  "x-ferry": {{"category": "global", "scope": "{scope}"}}}}"#
        )
    };
    let root = repo_with(&env, &[]);
    let cases = [
        (
            "...schema.json",
            schema("..", "tenant", false),
            "error: kind schema schemas/kinds/...schema.json: kind name `..` (the file name before .schema.json) must be lower-case letters, digits and `_`",
        ),
        (
            "widget.schema.json",
            schema("widget", "project", false),
            "error: kind schema schemas/kinds/widget.schema.json: `scope: project` needs a `project` property the schema requires",
        ),
        (
            "widget.schema.json",
            schema("widget", "tenant", true),
            "error: kind schema schemas/kinds/widget.schema.json: a `project` property needs `scope: project`",
        ),
    ];
    for (file, text, expected) in cases {
        let path = root.join("schemas/kinds").join(file);
        std::fs::write(&path, text).unwrap();
        let out = env
            .ferry()
            .arg("validate")
            .current_dir(&root)
            .assert()
            .code(1);
        let stderr = text_of(&out, &env);
        assert!(stderr.starts_with(expected), "{stderr}");
        std::fs::remove_file(&path).unwrap();
    }
    // With the project in the schema, a project-scoped kind's object needs one.
    std::fs::write(
        root.join("schemas/kinds/widget.schema.json"),
        schema("widget", "project", true),
    )
    .unwrap();
    env.write(
        "tenant/objects/global/widget/w.toml",
        "kind = \"widget\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a04\"\nname = \"w\"\n\n[spec]\n",
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text_of(&out, &env);
    assert!(stderr.contains("objects/global/widget/w.toml"), "{stderr}");
    assert!(stderr.contains("project"), "{stderr}");
}

fn text_of(out: &assert_cmd::assert::Assert, env: &TestEnv) -> String {
    text(&out.get_output().stderr, env)
}

fn problem_codes(stderr: &str) -> Vec<&str> {
    let mut codes: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error["))
        .filter_map(|l| l.split(']').next())
        .collect();
    codes.sort();
    codes
}

#[test]
fn a_copied_file_shows_every_problem_it_causes() {
    let env = TestEnv::new();
    let root = repo_with(
        &env,
        &[
            ("objects/global/data_segment/retail.toml", SEGMENT),
            ("objects/global/data_segment/retail_copy.toml", SEGMENT),
        ],
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert_eq!(
        problem_codes(&stderr),
        ["duplicate-address", "duplicate-guid", "path"],
        "{stderr}"
    );
}

#[test]
fn addresses_that_differ_only_in_case_collide() {
    let env = TestEnv::new();
    let upper = SEGMENT
        .replace("\"retail\"", "\"Retail\"")
        .replace("1a01", "1a09");
    let root = repo_with(
        &env,
        &[
            ("objects/global/data_segment/retail.toml", SEGMENT),
            ("objects/global/data_segment/Retail.toml", &upper),
        ],
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(stderr.contains("error[duplicate-address]: objects/global/data_segment/retail.toml:3:1: data_segment/retail: data_segment/retail differs from data_segment/Retail only in letter case"), "{stderr}");
}

#[test]
fn addresses_that_differ_only_in_unicode_normalisation_collide() {
    let env = TestEnv::new();
    let (nfc, nfd) = ("caf\u{e9}", "cafe\u{301}");
    let named = |name: &str, guid: &str| {
        SEGMENT
            .replace("\"retail\"", &format!("\"{name}\""))
            .replace("1a01", guid)
    };
    let root = repo_with(
        &env,
        &[
            (
                &format!("objects/global/data_segment/{nfc}.toml"),
                &named(nfc, "1a08"),
            ),
            (
                &format!("objects/global/data_segment/{nfd}.toml"),
                &named(nfd, "1a09"),
            ),
        ],
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(
        stderr.contains("only in letter case or Unicode normalisation (NFC/NFD)"),
        "{stderr}"
    );
}

#[test]
fn objects_with_file_problems_still_take_part_in_the_checks() {
    let env = TestEnv::new();
    let area = "kind = \"subject_area\"\nname = \"trade\"\n\n[spec]\ndisplay_name = \"Trade\"\ndata_segment = \"data_segment/nowhere\"\n";
    let root = repo_with(
        &env,
        &[("objects/architecture/subject_area/trade.toml", area)],
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert_eq!(
        problem_codes(&stderr),
        ["missing-guid", "missing-reference"],
        "{stderr}"
    );
}

#[test]
fn an_unreadable_file_does_not_cascade_into_missing_references() {
    let env = TestEnv::new();
    let area = "kind = \"subject_area\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a05\"\nname = \"trade\"\n\n[spec]\ndisplay_name = \"Trade\"\ndata_segment = \"data_segment/retail\"\n";
    let root = repo_with(
        &env,
        &[
            (
                "objects/global/data_segment/retail.toml",
                &format!("{SEGMENT}oops =\n"),
            ),
            ("objects/architecture/subject_area/trade.toml", area),
        ],
    );
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert_eq!(problem_codes(&stderr), ["syntax"], "{stderr}");
}

#[test]
fn hidden_files_and_links_are_stray() {
    let env = TestEnv::new();
    let root = repo_with(
        &env,
        &[("objects/global/data_segment/.retail.toml", SEGMENT)],
    );
    std::os::unix::fs::symlink("/etc/hostname", root.join("objects/global/link.toml")).unwrap();
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(
        stderr
            .contains("error[stray-file]: objects/global/data_segment/.retail.toml: a hidden file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error[stray-file]: objects/global/link.toml: a symbolic link"),
        "{stderr}"
    );
}

#[test]
fn unknown_top_level_fields_are_errors_and_fmt_keeps_them() {
    let env = TestEnv::new();
    let typo = SEGMENT.replace("[spec]", "projet = \"sales\"\n\n[spec]");
    let root = repo_with(&env, &[("objects/global/data_segment/retail.toml", &typo)]);
    let out = env
        .ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .code(1);
    let stderr = text(&out.get_output().stderr, &env);
    assert!(stderr.contains("error[schema]: objects/global/data_segment/retail.toml:5:1: data_segment/retail: /projet:"), "{stderr}");
    let out = env.ferry().arg("fmt").current_dir(&root).assert().code(1);
    assert!(text(&out.get_output().stderr, &env).contains("unknown top-level field `projet`"));
    assert_eq!(
        env.read("tenant/objects/global/data_segment/retail.toml"),
        typo
    );
}

#[test]
fn a_bare_repository_is_read_at_a_revision() {
    let env = TestEnv::new();
    let root = repo_with(
        &env,
        &[("objects/global/data_segment/retail.toml", SEGMENT)],
    );
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "segment"]);
    git(env.path(), &["clone", "-q", "--bare", "tenant", "bare.git"]);
    let out = env
        .ferry()
        .args(["validate", "--ref", "HEAD", "--repo", "bare.git"])
        .assert()
        .success();
    let said = text(&out.get_output().stderr, &env);
    assert!(
        said.starts_with("checked HEAD (commit ")
            && said.ends_with(", 1 object file)\nok: 1 objects valid\n"),
        "{said}"
    );
}

/// The source facts in `ferry.toml` are checked: an engine mode other than single or multi, or
/// an empty fact, is an error naming the file and line; `tenant init` refuses such facts too.
#[test]
fn ferry_toml_with_an_unknown_engine_mode_or_empty_facts_is_refused() {
    let env = TestEnv::new();
    let root = repo_with(
        &env,
        &[("objects/global/data_segment/retail.toml", SEGMENT)],
    );
    let facts = "format_version = 1\n\n[source]\nname = \"dev\"\nplatform_version = \"4.5.0\"\nengine = \"maxcompute\"\nengine_mode = \"single\"\ncluster = \"c1\"\n";
    for (from, to, expected) in [
        (
            "engine_mode = \"single\"",
            "engine_mode = \"quantum\"",
            "error: ferry.toml:7:1: source.engine_mode is \"quantum\"; it must be \"single\" or \"multi\"",
        ),
        ("cluster = \"c1\"", "cluster = \"\"", "error: ferry.toml:8:1: source.cluster is empty"),
    ] {
        std::fs::write(root.join("ferry.toml"), facts.replace(from, to)).unwrap();
        let out = env
            .ferry()
            .arg("validate")
            .current_dir(&root)
            .assert()
            .code(1);
        let stderr = text_of(&out, &env);
        assert!(stderr.starts_with(expected), "{stderr}");
    }
    std::fs::write(root.join("ferry.toml"), facts).unwrap();
    env.ferry()
        .arg("validate")
        .current_dir(&root)
        .assert()
        .success();
    let out = env
        .ferry()
        .args(["tenant", "init", "sqlite:x.db", "--name", "x"])
        .args(["--platform-version", "4.5.0", "--engine", "maxcompute"])
        .args(["--engine-mode", "single", "--cluster", ""])
        .assert()
        .code(1);
    assert!(
        text_of(&out, &env).starts_with("error: tenant --cluster: "),
        "{}",
        text_of(&out, &env)
    );
    assert!(!env.path().join("x.db").exists());
}

/// Found by an attack on issue 14: a secret's value committed in an object file is an error of
/// `validate` (and so of every plan of that commit), naming the field and never the value.
#[test]
fn a_secret_value_in_a_repository_file_is_an_error_that_does_not_show_it() {
    let env = TestEnv::new();
    let repo = env.copy_example("examples/retail");
    let file = "retail/objects/global/data_source/holo_retail.toml";
    let text = env.read(file).replacen(
        "[spec.connection]\n",
        "[spec.connection]\npassword = \"hunter2-in-git\"\n",
        1,
    );
    env.write(file, &text);
    let out = env
        .ferry()
        .args(["validate"])
        .current_dir(&repo)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("error[secret-value]: objects/global/data_source/holo_retail.toml:")
            && err.contains("/spec/connection/password holds a value (not shown)"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    // The placeholder is fine.
    env.write(file, &text.replace("\"hunter2-in-git\"", "\"(sensitive)\""));
    env.ferry()
        .args(["validate"])
        .current_dir(&repo)
        .assert()
        .success();
}
