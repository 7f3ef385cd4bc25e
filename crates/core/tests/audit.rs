//! Audit of a meeting export: a clean record passes with every named
//! ballot's device signature checked and every tally recounted; a changed
//! byte, a ballot the hub forged, or a ballot moved to another voter fails,
//! naming the entry.

use phonghop_core::audit::{audit, MeetingExport, EXPORT_FORMAT};
use phonghop_core::protocol::{Command, CommandBody, SignedCommand};
use phonghop_core::*;

fn ts(n: i64) -> Timestamp {
    Timestamp(1_800_000_000_000 + n)
}

fn hub() -> SecretKey {
    SecretKey::from_seed([1; 32])
}

fn device_key(i: u8) -> SecretKey {
    SecretKey::from_seed([100 + i; 32])
}

fn mid() -> MeetingId {
    MeetingId::new("kh12")
}

fn seal(log: LogId, events: &[Event]) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    for e in events {
        let prev = out.last().map(|p| (p.seq, p.hash));
        out.push(LogEntry::seal(log.clone(), prev, e, &hub()).unwrap());
    }
    out
}

fn ballot(i: u8, poll: &str, choice: u32) -> Event {
    let signed = SignedCommand::sign(
        CommandBody {
            device: DeviceId::new(format!("dev{i}")),
            id: CommandId::new(format!("c{i}{poll}")),
            issued_at: ts(10),
            command: Command::CastBallot {
                meeting: mid(),
                poll: PollId::new(poll),
                choice,
            },
        },
        &device_key(i),
    )
    .unwrap();
    Event::BallotCast {
        poll: PollId::new(poll),
        voter: Some(PersonId::new(format!("d{i}"))),
        choice,
        at: ts(10),
        proof: Some(Box::new(signed)),
    }
}

/// Five delegates; a named poll 3–2 under "more than half of all"; a secret
/// poll 2 of 3 turnout.
fn session() -> (Vec<Event>, Vec<Event>) {
    let mut dir = Vec::new();
    let mut m = vec![Event::MeetingCreated {
        meeting: mid(),
        body: "HĐND tỉnh Sơn Hà".into(),
        title: "Kỳ họp thứ mười hai".into(),
        starts_at: None,
        place: None,
        at: ts(0),
    }];
    for i in 1..=5u8 {
        let p = PersonId::new(format!("d{i}"));
        dir.push(Event::PersonAdded {
            person: Person {
                id: p.clone(),
                name: format!("Đại biểu {i}"),
                title: None,
                unit: None,
            },
        });
        dir.push(Event::DeviceRegistered {
            device: Device {
                id: DeviceId::new(format!("dev{i}")),
                person: p.clone(),
                public_key: device_key(i).public(),
                label: "máy".into(),
                paired_at: ts(0),
                revoked_at: None,
            },
        });
        m.push(Event::MemberAdded {
            member: Member {
                person: p.clone(),
                name: format!("Đại biểu {i}"),
                title: None,
                role: Role::Delegate,
            },
        });
    }
    m.push(Event::MeetingPublished { at: ts(1) });
    m.push(Event::SessionStarted { at: ts(2) });
    for (poll, secret) in [("named", false), ("secret", true)] {
        m.push(Event::PollCreated {
            poll: PollId::new(poll),
            item: None,
            question: "Thông qua Nghị quyết".into(),
            options: vec![
                "Tán thành".into(),
                "Không tán thành".into(),
                "Không biểu quyết".into(),
            ],
            secret,
            rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
            eligible: (1..=5).map(|i| PersonId::new(format!("d{i}"))).collect(),
            closes_at: None,
        });
        m.push(Event::PollOpened {
            poll: PollId::new(poll),
            at: ts(3),
        });
    }
    for (i, c) in [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)] {
        m.push(ballot(i, "named", c));
    }
    for (i, c) in [(1u8, 0u32), (2, 1), (3, 0)] {
        m.push(Event::TurnoutRecorded {
            poll: PollId::new("secret"),
            person: PersonId::new(format!("d{i}")),
            at: ts(11),
        });
        m.push(Event::BallotCast {
            poll: PollId::new("secret"),
            voter: None,
            choice: c,
            at: ts(11),
            proof: None,
        });
    }
    for poll in ["named", "secret"] {
        m.push(Event::PollClosed {
            poll: PollId::new(poll),
            at: ts(20),
        });
    }
    (dir, m)
}

fn export(dir: &[Event], m: &[Event]) -> MeetingExport {
    MeetingExport {
        format: EXPORT_FORMAT.into(),
        hub_key: hub().public(),
        meeting: mid(),
        directory: seal(LogId::Directory, dir),
        entries: seal(LogId::Meeting(mid()), m),
    }
}

