//! A hub's data folder and the secretariat's preparation of meetings.
//!
//! ```text
//! DIR/hub.db     SQLite: event logs + projections (phonghop-store)
//! DIR/hub.key    the hub's Ed25519 signing key (hex seed, mode 0600)
//! DIR/blobs/     papers and their analyses, content-addressed
//! ```
//!
//! Every change goes through [`Store::append`], so the reducer validates it
//! and the log records it; this module only turns a secretary's words
//! ("agenda item 2.1", "this PDF file") into events.

use crate::{new_id, HubError};
use phonghop_core::*;
use phonghop_pdf::Analysis;
use phonghop_store::{BlobStore, Store};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An open hub data folder.
#[derive(Debug)]
pub struct HubDir {
    root: PathBuf,
    store: Store,
    blobs: BlobStore,
    key: SecretKey,
}

/// A meeting to create.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    /// Id; generated when `None`.
    pub id: Option<String>,
    /// Body, e.g. "HĐND tỉnh Sơn Hà".
    pub body: String,
    /// Title.
    pub title: String,
    /// Planned start.
    pub starts_at: Option<Timestamp>,
    /// Place.
    pub place: Option<String>,
}

/// A person to register.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Id; generated when `None`.
    pub id: Option<String>,
    /// Full name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Constituency or unit.
    pub unit: Option<String>,
}

