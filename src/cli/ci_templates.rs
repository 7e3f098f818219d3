//! The CI templates in `examples/ci/` call only commands and flags ferry has: every `ferry …`
//! command line of every template (the `run:` blocks of the GitHub workflows, the `script:`
//! lists of the GitLab file, the shell script) is taken out, its variables replaced by
//! placeholder values, and parsed by ferry's own argument parser ([`super::Cli`]). A template
//! that names a flag or a subcommand ferry does not have fails the test, naming the file, the
//! line and clap's message.
//!
//! The extraction knows as much shell as the templates use: quotes, `\` line continuations,
//! `$VAR`, `${VAR}` and `${VAR:-default}` (the default is the placeholder), GitHub's
//! `${{ … }}` expressions, `;`, `&&`, `||`, `|`, `$(`…`)` and redirections between commands,
//! and `if`/`then`/`!` before one. A command is ferry's when its first word is `ferry` or the
//! variable holding the binary (`$ferry`, `$FERRY`).

use std::path::{Path, PathBuf};

use clap::Parser;

use super::Cli;

/// One `ferry` command found in a template: where, the line as written, and its words.
#[derive(Debug)]
struct Found {
    line: usize,
    text: String,
    words: Vec<String>,
}

/// What a variable stands for in a command line: the binary's variable is `ferry`; `"$@"` in
/// `ferry-ci.sh` is the `--env` flags its `review` builds; any other variable is one word.
fn placeholder(name: &str) -> Vec<String> {
    match name {
        "ferry" | "FERRY" => vec!["ferry".into()],
        "@" | "*" => vec!["--env".into(), "test".into()],
        _ => vec!["x".into()],
    }
}

/// The shell text of a YAML file, as (line number, text) pairs: the values of `run:` keys and
/// the items of `script:`, `before_script:` and `after_script:` lists, block scalars (`|`,
/// `>-`, …) included. Everything else (keys, comments, `with:` values) is left out.
fn yaml_shell(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // The indentation of the key or list item that opened a block scalar being read.
    let mut block: Option<usize> = None;
    // The indentation of the `script:` key whose list is being read.
    let mut list: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let indent = raw.len() - raw.trim_start().len();
        let trimmed = raw.trim();
        if let Some(owner) = block {
            if trimmed.is_empty() || indent > owner {
                out.push((line, raw.trim_start().to_string()));
                continue;
            }
            block = None;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(key_indent) = list {
            if !(trimmed.starts_with("- ") && indent >= key_indent) {
                list = None;
            }
        }
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let value = if let Some(rest) = item.strip_prefix("run:") {
            rest.trim()
        } else if list.is_some() {
            trimmed.trim_start_matches("- ").trim()
        } else {
            if let Some(key) = trimmed.strip_suffix(':') {
                if key.ends_with("script") {
                    list = Some(indent);
                }
            }
            continue;
        };
        if value.starts_with('|') || value.starts_with('>') {
            block = Some(indent);
        } else {
            out.push((line, value.to_string()));
        }
    }
    out
}

/// The lines of a shell script, as (line number, text) pairs, without comment lines.
fn script_shell(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// Joins lines that end in `\` with the next, keeping the first line's number.
fn logical_lines(lines: Vec<(usize, String)>) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (line, text) in lines {
        let (body, continues) = match text.trim_end().strip_suffix('\\') {
            Some(body) => (body.to_string(), true),
            None => (text, false),
        };
        match out.last_mut() {
            Some(last) if open => {
                last.1.push(' ');
                last.1.push_str(body.trim_start());
            }
            _ => out.push((line, body)),
        }
        open = continues;
    }
    out
}