#[test]
fn a_clean_record_passes_with_every_named_ballot_checked() {
    let (dir, m) = session();
    let r = audit(&export(&dir, &m)).expect("a clean export audits");
    assert_eq!(r.ballot_signatures, 5);
    let named = r.polls.iter().find(|p| p.poll.as_str() == "named").unwrap();
    assert_eq!(named.counts, vec![3, 2, 0]);
    assert!(
        named.outcome.unwrap().passed,
        "3 of 5 is more than half of all delegates"
    );
    assert_eq!(named.roll_call.len(), 5);
    let secret = r
        .polls
        .iter()
        .find(|p| p.poll.as_str() == "secret")
        .unwrap();
    assert_eq!(secret.counts, vec![2, 1, 0]);
    assert!(
        !secret.outcome.unwrap().passed,
        "2 of 5 is not more than half of all"
    );
    assert!(
        secret.roll_call.is_empty(),
        "secret polls have no roll call"
    );
}

#[test]
fn tampering_is_reported_with_the_entry() {
    let (dir, m) = session();
    let good = export(&dir, &m);

    // 1. A changed byte in a ballot's payload: the chain catches it.
    let mut e = good.clone();
    let k = e
        .entries
        .iter()
        .position(|x| {
            x.payload
                .as_deref()
                .is_some_and(|p| p.contains("ballot_cast"))
        })
        .unwrap();
    let p = e.entries[k]
        .payload
        .clone()
        .unwrap()
        .replacen("\"choice\":0", "\"choice\":1", 1);
    e.entries[k].payload = Some(p);
    let err = audit(&e).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("entry {}", e.entries[k].seq)),
        "{err}"
    );

    // 2. A hub that re-signs its log with a forged ballot (d4 "approves").
    let mut forged = m.clone();
    let at = forged
        .iter()
        .position(|ev| matches!(ev, Event::BallotCast { voter: Some(v), .. } if v.as_str() == "d4"))
        .unwrap();
    if let Event::BallotCast { choice, .. } = &mut forged[at] {
        *choice = 0;
    }
    let err = audit(&export(&dir, &forged)).unwrap_err();
    assert!(
        err.reason.contains("differs from what the device signed")
            || err.reason.contains("not this ballot"),
        "{err}"
    );

    // 3. A ballot moved to another voter.
    let mut moved = m.clone();
    if let Event::BallotCast { voter, .. } = &mut moved[at] {
        *voter = Some(PersonId::new("d5"));
    }
    let err = audit(&export(&dir, &moved)).unwrap_err();
    assert!(
        err.reason.contains("signed by a device of") || err.reason.contains("already voted"),
        "{err}"
    );

    // 4. A redacted entry: an audit needs the full log.
    let mut red = good.clone();
    red.entries[3] = red.entries[3].redacted();
    assert!(audit(&red).unwrap_err().reason.contains("redacted"));
}

/// A crafted ballot for option 4,294,967,295 made the audit grow its
/// recount to that many counters (16 GiB) before the rules refused it: it
/// is refused first, naming the entry and the poll's options.
#[test]
fn a_ballot_past_the_options_is_refused_before_anything_grows() {
    let (dir, mut m) = session();
    let at = m
        .iter()
        .position(|ev| matches!(ev, Event::BallotCast { voter: Some(v), .. } if v.as_str() == "d5"))
        .unwrap();
    m[at] = ballot(5, "named", u32::MAX);
    let e = export(&dir, &m);
    let err = audit(&e).unwrap_err();
    assert_eq!(err.seq, e.entries[at].seq, "{err}");
    assert!(
        err.reason.contains("option 4294967295") && err.reason.contains("has 3 options"),
        "{err}"
    );
}

/// The export carries its own hub key: an export re-signed with another
/// key verifies against itself. `PublicKey::is_named_by` is what
/// `phonghop audit --hub-key` pins it with.
#[test]
fn the_hub_key_is_named_by_its_fingerprint_or_its_hex_only() {
    let key = hub().public();
    let other = SecretKey::from_seed([2; 32]).public();
    let fp = key.fingerprint();
    let spaced: String = fp
        .to_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(key.is_named_by(&fp));
    assert!(key.is_named_by(&spaced), "{spaced}");
    assert!(key.is_named_by(&key.to_hex()));
    assert!(!other.is_named_by(&fp));
    assert!(
        !key.is_named_by(&fp[..12]),
        "a prefix is not the fingerprint"
    );
    assert!(!key.is_named_by(""));
}
