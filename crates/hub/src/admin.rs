//! The secretariat's writes as data, and the one way they enter a hub
//! folder.
//!
//! - [`AdminOp`]: every write the `phonghop` CLI and the app's secretariat
//!   screens make — people, meetings, agenda, papers, invites, devices.
//! - [`execute`]: the one function that carries one out, on the folder's
//!   writer: inside the running hub ([`crate::server::Hub::admin`], which
//!   its admin endpoint calls), or on a [`HubDir`] opened directly when no
//!   hub runs. It returns what it did and the entries it appended.
//! - [`submit`]: the CLI's (and the attached app's) side. If nobody holds
//!   the folder it opens it and executes; if a hub serves it, it sends the
//!   operation to that hub's admin endpoint; otherwise it waits a moment
//!   for the other writer, then refuses naming it.
//!
//! The admin endpoint (`POST /v1/admin`, on the loopback address recorded
//! in `serving.json`) takes an [`AdminRequest`]: the canonical JSON of
//! [`AdminBody`] (the operation, the sender's time, a random nonce) and the
//! hub key's signature over exactly those bytes (context `admin`). Only a
//! program that can read `hub.key` — on the hub's computer, as the hub's
//! user — can sign one. The hub verifies with its own public key and
//! refuses a request from another address than loopback, one more than
//! [`FRESH_MS`] away from its clock, and a nonce it has already seen.

use crate::serving::Serving;
use crate::{HubDir, HubError, NewMeeting, NewPaper, NewPerson};
use phonghop_core::sign::context;
use phonghop_core::*;
use phonghop_pdf::Analysis;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One write to a hub folder, as the secretariat says it. Fields left out
/// of an edit keep their value; an edit field given as `null` clears it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AdminOp {
    /// Register a person.
    AddPerson {
        /// Id to use (default: generated).
        #[serde(default)]
        id: Option<String>,
        /// Full name.
        name: String,
        /// Title.
        #[serde(default)]
        title: Option<String>,
        /// Constituency or unit.
        #[serde(default)]
        unit: Option<String>,
    },
    /// Register several people at once (a list from a spreadsheet): all or
    /// none.
    AddPeople {
        /// The people, ids optional.
        people: Vec<NewPersonOp>,
    },
    /// Create a meeting (a draft) and its inbox folder.
    CreateMeeting {
        /// Id to use (default: generated).
        #[serde(default)]
        id: Option<String>,
        /// The council.
        body: String,
        /// Title.
        title: String,
        /// Planned start.
        #[serde(default)]
        starts_at: Option<Timestamp>,
        /// Place.
        #[serde(default)]
        place: Option<String>,
    },
    /// Set a meeting's quorum and its rule for ballots from members not
    /// checked in.
    SetMeetingRules {
        /// Meeting id.
        meeting: String,
        /// The rules.
        rules: phonghop_core::MeetingRules,
    },
    /// Set how long devices keep a meeting's pack.
    SetRetention {
        /// Meeting id.
        meeting: String,
        /// The rule.
        retention: phonghop_core::Retention,
    },
    /// Change a meeting's details.
    EditMeeting {
        /// Meeting id.
        meeting: String,
        /// New council name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// New title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// New start (`null`: none).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "given"
        )]
        starts_at: Option<Option<Timestamp>>,
        /// New place (`null`: none).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "given"
        )]
        place: Option<Option<String>>,
    },
    /// Add a registered person to a meeting.
    AddMember {
        /// Meeting id.
        meeting: String,
        /// Person id.
        person: String,
        /// Role.
        role: Role,
    },
    /// Publish a draft meeting.
    Publish {
        /// Meeting id.
        meeting: String,
    },
    /// Add an agenda item.
    AddAgendaItem {
        /// Meeting id.
        meeting: String,
        /// Its number; default: the next free one under `under`.
        #[serde(default)]
        number: Option<String>,
        /// With no number: the parent item's number (default: top level).
        #[serde(default)]
        under: Option<String>,
        /// Title.
        title: String,
        /// Who presents it.
        #[serde(default)]
        presenter: Option<String>,
        /// Planned minutes.
        #[serde(default)]
        planned_minutes: Option<u32>,
    },
    /// Reword an agenda item.
    EditAgendaItem {
        /// Meeting id.
        meeting: String,
        /// The item's number.
        number: String,
        /// New title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// New presenter (`null`: none).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "given"
        )]
        presenter: Option<Option<String>>,
        /// New planned minutes (`null`: none).
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "given"
        )]
        planned_minutes: Option<Option<u32>>,
    },
    /// Move an agenda item (with its sub-items).
    MoveAgendaItem {
        /// Meeting id.
        meeting: String,
        /// The item's number.
        number: String,
        /// New parent's number (default: the top level).
        #[serde(default)]
        under: Option<String>,
        /// 1-based place among its new siblings.
        position: u32,
    },
    /// Attach a paper (a PDF on this computer, analysed by the sender).
    AddPaper {
        /// Meeting id.
        meeting: String,
        /// The PDF file (an absolute path on the hub's computer).
        file: PathBuf,
        /// Its import analysis.
        analysis: Box<Analysis>,
        /// Agenda number it belongs to.
        #[serde(default)]
        item: Option<String>,
        /// Title (default: the PDF's own, then its first heading, then the file name).
        #[serde(default)]
        title: Option<String>,
        /// Who may read it.
        confidentiality: Confidentiality,
    },
    /// Publish a new version of a paper.
    AddVersion {
        /// Meeting id.
        meeting: String,
        /// Paper id.
        paper: DocumentId,
        /// The PDF file (an absolute path on the hub's computer).
        file: PathBuf,
        /// Its import analysis.
        analysis: Box<Analysis>,
    },
    /// Give a paper its proper title.
    RenamePaper {
        /// Meeting id.
        meeting: String,
        /// Paper id.
        paper: DocumentId,
        /// The new title.
        title: String,
    },
    /// Make a one-time invite code for a person.
    CreateInvite {
        /// Person id.
        person: String,
        /// How long it stays valid.
        ttl_ms: i64,
    },
    /// Cancel unused invites: all of a person's, or one code.
    CancelInvites {
        /// A person id or an invite code.
        person_or_code: String,
    },
    /// Revoke a device.
    RevokeDevice {
        /// Device id.
        device: String,
    },
}

