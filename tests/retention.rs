//! A meeting's retention rule, enforced by the device on its own clock
//! with no network (issue 13, item 3).
//!
//! A real hub with a paper; the secretariat sets "delete 30 days after the
//! close, lock after 7 days offline" and closes the session; a real device
//! syncs the pack, then never reaches the hub again (the hub is gone). Its
//! clock is injected: 8 days on, the pack is locked but kept; 31 days on,
//! the device's own live loop — still offline — deletes it: the meeting,
//! the paper's file, its text, and every trace in the device's folder.

use anyhow::{ensure, Context, Result};
use phonghop_core::*;
use phonghop_hub::admin::AdminOp;
use phonghop_tests::files::{contains, files_under};
use phonghop_tests::hub::{delegate, eventually, Paper, TestHub, MEETING};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const DAY: i64 = phonghop_core::retention::DAY_MS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_past_its_date_is_deleted_on_a_device_that_never_reconnects() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let paper =
        phonghop_tests::papers::text_pdf(pdfs.path(), "to-trinh-luu-giu", "hạn lưu giữ", 2)?;
    let mut hub = TestHub::with_meeting(1, &[Paper::members(paper)], true)?;
    hub.start()?;
    let folder = hub.client_dir(&delegate(1));
    let clock = Arc::new(AtomicI64::new(phonghop_tests::hub::now().0));
    let c2 = clock.clone();
    let client = Arc::new(
        phonghop_client::Client::join(&folder, &hub.invite(&delegate(1))?, "Máy mang về")
            .await?
            .with_clock(Arc::new(move || Timestamp(c2.load(Ordering::SeqCst)))),
    );
    let retention = Retention {
        delete_after_days: Some(30),
        lock_after_offline_days: Some(7),
        idle_lock_minutes: Some(10),
    };
    hub.admin(AdminOp::SetRetention {
        meeting: MEETING.into(),
        retention,
    })?;
    let closed_at = Timestamp(clock.load(Ordering::SeqCst));
    hub.write(|h| {
        h.append(
            &LogId::Meeting(MeetingId::new(MEETING)),
            &[Event::SessionClosed { at: closed_at }],
        )
    })?;
    let report = client.sync_once().await?;
    ensure!(report.blobs > 0, "the pack arrived: {report:?}");
    let (title, sha) = {
        let dir = client.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        let m = &d.store().state().meetings[&MeetingId::new(MEETING)];
        ensure!(m.retention == retention && m.closed_at == Some(closed_at));
        let v = m.documents.values().next().context("a paper")?.versions[0].clone();
        ensure!(d.blobs().has(&v.sha256));
        (m.title.clone(), v.sha256)
    };
    let pdf_path = {
        let dir = client.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        d.blobs().path(&sha)
    };
    ensure!(pdf_path.is_file());

    // The device leaves the room for good.
    hub.kill();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let live = tokio::spawn(client.clone().run(stopped));

    // A week and a day offline: locked, not deleted.
    clock.store(closed_at.0 + 8 * DAY, Ordering::SeqCst);
    ensure!(client.enforce_retention().await?.is_empty());
    let locked = client
        .with_dir(move |d| d.locked_meetings(Timestamp(closed_at.0 + 8 * DAY)))
        .await?;
    ensure!(locked == vec![MeetingId::new(MEETING)], "{locked:?}");

    // A month and a day after the close: the device's own loop deletes it.
    clock.store(closed_at.0 + 31 * DAY, Ordering::SeqCst);
    let c = client.clone();
    eventually(
        "the pack deleted offline",
        Duration::from_secs(60),
        move || {
            let dir = c.dir();
            let d = dir.lock().unwrap_or_else(|p| p.into_inner());
            d.store().state().meetings.is_empty().then_some(())
        },
    )
    .await?;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), live).await;
    ensure!(!pdf_path.exists(), "the paper's file is gone");
    // Nothing in the device's folder holds the meeting's title, a PDF, or
    // the paper's text.
    let text = "hạn lưu giữ";
    for (path, bytes) in files_under(&folder)? {
        for needle in [title.as_bytes(), b"%PDF".as_slice(), text.as_bytes()] {
            ensure!(
                !contains(&bytes, needle),
                "{} still holds {:?}",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    Ok(())
}
