//! The reader as a delegate uses it, in the real app window:
//!
//! - the place survives every layout change: fit page, page by page and
//!   back, and the toggles say which state is on (`aria-pressed`);
//! - search works like a reader's find: every match on a page counts, the
//!   find bar steps to the next and previous match (F3, Shift+F3) with the
//!   result list kept and shown again;
//! - the keyboard alone highlights the match shown (H) and places a note
//!   (N); opening the thumbnails puts the focus on the current page's;
//! - a page whose image cannot be had, or that crashes the PDF worker, says
//!   so on that page with "Thử lại"; the app stays up and the next page
//!   renders.

use anyhow::{ensure, Context, Result};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::Client;
use phonghop_tests::e2e::*;
use std::path::Path;
use std::time::Duration;

const MEETING: &str = "son-ha-kh12";
const PERSON: &str = "dai-bieu-1";
const FLOW_LIMIT: Duration = Duration::from_secs(300);
/// A long paper: every paragraph says "đầu tư công" once, so every page
/// has several matches.
const PARAGRAPHS: usize = 48;
const NOTE: &str = "Ghi chú đặt bằng bàn phím";

#[test]
fn the_reader_keeps_its_place_steps_through_matches_and_works_from_the_keyboard() -> Result<()> {
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let shots = screenshot_dir()?;
    let tmp = tempfile::tempdir()?;
    let hub_dir = tmp.path().join("hub");
    let mut hub = Hub::demo(&phonghop, &hub_dir)?;
    let long = phonghop_tests::papers::text_pdf(
        &tmp.path().join("papers"),
        "so-tay",
        "sổ tay đại biểu",
        PARAGRAPHS,
    )?;
    // And a paper with an outline and links between its pages.
    let nav = tmp.path().join("papers").join("muc-luc.pdf");
    phonghop_pdf::navigation_pdf(&nav)?;
    for paper in [&long, &nav] {
        cli(
            &phonghop,
            [
                "--data".as_ref(),
                hub_dir.as_os_str(),
                "paper".as_ref(),
                "add".as_ref(),
                "--meeting".as_ref(),
                MEETING.as_ref(),
                "--item".as_ref(),
                "2".as_ref(),
                paper.as_os_str(),
            ],
        )?;
    }
    hub.start()?;
    let invite = hub.invite(PERSON)?;
    let xvfb = Xvfb::start()?;
    // The desktop's file manager, on a bus of the test's own.
    let files = phonghop_tests::file_manager::FileManager::start()?;
    // The PDF worker's test hook: page 1 crashes it while this file exists.
    let crash_flag = tmp.path().join("crash-page-1");
    let fault = format!("abort-on-page:1:{}", crash_flag.display());
    let driver = Driver::start_with(
        &xvfb.display,
        &tmp.path().join("app"),
        &tmp.path().join("home"),
        &[
            ("DBUS_SESSION_BUS_ADDRESS", files.bus_address()),
            (phonghop_pdf::WORKER_FAULT_ENV, &fault),
        ],
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let c = driver.session(&app).await?;
        run_flow(&[(&c, "reader-failure")], FLOW_LIMIT, &shots, async {
            flow(&c, &invite, &shots, &files).await?;
            page_failure(&c, &tmp.path().join("app"), &long, &shots).await?;
            worker_crash(&c, &crash_flag, &shots).await?;
            navigation(&c, &shots).await?;
            pdfium_outside(driver.app_pid())
        })
        .await
    });
    drop(driver);
    drop(xvfb);
    drop(hub);
    result
}

/// Presses keys together (modifiers first), then lets them go.
async fn press(c: &Client, keys: &[char]) -> Result<()> {
    let mut a = KeyActions::new("keys".into());
    for k in keys {
        a = a.then(KeyAction::Down { value: *k });
    }
    for k in keys.iter().rev() {
        a = a.then(KeyAction::Up { value: *k });
    }
    c.perform_actions(a).await.context("keys")?;
    c.release_actions().await.context("release keys")?;
    Ok(())
}

