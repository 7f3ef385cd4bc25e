//! Secretariat commands: init, people, meetings, agenda, papers, log verify.
//! Each parses arguments, calls the hub library once, prints the result.

use crate::{show, time};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use phonghop_core::{Confidentiality, PersonId, Role};
use phonghop_hub::{HubDir, NewMeeting, NewPaper, NewPerson};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one paper's analysis may take before it is refused.
pub const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(120);

fn data_dir(data: Option<&Path>) -> Result<&Path> {
    data.ok_or_else(|| anyhow!("no data folder: pass --data DIR or set PHONGHOP_DATA"))
}

fn open(data: Option<&Path>) -> Result<HubDir> {
    Ok(HubDir::open(data_dir(data)?)?)
}

/// `phonghop init`.
pub fn init(data: Option<&Path>) -> Result<()> {
    let dir = data_dir(data)?;
    let hub = HubDir::init(dir)?;
    println!("Created a hub in {}", dir.display());
    println!("Hub key fingerprint: {}", hub.public_key().fingerprint());
    Ok(())
}

/// People.
#[derive(Debug, Subcommand)]
pub enum PersonCmd {
    /// Register a person; prints their id.
    Add {
        /// Full name, e.g. "Nguyễn Văn An".
        #[arg(long)]
        name: String,
        /// Title, e.g. "Phó Chủ tịch HĐND tỉnh".
        #[arg(long)]
        title: Option<String>,
        /// Constituency or unit.
        #[arg(long)]
        unit: Option<String>,
        /// Id to use (default: generated).
        #[arg(long)]
        id: Option<String>,
    },
    /// List registered people.
    List,
}

/// `phonghop person …`.
pub fn person(data: Option<&Path>, cmd: PersonCmd) -> Result<()> {
    let mut hub = open(data)?;
    match cmd {
        PersonCmd::Add {
            name,
            title,
            unit,
            id,
        } => {
            let id = hub.add_person(NewPerson {
                id,
                name,
                title,
                unit,
            })?;
            println!("{id}");
        }
        PersonCmd::List => {
            for p in hub.store().state().directory.persons.values() {
                println!("{}\t{}\t{}", p.id, p.name, p.title.as_deref().unwrap_or(""));
            }
        }
    }
    Ok(())
}

/// A role as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Prepares the meeting.
    Secretariat,
    /// Runs the session.
    Chair,
    /// Votes.
    Delegate,
    /// Reads only.
    Observer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Secretariat => Role::Secretariat,
            RoleArg::Chair => Role::Chair,
            RoleArg::Delegate => Role::Delegate,
            RoleArg::Observer => Role::Observer,
        }
    }
}

