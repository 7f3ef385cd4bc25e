//! Every screen whole at every size: the delegate's and chair's screens
//! (join, meetings, a meeting with its session bar, the reader, search,
//! the chair's console and its quorum question) and the secretariat's
//! (hub setup, a meeting being prepared, people and invites), each at
//! 1280×800, 1024×768 and 800×1280, in the real app window. For each, no
//! control, heading or alert lies outside the window's width, out of
//! scrolling reach, or under another element (`layout_problems`); a
//! screenshot of each is saved as `layout-<screen>-<w>x<h>.png`.

use anyhow::{ensure, Result};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::Client;
use phonghop_tests::e2e::secretariat::set_value;
use phonghop_tests::e2e::*;
use std::path::Path;
use std::time::Duration;

const MEETING: &str = "son-ha-kh12";
const CHAIR: &str = "chu-toa";
const FLOW_LIMIT: Duration = Duration::from_secs(400);

#[test]
fn every_screen_is_whole_at_every_size() -> Result<()> {
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let shots = screenshot_dir()?;
    let tmp = tempfile::tempdir()?;
    let mut hub = Hub::demo(&phonghop, &tmp.path().join("hub"))?;
    hub.start()?;
    let invite = hub.invite(CHAIR)?;
    let xvfb = Xvfb::start()?;
    let chair_driver = Driver::start_with(
        &xvfb.display,
        &tmp.path().join("chair"),
        &tmp.path().join("home-c"),
        SHARED_DISPLAY,
    )?;
    let sec_driver = Driver::start_with(
        &xvfb.display,
        &tmp.path().join("secretariat"),
        &tmp.path().join("home-s"),
        SHARED_DISPLAY,
    )?;
    let port = free_port()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let c = chair_driver.session(&app).await?;
        let s = sec_driver.session(&app).await?;
        run_flow(
            &[
                (&c, "layout-failure-chair"),
                (&s, "layout-failure-secretariat"),
            ],
            FLOW_LIMIT,
            &shots,
            flow(&c, &s, &invite, port, &shots),
        )
        .await
    });
    drop(chair_driver);
    drop(sec_driver);
    drop(xvfb);
    drop(hub);
    result
}

/// Checks the screen at one size; problems are collected, not fatal, so
/// one run names them all.
async fn check(
    c: &Client,
    root: &str,
    screen: &str,
    (w, h): (u32, u32),
    shots: &Path,
    found: &mut Vec<String>,
) -> Result<()> {
    let problems = layout_problems(c, root).await?;
    screenshot(c, shots, &format!("layout-{screen}-{w}x{h}")).await?;
    found.extend(
        problems
            .into_iter()
            .map(|p| format!("{screen} at {w}×{h}: {p}")),
    );
    Ok(())
}

