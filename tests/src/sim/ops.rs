//! The operations a step chooses from, and how their outcomes are judged.
//!
//! Devices act through their real [`phonghop_client::Client`]: commands are
//! signed and queued in the durable outbox, sent when the device is online,
//! and every answer is judged against [`super::model`] in the order the hub
//! processed them. Hostile commands are the real command set with wrong
//! content (ids reused, other people's notes, wrong meetings, oversized
//! fields, late ballots, chair commands from delegates); some go by hand
//! ([`crate::raw::RawDevice`], signed with the device's own key) so nothing
//! of them is stored on the device: a non-reader asking for a paper's
//! bytes, replays of a device's own signed commands, another device's
//! commands and ids, a command on the session of a revoked device.

use super::model::{Expect, HUGE_TEXT, OVERSIZED_INK, OVERSIZED_TEXT};
use super::net::{Link, LinkMode, LiveSocket};
use super::{world, Applied, Dev, Sim, Sub, SubState};
use crate::raw::RawDevice;
use anyhow::Result;
use phonghop_client::{Client, ClientError};
use phonghop_core::protocol::{Command, CommandAck, CommandOutcome};
use phonghop_core::vote::MajorityRule;
use phonghop_core::*;
use phonghop_hub::admin::{self, AdminOp, AdminReply, Done};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sync,
    Annotate,
    EditNote,
    DeleteNote,
    CheckIn,
    Speak,
    Vote,
    Chair,
    HostileOutbox,
    HostileRaw,
    Partition,
    LoseReply,
    RestartDevice,
    HubRestart,
    HubOutage,
    Skew,
    Secretariat,
}

const OPS: &[(Op, u32)] = &[
    (Op::Sync, 26),
    (Op::Annotate, 11),
    (Op::EditNote, 7),
    (Op::DeleteNote, 4),
    (Op::CheckIn, 3),
    (Op::Speak, 4),
    (Op::Vote, 10),
    (Op::Chair, 14),
    (Op::HostileOutbox, 6),
    (Op::HostileRaw, 4),
    (Op::Partition, 4),
    (Op::LoseReply, 2),
    (Op::RestartDevice, 2),
    (Op::HubRestart, 1),
    (Op::HubOutage, 1),
    (Op::Skew, 2),
    (Op::Secretariat, 4),
];

/// How long a revoked device's live socket may stay open: revocation is
/// at once (the hub closes its sockets as it revokes), well inside the
/// 1 s period of the sockets' own session re-check, which must not be what
/// closes them (with the close on revocation taken out, that re-check
/// alone went unseen by a 1.5 s limit).
const REVOKED_SOCKET_LIMIT: Duration = Duration::from_millis(400);

/// Ballot options.
fn options() -> Vec<String> {
    vec![
        "Tán thành".into(),
        "Không tán thành".into(),
        "Không biểu quyết".into(),
    ]
}

