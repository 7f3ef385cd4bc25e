//! A device's outbox never blocks: each command ends in its own terminal
//! state, and size limits are checked on the device and again on the hub.
//!
//! Real hub on 127.0.0.1 ([`TestHub`]), real clients, real SQLite files.

use anyhow::{Context, Result};
use phonghop_client::{Client, ClientDir, Concern, OutboxState, PendingState};
use phonghop_core::limits;
use phonghop_core::protocol::{
    ApiError, Command, CommandAck, CommandBody, CommandOutcome, SignedCommand,
};
use phonghop_core::*;
use phonghop_tests::hub::{delegate, events, note, Paper, TestHub, MEETING};
use phonghop_tests::papers::text_pdf;
use phonghop_tests::raw::RawDevice;
use phonghop_tests::voting::{ack_of, ballot, check_in, create_and_open, meeting_log, NewPoll};

/// The size of the note that used to block every flush.
const BIG: usize = 3 * 1024 * 1024;

fn meeting() -> MeetingId {
    MeetingId::new(MEETING)
}

/// A hub in session with one paper, the chair and delegate 1 joined and
/// synced, and an open named poll `p1`.
async fn room() -> Result<(tempfile::TempDir, TestHub, Client, Client, DocumentId)> {
    let pdfs = tempfile::tempdir()?;
    let paper = Paper::members(text_pdf(pdfs.path(), "to-trinh-so-7", "hộp thư đi", 3)?);
    let mut hub = TestHub::with_meeting(2, &[paper], true)?;
    hub.start()?;
    let chair = hub.join(phonghop_tests::hub::CHAIR).await?;
    let me = hub.join(&delegate(1)).await?;
    chair.sync_once().await?;
    create_and_open(&chair, &NewPoll::named("p1", "Thông qua Nghị quyết số 7")).await?;
    me.sync_once().await?;
    let doc = {
        let dir = me.dir();
        let d = dir.lock().unwrap();
        d.store().state().meetings[&meeting()]
            .documents
            .keys()
            .next()
            .cloned()
            .context("the paper reached the device")?
    };
    Ok((pdfs, hub, chair, me, doc))
}

/// Puts a signed command straight into the device's outbox, as an older
/// version of the app (which checked no sizes) queued it.
async fn queue_unchecked(c: &Client, id: &str, command: Command) -> Result<CommandId> {
    let device = c.pairing().device.clone();
    let id = CommandId::new(id);
    let id2 = id.clone();
    c.with_dir(move |d| -> Result<()> {
        let signed = SignedCommand::sign(
            CommandBody {
                device,
                id: id2.clone(),
                issued_at: Timestamp(1),
                command,
            },
            d.key(),
        )?;
        d.store().conn().execute(
            "INSERT INTO outbox (id, meeting, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            (
                id2.as_str(),
                MEETING,
                serde_json::to_string(&signed)?,
                1_i64,
            ),
        )?;
        Ok(())
    })
    .await?;
    Ok(id)
}

