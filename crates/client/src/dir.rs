//! A device's cache of one hub: `client.db` (the same store and reducer as
//! the hub), `blobs/`, `device.key`, and the pairing in the `settings`
//! table. Synchronous: the async [`crate::Client`] calls in through
//! `spawn_blocking`.

use crate::ClientError;
use phonghop_core::navigation::{OutlineEntry, PageLink};
use phonghop_core::protocol::*;
use phonghop_core::*;
use phonghop_store::rusqlite::{params, OptionalExtension};
use phonghop_store::{BlobStore, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A search hit with the character boxes to highlight.
pub type BoxedHit = (phonghop_store::search::SearchHit, Vec<Vec<[f32; 4]>>);

/// What pairing established.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pairing {
    /// The invite it came from (without the code).
    pub address: String,
    /// Base URL.
    pub base_url: String,
    /// Pinned certificate, if HTTPS.
    pub cert_sha256: Option<String>,
    /// Our device id.
    pub device: DeviceId,
    /// Whom we act for.
    pub person: PersonId,
    /// Their name.
    pub person_name: String,
}

/// Whether a local write has reached the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// Durable in the outbox, not yet acknowledged ("đã lưu trên máy").
    Saved,
    /// Acknowledged and applied by the hub ("đã gửi").
    Sent,
    /// The hub (or the transport) refused the last change made on this
    /// device ("không được ghi nhận"); the reason is beside it.
    Refused,
}

/// An annotation as the device shows it: the hub's copy, overlaid with
/// writes still in the outbox and with refusals not yet dismissed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalAnnotation {
    /// The annotation (for a refused add or edit: the content that was
    /// refused, so nothing the person wrote silently disappears).
    pub annotation: Annotation,
    /// Saved locally, sent, or refused.
    pub state: PendingState,
    /// Why the last change was refused (state `Refused`).
    pub refusal: Option<Refusal>,
}

/// A command's refusal: the hub's code and reason, or the transport's
/// refusal of that one request (HTTP 413, 400).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The refused command (to dismiss it).
    pub command: CommandId,
    /// Stable code (`too_large`, `poll_status`, `http_400`, …).
    pub code: String,
    /// The reason, for people.
    pub message: String,
}

/// Where one outbox command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Not answered yet; sent (again) on the next flush.
    Pending,
    /// Applied by the hub (terminal).
    Applied,
    /// Refused (terminal; never sent again).
    Refused,
}

/// What a command is about, so a refusal is shown next to that thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Concern {
    /// An annotation (add, edit, delete).
    Annotation(AnnotationId),
    /// A poll (ballot; the chair's create, open, close).
    Poll(PollId),
    /// A request to speak (request, withdraw; the chair's floor).
    SpeakerRequest(SpeakerRequestId),
    /// My attendance (check in / out).
    Attendance,
    /// The session itself (start, close, current item, chair focus).
    Session,
}

impl Concern {
    /// What `command` is about.
    pub fn of(command: &Command) -> Concern {
        match command {
            Command::AddAnnotation { annotation, .. }
            | Command::EditAnnotation { annotation, .. } => {
                Concern::Annotation(annotation.id.clone())
            }
            Command::DeleteAnnotation { annotation, .. } => Concern::Annotation(annotation.clone()),
            Command::CastBallot { poll, .. }
            | Command::CreatePoll { poll, .. }
            | Command::OpenPoll { poll, .. }
            | Command::ClosePoll { poll, .. } => Concern::Poll(poll.clone()),
            Command::RequestToSpeak { request, .. }
            | Command::WithdrawRequest { request, .. }
            | Command::GiveFloor { request, .. }
            | Command::EndFloor { request, .. } => Concern::SpeakerRequest(request.clone()),
            Command::CheckIn { .. } => Concern::Attendance,
            Command::StartSession { .. }
            | Command::CloseSession { .. }
            | Command::SetCurrentItem { .. }
            | Command::SetChairFocus { .. } => Concern::Session,
        }
    }
}

impl std::fmt::Display for Concern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Concern::Annotation(a) => write!(f, "annotation '{a}'"),
            Concern::Poll(p) => write!(f, "poll '{p}'"),
            Concern::SpeakerRequest(r) => write!(f, "request to speak '{r}'"),
            Concern::Attendance => f.write_str("attendance"),
            Concern::Session => f.write_str("the session"),
        }
    }
}

/// One of my ballots, as this device's outbox keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct MyBallot {
    /// Poll.
    pub poll: PollId,
    /// My choice: known while the ballot waits for the hub's answer, and
    /// afterwards for named polls only. A secret ballot's choice is
    /// forgotten once the hub answered ([`ClientDir::acknowledge`]).
    pub choice: Option<u32>,
    /// The hub's answer, once acknowledged.
    pub ack: Option<CommandAck>,
}

