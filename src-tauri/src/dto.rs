//! Transport shapes for the UI (camelCase JSON), with conversions from the
//! domain types. Domain types carry no UI concerns; this is where the UI's
//! view of them is made (the contract is `ui/src/lib/backend.ts`).

use phonghop_client::{LocalAnnotation, PendingState, SyncProgress};
use phonghop_core::protocol::{Command, CommandAck, CommandOutcome};
use phonghop_core::reducer::MeetingState;
use phonghop_core::*;
use phonghop_store::BlobStore;
use serde::{Deserialize, Serialize};

/// `{code, message}`: the only error shape that crosses to the UI.
#[derive(Debug, Clone, Serialize)]
pub struct CmdError {
    /// Stable code the UI switches on.
    pub code: String,
    /// For people (shown when the UI has no translation for the code).
    pub message: String,
}

impl CmdError {
    /// An error with a code.
    pub fn new(code: &str, message: impl Into<String>) -> CmdError {
        CmdError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<phonghop_client::ClientError> for CmdError {
    fn from(e: phonghop_client::ClientError) -> Self {
        CmdError::new(&e.code(), e.to_string())
    }
}

impl From<phonghop_pdf::PdfError> for CmdError {
    fn from(e: phonghop_pdf::PdfError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

/// Who is signed in.
#[derive(Debug, Serialize)]
pub struct PersonDto {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// `app_status`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// Paired with a hub.
    pub joined: bool,
    /// The hub.
    pub hub_url: Option<String>,
    /// The person.
    pub person: Option<PersonDto>,
    /// online / offline / connecting.
    pub connection: phonghop_client::Connection,
    /// Download progress.
    pub sync: SyncProgress,
}

/// A meeting in the list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingSummary {
    id: String,
    body: String,
    title: String,
    starts_at: Option<i64>,
    place: String,
    status: &'static str,
    current_item: Option<String>,
    /// When this device deletes the pack (the meeting's retention rule).
    delete_at: Option<i64>,
    /// Days offline after which the pack locks, if the rule says so.
    lock_after_offline_days: Option<u32>,
    /// Locked now: this device has not reached the hub for too long.
    pub locked: bool,
}

impl From<&MeetingState> for MeetingSummary {
    fn from(m: &MeetingState) -> Self {
        MeetingSummary {
            id: m.id.to_string(),
            body: m.body.clone(),
            title: m.title.clone(),
            starts_at: m.starts_at.map(|t| t.0),
            place: m.place.clone().unwrap_or_default(),
            status: m.status.code(),
            current_item: m.current_item.as_ref().map(|i| i.to_string()),
            delete_at: m.retention.delete_at(m.closed_at).map(|t| t.0),
            lock_after_offline_days: m.retention.lock_after_offline_days,
            locked: false,
        }
    }
}

/// A version's state on this device.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperVersion {
    version: u32,
    sha256: String,
    pages: u32,
    size: u64,
    downloaded: bool,
    bytes_done: u64,
}

/// A paper under an agenda item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paper {
    id: String,
    title: String,
    confidential: bool,
    versions: u32,
    latest: PaperVersion,
}

/// An agenda line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgendaItemDto {
    id: String,
    number: String,
    depth: usize,
    title: String,
    presenter: String,
    planned_minutes: u32,
    papers: Vec<Paper>,
}

/// `get_meeting`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingDetail {
    #[serde(flatten)]
    summary: MeetingSummary,
    agenda: Vec<AgendaItemDto>,
}

