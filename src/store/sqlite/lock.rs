//! The maintenance lock: one row, taken, renewed and released in `BEGIN IMMEDIATE`
//! transactions, so that two processes racing for it are serialised by SQLite. Whether a lock
//! is live is [`Lock::live_at`]; whether it keeps someone out is [`Lock::bars`]: this file asks
//! those and writes no time comparison of its own.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{commit, db, SqliteTenant};
use crate::store::{Lease, Lock, StoreError, TenantUrl};

/// The lock row, live or not. Its lease is there when all three lease columns are.
pub(super) fn read(conn: &Connection, path: &Path) -> Result<Option<Lock>, StoreError> {
    conn.query_row(
        "SELECT holder, purpose, acquired_at, expires_at, host, pid, renewed_at
         FROM lock WHERE id = 1",
        [],
        |r| {
            let host: Option<String> = r.get(4)?;
            let pid: Option<u32> = r.get(5)?;
            let renewed_at: Option<String> = r.get(6)?;
            Ok(Lock {
                holder: r.get(0)?,
                purpose: r.get(1)?,
                acquired_at: r.get(2)?,
                expires_at: r.get(3)?,
                lease: match (host, pid, renewed_at) {
                    (Some(host), Some(pid), Some(renewed_at)) => Some(Lease {
                        host,
                        pid,
                        renewed_at,
                    }),
                    _ => None,
                },
            })
        },
    )
    .optional()
    .map_err(|e| db(path, "read lock", e))
}

/// The live lock, if any, after checking that it does not bar `holder` at `now`: fails with
/// [`StoreError::Locked`] when someone else holds it. Every write checks this first.
pub(super) fn check(
    conn: &Connection,
    path: &Path,
    url: &TenantUrl,
    holder: &str,
    now: &str,
) -> Result<Option<Lock>, StoreError> {
    match read(conn, path)? {
        Some(lock) if lock.bars(holder, now) => Err(StoreError::Locked {
            tenant: url.clone(),
            holder: lock.holder,
            purpose: lock.purpose,
            expires_at: lock.expires_at,
        }),
        lock => Ok(lock.filter(|l| l.live_at(now))),
    }
}

/// See [`crate::store::Tenant::lock`].
pub(super) fn live(t: &SqliteTenant, now: &str) -> Result<Option<Lock>, StoreError> {
    Ok(read(&t.conn, &t.path)?.filter(|l| l.live_at(now)))
}

/// See [`crate::store::Tenant::acquire_lock`]. A holder renewing its lock keeps the time it
/// first took it; the lease is written as given.
pub(super) fn acquire(
    t: &mut SqliteTenant,
    holder: &str,
    purpose: &str,
    now: &str,
    expires_at: &str,
    lease: Option<&Lease>,
) -> Result<Lock, StoreError> {
    let (path, url) = (t.path.clone(), t.url.clone());
    // A plain read first (WAL lets it run beside another process's write): a lock held by
    // someone else fails at once, without waiting for that process's transaction.
    check(&t.conn, &path, &url, holder, now)?;
    let tx = t.begin()?;
    let acquired_at = match check(&tx, &path, &url, holder, now)? {
        Some(mine) => mine.acquired_at,
        None => now.to_string(),
    };
    let lock = Lock {
        holder: holder.to_string(),
        purpose: purpose.to_string(),
        acquired_at,
        expires_at: expires_at.to_string(),
        lease: lease.cloned(),
    };
    let lease = lock.lease.as_ref();
    tx.execute(
        "INSERT OR REPLACE INTO lock
             (id, holder, purpose, acquired_at, expires_at, host, pid, renewed_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            lock.holder,
            lock.purpose,
            lock.acquired_at,
            lock.expires_at,
            lease.map(|l| &l.host),
            lease.map(|l| l.pid),
            lease.map(|l| &l.renewed_at),
        ],
    )
    .map_err(|e| db(&path, "write lock", e))?;
    commit(tx, &path)?;
    Ok(lock)
}

