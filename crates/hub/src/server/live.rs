//! The live WebSocket: pushes new log entries to each connected device, as
//! that device may see them (redacted, personal logs to their owner only).
//! A device that falls behind the fan-out buffer is told to re-sync with
//! `meetings_changed`, and re-pulls "after N" as after any interruption.
//!
//! One task ([`fan_out`]) renders each append once for every reader
//! ([`Rendered`]): under one turn of the hub lock for all the appends
//! waiting, it decides what each member gets and serializes each distinct
//! message once; the socket tasks only look their person up and send the
//! shared bytes. Rendering per socket (hub lock, redaction, JSON for every
//! device) made one ballot cost 500 serializations and 500 turns of the hub
//! mutex, and a poll with 500 ballots 250,000 of each; rendering per append
//! still left the fan-out one lock wait per ballot behind while 500
//! devices' requests queued for the same lock.
//!
//! A socket lives only as long as its session: when its device is revoked
//! (seen in [`Shared::revocations`], from this process or the CLI) it is
//! sent [`LiveMessage::Revoked`] and closed (reason `device_revoked`) at
//! once; every [`SESSION_CHECK`] it re-checks its session, and closes with
//! reason `session_expired` when that ended.

use super::access::{self, Reader};
use super::{auth, Appended, Shared};
use crate::HubDir;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use phonghop_core::protocol::LiveMessage;
use phonghop_core::{DeviceId, LogEntry, LogId, PersonId};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::mpsc::UnboundedReceiver;

/// Messages written to a socket before one flush, when appends queue up.
const FEED_MAX: usize = 256;

/// Appends rendered under one turn of the hub lock, at most.
const RENDER_MAX: usize = 256;

/// How often a socket re-checks its session (expiry; revocation is told at
/// once through [`Shared::revocations`], and checked here too).
pub(crate) const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// WebSocket close code for "this session ended" (the application range).
const CLOSE_SESSION_ENDED: u16 = 4001;

/// How long a closing socket waits for the device to take its last words.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

