//! The secretariat's screens in the real app window, end to end: an app
//! with no hub makes itself the meeting hub (served on 127.0.0.1), the
//! secretary adds people, builds a meeting (details, agenda in the wrong
//! order put right with ↓, a sub-item, a paper attached with progress, a
//! damaged file refused without changing anything, a PDF saved into the
//! meeting's inbox folder shown on screen attached by the hub), adds members and
//! publishes; an invite made on screen lets a second app window — a
//! delegate — join that hub and receive the meeting and its paper; the
//! secretary then revokes that device. The `phonghop` CLI, run on the
//! app's hub folder while the app serves it, reads it and writes through
//! the app's hub (the folder's one writer): a person it adds shows on the
//! secretary's screen.
//!
//! What is driven through the screen and what is not: everything except
//! the choice of files. The system file picker is a native GTK dialog and
//! a desktop drop is a native event, neither reachable through WebDriver;
//! the test hands the same paths to the same command (`sec_add_papers`)
//! the picker and the drop call, and the editor shows the progress events.
//!
//! Screenshots: target/e2e-screenshots/secretariat-*.png.

use anyhow::{ensure, Context, Result};
use fantoccini::Client;
use phonghop_tests::e2e::secretariat::*;
use phonghop_tests::e2e::*;
use std::path::Path;
use std::time::Duration;

const FLOW_LIMIT: Duration = Duration::from_secs(240);
const CHAIR: &str = "Nguyễn Văn An";
const DELEGATE: &str = "Trần Thị Bình";
const TITLE: &str = "Kỳ họp thứ năm";
const BODY: &str = "HĐND xã An Bình";
const PAPER_TITLE: &str = "Tờ trình số 45/TTr-UBND về đầu tư công năm 2026";
/// Added by the `phonghop` CLI while the app's hub runs.
const CLI_PERSON: &str = "Lê Văn Cường";

#[test]
fn secretariat_builds_publishes_and_a_delegate_receives_it() -> Result<()> {
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let shots = screenshot_dir()?;
    let tmp = tempfile::tempdir()?;
    let papers = tmp.path().join("papers");
    let paper = phonghop_tests::papers::text_pdf(&papers, "to-trinh-45", "kỳ họp thứ năm", 6)?;
    let damaged = papers.join("hong.pdf");
    std::fs::write(
        &damaged,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n% cut off here",
    )?;
    let port = free_port()?;

    let xvfb = Xvfb::start()?;
    let sec_data = tmp.path().join("secretariat");
    // The desktop's file manager, on a bus of the test's own.
    let files = phonghop_tests::file_manager::FileManager::start()?;
    let sec_driver = Driver::start_with(
        &xvfb.display,
        &sec_data,
        &tmp.path().join("home-s"),
        &[
            ("DBUS_SESSION_BUS_ADDRESS", files.bus_address()),
            SHARED_DISPLAY[0],
        ],
    )?;
    let del_driver = Driver::start_with(
        &xvfb.display,
        &tmp.path().join("delegate"),
        &tmp.path().join("home-d"),
        SHARED_DISPLAY,
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let s = sec_driver.session(&app).await?;
        let d = del_driver.session(&app).await?;
        run_flow(
            &[
                (&s, "secretariat-failure"),
                (&d, "secretariat-failure-delegate"),
            ],
            FLOW_LIMIT,
            &shots,
            flow(
                &s, &d, port, &paper, &damaged, &sec_data, &phonghop, &shots, &files,
            ),
        )
        .await
    });
    drop(sec_driver);
    drop(del_driver);
    drop(xvfb);
    result
}

