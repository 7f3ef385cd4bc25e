//! Phonghop's local store, shared by hub and client: one SQLite file holding
//! the hash-chained event logs and the projections the core reducer builds
//! from them, plus a content-addressed blob folder for papers.
//!
//! The store keeps the reducer's [`State`] in memory (rebuilt by replaying
//! the logs at open, which also verifies them), and writes each appended
//! entry and the projection rows it touched in one transaction.

mod blobs;
mod db;
mod error;
mod project;
pub mod search;
mod store;
mod verify;

pub use blobs::{BlobStore, PartialBlob};
pub use error::StoreError;
pub use phonghop_core::State;
pub use rusqlite;
pub use store::{Group, Quarantined, Store};
pub use verify::{verify_database, VerifyReport};