/// A paper to attach.
#[derive(Debug, Clone)]
pub struct NewPaper<'a> {
    /// The PDF file.
    pub file: &'a Path,
    /// Its import analysis (from `phonghop_pdf::analyze_isolated`).
    pub analysis: &'a Analysis,
    /// Agenda number it belongs to.
    pub item_number: Option<&'a str>,
    /// Title; defaults to the PDF's title, then the file name.
    pub title: Option<String>,
    /// Who may read it.
    pub confidentiality: Confidentiality,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> HubError + '_ {
    move |source| HubError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl HubDir {
    /// Creates a new hub in `dir`: database, signing key, blob folder.
    /// Refuses a folder that already holds one.
    pub fn init(dir: &Path) -> Result<HubDir, HubError> {
        if dir.join("hub.db").exists() || dir.join("hub.key").exists() {
            return Err(HubError::AlreadyInitialised(dir.to_path_buf()));
        }
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| HubError::BadKey {
            path: dir.join("hub.key"),
            reason: format!("no OS randomness to make a key: {e}"),
        })?;
        let key = SecretKey::from_seed(seed);
        write_key(&dir.join("hub.key"), &key)?;
        let mut store = Store::open(&dir.join("hub.db"))?;
        store.set_hub_key(&key.public())?;
        let blobs = BlobStore::open(&dir.join("blobs"))?;
        Ok(HubDir {
            root: dir.to_path_buf(),
            store,
            blobs,
            key,
        })
    }

    /// Opens an existing hub folder (verifying its logs).
    pub fn open(dir: &Path) -> Result<HubDir, HubError> {
        let db = dir.join("hub.db");
        if !db.is_file() {
            return Err(HubError::NotInitialised(dir.to_path_buf()));
        }
        let key = read_key(&dir.join("hub.key"))?;
        let store = Store::open(&db)?;
        match store.hub_key()? {
            Some(k) if k == key.public() => {}
            _ => return Err(HubError::BadKey {
                path: dir.join("hub.key"),
                reason:
                    "this key did not sign hub.db's log (key and database belong to different hubs)"
                        .into(),
            }),
        }
        let blobs = BlobStore::open(&dir.join("blobs"))?;
        Ok(HubDir {
            root: dir.to_path_buf(),
            store,
            blobs,
            key,
        })
    }

    /// The data folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store (read access).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The blob folder.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The hub's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public()
    }

    /// Appends events to a log, signed by this hub.
    pub fn append(&mut self, log: &LogId, events: &[Event]) -> Result<Vec<LogEntry>, HubError> {
        Ok(self.store.append(log, events, &self.key)?)
    }

    /// The meeting, or a clear error.
    pub fn meeting(&self, id: &str) -> Result<&reducer::MeetingState, HubError> {
        self.store
            .state()
            .meetings
            .get(&MeetingId::new(id))
            .ok_or_else(|| HubError::UnknownMeeting(id.to_string()))
    }

    /// Registers a person in the directory.
    pub fn add_person(&mut self, p: NewPerson) -> Result<PersonId, HubError> {
        let id = PersonId::new(p.id.unwrap_or_else(|| new_id("p")));
        let person = Person {
            id: id.clone(),
            name: p.name,
            title: p.title,
            unit: p.unit,
        };
        self.append(&LogId::Directory, &[Event::PersonAdded { person }])?;
        Ok(id)
    }

    /// Creates a meeting (draft).
    pub fn create_meeting(&mut self, m: NewMeeting, now: Timestamp) -> Result<MeetingId, HubError> {
        let id = MeetingId::new(m.id.unwrap_or_else(|| new_id("m")));
        let ev = Event::MeetingCreated {
            meeting: id.clone(),
            body: m.body,
            title: m.title,
            starts_at: m.starts_at,
            place: m.place,
            at: now,
        };
        self.append(&LogId::Meeting(id.clone()), &[ev])?;
        Ok(id)
    }

    /// Changes a meeting's body, title, planned start and place (all four
    /// are written; pass the current value to keep one).
    pub fn edit_meeting(&mut self, meeting: &str, m: NewMeeting) -> Result<(), HubError> {
        self.meeting(meeting)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::MeetingDetailsChanged {
                body: m.body,
                title: m.title,
                starts_at: m.starts_at,
                place: m.place,
            }],
        )?;
        Ok(())
    }

    /// Rewords agenda item `number` (title, presenter, planned minutes).
    pub fn edit_agenda_item(
        &mut self,
        meeting: &str,
        number: &str,
        title: &str,
        presenter: Option<String>,
        planned_minutes: Option<u32>,
    ) -> Result<AgendaItemId, HubError> {
        let item = self
            .meeting(meeting)?
            .item_by_number(number)
            .ok_or_else(|| HubError::UnknownItem {
                meeting: meeting.into(),
                number: number.into(),
            })?
            .id
            .clone();
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::AgendaItemEdited {
                item: item.clone(),
                title: title.trim().to_string(),
                presenter,
                planned_minutes,
            }],
        )?;
        Ok(item)
    }

    /// Moves agenda item `number` to `position` (1-based) among the
    /// children of `parent_number` (None: top level). Numbers follow from
    /// positions, so every item after it is renumbered by the move itself.
    pub fn move_agenda_item(
        &mut self,
        meeting: &str,
        number: &str,
        parent_number: Option<&str>,
        position: u32,
    ) -> Result<AgendaItemId, HubError> {
        let m = self.meeting(meeting)?;
        let unknown = |n: &str| HubError::UnknownItem {
            meeting: meeting.into(),
            number: n.into(),
        };
        let item = m
            .item_by_number(number)
            .ok_or_else(|| unknown(number))?
            .id
            .clone();
        let parent = match parent_number {
            Some(p) => Some(m.item_by_number(p).ok_or_else(|| unknown(p))?.id.clone()),
            None => None,
        };
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::AgendaItemMoved {
                item: item.clone(),
                parent,
                position,
            }],
        )?;
        Ok(item)
    }

    /// Adds a registered person to a meeting with a role.
    pub fn add_member(&mut self, meeting: &str, person: &str, role: Role) -> Result<(), HubError> {
        self.meeting(meeting)?;
        let p = self
            .store
            .state()
            .directory
            .persons
            .get(&PersonId::new(person))
            .ok_or_else(|| HubError::UnknownPerson(person.to_string()))?;
        let member = Member {
            person: p.id.clone(),
            name: p.name.clone(),
            title: p.title.clone(),
            role,
        };
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::MemberAdded { member }],
        )?;
        Ok(())
    }

    /// Adds agenda item `number` ("2", "2.1"): its parent must exist and the
    /// number must be the next free one among its siblings (or an existing
    /// position, which is refused as a duplicate).
    pub fn add_agenda_item(
        &mut self,
        meeting: &str,
        number: &str,
        title: &str,
        presenter: Option<String>,
        planned_minutes: Option<u32>,
    ) -> Result<AgendaItemId, HubError> {
        let parts = parse_number(number)?;
        let m = self.meeting(meeting)?;
        if let Some(existing) = m.item_by_number(number) {
            return Err(HubError::DuplicateNumber {
                meeting: meeting.into(),
                number: number.into(),
                title: existing.title.clone(),
            });
        }
        let (last, parent_parts) = parts
            .split_last()
            .ok_or_else(|| HubError::BadNumber(number.into()))?;
        let parent = if parent_parts.is_empty() {
            None
        } else {
            let pnum = join_number(parent_parts);
            let p = m
                .item_by_number(&pnum)
                .ok_or_else(|| HubError::NumberOutOfPlace {
                    meeting: meeting.into(),
                    number: number.into(),
                    reason: format!("there is no item {pnum} to put it under"),
                })?;
            Some(p.id.clone())
        };
        let siblings = m.children.get(&parent).map_or(0, Vec::len);
        if usize::try_from(*last).unwrap_or(usize::MAX) != siblings + 1 {
            let next = match parent_parts.is_empty() {
                true => format!("{}", siblings + 1),
                false => format!("{}.{}", join_number(parent_parts), siblings + 1),
            };
            return Err(HubError::NumberOutOfPlace {
                meeting: meeting.into(),
                number: number.into(),
                reason: format!("the next free number there is {next}"),
            });
        }
        let id = AgendaItemId::new(new_id("a"));
        let ev = Event::AgendaItemAdded {
            item: AgendaItem {
                id: id.clone(),
                parent,
                title: title.to_string(),
                presenter,
                planned_minutes,
            },
            position: *last,
        };
        self.append(&LogId::Meeting(MeetingId::new(meeting)), &[ev])?;
        Ok(id)
    }

    /// Stores a paper's bytes and analysis as blobs and records it in the
    /// meeting (as a new paper; see [`HubDir::add_version`] for updates).
    pub fn add_paper(
        &mut self,
        meeting: &str,
        paper: NewPaper<'_>,
        now: Timestamp,
    ) -> Result<DocumentId, HubError> {
        let m = self.meeting(meeting)?;
        let item = match paper.item_number {
            Some(n) => {
                parse_number(n)?;
                Some(
                    m.item_by_number(n)
                        .ok_or_else(|| HubError::UnknownItem {
                            meeting: meeting.into(),
                            number: n.into(),
                        })?
                        .id
                        .clone(),
                )
            }
            None => None,
        };
        let title = paper
            .title
            .clone()
            .or_else(|| paper.analysis.title().map(str::to_string))
            .unwrap_or_else(|| file_stem(&paper.analysis.file_name));
        let document = DocumentId::new(new_id("d"));
        let version = self.store_version(&paper, 1, now)?;
        self.index(meeting, &document, 1, paper.analysis)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[
                Event::DocumentAdded {
                    document: document.clone(),
                    item,
                    title,
                    confidentiality: paper.confidentiality,
                },
                Event::DocumentVersionAdded {
                    document: document.clone(),
                    version,
                },
            ],
        )?;
        Ok(document)
    }

    /// Gives a paper its proper title.
    pub fn retitle_paper(
        &mut self,
        meeting: &str,
        document: &DocumentId,
        title: &str,
    ) -> Result<(), HubError> {
        self.meeting(meeting)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::DocumentRetitled {
                document: document.clone(),
                title: title.trim().to_string(),
            }],
        )?;
        Ok(())
    }

    /// Records a new version of an existing paper.
    pub fn add_version(
        &mut self,
        meeting: &str,
        document: &DocumentId,
        paper: NewPaper<'_>,
        now: Timestamp,
    ) -> Result<u32, HubError> {
        let m = self.meeting(meeting)?;
        let next = m
            .documents
            .get(document)
            .map(|d| d.versions.len() as u32 + 1)
            .ok_or_else(|| {
                HubError::Store(phonghop_store::StoreError::Rejected(ReduceError::Missing {
                    what: "paper",
                    id: document.to_string(),
                }))
            })?;
        let version = self.store_version(&paper, next, now)?;
        self.index(meeting, document, next, paper.analysis)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::DocumentVersionAdded {
                document: document.clone(),
                version,
            }],
        )?;
        Ok(next)
    }

    /// Puts a version's page texts in the search index. Done before the
    /// events are appended: an index row for a version that then fails to
    /// append is harmless (never returned for an unknown paper) and is
    /// replaced on retry.
    fn index(
        &self,
        meeting: &str,
        document: &DocumentId,
        version: u32,
        a: &Analysis,
    ) -> Result<(), HubError> {
        let texts: Vec<&str> = a.pages.iter().map(|p| p.text.as_str()).collect();
        phonghop_store::search::index_pages(
            self.store.conn(),
            &MeetingId::new(meeting),
            document,
            version,
            &texts,
        )
        .map_err(|source| {
            HubError::Store(phonghop_store::StoreError::Sqlite {
                path: self.root.join("hub.db"),
                source,
            })
        })
    }

    fn store_version(
        &self,
        paper: &NewPaper<'_>,
        version: u32,
        now: Timestamp,
    ) -> Result<DocumentVersion, HubError> {
        let (sha256, size) = self.blobs.put_file(paper.file)?;
        let json = serde_json::to_vec(paper.analysis).map_err(|e| HubError::Io {
            path: paper.file.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        let analysis = self.blobs.put_bytes(&json)?;
        Ok(DocumentVersion {
            version,
            sha256,
            size,
            pages: Some(paper.analysis.page_count),
            file_name: paper.analysis.file_name.clone(),
            added_at: now,
            analysis: Some(analysis),
        })
    }

    /// Draft → published.
    pub fn publish(&mut self, meeting: &str, now: Timestamp) -> Result<(), HubError> {
        self.meeting(meeting)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::MeetingPublished { at: now }],
        )?;
        Ok(())
    }
}

