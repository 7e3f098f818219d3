//! The fuzz harness (issue 13): random and mutated object files, `ferry.toml` files, custom kind
//! schemas and saved plans, fed to the library functions that read them, for a bounded number of
//! cases so that `cargo test` (and so `.ci/run`) runs it on every change.
//!
//! Two properties hold for every input: nothing panics, and every error names the file it is
//! about (and a line inside that file, when it gives one). A stack overflow on deeply nested
//! input would abort this test binary, so deep nesting is among the inputs. Where a parser takes
//! text without a path, the harness calls the function that attaches the path (the one the
//! commands call): [`validate::check`] for `ferry validate` and `plan`, [`edit::resolve`] for
//! `ferry object put`, [`fmt::format_files`] for `ferry fmt`, [`Workspace::load`] for
//! `ferry.toml`, [`repo::registry_for`] for a repository's own kinds and [`plan::file::read`]
//! for `ferry apply PLAN`.
//!
//! The inputs are random bytes, random text, text made of TOML or JSON tokens, and mutations of
//! real files: the example repository's object files and `ferry.toml`, the kind fixtures, the
//! built-in kind schemas made into custom kinds, and saved plans made here. A mutation flips,
//! sets or cuts bytes, deletes, repeats, swaps or splices lines, inserts TOML or JSON pieces
//! (brackets, quotes, huge numbers, NUL and control characters, invalid UTF-8, deep nesting), or
//! replaces a value (in JSON, a node of the parsed document).
//!
//! The RNG seed is fixed and failures are not persisted, so CI runs the same cases every time and
//! writes nothing into the source tree. `PROPTEST_CASES=10000 cargo test --test fuzz` runs more
//! cases, and `PROPTEST_RNG_SEED=N` other ones (proptest reads both over this configuration).
//! The harness uses the library's public API only, so it is a test crate of its own and runs
//! alone with `--test fuzz`.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ferry::context::Workspace;
use ferry::kinds::Registry;
use ferry::plan::{self, Plan};
use ferry::repo::{self, Snapshot, SourceFile};
use ferry::validate::{self, Problem};
use ferry::{config, edit, fmt, model, render, store};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Running

/// Runs `property` on `cases` inputs from `strategy` with a fixed seed and no failure file; the
/// `PROPTEST_*` environment variables override this configuration, as in `proptest!`.
fn fuzz<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = proptest::test_runner::contextualize_config(Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(13),
        // A failure is shrunk for at most a minute: the smallest input is a help, not a must.
        max_shrink_time: 60_000,
        ..Config::default()
    });
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, property) {
        panic!("{e}");
    }
}

/// Bytes that print as an escaped byte string, cut when long, so a failing input can be read.
#[derive(Clone, PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<u8> = self.0.iter().copied().take(2000).collect();
        write!(f, "b\"{}\"", shown.escape_ascii())?;
        if self.0.len() > shown.len() {
            write!(f, " … ({} bytes in all)", self.0.len())?;
        }
        Ok(())
    }
}

/// An input file: where it is said to be and what it holds.
#[derive(Clone, Debug)]
struct Input {
    path: String,
    bytes: Bytes,
}

impl Input {
    fn source_file(&self) -> SourceFile {
        SourceFile {
            path: self.path.clone(),
            bytes: self.bytes.0.clone(),
            symlink: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The real files mutations start from

/// The folder of ferry's sources.
fn source_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, as (path relative to `base`, bytes), sorted.
fn files_under(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(base, &path, out);
        } else {
            let rel = path.strip_prefix(base).unwrap();
            let rel = rel.to_str().unwrap().replace('\\', "/");
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

/// The example repository's object files (paths relative to its root, as a repository's
/// snapshot names them) and the sample file of every kind.
static OBJECT_FILES: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
    let mut files = Vec::new();
    let retail = source_dir().join("examples/retail");
    files_under(&retail, &retail.join("objects"), &mut files);
    files_under(
        source_dir(),
        &source_dir().join("tests/fixtures/kinds"),
        &mut files,
    );
    files.retain(|(path, _)| path.ends_with(".toml"));
    assert!(files.len() > 100, "the example repository is missing");
    files
});

/// Real `ferry.toml` files: the examples' and the one `ferry init` writes.
static CONFIG_FILES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut all = Vec::new();
    files_under(source_dir(), &source_dir().join("examples"), &mut all);
    let mut files: Vec<Vec<u8>> = all
        .into_iter()
        .filter(|(path, _)| path.ends_with("/ferry.toml"))
        .map(|(_, bytes)| bytes)
        .collect();
    files.push(config::Config::default().to_text().into_bytes());
    files.sort();
    files.dedup();
    files
});

/// A custom kind to start from: its name, its schema and an object file of that kind.
#[derive(Clone, Debug)]
struct KindSeed {
    name: String,
    schema: String,
    object: String,
}

/// A repository's own kind from the integration tests, and every built-in kind's schema made
/// into a custom kind (`fz_<kind>`) with the kind's sample file as its object.
static KIND_SEEDS: LazyLock<Vec<KindSeed>> = LazyLock::new(|| {
    let mut seeds = vec![KindSeed {
        name: "dashboard".into(),
        schema: r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "additionalProperties": false, "required": ["kind", "name", "spec"],
  "properties": {
    "kind": {"const": "dashboard"}, "guid": {"type": "string"}, "name": {"type": "string"},
    "spec": {"type": "object", "additionalProperties": false, "properties": {"segment": {"type": "string"}}}
  },
  "x-ferry": {"category": "global", "scope": "tenant", "references": {"/spec/segment": ["data_segment"]}}
}"#
        .into(),
        object: "kind = \"dashboard\"\nguid = \"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a03\"\nname = \"board\"\n\n[spec]\nsegment = \"data_segment/retail\"\n".into(),
    }];
    let mut schemas = Vec::new();
    files_under(
        source_dir(),
        &source_dir().join("schemas/kinds"),
        &mut schemas,
    );
    for (path, bytes) in schemas {
        let Some(kind) = path
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_suffix(".schema.json"))
        else {
            continue;
        };
        let sample = source_dir().join(format!("tests/fixtures/kinds/{kind}.toml"));
        let Ok(object) = std::fs::read_to_string(sample) else {
            continue;
        };
        let name = format!("fz_{kind}");
        let schema = String::from_utf8(bytes).unwrap();
        let const_kind = format!("\"const\": \"{kind}\"");
        assert!(schema.contains(&const_kind), "{path}");
        seeds.push(KindSeed {
            schema: schema.replacen(&const_kind, &format!("\"const\": \"{name}\""), 1),
            object: object.replacen(
                &format!("kind = \"{kind}\""),
                &format!("kind = \"{name}\""),
                1,
            ),
            name,
        });
    }
    assert!(seeds.len() > 40, "the built-in kind schemas are missing");
    seeds
});

