//! Signed commands → events, exactly once.
//!
//! The hub checks the device's signature (`verify_strict`), that the device
//! is the session's, and that the command id is new. It then decides the
//! events itself — author, voter and times come from the hub, never from the
//! device — and appends them together with the command id and its answer in
//! one transaction. A replayed id gets the first answer again and changes
//! nothing. A refusal by the reducer is also recorded, so a replay of a
//! refused command stays refused even if it would now be valid.
//!
//! Sizes are checked first, with the device's own check
//! (`phonghop_core::limits`, refusal `too_large`, the limit in the
//! message); a body over the request limit is answered `too_large` too.

use super::access;
use super::api::Failure;
use super::{auth, Shared};
use crate::HubDir;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use futures_util::StreamExt;
use phonghop_core::limits::{self, grouped, TooLarge, LIMITS};
use phonghop_core::protocol::*;
use phonghop_core::reducer::MeetingState;
use phonghop_core::*;
use phonghop_store::rusqlite::{params, Connection, OptionalExtension};
use phonghop_store::Group;
use std::sync::Arc;

pub(crate) async fn submit(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<CommandAck>, Failure> {
    let reader = auth::authenticate(&s, &headers, None).await?;
    let bytes = read_command(&headers, body).await?;
    let cmd: SignedCommand = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_command",
            format!("the body is not a signed command: {e}"),
        )
    })?;
    if cmd.body.device != reader.device {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "wrong_device",
            "the command is signed for another device than this session's",
        ));
    }
    if !validate_id(cmd.body.id.as_str()) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_command_id",
            "command ids are 1–64 of A–Z a–z 0–9 - _",
        ));
    }
    // The signature is checked here, before the hub lock, against the
    // device table kept beside it (`Shared::devices`).
    let key = s
        .devices
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&cmd.body.device)
        .map(|d| d.key)
        .ok_or_else(|| {
            Failure::new(StatusCode::UNAUTHORIZED, "unknown_device", "unknown device")
        })?;
    cmd.verify(&key).map_err(|_| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!(
                "command {} is not signed by device {}",
                cmd.body.id, cmd.body.device
            ),
        )
    })?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    s.commands
        .send(Job {
            person: reader.person,
            cmd,
            reply,
        })
        .map_err(|_| Failure::internal("the hub's command writer has stopped"))?;
    let ack = answer
        .await
        .map_err(|_| Failure::internal("the hub's command writer has stopped"))??;
    Ok(Json(ack))
}

/// A checked command on its way to the writer, and where its answer goes.
pub(crate) struct Job {
    person: PersonId,
    cmd: SignedCommand,
    reply: tokio::sync::oneshot::Sender<Result<CommandAck, Failure>>,
}

/// Most commands committed together in one transaction.
const GROUP_MAX: usize = 512;

/// The one writer of commands: takes every command waiting, applies them
/// in arrival order in one transaction (group commit: one disk flush for
/// a burst of 500 ballots instead of 500), publishes exactly what they
/// appended, then answers each. No timer: while a group commits, the next
/// one gathers in the queue.
pub(crate) async fn writer(
    shared: Arc<Shared>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            match queue.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (work, replies): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|j| ((j.person, j.cmd), j.reply))
            .unzip();
        let done = shared
            .with_hub(move |hub, shared| {
                let now = shared.now();
                let done = hub.group(|g, key| {
                    work.iter()
                        .map(|(person, cmd)| handle(g, key, now, person, cmd))
                        .collect::<Vec<_>>()
                });
                // A poll closed: its sealed tally was deleted; leave no
                // earlier version of it in the WAL either.
                let closed = work
                    .iter()
                    .any(|(_, cmd)| matches!(cmd.body.command, Command::ClosePoll { .. }));
                if closed && done.is_ok() {
                    hub.forget_history();
                }
                done
            })
            .await;
        match done {
            Ok(results) => {
                let mut appended = Vec::new();
                let mut answers = Vec::with_capacity(results.len());
                for r in results {
                    answers.push(r.map(|(ack, entries)| {
                        appended.extend(entries);
                        ack
                    }));
                }
                shared.publish(appended);
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                // Nothing of the group was kept: each device retries.
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(Failure::internal(message.clone())));
                }
            }
        }
    }
}

