//! A published meeting with several real papers reaches 20 real clients
//! over loopback, and every client ends up with the hub's projection of the
//! meeting and every paper verified on disk.
//!
//! Comparison: all papers are readable by every delegate (`Members`) and
//! nobody has private notes yet, so nothing is redacted for anyone; the
//! only tables that differ by design are the directory's (`bodies`,
//! `persons`, `devices`), which devices never replicate (they pull meeting
//! and personal logs only). So the projection dumps minus those three
//! tables must be byte-identical — a stronger check than comparing the
//! meeting's rows one by one, since it also proves the client holds no
//! extra rows.

use anyhow::Result;
use phonghop_core::*;
use phonghop_tests::hub::{delegate, meeting_projection, Paper, TestHub, MEETING};
use phonghop_tests::papers::text_pdf;

const CLIENTS: usize = 20;
const PAPERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_meeting_reaches_twenty_clients_identically() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let mut papers = Vec::new();
    for i in 1..=PAPERS {
        let file = text_pdf(pdfs.path(), &format!("to-trinh-{i}"), "đồng bộ", 4 + 3 * i)?;
        let mut p = Paper::members(file);
        p.item = Some(if i % 2 == 0 { "2" } else { "1" });
        papers.push(p);
    }
    let mut hub = TestHub::with_meeting(CLIENTS, &papers, false)?;
    hub.start()?;

    // Pair all devices first, then sync them all at once.
    let mut joins = Vec::new();
    for n in 1..=CLIENTS {
        let invite = hub.invite(&delegate(n))?;
        let dir = hub.client_dir(&delegate(n));
        joins.push(async move {
            phonghop_client::Client::join(&dir, &invite, &format!("Máy tính bảng số {n}")).await
        });
    }
    let clients = futures_util::future::try_join_all(joins).await?;
    let reports = futures_util::future::try_join_all(clients.iter().map(|c| c.sync_once())).await?;

    let hub_store = hub.store()?;
    let want = meeting_projection(&hub_store)?;
    let m = hub_store
        .state()
        .meetings
        .get(&MeetingId::new(MEETING))
        .expect("the hub has the test meeting");
    assert_eq!(m.documents.len(), PAPERS, "the hub holds every paper");
    let hub_head = hub_store.head(&LogId::Meeting(MeetingId::new(MEETING)));
    let mut verified = 0;
    for (i, (c, r)) in clients.iter().zip(&reports).enumerate() {
        assert_eq!(
            r.blobs,
            2 * PAPERS,
            "client {i} fetches each paper and its text analysis once: {r:?}"
        );
        assert_eq!(r.refetched, 0, "nothing was corrupted on the way");
        let dir = c.dir();
        let d = dir.lock().unwrap();
        assert_eq!(
            d.store().head(&LogId::Meeting(MeetingId::new(MEETING))),
            hub_head,
            "client {i} holds the whole meeting log, same head hash as the hub"
        );
        let got = meeting_projection(d.store())?;
        assert_eq!(
            got, want,
            "client {i}'s projection must equal the hub's: same events, same reducer"
        );
        for doc in m.documents.values() {
            for v in &doc.versions {
                for sha in std::iter::once(v.sha256).chain(v.analysis) {
                    d.blobs()
                        .verify(&sha)
                        .unwrap_or_else(|e| panic!("client {i}: blob {sha} must verify: {e}"));
                    verified += 1;
                }
            }
        }
    }
    println!(
        "{CLIENTS} clients: projections equal the hub's; {verified} blobs verified \
         ({} bytes per client)",
        reports[0].bytes
    );

    // A second round changes nothing and fetches nothing.
    for (i, c) in clients.iter().enumerate() {
        let again = c.sync_once().await?;
        assert_eq!(
            (again.entries, again.blobs, again.bytes),
            (0, 0, 0),
            "client {i}: an up-to-date device neither applies nor downloads anything"
        );
    }
    Ok(())
}
