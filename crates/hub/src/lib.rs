//! The hub: the secretariat's side of Phonghop.
//!
//! - [`HubDir`]: a hub's data folder (database, signing key, blobs) and the
//!   preparation of meetings — people, members, agenda by number, papers —
//!   each turned into signed events through the store.
//!
//! - [`minutes`]: the voting results (CSV) and a draft of the minutes (PDF)
//!   drafted from a meeting's log.
//!
//! The server (HTTP + WebSocket, pairing, commands, inbox watcher) builds on
//! the same folder.

mod error;
mod hubdir;
mod ids;
pub mod minutes;
pub mod server;
pub mod serving;

pub use error::HubError;
pub use hubdir::{HubDir, NewMeeting, NewPaper, NewPerson, PairRefusal};
pub use ids::new_id;