/// Bytes read past the request limit before answering `too_large`, so the
/// answer reaches the device instead of a reset connection (a server that
/// answers early and closes races the client still writing its body).
const DRAIN_BYTES: usize = 4 * LIMITS.request_bytes;

/// Reads a command's body up to the request limit. A longer one is read
/// to its end (up to [`DRAIN_BYTES`]) and dropped, and answered 413
/// `too_large` with its size and the limit — our check's message, never a
/// bare 413.
async fn read_command(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, Failure> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = |n: usize| {
        let message = limits::check_request_bytes(n).err().map_or_else(
            || {
                format!(
                    "the command is over the limit of {} bytes",
                    grouped(LIMITS.request_bytes)
                )
            },
            |e| e.to_string(),
        );
        Failure::new(StatusCode::PAYLOAD_TOO_LARGE, TooLarge::CODE, message)
    };
    if let Some(n) = declared.filter(|&n| n > DRAIN_BYTES) {
        return Err(too_large(n));
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "bad_command",
                format!("the body could not be read: {e}"),
            )
        })?;
        total = total.saturating_add(chunk.len());
        if total > DRAIN_BYTES {
            break;
        }
        if total <= LIMITS.request_bytes {
            buf.extend_from_slice(&chunk);
        }
    }
    if total > LIMITS.request_bytes {
        return Err(too_large(declared.unwrap_or(total)));
    }
    Ok(buf)
}

fn recorded(conn: &Connection, id: &CommandId) -> Result<Option<(String, CommandAck)>, Failure> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT device, ack FROM commands WHERE id = ?1",
            params![id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(Failure::internal)?;
    match row {
        None => Ok(None),
        Some((device, ack)) => {
            let mut ack: CommandAck = serde_json::from_str(&ack).map_err(Failure::internal)?;
            ack.replay = true;
            Ok(Some((device, ack)))
        }
    }
}

fn refused(id: &CommandId, code: &str, message: String) -> CommandAck {
    CommandAck {
        id: id.clone(),
        outcome: CommandOutcome::Refused {
            code: code.into(),
            message,
        },
        replay: false,
    }
}

