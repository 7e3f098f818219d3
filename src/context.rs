//! The context every operation runs in (cargo's `GlobalContext`): where the tenant repository
//! is, who is acting, what time it is, and the environment variables ferry reads.
//!
//! The binary makes one [`Context`] from the process ([`Context::from_process`]); tests make
//! their own ([`Context::new`]) with a pinned clock and actor. No other library module reads
//! `std::env`: what an operation needs from the environment it asks of the context, so an
//! operation's inputs are all in its arguments.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::{self, Config, ConfigError, CONFIG_FILE};
use crate::kinds::{KindError, Registry};
use crate::repo::{self, RepoError, Snapshot, Source};

/// The environment variables ferry reads, with what each is for.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "FERRY_ACTOR",
        "who is acting (default: user@host; the user is USER, else the OS user name)",
    ),
    ("FERRY_NOW", "the time, RFC 3339 (pins the clock)"),
    (
        "FERRY_FULL_READ",
        "plan reads every object file, never only the changed ones",
    ),
    (
        "FERRY_LOG",
        "diagnostics filter for tracing (e.g. `ferry=debug`)",
    ),
    ("NO_COLOR", "no colour in output"),
    (
        "FERRY_FAULT_WRITE_DELAY_MS",
        "testing only: pause between the changes of a store write",
    ),
    ("USER", "the default actor's user name"),
    ("USERNAME", "the default actor's user name (Windows)"),
    ("HOSTNAME", "the default actor's host name"),
];

/// The context could not be made, or a repository could not be found from it.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// `FERRY_NOW` is not a time.
    #[error("FERRY_NOW=`{value}` is not a time: {reason}")]
    BadNow {
        /// What it holds.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// `--repo DIR` names a folder without a `ferry.toml`.
    #[error("{} is not a tenant repository (no {CONFIG_FILE})", dir.display())]
    NotRepository {
        /// The folder.
        dir: PathBuf,
    },
    /// A revision of the repository has no `ferry.toml`.
    #[error("{} has no {CONFIG_FILE} at {revision}", root.display())]
    NoConfigAt {
        /// The repository.
        root: PathBuf,
        /// The revision read (or "the working tree").
        revision: String,
    },
    /// `ferry.toml` is missing or broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The repository could not be read.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A kind schema is broken.
    #[error(transparent)]
    Kind(#[from] KindError),
}

/// The latest time ferry stores: RFC 3339 has four-digit years.
pub const LATEST: &str = "9999-12-31T23:59:59Z";

/// [`LATEST`] as seconds since the Unix epoch.
const LATEST_SECS: u64 = 253_402_300_799;

/// A time that would be later than [`LATEST`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// `now + by` is past [`LATEST`].
    #[error(
        "{what} would be {} after {}, past {LATEST}, the latest time ferry can store",
        humantime::format_duration(*by),
        if *pinned { format!("FERRY_NOW={now}") } else { format!("now ({now})") }
    )]
    TooLate {
        /// What the time is for: "the lock's expiry".
        what: &'static str,
        /// Now, as stored.
        now: String,
        /// How long after now.
        by: Duration,
        /// Whether now is pinned by `FERRY_NOW`.
        pinned: bool,
        /// The flag that chose `by`, when one did (`--ttl`).
        flag: Option<&'static str>,
    },
}

/// Where the time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A pinned time (`FERRY_NOW`), for reproducible runs and tests.
    Fixed(SystemTime),
}

impl Clock {
    /// Now.
    pub fn now(self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Fixed(t) => t,
        }
    }

    /// `now + by`, for `what` (chosen by `flag`, when a flag chose it): refused when it would be
    /// past [`LATEST`], which ferry cannot store. Every lock expiry is computed here.
    pub fn later(
        self,
        now: SystemTime,
        by: Duration,
        what: &'static str,
        flag: Option<&'static str>,
    ) -> Result<SystemTime, TimeError> {
        let latest = SystemTime::UNIX_EPOCH + Duration::from_secs(LATEST_SECS);
        now.checked_add(by)
            .filter(|t| *t <= latest)
            .ok_or_else(|| TimeError::TooLate {
                what,
                now: timestamp(now),
                by,
                pinned: matches!(self, Clock::Fixed(_)),
                flag,
            })
    }
}

