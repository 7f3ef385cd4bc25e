//! The one reducer. Hub and client build every projection by feeding log
//! entries to [`State::apply`]; nothing else mutates domain state.
//!
//! `apply` checks first and changes second: when it returns an error the
//! state is exactly as before. It returns what it touched, so a store can
//! write only those rows of its projection tables.

use crate::event::Event;
use crate::ids::*;
use crate::log::LogId;
use crate::model::*;
use crate::vote::{MeetingRules, QuorumAction, QuorumCount, Tally};
use std::collections::BTreeMap;

/// Why an event was refused. `code()` is stable for programs (the UI
/// switches on it); the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReduceError {
    /// The event does not belong in this log.
    #[error("a '{kind}' event does not belong in log {log}")]
    WrongLog {
        /// Event type.
        kind: &'static str,
        /// Log.
        log: String,
    },
    /// The meeting log has no `meeting_created` yet, or it exists already.
    #[error("meeting {0} does not exist")]
    NoSuchMeeting(MeetingId),
    /// A second `meeting_created`.
    #[error("meeting {0} already exists")]
    MeetingExists(MeetingId),
    /// A referenced thing is missing.
    #[error("{what} '{id}' does not exist in this meeting")]
    Missing {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// An id is used twice.
    #[error("{what} '{id}' already exists")]
    Duplicate {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The meeting is not in a state that allows this.
    #[error("cannot {action} while the meeting is {status}")]
    MeetingStatus {
        /// What was attempted.
        action: &'static str,
        /// Current status code.
        status: &'static str,
    },
    /// The poll is not in a state that allows this.
    #[error("cannot {action}: poll '{poll}' is {status}")]
    PollStatus {
        /// What was attempted.
        action: &'static str,
        /// Which poll.
        poll: PollId,
        /// Current status code.
        status: &'static str,
    },
    /// A second ballot by the same person.
    #[error("{0} has already voted in this poll")]
    AlreadyVoted(PersonId),
    /// Not allowed to vote in this poll.
    #[error("{0} is not eligible to vote in this poll")]
    NotEligible(PersonId),
    /// The ballot came after the poll's deadline.
    #[error("the ballot arrived after the poll's deadline")]
    AfterDeadline,
    /// Not a member of the meeting.
    #[error("{0} is not a member of this meeting")]
    NotMember(PersonId),
    /// Only the author may change an annotation.
    #[error("only its author may change annotation '{0}'")]
    NotAuthor(AnnotationId),
    /// A value is out of range or malformed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Speaker queue transition not allowed.
    #[error("request to speak '{request}' is {status}")]
    SpeakerStatus {
        /// Which.
        request: SpeakerRequestId,
        /// Current status code.
        status: &'static str,
    },
}

impl ReduceError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReduceError::WrongLog { .. } => "wrong_log",
            ReduceError::NoSuchMeeting(_) => "no_such_meeting",
            ReduceError::MeetingExists(_) => "meeting_exists",
            ReduceError::Missing { .. } => "missing",
            ReduceError::Duplicate { .. } => "duplicate",
            ReduceError::MeetingStatus { .. } => "meeting_status",
            ReduceError::PollStatus { .. } => "poll_status",
            ReduceError::AlreadyVoted(_) => "already_voted",
            ReduceError::NotEligible(_) => "not_eligible",
            ReduceError::AfterDeadline => "after_deadline",
            ReduceError::NotMember(_) => "not_member",
            ReduceError::NotAuthor(_) => "not_author",
            ReduceError::Invalid { .. } => "invalid",
            ReduceError::SpeakerStatus { .. } => "speaker_status",
        }
    }
}

/// What an applied event changed, for incremental projections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Touched {
    /// A body row.
    Body(BodyId),
    /// A person row.
    Person(PersonId),
    /// A device row.
    Device(DeviceId),
    /// The meeting row (details, status, current item).
    Meeting(MeetingId),
    /// A member row.
    Member(MeetingId, PersonId),
    /// The whole agenda of a meeting (numbers may all shift).
    Agenda(MeetingId),
    /// A paper and its versions.
    Document(MeetingId, DocumentId),
    /// An annotation (absent from state when deleted).
    Annotation(MeetingId, AnnotationId),
    /// An attendance row.
    Attendance(MeetingId, PersonId),
    /// A request to speak.
    Speaker(MeetingId, SpeakerRequestId),
    /// A poll, its counts and ballots.
    Poll(MeetingId, PollId),
    /// One vote in a poll: its counts, plus the named ballot of this voter
    /// (`ballot_cast`, named poll) or this person's turnout
    /// (`turnout_recorded`); `None` for a secret ballot's content. Lets a
    /// store write one row per ballot instead of rewriting the whole poll
    /// (quadratic in the number of voters).
    Vote(MeetingId, PollId, Option<PersonId>),
}

/// Bodies, people and devices known to the hub.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    /// Bodies.
    pub bodies: BTreeMap<BodyId, Body>,
    /// People.
    pub persons: BTreeMap<PersonId, Person>,
    /// Devices.
    pub devices: BTreeMap<DeviceId, Device>,
}

