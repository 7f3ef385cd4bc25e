//! Secretariat commands: init, people, meetings, agenda, papers, log verify.
//! Each parses arguments, calls the hub library once, prints the result.
//!
//! Reads open the folder read-only. Writes are [`AdminOp`]s sent through
//! the folder's one writer ([`phonghop_hub::admin::submit`]): the hub
//! serving it, if one runs, else this process.

use crate::{show, time};
use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::{Subcommand, ValueEnum};
use phonghop_core::{Confidentiality, PersonId, Role};
use phonghop_hub::admin::{AdminOp, AdminReply, Done};
use phonghop_hub::HubDir;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one paper's analysis may take before it is refused.
pub const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(120);

fn data_dir(data: Option<&Path>) -> Result<&Path> {
    data.ok_or_else(|| anyhow!("no data folder: pass --data DIR or set PHONGHOP_DATA"))
}

/// The folder, to read (whoever writes it).
pub(crate) fn read(data: Option<&Path>) -> Result<HubDir> {
    Ok(HubDir::open_read_only(data_dir(data)?)?)
}

/// One write, through the folder's one writer (the running hub, or here).
pub(crate) fn write(data: Option<&Path>, op: AdminOp) -> Result<Done> {
    let AdminReply { done, .. } = phonghop_hub::admin::submit(data_dir(data)?, op, time::now())?;
    Ok(done)
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
    match cmd {
        PersonCmd::Add {
            name,
            title,
            unit,
            id,
        } => {
            let done = write(
                data,
                AdminOp::AddPerson {
                    id,
                    name,
                    title,
                    unit,
                },
            )?;
            if let Done::PersonAdded { person } = done {
                println!("{person}");
            }
        }
        PersonCmd::List => {
            let hub = read(data)?;
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
    /// How long devices keep the meeting's pack, on their own clock (also
    /// offline): delete it N days after the session closes; lock it on a
    /// device that has not reached the hub for M days. Leaving one out
    /// removes that part of the rule.
    Retention {
        /// Meeting id.
        meeting: String,
        /// Days after the session closes.
        #[arg(long, value_name = "N")]
        delete_after_days: Option<u32>,
        /// Days without reaching the hub.
        #[arg(long, value_name = "M")]
        lock_after_offline_days: Option<u32>,
        /// The app asks for its PIN again after this many idle minutes.
        #[arg(long, value_name = "MINUTES")]
        idle_lock_minutes: Option<u32>,
    },
    /// Publish a draft meeting: its members can now see it.
    Publish {
        /// Meeting id.
        meeting: String,
    },
}

/// `phonghop meeting …`.
pub fn meeting(data: Option<&Path>, cmd: MeetingCmd) -> Result<()> {
    match cmd {
        MeetingCmd::Create {
            title,
            body,
            starts_at,
            place,
            id,
        } => {
            let starts_at = starts_at.as_deref().map(time::parse).transpose()?;
            let done = write(
                data,
                AdminOp::CreateMeeting {
                    id,
                    body,
                    title,
                    starts_at,
                    place,
                },
            )?;
            if let Done::MeetingCreated { meeting } = done {
                println!("{meeting}");
            }
        }
        MeetingCmd::Edit {
            meeting,
            title,
            body,
            starts_at,
            place,
        } => {
            let starts_at = starts_at.as_deref().map(time::parse).transpose()?;
            write(
                data,
                AdminOp::EditMeeting {
                    meeting: meeting.clone(),
                    body,
                    title,
                    starts_at: starts_at.map(Some),
                    place: place.map(Some),
                },
            )?;
            println!("Changed meeting {meeting}");
        }
        MeetingCmd::List => {
            for m in read(data)?.store().state().meetings.values() {
                println!("{}\t{}\t{} — {}", m.id, m.status.code(), m.body, m.title);
            }
        }
        MeetingCmd::Show { meeting } => print!("{}", show::agenda(read(data)?.meeting(&meeting)?)),
        MeetingCmd::AddMember {
            meeting,
            person,
            role,
        } => {
            write(
                data,
                AdminOp::AddMember {
                    meeting,
                    person,
                    role: role.into(),
                },
            )?;
        }
        MeetingCmd::Retention {
            meeting,
            delete_after_days,
            lock_after_offline_days,
            idle_lock_minutes,
        } => {
            let retention = phonghop_core::Retention {
                delete_after_days,
                lock_after_offline_days,
                idle_lock_minutes,
            };
            ensure!(
                retention.is_valid(),
                "at most {} days for either period, and an idle lock of 1 to {} minutes",
                phonghop_core::retention::MAX_DAYS,
                phonghop_core::retention::MAX_IDLE_MINUTES
            );
            write(
                data,
                AdminOp::SetRetention {
                    meeting: meeting.clone(),
                    retention,
                },
            )?;
            println!("Retention of {meeting}: {retention:?}");
        }
        MeetingCmd::Export { meeting, out } => {
            let export = read(data)?.export(&meeting)?;
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
            let f = phonghop_hub::minutes::write_minutes(&read(data)?, &meeting, &out_dir, &font)?;
            println!(
                "Wrote {} ({} polls) and {} ({} pages, a draft for the secretary to check)",
                f.csv.display(),
                f.polls,
                f.pdf.display(),
                f.pages
            );
        }
        MeetingCmd::Publish { meeting } => {
            write(
                data,
                AdminOp::Publish {
                    meeting: meeting.clone(),
                },
            )?;
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
    match cmd {
        AgendaCmd::Add {
            meeting,
            number,
            title,
            presenter,
            minutes,
        } => {
            write(
                data,
                AdminOp::AddAgendaItem {
                    meeting,
                    number: Some(number.clone()),
                    under: None,
                    title: title.clone(),
                    presenter,
                    planned_minutes: minutes,
                },
            )?;
            println!("Added agenda item {number}: {title}");
        }
        AgendaCmd::Edit {
            meeting,
            number,
            title,
            presenter,
            minutes,
        } => {
            write(
                data,
                AdminOp::EditAgendaItem {
                    meeting: meeting.clone(),
                    number,
                    title,
                    presenter: presenter.map(Some),
                    planned_minutes: minutes.map(Some),
                },
            )?;
            print!("{}", show::agenda(read(data)?.meeting(&meeting)?));
        }
        AgendaCmd::Move {
            meeting,
            number,
            to,
            under,
        } => {
            write(
                data,
                AdminOp::MoveAgendaItem {
                    meeting: meeting.clone(),
                    number,
                    under,
                    position: to,
                },
            )?;
            print!("{}", show::agenda(read(data)?.meeting(&meeting)?));
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
        /// Title (default: the PDF's own title, then its first heading, then the file name).
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
    match cmd {
        PaperCmd::Add {
            file,
            meeting,
            item,
            title,
            confidential,
            members_only,
        } => {
            read(data)?.meeting(&meeting)?;
            let analysis = analyze(&file)?;
            // The hub that stores it may run in another folder.
            let file = std::fs::canonicalize(&file)
                .with_context(|| format!("cannot find {}", file.display()))?;
            let confidentiality = if !confidential.is_empty() {
                Confidentiality::Named(confidential.into_iter().map(PersonId::new).collect())
            } else if members_only {
                Confidentiality::Members
            } else {
                Confidentiality::Public
            };
            let (pages, chars) = (analysis.page_count, analysis.char_count());
            let done = write(
                data,
                AdminOp::AddPaper {
                    meeting,
                    file: file.clone(),
                    analysis: Box::new(analysis),
                    item,
                    title,
                    confidentiality,
                },
            )?;
            if let Done::PaperAdded { paper } = done {
                println!(
                    "Added paper {paper}: {} ({pages} pages, {chars} characters of text)",
                    file.display(),
                );
            }
        }
        PaperCmd::Rename {
            paper,
            meeting,
            title,
        } => {
            write(
                data,
                AdminOp::RenamePaper {
                    meeting,
                    paper: phonghop_core::DocumentId::new(&paper),
                    title: title.clone(),
                },
            )?;
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
pub fn audit(file: &Path, hub_key: Option<&str>) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let export: phonghop_core::audit::MeetingExport = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a Phonghop meeting export", file.display()))?;
    // The export names the key it was signed with: an export re-signed with
    // another key verifies against itself, so trust is anchored here, on
    // the fingerprint the hub printed when it was set up.
    let signer = export.hub_key.fingerprint();
    if let Some(expected) = hub_key {
        if !export.hub_key.is_named_by(expected) {
            bail!(
                "AUDIT FAILED: {} is signed by hub key {signer}, not by the expected {}",
                file.display(),
                expected.trim()
            );
        }
    }
    let r = phonghop_core::audit::audit(&export).map_err(|e| anyhow!("AUDIT FAILED: {e}"))?;
    println!(
        "AUDIT OK: {} entries (chain and hub signatures), {} ballot signatures verified, {} polls recounted",
        r.entries,
        r.ballot_signatures,
        r.polls.len()
    );
    match hub_key {
        Some(_) => println!("  Signed by the expected hub key {signer}."),
        None => println!(
            "  Signed by hub key {signer}: compare it with the one `phonghop init` and `phonghop log verify` print on the hub, or pass --hub-key {signer}."
        ),
    }
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