/// The page indicator says `page` (1-based) of `total`, and still does a
/// moment later (a layout change that loses the place shows up late).
async fn stays_on(c: &Client, page: u64, total: u64, after: &str) -> Result<()> {
    let want = format!("{page} / {total}");
    wait_text(c, &tid("page-indicator"), &want).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let now = text_of(c, &tid("page-indicator")).await?;
    ensure!(
        now == want,
        "after {after}: the reader shows {now}, not {want}"
    );
    Ok(())
}

/// Where the find's current match is: its page and its box on screen.
async fn current_match(c: &Client) -> Result<(u64, Vec<f64>)> {
    let v = wait_js(
        c,
        "the current match",
        "const b = document.querySelector('[data-testid=hit-current]');
         if (!b) return null;
         const p = b.closest('[data-testid=page]');
         const r = b.getBoundingClientRect();
         return [Number(p.dataset.page), r.left, r.top, r.width, r.height];",
    )
    .await?;
    let n: Vec<f64> = serde_json::from_value(v)?;
    Ok((n[0] as u64, n[1..].to_vec()))
}

async fn flow(
    c: &Client,
    invite: &str,
    shots: &Path,
    files: &phonghop_tests::file_manager::FileManager,
) -> Result<()> {
    join_and_open(c, invite, MEETING).await?;
    wait_attr(c, &tid("connection-badge"), "data-state", "synced").await?;
    let long = paper_id(c, "Tờ trình so-tay").await?;
    open_paper(c, &long).await?;
    let total = wait_js(
        c,
        "the page count",
        "const e = document.querySelector('[data-testid=page-indicator]'); \
         const m = e && e.textContent.match(/\\/\\s*(\\d+)/); return m ? Number(m[1]) : 0;",
    )
    .await?
    .as_u64()
    .context("page count")?;
    ensure!(
        total >= 4,
        "the long paper has {total} pages, want at least 4"
    );

    // --- the place survives fit, mode and back
    let page = total - 1;
    click(c, &tid("page-indicator")).await?;
    let input = wait_css(c, &tid("page-input")).await?;
    let enter: char = Key::Enter.into();
    input.send_keys(&format!("{page}{enter}")).await?;
    stays_on(c, page, total, "going to a page").await?;
    for (toggle, on) in [
        ("fit-toggle", "true"),
        ("mode-toggle", "true"),
        ("mode-toggle", "false"),
        ("fit-toggle", "false"),
    ] {
        click(c, &tid(toggle)).await?;
        wait_attr(c, &tid(toggle), "aria-pressed", on).await?;
        stays_on(c, page, total, &format!("{toggle} → {on}")).await?;
    }
    // Zooming in keeps it too.
    click(c, &tid("zoom-in")).await?;
    stays_on(c, page, total, "zoom in").await?;

    // --- thumbnails take the keyboard to the current page's
    click(c, &tid("thumbnails-toggle")).await?;
    wait_js(
        c,
        "focus on the current thumbnail",
        &format!(
            "const a = document.activeElement; return !!a && a.dataset.testid === 'thumbnail' \
             && a.getAttribute('aria-current') === 'page' && a.dataset.page === '{}';",
            page - 1
        ),
    )
    .await?;
    press(c, &[Key::Escape.into()]).await?;
    wait_count(c, &tid("thumbnails"), 0).await?;

    // --- find: "/" opens search, every match counts, F3 steps
    press(c, &['/']).await?;
    let q = wait_css(c, &tid("search-input")).await?;
    q.send_keys("dau tu cong").await?;
    wait_css(
        c,
        &format!("{}[data-document-id=\"{long}\"]", tid("search-result")),
    )
    .await?;
    let counted = wait_js(
        c,
        "results with their match counts",
        "const r = [...document.querySelectorAll('[data-testid=search-result]')];
         return r.length ? [r.length, r.reduce((n, e) => n + Number(e.dataset.matches), 0)] : null;",
    )
    .await?;
    let counted: Vec<u64> = serde_json::from_value(counted)?;
    let (results, matches) = (counted[0], counted[1]);
    ensure!(
        matches > results,
        "every match on a page counts: {matches} matches on {results} pages"
    );
    let first = wait_js(
        c,
        "the first result of the long paper",
        &format!(
            "const r = [...document.querySelectorAll('[data-testid=search-result]')]
               .find(e => e.dataset.documentId === {long:?} && Number(e.dataset.matches) > 1);
             return r ? Number(r.dataset.page) + 1 : 0;"
        ),
    )
    .await?
    .as_u64()
    .context("page of the first result")?
        - 1;
    click(
        c,
        &format!(
            "{}[data-document-id=\"{long}\"][data-page=\"{first}\"]",
            tid("search-result")
        ),
    )
    .await?;
    wait_css(c, &tid("find-bar")).await?;
    let at = |n: u64| format!("{n} / {matches}");
    let pos = text_of(c, &tid("find-position")).await?;
    let n0: u64 = pos
        .split('/')
        .next()
        .and_then(|s| s.trim().parse().ok())
        .with_context(|| format!("find position {pos:?}"))?;
    let (p0, box0) = current_match(c).await?;
    ensure!(
        p0 == first,
        "the match shown is on page {p0}, the result said {first}"
    );
    screenshot(c, shots, "reader-find").await?;
    press(c, &[Key::F3.into()]).await?;
    wait_text(c, &tid("find-position"), &at(n0 + 1)).await?;
    let (p1, box1) = current_match(c).await?;
    ensure!(
        p1 == p0 && box1 != box0,
        "F3 goes to the next match on the same page: page {p0} {box0:?} → page {p1} {box1:?}"
    );
    press(c, &[Key::Shift.into(), Key::F3.into()]).await?;
    wait_text(c, &tid("find-position"), &at(n0)).await?;
    click(c, &tid("find-next")).await?;
    wait_text(c, &tid("find-position"), &at(n0 + 1)).await?;

    // The list is kept: shown again with its query and results.
    click(c, &tid("find-list")).await?;
    let again = wait_css(c, &tid("search-input")).await?;
    let value = again.prop("value").await?.unwrap_or_default();
    ensure!(
        value == "dau tu cong",
        "the search panel lost its query: {value:?}"
    );
    wait_count(c, &tid("search-result"), results as usize).await?;
    press(c, &[Key::Escape.into()]).await?;
    wait_count(c, &tid("search-panel"), 0).await?;

    // --- the keyboard alone: H highlights the match shown, N places a note
    let marks = c
        .find_all(fantoccini::Locator::Css(&tid("highlight-mark")))
        .await?
        .len();
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await?;
    press(c, &['h']).await?;
    wait_count(c, &tid("highlight-mark"), marks + 1).await?;
    let pins = c
        .find_all(fantoccini::Locator::Css(&tid("note-pin")))
        .await?
        .len();
    press(c, &['n']).await?;
    let area = wait_css(c, &tid("note-text")).await?;
    wait_js(
        c,
        "the note editor has the focus",
        "return document.activeElement && document.activeElement.dataset.testid === 'note-text';",
    )
    .await?;
    area.send_keys(NOTE).await?;
    click(c, &tid("note-save")).await?;
    wait_count(c, &tid("note-pin"), pins + 1).await?;
    screenshot(c, shots, "reader-keyboard").await?;

    // --- the annotated copy: named, never a path, shown in its folder
    click(c, &tid("notes-toggle")).await?;
    click(c, &tid("export-annotated")).await?;
    let toast = text_of(c, &tid("toast")).await?;
    ensure!(
        toast.contains(".pdf") && !toast.contains('/'),
        "the export toast must name the file, not a path: {toast:?}"
    );
    click(c, &tid("toast-action")).await?;
    let uri = files
        .wait_shown(
            "the annotated copy",
            |u| u.starts_with("file://") && u.contains("/exports/") && u.ends_with(".pdf"),
            Duration::from_secs(15),
        )
        .await?;
    let path = percent_decode(uri.trim_start_matches("file://"));
    let head =
        std::fs::read(&path).with_context(|| format!("the file shown is not there: {path}"))?;
    ensure!(head.starts_with(b"%PDF"), "{path} is not a PDF");
    click(c, &tid("notes-toggle")).await?;

    // Escape closes the find bar; the marks stay.
    c.execute(
        "document.activeElement && document.activeElement.blur();",
        vec![],
    )
    .await?;
    press(c, &[Key::Escape.into()]).await?;
    wait_count(c, &tid("find-bar"), 0).await?;
    wait_count(c, &tid("hit-current"), 0).await?;
    Ok(())
}