/// A field that is present in the JSON, `null` included.
fn given<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What an [`AdminOp`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "done", rename_all = "snake_case")]
pub enum Done {
    /// A person was registered.
    PersonAdded {
        /// Their id.
        person: PersonId,
    },
    /// People were registered.
    PeopleAdded {
        /// Their ids, in the order given.
        people: Vec<PersonId>,
    },
    /// A meeting was created.
    MeetingCreated {
        /// Its id.
        meeting: MeetingId,
    },
    /// A meeting's details changed.
    MeetingEdited {
        /// Its id.
        meeting: MeetingId,
    },
    /// A member was added.
    MemberAdded {
        /// The meeting.
        meeting: MeetingId,
        /// The person.
        person: PersonId,
    },
    /// A meeting was published.
    Published {
        /// Its id.
        meeting: MeetingId,
    },
    /// An agenda item was added.
    AgendaItemAdded {
        /// Its id.
        item: AgendaItemId,
        /// Its number.
        number: String,
    },
    /// An agenda item was reworded.
    AgendaItemEdited {
        /// Its id.
        item: AgendaItemId,
    },
    /// An agenda item was moved.
    AgendaItemMoved {
        /// Its id.
        item: AgendaItemId,
    },
    /// A paper was attached.
    PaperAdded {
        /// Its id.
        paper: DocumentId,
    },
    /// A paper got a new version.
    VersionAdded {
        /// The paper.
        paper: DocumentId,
        /// The new version's number.
        version: u32,
    },
    /// A paper was renamed.
    PaperRenamed {
        /// The paper.
        paper: DocumentId,
    },
    /// An invite code was made.
    InviteCreated {
        /// The code (shown once; only its hash is kept).
        code: String,
        /// Valid until.
        expires_at: Timestamp,
    },
    /// Unused invites were cancelled.
    InvitesCancelled {
        /// How many.
        count: usize,
    },
    /// A device was revoked.
    DeviceRevoked {
        /// The device.
        device: DeviceId,
    },
}

