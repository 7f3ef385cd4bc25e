//! Identifiers as newtypes, so a person id can never be passed where a
//! meeting id is expected. Ids are short opaque strings made by whoever
//! creates the thing (the hub, or a device for its own annotations);
//! [`validate_id`] keeps them safe to use in file names, URLs and log keys.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest id we accept.
pub const MAX_ID_LEN: usize = 64;

/// Checks that `s` is a usable id: 1–64 chars of `[A-Za-z0-9_-]`.
pub fn validate_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a string; use [`validate_id`] on untrusted input.
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(/// A council or committee (HĐND, UBND).
    BodyId);
id_type!(/// A person: delegate, chair, secretary or observer.
    PersonId);
id_type!(/// A paired device (one ed25519 key).
    DeviceId);
id_type!(/// A meeting (one event log).
    MeetingId);
id_type!(/// An agenda item of a meeting.
    AgendaItemId);
id_type!(/// A logical paper; its versions are blobs.
    DocumentId);
id_type!(/// An annotation made by a person.
    AnnotationId);
id_type!(/// A poll (one vote on one question).
    PollId);
id_type!(/// A request to speak.
    SpeakerRequestId);
id_type!(/// A client-generated idempotency key of a command.
    CommandId);

/// Milliseconds since the Unix epoch (UTC). Time is always passed in, never
/// read inside core, so deadlines are testable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_restricted_to_safe_characters() {
        assert!(validate_id("m-2026_05"));
        assert!(!validate_id(""));
        assert!(!validate_id("../etc"));
        assert!(!validate_id("a b"));
        assert!(!validate_id(&"x".repeat(65)));
    }
}
