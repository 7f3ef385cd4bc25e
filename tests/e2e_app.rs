//! The real desktop app, end to end: a real hub (the demo meeting), the
//! real `phonghop-app` window under Xvfb, driven through tauri-driver the
//! way a delegate would use it.
//!
//! join with an invite → open the meeting → open papers and turn pages
//! (page images really decoded) → search "nghi quyet" and open a hit →
//! highlight text and add a shared note → the hub stops (SIGTERM) → the
//! badge says offline → a private note is "saved on this device" → the hub
//! restarts on the same port → all three annotations reach the hub's
//! database and every note badge turns to "sent".
//!
//! Needs `cargo build -p phonghop-app -p phonghop-cli` (scripts/test does
//! it), tauri-driver and WebKitWebDriver (scripts/setup). Without them the
//! test fails and says what to run. Screenshots go to
//! `target/e2e-screenshots/`.

use anyhow::{bail, ensure, Context, Result};
use fantoccini::{Client, Locator};
use phonghop_tests::e2e::*;
use std::path::Path;
use std::time::Duration;

const MEETING: &str = "son-ha-kh12";
const PERSON: &str = "dai-bieu-1";
const SHARED_NOTE: &str = "Đề nghị làm rõ nguồn vốn đầu tư công năm 2026";
const OFFLINE_NOTE: &str = "Ghi chú riêng khi mất kết nối: hỏi lại Sở Tài chính";
/// The whole flow, app start to hub check.
const FLOW_LIMIT: Duration = Duration::from_secs(170);

/// One annotation row of the hub's `annotations` projection.
#[derive(Debug)]
#[allow(dead_code)] // fields are read through Debug in failure messages
struct HubAnnotation {
    id: String,
    document: String,
    page: i64,
    kind: String,
    text: Option<String>,
    visibility: String,
}