/// One appended log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRef {
    /// Its log's key (`dir`, `m/<meeting>`, …).
    pub log: String,
    /// Its place in that log.
    pub seq: u64,
}

/// One person of [`AdminOp::AddPeople`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPersonOp {
    /// Id to use (default: generated).
    #[serde(default)]
    pub id: Option<String>,
    /// Full name.
    pub name: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Constituency or unit.
    #[serde(default)]
    pub unit: Option<String>,
}

/// What an operation did, and what it appended (in append order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminReply {
    /// What it did.
    pub done: Done,
    /// The entries it appended.
    pub appended: Vec<EntryRef>,
}

/// Carries out `op` on the folder's writer at `now`. The one place the
/// secretariat's operations are turned into calls on [`HubDir`]: the
/// running hub's admin endpoint, the app's screens and the CLI (when no hub
/// runs) all come here.
pub fn execute(hub: &mut HubDir, op: AdminOp, now: Timestamp) -> Result<AdminReply, HubError> {
    let mark = hub.appended().len();
    let done = apply(hub, op, now)?;
    let appended = hub
        .appended()
        .get(mark..)
        .unwrap_or_default()
        .iter()
        .map(|e| EntryRef {
            log: e.log.key(),
            seq: e.seq,
        })
        .collect();
    Ok(AdminReply { done, appended })
}

fn unknown_item(meeting: &str, number: &str) -> HubError {
    HubError::UnknownItem {
        meeting: meeting.into(),
        number: number.into(),
    }
}

