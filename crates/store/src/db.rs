//! Opening SQLite the way every Phonghop database is opened: WAL (readers
//! never block the writer), foreign keys on, `synchronous=FULL` (a commit
//! that acknowledges a command or ballot survives power loss; a device's
//! replicated entries, which the hub still holds, commit with `NORMAL` —
//! see `Store::append_replicated` and CONTRIBUTING.md), and the
//! append-only migrations in `migrations/` applied in order, tracked in
//! `PRAGMA user_version`.

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// The migrations, in order. Append only; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_sync.sql"),
    include_str!("../migrations/0003_sealed_ballots.sql"),
    include_str!("../migrations/0004_global_order.sql"),
    include_str!("../migrations/0005_outbox_outcomes.sql"),
    include_str!("../migrations/0006_paper_pages.sql"),
    include_str!("../migrations/0007_sealed_tallies.sql"),
    include_str!("../migrations/0008_salted_payloads.sql"),
];

/// Schema version this build knows.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens (creating if needed) and migrates the database at `path`.
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let err = sqlite_err(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        phonghop_fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    // Private before SQLite opens it: the -wal and -shm files it makes take
    // the database file's permissions.
    if path != Path::new(":memory:") {
        phonghop_fs::ensure_file(path).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let mut conn = Connection::open(path).map_err(&err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(&err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(&err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(&err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(&err)?;
    // Deleted rows are overwritten, not left readable in free pages (a
    // closed secret poll's sealed tally, a wiped meeting).
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(&err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Opens an existing database read-only, without migrating (for verification).
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such database"),
        });
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_err(path))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = sqlite_err(path);
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(&err)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction().map_err(&err)?;
        tx.execute_batch(sql).map_err(&err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
    }
    Ok(())
}