/// The simple commands of one logical shell line, each as its words, with variables replaced by
/// their [`placeholder`]s, redirections dropped and commands split at `;`, `&&`, `||`, `|`,
/// `(`, `)` and `$(`. A command substitution inside double quotes stays part of its word.
fn commands(line: &str) -> Vec<Vec<String>> {
    // GitHub expressions first: they may hold quotes and spaces of their own.
    let mut text = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${{") {
        text.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                text.push('x');
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    text.push_str(rest);

    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut redirect = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let end_word = |word: &mut Option<String>, words: &mut Vec<String>, redirect: &mut bool| {
        if let Some(w) = word.take() {
            if *redirect {
                *redirect = false;
            } else {
                words.push(w);
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => end_word(&mut word, &mut words, &mut redirect),
            '#' if word.is_none() => break,
            ';' | '&' | '|' | '(' | ')' => {
                end_word(&mut word, &mut words, &mut redirect);
                if !words.is_empty() {
                    out.push(std::mem::take(&mut words));
                }
                redirect = false;
            }
            '>' | '<' => {
                // `2>`: the descriptor before belongs to the operator.
                if matches!(word.as_deref(), Some(w) if w.chars().all(|c| c.is_ascii_digit())) {
                    word = None;
                }
                end_word(&mut word, &mut words, &mut redirect);
                while matches!(chars.get(i + 1), Some('>' | '&')) {
                    i += 1;
                }
                // `>&1`: the target is a descriptor, already read.
                if chars[i] == '&' {
                    while matches!(chars.get(i + 1), Some(c) if c.is_ascii_digit()) {
                        i += 1;
                    }
                } else {
                    redirect = true;
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    w.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                word.get_or_insert_with(String::new);
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                        word.get_or_insert_with(String::new).push(chars[i]);
                    } else if chars[i] == '$' {
                        // `"$@"` is a word per value; any other variable stays in its word.
                        let (values, next) = variable(&chars, i);
                        let mut values = values.into_iter();
                        if let Some(first) = values.next() {
                            word.get_or_insert_with(String::new).push_str(&first);
                        }
                        for v in values {
                            end_word(&mut word, &mut words, &mut redirect);
                            word = Some(v);
                        }
                        i = next - 1;
                    } else {
                        word.get_or_insert_with(String::new).push(chars[i]);
                    }
                    i += 1;
                }
            }
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    word.get_or_insert_with(String::new).push(next);
                    i += 1;
                }
            }
            '$' if chars.get(i + 1) == Some(&'(') => {
                end_word(&mut word, &mut words, &mut redirect);
                if !words.is_empty() {
                    out.push(std::mem::take(&mut words));
                }
                i += 1;
            }
            '$' => {
                let (values, next) = variable(&chars, i);
                let mut values = values.into_iter();
                if let Some(first) = values.next() {
                    word.get_or_insert_with(String::new).push_str(&first);
                }
                for v in values {
                    end_word(&mut word, &mut words, &mut redirect);
                    word = Some(v);
                }
                i = next - 1;
            }
            _ => word.get_or_insert_with(String::new).push(c),
        }
        i += 1;
    }
    end_word(&mut word, &mut words, &mut redirect);
    if !words.is_empty() {
        out.push(words);
    }
    out
}

/// The variable reference at `chars[at]` (a `$`): its placeholder words and the index after it.
fn variable(chars: &[char], at: usize) -> (Vec<String>, usize) {
    let mut i = at + 1;
    if chars.get(i) == Some(&'{') {
        let close = chars[i..].iter().position(|&c| c == '}').map(|p| i + p);
        let Some(close) = close else {
            return (vec!["$".into()], at + 1);
        };
        let inner: String = chars[i + 1..close].iter().collect();
        let words = match inner.split_once(":-") {
            Some((_, default)) => vec![default.to_string()],
            None => placeholder(&inner),
        };
        return (words, close + 1);
    }
    if matches!(
        chars.get(i),
        Some('@' | '*' | '?' | '#' | '$' | '!' | '0'..='9')
    ) {
        return (placeholder(&chars[i].to_string()), i + 1);
    }
    let start = i;
    while matches!(chars.get(i), Some(c) if c.is_ascii_alphanumeric() || *c == '_') {
        i += 1;
    }
    if i == start {
        return (vec!["$".into()], at + 1);
    }
    let name: String = chars[start..i].iter().collect();
    (placeholder(&name), i)
}