fn apply(hub: &mut HubDir, op: AdminOp, now: Timestamp) -> Result<Done, HubError> {
    Ok(match op {
        AdminOp::AddPerson {
            id,
            name,
            title,
            unit,
        } => Done::PersonAdded {
            person: hub.add_person(NewPerson {
                id,
                name,
                title,
                unit,
            })?,
        },
        AdminOp::CreateMeeting {
            id,
            body,
            title,
            starts_at,
            place,
        } => {
            let meeting = hub.create_meeting(
                NewMeeting {
                    id,
                    body,
                    title,
                    starts_at,
                    place,
                },
                now,
            )?;
            // The folder the secretary may save PDFs into (the inbox).
            let inbox = hub.inbox(meeting.as_str());
            phonghop_fs::create_dir_all(&inbox).map_err(|source| HubError::Io {
                path: inbox,
                source,
            })?;
            Done::MeetingCreated { meeting }
        }
        AdminOp::EditMeeting {
            meeting,
            body,
            title,
            starts_at,
            place,
        } => {
            let m = hub.meeting(&meeting)?;
            let edited = NewMeeting {
                id: None,
                body: body.unwrap_or_else(|| m.body.clone()),
                title: title.unwrap_or_else(|| m.title.clone()),
                starts_at: starts_at.unwrap_or(m.starts_at),
                place: place.unwrap_or_else(|| m.place.clone()),
            };
            hub.edit_meeting(&meeting, edited)?;
            Done::MeetingEdited {
                meeting: MeetingId::new(meeting),
            }
        }
        AdminOp::AddPeople { people } => Done::PeopleAdded {
            people: hub.add_people(
                people
                    .into_iter()
                    .map(|p| NewPerson {
                        id: p.id,
                        name: p.name,
                        title: p.title,
                        unit: p.unit,
                    })
                    .collect(),
            )?,
        },
        AdminOp::SetMeetingRules { meeting, rules } => {
            hub.set_meeting_rules(&meeting, rules)?;
            Done::MeetingEdited {
                meeting: MeetingId::new(meeting),
            }
        }
        AdminOp::SetRetention { meeting, retention } => {
            hub.set_retention(&meeting, retention)?;
            Done::MeetingEdited {
                meeting: MeetingId::new(meeting),
            }
        }
        AdminOp::AddMember {
            meeting,
            person,
            role,
        } => {
            hub.add_member(&meeting, &person, role)?;
            Done::MemberAdded {
                meeting: MeetingId::new(meeting),
                person: PersonId::new(person),
            }
        }
        AdminOp::Publish { meeting } => {
            hub.publish(&meeting, now)?;
            Done::Published {
                meeting: MeetingId::new(meeting),
            }
        }
        AdminOp::AddAgendaItem {
            meeting,
            number,
            under,
            title,
            presenter,
            planned_minutes,
        } => {
            let number = match number {
                Some(n) => n,
                None => {
                    let m = hub.meeting(&meeting)?;
                    let parent = match &under {
                        Some(n) => Some(
                            m.item_by_number(n)
                                .ok_or_else(|| unknown_item(&meeting, n))?
                                .id
                                .clone(),
                        ),
                        None => None,
                    };
                    let next = m.children.get(&parent).map_or(0, Vec::len) + 1;
                    match &under {
                        Some(p) => format!("{p}.{next}"),
                        None => next.to_string(),
                    }
                }
            };
            let item =
                hub.add_agenda_item(&meeting, &number, &title, presenter, planned_minutes)?;
            Done::AgendaItemAdded { item, number }
        }
        AdminOp::EditAgendaItem {
            meeting,
            number,
            title,
            presenter,
            planned_minutes,
        } => {
            let current = hub
                .meeting(&meeting)?
                .item_by_number(&number)
                .cloned()
                .ok_or_else(|| unknown_item(&meeting, &number))?;
            let item = hub.edit_agenda_item(
                &meeting,
                &number,
                title.as_deref().unwrap_or(&current.title),
                presenter.unwrap_or(current.presenter),
                planned_minutes.unwrap_or(current.planned_minutes),
            )?;
            Done::AgendaItemEdited { item }
        }
        AdminOp::MoveAgendaItem {
            meeting,
            number,
            under,
            position,
        } => Done::AgendaItemMoved {
            item: hub.move_agenda_item(&meeting, &number, under.as_deref(), position)?,
        },
        AdminOp::AddPaper {
            meeting,
            file,
            analysis,
            item,
            title,
            confidentiality,
        } => Done::PaperAdded {
            paper: hub.add_paper(
                &meeting,
                NewPaper {
                    file: &file,
                    analysis: &analysis,
                    item_number: item.as_deref(),
                    title,
                    confidentiality,
                },
                now,
            )?,
        },
        AdminOp::AddVersion {
            meeting,
            paper,
            file,
            analysis,
        } => {
            let confidentiality = hub
                .meeting(&meeting)?
                .documents
                .get(&paper)
                .map_or(Confidentiality::Public, |d| d.confidentiality.clone());
            let version = hub.add_version(
                &meeting,
                &paper,
                NewPaper {
                    file: &file,
                    analysis: &analysis,
                    item_number: None,
                    title: None,
                    confidentiality,
                },
                now,
            )?;
            Done::VersionAdded { paper, version }
        }
        AdminOp::RenamePaper {
            meeting,
            paper,
            title,
        } => {
            hub.retitle_paper(&meeting, &paper, &title)?;
            Done::PaperRenamed { paper }
        }
        AdminOp::CreateInvite { person, ttl_ms } => Done::InviteCreated {
            code: hub.create_invite(&person, ttl_ms, now)?,
            expires_at: Timestamp(now.0.saturating_add(ttl_ms)),
        },
        AdminOp::CancelInvites { person_or_code } => Done::InvitesCancelled {
            count: hub.cancel_invites(&person_or_code, now)?,
        },
        AdminOp::RevokeDevice { device } => {
            hub.revoke_device(&device, now)?;
            Done::DeviceRevoked {
                device: DeviceId::new(device),
            }
        }
    })
}

// ---------------------------------------------------------- signed requests

/// How far a request's time may be from the hub's clock (both are this
/// computer's clock: the margin is for a slow request, not for skew).
pub const FRESH_MS: i64 = 60_000;

/// Nonces remembered at most (only requests signed with the hub key get
/// this far, and they are remembered for [`FRESH_MS`]).
const NONCES_MAX: usize = 100_000;

/// The signed part of an admin request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminBody {
    /// What to do.
    pub op: AdminOp,
    /// When the sender made the request.
    pub at: Timestamp,
    /// 128 random bits, hex: the hub takes each request once.
    pub nonce: String,
}

