//! What the hub should do with a command: the specification as a small
//! model of the room, independent of the hub's code.
//!
//! [`Model::expect`] says, for a command from a person in the room as it
//! stands (the model follows every outcome the hub reported), whether the
//! hub must apply it, must refuse it, or may do either (where the design
//! does not say). [`Model::apply`] follows an applied command.
//!
//! The rules are DESIGN.md's and the issue's, not the reducer's: ids are
//! unique for their lifetime (a deleted annotation's id stays taken); a
//! note may be shared or made private again by its author; every field
//! has a size limit; only the chair and the secretariat run the session.

use phonghop_core::protocol::Command;
use phonghop_core::*;
use std::collections::{BTreeMap, BTreeSet};

/// Note text no meeting needs (the design asks for a limit; any sane one
/// is far below this).
pub const OVERSIZED_TEXT: usize = 100_000;
/// Ink points no stroke needs.
pub const OVERSIZED_INK: usize = 20_000;
/// Note text over any HTTP request limit too.
pub const HUGE_TEXT: usize = 5_000_000;

/// What the hub must do with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Apply it.
    Apply,
    /// Refuse it, for this reason.
    Refuse(&'static str),
    /// The design does not say.
    Either,
}

/// A paper as the model knows it.
#[derive(Debug, Clone)]
pub struct PaperM {
    /// Id.
    pub id: DocumentId,
    /// Who may read it.
    pub confidentiality: Confidentiality,
    /// Pages per version.
    pub pages: Vec<u32>,
}

/// An annotation ever made.
#[derive(Debug, Clone)]
pub struct NoteM {
    /// Author.
    pub author: PersonId,
    /// Paper.
    pub document: DocumentId,
    /// Version.
    pub version: u32,
    /// Page.
    pub page: u32,
    /// Private or shared.
    pub visibility: Visibility,
    /// Not deleted.
    pub alive: bool,
}

/// A poll.
#[derive(Debug, Clone)]
pub struct PollM {
    /// Secret ballot.
    pub secret: bool,
    /// Options.
    pub options: u32,
    /// Status.
    pub status: PollStatus,
    /// Who may vote.
    pub eligible: BTreeSet<PersonId>,
    /// Who voted, with their choice.
    pub votes: BTreeMap<PersonId, u32>,
}

/// A request to speak.
#[derive(Debug, Clone)]
pub struct SpeakerM {
    /// Who asked.
    pub person: PersonId,
    /// Where it stands.
    pub status: SpeakerStatus,
}

/// The room as the hub should have it.
#[derive(Debug, Clone)]
pub struct Model {
    /// The room's meeting.
    pub meeting: MeetingId,
    /// The other meeting.
    pub other: MeetingId,
    /// Members of the other meeting.
    pub other_members: BTreeSet<PersonId>,
    /// Members and roles.
    pub roles: BTreeMap<PersonId, Role>,
    /// Meeting status.
    pub status: MeetingStatus,
    /// Agenda items.
    pub items: Vec<AgendaItemId>,
    /// Papers.
    pub papers: Vec<PaperM>,
    /// Every annotation ever made (deleted ones too).
    pub notes: BTreeMap<AnnotationId, NoteM>,
    /// Polls.
    pub polls: BTreeMap<PollId, PollM>,
    /// Requests to speak.
    pub speakers: BTreeMap<SpeakerRequestId, SpeakerM>,
}

impl Model {
    /// The role of `person` in the room's meeting.
    pub fn role(&self, person: &PersonId) -> Option<Role> {
        self.roles.get(person).copied()
    }

    /// Whether `person` may read `paper` (index).
    pub fn may_read(&self, person: &PersonId, paper: usize) -> bool {
        match (self.papers.get(paper), self.role(person)) {
            (Some(p), Some(role)) => p.confidentiality.allows(person, role),
            _ => false,
        }
    }

    /// The paper with this id.
    pub fn paper(&self, id: &DocumentId) -> Option<&PaperM> {
        self.papers.iter().find(|p| &p.id == id)
    }

