//! A whole council session in real app windows: the secretariat, the
//! chair and three delegates, each its own `phonghop-app` (own data folder
//! and XDG home) on one Xvfb display, driven through tauri-driver; the
//! secretariat's app is the hub (embedded, on 127.0.0.1).
//!
//! 1. The secretariat prepares the meeting in its own app window
//!    ([`prepare_meeting`]): the app becomes the hub (embedded), then
//!    people, meeting, agenda, PDF papers (named on screen), members with
//!    roles, publish, one invite per person made on screen.
//! 2. Each window joins with its invite through the join screen.
//! 3. The chair checks in and opens the session; the delegates check in
//!    one by one and the chair's console follows: present/total, quorum
//!    (two thirds), who is absent — and so does the hub.
//! 4. Follow the chair: the chair moves the current item and shows a page;
//!    the delegates' readers follow; one delegate leaves, the chair moves
//!    on, that delegate stays (and sees where the chair is); one tap back.
//! 5. Speaker queue: request → the chair gives the floor → every window
//!    shows the speaker → the chair ends the floor.
//! 6. A named poll from the resolution template (more than half of all
//!    delegates): every window votes through the confirmation step; the
//!    chair's counter and not-yet-voted list move; closed; the displayed
//!    result, each voter's own recorded choice and the hub's record agree
//!    with the rule applied here to the votes cast.
//! 7. A secret poll (two thirds of all) that does not pass; the hub keeps
//!    turnout, not voters, and its export names no voter on those ballots.
//! 8. The chair closes the session; `phonghop meeting export` then
//!    `phonghop audit` passes; a copy with one ballot flipped fails and
//!    names the entry.
//!
//! Screenshots (`target/e2e-screenshots/session-*.png`): the console
//! during attendance, a speech, the named poll and the secret poll; a delegate's
//! vote panel asking for confirmation; both results on a delegate's
//! screen; the reader following the chair and the reader of a delegate
//! who left.
//!
//! Needs `cargo build -p phonghop-app -p phonghop-cli`, tauri-driver and
//! WebKitWebDriver (scripts/setup); without them it fails and says what to run.

use anyhow::{anyhow, ensure, Context, Result};
use fantoccini::{Client, Locator};
use phonghop_core::reducer::MeetingState;
use phonghop_core::{
    AgendaItemId, DocumentId, MeetingId, MeetingStatus, PersonId, PollId, PollStatus, QuorumAction,
    SpeakerStatus,
};
use phonghop_tests::e2e::secretariat::*;
use phonghop_tests::e2e::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const MEETING: &str = "son-ha-kh13";
const MEETING_TITLE: &str = "Kỳ họp chuyên đề thứ mười ba";
/// The whole session, first window to audit.
const FLOW_LIMIT: Duration = Duration::from_secs(600);

/// One person of the meeting.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Person {
    id: &'static str,
    name: &'static str,
    title: &'static str,
    unit: &'static str,
    role: &'static str,
}

const CHAIR: Person = Person {
    id: "chu-toa",
    name: "Nguyễn Văn Thành",
    title: "Chủ tịch HĐND tỉnh",
    unit: "Tổ đại biểu thành phố Sơn Hà",
    role: "chair",
};

const DELEGATES: [Person; 3] = [
    Person {
        id: "dai-bieu-1",
        name: "Lê Thị Thu Hà",
        title: "Trưởng Ban Kinh tế – Ngân sách",
        unit: "Tổ đại biểu huyện Yên Lạc",
        role: "delegate",
    },
    Person {
        id: "dai-bieu-2",
        name: "Phạm Quốc Huy",
        title: "Đại biểu HĐND tỉnh",
        unit: "Tổ đại biểu huyện Đồng Mỹ",
        role: "delegate",
    },
    Person {
        id: "dai-bieu-3",
        name: "Đặng Ngọc Ánh",
        title: "Phó Trưởng Ban Văn hóa – Xã hội",
        unit: "Tổ đại biểu thị xã Phú Lâm",
        role: "delegate",
    },
];

/// Agenda: number, title, presenter.
const AGENDA: &[(&str, &str, &str)] = &[
    ("1", "Khai mạc kỳ họp", "Chủ tịch HĐND tỉnh"),
    (
        "2",
        "Báo cáo tình hình kinh tế – xã hội năm 2025 và kế hoạch năm 2026",
        "Chủ tịch UBND tỉnh",
    ),
    ("3", "Xem xét, thông qua các nghị quyết", "Chủ tọa kỳ họp"),
    (
        "3.1",
        "Nghị quyết phân bổ kế hoạch đầu tư công năm 2026",
        "Giám đốc Sở Tài chính",
    ),
    ("4", "Bế mạc kỳ họp", "Chủ tịch HĐND tỉnh"),
];

/// Papers: the demo's typeset PDF, agenda item, title.
const PAPERS: &[(&str, &str, &str)] = &[
    (
        "bao-cao-kinh-te-xa-hoi",
        "2",
        "Báo cáo tình hình kinh tế – xã hội năm 2025 và kế hoạch năm 2026",
    ),
    (
        "to-trinh-45",
        "3.1",
        "Tờ trình số 45/TTr-UBND về phân bổ kế hoạch đầu tư công năm 2026",
    ),
    (
        "nghi-quyet-du-thao",
        "3.1",
        "Dự thảo Nghị quyết về phân bổ kế hoạch đầu tư công năm 2026",
    ),
];

/// The question of the secret poll (typed by the chair).
const SECRET_QUESTION: &str =
    "Miễn nhiệm chức danh Ủy viên Ủy ban nhân dân tỉnh đối với ông Đỗ Văn Bình";

/// Option labels of the resolution template, in order (option 0 approves).
const OPTIONS: [&str; 3] = ["Tán thành", "Không tán thành", "Không biểu quyết"];

/// What the secretariat handed out.
#[derive(Debug)]
struct Prepared {
    /// One invite per person, chair first.
    invites: Vec<(Person, String)>,
}