#[allow(clippy::too_many_arguments)]
async fn flow(
    s: &Client,
    d: &Client,
    port: u16,
    paper: &Path,
    damaged: &Path,
    sec_data: &Path,
    phonghop: &Path,
    shots: &Path,
    files: &phonghop_tests::file_manager::FileManager,
) -> Result<()> {
    // --- this app becomes the hub
    // --- before the hub is there, something else answers at its address
    // (this computer's address on the room's network, the hub's port) with
    // a certificate of its own. A device given a code and that address
    // refuses it before sending anything but the binding request.
    let host = phonghop_hub::serving::lan_address().unwrap_or_else(|| "127.0.0.1".into());
    let at: std::net::SocketAddr = format!("{host}:{port}").parse()?;
    const GUESS: &str = "7K3M-Q9TZ-X2CV-HJ4R";
    let blind = phonghop_tests::stand_in::StandIn::blind_at(at, GUESS)?;
    wait_css(d, &tid("join-input"))
        .await?
        .send_keys(GUESS)
        .await?;
    set_value(d, &tid("join-address"), &at.to_string()).await?;
    click(d, &tid("join-button")).await?;
    wait_attr(d, &tid("join-error"), "data-code", "certificate_mismatch").await?;
    blind.received_only_the_binding(GUESS)?;
    drop(blind);
    wait_css(d, &tid("join-input")).await?.clear().await?;

    click(s, &tid("open-secretariat")).await?;
    set_value(s, &tid("hub-port"), &port.to_string()).await?;
    // On the room's network: TLS with the hub's own certificate.
    click(s, &tid("hub-create")).await?;
    let lan = wait_js(
        s,
        "the hub serves over TLS on the network",
        "const e = document.querySelector('[data-testid=hub-serving]'); return e ? e.dataset.address : '';",
    )
    .await?;
    let lan = lan.as_str().unwrap_or_default().to_string();
    let (hub_address, fingerprint) = lan.split_once('/').context("address/fingerprint")?;
    ensure!(
        hub_address.ends_with(&format!(":{port}")) && fingerprint.len() == 64,
        "served at {lan}"
    );

    // --- people
    click(s, &tid("tab-people")).await?;
    for (name, title, unit, code) in [
        (CHAIR, "Chủ tịch HĐND xã", "Thôn Đông", "chu-toa"),
        (DELEGATE, "Đại biểu HĐND xã", "Thôn Tây", ""),
    ] {
        set_value(s, &tid("person-name"), name).await?;
        set_value(s, &tid("person-title"), title).await?;
        set_value(s, &tid("person-unit"), unit).await?;
        set_value(s, &tid("person-code"), code).await?;
        click(s, &tid("person-add")).await?;
        person_id(s, name).await?;
    }
    let chair = person_id(s, CHAIR).await?;
    ensure!(
        chair == "chu-toa",
        "the code given is the person's id: {chair}"
    );
    let delegate = person_id(s, DELEGATE).await?;
    // The chair's name again, typed plainly: said first, not added.
    let people_now = count_of(s, "li.person").await?;
    set_value(s, &tid("person-name"), "nguyen  van an").await?;
    click(s, &tid("person-add")).await?;
    wait_text(
        s,
        &tid("person-namesake"),
        &format!("Danh sách đã có người tên {CHAIR}. Nếu đây là một người khác, bấm “Thêm” lần nữa; nếu không, hãy dùng người đã có."),
    )
    .await?;
    ensure!(count_of(s, "li.person").await? == people_now, "not added");
    set_value(s, &tid("person-name"), "").await?;

    // --- 60 delegates from a spreadsheet, two rows of it wrong
    let xlsx = paper
        .parent()
        .context("papers folder")?
        .join("dai-bieu-khoa-xi.xlsx");
    write_delegates_xlsx(&xlsx, 60, &[(12, "no_name"), (40, "bad_code")])?;
    let before = count_of(s, "li.person").await?;
    // The file as the system's picker would hand it over (WebDriver cannot
    // reach that dialog): the same command the screen calls with it.
    s.execute(
        "window.__TAURI_INTERNALS__.invoke('sec_preview_people', { path: arguments[0] });",
        vec![xlsx.display().to_string().into()],
    )
    .await
    .context("invoke sec_preview_people")?;
    let preview = tid("people-preview");
    wait_attr(s, &preview, "data-people", "60").await?;
    wait_attr(s, &preview, "data-problems", "2").await?;
    for (line, problem, text) in [
        (12, "no_name", "Dòng 12: thiếu họ và tên."),
        (
            40,
            "bad_code",
            "Dòng 40: mã “ma sai!” chỉ được gồm chữ không dấu, chữ số, “-” và “_”.",
        ),
    ] {
        let li = format!("{} li[data-line=\"{line}\"]", tid("people-import-problems"));
        wait_attr(s, &li, "data-problem", problem).await?;
        wait_text(s, &li, text).await?;
    }
    screenshot(s, shots, "secretariat-import-preview").await?;
    click(s, &tid("people-import-confirm")).await?;
    wait_attr(s, &tid("people-imported"), "data-count", "60").await?;
    wait_js(
        s,
        "60 more people on the list",
        &format!(
            "return document.querySelectorAll('li.person').length === {};",
            before + 60
        ),
    )
    .await?;

    // --- the meeting
    click(s, &tid("tab-meetings")).await?;
    click(s, &tid("meeting-new")).await?;
    // Saved empty: both required fields are named; each message goes once
    // its field is filled.
    click(s, &tid("meeting-save")).await?;
    wait_css(s, &tid("meeting-body-problem")).await?;
    wait_css(s, &tid("meeting-title-problem")).await?;
    set_value(s, &tid("meeting-body"), BODY).await?;
    wait_count(s, &tid("meeting-body-problem"), 0).await?;
    wait_css(s, &tid("meeting-title-problem")).await?;
    set_value(s, &tid("meeting-title"), TITLE).await?;
    wait_count(s, &tid("meeting-title-problem"), 0).await?;
    // Month first, as a US-locale date field would take it: refused, the
    // field named, nothing saved; the message goes once the date is right.
    set_value(s, &tid("meeting-date"), "12/22/2026").await?;
    set_value(s, &tid("meeting-time"), "08:00").await?;
    set_value(s, &tid("meeting-place"), "Hội trường UBND xã").await?;
    click(s, &tid("meeting-save")).await?;
    wait_attr(s, &tid("meeting-start-problem"), "data-field", "date").await?;
    wait_text(
        s,
        &tid("meeting-start-problem"),
        "Ngày bắt đầu chưa đúng: hãy nhập ngày/tháng/năm, ví dụ 22/12/2026.",
    )
    .await?;
    wait_count(s, &tid("meeting-status"), 0).await?;
    set_value(s, &tid("meeting-date"), "08/12/2026").await?;
    wait_count(s, &tid("meeting-start-problem"), 0).await?;
    click(s, &tid("meeting-save")).await?;
    wait_attr(s, &tid("meeting-status"), "data-status", "draft").await?;

    // Agenda, the last item entered first by mistake, then put right.
    for title in [
        "Bế mạc kỳ họp",
        "Khai mạc kỳ họp",
        "Tờ trình số 45/TTr-UBND",
    ] {
        set_value(s, &tid("item-title"), title).await?;
        click(s, &tid("item-add")).await?;
        wait_js(
            s,
            &format!("item {title}"),
            &format!(
                "return [...document.querySelectorAll('[data-testid=sec-item-title]')].some(e => e.textContent.trim() === {});",
                serde_json::to_string(title)?
            ),
        )
        .await?;
    }
    wait_agenda(
        s,
        &[
            "1 Bế mạc kỳ họp",
            "2 Khai mạc kỳ họp",
            "3 Tờ trình số 45/TTr-UBND",
        ],
    )
    .await?;
    click(s, &format!("{} {}", tid("sec-item-1"), tid("item-down"))).await?;
    wait_agenda(
        s,
        &[
            "1 Khai mạc kỳ họp",
            "2 Bế mạc kỳ họp",
            "3 Tờ trình số 45/TTr-UBND",
        ],
    )
    .await?;
    click(s, &format!("{} {}", tid("sec-item-2"), tid("item-down"))).await?;
    wait_agenda(
        s,
        &[
            "1 Khai mạc kỳ họp",
            "2 Tờ trình số 45/TTr-UBND",
            "3 Bế mạc kỳ họp",
        ],
    )
    .await?;
    // A sub-item under 2.
    set_value(s, &tid("item-parent"), "2").await?;
    set_value(s, &tid("item-title"), "Dự thảo Nghị quyết").await?;
    click(s, &tid("item-add")).await?;
    wait_agenda(
        s,
        &[
            "1 Khai mạc kỳ họp",
            "2 Tờ trình số 45/TTr-UBND",
            "2.1 Dự thảo Nghị quyết",
            "3 Bế mạc kỳ họp",
        ],
    )
    .await?;
    // Reworded in place.
    click(s, &format!("{} {}", tid("sec-item-1"), tid("item-edit"))).await?;
    set_value(s, &tid("item-edit-title"), "Khai mạc kỳ họp thứ năm").await?;
    set_value(s, &tid("item-edit-presenter"), CHAIR).await?;
    click(s, &tid("item-edit-save")).await?;
    wait_agenda(
        s,
        &[
            "1 Khai mạc kỳ họp thứ năm",
            "2 Tờ trình số 45/TTr-UBND",
            "2.1 Dự thảo Nghị quyết",
            "3 Bế mạc kỳ họp",
        ],
    )
    .await?;

    // The hub's own record agrees (the CLI reads the same folder).
    let hub_dir = sec_data.join("secretariat-hub");
    let listed = cli(
        phonghop,
        [
            "--data".as_ref(),
            hub_dir.as_os_str(),
            "meeting".as_ref(),
            "list".as_ref(),
        ],
    )?;
    let meeting = listed
        .lines()
        .find(|l| l.contains(TITLE))
        .and_then(|l| l.split('\t').next())
        .context(format!("the meeting is not on the hub: {listed}"))?
        .to_string();

    // The retention rule: a word where a number goes is refused, naming
    // the field; numbers are kept on the hub.
    set_value(s, &tid("retention-idle-minutes"), "mười").await?;
    click(s, &tid("meeting-save")).await?;
    wait_attr(
        s,
        &tid("retention-problem"),
        "data-field",
        "retention-idle-minutes",
    )
    .await?;
    set_value(s, &tid("retention-delete-days"), "30").await?;
    set_value(s, &tid("retention-lock-days"), "7").await?;
    set_value(s, &tid("retention-idle-minutes"), "10").await?;
    click(s, &tid("meeting-save")).await?;
    wait_count(s, &tid("retention-problem"), 0).await?;
    let want = "retention: delete 30 days after the close · lock after 7 days offline · app locks after 10 min idle";
    let shown = poll(
        "the retention rule on the hub",
        Duration::from_secs(20),
        || {
            let out = meeting_show(phonghop, &hub_dir, &meeting)?;
            Ok(out.contains(want).then_some(out))
        },
    )
    .await?;
    ensure!(shown.contains(want), "{shown}");
    // A CLI write while the app's hub runs: it goes through that hub (the
    // app holds the folder; the CLI finds its admin endpoint).
    let added = cli(
        phonghop,
        [
            "--data".as_ref(),
            hub_dir.as_os_str(),
            "person".as_ref(),
            "add".as_ref(),
            "--name".as_ref(),
            CLI_PERSON.as_ref(),
            "--id".as_ref(),
            "them-tu-dong-lenh".as_ref(),
        ],
    )?;
    ensure!(added.trim() == "them-tu-dong-lenh", "person add: {added}");

    // --- papers: a good one on item 2.1, then a damaged one (refused, nothing changes)
    attach_papers(s, &meeting, Some("2.1"), &[paper], "public", "done").await?;
    wait_count(
        s,
        &format!("{} {}", tid("sec-item-2.1"), tid("sec-paper")),
        1,
    )
    .await?;
    // The PDF has no title of its own: the secretary names it.
    click(
        s,
        &format!("{} {}", tid("sec-item-2.1"), tid("paper-rename")),
    )
    .await?;
    set_value(s, &tid("paper-title-input"), PAPER_TITLE).await?;
    click(s, &tid("paper-title-save")).await?;
    wait_text(
        s,
        &format!("{} {}", tid("sec-item-2.1"), tid("paper-title")),
        PAPER_TITLE,
    )
    .await?;
    let before = meeting_show(phonghop, &hub_dir, &meeting)?;
    attach_papers(s, &meeting, Some("2.1"), &[damaged], "public", "failed").await?;
    let refused = text_of(s, &format!("{} li", tid("sec-imports"))).await?;
    ensure!(
        refused.contains("hong.pdf"),
        "the refusal names the file: {refused}"
    );
    let after = meeting_show(phonghop, &hub_dir, &meeting)?;
    ensure!(
        before == after,
        "a refused file changed the meeting:\n{before}\n---\n{after}"
    );

    // --- the inbox folder (opened from the screen, never shown as a path):
    // a PDF saved there is attached by the embedded hub (analysed by the
    // app's own `pdf analyze-worker`).
    let inbox = wait_css(s, &tid("inbox-open"))
        .await?
        .attr("data-path")
        .await?
        .context("the inbox button names no folder")?;
    let shown = text_of(s, "body").await?;
    ensure!(
        !shown.contains(&inbox),
        "the inbox path is shown on screen: {inbox}"
    );
    // The button opens it in the desktop's file manager.
    click(s, &tid("inbox-open")).await?;
    let want = format!("/inbox/{meeting}");
    files
        .wait_shown(
            "the meeting's inbox folder",
            |u| u.starts_with("file://") && u.ends_with(&want),
            Duration::from_secs(15),
        )
        .await?;
    ensure!(Path::new(&inbox).is_dir(), "inbox {inbox} is not a folder");
    let dropped = phonghop_tests::papers::text_pdf(
        &sec_data.join("staging"),
        "bao-cao-kt-xh",
        "thư mục nhận",
        3,
    )?;
    std::fs::rename(&dropped, Path::new(&inbox).join("bao-cao-kt-xh.pdf"))?;
    wait_js(
        s,
        "the inbox paper on screen",
        "return [...document.querySelectorAll('[data-testid=sec-paper]')].some(e => e.textContent.includes('bao-cao-kt-xh'));",
    )
    .await?;

    // --- members, publish
    for (person, role) in [(&chair, "chair"), (&delegate, "delegate")] {
        set_value(s, &tid("member-person"), person).await?;
        set_value(s, &tid("member-role"), role).await?;
        click(s, &tid("member-add")).await?;
        wait_css(s, &tid(&format!("member-{person}"))).await?;
    }
    screenshot(s, shots, "secretariat-editor").await?;
    click(s, &tid("meeting-publish")).await?;
    // Before the pack goes out: what is missing, then a confirmation. Nobody
    // has paired a device yet.
    wait_js(
        s,
        "the publish check names the members without a device",
        "return [...document.querySelectorAll('[data-testid=publish-warning]')].some(e => e.textContent.includes('chưa kết nối thiết bị'));",
    )
    .await?;
    screenshot(s, shots, "secretariat-publish-check").await?;
    click(s, &tid("meeting-publish-confirm")).await?;
    wait_attr(s, &tid("meeting-status"), "data-status", "published").await?;

    // --- an invite, made on screen, typed into the delegate's app
    click(s, &tid("tab-people")).await?;
    // (The person the CLI added through the app's hub is listed.)
    wait_attr(s, &tid("person-them-tu-dong-lenh"), "data-name", CLI_PERSON).await?;
    click(
        s,
        &format!(
            "{} {}",
            tid(&format!("person-{delegate}")),
            tid("person-invite")
        ),
    )
    .await?;
    let invite = text_of(s, &tid("invite-text")).await?;
    let code = text_of(s, &tid("invite-code")).await?;
    // Still there after a look at the meetings: the secretary reads it out
    // while a delegate types.
    click(s, &tid("tab-meetings")).await?;
    click(s, &tid("tab-people")).await?;
    let again = text_of(s, &tid("invite-code")).await?;
    ensure!(
        again == code,
        "the invite on screen changed from {code} to {again} after a tab change"
    );
    ensure!(
        invite == format!("phonghop:{code}@{lan}"),
        "invite {invite}, code {code}, served at {lan}"
    );
    wait_text(s, &tid("invite-address"), hub_address).await?;
    screenshot(s, shots, "secretariat-people").await?;
    // The QR code on screen decodes to the full invite.
    let scanned = qr_text(s, &tid("invite-qr")).await?;
    ensure!(scanned == invite, "the QR code reads {scanned:?}");

    // The delegate types the short code. First at a relay's address (a
    // certificate of its own, holding the proof the real hub gives for its
    // own certificate): refused, and all the relay got is the binding
    // request, never the code.
    let real_cert = std::fs::read(
        sec_data
            .join("secretariat-hub")
            .join("tls")
            .join("hub.crt.der"),
    )?;
    let stand_in = phonghop_tests::stand_in::StandIn::start(&code, &real_cert)?;
    let input = wait_css(d, &tid("join-input")).await?;
    input.send_keys(&code.to_lowercase()).await?;
    set_value(d, &tid("join-address"), &stand_in.addr.to_string()).await?;
    click(d, &tid("join-button")).await?;
    wait_attr(d, &tid("join-error"), "data-code", "certificate_mismatch").await?;
    screenshot(d, shots, "join-stand-in-refused").await?;
    stand_in.received_only_the_binding(&code)?;
    drop(stand_in);
    // Then the address from the slip: the device binds the code to the
    // hub's certificate and joins over TLS.
    set_value(d, &tid("join-address"), hub_address).await?;
    screenshot(d, shots, "join-short-code").await?;
    click(d, &tid("join-button")).await?;
    // The start as typed: day first, 24-hour, Vietnam time.
    wait_js(
        d,
        "the meeting's start in Vietnamese on the delegate's list",
        &format!(
            "const e = document.querySelector('[data-testid=meeting-item][data-meeting-id={}]'); \
             return !!e && e.textContent.includes('08/12/2026') && e.textContent.includes('08:00');",
            serde_json::to_string(&meeting)?
        ),
    )
    .await?;
    click(
        d,
        &format!("{}[data-meeting-id=\"{meeting}\"]", tid("meeting-item")),
    )
    .await?;
    wait_count(d, &tid("agenda-item"), 5).await?; // 4 items + "other papers"
    wait_count(d, &tid("paper-open"), 2).await?;
    wait_js(
        d,
        "the paper's title on the delegate's agenda",
        &format!(
            "return [...document.querySelectorAll('[data-testid=paper-open]')].some(e => e.textContent.trim() === {});",
            serde_json::to_string(PAPER_TITLE)?
        ),
    )
    .await?;
    wait_js(
        d,
        "both papers downloaded",
        "const s = [...document.querySelectorAll('[data-testid=paper-state]')]; return s.length === 2 && s.every(e => e.dataset.state === 'downloaded');",
    )
    .await?;
    screenshot(d, shots, "secretariat-delegate-received").await?;

    // --- the delegate's device appears on the secretary's list; revoke it
    let device_css = format!("{} {}", tid(&format!("person-{delegate}")), tid("device"));
    wait_css(s, &device_css).await?; // the people list refreshes by itself
    click(
        s,
        &format!(
            "{} {}",
            tid(&format!("person-{delegate}")),
            tid("device-revoke")
        ),
    )
    .await?;
    click(s, &tid("device-revoke-confirm")).await?;
    wait_attr(s, &device_css, "data-revoked", "true").await?;
    Ok(())
}

