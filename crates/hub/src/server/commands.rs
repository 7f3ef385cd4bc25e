//! Signed commands → events, exactly once.
//!
//! The hub checks the device's signature (`verify_strict`), that the device
//! is the session's, and that the command id is new. It then decides the
//! events itself — author, voter and times come from the hub, never from the
//! device — and appends them together with the command id and its answer in
//! one transaction. A replayed id gets the first answer again and changes
//! nothing. A refusal by the reducer is also recorded, so a replay of a
//! refused command stays refused even if it would now be valid.

use super::access;
use super::api::Failure;
use super::{auth, Shared};
use crate::{HubDir, HubError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use phonghop_core::protocol::*;
use phonghop_core::*;
use phonghop_store::rusqlite::{params, OptionalExtension};
use std::sync::Arc;

pub(crate) async fn submit(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(cmd): Json<SignedCommand>,
) -> Result<Json<CommandAck>, Failure> {
    let reader = auth::authenticate(&s, &headers, None).await?;
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
    let (ack, entries) = s
        .with_hub(move |hub, shared| handle(hub, shared.now(), &reader.person, &cmd))
        .await?;
    s.publish(entries);
    Ok(Json(ack))
}

fn recorded(hub: &HubDir, id: &CommandId) -> Result<Option<(String, CommandAck)>, Failure> {
    let row: Option<(String, String)> = hub
        .store()
        .conn()
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

pub(crate) fn handle(
    hub: &mut HubDir,
    now: Timestamp,
    person: &PersonId,
    cmd: &SignedCommand,
) -> Result<(CommandAck, Vec<LogEntry>), Failure> {
    let body = &cmd.body;
    let key = hub
        .store()
        .state()
        .directory
        .devices
        .get(&body.device)
        .map(|d| d.public_key)
        .ok_or_else(|| {
            Failure::new(StatusCode::UNAUTHORIZED, "unknown_device", "unknown device")
        })?;
    cmd.verify(&key).map_err(|_| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!(
                "command {} is not signed by device {}",
                body.id, body.device
            ),
        )
    })?;
    if let Some((device, ack)) = recorded(hub, &body.id)? {
        if device != body.device.as_str() {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                "command_id_taken",
                "this command id was used by another device",
            ));
        }
        return Ok((ack, Vec::new()));
    }
    let plan = match plan(hub.store().state(), now, person, cmd) {
        Ok(p) => p,
        Err((code, message)) => {
            let ack = refused(&body.id, &code, message);
            record(hub, &body.id, &body.device, &ack, now)?;
            return Ok((ack, Vec::new()));
        }
    };
    let (log, mut events) = plan;
    // A secret ballot: the turnout is published now, the choice sealed
    // until the close, when all of a poll's choices are published together.
    let mut seal = None;
    let mut unseal = None;
    match &body.command {
        Command::CastBallot {
            meeting,
            poll,
            choice,
        } if events
            .iter()
            .all(|e| matches!(e, Event::TurnoutRecorded { .. })) =>
        {
            seal = Some((meeting, poll, *choice));
        }
        Command::ClosePoll { meeting, poll } => {
            events = hub
                .closing_events(meeting, poll, now)
                .map_err(Failure::internal)?;
            unseal = Some((meeting, poll));
        }
        _ => {}
    }
    let id = body.id.clone();
    let device = body.device.clone();
    let log_key = log.key();
    let result = hub.append_with(&log, &events, |tx, entries| {
        if let Some((meeting, poll, choice)) = seal {
            HubDir::seal(tx, meeting, poll, choice)?;
        }
        if let Some((meeting, poll)) = unseal {
            HubDir::unseal(tx, meeting, poll)?;
        }
        let ack = CommandAck {
            id: id.clone(),
            outcome: CommandOutcome::Applied {
                log: log_key.clone(),
                seqs: entries.iter().map(|e| e.seq).collect(),
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
                    seqs: entries.iter().map(|e| e.seq).collect(),
                },
                replay: false,
            };
            Ok((ack, entries))
        }
        Err(HubError::Store(phonghop_store::StoreError::Rejected(r))) => {
            let ack = refused(&body.id, r.code(), r.to_string());
            record(hub, &body.id, &body.device, &ack, now)?;
            Ok((ack, Vec::new()))
        }
        Err(e) => Err(Failure::internal(e)),
    }
}

fn record(
    hub: &HubDir,
    id: &CommandId,
    device: &DeviceId,
    ack: &CommandAck,
    now: Timestamp,
) -> Result<(), Failure> {
    let json = serde_json::to_string(ack).map_err(Failure::internal)?;
    hub.store()
        .conn()
        .execute(
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

/// Decides the log and events for a command from `person`.
fn plan(
    state: &phonghop_core::State,
    now: Timestamp,
    person: &PersonId,
    signed: &SignedCommand,
) -> Result<(LogId, Vec<Event>), Refusal> {
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
    Ok(match command {
        Command::AddAnnotation { annotation, .. } => {
            let a = annotation_checks(annotation)?;
            (
                log_for(a.visibility),
                vec![Event::AnnotationAdded { annotation: a }],
            )
        }
        Command::EditAnnotation { annotation, .. } => {
            let a = annotation_checks(annotation)?;
            (
                log_for(a.visibility),
                vec![Event::AnnotationEdited { annotation: a }],
            )
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
            let events = if p.secret {
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
            };
            (meeting_log, events)
        }
        Command::StartSession { .. } => (meeting_log, vec![Event::SessionStarted { at: now }]),
        Command::CloseSession { .. } => (meeting_log, vec![Event::SessionClosed { at: now }]),
        Command::SetCurrentItem { item, .. } => (
            meeting_log,
            vec![Event::CurrentItemSet { item: item.clone() }],
        ),
        Command::SetChairFocus { document, page, .. } => (
            meeting_log,
            vec![Event::ChairFocusSet {
                document: document.clone(),
                page: *page,
            }],
        ),
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
        Command::OpenPoll { poll, .. } => (
            meeting_log,
            vec![Event::PollOpened {
                poll: poll.clone(),
                at: now,
            }],
        ),
        Command::ClosePoll { poll, .. } => (
            meeting_log,
            vec![Event::PollClosed {
                poll: poll.clone(),
                at: now,
            }],
        ),
    })
}