/// The secretariat's part, in the secretariat's own app window `s`: the
/// app makes itself the meeting's hub (embedded, on `hub`'s port, this
/// computer only); the chair and three delegates (with their codes); the
/// meeting (code, body, title, time, place); its agenda (3.1 under 3);
/// three PDF papers (the demo's, typeset by `phonghop demo` in `scratch`)
/// attached to their items for members only and given their titles; the
/// members with their roles; published; one invite per person made on
/// screen.
async fn prepare_meeting(
    s: &Client,
    hub: &Hub,
    phonghop: &Path,
    scratch: &Path,
    shots: &Path,
) -> Result<Prepared> {
    click(s, &tid("open-secretariat")).await?;
    set_value(s, &tid("hub-port"), &hub.port.to_string()).await?;
    click(s, &tid("hub-lan")).await?; // this computer only: plain HTTP on loopback
    click(s, &tid("hub-create")).await?;
    wait_attr(s, &tid("hub-serving"), "data-address", &hub.address()).await?;

    click(s, &tid("tab-people")).await?;
    let people: Vec<Person> = std::iter::once(CHAIR).chain(DELEGATES).collect();
    for p in &people {
        set_value(s, &tid("person-name"), p.name).await?;
        set_value(s, &tid("person-title"), p.title).await?;
        set_value(s, &tid("person-unit"), p.unit).await?;
        set_value(s, &tid("person-code"), p.id).await?;
        click(s, &tid("person-add")).await?;
        let id = person_id(s, p.name).await?;
        ensure!(id == p.id, "{} got id {id}, not the code {}", p.name, p.id);
    }

    click(s, &tid("tab-meetings")).await?;
    click(s, &tid("meeting-new")).await?;
    set_value(s, &tid("meeting-code"), MEETING).await?;
    set_value(s, &tid("meeting-body"), "HĐND tỉnh Sơn Hà khóa XI").await?;
    set_value(s, &tid("meeting-title"), MEETING_TITLE).await?;
    set_value(s, &tid("meeting-date"), "22/12/2026").await?;
    set_value(s, &tid("meeting-time"), "08:00").await?;
    set_value(
        s,
        &tid("meeting-place"),
        "Hội trường Trung tâm Hội nghị tỉnh Sơn Hà",
    )
    .await?;
    click(s, &tid("meeting-save")).await?;
    wait_attr(s, &tid("meeting-status"), "data-status", "draft").await?;
    for (number, title, presenter) in AGENDA {
        let parent = number.rsplit_once('.').map_or("", |(p, _)| p);
        set_value(s, &tid("item-parent"), parent).await?;
        set_value(s, &tid("item-title"), title).await?;
        set_value(s, &tid("item-presenter"), presenter).await?;
        click(s, &tid("item-add")).await?;
        wait_text(
            s,
            &format!(
                "{} {}",
                tid(&format!("sec-item-{number}")),
                tid("sec-item-title")
            ),
            title,
        )
        .await?;
    }

    // The demo's Vietnamese papers, typeset to PDF by the CLI itself.
    let demo = scratch.join("demo");
    cli(
        phonghop,
        ["demo".as_ref(), "--dir".as_ref(), demo.as_os_str()],
    )?;
    for (file, item, title) in PAPERS {
        let pdf = demo.join("demo-papers").join(format!("{file}.pdf"));
        attach_papers(s, MEETING, Some(item), &[&pdf], "members", "done").await?;
        let row = format!(
            "{} [data-file=\"{file}.pdf\"]",
            tid(&format!("sec-item-{item}"))
        );
        click(s, &format!("{row} {}", tid("paper-rename"))).await?;
        set_value(s, &tid("paper-title-input"), title).await?;
        click(s, &tid("paper-title-save")).await?;
        wait_text(s, &format!("{row} {}", tid("paper-title")), title).await?;
    }
    for p in &people {
        set_value(s, &tid("member-person"), p.id).await?;
        set_value(s, &tid("member-role"), p.role).await?;
        click(s, &tid("member-add")).await?;
        wait_css(s, &tid(&format!("member-{}", p.id))).await?;
    }
    click(s, &tid("meeting-publish")).await?;
    wait_css(s, &tid("publish-check")).await?;
    click(s, &tid("meeting-publish-confirm")).await?;
    wait_attr(s, &tid("meeting-status"), "data-status", "published").await?;
    screenshot(s, shots, "session-0-secretariat").await?;

    click(s, &tid("tab-people")).await?;
    let mut invites = Vec::new();
    for p in people {
        let card = tid(&format!("person-{}", p.id));
        click(s, &format!("{card} {}", tid("person-invite"))).await?;
        let invite = text_of(s, &format!("{card} {}", tid("invite-text"))).await?;
        ensure!(
            invite.starts_with("phonghop:") && invite.ends_with(&format!("@{}", hub.address())),
            "unexpected invite {invite:?}"
        );
        invites.push((p, invite));
    }
    Ok(Prepared { invites })
}

/// One person's app window.
struct Window {
    person: Person,
    c: Client,
}

impl Window {
    /// `chu-toa`, `dai-bieu-1`, … (screenshot names, messages).
    fn label(&self) -> &'static str {
        self.person.id
    }
}

/// The four windows.
struct Room {
    chair: Window,
    delegates: Vec<Window>,
}

impl Room {
    fn all(&self) -> impl Iterator<Item = &Window> {
        std::iter::once(&self.chair).chain(&self.delegates)
    }
}

/// Ids the hub gave the prepared meeting's agenda items and papers.
#[derive(Debug)]
struct Ids {
    item_report: AgendaItemId,
    item_resolution: AgendaItemId,
    report: DocumentId,
}

#[test]
fn council_session_in_four_app_windows() -> Result<()> {
    let app = workspace_bin("phonghop-app", "phonghop-app")?;
    let phonghop = workspace_bin("phonghop", "phonghop-cli")?;
    tauri_driver()?;
    let shots = screenshot_dir()?;
    for w in std::iter::once(CHAIR).chain(DELEGATES) {
        let _ = std::fs::remove_file(shots.join(format!("session-failure-{}.png", w.id)));
    }

    let tmp = tempfile::tempdir()?;
    let xvfb = Xvfb::start()?;
    // The secretariat's app holds the hub (embedded): `hub` only names its
    // folder and port; no `phonghop hub` process runs.
    let sec_data = tmp.path().join("app-secretariat");
    let sec_driver = Driver::start_with(
        &xvfb.display,
        &sec_data,
        &tmp.path().join("home-secretariat"),
        SHARED_DISPLAY,
    )?;
    let hub = Hub::new(&phonghop, &sec_data.join("secretariat-hub"))?;
    let mut drivers = Vec::new();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let s = sec_driver.session(&app).await?;
        let out = async {
            let prepared = tokio::time::timeout(
                FLOW_LIMIT,
                prepare_meeting(&s, &hub, &phonghop, &tmp.path().join("scratch"), &shots),
            )
            .await
            .unwrap_or_else(|_| Err(anyhow!("the preparation did not end within {FLOW_LIMIT:?}")));
            let prepared = match prepared {
                Ok(p) => p,
                Err(e) => {
                    let _ = screenshot(&s, &shots, "session-failure-secretariat").await;
                    return Err(e);
                }
            };
            for (p, _) in &prepared.invites {
                drivers.push(Driver::start_with(
                    &xvfb.display,
                    &tmp.path().join(format!("app-{}", p.id)),
                    &tmp.path().join(format!("home-{}", p.id)),
                    SHARED_DISPLAY,
                )?);
            }
            let mut clients = Vec::new();
            let mut opened = Ok(());
            for d in &drivers {
                match d.session(&app).await {
                    Ok(c) => clients.push(c),
                    Err(e) => {
                        opened = Err(e);
                        break;
                    }
                }
            }
            let flow = match opened {
                Ok(()) => {
                    let mut windows = prepared
                        .invites
                        .iter()
                        .zip(clients.iter().cloned())
                        .map(|((person, _), c)| Window { person: *person, c });
                    let room = Room {
                        chair: windows.next().context("no chair window")?,
                        delegates: windows.collect(),
                    };
                    let flow = tokio::time::timeout(
                        FLOW_LIMIT,
                        session(&room, &hub, &phonghop, &prepared, &shots, tmp.path()),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Err(anyhow!("the session did not end within {FLOW_LIMIT:?}"))
                    });
                    if flow.is_err() {
                        for w in room.all() {
                            let name = format!("session-failure-{}", w.label());
                            if let Ok(p) = screenshot(&w.c, &shots, &name).await {
                                eprintln!("e2e: failure screenshot: {}", p.display());
                            }
                        }
                    }
                    flow
                }
                Err(e) => Err(e),
            };
            // Ends each session: WebKitWebDriver closes its app.
            for c in clients {
                let _ = tokio::time::timeout(Duration::from_secs(10), c.close()).await;
            }
            flow
        }
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(10), s.close()).await;
        out
    });
    // Guards stop tauri-driver (SIGTERM) — the secretariat's app, which
    // holds the hub, last — then Xvfb.
    drop(drivers);
    drop(sec_driver);
    drop(xvfb);
    drop(hub);
    result
}