/// The secretariat's app on the folder of a `phonghop hub` already running
/// on this computer: it prepares in that folder, the running hub serves it,
/// and invites point at that hub.
#[test]
fn secretariat_works_on_a_running_headless_hub() -> Result<()> {
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let shots = screenshot_dir()?;
    let tmp = tempfile::tempdir()?;
    let hub_dir = tmp.path().join("hub");
    cli(
        &phonghop,
        ["--data".as_ref(), hub_dir.as_os_str(), "init".as_ref()],
    )?;
    let mut hub = Hub::new(&phonghop, &hub_dir)?;
    hub.start()?;
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
        let s = driver.session(&app).await?;
        let flow = async {
            click(&s, &tid("open-secretariat")).await?;
            // For the technical staff: folded away until asked for.
            click(&s, &format!("{} summary", tid("hub-attach-section"))).await?;
            // A folder that is no hub: refused, named.
            set_value(
                &s,
                &tid("hub-attach-path"),
                &tmp.path().display().to_string(),
            )
            .await?;
            click(&s, &tid("hub-attach")).await?;
            wait_css(&s, &tid("hub-setup-error")).await?;
            set_value(&s, &tid("hub-attach-path"), &hub_dir.display().to_string()).await?;
            click(&s, &tid("hub-attach")).await?;
            wait_attr(&s, &tid("hub-serving"), "data-address", &hub.address()).await?;
            click(&s, &tid("tab-people")).await?;
            set_value(&s, &tid("person-name"), DELEGATE).await?;
            click(&s, &tid("person-add")).await?;
            let id = person_id(&s, DELEGATE).await?;
            let person = tid(&format!("person-{id}"));
            // An invite made, then cancelled on screen, no longer pairs.
            click(&s, &format!("{person} {}", tid("person-invite"))).await?;
            let cancelled = text_of(&s, &tid("invite-text")).await?;
            click(&s, &format!("{person} {}", tid("invite-cancel"))).await?;
            wait_count(&s, &tid("invite-text"), 0).await?;
            let lost = tmp.path().join("lost-device");
            let refused = cli_output(
                &phonghop,
                [
                    "--data".as_ref(),
                    lost.as_os_str(),
                    "join".as_ref(),
                    cancelled.as_ref(),
                ],
            )?;
            let said = String::from_utf8_lossy(&refused.stderr);
            ensure!(
                !refused.status.success() && said.contains("cancel"),
                "a cancelled invite paired, or said something else: {said}"
            );
            click(&s, &format!("{person} {}", tid("person-invite"))).await?;
            let invite = text_of(&s, &tid("invite-text")).await?;
            ensure!(
                invite.ends_with(&format!("@{}", hub.address())),
                "invite {invite}"
            );
            screenshot(&s, &shots, "secretariat-attached").await?;
            // The running hub pairs a device with that invite.
            let device = tmp.path().join("device");
            let joined = cli(
                &phonghop,
                [
                    "--data".as_ref(),
                    device.as_os_str(),
                    "join".as_ref(),
                    invite.as_ref(),
                ],
            )?;
            ensure!(joined.contains(DELEGATE), "joined: {joined}");
            Ok(())
        };
        run_flow(
            &[(&s, "secretariat-attached-failure")],
            FLOW_LIMIT,
            &shots,
            flow,
        )
        .await
    });
    drop(driver);
    drop(xvfb);
    drop(hub);
    result
}

