//! `phonghop demo`: builds the sample meeting of the (fictional) HĐND of
//! Sơn Hà province from `assets/demo/` — people, agenda, and our own
//! Vietnamese papers typeset to PDF — then prints its agenda. The texts are
//! compiled into the binary, so the demo runs from any folder.
//!
//! Running it again on the same folder reuses the hub and just prints.

use crate::{admin, show, time};
use anyhow::{Context, Result};
use phonghop_core::{Confidentiality, Role};
use phonghop_hub::{HubDir, NewMeeting, NewPaper, NewPerson};
use serde::Deserialize;
use std::path::PathBuf;

const MEETING_JSON: &str = include_str!("../../../assets/demo/meeting.json");

/// The papers, by the names the agenda uses.
const PAPERS: &[(&str, &str)] = &[
    (
        "to-trinh-45",
        include_str!("../../../assets/demo/papers/to-trinh-45.txt"),
    ),
    (
        "nghi-quyet-du-thao",
        include_str!("../../../assets/demo/papers/nghi-quyet-du-thao.txt"),
    ),
    (
        "bao-cao-kinh-te-xa-hoi",
        include_str!("../../../assets/demo/papers/bao-cao-kinh-te-xa-hoi.txt"),
    ),
];

#[derive(Debug, Deserialize)]
struct DemoMeeting {
    id: String,
    body: String,
    title: String,
    starts_at: String,
    place: String,
    people: Vec<DemoPerson>,
    agenda: Vec<DemoItem>,
}

#[derive(Debug, Deserialize)]
struct DemoPerson {
    id: String,
    name: String,
    title: Option<String>,
    unit: Option<String>,
    role: Role,
}

#[derive(Debug, Deserialize)]
struct DemoItem {
    number: String,
    title: String,
    presenter: Option<String>,
    minutes: Option<u32>,
    #[serde(default)]
    papers: Vec<String>,
}

/// The meeting description shipped in `assets/demo/meeting.json`.
fn demo_meeting() -> Result<DemoMeeting> {
    serde_json::from_str(MEETING_JSON).context("assets/demo/meeting.json is malformed")
}

/// Builds (once) and prints the demo meeting.
pub fn run(dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(".phonghop-demo"));
    let demo = demo_meeting()?;
    let hub = if dir.join("hub.db").exists() {
        HubDir::open_read_only(&dir)?
    } else {
        build(&dir, &demo)?
    };
    print!("{}", show::agenda(hub.meeting(&demo.id)?));
    println!();
    println!("Demo hub: {}", dir.display());
    Ok(())
}

/// Creates the hub folder with the demo meeting, published.
fn build(dir: &std::path::Path, demo: &DemoMeeting) -> Result<HubDir> {
    // Build in a sibling temp folder and rename at the end, so an
    // interrupted run never leaves a half-made demo behind.
    let tmp = dir.with_extension("building");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("cannot clear {}", tmp.display()))?;
    }
    let mut hub = HubDir::init(&tmp)?;
    let now = time::now();
    for p in &demo.people {
        hub.add_person(NewPerson {
            id: Some(p.id.clone()),
            name: p.name.clone(),
            title: p.title.clone(),
            unit: p.unit.clone(),
        })?;
    }
    let m = hub.create_meeting(
        NewMeeting {
            id: Some(demo.id.clone()),
            body: demo.body.clone(),
            title: demo.title.clone(),
            starts_at: Some(time::parse(&demo.starts_at)?),
            place: Some(demo.place.clone()),
        },
        now,
    )?;
    for p in &demo.people {
        hub.add_member(m.as_str(), &p.id, p.role)?;
    }
    let font = phonghop_pdf::find_font()?;
    let papers_dir = tmp.join("demo-papers");
    std::fs::create_dir_all(&papers_dir)
        .with_context(|| format!("cannot create {}", papers_dir.display()))?;
    for item in &demo.agenda {
        hub.add_agenda_item(
            m.as_str(),
            &item.number,
            &item.title,
            item.presenter.clone(),
            item.minutes,
        )?;
        for name in &item.papers {
            let text = PAPERS
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| *t)
                .with_context(|| {
                    format!("assets/demo/meeting.json names an unknown paper '{name}'")
                })?;
            let paper = phonghop_pdf::PaperText::parse(text);
            let pdf = papers_dir.join(format!("{name}.pdf"));
            phonghop_pdf::render_text_pdf(&paper.title, &paper.paragraphs, &font, &pdf)?;
            let analysis = admin::analyze(&pdf)?;
            hub.add_paper(
                m.as_str(),
                NewPaper {
                    file: &pdf,
                    analysis: &analysis,
                    item_number: Some(&item.number),
                    title: Some(paper.title.clone()),
                    confidentiality: Confidentiality::Members,
                },
                now,
            )?;
        }
    }
    hub.publish(m.as_str(), now)?;
    drop(hub);
    std::fs::rename(&tmp, dir)
        .with_context(|| format!("cannot move the demo hub to {}", dir.display()))?;
    Ok(HubDir::open_read_only(dir)?)
}
