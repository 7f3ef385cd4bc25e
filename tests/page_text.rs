//! A paper's pages on the device are rows: the page sizes, the outline and
//! each page's text, character boxes and links read back exactly as the
//! hub's import analysis gave them (the reader asks one page at a time, and
//! no parsed analysis stays in the app's memory); a device that downloaded
//! the paper before the rows existed gets them from the analysis blob; a
//! wipe leaves none.

use anyhow::{Context, Result};
use phonghop_core::*;
use phonghop_tests::hub::{delegate, Paper, TestHub, MEETING};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_rows_that_match_the_import_analysis() -> Result<()> {
    let pdfs = tempfile::tempdir()?;
    let nav = pdfs.path().join("muc-luc.pdf");
    phonghop_pdf::navigation_pdf(&nav)?;
    let want = phonghop_pdf::analyze(&nav)?;
    let mut hub = TestHub::with_meeting(1, &[Paper::members(nav.clone())], true)?;
    hub.start()?;
    let c = hub.join(&delegate(1)).await?;
    c.sync_once().await?;

    let dir = c.dir();
    let mut d = dir.lock().unwrap_or_else(|p| p.into_inner());
    let meeting = MeetingId::new(MEETING);
    let (doc, version) = {
        let m = d
            .store()
            .state()
            .meetings
            .get(&meeting)
            .context("meeting")?;
        let doc = m.documents.values().next().context("the paper")?;
        (
            doc.id.clone(),
            doc.versions.last().context("a version")?.version,
        )
    };
    let check = |d: &phonghop_client::ClientDir| -> Result<()> {
        let layout = d.paper_layout(&meeting, &doc, version)?;
        let sizes: Vec<(f32, f32)> = want.pages.iter().map(|p| (p.width, p.height)).collect();
        anyhow::ensure!(layout.sizes == sizes, "page sizes: {:?}", layout.sizes);
        anyhow::ensure!(
            layout.outline == want.outline,
            "outline: {:?}",
            layout.outline
        );
        for (i, p) in want.pages.iter().enumerate() {
            let t = d.page_text(&meeting, &doc, version, i as u32)?;
            anyhow::ensure!(t.text == p.text, "page {} text", i + 1);
            anyhow::ensure!(t.boxes == p.boxes, "page {} boxes", i + 1);
            anyhow::ensure!(t.links == p.links, "page {} links", i + 1);
        }
        anyhow::ensure!(
            d.page_text(&meeting, &doc, version, want.page_count)
                .is_err(),
            "a page past the end is an error"
        );
        Ok(())
    };
    anyhow::ensure!(!want.outline.is_empty(), "the paper has an outline");
    check(&d)?;

    // A device that downloaded the paper before pages were rows.
    d.store()
        .conn()
        .execute_batch("DELETE FROM paper_pages; DELETE FROM paper_outline;")?;
    check(&d)?;

    d.wipe()?;
    let rows: i64 = d.store().conn().query_row(
        "SELECT (SELECT COUNT(*) FROM paper_pages) + (SELECT COUNT(*) FROM paper_outline)",
        [],
        |r| r.get(0),
    )?;
    anyhow::ensure!(rows == 0, "{rows} page rows left after the wipe");
    Ok(())
}