fn hub_annotations(hub: &Hub) -> Result<Vec<HubAnnotation>> {
    let db = rusqlite::Connection::open_with_flags(
        hub.dir.join("hub.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    db.busy_timeout(Duration::from_secs(5))?;
    let mut q = db.prepare(
        "SELECT id, document, page, shape, text, visibility FROM annotations \
         WHERE meeting = ?1 AND author = ?2 ORDER BY id",
    )?;
    let rows = q.query_map([MEETING, PERSON], |r| {
        let shape: String = r.get(3)?;
        let kind = serde_json::from_str::<serde_json::Value>(&shape)
            .ok()
            .and_then(|v| v.get("kind")?.as_str().map(String::from))
            .unwrap_or(shape);
        Ok(HubAnnotation {
            id: r.get(0)?,
            document: r.get(1)?,
            page: r.get(2)?,
            kind,
            text: r.get(4)?,
            visibility: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[test]
fn app_join_read_search_annotate_offline_and_sync() -> Result<()> {
    // Everything this test needs, checked before anything starts.
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let shots = screenshot_dir()?;
    let _ = std::fs::remove_file(shots.join("failure.png")); // from an earlier run

    let tmp = tempfile::tempdir()?;
    let mut hub = Hub::demo(&phonghop, &tmp.path().join("hub"))?;
    hub.start()?;
    let invite = hub.invite(PERSON)?;
    let xvfb = Xvfb::start()?;
    let driver = Driver::start(
        &xvfb.display,
        &tmp.path().join("app"),
        &tmp.path().join("home"),
    )?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let client = driver.session(&app).await?;
        run_flow(
            &[(&client, "failure")],
            FLOW_LIMIT,
            &shots,
            flow(&client, &mut hub, &invite, &shots),
        )
        .await
    });
    // Guards stop tauri-driver (SIGTERM), Xvfb and the hub in this order.
    drop(driver);
    drop(xvfb);
    drop(hub);
    result
}

async fn flow(c: &Client, hub: &mut Hub, invite: &str, shots: &Path) -> Result<()> {
    // --- join
    let input = wait_css(c, &tid("join-input")).await?;
    input.send_keys(invite).await?;
    c.find(Locator::Css(&tid("join-button")))
        .await?
        .click()
        .await?;

    // --- the meeting
    let meeting = wait_css(
        c,
        &format!("{}[data-meeting-id=\"{MEETING}\"]", tid("meeting-item")),
    )
    .await?;
    meeting.click().await?;
    wait_css(c, &tid("agenda-item")).await?;
    // Every paper downloaded: the badge says synced.
    wait_attr(c, &tid("connection-badge"), "data-state", "synced").await?;
    let agenda = c.find_all(Locator::Css(&tid("agenda-item"))).await?.len();
    ensure!(
        agenda >= 4,
        "the demo agenda has at least 4 items, saw {agenda}"
    );
    screenshot(c, shots, "1-meeting").await?;

    // --- the draft resolution: one page
    let draft = paper_id(c, "Dự thảo Nghị quyết").await?;
    open_paper(c, &draft).await?;
    wait_text(c, &tid("page-indicator"), "1 / 1").await?;
    page_image_loaded(c, 0).await?;
    ensure!(
        c.find(Locator::Css(&tid("next-page")))
            .await?
            .attr("disabled")
            .await?
            .is_some(),
        "next page must be disabled on a one-page paper"
    );

    // --- the report No. 45: two pages, turned both ways
    c.find(Locator::Css(&tid("reader-close")))
        .await?
        .click()
        .await?;
    let report = paper_id(c, "Tờ trình số 45").await?;
    open_paper(c, &report).await?;
    wait_text(c, &tid("page-indicator"), "1 / 2").await?;
    page_image_loaded(c, 0).await?;
    c.find(Locator::Css(&tid("next-page")))
        .await?
        .click()
        .await?;
    wait_text(c, &tid("page-indicator"), "2 / 2").await?;
    page_image_loaded(c, 1).await?;
    c.find(Locator::Css(&tid("prev-page")))
        .await?
        .click()
        .await?;
    wait_text(c, &tid("page-indicator"), "1 / 2").await?;

    // --- search without diacritics, open a hit
    c.find(Locator::Css(&tid("open-search")))
        .await?
        .click()
        .await?;
    let search = wait_css(c, &tid("search-input")).await?;
    search.send_keys("nghi quyet").await?;
    wait_css(c, &tid("search-result")).await?;
    let hits = c.find_all(Locator::Css(&tid("search-result"))).await?;
    ensure!(!hits.is_empty(), "no search result for \"nghi quyet\"");
    screenshot(c, shots, "2-search").await?;
    // Prefer a hit past the first page: landing there proves the jump.
    let mut chosen = None;
    for h in &hits {
        let doc = h.attr("data-document-id").await?.unwrap_or_default();
        let page: u32 = h.attr("data-page").await?.unwrap_or_default().parse()?;
        if chosen.is_none() || page > 0 && chosen.as_ref().is_some_and(|(_, p, _)| *p == 0) {
            chosen = Some((doc, page, h.clone()));
        }
    }
    let (hit_doc, hit_page, hit) = chosen.context("no search result")?;
    hit.click().await?;
    wait_css(
        c,
        &format!("{}[data-document-id=\"{hit_doc}\"]", tid("reader")),
    )
    .await?;
    let pages = wait_js(
        c,
        "the reader's page count",
        "const e = document.querySelector('[data-testid=page-indicator]'); \
         const m = e && e.textContent.match(/\\/\\s*(\\d+)/); return m ? Number(m[1]) : 0;",
    )
    .await?;
    wait_text(
        c,
        &tid("page-indicator"),
        &format!("{} / {pages}", hit_page + 1),
    )
    .await?;
    let on_page = format!(
        "{}[data-page=\"{hit_page}\"] {}",
        tid("page"),
        tid("hit-current")
    );
    wait_css(c, &on_page).await?;
    // The hit is scrolled into the visible part of the window.
    wait_js(
        c,
        "a hit box in view",
        &format!(
            "return [...document.querySelectorAll({})].some(b => {{ const r = b.getBoundingClientRect(); \
             return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }});",
            serde_json::to_string(&on_page)?
        ),
    )
    .await?;
    page_image_loaded(c, hit_page).await?;

    // --- highlight: select a run of text with the mouse, highlight tool on
    c.find(Locator::Css(&tid("tool-highlight")))
        .await?
        .click()
        .await?;
    let (from, to) = text_run(c, hit_page).await?;
    mouse_drag(c, from, to).await?;
    wait_css(c, &tid("highlight-mark")).await?;

    // --- a shared note, placed with the note tool
    add_note(c, hit_page, 0.55, 0.30, SHARED_NOTE, true).await?;

    c.find(Locator::Css(&tid("notes-toggle")))
        .await?
        .click()
        .await?;
    wait_count(c, &tid("note-item"), 2).await?;
    // Online: everything goes to the hub.
    wait_all_state(c, "sent").await?;
    screenshot(c, shots, "3-reader-annotations").await?;

    // --- the hub goes away
    ensure!(hub.stop(), "the hub did not stop on SIGTERM within 15 s");
    wait_attr(c, &tid("connection-badge"), "data-state", "offline").await?;
    add_note(c, hit_page, 0.3, 0.55, OFFLINE_NOTE, false).await?;
    wait_count(c, &tid("note-item"), 3).await?;
    ensure!(
        note_state(c, OFFLINE_NOTE).await? == "saved",
        "a note written offline must say saved on this device"
    );
    screenshot(c, shots, "4-offline").await?;

    // --- the hub comes back on the same port
    hub.start()?;
    let rows = poll(
        "all three annotations on the hub",
        Duration::from_secs(60),
        || {
            let rows = hub_annotations(hub)?;
            let has = |kind: &str, text: Option<&str>, vis: &str| {
                rows.iter().any(|a| {
                    a.kind == kind
                        && a.visibility == vis
                        && text.is_none_or(|t| a.text.as_deref() == Some(t))
                })
            };
            Ok((has("highlight", None, "private")
                && has("note", Some(SHARED_NOTE), "shared")
                && has("note", Some(OFFLINE_NOTE), "private"))
            .then_some(rows))
        },
    )
    .await
    .with_context(|| format!("hub has: {:?}", hub_annotations(hub).unwrap_or_default()))?;
    ensure!(
        rows.len() == 3,
        "exactly three annotations expected on the hub: {rows:?}"
    );
    ensure!(
        rows.iter()
            .all(|a| a.document == hit_doc && a.page == i64::from(hit_page)),
        "annotations on the wrong paper or page: {rows:?}"
    );
    wait_attr(c, &tid("connection-badge"), "data-state", "synced").await?;
    wait_all_state(c, "sent").await?;
    Ok(())
}

/// Two viewport points over one visible line of the page's text layer,
/// about twelve characters apart: where a user would drag to select.
async fn text_run(c: &Client, page: u32) -> Result<((f64, f64), (f64, f64))> {
    let body = format!(
        "const spans = [...document.querySelectorAll('[data-testid=page][data-page=\"{page}\"] .text span[data-i]')];
         const top = 90, bottom = window.innerHeight - 110;
         // Not under a bar laid over the page (the find bar, the tool bar).
         const open = (s, r) => document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === s;
         // Character k of a run's text node, as the screen shows it.
         const at = (node, k) => {{ const g = document.createRange(); g.setStart(node, k); g.setEnd(node, k + 1); return g.getBoundingClientRect(); }};
         for (const s of spans) {{
           const node = s.firstChild;
           if (!node || node.data.length < 20 || /[\\ud800-\\udfff]/.test(node.data)) continue;
           const r = s.getBoundingClientRect();
           if (r.top <= top || r.bottom >= bottom || !open(s, r)) continue;
           for (let k = 0; k + 12 < node.data.length; k++) {{
             if (node.data[k].trim() === '' || node.data[k + 12].trim() === '') continue;
             const a = at(node, k), b = at(node, k + 12);
             if (a.width > 1 && b.width > 1 && b.left > a.left && open(s, a) && open(s, b))
               return [a.left + 1, a.top + a.height / 2, b.right - 1, b.top + b.height / 2];
           }}
         }}
         return null;"
    );
    let v = wait_js(c, "a visible line of text", &body).await?;
    let n: Vec<f64> = serde_json::from_value(v)?;
    ensure!(n.len() == 4, "bad text run {n:?}");
    Ok(((n[0], n[1]), (n[2], n[3])))
}

/// Note tool, click at a fraction of the page's width/height (inside the
/// window), type, optionally share, save; the note's pin appears.
async fn add_note(c: &Client, page: u32, fx: f64, fy: f64, text: &str, shared: bool) -> Result<()> {
    let pins_before = c.find_all(Locator::Css(&tid("note-pin"))).await?.len();
    let tool = c.find(Locator::Css(&tid("tool-note"))).await?;
    if tool.attr("aria-pressed").await?.as_deref() != Some("true") {
        tool.click().await?;
    }
    let surface = format!(
        "{}[data-page=\"{page}\"] {}",
        tid("page"),
        tid("draw-surface")
    );
    wait_css(c, &surface).await?;
    let v = c
        .execute(
            &format!(
                "const s = document.querySelector({});
                 const r = s.getBoundingClientRect();
                 const x = Math.min(Math.max(r.left + r.width * {fx}, 40), window.innerWidth - 40);
                 const y = Math.min(Math.max(r.top + r.height * {fy}, 120), window.innerHeight - 140);
                 const hit = document.elementFromPoint(x, y);
                 return hit === s ? [x, y] : [x, y, (hit && hit.outerHTML || '').slice(0, 120)];",
                serde_json::to_string(&surface)?
            ),
            vec![],
        )
        .await?;
    let at: Vec<serde_json::Value> = serde_json::from_value(v)?;
    ensure!(
        at.len() == 2,
        "the point ({fx}, {fy}) of page {page} is covered by something else: {at:?}"
    );
    let xy = |i: usize| at[i].as_f64().unwrap_or_default();
    mouse_click(c, (xy(0), xy(1))).await?;
    let area = wait_css(c, &tid("note-text")).await?;
    area.send_keys(text).await?;
    let typed = area.prop("value").await?.unwrap_or_default();
    ensure!(typed == text, "typed {typed:?}, the editor holds {text:?}");
    if shared {
        c.find(Locator::Css(&tid("note-share-toggle")))
            .await?
            .click()
            .await?;
    }
    c.find(Locator::Css(&tid("note-save")))
        .await?
        .click()
        .await?;
    wait_count(c, &tid("note-pin"), pins_before + 1).await?;
    Ok(())
}

/// Every note-panel item (and its badge) is in `state`.
async fn wait_all_state(c: &Client, state: &str) -> Result<()> {
    let body = format!(
        "const items = [...document.querySelectorAll('[data-testid=note-item]')];
         return items.length > 0 && items.every(i => i.dataset.state === {s}
           && i.querySelector('[data-testid=note-state]').dataset.state === {s});",
        s = serde_json::to_string(state)?
    );
    wait_js(c, &format!("every note {state}"), &body)
        .await
        .map(|_| ())
}

/// The state of the note-panel item holding `text`.
async fn note_state(c: &Client, text: &str) -> Result<String> {
    let body = format!(
        "const i = [...document.querySelectorAll('[data-testid=note-item]')]
           .find(i => i.textContent.includes({}));
         return i ? i.querySelector('[data-testid=note-state]').dataset.state : null;",
        serde_json::to_string(text)?
    );
    match wait_js(c, "the offline note in the panel", &body).await? {
        serde_json::Value::String(s) => Ok(s),
        v => bail!("unexpected note state {v}"),
    }
}