async fn session(
    room: &Room,
    hub: &Hub,
    phonghop: &Path,
    prepared: &Prepared,
    shots: &Path,
    tmp: &Path,
) -> Result<()> {
    for w in room.all() {
        let (_, invite) = prepared
            .invites
            .iter()
            .find(|(p, _)| *p == w.person)
            .context("an invite per window")?;
        join(w, invite).await?;
    }
    let ids = ids(hub)?;
    attendance(room, hub, shots).await?;
    follow_the_chair(room, hub, &ids, shots).await?;
    speaker_queue(room, hub, shots).await?;
    let named = named_poll(room, hub, &ids, shots).await?;
    let secret = secret_poll(room, hub, shots).await?;
    close_and_audit(room, hub, phonghop, &named, &secret, tmp, shots).await
}

/// Join screen → invite → the meeting, every paper downloaded.
async fn join(w: &Window, invite: &str) -> Result<()> {
    let c = &w.c;
    join_and_open(c, invite, MEETING)
        .await
        .with_context(|| w.label())?;
    wait_css(c, &tid("agenda-item")).await?;
    wait_attr(c, &tid("connection-badge"), "data-state", "synced")
        .await
        .with_context(|| format!("{}: every paper downloaded", w.label()))?;
    // The window is this person's.
    wait_js(
        c,
        &format!("{}: the top bar names {}", w.label(), w.person.name),
        &format!(
            "const e = document.querySelector('.person'); return !!e && e.textContent.trim() === {};",
            serde_json::to_string(w.person.name)?
        ),
    )
    .await?;
    Ok(())
}

/// The hub's view of the meeting, replayed from its database by the same
/// reducer (read while the hub runs: WAL).
fn hub_meeting(hub: &Hub) -> Result<MeetingState> {
    let store = phonghop_store::Store::open(&hub.dir.join("hub.db"))?;
    store
        .state()
        .meetings
        .get(&MeetingId::new(MEETING))
        .cloned()
        .context("the hub has the meeting")
}

fn ids(hub: &Hub) -> Result<Ids> {
    let m = hub_meeting(hub)?;
    let item = |number: &str| -> Result<AgendaItemId> {
        Ok(m.item_by_number(number)
            .with_context(|| format!("agenda item {number} on the hub"))?
            .id
            .clone())
    };
    let report = m
        .documents
        .values()
        .find(|d| d.title == PAPERS[0].2)
        .context("the report on the hub")?
        .id
        .clone();
    Ok(Ids {
        item_report: item("2")?,
        item_resolution: item("3.1")?,
        report,
    })
}

/// Two thirds of the voting members present (the console's and the law's rule).
fn quorum(present: usize, total: usize) -> bool {
    total > 0 && present * 3 >= total * 2
}

/// The console shows `present` of the four checked in, the quorum as it
/// follows from that, and the absent by name.
async fn expect_attendance(chair: &Client, present: &[Person]) -> Result<()> {
    let all: Vec<Person> = std::iter::once(CHAIR).chain(DELEGATES).collect();
    let (n, total) = (present.len(), all.len());
    let count = tid("attendance-count");
    wait_attr(chair, &count, "data-present", &n.to_string()).await?;
    wait_attr(chair, &count, "data-total", &total.to_string()).await?;
    wait_text(chair, &count, &format!("Điểm danh: {n}/{total} đại biểu")).await?;
    let met = quorum(n, total);
    wait_attr(chair, &tid("quorum-state"), "data-met", &met.to_string()).await?;
    let needed = (total * 2).div_ceil(3);
    let want = if met {
        "Đủ số đại biểu dự họp".to_string()
    } else {
        format!("Chưa đủ số đại biểu dự họp (cần {needed})")
    };
    wait_text(chair, &tid("quorum-state"), &want).await?;
    let absent: Vec<&str> = all
        .iter()
        .filter(|p| !present.contains(p))
        .map(|p| p.name)
        .collect();
    if absent.is_empty() {
        wait_count(chair, &tid("attendance-absent"), 0).await?;
    } else {
        wait_text(
            chair,
            &tid("attendance-absent"),
            &format!("Vắng: {}", absent.join(", ")),
        )
        .await?;
    }
    Ok(())
}