/// Saved plans to start from: one with a change of every action, drift and every list filled,
/// one that changes nothing, and one to a PostgreSQL destination with a (redacted) password.
static PLAN_SEEDS: LazyLock<Vec<Plan>> = LazyLock::new(|| {
    use plan::{Action, Change, Destination, Drift, FieldChange, MadeWith, Options, PlanSource};
    let guid = |n: u128| uuid::Uuid::from_u128(0x5b0e_7a52_4a59_4d3c_9a53_0d6f_0b1f_1a00 + n);
    let change = |action, address: &str| Change {
        action,
        guid: guid(1),
        kind: "compute_task".into(),
        category: "development".into(),
        address: address.into(),
        old_address: None,
        old_guid: None,
        wave: 1,
        fields: Vec::new(),
        actual_hash: Some("a".repeat(64)),
        desired_hash: Some("b".repeat(64)),
        drifted: false,
        blast_radius: Vec::new(),
        blast_radius_total: 0,
        risks: Vec::new(),
    };
    let code = FieldChange {
        pointer: "/spec/code".into(),
        old: Some(json!("SELECT 1\nFROM t\n;\n")),
        new: Some(json!("SELECT 2\nFROM t\n;\n")),
        sensitive: false,
        unified_diff: Some("@@ -1,3 +1,3 @@\n-SELECT 1\n+SELECT 2\n FROM t\n ;\n".into()),
        set_by: None,
    };
    let secret = FieldChange {
        pointer: "/spec/password".into(),
        old: Some(json!("(sensitive)")),
        new: Some(json!("(sensitive)")),
        sensitive: true,
        unified_diff: None,
        set_by: None,
    };
    let cron = FieldChange {
        pointer: "/spec/schedule/cron".into(),
        old: Some(json!("0 0 4 1 * ?")),
        new: None,
        sensitive: false,
        unified_diff: None,
        set_by: None,
    };
    let full = Plan {
        format_version: plan::PLAN_FORMAT,
        ferry_version: plan::file::FERRY_VERSION.into(),
        source: PlanSource {
            kind: "git".into(),
            repository: Some("/repo".into()),
            revision: Some("HEAD".into()),
            id: "0123456789abcdef0123456789abcdef01234567".into(),
        },
        destination: Destination {
            url: store::TenantUrl::parse("sqlite:/tmp/prod.db").unwrap(),
            name: "prod".into(),
            fingerprint: "f".repeat(64),
            facts: store::Facts {
                name: "prod".into(),
                platform_version: "4.5.0".into(),
                engine: "maxcompute".into(),
                engine_mode: "single".into(),
                cluster: "cn-shanghai-mc-01".into(),
            },
        },
        changes: vec![
            Change {
                actual_hash: None,
                ..change(Action::Create, "data_segment/retail")
            },
            Change {
                fields: vec![code.clone(), cron],
                blast_radius: vec!["compute_task/retail_dw/b".into()],
                blast_radius_total: 7,
                risks: vec!["the destination is on another cluster".into()],
                drifted: true,
                ..change(Action::Update, "compute_task/retail_dw/销售_日报")
            },
            Change {
                old_address: Some("standard_set_directory/customer".into()),
                fields: vec![secret.clone()],
                wave: 2,
                ..change(Action::Rename, "standard_set_directory/members")
            },
            Change {
                old_guid: Some(guid(9)),
                old_address: Some("project/sales".into()),
                wave: 3,
                ..change(Action::Adopt, "project/sales")
            },
            Change {
                desired_hash: None,
                wave: 4,
                ..change(Action::Delete, "quality_rule/fct_payment_channel_not_null")
            },
        ],
        drift: vec![
            Drift {
                address: "compute_task/retail_dw/销售_日报".into(),
                guid: guid(2),
                fields: vec![code, secret],
                deleted: false,
            },
            Drift {
                address: "label_entity/member".into(),
                guid: guid(3),
                fields: Vec::new(),
                deleted: true,
            },
        ],
        unchanged: 161,
        unmanaged: 2,
        not_pruned: vec!["global_variable/old".into()],
        warnings: vec!["the destination's cluster differs".into()],
        edges: vec![(
            "compute_task/retail_dw/销售_日报".into(),
            "data_segment/retail".into(),
        )],
        skipped: vec!["metric/x".into()],
        made_with: MadeWith {
            options: Options {
                prune: true,
                adopt: true,
                fail_on_drift: false,
                require_same_cluster: false,
            },
            select: Some("+compute_task/retail_dw/*".into()),
            rollback_of: None,
            exclude: Some("tag:x".into()),
            env: Some("prod".into()),
            allow_deletes: Some(3),
        },
        environment: Some(ferry::plan::PlanEnvironment {
            name: "prod".into(),
            file: "environments/prod.toml".into(),
            digest: "0".repeat(64),
            overrides: 2,
            objects_overridden: 1,
        }),
        secrets: vec![ferry::plan::PlannedSecret {
            address: "data_segment/retail".into(),
            guid: guid(1),
            field: "/spec/config_files[file_name=krb5.conf]/content".into(),
            pointer: "/spec/config_files/0/content".into(),
            source: ferry::desired::environment::SecretFrom::File("../krb5.conf".into()),
            by: "environments/prod.toml:20".into(),
            available: true,
            status: ferry::plan::SecretStatus::Changed,
            fingerprint: Some("e".repeat(64)),
        }],
    };
    let empty = Plan {
        changes: Vec::new(),
        drift: Vec::new(),
        not_pruned: Vec::new(),
        warnings: Vec::new(),
        edges: Vec::new(),
        skipped: Vec::new(),
        made_with: MadeWith::default(),
        ..full.clone()
    };
    let mut postgres = empty.clone();
    postgres.destination.url =
        store::TenantUrl::parse("postgres://ci:secret@db:5432/prod").unwrap();
    vec![full, empty, postgres]
});

// ---------------------------------------------------------------------------------------------
// Mutations

