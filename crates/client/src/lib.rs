//! Phonghop's sync engine, used by the desktop app and the CLI.
//!
//! - [`ClientDir`]: one hub's local cache — `client.db` (the same store and
//!   reducer as the hub), `blobs/`, the device key, the pairing settings —
//!   and the durable **outbox** of commands.
//! - [`plan`]: the engine's decisions as plain functions (what to fetch
//!   next, how long to back off), tested without sockets.
//! - [`Client`]: the async side that only moves bytes: HTTP(S) with the
//!   hub's certificate pinned, the live WebSocket, reconnect with backoff.

mod dir;
pub mod discover;
mod error;
mod net;
pub mod plan;
mod sync;
mod tls;

pub use dir::{
    AnalysisText, BoxedHit, ClientDir, Concern, LocalAnnotation, MyBallot, OutboxEntry,
    OutboxState, PageText, Pairing, PaperLayout, PendingState, Refusal,
};
pub use error::ClientError;
pub use sync::{Client, Connection, SyncProgress, SyncReport};
