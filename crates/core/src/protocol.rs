//! The hub ↔ device protocol: request and response bodies (JSON), commands
//! and their signatures, the invite string, live messages. Pure types, so
//! hub and client share one definition and the client's decisions can be
//! tested without a network.
//!
//! Endpoints (all JSON; errors are [`ApiError`] with a stable `code`):
//!
//! | method + path | body → answer |
//! |---|---|
//! | `POST /v1/pair` | [`PairRequest`] → [`PairResponse`]; 401 `invite_unknown` / `invite_used` / `invite_expired` |
//! | `POST /v1/auth/challenge` | [`ChallengeRequest`] → [`ChallengeResponse`]; 401 `unknown_device` / `device_revoked` |
//! | `POST /v1/auth/session` | [`SessionRequest`] → [`SessionResponse`]; 401 `bad_signature` / `challenge_expired` |
//! | `GET /v1/meetings` | → `Vec<`[`MeetingInfo`]`>` (meetings the caller belongs to) |
//! | `GET /v1/meetings/{id}/events?after=N` | → [`EntriesResponse`], the meeting log with entries the caller may not read redacted |
//! | `GET /v1/meetings/{id}/personal?after=N` | → [`EntriesResponse`], the caller's own personal log |
//! | `GET /v1/blobs/{sha256}` | → bytes; `Range: bytes=N-` answered with 206 |
//! | `POST /v1/commands` | [`SignedCommand`] → [`CommandAck`] (a field over its [`crate::limits`] is refused `too_large`); 413 `too_large` (body over the request limit), 400 `bad_command` |
//! | `GET /v1/live` (WebSocket) | server → client [`LiveMessage`] text frames |
//!
//! Authenticated requests carry `Authorization: Bearer <token>` (the
//! WebSocket may pass `?token=` instead). 401 with `session_expired` means
//! "authenticate again"; 401 with `device_revoked` means "wipe this hub's
//! cached meetings".

use crate::ids::*;
use crate::log::LogEntry;
use crate::model::{Annotation, MeetingStatus, Role};
use crate::sign::{context, PublicKey, SecretKey, SignError, Signature};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An error answer: `code` for programs, `message` for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable explanation naming the cause.
    pub message: String,
}

/// What a device needs to join a hub, as one QR-able line:
/// `phonghop:<CODE>@<host:port>` for plain HTTP (loopback only), or
/// `phonghop:<CODE>@<host:port>/<certificate sha256 hex>` for HTTPS with
/// the hub's self-signed certificate pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// One-time code.
    pub code: String,
    /// `host:port`.
    pub address: String,
    /// SHA-256 of the hub certificate (DER), hex; `None` means plain HTTP.
    pub cert_sha256: Option<String>,
}

/// Why an invite string was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a Phonghop invite ({reason}); it looks like phonghop:ABCD-EFGH-JKLM@192.168.1.10:8443/…")]
pub struct BadInvite {
    /// What was given (trimmed to 120 chars).
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl Invite {
    /// The hub's base URL.
    pub fn base_url(&self) -> String {
        match self.cert_sha256 {
            Some(_) => format!("https://{}", self.address),
            None => format!("http://{}", self.address),
        }
    }
}

impl fmt::Display for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "phonghop:{}@{}", self.code, self.address)?;
        if let Some(fp) = &self.cert_sha256 {
            write!(f, "/{fp}")?;
        }
        Ok(())
    }
}

impl FromStr for Invite {
    type Err = BadInvite;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| BadInvite {
            input: s.chars().take(120).collect(),
            reason,
        };
        let rest = s
            .trim()
            .strip_prefix("phonghop:")
            .ok_or_else(|| bad("it must start with phonghop:"))?;
        let (code, rest) = rest
            .split_once('@')
            .ok_or_else(|| bad("the code and the address are separated by @"))?;
        let (address, fp) = match rest.split_once('/') {
            Some((a, f)) => (a, Some(f)),
            None => (rest, None),
        };
        let code_ok = !code.is_empty()
            && code.len() <= 64
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !code_ok {
            return Err(bad("the code has letters, digits and dashes only"));
        }
        let addr_ok = address
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !addr_ok {
            return Err(bad("the address must be host:port"));
        }
        if let Some(fp) = fp {
            if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("the certificate fingerprint must be 64 hex digits"));
            }
        }
        Ok(Invite {
            code: code.to_ascii_uppercase(),
            address: address.to_string(),
            cert_sha256: fp.map(str::to_ascii_lowercase),
        })
    }
}

