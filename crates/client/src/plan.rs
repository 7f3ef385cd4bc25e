//! The sync engine's decisions, as plain functions over explicit state (no
//! sockets, no clock): what to download and in which order, and how long to
//! wait before reconnecting. The async loop in `sync.rs` only carries them
//! out.

use phonghop_core::reducer::MeetingState;
use phonghop_core::*;
use std::collections::HashSet;
use std::time::Duration;

/// One blob to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobJob {
    /// Meeting.
    pub meeting: MeetingId,
    /// Paper.
    pub document: DocumentId,
    /// Version.
    pub version: u32,
    /// Blob address.
    pub sha256: Hash,
    /// Expected size, if known (papers; analyses are small and unknown).
    pub size: Option<u64>,
    /// The paper itself (true) or its text analysis (false).
    pub is_paper: bool,
}

/// Meetings in the order a delegate needs them: in session first, then
/// published (soonest first), then closed.
fn meeting_order(state: &State) -> Vec<&MeetingState> {
    let mut ms: Vec<&MeetingState> = state.meetings.values().collect();
    ms.sort_by_key(|m| {
        let rank = match m.status {
            MeetingStatus::InSession => 0,
            MeetingStatus::Published | MeetingStatus::Draft => 1,
            MeetingStatus::Closed => 2,
        };
        (rank, m.starts_at.map_or(i64::MAX, |t| t.0), m.id.clone())
    });
    ms
}

/// Papers of one meeting in reading order: the current agenda item's first,
/// then the agenda from the top, then papers on no item.
fn paper_order(m: &MeetingState) -> Vec<&Document> {
    let mut items: Vec<Option<&AgendaItemId>> = Vec::new();
    if let Some(cur) = &m.current_item {
        items.push(Some(cur));
    }
    let agenda = m.numbered_agenda();
    for n in &agenda {
        if m.current_item.as_ref() != Some(&n.item.id) {
            items.push(Some(&n.item.id));
        }
    }
    items.push(None);
    let mut out = Vec::new();
    for it in items {
        let mut docs: Vec<&Document> = m
            .documents
            .values()
            .filter(|d| d.item.as_ref() == it)
            .collect();
        docs.sort_by(|a, b| a.title.cmp(&b.title));
        out.extend(docs);
    }
    out
}

/// Every blob the device still lacks, in fetch order: for each paper its
/// small analysis (text for search) first, then the latest version's PDF.
/// `have` says whether a blob is already on disk: those are never fetched
/// again, so an updated pack costs only what changed.
pub fn blob_jobs(state: &State, have: impl Fn(&Hash) -> bool) -> Vec<BlobJob> {
    let mut seen = HashSet::new();
    let mut jobs = Vec::new();
    for m in meeting_order(state) {
        for d in paper_order(m) {
            let Some(v) = d.versions.last() else { continue };
            let mut push = |sha: Hash, size: Option<u64>, is_paper: bool| {
                if !have(&sha) && seen.insert(sha) {
                    jobs.push(BlobJob {
                        meeting: m.id.clone(),
                        document: d.id.clone(),
                        version: v.version,
                        sha256: sha,
                        size,
                        is_paper,
                    });
                }
            };
            if let Some(a) = v.analysis {
                push(a, None, false);
            }
            push(v.sha256, Some(v.size), true);
        }
    }
    jobs
}

/// Paper versions the state knows, over every meeting: when a batch of
/// entries raises it, blobs are due. (Only a new paper or version brings
/// blobs; a ballot must not cost every device a blob plan and a re-index of
/// every paper.)
pub fn paper_versions(state: &State) -> usize {
    state
        .meetings
        .values()
        .flat_map(|m| m.documents.values())
        .map(|d| d.versions.len())
        .sum()
}

/// What a run of live messages asks of the engine, taken together: the
/// loop drains every message already waiting on the socket into one batch,
/// so a device that fell behind (500 ballots pushed while it was busy)
/// catches up with one store transaction and one signature check instead
/// of one per message.
#[derive(Debug, Default, PartialEq)]
pub struct LiveBatch {
    entries: Vec<LogEntry>,
    /// The hub asked for a full sync (a meeting appeared, or this device
    /// fell behind the hub's fan-out buffer).
    pub resync: bool,
    /// The hub said this device was revoked: wipe, stop.
    pub revoked: bool,
    /// Messages taken.
    pub messages: usize,
}

impl LiveBatch {
    /// Adds one message.
    pub fn add(&mut self, msg: protocol::LiveMessage) {
        self.messages += 1;
        match msg {
            protocol::LiveMessage::Entries { entries, .. } => self.entries.extend(entries),
            protocol::LiveMessage::MeetingsChanged => self.resync = true,
            protocol::LiveMessage::Revoked => self.revoked = true,
        }
    }

    /// The entries to apply: each log's in seq order, logs in replay order
    /// (directory, meetings, personal logs, as `LogId` orders them), each
    /// entry once. The hub pushes each log in order; sorting here keeps a
    /// batch valid whatever order its messages came in, at no cost.
    pub fn take_entries(&mut self) -> Vec<LogEntry> {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_by(|a, b| (&a.log, a.seq).cmp(&(&b.log, b.seq)));
        entries.dedup_by(|a, b| a.log == b.log && a.seq == b.seq && a.hash == b.hash);
        entries
    }
}