/// Step 3: the chair checks in and opens the session; the delegates check in.
async fn attendance(room: &Room, hub: &Hub, shots: &Path) -> Result<()> {
    let chair = &room.chair.c;
    click(chair, &tid("check-in")).await?;
    wait_attr(chair, &tid("check-in"), "data-present", "true").await?;
    click(chair, &tid("open-console")).await?;
    wait_css(chair, &tid("chair-console")).await?;
    wait_attr(chair, &tid("session-status"), "data-status", "published").await?;
    expect_attendance(chair, &[CHAIR]).await?;
    // 1 of 4 checked in, the law's quorum needs 3: the console asks first,
    // and the override it sends is recorded.
    click(chair, &tid("chair-start-session")).await?;
    let guard = tid("chair-start-guard");
    wait_attr(chair, &guard, "data-below-quorum", "true").await?;
    wait_text(
        chair,
        &format!("{guard} {}", tid("guard-line")),
        "Chưa đủ số đại biểu dự họp: có mặt 1/4, cần 3.",
    )
    .await?;
    screenshot(chair, shots, "session-1a-start-below-quorum").await?;
    click(chair, &tid("chair-start-guard-confirm")).await?;
    wait_attr(chair, &tid("session-status"), "data-status", "in_session").await?;
    let overrides = hub_meeting(hub)?.quorum_overrides;
    ensure!(
        matches!(overrides.as_slice(), [o] if o.action == QuorumAction::StartSession
            && (o.count.present, o.count.voting, o.count.required) == (1, 4, 3)
            && o.by.as_str() == CHAIR.id),
        "the hub recorded the chair's override: {overrides:?}"
    );
    // The session opens on the first item, and every member's bar says so.
    let first = format!("Đang thảo luận: 1. {}", AGENDA[0].1);
    for d in &room.delegates {
        wait_attr(&d.c, &tid("session-status"), "data-status", "in_session")
            .await
            .with_context(|| format!("{}: the session opened", d.label()))?;
        wait_text(&d.c, &tid("session-current-item"), &first).await?;
    }
    let mut present = vec![CHAIR];
    for (i, d) in room.delegates.iter().enumerate() {
        let button = wait_css(&d.c, &tid("check-in")).await?;
        ensure!(
            button.attr("data-present").await?.as_deref() == Some("false"),
            "{}: not checked in before tapping",
            d.label()
        );
        button.click().await?;
        wait_attr(&d.c, &tid("check-in"), "data-present", "true").await?;
        wait_text(&d.c, &tid("check-in"), "✓ Đã điểm danh").await?;
        present.push(d.person);
        expect_attendance(chair, &present)
            .await
            .with_context(|| format!("the console after {} checked in", d.label()))?;
        if i == 1 {
            // Quorum just reached, one delegate still absent.
            screenshot(chair, shots, "session-1-console-attendance").await?;
        }
    }
    let m = hub_meeting(hub)?;
    ensure!(
        m.status == MeetingStatus::InSession,
        "the hub has the session open: {:?}",
        m.status
    );
    for p in &present {
        ensure!(
            m.attendance
                .get(&PersonId::new(p.id))
                .is_some_and(|a| a.present),
            "the hub has {} checked in: {:?}",
            p.id,
            m.attendance
        );
    }
    let voters = m.voting_members().count();
    ensure!(
        m.present_voters() == voters && quorum(m.present_voters(), voters),
        "the hub counts {}/{voters} present",
        m.present_voters()
    );
    Ok(())
}

/// `[data-testid=reader][data-document-id=ID]` shows page `page` (0-based) of 2.
async fn wait_reader_at(w: &Window, doc: &DocumentId, page: u32) -> Result<()> {
    wait_css(
        &w.c,
        &format!("{}[data-document-id=\"{doc}\"]", tid("reader")),
    )
    .await
    .with_context(|| format!("{}: the reader of {doc}", w.label()))?;
    wait_text(&w.c, &tid("page-indicator"), &format!("{} / 2", page + 1))
        .await
        .with_context(|| format!("{}: page {}", w.label(), page + 1))?;
    page_image_loaded(&w.c, page).await
}

/// The chair shows the page on screen and the button says so.
async fn show_page(chair: &Client) -> Result<()> {
    click(chair, &tid("chair-show-page")).await?;
    wait_attr(chair, &tid("chair-show-page"), "aria-pressed", "true").await
}

/// Step 4: follow the chair.
async fn follow_the_chair(room: &Room, hub: &Hub, ids: &Ids, shots: &Path) -> Result<()> {
    let chair = &room.chair.c;
    // The chair moves the meeting to item 2; every agenda marks it.
    let row = format!(
        "{}[data-item-id=\"{}\"]",
        tid("chair-item"),
        ids.item_report
    );
    click(chair, &format!("{row} {}", tid("chair-set-current"))).await?;
    wait_attr(chair, &row, "data-current", "true").await?;
    for d in &room.delegates {
        wait_attr(
            &d.c,
            &format!(
                "{}[data-item-id=\"{}\"]",
                tid("agenda-item"),
                ids.item_report
            ),
            "data-current",
            "true",
        )
        .await
        .with_context(|| format!("{}: the current item", d.label()))?;
    }
    ensure!(
        hub_meeting(hub)?.current_item.as_ref() == Some(&ids.item_report),
        "the hub's current item"
    );

    // The chair opens the report, turns to page 2 and shows it.
    click(chair, &tid("console-back")).await?;
    open_paper(chair, ids.report.as_str()).await?;
    wait_reader_at(&room.chair, &ids.report, 0).await?;
    click(chair, &tid("next-page")).await?;
    wait_reader_at(&room.chair, &ids.report, 1).await?;
    show_page(chair).await?;
    for d in &room.delegates {
        wait_reader_at(d, &ids.report, 1).await?;
        wait_attr(&d.c, &tid("follow-toggle"), "data-following", "true").await?;
        wait_text(&d.c, &tid("following-state"), "Đang theo chủ tọa").await?;
    }
    ensure!(
        hub_meeting(hub)?.chair_focus == Some((ids.report.clone(), 1)),
        "the hub's chair focus is the report, page 2"
    );
    screenshot(&room.delegates[0].c, shots, "session-2-follow-reader").await?;

    // One delegate leaves; the chair goes back to page 1.
    let (followers, leaver) = room.delegates.split_at(2);
    let leaver = &leaver[0];
    click(&leaver.c, &tid("follow-toggle")).await?;
    wait_attr(&leaver.c, &tid("follow-toggle"), "data-following", "false").await?;
    click(chair, &tid("prev-page")).await?;
    wait_reader_at(&room.chair, &ids.report, 0).await?;
    show_page(chair).await?;
    for d in followers {
        wait_reader_at(d, &ids.report, 0).await?;
    }
    // The leaver's app has the new focus (it says where the chair is) …
    let hint = format!(
        "{}[data-document-id=\"{}\"][data-page=\"0\"]",
        tid("chair-focus-hint"),
        ids.report
    );
    wait_css(&leaver.c, &hint)
        .await
        .context("the delegate who left sees where the chair is")?;
    wait_text(
        &leaver.c,
        &tid("chair-focus-hint"),
        "Chủ tọa đang trình chiếu trang 1",
    )
    .await?;
    wait_count(&leaver.c, &tid("following-state"), 0).await?;
    // … and stayed where they were.
    wait_reader_at(leaver, &ids.report, 1)
        .await
        .context("a delegate who left the chair stays on their page")?;
    screenshot(&leaver.c, shots, "session-3-left-the-chair").await?;
    // One tap: back with the chair.
    click(&leaver.c, &tid("follow-toggle")).await?;
    wait_attr(&leaver.c, &tid("follow-toggle"), "data-following", "true").await?;
    wait_reader_at(leaver, &ids.report, 0).await?;
    wait_count(&leaver.c, &tid("chair-focus-hint"), 0).await?;
    Ok(())
}