/// `POST /v1/pair`: bind a device key to the invited person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRequest {
    /// The invite's one-time code.
    pub code: String,
    /// The device's new public key.
    pub public_key: PublicKey,
    /// A label people recognise ("Máy tính bảng phòng 2").
    pub label: String,
}

/// Answer to pairing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairResponse {
    /// The device's id on this hub.
    pub device: DeviceId,
    /// Whom the device belongs to.
    pub person: PersonId,
    /// Their name.
    pub person_name: String,
    /// The hub's log-signing key (pin it).
    pub hub_key: PublicKey,
}

/// `POST /v1/auth/challenge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeRequest {
    /// Which device asks.
    pub device: DeviceId,
}

/// A nonce to sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// 32 random bytes, hex.
    pub nonce: String,
    /// It must be answered before this.
    pub expires_at: Timestamp,
}

/// `POST /v1/auth/session`: the signed nonce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRequest {
    /// Device.
    pub device: DeviceId,
    /// The nonce as received.
    pub nonce: String,
    /// Device signature over the nonce's bytes (context `auth`).
    pub signature: Signature,
}

/// A short-lived session token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionResponse {
    /// Bearer token.
    pub token: String,
    /// Expiry.
    pub expires_at: Timestamp,
}

/// A meeting the caller may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingInfo {
    /// Id.
    pub id: MeetingId,
    /// Body.
    pub body: String,
    /// Title.
    pub title: String,
    /// Start.
    pub starts_at: Option<Timestamp>,
    /// Place.
    pub place: Option<String>,
    /// Status.
    pub status: MeetingStatus,
    /// The caller's role.
    pub role: Role,
    /// Head of the meeting log (entries to expect).
    pub head: u64,
}

/// A page of log entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntriesResponse {
    /// Entries after the requested seq, in order (redacted where needed).
    pub entries: Vec<LogEntry>,
    /// The log's head seq at answer time.
    pub head: u64,
}

/// A page of a meeting's log and the reader's personal log together, in
/// the hub's global append order (`LogEntry::gseq`): a device applies them
/// in exactly the order the hub did. Read in one snapshot, so the page is
/// a prefix of that order with no gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedResponse {
    /// Entries after the requested seqs, in global order (redacted where
    /// needed).
    pub entries: Vec<LogEntry>,
    /// More entries follow: ask again from the new heads.
    pub more: bool,
}

