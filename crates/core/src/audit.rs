//! Offline audit of a meeting export: the whole record re-checked by anyone
//! holding the file, without trusting the hub that produced it.
//!
//! Checked: every entry's chain link, payload hash and hub signature
//! (directory and meeting logs); that the reducer accepts every event in
//! order; every named ballot's device signature (`verify_strict`) by a
//! device the directory binds to the voter; one ballot per eligible voter
//! (secret polls: no more ballots than recorded turnout); every tally
//! recounted from the ballots and decided again by the poll's rule.
//!
//! Secret ballots carry no device signature — it would name the voter —
//! so for them the hub is trusted for content, as DESIGN.md says.

use crate::log::{verify_chain, LogEntry, LogId};
use crate::protocol::Command;
use crate::vote::{MajorityRule, Outcome, Tally};
use crate::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format tag of an export file.
pub const EXPORT_FORMAT: &str = "phonghop-meeting-export/1";

/// Everything needed to audit one meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeetingExport {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The hub's log-signing key.
    pub hub_key: PublicKey,
    /// The meeting.
    pub meeting: MeetingId,
    /// The directory log (people and device keys), in order.
    pub directory: Vec<LogEntry>,
    /// The meeting log, in order.
    pub entries: Vec<LogEntry>,
}

/// One poll's audited result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollAudit {
    /// Poll.
    pub poll: PollId,
    /// Question.
    pub question: String,
    /// Options.
    pub options: Vec<String>,
    /// Secret or named.
    pub secret: bool,
    /// Rule.
    pub rule: MajorityRule,
    /// Ballots per option, recounted.
    pub counts: Vec<u32>,
    /// The decision, recomputed.
    pub outcome: Option<Outcome>,
    /// Named polls: voter → option.
    pub roll_call: BTreeMap<PersonId, u32>,
}

/// What the audit checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// Entries whose chain and hub signature verified.
    pub entries: usize,
    /// Ballot signatures verified.
    pub ballot_signatures: usize,
    /// Polls.
    pub polls: Vec<PollAudit>,
}

/// Why an export fails its audit, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{log} entry {seq}: {reason}")]
pub struct AuditError {
    /// Log key.
    pub log: String,
    /// Entry seq (0 for the file as a whole).
    pub seq: u64,
    /// What is wrong.
    pub reason: String,
}

fn fail(log: &LogId, seq: u64, reason: impl Into<String>) -> AuditError {
    AuditError {
        log: log.key(),
        seq,
        reason: reason.into(),
    }
}

