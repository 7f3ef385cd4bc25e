//! Hash-chained, hub-signed, redactable log entries.
//!
//! ```text
//! salt         = SHA-256("phonghop/salt/v1" ‖ 0x00 ‖ hub seed ‖ log key ‖ 0x00 ‖ seq (u64 BE) ‖ payload)
//! payload_hash = SHA-256("phonghop/payload/v2" ‖ 0x00 ‖ salt ‖ payload bytes)   (payload: canonical JSON of the Event)
//! hash         = SHA-256("phonghop/log/v1" ‖ 0x00 ‖ log key ‖ 0x00 ‖ seq (u64 BE) ‖ prev_hash ‖ payload_hash)
//! signature    = hub key over `hash` (context "log-entry")
//! ```
//!
//! The entry hash covers the payload's *hash*, not the payload, so an entry
//! can be sent without its payload (redacted: a confidential paper outside
//! the reader's list) and the chain still verifies end to end. The log key is
//! inside the hash, so an entry cannot be moved to another log.
//!
//! A redacted entry goes without its salt too. The salt is secret to the
//! hub (derived from its seed, so the same log seals the same way every
//! time) and different for every entry, so whoever holds only the payload
//! hash cannot confirm a guess ("is this confidential paper's title
//! 'Đề án sáp nhập…'?") by hashing it. Entries sealed before salts existed
//! carry none and hash their payload alone (`SHA-256(payload bytes)`).

use crate::event::Event;
use crate::hash::Hash;
use crate::ids::{MeetingId, PersonId};
use crate::sign::{context, PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};

/// Which log an entry belongs to. Serialized as its key (`m/ky-hop-5`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogId {
    /// Bodies, people, devices.
    Directory,
    /// One meeting's shared log.
    Meeting(MeetingId),
    /// One person's private log for one meeting.
    Personal {
        /// Meeting.
        meeting: MeetingId,
        /// Owner.
        person: PersonId,
    },
}

impl LogId {
    /// The log's key, as stored and hashed: `dir`, `m/<meeting>`, `p/<meeting>/<person>`.
    pub fn key(&self) -> String {
        match self {
            LogId::Directory => "dir".into(),
            LogId::Meeting(m) => format!("m/{m}"),
            LogId::Personal { meeting, person } => format!("p/{meeting}/{person}"),
        }
    }

    /// Parses a key made by [`LogId::key`].
    pub fn parse_key(key: &str) -> Option<LogId> {
        let parts: Vec<&str> = key.split('/').collect();
        match parts.as_slice() {
            ["dir"] => Some(LogId::Directory),
            ["m", m] if crate::validate_id(m) => Some(LogId::Meeting(MeetingId::new(*m))),
            ["p", m, p] if crate::validate_id(m) && crate::validate_id(p) => {
                Some(LogId::Personal {
                    meeting: MeetingId::new(*m),
                    person: PersonId::new(*p),
                })
            }
            _ => None,
        }
    }
}

impl Serialize for LogId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for LogId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        LogId::parse_key(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not a log key")))
    }
}

/// One entry of a log. `payload` is `None` when the entry is redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Which log.
    pub log: LogId,
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// Hash of the previous entry; zero for seq 1.
    pub prev_hash: Hash,
    /// Hash of the payload bytes.
    pub payload_hash: Hash,
    /// The entry hash (see module docs).
    pub hash: Hash,
    /// The hub's signature over `hash`.
    pub signature: Signature,
    /// Canonical JSON of the event, or `None` when withheld from this reader.
    pub payload: Option<String>,
    /// The secret salt in `payload_hash`, sent with the payload only (see
    /// the module docs); `None` when redacted, and on entries sealed
    /// before salts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<Hash>,
    /// Position in the hub's one global append order across all of its
    /// logs (directory, meetings, personal logs). Hub and devices replay
    /// in this order, so what the hub accepted live is accepted again on
    /// every reopen. Assigned by the hub's store when the entry is
    /// appended (0 before that); not inside the signed hash: a device
    /// checks that it grows with `seq` within each log. Entries written
    /// before the global order existed carry negative values (their old
    /// replay order), so they sort before every later entry.
    #[serde(default)]
    pub gseq: i64,
}

/// Why a log does not verify. Names the entry that fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Sequence numbers skip or repeat.
    #[error("log {log}: entry {seq} follows {prev} (sequence gap or repeat)")]
    Sequence {
        /// Log key.
        log: String,
        /// The entry's seq.
        seq: u64,
        /// The previous seq.
        prev: u64,
    },
    /// `prev_hash` does not match the previous entry.
    #[error("log {log}: entry {seq} does not link to the entry before it (prev_hash differs)")]
    Link {
        /// Log key.
        log: String,
        /// Seq.
        seq: u64,
    },
    /// The payload's bytes do not hash to `payload_hash`.
    #[error("log {log}: entry {seq} payload was altered (payload hash differs)")]
    Payload {
        /// Log key.
        log: String,
        /// Seq.
        seq: u64,
    },
    /// The entry hash is not what its fields give.
    #[error("log {log}: entry {seq} hash does not match its contents")]
    Hash {
        /// Log key.
        log: String,
        /// Seq.
        seq: u64,
    },
    /// The hub's signature does not verify.
    #[error("log {log}: entry {seq} is not signed by this hub's key")]
    Signature {
        /// Log key.
        log: String,
        /// Seq.
        seq: u64,
    },
    /// The payload is not a valid event.
    #[error("log {log}: entry {seq} payload is not a valid event: {reason}")]
    Decode {
        /// Log key.
        log: String,
        /// Seq.
        seq: u64,
        /// Parser message.
        reason: String,
    },
}