/// Flushes as the device's loop would after the hub came back: a
/// connection pooled before the hub was killed may fail once, which is
/// trouble that passes (`is_transient`), so try again a few times.
async fn flush_after_restart(c: &Client) -> Result<usize, phonghop_client::ClientError> {
    let mut tries = 0;
    loop {
        match c.flush_outbox().await {
            Err(e) if e.is_transient() && tries < 10 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

fn big_note(me: &str, doc: &DocumentId) -> Annotation {
    let mut a = note("ghi-chu-lon", me, doc, Visibility::Private);
    a.text = Some("x".repeat(BIG));
    a
}

fn refusal(ack: &CommandAck) -> Option<(&str, &str)> {
    match &ack.outcome {
        CommandOutcome::Refused { code, message } => Some((code, message)),
        CommandOutcome::Applied { .. } => None,
    }
}

/// Issue 10, bug 3: a 3 MB note queued before a ballot made every flush
/// fail with `http_413`; the ballot never reached the hub and nothing said
/// which command was at fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_note_does_not_block_the_ballot_queued_after_it() -> Result<()> {
    let (_pdfs, mut hub, _chair, me, doc) = room().await?;
    let who = delegate(1);

    // Offline: the note, then a ballot and a check-in.
    hub.kill();
    let note_id = queue_unchecked(
        &me,
        "c-ghi-chu-3mb",
        Command::AddAnnotation {
            meeting: meeting(),
            annotation: big_note(&who, &doc),
        },
    )
    .await?;
    let ballot_id = me.submit(ballot("p1", 0)).await?;
    let check_in_id = me.submit(check_in()).await?;
    assert!(
        me.flush_outbox().await.is_err(),
        "with the hub away, the flush reports that it could not send"
    );

    hub.start()?;
    let flushed = flush_after_restart(&me).await;

    let ballot_ack = ack_of(&me, &ballot_id).await?;
    assert!(
        matches!(
            ballot_ack.as_ref().map(|a| &a.outcome),
            Some(CommandOutcome::Applied { .. })
        ),
        "the ballot behind the oversized note reaches the hub and is applied \
         (flush answered {flushed:?}, ballot ack {ballot_ack:?})"
    );
    let check_in_ack = ack_of(&me, &check_in_id).await?;
    assert!(
        matches!(
            check_in_ack.as_ref().map(|a| &a.outcome),
            Some(CommandOutcome::Applied { .. })
        ),
        "the check-in goes on too: {check_in_ack:?}"
    );
    flushed.context("the flush succeeds: every command got its own answer")?;

    let note_ack = ack_of(&me, &note_id)
        .await?
        .context("the oversized note has its own terminal state")?;
    let (code, message) = refusal(&note_ack).context("the note is refused")?;
    assert_eq!(code, "too_large", "{message}");
    assert!(
        message.contains("note text is 3,145,728 bytes; the limit is 16,384"),
        "the hub's reason names the field, its size and the limit: {message}"
    );

    let evs = events(&hub.store()?, &meeting_log())?;
    let ballots = evs
        .iter()
        .filter(|e| matches!(e, Event::BallotCast { voter: Some(v), .. } if v.as_str() == who))
        .count();
    assert_eq!(ballots, 1, "the hub holds the ballot once");
    let d = me.dir();
    let d = d.lock().unwrap();
    assert!(d.pending()?.is_empty(), "nothing is left waiting");
    Ok(())
}

fn ink(id: &str, me: &str, doc: &DocumentId, points: usize, visibility: Visibility) -> Annotation {
    let mut a = note(id, me, doc, visibility);
    a.text = None;
    a.shape = Shape::Ink {
        strokes: vec![(0..points)
            .map(|i| Point {
                x: 100.5 + (i % 300) as f32,
                y: 200.25 + (i % 500) as f32,
            })
            .collect()],
        width: 2.0,
    };
    a
}

fn add(annotation: Annotation) -> Command {
    Command::AddAnnotation {
        meeting: meeting(),
        annotation,
    }
}

/// The device refuses an oversized field before queueing it, with the
/// limit in the message; nothing reaches the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_refuses_oversized_fields_before_queueing() -> Result<()> {
    let (_pdfs, _hub, chair, me, doc) = room().await?;
    let who = delegate(1);
    let cases = [
        (
            &me,
            add(big_note(&who, &doc)),
            "note text is 3,145,728 bytes; the limit is 16,384",
        ),
        (
            &me,
            add(ink("but-dai", &who, &doc, 12_000, Visibility::Private)),
            "the ink has 12,000 points; the limit is 10,000",
        ),
        (
            &chair,
            Command::CreatePoll {
                meeting: meeting(),
                poll: PollId::new("p-nhieu"),
                item: None,
                question: "Chọn phương án".into(),
                options: (1..=25).map(|i| format!("Phương án {i}")).collect(),
                secret: false,
                rule: MajorityRule::MORE_THAN_HALF_OF_ALL,
                closes_at: None,
            },
            "the poll has 25 options; the limit is 20",
        ),
    ];
    for (c, command, want) in cases {
        let err = c
            .submit(command)
            .await
            .expect_err("an oversized field is refused before it is queued");
        assert_eq!(err.code(), "too_large");
        assert_eq!(err.to_string(), want);
    }
    for c in [&me, &chair] {
        let d = c.dir();
        let d = d.lock().unwrap();
        assert!(d.pending()?.is_empty(), "nothing was queued");
    }
    // At the limit is fine.
    let mut at_limit = note("vua-du", &who, &doc, Visibility::Private);
    at_limit.text = Some("ơ".repeat(16_384 / "ơ".len()));
    let id = me.submit(add(at_limit)).await?;
    me.flush_outbox().await?;
    assert!(matches!(
        ack_of(&me, &id).await?.map(|a| a.outcome),
        Some(CommandOutcome::Applied { .. })
    ));
    Ok(())
}

/// The hub checks the same limits again (a device that skipped them, or
/// an older version), answering `too_large` with the device's message; a
/// body over the request limit is `too_large` too, never a bare 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_refuses_oversized_fields_with_the_same_message() -> Result<()> {
    let (_pdfs, hub, _chair, me, doc) = room().await?;
    let who = delegate(1);
    let mut raw = RawDevice::of(&me, hub.addr());
    assert!(raw.sign_in().await?.status.is_success());
    let key = raw.key.clone();

    for (id, command) in [
        ("c-hub-note", add(big_note(&who, &doc))),
        (
            "c-hub-ink",
            add(ink("but-dai", &who, &doc, 12_000, Visibility::Shared)),
        ),
    ] {
        let want = limits::check_command(&command)
            .expect_err("over the limits")
            .to_string();
        let signed = raw.signed(id, command, &key);
        for replay in [false, true] {
            let answer = raw.command(&signed).await?;
            assert!(answer.status.is_success(), "{answer:?}");
            let ack: CommandAck = answer.json()?;
            assert_eq!(ack.replay, replay);
            assert_eq!(
                refusal(&ack),
                Some(("too_large", want.as_str())),
                "the hub gives the device's message"
            );
        }
    }

    // Over the HTTP body limit: still our code, with the size and limit.
    let mut huge = big_note(&who, &doc);
    huge.text = Some("x".repeat(5 * 1024 * 1024));
    let answer = raw
        .command(&raw.signed("c-hub-huge", add(huge), &key))
        .await?;
    assert_eq!(answer.status.as_u16(), 413);
    assert_eq!(answer.code(), "too_large");
    let message = answer.json::<ApiError>()?.message;
    assert!(
        message.contains("the limit is 4,194,304"),
        "the answer names the limit: {message}"
    );

    // A body that is not a command: 400 with our code.
    let answer = raw
        .send(
            reqwest::Method::POST,
            "/v1/commands",
            None,
            Some(serde_json::json!({ "not": "a command" })),
            &[],
        )
        .await?;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (400, "bad_command")
    );

    let evs = events(&hub.store()?, &meeting_log())?;
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Event::AnnotationAdded { .. })),
        "nothing oversized was applied"
    );
    Ok(())
}