/// A page whose image cannot be had says so on the page, with the reason
/// and "Thử lại", and the other pages stay; once the cause is gone, "Thử
/// lại" shows the page. The cause here: the paper's file has gone from
/// the device's blob store while the view asks every page at a new size.
async fn page_failure(c: &Client, app_data: &Path, pdf: &Path, shots: &Path) -> Result<()> {
    let sha = phonghop_core::Hash::of(&std::fs::read(pdf)?).to_hex();
    let blob = app_data
        .join("hub")
        .join("blobs")
        .join(&sha[..2])
        .join(&sha);
    ensure!(blob.is_file(), "the paper is not at {}", blob.display());
    let aside = blob.with_extension("aside");
    wait_count(c, &tid("page-failed"), 0).await?;
    std::fs::rename(&blob, &aside)?;
    // "Vừa trang" (whole pages in view) asks every page at a new size.
    click(c, &tid("fit-toggle")).await?;
    wait_attr(c, &tid("fit-toggle"), "aria-pressed", "true").await?;
    let first = format!("{}[data-page=\"0\"]", tid("page"));
    wait_attr(
        c,
        &format!("{first} {}", tid("page-image")),
        "data-state",
        "failed",
    )
    .await?;
    let said = text_of(c, &format!("{first} {}", tid("page-failed"))).await?;
    ensure!(
        said.contains("Không hiển thị được trang 1")
            && said.contains("Tài liệu chưa tải xong về máy này"),
        "the page must say it cannot be shown, and why, in Vietnamese: {said:?}"
    );
    screenshot(c, shots, "reader-page-failed").await?;
    std::fs::rename(&aside, &blob)?;
    click(c, &format!("{first} {}", tid("page-retry"))).await?;
    wait_attr(
        c,
        &format!("{first} {}", tid("page-image")),
        "data-state",
        "shown",
    )
    .await?;
    wait_count(c, &format!("{first} {}", tid("page-failed")), 0).await?;
    Ok(())
}