/// See [`crate::store::Tenant::release_lock`]. An expired lock is cleared by anyone, and
/// reported as nothing released.
pub(super) fn release(
    t: &mut SqliteTenant,
    holder: &str,
    force: bool,
    now: &str,
) -> Result<Option<Lock>, StoreError> {
    let (path, url) = (t.path.clone(), t.url.clone());
    let tx = t.begin()?;
    let released = match read(&tx, &path)? {
        None => None,
        Some(l) if l.bars(holder, now) && !force => {
            return Err(StoreError::NotHolder {
                tenant: url,
                holder: l.holder,
                me: holder.to_string(),
            })
        }
        Some(l) => {
            tx.execute("DELETE FROM lock WHERE id = 1", [])
                .map_err(|e| db(&path, "write lock", e))?;
            Some(l).filter(|l| l.live_at(now))
        }
    };
    commit(tx, &path)?;
    Ok(released)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::store::sqlite::test_support::{actor, put, tenant};
    use crate::store::Tenant;

    const T0: &str = "2026-03-01T10:00:00Z";
    const T1: &str = "2026-03-01T10:05:00Z";
    const T2: &str = "2026-03-01T10:10:00Z";
    const T3: &str = "2026-03-01T10:15:00Z";

    #[test]
    fn the_holder_takes_and_renews_it() {
        let (_dir, mut t) = tenant();
        assert_eq!(t.lock(T0).unwrap(), None);
        let lock = t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
        assert_eq!(
            (lock.acquired_at.as_str(), lock.expires_at.as_str()),
            (T0, T2)
        );
        assert_eq!(t.lock(T1).unwrap(), Some(lock));
        // Renewing keeps the time it was first taken.
        let renewed = t.acquire_lock("ann", "deploy", T1, T3, None).unwrap();
        assert_eq!(
            (renewed.acquired_at.as_str(), renewed.expires_at.as_str()),
            (T0, T3)
        );
    }

    #[test]
    fn a_write_that_waits_out_another_writer_names_the_lock_holder() {
        let (_dir, mut t) = tenant();
        t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
        let mut other = crate::store::sqlite::SqliteTenant::open(&t.path).unwrap();
        other
            .conn
            .busy_timeout(std::time::Duration::from_millis(20))
            .unwrap();
        let _writing = t.begin().unwrap();
        let e = other.begin().map(|_| ()).unwrap_err();
        assert!(
            matches!(e, StoreError::Busy { holder: Some(ref h), .. } if h == "ann"),
            "{e:?}"
        );
    }

    /// The lease of process `pid` on host `h`, renewed at `at`.
    fn lease(pid: u32, at: &str) -> Lease {
        Lease {
            host: "h".into(),
            pid,
            renewed_at: at.into(),
        }
    }

    #[test]
    fn a_lease_is_stored_and_returned_and_a_renewal_moves_it() {
        let (_dir, mut t) = tenant();
        let lock = t
            .acquire_lock("ci (apply 1)", "deploy", T0, T2, Some(&lease(42, T0)))
            .unwrap();
        assert_eq!(lock.lease, Some(lease(42, T0)));
        assert_eq!(t.lock(T0).unwrap(), Some(lock.clone()));
        assert_eq!(read(&t.conn, &t.path).unwrap(), Some(lock));
        // The heartbeat renews it: the renewal time and the expiry move, the time it was taken
        // does not.
        let renewed = t
            .acquire_lock("ci (apply 1)", "deploy", T1, T3, Some(&lease(42, T1)))
            .unwrap();
        assert_eq!(
            (
                renewed.acquired_at.as_str(),
                renewed.expires_at.as_str(),
                renewed.lease.as_ref().map(|l| l.renewed_at.as_str())
            ),
            (T0, T3, Some(T1))
        );
        assert_eq!(t.lock(T1).unwrap(), Some(renewed));
        // A lock taken by hand has no lease.
        t.release_lock("ci (apply 1)", false, T1).unwrap();
        let by_hand = t.acquire_lock("ann", "fix", T1, T3, None).unwrap();
        assert_eq!(by_hand.lease, None);
        assert_eq!(t.lock(T2).unwrap().unwrap().lease, None);
    }

    #[test]
    fn an_expired_lease_is_taken_over_and_its_lease_goes_with_it() {
        let (_dir, mut t) = tenant();
        t.acquire_lock("ci (apply 1)", "deploy", T0, T1, Some(&lease(42, T0)))
            .unwrap();
        let e = t
            .acquire_lock("ci (apply 2)", "deploy", T0, T1, Some(&lease(43, T0)))
            .unwrap_err();
        assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
        // Not renewed by its expiry: the next run takes it, with its own lease.
        let lock = t
            .acquire_lock("ci (apply 2)", "deploy", T1, T2, Some(&lease(43, T1)))
            .unwrap();
        assert_eq!(
            (lock.holder.as_str(), lock.acquired_at.as_str(), lock.lease),
            ("ci (apply 2)", T1, Some(lease(43, T1)))
        );
        // The first run's renewal now fails naming the second.
        let e = t
            .acquire_lock("ci (apply 1)", "deploy", T1, T2, Some(&lease(42, T1)))
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Locked { ref holder, .. } if holder == "ci (apply 2)"),
            "{e:?}"
        );
    }

    #[test]
    fn a_second_holder_is_refused_naming_the_first() {
        let (_dir, mut t) = tenant();
        t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
        let e = t.acquire_lock("bob", "fix", T1, T3, None).unwrap_err();
        let StoreError::Locked {
            holder,
            purpose,
            expires_at,
            ..
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(
            (holder.as_str(), purpose.as_str(), expires_at.as_str()),
            ("ann", "deploy", T2)
        );
        assert!(
            e.to_string().contains("locked by ann for `deploy` until"),
            "{e}"
        );
        // The lock keeps out bob's writes and settings too, not ann's.
        let batch = [put(Uuid::new_v4(), "a", None)];
        let e = t.write(&batch, &actor("bob", T1)).unwrap_err();
        assert!(
            matches!(e, StoreError::Locked { ref holder, .. } if holder == "ann"),
            "{e:?}"
        );
        let e = t
            .update_settings(Some(7), None, &actor("bob", T1))
            .unwrap_err();
        assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
        t.write(&batch, &actor("ann", T1)).unwrap();
    }

    #[test]
    fn an_expired_lock_can_be_taken_by_another() {
        let (_dir, mut t) = tenant();
        t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
        // At the instant it expires it no longer holds.
        assert_eq!(t.lock(T2).unwrap(), None);
        let lock = t.acquire_lock("bob", "fix", T2, T3, None).unwrap();
        assert_eq!(
            (lock.holder.as_str(), lock.acquired_at.as_str()),
            ("bob", T2)
        );
        t.write(&[put(Uuid::new_v4(), "a", None)], &actor("carol", T3))
            .unwrap();
    }

    #[test]
    fn only_the_holder_releases_it_unless_forced() {
        let (_dir, mut t) = tenant();
        t.acquire_lock("ann", "deploy", T0, T2, None).unwrap();
        let e = t.release_lock("bob", false, T1).unwrap_err();
        let StoreError::NotHolder { holder, me, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!((holder.as_str(), me.as_str()), ("ann", "bob"));
        assert!(t.lock(T1).unwrap().is_some(), "still held");
        let released = t.release_lock("bob", true, T1).unwrap().unwrap();
        assert_eq!(released.holder, "ann");
        assert_eq!(t.lock(T1).unwrap(), None);
        assert_eq!(
            t.release_lock("ann", false, T1).unwrap(),
            None,
            "nothing to release"
        );
        t.acquire_lock("ann", "deploy", T1, T2, None).unwrap();
        assert_eq!(
            t.release_lock("ann", false, T1).unwrap().unwrap().holder,
            "ann"
        );
    }

    #[test]
    fn an_expired_lock_is_cleared_by_anyone_and_reported_as_nothing() {
        let (_dir, mut t) = tenant();
        t.acquire_lock("ann", "deploy", T0, T1, None).unwrap();
        assert_eq!(t.release_lock("bob", false, T2).unwrap(), None);
        assert_eq!(read(&t.conn, &t.path).unwrap(), None, "the row is gone");
    }
}