/// One command inside a group commit: its signature was checked before
/// the lock. Refusals are recorded with the group, so a replay of a
/// refused command stays refused.
fn handle(
    g: &mut Group<'_>,
    key: &SecretKey,
    now: Timestamp,
    person: &PersonId,
    cmd: &SignedCommand,
) -> Result<(CommandAck, Vec<LogEntry>), Failure> {
    let body = &cmd.body;
    if let Some((device, ack)) = recorded(g.conn(), &body.id)? {
        if device != body.device.as_str() {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                "command_id_taken",
                "this command id was used by another device",
            ));
        }
        return Ok((ack, Vec::new()));
    }
    // Sizes before anything else: the same check and message as on the
    // device (`limits`), then the person's quota on private annotations.
    if let Err(e) = limits::check_signed(cmd).and_then(|()| private_quota(g.state(), person, cmd)) {
        let ack = refused(&body.id, TooLarge::CODE, e.to_string());
        record(g.conn(), &body.id, &body.device, &ack, now)?;
        return Ok((ack, Vec::new()));
    }
    let plan = match plan(g.state(), now, person, cmd) {
        Ok(p) => p,
        Err((code, message)) => {
            let ack = refused(&body.id, &code, message);
            record(g.conn(), &body.id, &body.device, &ack, now)?;
            return Ok((ack, Vec::new()));
        }
    };
    let mut ops = plan;
    // A secret ballot: the turnout is published now, the choice sealed
    // until the close, when all of a poll's choices are published together.
    let mut seal = None;
    let mut unseal = None;
    match &body.command {
        Command::CastBallot {
            meeting,
            poll,
            choice,
        } if ops
            .iter()
            .any(|(_, e)| matches!(e, Event::TurnoutRecorded { .. })) =>
        {
            let options = g
                .state()
                .meetings
                .get(meeting)
                .and_then(|m| m.polls.get(poll))
                .map_or(0, |p| p.options.len());
            seal = Some((meeting, poll, options, *choice));
        }
        Command::ClosePoll { meeting, poll, .. } => {
            // The planned `PollClosed` gives way to the counting events
            // (the sealed choices, then the close); an override stays first.
            let log = LogId::Meeting(meeting.clone());
            ops.retain(|(_, e)| !matches!(e, Event::PollClosed { .. }));
            ops.extend(
                crate::hubdir::closing_events(g.state(), g.conn(), key, meeting, poll, now)
                    .map_err(Failure::internal)?
                    .into_iter()
                    .map(|e| (log.clone(), e)),
            );
            unseal = Some((meeting, poll));
        }
        _ => {}
    }
    let id = body.id.clone();
    let device = body.device.clone();
    // The answer names the log the command's last event went to (where a
    // moved annotation now lives) and that log's new seqs.
    let Some(log) = ops.last().map(|(l, _)| l.clone()) else {
        return Err(Failure::internal("a command planned no events"));
    };
    let log_key = log.key();
    let seqs_in = |entries: &[LogEntry]| -> Vec<u64> {
        entries
            .iter()
            .filter(|e| e.log == log)
            .map(|e| e.seq)
            .collect()
    };
    let refs: Vec<(&LogId, &Event)> = ops.iter().map(|(l, e)| (l, e)).collect();
    let result = g.append_across(&refs, key, |tx, entries| {
        if let Some((meeting, poll, options, choice)) = seal {
            HubDir::seal(tx, key, meeting, poll, options, choice)?;
        }
        if let Some((meeting, poll)) = unseal {
            HubDir::unseal(tx, meeting, poll)?;
        }
        let ack = CommandAck {
            id: id.clone(),
            outcome: CommandOutcome::Applied {
                log: log_key.clone(),
                seqs: seqs_in(entries),
            },
            replay: false,
        };
        let json = serde_json::to_string(&ack)
            .map_err(|e| phonghop_store::rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        tx.execute(
            "INSERT INTO commands (id, device, ack, received_at) VALUES (?1, ?2, ?3, ?4)",
            params![id.as_str(), device.as_str(), json, now.0],
        )
        .map(|_| ())
    });
    match result {
        Ok(entries) => {
            let ack = CommandAck {
                id: body.id.clone(),
                outcome: CommandOutcome::Applied {
                    log: log.key(),
                    seqs: seqs_in(&entries),
                },
                replay: false,
            };
            Ok((ack, entries))
        }
        Err(phonghop_store::StoreError::Rejected(r)) => {
            let ack = refused(&body.id, r.code(), r.to_string());
            record(g.conn(), &body.id, &body.device, &ack, now)?;
            Ok((ack, Vec::new()))
        }
        Err(e) => Err(Failure::internal(e)),
    }
}

/// The quota on `person`'s private annotations in the command's meeting,
/// measured on the hub's state: what they hold, and what they would hold
/// with this add or edit.
fn private_quota(
    state: &phonghop_core::State,
    person: &PersonId,
    cmd: &SignedCommand,
) -> Result<(), TooLarge> {
    let (meeting, new) = match &cmd.body.command {
        Command::AddAnnotation {
            meeting,
            annotation,
        }
        | Command::EditAnnotation {
            meeting,
            annotation,
        } => (meeting, annotation),
        _ => return Ok(()),
    };
    let Some(m) = state.meetings.get(meeting) else {
        return Ok(());
    };
    let mine = || m.annotations.values().filter(|a| &a.author == person);
    let before = limits::private_bytes(mine());
    let after = limits::private_bytes(mine().filter(|a| a.id != new.id).chain([new]));
    limits::check_private_quota(before, after)
}

