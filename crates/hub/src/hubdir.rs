//! A hub's data folder and the secretariat's preparation of meetings.
//!
//! ```text
//! DIR/hub.db     SQLite: event logs + projections (phonghop-store)
//! DIR/hub.key    the hub's Ed25519 signing key (hex seed, mode 0600)
//! DIR/blobs/     papers and their analyses, content-addressed
//! DIR/hub.lock   held by the folder's one writer (see below)
//! ```
//!
//! Every change goes through [`Store::append`], so the reducer validates it
//! and the log records it; this module only turns a secretary's words
//! ("agenda item 2.1", "this PDF file") into events.
//!
//! **One writer.** [`HubDir::open`] and [`HubDir::init`] take the folder's
//! exclusive lock: a second writer — another `phonghop` command, a second
//! hub, the app — is refused with [`HubError::Busy`], naming the holder.
//! While a hub runs it is the writer, and the others send it their writes
//! ([`crate::admin`]). [`HubDir::open_read_only`] reads (and verifies)
//! without the lock and refuses every write.
//!
//! Every append is also kept for [`HubDir::take_appended`], so the server
//! publishes to devices exactly what each operation appended.

use crate::lock::WriterLock;
use crate::{new_id, HubError};
use phonghop_core::text::heading_title;
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
    /// The folder's writer lock; `None` for a read-only view.
    writer: Option<WriterLock>,
    /// What was appended since [`HubDir::take_appended`] last took it.
    appended: Vec<LogEntry>,
    /// The writer's SQLite `data_version` at open: it moves only when
    /// another connection commits ([`HubDir::check_sole_writer`]).
    data_version: Option<i64>,
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
    /// Title; defaults to the PDF's title, then its first heading, then
    /// the file name.
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
    /// Creates a new hub in `dir`: database, signing key, blob folder; the
    /// new hub is open for writing. Refuses a folder that already holds one.
    pub fn init(dir: &Path) -> Result<HubDir, HubError> {
        if dir.join("hub.db").exists() || dir.join("hub.key").exists() {
            return Err(HubError::AlreadyInitialised(dir.to_path_buf()));
        }
        phonghop_fs::restrict(dir).map_err(io(dir))?;
        let writer = WriterLock::try_take(dir)?.ok_or_else(|| crate::lock::busy(dir))?;
        if dir.join("hub.db").exists() || dir.join("hub.key").exists() {
            return Err(HubError::AlreadyInitialised(dir.to_path_buf()));
        }
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
        HubDir {
            root: dir.to_path_buf(),
            store,
            blobs,
            key,
            writer: Some(writer),
            appended: Vec::new(),
            data_version: None,
        }
        .watching()
    }

    /// Opens an existing hub folder for writing (verifying its logs): takes
    /// the folder's lock, or refuses at once with [`HubError::Busy`] naming
    /// who holds it and what to do.
    pub fn open(dir: &Path) -> Result<HubDir, HubError> {
        HubDir::open_writer(dir, std::time::Duration::ZERO)
    }

    /// [`HubDir::open`], waiting up to `wait` for a writer that is about to
    /// finish (never for a hub of another process serving the folder).
    pub(crate) fn open_writer(dir: &Path, wait: std::time::Duration) -> Result<HubDir, HubError> {
        if !dir.join("hub.db").is_file() {
            return Err(HubError::NotInitialised(dir.to_path_buf()));
        }
        // A folder made by an older version, or by hand: private now.
        phonghop_fs::restrict(dir).map_err(io(dir))?;
        let writer = WriterLock::take(dir, wait)?;
        let mut hub = HubDir::open_read_only(dir)?;
        hub.writer = Some(writer);
        hub.watching()
    }

    /// Notes the writer's `data_version`, for [`HubDir::check_sole_writer`].
    fn watching(mut self) -> Result<HubDir, HubError> {
        self.data_version = Some(self.data_version_now()?);
        Ok(self)
    }

    fn data_version_now(&self) -> Result<i64, HubError> {
        self.store
            .conn()
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(|e| self.sqlite(e))
    }

    /// Whether this writer is still hub.db's only one: nobody else
    /// committed to it since it was opened (a script, or a program that
    /// ignores the folder's lock). One pragma, no replay. A read-only view
    /// has nothing to check.
    pub fn check_sole_writer(&self) -> Result<(), HubError> {
        match self.data_version {
            Some(seen) if self.data_version_now()? != seen => {
                Err(HubError::WrittenBeside(self.root.clone()))
            }
            _ => Ok(()),
        }
    }

    /// Opens an existing hub folder to read it, whoever writes it (a
    /// running hub included): replays and verifies its logs like
    /// [`HubDir::open`], takes no lock, and refuses every write with
    /// [`HubError::ReadOnly`]. [`HubDir::refresh`] catches up with what the
    /// writer committed since.
    pub fn open_read_only(dir: &Path) -> Result<HubDir, HubError> {
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
            writer: None,
            appended: Vec::new(),
            data_version: None,
        })
    }

    /// Whether this is the folder's writer (not a read-only view).
    pub fn is_writer(&self) -> bool {
        self.writer.is_some()
    }

    fn writable(&self) -> Result<(), HubError> {
        match self.writer {
            Some(_) => Ok(()),
            None => Err(HubError::ReadOnly(self.root.clone())),
        }
    }

    /// Everything appended since the last call, in append order. The
    /// server takes it after every operation on the hub and publishes
    /// exactly that to the live fan-out. (A [`HubDir::group`] commit
    /// returns what it appended to its caller instead.)
    pub fn take_appended(&mut self) -> Vec<LogEntry> {
        std::mem::take(&mut self.appended)
    }

    /// What was appended and not taken yet.
    pub fn appended(&self) -> &[LogEntry] {
        &self.appended
    }

    /// The data folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder the secretary may save a meeting's PDFs into (the inbox
    /// watcher attaches them): `inbox/<meeting>` under the hub folder.
    pub fn inbox(&self, meeting: &str) -> PathBuf {
        inbox_root(&self.root).join(meeting)
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
        self.append_with(log, events, |_, _| Ok(()))
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
        let mut ids = self.add_people(vec![p])?;
        Ok(ids.remove(0))
    }

    /// Registers several people in one transaction: all of them, or none.
    pub fn add_people(&mut self, people: Vec<NewPerson>) -> Result<Vec<PersonId>, HubError> {
        let mut ids = Vec::with_capacity(people.len());
        let events: Vec<Event> = people
            .into_iter()
            .map(|p| {
                let id = PersonId::new(p.id.unwrap_or_else(|| new_id("p")));
                ids.push(id.clone());
                Event::PersonAdded {
                    person: Person {
                        id,
                        name: p.name,
                        title: p.title,
                        unit: p.unit,
                    },
                }
            })
            .collect();
        if !events.is_empty() {
            self.append(&LogId::Directory, &events)?;
        }
        Ok(ids)
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

    /// Sets a meeting's quorum and its rule for ballots from members not
    /// checked in (before the session opens).
    pub fn set_meeting_rules(
        &mut self,
        meeting: &str,
        rules: MeetingRules,
    ) -> Result<(), HubError> {
        self.meeting(meeting)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::MeetingRulesSet { rules }],
        )?;
        Ok(())
    }

    /// Sets how long devices keep the meeting's pack (any time).
    pub fn set_retention(
        &mut self,
        meeting: &str,
        retention: phonghop_core::Retention,
    ) -> Result<(), HubError> {
        self.meeting(meeting)?;
        self.append(
            &LogId::Meeting(MeetingId::new(meeting)),
            &[Event::RetentionSet { retention }],
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
            .or_else(|| heading_title(&paper.analysis.first_lines(24), 160))
            .unwrap_or_else(|| file_stem(&paper.analysis.file_name));
        self.writable()?;
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
        self.writable()?;
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
    /// Cancelled by the secretariat (`phonghop invite cancel`).
    Cancelled,
}

/// A paper's title when the PDF has none: its file name without ".pdf".
fn file_stem(name: &str) -> String {
    let n = name.len();
    match name.get(n.saturating_sub(4)..) {
        Some(ext) if n > 4 && ext.eq_ignore_ascii_case(".pdf") => name[..n - 4].to_string(),
        _ => name.to_string(),
    }
}

/// How long an invite stays valid unless the secretariat says otherwise.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 3_600_000;

use phonghop_core::invite::{code_hash, CODE_SYMBOLS, CROCKFORD};

/// An invite code as typed, reduced to its 16 symbols (see
/// [`phonghop_core::invite::canonical_code`]).
pub use phonghop_core::invite::canonical_code as canonical_invite_code;

/// A new invite code: 80 bits from the OS, as four groups of four Crockford
/// symbols (`7K3M-Q9XA-H2PD-WR5T`). No fallback without OS entropy: a
/// guessable code would let anyone on the network pair as that person.
fn new_invite_code() -> Result<String, HubError> {
    let mut bytes = [0u8; CODE_SYMBOLS * 5 / 8];
    getrandom::getrandom(&mut bytes).map_err(|e| HubError::Io {
        path: PathBuf::from("/dev/urandom"),
        source: std::io::Error::other(format!("no randomness for an invite code: {e}")),
    })?;
    let bits = bytes.iter().fold(0u128, |acc, b| acc << 8 | u128::from(*b));
    let mut code = String::with_capacity(CODE_SYMBOLS + 3);
    for i in 0..CODE_SYMBOLS {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let shift = 5 * (CODE_SYMBOLS - 1 - i);
        code.push(char::from(CROCKFORD[((bits >> shift) & 31) as usize]));
    }
    Ok(code)
}

/// The stored hash of the live invite (not used, cancelled or expired)
/// whose [`phonghop_core::invite::invite_tag`] is `tag`, for binding a
/// short code to this hub's certificate; reads only, like
/// [`invite_state`].
pub fn live_invite_by_tag(
    conn: &phonghop_store::rusqlite::Connection,
    tag: &str,
    now: Timestamp,
) -> phonghop_store::rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT code_hash FROM invites WHERE used_at IS NULL AND expires_at > ?1",
    )?;
    let hashes = stmt
        .query_map([now.0], |r| r.get::<_, String>(0))?
        .collect::<phonghop_store::rusqlite::Result<Vec<_>>>()?;
    Ok(hashes
        .into_iter()
        .find(|h| phonghop_core::invite::invite_tag(h) == tag))
}