async fn flow(c: &Client, s: &Client, invite: &str, port: u16, shots: &Path) -> Result<()> {
    let mut found = Vec::new();
    let body = "body";

    // --- the delegate's screens (the chair's, who has them all)
    wait_css(c, &tid("join-input")).await?;
    for size in LAYOUT_SIZES {
        resize(c, size.0, size.1).await?;
        check(c, body, "join", size, shots, &mut found).await?;
    }
    wait_css(c, &tid("join-input"))
        .await?
        .send_keys(invite)
        .await?;
    click(c, &tid("join-button")).await?;
    let item = format!("{}[data-meeting-id=\"{MEETING}\"]", tid("meeting-item"));
    wait_css(c, &item).await?;
    for size in LAYOUT_SIZES {
        resize(c, size.0, size.1).await?;
        if c.find_all(fantoccini::Locator::Css(&tid("back-to-meetings")))
            .await?
            .len()
            == 1
        {
            click(c, &tid("back-to-meetings")).await?;
        }
        wait_css(c, &item).await?;
        check(c, body, "meetings", size, shots, &mut found).await?;
        click(c, &item).await?;
        wait_css(c, &tid("session-bar")).await?;
        wait_attr(c, &tid("connection-badge"), "data-state", "synced").await?;
        check(c, body, "meeting", size, shots, &mut found).await?;
        if size == LAYOUT_SIZES[0] {
            // The keyboard: the new screen's heading has the focus, and "/"
            // opens search as in a reader.
            let focused = c
                .execute(
                    "const e = document.activeElement; return e ? e.tagName + ' ' + e.textContent.trim() : '';",
                    vec![],
                )
                .await?;
            ensure!(
                focused.as_str().is_some_and(|f| f.starts_with("H1 ")),
                "the meeting's heading has the focus, not {focused}"
            );
            let slash = KeyActions::new("keys".into())
                .then(KeyAction::Down { value: '/' })
                .then(KeyAction::Up { value: '/' });
            c.perform_actions(slash).await?;
            wait_css(c, &tid("search-panel")).await?;
            click(c, &tid("search-close")).await?;
        }

        click(c, &tid("paper-open")).await?;
        wait_css(c, &tid("reader")).await?;
        check(c, body, "reader", size, shots, &mut found).await?;
        click(c, &tid("reader-close")).await?;

        click(c, &tid("open-search")).await?;
        set_value(c, &tid("search-input"), "nghi quyet").await?;
        wait_css(c, &tid("search-result")).await?;
        check(c, &tid("search-panel"), "search", size, shots, &mut found).await?;
        click(c, &tid("search-close")).await?;

        click(c, &tid("open-console")).await?;
        wait_css(c, &tid("chair-console")).await?;
        check(c, body, "console", size, shots, &mut found).await?;
        // Below quorum (nobody checked in): the console asks first.
        click(c, &tid("chair-start-session")).await?;
        wait_css(c, &tid("chair-start-guard")).await?;
        check(c, body, "console-quorum", size, shots, &mut found).await?;
        click(c, &tid("chair-start-guard-cancel")).await?;
        click(c, &tid("console-back")).await?;
    }

    // --- the secretariat's screens
    click(s, &tid("open-secretariat")).await?;
    wait_css(s, &tid("hub-setup")).await?;
    for size in LAYOUT_SIZES {
        resize(s, size.0, size.1).await?;
        check(s, body, "secretariat-setup", size, shots, &mut found).await?;
    }
    set_value(s, &tid("hub-port"), &port.to_string()).await?;
    click(s, &tid("hub-lan")).await?;
    click(s, &tid("hub-create")).await?;
    wait_css(s, &tid("hub-serving")).await?;
    click(s, &tid("tab-people")).await?;
    set_value(s, &tid("person-name"), "Nguyễn Thị Thu Hương").await?;
    click(s, &tid("person-add")).await?;
    let person = "li.person[data-name='Nguyễn Thị Thu Hương'] [data-testid=person-invite]";
    wait_js(
        s,
        "the new person's invite button",
        &format!(
            "const b = document.querySelector({}); return !!b && !b.disabled;",
            serde_json::to_string(person)?
        ),
    )
    .await?;
    click(s, person).await?;
    let shown = wait_js(
        s,
        "the invite (or why not)",
        "const e = document.querySelector('[data-testid=people-error]'); \
         return document.querySelector('[data-testid=invite-qr]') ? 'ok' : (e ? e.textContent : '');",
    )
    .await?;
    ensure!(shown == "ok", "no invite: {shown}");
    click(s, &tid("tab-meetings")).await?;
    click(s, &tid("meeting-new")).await?;
    // A committee's meeting: its words, not a council's ("phiên họp",
    // "thành viên"; the layout must hold with them too).
    set_value(s, &tid("meeting-body"), "UBND huyện Yên Lạc").await?;
    set_value(s, &tid("meeting-title"), "Phiên họp thường kỳ tháng 12").await?;
    click(s, &tid("meeting-save")).await?;
    wait_css(s, &tid("meeting-status")).await?;
    wait_text(s, &tid("meeting-publish"), "Phát hành cho thành viên").await?;
    set_value(s, &tid("meeting-body"), "HĐND huyện Yên Lạc").await?;
    wait_text(s, &tid("meeting-publish"), "Phát hành cho đại biểu").await?;
    set_value(s, &tid("meeting-body"), "UBND huyện Yên Lạc").await?;
    for size in LAYOUT_SIZES {
        resize(s, size.0, size.1).await?;
        click(s, &tid("tab-meetings")).await?;
        wait_css(s, &tid("meeting-editor")).await?;
        check(s, body, "secretariat-meeting", size, shots, &mut found).await?;
        click(s, &tid("tab-people")).await?;
        click(s, person).await?;
        wait_css(s, &tid("invite-qr")).await?;
        check(s, body, "secretariat-people", size, shots, &mut found).await?;
    }

    ensure!(
        found.is_empty(),
        "{} layout problem(s):\n{}",
        found.len(),
        found.join("\n")
    );
    Ok(())
}