/// What travels: the body's canonical JSON as sent, and the hub key's
/// signature over exactly those bytes (context `admin`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminRequest {
    /// Canonical JSON of an [`AdminBody`].
    pub body: String,
    /// Signature by the hub key.
    pub signature: Signature,
}

impl AdminRequest {
    /// Signs `op` at `at` with `key` (the hub's own, from `hub.key`), with a
    /// fresh random nonce.
    pub fn sign(op: AdminOp, at: Timestamp, key: &SecretKey) -> Result<AdminRequest, HubError> {
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce).map_err(|e| HubError::Io {
            path: PathBuf::from("/dev/urandom"),
            source: std::io::Error::other(format!("no randomness for a request nonce: {e}")),
        })?;
        AdminRequest::sign_with_nonce(op, at, hex::encode(nonce), key)
    }

    /// [`AdminRequest::sign`] with a given nonce.
    pub fn sign_with_nonce(
        op: AdminOp,
        at: Timestamp,
        nonce: String,
        key: &SecretKey,
    ) -> Result<AdminRequest, HubError> {
        let bytes = canonical::to_canonical_bytes(&AdminBody { op, at, nonce }).map_err(|e| {
            HubError::Io {
                path: PathBuf::from("admin request"),
                source: std::io::Error::other(e),
            }
        })?;
        let body = String::from_utf8(bytes).map_err(|e| HubError::Io {
            path: PathBuf::from("admin request"),
            source: std::io::Error::other(e),
        })?;
        Ok(AdminRequest {
            signature: key.sign(context::ADMIN, body.as_bytes()),
            body,
        })
    }

    /// Checks the signature against the hub's public key over the bytes as
    /// they came, then reads the body.
    pub fn open(&self, hub: &PublicKey) -> Result<AdminBody, AdminRefusal> {
        hub.verify(context::ADMIN, self.body.as_bytes(), &self.signature)
            .map_err(|_| AdminRefusal::BadSignature)?;
        serde_json::from_str(&self.body).map_err(|e| AdminRefusal::Unreadable(e.to_string()))
    }
}

/// Why the admin endpoint refused a request before looking at its
/// operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRefusal {
    /// From another address than loopback.
    NotLocal(SocketAddr),
    /// Not an admin request.
    Unreadable(String),
    /// Not signed by this hub's key.
    BadSignature,
    /// Made too long ago (or too far ahead).
    Stale {
        /// The request's time.
        at: Timestamp,
        /// The hub's.
        now: Timestamp,
    },
    /// A nonce the hub has already taken.
    Replayed,
    /// Too many requests remembered.
    Busy,
}

impl AdminRefusal {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            AdminRefusal::NotLocal(_) => "admin_not_local",
            AdminRefusal::Unreadable(_) => "admin_unreadable",
            AdminRefusal::BadSignature => "admin_bad_signature",
            AdminRefusal::Stale { .. } => "admin_stale",
            AdminRefusal::Replayed => "admin_replayed",
            AdminRefusal::Busy => "admin_busy",
        }
    }

    /// For people.
    pub fn message(&self) -> String {
        match self {
            AdminRefusal::NotLocal(peer) => format!(
                "the admin endpoint answers programs on the hub's own computer only, not {peer}"
            ),
            AdminRefusal::Unreadable(e) => format!("not an admin request: {e}"),
            AdminRefusal::BadSignature => "this request is not signed with this hub's key \
                 (hub.key of the folder the hub serves)"
                .into(),
            AdminRefusal::Stale { at, now } => format!(
                "this request was made at {} ms, {} s away from the hub's clock (the limit is {} s): \
                 send it again",
                at.0,
                (now.0 - at.0).abs() / 1000,
                FRESH_MS / 1000
            ),
            AdminRefusal::Replayed => {
                "this request was already taken once (a replay); nothing was changed".into()
            }
            AdminRefusal::Busy => "too many admin requests at once: try again in a minute".into(),
        }
    }
}

/// The nonces the hub has taken, each until its request would be refused
/// as stale anyway.
#[derive(Debug, Default)]
pub struct Replays {
    seen: HashMap<String, Timestamp>,
}