/// What each window says about the floor.
async fn expect_speaker(room: &Room, speaker: Option<&Person>) -> Result<()> {
    for d in &room.delegates {
        let css = tid("current-speaker");
        wait_attr(&d.c, &css, "data-person-id", speaker.map_or("", |p| p.id))
            .await
            .with_context(|| format!("{}: the current speaker", d.label()))?;
        let want = match speaker {
            None => "Chưa có ai phát biểu".to_string(),
            Some(p) if *p == d.person => "Bạn đang phát biểu".to_string(),
            Some(p) => format!("Đang phát biểu: {}", p.name),
        };
        wait_text(&d.c, &css, &want).await?;
    }
    Ok(())
}

/// Step 5: the speaker queue.
async fn speaker_queue(room: &Room, hub: &Hub, shots: &Path) -> Result<()> {
    let chair = &room.chair.c;
    let asker = &room.delegates[1];
    click(&asker.c, &tid("request-speak")).await?;
    wait_attr(&asker.c, &tid("request-speak"), "data-state", "waiting").await?;
    wait_text(
        &asker.c,
        &tid("my-request"),
        "Bạn đã đăng ký phát biểu (thứ 1)",
    )
    .await?;

    // The chair, back in the console, sees the request and gives the floor.
    click(chair, &tid("reader-close")).await?;
    click(chair, &tid("open-console")).await?;
    let waiting = format!("{}[data-status=\"waiting\"]", tid("speaker-item"));
    wait_css(chair, &waiting).await?;
    let line = text_of(chair, &waiting).await?;
    ensure!(
        line.starts_with(&format!("1. {}", asker.person.name)),
        "the console lists the request: {line:?}"
    );
    click(chair, &format!("{waiting} {}", tid("give-floor"))).await?;
    let speaking = format!("{}[data-status=\"speaking\"]", tid("speaker-item"));
    wait_css(chair, &speaking).await?;
    wait_text(
        chair,
        &format!("{speaking} {}", tid("speaker-name")),
        &format!("Đang phát biểu: {}", asker.person.name),
    )
    .await
    .context("the console shows who has the floor")?;
    wait_css(chair, &format!("{speaking} {}", tid("speaker-timer"))).await?;
    expect_speaker(room, Some(&asker.person)).await?;
    screenshot(chair, shots, "session-9-console-speaker").await?;
    let m = hub_meeting(hub)?;
    let on_hub: Vec<_> = m.speakers.values().collect();
    ensure!(
        on_hub.len() == 1
            && on_hub[0].person.as_str() == asker.person.id
            && on_hub[0].status == SpeakerStatus::Speaking,
        "the hub has the floor given: {on_hub:?}"
    );

    click(chair, &format!("{speaking} {}", tid("end-floor"))).await?;
    wait_count(chair, &tid("speaker-item"), 0).await?;
    expect_speaker(room, None).await?;
    wait_attr(&asker.c, &tid("request-speak"), "data-state", "none").await?;
    let m = hub_meeting(hub)?;
    ensure!(
        m.speakers.values().all(|s| s.status == SpeakerStatus::Done),
        "the hub has the floor ended: {:?}",
        m.speakers
    );
    Ok(())
}

/// How a rule decides a tally, computed here without the app's code:
/// approvals needed out of all `members`, and whether they were reached.
fn decide(votes: &[u32], members: u32, two_thirds: bool) -> (Vec<u32>, u32, bool) {
    let mut counts = vec![0u32; OPTIONS.len()];
    for v in votes {
        counts[*v as usize] += 1;
    }
    let required = if two_thirds {
        (2 * members).div_ceil(3)
    } else {
        members / 2 + 1
    };
    let passed = counts[0] >= required;
    (counts, required, passed)
}

/// A poll as it was run, for the final checks.
#[derive(Debug)]
struct PollRun {
    id: String,
    votes: Vec<(Person, u32)>,
    counts: Vec<u32>,
    passed: bool,
}

/// The chair creates a poll from a template and opens it; its id.
async fn create_and_open(chair: &Client, template: &str, question: Option<&str>) -> Result<String> {
    let drafts_before = chair
        .find_all(Locator::Css(&format!(
            "{}[data-status=\"draft\"]",
            tid("chair-poll")
        )))
        .await?
        .len();
    ensure!(drafts_before == 0, "no draft poll is left over");
    click(
        chair,
        &format!("{}[data-template=\"{template}\"]", tid("poll-template")),
    )
    .await?;
    wait_attr(
        chair,
        &format!("{}[data-template=\"{template}\"]", tid("poll-template")),
        "aria-pressed",
        "true",
    )
    .await?;
    if let Some(q) = question {
        let input = wait_css(chair, &tid("poll-question")).await?;
        input.clear().await?;
        input.send_keys(q).await?;
        let typed = input.prop("value").await?.unwrap_or_default();
        ensure!(typed == q, "typed {q:?}, the question holds {typed:?}");
    }
    click(chair, &tid("poll-create")).await?;
    let draft = format!("{}[data-status=\"draft\"]", tid("chair-poll"));
    let id = wait_css(chair, &draft)
        .await?
        .attr("data-poll-id")
        .await?
        .context("a poll id")?;
    let card = format!("{}[data-poll-id=\"{id}\"]", tid("chair-poll"));
    click(chair, &format!("{card} {}", tid("poll-open"))).await?;
    wait_attr(chair, &card, "data-status", "open").await?;
    Ok(id)
}

/// One voter: the panel is up, an option is chosen, the confirmation asks,
/// confirmed, recorded; the voter's own choice shown (named polls), or
/// only that the ballot was recorded (secret polls: the device forgets
/// the choice once the hub has it).
async fn vote(
    w: &Window,
    poll: &str,
    choice: u32,
    secret: bool,
    shot: Option<(&Path, &str)>,
) -> Result<()> {
    let c = &w.c;
    let panel = format!("{}[data-poll-id=\"{poll}\"]", tid("vote-panel"));
    wait_attr(c, &panel, "data-status", "open")
        .await
        .with_context(|| format!("{}: the vote panel", w.label()))?;
    let option = format!("{panel} {}[data-choice=\"{choice}\"]", tid("vote-option"));
    click(c, &option).await?;
    wait_attr(c, &option, "aria-pressed", "true").await?;
    let label = OPTIONS[choice as usize];
    let confirm = text_of(c, &format!("{panel} .confirm strong")).await?;
    ensure!(
        confirm == format!("Bạn đã chọn: {label} — Xác nhận?"),
        "{}: the confirmation names the choice: {confirm:?}",
        w.label()
    );
    if let Some((dir, name)) = shot {
        screenshot(c, dir, name).await?;
    }
    click(c, &format!("{panel} {}", tid("vote-confirm"))).await?;
    wait_attr(
        c,
        &format!("{panel} {}", tid("vote-state")),
        "data-state",
        "counted",
    )
    .await
    .with_context(|| format!("{}: the ballot counted", w.label()))?;
    let mine = format!("{panel} {}", tid("vote-my-choice"));
    if secret {
        wait_text(c, &mine, "Phiếu của đại biểu đã được ghi nhận").await?;
        let shown = wait_css(c, &mine).await?.attr("data-choice").await?;
        ensure!(
            shown.is_none(),
            "{}: a secret choice is not shown once recorded: {shown:?}",
            w.label()
        );
        return Ok(());
    }
    wait_attr(c, &mine, "data-choice", &choice.to_string()).await?;
    wait_text(c, &mine, &format!("Đã biểu quyết: {label}")).await
}