/// An XLSX list of `n` good delegates (rows 2…), with a bad row written at
/// each given line: `no_name` (a row without a name) or `bad_code` (a code
/// with a space and "!").
fn write_delegates_xlsx(path: &Path, n: usize, bad: &[(u32, &str)]) -> Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (col, h) in ["STT", "Họ và tên", "Chức vụ", "Đơn vị bầu cử", "Mã"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, col as u16, *h)?;
    }
    let mut row = 1u32;
    let mut good = 0;
    while good < n || bad.iter().any(|(l, _)| *l > row) {
        let line = row + 1;
        if let Some((_, kind)) = bad.iter().find(|(l, _)| *l == line) {
            ws.write_number(row, 0, f64::from(row))?;
            match *kind {
                "no_name" => {
                    ws.write_string(row, 2, "Đại biểu HĐND tỉnh")?;
                }
                _ => {
                    ws.write_string(row, 1, "Vũ Thị Lỗi")?;
                    ws.write_string(row, 4, "ma sai!")?;
                }
            }
        } else if good < n {
            good += 1;
            ws.write_number(row, 0, f64::from(row))?;
            ws.write_string(row, 1, format!("Đại biểu Nhập Số {good}"))?;
            ws.write_string(row, 2, "Đại biểu HĐND tỉnh")?;
            ws.write_string(row, 3, format!("Đơn vị bầu cử số {}", good % 12 + 1))?;
        }
        row += 1;
    }
    wb.save(path)?;
    Ok(())
}

/// How many elements match `css` now.
async fn count_of(c: &Client, css: &str) -> Result<usize> {
    let v = c
        .execute(
            &format!(
                "return document.querySelectorAll({}).length;",
                serde_json::to_string(css)?
            ),
            vec![],
        )
        .await?;
    Ok(v.as_u64().unwrap_or(0) as usize)
}

/// `phonghop --data HUB meeting show MEETING`: the hub's own record.
fn meeting_show(phonghop: &Path, hub_dir: &Path, meeting: &str) -> Result<String> {
    cli(
        phonghop,
        [
            "--data".as_ref(),
            hub_dir.as_os_str(),
            "meeting".as_ref(),
            "show".as_ref(),
            meeting.as_ref(),
        ],
    )
}