/// Pieces of TOML (and of what breaks it) inserted at random places.
const TOML_PIECES: &[&str] = &[
    "[[",
    "]]",
    "[",
    "]",
    "{",
    "}",
    "\"\"\"",
    "'''",
    "\"",
    "'",
    "=",
    " = ",
    ".",
    ",",
    "#",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\0",
    "\u{1}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{feff}",
    "\u{2028}",
    "\u{10ffff}",
    "\\",
    "\\u0000",
    "\\uD800",
    "\\U0010FFFF",
    "\\x41",
    "99999999999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "1e400",
    "-1e400",
    "1e-400",
    "nan",
    "+inf",
    "-0",
    "0x7fffffffffffffff",
    "0o777",
    "0b101",
    "1__0",
    "1979-05-27T07:32:00Z",
    "1979-05-27T07:32:00.999999999-07:00",
    "1979-05-27",
    "07:32:00",
    "9999-99-99",
    "\n[spec]\n",
    "\n[[spec]]\n",
    "\n[spec.x]\n",
    "\n[[spec.x]]\n",
    "\n[spec.schedule]\n",
    "\nkind = \"project\"\n",
    "\nkind = 1\n",
    "\nguid = \"not-a-guid\"\n",
    "\nguid = \"\"\n",
    "\nname = \"a/b\"\n",
    "\nname = \" x\"\n",
    "\nname = \"CON\"\n",
    "\nname = \"\"\n",
    "\nname = \"..\"\n",
    "\nproject = 1\n",
    "\nproject = \"\"\n",
    "\nspec = 1\n",
    "\nspec = []\n",
    "\nextra = 1\n",
    "\n\"\" = 1\n",
    "\n\"a.b\" = 1\n",
    "\n'\u{0}' = 1\n",
    "\na.b.c = 1\n",
];

/// TOML values put in place of a value already in the file.
const TOML_VALUES: &[&str] = &[
    "1",
    "-1",
    "0",
    "1.5",
    "-0.0",
    "true",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ a = 1 }",
    "[{}]",
    "[{ a = [] }]",
    "[[[[[[]]]]]]",
    "\"\"",
    "\"x\"",
    "\"(sensitive)\"",
    "\"compute_task/retail_dw/x\"",
    "\"data_segment/retail\"",
    "\"project/x/y\"",
    "\"a/b/c/d\"",
    "\"/\"",
    "\"//\"",
    "\"a//b\"",
    "\"project/\"",
    "\"\\u0000\"",
    "\"a\\nb\"",
    "\"\\u001b[31m\"",
    "\"\"\"\nx\n\"\"\"",
    "'''\n'''",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "9223372036854775807",
    "-9223372036854775808",
    "nan",
    "inf",
    "1e308",
    "\"5b0e7a52-4a59-4d3c-9a53-0d6f0b1f1a03\"",
    "\"00000000-0000-0000-0000-000000000000\"",
    "\"销售\"",
    "\"名前\"",
    "\" \"",
    "\"a \"",
    "[\"compute_task/retail_dw/x\", \"compute_task/retail_dw/x\"]",
];

/// Pieces of JSON (and of what breaks it) inserted at random places.
const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "\\",
    "\\u",
    "\\uD800",
    "\\uDC00",
    "\\u0000",
    "null",
    "true",
    "1e999",
    "-1e999",
    "18446744073709551616",
    "-9223372036854775809",
    "0.0000000001",
    "-0",
    "01",
    "NaN",
    "Infinity",
    "\0",
    "\u{1}",
    "\u{7f}",
    "\u{feff}",
    "\u{2028}",
    "\n",
    "\r",
    "\"$ref\": \"#\",",
    "\"x-ferry\": {},",
    "\"format_version\": 2,",
    "\"changes\": [],",
    "//",
    "/*",
];

/// Bytes that are not UTF-8: a lone continuation byte, a cut sequence, a surrogate, a code
/// point above U+10FFFF, an overlong encoding.
const NOT_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xfe\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\x80",
];

/// Deeply nested or very long text: `n` levels (or characters) of one of several shapes.
fn deep(shape: u8, n: usize) -> Vec<u8> {
    let text = match shape % 10 {
        0 => "[".repeat(n),
        1 => format!("x = {}{}", "[".repeat(n), "]".repeat(n)),
        2 => format!("x = {}1{}", "{ y = ".repeat(n), " }".repeat(n)),
        3 => format!("\n{} = 1\n", vec!["a"; n.max(1)].join(".")),
        4 => format!("\n[{}]\n", vec!["spec"; n.max(1)].join(".")),
        5 => format!("\n[[{}]]\n", vec!["spec"; n.max(1)].join(".")),
        6 => "{\"a\":".repeat(n),
        7 => format!("{}{}", "[".repeat(n), "]".repeat(n)),
        8 => format!("\"{}\"", "x".repeat(n * 40)),
        _ => "\n".repeat(n),
    };
    text.into_bytes()
}

/// Something to insert: a TOML or JSON piece, invalid UTF-8, deep nesting, or random bytes.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(TOML_PIECES).prop_map(|s| s.as_bytes().to_vec()),
        2 => prop::sample::select(JSON_PIECES).prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::sample::select(NOT_UTF8).prop_map(<[u8]>::to_vec),
        1 => (any::<u8>(), prop_oneof![1usize..40, 40usize..3000]).prop_map(|(s, n)| deep(s, n)),
        1 => prop::collection::vec(any::<u8>(), 1..16),
        1 => "\\PC{1,8}".prop_map(String::into_bytes),
    ]
}

/// One change to a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    /// Flips one bit of a byte.
    FlipBit(Index, u8),
    /// Sets a byte.
    SetByte(Index, u8),
    /// Cuts the file there.
    Truncate(Index),
    /// Removes a run of bytes.
    Cut(Index, usize),
    /// Deletes a line.
    DeleteLine(Index),
    /// Writes a line twice.
    DuplicateLine(Index),
    /// Swaps two lines.
    SwapLines(Index, Index),
    /// Inserts bytes.
    Insert(Index, Vec<u8>),
    /// Puts a value in place of the value of a `key = value` line.
    ReplaceValue(Index, String),
    /// Inserts a line of another real file.
    Splice(Index, Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Cut(i, n)),
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        4 => (any::<Index>(), piece()).prop_map(|(i, p)| Mutation::Insert(i, p)),
        4 => (any::<Index>(), prop_oneof![
                4 => prop::sample::select(TOML_VALUES).prop_map(str::to_string),
                1 => "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
            ])
            .prop_map(|(i, v)| Mutation::ReplaceValue(i, v)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(f, l, at)| Mutation::Splice(f, l, at)),
    ]
}