fn paper(d: &Document, blobs: &BlobStore) -> Option<Paper> {
    let v = d.versions.last()?;
    let downloaded = blobs.has(&v.sha256);
    let bytes_done = if downloaded {
        v.size
    } else {
        std::fs::metadata(
            blobs
                .path(&v.sha256)
                .parent()?
                .parent()?
                .join("tmp")
                .join(format!("{}.part", v.sha256)),
        )
        .map(|m| m.len())
        .unwrap_or(0)
    };
    Some(Paper {
        id: d.id.to_string(),
        title: d.title.clone(),
        confidential: matches!(d.confidentiality, Confidentiality::Named(_)),
        versions: d.versions.len() as u32,
        latest: PaperVersion {
            version: v.version,
            sha256: v.sha256.to_hex(),
            pages: v.pages.unwrap_or(0),
            size: v.size,
            downloaded,
            bytes_done,
        },
    })
}

impl MeetingDetail {
    /// Builds the agenda with papers and their download state.
    pub fn build(m: &MeetingState, blobs: &BlobStore) -> MeetingDetail {
        let mut agenda: Vec<AgendaItemDto> = m
            .numbered_agenda()
            .into_iter()
            .map(|n| {
                let mut docs: Vec<&Document> = m
                    .documents
                    .values()
                    .filter(|d| d.item.as_ref() == Some(&n.item.id))
                    .collect();
                docs.sort_by(|a, b| a.title.cmp(&b.title));
                AgendaItemDto {
                    id: n.item.id.to_string(),
                    number: n.number,
                    depth: n.depth,
                    title: n.item.title.clone(),
                    presenter: n.item.presenter.clone().unwrap_or_default(),
                    planned_minutes: n.item.planned_minutes.unwrap_or(0),
                    papers: docs.into_iter().filter_map(|d| paper(d, blobs)).collect(),
                }
            })
            .collect();
        // Papers on no agenda item get a line of their own at the end.
        let loose: Vec<Paper> = m
            .documents
            .values()
            .filter(|d| d.item.is_none())
            .filter_map(|d| paper(d, blobs))
            .collect();
        if !loose.is_empty() {
            agenda.push(AgendaItemDto {
                id: "_other".into(),
                number: String::new(),
                depth: 0,
                title: String::new(),
                presenter: String::new(),
                planned_minutes: 0,
                papers: loose,
            });
        }
        MeetingDetail {
            summary: m.into(),
            agenda,
        }
    }
}

/// A page's size in PDF points.
#[derive(Debug, Serialize)]
pub struct PageSize {
    width: f32,
    height: f32,
}

/// `get_paper_pages`: the size of every page (the reader's layout).
#[derive(Debug, Serialize)]
pub struct PaperPages {
    /// Pages.
    pub pages: Vec<PageSize>,
    /// The paper's outline, depth first.
    pub outline: Vec<phonghop_core::navigation::OutlineEntry>,
}

impl From<phonghop_client::PaperLayout> for PaperPages {
    fn from(l: phonghop_client::PaperLayout) -> Self {
        PaperPages {
            pages: l
                .sizes
                .into_iter()
                .map(|(width, height)| PageSize { width, height })
                .collect(),
            outline: l.outline,
        }
    }
}

/// A search hit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    meeting_id: String,
    document_id: String,
    version: u32,
    page: u32,
    snippet: String,
    /// The character boxes of every match on the page, in text order.
    matches: Vec<Vec<[f32; 4]>>,
}

impl From<phonghop_client::BoxedHit> for SearchHit {
    fn from((h, matches): phonghop_client::BoxedHit) -> Self {
        SearchHit {
            meeting_id: h.meeting.to_string(),
            document_id: h.document.to_string(),
            version: h.version,
            page: h.page,
            snippet: h.snippet,
            matches,
        }
    }
}

/// An annotation as the UI sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationView {
    /// Id (made by the UI).
    pub id: String,
    /// Paper.
    pub document_id: String,
    /// Version it was made on.
    pub version: u32,
    /// Page, 0-based.
    pub page: u32,
    /// Geometry.
    pub shape: Shape,
    /// "#rrggbb".
    pub color: String,
    /// Note text.
    pub text: Option<String>,
    /// private / shared.
    pub visibility: Visibility,
    /// Last change, ms.
    #[serde(default)]
    pub updated_at: i64,
    /// saved / sent / refused (ignored on input).
    #[serde(default = "saved")]
    pub state: PendingState,
    /// Why the last change made on this device was refused (state
    /// `refused`), until dismissed (ignored on input).
    #[serde(default, skip_deserializing)]
    pub refusal: Option<OutboxRefusal>,
}