/// Reconnection delays: 250 ms doubling to 10 s, with jitter supplied by the
/// caller (0.0–1.0) so many devices do not reconnect in step.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The next delay.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let base = 250u64
            .saturating_mul(1u64 << self.attempt.min(6))
            .min(10_000);
        self.attempt = self.attempt.saturating_add(1);
        let j = jitter.clamp(0.0, 1.0);
        Duration::from_millis(base / 2 + (base as f64 * j / 2.0) as u64)
    }

    /// Connected again: start over.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(m: &mut MeetingState, id: &str, item: Option<&str>, sha: &[u8]) {
        m.documents.insert(
            DocumentId::new(id),
            Document {
                id: DocumentId::new(id),
                item: item.map(AgendaItemId::new),
                title: id.into(),
                confidentiality: Confidentiality::Public,
                versions: vec![DocumentVersion {
                    version: 1,
                    sha256: Hash::of(sha),
                    size: 10,
                    pages: Some(1),
                    file_name: format!("{id}.pdf"),
                    added_at: Timestamp(0),
                    analysis: Some(Hash::of(&[sha, b"-a"].concat())),
                }],
            },
        );
    }

    fn state() -> State {
        let mut s = State::default();
        let log = LogId::Meeting(MeetingId::new("m"));
        let evs = [
            Event::MeetingCreated {
                meeting: MeetingId::new("m"),
                body: "HĐND".into(),
                title: "Kỳ họp".into(),
                starts_at: None,
                place: None,
                at: Timestamp(0),
            },
            Event::AgendaItemAdded {
                item: AgendaItem {
                    id: AgendaItemId::new("i1"),
                    parent: None,
                    title: "1".into(),
                    presenter: None,
                    planned_minutes: None,
                },
                position: 1,
            },
            Event::AgendaItemAdded {
                item: AgendaItem {
                    id: AgendaItemId::new("i2"),
                    parent: None,
                    title: "2".into(),
                    presenter: None,
                    planned_minutes: None,
                },
                position: 2,
            },
            Event::CurrentItemSet {
                item: Some(AgendaItemId::new("i2")),
            },
        ];
        for e in &evs {
            s.apply(&log, e).unwrap();
        }
        let m = s.meetings.get_mut(&MeetingId::new("m")).unwrap();
        doc(m, "loose", None, b"loose");
        doc(m, "first", Some("i1"), b"first");
        doc(m, "current", Some("i2"), b"current");
        s
    }

    #[test]
    fn current_item_first_then_agenda_order_and_nothing_twice() {
        let s = state();
        let jobs = blob_jobs(&s, |_| false);
        let papers: Vec<&str> = jobs
            .iter()
            .filter(|j| j.is_paper)
            .map(|j| j.document.as_str())
            .collect();
        assert_eq!(papers, ["current", "first", "loose"]);
        assert!(
            !jobs[0].is_paper,
            "the analysis (text) of the current paper comes first"
        );
        let have = Hash::of(b"current");
        let jobs = blob_jobs(&s, |h| *h == have);
        assert!(
            jobs.iter().all(|j| j.sha256 != have),
            "a blob on disk is never fetched again"
        );
    }

    #[test]
    fn queued_live_messages_merge_into_one_batch_in_log_order() {
        let key = SecretKey::from_seed([3; 32]);
        let m = MeetingId::new("m");
        let log = LogId::Meeting(m.clone());
        let mine = LogId::Personal {
            meeting: m.clone(),
            person: PersonId::new("p"),
        };
        let ev = Event::CurrentItemSet { item: None };
        let e1 = LogEntry::seal(log.clone(), None, &ev, &key).unwrap();
        let e2 = LogEntry::seal(log.clone(), Some((e1.seq, e1.hash)), &ev, &key).unwrap();
        let e3 = LogEntry::seal(log.clone(), Some((e2.seq, e2.hash)), &ev, &key).unwrap();
        let p1 = LogEntry::seal(mine, None, &ev, &key).unwrap();
        let entries = |v: &[&LogEntry]| protocol::LiveMessage::Entries {
            meeting: m.clone(),
            entries: v.iter().map(|e| (*e).clone()).collect(),
        };

        let mut b = LiveBatch::default();
        b.add(entries(&[&p1]));
        b.add(entries(&[&e1]));
        b.add(entries(&[&e3]));
        b.add(entries(&[&e2]));
        b.add(entries(&[&e2]));
        assert!(!b.resync);
        b.add(protocol::LiveMessage::MeetingsChanged);
        assert!(
            b.resync,
            "a meetings_changed anywhere in the batch re-syncs"
        );
        assert_eq!(b.messages, 6);
        assert_eq!(
            b.take_entries(),
            [e1, e2, e3, p1],
            "appends pushed out of order or twice apply in order, once; \
             the meeting log before personal logs, as a replay does"
        );
        assert!(b.take_entries().is_empty());
    }

    #[test]
    fn backoff_grows_to_a_cap_and_resets() {
        let mut b = Backoff::default();
        let d: Vec<u128> = (0..10).map(|_| b.next_delay(1.0).as_millis()).collect();
        assert_eq!(d[0], 250);
        assert!(d.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*d.last().unwrap(), 10_000);
        b.reset();
        assert_eq!(b.next_delay(0.0).as_millis(), 125);
    }
}
