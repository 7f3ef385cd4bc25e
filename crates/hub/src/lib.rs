//! The hub: the secretariat's side of Phonghop.
//!
//! - [`HubDir`]: a hub's data folder (database, signing key, blobs) and the
//!   preparation of meetings — people, members, agenda by number, papers —
//!   each turned into signed events through the store.
//!
//! - [`minutes`]: the voting results (CSV) and a draft of the minutes (PDF)
//!   drafted from a meeting's log.
//!
//! - [`admin`]: the secretariat's writes as data ([`admin::AdminOp`]), the
//!   one function that carries them out, and the way the CLI sends them to
//!   a running hub (the folder's one writer) instead of writing beside it.
//!
//! The server (HTTP + WebSocket, pairing, commands, inbox watcher) builds on
//! the same folder, as its one writer.

pub mod admin;
mod error;
mod hubdir;
mod ids;
mod lock;
pub mod minutes;
pub mod people_import;
mod sealed;
pub mod server;
pub mod serving;

pub use error::HubError;
pub use hubdir::{
    canonical_invite_code, HubDir, NewMeeting, NewPaper, NewPerson, PairRefusal, INVITE_TTL_MS,
};
pub use ids::new_id;