/// The `ferry` commands of one template's text (`yaml`: a workflow or `.gitlab-ci.yml`, else a
/// shell script).
fn ferry_commands(text: &str, yaml: bool) -> Vec<Found> {
    let lines = if yaml {
        yaml_shell(text)
    } else {
        script_shell(text)
    };
    let mut found = Vec::new();
    for (line, text) in logical_lines(lines) {
        for mut words in commands(&text) {
            // Keywords and assignments before the command itself.
            while let Some(first) = words.first() {
                let keyword = matches!(
                    first.as_str(),
                    "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "{"
                );
                let assignment = first.split_once('=').is_some_and(|(name, _)| {
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
                if keyword || assignment {
                    words.remove(0);
                } else {
                    break;
                }
            }
            if words.first().map(String::as_str) == Some("ferry") {
                found.push(Found {
                    line,
                    text: text.trim().to_string(),
                    words,
                });
            }
        }
    }
    found
}

/// Every `ferry` command of `text` that ferry's parser refuses, with clap's first line.
fn refused(text: &str, yaml: bool) -> Vec<(Found, String)> {
    ferry_commands(text, yaml)
        .into_iter()
        .filter_map(|f| match Cli::try_parse_from(&f.words) {
            Ok(_) => None,
            Err(e) => {
                let message = e.to_string();
                let first = message.lines().next().unwrap_or_default().to_string();
                Some((f, first))
            }
        })
        .collect()
}

/// The template files under `examples/ci/`.
fn templates() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a folder entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci"),
        &mut out,
    );
    out
}

#[test]
fn every_ferry_command_in_the_ci_templates_parses() {
    let mut problems = Vec::new();
    let mut subcommands = std::collections::BTreeSet::new();
    let files = templates();
    assert!(files.len() >= 5, "the templates are found: {files:?}");
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        assert!(
            yaml || name.ends_with(".sh"),
            "a template of a known kind: {name}"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let found = ferry_commands(&text, yaml);
        assert!(!found.is_empty(), "{name} has ferry commands");
        for f in &found {
            subcommands.insert(f.words[1].clone());
        }
        for (f, message) in refused(&text, yaml) {
            problems.push(format!(
                "{}:{}: {}\n    {message}",
                path.display(),
                f.line,
                f.text
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "template commands ferry does not accept:\n{}",
        problems.join("\n")
    );
    // What the templates are for: if the extraction lost these, the test would check nothing.
    for command in [
        "fmt", "validate", "review", "plan", "show", "apply", "export",
    ] {
        assert!(
            subcommands.contains(command),
            "a template runs `ferry {command}`: found {subcommands:?}"
        );
    }
}

#[test]
fn a_flag_ferry_does_not_have_is_refused_with_its_line() {
    let yaml = "jobs:\n  a:\n    steps:\n      - run: ferry validate --repo .\n      - run: |\n          ferry plan --env prod \\\n            --no-such-flag\n";
    let refused = refused(yaml, true);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0.line, 6);
    assert!(refused[0].1.contains("--no-such-flag"), "{}", refused[0].1);

    let script = "#!/bin/sh\n\"$ferry\" plann --env \"$env\"\n";
    let refused = self::refused(script, false);
    assert_eq!(refused.len(), 1, "a misspelt subcommand: {refused:?}");
    assert!(refused[0].1.contains("plann"), "{}", refused[0].1);
}

#[test]
fn commands_are_found_through_the_shell_the_templates_use() {
    let script = r#"
# ferry plan --not-checked: a comment
status=0
if [ -f x ]; then "$ferry" apply "$plans/$env.plan.json" --lock-wait "${FERRY_LOCK_WAIT:-10m}"; fi
ferry plan --env "${{ matrix.env }}" --out p.json --detailed-exitcode > out.md 2>&1 || status=$?
FERRY_LOG=debug ferry validate --repo "$FERRY_REPO" | tee log
x=$(ferry show p.json --format markdown)
echo "ferry review --env test" >> "$GITHUB_STEP_SUMMARY"
"#;
    let found: Vec<Vec<String>> = ferry_commands(script, false)
        .into_iter()
        .map(|f| f.words)
        .collect();
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            words("ferry apply x/x.plan.json --lock-wait 10m"),
            words("ferry plan --env x --out p.json --detailed-exitcode"),
            words("ferry validate --repo x"),
            words("ferry show p.json --format markdown"),
        ]
    );
    for words in &found {
        Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    }

    let gitlab = "check:\n  script:\n    - ferry fmt --check\n    - |\n      ferry validate \\\n        --repo .\n  artifacts:\n    paths: [plans/]\nname: ferry review\n";
    let found: Vec<(usize, Vec<String>)> = ferry_commands(gitlab, true)
        .into_iter()
        .map(|f| (f.line, f.words))
        .collect();
    assert_eq!(
        found,
        vec![
            (3, words("ferry fmt --check")),
            (5, words("ferry validate --repo .")),
        ]
    );
}
