//! The reducer's rules, through the public API: a meeting built from events,
//! and the transitions it must refuse (state unchanged after each refusal).

use phonghop_core::*;

fn ts(n: i64) -> Timestamp {
    Timestamp(1_800_000_000_000 + n)
}

fn mid() -> MeetingId {
    MeetingId::new("ky-hop-5")
}

fn log() -> LogId {
    LogId::Meeting(mid())
}

fn member(id: &str, role: Role) -> Event {
    Event::MemberAdded {
        member: Member {
            person: PersonId::new(id),
            name: format!("Đại biểu {id}"),
            title: None,
            role,
        },
    }
}

fn item(id: &str, parent: Option<&str>, position: u32) -> Event {
    Event::AgendaItemAdded {
        item: AgendaItem {
            id: AgendaItemId::new(id),
            parent: parent.map(AgendaItemId::new),
            title: format!("Mục {id}"),
            presenter: None,
            planned_minutes: Some(15),
        },
        position,
    }
}

/// A meeting in session with 5 delegates (d1..d5), all present, and a paper.
fn meeting_in_session() -> State {
    let mut s = State::default();
    let mut evs = vec![Event::MeetingCreated {
        meeting: mid(),
        body: "HĐND tỉnh Yên Bái".into(),
        title: "Kỳ họp thứ 5".into(),
        starts_at: Some(ts(0)),
        place: Some("Hội trường tỉnh".into()),
        at: ts(0),
    }];
    evs.push(member("chair", Role::Chair));
    for i in 1..=5 {
        evs.push(member(&format!("d{i}"), Role::Delegate));
    }
    evs.push(member("obs", Role::Observer));
    evs.push(item("a1", None, 1));
    evs.push(Event::DocumentAdded {
        document: DocumentId::new("to-trinh"),
        item: Some(AgendaItemId::new("a1")),
        title: "Tờ trình số 45".into(),
        confidentiality: Confidentiality::Members,
    });
    evs.push(Event::DocumentVersionAdded {
        document: DocumentId::new("to-trinh"),
        version: DocumentVersion {
            version: 1,
            sha256: Hash::of(b"v1"),
            size: 2,
            pages: Some(3),
            file_name: "to-trinh-45.pdf".into(),
            added_at: ts(1),
            analysis: None,
        },
    });
    evs.push(Event::MeetingPublished { at: ts(2) });
    evs.push(Event::SessionStarted { at: ts(3) });
    for i in 1..=5 {
        evs.push(Event::AttendanceRecorded {
            person: PersonId::new(format!("d{i}")),
            present: true,
            at: ts(4),
        });
    }
    for e in &evs {
        s.apply(&log(), e)
            .unwrap_or_else(|err| panic!("setup event {} refused: {err}", e.kind()));
    }
    s
}

fn poll(id: &str, secret: bool) -> Event {
    Event::PollCreated {
        poll: PollId::new(id),
        item: Some(AgendaItemId::new("a1")),
        question: "Thông qua Nghị quyết về kế hoạch đầu tư công".into(),
        options: vec![
            "Tán thành".into(),
            "Không tán thành".into(),
            "Không biểu quyết".into(),
        ],
        secret,
        rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
        eligible: (1..=5).map(|i| PersonId::new(format!("d{i}"))).collect(),
        closes_at: Some(ts(10_000)),
    }
}

fn ballot(p: &str, voter: Option<&str>, choice: u32, at: i64) -> Event {
    Event::BallotCast {
        poll: PollId::new(p),
        voter: voter.map(PersonId::new),
        choice,
        at: ts(at),
        proof: None,
    }
}

/// Applies `e` expecting a refusal with `code`, and checks nothing changed.
fn refused(s: &mut State, log: &LogId, e: &Event, code: &str) {
    let before = s.clone();
    let err = s
        .apply(log, e)
        .expect_err(&format!("{} must be refused", e.kind()));
    assert_eq!(err.code(), code, "refusal of {}: {err}", e.kind());
    assert_eq!(
        *s,
        before,
        "a refused {} must leave the state unchanged",
        e.kind()
    );
}