/// A page that makes the PDF worker crash (the worker's test hook aborts it
/// on page 1 while `flag` exists) fails alone: the app stays up, that page
/// says so with "Thử lại", the next page renders from the restarted worker,
/// and "Thử lại" shows the page once the fault is gone.
async fn worker_crash(c: &Client, flag: &Path, shots: &Path) -> Result<()> {
    std::fs::write(flag, b"")?;
    let page = |i: u32| format!("{}[data-page=\"{i}\"]", tid("page"));
    let image = |i: u32| format!("{} {}", page(i), tid("page-image"));
    // Zoom in until page 1 is asked at a size not rendered before (the app
    // renders widths in steps, and the flow above filled some of them).
    let state = format!(
        "const e = document.querySelector({}); return e ? e.getAttribute('data-state') : null;",
        serde_json::to_string(&image(0))?
    );
    let mut failed = false;
    for _ in 0..5 {
        click(c, &tid("zoom-in")).await?;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if c.execute(&state, vec![]).await?.as_str() == Some("failed") {
                failed = true;
                break;
            }
        }
        if failed {
            break;
        }
    }
    ensure!(failed, "page 1 never reached the crashing worker");
    let said = text_of(c, &format!("{} {}", page(0), tid("page-failed"))).await?;
    ensure!(
        said.contains("Không hiển thị được trang 1")
            && said.contains("Bộ đọc PDF gặp lỗi ở trang này"),
        "the page must say the reader failed on it, in Vietnamese: {said:?}"
    );
    screenshot(c, shots, "reader-worker-crashed").await?;
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView()",
        vec![serde_json::json!(page(1))],
    )
    .await?;
    wait_attr(c, &image(1), "data-state", "shown").await?;
    std::fs::remove_file(flag)?;
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView()",
        vec![serde_json::json!(page(0))],
    )
    .await?;
    click(c, &format!("{} {}", page(0), tid("page-retry"))).await?;
    wait_attr(c, &image(0), "data-state", "shown").await?;
    Ok(())
}

