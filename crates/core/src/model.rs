//! The meeting model: what the reducer builds from events. These are plain
//! data; rules about how they change live in [`crate::reducer`].

use crate::ids::*;
use crate::vote::{MajorityRule, Outcome};
use crate::{Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A council or committee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    /// Id.
    pub id: BodyId,
    /// E.g. "HĐND tỉnh Yên Bái".
    pub name: String,
}

/// A person known to the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Id.
    pub id: PersonId,
    /// Full name, e.g. "Nguyễn Văn A".
    pub name: String,
    /// Title, e.g. "Phó Chủ tịch UBND huyện".
    pub title: Option<String>,
    /// Constituency or unit.
    pub unit: Option<String>,
}

/// A role in a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Prepares the meeting.
    Secretariat,
    /// Runs the session; votes as a delegate.
    Chair,
    /// Votes.
    Delegate,
    /// Reads, does not vote.
    Observer,
}

impl Role {
    /// Whether this role votes and counts in "all members".
    pub fn votes(self) -> bool {
        matches!(self, Role::Chair | Role::Delegate)
    }
    /// Stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            Role::Secretariat => "secretariat",
            Role::Chair => "chair",
            Role::Delegate => "delegate",
            Role::Observer => "observer",
        }
    }
}

/// A paired device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Id.
    pub id: DeviceId,
    /// Owner.
    pub person: PersonId,
    /// The device's public key.
    pub public_key: PublicKey,
    /// Human label ("iPad phòng 2").
    pub label: String,
    /// When it was paired.
    pub paired_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// The life of a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Being prepared; delegates do not see it.
    Draft,
    /// Visible to its members.
    Published,
    /// The session is running.
    InSession,
    /// Over; read-only.
    Closed,
}

impl MeetingStatus {
    /// Stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            MeetingStatus::Draft => "draft",
            MeetingStatus::Published => "published",
            MeetingStatus::InSession => "in_session",
            MeetingStatus::Closed => "closed",
        }
    }
}

/// A member of a meeting, with the name as it stood when added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The person.
    pub person: PersonId,
    /// Name.
    pub name: String,
    /// Title.
    pub title: Option<String>,
    /// Role in this meeting.
    pub role: Role,
}

/// An agenda item. Its number ("1", "1.2") is derived from its place in the
/// tree, never stored in events, so reordering renumbers everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgendaItem {
    /// Id.
    pub id: AgendaItemId,
    /// Parent item, if nested.
    pub parent: Option<AgendaItemId>,
    /// Title.
    pub title: String,
    /// Who presents it.
    pub presenter: Option<String>,
    /// Planned duration.
    pub planned_minutes: Option<u32>,
}

/// Who may read a paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "people", rename_all = "snake_case")]
pub enum Confidentiality {
    /// Anyone who sees the meeting, observers included.
    Public,
    /// Members with a voting or secretariat role.
    Members,
    /// Only the named people (and the secretariat) — "mật".
    Named(Vec<PersonId>),
}

impl Confidentiality {
    /// Whether `person` with `role` may read the paper.
    pub fn allows(&self, person: &PersonId, role: Role) -> bool {
        match self {
            Confidentiality::Public => true,
            Confidentiality::Members => role != Role::Observer,
            Confidentiality::Named(list) => role == Role::Secretariat || list.contains(person),
        }
    }
}

/// One version of a paper: a blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentVersion {
    /// 1, 2, …
    pub version: u32,
    /// Blob address.
    pub sha256: Hash,
    /// Bytes.
    pub size: u64,
    /// Page count, if analysed.
    pub pages: Option<u32>,
    /// The file name it was imported from.
    pub file_name: String,
    /// When it was added.
    pub added_at: Timestamp,
    /// Blob holding the import analysis (page sizes, text with character
    /// boxes) as JSON, so clients search and select text without parsing
    /// the PDF themselves.
    pub analysis: Option<Hash>,
}

/// A paper with its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Id.
    pub id: DocumentId,
    /// The agenda item it belongs to, if any.
    pub item: Option<AgendaItemId>,
    /// Title.
    pub title: String,
    /// Who may read it.
    pub confidentiality: Confidentiality,
    /// Versions, oldest first; never empty once published.
    pub versions: Vec<DocumentVersion>,
}

/// A point in PDF points (origin bottom-left, as PDF).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// x.
    pub x: f32,
    /// y.
    pub y: f32,
}

/// A rectangle in PDF points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    /// Left.
    pub left: f32,
    /// Bottom.
    pub bottom: f32,
    /// Right.
    pub right: f32,
    /// Top.
    pub top: f32,
}

