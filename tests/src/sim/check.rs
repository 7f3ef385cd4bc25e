//! The invariants.
//!
//! After every step, for the device that synced (cheap):
//! - it may not hold any paper its person may not read — not its bytes,
//!   text, title, id or hashes (its database, WAL and blob names are
//!   searched for them);
//! - no secret poll in its state names a voter or shows a count before
//!   the close.
//!
//! Every 10 steps the hub's database is replayed beside the running hub
//! (what a restart would do). A device whose sync fails while the hub is
//! up and reachable has frozen (judged in [`super::ops`]), and every answer
//! is judged against the model there too; a hub that does not start again
//! after a stop or a kill ends the run.
//!
//! At the end, after the network heals and every device syncs twice:
//! - every command queued on a device that is not revoked has an answer;
//! - the hub stops through its shutdown, its folder reopens
//!   (`HubDir::open`) and `verify_database` passes on it; both meetings'
//!   exports pass `phonghop_core::audit`;
//! - exactly once: every entry the commands added is claimed by exactly
//!   one applied command (or the secretariat), and every applied command's
//!   entries are there and are about what it asked;
//! - no ballot lost or doubled: every poll on the hub holds exactly the
//!   ballots the model says were applied (secret: turnout, and counts only
//!   after the close); the hub's meeting matches the model;
//! - each device holds exactly the hub's view for its person — per log,
//!   the hub's entries redacted by `server::access::redact` — and its state
//!   equals those entries replayed; its database verifies and reopens to
//!   the same projection; a revoked device holds nothing;
//! - no device can link a secret ballot to a voter: its ballots carry no
//!   voter or proof, and arrive as one block at the close, in option
//!   order, all at one time; and a device's own secret choice is gone from
//!   its outbox once the hub has answered.

use super::{world, Sim, SubState};
use anyhow::{Context, Result};
use phonghop_client::Client;
use phonghop_core::protocol::Command;
use phonghop_core::*;
use phonghop_hub::server::access;
use phonghop_hub::HubDir;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

/// Everything of a device folder a leak could hide in: the database, its
/// WAL, and the names of its blobs.
pub fn device_bytes(folder: &Path) -> Result<String> {
    let mut out = Vec::new();
    for f in ["client.db", "client.db-wal"] {
        let p = folder.join(f);
        if p.is_file() {
            out.extend(std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?);
        }
    }
    let mut stack = vec![folder.join("blobs")];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(b'\n');
                out.extend(p.to_string_lossy().as_bytes());
            }
        }
    }
    // Lossy: a valid UTF-8 marker stays findable; std's search is fast.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Whether `hay` holds `needle`.
pub fn contains(hay: &str, needle: &[u8]) -> bool {
    std::str::from_utf8(needle).is_ok_and(|n| hay.contains(n))
}

/// The blobs a device folder holds.
fn blob_count(folder: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![folder.join("blobs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                n += 1;
            }
        }
    }
    n
}

/// The annotation → paper map the hub's redaction needs (every
/// annotation ever made, deleted ones too).
fn annotation_docs(hub: &HubDir) -> Result<HashMap<AnnotationId, DocumentId>> {
    let mut docs = HashMap::new();
    for log in hub.store().heads().keys() {
        for e in hub.store().entries(log, 0)? {
            if let Ok(Some(
                Event::AnnotationAdded { annotation } | Event::AnnotationEdited { annotation },
            )) = e.event()
            {
                docs.insert(annotation.id.clone(), annotation.document.clone());
            }
        }
    }
    Ok(docs)
}

/// The position of an entry in the hub's one append order, when entries
/// carry it (`gseq`), read without naming the field.
fn global_order(e: &LogEntry) -> Option<i64> {
    serde_json::to_value(e)
        .ok()?
        .get("gseq")?
        .as_i64()
        .filter(|g| *g != 0)
}

/// Replays entries as a device would: in the hub's global order when the
/// entries carry it, else log by log in key order (the store's replay).
fn replay(view: &BTreeMap<LogId, Vec<LogEntry>>) -> std::result::Result<State, String> {
    let mut all: Vec<&LogEntry> = view.values().flatten().collect();
    if all.iter().all(|e| global_order(e).is_some()) {
        all.sort_by_key(|e| global_order(e));
    }
    let mut state = State::default();
    for e in all {
        if let Some(ev) = e.event().map_err(|err| err.to_string())? {
            state
                .apply(&e.log, &ev)
                .map_err(|err| format!("{} #{}: {err}", e.log.key(), e.seq))?;
        }
    }
    Ok(state)
}

