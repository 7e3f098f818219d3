//! Every command README.md shows to be run keeps working: the fenced blocks marked
//! `sh ferry-test` run with bash, the built `ferry` first on PATH, in a temporary folder holding a
//! copy of `examples/` (README's commands run from the checkout). Blocks that must not run here
//! (a build, or the quickstart's `cargo test`, which would run these tests again) are marked
//! `sh ferry-no-test`; every `sh` block carries one of the two marks.

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::common::{source_dir, TestEnv};

/// The mark of a block that is run.
const RUN: &str = "ferry-test";
/// The mark of a shell block that is not run.
const NO_RUN: &str = "ferry-no-test";
/// How long one block may take.
const BLOCK_TIME: Duration = Duration::from_secs(120);

/// A fenced code block: its info string, its first line's number in the file, its text.
struct Block {
    info: Vec<String>,
    line: usize,
    text: String,
}

/// The fenced blocks of a Markdown text (``` fences, not nested).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.split_whitespace().map(str::to_string).collect(),
                    line: i + 2,
                    text: String::new(),
                })
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    out
}

/// Runs `block` in a workplace of its own; `Err` with what it printed when it fails.
fn run(block: &Block) -> Result<(), String> {
    let env = TestEnv::new();
    env.copy_example("examples");
    let tmp = env.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let ferry = assert_cmd::cargo::cargo_bin("ferry");
    let bin = ferry.parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let script = format!("set -euxo pipefail\n{}", block.text);
    let output = tmp.join("output");
    let file = std::fs::File::create(&output).unwrap();
    let mut child = env
        .command("bash")
        .args(["-c", &script])
        .env("PATH", path)
        .env("TMPDIR", &tmp)
        .env("PS4", "+ ")
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("bash runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BLOCK_TIME {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut said = String::new();
    std::fs::File::open(&output)
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let said = crate::common::text(said.as_bytes(), &env);
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(format!("exited with {s}:\n{said}")),
        None => Err(format!(
            "took longer than {}s and was stopped:\n{said}",
            BLOCK_TIME.as_secs()
        )),
    }
}

#[test]
fn every_command_readme_shows_to_run_runs() {
    let readme = std::fs::read_to_string(source_dir().join("README.md")).unwrap();
    let blocks = blocks(&readme);
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in &blocks {
        let marked = |mark: &str| block.info.iter().any(|w| w == mark);
        if block.info.first().map(String::as_str) == Some("sh") && !marked(RUN) && !marked(NO_RUN) {
            failures.push(format!(
                "README.md:{}: a `sh` block needs `{RUN}` (run by this test) or `{NO_RUN}`:\n{}",
                block.line, block.text
            ));
            continue;
        }
        if !marked(RUN) {
            continue;
        }
        if let Some(cargo) = block
            .text
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == "cargo"))
        {
            failures.push(format!(
                "README.md:{}: a `{RUN}` block calls cargo (`{cargo}`): mark it `{NO_RUN}`",
                block.line
            ));
            continue;
        }
        ran += 1;
        if let Err(said) = run(block) {
            failures.push(format!(
                "README.md:{}: the block\n{}{said}",
                block.line, block.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 3, "only {ran} `{RUN}` blocks: were the marks lost?");
}

#[test]
fn blocks_are_found_with_their_marks_and_lines() {
    let found = blocks("text\n```sh ferry-test\nferry kinds\n```\n\n```toml\na = 1\n```\n");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].info, ["sh", RUN]);
    assert_eq!(found[0].line, 3);
    assert_eq!(found[0].text, "ferry kinds\n");
    assert_eq!(found[1].info, ["toml"]);
}

#[test]
fn a_failing_block_is_reported_with_what_it_printed() {
    let block = Block {
        info: vec!["sh".into(), RUN.into()],
        line: 1,
        text: "ferry kinds > /dev/null\nferry validate --repo examples/no-such\necho never\n"
            .into(),
    };
    let said = run(&block).unwrap_err();
    assert!(said.starts_with("exited with exit status: 1:\n"), "{said}");
    assert!(
        said.contains("+ ferry validate --repo examples/no-such\nerror: "),
        "{said}"
    );
    assert!(!said.contains("+ echo never"), "{said}");
}

/// `--help` says what the product does: no "later versions" for what exists, every exit code,
/// and a selector example that names an object of the example repository (it is run here).
#[test]
fn help_agrees_with_the_product() {
    let env = TestEnv::new();
    let help = |args: &[&str]| -> String {
        let out = env.ferry().args(args).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let top = help(&["--help"]);
    assert!(!top.contains("later version"), "{top}");
    for code in [
        "0 success",
        "1 error",
        "2 changes",
        "3 changes",
        "130 interrupted",
    ] {
        assert!(top.contains(code), "`{code}` in:\n{top}");
    }
    let graph = help(&["graph", "--help"]);
    let example = graph
        .split("Example:")
        .nth(1)
        .and_then(|rest| rest.split('\'').nth(1))
        .unwrap_or_else(|| panic!("a selector example in:\n{graph}"));
    env.ferry()
        .args(["graph", "--select", example, "--repo"])
        .arg(source_dir().join("examples/retail"))
        .assert()
        .success();
}
