//! The maintenance lock around an apply: who holds it, for how long, keeping it renewed,
//! waiting for another holder, taking over from a dead one, and releasing it on every way out.
//!
//! An apply takes the destination's lock as `actor (apply RUN)` for a short [`LEASE`] naming its
//! host and process, and a heartbeat thread renews it every [`HEARTBEAT`] while the apply works;
//! so the lock of a run that was killed lapses within a minute. Unless the same actor already
//! holds a window opened by hand (`ferry tenant lock`): then it works inside that window, which
//! keeps its own time to live, and leaves it in place.
//!
//! Waiting for another holder (`--lock-wait`) polls until a deadline; a cancellation
//! ([`crate::store::cancel`]) stops the wait. A holder whose lease names this host and a
//! process that no longer exists is gone: its lock is released and taken at once. The lock is
//! released whether the apply succeeded or failed.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::ApplyError;
use crate::context::{timestamp, Clock};
use crate::store::{self, Actor, Lease, Lock, StoreError, Tenant, TenantUrl};

/// How long an apply's lock lasts unless renewed.
pub const LEASE: Duration = Duration::from_secs(60);

/// How often the heartbeat renews an apply's lock: a quarter of the lease, so that a renewal
/// that fails (a busy database) is tried again well before the lease lapses.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// How often a waiting apply asks for the lock again.
const POLL: Duration = Duration::from_millis(100);

/// The purpose an apply's lock is taken for.
const PURPOSE: &str = "deploy";

/// Something a session tells the person waiting.
#[derive(Debug)]
pub enum Event<'a> {
    /// Waiting for the lock another holder has (said once).
    Waiting {
        /// The holder.
        holder: &'a str,
    },
    /// The lock of a holder whose process on this host is gone was released, to be taken.
    TookOver {
        /// The holder it was released for.
        holder: &'a str,
        /// Its process id.
        pid: u32,
        /// This host.
        host: &'a str,
    },
    /// The lock could not be released after a failed apply (it lapses at its expiry).
    NotReleased(&'a StoreError),
    /// The apply succeeded, but its lease had lapsed (a write that outlasted it) and another
    /// holder has the lock now; it is left to them.
    Lapsed {
        /// The holder now.
        holder: &'a str,
    },
}

/// How a session takes the lock.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Who is acting.
    pub actor: &'a str,
    /// The clock.
    pub clock: Clock,
    /// How long to wait for another holder's lock.
    pub lock_wait: Duration,
    /// This host's name ([`crate::context::host_name`]), as a lease names it.
    pub host: &'a str,
}

/// Takes the lock of `tenant`, runs `work` under it as the lock holder, and releases the lock.
pub fn with_lock<T>(
    tenant: &mut dyn Tenant,
    options: Options<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
    work: impl FnOnce(&mut dyn Tenant, &Actor) -> Result<T, ApplyError>,
) -> Result<T, ApplyError> {
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let me = options.actor;
    let own_lock = tenant
        .lock(&timestamp(options.clock.now()))?
        .is_some_and(|l| l.holder == me);
    let holder = if own_lock {
        me.to_string()
    } else {
        format!("{me} (apply {})", &run_id[..8])
    };
    let heartbeat = if own_lock {
        tracing::debug!(%holder, "working inside the holder's own maintenance window");
        None
    } else {
        take(tenant, &holder, options, on_event)?;
        tracing::debug!(%holder, "took the lock");
        Heartbeat::start(
            tenant.url().clone(),
            holder.clone(),
            options.clock,
            options.host.to_string(),
            HEARTBEAT,
        )
    };
    let actor = Actor {
        name: holder.clone(),
        now: timestamp(options.clock.now()),
    };
    let result = work(tenant, &actor);
    if let Some(heartbeat) = heartbeat {
        heartbeat.stop();
    }
    let released = if own_lock {
        Ok(None)
    } else {
        tenant.release_lock(&holder, false, &timestamp(options.clock.now()))
    };
    match (result, released) {
        (Ok(done), Ok(_)) => Ok(done),
        (Ok(done), Err(StoreError::NotHolder { holder, .. })) => {
            on_event(Event::Lapsed { holder: &holder });
            Ok(done)
        }
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(r)) => {
            on_event(Event::NotReleased(&r));
            Err(e)
        }
    }
}