pub(crate) async fn upgrade(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, super::api::Failure> {
    let (reader, token) = auth::authenticate_token(&s, &headers, q.token).await?;
    Ok(ws.on_upgrade(move |socket| serve(s, reader, token, socket)))
}

/// One append as every reader gets it.
#[derive(Debug, Default)]
pub(crate) struct Rendered {
    /// Devices that get nothing: revoked ones. (The directory never forgets
    /// a device, and a socket's device was known when it signed in.)
    revoked: HashSet<DeviceId>,
    /// The serialized message for each person who gets one.
    to: HashMap<PersonId, Utf8Bytes>,
}

impl Rendered {
    fn for_reader(&self, reader: &Reader) -> Option<Utf8Bytes> {
        if self.revoked.contains(&reader.device) {
            return None;
        }
        self.to.get(&reader.person).cloned()
    }
}

fn text(msg: &LiveMessage) -> Option<Utf8Bytes> {
    serde_json::to_string(msg).ok().map(Utf8Bytes::from)
}

/// Renders appends and passes them to the live sockets, each log's
/// entries in seq order and without gaps; everything waiting is rendered
/// under one turn of the hub lock. Runs as long as the server.
pub(crate) async fn fan_out(s: Arc<Shared>, mut appended: UnboundedReceiver<Appended>) {
    let mut sent = HashMap::new();
    while let Some(first) = appended.recv().await {
        let mut batch = vec![first];
        while batch.len() < RENDER_MAX {
            match appended.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        let (rendered, sent_now) = s
            .read_hub(move |hub, shared| {
                let runs = in_order(hub, &mut sent, batch);
                let rendered: Vec<Rendered> = runs
                    .iter()
                    .map(|a| render(hub.store().state(), shared, a))
                    .collect();
                (rendered, sent)
            })
            .await;
        sent = sent_now;
        for r in rendered {
            // No receivers (no device online) is fine.
            let _ = s.live.send(Arc::new(r));
        }
    }
}

/// Turns published appends into one run per log, in seq order, leaving out
/// what was already passed on (`sent`: the last seq of each log).
///
/// Handlers publish after releasing the hub lock, so two appends committed
/// back to back can be published in either order, and one whose request
/// was cancelled in between is never published. Passed on as they come,
/// every device would see a gap and pull the log again — 500 pulls for one
/// ballot. A gap is filled from the store instead, up to the entries the
/// in-memory state holds (redaction decides from that state).
fn in_order(hub: &HubDir, sent: &mut HashMap<LogId, u64>, batch: Vec<Appended>) -> Vec<Appended> {
    let mut by_log: BTreeMap<LogId, BTreeMap<u64, LogEntry>> = BTreeMap::new();
    for a in batch {
        let run = by_log.entry(a.log).or_default();
        for e in a.entries {
            run.insert(e.seq, e);
        }
    }
    let mut out = Vec::new();
    for (log, mut run) in by_log {
        let (Some(&low), Some(&high)) = (run.keys().next(), run.keys().next_back()) else {
            continue;
        };
        let from = sent.get(&log).map_or(low, |s| s + 1);
        if high < from {
            continue;
        }
        let held = hub.store().head(&log).map_or(0, |h| h.0);
        let missing = (from..=high).any(|seq| !run.contains_key(&seq));
        if missing && held >= from {
            let want = usize::try_from(held.min(high) + 1 - from).unwrap_or(usize::MAX);
            match hub.store().entries_page(&log, from - 1, want) {
                Ok(stored) => {
                    for e in stored {
                        run.entry(e.seq).or_insert(e);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot fill a gap in the live fan-out"),
            }
        }
        sent.insert(log.clone(), high);
        out.extend(run.split_off(&from).into_values());
    }
    in_global_order(out)
}

/// Entries of several logs as runs of one log each, in the hub's global
/// order. A note moved from a personal log to the meeting log must reach
/// its author as "moved out" before "added": sent per log in key order, the
/// meeting log's run went first, and a device that applied the two messages
/// one by one (rather than in one batch, sorted by `gseq`) refused the add.
fn in_global_order(mut entries: Vec<LogEntry>) -> Vec<Appended> {
    entries.sort_by_key(|e| e.gseq);
    let mut out: Vec<Appended> = Vec::new();
    for e in entries {
        match out.last_mut() {
            Some(run) if run.log == e.log => run.entries.push(e),
            _ => out.push(Appended {
                log: e.log.clone(),
                entries: vec![e],
            }),
        }
    }
    out
}

/// Why a socket's session ended, if it did: the close reason, and whether
/// the device is to be told it was revoked.
fn ended(s: &Shared, reader: &Reader, token: &str) -> Option<(&'static str, bool)> {
    if s.is_revoked(&reader.device) {
        return Some(("device_revoked", true));
    }
    auth::session_live(s, token, &reader.device)
        .err()
        .map(|_| ("session_expired", false))
}

/// Says goodbye: `revoked` first if so, then a close frame with the reason.
/// A device that does not read gets a bounded wait; the connection is
/// dropped when the socket task returns either way.
async fn close(
    tx: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    reason: &'static str,
    revoked: bool,
) {
    let goodbye = async {
        if revoked {
            if let Some(t) = text(&LiveMessage::Revoked) {
                tx.feed(Message::Text(t)).await?;
            }
        }
        let frame = CloseFrame {
            code: CLOSE_SESSION_ENDED,
            reason: Utf8Bytes::from_static(reason),
        };
        tx.send(Message::Close(Some(frame))).await?;
        tx.close().await
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, goodbye).await;
}

async fn serve(s: Arc<Shared>, reader: Reader, token: String, socket: WebSocket) {
    let mut rx = s.live.subscribe();
    let mut revocations = s.revocations.subscribe();
    let (mut tx, mut incoming) = socket.split();
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // (The first tick is at once: a revocation published between
            // the upgrade's check and this subscription is caught here.)
            _ = check.tick() => {
                if let Some((reason, revoked)) = ended(&s, &reader, &token) {
                    close(&mut tx, reason, revoked).await;
                    return;
                }
            }
            changed = revocations.changed() => {
                if changed.is_err() {
                    return;
                }
                if s.is_revoked(&reader.device) {
                    close(&mut tx, "device_revoked", true).await;
                    return;
                }
            }
            msg = rx.recv() => {
                // Write this append and every one already queued behind
                // it, then flush once.
                let mut next = Some(msg);
                let mut fed = 0;
                while let Some(msg) = next.take() {
                    let out = match msg {
                        Ok(rendered) => rendered.for_reader(&reader),
                        Err(RecvError::Lagged(_)) => text(&LiveMessage::MeetingsChanged),
                        Err(RecvError::Closed) => return,
                    };
                    if let Some(out) = out {
                        if tx.feed(Message::Text(out)).await.is_err() {
                            return;
                        }
                        fed += 1;
                    }
                    if fed < FEED_MAX {
                        next = match rx.try_recv() {
                            Ok(a) => Some(Ok(a)),
                            Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                            Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                            Err(TryRecvError::Empty) => None,
                        };
                    }
                }
                if fed > 0 && tx.flush().await.is_err() {
                    return;
                }
            }
            msg = incoming.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// What each reader gets of an append, if anything.
fn render(state: &phonghop_core::State, shared: &Shared, appended: &Appended) -> Rendered {
    let revoked = state
        .directory
        .devices
        .values()
        .filter(|d| d.revoked_at.is_some())
        .map(|d| d.id.clone())
        .collect();
    let mut to = HashMap::new();
    let entries = |entries: Vec<LogEntry>, meeting| LiveMessage::Entries { meeting, entries };
    match &appended.log {
        LogId::Directory => {}
        LogId::Personal { meeting, person } => {
            let msg = entries(appended.entries.clone(), meeting.clone());
            if let Some(t) = text(&msg) {
                to.insert(person.clone(), t);
            }
        }
        LogId::Meeting(mid) => {
            let Some(m) = state.meetings.get(mid) else {
                return Rendered { revoked, to };
            };
            let first_visible = appended.entries.first().map(|e| e.seq) == Some(1)
                || appended.entries.iter().any(|e| {
                    matches!(
                        e.event(),
                        Ok(Some(phonghop_core::Event::MeetingPublished { .. }))
                    )
                });
            let docs = shared
                .annotation_docs
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            // Readers differ only in which payloads are withheld: one
            // serialization per distinct set of withheld entries (almost
            // always one for the whole meeting).
            let mut by_withheld: HashMap<Vec<bool>, Utf8Bytes> = HashMap::new();
            for person in m.members.keys() {
                // Newly published or newly a member: the device learns of
                // the meeting through the list.
                let Some(role) = access::role_in(m, person).filter(|_| !first_visible) else {
                    if let Some(t) = text(&LiveMessage::MeetingsChanged) {
                        to.insert(person.clone(), t);
                    }
                    continue;
                };
                let shown = access::redact(m, &appended.entries, person, role, &docs);
                let withheld: Vec<bool> = shown.iter().map(|e| e.payload.is_none()).collect();
                let t = match by_withheld.get(&withheld) {
                    Some(t) => Some(t.clone()),
                    None => text(&entries(shown, mid.clone())).inspect(|t| {
                        by_withheld.insert(withheld, t.clone());
                    }),
                };
                if let Some(t) = t {
                    to.insert(person.clone(), t);
                }
            }
        }
    }
    Rendered { revoked, to }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewMeeting;
    use phonghop_core::{Event, Timestamp};

    fn seqs(runs: &[Appended]) -> Vec<(String, Vec<u64>)> {
        runs.iter()
            .map(|a| (a.log.key(), a.entries.iter().map(|e| e.seq).collect()))
            .collect()
    }

    /// Handlers publish after releasing the hub lock: appends can come out
    /// of order, twice, or not at all. Every device then saw a gap and
    /// pulled the whole log again.
    #[test]
    fn published_appends_become_gapless_runs_in_seq_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut hub = HubDir::init(&dir.path().join("hub")).unwrap();
        let m = hub
            .create_meeting(
                NewMeeting {
                    id: Some("kh".into()),
                    body: "HĐND".into(),
                    title: "Kỳ họp".into(),
                    starts_at: None,
                    place: None,
                },
                Timestamp(0),
            )
            .unwrap();
        let log = LogId::Meeting(m);
        let one = |hub: &mut HubDir| {
            let ev = Event::CurrentItemSet { item: None };
            hub.append(&log, &[ev]).unwrap()
        };
        let first = hub.store().entries(&log, 0).unwrap();
        let (a, b, c, d) = (one(&mut hub), one(&mut hub), one(&mut hub), one(&mut hub));
        let base = first.last().unwrap().seq;
        let publish = |entries: &[LogEntry]| Appended {
            log: log.clone(),
            entries: entries.to_vec(),
        };
        let mut sent = HashMap::new();

        // The first ever: passed on as published.
        let runs = in_order(&hub, &mut sent, vec![publish(&first)]);
        assert_eq!(seqs(&runs), [(log.key(), (1..=base).collect())]);

        // b published before a, in one batch: one run, in order.
        let runs = in_order(&hub, &mut sent, vec![publish(&b), publish(&a)]);
        assert_eq!(seqs(&runs), [(log.key(), vec![base + 1, base + 2])]);

        // a again (late or repeated): nothing to pass on.
        assert!(in_order(&hub, &mut sent, vec![publish(&a)]).is_empty());

        // c never published (its request was cancelled): d's run starts
        // with c, read from the store.
        let runs = in_order(&hub, &mut sent, vec![publish(&d)]);
        assert_eq!(seqs(&runs), [(log.key(), vec![base + 3, base + 4])]);
        assert_eq!(
            runs[0].entries[0], c[0],
            "the gap is filled with the stored entry"
        );
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use phonghop_core::MeetingId;

    fn entry(log: &LogId, seq: u64, gseq: i64) -> LogEntry {
        let key = phonghop_core::SecretKey::from_seed([7; 32]);
        let ev = phonghop_core::Event::CurrentItemSet { item: None };
        let prev = (seq > 1).then(|| (seq - 1, phonghop_core::Hash::ZERO));
        let mut e = LogEntry::seal(log.clone(), prev, &ev, &key).expect("seal");
        e.gseq = gseq;
        e
    }

    /// Runs go out in the hub's global order, split where the log changes:
    /// a note moved out of a personal log (g 10) and into the meeting log
    /// (g 11) reaches its author in that order, whatever the logs' keys.
    #[test]
    fn runs_follow_the_global_order_across_logs() {
        let meeting = LogId::Meeting(MeetingId::new("m"));
        let personal = LogId::Personal {
            meeting: MeetingId::new("m"),
            person: PersonId::new("p"),
        };
        let runs = in_global_order(vec![
            entry(&meeting, 5, 11),
            entry(&meeting, 6, 12),
            entry(&personal, 3, 10),
            entry(&personal, 4, 13),
        ]);
        let got: Vec<(String, Vec<i64>)> = runs
            .iter()
            .map(|r| (r.log.key(), r.entries.iter().map(|e| e.gseq).collect()))
            .collect();
        assert_eq!(
            got,
            vec![
                (personal.key(), vec![10]),
                (meeting.key(), vec![11, 12]),
                (personal.key(), vec![13]),
            ]
        );
    }
}
