//! A hermetic environment for running `ferry`: a temporary HOME, no global git config, no
//! colour, and helpers to build repositories.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

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

    /// `ferry` with a hermetic environment, run from the workplace.
    pub fn ferry(&self) -> Command {
        let mut cmd = Command::cargo_bin("ferry").expect("the ferry binary is built");
        cmd.current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1");
        cmd
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

/// Runs git in `dir` with a pinned identity and dates.
pub fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?} failed");
}

/// Makes an embedded tenant `name.db` in the workplace and returns its URL.
pub fn tenant(env: &TestEnv, name: &str) -> String {
    let url = format!("sqlite:{name}.db");
    env.ferry()
        .args([
            "tenant",
            "init",
            &url,
            "--name",
            name,
            "--platform-version",
            "4.5.0",
        ])
        .args([
            "--engine",
            "maxcompute",
            "--engine-mode",
            "single",
            "--cluster",
            "cn-shanghai-mc-01",
        ])
        .assert()
        .success();
    url
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