fn saved() -> PendingState {
    PendingState::Saved
}

impl From<LocalAnnotation> for AnnotationView {
    fn from(l: LocalAnnotation) -> Self {
        let a = l.annotation;
        AnnotationView {
            id: a.id.to_string(),
            document_id: a.document.to_string(),
            version: a.version,
            page: a.page,
            shape: a.shape,
            color: a.color,
            text: a.text,
            visibility: a.visibility,
            updated_at: a.updated_at.0,
            state: l.state,
            refusal: l.refusal.map(OutboxRefusal::from),
        }
    }
}

impl AnnotationView {
    /// The domain annotation, authored by `author` at `now`.
    pub fn to_annotation(&self, author: &PersonId, now: Timestamp) -> Result<Annotation, CmdError> {
        if !validate_id(&self.id) {
            return Err(CmdError::new(
                "bad_request",
                format!("'{}' is not a valid annotation id", self.id),
            ));
        }
        Ok(Annotation {
            id: AnnotationId::new(&self.id),
            author: author.clone(),
            document: DocumentId::new(&self.document_id),
            version: self.version,
            page: self.page,
            shape: self.shape.clone(),
            color: self.color.clone(),
            text: self.text.clone(),
            visibility: self.visibility,
            updated_at: now,
        })
    }
}

// ------------------------------------------------------------- session

/// What the chair or a delegate asks for during a session (the UI's
/// `SessionAction`): the protocol's session commands without the meeting,
/// which comes as its own argument. Ids of new things (requests to speak,
/// polls) are made by the UI, like annotation ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum SessionAction {
    /// "Điểm danh" (or leaving).
    CheckIn {
        /// Present or leaving.
        present: bool,
    },
    /// "Đăng ký phát biểu".
    RequestToSpeak {
        /// New request id.
        request: String,
        /// On which item.
        item: Option<String>,
    },
    /// Withdraw my request.
    WithdrawRequest {
        /// Which.
        request: String,
    },
    /// Vote.
    CastBallot {
        /// Poll.
        poll: String,
        /// Option index.
        choice: u32,
    },
    /// Chair: open the session.
    StartSession {
        /// Confirmed: go on below quorum (recorded).
        #[serde(default)]
        override_quorum: bool,
    },
    /// Chair: close the session.
    CloseSession,
    /// Chair: move to an agenda item.
    SetCurrentItem {
        /// Item, or none.
        item: Option<String>,
    },
    /// Chair: show a paper and page to those following.
    SetChairFocus {
        /// Paper, or none.
        document: Option<String>,
        /// Page, 0-based.
        page: u32,
    },
    /// Chair: "mời phát biểu".
    GiveFloor {
        /// Which request.
        request: String,
    },
    /// Chair: the speaker is done.
    EndFloor {
        /// Which request.
        request: String,
    },
    /// Chair: prepare a poll.
    CreatePoll {
        /// New poll id.
        poll: String,
        /// Agenda item.
        item: Option<String>,
        /// Question.
        question: String,
        /// Options; option 0 approves.
        options: Vec<String>,
        /// Secret ballot.
        secret: bool,
        /// Majority rule, as data.
        rule: MajorityRule,
        /// Optional deadline, ms.
        closes_at: Option<i64>,
    },
    /// Chair: start accepting ballots.
    OpenPoll {
        /// Poll.
        poll: String,
        /// Confirmed: go on below quorum (recorded).
        #[serde(default)]
        override_quorum: bool,
    },
    /// Chair: close and count.
    ClosePoll {
        /// Poll.
        poll: String,
        /// Confirmed: go on below quorum (recorded).
        #[serde(default)]
        override_quorum: bool,
        /// Confirmed: close while members have not voted.
        #[serde(default)]
        confirm_missing: bool,
    },
}

