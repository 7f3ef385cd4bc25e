//! Every state change is an [`Event`]. Events are appended to a log (see
//! [`crate::log`]) and applied by the reducer; they serialize as JSON objects
//! tagged with `"type"`.
//!
//! Directory events (bodies, people, devices) go in the hub's directory log;
//! meeting events go in that meeting's log, or — for private annotations —
//! in the author's personal log for that meeting. Events carry every value
//! they need (times included), so applying them needs nothing else.

use crate::ids::*;
use crate::model::*;
use crate::vote::MajorityRule;
use serde::{Deserialize, Serialize};

/// A state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    // --- directory -------------------------------------------------------
    /// A council or committee is registered.
    BodyCreated {
        /// The body.
        body: Body,
    },
    /// A person is registered.
    PersonAdded {
        /// The person.
        person: Person,
    },
    /// A device key is bound to a person (pairing).
    DeviceRegistered {
        /// The device.
        device: Device,
    },
    /// A device is revoked; it is refused from now on.
    DeviceRevoked {
        /// The device.
        device: DeviceId,
        /// When.
        at: Timestamp,
    },

    // --- meeting ---------------------------------------------------------
    /// The first event of every meeting log.
    MeetingCreated {
        /// Id (equals the log's meeting id).
        meeting: MeetingId,
        /// Body name, e.g. "HĐND tỉnh Yên Bái".
        body: String,
        /// Title, e.g. "Kỳ họp thứ 5".
        title: String,
        /// Planned start.
        starts_at: Option<Timestamp>,
        /// Place.
        place: Option<String>,
        /// When created.
        at: Timestamp,
    },
    /// Title, body, time or place edited.
    MeetingDetailsChanged {
        /// Body name.
        body: String,
        /// Title.
        title: String,
        /// Planned start.
        starts_at: Option<Timestamp>,
        /// Place.
        place: Option<String>,
    },
    /// The secretariat sets the meeting's quorum and its rule for ballots
    /// from members not checked in (before the session opens).
    MeetingRulesSet {
        /// The rules from now on.
        rules: crate::vote::MeetingRules,
    },
    /// The secretariat sets how long devices keep the meeting's pack (any
    /// time; devices enforce it on their own clock).
    RetentionSet {
        /// The rule from now on.
        retention: crate::Retention,
    },
    /// A person joins the meeting with a role.
    MemberAdded {
        /// The member.
        member: Member,
    },
    /// Draft → published: members see it.
    MeetingPublished {
        /// When.
        at: Timestamp,
    },
    /// Published → in session.
    SessionStarted {
        /// When.
        at: Timestamp,
    },
    /// In session → closed.
    SessionClosed {
        /// When.
        at: Timestamp,
    },
    /// An agenda item is inserted at `position` (1-based) among its siblings.
    AgendaItemAdded {
        /// The item.
        item: AgendaItem,
        /// 1-based place among siblings; later siblings shift down.
        position: u32,
    },
    /// An agenda item's wording is corrected (its place is unchanged).
    AgendaItemEdited {
        /// The item.
        item: AgendaItemId,
        /// Title.
        title: String,
        /// Who presents it.
        presenter: Option<String>,
        /// Planned minutes.
        planned_minutes: Option<u32>,
    },
    /// An agenda item moves (reorder by drag); numbers follow.
    AgendaItemMoved {
        /// The item.
        item: AgendaItemId,
        /// New parent.
        parent: Option<AgendaItemId>,
        /// 1-based place among the new siblings.
        position: u32,
    },
    /// The chair shows a paper that not every member receives. Always
    /// followed, in the same batch, by the `ChairFocusSet` naming it, which
    /// members who may not read the paper receive redacted: they are left
    /// with this entry, so their screen can say "the chair is showing a
    /// paper you do not receive" — no id, no title.
    ChairFocusWithheld {},
    /// The chair shows a paper and page; delegates following the chair see
    /// the same.
    ChairFocusSet {
        /// Paper, or none (agenda view).
        document: Option<DocumentId>,
        /// Page, 0-based.
        page: u32,
    },
    /// The chair moves the meeting to an item.
    CurrentItemSet {
        /// The item, or none.
        item: Option<AgendaItemId>,
    },
    /// A paper is announced (its first version follows).
    DocumentAdded {
        /// Id.
        document: DocumentId,
        /// Agenda item.
        item: Option<AgendaItemId>,
        /// Title.
        title: String,
        /// Who may read it.
        confidentiality: Confidentiality,
    },
    /// A paper's title is corrected (the secretariat names it; a PDF's own
    /// title or file name is only the first guess).
    DocumentRetitled {
        /// The paper.
        document: DocumentId,
        /// The new title.
        title: String,
    },
    /// A paper gets a (new) version.
    DocumentVersionAdded {
        /// The paper.
        document: DocumentId,
        /// The version; must be the next number.
        version: DocumentVersion,
    },
    /// An annotation is made.
    AnnotationAdded {
        /// The annotation.
        annotation: Annotation,
    },
    /// An annotation is changed by its author (replaces it whole).
    AnnotationEdited {
        /// The new content; same id, author and document.
        annotation: Annotation,
    },
    /// An annotation is removed by its author.
    AnnotationDeleted {
        /// Which.
        annotation: AnnotationId,
        /// Who removes it (must be the author).
        by: PersonId,
        /// When.
        at: Timestamp,
    },
    /// An annotation leaves this log because its author changed who sees
    /// it: private → shared moves it from the personal log to the meeting
    /// log, shared → private the other way. Written in the log it leaves,
    /// followed in the same batch by `AnnotationAdded` (same id, new
    /// visibility) in the log it enters; readers of the old log see it
    /// disappear, readers of the new one see it appear.
    AnnotationMoved {
        /// Which.
        annotation: AnnotationId,
        /// Who moves it (must be the author).
        by: PersonId,
        /// Its visibility from now on.
        to: Visibility,
        /// When.
        at: Timestamp,
    },
    /// The chair went on below quorum, having confirmed it: the session
    /// opened, or a poll opened or closed, with fewer voting members
    /// checked in than the meeting's quorum needs. The minutes show it.
    QuorumOverridden {
        /// What the chair did.
        action: crate::vote::QuorumAction,
        /// The count at that moment.
        count: crate::vote::QuorumCount,
        /// Who confirmed it (the chair or the secretariat).
        by: PersonId,
        /// When.
        at: Timestamp,
    },
    /// A member checks in or leaves.
    AttendanceRecorded {
        /// Who.
        person: PersonId,
        /// Present or not.
        present: bool,
        /// When.
        at: Timestamp,
    },
    /// A delegate asks to speak.
    SpeakerRequested {
        /// Id.
        request: SpeakerRequestId,
        /// Who.
        person: PersonId,
        /// On which item.
        item: Option<AgendaItemId>,
        /// When.
        at: Timestamp,
    },
    /// The request is withdrawn.
    SpeakerWithdrawn {
        /// Which.
        request: SpeakerRequestId,
        /// When.
        at: Timestamp,
    },
    /// The chair gives the floor; whoever was speaking is done.
    FloorGiven {
        /// Which request.
        request: SpeakerRequestId,
        /// When.
        at: Timestamp,
    },
    /// The speaker is done.
    FloorEnded {
        /// Which request.
        request: SpeakerRequestId,
        /// When.
        at: Timestamp,
    },
    /// A poll is prepared.
    PollCreated {
        /// Id.
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
        rule: MajorityRule,
        /// Who may vote.
        eligible: Vec<PersonId>,
        /// Optional deadline.
        closes_at: Option<Timestamp>,
    },
    /// The poll starts accepting ballots.
    PollOpened {
        /// Which.
        poll: PollId,
        /// When.
        at: Timestamp,
    },
    /// A secret poll: this person has voted (content recorded separately).
    TurnoutRecorded {
        /// Which poll.
        poll: PollId,
        /// Who voted.
        person: PersonId,
        /// When.
        at: Timestamp,
    },
    /// A ballot. `voter` is set for named polls and empty for secret ones.
    BallotCast {
        /// Which poll.
        poll: PollId,
        /// Voter (named polls only).
        voter: Option<PersonId>,
        /// Chosen option index.
        choice: u32,
        /// When the hub accepted it.
        at: Timestamp,
        /// Named polls: the voter's device-signed command, so an auditor
        /// can check the ballot without trusting the hub. Absent for secret
        /// polls (it would name the voter).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proof: Option<Box<crate::protocol::SignedCommand>>,
    },
    /// The poll is closed and counted.
    PollClosed {
        /// Which.
        poll: PollId,
        /// When.
        at: Timestamp,
    },
}