/// Why pairing was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairRefusal {
    /// No such code.
    Unknown,
    /// Already used by a device.
    Used,
    /// Past its expiry.
    Expired,
}

/// A paper's title when the PDF has none: its file name without ".pdf".
fn file_stem(name: &str) -> String {
    let n = name.len();
    match name.get(n.saturating_sub(4)..) {
        Some(ext) if n > 4 && ext.eq_ignore_ascii_case(".pdf") => name[..n - 4].to_string(),
        _ => name.to_string(),
    }
}

fn code_hash(code: &str) -> String {
    Hash::of(code.trim().to_ascii_uppercase().as_bytes()).to_hex()
}

impl HubDir {
    /// Creates a one-time invite code for `person`, valid for `ttl_ms`.
    /// Only its hash is stored.
    pub fn create_invite(
        &mut self,
        person: &str,
        ttl_ms: i64,
        now: Timestamp,
    ) -> Result<String, HubError> {
        if !self
            .store
            .state()
            .directory
            .persons
            .contains_key(&PersonId::new(person))
        {
            return Err(HubError::UnknownPerson(person.to_string()));
        }
        let raw = new_id("x");
        let letters: String = raw[2..]
            .to_ascii_uppercase()
            .chars()
            .chain("ABCD".chars())
            .take(12)
            .collect();
        let code = format!("{}-{}-{}", &letters[..4], &letters[4..8], &letters[8..12]);
        self.store
            .conn()
            .execute(
                "INSERT INTO invites (code_hash, person, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                phonghop_store::rusqlite::params![code_hash(&code), person, now.0, now.0 + ttl_ms],
            )
            .map_err(|source| self.sqlite(source))?;
        Ok(code)
    }