/// What a device asks the hub to do. The hub decides the events, their
/// times and their author (the device's person), never the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Add an annotation (private ones go to the author's personal log).
    AddAnnotation {
        /// Meeting.
        meeting: MeetingId,
        /// The annotation; `author` must be the device's person.
        annotation: Annotation,
    },
    /// Replace an annotation's content.
    EditAnnotation {
        /// Meeting.
        meeting: MeetingId,
        /// The new content.
        annotation: Annotation,
    },
    /// Delete an annotation.
    DeleteAnnotation {
        /// Meeting.
        meeting: MeetingId,
        /// Which.
        annotation: AnnotationId,
    },
    /// Ask to speak ("đăng ký phát biểu").
    RequestToSpeak {
        /// Meeting.
        meeting: MeetingId,
        /// Id made by the device.
        request: SpeakerRequestId,
        /// On which item.
        item: Option<AgendaItemId>,
    },
    /// Withdraw a request to speak.
    WithdrawRequest {
        /// Meeting.
        meeting: MeetingId,
        /// Which.
        request: SpeakerRequestId,
    },
    /// Check in or out ("điểm danh").
    CheckIn {
        /// Meeting.
        meeting: MeetingId,
        /// Present or leaving.
        present: bool,
    },
    /// Vote.
    CastBallot {
        /// Meeting.
        meeting: MeetingId,
        /// Poll.
        poll: PollId,
        /// Option index.
        choice: u32,
    },
    /// Chair: open the session ("khai mạc"). Below the meeting's quorum
    /// the hub refuses (`below_quorum`) unless `override_quorum`, which it
    /// records (`Event::QuorumOverridden`).
    StartSession {
        /// Meeting.
        meeting: MeetingId,
        /// The chair confirmed going on below quorum.
        #[serde(default, skip_serializing_if = "is_false")]
        override_quorum: bool,
    },
    /// Chair: close the session ("bế mạc").
    CloseSession {
        /// Meeting.
        meeting: MeetingId,
    },
    /// Chair: move the meeting to an agenda item.
    SetCurrentItem {
        /// Meeting.
        meeting: MeetingId,
        /// Item, or none.
        item: Option<AgendaItemId>,
    },
    /// Chair: show a paper and page to those following the chair.
    SetChairFocus {
        /// Meeting.
        meeting: MeetingId,
        /// Paper, or none.
        document: Option<DocumentId>,
        /// Page, 0-based.
        page: u32,
    },
    /// Chair: give the floor ("mời phát biểu").
    GiveFloor {
        /// Meeting.
        meeting: MeetingId,
        /// Which request.
        request: SpeakerRequestId,
    },
    /// Chair: the speaker is done.
    EndFloor {
        /// Meeting.
        meeting: MeetingId,
        /// Which request.
        request: SpeakerRequestId,
    },
    /// Chair: prepare a poll on the voting members.
    CreatePoll {
        /// Meeting.
        meeting: MeetingId,
        /// Id made by the device.
        poll: PollId,
        /// Agenda item.
        item: Option<AgendaItemId>,
        /// Question.
        question: String,
        /// Options; option 0 approves.
        options: Vec<String>,
        /// Secret ballot.
        secret: bool,
        /// Majority rule.
        rule: crate::vote::MajorityRule,
        /// Optional deadline.
        closes_at: Option<Timestamp>,
    },
    /// Chair: start accepting ballots. Below quorum: as `StartSession`.
    OpenPoll {
        /// Meeting.
        meeting: MeetingId,
        /// Poll.
        poll: PollId,
        /// The chair confirmed going on below quorum.
        #[serde(default, skip_serializing_if = "is_false")]
        override_quorum: bool,
    },
    /// Chair: close and count. While eligible members have not voted the
    /// hub refuses (`voters_missing`, naming them) unless `confirm_missing`;
    /// below quorum: as `StartSession`.
    ClosePoll {
        /// Meeting.
        meeting: MeetingId,
        /// Poll.
        poll: PollId,
        /// The chair confirmed going on below quorum.
        #[serde(default, skip_serializing_if = "is_false")]
        override_quorum: bool,
        /// The chair confirmed closing while members have not voted.
        #[serde(default, skip_serializing_if = "is_false")]
        confirm_missing: bool,
    },
}

impl Command {
    /// Whether only the chair or the secretariat may send it.
    pub fn is_chair_only(&self) -> bool {
        matches!(
            self,
            Command::StartSession { .. }
                | Command::CloseSession { .. }
                | Command::SetCurrentItem { .. }
                | Command::SetChairFocus { .. }
                | Command::GiveFloor { .. }
                | Command::EndFloor { .. }
                | Command::CreatePoll { .. }
                | Command::OpenPoll { .. }
                | Command::ClosePoll { .. }
        )
    }

    /// The meeting the command concerns.
    pub fn meeting(&self) -> &MeetingId {
        match self {
            Command::AddAnnotation { meeting, .. }
            | Command::EditAnnotation { meeting, .. }
            | Command::DeleteAnnotation { meeting, .. }
            | Command::RequestToSpeak { meeting, .. }
            | Command::WithdrawRequest { meeting, .. }
            | Command::CheckIn { meeting, .. }
            | Command::CastBallot { meeting, .. }
            | Command::StartSession { meeting, .. }
            | Command::CloseSession { meeting }
            | Command::SetCurrentItem { meeting, .. }
            | Command::SetChairFocus { meeting, .. }
            | Command::GiveFloor { meeting, .. }
            | Command::EndFloor { meeting, .. }
            | Command::CreatePoll { meeting, .. }
            | Command::OpenPoll { meeting, .. }
            | Command::ClosePoll { meeting, .. } => meeting,
        }
    }
}