impl Event {
    /// Whether the event belongs in the directory log.
    pub fn is_directory(&self) -> bool {
        matches!(
            self,
            Event::BodyCreated { .. }
                | Event::PersonAdded { .. }
                | Event::DeviceRegistered { .. }
                | Event::DeviceRevoked { .. }
        )
    }

    /// The snake_case type tag, as serialized.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BodyCreated { .. } => "body_created",
            Event::PersonAdded { .. } => "person_added",
            Event::DeviceRegistered { .. } => "device_registered",
            Event::DeviceRevoked { .. } => "device_revoked",
            Event::MeetingCreated { .. } => "meeting_created",
            Event::MeetingDetailsChanged { .. } => "meeting_details_changed",
            Event::MeetingRulesSet { .. } => "meeting_rules_set",
            Event::RetentionSet { .. } => "retention_set",
            Event::MemberAdded { .. } => "member_added",
            Event::MeetingPublished { .. } => "meeting_published",
            Event::SessionStarted { .. } => "session_started",
            Event::SessionClosed { .. } => "session_closed",
            Event::AgendaItemAdded { .. } => "agenda_item_added",
            Event::AgendaItemEdited { .. } => "agenda_item_edited",
            Event::AgendaItemMoved { .. } => "agenda_item_moved",
            Event::CurrentItemSet { .. } => "current_item_set",
            Event::ChairFocusSet { .. } => "chair_focus_set",
            Event::ChairFocusWithheld { .. } => "chair_focus_withheld",
            Event::DocumentAdded { .. } => "document_added",
            Event::DocumentRetitled { .. } => "document_retitled",
            Event::DocumentVersionAdded { .. } => "document_version_added",
            Event::AnnotationAdded { .. } => "annotation_added",
            Event::AnnotationEdited { .. } => "annotation_edited",
            Event::AnnotationDeleted { .. } => "annotation_deleted",
            Event::AnnotationMoved { .. } => "annotation_moved",
            Event::QuorumOverridden { .. } => "quorum_overridden",
            Event::AttendanceRecorded { .. } => "attendance_recorded",
            Event::SpeakerRequested { .. } => "speaker_requested",
            Event::SpeakerWithdrawn { .. } => "speaker_withdrawn",
            Event::FloorGiven { .. } => "floor_given",
            Event::FloorEnded { .. } => "floor_ended",
            Event::PollCreated { .. } => "poll_created",
            Event::PollOpened { .. } => "poll_opened",
            Event::TurnoutRecorded { .. } => "turnout_recorded",
            Event::BallotCast { .. } => "ballot_cast",
            Event::PollClosed { .. } => "poll_closed",
        }
    }
}