/// A time as ferry stores and prints it: RFC 3339, UTC, whole seconds. Never panics: a time
/// before 1970 or after [`LATEST`] (which [`Clock::later`] refuses to make) is clamped.
pub fn timestamp(t: SystemTime) -> String {
    let latest = SystemTime::UNIX_EPOCH + Duration::from_secs(LATEST_SECS);
    let t = t.clamp(SystemTime::UNIX_EPOCH, latest);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Parses an RFC 3339 time (`2026-01-31T12:00:00Z`).
pub fn parse_time(text: &str) -> Result<SystemTime, humantime::TimestampError> {
    humantime::parse_rfc3339_weak(text)
}

/// Everything an operation may know about the process it runs in.
#[derive(Debug, Clone)]
pub struct Context {
    /// `--repo DIR`, when given.
    repo: Option<PathBuf>,
    /// The folder commands start from.
    cwd: PathBuf,
    /// Who is acting.
    actor: String,
    /// The clock.
    clock: Clock,
    /// The environment variables, as read once.
    vars: BTreeMap<String, String>,
    /// `--no-color`.
    no_colour: bool,
}

impl Context {
    /// A context from explicit values (tests, embedding).
    pub fn new(
        repo: Option<PathBuf>,
        cwd: PathBuf,
        actor: String,
        clock: Clock,
        vars: BTreeMap<String, String>,
    ) -> Context {
        Context {
            repo,
            cwd,
            actor,
            clock,
            vars,
            no_colour: false,
        }
    }

    /// The context of this process: its environment, current folder and clock.
    pub fn from_process(repo: Option<PathBuf>) -> Result<Context, ContextError> {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let clock = match vars.get("FERRY_NOW") {
            Some(text) => Clock::Fixed(parse_time(text).map_err(|e| ContextError::BadNow {
                value: text.clone(),
                reason: e.to_string(),
            })?),
            None => Clock::System,
        };
        let actor = default_actor(&vars);
        Ok(Context {
            repo,
            cwd: PathBuf::from("."),
            actor,
            clock,
            vars,
            no_colour: false,
        })
    }

    /// This context, without colour when `no_colour` (`--no-color`) whatever `NO_COLOR` says.
    pub fn with_no_colour(mut self, no_colour: bool) -> Context {
        self.no_colour |= no_colour;
        self
    }

    /// Whether output must not be coloured: `--no-color`, or `NO_COLOR` set.
    pub fn no_colour(&self) -> bool {
        self.no_colour || self.is_set("NO_COLOR")
    }

    /// Testing only: the pause `FERRY_FAULT_WRITE_DELAY_MS` asks for between the changes of a
    /// store write.
    pub fn fault_write_delay(&self) -> Option<std::time::Duration> {
        self.var("FERRY_FAULT_WRITE_DELAY_MS")
            .and_then(|v| v.parse::<u64>().ok())
            .map(std::time::Duration::from_millis)
    }

    /// Who is acting: `FERRY_ACTOR`, or `user@host`. Also the lock holder's name.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Now.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The name of the host ferry runs on ([`host_name`]).
    pub fn host(&self) -> String {
        host_name(&self.vars)
    }

    /// Now, as ferry stores it.
    pub fn timestamp(&self) -> String {
        timestamp(self.now())
    }

    /// The acting user and the time, as the store records them.
    pub fn store_actor(&self) -> crate::store::Actor {
        crate::store::Actor {
            name: self.actor.clone(),
            now: self.timestamp(),
        }
    }

    /// An environment variable ferry was asked to read (`--credential-env VAR`, say).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether a flag-like variable is set at all.
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// `--repo DIR`, when given.
    pub fn repo_flag(&self) -> Option<&Path> {
        self.repo.as_deref()
    }

    /// The folder a command without `--repo` starts from.
    pub fn start(&self) -> &Path {
        self.repo.as_deref().unwrap_or(&self.cwd)
    }

    /// The repository root: `--repo`, or the nearest folder up from here with a `ferry.toml`.
    pub fn root(&self) -> Result<PathBuf, ContextError> {
        if let Some(dir) = &self.repo {
            if !dir.join(CONFIG_FILE).is_file() {
                return Err(ContextError::NotRepository { dir: dir.clone() });
            }
        }
        Ok(config::find_root(self.start())?)
    }

    /// The repository root for reading `revision` (or the working tree): as [`Context::root`],
    /// but a revision may also be read from a git repository (a bare one included) that has no
    /// `ferry.toml` on disk.
    pub fn root_at(&self, revision: Option<&str>) -> Result<PathBuf, ContextError> {
        match (self.root(), revision) {
            (Ok(root), _) => Ok(root),
            (Err(e), Some(_)) => repo::git_root(self.start()).ok_or(e),
            (Err(e), None) => Err(e),
        }
    }

    /// The kind registry: the repository's (built-in plus custom kinds) when in one, else the
    /// built-in kinds.
    pub fn registry(&self) -> Result<Registry, ContextError> {
        match self.root() {
            Ok(root) => {
                let snapshot = repo::snapshot_kinds(&root)?;
                check_config(&root, &snapshot, None)?;
                Ok(repo::registry_for(&snapshot)?)
            }
            Err(_) if self.repo.is_none() => Ok(Registry::builtin()?),
            Err(e) => Err(e),
        }
    }

    /// The repository at a revision (or its working tree), with its kind registry.
    pub fn workspace(&self, revision: Option<&str>) -> Result<Workspace, ContextError> {
        let root = self.root_at(revision)?;
        Workspace::load(root, revision)
    }
}

/// A tenant repository read at one revision (or its working tree): its files, its `ferry.toml`
/// and its kind registry.
#[derive(Debug)]
pub struct Workspace {
    /// The repository root.
    pub root: PathBuf,
    /// The revision read, or `None` for the working tree.
    pub revision: Option<String>,
    /// The files read.
    pub snapshot: Snapshot,
    /// Its `ferry.toml`.
    pub config: Config,
    /// Built-in plus the repository's kinds.
    pub registry: Registry,
}

impl Workspace {
    /// Reads the repository at `root` at `revision` (or the working tree).
    pub fn load(root: PathBuf, revision: Option<&str>) -> Result<Workspace, ContextError> {
        let source = match revision {
            Some(rev) => Source::Revision(rev.to_string()),
            None => Source::WorkTree,
        };
        let snapshot = repo::snapshot(&root, &source)?;
        let config = check_config(&root, &snapshot, revision)?;
        let registry = repo::registry_for(&snapshot)?;
        Ok(Workspace {
            root,
            revision: revision.map(str::to_string),
            snapshot,
            config,
            registry,
        })
    }

    /// What was read, for messages: the revision, or "the working tree".
    pub fn read_from(&self) -> String {
        self.revision
            .clone()
            .unwrap_or_else(|| "the working tree".to_string())
    }
}

/// The snapshot's `ferry.toml`, parsed; refuses a snapshot without a valid one.
fn check_config(
    root: &Path,
    snapshot: &Snapshot,
    revision: Option<&str>,
) -> Result<Config, ContextError> {
    match &snapshot.config {
        Some(file) => {
            let text = String::from_utf8_lossy(&file.bytes);
            Ok(Config::parse(&text, Path::new(CONFIG_FILE))?)
        }
        None => Err(ContextError::NoConfigAt {
            root: root.to_path_buf(),
            revision: revision.unwrap_or("the working tree").to_string(),
        }),
    }
}

/// `FERRY_ACTOR`, or `user@host`: the user is `USER` (`USERNAME` on Windows), else the name the
/// operating system gives the process's user (a CI container, cron and `env -i` set no `USER`),
/// else `unknown`.
fn default_actor(vars: &BTreeMap<String, String>) -> String {
    if let Some(actor) = vars.get("FERRY_ACTOR") {
        if !actor.trim().is_empty() {
            return actor.clone();
        }
    }
    let user = ["USER", "USERNAME"]
        .iter()
        .filter_map(|k| vars.get(*k))
        .map(|u| u.trim().to_string())
        .find(|u| !u.is_empty())
        .or_else(os_user_name)
        .unwrap_or_else(|| "unknown".to_string());
    format!("{user}@{}", host_name(vars))
}

/// The name of the process's effective user in the user database (`getpwuid_r`), when it has
/// one.
#[cfg(unix)]
pub fn os_user_name() -> Option<String> {
    // SAFETY: geteuid cannot fail. getpwuid_r writes only into `entry` and `buffer`, whose
    // sizes it is given, and sets `found` to `entry` or null; the name it points to lives in
    // `buffer`, read before `buffer` goes.
    unsafe {
        let uid = libc::geteuid();
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let mut buffer = vec![0 as libc::c_char; 4096];
        loop {
            let rc = libc::getpwuid_r(
                uid,
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            );
            if rc == libc::ERANGE && buffer.len() < 1 << 20 {
                buffer.resize(buffer.len() * 4, 0);
                continue;
            }
            if rc != 0 || found.is_null() || entry.pw_name.is_null() {
                return None;
            }
            let name = std::ffi::CStr::from_ptr(entry.pw_name)
                .to_string_lossy()
                .trim()
                .to_string();
            return (!name.is_empty()).then_some(name);
        }
    }
}

/// Elsewhere the user's name comes from the environment only.
#[cfg(not(unix))]
pub fn os_user_name() -> Option<String> {
    None
}

/// The name of this host: `HOSTNAME`, else the kernel's host name, else `/etc/hostname`, else
/// `localhost`. The default actor's host, and the host a lock's lease names.
pub fn host_name(vars: &BTreeMap<String, String>) -> String {
    [
        vars.get("HOSTNAME").cloned(),
        std::fs::read_to_string("/proc/sys/kernel/hostname").ok(),
        std::fs::read_to_string("/etc/hostname").ok(),
    ]
    .into_iter()
    .flatten()
    .map(|h| h.trim().to_string())
    .find(|h| !h.is_empty())
    .unwrap_or_else(|| "localhost".to_string())
}

/// Whether no process `pid` exists on this host (signal 0 reports ESRCH). A process of another
/// user exists; a pid that cannot name one process is not known to be gone.
#[cfg(unix)]
pub fn process_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let sent = unsafe { libc::kill(pid, 0) };
    sent != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Elsewhere no process is known to be gone: its lock lapses at its expiry.
#[cfg(not(unix))]
pub fn process_gone(_pid: u32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_actor_is_ferry_actor_or_user_at_host() {
        assert_eq!(default_actor(&vars(&[("FERRY_ACTOR", "ci")])), "ci");
        assert_eq!(
            default_actor(&vars(&[
                ("FERRY_ACTOR", " "),
                ("USER", "ana"),
                ("HOSTNAME", "box")
            ])),
            "ana@box"
        );
    }

    #[test]
    fn without_user_the_actor_is_the_os_user_name() {
        let os = os_user_name();
        #[cfg(unix)]
        assert!(os.as_deref().is_some_and(|n| !n.is_empty()), "{os:?}");
        let actor = default_actor(&vars(&[("HOSTNAME", "box")]));
        assert_eq!(
            actor,
            format!("{}@box", os.unwrap_or_else(|| "unknown".into()))
        );
        assert_eq!(
            default_actor(&vars(&[
                ("USER", " "),
                ("USERNAME", "ana"),
                ("HOSTNAME", "box")
            ])),
            "ana@box"
        );
    }

    #[test]
    fn a_fixed_clock_does_not_move() {
        let t = parse_time("2026-01-31T12:00:00Z").unwrap();
        let clock = Clock::Fixed(t);
        assert_eq!(clock.now(), t);
        assert_eq!(timestamp(clock.now()), "2026-01-31T12:00:00Z");
    }

    #[test]
    fn times_past_the_year_9999_are_refused_or_clamped_never_a_panic() {
        let last = parse_time(LATEST).unwrap();
        assert_eq!(timestamp(last), LATEST);
        assert_eq!(timestamp(last + Duration::from_secs(3600)), LATEST);
        assert_eq!(timestamp(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let clock = Clock::Fixed(last);
        assert_eq!(
            clock.later(last, Duration::ZERO, "x", None),
            Ok(last),
            "the latest time itself is fine"
        );
        let e = clock
            .later(
                last,
                Duration::from_secs(1800),
                "the lock's expiry",
                Some("--ttl"),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the lock's expiry would be 30m after FERRY_NOW=9999-12-31T23:59:59Z, past 9999-12-31T23:59:59Z, the latest time ferry can store"
        );
        let now = parse_time("2026-01-31T12:00:00Z").unwrap();
        let e = Clock::System
            .later(now, Duration::MAX, "the lock's expiry", Some("--ttl"))
            .unwrap_err();
        assert!(
            e.to_string().contains("after now (2026-01-31T12:00:00Z)"),
            "{e}"
        );
        assert_eq!(
            Clock::System
                .later(now, Duration::from_secs(60), "x", None)
                .map(timestamp),
            Ok("2026-01-31T12:01:00Z".to_string())
        );
    }

    #[test]
    fn the_host_is_hostname_or_the_kernels() {
        assert_eq!(host_name(&vars(&[("HOSTNAME", " box\n")])), "box");
        let kernel = host_name(&vars(&[]));
        assert!(!kernel.is_empty() && kernel.trim() == kernel, "{kernel:?}");
        assert_eq!(host_name(&vars(&[("HOSTNAME", " ")])), kernel);
    }

    #[test]
    fn repo_flag_without_ferry_toml_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(
            Some(dir.path().to_path_buf()),
            PathBuf::from("."),
            "t".into(),
            Clock::System,
            BTreeMap::new(),
        );
        assert!(matches!(
            ctx.root(),
            Err(ContextError::NotRepository { .. })
        ));
        assert!(matches!(
            ctx.registry(),
            Err(ContextError::NotRepository { .. })
        ));
    }
}