    /// The open polls.
    pub fn open_polls(&self) -> Vec<PollId> {
        self.polls_in(PollStatus::Open)
    }

    /// The polls in `status`.
    pub fn polls_in(&self, status: PollStatus) -> Vec<PollId> {
        self.polls
            .iter()
            .filter(|(_, p)| p.status == status)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Live annotations of `person`.
    pub fn notes_of(&self, person: &PersonId) -> Vec<AnnotationId> {
        self.notes
            .iter()
            .filter(|(_, n)| n.alive && &n.author == person)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Requests of `person` in `status`.
    pub fn requests(
        &self,
        person: Option<&PersonId>,
        status: SpeakerStatus,
    ) -> Vec<SpeakerRequestId> {
        self.speakers
            .iter()
            .filter(|(_, s)| s.status == status && person.is_none_or(|p| &s.person == p))
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn annotation_problem(
        &self,
        person: &PersonId,
        role: Role,
        a: &Annotation,
    ) -> Option<&'static str> {
        if &a.author != person {
            return Some("impersonation");
        }
        if !validate_id(a.id.as_str()) {
            return Some("bad_id");
        }
        let Some(p) = self.paper(&a.document) else {
            return Some("no_paper");
        };
        if !p.confidentiality.allows(person, role) {
            return Some("unreadable_paper");
        }
        let pages = usize::try_from(a.version)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|v| p.pages.get(v));
        match pages {
            None => return Some("no_version"),
            Some(n) if a.page >= *n => return Some("bad_page"),
            _ => {}
        }
        let text = a.text.as_ref().map_or(0, String::len);
        let ink = match &a.shape {
            Shape::Ink { strokes, .. } => strokes.iter().map(Vec::len).sum(),
            Shape::Highlight { rects } => rects.len(),
            Shape::Note { .. } => 0,
        };
        if text >= OVERSIZED_TEXT || ink >= OVERSIZED_INK {
            return Some("oversized");
        }
        None
    }

    /// What the hub must do with `cmd` from `person`, now.
    pub fn expect(&self, person: &PersonId, cmd: &Command) -> Expect {
        use Expect::*;
        let meeting = cmd.meeting();
        if meeting != &self.meeting {
            if meeting == &self.other && self.other_members.contains(person) {
                return match cmd {
                    Command::CheckIn { .. } => Apply,
                    _ => Either,
                };
            }
            return Refuse("wrong_meeting");
        }
        let Some(role) = self.role(person) else {
            return Refuse("not_member");
        };
        if cmd.is_chair_only() && !matches!(role, Role::Chair | Role::Secretariat) {
            return Refuse("not_chair");
        }
        let in_session = self.status == MeetingStatus::InSession;
        let closed = self.status == MeetingStatus::Closed;
        let item_ok = |i: &Option<AgendaItemId>| i.as_ref().is_none_or(|i| self.items.contains(i));
        match cmd {
            Command::AddAnnotation { annotation: a, .. } => {
                if closed {
                    return Either;
                }
                if let Some(r) = self.annotation_problem(person, role, a) {
                    return Refuse(r);
                }
                if self.notes.contains_key(&a.id) {
                    return Refuse("reused_id");
                }
                Apply
            }
            Command::EditAnnotation { annotation: a, .. } => {
                if closed {
                    return Either;
                }
                let own = self
                    .notes
                    .get(&a.id)
                    .filter(|n| n.alive && &n.author == person);
                let Some(n) = own else {
                    return Refuse("not_own_note");
                };
                if let Some(r) = self.annotation_problem(person, role, a) {
                    return Refuse(r);
                }
                if n.document != a.document {
                    return Either;
                }
                Apply
            }
            Command::DeleteAnnotation { annotation, .. } => {
                if closed {
                    return Either;
                }
                match self.notes.get(annotation) {
                    Some(n) if n.alive && &n.author == person => Apply,
                    _ => Refuse("not_own_note"),
                }
            }
            Command::RequestToSpeak { request, item, .. } => {
                if !in_session {
                    return Refuse("not_in_session");
                }
                if self.speakers.contains_key(request) {
                    return Refuse("reused_id");
                }
                if !validate_id(request.as_str()) || !item_ok(item) {
                    return Refuse("invalid");
                }
                let queued = self.speakers.values().any(|s| {
                    &s.person == person
                        && matches!(s.status, SpeakerStatus::Waiting | SpeakerStatus::Speaking)
                });
                if queued {
                    return Refuse("already_queued");
                }
                Apply
            }
            Command::WithdrawRequest { request, .. } => match self.speakers.get(request) {
                Some(s) if &s.person == person && s.status == SpeakerStatus::Waiting => Apply,
                _ => Refuse("not_own_request"),
            },
            Command::CheckIn { .. } => {
                if matches!(
                    self.status,
                    MeetingStatus::Published | MeetingStatus::InSession
                ) {
                    Apply
                } else {
                    Refuse("meeting_status")
                }
            }
            Command::CastBallot { poll, choice, .. } => {
                let Some(p) = self.polls.get(poll) else {
                    return Refuse("no_poll");
                };
                if p.status != PollStatus::Open {
                    return Refuse("poll_not_open");
                }
                if !p.eligible.contains(person) {
                    return Refuse("not_eligible");
                }
                if p.votes.contains_key(person) {
                    return Refuse("double_vote");
                }
                if *choice >= p.options {
                    return Refuse("bad_choice");
                }
                Apply
            }
            // Below quorum the hub refuses unless the chair overrides; who
            // is checked in at the hub depends on check-ins the model may
            // not have settled yet: "either", and `check_safeguards`
            // replays the hub's log to judge each decision exactly.
            Command::StartSession {
                override_quorum, ..
            } => {
                if self.status != MeetingStatus::Published {
                    Refuse("meeting_status")
                } else if *override_quorum {
                    Apply
                } else {
                    Either
                }
            }
            Command::CloseSession { .. } => {
                if in_session && self.open_polls().is_empty() {
                    Apply
                } else {
                    Refuse("meeting_status")
                }
            }
            Command::SetCurrentItem { item, .. } => {
                if !closed && item_ok(item) {
                    Apply
                } else {
                    Refuse("invalid")
                }
            }
            Command::SetChairFocus { document, page, .. } => {
                if !in_session {
                    return Refuse("not_in_session");
                }
                match document {
                    None => Apply,
                    Some(d) => match self.paper(d) {
                        Some(p) if p.pages.last().is_some_and(|n| page < n) => Apply,
                        _ => Refuse("invalid"),
                    },
                }
            }
            Command::GiveFloor { request, .. } => {
                let waiting = self
                    .speakers
                    .get(request)
                    .is_some_and(|s| s.status == SpeakerStatus::Waiting);
                if in_session && waiting {
                    Apply
                } else {
                    Refuse("speaker_status")
                }
            }
            Command::EndFloor { request, .. } => {
                let speaking = self
                    .speakers
                    .get(request)
                    .is_some_and(|s| s.status == SpeakerStatus::Speaking);
                if speaking {
                    Apply
                } else {
                    Refuse("speaker_status")
                }
            }
            Command::CreatePoll {
                poll,
                item,
                question,
                options,
                ..
            } => {
                if closed || self.polls.contains_key(poll) {
                    return Refuse("poll_exists_or_closed");
                }
                let sane = validate_id(poll.as_str())
                    && item_ok(item)
                    && !question.trim().is_empty()
                    && options.len() >= 2
                    && options.iter().all(|o| !o.trim().is_empty());
                if sane {
                    Apply
                } else {
                    Refuse("invalid")
                }
            }
            Command::OpenPoll {
                poll,
                override_quorum,
                ..
            } => {
                let draft = self
                    .polls
                    .get(poll)
                    .is_some_and(|p| p.status == PollStatus::Draft);
                if !(in_session && draft) {
                    Refuse("poll_status")
                } else if *override_quorum {
                    Apply
                } else {
                    Either
                }
            }
            Command::ClosePoll {
                poll,
                override_quorum,
                confirm_missing,
                ..
            } => {
                let Some(p) = self
                    .polls
                    .get(poll)
                    .filter(|p| p.status == PollStatus::Open)
                else {
                    return Refuse("poll_status");
                };
                // Ballots the model has not settled may have reached the
                // hub: a missing voter in the model is "either".
                let all_voted = p.eligible.iter().all(|v| p.votes.contains_key(v));
                if *override_quorum && (*confirm_missing || all_voted) {
                    Apply
                } else {
                    Either
                }
            }
        }
    }

    /// Follows a command the hub applied.
    pub fn apply(&mut self, person: &PersonId, cmd: &Command) {
        if cmd.meeting() != &self.meeting {
            return;
        }
        match cmd {
            Command::AddAnnotation { annotation: a, .. }
            | Command::EditAnnotation { annotation: a, .. } => {
                self.notes.insert(
                    a.id.clone(),
                    NoteM {
                        author: person.clone(),
                        document: a.document.clone(),
                        version: a.version,
                        page: a.page,
                        visibility: a.visibility,
                        alive: true,
                    },
                );
            }
            Command::DeleteAnnotation { annotation, .. } => {
                if let Some(n) = self.notes.get_mut(annotation) {
                    n.alive = false;
                }
            }
            Command::RequestToSpeak { request, .. } => {
                self.speakers.insert(
                    request.clone(),
                    SpeakerM {
                        person: person.clone(),
                        status: SpeakerStatus::Waiting,
                    },
                );
            }
            Command::WithdrawRequest { request, .. } => {
                self.speaker(request, SpeakerStatus::Withdrawn)
            }
            Command::GiveFloor { request, .. } => {
                for s in self.speakers.values_mut() {
                    if s.status == SpeakerStatus::Speaking {
                        s.status = SpeakerStatus::Done;
                    }
                }
                self.speaker(request, SpeakerStatus::Speaking);
            }
            Command::EndFloor { request, .. } => self.speaker(request, SpeakerStatus::Done),
            Command::CastBallot { poll, choice, .. } => {
                if let Some(p) = self.polls.get_mut(poll) {
                    p.votes.insert(person.clone(), *choice);
                }
            }
            Command::StartSession { .. } => self.status = MeetingStatus::InSession,
            Command::CloseSession { .. } => self.status = MeetingStatus::Closed,
            Command::CreatePoll {
                poll,
                options,
                secret,
                ..
            } => {
                let eligible = self
                    .roles
                    .iter()
                    .filter(|(_, r)| r.votes())
                    .map(|(p, _)| p.clone())
                    .collect();
                self.polls.insert(
                    poll.clone(),
                    PollM {
                        secret: *secret,
                        options: u32::try_from(options.len()).unwrap_or(u32::MAX),
                        status: PollStatus::Draft,
                        eligible,
                        votes: BTreeMap::new(),
                    },
                );
            }
            Command::OpenPoll { poll, .. } => self.poll(poll, PollStatus::Open),
            Command::ClosePoll { poll, .. } => self.poll(poll, PollStatus::Closed),
            Command::CheckIn { .. }
            | Command::SetCurrentItem { .. }
            | Command::SetChairFocus { .. } => {}
        }
    }

    fn speaker(&mut self, request: &SpeakerRequestId, status: SpeakerStatus) {
        if let Some(s) = self.speakers.get_mut(request) {
            s.status = status;
        }
    }

    fn poll(&mut self, poll: &PollId, status: PollStatus) {
        if let Some(p) = self.polls.get_mut(poll) {
            p.status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the model calls oversized must be over the limits the hub and
    /// devices enforce, or a legit command would be expected refused.
    #[test]
    fn oversized_is_over_the_limits() {
        let l = phonghop_core::limits::LIMITS;
        assert!(OVERSIZED_TEXT > l.note_text_bytes, "note text");
        assert!(OVERSIZED_INK > l.ink_points, "ink points");
        assert!(
            HUGE_TEXT > l.request_bytes,
            "the huge note passes the HTTP limit"
        );
    }
}