impl Replays {
    /// Takes `body` once, if it is fresh at `now`.
    pub fn take(&mut self, body: &AdminBody, now: Timestamp) -> Result<(), AdminRefusal> {
        self.seen
            .retain(|_, at| now.0.saturating_sub(at.0) <= FRESH_MS);
        if now.0.abs_diff(body.at.0) > FRESH_MS.unsigned_abs() {
            return Err(AdminRefusal::Stale { at: body.at, now });
        }
        if self.seen.contains_key(&body.nonce) {
            return Err(AdminRefusal::Replayed);
        }
        if self.seen.len() >= NONCES_MAX {
            return Err(AdminRefusal::Busy);
        }
        self.seen.insert(body.nonce.clone(), body.at);
        Ok(())
    }
}

// ------------------------------------------------------------ the sender

/// How long [`route`] waits for another writer that is not a hub (another
/// `phonghop` command, the app) to finish.
const WAIT_FOR_WRITER: Duration = Duration::from_secs(3);

/// Where a write to a hub folder goes.
#[derive(Debug)]
pub enum Route {
    /// Nobody else writes the folder: it is open here, for writing.
    Direct(Box<HubDir>),
    /// A hub serves it: writes go through its admin endpoint.
    Served(Box<Remote>),
}

/// Decides where writes to `dir` go: opens it for writing if nobody holds
/// it; sends them to the hub serving it if one does; waits a moment for
/// another writer (a `phonghop` command, the app), then refuses naming it.
pub fn route(dir: &Path) -> Result<Route, HubError> {
    let deadline = Instant::now() + WAIT_FOR_WRITER;
    loop {
        match HubDir::open(dir) {
            Ok(hub) => return Ok(Route::Direct(Box::new(hub))),
            Err(busy @ HubError::Busy { .. }) => {
                if let Some(serving) = Serving::answering(dir) {
                    return Ok(Route::Served(Box::new(Remote::new(dir, serving)?)));
                }
                if Instant::now() >= deadline {
                    return Err(busy);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs `op` on `dir` through its one writer (see [`route`]), at `now`
/// when done here. Blocking.
pub fn submit(dir: &Path, op: AdminOp, now: Timestamp) -> Result<AdminReply, HubError> {
    match route(dir)? {
        Route::Direct(mut hub) => execute(&mut hub, op, now),
        Route::Served(remote) => remote.send_blocking(op, now),
    }
}

/// The hub serving `dir`, if one answers on its admin endpoint.
pub fn running(dir: &Path) -> Option<Serving> {
    Serving::answering(dir)
}

/// A running hub's admin endpoint, and the hub key to sign for it.
#[derive(Debug)]
pub struct Remote {
    dir: PathBuf,
    serving: Serving,
    key: SecretKey,
}

impl Remote {
    /// For the hub serving `dir` as `serving` says; reads `dir/hub.key`.
    pub fn new(dir: &Path, serving: Serving) -> Result<Remote, HubError> {
        Ok(Remote {
            dir: dir.to_path_buf(),
            key: crate::hubdir::read_key(&dir.join("hub.key"))?,
            serving,
        })
    }

    /// How the hub is served.
    pub fn serving(&self) -> &Serving {
        &self.serving
    }

    fn unreachable(&self, reason: impl std::fmt::Display) -> HubError {
        HubError::HubUnreachable {
            dir: self.dir.clone(),
            addr: self
                .serving
                .admin
                .map_or_else(|| "(none)".into(), |a| a.to_string()),
            reason: reason.to_string(),
        }
    }

    /// A request for `op` made at `at`, signed with the hub key.
    pub fn sign(&self, op: AdminOp, at: Timestamp) -> Result<AdminRequest, HubError> {
        AdminRequest::sign(op, at, &self.key)
    }

    /// Signs `op` (at `at`) and has the hub carry it out.
    pub async fn send(&self, op: AdminOp, at: Timestamp) -> Result<AdminReply, HubError> {
        self.send_request(&self.sign(op, at)?).await
    }

    /// Sends a signed request as it is (tests replay one with this).
    pub async fn send_request(&self, req: &AdminRequest) -> Result<AdminReply, HubError> {
        let admin = self
            .serving
            .admin
            .ok_or_else(|| self.unreachable("it has no admin endpoint"))?;
        let resp = http()
            .map_err(|e| self.unreachable(e))?
            .post(format!("http://{admin}/v1/admin"))
            .json(req)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if resp.status().is_success() {
            return resp.json().await.map_err(|e| self.unreachable(e));
        }
        let status = resp.status();
        match resp.json::<protocol::ApiError>().await {
            Ok(e) => Err(HubError::Refused {
                code: crate::error::static_code(&e.code),
                message: e.message,
            }),
            Err(e) => Err(self.unreachable(format!("{status}: {e}"))),
        }
    }

    /// [`Remote::send`] from blocking code (on a thread of its own, so it
    /// works inside or outside an async runtime).
    pub fn send_blocking(&self, op: AdminOp, at: Timestamp) -> Result<AdminReply, HubError> {
        std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| self.unreachable(e))?
                    .block_on(self.send(op, at))
            })
            .join()
            .unwrap_or_else(|_| Err(self.unreachable("the sending thread panicked")))
        })
    }
}