/// The outline panel lists the paper's bookmarks and opens their pages; a
/// link on a page jumps to its target; "Quay lại" returns to where the
/// reader was, after either.
async fn navigation(c: &Client, shots: &Path) -> Result<()> {
    click(c, &tid("reader-close")).await?;
    let id = paper_id(c, phonghop_pdf::NAVIGATION_TITLE).await?;
    open_paper(c, &id).await?;
    let total = 6;
    stays_on(c, 1, total, "opening the paper").await?;
    click(c, &tid("outline-toggle")).await?;
    wait_count(c, &tid("outline-entry"), 4).await?;
    let listed = text_of(c, &tid("outline")).await?;
    ensure!(
        listed.contains("Phần II. Nhiệm vụ năm tới")
            && listed.contains("Điều 5. Tổ chức thực hiện"),
        "the outline panel must list the paper's bookmarks: {listed:?}"
    );
    screenshot(c, shots, "reader-outline").await?;
    let entry = |p: u32| format!("{}[data-page=\"{p}\"]", tid("outline-entry"));
    click(c, &entry(3)).await?;
    stays_on(c, 4, total, "the outline entry of page 4").await?;
    wait_text(c, &tid("nav-back"), "↩ Quay lại trang 1").await?;
    click(c, &tid("nav-back")).await?;
    stays_on(c, 1, total, "back after the outline").await?;
    wait_count(c, &tid("nav-back"), 0).await?;
    click(c, &tid("outline-toggle")).await?;
    wait_count(c, &tid("outline"), 0).await?;

    // The table of contents on page 1 links to pages 2, 4 and 5.
    let link = |p: u32| format!("{}[data-target=\"{p}\"]", tid("page-link"));
    wait_css(c, &link(4)).await?;
    click(c, &link(4)).await?;
    stays_on(c, 5, total, "the link to page 5").await?;
    screenshot(c, shots, "reader-link-followed").await?;
    click(c, &tid("nav-back")).await?;
    stays_on(c, 1, total, "back after the link").await?;
    Ok(())
}

/// The app's own process never loaded PDFium: pages came from its worker
/// (the crash step above saw it die and come back).
fn pdfium_outside(app: Option<u32>) -> Result<()> {
    let app = app.context("the app's process was not found")?;
    let maps = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    ensure!(
        !maps(&app.to_string()).contains("libpdfium"),
        "the app's process (pid {app}) has libpdfium mapped"
    );
    let workers: Vec<String> = std::fs::read_dir("/proc")?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Field 4 of stat (after the parenthesised name) is the parent.
            stat.rsplit_once(") ")
                .and_then(|(_, rest)| rest.split(' ').nth(1))
                .is_some_and(|ppid| ppid == app.to_string())
        })
        .collect();
    // A worker lets go after a few idle seconds; one that runs holds PDFium.
    for w in &workers {
        let cmd = std::fs::read(format!("/proc/{w}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains("render-worker") {
            ensure!(
                maps(w).contains("libpdfium"),
                "the render worker (pid {w}) has no PDFium"
            );
        }
    }
    Ok(())
}

/// A `file://` URI's path, percent-decoded (UTF-8).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