fn id_of<T>(what: &str, s: String, make: impl FnOnce(String) -> T) -> Result<T, CmdError> {
    if validate_id(&s) {
        Ok(make(s))
    } else {
        Err(CmdError::new(
            "bad_request",
            format!("'{s}' is not a valid {what} id (letters, digits, '-' and '_' only)"),
        ))
    }
}

fn opt_id<T>(
    what: &str,
    s: Option<String>,
    make: impl FnOnce(String) -> T,
) -> Result<Option<T>, CmdError> {
    s.map(|s| id_of(what, s, make)).transpose()
}

impl SessionAction {
    /// The protocol command for `meeting` (ids checked, nothing decided:
    /// the hub checks roles and states).
    pub fn into_command(self, meeting: MeetingId) -> Result<Command, CmdError> {
        use SessionAction as A;
        Ok(match self {
            A::CheckIn { present } => Command::CheckIn { meeting, present },
            A::RequestToSpeak { request, item } => Command::RequestToSpeak {
                meeting,
                request: id_of("request", request, SpeakerRequestId::new)?,
                item: opt_id("agenda item", item, AgendaItemId::new)?,
            },
            A::WithdrawRequest { request } => Command::WithdrawRequest {
                meeting,
                request: id_of("request", request, SpeakerRequestId::new)?,
            },
            A::CastBallot { poll, choice } => Command::CastBallot {
                meeting,
                poll: id_of("poll", poll, PollId::new)?,
                choice,
            },
            A::StartSession { override_quorum } => Command::StartSession {
                meeting,
                override_quorum,
            },
            A::CloseSession => Command::CloseSession { meeting },
            A::SetCurrentItem { item } => Command::SetCurrentItem {
                meeting,
                item: opt_id("agenda item", item, AgendaItemId::new)?,
            },
            A::SetChairFocus { document, page } => Command::SetChairFocus {
                meeting,
                document: opt_id("paper", document, DocumentId::new)?,
                page,
            },
            A::GiveFloor { request } => Command::GiveFloor {
                meeting,
                request: id_of("request", request, SpeakerRequestId::new)?,
            },
            A::EndFloor { request } => Command::EndFloor {
                meeting,
                request: id_of("request", request, SpeakerRequestId::new)?,
            },
            A::CreatePoll {
                poll,
                item,
                question,
                options,
                secret,
                rule,
                closes_at,
            } => Command::CreatePoll {
                meeting,
                poll: id_of("poll", poll, PollId::new)?,
                item: opt_id("agenda item", item, AgendaItemId::new)?,
                question: question.trim().to_string(),
                options: options.into_iter().map(|o| o.trim().to_string()).collect(),
                secret,
                rule,
                closes_at: closes_at.map(Timestamp),
            },
            A::OpenPoll {
                poll,
                override_quorum,
            } => Command::OpenPoll {
                meeting,
                poll: id_of("poll", poll, PollId::new)?,
                override_quorum,
            },
            A::ClosePoll {
                poll,
                override_quorum,
                confirm_missing,
            } => Command::ClosePoll {
                meeting,
                poll: id_of("poll", poll, PollId::new)?,
                override_quorum,
                confirm_missing,
            },
        })
    }
}

/// Where a command made on this device stands.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandState {
    /// The command id (the outbox key).
    pub command_id: String,
    /// pending (in the outbox) / applied / refused.
    pub state: &'static str,
    /// The hub's refusal.
    pub refusal: Option<Refusal>,
}

/// The hub's reason for refusing a command.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// Stable code (`poll_status`, `after_deadline`, `not_chair`, …).
    pub code: String,
    /// For people.
    pub message: String,
}