    fn sqlite(&self, source: phonghop_store::rusqlite::Error) -> HubError {
        HubError::Store(phonghop_store::StoreError::Sqlite {
            path: self.root.join("hub.db"),
            source,
        })
    }

    /// Pairs a device: checks the code, registers the key for the invited
    /// person and marks the code used, in one transaction.
    pub fn pair(
        &mut self,
        code: &str,
        public_key: PublicKey,
        label: &str,
        now: Timestamp,
    ) -> Result<Result<Device, PairRefusal>, HubError> {
        use phonghop_store::rusqlite::{params, OptionalExtension};
        let hash = code_hash(code);
        let row: Option<(String, i64, Option<i64>)> = self
            .store
            .conn()
            .query_row(
                "SELECT person, expires_at, used_at FROM invites WHERE code_hash = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        let Some((person, expires_at, used_at)) = row else {
            return Ok(Err(PairRefusal::Unknown));
        };
        if used_at.is_some() {
            return Ok(Err(PairRefusal::Used));
        }
        if now.0 > expires_at {
            return Ok(Err(PairRefusal::Expired));
        }
        let device = Device {
            id: DeviceId::new(new_id("dev")),
            person: PersonId::new(person),
            public_key,
            label: label.chars().take(80).collect(),
            paired_at: now,
            revoked_at: None,
        };
        let id = device.id.clone();
        self.store.append_with(
            &LogId::Directory,
            &[Event::DeviceRegistered {
                device: device.clone(),
            }],
            &self.key,
            |tx, _| {
                tx.execute(
                    "UPDATE invites SET used_at = ?1, device = ?2 WHERE code_hash = ?3",
                    params![now.0, id.as_str(), hash],
                )
                .map(|_| ())
            },
        )?;
        Ok(Ok(device))
    }