#[test]
fn named_poll_counts_and_refuses_double_votes_and_votes_after_close() {
    let mut s = meeting_in_session();
    s.apply(&log(), &poll("p1", false)).unwrap();
    refused(
        &mut s,
        &log(),
        &ballot("p1", Some("d1"), 0, 5),
        "poll_status",
    ); // not open yet
    s.apply(
        &log(),
        &Event::PollOpened {
            poll: PollId::new("p1"),
            at: ts(5),
        },
    )
    .unwrap();
    for (v, c) in [("d1", 0), ("d2", 0), ("d3", 0), ("d4", 1)] {
        s.apply(&log(), &ballot("p1", Some(v), c, 6)).unwrap();
    }
    refused(
        &mut s,
        &log(),
        &ballot("p1", Some("d1"), 1, 7),
        "already_voted",
    );
    refused(
        &mut s,
        &log(),
        &ballot("p1", Some("obs"), 0, 7),
        "not_eligible",
    );
    refused(&mut s, &log(), &ballot("p1", Some("d5"), 3, 7), "invalid");
    refused(&mut s, &log(), &ballot("p1", None, 0, 7), "invalid");
    refused(
        &mut s,
        &log(),
        &ballot("p1", Some("d5"), 0, 20_000),
        "after_deadline",
    );
    s.apply(
        &log(),
        &Event::PollClosed {
            poll: PollId::new("p1"),
            at: ts(8),
        },
    )
    .unwrap();
    refused(
        &mut s,
        &log(),
        &ballot("p1", Some("d5"), 0, 9),
        "poll_status",
    );
    let p = &s.meetings[&mid()].polls[&PollId::new("p1")];
    assert_eq!(p.counts, vec![3, 1, 0]);
    let o = p.outcome.expect("closed poll has an outcome");
    assert!(o.passed, "3 of 5 is more than half of all delegates");
    assert_eq!(o.required, 3);
}

#[test]
fn secret_poll_needs_turnout_and_carries_no_voter() {
    let mut s = meeting_in_session();
    s.apply(&log(), &poll("p2", true)).unwrap();
    s.apply(
        &log(),
        &Event::PollOpened {
            poll: PollId::new("p2"),
            at: ts(5),
        },
    )
    .unwrap();
    refused(&mut s, &log(), &ballot("p2", None, 0, 6), "invalid"); // no turnout yet
    let turnout = |p: &str| Event::TurnoutRecorded {
        poll: PollId::new("p2"),
        person: PersonId::new(p),
        at: ts(6),
    };
    s.apply(&log(), &turnout("d1")).unwrap();
    refused(&mut s, &log(), &turnout("d1"), "already_voted");
    refused(&mut s, &log(), &ballot("p2", Some("d1"), 0, 6), "invalid");
    s.apply(&log(), &ballot("p2", None, 1, 6)).unwrap();
    refused(&mut s, &log(), &ballot("p2", None, 0, 6), "invalid"); // one ballot per turnout
}