/// Takes or renews the lock for `holder` as a [`LEASE`] of this process, now.
fn acquire(
    tenant: &mut dyn Tenant,
    holder: &str,
    clock: Clock,
    host: &str,
) -> Result<Lock, ApplyError> {
    let now = clock.now();
    let until = clock.later(now, LEASE, "the apply's lock lease", None)?;
    let lease = Lease {
        host: host.to_string(),
        pid: std::process::id(),
        renewed_at: timestamp(now),
    };
    Ok(tenant.acquire_lock(
        holder,
        PURPOSE,
        &lease.renewed_at,
        &timestamp(until),
        Some(&lease),
    )?)
}

/// Takes the lock for `holder`, waiting up to `options.lock_wait` for another holder's (and
/// for a busy database), and taking over at once from a holder whose process is gone.
fn take(
    tenant: &mut dyn Tenant,
    holder: &str,
    options: Options<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), ApplyError> {
    // A wait too long to have a deadline has none.
    let deadline = Instant::now().checked_add(options.lock_wait);
    let waited_out = || deadline.is_some_and(|d| Instant::now() >= d);
    let mut waiting = false;
    loop {
        if store::cancelled() {
            return Err(StoreError::Cancelled.into());
        }
        match acquire(tenant, holder, options.clock, options.host) {
            Ok(_) => return Ok(()),
            Err(ApplyError::Store(StoreError::Locked { holder: other, .. }))
                if take_over(tenant, options, on_event)? =>
            {
                tracing::debug!(%other, "released the lock of a holder that is gone");
                continue;
            }
            Err(ApplyError::Store(StoreError::Locked { holder: other, .. })) if !waited_out() => {
                if !waiting {
                    on_event(Event::Waiting { holder: &other });
                    waiting = true;
                }
            }
            Err(ApplyError::Store(StoreError::Busy { .. })) if !waited_out() => {
                tracing::debug!("the tenant is busy; asking for the lock again");
            }
            Err(ApplyError::Store(e @ StoreError::Locked { .. }))
                if !options.lock_wait.is_zero() =>
            {
                return Err(ApplyError::WaitedOut {
                    waited: humantime::format_duration(options.lock_wait).to_string(),
                    source: Box::new(e),
                });
            }
            Err(ApplyError::Store(StoreError::Busy {
                tenant: url,
                action,
                holder: None,
            })) => {
                let now = timestamp(options.clock.now());
                let holder = tenant.lock(&now).ok().flatten().map(|l| l.holder);
                return Err(StoreError::Busy {
                    tenant: url,
                    action,
                    holder,
                }
                .into());
            }
            Err(e) => return Err(e),
        }
        std::thread::sleep(POLL);
    }
}