/// A transport-level refusal of one request (413 over the body limit, 400
/// for an id the hub cannot take) is that command's refusal and the next
/// goes on; a network error leaves the command pending, recorded against
/// it, and the error names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_refusals_are_terminal_and_network_errors_retry() -> Result<()> {
    let (_pdfs, mut hub, _chair, me, doc) = room().await?;
    let who = delegate(1);

    hub.kill();
    let check_in_id = me.submit(check_in()).await?;
    let err = me
        .flush_outbox()
        .await
        .expect_err("the hub is away: the command waits");
    assert_eq!(err.code(), "hub_unreachable");
    assert!(
        err.to_string().contains(&format!(
            "command {check_in_id} (attendance) waits in the outbox"
        )),
        "the error names the waiting command: {err}"
    );
    let entry = {
        let d = me.dir();
        let d = d.lock().unwrap();
        d.outbox_entry(&check_in_id)?.context("the row is there")?
    };
    assert_eq!(entry.state, OutboxState::Pending);
    assert!(entry.attempts >= 1);
    assert!(
        entry
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("hub_unreachable: ")),
        "the row says why it waits: {entry:?}"
    );

    // Queued behind it, as an older version would have: a body over the
    // hub's request limit, and a command id the hub cannot take.
    let mut huge = big_note(&who, &doc);
    huge.text = Some("x".repeat(5 * 1024 * 1024));
    let huge_id = queue_unchecked(&me, "c-qua-lon", add(huge)).await?;
    let bad_id = queue_unchecked(&me, "c bad id!", check_in()).await?;
    let speak_id = me
        .submit(Command::RequestToSpeak {
            meeting: meeting(),
            request: SpeakerRequestId::new("xin-phat-bieu"),
            item: None,
        })
        .await?;

    hub.start()?;
    flush_after_restart(&me).await?;
    let outcome = |id: CommandId| {
        let me = &me;
        async move { ack_of(me, &id).await }
    };
    assert!(matches!(
        outcome(check_in_id.clone()).await?.map(|a| a.outcome),
        Some(CommandOutcome::Applied { .. })
    ));
    let huge_ack = outcome(huge_id.clone()).await?.context("answered")?;
    let (code, message) = refusal(&huge_ack).context("refused")?;
    assert_eq!(code, "too_large");
    assert!(message.contains("the limit is 4,194,304"), "{message}");
    let bad_ack = outcome(bad_id.clone()).await?.context("answered")?;
    assert_eq!(refusal(&bad_ack).map(|r| r.0), Some("bad_command_id"));
    assert!(
        matches!(
            outcome(speak_id).await?.map(|a| a.outcome),
            Some(CommandOutcome::Applied { .. })
        ),
        "the command behind two refused ones is applied"
    );
    let d = me.dir();
    let d = d.lock().unwrap();
    assert!(d.pending()?.is_empty());
    let unsettled: Vec<_> = d
        .unsettled(&meeting())?
        .into_iter()
        .map(|e| (e.id().clone(), e.state, e.concern()))
        .collect();
    assert_eq!(
        unsettled,
        vec![
            (
                huge_id,
                OutboxState::Refused,
                Concern::Annotation(AnnotationId::new("ghi-chu-lon"))
            ),
            (bad_id, OutboxState::Refused, Concern::Attendance),
        ],
        "the refused commands are listed with what they concern"
    );
    Ok(())
}