impl CommandState {
    /// From the recorded ack (None: still in the outbox).
    pub fn new(id: &CommandId, ack: Option<&CommandAck>) -> CommandState {
        let (state, refusal) = match ack.map(|a| &a.outcome) {
            None => ("pending", None),
            Some(CommandOutcome::Applied { .. }) => ("applied", None),
            Some(CommandOutcome::Refused { code, message }) => (
                "refused",
                Some(Refusal {
                    code: code.clone(),
                    message: message.clone(),
                }),
            ),
        };
        CommandState {
            command_id: id.to_string(),
            state,
            refusal,
        }
    }
}

/// A refused outbox command: which one (to dismiss it), the code and
/// the reason the hub (or the transport) gave.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRefusal {
    /// The refused command.
    pub command_id: String,
    /// Stable code (`too_large`, `poll_status`, …).
    pub code: String,
    /// The hub's reason.
    pub message: String,
}

impl From<phonghop_client::Refusal> for OutboxRefusal {
    fn from(r: phonghop_client::Refusal) -> Self {
        OutboxRefusal {
            command_id: r.command.to_string(),
            code: r.code,
            message: r.message,
        }
    }
}

/// What an outbox command is about: `annotation`, `poll`,
/// `speaker_request` (with `id`), `attendance`, `session`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConcernDto {
    /// The kind of thing.
    pub kind: &'static str,
    /// Its id, for things that have one.
    pub id: Option<String>,
    /// An annotation's paper and page (0-based), to show it there.
    pub document_id: Option<String>,
    /// Page, 0-based.
    pub page: Option<u32>,
}

/// One outbox command that has not settled: waiting for the hub, or
/// refused and not yet dismissed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItem {
    /// The command id.
    pub command_id: String,
    /// The command's type (`add_annotation`, `cast_ballot`, …).
    pub command: String,
    /// What it is about.
    pub concern: ConcernDto,
    /// pending / refused.
    pub state: phonghop_client::OutboxState,
    /// The refusal, when refused.
    pub refusal: Option<OutboxRefusal>,
    /// Failed sends so far that may pass (network, 5xx), while pending.
    pub attempts: u32,
    /// The latest of those failures, while pending.
    pub last_error: Option<String>,
    /// When it was made on this device, ms.
    pub created_at: i64,
}

impl From<phonghop_client::OutboxEntry> for OutboxItem {
    fn from(e: phonghop_client::OutboxEntry) -> Self {
        use phonghop_client::Concern;
        let (document_id, page) = match e.command() {
            Command::AddAnnotation { annotation, .. }
            | Command::EditAnnotation { annotation, .. } => {
                (Some(annotation.document.to_string()), Some(annotation.page))
            }
            _ => (None, None),
        };
        let (kind, id) = match e.concern() {
            Concern::Annotation(a) => ("annotation", Some(a.to_string())),
            Concern::Poll(p) => ("poll", Some(p.to_string())),
            Concern::SpeakerRequest(r) => ("speaker_request", Some(r.to_string())),
            Concern::Attendance => ("attendance", None),
            Concern::Session => ("session", None),
        };
        let command = serde_json::to_value(e.command())
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_default();
        OutboxItem {
            command_id: e.id().to_string(),
            command,
            concern: ConcernDto {
                kind,
                id,
                document_id,
                page,
            },
            state: e.state,
            refusal: e.refusal.map(OutboxRefusal::from),
            attempts: e.attempts,
            last_error: e.last_error,
            created_at: e.created_at.0,
        }
    }
}

/// Focus of the chair.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChairFocusDto {
    document_id: String,
    page: u32,
}

/// A member and whether they checked in.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendeeDto {
    id: String,
    name: String,
    role: &'static str,
    present: bool,
}