/// Audits an export (see module docs).
pub fn audit(export: &MeetingExport) -> Result<AuditReport, AuditError> {
    let mlog = LogId::Meeting(export.meeting.clone());
    if export.format != EXPORT_FORMAT {
        return Err(fail(
            &mlog,
            0,
            format!("not a meeting export (format '{}')", export.format),
        ));
    }
    for (log, entries) in [
        (LogId::Directory, &export.directory),
        (mlog.clone(), &export.entries),
    ] {
        if let Some(e) = entries.iter().find(|e| e.log != log) {
            return Err(fail(
                &log,
                e.seq,
                format!("entry belongs to log {}", e.log.key()),
            ));
        }
        let redacted = verify_chain(entries.iter(), &export.hub_key).map_err(|e| AuditError {
            log: log.key(),
            seq: e.seq(),
            reason: e.to_string(),
        })?;
        if redacted > 0 {
            return Err(fail(
                &log,
                0,
                format!("{redacted} entries are redacted: an audit needs the full log"),
            ));
        }
    }
    let mut state = State::default();
    for e in &export.directory {
        let ev = e
            .event()
            .ok()
            .flatten()
            .ok_or_else(|| fail(&LogId::Directory, e.seq, "no event"))?;
        state.apply(&LogId::Directory, &ev).map_err(|r| {
            fail(
                &LogId::Directory,
                e.seq,
                format!("refused by the rules: {r}"),
            )
        })?;
    }
    let mut signatures = 0;
    let mut recount: BTreeMap<PollId, Vec<u32>> = BTreeMap::new();
    let mut roll: BTreeMap<PollId, BTreeMap<PersonId, u32>> = BTreeMap::new();
    for e in &export.entries {
        let ev = e
            .event()
            .ok()
            .flatten()
            .ok_or_else(|| fail(&mlog, e.seq, "no event"))?;
        if let Event::BallotCast {
            poll,
            voter,
            choice,
            proof,
            ..
        } = &ev
        {
            let Some(p) = state
                .meetings
                .get(&export.meeting)
                .and_then(|m| m.polls.get(poll))
            else {
                return Err(fail(
                    &mlog,
                    e.seq,
                    format!("a ballot for unknown poll '{poll}'"),
                ));
            };
            let secret = p.secret;
            // Counted below into a vector as long as the options: a choice
            // past them is refused before anything is allocated for it.
            if *choice as usize >= p.options.len() {
                return Err(fail(
                    &mlog,
                    e.seq,
                    format!(
                        "ballot for option {choice} of poll '{poll}', which has {} options",
                        p.options.len()
                    ),
                ));
            }
            if !secret {
                let voter = voter
                    .as_ref()
                    .ok_or_else(|| fail(&mlog, e.seq, "a named ballot without its voter"))?;
                let proof = proof.as_ref().ok_or_else(|| {
                    fail(&mlog, e.seq, "a named ballot without the voter's signature")
                })?;
                let device = state
                    .directory
                    .devices
                    .get(&proof.body.device)
                    .ok_or_else(|| {
                        fail(
                            &mlog,
                            e.seq,
                            format!("ballot signed by unknown device {}", proof.body.device),
                        )
                    })?;
                if &device.person != voter {
                    return Err(fail(
                        &mlog,
                        e.seq,
                        format!("ballot of {voter} signed by a device of {}", device.person),
                    ));
                }
                proof.verify(&device.public_key).map_err(|_| {
                    fail(
                        &mlog,
                        e.seq,
                        format!("the signature on {voter}'s ballot does not verify"),
                    )
                })?;
                let matches = matches!(&proof.body.command, Command::CastBallot { poll: p, choice: c, .. } if p == poll && c == choice);
                if !matches {
                    return Err(fail(
                        &mlog,
                        e.seq,
                        format!("{voter}'s recorded choice differs from what the device signed"),
                    ));
                }
                signatures += 1;
                roll.entry(poll.clone())
                    .or_default()
                    .insert(voter.clone(), *choice);
            }
            let counts = recount.entry(poll.clone()).or_default();
            let idx = *choice as usize;
            if counts.len() <= idx {
                counts.resize(idx + 1, 0);
            }
            counts[idx] += 1;
        }
        state
            .apply(&mlog, &ev)
            .map_err(|r| fail(&mlog, e.seq, format!("refused by the rules: {r}")))?;
    }
    let m = state
        .meetings
        .get(&export.meeting)
        .ok_or_else(|| fail(&mlog, 0, "the log does not create this meeting"))?;
    let mut polls = Vec::new();
    for p in m.polls.values() {
        let mut counts = recount.remove(&p.id).unwrap_or_default();
        counts.resize(p.options.len(), 0);
        if counts != p.counts {
            return Err(fail(
                &mlog,
                0,
                format!(
                    "poll '{}': recount {counts:?} differs from {:?}",
                    p.id, p.counts
                ),
            ));
        }
        let cast: u32 = counts.iter().sum();
        let limit = if p.secret {
            p.turnout.len()
        } else {
            p.eligible.len()
        };
        if cast as usize > limit {
            return Err(fail(
                &mlog,
                0,
                format!("poll '{}': {cast} ballots for {limit} voters", p.id),
            ));
        }
        let outcome = (p.status == PollStatus::Closed).then(|| {
            p.rule.decide(&Tally {
                members: p.eligible.len() as u32,
                present: p.present_at_open,
                counts: counts.clone(),
            })
        });
        if outcome != p.outcome {
            return Err(fail(
                &mlog,
                0,
                format!("poll '{}': the result does not follow from its rule", p.id),
            ));
        }
        polls.push(PollAudit {
            poll: p.id.clone(),
            question: p.question.clone(),
            options: p.options.clone(),
            secret: p.secret,
            rule: p.rule,
            counts,
            outcome,
            roll_call: roll.remove(&p.id).unwrap_or_default(),
        });
    }
    Ok(AuditReport {
        entries: export.directory.len() + export.entries.len(),
        ballot_signatures: signatures,
        polls,
    })
}