/// The console's live counter and not-yet-voted line for an open poll.
async fn expect_progress(chair: &Client, poll: &str, voted: &[Person], secret: bool) -> Result<()> {
    let card = format!("{}[data-poll-id=\"{poll}\"]", tid("chair-poll"));
    let all: Vec<Person> = std::iter::once(CHAIR).chain(DELEGATES).collect();
    // Eligible voters in the hub's order (by person id).
    let mut missing: Vec<&Person> = all.iter().filter(|p| !voted.contains(p)).collect();
    missing.sort_by_key(|p| p.id);
    let received = format!("{card} {}", tid("poll-received"));
    wait_attr(chair, &received, "data-received", &voted.len().to_string()).await?;
    wait_text(
        chair,
        &received,
        &format!("Đã nhận {}/{} phiếu", voted.len(), all.len()),
    )
    .await?;
    // Live counts for a named poll; none for a secret one until it closes.
    let counts = format!("{card} {}", tid("poll-counts"));
    if secret {
        wait_count(chair, &counts, 0).await?;
    } else {
        wait_css(chair, &counts).await?;
    }
    let line = format!("{card} {}", tid("poll-not-voted"));
    wait_attr(chair, &line, "data-count", &missing.len().to_string()).await?;
    let want = if missing.is_empty() {
        "Tất cả đại biểu đã biểu quyết.".to_string()
    } else if secret {
        format!("Chưa biểu quyết: {} đại biểu", missing.len())
    } else {
        let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
        format!("Chưa biểu quyết: {}", names.join(", "))
    };
    wait_text(chair, &line, &want).await
}