/// The byte ranges of `bytes`' lines, each with its line break.
fn lines(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push(start..bytes.len());
    }
    out
}

/// `bytes` with `m` applied; `donors` are the files a spliced line comes from.
fn mutate(mut bytes: Vec<u8>, m: &Mutation, donors: &[&[u8]]) -> Vec<u8> {
    let len = bytes.len();
    let lines = lines(&bytes);
    match m {
        Mutation::FlipBit(i, bit) if len > 0 => bytes[i.index(len)] ^= 1 << bit,
        Mutation::SetByte(i, b) if len > 0 => bytes[i.index(len)] = *b,
        Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
        Mutation::Cut(i, n) if len > 0 => {
            let at = i.index(len);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            bytes.drain(lines[i.index(lines.len())].clone());
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let line = lines[i.index(lines.len())].clone();
            let copy = bytes[line.clone()].to_vec();
            bytes.splice(line.start..line.start, copy);
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            let (first, second) = (lines[a.min(b)].clone(), lines[a.max(b)].clone());
            if first != second {
                let mut out = bytes[..first.start].to_vec();
                out.extend_from_slice(&bytes[second.clone()]);
                out.extend_from_slice(&bytes[first.end..second.start]);
                out.extend_from_slice(&bytes[first.clone()]);
                out.extend_from_slice(&bytes[second.end..]);
                bytes = out;
            }
        }
        Mutation::Insert(i, piece) => {
            let at = i.index(len + 1);
            bytes.splice(at..at, piece.iter().copied());
        }
        Mutation::ReplaceValue(i, value) => {
            let assignments: Vec<std::ops::Range<usize>> = lines
                .iter()
                .filter_map(|l| {
                    let eq = bytes[l.clone()].iter().position(|b| *b == b'=')?;
                    let end = if bytes[l.end - 1] == b'\n' {
                        l.end - 1
                    } else {
                        l.end
                    };
                    Some(l.start + eq + 1..end)
                })
                .collect();
            if !assignments.is_empty() {
                let place = assignments[i.index(assignments.len())].clone();
                bytes.splice(place, format!(" {value}").into_bytes());
            }
        }
        Mutation::Splice(f, l, at) if !donors.is_empty() => {
            let donor = donors[f.index(donors.len())];
            let donor_lines = self::lines(donor);
            if !donor_lines.is_empty() {
                let line = donor[donor_lines[l.index(donor_lines.len())].clone()].to_vec();
                let at = lines
                    .get(at.index(lines.len() + 1))
                    .map_or(len, |l| l.start);
                bytes.splice(at..at, line);
            }
        }
        _ => {}
    }
    bytes
}

/// Up to `n` mutations of one of `seeds`, each seed given as (path, bytes).
fn mutated(
    seeds: &'static [(String, Vec<u8>)],
    n: usize,
) -> impl Strategy<Value = (String, Bytes)> {
    (any::<Index>(), prop::collection::vec(mutation(), 1..=n)).prop_map(move |(seed, ms)| {
        let (path, bytes) = &seeds[seed.index(seeds.len())];
        let donors: Vec<&[u8]> = seeds.iter().map(|(_, b)| b.as_slice()).collect();
        let bytes = ms
            .iter()
            .fold(bytes.clone(), |bytes, m| mutate(bytes, m, &donors));
        (path.clone(), Bytes(bytes))
    })
}

/// Text made of `tokens` and random words, numbers and line breaks: random input that gets
/// past a parser's first character more often than random bytes do.
fn token_soup(tokens: &'static [&'static str]) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(tokens).prop_map(str::to_string),
            2 => "[a-z_]{1,8}",
            1 => "-?[0-9]{1,20}",
            1 => Just("\n".to_string()),
            1 => "\\PC{1,4}",
        ],
        0..80,
    )
    .prop_map(|parts| Bytes(parts.concat().into_bytes()))
}

/// Random bytes, random text, or token soup.
fn random_bytes(tokens: &'static [&'static str]) -> impl Strategy<Value = Bytes> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512).prop_map(Bytes),
        "\\PC{0,256}".prop_map(|s| Bytes(s.into_bytes())),
        token_soup(tokens),
    ]
}

/// A JSON document's nodes, as JSON pointers, in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// JSON values put in place of a node: wrong types, edge numbers, schema keywords that recurse
/// or refer away, `x-ferry` fragments, pointers, URLs, deep nesting.
fn json_value() -> impl Strategy<Value = Value> {
    let fixed = vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5),
        json!(1e308),
        json!(""),
        json!("x"),
        json!("#"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"$ref": "#"}),
        json!({"$ref": "#/properties"}),
        json!({"$ref": "#/$defs/missing"}),
        json!({"$ref": "https://example.com/schema.json"}),
        json!({"$ref": "file:///etc/passwd"}),
        json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        json!({"$dynamicRef": "#x"}),
        json!({"additionalProperties": {"$ref": "#"}}),
        json!({"items": {"$ref": "#"}}),
        json!({"pattern": "(a+)+$"}),
        json!({"pattern": "["}),
        json!({"pattern": "\\p{Nope}"}),
        json!({"type": "nope"}),
        json!({"minLength": -1}),
        json!({"maxLength": 1e300}),
        json!({"multipleOf": 0}),
        json!({"format": "email"}),
        json!({"enum": []}),
        json!({"const": null}),
        json!({"not": {}}),
        json!(false),
        json!({"category": "global", "scope": "tenant"}),
        json!({"category": "label", "scope": "project"}),
        json!({"category": "nope", "scope": "tenant"}),
        json!({"/spec/x": ["no_such_kind"]}),
        json!({"/spec/*": ["project"]}),
        json!({"/spec/**": ["data_segment"]}),
        json!({"/spec/x": []}),
        json!({"/name": ["project"]}),
        json!(["/spec/*/~2"]),
        json!(["/spec/a~1b", "/spec/", "/spec//x", "/spec/~"]),
        json!({"reason": "r"}),
        json!({"reason": "r", "when": {"/spec/x": [1]}}),
        json!({"reason": "r", "when": {"/name": [1]}}),
        json!("/spec/"),
        json!("/spec/*"),
        json!("create"),
        json!("adopt"),
        json!("not-a-uuid"),
        json!("00000000-0000-0000-0000-000000000000"),
        json!("sqlite:"),
        json!("sqlite://"),
        json!("postgres://u:p@h/d"),
        json!("postgres://"),
        json!("postgresql:x"),
        json!("mysql://u:p@h/d"),
        json!([["a", "b"]]),
        json!([["a"]]),
        json!(["x", "x", "x"]),
        json!("销售\u{1b}[31m\n"),
        json!("x".repeat(100_000)),
    ];
    prop_oneof![
        4 => prop::sample::select(fixed),
        1 => "\\PC{0,12}".prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => (0usize..200).prop_map(|n| (0..n).fold(json!(1), |v, _| json!([v]))),
    ]
}

