//! `ferry review` (issue 16, points 1 and 4): one pull-request comment with the plan of every
//! environment, for the retail example's second change (edits, a rename, a delete and a secret
//! rotation) against test and prod, as examples/promote.sh makes it.

use std::path::{Path, PathBuf};

use crate::common::{git, source_dir, stderr, stdout, tenant, TestEnv};
use crate::plan::promoted_setup;

/// The secrets CI holds for test and prod (values never shown); `rotated` changes the CRM
/// passwords.
fn secrets(rotated: bool) -> Vec<(&'static str, &'static str)> {
    vec![
        ("FERRY_TEST_ORDERS_MYSQL_PASSWORD", "test-orders-pw"),
        (
            "FERRY_TEST_CRM_PASSWORD",
            if rotated {
                "test-crm-pw-2"
            } else {
                "test-crm-pw"
            },
        ),
        ("FERRY_PROD_ORDERS_MYSQL_PASSWORD", "prod-orders-pw"),
        (
            "FERRY_PROD_CRM_PASSWORD",
            if rotated {
                "prod-crm-pw-2"
            } else {
                "prod-crm-pw"
            },
        ),
        ("FERRY_PROD_MC_ACCESS_KEY_SECRET", "prod-mc-secret"),
    ]
}

/// `ferry ARGS` in the repository with CI's secrets.
fn ferry(env: &TestEnv, rotated: bool) -> assert_cmd::Command {
    let mut cmd = env.ferry();
    cmd.current_dir(env.path().join("repo"));
    for (k, v) in secrets(rotated) {
        cmd.env(k, v);
    }
    cmd
}

