//! Session continuity: ordinary and hostile events never stop a meeting.
//! Regression tests for bugs found against 9a56900 (issue "one writer,
//! one order"), each with the real hub on 127.0.0.1 and real clients:
//!
//! 1. A freed annotation id reused by a shared note made the hub folder and
//!    the delegate's device unopenable (live, logs applied in time order;
//!    on reopen, meeting logs before personal logs).
//! 2. The chair showing a restricted paper froze every member who may not
//!    read it (`ChairFocusSet` was sent in clear, the device's reducer
//!    refused it, the whole batch failed, syncing stopped for good).
//! 3. Sharing a note (private → shared) was refused by the hub and the UI
//!    reverted silently.

use anyhow::{bail, Result};
use phonghop_client::Client;
use phonghop_core::protocol::{Command, CommandOutcome};
use phonghop_core::*;
use phonghop_hub::HubDir;
use phonghop_tests::hub::{delegate, meeting_projection, note, Paper, TestHub, CHAIR, MEETING};
use phonghop_tests::papers::text_pdf;
use phonghop_tests::voting::{applied, ballot, create_and_open, poll_on, send, NewPoll};

const LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

fn mid() -> MeetingId {
    MeetingId::new(MEETING)
}

fn paper_of(hub: &TestHub, confidential: bool) -> Result<DocumentId> {
    let h = hub.hub()?;
    let m = h.meeting(MEETING)?;
    m.documents
        .values()
        .find(|d| matches!(d.confidentiality, Confidentiality::Named(_)) == confidential)
        .map(|d| d.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no such paper"))
}

fn add(annotation: Annotation) -> Command {
    Command::AddAnnotation {
        meeting: mid(),
        annotation,
    }
}

fn edit(annotation: Annotation) -> Command {
    Command::EditAnnotation {
        meeting: mid(),
        annotation,
    }
}

/// What a device holds of the meeting, from its own state.
fn annotations_on(c: &Client) -> Vec<(String, Visibility)> {
    let dir = c.dir();
    let d = dir.lock().unwrap_or_else(|p| p.into_inner());
    d.store()
        .state()
        .meetings
        .get(&mid())
        .map(|m| {
            m.annotations
                .values()
                .map(|a| (a.id.to_string(), a.visibility))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freed_annotation_id_cannot_be_reused_and_the_hub_reopens() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let papers = vec![Paper::members(text_pdf(
        tmp.path(),
        "bao-cao",
        "tái dùng",
        3,
    )?)];
    let mut hub = TestHub::with_meeting(2, &papers, true)?;
    hub.start()?;
    let d1 = delegate(1);
    let c = hub.join(&d1).await?;
    c.sync_once().await?;
    let doc = paper_of(&hub, false)?;

    applied(&c, add(note("x", &d1, &doc, Visibility::Private))).await?;
    applied(
        &c,
        Command::DeleteAnnotation {
            meeting: mid(),
            annotation: AnnotationId::new("x"),
        },
    )
    .await?;
    let (_, ack) = send(&c, add(note("x", &d1, &doc, Visibility::Shared))).await?;
    match &ack.outcome {
        CommandOutcome::Refused { message, .. } => assert!(
            message.contains("never reused"),
            "the refusal says why: {message}"
        ),
        CommandOutcome::Applied { .. } => bail!("a freed id was taken again: {ack:?}"),
    }
    c.sync_once().await?;

    // Everything still opens: the hub folder (replayed and verified, as
    // `phonghop hub` and the CLI's reads open it) and the delegate's device.
    HubDir::open_read_only(&hub.data)?;
    phonghop_store::verify_database(&hub.data.join("hub.db"))?;
    let root = c
        .dir()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .root()
        .to_path_buf();
    drop(c);
    let again = Client::open(&root)?;
    assert!(annotations_on(&again).is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_showing_a_restricted_paper_does_not_freeze_non_readers() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let papers = vec![
        Paper::members(text_pdf(tmp.path(), "to-trinh", "công khai", 3)?),
        Paper {
            file: text_pdf(tmp.path(), "nhan-su", "mật", 3)?,
            item: Some("2"),
            confidentiality: Confidentiality::Named(vec![PersonId::new(delegate(1))]),
        },
    ];
    let mut hub = TestHub::with_meeting(2, &papers, true)?;
    hub.start()?;
    let chair = hub.join(CHAIR).await?;
    let reader = hub.join(&delegate(1)).await?;
    let outsider = hub.join(&delegate(2)).await?;
    for c in [&chair, &reader, &outsider] {
        c.sync_once().await?;
    }
    let secret_doc = paper_of(&hub, true)?;

    applied(
        &chair,
        Command::SetChairFocus {
            meeting: mid(),
            document: Some(secret_doc.clone()),
            page: 0,
        },
    )
    .await?;
    // The outsider keeps syncing, and can still vote.
    outsider.sync_once().await?;
    reader.sync_once().await?;
    let poll = NewPoll::named("p1", "Thông qua chương trình kỳ họp");
    create_and_open(&chair, &poll).await?;
    outsider.sync_once().await?;
    assert!(
        poll_on(&outsider, "p1").is_some(),
        "the outsider's device still receives the meeting"
    );
    applied(&outsider, ballot("p1", 0)).await?;

    let focus = |c: &Client| {
        let dir = c.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        let m = d.store().state().meetings.get(&mid()).cloned();
        m.map(|m| (m.chair_focus, m.chair_focus_withheld))
    };
    assert_eq!(
        focus(&reader),
        Some((Some((secret_doc.clone(), 0)), false)),
        "a reader follows the chair onto the paper"
    );
    assert_eq!(
        focus(&outsider),
        Some((None, true)),
        "a non-reader learns only that the chair shows a paper they do not receive"
    );
    // No id, no title of the paper in anything the outsider's device holds.
    let db = std::fs::read(
        outsider
            .dir()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .root()
            .join("client.db"),
    )?;
    let hay = String::from_utf8_lossy(&db);
    assert!(!hay.contains(secret_doc.as_str()), "the paper's id leaked");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_a_note_moves_it_between_logs_and_back() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let papers = vec![Paper::members(text_pdf(
        tmp.path(),
        "du-thao",
        "chia sẻ",
        3,
    )?)];
    let mut hub = TestHub::with_meeting(2, &papers, true)?;
    hub.start()?;
    let (d1, d2) = (delegate(1), delegate(2));
    let author = hub.join(&d1).await?;
    let other = hub.join(&d2).await?;
    author.sync_once().await?;
    other.sync_once().await?;
    let doc = paper_of(&hub, false)?;

    applied(&author, add(note("n1", &d1, &doc, Visibility::Private))).await?;
    other.sync_once().await?;
    assert!(
        annotations_on(&other).is_empty(),
        "a private note is private"
    );

    // Share it: the same edit the UI's toggle sends.
    applied(&author, edit(note("n1", &d1, &doc, Visibility::Shared))).await?;
    other.sync_once().await?;
    author.sync_once().await?;
    assert_eq!(
        annotations_on(&other),
        vec![("n1".to_string(), Visibility::Shared)],
        "the other delegate sees it appear"
    );
    assert_eq!(
        annotations_on(&author),
        vec![("n1".to_string(), Visibility::Shared)]
    );

    // And back to private: it disappears for the others.
    applied(&author, edit(note("n1", &d1, &doc, Visibility::Private))).await?;
    other.sync_once().await?;
    author.sync_once().await?;
    assert!(annotations_on(&other).is_empty());
    assert_eq!(
        annotations_on(&author),
        vec![("n1".to_string(), Visibility::Private)]
    );

    // Shared again: the other member saw it leave (meeting log) but never
    // saw it return to the personal log; it must still appear (found by the
    // room simulation, 6 seeds in 200).
    applied(&author, edit(note("n1", &d1, &doc, Visibility::Shared))).await?;
    other.sync_once().await?;
    author.sync_once().await?;
    assert_eq!(
        annotations_on(&other),
        vec![("n1".to_string(), Visibility::Shared)]
    );

    // Another person's id is not theirs to move.
    let (_, ack) = send(&other, edit(note("n1", &d2, &doc, Visibility::Shared))).await?;
    assert!(
        matches!(ack.outcome, CommandOutcome::Refused { .. }),
        "{ack:?}"
    );

    // Reopening gives the same state everywhere, in the same global order.
    let live = meeting_projection(&hub.store()?)?;
    HubDir::open_read_only(&hub.data)?;
    assert_eq!(meeting_projection(&hub.store()?)?, live);
    for c in [author, other] {
        let before = meeting_projection(c.dir().lock().unwrap_or_else(|p| p.into_inner()).store())?;
        let root = c
            .dir()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .root()
            .to_path_buf();
        drop(c);
        let again = Client::open(&root)?;
        let after = meeting_projection(
            again
                .dir()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .store(),
        )?;
        assert_eq!(before, after, "a device replays to what it applied live");
    }
    Ok(())
}

/// A hub whose folder no longer replays stops serving and says why: it
/// never answers from a state that may be stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_that_cannot_replay_its_folder_fails_closed() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let papers = vec![Paper::members(text_pdf(tmp.path(), "bao-cao", "hỏng", 3)?)];
    let mut hub = TestHub::with_meeting(1, &papers, true)?;
    hub.start()?;
    let c = hub.join(&delegate(1)).await?;
    c.sync_once().await?;
    // Damage one entry behind the hub's back (another process writing
    // hub.db, as a failing disk or a careless script would).
    {
        let conn = phonghop_store::rusqlite::Connection::open(hub.data.join("hub.db"))?;
        conn.execute(
            "UPDATE log_entries SET payload = replace(payload, 'Khai mạc', 'Khai mac')
             WHERE log = ?1 AND payload LIKE '%Khai mạc%'",
            [format!("m/{MEETING}")],
        )?;
    }
    let err = match c.sync_once().await {
        Ok(r) => bail!("a damaged hub still served: {r:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("hub_halted") || err.contains("stopped"),
        "{err}"
    );
    // And it stays stopped: the next request gets the same answer.
    let again = c.sync_once().await.map(|_| ()).unwrap_err().to_string();
    assert!(again.contains("stopped"), "{again}");
    Ok(())
}

/// A move is two entries in two logs (moved out of the personal log, added
/// to the meeting log). Through the live channel alone, the author's device
/// must apply them in the hub's order, or its reducer sets the add aside.
/// Two things guard that: the fan-out sends runs in global order, and a
/// device sorts each batch by `gseq`. (This end-to-end check passes with
/// either one alone; `live::tests` checks the fan-out's order itself.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_device_applies_a_move_in_the_hub_order() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let papers = vec![Paper::members(text_pdf(
        tmp.path(),
        "du-thao",
        "trực tiếp",
        3,
    )?)];
    let mut hub = TestHub::with_meeting(2, &papers, true)?;
    hub.start()?;
    let d1 = delegate(1);
    let author = std::sync::Arc::new(hub.join(&d1).await?);
    author.sync_once().await?;
    let doc = paper_of(&hub, false)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let live = tokio::spawn(author.clone().run(stopped));
    let mut online = author.connection();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        online.wait_for(|c| *c == phonghop_client::Connection::Online),
    )
    .await??;
    let mut vis = Visibility::Private;
    applied(&author, add(note("n1", &d1, &doc, vis))).await?;
    for _ in 0..6 {
        vis = if vis == Visibility::Private {
            Visibility::Shared
        } else {
            Visibility::Private
        };
        applied(&author, edit(note("n1", &d1, &doc, vis))).await?;
    }
    let want = vec![("n1".to_string(), vis)];
    phonghop_tests::hub::eventually("the note as last set", LIMIT, || {
        (annotations_on(&author) == want).then_some(())
    })
    .await?;
    let aside = author
        .dir()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .store()
        .quarantined()?;
    assert!(aside.is_empty(), "entries set aside: {aside:?}");
    let _ = stop.send(true);
    let _ = live.await;
    Ok(())
}