/// Attendance figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceDto {
    /// Voting members (chair and delegates) checked in.
    present: u32,
    /// Voting members.
    total: u32,
    /// Checked-in voting members the meeting's quorum needs.
    required: u32,
    /// The quorum holds (the hub refuses to open the session or a poll,
    /// or to close one, below it without the chair's override).
    quorum_met: bool,
    /// A ballot from a member not checked in: `check_in` or `refuse`.
    unchecked_ballot: &'static str,
    /// Where the chair went on below quorum, oldest first.
    overrides: Vec<QuorumOverrideDto>,
    /// Everyone, voting or not.
    people: Vec<AttendeeDto>,
}

/// A meeting's draft minutes, as paragraphs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MinutesDto {
    /// "BIÊN BẢN … (DỰ THẢO)".
    pub title: String,
    /// In order.
    pub paragraphs: Vec<String>,
}

/// One recorded quorum override.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuorumOverrideDto {
    /// `start_session`, `open_poll` or `close_poll`.
    action: &'static str,
    /// The poll, for a poll's override.
    poll: Option<String>,
    present: u32,
    total: u32,
    required: u32,
    by: String,
    at: i64,
}

/// A request to speak.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeakerDto {
    id: String,
    person_id: String,
    name: String,
    item: Option<String>,
    status: &'static str,
    requested_at: i64,
}

/// The result of a closed poll.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeDto {
    passed: bool,
    quorum_met: bool,
    approve: u32,
    base_count: u32,
    required: u32,
    cast: u32,
}

impl From<Outcome> for OutcomeDto {
    fn from(o: Outcome) -> Self {
        OutcomeDto {
            passed: o.passed,
            quorum_met: o.quorum_met,
            approve: o.approve,
            base_count: o.base_count,
            required: o.required,
            cast: o.cast,
        }
    }
}

/// A poll as this person may see it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollDto {
    id: String,
    item: Option<String>,
    question: String,
    options: Vec<String>,
    secret: bool,
    /// The rule as data (`{base, threshold: {kind…}, quorum}`).
    rule: MajorityRule,
    /// `more_than_half_of_all`, `two_thirds_of_all` or `custom`.
    rule_code: &'static str,
    status: &'static str,
    /// Voters entitled to vote.
    eligible: u32,
    /// Whether I am one of them.
    i_am_eligible: bool,
    /// Ballots received by the hub.
    received: u32,
    /// Named polls: who has not voted yet, by name. Empty for secret polls.
    not_voted: Vec<String>,
    /// How many have not voted yet (also for secret polls).
    not_voted_count: u32,
    /// Counts per option: once closed, or live for the chair in a named poll.
    counts: Option<Vec<u32>>,
    /// Present voters when the poll opened.
    present_at_open: u32,
    outcome: Option<OutcomeDto>,
    /// My choice: as counted (named polls), or as sent from this device.
    my_choice: Option<u32>,
    /// counted / pending (not yet counted) / refused; none if I did not vote.
    my_ballot: Option<&'static str>,
    /// Why my ballot was refused.
    my_refusal: Option<Refusal>,
}

/// `get_session`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    my_id: String,
    /// My role in this meeting, or null when not a member.
    my_role: Option<&'static str>,
    status: &'static str,
    current_item: Option<String>,
    chair_focus: Option<ChairFocusDto>,
    /// The chair shows a paper this member does not receive.
    chair_focus_withheld: bool,
    attendance: AttendanceDto,
    speakers: Vec<SpeakerDto>,
    polls: Vec<PollDto>,
}

fn rule_code(r: &MajorityRule) -> &'static str {
    if *r == MajorityRule::MORE_THAN_HALF_OF_ALL {
        "more_than_half_of_all"
    } else if *r == MajorityRule::TWO_THIRDS_OF_ALL {
        "two_thirds_of_all"
    } else {
        "custom"
    }
}

