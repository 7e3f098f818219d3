//! The maintenance lock: one row, taken, renewed and released in `BEGIN IMMEDIATE`
//! transactions, so that two processes racing for it are serialised by SQLite. Whether a lock
//! is live is [`Lock::live_at`]; whether it keeps someone out is [`Lock::bars`]: this file asks
//! those and writes no time comparison of its own.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{commit, db, SqliteTenant};
use crate::store::{Lock, StoreError, TenantUrl};

/// The lock row, live or not.
fn read(conn: &Connection, path: &Path) -> Result<Option<Lock>, StoreError> {
    conn.query_row(
        "SELECT holder, purpose, acquired_at, expires_at FROM lock WHERE id = 1",
        [],
        |r| {
            Ok(Lock {
                holder: r.get(0)?,
                purpose: r.get(1)?,
                acquired_at: r.get(2)?,
                expires_at: r.get(3)?,
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
/// first took it.
pub(super) fn acquire(
    t: &mut SqliteTenant,
    holder: &str,
    purpose: &str,
    now: &str,
    expires_at: &str,
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
    };
    tx.execute(
        "INSERT OR REPLACE INTO lock (id, holder, purpose, acquired_at, expires_at)
         VALUES (1, ?1, ?2, ?3, ?4)",
        params![lock.holder, lock.purpose, lock.acquired_at, lock.expires_at],
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