fn record(
    conn: &Connection,
    id: &CommandId,
    device: &DeviceId,
    ack: &CommandAck,
    now: Timestamp,
) -> Result<(), Failure> {
    let json = serde_json::to_string(ack).map_err(Failure::internal)?;
    conn.execute(
        "INSERT OR IGNORE INTO commands (id, device, ack, received_at) VALUES (?1, ?2, ?3, ?4)",
        params![id.as_str(), device.as_str(), json, now.0],
    )
    .map_err(Failure::internal)?;
    Ok(())
}

type Refusal = (String, String);

fn no(code: &str, message: impl Into<String>) -> Refusal {
    (code.into(), message.into())
}

/// Below the meeting's quorum: refused (`below_quorum`, with the count),
/// or, confirmed by the chair, the override to record before the action.
/// (Only while the meeting is where the action can happen: otherwise the
/// reducer's own refusal — the session is not open, the poll is closed —
/// is the one to give.)
fn below_quorum(
    m: &MeetingState,
    person: &PersonId,
    now: Timestamp,
    action: QuorumAction,
    confirmed: bool,
) -> Result<Vec<Event>, Refusal> {
    let count = m.quorum();
    let status = action.meeting_status();
    let poll_ok = match &action {
        QuorumAction::StartSession => true,
        QuorumAction::OpenPoll { poll } => m
            .polls
            .get(poll)
            .is_some_and(|p| p.status == PollStatus::Draft),
        QuorumAction::ClosePoll { poll } => m
            .polls
            .get(poll)
            .is_some_and(|p| p.status == PollStatus::Open),
    };
    if count.met() || m.status != status || !poll_ok {
        return Ok(Vec::new());
    }
    if !confirmed {
        return Err(no(
            "below_quorum",
            format!(
                "{} of {} voting members are checked in; the quorum needs {}. \
                 The chair may go on only by confirming an override, which the minutes record",
                count.present, count.voting, count.required
            ),
        ));
    }
    Ok(vec![Event::QuorumOverridden {
        action,
        count,
        by: person.clone(),
        at: now,
    }])
}

/// Refuses (`voters_missing`) while eligible members of an open poll have
/// not voted, naming how many and who.
fn missing_voters(m: &MeetingState, p: &Poll) -> Result<(), Refusal> {
    if p.status != PollStatus::Open {
        return Ok(());
    }
    let names: Vec<&str> = p
        .eligible
        .iter()
        .filter(|who| !p.has_voted(who))
        .map(|who| {
            m.members
                .get(who)
                .map_or(who.as_str(), |mem| mem.name.as_str())
        })
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    Err(no(
        "voters_missing",
        format!(
            "{} of {} eligible members have not voted: {}. Confirm to close the poll without them",
            names.len(),
            p.eligible.len(),
            names.join(", ")
        ),
    ))
}

