//! Writes made while the hub is away arrive exactly once.
//!
//! 1. In-process: the hub is killed; a device running its live loop adds a
//!    private note, a shared note and a request to speak — they sit in its
//!    outbox; the hub comes back on the same port; the loop delivers them
//!    and the hub holds each exactly once.
//! 2. SIGKILL: the device runs in its own process (`sync-client`) behind a
//!    proxy that lets the hub apply the command and then holds the answer;
//!    the device is killed while it waits, started again, resends, and gets
//!    `replay: true` — the hub still holds the event once.

use anyhow::Result;
use phonghop_client::{ClientDir, Connection, PendingState};
use phonghop_core::protocol::{Command, CommandOutcome};
use phonghop_core::*;
use phonghop_tests::hub::{delegate, events, eventually, note, Paper, TestHub, MEETING};
use phonghop_tests::papers::text_pdf;
use phonghop_tests::proxy::Proxy;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn meeting_log() -> LogId {
    LogId::Meeting(MeetingId::new(MEETING))
}

fn personal_log(person: &str) -> LogId {
    LogId::Personal {
        meeting: MeetingId::new(MEETING),
        person: PersonId::new(person),
    }
}

fn count_annotation(evs: &[Event], id: &str) -> usize {
    evs.iter()
        .filter(
            |e| matches!(e, Event::AnnotationAdded { annotation } if annotation.id.as_str() == id),
        )
        .count()
}

fn count_speaker(evs: &[Event], id: &str) -> usize {
    evs.iter()
        .filter(|e| matches!(e, Event::SpeakerRequested { request, .. } if request.as_str() == id))
        .count()
}