/// What the outbox keeps of a secret ballot once the hub has answered:
/// which poll, not the choice (the body replaces the signed command).
#[derive(Debug, Serialize, Deserialize)]
struct ForgottenBallot {
    /// Always [`FORGOTTEN_SECRET_BALLOT`].
    forgotten: String,
    meeting: MeetingId,
    poll: PollId,
    id: CommandId,
}

const FORGOTTEN_SECRET_BALLOT: &str = "secret_ballot";

fn forgotten(body: &str) -> Option<ForgottenBallot> {
    serde_json::from_str::<ForgottenBallot>(body)
        .ok()
        .filter(|f| f.forgotten == FORGOTTEN_SECRET_BALLOT)
}

/// One command in the outbox, with its state.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// The command as signed.
    pub signed: SignedCommand,
    /// When it was queued (device clock).
    pub created_at: Timestamp,
    /// Pending, applied or refused.
    pub state: OutboxState,
    /// Code and reason, when refused.
    pub refusal: Option<Refusal>,
    /// Failed sends that may pass (network, 5xx) so far.
    pub attempts: u32,
    /// The latest of those failures ("code: message"), while pending.
    pub last_error: Option<String>,
    /// The person has seen the refusal in the app.
    pub dismissed: bool,
}

impl OutboxEntry {
    /// The command id.
    pub fn id(&self) -> &CommandId {
        &self.signed.body.id
    }
    /// The command.
    pub fn command(&self) -> &Command {
        &self.signed.body.command
    }
    /// What it is about.
    pub fn concern(&self) -> Concern {
        Concern::of(self.command())
    }
}

/// The state of an outbox row from its recorded answer.
fn outbox_state(id: &CommandId, ack: Option<&CommandAck>) -> (OutboxState, Option<Refusal>) {
    match ack.map(|a| &a.outcome) {
        None => (OutboxState::Pending, None),
        Some(CommandOutcome::Applied { .. }) => (OutboxState::Applied, None),
        Some(CommandOutcome::Refused { code, message }) => (
            OutboxState::Refused,
            Some(Refusal {
                command: id.clone(),
                code: code.clone(),
                message: message.clone(),
            }),
        ),
    }
}

/// What a command does to one person's private annotations in one
/// meeting (for the quota): the annotation it adds or replaces, or the id
/// it deletes.
fn private_change<'a>(
    command: &'a Command,
    meeting: &MeetingId,
    me: &PersonId,
) -> Option<(&'a AnnotationId, Option<&'a Annotation>)> {
    match command {
        Command::AddAnnotation {
            meeting: m,
            annotation,
        }
        | Command::EditAnnotation {
            meeting: m,
            annotation,
        } if m == meeting && &annotation.author == me => Some((&annotation.id, Some(annotation))),
        Command::DeleteAnnotation {
            meeting: m,
            annotation,
        } if m == meeting => Some((annotation, None)),
        _ => None,
    }
}

/// An open client folder.
#[derive(Debug)]
pub struct ClientDir {
    root: PathBuf,
    store: Store,
    blobs: BlobStore,
    key: SecretKey,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ClientError + '_ {
    move |source| {
        ClientError::Store(StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

impl ClientDir {
    /// Opens (creating) the folder; makes the device key on first use.
    pub fn open(root: &Path) -> Result<ClientDir, ClientError> {
        phonghop_fs::restrict(root).map_err(io(root))?;
        let key_path = root.join("device.key");
        let key = if key_path.is_file() {
            let text = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
                ClientError::Protocol(format!(
                    "{} is damaged (not 64 hex digits)",
                    key_path.display()
                ))
            })?;
            SecretKey::from_seed(seed)
        } else {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| ClientError::Protocol(format!("no OS randomness: {e}")))?;
            write_private(&key_path, hex::encode(seed).as_bytes())?;
            SecretKey::from_seed(seed)
        };
        let store = Store::open(&root.join("client.db"))?;
        let blobs = BlobStore::open(&root.join("blobs"))?;
        Ok(ClientDir {
            root: root.to_path_buf(),
            store,
            blobs,
            key,
        })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
    /// The store, for replication.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }
    /// Blobs.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }
    /// The device key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    fn sqlite(&self, source: phonghop_store::rusqlite::Error) -> ClientError {
        ClientError::Store(StoreError::Sqlite {
            path: self.root.join("client.db"),
            source,
        })
    }

    /// The pairing, if this device has joined.
    pub fn pairing(&self) -> Result<Option<Pairing>, ClientError> {
        let v: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = 'pairing'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        v.map(|v| {
            serde_json::from_str(&v)
                .map_err(|e| ClientError::Protocol(format!("stored pairing is damaged: {e}")))
        })
        .transpose()
    }

