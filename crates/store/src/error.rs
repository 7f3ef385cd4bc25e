//! Store errors. Messages name the file and the cause, and say what to do.

use phonghop_core::log::ChainError;
use phonghop_core::{Hash, ReduceError};
use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The stored log does not verify: tampered with or damaged.
    #[error("database {path}: the event log does not verify ({source}); it was altered or damaged — restore it from a backup or re-sync")]
    Chain {
        /// The database file.
        path: PathBuf,
        /// What failed, naming the entry.
        #[source]
        source: ChainError,
    },
    /// An event was refused by the reducer.
    #[error("{0}")]
    Rejected(#[from] ReduceError),
    /// A replicated entry does not follow our copy of its log.
    #[error("entry {seq} of log {log} does not verify against our copy: {source}")]
    Replication {
        /// Log key.
        log: String,
        /// Entry seq.
        seq: u64,
        /// Why.
        #[source]
        source: ChainError,
    },
    /// A database made by a newer Phonghop.
    #[error("database {path} has schema version {found}, newer than this program knows ({known}); update Phonghop")]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// The hub key stored differs from the one given.
    #[error("database {path} belongs to another hub (key {stored}, not {given})")]
    WrongHub {
        /// The file.
        path: PathBuf,
        /// Stored fingerprint.
        stored: String,
        /// Given fingerprint.
        given: String,
    },
    /// No hub key is set, so the log cannot be verified.
    #[error(
        "database {0} has no hub key yet: initialise it (hub) or pair with a hub (client) first"
    )]
    NoHubKey(PathBuf),
    /// A blob's bytes do not hash to its address.
    #[error("blob {expected}: content hashes to {actual}; the file is damaged or was tampered with and was discarded")]
    BlobMismatch {
        /// Address.
        expected: Hash,
        /// What the bytes hash to.
        actual: Hash,
    },
    /// An earlier reload of this database failed: the in-memory state may
    /// be behind the disk, so this store takes no more writes (fail closed,
    /// never serve or extend a stale state).
    #[error("database {path}: writes are stopped because the log could not be replayed ({reason}); restart once the cause is fixed")]
    Halted {
        /// The database file.
        path: PathBuf,
        /// Why the replay failed.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// What.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// A stable code for programs and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Sqlite { .. } => "database",
            StoreError::Io { .. } => "io",
            StoreError::Chain { .. } => "log_tampered",
            StoreError::Rejected(e) => e.code(),
            StoreError::Replication { .. } => "replication",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
            StoreError::WrongHub { .. } => "wrong_hub",
            StoreError::NoHubKey(_) => "no_hub_key",
            StoreError::BlobMismatch { .. } => "blob_mismatch",
            StoreError::Halted { .. } => "halted",
            StoreError::Encode { .. } => "encode",
        }
    }
}