/// A plain-HTTP client for the loopback admin endpoint. reqwest is built
/// without a default crypto provider: it gets a rustls config (ring) even
/// though it speaks no TLS here. No proxy: the request is for this computer.
fn http() -> Result<reqwest::Client, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_tell_absent_from_null() {
        let keep: AdminOp = serde_json::from_str(r#"{"op":"edit_meeting","meeting":"m"}"#).unwrap();
        let clear: AdminOp =
            serde_json::from_str(r#"{"op":"edit_meeting","meeting":"m","place":null}"#).unwrap();
        let set: AdminOp =
            serde_json::from_str(r#"{"op":"edit_meeting","meeting":"m","place":"Hội trường"}"#)
                .unwrap();
        let place = |op: &AdminOp| match op {
            AdminOp::EditMeeting { place, .. } => place.clone(),
            _ => unreachable!(),
        };
        assert_eq!(place(&keep), None);
        assert_eq!(place(&clear), Some(None));
        assert_eq!(place(&set), Some(Some("Hội trường".into())));
        for op in [keep, clear, set] {
            let back: AdminOp = serde_json::from_slice(&serde_json::to_vec(&op).unwrap()).unwrap();
            assert_eq!(back, op);
        }
    }

    #[test]
    fn requests_are_signed_fresh_and_taken_once() {
        let hub = SecretKey::from_seed([7; 32]);
        let other = SecretKey::from_seed([8; 32]);
        let op = AdminOp::RevokeDevice { device: "d".into() };
        let now = Timestamp(1_000_000);
        let req = AdminRequest::sign(op.clone(), now, &hub).unwrap();
        let body = req.open(&hub.public()).unwrap();
        assert_eq!(body.op, op);
        let mut replays = Replays::default();
        replays.take(&body, now).unwrap();
        assert_eq!(replays.take(&body, now), Err(AdminRefusal::Replayed));

        let forged = AdminRequest::sign(op.clone(), now, &other).unwrap();
        assert_eq!(forged.open(&hub.public()), Err(AdminRefusal::BadSignature));
        // Another body under a good signature.
        let mut tampered = req.clone();
        tampered.body = tampered.body.replace("\"d\"", "\"e\"");
        assert_eq!(
            tampered.open(&hub.public()),
            Err(AdminRefusal::BadSignature)
        );
        // Old: refused, and not remembered.
        let old = AdminRequest::sign(op, Timestamp(now.0 - FRESH_MS - 1), &hub).unwrap();
        let old = old.open(&hub.public()).unwrap();
        assert!(matches!(
            replays.take(&old, now),
            Err(AdminRefusal::Stale { .. })
        ));
        // A nonce is forgotten once its request would be stale anyway.
        let later = Timestamp(now.0 + FRESH_MS + 1);
        assert!(matches!(
            replays.take(&body, later),
            Err(AdminRefusal::Stale { .. })
        ));
        assert!(replays.seen.is_empty());
    }
}