    /// Records a pairing and pins the hub's log key.
    pub fn set_pairing(&mut self, p: &Pairing, hub_key: &PublicKey) -> Result<(), ClientError> {
        self.store.set_hub_key(hub_key)?;
        let json = serde_json::to_string(p).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.store
            .conn()
            .execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('pairing', ?1)",
                params![json],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Queues a command: signed and durable in SQLite before this returns,
    /// so "saved on this device" is true when the UI says it. A field over
    /// its size limit, or a private annotation over the person's quota, is
    /// refused here ([`ClientError::TooLarge`], the limit in the message)
    /// and never queued; the hub checks the same again.
    pub fn enqueue(&mut self, command: Command, now: Timestamp) -> Result<CommandId, ClientError> {
        let pairing = self.pairing()?.ok_or(ClientError::NotJoined)?;
        phonghop_core::limits::check_command(&command)?;
        self.check_private_quota(&command, &pairing.person)?;
        let mut rnd = [0u8; 12];
        getrandom::getrandom(&mut rnd).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let id = CommandId::new(format!("c-{}", hex::encode(rnd)));
        let meeting = command.meeting().clone();
        let signed = SignedCommand::sign(
            CommandBody {
                device: pairing.device,
                id: id.clone(),
                issued_at: now,
                command,
            },
            &self.key,
        )
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let body =
            serde_json::to_string(&signed).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.store
            .conn()
            .execute(
                "INSERT INTO outbox (id, meeting, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id.as_str(), meeting.as_str(), body, now.0],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(id)
    }

    /// The quota on my private annotations in the command's meeting,
    /// measured on what this device holds: the hub's copy with my queued
    /// changes on top (the hub checks again against its own copy).
    fn check_private_quota(&self, command: &Command, me: &PersonId) -> Result<(), ClientError> {
        let meeting = command.meeting();
        let Some((id, Some(new))) = private_change(command, meeting, me) else {
            return Ok(());
        };
        if new.visibility != Visibility::Private {
            return Ok(());
        }
        let mut mine: std::collections::BTreeMap<AnnotationId, Annotation> = self
            .store
            .state()
            .meetings
            .get(meeting)
            .map(|m| {
                m.annotations
                    .values()
                    .filter(|a| &a.author == me)
                    .map(|a| (a.id.clone(), a.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for queued in self.pending()? {
            match private_change(&queued.body.command, meeting, me) {
                Some((id, Some(a))) => {
                    mine.insert(id.clone(), a.clone());
                }
                Some((id, None)) => {
                    mine.remove(id);
                }
                None => {}
            }
        }
        let before = phonghop_core::limits::private_bytes(mine.values());
        mine.insert(id.clone(), new.clone());
        let after = phonghop_core::limits::private_bytes(mine.values());
        phonghop_core::limits::check_private_quota(before, after)?;
        Ok(())
    }

    /// Commands not yet acknowledged, oldest first.
    pub fn pending(&self) -> Result<Vec<SignedCommand>, ClientError> {
        let mut stmt = self
            .store
            .conn()
            .prepare("SELECT body FROM outbox WHERE acked_at IS NULL ORDER BY created_at, rowid")
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::new();
        for r in rows {
            let body = r.map_err(|e| self.sqlite(e))?;
            // A forgotten secret ballot was answered: never sent again.
            if forgotten(&body).is_some() {
                continue;
            }
            out.push(
                serde_json::from_str(&body)
                    .map_err(|e| ClientError::Protocol(format!("outbox entry is damaged: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Records the hub's answer for a queued command.
    pub fn acknowledge(&mut self, ack: &CommandAck, now: Timestamp) -> Result<(), ClientError> {
        let json = serde_json::to_string(ack).map_err(|e| ClientError::Protocol(e.to_string()))?;
        // Committed without waiting for the disk (CONTRIBUTING.md,
        // "Durability"): if an OS crash loses this answer, the command is
        // still in the outbox and is sent again; the hub answers a replayed
        // id with its first answer and applies nothing twice.
        let conn = self.store.conn();
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.sqlite(e))?;
        let updated = conn.execute(
            "UPDATE outbox SET acked_at = ?1, ack = ?2 WHERE id = ?3",
            params![now.0, json, ack.id.as_str()],
        );
        let restored = conn.pragma_update(None, "synchronous", "FULL");
        updated.map_err(|e| self.sqlite(e))?;
        restored.map_err(|e| self.sqlite(e))?;
        self.forget_secret_choice(&ack.id)
    }

    /// Forgets the choice of every answered ballot of a secret poll still
    /// in the outbox: those answered before this device knew the poll was
    /// secret (it had not pulled the poll yet). Called after a pull.
    pub fn forget_answered_secret_choices(&mut self) -> Result<(), ClientError> {
        let ids: Vec<String> = {
            let mut stmt = self
                .store
                .conn()
                .prepare(
                    "SELECT id FROM outbox WHERE ack IS NOT NULL AND body LIKE '%\"cast_ballot\"%'",
                )
                .map_err(|e| self.sqlite(e))?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| self.sqlite(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sqlite(e))?
        };
        for id in ids {
            self.forget_secret_choice(&CommandId::new(id))?;
        }
        Ok(())
    }

    /// A secret ballot's choice is kept only until the hub answers: then
    /// the signed command (which holds it) is replaced by what the app
    /// still needs — that a ballot for this poll was sent, and the answer.
    /// `secure_delete` overwrites the old row, and the WAL is truncated so
    /// no earlier version of it stays there. A poll this device does not
    /// know yet keeps its ballot until [`ClientDir::forget_answered_secret_choices`]
    /// runs after the pull that brings it.
    fn forget_secret_choice(&mut self, id: &CommandId) -> Result<(), ClientError> {
        let conn = self.store.conn();
        let body: Option<String> = conn
            .query_row(
                "SELECT body FROM outbox WHERE id = ?1",
                params![id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        let Some(signed) = body.and_then(|b| serde_json::from_str::<SignedCommand>(&b).ok()) else {
            return Ok(());
        };
        let Command::CastBallot { meeting, poll, .. } = signed.body.command else {
            return Ok(());
        };
        let secret = self
            .store
            .state()
            .meetings
            .get(&meeting)
            .and_then(|m| m.polls.get(&poll))
            .is_some_and(|p| p.secret);
        if !secret {
            return Ok(());
        }
        let kept = serde_json::to_string(&ForgottenBallot {
            forgotten: FORGOTTEN_SECRET_BALLOT.into(),
            meeting,
            poll,
            id: id.clone(),
        })
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        conn.execute(
            "UPDATE outbox SET body = ?1 WHERE id = ?2",
            params![kept, id.as_str()],
        )
        .map_err(|e| self.sqlite(e))?;
        let truncated = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        if !matches!(truncated, Ok(0)) {
            tracing::warn!(result = ?truncated, "the WAL could not be truncated after forgetting a secret ballot's choice; it will be at the next checkpoint");
        }
        Ok(())
    }

    /// My ballots in a meeting, oldest first, with the hub's answer once
    /// acknowledged. From the outbox: a ballot still queued (or refused:
    /// the poll closed before it arrived) is not in the log at all.
    pub fn my_ballots(&self, meeting: &MeetingId) -> Result<Vec<MyBallot>, ClientError> {
        let conn = self.store.conn();
        let mut stmt = conn
            .prepare("SELECT body, ack FROM outbox WHERE meeting = ?1 ORDER BY created_at, rowid")
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map(params![meeting.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, ack) = row.map_err(|e| self.sqlite(e))?;
            let ack = ack.and_then(|a| serde_json::from_str(&a).ok());
            if let Some(f) = forgotten(&body) {
                out.push(MyBallot {
                    poll: f.poll,
                    choice: None,
                    ack,
                });
            } else if let Ok(signed) = serde_json::from_str::<SignedCommand>(&body) {
                if let Command::CastBallot { poll, choice, .. } = signed.body.command {
                    out.push(MyBallot {
                        poll,
                        choice: Some(choice),
                        ack,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Records a refusal of one command that did not come as the hub's
    /// answer: the transport refused that one request (HTTP 413, 400, …).
    /// Terminal, like the hub's own refusals: the command is not sent again.
    pub fn refuse(
        &mut self,
        id: &CommandId,
        code: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<(), ClientError> {
        self.acknowledge(
            &CommandAck {
                id: id.clone(),
                outcome: CommandOutcome::Refused {
                    code: code.into(),
                    message: message.into(),
                },
                replay: false,
            },
            now,
        )
    }

    /// Records a failed send that may pass (network, 5xx): the command
    /// stays pending, and its row says how often and why it waits.
    pub fn record_failure(&mut self, id: &CommandId, why: &str) -> Result<(), ClientError> {
        self.store
            .conn()
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1 \
                 WHERE id = ?2 AND acked_at IS NULL",
                params![why, id.as_str()],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Marks a refusal as seen by the person; returns whether there was
    /// one to dismiss. The row stays (the device's record).
    pub fn dismiss(&mut self, id: &CommandId, now: Timestamp) -> Result<bool, ClientError> {
        let n = self
            .store
            .conn()
            .execute(
                "UPDATE outbox SET dismissed_at = ?1 \
                 WHERE id = ?2 AND acked_at IS NOT NULL AND dismissed_at IS NULL",
                params![now.0, id.as_str()],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(n == 1)
    }

    /// One outbox command with its state.
    pub fn outbox_entry(&self, id: &CommandId) -> Result<Option<OutboxEntry>, ClientError> {
        Ok(self
            .outbox_rows("WHERE id = ?1", params![id.as_str()])?
            .pop())
    }

    /// A meeting's open outbox: every command from the oldest one still
    /// pending or refused-and-not-dismissed onwards, oldest first (applied
    /// ones in between included, so later changes overlay earlier ones).
    pub fn open_outbox(&self, meeting: &MeetingId) -> Result<Vec<OutboxEntry>, ClientError> {
        self.outbox_rows(
            "WHERE meeting = ?1 AND created_at >= (\
                 SELECT COALESCE(MIN(created_at), 9223372036854775807) FROM outbox \
                 WHERE meeting = ?1 AND (acked_at IS NULL OR (dismissed_at IS NULL \
                 AND json_extract(ack, '$.outcome.status') = 'refused')))",
            params![meeting.as_str()],
        )
    }

    /// A meeting's commands that wait or were refused (not dismissed),
    /// oldest first: what the app lists next to the things they concern.
    pub fn unsettled(&self, meeting: &MeetingId) -> Result<Vec<OutboxEntry>, ClientError> {
        Ok(self
            .open_outbox(meeting)?
            .into_iter()
            .filter(|e| match e.state {
                OutboxState::Pending => true,
                OutboxState::Refused => !e.dismissed,
                OutboxState::Applied => false,
            })
            .collect())
    }

    fn outbox_rows(
        &self,
        filter: &str,
        args: impl phonghop_store::rusqlite::Params,
    ) -> Result<Vec<OutboxEntry>, ClientError> {
        let sql = format!(
            "SELECT body, ack, created_at, attempts, last_error, dismissed_at \
             FROM outbox {filter} ORDER BY created_at, rowid"
        );
        let mut stmt = self
            .store
            .conn()
            .prepare(&sql)
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let damaged =
            |e: serde_json::Error| ClientError::Protocol(format!("outbox entry is damaged: {e}"));
        let mut out = Vec::new();
        for r in rows {
            let (body, ack, created_at, attempts, last_error, dismissed_at) =
                r.map_err(|e| self.sqlite(e))?;
            // A secret ballot answered by the hub: its command is gone on
            // purpose (see `my_ballots` for what the app shows of it).
            if forgotten(&body).is_some() {
                continue;
            }
            let signed: SignedCommand = serde_json::from_str(&body).map_err(damaged)?;
            let ack: Option<CommandAck> = ack
                .map(|a| serde_json::from_str(&a))
                .transpose()
                .map_err(damaged)?;
            let (state, refusal) = outbox_state(&signed.body.id, ack.as_ref());
            out.push(OutboxEntry {
                signed,
                created_at: Timestamp(created_at),
                state,
                refusal,
                attempts,
                last_error: last_error.filter(|_| state == OutboxState::Pending),
                dismissed: dismissed_at.is_some(),
            });
        }
        Ok(out)
    }

    /// The answer recorded for a command, if acknowledged.
    pub fn ack_of(&self, id: &CommandId) -> Result<Option<CommandAck>, ClientError> {
        let v: Option<Option<String>> = self
            .store
            .conn()
            .query_row(
                "SELECT ack FROM outbox WHERE id = ?1",
                params![id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        v.flatten()
            .map(|s| serde_json::from_str(&s).map_err(|e| ClientError::Protocol(e.to_string())))
            .transpose()
    }

    /// My annotations on a paper (all versions), hub copy overlaid with the
    /// outbox in order: pending adds and edits show as `Saved`, pending
    /// deletes hide; a refused add or edit shows what was refused as
    /// `Refused` with the reason, a refused delete keeps the annotation with
    /// the reason — until the person dismisses the refusal. A later applied
    /// change to the same annotation settles it back to the hub's copy.
    pub fn annotations(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
    ) -> Result<Vec<LocalAnnotation>, ClientError> {
        let me = self.pairing()?.map(|p| p.person);
        let hub: std::collections::BTreeMap<AnnotationId, LocalAnnotation> = self
            .store
            .state()
            .meetings
            .get(meeting)
            .map(|m| {
                m.annotations
                    .values()
                    .filter(|a| &a.document == document)
                    .map(|a| {
                        (
                            a.id.clone(),
                            LocalAnnotation {
                                annotation: a.clone(),
                                state: PendingState::Sent,
                                refusal: None,
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut out = hub.clone();
        for entry in self.open_outbox(meeting)? {
            if entry.state == OutboxState::Refused && entry.dismissed {
                continue;
            }
            let state = match entry.state {
                OutboxState::Pending => PendingState::Saved,
                OutboxState::Refused => PendingState::Refused,
                OutboxState::Applied => PendingState::Sent,
            };
            match entry.signed.body.command {
                Command::AddAnnotation { annotation, .. }
                | Command::EditAnnotation { annotation, .. }
                    if &annotation.document == document
                        && Some(&annotation.author) == me.as_ref() =>
                {
                    let id = annotation.id.clone();
                    match (state, hub.get(&id)) {
                        (PendingState::Sent, Some(h)) => {
                            out.insert(id, h.clone());
                        }
                        (PendingState::Sent, None) => {
                            out.remove(&id);
                        }
                        _ => {
                            out.insert(
                                id,
                                LocalAnnotation {
                                    annotation,
                                    state,
                                    refusal: entry.refusal,
                                },
                            );
                        }
                    }
                }
                Command::DeleteAnnotation { annotation, .. } => match state {
                    PendingState::Saved => {
                        out.remove(&annotation);
                    }
                    PendingState::Refused => {
                        if let Some(a) = out.get_mut(&annotation) {
                            a.state = PendingState::Refused;
                            a.refusal = entry.refusal;
                        }
                    }
                    PendingState::Sent => {
                        out.remove(&annotation);
                    }
                },
                _ => {}
            }
        }
        Ok(out.into_values().collect())
    }

    /// Indexes a downloaded analysis blob for search (once per version).
    pub fn index_version(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: &DocumentVersion,
    ) -> Result<bool, ClientError> {
        let Some(a) = version.analysis else {
            return Ok(false);
        };
        if !self.blobs.has(&a)
            || phonghop_store::search::is_indexed(
                self.store.conn(),
                meeting,
                document,
                version.version,
            )
            .map_err(|e| self.sqlite(e))?
        {
            return Ok(false);
        }
        let analysis = self.read_analysis(&a)?;
        self.store_pages(&a, &analysis)?;
        let texts: Vec<&str> = analysis.pages.iter().map(|p| p.text.as_str()).collect();
        phonghop_store::search::index_pages(
            self.store.conn(),
            meeting,
            document,
            version.version,
            &texts,
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(true)
    }

    /// Parses an analysis blob as it streams from disk: the blob of a
    /// 300-page paper is some 30 MB of JSON, which a whole read would hold
    /// on top of the parsed pages.
    fn read_analysis(&self, a: &Hash) -> Result<AnalysisText, ClientError> {
        let path = self.blobs.path(a);
        let file = std::fs::File::open(&path).map_err(io(&path))?;
        serde_json::from_reader(std::io::BufReader::with_capacity(256 << 10, file))
            .map_err(|e| ClientError::Protocol(format!("paper analysis {a} is not valid: {e}")))
    }

    /// The analysis blob of a paper version, once it is on this device.
    fn analysis_of(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: u32,
    ) -> Result<Hash, ClientError> {
        let v = self
            .store
            .state()
            .meetings
            .get(meeting)
            .and_then(|m| m.documents.get(document))
            .and_then(|d| d.versions.iter().find(|v| v.version == version))
            .ok_or_else(|| {
                ClientError::Protocol(format!("no version {version} of paper '{document}' here"))
            })?;
        v.analysis.filter(|a| self.blobs.has(a)).ok_or_else(|| {
            ClientError::Protocol(format!(
                "the text of paper '{document}' has not arrived yet"
            ))
        })
    }

    /// Writes an analysis's pages and outline as rows (see migration 0006),
    /// in one transaction, the outline row last.
    fn store_pages(&self, a: &Hash, analysis: &AnalysisText) -> Result<(), ClientError> {
        let sql = |e| self.sqlite(e);
        let key = a.to_hex();
        let tx = self.store.conn().unchecked_transaction().map_err(sql)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO paper_pages (analysis, page, width, height, text, boxes, links) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            for (i, p) in analysis.pages.iter().enumerate() {
                let boxes: Vec<u8> = p
                    .boxes
                    .iter()
                    .flat_map(|b| b.iter().flat_map(|v| v.to_le_bytes()))
                    .collect();
                let links = serde_json::to_string(&p.links)
                    .map_err(|e| ClientError::Protocol(format!("links of page {}: {e}", i + 1)))?;
                insert
                    .execute(params![
                        key,
                        i as i64,
                        f64::from(p.width),
                        f64::from(p.height),
                        p.text,
                        boxes,
                        links
                    ])
                    .map_err(sql)?;
            }
        }
        let outline = serde_json::to_string(&analysis.outline)
            .map_err(|e| ClientError::Protocol(format!("outline: {e}")))?;
        tx.execute(
            "INSERT OR REPLACE INTO paper_outline (analysis, outline) VALUES (?1, ?2)",
            params![key, outline],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    /// The rows of an analysis, written from the blob if this device has
    /// not yet (papers downloaded before rows existed).
    fn pages_of(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: u32,
    ) -> Result<String, ClientError> {
        let a = self.analysis_of(meeting, document, version)?;
        let key = a.to_hex();
        let have: bool = self
            .store
            .conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM paper_outline WHERE analysis = ?1)",
                [&key],
                |r| r.get(0),
            )
            .map_err(|e| self.sqlite(e))?;
        if !have {
            self.store_pages(&a, &self.read_analysis(&a)?)?;
        }
        Ok(key)
    }

    /// Every page's size (in points) and the outline of a paper version.
    pub fn paper_layout(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: u32,
    ) -> Result<PaperLayout, ClientError> {
        let key = self.pages_of(meeting, document, version)?;
        let sql = |e| self.sqlite(e);
        let conn = self.store.conn();
        let mut q = conn
            .prepare("SELECT width, height FROM paper_pages WHERE analysis = ?1 ORDER BY page")
            .map_err(sql)?;
        let sizes = q
            .query_map([&key], |r| {
                Ok((r.get::<_, f64>(0)? as f32, r.get::<_, f64>(1)? as f32))
            })
            .map_err(sql)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql)?;
        let outline: String = conn
            .query_row(
                "SELECT outline FROM paper_outline WHERE analysis = ?1",
                [&key],
                |r| r.get(0),
            )
            .map_err(sql)?;
        let outline = serde_json::from_str(&outline)
            .map_err(|e| ClientError::Protocol(format!("stored outline: {e}")))?;
        Ok(PaperLayout { sizes, outline })
    }

    /// One page's text, character boxes and links (`page` is 0-based).
    pub fn page_text(
        &self,
        meeting: &MeetingId,
        document: &DocumentId,
        version: u32,
        page: u32,
    ) -> Result<PageText, ClientError> {
        let key = self.pages_of(meeting, document, version)?;
        let row = self
            .store
            .conn()
            .query_row(
                "SELECT width, height, text, boxes, links FROM paper_pages WHERE analysis = ?1 AND page = ?2",
                params![key, i64::from(page)],
                |r| {
                    Ok((
                        r.get::<_, f64>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sqlite(e))?
            .ok_or_else(|| {
                ClientError::Protocol(format!(
                    "paper '{document}' version {version} has no page {}",
                    page + 1
                ))
            })?;
        let (width, height, text, boxes, links) = row;
        let boxes = boxes
            .chunks_exact(16)
            .map(|c| {
                let f = |i: usize| f32::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                [f(0), f(4), f(8), f(12)]
            })
            .collect();
        let links = serde_json::from_str(&links)
            .map_err(|e| ClientError::Protocol(format!("stored links: {e}")))?;
        Ok(PageText {
            width: width as f32,
            height: height as f32,
            text,
            boxes,
            links,
        })
    }

    /// Full-text search over downloaded papers (Vietnamese-folded): a hit
    /// per page, with the character boxes of every match on it.
    pub fn search(
        &self,
        query: &str,
        meeting: Option<&MeetingId>,
    ) -> Result<Vec<BoxedHit>, ClientError> {
        let hits = phonghop_store::search::search(self.store.conn(), query, meeting, 100)
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let boxes = self
                .page_text(&h.meeting, &h.document, h.version, h.page)
                .ok()
                .map(|p| {
                    // One list of boxes per match, in text order, so the
                    // reader can step from match to match.
                    h.ranges
                        .iter()
                        .map(|&(a, b)| {
                            p.boxes
                                .get(a..b.min(p.boxes.len()))
                                .unwrap_or(&[])
                                .iter()
                                .filter(|bx| bx[2] > bx[0] && bx[3] > bx[1])
                                .copied()
                                .collect::<Vec<_>>()
                        })
                        .filter(|m| !m.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            out.push((h, boxes));
        }
        Ok(out)
    }

    /// When this device last heard from its hub (see
    /// [`ClientDir::record_contact`]); `None` before the first time.
    pub fn last_contact(&self) -> Result<Option<Timestamp>, ClientError> {
        let v: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = 'last_contact'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        Ok(v.and_then(|v| v.parse().ok()).map(Timestamp))
    }

    /// Records that the hub answered at `now` (a pull that went through):
    /// the start of the offline period a retention rule's lock counts.
    pub fn record_contact(&mut self, now: Timestamp) -> Result<(), ClientError> {
        self.store
            .conn()
            .execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES ('last_contact', ?1)",
                params![now.0.to_string()],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Meetings whose pack is locked at `now` by their retention rule: the
    /// device has not reached the hub for too long. The app shows them
    /// without their papers until it does.
    pub fn locked_meetings(&self, now: Timestamp) -> Result<Vec<MeetingId>, ClientError> {
        let last = self.last_contact()?;
        Ok(self
            .store
            .state()
            .meetings
            .values()
            .filter(|m| m.retention.locked(last, now))
            .map(|m| m.id.clone())
            .collect())
    }

    /// Whether the file `hash` (a paper or its text) is shown at `now`: it
    /// belongs to at least one meeting whose pack is not locked.
    pub fn file_unlocked(&self, hash: &Hash, now: Timestamp) -> Result<bool, ClientError> {
        let locked = self.locked_meetings(now)?;
        Ok(self.store.state().meetings.values().any(|m| {
            !locked.contains(&m.id)
                && m.documents
                    .values()
                    .flat_map(|d| d.versions.iter())
                    .any(|v| &v.sha256 == hash || v.analysis.as_ref() == Some(hash))
        }))
    }

    /// Deletes every meeting whose retention rule says its time is up at
    /// `now` (on this device's clock: it needs no network): its log, search
    /// text, page texts, outbox and the blobs no other meeting here uses.
    /// Returns the meetings deleted.
    pub fn enforce_retention(&mut self, now: Timestamp) -> Result<Vec<MeetingId>, ClientError> {
        let state = self.store.state();
        let due: Vec<MeetingId> = state
            .meetings
            .values()
            .filter(|m| m.retention.delete_at(m.closed_at).is_some_and(|t| t <= now))
            .map(|m| m.id.clone())
            .collect();
        if due.is_empty() {
            return Ok(due);
        }
        let files = |m: &phonghop_core::reducer::MeetingState| -> Vec<Hash> {
            m.documents
                .values()
                .flat_map(|d| d.versions.iter())
                .flat_map(|v| std::iter::once(v.sha256).chain(v.analysis))
                .collect()
        };
        let kept: std::collections::HashSet<Hash> = state
            .meetings
            .values()
            .filter(|m| !due.contains(&m.id))
            .flat_map(files)
            .collect();
        let gone: Vec<Hash> = state
            .meetings
            .values()
            .filter(|m| due.contains(&m.id))
            .flat_map(files)
            .filter(|h| !kept.contains(h))
            .collect();
        let conn = self.store.conn();
        for h in &gone {
            conn.execute(
                "DELETE FROM paper_pages WHERE analysis = ?1",
                params![h.to_hex()],
            )
            .and_then(|_| {
                conn.execute(
                    "DELETE FROM paper_outline WHERE analysis = ?1",
                    params![h.to_hex()],
                )
            })
            .map_err(|e| self.sqlite(e))?;
        }
        for m in &due {
            phonghop_store::search::drop_meeting(self.store.conn(), m)
                .map_err(|e| self.sqlite(e))?;
            self.store
                .conn()
                .execute("DELETE FROM outbox WHERE meeting = ?1", params![m.as_str()])
                .map_err(|e| self.sqlite(e))?;
            self.store.wipe_meeting(m)?;
        }
        for h in &gone {
            let path = self.blobs.path(h);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        self.store
            .conn()
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.sqlite(e))?;
        tracing::info!(meetings = ?due, "retention: packs past their date deleted");
        Ok(due)
    }

    /// Wipes every cached meeting, its search index and all blobs (after
    /// this device was revoked).
    pub fn wipe(&mut self) -> Result<(), ClientError> {
        // Deleted rows must not stay readable in free pages or the WAL:
        // overwrite them as they are deleted, then rebuild the file and
        // empty the WAL (found by the room simulation: a revoked device's
        // `client.db` still held paper titles and text after the wipe).
        self.store
            .conn()
            .pragma_update(None, "secure_delete", "ON")
            .map_err(|e| self.sqlite(e))?;
        let blobs = self.root.join("blobs");
        let _ = std::fs::remove_dir_all(&blobs);
        self.blobs = BlobStore::open(&blobs)?;
        // Nothing of the hub either: its address, certificate fingerprint
        // and key (the pairing), when it last answered, and this device's
        // key, which the hub no longer takes. (The running client keeps
        // what it holds in memory, to be told "revoked" again if it asks.)
        self.store.wipe_all(&[])?;
        let key = self.root.join("device.key");
        match std::fs::remove_file(&key) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&key)(e)),
        }
        self.store
            .conn()
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }
}

/// A paper version's page sizes (points) and outline, for the reader's
/// layout.
#[derive(Debug, Clone)]
pub struct PaperLayout {
    /// (width, height) of each page, in order.
    pub sizes: Vec<(f32, f32)>,
    /// The outline, depth first.
    pub outline: Vec<OutlineEntry>,
}

/// The part of the hub's import analysis the client reads (page texts,
/// links, the outline).
#[derive(Debug, Deserialize)]
pub struct AnalysisText {
    /// Pages.
    pub pages: Vec<PageText>,
    /// The outline (absent from papers imported before outlines were read).
    #[serde(default)]
    pub outline: Vec<OutlineEntry>,
}

/// One page's text and boxes.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PageText {
    /// Width in points.
    pub width: f32,
    /// Height in points.
    pub height: f32,
    /// Text.
    pub text: String,
    /// One box per char.
    pub boxes: Vec<[f32; 4]>,
    /// Links on the page.
    #[serde(default)]
    pub links: Vec<PageLink>,
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    use std::io::Write;
    let mut f = phonghop_fs::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(path))
}