fn edit(repo: &Path, rel: &str, from: &str, to: &str) {
    let path = repo.join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{rel} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The example promoted to test and prod through its environment files, then its second change
/// committed (as examples/promote.sh makes it): a task's SQL and schedule edited, a data source
/// renamed (its dependent follows), a quality rule deleted with the template only it used.
/// Returns the repository.
fn second_change(env: &TestEnv) -> PathBuf {
    promoted_setup(env);
    tenant(env, "test");
    let repo = env.path().join("repo");
    for name in ["dev", "test", "prod"] {
        let text = std::fs::read_to_string(
            source_dir().join(format!("examples/retail/environments/{name}.toml")),
        )
        .unwrap();
        env.write(&format!("repo/environments/{name}.toml"), &text);
        env.write(
            &format!("secrets/{name}/crm-root.crt"),
            &format!("-----BEGIN CERTIFICATE-----\n({name} CA)\n-----END CERTIFICATE-----\n"),
        );
    }
    git(&repo, &["add", "environments"]);
    git(
        &repo,
        &["commit", "-q", "-m", "Environments: test and prod"],
    );
    for name in ["test", "prod"] {
        ferry(env, false)
            .args(["apply", "--env", name, "--auto-approve"])
            .assert()
            .success();
    }
    let task = "objects/development/compute_task/retail_dw/ads_inventory_month_end.toml";
    edit(
        &repo,
        task,
        "WHERE   f.ds = '${month_end}'\n",
        "WHERE   f.ds = '${month_end}'\nAND     f.onhand_qty > 0\n",
    );
    edit(
        &repo,
        task,
        "cron = \"0 0 4 1 * ?\"",
        "cron = \"0 0 5 1 * ?\"",
    );
    let source = "objects/global/data_source/holo_retail.toml";
    edit(
        &repo,
        source,
        "name = \"holo_retail\"",
        "name = \"holo_serving\"",
    );
    git(
        &repo,
        &["mv", source, "objects/global/data_source/holo_serving.toml"],
    );
    edit(
        &repo,
        "objects/development/realtime_task/retail_rt/rt_store_live_sales.toml",
        "\"data_source/holo_retail\"",
        "\"data_source/holo_serving\"",
    );
    git(
        &repo,
        &[
            "rm",
            "-q",
            "objects/quality/quality_rule/fct_payment_channel_not_null.toml",
            "objects/quality/rule_template/null_ratio_threshold.toml",
        ],
    );
    git(&repo, &["commit", "-q", "-am", "The second change"]);
    repo
}

const REVIEW: [&str; 7] = [
    "review",
    "--env",
    "test",
    "--env",
    "prod",
    "--prune",
    "--out-dir=../plans",
];

/// The comment for the second change against test and prod, pinned: prod's guard refuses the
/// rename of a protected data source, so the comment says so and the exit code is 1 after it.
#[test]
fn the_review_comment_of_the_second_change() {
    let env = TestEnv::new();
    second_change(&env);
    let said = env.run(ferry(&env, true).args(REVIEW));
    assert!(
        said.starts_with("exit: 1\n--- stdout\n<!-- ferry:review -->\n"),
        "{said}"
    );
    for secret in ["test-crm-pw-2", "prod-crm-pw-2", "prod-mc-secret", "CA)"] {
        assert!(!said.contains(secret), "{said}");
    }
    insta::assert_snapshot!("review_second_change", said);
    // Only the plan the guards let pass is saved.
    assert!(env.path().join("plans/test.plan.json").exists());
    assert!(!env.path().join("plans/prod.plan.json").exists());
}

/// A secret whose value this job does not hold is `not checked`, never a failure of the review.
#[test]
fn a_secret_the_job_does_not_hold_is_not_checked() {
    let env = TestEnv::new();
    second_change(&env);
    let out = ferry(&env, true)
        .env_remove("FERRY_TEST_CRM_PASSWORD")
        .args(["review", "--env", "test"])
        .assert()
        .success();
    assert!(
        stdout(&out).contains("| `data_source/crm_postgresql` | `/spec/connection/password` | not checked (this job holds no value) | environment variable `FERRY_TEST_CRM_PASSWORD` |"),
        "{}",
        stdout(&out)
    );
}

/// --detailed-exitcode: 0 without changes, 2 with changes and no deletes, 3 with deletes; 1 when
/// a guard refused (whatever the flag); 0 without the flag.
#[test]
fn review_exit_codes() {
    let env = TestEnv::new();
    second_change(&env);
    let code = |args: &[&str]| {
        let out = ferry(&env, false).args(args).output().unwrap();
        out.status.code()
    };
    let test = ["review", "--env", "test", "--detailed-exitcode"];
    assert_eq!(code(&[&test[..], &["--ref", "HEAD~1"]].concat()), Some(0));
    // Without --prune the removed objects are kept: a rename and an update.
    assert_eq!(code(&test), Some(2));
    assert_eq!(code(&[&test[..], &["--prune"]].concat()), Some(3));
    assert_eq!(code(&["review", "--env", "test", "--prune"]), Some(0));
    assert_eq!(
        code(&[
            "review",
            "--env",
            "test",
            "--env",
            "prod",
            "--prune",
            "--detailed-exitcode"
        ]),
        Some(1)
    );
    // The same environment twice is an error that says what to do.
    let out = ferry(&env, false)
        .args(["review", "--env", "test", "--env", "test"])
        .assert()
        .code(1);
    assert!(
        stderr(&out)
            .contains("error: environment `test` is named twice\n  hint: give each --env once"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    // A package has no pull request: review plans revisions.
    let out = ferry(&env, false)
        .args(["review", "--env", "test", "--package", "x.ferrypkg"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains(
            "error: ferry review plans a revision of the repository (--ref), not a package"
        ),
        "{}",
        stderr(&out)
    );
}

/// `--out-dir` saves each plan as `ferry plan --env E --out` does, byte for byte, and
/// `ferry apply DIR/E.plan.json` applies it; `--summary` appends the same comment to a file.
#[test]
fn saved_plans_apply_and_the_summary_appends_the_comment() {
    let env = TestEnv::new();
    second_change(&env);
    let summary = env.write("summary.md", "earlier step\n");
    let out = ferry(&env, true)
        .args([
            "review",
            "--env",
            "test",
            "--prune",
            "--out-dir",
            "../plans",
        ])
        .arg("--summary")
        .arg(&summary)
        .assert()
        .success();
    let comment = stdout(&out);
    assert_eq!(
        std::fs::read_to_string(&summary).unwrap(),
        format!("earlier step\n{comment}")
    );
    assert!(
        stderr(&out).contains("saved the plan of test to ../plans/test.plan.json; apply it with `ferry apply ../plans/test.plan.json`"),
        "{}",
        stderr(&out)
    );
    ferry(&env, true)
        .args(["plan", "--env", "test", "--prune", "--out", "../plan.json"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(env.path().join("plans/test.plan.json")).unwrap(),
        std::fs::read(env.path().join("plan.json")).unwrap()
    );
    ferry(&env, true)
        .args(["apply", "../plans/test.plan.json"])
        .assert()
        .success();
    let out = ferry(&env, true)
        .args(["review", "--env", "test", "--prune", "--detailed-exitcode"])
        .assert()
        .success();
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
}

/// A tool a structure test needs, installed by `install`: `Some` when it runs, else `None`
/// with a visible skip (a failure when `CI` is set: `.ci/run` installs it).
fn tool(name: &str, install: &str) -> Option<()> {
    let found = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} is not installed: .ci/run installs it ({install})"
    );
    eprintln!("SKIPPED: {name} is not installed ({install}); this check of the review comment does not run");
    None
}

/// The lines of each `<pre><code class="language-LANG">` block of rendered HTML, unescaped.
fn code_blocks(html: &str, lang: &str) -> Vec<Vec<String>> {
    let open = format!("<pre><code class=\"language-{lang}\">");
    html.split(&open)
        .skip(1)
        .map(|rest| {
            let code = rest.split("</code></pre>").next().unwrap_or_default();
            code.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
                .lines()
                .map(String::from)
                .collect()
        })
        .collect()
}

/// Checks a Mermaid block against the subset of the grammar ferry writes: `flowchart LR`, node
/// declarations `nI["LABEL"]` (a label without `"`), and edges `nI --> nJ` between declared
/// nodes. (The real parser, `mmdc -i`, is the manual check README describes.)
fn check_mermaid(lines: &[String]) {
    assert_eq!(
        lines.first().map(String::as_str),
        Some("flowchart LR"),
        "{lines:?}"
    );
    let mut nodes = std::collections::HashSet::new();
    for line in &lines[1..] {
        let line = line.trim();
        if let Some((id, label)) = line.split_once("[\"") {
            assert!(
                id.starts_with('n') && id[1..].parse::<usize>().is_ok(),
                "{line}"
            );
            let label = label
                .strip_suffix("\"]")
                .unwrap_or_else(|| panic!("{line}"));
            assert!(!label.contains('"'), "{line}");
            nodes.insert(id.to_string());
        } else if let Some((a, b)) = line.split_once(" --> ") {
            assert!(
                nodes.contains(a) && nodes.contains(b),
                "{line}: undeclared node"
            );
        } else {
            panic!("not in ferry's Mermaid subset: {line}");
        }
    }
}

/// The comment as GitHub shows it (cmark-gfm, GitHub's own renderer): its tables are tables,
/// every `<details>` closes, every diff block is a `language-diff` block whose lines start in
/// column 0 with `+`, `-`, `@` or a space (and has changed lines), every Mermaid block is in
/// ferry's subset of the grammar.
#[test]
fn the_comment_renders_as_github_shows_it() {
    if tool("cmark-gfm", "apt-get install -y cmark-gfm").is_none() {
        return;
    }
    let env = TestEnv::new();
    second_change(&env);
    let out = ferry(&env, true).args(REVIEW).assert().code(1);
    let comment = stdout(&out);
    let rendered = std::process::Command::new("cmark-gfm")
        .args(["--extension", "table", "--unsafe"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(comment.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(rendered.status.success());
    let html = String::from_utf8(rendered.stdout).unwrap();
    // The overview, and per environment its categories and its secrets.
    let tables = comment.matches("\n| --- |").count();
    assert_eq!(tables, 5, "{comment}");
    assert_eq!(html.matches("<table>").count(), tables, "{html}");
    assert!(!html.contains("| --- |"), "a table left as text:\n{html}");
    assert!(html.starts_with("<!-- ferry:review -->\n"), "{html}");
    assert_eq!(
        html.matches("<details>").count(),
        html.matches("</details>").count(),
        "{html}"
    );
    assert!(html.matches("<details>").count() >= 8, "{html}");
    let diffs = code_blocks(&html, "diff");
    assert_eq!(diffs.len(), 2, "{html}");
    for block in &diffs {
        for line in block {
            assert!(
                line.starts_with(['+', '-', '@', ' ']),
                "`{line}` in {block:?}"
            );
        }
        assert!(
            block
                .iter()
                .any(|l| l.starts_with("+ /spec/schedule/cron = ")),
            "{block:?}"
        );
        assert!(
            block
                .iter()
                .any(|l| l.starts_with("- /spec/schedule/cron = ")),
            "{block:?}"
        );
        assert!(
            block.contains(&"+AND     f.onhand_qty > 0".to_string()),
            "{block:?}"
        );
    }
    let graphs = code_blocks(&html, "mermaid");
    assert_eq!(graphs.len(), 2, "{html}");
    for graph in &graphs {
        check_mermaid(graph);
    }
}

/// The example's comment's Mermaid blocks parse with the real Mermaid parser: `mmdc`
/// (npm `@mermaid-js/mermaid-cli`, which `.ci/run` installs) renders each with the system's
/// chromium, and fails on a block that does not parse.
#[test]
fn every_mermaid_block_parses_with_mermaid() {
    if tool(
        "mmdc",
        "npm i @mermaid-js/mermaid-cli with PUPPETEER_SKIP_DOWNLOAD=1, and apt-get install -y chromium",
    )
    .is_none()
    {
        return;
    }
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let path = String::from_utf8(out.stdout).ok()?;
            (out.status.success() && !path.trim().is_empty()).then(|| path.trim().to_string())
        });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed: .ci/run installs it (apt-get install -y chromium)"
        );
        eprintln!("SKIPPED: chromium is not installed; the Mermaid blocks are not parsed");
        return;
    };
    let env = TestEnv::new();
    second_change(&env);
    let out = ferry(&env, true).args(REVIEW).assert().code(1);
    let comment = env.write("comment.md", &stdout(&out));
    let config = env.write(
        "puppeteer.json",
        &serde_json::json!({"executablePath": browser, "args": ["--no-sandbox"]}).to_string(),
    );
    let rendered = std::process::Command::new("mmdc")
        .arg("-p")
        .arg(&config)
        .arg("-i")
        .arg(&comment)
        .arg("-o")
        .arg(env.path().join("rendered.md"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&rendered.stdout),
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(rendered.status.success(), "{said}");
    assert!(said.contains("Found 2 mermaid charts"), "{said}");
    // A block it cannot parse fails it: the check can fail.
    let bad = env.write("bad.mmd", "flowchart LR\n  n0[\"a\"]\n  n0 -->\n");
    let status = std::process::Command::new("mmdc")
        .arg("-p")
        .arg(&config)
        .arg("-i")
        .arg(&bad)
        .arg("-o")
        .arg(env.path().join("bad.svg"))
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}
