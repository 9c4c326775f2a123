//! A checkpointer storage backend in one file: entries in a SQLite database.
//!
//! This crate is the worked example of the README's "Writing a storage crate". A backend is a
//! type implementing [`Storage`] — `store`, `load`, `delete` and `list`, plus `exists` and
//! `checkpoint_date` when it can answer them more cheaply than a load — that passes the
//! conformance suite of `checkpointer_core::testing` (see `tests/conformance.rs`).
//!
//! What the contract asks, and how this store meets it:
//!
//! - **Bytes and metadata, exactly**: the row keeps the entry's 72-byte envelope header (created
//!   time to the nanosecond, codec, checksum) as the core builds it with
//!   [`Entry::envelope_header`], and the payload beside it. Loading parses the header back with
//!   [`envelope::parse_header`]; the store never recomputes the checksum (the core verifies it).
//! - **Atomic replacement**: one `INSERT … ON CONFLICT DO UPDATE` per store, in SQLite's own
//!   transaction, so a reader sees the old row or the new one.
//! - **Keys**: rows are keyed by [`Key::relative_path`]; listings parse it back with
//!   [`Key::parse_relative_path`] and keep what [`Scope::contains`].
//! - **Any executor**: the calls are short blocking SQLite calls inside `async fn`s, like the fs
//!   store's file I/O, so the futures need no runtime.

#![warn(missing_docs)]

use checkpointer_core::{
    async_trait, envelope, Bytes, CheckpointError, Entry, EntryInfo, Key, Scope, Storage,
};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A row's header is not a checkpointer envelope header.
    #[error("damaged row {path}: {source}")]
    Damaged {
        /// The row's key path.
        path: String,
        /// What is wrong.
        source: CheckpointError,
    },
}

/// Entries in one SQLite database file (or in memory).
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SqliteError> {
        Self::init(Connection::open(path)?)
    }

    /// A database in memory, gone with the store.
    pub fn in_memory() -> Result<Self, SqliteError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, SqliteError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS entries (
                 path    TEXT PRIMARY KEY,
                 header  BLOB NOT NULL,
                 payload BLOB NOT NULL
             )",
        )?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> Result<T, SqliteError>,
    ) -> Result<T, CheckpointError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn).map_err(|e| CheckpointError::storage("sqlite", op, e))
    }
}

fn header(path: &str, bytes: &[u8]) -> Result<checkpointer_core::EntryMeta, SqliteError> {
    envelope::parse_header(bytes)
        .map(|(meta, _)| meta)
        .map_err(|source| SqliteError::Damaged {
            path: path.to_string(),
            source,
        })
}

#[async_trait]
impl Storage for SqliteStore {
    fn name(&self) -> &str {
        "sqlite"
    }

    async fn store(&self, key: &Key, entry: Entry) -> Result<(), CheckpointError> {
        self.with("store", |c| {
            c.execute(
                "INSERT INTO entries (path, header, payload) VALUES (?1, ?2, ?3)
                 ON CONFLICT(path) DO UPDATE SET header = excluded.header, payload = excluded.payload",
                params![key.relative_path(), &entry.envelope_header()[..], &entry.payload[..]],
            )?;
            Ok(())
        })
    }

    async fn load(&self, key: &Key) -> Result<Option<Entry>, CheckpointError> {
        let path = key.relative_path();
        self.with("load", |c| {
            let row: Option<(Vec<u8>, Vec<u8>)> = c
                .query_row(
                    "SELECT header, payload FROM entries WHERE path = ?1",
                    [&path],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((head, payload)) = row else {
                return Ok(None);
            };
            Ok(Some(Entry {
                meta: header(&path, &head)?,
                payload: Bytes::from(payload),
            }))
        })
    }

    async fn checkpoint_date(&self, key: &Key) -> Result<Option<SystemTime>, CheckpointError> {
        let path = key.relative_path();
        self.with("stat", |c| {
            let head: Option<Vec<u8>> = c
                .query_row("SELECT header FROM entries WHERE path = ?1", [&path], |r| {
                    r.get(0)
                })
                .optional()?;
            head.map(|h| header(&path, &h).map(|m| m.created))
                .transpose()
        })
    }

    async fn delete(&self, key: &Key) -> Result<bool, CheckpointError> {
        self.with("delete", |c| {
            Ok(c.execute("DELETE FROM entries WHERE path = ?1", [key.relative_path()])? > 0)
        })
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<EntryInfo>, CheckpointError> {
        // Everything below the scope's directory (a plain prefix compare: `_` is a LIKE
        // wildcard and may appear in names), then exactly the scope's keys.
        let dir = scope.relative_dir();
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.with("list", |c| {
            let mut stmt = c.prepare(
                "SELECT path, header, length(payload) FROM entries WHERE substr(path, 1, length(?1)) = ?1",
            )?;
            let rows = stmt.query_map([&prefix], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (path, head, len) = row?;
                let Some(key) = Key::parse_relative_path(&path).filter(|k| scope.contains(k)) else { continue };
                out.push(EntryInfo {
                    key,
                    size: (head.len() as u64) + len as u64,
                    created: Some(header(&path, &head)?.created),
                    accessed: None,
                });
            }
            Ok(out)
        })
    }
}