// serde's `skip_serializing_if` takes a path to a function of `&T`.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// The signed part of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandBody {
    /// Sending device.
    pub device: DeviceId,
    /// Idempotency key made by the device: a replay is acknowledged, not
    /// applied again.
    pub id: CommandId,
    /// When the device made it (informative; the hub stamps its own time).
    pub issued_at: Timestamp,
    /// What to do.
    pub command: Command,
}

/// A command with the device's signature over the body's canonical bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedCommand {
    /// The signed body.
    pub body: CommandBody,
    /// Device signature (context `command`).
    pub signature: Signature,
}

impl SignedCommand {
    /// Signs `body` with the device key.
    pub fn sign(body: CommandBody, key: &SecretKey) -> Result<SignedCommand, serde_json::Error> {
        let bytes = crate::canonical::to_canonical_bytes(&body)?;
        Ok(SignedCommand {
            signature: key.sign(context::COMMAND, &bytes),
            body,
        })
    }

    /// Verifies the signature with the device's public key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignError> {
        let bytes = crate::canonical::to_canonical_bytes(&self.body)
            .map_err(|_| SignError::BadSignature)?;
        key.verify(context::COMMAND, &bytes, &self.signature)
    }
}

/// The hub's answer to a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandAck {
    /// The command id.
    pub id: CommandId,
    /// What happened.
    pub outcome: CommandOutcome,
    /// True when this id had been seen before (the first outcome is repeated).
    pub replay: bool,
}

/// The result of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CommandOutcome {
    /// Turned into events.
    Applied {
        /// Log key the events went to.
        log: String,
        /// Their seqs.
        seqs: Vec<u64>,
    },
    /// Refused for good (do not resend).
    Refused {
        /// Stable code (e.g. `after_deadline`, `poll_status`).
        code: String,
        /// Why, for people.
        message: String,
    },
}

/// Server → client over the live WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// New entries of a log the client may read (already redacted for it).
    Entries {
        /// The meeting.
        meeting: MeetingId,
        /// The entries, in order.
        entries: Vec<LogEntry>,
    },
    /// The caller was added to a meeting, or a meeting was published:
    /// fetch the meeting list again.
    MeetingsChanged,
    /// This device was revoked: wipe everything of this hub. The hub closes
    /// the socket right after it (close reason `device_revoked`).
    Revoked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_round_trip_and_errors() {
        let fp = "ab".repeat(32);
        let s = format!("phonghop:K7QM-4XTP@192.168.1.10:8443/{fp}");
        let inv: Invite = s.parse().unwrap();
        assert_eq!(inv.base_url(), "https://192.168.1.10:8443");
        assert_eq!(inv.to_string(), s);
        let plain: Invite = "phonghop:abcd@127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            (plain.code.as_str(), plain.base_url().as_str()),
            ("ABCD", "http://127.0.0.1:9000")
        );
        for bad in [
            "",
            "abcd@h:1",
            "phonghop:@h:1",
            "phonghop:ab cd@h:1",
            "phonghop:ab@h",
            "phonghop:ab@h:1/xyz",
        ] {
            assert!(bad.parse::<Invite>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn command_signatures_bind_every_field() {
        let key = SecretKey::from_seed([3; 32]);
        let body = CommandBody {
            device: DeviceId::new("dev1"),
            id: CommandId::new("c1"),
            issued_at: Timestamp(5),
            command: Command::CheckIn {
                meeting: MeetingId::new("m"),
                present: true,
            },
        };
        let signed = SignedCommand::sign(body, &key).unwrap();
        assert!(signed.verify(&key.public()).is_ok());
        let mut forged = signed.clone();
        forged.body.command = Command::CheckIn {
            meeting: MeetingId::new("m"),
            present: false,
        };
        assert!(
            forged.verify(&key.public()).is_err(),
            "a changed command must not verify"
        );
        let json = serde_json::to_string(&signed).unwrap();
        let back: SignedCommand = serde_json::from_str(&json).unwrap();
        assert!(
            back.verify(&key.public()).is_ok(),
            "signature survives JSON transport"
        );
    }
}