/// One meeting as its log has built it.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingState {
    /// Id.
    pub id: MeetingId,
    /// Body name.
    pub body: String,
    /// Title.
    pub title: String,
    /// Planned start.
    pub starts_at: Option<Timestamp>,
    /// Place.
    pub place: Option<String>,
    /// Status.
    pub status: MeetingStatus,
    /// Members.
    pub members: BTreeMap<PersonId, Member>,
    /// Agenda items by id.
    pub agenda: BTreeMap<AgendaItemId, AgendaItem>,
    /// Children in order, per parent (None = top level).
    pub children: BTreeMap<Option<AgendaItemId>, Vec<AgendaItemId>>,
    /// The item the chair has the meeting on.
    pub current_item: Option<AgendaItemId>,
    /// The paper and page the chair shows (follow the chair).
    pub chair_focus: Option<(DocumentId, u32)>,
    /// The chair shows a paper this state may not know (see
    /// `Event::ChairFocusWithheld`).
    pub chair_focus_withheld: bool,
    /// Papers.
    pub documents: BTreeMap<DocumentId, Document>,
    /// Annotations visible in this state.
    pub annotations: BTreeMap<AnnotationId, Annotation>,
    /// Ids of annotations that left this state: an id stays taken for its
    /// lifetime, so a deleted one is never reused (a reuse made an order-
    /// dependent log that no longer replayed). A moved annotation may
    /// reappear once, with the same id and author, in the log it moved to.
    pub retired_annotations: BTreeMap<AnnotationId, RetiredAnnotation>,
    /// Quorum and the rule for ballots from members not checked in.
    pub rules: MeetingRules,
    /// How long devices keep the pack.
    pub retention: crate::Retention,
    /// When the session closed.
    pub closed_at: Option<Timestamp>,
    /// Where the chair went on below quorum, in log order.
    pub quorum_overrides: Vec<QuorumOverride>,
    /// Attendance.
    pub attendance: BTreeMap<PersonId, Attendance>,
    /// Requests to speak.
    pub speakers: BTreeMap<SpeakerRequestId, SpeakerRequest>,
    /// Polls.
    pub polls: BTreeMap<PollId, Poll>,
}

/// One [`Event::QuorumOverridden`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumOverride {
    /// What the chair did.
    pub action: QuorumAction,
    /// The count at that moment.
    pub count: QuorumCount,
    /// Who confirmed it.
    pub by: PersonId,
    /// When.
    pub at: Timestamp,
}

/// Why an annotation id is no longer in [`MeetingState::annotations`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredAnnotation {
    /// Its author.
    pub author: PersonId,
    /// `Some(visibility)` once it moved out to the log of that visibility
    /// (its author may add it again under the same id, once: in that log,
    /// or — seen by a member who reads only the meeting log — back in the
    /// meeting log); `None` once deleted for good.
    pub moving_to: Option<Visibility>,
}

/// A numbered agenda line, in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberedItem<'a> {
    /// "1", "1.2", …
    pub number: String,
    /// Depth, 0 for top level.
    pub depth: usize,
    /// Position among siblings (0-based), for ordering in tables.
    pub position: usize,
    /// The item.
    pub item: &'a AgendaItem,
}

impl MeetingState {
    /// The agenda tree flattened in order, with numbers.
    pub fn numbered_agenda(&self) -> Vec<NumberedItem<'_>> {
        let mut out = Vec::with_capacity(self.agenda.len());
        self.number_children(None, "", 0, &mut out);
        out
    }

    fn number_children<'a>(
        &'a self,
        parent: Option<&AgendaItemId>,
        prefix: &str,
        depth: usize,
        out: &mut Vec<NumberedItem<'a>>,
    ) {
        let Some(kids) = self.children.get(&parent.cloned()) else {
            return;
        };
        for (i, id) in kids.iter().enumerate() {
            let Some(item) = self.agenda.get(id) else {
                continue;
            };
            let number = format!("{prefix}{}", i + 1);
            let child_prefix = format!("{number}.");
            out.push(NumberedItem {
                number,
                depth,
                position: i,
                item,
            });
            self.number_children(Some(id), &child_prefix, depth + 1, out);
        }
    }

    /// Finds the item with this number ("1.2").
    pub fn item_by_number(&self, number: &str) -> Option<&AgendaItem> {
        self.numbered_agenda()
            .into_iter()
            .find(|n| n.number == number)
            .map(|n| n.item)
    }

    /// Members who vote (chair and delegates).
    pub fn voting_members(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.role.votes())
    }

    /// Voting members currently checked in.
    pub fn present_voters(&self) -> usize {
        self.voting_members()
            .filter(|m| self.is_present(&m.person))
            .count()
    }

    /// Whether `person` is checked in now.
    pub fn is_present(&self, person: &PersonId) -> bool {
        self.attendance.get(person).is_some_and(|a| a.present)
    }

    /// Checked-in voting members against the meeting's quorum, now.
    pub fn quorum(&self) -> QuorumCount {
        let n = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
        QuorumCount::new(
            self.rules.quorum,
            n(self.present_voters()),
            n(self.voting_members().count()),
        )
    }

    fn require_member(&self, p: &PersonId) -> Result<&Member, ReduceError> {
        self.members
            .get(p)
            .ok_or_else(|| ReduceError::NotMember(p.clone()))
    }

    fn require_open_for(&self, action: &'static str) -> Result<(), ReduceError> {
        if self.status == MeetingStatus::Closed {
            return Err(ReduceError::MeetingStatus {
                action,
                status: self.status.code(),
            });
        }
        Ok(())
    }

    fn require_item(&self, item: Option<&AgendaItemId>) -> Result<(), ReduceError> {
        match item {
            Some(id) if !self.agenda.contains_key(id) => Err(missing("agenda item", id)),
            _ => Ok(()),
        }
    }

    fn is_descendant(&self, node: &AgendaItemId, ancestor: &AgendaItemId) -> bool {
        let mut cur = Some(node.clone());
        while let Some(id) = cur {
            if &id == ancestor {
                return true;
            }
            cur = self.agenda.get(&id).and_then(|i| i.parent.clone());
        }
        false
    }
}