impl ChainError {
    /// The seq of the entry that fails.
    pub fn seq(&self) -> u64 {
        match self {
            ChainError::Sequence { seq, .. }
            | ChainError::Link { seq, .. }
            | ChainError::Payload { seq, .. }
            | ChainError::Hash { seq, .. }
            | ChainError::Signature { seq, .. }
            | ChainError::Decode { seq, .. } => *seq,
        }
    }
}

/// Computes the entry hash (see module docs).
pub fn entry_hash(log: &LogId, seq: u64, prev_hash: &Hash, payload_hash: &Hash) -> Hash {
    let key = log.key();
    let mut buf = Vec::with_capacity(32 + key.len() + 8 + 64);
    buf.extend_from_slice(b"phonghop/log/v1\0");
    buf.extend_from_slice(key.as_bytes());
    buf.push(0);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&prev_hash.0);
    buf.extend_from_slice(&payload_hash.0);
    Hash::of(&buf)
}

/// The hash of a payload: salted (see the module docs), or, for entries
/// sealed before salts existed, of the bytes alone.
pub fn payload_hash(payload: &str, salt: Option<&Hash>) -> Hash {
    match salt {
        None => Hash::of(payload.as_bytes()),
        Some(salt) => {
            let mut buf = Vec::with_capacity(24 + 32 + payload.len());
            buf.extend_from_slice(b"phonghop/payload/v2\0");
            buf.extend_from_slice(&salt.0);
            buf.extend_from_slice(payload.as_bytes());
            Hash::of(&buf)
        }
    }
}

fn salt_for(hub: &SecretKey, log: &LogId, seq: u64, payload: &str) -> Hash {
    let key = log.key();
    let mut buf = Vec::with_capacity(24 + 32 + key.len() + 9 + payload.len());
    buf.extend_from_slice(b"phonghop/salt/v1\0");
    buf.extend_from_slice(&hub.to_seed());
    buf.extend_from_slice(key.as_bytes());
    buf.push(0);
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(payload.as_bytes());
    Hash::of(&buf)
}

impl LogEntry {
    /// Builds and signs the entry that follows `prev` (None for the first).
    pub fn seal(
        log: LogId,
        prev: Option<(u64, Hash)>,
        event: &Event,
        hub: &SecretKey,
    ) -> Result<LogEntry, serde_json::Error> {
        let bytes = crate::canonical::to_canonical_bytes(event)?;
        let payload = String::from_utf8(bytes).map_err(serde::ser::Error::custom)?;
        let (seq, prev_hash) = match prev {
            Some((s, h)) => (s + 1, h),
            None => (1, Hash::ZERO),
        };
        let salt = salt_for(hub, &log, seq, &payload);
        let payload_hash = payload_hash(&payload, Some(&salt));
        let hash = entry_hash(&log, seq, &prev_hash, &payload_hash);
        let signature = hub.sign(context::LOG_ENTRY, &hash.0);
        Ok(LogEntry {
            log,
            seq,
            prev_hash,
            payload_hash,
            hash,
            signature,
            payload: Some(payload),
            salt: Some(salt),
            gseq: 0,
        })
    }

    /// The same entry without its payload (and its salt, which would let
    /// a guess at the payload be confirmed).
    pub fn redacted(&self) -> LogEntry {
        LogEntry {
            payload: None,
            salt: None,
            ..self.clone()
        }
    }

    /// Whether the payload, if present, is the one the entry's hash names.
    pub fn payload_matches(&self) -> bool {
        self.payload
            .as_deref()
            .is_none_or(|p| payload_hash(p, self.salt.as_ref()) == self.payload_hash)
    }

    /// Checks this entry on its own: payload hash, entry hash, signature.
    pub fn verify(&self, hub: &PublicKey) -> Result<(), ChainError> {
        let log = || self.log.key();
        if !self.payload_matches() {
            return Err(ChainError::Payload {
                log: log(),
                seq: self.seq,
            });
        }
        if entry_hash(&self.log, self.seq, &self.prev_hash, &self.payload_hash) != self.hash {
            return Err(ChainError::Hash {
                log: log(),
                seq: self.seq,
            });
        }
        hub.verify(context::LOG_ENTRY, &self.hash.0, &self.signature)
            .map_err(|_| ChainError::Signature {
                log: log(),
                seq: self.seq,
            })
    }

    /// Checks that this entry follows `prev` (None: it must be the first).
    pub fn verify_link(&self, prev: Option<(u64, Hash)>) -> Result<(), ChainError> {
        let (want_seq, want_hash) = match prev {
            Some((s, h)) => (s + 1, h),
            None => (1, Hash::ZERO),
        };
        if self.seq != want_seq {
            return Err(ChainError::Sequence {
                log: self.log.key(),
                seq: self.seq,
                prev: want_seq - 1,
            });
        }
        if self.prev_hash != want_hash {
            return Err(ChainError::Link {
                log: self.log.key(),
                seq: self.seq,
            });
        }
        Ok(())
    }

    /// The event, or `None` when redacted.
    pub fn event(&self) -> Result<Option<Event>, ChainError> {
        self.payload
            .as_deref()
            .map(|p| {
                serde_json::from_str(p).map_err(|e| ChainError::Decode {
                    log: self.log.key(),
                    seq: self.seq,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }
}

/// Verifies a whole log in order: links, hashes, signatures, payloads.
/// Returns how many entries were redacted.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a LogEntry>,
    hub: &PublicKey,
) -> Result<usize, ChainError> {
    let mut prev = None;
    let mut redacted = 0;
    for e in entries {
        e.verify_link(prev)?;
        e.verify(hub)?;
        e.event()?;
        if e.payload.is_none() {
            redacted += 1;
        }
        prev = Some((e.seq, e.hash));
    }
    Ok(redacted)
}
