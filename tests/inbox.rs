//! The inbox: a PDF dropped into `DATA/inbox/<meeting>/` reaches a device
//! that is following the live channel, as a new paper; the same file name
//! with new content becomes version 2; a damaged file is set aside in
//! `rejected/` with its reason; a file still being written is not taken
//! until it holds still.
//!
//! Files are prepared beside the inbox and renamed in (atomic), except the
//! slow one, which is written in place piece by piece.

use anyhow::Result;
use phonghop_client::{Client, Connection};
use phonghop_core::*;
use phonghop_tests::hub::{delegate, eventually, TestHub, MEETING};
use phonghop_tests::papers::text_pdf;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The device's latest version of the paper from `file_name`, once its PDF
/// is on disk: (paper, version number, sha).
fn on_device(client: &Client, file_name: &str) -> Option<(DocumentId, u32, Hash)> {
    let dir = client.dir();
    let d = dir.lock().unwrap();
    let m = d.store().state().meetings.get(&MeetingId::new(MEETING))?;
    m.documents.values().find_map(|doc| {
        let v = doc.versions.last()?;
        (v.file_name == file_name && d.blobs().has(&v.sha256))
            .then(|| (doc.id.clone(), v.version, v.sha256))
    })
}

fn sha_of(path: &Path) -> Result<Hash> {
    Ok(Hash::of(&std::fs::read(path)?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn papers_dropped_in_the_inbox_reach_a_connected_device() -> Result<()> {
    let mut hub = TestHub::with_meeting(1, &[], false)?;
    hub.inbox = true;
    hub.pdf_worker = Some(env!("CARGO_BIN_EXE_pdf-worker").into());
    let inbox = hub.data.join("inbox").join(MEETING);
    std::fs::create_dir_all(&inbox)?;
    let staging = hub.root().join("staging");
    hub.start()?;
    let client = Arc::new(hub.join(&delegate(1)).await?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(client.clone().run(stopped));
    tokio::time::timeout(
        LIMIT,
        client.connection().wait_for(|c| *c == Connection::Online),
    )
    .await??;

    // A new paper.
    let v1 = text_pdf(&staging.join("1"), "de-an-moi", "bản đầu", 5)?;
    let v1_sha = sha_of(&v1)?;
    std::fs::rename(&v1, inbox.join("de-an-moi.pdf"))?;
    let (doc, version, sha) = eventually("the new paper on the device", LIMIT, || {
        on_device(&client, "de-an-moi.pdf")
    })
    .await?;
    assert_eq!(
        (version, sha),
        (1, v1_sha),
        "the dropped file arrives as version 1 of a new paper, byte for byte"
    );

    // Same name, new content: version 2 of the same paper.
    let v2 = text_pdf(&staging.join("2"), "de-an-moi", "bản sửa đổi", 7)?;
    let v2_sha = sha_of(&v2)?;
    assert_ne!(v1_sha, v2_sha);
    std::fs::rename(&v2, inbox.join("de-an-moi.pdf"))?;
    let (doc2, version, sha) = eventually("version 2 on the device", LIMIT, || {
        on_device(&client, "de-an-moi.pdf").filter(|(_, v, _)| *v == 2)
    })
    .await?;
    assert_eq!(
        (doc2, sha),
        (doc.clone(), v2_sha),
        "a replaced file becomes the next version of the same paper"
    );
    let _ = version;

    // A damaged file is set aside with its reason.
    let junk = staging.join("hong.pdf");
    std::fs::write(&junk, b"%PDF-1.7\nthis is not really a PDF at all\n%%EOF\n")?;
    std::fs::rename(&junk, inbox.join("hong.pdf"))?;
    let reason_file = inbox.join("rejected").join("hong.pdf.reason.txt");
    let reason = eventually("the damaged file to be rejected", LIMIT, || {
        std::fs::read_to_string(&reason_file)
            .ok()
            .filter(|r| !r.is_empty())
    })
    .await?;
    println!("damaged PDF rejected: {}", reason.trim());
    assert!(
        inbox.join("rejected").join("hong.pdf").is_file() && !inbox.join("hong.pdf").exists(),
        "the damaged file is moved out of the inbox into rejected/"
    );
    assert!(
        reason.contains("hong.pdf"),
        "the reason names the file: {reason}"
    );

    // A file written slowly, in place: not taken while it keeps changing.
    let slow_src = text_pdf(&staging.join("3"), "bao-cao-cham", "ghi chậm", 6)?;
    let bytes = std::fs::read(&slow_src)?;
    let slow_sha = Hash::of(&bytes);
    {
        let mut f = std::fs::File::create(inbox.join("bao-cao-cham.pdf"))?;
        let pieces = 10;
        let step = bytes.len().div_ceil(pieces);
        for piece in bytes.chunks(step) {
            f.write_all(piece)?;
            f.flush()?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (_, version, sha) = eventually("the slow paper on the device", LIMIT, || {
        on_device(&client, "bao-cao-cham.pdf")
    })
    .await?;
    assert_eq!(
        (version, sha),
        (1, slow_sha),
        "a file is taken only once complete: one version, the whole file"
    );
    assert!(
        !inbox.join("rejected").join("bao-cao-cham.pdf").exists(),
        "the half-written file was never judged (and rejected) early"
    );

    // Nothing else was imported: two papers.
    let papers = {
        let dir = client.dir();
        let d = dir.lock().unwrap();
        d.store().state().meetings[&MeetingId::new(MEETING)]
            .documents
            .len()
    };
    assert_eq!(
        papers, 2,
        "two good files, two papers; the damaged one is not a paper"
    );
    println!("inbox: new paper, version 2, rejected damaged file, slow file taken whole");
    let _ = stop.send(true);
    tokio::time::timeout(LIMIT, runner).await??;
    Ok(())
}