#[test]
fn agenda_tree_numbers_and_missing_parent() {
    let mut s = meeting_in_session();
    s.apply(&log(), &item("a2", None, 2)).unwrap();
    s.apply(&log(), &item("a21", Some("a2"), 1)).unwrap();
    s.apply(&log(), &item("a22", Some("a2"), 2)).unwrap();
    s.apply(&log(), &item("a0", None, 1)).unwrap(); // insert first: everything renumbers
    refused(&mut s, &log(), &item("x", Some("nope"), 1), "missing");
    refused(&mut s, &log(), &item("a2", None, 1), "duplicate");
    refused(&mut s, &log(), &item("y", None, 9), "invalid");
    let numbers: Vec<(String, String)> = s.meetings[&mid()]
        .numbered_agenda()
        .into_iter()
        .map(|n| (n.number, n.item.id.to_string()))
        .collect();
    let want = [
        ("1", "a0"),
        ("2", "a1"),
        ("3", "a2"),
        ("3.1", "a21"),
        ("3.2", "a22"),
    ];
    assert_eq!(
        numbers,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    // Moving an item under its own child is refused; a valid move renumbers.
    let mv = |item: &str, parent: Option<&str>, position| Event::AgendaItemMoved {
        item: AgendaItemId::new(item),
        parent: parent.map(AgendaItemId::new),
        position,
    };
    refused(&mut s, &log(), &mv("a2", Some("a21"), 1), "invalid");
    s.apply(&log(), &mv("a22", None, 1)).unwrap();
    assert_eq!(
        s.meetings[&mid()].item_by_number("1").unwrap().id.as_str(),
        "a22"
    );
    assert_eq!(
        s.meetings[&mid()]
            .item_by_number("4.1")
            .unwrap()
            .id
            .as_str(),
        "a21"
    );
}

#[test]
fn meeting_lifecycle_and_log_placement() {
    let mut s = meeting_in_session();
    refused(
        &mut s,
        &log(),
        &Event::MeetingPublished { at: ts(9) },
        "meeting_status",
    );
    s.apply(&log(), &poll("p3", false)).unwrap();
    s.apply(
        &log(),
        &Event::PollOpened {
            poll: PollId::new("p3"),
            at: ts(9),
        },
    )
    .unwrap();
    refused(
        &mut s,
        &log(),
        &Event::SessionClosed { at: ts(9) },
        "poll_status",
    );
    s.apply(
        &log(),
        &Event::PollClosed {
            poll: PollId::new("p3"),
            at: ts(9),
        },
    )
    .unwrap();
    s.apply(&log(), &Event::SessionClosed { at: ts(10) })
        .unwrap();
    refused(&mut s, &log(), &item("late", None, 1), "meeting_status");
    // Directory events never go in a meeting log, and the reverse.
    let person = Event::PersonAdded {
        person: Person {
            id: PersonId::new("x"),
            name: "X".into(),
            title: None,
            unit: None,
        },
    };
    refused(&mut s, &log(), &person, "wrong_log");
    refused(
        &mut s,
        &LogId::Directory,
        &Event::MeetingPublished { at: ts(1) },
        "wrong_log",
    );
    refused(
        &mut s,
        &LogId::Meeting(MeetingId::new("other")),
        &Event::SessionStarted { at: ts(1) },
        "no_such_meeting",
    );
}

fn note(id: &str, author: &str, visibility: Visibility) -> Annotation {
    Annotation {
        id: AnnotationId::new(id),
        author: PersonId::new(author),
        document: DocumentId::new("to-trinh"),
        version: 1,
        page: 0,
        shape: Shape::Note {
            at: Point { x: 100.0, y: 700.0 },
        },
        color: "#ffcc00".into(),
        text: Some("Cần làm rõ nguồn vốn".into()),
        visibility,
        updated_at: ts(7),
    }
}

#[test]
fn private_notes_only_in_their_owners_personal_log() {
    let mut s = meeting_in_session();
    let personal = LogId::Personal {
        meeting: mid(),
        person: PersonId::new("d1"),
    };
    let private = Event::AnnotationAdded {
        annotation: note("n1", "d1", Visibility::Private),
    };
    refused(&mut s, &log(), &private, "invalid");
    s.apply(&personal, &private).unwrap();
    let someone_elses = Event::AnnotationAdded {
        annotation: note("n2", "d2", Visibility::Private),
    };
    refused(&mut s, &personal, &someone_elses, "invalid");
    refused(
        &mut s,
        &personal,
        &Event::SessionClosed { at: ts(1) },
        "wrong_log",
    );
    // Another member cannot delete it; a page past the end is refused.
    let del = Event::AnnotationDeleted {
        annotation: AnnotationId::new("n1"),
        by: PersonId::new("d2"),
        at: ts(8),
    };
    refused(&mut s, &log(), &del, "not_author");
    let mut far = note("n3", "d1", Visibility::Shared);
    far.page = 3;
    refused(
        &mut s,
        &log(),
        &Event::AnnotationAdded { annotation: far },
        "invalid",
    );
}

#[test]
fn a_paper_is_retitled_and_bad_retitles_change_nothing() {
    let mut s = meeting_in_session();
    let doc = DocumentId::new("to-trinh");
    s.apply(
        &log(),
        &Event::DocumentRetitled {
            document: doc.clone(),
            title: "Tờ trình số 45/TTr-UBND về đầu tư công".into(),
        },
    )
    .expect("retitle");
    let m = &s.meetings[&mid()];
    assert_eq!(
        m.documents[&doc].title,
        "Tờ trình số 45/TTr-UBND về đầu tư công"
    );
    assert_eq!(m.documents[&doc].versions.len(), 1, "versions untouched");
    refused(
        &mut s,
        &log(),
        &Event::DocumentRetitled {
            document: doc,
            title: "  ".into(),
        },
        "invalid",
    );
    refused(
        &mut s,
        &log(),
        &Event::DocumentRetitled {
            document: DocumentId::new("khong-co"),
            title: "Báo cáo".into(),
        },
        "missing",
    );
}

#[test]
fn an_agenda_item_is_reworded_in_place_and_bad_edits_change_nothing() {
    let mut s = meeting_in_session();
    let a1 = AgendaItemId::new("a1");
    s.apply(
        &log(),
        &Event::AgendaItemEdited {
            item: a1.clone(),
            title: "Khai mạc kỳ họp (sửa)".into(),
            presenter: Some("Phó Chủ tịch HĐND tỉnh".into()),
            planned_minutes: Some(15),
        },
    )
    .expect("edit");
    let m = &s.meetings[&mid()];
    let it = &m.agenda[&a1];
    assert_eq!(
        (
            it.title.as_str(),
            it.presenter.as_deref(),
            it.planned_minutes
        ),
        (
            "Khai mạc kỳ họp (sửa)",
            Some("Phó Chủ tịch HĐND tỉnh"),
            Some(15)
        )
    );
    assert_eq!(m.numbered_agenda()[0].number, "1", "its place is unchanged");
    refused(
        &mut s,
        &log(),
        &Event::AgendaItemEdited {
            item: a1,
            title: String::new(),
            presenter: None,
            planned_minutes: None,
        },
        "invalid",
    );
    refused(
        &mut s,
        &log(),
        &Event::AgendaItemEdited {
            item: AgendaItemId::new("khong-co"),
            title: "Mục".into(),
            presenter: None,
            planned_minutes: None,
        },
        "missing",
    );
}

/// A quorum override records the meeting's own count, and only below its
/// quorum; the rules change only before the session opens.
#[test]
fn quorum_overrides_record_the_true_count_below_quorum_only() {
    let mut s = meeting_in_session();
    let m = &s.meetings[&mid()];
    // 5 of 6 voting members checked in (the chair did not): quorum holds.
    assert_eq!(
        m.quorum(),
        QuorumCount::new(Threshold::AtLeastTwoThirds, 5, 6)
    );
    assert!(m.quorum().met());
    let over = |present, voting, required| Event::QuorumOverridden {
        action: QuorumAction::OpenPoll {
            poll: PollId::new("p1"),
        },
        count: QuorumCount {
            present,
            voting,
            required,
        },
        by: PersonId::new("chair"),
        at: ts(10),
    };
    s.apply(&log(), &poll("p1", false)).unwrap();
    let before = s.clone();
    assert!(s.apply(&log(), &over(5, 6, 4)).is_err(), "not below quorum");
    for i in 1..=3 {
        s.apply(
            &log(),
            &Event::AttendanceRecorded {
                person: PersonId::new(format!("d{i}")),
                present: false,
                at: ts(11),
            },
        )
        .unwrap();
    }
    let before_override = s.clone();
    assert!(s.apply(&log(), &over(3, 6, 4)).is_err(), "a false count");
    assert_eq!(s, before_override);
    s.apply(&log(), &over(2, 6, 4)).unwrap();
    assert_eq!(s.meetings[&mid()].quorum_overrides.len(), 1);
    assert_ne!(s, before);
    let rules = Event::MeetingRulesSet {
        rules: MeetingRules::default(),
    };
    assert!(
        s.apply(&log(), &rules).is_err(),
        "rules are fixed once the session opened"
    );
}
