//! A hermetic environment for running `ferry` (after jj's `TestEnvironment`): a temporary HOME,
//! no global or system git config, no colour, a pinned clock and actor, pinned git identities and
//! dates, and helpers to build repositories and to render a command's whole outcome for
//! snapshots.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The time every `ferry` run sees unless a test says otherwise (`FERRY_NOW`).
pub const NOW: &str = "2026-01-31T12:00:00Z";

/// Who every `ferry` run acts as unless a test says otherwise (`FERRY_ACTOR`).
pub const ACTOR: &str = "test";

/// The date of every commit the tests make with git.
const GIT_DATE: &str = "2026-01-01T00:00:00Z";

/// The folder of ferry's own source tree.
pub fn source_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary workplace; dropped at the end of the test.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `program` with the hermetic environment, run from the workplace: nothing of the caller's
    /// environment but PATH, HOME in the workplace, no git config, no colour, the pinned clock
    /// ([`NOW`]) and actor ([`ACTOR`]), and a pinned git identity and date. Use this form for a
    /// process a test spawns and does not wait for.
    pub fn command(&self, program: impl AsRef<OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("NO_COLOR", "1")
            .env("FERRY_NOW", NOW)
            .env("FERRY_ACTOR", ACTOR);
        isolate_git(&mut cmd);
        cmd
    }

    /// The `ferry` binary as [`TestEnv::command`] runs it.
    pub fn ferry_command(&self) -> std::process::Command {
        self.command(assert_cmd::cargo::cargo_bin("ferry"))
    }

    /// `ferry` with the hermetic environment, run from the workplace, at [`NOW`] as [`ACTOR`].
    /// A test that needs another time or actor says so on the command:
    /// `.env("FERRY_NOW", …)`, `.env("FERRY_ACTOR", …)`.
    pub fn ferry(&self) -> Command {
        Command::from_std(self.ferry_command())
    }

    /// Runs `cmd` and renders its exit status, stdout and stderr together, with the workplace
    /// path replaced by `[TMP]`: what a snapshot of user-facing output pins.
    pub fn run(&self, cmd: &mut Command) -> String {
        let out = cmd.output().expect("the command runs");
        self.render(&out)
    }

    /// The exit status, stdout and stderr of `out`, as [`TestEnv::run`] renders them.
    pub fn render(&self, out: &Output) -> String {
        let exit = match out.status.code() {
            Some(code) => code.to_string(),
            None => format!("{} (killed by a signal)", out.status),
        };
        format!(
            "exit: {exit}\n--- stdout\n{}--- stderr\n{}",
            section(&text(&out.stdout, self)),
            section(&text(&out.stderr, self)),
        )
    }

    /// Copies a folder of ferry's source tree (an example) into the workplace.
    pub fn copy_example(&self, rel: &str) -> PathBuf {
        let to = self.path().join(rel.rsplit('/').next().unwrap());
        copy_dir(&source_dir().join(rel), &to);
        to
    }

    /// Writes a file below the workplace, creating folders.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }
}

/// A section of [`TestEnv::render`]: the text, ending in a newline (marked when the output had
/// none).
fn section(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n[no newline at the end]\n")
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Output as text, with the workplace path replaced by `[TMP]`.
pub fn text(bytes: &[u8], env: &TestEnv) -> String {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let path = env.path().to_string_lossy().into_owned();
    let canonical = env
        .path()
        .canonicalize()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    text.replace(&canonical, "[TMP]").replace(&path, "[TMP]")
}

/// Gives `cmd` no global or system git config and a pinned identity and date.
fn isolate_git(cmd: &mut std::process::Command) {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", GIT_DATE)
        .env("GIT_COMMITTER_DATE", GIT_DATE);
}

/// git in `dir`, isolated as [`isolate_git`] says.
fn git_command(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.args(args).current_dir(dir);
    isolate_git(&mut cmd);
    cmd
}

/// Runs git in `dir` with no global config and a pinned identity and dates; it must succeed.
pub fn git(dir: &Path, args: &[&str]) {
    git_output(dir, args);
}

/// What git prints on stdout for `args` in `dir`, run as [`git`] runs it; it must succeed.
pub fn git_output(dir: &Path, args: &[&str]) -> String {
    String::from_utf8(git_output_bytes(dir, args)).expect("git prints UTF-8")
}

/// The bytes git prints on stdout for `args` in `dir` (object contents may not be UTF-8).
pub fn git_output_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = git_command(dir, args).output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Makes an embedded tenant `name.db` in the workplace and returns its URL.
pub fn tenant(env: &TestEnv, name: &str) -> String {
    let url = format!("sqlite:{name}.db");
    tenant_at(env, &url, name);
    url
}

/// Makes a tenant named `name` at `url`, with the retail example's facts.
pub fn tenant_at(env: &TestEnv, url: &str, name: &str) {
    env.ferry()
        .args(["tenant", "init", url, "--name", name])
        .args(["--platform-version", "4.5.0", "--engine", "maxcompute"])
        .args(["--engine-mode", "single", "--cluster", "cn-shanghai-mc-01"])
        .assert()
        .success();
}

/// stdout of a successful command, as text.
pub fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

/// stderr of a command, as text.
pub fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

/// Every file below `dir` as (relative path, bytes), sorted.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push((
                    path.strip_prefix(base).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The test PostgreSQL server's URL (`FERRY_TEST_POSTGRES_URL`, which `.ci/postgres` sets).
/// `None`, with a message, when it is not set; a failure when `CI` is set and it is not.
pub fn postgres_url() -> Option<String> {
    match std::env::var("FERRY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but FERRY_TEST_POSTGRES_URL is not: .ci/run starts a PostgreSQL server with .ci/postgres"
        ),
        _ => {
            eprintln!(
                "skipped: a PostgreSQL test (set FERRY_TEST_POSTGRES_URL, or run `. .ci/postgres` first)"
            );
            None
        }
    }
}

/// The URL of a new schema of its own on the test server (no tenant in it yet).
pub fn postgres_schema_url() -> Option<String> {
    let base = postgres_url()?;
    let join = if base.contains('?') { '&' } else { '?' };
    let schema = format!("cli_{}", uuid::Uuid::new_v4().simple());
    Some(format!("{base}{join}schema={schema}"))
}

/// A new PostgreSQL tenant named `name` with the retail example's facts, in a schema of its
/// own on the test server.
///
/// The server's password also goes into the workplace's `~/.pgpass`, as a team's CI keeps it,
/// for what reads the URL back from a plan file (where its password is `(sensitive)`).
pub fn postgres_tenant(env: &TestEnv, name: &str) -> Option<String> {
    let url = postgres_schema_url()?;
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p.to_string());
    if let Some(password) = password {
        let file = env.path().join(".pgpass");
        std::fs::write(&file, format!("*:*:*:*:{password}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    tenant_at(env, &url, name);
    Some(url)
}
