//! The maintenance lock: one row. Taking or renewing it is one statement the server runs
//! atomically (`INSERT … ON CONFLICT … DO UPDATE … WHERE` the holder is the same or the lock
//! has expired), so that two runners never both get it; it does not wait for writers. Whether
//! a lock is live is [`Lock::live_at`], whether it keeps someone out [`Lock::bars`]; the one
//! time comparison in SQL, in that statement, is the same rule (times of one RFC 3339 UTC
//! format compared as "C"-collated text).

use postgres::GenericClient;

use super::{pg_err, PgTenant};
use crate::store::{Lease, Lock, StoreError, TenantUrl};

const COLUMNS: &str = "holder, purpose, acquired_at, expires_at, host, pid, renewed_at";

fn to_lock(r: &postgres::Row) -> Lock {
    let host: Option<String> = r.get(4);
    let pid: Option<i64> = r.get(5);
    let renewed_at: Option<String> = r.get(6);
    Lock {
        holder: r.get(0),
        purpose: r.get(1),
        acquired_at: r.get(2),
        expires_at: r.get(3),
        lease: match (host, pid, renewed_at) {
            (Some(host), Some(pid), Some(renewed_at)) => Some(Lease {
                host,
                pid: pid as u32,
                renewed_at,
            }),
            _ => None,
        },
    }
}

/// The lock row, live or not.
pub(super) fn read(
    c: &mut impl GenericClient,
    url: &TenantUrl,
) -> Result<Option<Lock>, StoreError> {
    let row = c
        .query_opt(&format!("SELECT {COLUMNS} FROM lock WHERE id = 1"), &[])
        .map_err(pg_err(url, "read lock"))?;
    Ok(row.as_ref().map(to_lock))
}

/// The live lock, after checking that it does not bar `holder` at `now`.
pub(super) fn check(
    c: &mut impl GenericClient,
    url: &TenantUrl,
    holder: &str,
    now: &str,
) -> Result<Option<Lock>, StoreError> {
    match read(c, url)? {
        Some(lock) if lock.bars(holder, now) => Err(locked(url, lock)),
        lock => Ok(lock.filter(|l| l.live_at(now))),
    }
}

fn locked(url: &TenantUrl, lock: Lock) -> StoreError {
    StoreError::Locked {
        tenant: url.clone(),
        holder: lock.holder,
        purpose: lock.purpose,
        expires_at: lock.expires_at,
    }
}

/// See [`crate::store::Tenant::acquire_lock`].
pub(super) fn acquire(
    t: &mut PgTenant,
    holder: &str,
    purpose: &str,
    now: &str,
    expires_at: &str,
    lease: Option<&Lease>,
) -> Result<Lock, StoreError> {
    let url = t.url.clone();
    let mut client = t.client.borrow_mut();
    let pid = lease.map(|l| i64::from(l.pid));
    let row = client
        .query_opt(
            &format!(
                "INSERT INTO lock AS l (id, {COLUMNS}) VALUES (1, $1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder,
                     purpose = EXCLUDED.purpose,
                     acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > $3
                         THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
                     expires_at = EXCLUDED.expires_at, host = EXCLUDED.host, pid = EXCLUDED.pid,
                     renewed_at = EXCLUDED.renewed_at
                 WHERE l.holder = EXCLUDED.holder OR l.expires_at <= $3
                 RETURNING {COLUMNS}"
            ),
            &[
                &holder,
                &purpose,
                &now,
                &expires_at,
                &lease.map(|l| &l.host),
                &pid,
                &lease.map(|l| &l.renewed_at),
            ],
        )
        .map_err(pg_err(&url, "write lock"))?;
    match row {
        Some(row) => Ok(to_lock(&row)),
        // Someone else holds it: name them (read again: it may have lapsed in between).
        None => match read(&mut *client, &url)? {
            Some(lock) if lock.bars(holder, now) => Err(locked(&url, lock)),
            _ => {
                drop(client);
                acquire(t, holder, purpose, now, expires_at, lease)
            }
        },
    }
}

/// See [`crate::store::Tenant::release_lock`]. An expired lock is cleared by anyone, and
/// reported as nothing released.
pub(super) fn release(
    t: &mut PgTenant,
    holder: &str,
    force: bool,
    now: &str,
) -> Result<Option<Lock>, StoreError> {
    let url = t.url.clone();
    let mut client = t.client.borrow_mut();
    let mut tx = client.transaction().map_err(pg_err(&url, "write lock"))?;
    let row = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM lock WHERE id = 1 FOR UPDATE"),
            &[],
        )
        .map_err(pg_err(&url, "read lock"))?;
    let released = match row.as_ref().map(to_lock) {
        None => None,
        Some(l) if l.bars(holder, now) && !force => {
            return Err(StoreError::NotHolder {
                tenant: url,
                holder: l.holder,
                me: holder.to_string(),
            })
        }
        Some(l) => {
            tx.execute("DELETE FROM lock WHERE id = 1", &[])
                .map_err(pg_err(&url, "write lock"))?;
            Some(l).filter(|l| l.live_at(now))
        }
    };
    tx.commit().map_err(pg_err(&url, "commit"))?;
    Ok(released)
}
