//! The maintenance lock around an apply: who holds it, for how long, waiting for another
//! holder, and releasing it on every way out.
//!
//! An apply takes the destination's lock as `actor (apply RUN)` for [`LOCK_TTL`], unless the same
//! actor already holds a window opened by hand (`ferry tenant lock`): then it works inside that
//! window and leaves it in place. Waiting for another holder (`--lock-wait`) polls until a
//! deadline; a cancellation ([`crate::store::cancel`]) stops the wait. The lock is released
//! whether the apply succeeded or failed.

use std::time::{Duration, Instant};

use super::ApplyError;
use crate::context::{timestamp, Clock};
use crate::store::{self, Actor, StoreError, Tenant};

/// How long an apply's lock lasts unless renewed.
pub const LOCK_TTL: Duration = Duration::from_secs(15 * 60);

/// How often a waiting apply asks for the lock again.
const POLL: Duration = Duration::from_millis(100);

/// Something a session tells the person waiting.
#[derive(Debug)]
pub enum Event<'a> {
    /// Waiting for the lock another holder has (said once).
    Waiting {
        /// The holder.
        holder: &'a str,
    },
    /// The lock could not be released after a failed apply (it lapses at its expiry).
    NotReleased(&'a StoreError),
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
    if own_lock {
        tracing::debug!(%holder, "working inside the holder's own maintenance window");
    } else {
        take(tenant, &holder, options, on_event)?;
        tracing::debug!(%holder, "took the lock");
    }
    let actor = Actor {
        name: holder.clone(),
        now: timestamp(options.clock.now()),
    };
    let result = work(tenant, &actor);
    let released = if own_lock {
        Ok(None)
    } else {
        tenant.release_lock(&holder, false, &actor.now)
    };
    match (result, released) {
        (Ok(done), Ok(_)) => Ok(done),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(r)) => {
            on_event(Event::NotReleased(&r));
            Err(e)
        }
    }
}

/// Takes the lock for `holder`, waiting up to `options.lock_wait` for another holder's.
fn take(
    tenant: &mut dyn Tenant,
    holder: &str,
    options: Options<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), StoreError> {
    let deadline = Instant::now() + options.lock_wait;
    let mut waiting = false;
    loop {
        if store::cancelled() {
            return Err(StoreError::Cancelled);
        }
        let now = options.clock.now();
        match tenant.acquire_lock(
            holder,
            "deploy",
            &timestamp(now),
            &timestamp(now + LOCK_TTL),
        ) {
            Ok(_) => return Ok(()),
            Err(StoreError::Locked { holder, .. }) if Instant::now() < deadline => {
                if !waiting {
                    on_event(Event::Waiting { holder: &holder });
                    waiting = true;
                }
                std::thread::sleep(POLL);
            }
            Err(e) => return Err(e),
        }
    }
}