impl SessionView {
    /// The session as `me` sees it, with my ballots from the outbox
    /// (oldest first; a later ballot for the same poll wins).
    pub fn build(
        m: &MeetingState,
        me: &PersonId,
        ballots: &[phonghop_client::MyBallot],
    ) -> SessionView {
        let my_role = m.members.get(me).map(|x| x.role);
        let chair = matches!(my_role, Some(Role::Chair | Role::Secretariat));
        let name = |p: &PersonId| {
            m.members
                .get(p)
                .map_or_else(|| p.to_string(), |x| x.name.clone())
        };
        let present = |p: &PersonId| m.attendance.get(p).is_some_and(|a| a.present);
        let total = m.voting_members().count() as u32;
        let quorum = m.quorum();
        let present_n = quorum.present;
        let mut speakers: Vec<&SpeakerRequest> = m.speakers.values().collect();
        speakers.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
        let mut polls: Vec<PollDto> = m
            .polls
            .values()
            .map(|p| {
                let received = if p.secret {
                    p.turnout.len()
                } else {
                    p.named.len()
                } as u32;
                let missing: Vec<&PersonId> =
                    p.eligible.iter().filter(|v| !p.has_voted(v)).collect();
                let mine = ballots.iter().rev().find(|b| b.poll == p.id);
                let (my_choice, my_ballot, my_refusal) = if p.has_voted(me) {
                    let choice = p.named.get(me).copied().or(mine.and_then(|b| b.choice));
                    (choice, Some("counted"), None)
                } else {
                    match mine {
                        None => (None, None, None),
                        Some(b) => match b.ack.as_ref().map(|a| &a.outcome) {
                            None => (b.choice, Some("pending"), None),
                            // Applied but not pulled yet: counted by the hub.
                            Some(CommandOutcome::Applied { .. }) => {
                                (b.choice, Some("counted"), None)
                            }
                            Some(CommandOutcome::Refused { code, message }) => (
                                b.choice,
                                Some("refused"),
                                Some(Refusal {
                                    code: code.clone(),
                                    message: message.clone(),
                                }),
                            ),
                        },
                    }
                };
                PollDto {
                    id: p.id.to_string(),
                    item: p.item.as_ref().map(|i| i.to_string()),
                    question: p.question.clone(),
                    options: p.options.clone(),
                    secret: p.secret,
                    rule: p.rule,
                    rule_code: rule_code(&p.rule),
                    status: p.status.code(),
                    eligible: p.eligible.len() as u32,
                    i_am_eligible: p.eligible.contains(me),
                    received,
                    not_voted: if p.secret {
                        Vec::new()
                    } else {
                        missing.iter().map(|v| name(v)).collect()
                    },
                    not_voted_count: missing.len() as u32,
                    // Live counts of a secret poll would let whoever watches
                    // them beside the turnout tell who chose what: the chair
                    // sees them live for named polls only.
                    counts: (p.status == PollStatus::Closed || (chair && !p.secret))
                        .then(|| p.counts.clone()),
                    present_at_open: p.present_at_open,
                    outcome: p.outcome.map(OutcomeDto::from),
                    my_choice,
                    my_ballot,
                    my_refusal,
                }
            })
            .collect();
        // Open polls first, then drafts, then the closed ones.
        polls.sort_by_key(|p| match p.status {
            "open" => 0,
            "draft" => 1,
            _ => 2,
        });
        SessionView {
            my_id: me.to_string(),
            my_role: my_role.map(Role::code),
            status: m.status.code(),
            current_item: m.current_item.as_ref().map(|i| i.to_string()),
            chair_focus: m.chair_focus.as_ref().map(|(d, page)| ChairFocusDto {
                document_id: d.to_string(),
                page: *page,
            }),
            chair_focus_withheld: m.chair_focus_withheld,
            attendance: AttendanceDto {
                present: present_n,
                total,
                // Quorum ("đủ số đại biểu dự họp"): the meeting's rule, by
                // law at least two thirds of the voting members.
                required: quorum.required,
                quorum_met: total > 0 && quorum.met(),
                unchecked_ballot: match m.rules.unchecked_ballot {
                    UncheckedBallot::CheckIn => "check_in",
                    UncheckedBallot::Refuse => "refuse",
                },
                overrides: m
                    .quorum_overrides
                    .iter()
                    .map(|o| {
                        let (action, poll) = match &o.action {
                            QuorumAction::StartSession => ("start_session", None),
                            QuorumAction::OpenPoll { poll } => {
                                ("open_poll", Some(poll.to_string()))
                            }
                            QuorumAction::ClosePoll { poll } => {
                                ("close_poll", Some(poll.to_string()))
                            }
                        };
                        QuorumOverrideDto {
                            action,
                            poll,
                            present: o.count.present,
                            total: o.count.voting,
                            required: o.count.required,
                            by: name(&o.by),
                            at: o.at.0,
                        }
                    })
                    .collect(),
                people: m
                    .members
                    .values()
                    .map(|x| AttendeeDto {
                        id: x.person.to_string(),
                        name: x.name.clone(),
                        role: x.role.code(),
                        present: present(&x.person),
                    })
                    .collect(),
            },
            speakers: speakers
                .into_iter()
                .map(|s| SpeakerDto {
                    id: s.id.to_string(),
                    person_id: s.person.to_string(),
                    name: name(&s.person),
                    item: s.item.as_ref().map(|i| i.to_string()),
                    status: s.status.code(),
                    requested_at: s.requested_at.0,
                })
                .collect(),
            polls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(json: &str) -> Result<Command, CmdError> {
        serde_json::from_str::<SessionAction>(json)
            .map_err(|e| CmdError::new("bad_request", e.to_string()))?
            .into_command(MeetingId::new("m1"))
    }

    #[test]
    fn session_actions_from_the_ui() {
        assert_eq!(
            action(r#"{"type":"cast_ballot","poll":"poll_1","choice":2}"#).ok(),
            Some(Command::CastBallot {
                meeting: MeetingId::new("m1"),
                poll: PollId::new("poll_1"),
                choice: 2
            })
        );
        assert_eq!(
            action(r#"{"type":"start_session"}"#).ok(),
            Some(Command::StartSession {
                meeting: MeetingId::new("m1"),
                override_quorum: false,
            })
        );
        assert_eq!(
            action(
                r#"{"type":"close_poll","poll":"p-1","overrideQuorum":true,"confirmMissing":true}"#
            )
            .ok(),
            Some(Command::ClosePoll {
                meeting: MeetingId::new("m1"),
                poll: PollId::new("p-1"),
                override_quorum: true,
                confirm_missing: true,
            })
        );
        let c = action(
            r#"{"type":"create_poll","poll":"p-2","item":"i1","question":" Thông qua ","options":["Tán thành","Không tán thành"],"secret":true,
                "rule":{"base":"all_members","threshold":{"kind":"at_least_two_thirds"},"quorum":null},"closesAt":null}"#,
        )
        .ok();
        match c {
            Some(Command::CreatePoll {
                question,
                secret,
                rule,
                item,
                ..
            }) => {
                assert_eq!(question, "Thông qua");
                assert!(secret);
                assert_eq!(rule, MajorityRule::TWO_THIRDS_OF_ALL);
                assert_eq!(item, Some(AgendaItemId::new("i1")));
            }
            other => panic!("not a poll: {other:?}"),
        }
    }

    #[test]
    fn bad_ids_are_refused_with_a_code() {
        let e = action(r#"{"type":"give_floor","request":"../x"}"#).err();
        assert_eq!(e.map(|e| e.code), Some("bad_request".to_string()));
    }
}

/// An entry the hub sent that this device could not apply (set aside).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetAsideEntry {
    log: String,
    seq: u64,
    code: String,
    reason: String,
}

impl From<phonghop_store::Quarantined> for SetAsideEntry {
    fn from(q: phonghop_store::Quarantined) -> SetAsideEntry {
        SetAsideEntry {
            log: q.log,
            seq: q.seq,
            code: q.code,
            reason: q.reason,
        }
    }
}