/// What an annotation draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// Highlighted text, one rectangle per line ("đánh dấu").
    Highlight {
        /// Rectangles.
        rects: Vec<Rect>,
    },
    /// Freehand strokes ("bút").
    Ink {
        /// Strokes, each a polyline.
        strokes: Vec<Vec<Point>>,
        /// Line width in points.
        width: f32,
    },
    /// A sticky note pinned at a point ("ghi chú").
    Note {
        /// Where the pin sits.
        at: Point,
    },
}

impl Shape {
    /// All coordinates are finite numbers (JSON cannot carry NaN).
    pub fn is_finite(&self) -> bool {
        let p = |p: &Point| p.x.is_finite() && p.y.is_finite();
        match self {
            Shape::Highlight { rects } => rects.iter().all(|r| {
                [r.left, r.bottom, r.right, r.top]
                    .iter()
                    .all(|v| v.is_finite())
            }),
            Shape::Ink { strokes, width } => width.is_finite() && strokes.iter().flatten().all(p),
            Shape::Note { at } => p(at),
        }
    }
}

/// Who sees an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only its author (travels in the author's personal log).
    Private,
    /// Everyone in the meeting.
    Shared,
}

/// An annotation on one page of one version of a paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Id (made by the author's device).
    pub id: AnnotationId,
    /// Author.
    pub author: PersonId,
    /// Paper.
    pub document: DocumentId,
    /// The version it was made on.
    pub version: u32,
    /// Page index, 0-based.
    pub page: u32,
    /// Geometry.
    pub shape: Shape,
    /// "#rrggbb".
    pub color: String,
    /// Note text (for notes; optional comment otherwise).
    pub text: Option<String>,
    /// Private or shared.
    pub visibility: Visibility,
    /// Last change.
    pub updated_at: Timestamp,
}

/// The state of a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollStatus {
    /// Created, not yet open.
    Draft,
    /// Accepting ballots.
    Open,
    /// Counted; never reopened (a correction is a new poll).
    Closed,
}

impl PollStatus {
    /// Stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            PollStatus::Draft => "draft",
            PollStatus::Open => "open",
            PollStatus::Closed => "closed",
        }
    }
}

/// A poll ("phiếu biểu quyết").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    /// Id.
    pub id: PollId,
    /// The agenda item voted on, if any.
    pub item: Option<AgendaItemId>,
    /// The question.
    pub question: String,
    /// Options; option 0 approves ("Tán thành").
    pub options: Vec<String>,
    /// Secret ballot ("bỏ phiếu kín").
    pub secret: bool,
    /// The rule that decides it.
    pub rule: MajorityRule,
    /// Who may vote, fixed when the poll is created.
    pub eligible: Vec<PersonId>,
    /// Optional deadline.
    pub closes_at: Option<Timestamp>,
    /// Status.
    pub status: PollStatus,
    /// Named ballots: voter → option. Empty for secret polls.
    pub named: BTreeMap<PersonId, u32>,
    /// Secret polls: who voted (turnout), without their choice.
    pub turnout: Vec<PersonId>,
    /// Counts per option.
    pub counts: Vec<u32>,
    /// Present members when the poll opened (for base = present and quorum).
    pub present_at_open: u32,
    /// Filled when closed.
    pub outcome: Option<Outcome>,
}

impl Poll {
    /// Whether `person` has voted: a named ballot, or a secret poll's
    /// turnout.
    pub fn has_voted(&self, person: &PersonId) -> bool {
        if self.secret {
            self.turnout.contains(person)
        } else {
            self.named.contains_key(person)
        }
    }
}

/// A request to speak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerRequest {
    /// Id.
    pub id: SpeakerRequestId,
    /// Who asks.
    pub person: PersonId,
    /// On which item.
    pub item: Option<AgendaItemId>,
    /// When asked.
    pub requested_at: Timestamp,
    /// Status.
    pub status: SpeakerStatus,
}

/// The life of a request to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeakerStatus {
    /// In the queue.
    Waiting,
    /// Has the floor since this time.
    Speaking,
    /// Spoke.
    Done,
    /// Withdrawn by the delegate or dropped by the chair.
    Withdrawn,
}

impl SpeakerStatus {
    /// Stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            SpeakerStatus::Waiting => "waiting",
            SpeakerStatus::Speaking => "speaking",
            SpeakerStatus::Done => "done",
            SpeakerStatus::Withdrawn => "withdrawn",
        }
    }
}

/// A check-in ("điểm danh").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendance {
    /// Present or left.
    pub present: bool,
    /// When recorded.
    pub at: Timestamp,
}