fn one_paper(dir: &std::path::Path) -> Result<Vec<Paper>> {
    Ok(vec![Paper::members(text_pdf(
        dir,
        "to-trinh-so-1",
        "ngoại tuyến",
        5,
    )?)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_writes_arrive_exactly_once_after_the_hub_restarts() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let mut hub = TestHub::with_meeting(2, &one_paper(pdfs.path())?, true)?;
    hub.start()?;
    let me = delegate(1);
    let client = Arc::new(hub.join(&me).await?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(client.clone().run(stopped));
    let mut conn = client.connection();
    tokio::time::timeout(LIMIT, conn.wait_for(|c| *c == Connection::Online)).await??;
    let doc = {
        let dir = client.dir();
        let d = dir.lock().unwrap();
        let m = &d.store().state().meetings[&MeetingId::new(MEETING)];
        m.documents
            .keys()
            .next()
            .cloned()
            .expect("the paper arrived")
    };

    hub.kill();
    tokio::time::timeout(LIMIT, conn.wait_for(|c| *c != Connection::Online)).await??;
    let meeting = MeetingId::new(MEETING);
    client
        .submit(Command::AddAnnotation {
            meeting: meeting.clone(),
            annotation: note("ghi-chu-rieng", &me, &doc, Visibility::Private),
        })
        .await?;
    client
        .submit(Command::AddAnnotation {
            meeting: meeting.clone(),
            annotation: note("ghi-chu-chung", &me, &doc, Visibility::Shared),
        })
        .await?;
    client
        .submit(Command::RequestToSpeak {
            meeting: meeting.clone(),
            request: SpeakerRequestId::new("xin-phat-bieu-1"),
            item: None,
        })
        .await?;
    {
        let dir = client.dir();
        let d = dir.lock().unwrap();
        assert_eq!(
            d.pending()?.len(),
            3,
            "with the hub away, the three writes wait in the durable outbox"
        );
        let local = d.annotations(&meeting, &doc)?;
        assert!(
            local.len() == 2 && local.iter().all(|a| a.state == PendingState::Saved),
            "the device shows its own notes as saved locally while offline: {local:?}"
        );
    }
    // Let the loop fail against the dead hub at least once more.
    tokio::time::sleep(Duration::from_millis(400)).await;

    hub.start()?;
    let dir = client.dir();
    eventually(
        "the outbox to drain and the events to come back",
        LIMIT,
        || {
            let d = dir.lock().unwrap();
            let m = &d.store().state().meetings[&meeting];
            let done = d.pending().ok()?.is_empty()
                && m.annotations.len() == 2
                && m.speakers
                    .contains_key(&SpeakerRequestId::new("xin-phat-bieu-1"));
            done.then_some(())
        },
    )
    .await?;
    // A later restart must not make anything arrive twice either.
    hub.kill();
    hub.start()?;
    tokio::time::timeout(LIMIT, conn.wait_for(|c| *c == Connection::Online)).await??;
    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, runner).await??;

    let store = hub.store()?;
    let shared = events(&store, &meeting_log())?;
    let private = events(&store, &personal_log(&me))?;
    let counts = (
        count_annotation(&private, "ghi-chu-rieng"),
        count_annotation(&shared, "ghi-chu-chung"),
        count_speaker(&shared, "xin-phat-bieu-1"),
        count_annotation(&shared, "ghi-chu-rieng"),
    );
    println!(
        "after restart: private {}, shared {}, speaker {}",
        counts.0, counts.1, counts.2
    );
    assert_eq!(
        counts,
        (1, 1, 1, 0),
        "each offline write is applied exactly once, the private note only in the personal log"
    );
    let d = dir.lock().unwrap();
    assert!(
        d.annotations(&meeting, &doc)?
            .iter()
            .all(|a| a.state == PendingState::Sent),
        "once acknowledged, the device shows its notes as sent"
    );
    Ok(())
}

/// Waits for a child without blocking the runtime.
async fn wait_child(child: &mut std::process::Child) -> Result<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(st);
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "sync-client did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_before_the_ack_gets_its_command_applied_once() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let mut hub = TestHub::with_meeting(2, &one_paper(pdfs.path())?, true)?;
    hub.start()?;
    let proxy = Proxy::start(hub.addr())?;
    let me = delegate(1);
    let client = hub.join_via(&me, proxy.addr).await?;
    client.sync_once().await?;
    let id = client
        .submit(Command::RequestToSpeak {
            meeting: MeetingId::new(MEETING),
            request: SpeakerRequestId::new("xin-phat-bieu-2"),
            item: None,
        })
        .await?;
    let folder = client.dir().lock().unwrap().root().to_path_buf();
    drop(client);

    // First run: the hub applies the command; its answer never arrives.
    proxy.ctl.hold_commands.store(true, Ordering::SeqCst);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-client"))
        .arg(&folder)
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    eventually("the hub to answer the held command", LIMIT, || {
        (proxy.ctl.held.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await?;
    let applied = count_speaker(&events(&hub.store()?, &meeting_log())?, "xin-phat-bieu-2");
    assert_eq!(
        applied, 1,
        "the hub applied the command before the device died"
    );
    child.kill()?;
    let st = wait_child(&mut child).await?;
    assert!(!st.success(), "the device was killed, not finished: {st:?}");
    {
        let d = ClientDir::open(&folder)?;
        assert_eq!(
            d.pending()?.len(),
            1,
            "the device never saw the answer, so the command is still in its outbox"
        );
    }

    // Second run: it sends the same command again.
    proxy.ctl.hold_commands.store(false, Ordering::SeqCst);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sync-client"))
            .arg(&folder)
            .output()
            .map(|o| (folder, o))
    });
    let (folder, out) = tokio::time::timeout(LIMIT, out).await???;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("acked 1"),
        "the restarted device resends and is acknowledged: {stdout}"
    );
    let d = ClientDir::open(&folder)?;
    let ack = d.ack_of(&id)?.expect("the outbox records the answer");
    assert!(
        ack.replay,
        "the hub recognised the resent id as a replay, so it did not apply it again: {ack:?}"
    );
    assert!(
        matches!(ack.outcome, CommandOutcome::Applied { .. }),
        "a replay repeats the first answer (applied): {ack:?}"
    );
    assert!(d.pending()?.is_empty(), "nothing is left to send");
    let applied = count_speaker(&events(&hub.store()?, &meeting_log())?, "xin-phat-bieu-2");
    println!("SIGKILL between send and ack: hub holds the request {applied} time(s), replay acknowledged");
    assert_eq!(
        applied, 1,
        "killed and resent, the command is applied exactly once"
    );
    assert!(
        d.store().state().meetings[&MeetingId::new(MEETING)]
            .speakers
            .contains_key(&SpeakerRequestId::new("xin-phat-bieu-2")),
        "the device pulled its own request back from the log"
    );
    Ok(())
}
