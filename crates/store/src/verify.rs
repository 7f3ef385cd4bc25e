//! `log verify`: re-checks a database from the file alone — every log's
//! chain, payload hashes and hub signatures, that every payload is an event
//! the reducer accepts in order, and that the projection tables equal what
//! replaying the logs gives (so an edited table row is caught too).

use crate::db::{self, sqlite_err};
use crate::store::{hub_key, replay_all};
use crate::{project, StoreError};
use phonghop_core::log::ChainError;
use phonghop_core::PublicKey;
use std::path::Path;

/// What `verify_database` checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Logs checked.
    pub logs: usize,
    /// Entries checked.
    pub entries: usize,
    /// Entries present only as their payload hash.
    pub redacted: usize,
    /// Signatures verified.
    pub signatures: usize,
    /// The hub key's fingerprint.
    pub hub_fingerprint: String,
    /// Projection rows compared.
    pub projection_bytes: usize,
}

/// Verifies the database at `path` without changing it.
pub fn verify_database(path: &Path) -> Result<VerifyReport, StoreError> {
    let conn = db::open_read_only(path)?;
    let err = sqlite_err(path);
    let chain = |source: ChainError| StoreError::Chain {
        path: path.to_path_buf(),
        source,
    };
    let quick: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(&err)?;
    if quick != "ok" {
        return Err(err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(format!("integrity check failed: {quick}")),
        )));
    }
    let key: PublicKey = hub_key(&conn)
        .map_err(&err)?
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| StoreError::NoHubKey(path.to_path_buf()))?;
    let mut report = VerifyReport {
        hub_fingerprint: key.fingerprint(),
        ..VerifyReport::default()
    };
    let replayed = replay_all(&conn, path, Some(&key), true)?;
    report.logs = replayed.logs;
    report.entries = replayed.entries;
    report.redacted = replayed.redacted;
    report.signatures = replayed.entries;
    let (state, touched_all) = (replayed.state, replayed.touched);
    // Rebuild the projection in memory and compare with the file's tables.
    let mem = rusqlite::Connection::open_in_memory().map_err(&err)?;
    mem.execute_batch(include_str!("../migrations/0001_init.sql"))
        .map_err(&err)?;
    project::write(&mem, &state, &touched_all).map_err(&err)?;
    let want = project::dump(&mem).map_err(&err)?;
    let have = project::dump(&conn).map_err(&err)?;
    if want != have {
        let line = want
            .lines()
            .zip(have.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("expected `{a}`, found `{b}`"))
            .unwrap_or_else(|| "row count differs".into());
        return Err(chain(ChainError::Decode {
            log: "projection".into(),
            seq: 0,
            reason: format!("projection tables differ from the log: {line}"),
        }));
    }
    report.projection_bytes = have.len();
    let _ = db::SCHEMA_VERSION;
    Ok(report)
}