/// Names the parts of two meeting states that differ.
fn state_diff(have: &State, want: &State) -> String {
    let mut out = Vec::new();
    let ids: BTreeSet<&MeetingId> = have.meetings.keys().chain(want.meetings.keys()).collect();
    for id in ids {
        match (have.meetings.get(id), want.meetings.get(id)) {
            (Some(h), Some(w)) => {
                let fields: [(&str, bool); 9] = [
                    ("status", h.status == w.status),
                    ("members", h.members == w.members),
                    ("chair_focus", h.chair_focus == w.chair_focus),
                    ("current_item", h.current_item == w.current_item),
                    ("documents", h.documents == w.documents),
                    ("annotations", h.annotations == w.annotations),
                    ("attendance", h.attendance == w.attendance),
                    ("speakers", h.speakers == w.speakers),
                    ("polls", h.polls == w.polls),
                ];
                for (f, same) in fields {
                    if !same {
                        out.push(format!("{id}.{f}"));
                    }
                }
            }
            (h, _) => out.push(format!(
                "meeting {id} {}",
                if h.is_some() {
                    "held but not in the view"
                } else {
                    "missing"
                }
            )),
        }
    }
    if have.directory != want.directory {
        out.push("directory".into());
    }
    out.join(", ")
}

/// Whether an event is about what `cmd` asked.
fn is_about(cmd: &Command, ev: &Event) -> bool {
    match (cmd, ev) {
        (
            Command::AddAnnotation { annotation: a, .. }
            | Command::EditAnnotation { annotation: a, .. },
            Event::AnnotationAdded { annotation: b } | Event::AnnotationEdited { annotation: b },
        ) => a.id == b.id,
        (
            Command::AddAnnotation { annotation: a, .. }
            | Command::EditAnnotation { annotation: a, .. },
            Event::AnnotationDeleted { annotation, .. } | Event::AnnotationMoved { annotation, .. },
        ) => &a.id == annotation,
        (
            Command::DeleteAnnotation { annotation, .. },
            Event::AnnotationDeleted { annotation: b, .. },
        ) => annotation == b,
        (Command::RequestToSpeak { request, .. }, Event::SpeakerRequested { request: r, .. })
        | (Command::WithdrawRequest { request, .. }, Event::SpeakerWithdrawn { request: r, .. })
        | (Command::GiveFloor { request, .. }, Event::FloorGiven { request: r, .. })
        | (Command::EndFloor { request, .. }, Event::FloorEnded { request: r, .. }) => request == r,
        (Command::CheckIn { present, .. }, Event::AttendanceRecorded { present: p, .. }) => {
            present == p
        }
        (
            Command::CastBallot { poll, .. },
            Event::BallotCast { poll: p, .. } | Event::TurnoutRecorded { poll: p, .. },
        ) => poll == p,
        (Command::StartSession { .. }, Event::SessionStarted { .. })
        | (Command::CloseSession { .. }, Event::SessionClosed { .. }) => true,
        // The session opens on the first agenda item.
        (Command::StartSession { .. }, Event::CurrentItemSet { item }) => item.is_some(),
        // A ballot from a member not checked in checks them in first.
        (Command::CastBallot { .. }, Event::AttendanceRecorded { present, .. }) => *present,
        (Command::StartSession { .. }, Event::QuorumOverridden { action, .. }) => {
            *action == QuorumAction::StartSession
        }
        (Command::OpenPoll { poll, .. }, Event::QuorumOverridden { action, .. }) => {
            *action == QuorumAction::OpenPoll { poll: poll.clone() }
        }
        (Command::ClosePoll { poll, .. }, Event::QuorumOverridden { action, .. }) => {
            *action == QuorumAction::ClosePoll { poll: poll.clone() }
        }
        (Command::SetCurrentItem { item, .. }, Event::CurrentItemSet { item: i }) => item == i,
        (
            Command::SetChairFocus { document, page, .. },
            Event::ChairFocusSet {
                document: d,
                page: p,
            },
        ) => document == d && page == p,
        (
            Command::SetChairFocus {
                document: Some(_), ..
            },
            Event::ChairFocusWithheld {},
        ) => true,
        (Command::CreatePoll { poll, .. }, Event::PollCreated { poll: p, .. })
        | (Command::OpenPoll { poll, .. }, Event::PollOpened { poll: p, .. })
        | (
            Command::ClosePoll { poll, .. },
            Event::PollClosed { poll: p, .. } | Event::BallotCast { poll: p, .. },
        ) => poll == p,
        _ => false,
    }
}