/// Runs one poll in every window: open → votes (in order) → close → results.
async fn run_poll(
    room: &Room,
    hub: &Hub,
    poll: &str,
    votes: &[(Person, u32)],
    secret: bool,
    shots: &Path,
) -> Result<PollRun> {
    let chair = &room.chair.c;
    let window = |p: &Person| room.all().find(|w| w.person == *p).context("a window");
    // Every delegate's panel comes up with the question and the rule.
    let rule = if secret {
        "Quy tắc: ít nhất hai phần ba tổng số đại biểu · Bỏ phiếu kín"
    } else {
        "Quy tắc: quá nửa tổng số đại biểu · Công khai"
    };
    for w in room.all() {
        let panel = format!("{}[data-poll-id=\"{poll}\"]", tid("vote-panel"));
        wait_attr(&w.c, &panel, "data-status", "open")
            .await
            .with_context(|| format!("{}: the vote panel came up", w.label()))?;
        wait_text(&w.c, &format!("{panel} .rule"), rule).await?;
    }
    expect_progress(chair, poll, &[], secret).await?;
    let mut voted = Vec::new();
    for (i, (p, choice)) in votes.iter().enumerate() {
        let shot = (i == 0 && !secret).then_some((shots, "session-5-vote-confirm"));
        vote(window(p)?, poll, *choice, secret, shot).await?;
        voted.push(*p);
        expect_progress(chair, poll, &voted, secret)
            .await
            .with_context(|| format!("the console after {} voted", p.id))?;
        if i == 1 {
            let name = if secret {
                "session-7-console-secret-poll"
            } else {
                "session-4-console-named-poll"
            };
            screenshot(chair, shots, name).await?;
        }
    }

    let card = format!("{}[data-poll-id=\"{poll}\"]", tid("chair-poll"));
    click(chair, &format!("{card} {}", tid("poll-close"))).await?;
    // Members who have not voted: the console names them and asks first.
    let mut missing: Vec<Person> = std::iter::once(CHAIR)
        .chain(DELEGATES)
        .filter(|p| !votes.iter().any(|(v, _)| v == p))
        .collect();
    missing.sort_by_key(|p| p.id);
    if !missing.is_empty() {
        let guard = format!("{card} {}", tid("poll-close-guard"));
        wait_attr(chair, &guard, "data-missing", &missing.len().to_string()).await?;
        let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
        let line = if secret {
            format!("Còn {}/4 đại biểu chưa biểu quyết.", missing.len())
        } else {
            format!(
                "Còn {}/4 đại biểu chưa biểu quyết: {}.",
                missing.len(),
                names.join(", ")
            )
        };
        wait_text(chair, &format!("{guard} {}", tid("guard-line")), &line).await?;
        screenshot(chair, shots, "session-5a-close-with-missing-voters").await?;
        click(
            chair,
            &format!("{guard} {}", tid("poll-close-guard-confirm")),
        )
        .await?;
    }
    wait_attr(chair, &card, "data-status", "closed").await?;

    let choices: Vec<u32> = votes.iter().map(|(_, c)| *c).collect();
    let members = 1 + DELEGATES.len() as u32;
    let (counts, required, passed) = decide(&choices, members, secret);
    let verdict = if passed {
        "THÔNG QUA"
    } else {
        "KHÔNG THÔNG QUA"
    };
    let share = format!(
        "{}%",
        (f64::from(counts[0]) * 100.0 / f64::from(members)).round()
    );
    let result_line = format!(
        "Tán thành {} ({share} của {members} đại biểu) → {verdict}",
        counts[0]
    );
    wait_attr(
        chair,
        &format!("{card} {}", tid("poll-result")),
        "data-passed",
        &passed.to_string(),
    )
    .await?;
    wait_text(
        chair,
        &format!("{card} {}", tid("poll-result")),
        &result_line,
    )
    .await?;
    for (i, w) in room.delegates.iter().enumerate() {
        let panel = format!("{}[data-poll-id=\"{poll}\"]", tid("vote-panel"));
        wait_attr(&w.c, &panel, "data-status", "closed").await?;
        let result = format!("{panel} {}", tid("vote-result"));
        wait_attr(&w.c, &result, "data-passed", &passed.to_string())
            .await
            .with_context(|| format!("{}: the result", w.label()))?;
        wait_text(&w.c, &result, &result_line).await?;
        // Each voter of a named poll still sees their own recorded
        // choice; of a secret poll, only that their ballot was recorded;
        // one who did not vote sees neither.
        let mine = votes.iter().find(|(p, _)| *p == w.person).map(|(_, c)| *c);
        let my_choice = format!("{panel} {}", tid("vote-my-choice"));
        match mine {
            Some(_) if secret => {
                wait_text(&w.c, &my_choice, "Phiếu của đại biểu đã được ghi nhận").await?
            }
            Some(mine) => wait_attr(&w.c, &my_choice, "data-choice", &mine.to_string()).await?,
            None => wait_count(&w.c, &my_choice, 0).await?,
        }
        let others: Vec<String> = OPTIONS
            .iter()
            .zip(&counts)
            .skip(1)
            .map(|(o, n)| format!("{o} {n} ({}%)", n * 100 / members))
            .collect();
        wait_text(
            &w.c,
            &format!("{panel} {}", tid("vote-other-counts")),
            &others.join(" · "),
        )
        .await?;
        if i == 1 {
            let name = if secret {
                "session-8-secret-result"
            } else {
                "session-6-vote-result"
            };
            screenshot(&w.c, shots, name).await?;
        }
    }

    // The hub's record.
    let m = hub_meeting(hub)?;
    let p = m
        .polls
        .get(&PollId::new(poll))
        .context("the poll on the hub")?;
    let outcome = p.outcome.context("the hub decided the poll")?;
    ensure!(
        p.status == PollStatus::Closed
            && p.secret == secret
            && p.counts == counts
            && outcome.passed == passed
            && outcome.required == required
            && outcome.approve == counts[0]
            && outcome.base_count == members,
        "the hub recorded {:?} {outcome:?}; the rule gives {counts:?}, {required} needed, passed {passed}",
        p.counts
    );
    if secret {
        ensure!(
            p.named.is_empty() && p.turnout.len() == votes.len(),
            "a secret poll keeps turnout, never voters: {:?} {:?}",
            p.named,
            p.turnout
        );
    } else {
        for (person, choice) in votes {
            ensure!(
                p.named.get(&PersonId::new(person.id)) == Some(choice),
                "the hub has {}'s choice {choice}: {:?}",
                person.id,
                p.named
            );
        }
    }
    // Projection tables: named ballots per voter; secret ones none, turnout only.
    let db = rusqlite::Connection::open_with_flags(
        hub.dir.join("hub.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    db.busy_timeout(Duration::from_secs(5))?;
    let rows: i64 = db.query_row(
        "SELECT count(*) FROM ballots WHERE meeting = ?1 AND poll = ?2",
        [MEETING, poll],
        |r| r.get(0),
    )?;
    let turnout: i64 = db.query_row(
        "SELECT count(*) FROM turnout WHERE meeting = ?1 AND poll = ?2",
        [MEETING, poll],
        |r| r.get(0),
    )?;
    let n = votes.len() as i64;
    ensure!(
        (rows, turnout) == if secret { (0, n) } else { (n, 0) },
        "hub.db: {rows} ballot rows, {turnout} turnout rows for a {} poll of {n} votes",
        if secret { "secret" } else { "named" }
    );

    for w in &room.delegates {
        click(
            &w.c,
            &format!(
                "{}[data-poll-id=\"{poll}\"] {}",
                tid("vote-panel"),
                tid("vote-dismiss")
            ),
        )
        .await?;
        wait_count(&w.c, &tid("vote-panel"), 0).await?;
    }
    Ok(PollRun {
        id: poll.to_string(),
        votes: votes.to_vec(),
        counts,
        passed,
    })
}

/// Step 6: a named poll on item 3.1 from the resolution template.
async fn named_poll(room: &Room, hub: &Hub, ids: &Ids, shots: &Path) -> Result<PollRun> {
    let chair = &room.chair.c;
    let row = format!(
        "{}[data-item-id=\"{}\"]",
        tid("chair-item"),
        ids.item_resolution
    );
    click(chair, &format!("{row} {}", tid("chair-set-current"))).await?;
    wait_attr(chair, &row, "data-current", "true").await?;
    // The template asks about the current item.
    click(
        chair,
        &format!("{}[data-template=\"resolution\"]", tid("poll-template")),
    )
    .await?;
    let question = format!("Thông qua {}", AGENDA[3].1);
    wait_js(
        chair,
        "the question from the template",
        &format!(
            "const e = document.querySelector('[data-testid=poll-question]'); return !!e && e.value === {};",
            serde_json::to_string(&question)?
        ),
    )
    .await?;
    ensure!(
        wait_css(chair, &tid("poll-secret"))
            .await?
            .prop("checked")
            .await?
            .as_deref()
            == Some("false"),
        "the resolution template is a named vote"
    );
    let poll = create_and_open(chair, "resolution", None).await?;
    let [d1, d2, _d3] = DELEGATES;
    // 3 of 4 approve: more than half of all → passes; the third delegate
    // does not vote, so closing asks the chair to confirm.
    let votes = [(d1, 0), (d2, 0), (CHAIR, 0)];
    let run = run_poll(room, hub, &poll, &votes, false, shots).await?;
    ensure!(run.passed, "3 of 4 approving passes a more-than-half vote");
    Ok(run)
}

/// Step 7: a secret poll, two thirds of all, that does not pass.
async fn secret_poll(room: &Room, hub: &Hub, shots: &Path) -> Result<PollRun> {
    let chair = &room.chair.c;
    let poll = create_and_open(chair, "dismissal", Some(SECRET_QUESTION)).await?;
    let card = format!("{}[data-poll-id=\"{poll}\"]", tid("chair-poll"));
    wait_text(chair, &format!("{card} .q"), SECRET_QUESTION).await?;
    let [d1, d2, d3] = DELEGATES;
    // 2 of 4 approve: two thirds of all needs 3 → not passed. Cast out of
    // option order, so the export shows the order is not the arrival's.
    let votes = [(d2, 1), (CHAIR, 0), (d3, 2), (d1, 0)];
    let run = run_poll(room, hub, &poll, &votes, true, shots).await?;
    ensure!(!run.passed, "2 of 4 approving fails a two-thirds vote");
    Ok(run)
}

/// Step 8: close the session, export, audit, and audit a tampered copy.
async fn close_and_audit(
    room: &Room,
    hub: &Hub,
    phonghop: &Path,
    named: &PollRun,
    secret: &PollRun,
    tmp: &Path,
    shots: &Path,
) -> Result<()> {
    let chair = &room.chair.c;
    // Closing cannot be undone: the console asks first.
    click(chair, &tid("chair-close-session")).await?;
    click(chair, &tid("chair-close-session-confirm")).await?;
    wait_attr(chair, &tid("session-status"), "data-status", "closed").await?;
    for d in &room.delegates {
        // The session bar goes away with the session.
        wait_count(&d.c, &tid("session-bar"), 0)
            .await
            .with_context(|| format!("{}: the session closed", d.label()))?;
    }
    ensure!(
        hub_meeting(hub)?.status == MeetingStatus::Closed,
        "the hub has the session closed"
    );
    // After "Bế mạc" a delegate's window keeps the record, read-only:
    // attendance, the override, both results with who took part, and the
    // draft minutes; no item is "in progress" any more.
    let d = &room.delegates[0].c;
    // (Following the chair, the delegate is still in the reader: back to
    // the meeting.)
    if d.find_all(Locator::Css(&tid("reader-close"))).await?.len() == 1 {
        click(d, &tid("reader-close")).await?;
    }
    let record = tid("meeting-record");
    wait_css(d, &record).await?;
    let attendance = format!("{record} {}", tid("record-attendance"));
    wait_attr(d, &attendance, "data-present", "4").await?;
    wait_text(d, &attendance, "Có mặt 4/4 đại biểu.").await?;
    wait_count(d, &format!("{record} {}", tid("record-poll")), 2).await?;
    wait_count(d, &format!("{record} {}", tid("record-override")), 1).await?;
    let named_card = format!(
        "{record} {}[data-poll-id=\"{}\"]",
        tid("record-poll"),
        named.id
    );
    wait_attr(d, &named_card, "data-passed", "true").await?;
    wait_text(
        d,
        &format!("{named_card} {}", tid("record-participation")),
        "Có mặt khi biểu quyết: 4 · Tham gia biểu quyết: 3 · Không tham gia biểu quyết: 1 (trên tổng số 4 đại biểu)",
    )
    .await?;
    wait_count(d, &tid("current-item"), 0).await?;
    click(d, &format!("{} summary", tid("record-minutes"))).await?;
    wait_js(
        d,
        "the draft minutes with the override",
        "const e = document.querySelector('[data-testid=record-minutes-text]'); \
         return !!e && e.textContent.includes('quyết định khai mạc kỳ họp khi chưa đủ số đại biểu');",
    )
    .await?;
    screenshot(d, shots, "session-9-record-after-close").await?;

    let data = hub.dir.as_os_str();
    let export: PathBuf = tmp.join("export.json");
    cli(
        phonghop,
        [
            "--data".as_ref(),
            data,
            "meeting".as_ref(),
            "export".as_ref(),
            MEETING.as_ref(),
            "--out".as_ref(),
            export.as_os_str(),
        ],
    )?;
    let report = cli(phonghop, ["audit".as_ref(), export.as_os_str()])?;
    ensure!(report.starts_with("AUDIT OK"), "audit: {report}");
    // The audit recounts both polls to the same results.
    for (run, verdict) in [(named, "PASSED"), (secret, "NOT PASSED")] {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(&run.id))
            .with_context(|| format!("the audit lists poll {}: {report}", run.id))?;
        let counts: Vec<String> = OPTIONS
            .iter()
            .zip(&run.counts)
            .map(|(o, c)| format!("{o} {c}"))
            .collect();
        ensure!(
            line.contains(&counts.join(", "))
                && line.contains(&format!("→ {verdict} ("))
                && line.contains(if run.id == secret.id {
                    "[secret]"
                } else {
                    "[named]"
                }),
            "audit line for {}: {line}",
            run.id
        );
    }
    let named_ballots = named.votes.len();
    ensure!(
        report.contains(&format!("{named_ballots} ballot signatures verified")),
        "every named ballot's signature verified: {report}"
    );

    // The export names no voter on a secret ballot.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&export)?)?;
    let entries = json["entries"].as_array().context("export entries")?;
    let events: Vec<(u64, serde_json::Value, String)> = entries
        .iter()
        .map(|e| -> Result<_> {
            let payload = e["payload"].as_str().context("a full export")?.to_string();
            Ok((
                e["seq"].as_u64().context("seq")?,
                serde_json::from_str(&payload)?,
                payload,
            ))
        })
        .collect::<Result<_>>()?;
    let ballots = |poll: &str| -> Vec<&(u64, serde_json::Value, String)> {
        events
            .iter()
            .filter(|(_, ev, _)| ev["type"] == "ballot_cast" && ev["poll"] == poll)
            .collect()
    };
    let secret_ballots = ballots(&secret.id);
    ensure!(
        secret_ballots.len() == secret.votes.len(),
        "{} secret ballots in the export",
        secret_ballots.len()
    );
    for (seq, ev, payload) in &secret_ballots {
        ensure!(
            ev.get("voter").is_none_or(|v| v.is_null())
                && ev.get("proof").is_none()
                && !std::iter::once(CHAIR)
                    .chain(DELEGATES)
                    .any(|p| payload.contains(p.id)),
            "secret ballot at entry {seq} names its voter: {payload}"
        );
    }
    // Nor does anything pair a secret choice with its voter's turnout
    // entry: the choices come together after the last turnout, in option
    // order, with the close (they used to follow each turnout entry).
    let poll_events: Vec<&str> = events
        .iter()
        .filter(|(_, ev, _)| ev["poll"] == secret.id.as_str())
        .map(|(_, ev, _)| ev["type"].as_str().unwrap_or(""))
        .collect();
    let n = secret.votes.len();
    let mut want = vec!["poll_created", "poll_opened"];
    want.extend(std::iter::repeat_n("turnout_recorded", n));
    want.extend(std::iter::repeat_n("ballot_cast", n));
    want.push("poll_closed");
    ensure!(
        poll_events == want,
        "the secret poll's entries in order: {poll_events:?}"
    );
    let published: Vec<u64> = secret_ballots
        .iter()
        .map(|(_, ev, _)| ev["choice"].as_u64().unwrap_or(u64::MAX))
        .collect();
    ensure!(
        published.is_sorted(),
        "secret choices are published in option order, not arrival order: {published:?}"
    );
    for (seq, ev, _) in ballots(&named.id) {
        ensure!(
            ev["voter"].is_string() && ev.get("proof").is_some(),
            "a named ballot carries its voter and signature (entry {seq})"
        );
    }

    // Tampered: one named ballot's choice flipped in the JSON.
    let (p, choice) = named.votes.first().context("a named vote")?;
    let other = if *choice == 0 { 1 } else { 0 };
    let (seq, _, payload) = ballots(&named.id)
        .into_iter()
        .find(|(_, ev, _)| ev["voter"] == p.id)
        .with_context(|| format!("{}'s ballot in the export", p.id))?;
    let flipped = payload.replacen(
        &format!("\"choice\":{choice}"),
        &format!("\"choice\":{other}"),
        1,
    );
    ensure!(&flipped != payload, "the ballot's choice is in its payload");
    let mut bad = json.clone();
    let entry = bad["entries"]
        .as_array_mut()
        .context("entries")?
        .iter_mut()
        .find(|e| e["seq"].as_u64() == Some(*seq))
        .context("the entry")?;
    entry["payload"] = serde_json::Value::String(flipped);
    let tampered = tmp.join("export-tampered.json");
    std::fs::write(&tampered, serde_json::to_vec_pretty(&bad)?)?;
    let out = cli_output(phonghop, ["audit".as_ref(), tampered.as_os_str()])?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success(),
        "a flipped ballot must fail the audit: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let entry_name = format!("m/{MEETING} entry {seq}");
    ensure!(
        err.contains("AUDIT FAILED") && err.contains(&entry_name),
        "the audit names the failing entry ({entry_name}): {err}"
    );
    println!("tampered export: {}", err.trim());
    Ok(())
}