/// One change to a JSON document.
#[derive(Clone, Debug)]
enum JsonEdit {
    /// Puts a value in place of a node.
    Replace(Index, Value),
    /// Removes a node from its table or array.
    Remove(Index),
    /// Adds a key to a table.
    Add(Index, String, Value),
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    let key = prop_oneof![
        Just("$ref".to_string()),
        Just("x-ferry".to_string()),
        Just("properties".to_string()),
        Just("references".to_string()),
        Just("when".to_string()),
        Just("".to_string()),
        "[a-z_]{1,8}",
    ];
    prop_oneof![
        3 => (any::<Index>(), json_value()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        1 => any::<Index>().prop_map(JsonEdit::Remove),
        1 => (any::<Index>(), key, json_value()).prop_map(|(i, k, v)| JsonEdit::Add(i, k, v)),
    ]
}

/// `doc` with `edit` applied.
fn edit_json(doc: &mut Value, edit: &JsonEdit) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match edit {
        JsonEdit::Replace(i, value) => {
            if let Some(node) = doc.pointer_mut(&pick(i)) {
                *node = value.clone();
            }
        }
        JsonEdit::Remove(i) => {
            let at = pick(i);
            if let Some((parent, last)) = at.rsplit_once('/') {
                let last = last.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = last.parse::<usize>() {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        JsonEdit::Add(i, key, value) => {
            if let Some(Value::Object(map)) = doc.pointer_mut(&pick(i)) {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A JSON document changed by node edits, then (sometimes) by byte mutations of its text.
fn mutated_json(seed: Value) -> impl Strategy<Value = Bytes> {
    (
        prop::collection::vec(json_edit(), 0..4),
        prop_oneof![Just(Vec::new()), prop::collection::vec(mutation(), 1..3)],
        any::<bool>(),
    )
        .prop_map(move |(edits, ms, pretty)| {
            let mut doc = seed.clone();
            for e in &edits {
                edit_json(&mut doc, e);
            }
            let text = if pretty {
                serde_json::to_vec_pretty(&doc)
            } else {
                serde_json::to_vec(&doc)
            }
            .unwrap();
            Bytes(ms.iter().fold(text, |bytes, m| mutate(bytes, m, &[])))
        })
}

// ---------------------------------------------------------------------------------------------
// What every error must say

/// Every problem is about one of `files` and names it: its `path` is that file's, its message
/// starts with the path, and a line it gives is inside the file. Every file that did not load
/// has a problem of its own, so none is left out silently (but a `.gitkeep`, which only keeps a
/// folder in git).
fn problems_name_their_files(
    problems: &[Problem],
    files: &[SourceFile],
    loaded: &[&str],
) -> Result<(), TestCaseError> {
    for problem in problems {
        let Some(file) = files.iter().find(|f| f.path == problem.path) else {
            return Err(TestCaseError::fail(format!(
                "a problem names no file it was given: {problem}"
            )));
        };
        let shown = problem.to_string();
        let named = format!("error[{}]: {}", problem.code.as_str(), file.path);
        prop_assert!(shown.starts_with(&named), "{shown}");
        if let Some(p) = problem.position {
            let text = String::from_utf8_lossy(&file.bytes);
            let line = text.split('\n').nth(p.line.wrapping_sub(1));
            let columns = line.map(|l| l.chars().count() + 1);
            prop_assert!(
                p.column >= 1 && columns.is_some_and(|c| p.column <= c),
                "{shown}: line {}, column {} of a file whose line has {columns:?} columns",
                p.line,
                p.column
            );
        }
    }
    for file in files.iter().filter(|f| !f.path.ends_with("/.gitkeep")) {
        prop_assert!(
            loaded.contains(&file.path.as_str()) || problems.iter().any(|p| p.path == file.path),
            "{} neither loaded nor has a problem",
            file.path
        );
    }
    Ok(())
}

/// The built-in kinds, loaded once.
static BUILTIN: LazyLock<Registry> = LazyLock::new(|| Registry::builtin().unwrap());

/// `ferry validate` (and the checks a plan makes) on `files`: no panic, and every problem names
/// its file.
fn validate_names_files(files: &[SourceFile], registry: &Registry) -> Result<(), TestCaseError> {
    let report = validate::check(files.to_vec(), registry);
    let loaded: Vec<&str> = report.objects.iter().map(|l| l.path.as_str()).collect();
    problems_name_their_files(&report.problems, files, &loaded)
}

/// `ferry fmt` on `file`: no panic, every problem names the file, and what it writes reads back
/// as the same object and is left alone by a second run.
fn fmt_names_files_and_round_trips(
    file: &SourceFile,
    registry: &Registry,
) -> Result<(), TestCaseError> {
    let outcome = fmt::format_files(std::slice::from_ref(file), registry);
    let formatted: Vec<&str> = outcome.changes.iter().map(|c| c.path.as_str()).collect();
    // A file fmt leaves alone is already canonical (or not an object file): it counts as read.
    let untouched = outcome.changes.is_empty() && outcome.problems.is_empty();
    let read = if untouched {
        vec![file.path.as_str()]
    } else {
        formatted
    };
    problems_name_their_files(&outcome.problems, std::slice::from_ref(file), &read)?;
    for change in &outcome.changes {
        prop_assert_eq!(&change.path, &file.path);
        let before = std::str::from_utf8(&file.bytes)
            .ok()
            .and_then(|t| model::file::parse_document(t).ok())
            .and_then(|d| model::file::object_from_document(d).ok());
        let after = model::file::parse_document(&change.text).map_err(|e| {
            TestCaseError::fail(format!(
                "fmt wrote TOML that does not parse: {e}\n{}",
                change.text
            ))
        })?;
        let after = model::file::object_from_document(after)
            .map_err(|e| TestCaseError::fail(format!("fmt wrote a file that is no object: {e}")))?;
        let mut before =
            before.ok_or_else(|| TestCaseError::fail("fmt rewrote a file it cannot read"))?;
        if before.guid.is_none() {
            before.guid = after.guid;
        }
        prop_assert_eq!(&before, &after, "fmt changed the object");
        let again = SourceFile {
            path: change.path.clone(),
            bytes: change.text.clone().into_bytes(),
            symlink: false,
        };
        let second = fmt::format_files(&[again], registry);
        prop_assert!(
            second.changes.is_empty() && second.problems.is_empty(),
            "fmt is not idempotent on {}",
            change.text
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Object files

/// A path a file may be found at: one a repository holds, or a strange one.
fn object_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "objects/[a-z_]{1,12}/[a-z_]{1,16}/[a-z_%0-9A-F.~ -]{0,20}\\.toml",
        "objects/[a-z_]{1,12}/[a-z_]{1,16}/[^/]{0,12}/[^/]{0,20}\\.toml",
        "objects/\\PC{0,30}",
        "[^/]{0,10}/\\PC{0,30}\\.toml",
        Just("objects/global/project/.gitkeep".to_string()),
        Just("objects/global/project/.hidden.toml".to_string()),
        Just("objects/global/project/readme.md".to_string()),
    ]
}

/// An object file: a mutated real one (mostly at its own path) or random bytes.
fn object_file() -> impl Strategy<Value = Input> {
    let at = prop_oneof![3 => Just(None), 1 => object_path().prop_map(Some)];
    let content = prop_oneof![
        4 => mutated(&OBJECT_FILES, 4),
        1 => (any::<Index>(), random_bytes(TOML_PIECES))
            .prop_map(|(i, b)| (OBJECT_FILES[i.index(OBJECT_FILES.len())].0.clone(), b)),
    ];
    (content, at).prop_map(|((path, bytes), at)| Input {
        path: at.unwrap_or(path),
        bytes,
    })
}

#[test]
fn random_and_mutated_object_files_never_panic_and_every_error_names_its_file() {
    fuzz(2048, object_file(), |input| {
        let file = input.source_file();
        validate_names_files(std::slice::from_ref(&file), &BUILTIN)?;
        fmt_names_files_and_round_trips(&file, &BUILTIN)
    });
}

#[test]
fn a_repository_with_mutated_object_files_never_panics_and_every_error_names_its_file() {
    // The whole example repository with a few files broken: the checks across files (duplicate
    // GUIDs and addresses, references to broken objects, cycles) meet the broken files.
    let real: Vec<SourceFile> = OBJECT_FILES
        .iter()
        .filter(|(path, _)| path.starts_with("objects/"))
        .map(|(path, bytes)| SourceFile {
            path: path.clone(),
            bytes: bytes.clone(),
            symlink: false,
        })
        .collect();
    fuzz(128, prop::collection::vec(object_file(), 1..4), |inputs| {
        let mut files = real.clone();
        for input in &inputs {
            files.retain(|f| f.path != input.path);
            files.push(input.source_file());
        }
        validate_names_files(&files, &BUILTIN)
    });
}

#[test]
fn object_put_of_random_and_mutated_files_never_panics_and_every_error_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let url =
        store::TenantUrl::parse(&format!("sqlite:{}", dir.path().join("t.db").display())).unwrap();
    let facts = store::Facts {
        name: "fuzz".into(),
        platform_version: "4.5.0".into(),
        engine: "maxcompute".into(),
        engine_mode: "single".into(),
        cluster: "c1".into(),
    };
    let tenant = store::create(&url, &facts, "2026-01-31T12:00:00Z").unwrap();
    fuzz(512, prop::collection::vec(object_file(), 1..3), |inputs| {
        // Files at one path hold the same bytes: the last one given is the one there.
        let mut files: Vec<SourceFile> = Vec::new();
        for input in &inputs {
            files.retain(|f| f.path != input.path);
            files.push(input.source_file());
        }
        match edit::resolve(files.clone(), &BUILTIN, tenant.as_ref()) {
            Ok((changes, paths)) => {
                prop_assert!(changes.len() <= files.len());
                prop_assert_eq!(changes.len(), paths.len());
                Ok(())
            }
            Err(edit::EditError::Invalid(problems)) => {
                prop_assert!(!problems.is_empty());
                // A file with no problem of its own may be named by none.
                let all: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
                problems_name_their_files(&problems, &files, &all)
            }
            Err(e) => Err(TestCaseError::fail(format!("the store failed: {e}"))),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// ferry.toml

/// `ferry.toml` bytes: a mutated real one, or random bytes.
fn config_file() -> impl Strategy<Value = Bytes> {
    static SEEDS: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
        CONFIG_FILES
            .iter()
            .map(|b| (config::CONFIG_FILE.to_string(), b.clone()))
            .collect()
    });
    prop_oneof![
        4 => mutated(&SEEDS, 4).prop_map(|(_, b)| b),
        1 => random_bytes(TOML_PIECES),
    ]
}

#[test]
fn random_and_mutated_config_files_never_panic_and_every_error_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let path = root.join(config::CONFIG_FILE);
    fuzz(1024, config_file(), |bytes| {
        std::fs::write(&path, &bytes.0).unwrap();
        // What every command that reads a repository does: `ferry.toml`, then its kinds.
        match Workspace::load(root.clone(), None) {
            Ok(ws) => {
                // What `ferry export` writes back reads again as the same.
                let text = ws.config.to_text();
                let again = config::Config::parse(&text, Path::new(config::CONFIG_FILE));
                prop_assert_eq!(again.ok(), Some(ws.config));
                Ok(())
            }
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.starts_with(config::CONFIG_FILE), "{shown}");
                let lines = bytes.0.iter().filter(|b| **b == b'\n').count() + 1;
                let line = shown
                    .strip_prefix("ferry.toml:")
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|n| n.parse::<usize>().ok());
                if let Some(line) = line {
                    prop_assert!(line >= 1 && line <= lines, "{shown}");
                }
                Ok(())
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Custom kind schemas

/// A custom kind schema file (path and bytes) and the object file to check with it (the kind's
/// sample, sometimes mutated).
fn kind_file() -> impl Strategy<Value = (Input, Bytes)> {
    let name = prop_oneof![
        6 => Just(None),
        1 => "[a-z_]{1,10}".prop_map(Some),
        1 => "\\PC{0,10}".prop_map(Some),
        1 => Just(Some("project".to_string())),
    ];
    (any::<Index>(), name)
        .prop_flat_map(|(seed, name)| {
            let seed = KIND_SEEDS[seed.index(KIND_SEEDS.len())].clone();
            let name = name.unwrap_or_else(|| seed.name.clone());
            let doc: Value = serde_json::from_str(&seed.schema).unwrap();
            let content = prop_oneof![
                6 => mutated_json(doc),
                1 => random_bytes(JSON_PIECES),
            ];
            let object = seed.object.into_bytes();
            let object = prop_oneof![
                2 => Just(Bytes(object.clone())),
                1 => prop::collection::vec(mutation(), 1..3).prop_map(move |ms| {
                    Bytes(ms.iter().fold(object.clone(), |bytes, m| mutate(bytes, m, &[])))
                }),
            ];
            (content, Just(name), object)
        })
        .prop_map(|(bytes, name, object)| {
            let path = format!("{}/{name}.schema.json", ferry::kinds::KINDS_DIR);
            (Input { path, bytes }, object)
        })
}

#[test]
fn random_and_mutated_kind_schemas_never_panic_and_every_error_names_its_file() {
    fuzz(384, kind_file(), |(input, object)| {
        let snapshot = Snapshot {
            kind_files: vec![input.source_file()],
            ..Snapshot::default()
        };
        match repo::registry_for(&snapshot) {
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.contains(&input.path), "{shown}");
                Ok(())
            }
            Ok(registry) => {
                // The kind as the repository's objects meet it: validated, formatted, put.
                let file = SourceFile {
                    path: "objects/global/fuzzed/object.toml".into(),
                    bytes: object.0,
                    symlink: false,
                };
                validate_names_files(std::slice::from_ref(&file), &registry)?;
                fmt_names_files_and_round_trips(&file, &registry)
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Saved plans

/// A saved plan's bytes: a mutated real one, or random bytes.
fn plan_file() -> impl Strategy<Value = Bytes> {
    (any::<Index>()).prop_flat_map(|seed| {
        let plan = &PLAN_SEEDS[seed.index(PLAN_SEEDS.len())];
        let doc: Value = serde_json::from_slice(&plan::file::to_bytes(plan)).unwrap();
        prop_oneof![
            1 => Just(Bytes(plan::file::to_bytes(plan))),
            8 => mutated_json(doc),
            2 => random_bytes(JSON_PIECES),
        ]
    })
}

#[test]
fn random_and_mutated_saved_plans_never_panic_and_every_error_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["plan.json", "计划 1.json", "-plan"];
    fuzz(1024, (plan_file(), 0..names.len()), |(bytes, name)| {
        let path = dir.path().join(names[name]);
        std::fs::write(&path, &bytes.0).unwrap();
        match plan::file::read(&path) {
            Err(e) => {
                let shown = e.to_string();
                prop_assert!(shown.contains(&path.display().to_string()), "{shown}");
            }
            Ok(saved) => {
                // What `ferry apply PLAN` does with a plan it read: shows it and compares it
                // with the plan made again.
                render::plan::text(&saved.plan, false);
                render::plan::markdown(&saved.plan);
                render::plan::summary(&saved.plan);
                for seed in PLAN_SEEDS.iter() {
                    plan::file::differences(&saved.plan, seed);
                }
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Deep nesting, every time

#[test]
fn deeply_nested_files_are_refused_with_their_file_named_and_no_stack_overflow() {
    // The random inputs nest a few thousand levels at most, and only now and then: these nest
    // 100,000 levels, in every entry point, on every run.
    let n = 100_000;
    let toml_shapes = [
        format!(
            "kind = \"project\"\nname = \"x\"\n[spec]\nx = {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
        format!(
            "kind = \"project\"\nname = \"x\"\n[spec]\nx = {}1{}\n",
            "{ y = ".repeat(n),
            " }".repeat(n)
        ),
        format!(
            "kind = \"project\"\nname = \"x\"\n[{}]\n",
            vec!["spec"; n].join(".")
        ),
        format!(
            "kind = \"project\"\nname = \"x\"\n[[{}]]\n",
            vec!["spec"; n].join(".")
        ),
        format!(
            "kind = \"project\"\nname = \"x\"\nspec.{} = 1\n",
            vec!["a"; n].join(".")
        ),
    ];
    for text in &toml_shapes {
        let file = SourceFile {
            path: "objects/global/project/x.toml".into(),
            bytes: text.clone().into_bytes(),
            symlink: false,
        };
        let report = validate::check(vec![file.clone()], &BUILTIN);
        assert!(report.objects.is_empty());
        problems_name_their_files(&report.problems, std::slice::from_ref(&file), &[]).unwrap();
        fmt_names_files_and_round_trips(&file, &BUILTIN).unwrap();
        let err = config::Config::parse(text, Path::new(config::CONFIG_FILE)).unwrap_err();
        assert!(err.to_string().starts_with("ferry.toml"), "{err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let json_shapes = [
        format!("{}{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)),
        format!(
            "{{\"format_version\": 2, \"ferry_version\": \"{}\", \"changes\": {}{}}}",
            plan::file::FERRY_VERSION,
            "[".repeat(n),
            "]".repeat(n)
        ),
    ];
    for text in &json_shapes {
        let path = dir.path().join("plan.json");
        std::fs::write(&path, text).unwrap();
        let err = plan::file::read(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        let kind = SourceFile {
            path: "schemas/kinds/deep.schema.json".into(),
            bytes: text.clone().into_bytes(),
            symlink: false,
        };
        let snapshot = Snapshot {
            kind_files: vec![kind],
            ..Snapshot::default()
        };
        let err = repo::registry_for(&snapshot).unwrap_err().to_string();
        assert!(err.contains("schemas/kinds/deep.schema.json"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Deployment packages (issue 15)

const CREDENTIAL: &str = "a-shared-deployment-credential-0123";

/// A small valid package made with the library: two object files and an environment file.
fn small_package() -> Vec<u8> {
    use ferry::package::{self, FileEntry, Manifest, ObjectEntry};
    let object =
        b"kind = \"word_root\"\nguid = \"0b0e6a36-1e0e-4a4b-9d0c-4f1b0b3b2a11\"\nname = \"amt\"\n"
            .to_vec();
    let env = b"tenant = \"sqlite:prod.db\"\n".to_vec();
    let manifest = Manifest {
        format_version: package::FORMAT_VERSION,
        ferry_version: "0.1.0".into(),
        source: config::SourceFacts {
            name: "dev".into(),
            platform_version: "4.5.0".into(),
            engine: "maxcompute".into(),
            engine_mode: "single".into(),
            cluster: "c1".into(),
        },
        mode: "full".into(),
        base: None,
        head: "0".repeat(40),
        select: None,
        exclude: None,
        created_at: "2026-01-31T12:00:00Z".into(),
        objects: vec![ObjectEntry {
            address: "word_root/amt".into(),
            guid: "0b0e6a36-1e0e-4a4b-9d0c-4f1b0b3b2a11".parse().unwrap(),
            kind: "word_root".into(),
            path: "objects/standard/word_root/amt.toml".into(),
            blake3: package::hash(&object),
            change: None,
        }],
        deletions: vec![],
        left_out: vec![],
        files: vec![FileEntry {
            path: "environments/prod.toml".into(),
            blake3: package::hash(&env),
        }],
    };
    let bytes = manifest.to_bytes();
    let signature = package::sign(&ferry::secret::Secret::new(CREDENTIAL), &bytes);
    package::build(
        &bytes,
        &signature,
        &[
            ("objects/standard/word_root/amt.toml".into(), object),
            ("environments/prod.toml".into(), env),
        ],
    )
}

/// What `ferry import` does with a package's bytes before it looks at the destination's facts:
/// read them with limits (integrity) and verify the signature (credential).
fn import_reader(bytes: Vec<u8>) -> Result<(), String> {
    let opened =
        ferry::package::read::parse(Path::new("p.dp"), bytes).map_err(|e| e.to_string())?;
    if ferry::package::verify(
        &ferry::secret::Secret::new(CREDENTIAL),
        &opened.manifest_bytes,
        &opened.signature,
    ) {
        Ok(())
    } else {
        Err("the signature does not verify".into())
    }
}

/// A tar archive of raw entries (path bytes written into the header as they are, so `..` and
/// absolute paths get in), compressed as ferry compresses packages.
fn crafted(entries: &[(&[u8], tar::EntryType, u64, &[u8])]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (path, kind, size, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..path.len()].copy_from_slice(path);
        header.set_entry_type(*kind);
        header.set_size(*size);
        header.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            header.set_link_name("/etc/passwd").unwrap();
        }
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.extend_from_slice(&[0; 1024]);
    let mut encoder = zstd::Encoder::new(Vec::new(), ferry::package::write::ZSTD_LEVEL).unwrap();
    encoder.include_checksum(true).unwrap();
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    let mut file = encoder.finish().unwrap();
    // With the checksum frame ferry writes, so that the entries themselves are what is refused.
    let sum = blake3::hash(&file);
    file.extend_from_slice(&ferry::package::write::TRAILER_MAGIC);
    file.extend_from_slice(&32u32.to_le_bytes());
    file.extend_from_slice(sum.as_bytes());
    file
}

#[test]
fn every_changed_byte_of_a_package_is_refused_by_the_import_reader() {
    let good = small_package();
    assert_eq!(import_reader(good.clone()), Ok(()));
    for at in 0..good.len() {
        for mask in [0x01, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= mask;
            assert!(
                import_reader(bad).is_err(),
                "byte {at} ^ {mask:#x} went unnoticed"
            );
        }
    }
    for keep in 0..good.len() {
        assert!(
            import_reader(good[..keep].to_vec()).is_err(),
            "cut at {keep}"
        );
    }
}

#[test]
fn random_mutated_and_truncated_packages_never_panic_and_are_refused() {
    let good = small_package();
    let strategy = prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..4096).prop_map(|b| (b, true)),
        4 => proptest::collection::vec(mutation(), 1..4).prop_map({
            let good = good.clone();
            move |ms| {
                let mut bytes = good.clone();
                for m in &ms {
                    bytes = mutate(bytes, m, &[b"x = 1\n"]);
                }
                (bytes, false)
            }
        }),
    ];
    fuzz(512, strategy, |(bytes, _random)| {
        if bytes == good {
            return Ok(());
        }
        prop_assert!(import_reader(bytes).is_err());
        Ok(())
    });
}

#[test]
fn crafted_tar_entries_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let absolute = format!("{}/evil.toml", dir.path().display());
    let regular = tar::EntryType::Regular;
    let layout = "outside a package's layout";
    let not_file = "is not a regular file";
    let object = b"objects/a/b.toml".as_slice();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a `..` path",
            crafted(&[(b"../evil.toml", regular, 1, b"x")]),
            layout,
        ),
        (
            "a `..` inside objects/",
            crafted(&[(b"objects/../../evil.toml", regular, 1, b"x")]),
            layout,
        ),
        (
            "an absolute path",
            crafted(&[(absolute.as_bytes(), regular, 1, b"x")]),
            layout,
        ),
        (
            "a symlink",
            crafted(&[(object, tar::EntryType::Symlink, 0, b"")]),
            not_file,
        ),
        (
            "a hard link",
            crafted(&[(object, tar::EntryType::Link, 0, b"")]),
            not_file,
        ),
        (
            "a device",
            crafted(&[(object, tar::EntryType::Char, 0, b"")]),
            not_file,
        ),
        (
            "a folder",
            crafted(&[(b"objects/a/", tar::EntryType::Directory, 0, b"")]),
            not_file,
        ),
        (
            "a huge declared size",
            crafted(&[(object, regular, 1 << 40, b"")]),
            "more than the",
        ),
        (
            "a size longer than the data",
            crafted(&[(object, regular, 4096, b"short")]),
            "",
        ),
        (
            "no manifest",
            crafted(&[(object, regular, 1, b"x")]),
            "no manifest.json",
        ),
        (
            "a file outside the layout",
            crafted(&[(b"notes.txt", regular, 1, b"x")]),
            layout,
        ),
    ];
    for (what, bytes, why) in cases {
        let err = import_reader(bytes).expect_err(what);
        assert!(err.contains(why), "{what}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing is written"
    );
    assert!(!Path::new("../evil.toml").exists() && !Path::new("evil.toml").exists());
}