impl Sim<'_> {
    /// After a device synced.
    pub(crate) async fn cheap_checks(&mut self, i: usize) -> Result<()> {
        self.leak_check(i).await?;
        self.secret_state_check(i);
        Ok(())
    }

    /// No paper the person may not read, in any form.
    async fn leak_check(&mut self, i: usize) -> Result<()> {
        let person = self.devs[i].person.clone();
        let unreadable: Vec<usize> = (0..self.model.papers.len())
            .filter(|p| !self.model.may_read(&person, *p))
            .collect();
        if unreadable.is_empty() {
            return Ok(());
        }
        let folder = self.devs[i].folder.clone();
        let bytes = tokio::task::spawn_blocking(move || device_bytes(&folder)).await??;
        let name = self.devs[i].name.clone();
        for p in unreadable {
            let found: Vec<String> = self.markers[p]
                .iter()
                .filter(|m| contains(&bytes, m.as_bytes()))
                .cloned()
                .collect();
            if !found.is_empty() {
                let conf = &self.model.papers[p].confidentiality;
                self.violate(
                    &format!("leak(paper {p})"),
                    &name,
                    format!("holds {found:?} of a paper it may not read ({conf:?})"),
                );
            }
        }
        Ok(())
    }

    /// No secret poll names a voter or counts before its close.
    fn secret_state_check(&mut self, i: usize) {
        let Some(c) = self.devs[i].client.clone() else {
            return;
        };
        let bad: Vec<String> = {
            let dir = c.dir();
            let d = dir.lock().unwrap_or_else(|p| p.into_inner());
            d.store()
                .state()
                .meetings
                .values()
                .flat_map(|m| m.polls.values())
                .filter(|p| p.secret)
                .filter_map(|p| {
                    if !p.named.is_empty() {
                        Some(format!("secret poll {} names its voters: {:?}", p.id, p.named))
                    } else if p.status != PollStatus::Closed && p.counts.iter().any(|n| *n > 0) {
                        Some(format!(
                            "secret poll {} shows counts {:?} before its close (with the turnout in \
                             order, each choice pairs with its voter)",
                            p.id, p.counts
                        ))
                    } else {
                        None
                    }
                })
                .collect()
        };
        // Its own secret ballots: the choice is kept only until the hub
        // answers (the outbox then knows "recorded", not what).
        let kept: Vec<String> = {
            let dir = c.dir();
            let d = dir.lock().unwrap_or_else(|p| p.into_inner());
            let st = d.store().state();
            let secret = |m: &MeetingId, p: &PollId| {
                st.meetings
                    .get(m)
                    .and_then(|x| x.polls.get(p))
                    .is_some_and(|p| p.secret)
            };
            st.meetings
                .keys()
                .flat_map(|m| {
                    d.my_ballots(m)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|b| b.ack.is_some() && b.choice.is_some() && secret(m, &b.poll))
                        .map(|b| {
                            format!(
                                "its outbox still holds its answered secret choice in poll {}",
                                b.poll
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let name = self.devs[i].name.clone();
        for b in bad.into_iter().chain(kept) {
            self.violate("linkable", &name, b);
        }
    }

    /// A revoked device, told so, holds nothing of any meeting.
    pub(crate) async fn check_wiped(&mut self, i: usize) -> Result<()> {
        let Some(c) = self.devs[i].client.clone() else {
            return Ok(());
        };
        let (meetings, pending) = c
            .with_dir(|d| {
                (
                    d.store().state().meetings.len(),
                    d.pending().map(|p| p.len()).unwrap_or(0),
                )
            })
            .await;
        let blobs = blob_count(&self.devs[i].folder);
        let name = self.devs[i].name.clone();
        if meetings > 0 || blobs > 0 || pending > 0 {
            self.violate(
                "revoked_not_wiped",
                &name,
                format!("after being told it is revoked it still holds {meetings} meeting(s), {blobs} blob(s), {pending} queued command(s)"),
            );
        }
        // Wiped means gone from the file too, not only from the tables.
        let folder = self.devs[i].folder.clone();
        let bytes = tokio::task::spawn_blocking(move || device_bytes(&folder)).await??;
        let found: Vec<String> = self
            .markers
            .iter()
            .flatten()
            .filter(|m| contains(&bytes, m.as_bytes()))
            .cloned()
            .collect();
        if !found.is_empty() {
            self.violate(
                "wipe_incomplete",
                &name,
                format!("wiped after its revocation, its files still hold {found:?}"),
            );
        }
        // Nothing of the hub either: its pairing and the device's key are
        // gone, so the folder opens as a device that never joined. The
        // device is gone from the room: the model sends it nothing more
        // (commands on a revoked device's session are the raw device's
        // part, `raw_command_revoked`).
        let paired = c.with_dir(|d| d.pairing().ok().flatten().is_some()).await;
        let key = self.devs[i].folder.join("device.key").exists();
        if paired || key {
            self.violate(
                "wipe_incomplete",
                &name,
                format!("wiped after its revocation, it still holds its pairing ({paired}) or its device key ({key})"),
            );
        }
        self.devs[i].client = None;
        self.devs[i].dead = true;
        self.note(format!(
            "{name}'s device is wiped: it never joined as far as its folder knows"
        ));
        Ok(())
    }

    /// The end: heal, sync everyone twice, then every full check.
    pub(crate) async fn finish(&mut self) -> Result<()> {
        self.note("end: the network heals, every device syncs twice");
        self.hub_up().await?;
        if self.halted {
            return Ok(());
        }
        for d in &self.devs {
            d.link.set(super::net::LinkMode::Up);
        }
        for _ in 0..2 {
            for i in self.live() {
                self.sync(i).await?;
            }
        }
        for i in self.live() {
            let d = &self.devs[i];
            if d.revoked {
                continue;
            }
            let stuck: Vec<String> = d
                .subs
                .iter()
                .filter(|s| matches!(s.state, SubState::Pending | SubState::InDoubt(_)))
                .map(|s| s.what.clone())
                .collect();
            if let Some(first) = stuck.first() {
                let name = d.name.clone();
                self.violate(
                    "outbox_stuck",
                    &name,
                    format!(
                        "{} command(s) never answered after the network healed, first: {first}",
                        stuck.len()
                    ),
                );
            }
        }
        if let Err(e) = self.hub.stop().await {
            self.violate(
                "hub_stop",
                "hub",
                format!("stopping through its shutdown: {e}"),
            );
        }
        let data = self.root.join("hub");
        let hub = match tokio::task::spawn_blocking(move || HubDir::open(&data)).await? {
            Ok(h) => h,
            Err(e) => {
                self.violate(
                    "hub_reopen",
                    "hub folder",
                    format!("HubDir::open after the run: {e}"),
                );
                return Ok(());
            }
        };
        let db = self.root.join("hub").join("hub.db");
        if let Err(e) =
            tokio::task::spawn_blocking(move || phonghop_store::verify_database(&db)).await?
        {
            self.violate("hub_verify", "hub.db", format!("log verify: {e}"));
        }
        for m in [world::MEETING, world::OTHER] {
            match hub.export(m) {
                Ok(x) => {
                    if let Err(e) = phonghop_core::audit::audit(&x) {
                        self.violate("audit", m, format!("the export does not audit: {e}"));
                    }
                }
                Err(e) => self.violate("audit", m, format!("cannot export: {e}")),
            }
        }
        self.check_exactly_once(&hub)?;
        self.check_safeguards(&hub)?;
        self.check_ballots(&hub);
        self.check_devices(&hub).await?;
        Ok(())
    }

    /// Every new entry has exactly one cause; every applied command's
    /// entries are there and are about it.
    fn check_exactly_once(&mut self, hub: &HubDir) -> Result<()> {
        let mut owner: BTreeMap<(String, u64), String> = BTreeMap::new();
        let mut problems: Vec<(String, String)> = Vec::new();
        for (id, a) in &self.applied {
            for s in &a.seqs {
                if let Some(other) = owner.insert((a.log.clone(), *s), format!("{id} ({})", a.what))
                {
                    problems.push((
                        format!("{}#{s}", a.log),
                        format!("claimed by {other} and by {id} ({})", a.what),
                    ));
                }
            }
        }
        for (log, from, to) in &self.secretariat {
            for s in *from..=*to {
                owner.insert((log.clone(), s), "the secretariat".into());
            }
        }
        let mut entries: BTreeMap<String, Vec<LogEntry>> = BTreeMap::new();
        for log in hub.store().heads().keys() {
            if *log != LogId::Directory {
                entries.insert(log.key(), hub.store().entries(log, 0)?);
            }
        }
        // A command whose answer was lost and never came again (its device
        // froze or left the run; reported as such) may be on the hub
        // without an answer anyone saw.
        let unknown: usize = self
            .devs
            .iter()
            .flat_map(|d| d.subs.iter())
            .filter(|s| matches!(s.state, SubState::InDoubt(_)))
            .count();
        // Sharing a note (or making it private) moves it: `AnnotationMoved`
        // in the log it leaves, `AnnotationAdded` in the log it enters. The
        // answer names the second; the first belongs to the same command.
        let mut moves: BTreeMap<AnnotationId, usize> = BTreeMap::new();
        for a in self.applied.values() {
            let Command::EditAnnotation { annotation, .. } = &a.cmd else {
                continue;
            };
            let entered = a.seqs.iter().any(|s| {
                entries
                    .get(&a.log)
                    .and_then(|es| es.iter().find(|e| e.seq == *s))
                    .and_then(|e| e.event().ok().flatten())
                    .is_some_and(|ev| matches!(ev, Event::AnnotationAdded { .. }))
            });
            if entered {
                *moves.entry(annotation.id.clone()).or_default() += 1;
            }
        }
        let mut orphans = Vec::new();
        for (key, es) in &entries {
            let base = LogId::parse_key(key)
                .and_then(|l| self.t.heads.get(&l).copied())
                .unwrap_or(0);
            for e in es.iter().filter(|e| e.seq > base) {
                if !owner.contains_key(&(key.clone(), e.seq)) {
                    let ev = e.event().ok().flatten();
                    if let Some(Event::AnnotationMoved { annotation, .. }) = &ev {
                        if let Some(n) = moves.get_mut(annotation).filter(|n| **n > 0) {
                            *n -= 1;
                            continue;
                        }
                    }
                    let kind = ev.map_or("redacted", |ev| ev.kind());
                    orphans.push(format!("{key}#{} ({kind})", e.seq));
                }
            }
        }
        if orphans.len() > unknown {
            problems.push((
                "hub".into(),
                format!(
                    "entries no acknowledged command made ({} answer(s) lost and never resent): {}",
                    unknown,
                    orphans.join(", ")
                ),
            ));
        }
        for (id, a) in &self.applied {
            let es = entries.get(&a.log);
            for s in &a.seqs {
                match es.and_then(|es| es.iter().find(|e| e.seq == *s)) {
                    None => problems.push((
                        format!("{}#{s}", a.log),
                        format!(
                            "{id} ({}) was acknowledged with it; the hub does not hold it",
                            a.what
                        ),
                    )),
                    Some(e) => {
                        let ev = e.event().ok().flatten();
                        if !ev.as_ref().is_some_and(|ev| is_about(&a.cmd, ev)) {
                            problems.push((
                                format!("{}#{s}", a.log),
                                format!(
                                    "{id} ({}) was acknowledged with it; it is {:?}",
                                    a.what,
                                    ev.map(|e| e.kind())
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for (subject, p) in problems {
            self.violate("exactly_once", &subject, p);
        }
        Ok(())
    }

    /// The chair's safeguards, replayed from the hub's meeting log: the
    /// session opened and every poll opened and closed at quorum, or right
    /// after a recorded override that the chair's command asked for; a
    /// poll closed while members had not voted only by a command that
    /// confirmed it; every ballot's voter checked in when it counted.
    fn check_safeguards(&mut self, hub: &HubDir) -> Result<()> {
        let log = LogId::Meeting(MeetingId::new(world::MEETING));
        let mut state = State::default();
        let mut problems: Vec<(String, String)> = Vec::new();
        // (seq of the PollClosed) → members who had not voted then.
        let mut missing_at_close: BTreeMap<u64, usize> = BTreeMap::new();
        for e in hub.store().entries(&log, 0)? {
            let Some(ev) = e.event().ok().flatten() else {
                continue;
            };
            if let Some(m) = state.meetings.get(&MeetingId::new(world::MEETING)) {
                let guarded = match &ev {
                    Event::SessionStarted { .. } => Some(QuorumAction::StartSession),
                    Event::PollOpened { poll, .. } => {
                        Some(QuorumAction::OpenPoll { poll: poll.clone() })
                    }
                    Event::PollClosed { poll, .. } => {
                        if let Some(p) = m.polls.get(poll) {
                            let missing = p.eligible.iter().filter(|v| !p.has_voted(v)).count();
                            missing_at_close.insert(e.seq, missing);
                        }
                        Some(QuorumAction::ClosePoll { poll: poll.clone() })
                    }
                    _ => None,
                };
                if let Some(action) = guarded {
                    // Each of these happens once: its override, if any,
                    // is the one recorded for it (a closing poll's
                    // unsealed ballots come between the two).
                    let overridden = m.quorum_overrides.iter().any(|o| o.action == action);
                    if !m.quorum().met() && !overridden {
                        problems.push((
                            format!("{}#{}", log.key(), e.seq),
                            format!(
                                "{} below quorum ({:?}) with no override recorded",
                                ev.kind(),
                                m.quorum()
                            ),
                        ));
                    }
                }
                let voter = match &ev {
                    Event::TurnoutRecorded { person, .. } => Some(person),
                    Event::BallotCast { voter, .. } => voter.as_ref(),
                    _ => None,
                };
                if let Some(v) = voter.filter(|v| !m.is_present(v)) {
                    problems.push((
                        format!("{}#{}", log.key(), e.seq),
                        format!("the ballot of {v}, who had not checked in, counted"),
                    ));
                }
            }
            state
                .apply(&log, &ev)
                .map_err(|err| anyhow::anyhow!("{} #{}: {err}", log.key(), e.seq))?;
        }
        let entries = hub.store().entries(&log, 0)?;
        let event_at = |seq: u64| {
            entries
                .iter()
                .find(|e| e.seq == seq)
                .and_then(|e| e.event().ok().flatten())
        };
        for a in self.applied.values() {
            let (override_quorum, confirm_missing) = match &a.cmd {
                Command::StartSession {
                    override_quorum, ..
                }
                | Command::OpenPoll {
                    override_quorum, ..
                } => (*override_quorum, true),
                Command::ClosePoll {
                    override_quorum,
                    confirm_missing,
                    ..
                } => (*override_quorum, *confirm_missing),
                _ => continue,
            };
            for s in &a.seqs {
                let ev = event_at(*s);
                if !override_quorum && matches!(ev, Some(Event::QuorumOverridden { .. })) {
                    problems.push((
                        format!("{}#{s}", a.log),
                        format!(
                            "{}: an override recorded that the chair did not confirm",
                            a.what
                        ),
                    ));
                }
                if !confirm_missing && missing_at_close.get(s).is_some_and(|n| *n > 0) {
                    problems.push((
                        format!("{}#{s}", a.log),
                        format!(
                            "{}: closed while {} member(s) had not voted, unconfirmed",
                            a.what, missing_at_close[s]
                        ),
                    ));
                }
            }
        }
        for (subject, p) in problems {
            self.violate("safeguards", &subject, p);
        }
        Ok(())
    }

    /// The hub's polls and meeting against the model.
    fn check_ballots(&mut self, hub: &HubDir) {
        let Ok(m) = hub.meeting(world::MEETING) else {
            self.violate(
                "model_mismatch",
                "meeting",
                "the hub lost the room's meeting",
            );
            return;
        };
        let mut problems: Vec<(String, String)> = Vec::new();
        for (id, want) in &self.model.polls {
            let Some(p) = m.polls.get(id) else {
                problems.push((id.to_string(), "missing on the hub".into()));
                continue;
            };
            let mut hist = vec![0u32; want.options as usize];
            for c in want.votes.values() {
                if let Some(h) = hist.get_mut(*c as usize) {
                    *h += 1;
                }
            }
            let voters: BTreeSet<&PersonId> = want.votes.keys().collect();
            if p.status != want.status {
                problems.push((
                    id.to_string(),
                    format!("is {:?}, expected {:?}", p.status, want.status),
                ));
            }
            if p.secret {
                let turnout: BTreeSet<&PersonId> = p.turnout.iter().collect();
                if turnout != voters || turnout.len() != p.turnout.len() {
                    problems.push((
                        id.to_string(),
                        format!(
                            "secret: turnout {:?}, ballots applied for {voters:?}",
                            p.turnout
                        ),
                    ));
                }
                let expect = if p.status == PollStatus::Closed {
                    hist
                } else {
                    vec![0; hist.len()]
                };
                if p.counts != expect {
                    problems.push((
                        id.to_string(),
                        format!("secret: counts {:?}, expected {expect:?}", p.counts),
                    ));
                }
            } else {
                let named: BTreeMap<PersonId, u32> = want.votes.clone();
                if p.named != named || p.counts != hist {
                    problems.push((
                        id.to_string(),
                        format!(
                            "named: ballots {:?} counts {:?}, applied {named:?}",
                            p.named, p.counts
                        ),
                    ));
                }
            }
        }
        for id in m.polls.keys() {
            if !self.model.polls.contains_key(id) {
                problems.push((id.to_string(), "on the hub, never acknowledged".into()));
            }
        }
        for (subject, p) in problems {
            self.violate("ballots", &subject, p);
        }
        let alive: BTreeSet<&AnnotationId> = self
            .model
            .notes
            .iter()
            .filter(|(_, n)| n.alive)
            .map(|(id, _)| id)
            .collect();
        let held: BTreeSet<&AnnotationId> = m.annotations.keys().collect();
        if alive != held {
            let extra: Vec<_> = held.difference(&alive).collect();
            let lost: Vec<_> = alive.difference(&held).collect();
            self.violate(
                "model_mismatch",
                "annotations",
                format!("the hub holds annotations {extra:?} nobody has, lacks {lost:?}"),
            );
        }
        if m.status != self.model.status {
            self.violate(
                "model_mismatch",
                "status",
                format!(
                    "meeting is {:?}, expected {:?}",
                    m.status, self.model.status
                ),
            );
        }
        let speakers: BTreeMap<&SpeakerRequestId, SpeakerStatus> =
            m.speakers.iter().map(|(id, s)| (id, s.status)).collect();
        let want: BTreeMap<&SpeakerRequestId, SpeakerStatus> = self
            .model
            .speakers
            .iter()
            .map(|(id, s)| (id, s.status))
            .collect();
        if speakers != want {
            self.violate(
                "model_mismatch",
                "speakers",
                format!("requests to speak {speakers:?}, expected {want:?}"),
            );
        }
    }

    /// Each device against the hub's view for its person.
    async fn check_devices(&mut self, hub: &HubDir) -> Result<()> {
        let docs = annotation_docs(hub)?;
        let state = hub.store().state();
        for i in self.live() {
            let Some(c) = self.devs[i].client.clone() else {
                continue;
            };
            let name = self.devs[i].name.clone();
            let person = self.devs[i].person.clone();
            if self.devs[i].revoked {
                self.check_wiped(i).await?;
                continue;
            }
            // The hub's view for this person.
            let mut view: BTreeMap<LogId, Vec<LogEntry>> = BTreeMap::new();
            for (mid, m) in &state.meetings {
                let Some(role) = access::role_in(m, &person) else {
                    continue;
                };
                let log = LogId::Meeting(mid.clone());
                let all = hub.store().entries(&log, 0)?;
                view.insert(log, access::redact(m, &all, &person, role, &docs));
                let personal = LogId::Personal {
                    meeting: mid.clone(),
                    person: person.clone(),
                };
                let mine = hub.store().entries(&personal, 0)?;
                if !mine.is_empty() {
                    view.insert(personal, mine);
                }
            }
            let held: BTreeMap<LogId, Vec<LogEntry>> = {
                let dir = c.dir();
                let d = dir.lock().unwrap_or_else(|p| p.into_inner());
                let mut held = BTreeMap::new();
                for log in d.store().heads().keys() {
                    held.insert(log.clone(), d.store().entries(log, 0)?);
                }
                held
            };
            if held != view {
                let logs: BTreeSet<&LogId> = held.keys().chain(view.keys()).collect();
                let mut diffs = Vec::new();
                for log in logs {
                    let (h, v) = (held.get(log), view.get(log));
                    if h != v {
                        let hn = h.map_or(0, Vec::len);
                        let vn = v.map_or(0, Vec::len);
                        let first = (0..hn.max(vn))
                            .find(|k| h.and_then(|h| h.get(*k)) != v.and_then(|v| v.get(*k)))
                            .map_or(0, |k| k + 1);
                        diffs.push(format!(
                            "{}: holds {hn} entries, the hub's view {vn}; first difference at #{first}",
                            log.key()
                        ));
                    }
                }
                self.violate("not_converged", &name, diffs.join("; "));
            }
            match replay(&view) {
                Err(e) => self.violate(
                    "view_not_appliable",
                    &name,
                    format!("the hub's view for {person} is refused by the reducer: {e}"),
                ),
                Ok(want) => {
                    let have = {
                        let dir = c.dir();
                        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
                        d.store().state().clone()
                    };
                    if have != want {
                        self.violate(
                            "state_differs",
                            &name,
                            format!(
                                "its state differs from the hub's view replayed in: {}",
                                state_diff(&have, &want)
                            ),
                        );
                    }
                }
            }
            // Its own database: verifies, reopens to the same projection.
            let db = self.devs[i].folder.join("client.db");
            if let Err(e) =
                tokio::task::spawn_blocking(move || phonghop_store::verify_database(&db)).await?
            {
                self.violate(
                    "device_verify",
                    &name,
                    format!("log verify of its database: {e}"),
                );
            }
            let before = c.with_dir(|d| d.store().dump_projection()).await?;
            drop(c);
            self.devs[i].client = None;
            let folder = self.devs[i].folder.clone();
            match tokio::task::spawn_blocking(move || Client::open(&folder)).await? {
                Ok(c) => {
                    let c = Arc::new(c);
                    let after = c.with_dir(|d| d.store().dump_projection()).await?;
                    if after != before {
                        self.violate(
                            "device_reopen",
                            &name,
                            "reopened, its projection differs from the one it had",
                        );
                    }
                    self.devs[i].client = Some(c);
                }
                Err(e) => self.violate(
                    "device_reopen",
                    &name,
                    format!("cannot open its folder again: {e}"),
                ),
            }
            self.leak_check(i).await?;
            self.secret_state_check(i);
            self.check_secret_log(i, &held);
        }
        Ok(())
    }

    /// Secret ballots in a device's copy of the log: no voter, no proof,
    /// one block at the close, in option order, all at one time.
    fn check_secret_log(&mut self, i: usize, view: &BTreeMap<LogId, Vec<LogEntry>>) {
        let name = self.devs[i].name.clone();
        let mut problems = Vec::new();
        for (log, es) in view {
            let LogId::Meeting(_) = log else {
                continue;
            };
            let events: Vec<Option<Event>> = es.iter().map(|e| e.event().ok().flatten()).collect();
            let secret: BTreeSet<PollId> = events
                .iter()
                .flatten()
                .filter_map(|e| match e {
                    Event::PollCreated {
                        poll, secret: true, ..
                    } => Some(poll.clone()),
                    _ => None,
                })
                .collect();
            for poll in secret {
                let at: Vec<usize> = events
                    .iter()
                    .enumerate()
                    .filter(
                        |(_, e)| matches!(e, Some(Event::BallotCast { poll: p, .. }) if *p == poll),
                    )
                    .map(|(k, _)| k)
                    .collect();
                let (Some(&first), Some(&last)) = (at.first(), at.last()) else {
                    continue;
                };
                let ballots: Vec<(&Option<PersonId>, u32, Timestamp, bool)> = at
                    .iter()
                    .filter_map(|k| match &events[*k] {
                        Some(Event::BallotCast {
                            voter,
                            choice,
                            at,
                            proof,
                            ..
                        }) => Some((voter, *choice, *at, proof.is_some())),
                        _ => None,
                    })
                    .collect();
                if ballots.iter().any(|b| b.0.is_some() || b.3) {
                    problems.push(format!(
                        "{poll}: a secret ballot carries its voter or signed command"
                    ));
                }
                if last - first + 1 != at.len() {
                    problems.push(format!(
                        "{poll}: secret ballots are spread over the log, not one block"
                    ));
                }
                if ballots
                    .windows(2)
                    .any(|w| w[0].1 > w[1].1 || w[0].2 != w[1].2)
                {
                    problems.push(format!(
                        "{poll}: secret ballots are not in option order at one time"
                    ));
                }
                let closes = matches!(events.get(last + 1), Some(Some(Event::PollClosed { poll: p, .. })) if *p == poll);
                if !closes {
                    problems.push(format!(
                        "{poll}: secret ballots were published before the close"
                    ));
                }
            }
        }
        for p in problems {
            self.violate("linkable", &name, p);
        }
    }
}