/// Decides the log and events for a command from `person`.
fn plan(
    state: &phonghop_core::State,
    now: Timestamp,
    person: &PersonId,
    signed: &SignedCommand,
) -> Result<Vec<(LogId, Event)>, Refusal> {
    let command = &signed.body.command;
    let mid = command.meeting();
    let m = state.meetings.get(mid).ok_or_else(|| {
        no(
            "no_meeting",
            format!("no meeting '{mid}' for you on this hub"),
        )
    })?;
    let role = access::role_in(m, person).ok_or_else(|| {
        no(
            "no_meeting",
            format!("no meeting '{mid}' for you on this hub"),
        )
    })?;
    if command.is_chair_only() && !matches!(role, Role::Chair | Role::Secretariat) {
        return Err(no(
            "not_chair",
            "only the chair (or the secretariat) may do this",
        ));
    }
    let meeting_log = LogId::Meeting(mid.clone());
    let personal = LogId::Personal {
        meeting: mid.clone(),
        person: person.clone(),
    };
    let log_for = |v: Visibility| {
        if v == Visibility::Private {
            personal.clone()
        } else {
            meeting_log.clone()
        }
    };
    let annotation_checks = |a: &Annotation| -> Result<Annotation, Refusal> {
        if &a.author != person {
            return Err(no(
                "not_author",
                "an annotation's author is the signed-in person",
            ));
        }
        if !access::may_read_document(m, &a.document, person, role) {
            return Err(no("no_paper", format!("no paper '{}' for you", a.document)));
        }
        let mut a = a.clone();
        a.updated_at = now;
        Ok(a)
    };
    let (log, events) = match command {
        Command::AddAnnotation { annotation, .. } => {
            let a = annotation_checks(annotation)?;
            (
                log_for(a.visibility),
                vec![Event::AnnotationAdded { annotation: a }],
            )
        }
        Command::EditAnnotation { annotation, .. } => {
            let a = annotation_checks(annotation)?;
            let from = m
                .annotations
                .get(&a.id)
                .filter(|old| &old.author == person)
                .map(|old| log_for(old.visibility));
            let to = log_for(a.visibility);
            match from {
                // Private ↔ shared: it leaves one log and enters the other,
                // in one transaction (CONTRIBUTING.md, "Ids are taken for life").
                Some(from) if from != to => {
                    return Ok(vec![
                        (
                            from,
                            Event::AnnotationMoved {
                                annotation: a.id.clone(),
                                by: person.clone(),
                                to: a.visibility,
                                at: now,
                            },
                        ),
                        (to, Event::AnnotationAdded { annotation: a }),
                    ]);
                }
                _ => (to, vec![Event::AnnotationEdited { annotation: a }]),
            }
        }
        Command::DeleteAnnotation { annotation, .. } => {
            let a = m
                .annotations
                .get(annotation)
                .filter(|a| &a.author == person)
                .ok_or_else(|| no("missing", format!("you have no annotation '{annotation}'")))?;
            (
                log_for(a.visibility),
                vec![Event::AnnotationDeleted {
                    annotation: annotation.clone(),
                    by: person.clone(),
                    at: now,
                }],
            )
        }
        Command::RequestToSpeak { request, item, .. } => (
            meeting_log,
            vec![Event::SpeakerRequested {
                request: request.clone(),
                person: person.clone(),
                item: item.clone(),
                at: now,
            }],
        ),
        Command::WithdrawRequest { request, .. } => {
            if m.speakers.get(request).is_none_or(|r| &r.person != person) {
                return Err(no(
                    "missing",
                    format!("you have no request to speak '{request}'"),
                ));
            }
            (
                meeting_log,
                vec![Event::SpeakerWithdrawn {
                    request: request.clone(),
                    at: now,
                }],
            )
        }
        Command::CheckIn { present, .. } => (
            meeting_log,
            vec![Event::AttendanceRecorded {
                person: person.clone(),
                present: *present,
                at: now,
            }],
        ),
        Command::CastBallot { poll, choice, .. } => {
            let p = m
                .polls
                .get(poll)
                .ok_or_else(|| no("missing", format!("no poll '{poll}'")))?;
            // A member who has not checked in: the meeting's rule decides.
            let mut events = Vec::new();
            if p.eligible.contains(person) && !m.is_present(person) {
                match m.rules.unchecked_ballot {
                    UncheckedBallot::CheckIn => events.push(Event::AttendanceRecorded {
                        person: person.clone(),
                        present: true,
                        at: now,
                    }),
                    UncheckedBallot::Refuse => {
                        return Err(no(
                            "not_checked_in",
                            "you have not checked in: check in (điểm danh) first, then vote",
                        ))
                    }
                }
            }
            events.extend(if p.secret {
                // Only the turnout (who) is published now; the choice (what)
                // is sealed by `handle` and published, with no voter, among
                // all of the poll's choices when it closes
                // (`HubDir::closing_events`). A choice checked here is one
                // the reducer will accept then.
                let idx = usize::try_from(*choice).unwrap_or(usize::MAX);
                if idx >= p.options.len() {
                    return Err(no("invalid", format!("option {choice} does not exist")));
                }
                vec![Event::TurnoutRecorded {
                    poll: poll.clone(),
                    person: person.clone(),
                    at: now,
                }]
            } else {
                vec![Event::BallotCast {
                    poll: poll.clone(),
                    voter: Some(person.clone()),
                    choice: *choice,
                    at: now,
                    proof: Some(Box::new(signed.clone())),
                }]
            });
            (meeting_log, events)
        }
        Command::StartSession {
            override_quorum, ..
        } => {
            let mut events =
                below_quorum(m, person, now, QuorumAction::StartSession, *override_quorum)?;
            events.push(Event::SessionStarted { at: now });
            // The session opens on the first item, unless the chair already
            // chose one.
            if m.current_item.is_none() {
                if let Some(first) = m.numbered_agenda().first() {
                    events.push(Event::CurrentItemSet {
                        item: Some(first.item.id.clone()),
                    });
                }
            }
            (meeting_log, events)
        }
        Command::CloseSession { .. } => (meeting_log, vec![Event::SessionClosed { at: now }]),
        Command::SetCurrentItem { item, .. } => (
            meeting_log,
            vec![Event::CurrentItemSet { item: item.clone() }],
        ),
        Command::SetChairFocus { document, page, .. } => {
            let focus = Event::ChairFocusSet {
                document: document.clone(),
                page: *page,
            };
            // Members who may not read the paper receive the focus redacted;
            // the entry before it tells them that much and no more.
            let restricted = document.as_ref().is_some_and(|d| {
                m.members.values().any(|mem| {
                    access::role_in(m, &mem.person)
                        .is_some_and(|r| !access::may_read_document(m, d, &mem.person, r))
                })
            });
            if restricted {
                (meeting_log, vec![Event::ChairFocusWithheld {}, focus])
            } else {
                (meeting_log, vec![focus])
            }
        }
        Command::GiveFloor { request, .. } => (
            meeting_log,
            vec![Event::FloorGiven {
                request: request.clone(),
                at: now,
            }],
        ),
        Command::EndFloor { request, .. } => (
            meeting_log,
            vec![Event::FloorEnded {
                request: request.clone(),
                at: now,
            }],
        ),
        Command::CreatePoll {
            poll,
            item,
            question,
            options,
            secret,
            rule,
            closes_at,
            ..
        } => (
            meeting_log,
            vec![Event::PollCreated {
                poll: poll.clone(),
                item: item.clone(),
                question: question.clone(),
                options: options.clone(),
                secret: *secret,
                rule: *rule,
                eligible: m.voting_members().map(|mem| mem.person.clone()).collect(),
                closes_at: *closes_at,
            }],
        ),
        Command::OpenPoll {
            poll,
            override_quorum,
            ..
        } => {
            let action = QuorumAction::OpenPoll { poll: poll.clone() };
            let mut events = below_quorum(m, person, now, action, *override_quorum)?;
            events.push(Event::PollOpened {
                poll: poll.clone(),
                at: now,
            });
            (meeting_log, events)
        }
        Command::ClosePoll {
            poll,
            override_quorum,
            confirm_missing,
            ..
        } => {
            if !confirm_missing {
                if let Some(p) = m.polls.get(poll) {
                    missing_voters(m, p)?;
                }
            }
            let action = QuorumAction::ClosePoll { poll: poll.clone() };
            let mut events = below_quorum(m, person, now, action, *override_quorum)?;
            // `handle` puts the counting events (`closing_events`) here.
            events.push(Event::PollClosed {
                poll: poll.clone(),
                at: now,
            });
            (meeting_log, events)
        }
    };
    Ok(events.into_iter().map(|e| (log.clone(), e)).collect())
}