/// A note the hub refuses stays on the device, shown as refused with the
/// hub's reason (no silent revert), survives a restart, and leaves once
/// the person dismisses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_note_is_shown_with_the_reason_until_dismissed() -> Result<()> {
    let (_pdfs, mut hub, _chair, me, doc) = room().await?;
    let who = delegate(1);
    let mut beyond = note("trang-thua", &who, &doc, Visibility::Private);
    beyond.page = 999;
    let id = me.submit(add(beyond)).await?;
    me.flush_outbox().await?;
    let root = me.dir().lock().unwrap().root().to_path_buf();
    // The device restarts (the client folder lives in the hub's temp dir:
    // the hub is stopped, not dropped).
    drop(me);
    hub.kill();

    let mut d = ClientDir::open(&root)?;
    let shown = d.annotations(&meeting(), &doc)?;
    assert_eq!(shown.len(), 1, "the refused note is still shown: {shown:?}");
    let note = &shown[0];
    assert_eq!(note.state, PendingState::Refused);
    let r = note.refusal.as_ref().context("with its refusal")?;
    assert_eq!(r.command, id);
    assert!(
        r.message.contains("page 1000 is beyond the paper's end"),
        "the hub's reason: {r:?}"
    );
    let listed = d.unsettled(&meeting())?;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].concern(),
        Concern::Annotation(AnnotationId::new("trang-thua"))
    );

    assert!(d.dismiss(&id, Timestamp(5))?);
    assert!(!d.dismiss(&id, Timestamp(6))?, "once");
    assert!(d.annotations(&meeting(), &doc)?.is_empty());
    assert!(d.unsettled(&meeting())?.is_empty());
    assert_eq!(
        d.outbox_entry(&id)?.map(|e| (e.state, e.dismissed)),
        Some((OutboxState::Refused, true)),
        "the row stays as the device's record"
    );
    Ok(())
}

/// One person's private annotations in one meeting have a quota, checked
/// on the device before queueing and again on the hub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_quota_is_checked_on_the_device_and_on_the_hub() -> Result<()> {
    let (_pdfs, hub, _chair, me, doc) = room().await?;
    let who = delegate(1);
    let mut n = 0;
    let err = loop {
        n += 1;
        anyhow::ensure!(n < 100, "the quota never bit");
        let a = ink(&format!("but-{n}"), &who, &doc, 10_000, Visibility::Private);
        match me.submit(add(a)).await {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.code(), "too_large");
    let text = err.to_string();
    assert!(
        text.contains("your private annotations in this meeting would total")
            && text.contains("the limit is 4,194,304 per person and meeting"),
        "{text}"
    );
    me.flush_outbox().await?;
    {
        let d = me.dir();
        let d = d.lock().unwrap();
        assert!(d.pending()?.is_empty());
        assert!(
            d.unsettled(&meeting())?.is_empty(),
            "all under the quota applied"
        );
    }
    // Shared annotations are not private: allowed.
    let shared = me
        .submit(add(ink(
            "but-chung",
            &who,
            &doc,
            10_000,
            Visibility::Shared,
        )))
        .await?;
    me.flush_outbox().await?;
    assert!(matches!(
        ack_of(&me, &shared).await?.map(|a| a.outcome),
        Some(CommandOutcome::Applied { .. })
    ));

    // The hub checks again, for a device that did not.
    let mut raw = RawDevice::of(&me, hub.addr());
    raw.sign_in().await?;
    let key = raw.key.clone();
    let over = raw.signed(
        "c-qua-han-muc",
        add(ink("but-thua", &who, &doc, 10_000, Visibility::Private)),
        &key,
    );
    let ack: CommandAck = raw.command(&over).await?.json()?;
    let (code, message) = refusal(&ack).context("refused by the hub")?;
    assert_eq!(code, "too_large");
    assert!(
        message.contains("the limit is 4,194,304 per person and meeting"),
        "{message}"
    );
    Ok(())
}