/// Meetings.
#[derive(Debug, Subcommand)]
pub enum MeetingCmd {
    /// Create a meeting (as a draft); prints its id.
    Create {
        /// Title, e.g. "Kỳ họp thứ mười hai".
        #[arg(long)]
        title: String,
        /// The council, e.g. "HĐND tỉnh Sơn Hà".
        #[arg(long)]
        body: String,
        /// Start, e.g. "2026-12-08 08:00" (Vietnam time).
        #[arg(long)]
        starts_at: Option<String>,
        /// Place.
        #[arg(long)]
        place: Option<String>,
        /// Id to use (default: generated).
        #[arg(long)]
        id: Option<String>,
    },
    /// Change a meeting's title, body, start or place (others kept).
    Edit {
        /// Meeting id.
        meeting: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New council name.
        #[arg(long)]
        body: Option<String>,
        /// New start, e.g. "2026-12-08 08:00" (Vietnam time).
        #[arg(long)]
        starts_at: Option<String>,
        /// New place.
        #[arg(long)]
        place: Option<String>,
    },
    /// List meetings.
    List,
    /// Print a meeting's agenda and papers.
    Show {
        /// Meeting id.
        meeting: String,
    },
    /// Add a registered person to a meeting.
    AddMember {
        /// Meeting id.
        meeting: String,
        /// Person id.
        person: String,
        /// Role in this meeting.
        #[arg(long, value_enum, default_value = "delegate")]
        role: RoleArg,
    },
    /// Write the meeting's full signed record to a file, for `phonghop audit`.
    Export {
        /// Meeting id.
        meeting: String,
        /// Output file (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Draft the records: voting results (ket-qua-bieu-quyet.csv) and the
    /// minutes (bien-ban-du-thao.pdf) from the meeting's log.
    Minutes {
        /// Meeting id.
        meeting: String,
        /// Where to write the two files (created if needed).
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Publish a draft meeting: its members can now see it.
    Publish {
        /// Meeting id.
        meeting: String,
    },
}

/// `phonghop meeting …`.
pub fn meeting(data: Option<&Path>, cmd: MeetingCmd) -> Result<()> {
    let mut hub = open(data)?;
    match cmd {
        MeetingCmd::Create {
            title,
            body,
            starts_at,
            place,
            id,
        } => {
            let starts_at = starts_at.as_deref().map(time::parse).transpose()?;
            let id = hub.create_meeting(
                NewMeeting {
                    id,
                    body,
                    title,
                    starts_at,
                    place,
                },
                time::now(),
            )?;
            println!("{id}");
        }
        MeetingCmd::Edit {
            meeting,
            title,
            body,
            starts_at,
            place,
        } => {
            let m = hub.meeting(&meeting)?;
            let starts_at = match starts_at.as_deref() {
                Some(t) => Some(time::parse(t)?),
                None => m.starts_at,
            };
            let edited = NewMeeting {
                id: None,
                body: body.unwrap_or_else(|| m.body.clone()),
                title: title.unwrap_or_else(|| m.title.clone()),
                starts_at,
                place: place.or_else(|| m.place.clone()),
            };
            hub.edit_meeting(&meeting, edited)?;
            println!("Changed meeting {meeting}");
        }
        MeetingCmd::List => {
            for m in hub.store().state().meetings.values() {
                println!("{}\t{}\t{} — {}", m.id, m.status.code(), m.body, m.title);
            }
        }
        MeetingCmd::Show { meeting } => print!("{}", show::agenda(hub.meeting(&meeting)?)),
        MeetingCmd::AddMember {
            meeting,
            person,
            role,
        } => {
            hub.add_member(&meeting, &person, role.into())?;
        }
        MeetingCmd::Export { meeting, out } => {
            let export = hub.export(&meeting)?;
            let json = serde_json::to_vec_pretty(&export)?;
            std::fs::write(&out, json)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "Wrote {} ({} meeting entries, {} directory entries)",
                out.display(),
                export.entries.len(),
                export.directory.len()
            );
        }
        MeetingCmd::Minutes { meeting, out_dir } => {
            let font = phonghop_pdf::find_font()?;
            let f = phonghop_hub::minutes::write_minutes(&hub, &meeting, &out_dir, &font)?;
            println!(
                "Wrote {} ({} polls) and {} ({} pages, a draft for the secretary to check)",
                f.csv.display(),
                f.polls,
                f.pdf.display(),
                f.pages
            );
        }
        MeetingCmd::Publish { meeting } => {
            hub.publish(&meeting, time::now())?;
            println!("Published meeting {meeting}");
        }
    }
    Ok(())
}

/// Agenda.
#[derive(Debug, Subcommand)]
pub enum AgendaCmd {
    /// Add an agenda item by its number (1, 2, 2.1 …).
    Add {
        /// Meeting id.
        #[arg(long)]
        meeting: String,
        /// Number: the next free one at its level, under an existing parent.
        #[arg(long)]
        number: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Who presents it.
        #[arg(long)]
        presenter: Option<String>,
        /// Planned minutes.
        #[arg(long)]
        minutes: Option<u32>,
    },
    /// Reword an item: title, presenter, planned minutes (others kept).
    Edit {
        /// Meeting id.
        #[arg(long)]
        meeting: String,
        /// The item's number.
        #[arg(long)]
        number: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New presenter.
        #[arg(long)]
        presenter: Option<String>,
        /// New planned minutes.
        #[arg(long)]
        minutes: Option<u32>,
    },
    /// Move an item (with its sub-items); every number after it follows.
    Move {
        /// Meeting id.
        #[arg(long)]
        meeting: String,
        /// The item's current number.
        #[arg(long)]
        number: String,
        /// New position among its siblings (1 = first).
        #[arg(long)]
        to: u32,
        /// Put it under this item (default: the top level).
        #[arg(long)]
        under: Option<String>,
    },
}

/// `phonghop agenda …`.
pub fn agenda(data: Option<&Path>, cmd: AgendaCmd) -> Result<()> {
    let mut hub = open(data)?;
    match cmd {
        AgendaCmd::Add {
            meeting,
            number,
            title,
            presenter,
            minutes,
        } => {
            hub.add_agenda_item(&meeting, &number, &title, presenter, minutes)?;
            println!("Added agenda item {number}: {title}");
        }
        AgendaCmd::Edit {
            meeting,
            number,
            title,
            presenter,
            minutes,
        } => {
            let current = hub
                .meeting(&meeting)?
                .item_by_number(&number)
                .cloned()
                .ok_or_else(|| phonghop_hub::HubError::UnknownItem {
                    meeting: meeting.clone(),
                    number: number.clone(),
                })?;
            hub.edit_agenda_item(
                &meeting,
                &number,
                title.as_deref().unwrap_or(&current.title),
                presenter.or(current.presenter),
                minutes.or(current.planned_minutes),
            )?;
            print!("{}", show::agenda(hub.meeting(&meeting)?));
        }
        AgendaCmd::Move {
            meeting,
            number,
            to,
            under,
        } => {
            hub.move_agenda_item(&meeting, &number, under.as_deref(), to)?;
            print!("{}", show::agenda(hub.meeting(&meeting)?));
        }
    }
    Ok(())
}

/// Papers.
#[derive(Debug, Subcommand)]
pub enum PaperCmd {
    /// Attach a PDF file to a meeting (checked and analysed first).
    Add {
        /// The PDF file.
        file: PathBuf,
        /// Meeting id.
        #[arg(long)]
        meeting: String,
        /// Agenda item number it belongs to.
        #[arg(long)]
        item: Option<String>,
        /// Title (default: the PDF's own title, then the file name).
        #[arg(long)]
        title: Option<String>,
        /// Only these people (ids, comma-separated) and the secretariat may read it ("mật").
        #[arg(long, value_delimiter = ',', conflicts_with = "members_only")]
        confidential: Vec<String>,
        /// Only members (not observers) may read it.
        #[arg(long)]
        members_only: bool,
    },
    /// Give a paper its proper title.
    Rename {
        /// Paper id (see `phonghop meeting show`).
        paper: String,
        /// Meeting id.
        #[arg(long)]
        meeting: String,
        /// The new title.
        #[arg(long)]
        title: String,
    },
}

/// Analyzes `file` in a child process of this same binary.
pub fn analyze(file: &Path) -> Result<phonghop_pdf::Analysis> {
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    let exe =
        std::env::current_exe().context("cannot find the phonghop executable to analyze papers")?;
    Ok(phonghop_pdf::analyze_isolated(
        &exe,
        file,
        ANALYSIS_TIMEOUT,
    )?)
}

/// `phonghop paper …`.
pub fn paper(data: Option<&Path>, cmd: PaperCmd) -> Result<()> {
    let mut hub = open(data)?;
    match cmd {
        PaperCmd::Add {
            file,
            meeting,
            item,
            title,
            confidential,
            members_only,
        } => {
            hub.meeting(&meeting)?;
            let analysis = analyze(&file)?;
            let confidentiality = if !confidential.is_empty() {
                Confidentiality::Named(confidential.into_iter().map(PersonId::new).collect())
            } else if members_only {
                Confidentiality::Members
            } else {
                Confidentiality::Public
            };
            let id = hub.add_paper(
                &meeting,
                NewPaper {
                    file: &file,
                    analysis: &analysis,
                    item_number: item.as_deref(),
                    title,
                    confidentiality,
                },
                time::now(),
            )?;
            println!(
                "Added paper {id}: {} ({} pages, {} characters of text)",
                file.display(),
                analysis.page_count,
                analysis.char_count()
            );
        }
        PaperCmd::Rename {
            paper,
            meeting,
            title,
        } => {
            hub.retitle_paper(&meeting, &phonghop_core::DocumentId::new(&paper), &title)?;
            println!("Renamed paper {paper}: {title}");
        }
    }
    Ok(())
}

/// The event log.
#[derive(Debug, Subcommand)]
pub enum LogCmd {
    /// Re-verify every log: chain, payload hashes, hub signatures, projections.
    Verify,
}

/// `phonghop log …`.
pub fn log(data: Option<&Path>, cmd: LogCmd) -> Result<()> {
    let dir = data_dir(data)?;
    match cmd {
        LogCmd::Verify => {
            let db = dir.join("hub.db");
            if !db.is_file() {
                return Err(phonghop_hub::HubError::NotInitialised(dir.to_path_buf()).into());
            }
            let r = phonghop_store::verify_database(&db)?;
            println!(
                "OK: {} logs, {} entries ({} redacted), {} hub signatures verified (key {}), projections match the log",
                r.logs, r.entries, r.redacted, r.signatures, r.hub_fingerprint
            );
        }
    }
    Ok(())
}

/// `phonghop audit FILE`: verifies an export offline.
pub fn audit(file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let export: phonghop_core::audit::MeetingExport = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a Phonghop meeting export", file.display()))?;
    let r = phonghop_core::audit::audit(&export).map_err(|e| anyhow!("AUDIT FAILED: {e}"))?;
    println!(
        "AUDIT OK: {} entries (chain and hub signatures), {} ballot signatures verified, {} polls recounted",
        r.entries,
        r.ballot_signatures,
        r.polls.len()
    );
    for p in &r.polls {
        let counts: Vec<String> = p
            .options
            .iter()
            .zip(&p.counts)
            .map(|(o, c)| format!("{o} {c}"))
            .collect();
        let result = match p.outcome {
            Some(o) if o.passed => format!("PASSED ({} of {} needed)", o.approve, o.required),
            Some(o) => format!("NOT PASSED ({} of {} needed)", o.approve, o.required),
            None => "not closed".into(),
        };
        let kind = if p.secret { "secret" } else { "named" };
        println!(
            "  {} [{kind}] {} — {} → {result}",
            p.poll,
            p.question,
            counts.join(", ")
        );
    }
    Ok(())
}
