//! The hub dies in the middle of a 100 MB paper; when it is back, the
//! device resumes from its partial file and re-downloads at most one
//! chunk's worth, then the paper verifies.
//!
//! The paper is a real PDF that passes `phonghop_pdf::analyze`: one page
//! showing a 100 MB uncompressed image (`papers::big_pdf`). The transfer is
//! stopped deterministically by the test proxy, which pauses blob bytes at
//! 40 MB; the hub is killed while the proxy holds, then the proxy lets go
//! (whatever the hub had already written to the socket still arrives,
//! then the connection breaks). Bytes are counted by the proxy (what was
//! handed to the device, both attempts) and by the client (`SyncReport`).

use anyhow::Result;
use phonghop_core::*;
use phonghop_tests::hub::{delegate, eventually, Paper, TestHub, MEETING};
use phonghop_tests::papers::big_pdf;
use phonghop_tests::proxy::Proxy;
use std::sync::Arc;
use std::time::Duration;

const SIZE: u64 = 100_000_000;
const PAUSE_AT: u64 = 40_000_000;
/// The hub reads and sends a blob in chunks of this size.
const CHUNK: u64 = 256 * 1024;
/// Where the proxy stops is within one of its own reads (hyper's buffer,
/// up to ~400 KB) of the pause point.
const SLACK: u64 = 1 << 20;
const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_cut_by_a_hub_crash_resumes_where_it_stopped() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let file = pdfs.path().join("phu-luc-ban-do.pdf");
    big_pdf(&file, SIZE, 0x5eed)?;
    let mut hub = TestHub::with_meeting(1, &[Paper::members(file.clone())], false)?;
    std::fs::remove_file(&file)?;
    hub.start()?;
    let (sha, size) = {
        let store = hub.store()?;
        let m = &store.state().meetings[&MeetingId::new(MEETING)];
        let v = m.documents.values().next().unwrap().versions[0].clone();
        (v.sha256, v.size)
    };
    assert!(size >= SIZE, "the paper is at least 100 MB ({size} bytes)");
    let proxy = Proxy::start(hub.addr())?;
    let client = Arc::new(hub.join_via(&delegate(1), proxy.addr).await?);
    let part = client
        .dir()
        .lock()
        .unwrap()
        .root()
        .join("blobs/tmp")
        .join(format!("{}.part", sha.to_hex()));

    proxy.ctl.pause_blobs_at(PAUSE_AT);
    let first = tokio::spawn({
        let c = client.clone();
        async move { c.sync_once().await }
    });
    let part2 = part.clone();
    eventually("the partial file to reach the pause", LIMIT, || {
        let len = std::fs::metadata(&part2).map(|m| m.len()).unwrap_or(0);
        (len + SLACK >= PAUSE_AT).then_some(len)
    })
    .await?;
    hub.kill();
    proxy.ctl.release_blobs();
    let cut = tokio::time::timeout(LIMIT, first).await??;
    assert!(
        cut.is_err(),
        "the round that lost its hub mid-transfer reports an error: {cut:?}"
    );
    let kept = std::fs::metadata(&part)?.len();
    assert!(
        kept + SLACK >= PAUSE_AT && kept < size,
        "the device kept the partial download ({kept} of {size} bytes)"
    );
    let handed_first = proxy.ctl.blob_bytes(&sha.to_hex());

    hub.start()?;
    let report = tokio::time::timeout(LIMIT, client.sync_once()).await??;
    let handed_total = proxy.ctl.blob_bytes(&sha.to_hex());
    println!(
        "100 MB paper: cut at {kept} bytes (proxy had handed {handed_first}); \
         second round received {} bytes; proxy handed {handed_total} bytes in all \
         for a {size}-byte paper (overhead {} bytes)",
        report.bytes,
        handed_total.saturating_sub(size)
    );
    assert_eq!(
        report.bytes,
        size - kept,
        "the second round asks only for the rest (Range from the partial file's length)"
    );
    assert!(
        handed_total <= size + CHUNK,
        "over both attempts at most one chunk is transferred twice ({handed_total} for {size})"
    );
    let dir = client.dir();
    let d = dir.lock().unwrap();
    d.blobs()
        .verify(&sha)
        .expect("the resumed paper verifies against its SHA-256");
    assert!(!part.exists(), "the partial file became the blob");
    Ok(())
}