/// Whether `code` can still pair a device, and for whom; reads only. The
/// server asks this on a connection of its own before it takes the hub
/// lock, so a flood of wrong codes never waits for (or holds up) the hub.
///
/// A cancelled invite is one ended without a device (`used_at` set,
/// `device` empty): the invites table needs no new column for it.
pub fn invite_state(
    conn: &phonghop_store::rusqlite::Connection,
    code: &str,
    now: Timestamp,
) -> phonghop_store::rusqlite::Result<Result<PersonId, PairRefusal>> {
    use phonghop_store::rusqlite::{params, OptionalExtension};
    let Some(canonical) = canonical_invite_code(code) else {
        return Ok(Err(PairRefusal::Unknown));
    };
    let row: Option<(String, i64, Option<i64>, Option<String>)> = conn
        .query_row(
            "SELECT person, expires_at, used_at, device FROM invites WHERE code_hash = ?1",
            params![code_hash(&canonical)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(match row {
        None => Err(PairRefusal::Unknown),
        Some((_, _, Some(_), None)) => Err(PairRefusal::Cancelled),
        Some((_, _, Some(_), Some(_))) => Err(PairRefusal::Used),
        Some((_, expires_at, None, _)) if now.0 > expires_at => Err(PairRefusal::Expired),
        Some((person, _, None, _)) => Ok(PersonId::new(person)),
    })
}

impl HubDir {
    /// Creates a one-time invite code for `person`, valid for `ttl_ms`
    /// ([`INVITE_TTL_MS`] unless the secretariat says otherwise). Only its
    /// hash is stored.
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
        self.writable()?;
        let code = new_invite_code()?;
        let canonical = canonical_invite_code(&code).unwrap_or_default();
        self.store
            .conn()
            .execute(
                "INSERT INTO invites (code_hash, person, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                phonghop_store::rusqlite::params![code_hash(&canonical), person, now.0, now.0.saturating_add(ttl_ms)],
            )
            .map_err(|source| self.sqlite(source))?;
        Ok(code)
    }

    /// Cancels invites that have not paired a device yet: every one of a
    /// person (`what` is a person id) or one code. Returns how many.
    pub fn cancel_invites(&mut self, what: &str, now: Timestamp) -> Result<usize, HubError> {
        use phonghop_store::rusqlite::params;
        self.writable()?;
        let is_person = self
            .store
            .state()
            .directory
            .persons
            .contains_key(&PersonId::new(what));
        let changed = if is_person {
            self.store.conn().execute(
                "UPDATE invites SET used_at = ?1 WHERE person = ?2 AND used_at IS NULL",
                params![now.0, what],
            )
        } else {
            let canonical =
                canonical_invite_code(what).ok_or_else(|| HubError::UnknownInvite(what.into()))?;
            self.store.conn().execute(
                "UPDATE invites SET used_at = ?1 WHERE code_hash = ?2 AND used_at IS NULL",
                params![now.0, code_hash(&canonical)],
            )
        };
        let n = changed.map_err(|source| self.sqlite(source))?;
        if n == 0 && !is_person {
            return Err(HubError::UnknownInvite(what.into()));
        }
        Ok(n)
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
        use phonghop_store::rusqlite::params;
        self.writable()?;
        let person = match invite_state(self.store.conn(), code, now) {
            Ok(Ok(person)) => person,
            Ok(Err(refusal)) => return Ok(Err(refusal)),
            Err(e) => return Err(self.sqlite(e)),
        };
        let hash = code_hash(&canonical_invite_code(code).unwrap_or_default());
        let device = Device {
            id: DeviceId::new(new_id("dev")),
            person,
            public_key,
            label: label.chars().take(80).collect(),
            paired_at: now,
            revoked_at: None,
        };
        let id = device.id.clone();
        self.append_with(
            &LogId::Directory,
            &[Event::DeviceRegistered {
                device: device.clone(),
            }],
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

    /// Revokes a device: refused from now on. The running hub (the one
    /// writer: this runs in it) tells the device's live sockets when it
    /// publishes the entry and closes them; the device wipes everything of
    /// this hub.
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

    /// A read-only view catches up with what the folder's writer committed
    /// since it last looked; returns those entries. The writer itself has
    /// nothing to catch up with (nobody else writes its folder).
    pub fn refresh(&mut self) -> Result<Vec<LogEntry>, HubError> {
        if self.is_writer() {
            return Ok(Vec::new());
        }
        Ok(self.store.refresh()?)
    }

    /// Signs with the hub key (appends through the store).
    pub fn append_with(
        &mut self,
        log: &LogId,
        events: &[Event],
        extra: impl FnOnce(
            &phonghop_store::rusqlite::Connection,
            &[LogEntry],
        ) -> phonghop_store::rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, HubError> {
        let ops: Vec<(&LogId, &Event)> = events.iter().map(|e| (log, e)).collect();
        self.append_across(&ops, extra)
    }

    /// Appends to several logs in one transaction, in the given order (see
    /// [`phonghop_store::Store::append_across`]).
    pub fn append_across(
        &mut self,
        ops: &[(&LogId, &Event)],
        extra: impl FnOnce(
            &phonghop_store::rusqlite::Connection,
            &[LogEntry],
        ) -> phonghop_store::rusqlite::Result<()>,
    ) -> Result<Vec<LogEntry>, HubError> {
        self.writable()?;
        let entries = self.store.append_across(ops, &self.key, extra)?;
        self.appended.extend_from_slice(&entries);
        Ok(entries)
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

    /// The events that close `poll` (see [`closing_events`]).
    pub fn closing_events(
        &self,
        meeting: &MeetingId,
        poll: &PollId,
        now: Timestamp,
    ) -> Result<Vec<Event>, HubError> {
        closing_events(
            self.store.state(),
            self.store.conn(),
            &self.key,
            meeting,
            poll,
            now,
        )
        .map_err(|source| {
            HubError::Store(phonghop_store::StoreError::Sqlite {
                path: self.root.join("hub.db"),
                source,
            })
        })
    }

    /// Runs `f` in one group commit of the hub's store
    /// ([`phonghop_store::Store::group`]), with the hub key for sealing.
    pub fn group<T>(
        &mut self,
        f: impl FnOnce(&mut phonghop_store::Group<'_>, &SecretKey) -> T,
    ) -> Result<T, HubError> {
        self.writable()?;
        let key = &self.key;
        Ok(self.store.group(|g| f(g, key))?)
    }

    /// Seals a secret ballot's choice until its poll (of `options`
    /// options) closes, inside the transaction that records the voter's
    /// turnout: one encrypted tally per poll ([`crate::sealed`]), never a
    /// row per ballot.
    pub fn seal(
        tx: &phonghop_store::rusqlite::Connection,
        hub: &SecretKey,
        meeting: &MeetingId,
        poll: &PollId,
        options: usize,
        choice: u32,
    ) -> phonghop_store::rusqlite::Result<()> {
        crate::sealed::add(tx, hub, meeting, poll, options, choice)
    }

    /// Forgets a closed poll's sealed choices, now in the log (inside the
    /// transaction that appends [`HubDir::closing_events`]). After that
    /// transaction, [`HubDir::forget_history`] clears the WAL of them.
    pub fn unseal(
        tx: &phonghop_store::rusqlite::Connection,
        meeting: &MeetingId,
        poll: &PollId,
    ) -> phonghop_store::rusqlite::Result<()> {
        crate::sealed::remove(tx, meeting, poll)
    }

    /// Checkpoints the database and truncates its WAL: earlier versions of
    /// rows (a closed secret poll's sealed tally) stay neither in the WAL
    /// nor, with `secure_delete`, in free pages. Best effort: a reader
    /// holding an old snapshot makes SQLite keep the WAL for now (logged).
    pub fn forget_history(&self) {
        let conn = self.store.conn();
        let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        });
        if !matches!(done, Ok(0)) {
            tracing::warn!(result = ?done, "the WAL could not be truncated after a secret poll closed; it will be at the next checkpoint");
        }
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
            self.forget_history();
        }
        Ok(out)
    }
}

/// The events that close `poll` at `now`: a secret poll's sealed ballots
/// first — no voter, in option order, all timed at the close (the
/// deadline, if that came first) — then `PollClosed`. While the poll was
/// open only its turnout (who voted) was published; nothing in the log
/// pairs a choice with a turnout entry. Append them with
/// [`HubDir::unseal`] in the same transaction. The sealed choices are read
/// through `conn`: inside a group commit, the group's own connection, so
/// ballots sealed earlier in the same group are counted.
pub fn closing_events(
    state: &phonghop_core::State,
    conn: &phonghop_store::rusqlite::Connection,
    hub: &SecretKey,
    meeting: &MeetingId,
    poll: &PollId,
    now: Timestamp,
) -> Result<Vec<Event>, phonghop_store::rusqlite::Error> {
    let p = state.meetings.get(meeting).and_then(|m| m.polls.get(poll));
    let mut events = Vec::new();
    if let Some(p) = p.filter(|p| p.secret) {
        let at = p.closes_at.map_or(now, |d| d.min(now));
        // The sealed tally, plus any per-ballot rows an older version left.
        let mut counts = crate::sealed::read(conn, hub, meeting, poll)?.unwrap_or_default();
        let mut q = conn
            .prepare_cached("SELECT choice FROM sealed_ballots WHERE meeting = ?1 AND poll = ?2")?;
        for choice in q.query_map([meeting.as_str(), poll.as_str()], |r| r.get::<_, u32>(0))? {
            let c = choice? as usize;
            if c < p.options.len() {
                counts.resize(counts.len().max(c + 1), 0);
                counts[c] += 1;
            }
        }
        let choices = counts
            .iter()
            .enumerate()
            .flat_map(|(c, n)| std::iter::repeat_n(c as u32, *n as usize));
        events.extend(choices.map(|choice| Event::BallotCast {
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
    let mut f = phonghop_fs::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io(path))?;
    f.write_all(hex::encode(key.to_seed()).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(path))
}

pub(crate) fn read_key(path: &Path) -> Result<SecretKey, HubError> {
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

/// The inbox folder of the hub folder `data`: one folder per meeting in it.
pub fn inbox_root(data: &Path) -> PathBuf {
    data.join("inbox")
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

    /// A new hub folder under `dir` with one meeting, "kh12".
    fn hub_with_meeting(dir: &Path) -> (HubDir, MeetingId) {
        let mut hub = HubDir::init(&dir.join("hub")).unwrap();
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
        (hub, m)
    }

    #[test]
    fn a_paper_without_a_title_is_named_by_its_first_heading() {
        let dir = tempfile::tempdir().unwrap();
        let (mut hub, m) = hub_with_meeting(dir.path());
        // Typeset by PDFium: a heading line, paragraphs, no /Title.
        let pdf = dir.path().join("tt-45.pdf");
        let font = phonghop_pdf::find_font().unwrap();
        let heading = "Tờ trình về phân bổ vốn đầu tư công năm 2026";
        let paras = vec!["Điều 1. Hội đồng nhân dân tỉnh xem xét, quyết định.".to_string()];
        phonghop_pdf::render_text_pdf(heading, &paras, &font, &pdf).unwrap();
        let analysis = phonghop_pdf::analyze(&pdf).unwrap();
        assert_eq!(analysis.title(), None, "the fixture has no /Title");
        let doc = hub
            .add_paper(
                m.as_str(),
                NewPaper {
                    file: &pdf,
                    analysis: &analysis,
                    item_number: None,
                    title: None,
                    confidentiality: Confidentiality::Members,
                },
                Timestamp(1),
            )
            .unwrap();
        let title = &hub.meeting(m.as_str()).unwrap().documents[&doc].title;
        assert_eq!(title, heading, "not the file name");
    }

    #[test]
    fn agenda_by_number_refuses_duplicates_and_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let (mut hub, m) = hub_with_meeting(dir.path());
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
