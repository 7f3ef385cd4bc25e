//! Phonghop's domain, with no I/O: identifiers, the meeting model, the
//! [`Event`] enum, the one reducer that every projection (hub and client) is
//! built with, vote rules as data, signatures and the hash-chained log entry.
//!
//! Everything here is deterministic and takes time as a parameter, so the
//! same event sequence gives the same state on every machine.

pub mod audit;
pub mod canonical;
pub mod event;
pub mod hash;
pub mod ids;
pub mod invite;
pub mod limits;
pub mod log;
pub mod model;
pub mod navigation;
pub mod protocol;
pub mod reducer;
pub mod retention;
pub mod sign;
pub mod text;
pub mod vote;

pub use event::Event;
pub use hash::Hash;
pub use ids::*;
pub use log::{LogEntry, LogId};
pub use model::*;
pub use reducer::{ReduceError, State, Touched};
pub use retention::Retention;
pub use sign::{PublicKey, SecretKey, Signature};
pub use vote::{
    Base, MajorityRule, MeetingRules, Outcome, QuorumAction, QuorumCount, Tally, Threshold,
    UncheckedBallot,
};