    /// Revokes a device: refused from now on; it wipes its cache on contact.
    pub fn revoke_device(&mut self, device: &str, now: Timestamp) -> Result<(), HubError> {
        self.append(
            &LogId::Directory,
            &[Event::DeviceRevoked {
                device: DeviceId::new(device),
                at: now,
            }],
        )?;
        Ok(())
    }

    /// Picks up entries another process (the CLI) appended to hub.db since
    /// we last looked; returns them so a server can push them live.
    pub fn refresh(&mut self) -> Result<Vec<LogEntry>, HubError> {
        Ok(self.store.refresh()?)
    }

    /// Signs with the hub key (appends through the store).
    pub fn append_with(
        &mut self,
        log: &LogId,
        events: &[Event],
        extra: impl FnOnce(
            &phonghop_store::rusqlite::Transaction<'_>,
            &[LogEntry],
        ) -> phonghop_store::rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, HubError> {
        Ok(self.store.append_with(log, events, &self.key, extra)?)
    }
}

impl HubDir {
    /// The meeting's full record for an offline audit.
    pub fn export(&self, meeting: &str) -> Result<phonghop_core::audit::MeetingExport, HubError> {
        self.meeting(meeting)?;
        Ok(phonghop_core::audit::MeetingExport {
            format: phonghop_core::audit::EXPORT_FORMAT.into(),
            hub_key: self.public_key(),
            meeting: MeetingId::new(meeting),
            directory: self.store.entries(&LogId::Directory, 0)?,
            entries: self
                .store
                .entries(&LogId::Meeting(MeetingId::new(meeting)), 0)?,
        })
    }

    /// The events that close `poll` at `now`: a secret poll's sealed
    /// ballots first — no voter, in option order, all timed at the close
    /// (the deadline, if that came first) — then `PollClosed`. While the
    /// poll was open only its turnout (who voted) was published; nothing
    /// in the log pairs a choice with a turnout entry. Append them with
    /// [`HubDir::unseal`] in the same transaction.
    pub fn closing_events(
        &self,
        meeting: &MeetingId,
        poll: &PollId,
        now: Timestamp,
    ) -> Result<Vec<Event>, HubError> {
        let p = self
            .store
            .state()
            .meetings
            .get(meeting)
            .and_then(|m| m.polls.get(poll));
        let mut events = Vec::new();
        if let Some(p) = p.filter(|p| p.secret) {
            let at = p.closes_at.map_or(now, |d| d.min(now));
            let sqlite = |source| {
                HubError::Store(phonghop_store::StoreError::Sqlite {
                    path: self.root.join("hub.db"),
                    source,
                })
            };
            let mut q = self
                .store
                .conn()
                .prepare(
                    "SELECT choice FROM sealed_ballots WHERE meeting = ?1 AND poll = ?2 \
                     ORDER BY choice",
                )
                .map_err(sqlite)?;
            let choices = q
                .query_map([meeting.as_str(), poll.as_str()], |r| r.get::<_, u32>(0))
                .map_err(sqlite)?
                .collect::<Result<Vec<u32>, _>>()
                .map_err(sqlite)?;
            events.extend(choices.into_iter().map(|choice| Event::BallotCast {
                poll: poll.clone(),
                voter: None,
                choice,
                at,
                proof: None,
            }));
        }
        events.push(Event::PollClosed {
            poll: poll.clone(),
            at: now,
        });
        Ok(events)
    }

