//! Who may read what. Decided here, on the hub, never in the UI.
//!
//! A person sees a meeting they are a member of, once it is published (the
//! secretariat sees drafts too). In the meeting log, an entry about a paper
//! whose confidentiality excludes the reader — the paper itself, its
//! versions, shared annotations on it — is sent redacted (payload withheld,
//! hash kept, DESIGN.md "Event log and sync"). Personal logs go only to
//! their owner.

use phonghop_core::reducer::MeetingState;
use phonghop_core::*;
use std::collections::HashMap;

/// The reader of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// Person.
    pub person: PersonId,
    /// Device.
    pub device: DeviceId,
}

/// The reader's role in a meeting they may open, or `None`.
pub fn role_in(m: &MeetingState, person: &PersonId) -> Option<Role> {
    let role = m.members.get(person)?.role;
    if m.status == MeetingStatus::Draft && role != Role::Secretariat {
        return None;
    }
    Some(role)
}

/// The paper an event names, if any (`annotation_docs` remembers the paper
/// of every annotation ever added, deleted and moved ones included).
///
/// Redaction by construction: every event kind is listed here, with no
/// wildcard, so a new kind does not compile until someone decides whether
/// it names a paper. An event naming a paper a reader may not read reaches
/// that reader redacted (payload withheld).
pub fn document_of<'a>(
    ev: &'a Event,
    annotation_docs: &'a HashMap<AnnotationId, DocumentId>,
) -> Option<&'a DocumentId> {
    match ev {
        Event::DocumentAdded { document, .. }
        | Event::DocumentRetitled { document, .. }
        | Event::DocumentVersionAdded { document, .. } => Some(document),
        Event::ChairFocusSet { document, .. } => document.as_ref(),
        Event::AnnotationAdded { annotation } | Event::AnnotationEdited { annotation } => {
            Some(&annotation.document)
        }
        Event::AnnotationDeleted { annotation, .. } | Event::AnnotationMoved { annotation, .. } => {
            annotation_docs.get(annotation)
        }
        Event::BodyCreated { .. }
        | Event::PersonAdded { .. }
        | Event::DeviceRegistered { .. }
        | Event::DeviceRevoked { .. }
        | Event::MeetingCreated { .. }
        | Event::MeetingDetailsChanged { .. }
        | Event::MeetingRulesSet { .. }
        | Event::RetentionSet { .. }
        | Event::MemberAdded { .. }
        | Event::MeetingPublished { .. }
        | Event::SessionStarted { .. }
        | Event::SessionClosed { .. }
        | Event::AgendaItemAdded { .. }
        | Event::AgendaItemEdited { .. }
        | Event::AgendaItemMoved { .. }
        | Event::CurrentItemSet { .. }
        | Event::ChairFocusWithheld { .. }
        | Event::QuorumOverridden { .. }
        | Event::AttendanceRecorded { .. }
        | Event::SpeakerRequested { .. }
        | Event::SpeakerWithdrawn { .. }
        | Event::FloorGiven { .. }
        | Event::FloorEnded { .. }
        | Event::PollCreated { .. }
        | Event::PollOpened { .. }
        | Event::TurnoutRecorded { .. }
        | Event::BallotCast { .. }
        | Event::PollClosed { .. } => None,
    }
}

/// Whether `person` with `role` may read events about `document` (an
/// unknown paper: no).
pub fn may_read_document(
    m: &MeetingState,
    document: &DocumentId,
    person: &PersonId,
    role: Role,
) -> bool {
    // Fail closed: a paper this state does not know is nobody's to read.
    m.documents
        .get(document)
        .is_some_and(|d| d.confidentiality.allows(person, role))
}

/// The entries as this reader may see them.
pub fn redact(
    m: &MeetingState,
    entries: &[LogEntry],
    person: &PersonId,
    role: Role,
    annotation_docs: &HashMap<AnnotationId, DocumentId>,
) -> Vec<LogEntry> {
    // Nothing can be hidden from a reader every paper of the meeting
    // allows (an unknown paper counts as readable): skip parsing each
    // payload, which dominated serving a big log to hundreds of devices.
    if m.documents
        .values()
        .all(|d| d.confidentiality.allows(person, role))
    {
        return entries.to_vec();
    }
    entries
        .iter()
        .map(|e| {
            let hidden = e
                .event()
                .ok()
                .flatten()
                .as_ref()
                .and_then(|ev| document_of(ev, annotation_docs).cloned())
                .is_some_and(|d| !may_read_document(m, &d, person, role));
            if hidden {
                e.redacted()
            } else {
                e.clone()
            }
        })
        .collect()
}

/// Whether the blob `sha` belongs to a paper version (or its analysis) of
/// a meeting this person may read.
pub fn may_read_blob(state: &State, sha: &Hash, person: &PersonId) -> bool {
    state.meetings.values().any(|m| {
        let Some(role) = role_in(m, person) else {
            return false;
        };
        m.documents.values().any(|d| {
            d.confidentiality.allows(person, role)
                && d.versions
                    .iter()
                    .any(|v| &v.sha256 == sha || v.analysis.as_ref() == Some(sha))
        })
    })
}