/// Everything a hub (or a client, for the logs it holds) knows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Bodies, people, devices.
    pub directory: Directory,
    /// Meetings by id.
    pub meetings: BTreeMap<MeetingId, MeetingState>,
}

fn missing(what: &'static str, id: &impl std::fmt::Display) -> ReduceError {
    ReduceError::Missing {
        what,
        id: id.to_string(),
    }
}

fn duplicate(what: &'static str, id: &impl std::fmt::Display) -> ReduceError {
    ReduceError::Duplicate {
        what,
        id: id.to_string(),
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ReduceError {
    ReduceError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn non_empty(field: &'static str, s: &str) -> Result<(), ReduceError> {
    if s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(())
}

fn check_id(field: &'static str, s: &str) -> Result<(), ReduceError> {
    if !validate_id(s) {
        return Err(invalid(
            field,
            format!("'{s}' is not a valid id (1–64 of A–Z a–z 0–9 - _)"),
        ));
    }
    Ok(())
}

fn check_color(c: &str) -> Result<(), ReduceError> {
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(invalid("color", format!("'{c}' is not #rrggbb")));
    }
    Ok(())
}

impl State {
    /// Applies one event from `log`. On error nothing changed.
    pub fn apply(&mut self, log: &LogId, event: &Event) -> Result<Vec<Touched>, ReduceError> {
        let wrong = || ReduceError::WrongLog {
            kind: event.kind(),
            log: log.key(),
        };
        match log {
            LogId::Directory => {
                if !event.is_directory() {
                    return Err(wrong());
                }
                self.apply_directory(event)
            }
            LogId::Meeting(mid) => {
                if event.is_directory() {
                    return Err(wrong());
                }
                if let Event::MeetingCreated {
                    meeting,
                    body,
                    title,
                    starts_at,
                    place,
                    ..
                } = event
                {
                    if meeting != mid {
                        return Err(invalid("meeting", "differs from the log's meeting id"));
                    }
                    check_id("meeting", meeting.as_str())?;
                    if self.meetings.contains_key(mid) {
                        return Err(ReduceError::MeetingExists(mid.clone()));
                    }
                    non_empty("title", title)?;
                    self.meetings.insert(
                        mid.clone(),
                        MeetingState {
                            id: mid.clone(),
                            body: body.clone(),
                            title: title.clone(),
                            starts_at: *starts_at,
                            place: place.clone(),
                            status: MeetingStatus::Draft,
                            members: BTreeMap::new(),
                            agenda: BTreeMap::new(),
                            children: BTreeMap::new(),
                            current_item: None,
                            chair_focus: None,
                            chair_focus_withheld: false,
                            documents: BTreeMap::new(),
                            annotations: BTreeMap::new(),
                            retired_annotations: BTreeMap::new(),
                            rules: MeetingRules::default(),
                            retention: crate::Retention::default(),
                            closed_at: None,
                            quorum_overrides: Vec::new(),
                            attendance: BTreeMap::new(),
                            speakers: BTreeMap::new(),
                            polls: BTreeMap::new(),
                        },
                    );
                    return Ok(vec![Touched::Meeting(mid.clone())]);
                }
                let m = self
                    .meetings
                    .get_mut(mid)
                    .ok_or_else(|| ReduceError::NoSuchMeeting(mid.clone()))?;
                if let Event::AnnotationAdded { annotation }
                | Event::AnnotationEdited { annotation } = event
                {
                    if annotation.visibility == Visibility::Private {
                        return Err(invalid(
                            "visibility",
                            "private annotations go in the author's personal log",
                        ));
                    }
                }
                apply_meeting(m, event, false)
            }
            LogId::Personal { meeting, person } => {
                let m = self
                    .meetings
                    .get_mut(meeting)
                    .ok_or_else(|| ReduceError::NoSuchMeeting(meeting.clone()))?;
                match event {
                    Event::AnnotationAdded { annotation }
                    | Event::AnnotationEdited { annotation } => {
                        if annotation.visibility != Visibility::Private
                            || &annotation.author != person
                        {
                            return Err(invalid(
                                "annotation",
                                "a personal log holds only its owner's private annotations",
                            ));
                        }
                    }
                    Event::AnnotationDeleted { by, .. } | Event::AnnotationMoved { by, .. }
                        if by == person => {}
                    _ => return Err(wrong()),
                }
                apply_meeting(m, event, true)
            }
        }
    }

    fn apply_directory(&mut self, event: &Event) -> Result<Vec<Touched>, ReduceError> {
        let d = &mut self.directory;
        match event {
            Event::BodyCreated { body } => {
                check_id("body", body.id.as_str())?;
                non_empty("name", &body.name)?;
                if d.bodies.contains_key(&body.id) {
                    return Err(duplicate("body", &body.id));
                }
                d.bodies.insert(body.id.clone(), body.clone());
                Ok(vec![Touched::Body(body.id.clone())])
            }
            Event::PersonAdded { person } => {
                check_id("person", person.id.as_str())?;
                non_empty("name", &person.name)?;
                if d.persons.contains_key(&person.id) {
                    return Err(duplicate("person", &person.id));
                }
                d.persons.insert(person.id.clone(), person.clone());
                Ok(vec![Touched::Person(person.id.clone())])
            }
            Event::DeviceRegistered { device } => {
                check_id("device", device.id.as_str())?;
                if d.devices.contains_key(&device.id) {
                    return Err(duplicate("device", &device.id));
                }
                if !d.persons.contains_key(&device.person) {
                    return Err(missing("person", &device.person));
                }
                if d.devices
                    .values()
                    .any(|x| x.public_key == device.public_key)
                {
                    return Err(duplicate("device key", &device.public_key.fingerprint()));
                }
                if device.revoked_at.is_some() {
                    return Err(invalid(
                        "revoked_at",
                        "a new device cannot be revoked already",
                    ));
                }
                d.devices.insert(device.id.clone(), device.clone());
                Ok(vec![Touched::Device(device.id.clone())])
            }
            Event::DeviceRevoked { device, at } => {
                let dev = d
                    .devices
                    .get_mut(device)
                    .ok_or_else(|| missing("device", device))?;
                if dev.revoked_at.is_some() {
                    return Err(invalid(
                        "device",
                        format!("device '{device}' is already revoked"),
                    ));
                }
                dev.revoked_at = Some(*at);
                Ok(vec![Touched::Device(device.clone())])
            }
            _ => unreachable_directory(event),
        }
    }
}

fn unreachable_directory(event: &Event) -> Result<Vec<Touched>, ReduceError> {
    // Guarded by `is_directory` in `apply`; kept as an error, not a panic.
    Err(ReduceError::WrongLog {
        kind: event.kind(),
        log: "dir".into(),
    })
}

fn apply_meeting(
    m: &mut MeetingState,
    event: &Event,
    private_log: bool,
) -> Result<Vec<Touched>, ReduceError> {
    let mid = m.id.clone();
    match event {
        Event::MeetingCreated { .. } => Err(ReduceError::MeetingExists(mid)),
        Event::MeetingDetailsChanged {
            body,
            title,
            starts_at,
            place,
        } => {
            m.require_open_for("edit the meeting")?;
            non_empty("title", title)?;
            m.body = body.clone();
            m.title = title.clone();
            m.starts_at = *starts_at;
            m.place = place.clone();
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::MeetingRulesSet { rules } => {
            if !matches!(m.status, MeetingStatus::Draft | MeetingStatus::Published) {
                return Err(ReduceError::MeetingStatus {
                    action: "change the meeting's rules",
                    status: m.status.code(),
                });
            }
            if !rules.quorum.is_valid() {
                return Err(invalid(
                    "quorum",
                    "the fraction is not a share of the members",
                ));
            }
            m.rules = *rules;
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::RetentionSet { retention } => {
            if !retention.is_valid() {
                return Err(invalid(
                    "retention",
                    format!(
                        "at most {} days, and an idle lock of 1 to {} minutes",
                        crate::retention::MAX_DAYS,
                        crate::retention::MAX_IDLE_MINUTES
                    ),
                ));
            }
            m.retention = *retention;
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::QuorumOverridden {
            action,
            count,
            by,
            at,
        } => {
            m.require_member(by)?;
            let what = match action {
                QuorumAction::StartSession => "open the session",
                QuorumAction::OpenPoll { .. } | QuorumAction::ClosePoll { .. } => {
                    "vote below quorum"
                }
            };
            if m.status != action.meeting_status() {
                return Err(ReduceError::MeetingStatus {
                    action: what,
                    status: m.status.code(),
                });
            }
            if let QuorumAction::OpenPoll { poll } | QuorumAction::ClosePoll { poll } = action {
                m.polls.get(poll).ok_or_else(|| missing("poll", poll))?;
            }
            if *count != m.quorum() || count.met() {
                return Err(invalid(
                    "count",
                    "an override must record the meeting's own count, below its quorum",
                ));
            }
            m.quorum_overrides.push(QuorumOverride {
                action: action.clone(),
                count: *count,
                by: by.clone(),
                at: *at,
            });
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::MemberAdded { member } => {
            m.require_open_for("add members")?;
            check_id("person", member.person.as_str())?;
            non_empty("name", &member.name)?;
            if m.members.contains_key(&member.person) {
                return Err(duplicate("member", &member.person));
            }
            m.members.insert(member.person.clone(), member.clone());
            Ok(vec![Touched::Member(mid, member.person.clone())])
        }
        Event::MeetingPublished { .. } => {
            transition(m, MeetingStatus::Draft, MeetingStatus::Published, "publish")
        }
        Event::SessionStarted { .. } => transition(
            m,
            MeetingStatus::Published,
            MeetingStatus::InSession,
            "start the session",
        ),
        Event::SessionClosed { at } => {
            if let Some(p) = m.polls.values().find(|p| p.status == PollStatus::Open) {
                return Err(ReduceError::PollStatus {
                    action: "close the session",
                    poll: p.id.clone(),
                    status: "still open",
                });
            }
            let touched = transition(
                m,
                MeetingStatus::InSession,
                MeetingStatus::Closed,
                "close the session",
            )?;
            m.closed_at = Some(*at);
            Ok(touched)
        }
        Event::AgendaItemAdded { item, position } => {
            m.require_open_for("change the agenda")?;
            check_id("agenda item", item.id.as_str())?;
            non_empty("title", &item.title)?;
            if m.agenda.contains_key(&item.id) {
                return Err(duplicate("agenda item", &item.id));
            }
            m.require_item(item.parent.as_ref())?;
            let siblings = m.children.get(&item.parent).map_or(0, Vec::len);
            let pos = check_position(*position, siblings + 1)?;
            m.children
                .entry(item.parent.clone())
                .or_default()
                .insert(pos, item.id.clone());
            m.agenda.insert(item.id.clone(), item.clone());
            Ok(vec![Touched::Agenda(mid)])
        }
        Event::AgendaItemEdited {
            item,
            title,
            presenter,
            planned_minutes,
        } => {
            m.require_open_for("change the agenda")?;
            non_empty("title", title)?;
            let it = m
                .agenda
                .get_mut(item)
                .ok_or_else(|| missing("agenda item", item))?;
            it.title = title.clone();
            it.presenter = presenter.clone();
            it.planned_minutes = *planned_minutes;
            Ok(vec![Touched::Agenda(mid)])
        }
        Event::AgendaItemMoved {
            item,
            parent,
            position,
        } => {
            m.require_open_for("change the agenda")?;
            let old_parent = m
                .agenda
                .get(item)
                .ok_or_else(|| missing("agenda item", item))?
                .parent
                .clone();
            m.require_item(parent.as_ref())?;
            if let Some(p) = parent {
                if m.is_descendant(p, item) {
                    return Err(invalid("parent", "an item cannot move under itself"));
                }
            }
            let same = &old_parent == parent;
            let siblings = m.children.get(parent).map_or(0, Vec::len);
            let pos = check_position(*position, if same { siblings } else { siblings + 1 })?;
            if let Some(kids) = m.children.get_mut(&old_parent) {
                kids.retain(|k| k != item);
            }
            m.children
                .entry(parent.clone())
                .or_default()
                .insert(pos, item.clone());
            if let Some(it) = m.agenda.get_mut(item) {
                it.parent = parent.clone();
            }
            Ok(vec![Touched::Agenda(mid)])
        }
        Event::ChairFocusSet { document, page } => {
            require_in_session(m, "show a paper")?;
            let focus = match document {
                Some(d) => {
                    let doc = m.documents.get(d).ok_or_else(|| missing("paper", d))?;
                    let pages = doc
                        .versions
                        .last()
                        .and_then(|v| v.pages)
                        .unwrap_or(u32::MAX);
                    if *page >= pages {
                        return Err(invalid(
                            "page",
                            format!("page {} is beyond the paper's end", page + 1),
                        ));
                    }
                    Some((d.clone(), *page))
                }
                None => None,
            };
            m.chair_focus = focus;
            m.chair_focus_withheld = false;
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::ChairFocusWithheld {} => {
            require_in_session(m, "show a paper")?;
            m.chair_focus = None;
            m.chair_focus_withheld = true;
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::CurrentItemSet { item } => {
            m.require_open_for("move the agenda")?;
            m.require_item(item.as_ref())?;
            m.current_item = item.clone();
            Ok(vec![Touched::Meeting(mid)])
        }
        Event::DocumentAdded {
            document,
            item,
            title,
            confidentiality,
        } => {
            m.require_open_for("add papers")?;
            check_id("document", document.as_str())?;
            non_empty("title", title)?;
            if m.documents.contains_key(document) {
                return Err(duplicate("paper", document));
            }
            m.require_item(item.as_ref())?;
            m.documents.insert(
                document.clone(),
                Document {
                    id: document.clone(),
                    item: item.clone(),
                    title: title.clone(),
                    confidentiality: confidentiality.clone(),
                    versions: Vec::new(),
                },
            );
            Ok(vec![Touched::Document(mid, document.clone())])
        }
        Event::DocumentRetitled { document, title } => {
            m.require_open_for("rename papers")?;
            non_empty("title", title)?;
            let doc = m
                .documents
                .get_mut(document)
                .ok_or_else(|| missing("paper", document))?;
            doc.title = title.clone();
            Ok(vec![Touched::Document(mid, document.clone())])
        }
        Event::DocumentVersionAdded { document, version } => {
            m.require_open_for("add paper versions")?;
            let doc = m
                .documents
                .get_mut(document)
                .ok_or_else(|| missing("paper", document))?;
            let next = u32::try_from(doc.versions.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            if version.version != next {
                return Err(invalid(
                    "version",
                    format!(
                        "paper '{document}' expects version {next}, got {}",
                        version.version
                    ),
                ));
            }
            doc.versions.push(version.clone());
            Ok(vec![Touched::Document(mid, document.clone())])
        }
        Event::AnnotationAdded { annotation } => {
            check_annotation(m, annotation)?;
            if m.annotations.contains_key(&annotation.id) {
                return Err(duplicate("annotation", &annotation.id));
            }
            match m.retired_annotations.get(&annotation.id) {
                None => {}
                // A moved annotation comes back under its own id, by its own
                // author. Not only with the visibility it left for: a member
                // who sees the meeting log but not the author's personal
                // log saw shared → private, never private → shared, and must
                // still take the note when it is shared again.
                Some(RetiredAnnotation {
                    author,
                    moving_to: Some(_),
                }) if author == &annotation.author => {
                    m.retired_annotations.remove(&annotation.id);
                }
                Some(_) => {
                    return Err(invalid(
                        "annotation",
                        format!(
                            "id '{}' was used by an earlier annotation; ids are never reused",
                            annotation.id
                        ),
                    ))
                }
            }
            m.annotations
                .insert(annotation.id.clone(), annotation.clone());
            Ok(vec![Touched::Annotation(mid, annotation.id.clone())])
        }
        Event::AnnotationEdited { annotation } => {
            check_annotation(m, annotation)?;
            let old = m
                .annotations
                .get(&annotation.id)
                .ok_or_else(|| missing("annotation", &annotation.id))?;
            if old.author != annotation.author {
                return Err(ReduceError::NotAuthor(annotation.id.clone()));
            }
            // Visibility may change within a log (shared ↔ presenter). An
            // edit is made in the log that holds the annotation: private ↔
            // shared is a move (`AnnotationMoved`), never an edit.
            if (old.visibility == Visibility::Private) != private_log {
                return Err(invalid(
                    "visibility",
                    "private ↔ shared is a move between logs, not an edit",
                ));
            }
            if old.document != annotation.document {
                return Err(invalid("annotation", "the paper cannot change on edit"));
            }
            m.annotations
                .insert(annotation.id.clone(), annotation.clone());
            Ok(vec![Touched::Annotation(mid, annotation.id.clone())])
        }
        Event::AnnotationDeleted { annotation, by, .. } => {
            retire_annotation(m, annotation, by, private_log, None)?;
            Ok(vec![Touched::Annotation(mid, annotation.clone())])
        }
        Event::AnnotationMoved {
            annotation, by, to, ..
        } => {
            if (*to == Visibility::Private) == private_log {
                return Err(invalid(
                    "visibility",
                    "a move goes between the personal log and the meeting log",
                ));
            }
            retire_annotation(m, annotation, by, private_log, Some(*to))?;
            Ok(vec![Touched::Annotation(mid, annotation.clone())])
        }
        Event::AttendanceRecorded {
            person,
            present,
            at,
        } => {
            m.require_member(person)?;
            if !matches!(
                m.status,
                MeetingStatus::Published | MeetingStatus::InSession
            ) {
                return Err(ReduceError::MeetingStatus {
                    action: "check in",
                    status: m.status.code(),
                });
            }
            m.attendance.insert(
                person.clone(),
                Attendance {
                    present: *present,
                    at: *at,
                },
            );
            Ok(vec![Touched::Attendance(mid, person.clone())])
        }
        Event::SpeakerRequested {
            request,
            person,
            item,
            at,
        } => {
            require_in_session(m, "request to speak")?;
            check_id("request", request.as_str())?;
            m.require_member(person)?;
            m.require_item(item.as_ref())?;
            if m.speakers.contains_key(request) {
                return Err(duplicate("request to speak", request));
            }
            if m.speakers.values().any(|s| {
                &s.person == person
                    && matches!(s.status, SpeakerStatus::Waiting | SpeakerStatus::Speaking)
            }) {
                return Err(invalid(
                    "request",
                    format!("{person} is already in the speaker queue"),
                ));
            }
            m.speakers.insert(
                request.clone(),
                SpeakerRequest {
                    id: request.clone(),
                    person: person.clone(),
                    item: item.clone(),
                    requested_at: *at,
                    status: SpeakerStatus::Waiting,
                },
            );
            Ok(vec![Touched::Speaker(mid, request.clone())])
        }
        Event::SpeakerWithdrawn { request, .. } => {
            speaker_step(m, request, SpeakerStatus::Waiting, SpeakerStatus::Withdrawn)
        }
        Event::FloorGiven { request, .. } => {
            require_in_session(m, "give the floor")?;
            let s = m
                .speakers
                .get(request)
                .ok_or_else(|| missing("request to speak", request))?;
            if s.status != SpeakerStatus::Waiting {
                return Err(ReduceError::SpeakerStatus {
                    request: request.clone(),
                    status: s.status.code(),
                });
            }
            let mut touched = Vec::new();
            for s in m.speakers.values_mut() {
                if s.status == SpeakerStatus::Speaking {
                    s.status = SpeakerStatus::Done;
                    touched.push(Touched::Speaker(mid.clone(), s.id.clone()));
                }
            }
            if let Some(s) = m.speakers.get_mut(request) {
                s.status = SpeakerStatus::Speaking;
            }
            touched.push(Touched::Speaker(mid, request.clone()));
            Ok(touched)
        }
        Event::FloorEnded { request, .. } => {
            speaker_step(m, request, SpeakerStatus::Speaking, SpeakerStatus::Done)
        }
        Event::PollCreated {
            poll,
            item,
            question,
            options,
            secret,
            rule,
            eligible,
            closes_at,
        } => {
            m.require_open_for("create a poll")?;
            check_id("poll", poll.as_str())?;
            non_empty("question", question)?;
            if m.polls.contains_key(poll) {
                return Err(duplicate("poll", poll));
            }
            m.require_item(item.as_ref())?;
            if options.len() < 2 || options.iter().any(|o| o.trim().is_empty()) {
                return Err(invalid(
                    "options",
                    "a poll needs at least two non-empty options",
                ));
            }
            if !rule.threshold.is_valid() || rule.quorum.is_some_and(|q| !q.is_valid()) {
                return Err(invalid(
                    "rule",
                    "a fraction needs 0 < denominator and numerator ≤ denominator",
                ));
            }
            if eligible.is_empty() {
                return Err(invalid("eligible", "nobody may vote"));
            }
            let mut seen = std::collections::BTreeSet::new();
            for p in eligible {
                let member = m.require_member(p)?;
                if !member.role.votes() {
                    return Err(ReduceError::NotEligible(p.clone()));
                }
                if !seen.insert(p) {
                    return Err(duplicate("eligible voter", p));
                }
            }
            m.polls.insert(
                poll.clone(),
                Poll {
                    id: poll.clone(),
                    item: item.clone(),
                    question: question.clone(),
                    options: options.clone(),
                    secret: *secret,
                    rule: *rule,
                    eligible: eligible.clone(),
                    closes_at: *closes_at,
                    status: PollStatus::Draft,
                    named: BTreeMap::new(),
                    turnout: Vec::new(),
                    counts: vec![0; options.len()],
                    present_at_open: 0,
                    outcome: None,
                },
            );
            Ok(vec![Touched::Poll(mid, poll.clone())])
        }
        Event::PollOpened { poll, .. } => {
            require_in_session(m, "open a poll")?;
            let present = |p: &PersonId| m.attendance.get(p).is_some_and(|a| a.present);
            let pl = m.polls.get(poll).ok_or_else(|| missing("poll", poll))?;
            require_poll(pl, PollStatus::Draft, "open it")?;
            let n = pl.eligible.iter().filter(|p| present(p)).count();
            let pl = m.polls.get_mut(poll).ok_or_else(|| missing("poll", poll))?;
            pl.status = PollStatus::Open;
            pl.present_at_open = u32::try_from(n).unwrap_or(u32::MAX);
            Ok(vec![Touched::Poll(mid, poll.clone())])
        }
        Event::TurnoutRecorded { poll, person, at } => {
            let pl = m.polls.get_mut(poll).ok_or_else(|| missing("poll", poll))?;
            require_poll(pl, PollStatus::Open, "record turnout")?;
            if !pl.secret {
                return Err(invalid("poll", "turnout is recorded only for secret polls"));
            }
            check_deadline(pl, *at)?;
            if !pl.eligible.contains(person) {
                return Err(ReduceError::NotEligible(person.clone()));
            }
            if pl.turnout.contains(person) {
                return Err(ReduceError::AlreadyVoted(person.clone()));
            }
            pl.turnout.push(person.clone());
            Ok(vec![Touched::Vote(mid, poll.clone(), Some(person.clone()))])
        }
        Event::BallotCast {
            poll,
            voter,
            choice,
            at,
            proof,
        } => {
            if let Some(proof) = proof {
                // The signature itself is checked by the hub and by audit
                // (they know the device keys); here: it must be this ballot.
                let same = matches!(&proof.body.command,
                    crate::protocol::Command::CastBallot { meeting, poll: p, choice: c }
                    if meeting == &mid && p == poll && c == choice);
                if !same {
                    return Err(invalid("proof", "the signed command is not this ballot"));
                }
            }
            let pl = m.polls.get_mut(poll).ok_or_else(|| missing("poll", poll))?;
            require_poll(pl, PollStatus::Open, "vote")?;
            check_deadline(pl, *at)?;
            let idx = usize::try_from(*choice).unwrap_or(usize::MAX);
            if idx >= pl.options.len() {
                return Err(invalid("choice", format!("option {choice} does not exist")));
            }
            match (pl.secret, voter) {
                (false, Some(v)) => {
                    if !pl.eligible.contains(v) {
                        return Err(ReduceError::NotEligible(v.clone()));
                    }
                    if pl.named.contains_key(v) {
                        return Err(ReduceError::AlreadyVoted(v.clone()));
                    }
                    pl.named.insert(v.clone(), *choice);
                }
                (true, None) => {
                    let cast: u32 = pl.counts.iter().sum();
                    if usize::try_from(cast).unwrap_or(usize::MAX) >= pl.turnout.len() {
                        return Err(invalid(
                            "ballot",
                            "a secret ballot needs a recorded turnout first",
                        ));
                    }
                }
                (false, None) => {
                    return Err(invalid("voter", "a named ballot must carry its voter"))
                }
                (true, Some(_)) => {
                    return Err(invalid("voter", "a secret ballot must not carry its voter"))
                }
            }
            pl.counts[idx] += 1;
            Ok(vec![Touched::Vote(mid, poll.clone(), voter.clone())])
        }
        Event::PollClosed { poll, .. } => {
            let pl = m.polls.get_mut(poll).ok_or_else(|| missing("poll", poll))?;
            require_poll(pl, PollStatus::Open, "close it")?;
            let tally = Tally {
                members: u32::try_from(pl.eligible.len()).unwrap_or(u32::MAX),
                present: pl.present_at_open,
                counts: pl.counts.clone(),
            };
            pl.outcome = Some(pl.rule.decide(&tally));
            pl.status = PollStatus::Closed;
            Ok(vec![Touched::Poll(mid, poll.clone())])
        }
        Event::BodyCreated { .. }
        | Event::PersonAdded { .. }
        | Event::DeviceRegistered { .. }
        | Event::DeviceRevoked { .. } => unreachable_directory(event),
    }
}

fn transition(
    m: &mut MeetingState,
    from: MeetingStatus,
    to: MeetingStatus,
    action: &'static str,
) -> Result<Vec<Touched>, ReduceError> {
    if m.status != from {
        return Err(ReduceError::MeetingStatus {
            action,
            status: m.status.code(),
        });
    }
    m.status = to;
    Ok(vec![Touched::Meeting(m.id.clone())])
}

fn require_in_session(m: &MeetingState, action: &'static str) -> Result<(), ReduceError> {
    if m.status != MeetingStatus::InSession {
        return Err(ReduceError::MeetingStatus {
            action,
            status: m.status.code(),
        });
    }
    Ok(())
}

fn require_poll(p: &Poll, want: PollStatus, action: &'static str) -> Result<(), ReduceError> {
    if p.status != want {
        return Err(ReduceError::PollStatus {
            action,
            poll: p.id.clone(),
            status: p.status.code(),
        });
    }
    Ok(())
}

fn check_deadline(p: &Poll, at: Timestamp) -> Result<(), ReduceError> {
    match p.closes_at {
        Some(deadline) if at > deadline => Err(ReduceError::AfterDeadline),
        _ => Ok(()),
    }
}

fn check_position(position: u32, max: usize) -> Result<usize, ReduceError> {
    let p = usize::try_from(position).unwrap_or(usize::MAX);
    if p == 0 || p > max {
        return Err(invalid(
            "position",
            format!("{position} is not between 1 and {max}"),
        ));
    }
    Ok(p - 1)
}

/// Takes an annotation out of the state, by its author, in the log that
/// holds it; its id stays taken ([`MeetingState::retired_annotations`]):
/// deleted for good (`moving_to: None`) or moved to another log.
fn retire_annotation(
    m: &mut MeetingState,
    annotation: &AnnotationId,
    by: &PersonId,
    private_log: bool,
    moving_to: Option<Visibility>,
) -> Result<(), ReduceError> {
    let old = m
        .annotations
        .get(annotation)
        .ok_or_else(|| missing("annotation", annotation))?;
    if &old.author != by {
        return Err(ReduceError::NotAuthor(annotation.clone()));
    }
    if private_log != (old.visibility == Visibility::Private) {
        return Err(invalid(
            "annotation",
            "a private annotation is deleted or moved in its personal log, a shared one in the meeting log",
        ));
    }
    let author = old.author.clone();
    m.annotations.remove(annotation);
    m.retired_annotations
        .insert(annotation.clone(), RetiredAnnotation { author, moving_to });
    Ok(())
}

fn check_annotation(m: &MeetingState, a: &Annotation) -> Result<(), ReduceError> {
    check_id("annotation", a.id.as_str())?;
    m.require_member(&a.author)?;
    let doc = m
        .documents
        .get(&a.document)
        .ok_or_else(|| missing("paper", &a.document))?;
    let v = doc
        .versions
        .iter()
        .find(|v| v.version == a.version)
        .ok_or_else(|| {
            invalid(
                "version",
                format!("paper '{}' has no version {}", a.document, a.version),
            )
        })?;
    if v.pages.is_some_and(|n| a.page >= n) {
        return Err(invalid(
            "page",
            format!("page {} is beyond the paper's end", a.page + 1),
        ));
    }
    if !a.shape.is_finite() {
        return Err(invalid("shape", "coordinates must be finite numbers"));
    }
    check_color(&a.color)
}

fn speaker_step(
    m: &mut MeetingState,
    request: &SpeakerRequestId,
    from: SpeakerStatus,
    to: SpeakerStatus,
) -> Result<Vec<Touched>, ReduceError> {
    let s = m
        .speakers
        .get_mut(request)
        .ok_or_else(|| missing("request to speak", request))?;
    if s.status != from {
        return Err(ReduceError::SpeakerStatus {
            request: request.clone(),
            status: s.status.code(),
        });
    }
    s.status = to;
    Ok(vec![Touched::Speaker(m.id.clone(), request.clone())])
}