type SyncResult = std::result::Result<(), (&'static str, ClientError)>;

impl Sim<'_> {
    /// One step: an operation chosen by the seed.
    pub(crate) async fn one_step(&mut self) -> Result<()> {
        let op = self.rng.weighted(OPS).unwrap_or(Op::Sync);
        let live = self.live();
        let Some(&i) = self.rng.pick(&live) else {
            self.halted = true;
            return Ok(());
        };
        match op {
            Op::Sync => self.sync(i).await,
            Op::Annotate => self.annotate(i).await,
            Op::EditNote => self.edit_note(i).await,
            Op::DeleteNote => self.delete_note(i).await,
            Op::CheckIn => self.check_in(i).await,
            Op::Speak => self.speak(i).await,
            Op::Vote => self.vote().await,
            Op::Chair => self.chair().await,
            Op::HostileOutbox => self.hostile_outbox(i).await,
            Op::HostileRaw => self.hostile_raw(i).await,
            Op::Partition => {
                self.partition(i);
                Ok(())
            }
            Op::LoseReply => self.lose_reply(i).await,
            Op::RestartDevice => self.restart_device(i).await,
            Op::HubRestart => self.hub_restart(false).await,
            Op::HubOutage => self.hub_restart(true).await,
            Op::Skew => {
                let skews = [-7_200_000, -600_000, 0, 0, 600_000, 7_200_000];
                self.skew_ms = *self.rng.pick(&skews).unwrap_or(&0);
                self.set_clock();
                self.note(format!("hub clock skew {} s", self.skew_ms / 1000));
                Ok(())
            }
            Op::Secretariat => self.secretariat_op().await,
        }
    }

    fn client(&self, i: usize) -> Option<Arc<Client>> {
        self.devs[i].client.clone()
    }

    // --- syncing and judging ------------------------------------------

    /// A device's sync round: pull, send the outbox, fetch papers.
    pub(crate) async fn sync(&mut self, i: usize) -> Result<()> {
        let Some(c) = self.client(i) else {
            return Ok(());
        };
        let reachable = self.reachable(i);
        let mut r: SyncResult = c.pull().await.map(|_| ()).map_err(|e| ("pull", e));
        if r.is_ok() {
            r = c.flush_outbox().await.map(|_| ()).map_err(|e| ("send", e));
        }
        self.collect_acks(i, false).await?;
        if r.is_ok() {
            r = c.fetch_blobs().await.map(|_| ()).map_err(|e| ("papers", e));
        }
        let outcome = match &r {
            Ok(()) => "ok".to_string(),
            Err((phase, e)) => format!("{phase}: {}", e.code()),
        };
        self.note(format!("{} syncs: {outcome}", self.devs[i].name));
        self.judge_sync(i, reachable, r).await?;
        self.cheap_checks(i).await
    }

    /// Sends the outbox (as an online device's app does after a write).
    async fn flush(&mut self, i: usize) -> Result<()> {
        let Some(c) = self.client(i) else {
            return Ok(());
        };
        let reachable = self.reachable(i);
        let r = c.flush_outbox().await.map(|_| ()).map_err(|e| ("send", e));
        self.collect_acks(i, false).await?;
        // An empty outbox sends nothing: success says nothing of the hub.
        let r = match r {
            Ok(()) if self.devs[i].revoked => return Ok(()),
            r => r,
        };
        self.judge_sync(i, reachable, r).await
    }

    async fn maybe_flush(&mut self, i: usize, percent: u64) -> Result<()> {
        if self.reachable(i) && self.rng.chance(percent) {
            self.flush(i).await?;
        }
        Ok(())
    }

    /// A sync's error is expected only when the device cannot reach the
    /// hub; otherwise the device has stopped syncing ("froze").
    pub(crate) async fn judge_sync(
        &mut self,
        i: usize,
        reachable: bool,
        r: SyncResult,
    ) -> Result<()> {
        let name = self.devs[i].name.clone();
        match r {
            Ok(()) => {
                if self.devs[i].revoked && reachable {
                    self.violate(
                        "revoked_served",
                        &name,
                        "the hub still serves a device the secretariat revoked",
                    );
                }
            }
            Err((_, ClientError::Revoked)) => {
                if !self.devs[i].revoked {
                    self.violate(
                        "spurious_revocation",
                        &name,
                        "told it was revoked; it was not",
                    );
                }
                for s in &mut self.devs[i].subs {
                    if matches!(s.state, SubState::Pending | SubState::InDoubt(_)) {
                        s.state = SubState::Void;
                    }
                }
                self.check_wiped(i).await?;
            }
            Err((phase, e)) => {
                if reachable && !self.devs[i].revoked {
                    self.violate(
                        &format!("device_froze({phase},{})", e.code()),
                        &name,
                        format!("the hub is up and reachable, yet {phase} fails: {e}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Reads the answers the device recorded and judges them in outbox
    /// order (the order the hub processed them). With `cut`, the answer of
    /// the first unanswered command was lost on its way: the hub acted on
    /// it, the device does not know.
    pub(crate) async fn collect_acks(&mut self, i: usize, cut: bool) -> Result<()> {
        let Some(c) = self.client(i) else {
            return Ok(());
        };
        let open: Vec<(usize, CommandId)> = self.devs[i]
            .subs
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, SubState::Pending | SubState::InDoubt(_)))
            .map(|(k, s)| (k, s.id.clone()))
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let ids: Vec<CommandId> = open.iter().map(|(_, id)| id.clone()).collect();
        let acks = c
            .with_dir(move |d| {
                ids.iter()
                    .map(|id| d.ack_of(id))
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .await?;
        let mut unanswered_seen = false;
        for ((k, _), ack) in open.into_iter().zip(acks) {
            match ack {
                Some(ack) => self.settle(i, k, ack),
                None => {
                    if cut && !unanswered_seen {
                        let sub = &self.devs[i].subs[k];
                        if sub.state == SubState::Pending {
                            let (person, cmd) = (self.devs[i].person.clone(), sub.cmd.clone());
                            let e = self.model.expect(&person, &cmd);
                            if e == Expect::Apply {
                                self.model.apply(&person, &cmd);
                            }
                            self.devs[i].subs[k].state = SubState::InDoubt(e);
                            let what = self.devs[i].subs[k].what.clone();
                            self.note(format!("  answer lost: {what}"));
                        }
                    }
                    unanswered_seen = true;
                }
            }
        }
        Ok(())
    }

    fn settle(&mut self, i: usize, k: usize, ack: CommandAck) {
        let sub = self.devs[i].subs[k].clone();
        let person = self.devs[i].person.clone();
        let name = self.devs[i].name.clone();
        let (applied, refusal) = match &ack.outcome {
            CommandOutcome::Applied { log, seqs } => {
                (Some((log.clone(), seqs.clone())), String::new())
            }
            CommandOutcome::Refused { code, message } => (None, format!("{code}: {message}")),
        };
        let expect = match sub.state {
            SubState::InDoubt(e) => {
                if !ack.replay {
                    self.violate(
                        "exactly_once(lost_answer)",
                        &name,
                        format!(
                            "{}: the hub acted on it and its answer was lost; sent again, it was \
                             not recognised as a replay",
                            sub.what
                        ),
                    );
                }
                e
            }
            _ => self.model.expect(&person, &sub.cmd),
        };
        self.verdict(i, sub.label, &sub.what, expect, applied.is_some(), &refusal);
        if applied.is_some() && self.devs[i].revoked {
            // Never sent before the revocation (no answer was in doubt then).
            self.violate(
                "hostile_applied(after_revocation)",
                &name,
                format!("{}: applied for a revoked device", sub.what),
            );
        }
        let assumed = sub.state == SubState::InDoubt(Expect::Apply);
        let short = match &applied {
            Some((log, seqs)) => format!("applied {log} {seqs:?}"),
            None => format!("refused {}", refusal.split(':').next().unwrap_or("")),
        };
        if let Some((log, seqs)) = applied {
            if !assumed {
                self.model.apply(&person, &sub.cmd);
            }
            self.applied.insert(
                sub.id.clone(),
                Applied {
                    log,
                    seqs,
                    cmd: sub.cmd.clone(),
                    what: sub.what.clone(),
                },
            );
        }
        let s = &mut self.devs[i].subs[k];
        s.state = SubState::Done;
        s.ack = Some(ack);
        self.note(format!("  {} → {short}", sub.what));
    }

    /// Judges one outcome against the model's expectation.
    fn verdict(
        &mut self,
        i: usize,
        label: &str,
        what: &str,
        expect: Expect,
        applied: bool,
        refusal: &str,
    ) {
        let name = self.devs[i].name.clone();
        match expect {
            Expect::Apply if !applied => self.violate(
                &format!("legit_refused({label})"),
                &name,
                format!("{what}: the hub refused it ({refusal})"),
            ),
            Expect::Refuse(why) if applied => self.violate(
                &format!("hostile_applied({why})"),
                &name,
                format!("{what}: the hub applied it"),
            ),
            _ => {}
        }
    }

    /// Queues a command on device `i`.
    async fn submit(
        &mut self,
        i: usize,
        cmd: Command,
        label: &'static str,
        what: String,
    ) -> Result<()> {
        let Some(c) = self.client(i) else {
            return Ok(());
        };
        let name = self.devs[i].name.clone();
        match c.submit(cmd.clone()).await {
            Ok(id) => {
                let id2 = id.clone();
                let signed = c
                    .with_dir(move |d| {
                        d.pending()
                            .map(|p| p.into_iter().find(|s| s.body.id == id2))
                    })
                    .await;
                if let Ok(Some(s)) = signed {
                    let sent = &mut self.devs[i].sent;
                    if sent.len() >= 12 {
                        let k = self.rng.index(sent.len());
                        sent.remove(k);
                    }
                    sent.push(s);
                }
                self.devs[i].subs.push(Sub {
                    id,
                    cmd,
                    label,
                    what: what.clone(),
                    state: SubState::Pending,
                    ack: None,
                });
                self.note(format!("{name}: {what}"));
            }
            Err(e) => {
                // Refused on the device before queueing: right only for
                // what the hub must refuse too.
                let person = self.devs[i].person.clone();
                let expect = self.model.expect(&person, &cmd);
                self.note(format!(
                    "{name}: {what} → refused on the device: {}",
                    e.code()
                ));
                self.verdict(i, label, &what, expect, false, &e.to_string());
            }
        }
        Ok(())
    }

    // --- delegates' operations ------------------------------------------

    fn shape(&mut self) -> Shape {
        let kind = self.rng.below(3);
        let mut coord = |lo: i64, hi: i64| self.rng.range(lo, hi) as f32;
        match kind {
            0 => Shape::Note {
                at: Point {
                    x: coord(40, 500),
                    y: coord(40, 780),
                },
            },
            1 => {
                let (l, b) = (coord(40, 400), coord(40, 700));
                Shape::Highlight {
                    rects: vec![Rect {
                        left: l,
                        bottom: b,
                        right: l + 120.0,
                        top: b + 14.0,
                    }],
                }
            }
            _ => {
                let n = self.rng.range(2, 12);
                let stroke = (0..n)
                    .map(|k| Point {
                        x: 60.0 + k as f32 * 9.0,
                        y: 300.0 + (k % 3) as f32 * 5.0,
                    })
                    .collect();
                Shape::Ink {
                    strokes: vec![stroke],
                    width: 1.5,
                }
            }
        }
    }

    /// The latest version of `paper` device `i` holds (a device annotates
    /// what it shows), else the first.
    fn known_version(&self, i: usize, paper: usize) -> u32 {
        let doc = &self.model.papers[paper].id;
        self.devs[i]
            .client
            .as_ref()
            .and_then(|c| {
                let dir = c.dir();
                let d = dir.lock().unwrap_or_else(|p| p.into_inner());
                let n = d
                    .store()
                    .state()
                    .meetings
                    .get(&self.model.meeting)?
                    .documents
                    .get(doc)?
                    .versions
                    .len();
                u32::try_from(n).ok().filter(|n| *n > 0)
            })
            .unwrap_or(1)
    }

    /// An annotation by `author` from device `i` on paper `paper`, on the
    /// latest version the device holds.
    fn annotation(
        &mut self,
        i: usize,
        id: &str,
        author: &PersonId,
        paper: usize,
        visibility: Visibility,
    ) -> Annotation {
        let version = self.known_version(i, paper);
        let p = &self.model.papers[paper];
        let document = p.id.clone();
        let pages = u64::from(*p.pages.get(version as usize - 1).unwrap_or(&1));
        let page = u32::try_from(self.rng.below(pages)).unwrap_or(0);
        let colors = ["#ffcc00", "#ff6666", "#66ccff", "#99dd77"];
        let color = (*self.rng.pick(&colors).unwrap_or(&"#ffcc00")).to_string();
        Annotation {
            id: AnnotationId::new(id),
            author: author.clone(),
            document,
            version,
            page,
            shape: self.shape(),
            color,
            text: Some(format!(
                "Ghi chú {id}: đề nghị làm rõ số liệu ở trang {}",
                page + 1
            )),
            visibility,
            updated_at: Timestamp(0),
        }
    }

    fn readable_papers(&self, person: &PersonId) -> Vec<usize> {
        (0..self.model.papers.len())
            .filter(|p| self.model.may_read(person, *p))
            .collect()
    }

    fn visibility(&mut self) -> Visibility {
        if self.rng.chance(55) {
            Visibility::Private
        } else {
            Visibility::Shared
        }
    }

    async fn annotate(&mut self, i: usize) -> Result<()> {
        let person = self.devs[i].person.clone();
        let papers = self.readable_papers(&person);
        let Some(&paper) = self.rng.pick(&papers) else {
            return self.sync(i).await;
        };
        let n = self.fresh();
        let id = format!("n{n}");
        let vis = self.visibility();
        let a = self.annotation(i, &id, &person, paper, vis);
        let what = format!("add {vis:?} note {id} on paper {paper}");
        let cmd = Command::AddAnnotation {
            meeting: self.model.meeting.clone(),
            annotation: a,
        };
        self.submit(i, cmd, "add_note", what).await?;
        self.maybe_flush(i, 70).await
    }

    async fn edit_note(&mut self, i: usize) -> Result<()> {
        let person = self.devs[i].person.clone();
        let mine = self.model.notes_of(&person);
        let Some(id) = self.rng.pick(&mine).cloned() else {
            return self.annotate(i).await;
        };
        let Some(n) = self.model.notes.get(&id).cloned() else {
            return Ok(());
        };
        let flip = self.rng.chance(40);
        let vis = match (flip, n.visibility) {
            (false, v) => v,
            (true, Visibility::Private) => Visibility::Shared,
            (true, Visibility::Shared) => Visibility::Private,
        };
        let paper = self
            .model
            .papers
            .iter()
            .position(|p| p.id == n.document)
            .unwrap_or(0);
        let mut a = self.annotation(i, id.as_str(), &person, paper, vis);
        a.version = n.version;
        a.page = n.page;
        a.text = Some(format!("Ghi chú {id} (sửa lần {})", self.fresh()));
        let (label, what) = match (flip, vis) {
            (false, _) => ("edit_note", format!("edit note {id}")),
            (true, Visibility::Shared) => ("share_note", format!("share private note {id}")),
            (true, Visibility::Private) => {
                ("unshare_note", format!("make shared note {id} private"))
            }
        };
        let cmd = Command::EditAnnotation {
            meeting: self.model.meeting.clone(),
            annotation: a,
        };
        self.submit(i, cmd, label, what).await?;
        self.maybe_flush(i, 70).await
    }

    async fn delete_note(&mut self, i: usize) -> Result<()> {
        let person = self.devs[i].person.clone();
        let mine = self.model.notes_of(&person);
        let Some(id) = self.rng.pick(&mine).cloned() else {
            return self.annotate(i).await;
        };
        let cmd = Command::DeleteAnnotation {
            meeting: self.model.meeting.clone(),
            annotation: id.clone(),
        };
        self.submit(i, cmd, "delete_note", format!("delete note {id}"))
            .await?;
        self.maybe_flush(i, 70).await
    }

    async fn check_in(&mut self, i: usize) -> Result<()> {
        let person = self.devs[i].person.clone();
        let other = self.model.other_members.contains(&person) && self.rng.chance(15);
        let meeting = if other {
            self.model.other.clone()
        } else {
            self.model.meeting.clone()
        };
        let present = self.rng.chance(80);
        let what = format!(
            "check {} {meeting}",
            if present { "in to" } else { "out of" }
        );
        self.submit(i, Command::CheckIn { meeting, present }, "check_in", what)
            .await?;
        self.maybe_flush(i, 80).await
    }

    async fn speak(&mut self, i: usize) -> Result<()> {
        let person = self.devs[i].person.clone();
        let waiting = self.model.requests(Some(&person), SpeakerStatus::Waiting);
        let meeting = self.model.meeting.clone();
        if let (Some(r), true) = (waiting.first(), self.rng.chance(35)) {
            let what = format!("withdraw request {r}");
            let cmd = Command::WithdrawRequest {
                meeting,
                request: r.clone(),
            };
            self.submit(i, cmd, "withdraw", what).await?;
        } else {
            let n = self.fresh();
            let request = SpeakerRequestId::new(format!("r{n}"));
            let item = if self.rng.chance(50) {
                self.rng.pick(&self.model.items).cloned()
            } else {
                None
            };
            let what = format!("ask to speak ({request})");
            let cmd = Command::RequestToSpeak {
                meeting,
                request,
                item,
            };
            self.submit(i, cmd, "ask_to_speak", what).await?;
        }
        self.maybe_flush(i, 80).await
    }

    /// A voter who has not voted in an open poll votes (most of the time).
    async fn vote(&mut self) -> Result<()> {
        let open = self.model.open_polls();
        let Some(poll) = self.rng.pick(&open).cloned() else {
            let live = self.live();
            let i = live[self.rng.index(live.len())];
            return self.sync(i).await;
        };
        let p = self.model.polls[&poll].clone();
        let voters: Vec<usize> = self
            .live()
            .into_iter()
            .filter(|&i| {
                let person = &self.devs[i].person;
                !self.devs[i].revoked
                    && p.eligible.contains(person)
                    && !p.votes.contains_key(person)
            })
            .collect();
        let Some(&i) = self.rng.pick(&voters) else {
            let live = self.live();
            let i = live[self.rng.index(live.len())];
            return self.sync(i).await;
        };
        let choice = u32::try_from(self.rng.below(u64::from(p.options))).unwrap_or(0);
        let kind = if p.secret { "secret" } else { "named" };
        let what = format!("{kind} ballot {choice} in {poll}");
        let cmd = Command::CastBallot {
            meeting: self.model.meeting.clone(),
            poll,
            choice,
        };
        self.submit(i, cmd, "ballot", what).await?;
        self.maybe_flush(i, 85).await
    }

    // --- the chair ------------------------------------------------------

    async fn chair(&mut self) -> Result<()> {
        let chairs: Vec<usize> = self
            .live()
            .into_iter()
            .filter(|&i| {
                matches!(self.role(i), Role::Chair | Role::Secretariat) && !self.devs[i].revoked
            })
            .collect();
        let Some(&first) = chairs.first() else {
            return Ok(());
        };
        let i = if self.role(first) == Role::Chair && self.rng.chance(75) {
            first
        } else {
            *self.rng.pick(&chairs).unwrap_or(&first)
        };
        let meeting = self.model.meeting.clone();
        let status = self.model.status;
        let drafts = self.model.polls_in(PollStatus::Draft);
        let open = self.model.open_polls();
        let waiting = self.model.requests(None, SpeakerStatus::Waiting);
        let speaking = self.model.requests(None, SpeakerStatus::Speaking);
        #[derive(Clone, Copy)]
        enum C {
            Start,
            Focus,
            Item,
            Floor,
            EndFloor,
            Create,
            Open,
            Close,
            CloseSession,
        }
        let choice = if status == MeetingStatus::Published && self.rng.chance(90) {
            C::Start
        } else {
            let late = self.step * 4 > self.opts.steps * 3;
            let w = |ok: bool, w: u32| if ok { w } else { 0 };
            self.rng
                .weighted(&[
                    (C::Focus, 20),
                    (C::Item, 8),
                    (C::Floor, w(!waiting.is_empty(), 10)),
                    (C::EndFloor, w(!speaking.is_empty(), 6)),
                    (C::Create, w(drafts.len() + open.len() < 3, 10)),
                    (C::Open, w(!drafts.is_empty(), 12)),
                    (C::Close, w(!open.is_empty(), 12)),
                    (C::CloseSession, w(late, 1)),
                ])
                .unwrap_or(C::Focus)
        };
        let (cmd, label, what) = match choice {
            C::Start => (
                Command::StartSession {
                    meeting,
                    override_quorum: self.rng.chance(50),
                },
                "start_session",
                "start the session".to_string(),
            ),
            C::CloseSession => (
                Command::CloseSession { meeting },
                "close_session",
                "close the session".to_string(),
            ),
            C::Focus => {
                let k = self.rng.index(self.model.papers.len() + 1);
                match self.model.papers.get(k) {
                    Some(p) => {
                        let pages = u64::from(*p.pages.last().unwrap_or(&1));
                        let page = u32::try_from(self.rng.below(pages)).unwrap_or(0);
                        (
                            Command::SetChairFocus {
                                meeting,
                                document: Some(p.id.clone()),
                                page,
                            },
                            "chair_focus",
                            format!("show paper {k} page {}", page + 1),
                        )
                    }
                    None => (
                        Command::SetChairFocus {
                            meeting,
                            document: None,
                            page: 0,
                        },
                        "chair_focus",
                        "show the agenda".to_string(),
                    ),
                }
            }
            C::Item => {
                let k = self.rng.index(self.model.items.len());
                let item = self.model.items.get(k).cloned();
                let what = format!("move to agenda item {}", k + 1);
                (
                    Command::SetCurrentItem { meeting, item },
                    "current_item",
                    what,
                )
            }
            C::Floor => {
                let r = self
                    .rng
                    .pick(&waiting)
                    .cloned()
                    .unwrap_or_else(|| SpeakerRequestId::new("r0"));
                let what = format!("give the floor to {r}");
                (
                    Command::GiveFloor {
                        meeting,
                        request: r,
                    },
                    "give_floor",
                    what,
                )
            }
            C::EndFloor => {
                let r = self
                    .rng
                    .pick(&speaking)
                    .cloned()
                    .unwrap_or_else(|| SpeakerRequestId::new("r0"));
                let what = format!("end the floor of {r}");
                (
                    Command::EndFloor {
                        meeting,
                        request: r,
                    },
                    "end_floor",
                    what,
                )
            }
            C::Create => {
                let n = self.fresh();
                let secret = self.rng.chance(50);
                let item = self.rng.pick(&self.model.items).cloned();
                let poll = PollId::new(format!("poll{n}"));
                let what = format!(
                    "create {} poll {poll}",
                    if secret { "secret" } else { "named" }
                );
                (
                    Command::CreatePoll {
                        meeting,
                        poll,
                        item,
                        question: format!("Biểu quyết thông qua nội dung số {n}"),
                        options: options(),
                        secret,
                        rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
                        closes_at: None,
                    },
                    "create_poll",
                    what,
                )
            }
            C::Open => {
                let poll = self
                    .rng
                    .pick(&drafts)
                    .cloned()
                    .unwrap_or_else(|| PollId::new("p0"));
                let override_quorum = self.rng.chance(50);
                let what = format!(
                    "open {poll}{}",
                    if override_quorum {
                        " (quorum override)"
                    } else {
                        ""
                    }
                );
                (
                    Command::OpenPoll {
                        meeting,
                        poll,
                        override_quorum,
                    },
                    "open_poll",
                    what,
                )
            }
            C::Close => {
                let poll = self
                    .rng
                    .pick(&open)
                    .cloned()
                    .unwrap_or_else(|| PollId::new("p0"));
                let override_quorum = self.rng.chance(50);
                let confirm_missing = self.rng.chance(60);
                let what = format!(
                    "close {poll}{}{}",
                    if override_quorum {
                        " (quorum override)"
                    } else {
                        ""
                    },
                    if confirm_missing {
                        " (missing voters confirmed)"
                    } else {
                        ""
                    }
                );
                (
                    Command::ClosePoll {
                        meeting,
                        poll,
                        override_quorum,
                        confirm_missing,
                    },
                    "close_poll",
                    what,
                )
            }
        };
        self.submit(i, cmd, label, what).await?;
        self.maybe_flush(i, 85).await
    }

    // --- hostile commands -------------------------------------------------

    /// Signed by the device, through its outbox, and wrong.
    async fn hostile_outbox(&mut self, i: usize) -> Result<()> {
        #[derive(Clone, Copy)]
        enum H {
            ReuseId,
            EditOthers,
            DeleteOthers,
            Impersonate,
            WrongMeeting,
            ChairOnly,
            LateBallot,
            Oversized,
            Huge,
            BadPage,
        }
        let h = self
            .rng
            .weighted(&[
                (H::ReuseId, 24),
                (H::EditOthers, 12),
                (H::DeleteOthers, 8),
                (H::Impersonate, 8),
                (H::WrongMeeting, 10),
                (H::ChairOnly, 10),
                (H::LateBallot, 14),
                (H::Oversized, 8),
                (H::Huge, 3),
                (H::BadPage, 5),
            ])
            .unwrap_or(H::ReuseId);
        let person = self.devs[i].person.clone();
        let meeting = self.model.meeting.clone();
        let readable = self.readable_papers(&person);
        let paper = self.rng.pick(&readable).copied();
        // Other people's notes on papers this person may read: a device
        // never learns a paper it may not read, not even its id.
        let others: Vec<AnnotationId> = self
            .model
            .notes
            .iter()
            .filter(|(_, n)| {
                n.alive
                    && n.author != person
                    && readable
                        .iter()
                        .any(|p| self.model.papers[*p].id == n.document)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let (cmd, what): (Command, String) = match (h, paper) {
            (H::ReuseId, Some(paper)) if !self.model.notes.is_empty() => {
                let own_dead: Vec<AnnotationId> = self
                    .model
                    .notes
                    .iter()
                    .filter(|(_, n)| !n.alive && n.author == person)
                    .map(|(id, _)| id.clone())
                    .collect();
                let all: Vec<AnnotationId> = self.model.notes.keys().cloned().collect();
                let id = if !own_dead.is_empty() && self.rng.chance(60) {
                    self.rng.pick(&own_dead).cloned()
                } else {
                    self.rng.pick(&all).cloned()
                }
                .unwrap_or_else(|| AnnotationId::new("n0"));
                // The other log than the one it was in: private ↔ shared.
                let vis = match self.model.notes.get(&id).map(|n| n.visibility) {
                    Some(Visibility::Private) => Visibility::Shared,
                    _ => Visibility::Private,
                };
                let a = self.annotation(i, id.as_str(), &person, paper, vis);
                (
                    Command::AddAnnotation {
                        meeting,
                        annotation: a,
                    },
                    format!("reuse note id {id} ({vis:?})"),
                )
            }
            (H::EditOthers, Some(paper)) if !others.is_empty() => {
                let id = self
                    .rng
                    .pick(&others)
                    .cloned()
                    .unwrap_or_else(|| AnnotationId::new("n0"));
                let n = self.model.notes[&id].clone();
                let mut a = self.annotation(i, id.as_str(), &person, paper, n.visibility);
                a.document = n.document.clone();
                a.version = n.version;
                a.page = n.page;
                (
                    Command::EditAnnotation {
                        meeting,
                        annotation: a,
                    },
                    format!("edit {}'s note {id}", n.author),
                )
            }
            (H::DeleteOthers, _) if !others.is_empty() => {
                let id = self
                    .rng
                    .pick(&others)
                    .cloned()
                    .unwrap_or_else(|| AnnotationId::new("n0"));
                (
                    Command::DeleteAnnotation {
                        meeting,
                        annotation: id.clone(),
                    },
                    format!("delete someone else's note {id}"),
                )
            }
            (H::Impersonate, Some(paper)) => {
                let victim = self
                    .t
                    .people
                    .iter()
                    .map(|(p, _)| p.clone())
                    .find(|p| p != &person)
                    .unwrap_or_else(|| PersonId::new(world::CHAIR));
                let n = self.fresh();
                let vis = self.visibility();
                let a = self.annotation(i, &format!("n{n}"), &victim, paper, vis);
                (
                    Command::AddAnnotation {
                        meeting,
                        annotation: a,
                    },
                    format!("add a note as {victim}"),
                )
            }
            (H::WrongMeeting, _) => {
                let elsewhere = if self.model.other_members.contains(&person) || self.rng.chance(50)
                {
                    MeetingId::new(world::NOWHERE)
                } else {
                    self.model.other.clone()
                };
                (
                    Command::CheckIn {
                        meeting: elsewhere.clone(),
                        present: true,
                    },
                    format!("check in to {elsewhere}"),
                )
            }
            (H::ChairOnly, _) if !matches!(self.role(i), Role::Chair | Role::Secretariat) => {
                let drafts = self.model.polls_in(PollStatus::Draft);
                match drafts.first() {
                    Some(poll) if self.rng.chance(50) => (
                        Command::OpenPoll {
                            meeting,
                            poll: poll.clone(),
                            override_quorum: true,
                        },
                        format!("open {poll} with a quorum override (not the chair)"),
                    ),
                    _ => (
                        Command::SetChairFocus {
                            meeting,
                            document: None,
                            page: 0,
                        },
                        "set the chair's focus (not the chair)".to_string(),
                    ),
                }
            }
            (H::Oversized | H::Huge, Some(paper)) => {
                let n = self.fresh();
                let id = format!("n{n}");
                let mut a = self.annotation(i, &id, &person, paper, Visibility::Shared);
                let what = if matches!(h, H::Huge) {
                    // Over any HTTP body limit too: a device that queued it
                    // anyway must not block its outbox on it.
                    a.text = Some("x".repeat(HUGE_TEXT));
                    format!("note {id} with {} MB of text", HUGE_TEXT / 1_000_000)
                } else if self.rng.chance(50) {
                    a.text = Some("ư".repeat(OVERSIZED_TEXT / 2 + 1000));
                    format!("note {id} with {} KB of text", OVERSIZED_TEXT / 1000)
                } else {
                    let stroke = (0..OVERSIZED_INK + 100)
                        .map(|k| Point {
                            x: (k % 500) as f32,
                            y: (k / 500) as f32,
                        })
                        .collect();
                    a.shape = Shape::Ink {
                        strokes: vec![stroke],
                        width: 1.0,
                    };
                    format!("ink {id} with {} points", OVERSIZED_INK + 100)
                };
                (
                    Command::AddAnnotation {
                        meeting,
                        annotation: a,
                    },
                    what,
                )
            }
            (H::BadPage, Some(paper)) => {
                let n = self.fresh();
                let id = format!("n{n}");
                let mut a = self.annotation(i, &id, &person, paper, Visibility::Private);
                a.page = *self.model.papers[paper].pages.last().unwrap_or(&1) + 3;
                (
                    Command::AddAnnotation {
                        meeting,
                        annotation: a,
                    },
                    format!("note {id} beyond the paper's last page"),
                )
            }
            _ => {
                // A ballot that must not count: after the close, twice, an
                // option that does not exist, or in a poll that does not.
                let closed = self.model.polls_in(PollStatus::Closed);
                let open = self.model.open_polls();
                let voted: Vec<PollId> = open
                    .iter()
                    .filter(|p| self.model.polls[*p].votes.contains_key(&person))
                    .cloned()
                    .collect();
                let (poll, choice, what) = if let Some(p) = self.rng.pick(&closed).cloned() {
                    (p.clone(), 0, format!("ballot in closed poll {p}"))
                } else if let Some(p) = voted.first().cloned() {
                    (p.clone(), 1, format!("second ballot in {p}"))
                } else if let Some(p) = open.first().cloned() {
                    (p.clone(), 7, format!("ballot for option 7 in {p}"))
                } else {
                    (
                        PollId::new("poll-ma"),
                        0,
                        "ballot in a poll that does not exist".into(),
                    )
                };
                (
                    Command::CastBallot {
                        meeting,
                        poll,
                        choice,
                    },
                    what,
                )
            }
        };
        self.submit(i, cmd, "hostile", what).await?;
        self.maybe_flush(i, 90).await
    }

    /// The device's own key, by hand: nothing of it stays on the device.
    async fn raw(&mut self, i: usize) -> Result<Option<RawDevice>> {
        let Some(c) = self.client(i) else {
            return Ok(None);
        };
        if !self.hub.is_running() {
            return Ok(None);
        }
        let mut raw = RawDevice::of(&c, self.hub.addr());
        let a = raw.sign_in().await?;
        if !a.status.is_success() {
            if !self.devs[i].revoked {
                let name = self.devs[i].name.clone();
                self.violate(
                    "sign_in_refused",
                    &name,
                    format!("a paired device cannot sign in: {} {}", a.status, a.code()),
                );
            }
            return Ok(None);
        }
        Ok(Some(raw))
    }

    async fn hostile_raw(&mut self, i: usize) -> Result<()> {
        let Some(raw) = self.raw(i).await? else {
            return self.sync(i).await;
        };
        let person = self.devs[i].person.clone();
        let name = self.devs[i].name.clone();
        let unreadable: Vec<usize> = (0..self.model.papers.len())
            .filter(|p| !self.model.may_read(&person, *p))
            .collect();
        let pick = self.rng.below(5);
        if let (0 | 1, Some(&paper)) = (pick, self.rng.pick(&unreadable)) {
            // A non-reader asks for the paper's bytes, and annotates it.
            let shas: Vec<String> = self.markers[paper]
                .iter()
                .filter(|m| m.len() == 64 && m.bytes().all(|b| b.is_ascii_hexdigit()))
                .cloned()
                .collect();
            for sha in &shas {
                let a = raw.get(&format!("/v1/blobs/{sha}")).await?;
                if a.status.is_success() {
                    self.violate(
                        &format!("leak(blob,paper {paper})"),
                        &name,
                        format!("the hub served blob {sha} of a paper this person may not read"),
                    );
                }
            }
            let n = self.fresh();
            let a = self.annotation(i, &format!("n{n}"), &person, paper, Visibility::Private);
            let cmd = Command::AddAnnotation {
                meeting: self.model.meeting.clone(),
                annotation: a,
            };
            let what = format!("note on unreadable paper {paper} (by hand)");
            self.note(format!("{name}: {what}, and asks for its blobs"));
            return self
                .raw_command(i, &raw, &format!("x{n}"), cmd, "hostile", what)
                .await;
        }
        match pick {
            2 => {
                // Replay one of its own answered commands.
                let answered: Vec<(phonghop_core::protocol::SignedCommand, CommandAck)> = self.devs
                    [i]
                    .sent
                    .iter()
                    .filter_map(|s| {
                        let sub = self.devs[i].subs.iter().find(|x| x.id == s.body.id)?;
                        Some((s.clone(), sub.ack.clone()?))
                    })
                    .collect();
                let Some((signed, first)) = self.rng.pick(&answered).cloned() else {
                    return self.sync(i).await;
                };
                self.note(format!("{name}: replays command {}", signed.body.id));
                let a = raw.command(&signed).await?;
                let again: Option<CommandAck> = a.json().ok().filter(|_| a.status.is_success());
                match again {
                    Some(ack) if ack.replay && ack.outcome == first.outcome => {}
                    Some(ack) => self.violate(
                        "exactly_once(replay)",
                        &name,
                        format!(
                            "command {} sent again was answered {:?} (replay {}), first {:?}",
                            signed.body.id, ack.outcome, ack.replay, first.outcome
                        ),
                    ),
                    None => self.violate(
                        "exactly_once(replay)",
                        &name,
                        format!(
                            "command {} sent again was not answered: {} {}",
                            signed.body.id,
                            a.status,
                            a.code()
                        ),
                    ),
                }
                Ok(())
            }
            3 => {
                // Another device's signed command, or its command id.
                // Only commands the hub has answered: an id still in
                // another device's outbox never left it.
                let theirs: Vec<phonghop_core::protocol::SignedCommand> = self
                    .devs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, d)| {
                        d.sent
                            .iter()
                            .filter(|s| d.subs.iter().any(|x| x.id == s.body.id && x.ack.is_some()))
                            .cloned()
                    })
                    .collect();
                let Some(signed) = self.rng.pick(&theirs).cloned() else {
                    return self.sync(i).await;
                };
                let (body, what) = if self.rng.chance(50) {
                    (
                        signed.clone(),
                        format!("posts another device's command {}", signed.body.id),
                    )
                } else {
                    let key = raw.key.clone();
                    let cmd = Command::CheckIn {
                        meeting: self.model.meeting.clone(),
                        present: false,
                    };
                    (
                        raw.signed(signed.body.id.as_str(), cmd, &key),
                        format!("signs its own command with another's id {}", signed.body.id),
                    )
                };
                self.note(format!("{name}: {what}"));
                let a = raw.command(&body).await?;
                if a.status.is_success() {
                    let ack: Option<CommandAck> = a.json().ok();
                    let applied = ack
                        .as_ref()
                        .is_some_and(|k| matches!(k.outcome, CommandOutcome::Applied { .. }));
                    if applied {
                        self.violate(
                            "hostile_applied(foreign_command)",
                            &name,
                            format!("{what}: answered {ack:?}"),
                        );
                    }
                }
                Ok(())
            }
            _ => {
                // The other meeting's log, for a person outside it.
                if self.model.other_members.contains(&person) {
                    return self.sync(i).await;
                }
                let a = raw
                    .get(&format!("/v1/meetings/{}/events?after=0", world::OTHER))
                    .await?;
                self.note(format!(
                    "{name}: reads {}'s log by hand: {}",
                    world::OTHER,
                    a.status
                ));
                if a.status.is_success() {
                    self.violate(
                        "leak(other_meeting)",
                        &name,
                        "the hub served a meeting's log to a person outside it",
                    );
                }
                Ok(())
            }
        }
    }

    /// Posts a command signed with the device's key by hand, and judges it.
    async fn raw_command(
        &mut self,
        i: usize,
        raw: &RawDevice,
        id: &str,
        cmd: Command,
        label: &'static str,
        what: String,
    ) -> Result<()> {
        let person = self.devs[i].person.clone();
        let expect = self.model.expect(&person, &cmd);
        let key = raw.key.clone();
        let signed = raw.signed(id, cmd.clone(), &key);
        let a = raw.command(&signed).await?;
        let ack: Option<CommandAck> = a.json().ok().filter(|_| a.status.is_success());
        match ack.map(|k| k.outcome) {
            Some(CommandOutcome::Applied { log, seqs }) => {
                self.verdict(i, label, &what, expect, true, "");
                self.model.apply(&person, &cmd);
                self.applied.insert(
                    CommandId::new(id),
                    Applied {
                        log,
                        seqs,
                        cmd,
                        what,
                    },
                );
            }
            Some(CommandOutcome::Refused { code, message }) => {
                self.verdict(
                    i,
                    label,
                    &what,
                    expect,
                    false,
                    &format!("{code}: {message}"),
                );
            }
            None => {
                let why = format!("HTTP {} {}", a.status, a.code());
                self.verdict(i, label, &what, expect, false, &why);
            }
        }
        Ok(())
    }

    // --- faults -----------------------------------------------------------

    fn partition(&mut self, i: usize) {
        if self.rng.chance(20) {
            for d in &self.devs {
                d.link.set(LinkMode::Up);
            }
            self.note("the network heals");
            return;
        }
        let name = self.devs[i].name.clone();
        if self.devs[i].link.mode() == LinkMode::Up {
            self.devs[i].link.set(LinkMode::Down);
            self.note(format!("{name} goes offline"));
        } else {
            self.devs[i].link.set(LinkMode::Up);
            self.note(format!("{name} comes back online"));
        }
    }

    /// The device sends its outbox; the hub acts on the first command and
    /// its answer is lost. The device must send it again and be told it
    /// was a replay; the hub must not act twice.
    async fn lose_reply(&mut self, i: usize) -> Result<()> {
        if !self.reachable(i) || self.devs[i].revoked {
            return self.sync(i).await;
        }
        let first = self.devs[i]
            .subs
            .iter()
            .find(|s| matches!(s.state, SubState::Pending | SubState::InDoubt(_)))
            .cloned();
        let first = match first {
            Some(s) => s,
            None => {
                let cmd = Command::CheckIn {
                    meeting: self.model.meeting.clone(),
                    present: true,
                };
                self.submit(i, cmd, "check_in", "check in".into()).await?;
                match self.devs[i].subs.last() {
                    Some(s) if s.state == SubState::Pending => s.clone(),
                    _ => return Ok(()),
                }
            }
        };
        if first.state == SubState::Pending {
            let person = self.devs[i].person.clone();
            if self.model.expect(&person, &first.cmd) == Expect::Either {
                return self.flush(i).await;
            }
        }
        let Some(c) = self.client(i) else {
            return Ok(());
        };
        // A fresh session first, so the lost answer is the command's.
        if let Err(e) = c.pull().await {
            return self.judge_sync(i, true, Err(("pull", e))).await;
        }
        self.devs[i].link.set(LinkMode::LoseReplies);
        let r = c.flush_outbox().await;
        self.devs[i].link.set(LinkMode::Up);
        let name = self.devs[i].name.clone();
        self.note(format!(
            "{name} sends its outbox, the answer is lost: {}",
            r.as_ref()
                .map_or_else(|e| e.code(), |n| format!("{n} answered"))
        ));
        self.collect_acks(i, r.is_err()).await
    }

    async fn restart_device(&mut self, i: usize) -> Result<()> {
        let name = self.devs[i].name.clone();
        self.devs[i].client = None;
        let folder = self.devs[i].folder.clone();
        let opened = tokio::task::spawn_blocking(move || Client::open(&folder)).await?;
        match opened {
            Ok(c) => {
                self.devs[i].client = Some(Arc::new(c));
                self.note(format!("{name} restarts"));
            }
            Err(e) => {
                self.note(format!("{name} restarts: cannot open its folder"));
                self.violate(
                    "device_reopen",
                    &name,
                    format!("the device cannot open its own folder again: {e}"),
                );
                self.devs[i].dead = true;
            }
        }
        Ok(())
    }

    async fn hub_restart(&mut self, outage: bool) -> Result<()> {
        if !self.hub.is_running() {
            return self.hub_up().await;
        }
        if self.rng.chance(50) {
            if let Err(e) = self.hub.stop().await {
                self.violate(
                    "hub_stop",
                    "hub",
                    format!("stopping through its shutdown: {e}"),
                );
            }
            self.note("hub stops");
        } else {
            self.hub.kill();
            self.note("hub killed");
        }
        if outage {
            let until = self.step + usize::try_from(self.rng.range(1, 5)).unwrap_or(1);
            self.hub_down_until = Some(until);
            Ok(())
        } else {
            self.hub_up().await
        }
    }

    // --- the secretariat ------------------------------------------------

    /// Carries out a secretariat operation the way the CLI and the app's
    /// secretariat screens do (`phonghop_hub::admin::submit`): through the
    /// running hub's admin endpoint, or on the folder when no hub runs.
    /// Records what it appended.
    async fn secretariat(&mut self, what: &str, op: AdminOp) -> Result<Option<AdminReply>> {
        self.secretariat_expecting(what, op, None).await
    }

    /// Like [`Self::secretariat`]; with `refusal`, the model expects the hub
    /// to refuse with that code (and applying it is the violation).
    async fn secretariat_expecting(
        &mut self,
        what: &str,
        op: AdminOp,
        refusal: Option<&str>,
    ) -> Result<Option<AdminReply>> {
        let data = self.root.join("hub");
        let now = self.hub_now();
        let r = tokio::task::spawn_blocking(move || admin::submit(&data, op, now)).await?;
        match (r, refusal) {
            (Ok(_), Some(code)) => {
                self.violate(
                    "secretariat_applied",
                    what,
                    format!("the hub let the secretariat {what}; the model expects {code}"),
                );
                Ok(None)
            }
            (Err(e), Some(code)) if e.code() == code => Ok(None),
            (r, _) => self.secretariat_answered(what, r),
        }
    }

    fn secretariat_answered(
        &mut self,
        what: &str,
        r: Result<AdminReply, phonghop_hub::HubError>,
    ) -> Result<Option<AdminReply>> {
        match r {
            Ok(reply) => {
                for e in &reply.appended {
                    if e.log != LogId::Directory.key() {
                        self.secretariat.push((e.log.clone(), e.seq, e.seq));
                    }
                }
                Ok(Some(reply))
            }
            Err(e) => {
                self.violate(
                    &format!("secretariat_refused({})", e.code()),
                    what,
                    format!("the secretariat cannot {what}: {e}"),
                );
                Ok(None)
            }
        }
    }

    fn meeting_closed(&self) -> bool {
        self.model.status == MeetingStatus::Closed
    }

    async fn secretariat_op(&mut self) -> Result<()> {
        let revoked = self.devs.iter().filter(|d| d.revoked).count();
        let joined = self.devs.len() - self.t.people.len();
        let spare = (0..self.spares_used.len()).find(|k| !self.spares_used[*k]);
        let w = |ok: bool, w: u32| if ok { w } else { 0 };
        let choice = self
            .rng
            .weighted(&[
                (0, w(revoked < 2, 3)),
                (1, w(joined < 2 && self.hub.is_running(), 3)),
                (2, w(spare.is_some(), 3)),
                (3, 3),
                (4, 2),
                (5, 1),
            ])
            .unwrap_or(3);
        match choice {
            0 => self.revoke().await,
            1 => self.new_device().await,
            2 => self.add_version(spare.unwrap_or(0)).await,
            4 => self.set_rules().await,
            5 => self.set_retention().await,
            _ => self.retitle().await,
        }
    }

    /// Sets the meeting's quorum (before the session only: refused after);
    /// `check_safeguards` then judges the chair's actions against it.
    async fn set_rules(&mut self) -> Result<()> {
        let quorum = match self.rng.index(3) {
            0 => Threshold::MoreThanHalf,
            1 => Threshold::AtLeastTwoThirds,
            _ => Threshold::Fraction {
                numerator: 0,
                denominator: 1,
                strict: false,
            },
        };
        let op = AdminOp::SetMeetingRules {
            meeting: world::MEETING.into(),
            rules: MeetingRules {
                quorum,
                unchecked_ballot: UncheckedBallot::CheckIn,
            },
        };
        // Whether the session has opened is known only once no "start the
        // session" is unanswered.
        let starting = self.devs.iter().flat_map(|d| d.subs.iter()).any(|s| {
            matches!(s.state, SubState::Pending | SubState::InDoubt(_))
                && matches!(s.cmd, Command::StartSession { .. })
        });
        if starting {
            return Ok(());
        }
        let refusal = (self.model.status != MeetingStatus::Published).then_some("meeting_status");
        let what = format!("set the quorum to {quorum:?}");
        if self
            .secretariat_expecting(&what, op, refusal)
            .await?
            .is_some()
        {
            self.note(format!("secretariat sets the quorum to {quorum:?}"));
        }
        Ok(())
    }

    /// Sets how long devices keep the pack (any time). Periods are days,
    /// far beyond a run's simulated minutes, so no device deletes the pack
    /// mid-run; one past the ten-year limit must be refused.
    async fn set_retention(&mut self) -> Result<()> {
        let days = |rng: &mut super::rng::Rng| match rng.index(4) {
            0 => None,
            1 => Some(1 + rng.index(30) as u32),
            2 => Some(phonghop_core::retention::MAX_DAYS),
            _ => Some(365),
        };
        let idle = [
            None,
            Some(1),
            Some(15),
            Some(phonghop_core::retention::MAX_IDLE_MINUTES),
        ][self.rng.index(4)];
        let mut retention = phonghop_core::Retention {
            delete_after_days: days(&mut self.rng),
            lock_after_offline_days: days(&mut self.rng),
            idle_lock_minutes: idle,
        };
        let too_long = self.rng.index(8) == 0;
        if too_long {
            retention.delete_after_days = Some(phonghop_core::retention::MAX_DAYS + 1);
        }
        let op = AdminOp::SetRetention {
            meeting: world::MEETING.into(),
            retention,
        };
        let what = format!("set the retention to {retention:?}");
        if self
            .secretariat_expecting(&what, op, too_long.then_some("invalid"))
            .await?
            .is_some()
        {
            self.note(format!("secretariat sets the retention to {retention:?}"));
        }
        Ok(())
    }

    /// Revokes a device that holds a live socket; the hub must close it.
    async fn revoke(&mut self) -> Result<()> {
        let candidates: Vec<usize> = self
            .live()
            .into_iter()
            .filter(|&i| {
                let d = &self.devs[i];
                !d.revoked
                    && d.client.is_some()
                    && !d
                        .subs
                        .iter()
                        .any(|s| matches!(s.state, SubState::InDoubt(_)))
            })
            .collect();
        let Some(&i) = self.rng.pick(&candidates) else {
            return Ok(());
        };
        let Some(c) = self.client(i) else {
            return Ok(());
        };
        let name = self.devs[i].name.clone();
        let device = c.pairing().device.clone();
        let raw = self.raw(i).await?;
        let mut socket = None;
        if let Some(token) = raw.as_ref().and_then(|r| r.token.clone()) {
            match LiveSocket::open(self.hub.addr(), &token).await {
                Ok(s) => socket = Some(s),
                Err(e) => self.violate("live_refused", &name, format!("{e:#}")),
            }
        }
        let op = AdminOp::RevokeDevice {
            device: device.to_string(),
        };
        if self.secretariat("revoke a device", op).await?.is_none() {
            return Ok(());
        }
        self.devs[i].revoked = true;
        self.note(format!("secretariat revokes {name}'s device {device}"));
        if let Some(mut s) = socket {
            if !s.closed_within(REVOKED_SOCKET_LIMIT).await {
                self.violate(
                    "revoked_socket_open",
                    &name,
                    format!(
                        "the revoked device's live socket is still open {} ms after its revocation",
                        REVOKED_SOCKET_LIMIT.as_millis()
                    ),
                );
            }
        }
        if let Some(raw) = raw {
            // The session it had: a command on it must not be applied.
            let n = self.fresh();
            let cmd = Command::CheckIn {
                meeting: self.model.meeting.clone(),
                present: true,
            };
            let what = "check in after revocation (old session)".to_string();
            self.raw_command_revoked(i, &raw, &format!("rv{n}"), cmd, what)
                .await?;
        }
        Ok(())
    }

    async fn raw_command_revoked(
        &mut self,
        i: usize,
        raw: &RawDevice,
        id: &str,
        cmd: Command,
        what: String,
    ) -> Result<()> {
        let key = raw.key.clone();
        let signed = raw.signed(id, cmd.clone(), &key);
        let a = raw.command(&signed).await?;
        let ack: Option<CommandAck> = a.json().ok().filter(|_| a.status.is_success());
        if let Some(CommandOutcome::Applied { log, seqs }) = ack.map(|k| k.outcome) {
            let name = self.devs[i].name.clone();
            self.violate(
                "hostile_applied(after_revocation)",
                &name,
                format!("{what}: applied"),
            );
            let person = self.devs[i].person.clone();
            self.model.apply(&person, &cmd);
            self.applied.insert(
                CommandId::new(id),
                Applied {
                    log,
                    seqs,
                    cmd,
                    what,
                },
            );
        }
        Ok(())
    }

    /// A person gets a new device (an invite from the secretariat).
    async fn new_device(&mut self) -> Result<()> {
        let k = self.rng.index(self.t.people.len());
        let person = self.t.people[k].0.clone();
        let op = AdminOp::CreateInvite {
            person: person.to_string(),
            ttl_ms: 86_400_000,
        };
        let code = match self.secretariat("invite", op).await? {
            Some(AdminReply {
                done: Done::InviteCreated { code, .. },
                ..
            }) => code,
            _ => return Ok(()),
        };
        if !self.hub.is_running() {
            return Ok(());
        }
        let link = Link::start(self.hub.addr()).await?;
        let n = self.fresh();
        let name = format!("{person}-{n}");
        let folder = self.root.join("devices").join(&name);
        let invite = format!("phonghop:{code}@{}", link.addr);
        match Client::join(&folder, &invite, &format!("Máy mới {name}")).await {
            Ok(c) => {
                self.devs.push(Dev {
                    name: name.clone(),
                    person,
                    folder,
                    client: Some(Arc::new(c)),
                    link,
                    revoked: false,
                    dead: false,
                    subs: Vec::new(),
                    sent: Vec::new(),
                });
                self.note(format!("{name} joins"));
                let i = self.devs.len() - 1;
                self.sync(i).await
            }
            Err(e) => {
                self.violate(
                    "join_failed",
                    &name,
                    format!("pairing with a fresh invite: {e}"),
                );
                Ok(())
            }
        }
    }

    async fn add_version(&mut self, k: usize) -> Result<()> {
        self.spares_used[k] = true;
        let spare = self.t.spares[k].clone();
        let paper = spare.paper;
        let doc = self.model.papers[paper].id.clone();
        let op = AdminOp::AddVersion {
            meeting: world::MEETING.into(),
            paper: doc.clone(),
            file: spare.file.clone(),
            analysis: Box::new(spare.analysis.clone()),
        };
        // Papers cannot change once the meeting is closed.
        let refusal = self.meeting_closed().then_some("meeting_status");
        if self
            .secretariat_expecting("add a paper version", op, refusal)
            .await?
            .is_none()
        {
            return Ok(());
        }
        // Its hashes, as the hub recorded them (read beside the writer).
        let db = self.root.join("hub").join("hub.db");
        let meeting = self.model.meeting.clone();
        let v = tokio::task::spawn_blocking(move || {
            let store = phonghop_store::Store::open(&db)?;
            let v = store
                .state()
                .meetings
                .get(&meeting)
                .and_then(|m| m.documents.get(&doc))
                .and_then(|d| d.versions.last().cloned());
            Ok::<_, anyhow::Error>(v)
        })
        .await??;
        if let Some(v) = v {
            self.model.papers[paper].pages.push(v.pages.unwrap_or(1));
            self.markers[paper].push(spare.salt.clone());
            self.markers[paper].push(v.sha256.to_hex());
            if let Some(a) = v.analysis {
                self.markers[paper].push(a.to_hex());
            }
            self.note(format!(
                "secretariat adds version {} of paper {paper}",
                v.version
            ));
        }
        Ok(())
    }

    async fn retitle(&mut self) -> Result<()> {
        let paper = if self.rng.chance(60) {
            2
        } else {
            self.rng.index(self.model.papers.len())
        };
        let n = self.fresh();
        let title = format!("Tờ trình đổi tên simxq{paper}doi{n}");
        let op = AdminOp::RenamePaper {
            meeting: world::MEETING.into(),
            paper: self.model.papers[paper].id.clone(),
            title: title.clone(),
        };
        let refusal = self.meeting_closed().then_some("meeting_status");
        let done = self
            .secretariat_expecting("rename a paper", op, refusal)
            .await?;
        if done.is_some() {
            self.markers[paper].push(title);
            self.note(format!("secretariat renames paper {paper}"));
        }
        Ok(())
    }
}