    /// Seals a secret ballot's choice until its poll closes (inside the
    /// transaction that records the voter's turnout).
    pub fn seal(
        tx: &phonghop_store::rusqlite::Transaction<'_>,
        meeting: &MeetingId,
        poll: &PollId,
        choice: u32,
    ) -> phonghop_store::rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO sealed_ballots (meeting, poll, choice) VALUES (?1, ?2, ?3)",
            phonghop_store::rusqlite::params![meeting.as_str(), poll.as_str(), choice],
        )
        .map(|_| ())
    }

    /// Forgets a closed poll's sealed ballots, now in the log (inside the
    /// transaction that appends [`HubDir::closing_events`]).
    pub fn unseal(
        tx: &phonghop_store::rusqlite::Transaction<'_>,
        meeting: &MeetingId,
        poll: &PollId,
    ) -> phonghop_store::rusqlite::Result<()> {
        tx.execute(
            "DELETE FROM sealed_ballots WHERE meeting = ?1 AND poll = ?2",
            [meeting.as_str(), poll.as_str()],
        )
        .map(|_| ())
    }

    /// Closes every open poll whose deadline has passed; returns the new
    /// entries.
    pub fn close_overdue_polls(&mut self, now: Timestamp) -> Result<Vec<LogEntry>, HubError> {
        let due: Vec<(MeetingId, PollId)> = self
            .store
            .state()
            .meetings
            .values()
            .flat_map(|m| {
                m.polls
                    .values()
                    .filter(move |p| {
                        p.status == PollStatus::Open && p.closes_at.is_some_and(|t| t <= now)
                    })
                    .map(move |p| (m.id.clone(), p.id.clone()))
            })
            .collect();
        let mut out = Vec::new();
        for (m, poll) in due {
            let events = self.closing_events(&m, &poll, now)?;
            out.extend(
                self.append_with(&LogId::Meeting(m.clone()), &events, |tx, _| {
                    HubDir::unseal(tx, &m, &poll)
                })?,
            );
        }
        Ok(out)
    }
}

/// "2.1" → [2, 1]; refuses "", "0", "2.", "a".
fn parse_number(n: &str) -> Result<Vec<u32>, HubError> {
    let bad = || HubError::BadNumber(n.to_string());
    let parts: Result<Vec<u32>, _> = n.split('.').map(|p| p.parse::<u32>()).collect();
    let parts = parts.map_err(|_| bad())?;
    if parts.is_empty() || parts.contains(&0) || parts.len() > 6 {
        return Err(bad());
    }
    Ok(parts)
}

fn join_number(parts: &[u32]) -> String {
    parts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn write_key(path: &Path, key: &SecretKey) -> Result<(), HubError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(hex::encode(key.to_seed()).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(path))
}

fn read_key(path: &Path) -> Result<SecretKey, HubError> {
    let text = fs::read_to_string(path).map_err(|e| HubError::BadKey {
        path: path.to_path_buf(),
        reason: format!("cannot read it ({e})"),
    })?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| HubError::BadKey {
        path: path.to_path_buf(),
        reason: "not 64 hex digits".into(),
    })?;
    Ok(SecretKey::from_seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agenda_numbers_are_checked() {
        assert_eq!(parse_number("2.1").unwrap(), vec![2, 1]);
        for bad in ["", "0", "2.", "a", "1..2", "-1"] {
            assert!(parse_number(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn agenda_by_number_refuses_duplicates_and_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let mut hub = HubDir::init(&dir.path().join("hub")).unwrap();
        let m = hub
            .create_meeting(
                NewMeeting {
                    id: Some("kh12".into()),
                    body: "HĐND tỉnh Sơn Hà".into(),
                    title: "Kỳ họp thứ mười hai".into(),
                    starts_at: None,
                    place: None,
                },
                Timestamp(0),
            )
            .unwrap();
        hub.add_agenda_item(m.as_str(), "1", "Khai mạc", None, Some(15))
            .unwrap();
        hub.add_agenda_item(m.as_str(), "2", "Nghị quyết", None, None)
            .unwrap();
        hub.add_agenda_item(m.as_str(), "2.1", "Tờ trình", None, None)
            .unwrap();
        let dup = hub
            .add_agenda_item(m.as_str(), "2.1", "Lặp", None, None)
            .unwrap_err();
        assert_eq!(dup.code(), "duplicate_number", "{dup}");
        let gap = hub
            .add_agenda_item(m.as_str(), "4", "Nhảy số", None, None)
            .unwrap_err();
        assert!(
            gap.to_string().contains("next free number there is 3"),
            "{gap}"
        );
        let orphan = hub
            .add_agenda_item(m.as_str(), "5.1", "Mồ côi", None, None)
            .unwrap_err();
        assert_eq!(orphan.code(), "number_out_of_place");
        let unknown = hub
            .add_agenda_item("nope", "1", "x", None, None)
            .unwrap_err();
        assert_eq!(unknown.code(), "unknown_meeting");
        // Reopening the folder gives the same agenda.
        let before = hub.store().dump_projection().unwrap();
        let root = hub.root().to_path_buf();
        drop(hub);
        let again = HubDir::open(&root).unwrap();
        assert_eq!(again.store().dump_projection().unwrap(), before);
        assert_eq!(
            HubDir::init(&root).unwrap_err().code(),
            "already_initialised"
        );
    }
}