/// When the live lock's lease names this host and a process that no longer exists, releases
/// it as its holder (atomic: a holder that changed meanwhile is not released) and says so;
/// whether it did, or the lock is already free.
fn take_over(
    tenant: &mut dyn Tenant,
    options: Options<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<bool, StoreError> {
    let now = timestamp(options.clock.now());
    let Some(lock) = tenant.lock(&now)? else {
        return Ok(true);
    };
    let Some(lease) = &lock.lease else {
        return Ok(false);
    };
    if lease.host != options.host || !crate::context::process_gone(lease.pid) {
        return Ok(false);
    }
    match tenant.release_lock(&lock.holder, false, &now) {
        Ok(_) => {
            on_event(Event::TookOver {
                holder: &lock.holder,
                pid: lease.pid,
                host: options.host,
            });
            Ok(true)
        }
        Err(StoreError::NotHolder { .. } | StoreError::Busy { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The thread that renews an apply's lock while the apply works, on a connection of its own.
struct Heartbeat {
    /// Dropped to stop the thread at once.
    stop: mpsc::Sender<()>,
    /// The thread.
    thread: JoinHandle<()>,
}

impl Heartbeat {
    /// Starts renewing `holder`'s lock of the tenant at `url` every `every`; `None` (with a
    /// warning) when no thread can be started, and the lock then lasts one lease.
    fn start(
        url: TenantUrl,
        holder: String,
        clock: Clock,
        host: String,
        every: Duration,
    ) -> Option<Heartbeat> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ferry-lock-heartbeat".into())
            .spawn(move || beat(&url, &holder, clock, &host, every, &stopped));
        match thread {
            Ok(thread) => Some(Heartbeat { stop, thread }),
            Err(e) => {
                tracing::warn!(%e, "cannot start the lock heartbeat; the lock lasts one lease");
                None
            }
        }
    }

    /// Stops the thread and waits for it (at most the end of a renewal in progress).
    fn stop(self) {
        drop(self.stop);
        if self.thread.join().is_err() {
            tracing::warn!("the lock heartbeat panicked");
        }
    }
}

/// The heartbeat's loop: every `every`, until `stopped`, renews the lock; a failure is logged
/// and tried again at the next beat; a lock someone else took ends it.
fn beat(
    url: &TenantUrl,
    holder: &str,
    clock: Clock,
    host: &str,
    every: Duration,
    stopped: &mpsc::Receiver<()>,
) {
    let mut tenant = None;
    loop {
        match stopped.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        if tenant.is_none() {
            match store::open(url) {
                Ok(t) => tenant = Some(t),
                Err(e) => {
                    tracing::warn!(%e, "cannot open the tenant to renew the lock; trying again");
                    continue;
                }
            }
        }
        let Some(t) = tenant.as_mut() else {
            continue;
        };
        match acquire(t.as_mut(), holder, clock, host) {
            Ok(lock) => tracing::debug!(%holder, until = %lock.expires_at, "renewed the lock"),
            Err(ApplyError::Store(StoreError::Locked { holder: other, .. })) => {
                tracing::warn!(%holder, %other, "the lock lapsed and was taken; no more renewals");
                return;
            }
            Err(e) => tracing::warn!(%e, "cannot renew the lock; trying again at the next beat"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::parse_time;
    use crate::store::sqlite::test_support::tenant;

    const T0: &str = "2026-03-01T10:00:00Z";
    const T1: &str = "2026-03-01T10:00:30Z";

    fn options(lock_wait: Duration) -> Options<'static> {
        Options {
            actor: "ci",
            clock: Clock::Fixed(parse_time(T1).unwrap()),
            lock_wait,
            host: "this-host",
        }
    }

    /// A lock of `ci (apply old)` until a minute after T0, with a lease of `pid` on `host`.
    fn held_by(t: &mut dyn Tenant, pid: u32, host: &str) {
        let lease = Lease {
            host: host.into(),
            pid,
            renewed_at: T0.into(),
        };
        t.acquire_lock(
            "ci (apply old)",
            PURPOSE,
            T0,
            "2026-03-01T10:01:00Z",
            Some(&lease),
        )
        .unwrap();
    }

    /// A pid no process can have (above Linux's largest pid).
    const NO_PROCESS: u32 = 999_999_999;

    #[test]
    fn a_lock_whose_process_on_this_host_is_gone_is_taken_at_once() {
        let (_dir, mut t) = tenant();
        held_by(&mut t, NO_PROCESS, "this-host");
        let mut events = Vec::new();
        let holder = with_lock(
            &mut t,
            options(Duration::ZERO),
            &mut |e| events.push(format!("{e:?}")),
            |tenant, actor| {
                let lock = tenant.lock(&actor.now).unwrap().unwrap();
                let lease = lock.lease.unwrap();
                assert_eq!(
                    (lease.host.as_str(), lease.pid, lease.renewed_at.as_str()),
                    ("this-host", std::process::id(), T1)
                );
                assert_eq!(lock.expires_at, "2026-03-01T10:01:30Z");
                Ok(lock.holder)
            },
        )
        .unwrap();
        assert!(holder.starts_with("ci (apply "), "{holder}");
        assert_eq!(
            events,
            [format!(
                "TookOver {{ holder: \"ci (apply old)\", pid: {NO_PROCESS}, host: \"this-host\" }}"
            )]
        );
        assert_eq!(t.lock(T1).unwrap(), None, "released after the work");
    }

    #[test]
    fn a_lock_of_a_live_process_or_another_host_is_not_taken() {
        for (pid, host) in [
            (std::process::id(), "this-host"),
            (NO_PROCESS, "other-host"),
        ] {
            let (_dir, mut t) = tenant();
            held_by(&mut t, pid, host);
            let mut events = Vec::new();
            let e = with_lock(
                &mut t,
                options(Duration::ZERO),
                &mut |e| events.push(format!("{e:?}")),
                |_, _| -> Result<(), ApplyError> { panic!("worked without the lock") },
            )
            .unwrap_err();
            assert!(
                matches!(&e, ApplyError::Store(StoreError::Locked { holder, .. }) if holder == "ci (apply old)"),
                "{host}: {e:?}"
            );
            assert!(events.is_empty(), "{events:?}");
            assert_eq!(t.lock(T1).unwrap().unwrap().holder, "ci (apply old)");
        }
    }

    #[test]
    fn an_endless_lock_wait_has_no_deadline_and_no_overflow() {
        let (_dir, mut t) = tenant();
        let mut events = Vec::new();
        with_lock(
            &mut t,
            options(Duration::MAX),
            &mut |e| events.push(format!("{e:?}")),
            |_, _| Ok(()),
        )
        .unwrap();
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn a_lease_past_the_year_9999_is_refused() {
        let (_dir, mut t) = tenant();
        let mut o = options(Duration::ZERO);
        o.clock = Clock::Fixed(parse_time(crate::context::LATEST).unwrap());
        let e = with_lock(&mut t, o, &mut |_| {}, |_, _| Ok(())).unwrap_err();
        assert!(matches!(e, ApplyError::TooLate(_)), "{e:?}");
        assert!(
            e.to_string().contains("FERRY_NOW=9999-12-31T23:59:59Z"),
            "{e}"
        );
    }

    #[test]
    fn a_successful_apply_whose_lease_was_taken_reports_it_and_succeeds() {
        let (_dir, mut t) = tenant();
        let mut events = Vec::new();
        let done = with_lock(
            &mut t,
            options(Duration::ZERO),
            &mut |e| events.push(format!("{e:?}")),
            |tenant, actor| {
                // The lease lapses and another run takes the lock.
                tenant.release_lock(&actor.name, false, &actor.now).unwrap();
                tenant
                    .acquire_lock("bob (apply 2)", PURPOSE, T1, "2026-03-01T10:05:00Z", None)
                    .unwrap();
                Ok(7)
            },
        )
        .unwrap();
        assert_eq!(done, 7);
        assert_eq!(events, ["Lapsed { holder: \"bob (apply 2)\" }"]);
        assert_eq!(t.lock(T1).unwrap().unwrap().holder, "bob (apply 2)");
    }

    /// Waits (bounded, only as a guard against a hang) until `ready` holds of the tenant's lock.
    fn until(url: &TenantUrl, ready: impl Fn(Option<Lock>) -> bool) {
        let t = store::open(url).unwrap();
        for _ in 0..1000 {
            if ready(t.lock(T1).unwrap()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the heartbeat did not get there");
    }

    #[test]
    fn the_heartbeat_renews_the_lease_and_stops_when_the_lock_is_taken() {
        let (_dir, mut t) = tenant();
        let url = t.url().clone();
        held_by(&mut t, std::process::id(), "this-host");
        let clock = Clock::Fixed(parse_time(T1).unwrap());
        let beat = Heartbeat::start(
            url.clone(),
            "ci (apply old)".into(),
            clock,
            "this-host".into(),
            Duration::from_millis(5),
        )
        .unwrap();
        until(&url, |l| {
            l.and_then(|l| l.lease).is_some_and(|l| l.renewed_at == T1)
        });
        let lock = t.lock(T1).unwrap().unwrap();
        assert_eq!(
            (lock.acquired_at.as_str(), lock.expires_at.as_str()),
            (T0, "2026-03-01T10:01:30Z")
        );
        // Another holder takes the lock: the heartbeat ends on its own, and takes nothing back.
        t.release_lock("x", true, T1).unwrap();
        t.acquire_lock("bob", "fix", T1, "2026-03-01T11:00:00Z", None)
            .unwrap();
        while !beat.thread.is_finished() {
            std::thread::sleep(Duration::from_millis(5));
        }
        beat.stop();
        assert_eq!(t.lock(T1).unwrap().unwrap().holder, "bob");
    }

    #[test]
    fn stopping_the_heartbeat_does_not_wait_for_its_next_beat() {
        let (_dir, t) = tenant();
        let beat = Heartbeat::start(
            t.url().clone(),
            "ci".into(),
            Clock::System,
            "this-host".into(),
            Duration::from_secs(24 * 3600),
        )
        .unwrap();
        // A stop that waited for the beat would hang this test for a day.
        beat.stop();
    }
}
