//! `ferry tenant copy FROM TO`: a whole tenant, table by table (its facts and settings, objects
//! with their references and secrets, history, what ferry applied, deployments with their
//! results, packages), from one store to another, then verified: the content hash of every
//! table read back from the copy must equal the source's. The lock is not copied (it is the
//! source's). The destination is made by the copy; an existing one is refused unless it holds
//! nothing (no object, deployment or package).

use super::{StoreError, Tenant, TenantUrl};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `INTEGER` (32 bits on PostgreSQL).
    Int,
    /// A version counter (`BIGINT` on PostgreSQL).
    BigInt,
    /// Text.
    Text,
    /// Bytes.
    Bytes,
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    /// NULL.
    Null,
    /// A number.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A table that is copied: its name, its columns, and the order its rows are read in (the
/// order they were written in, for the history and the deployments).
pub struct Table {
    /// Its name.
    pub name: &'static str,
    /// Its columns.
    pub columns: &'static [(&'static str, Kind)],
    /// `ORDER BY` on SQLite and PostgreSQL (both stores keep insertion order).
    pub order: (&'static str, &'static str),
}

use Kind::{BigInt, Bytes, Int, Text};

/// Every table a copy carries, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "tenant",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("platform_version", Text),
            ("engine", Text),
            ("engine_mode", Text),
            ("cluster", Text),
            ("created_at", Text),
            ("fingerprint_salt", Text),
        ],
        order: ("id", "id"),
    },
    Table {
        name: "settings",
        columns: &[
            ("id", Int),
            ("retention_days", Int),
            ("credential_fingerprint", Text),
            ("updated_at", Text),
            ("updated_by", Text),
        ],
        order: ("id", "id"),
    },
    Table {
        name: "objects",
        columns: &[
            ("guid", Text),
            ("kind", Text),
            ("address", Text),
            ("project", Text),
            ("name", Text),
            ("body", Text),
            ("hash", Text),
            ("version", BigInt),
            ("updated_at", Text),
            ("updated_by", Text),
        ],
        order: ("guid", "guid"),
    },
    Table {
        name: "object_refs",
        columns: &[("from_guid", Text), ("pointer", Text), ("to_guid", Text)],
        order: ("from_guid, pointer", "from_guid, pointer"),
    },
    Table {
        name: "object_changes",
        columns: &[
            ("guid", Text),
            ("version", BigInt),
            ("address", Text),
            ("action", Text),
            ("changed_at", Text),
            ("changed_by", Text),
        ],
        order: ("rowid", "seq"),
    },
    Table {
        name: "secrets",
        columns: &[("guid", Text), ("pointer", Text), ("value", Text)],
        order: ("guid, pointer", "guid, pointer"),
    },
    Table {
        name: "deployments",
        columns: &[
            ("id", Text),
            ("source", Text),
            ("plan_hash", Text),
            ("actor", Text),
            ("started_at", Text),
            ("finished_at", Text),
            ("status", Text),
            ("rollback_of", Text),
            ("objects_tree", Text),
            ("custom_kinds", Text),
            ("skip_gate", Text),
        ],
        order: ("rowid", "seq"),
    },
    Table {
        name: "deployment_results",
        columns: &[
            ("deployment_id", Text),
            ("guid", Text),
            ("address", Text),
            ("action", Text),
            ("status", Text),
            ("message", Text),
        ],
        order: ("deployment_id, guid", "deployment_id, guid"),
    },
    Table {
        name: "packages",
        columns: &[
            ("id", Text),
            ("hash", Text),
            ("name", Text),
            ("mode", Text),
            ("created_at", Text),
            ("imported_at", Text),
            ("imported_by", Text),
            ("manifest", Text),
            ("content", Bytes),
        ],
        order: ("id", "id"),
    },
    Table {
        name: "package_objects",
        columns: &[
            ("package_id", Text),
            ("guid", Text),
            ("address", Text),
            ("kind", Text),
            ("change", Text),
            ("status", Text),
            ("deployment_id", Text),
            ("message", Text),
        ],
        order: ("package_id, guid", "package_id, guid"),
    },
    Table {
        name: "applied",
        columns: &[
            ("guid", Text),
            ("hash", Text),
            ("blob_id", Text),
            ("deployment_id", Text),
            ("applied_at", Text),
            ("body", Text),
        ],
        order: ("guid", "guid"),
    },
];

/// The rows of one table, in [`TABLES`] order.
pub type Rows = Vec<Vec<Cell>>;

/// The content hash of a table's rows: blake3 over every cell, typed and length-prefixed.
pub fn digest(rows: &Rows) -> String {
    let mut h = blake3::Hasher::new();
    for row in rows {
        h.update(b"r");
        for cell in row {
            match cell {
                Cell::Null => h.update(b"n"),
                Cell::Int(i) => h.update(b"i").update(&i.to_le_bytes()),
                Cell::Text(t) => h
                    .update(b"t")
                    .update(&(t.len() as u64).to_le_bytes())
                    .update(t.as_bytes()),
                Cell::Bytes(b) => h
                    .update(b"b")
                    .update(&(b.len() as u64).to_le_bytes())
                    .update(b),
            };
        }
    }
    h.finalize().to_hex().to_string()
}

/// What a copy carried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    /// Rows per table, in [`TABLES`] order.
    pub tables: Vec<(&'static str, usize)>,
}

/// Copies the tenant at `from` into a new tenant at `to` (or into an empty one there), and
/// verifies the copy table by table.
pub fn copy(from: &TenantUrl, to: &TenantUrl, now: &str) -> Result<Copied, StoreError> {
    let source = super::open(from)?;
    let facts = source.facts()?;
    let mut rows = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        rows.push(source.table_rows(table)?);
    }
    let mut dest = match super::open(to) {
        Ok(existing) => {
            if let Some(what) = holds(existing.as_ref())? {
                return Err(StoreError::NotEmpty {
                    tenant: to.clone(),
                    what,
                });
            }
            existing
        }
        Err(StoreError::NotFound { .. } | StoreError::NoTenantSchema { .. }) => {
            super::create(to, &facts, now)?
        }
        Err(e) => return Err(e),
    };
    dest.load_tables(&rows)?;
    for (table, expected) in TABLES.iter().zip(&rows) {
        let copied = dest.table_rows(table)?;
        if digest(&copied) != digest(expected) {
            return Err(StoreError::CopyDiffers {
                tenant: to.clone(),
                table: table.name,
            });
        }
    }
    Ok(Copied {
        tables: TABLES
            .iter()
            .zip(&rows)
            .map(|(t, r)| (t.name, r.len()))
            .collect(),
    })
}

/// What a tenant holds that a copy would overwrite: `None` when it holds nothing.
fn holds(t: &dyn Tenant) -> Result<Option<String>, StoreError> {
    let objects: u64 = t.counts()?.values().sum();
    if objects > 0 {
        return Ok(Some(format!("{objects} object(s)")));
    }
    let deployments = t.deployment_ids()?.len();
    if deployments > 0 {
        return Ok(Some(format!("{deployments} deployment(s)")));
    }
    let packages = t.packages()?.len();
    if packages > 0 {
        return Ok(Some(format!("{packages} package(s)")));
    }
    let history = t.table_rows(&TABLES[4])?.len();
    if history > 0 {
        return Ok(Some(format!("the history of {history} change(s)")));
    }
    Ok(None)
}
