//! A real hub for tests: a data folder in a temp dir with one published
//! meeting, served in-process by `phonghop_hub::server::run` on
//! `127.0.0.1` from its own tokio runtime — so the test can *kill* it
//! (drop every task and socket at once, as a crash would) and start it
//! again on the same port, which the clients' pairings name.
//!
//! While it runs the hub is the folder's one writer: the test writes
//! through it ([`TestHub::write`], [`TestHub::admin`]), as the app's
//! screens and the CLI do, and reads a read-only view ([`TestHub::hub`]).

use anyhow::{Context, Result};
use phonghop_client::Client;
use phonghop_core::*;
use phonghop_hub::admin::{self, AdminOp, AdminReply, Route};
use phonghop_hub::server::{self, ServerConfig};
use phonghop_hub::{HubDir, HubError, NewMeeting, NewPaper, NewPerson};
use phonghop_store::Store;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The meeting every sync test uses.
pub const MEETING: &str = "ky-hop-thu";
/// Its chair.
pub const CHAIR: &str = "chu-toa";
/// Its secretary.
pub const SECRETARY: &str = "thu-ky";

/// Delegate `n` (1-based) of the test meeting.
pub fn delegate(n: usize) -> String {
    format!("dai-bieu-{n}")
}

/// A paper to put in the test meeting.
#[derive(Debug, Clone)]
pub struct Paper {
    /// The PDF.
    pub file: PathBuf,
    /// Agenda number ("1" or "2"), or none.
    pub item: Option<&'static str>,
    /// Who may read it.
    pub confidentiality: Confidentiality,
}

impl Paper {
    /// A paper every member may read, on agenda item 1.
    pub fn members(file: PathBuf) -> Paper {
        Paper {
            file,
            item: Some("1"),
            confidentiality: Confidentiality::Members,
        }
    }
}

struct Running {
    rt: tokio::runtime::Runtime,
    _stop: tokio::sync::oneshot::Sender<()>,
    /// The folder's one writer, which the server serves.
    hub: server::Hub,
}

/// A hub data folder and, when started, its server.
pub struct TestHub {
    tmp: tempfile::TempDir,
    /// The hub data folder.
    pub data: PathBuf,
    port: u16,
    running: Option<Running>,
    /// Watch `data/inbox/` (off unless a test turns it on).
    pub inbox: bool,
    /// The PDF analysis child for the inbox.
    pub pdf_worker: Option<PathBuf>,
    clients: usize,
}

impl std::fmt::Debug for TestHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestHub")
            .field("data", &self.data)
            .field("port", &self.port)
            .field("running", &self.running.is_some())
            .finish()
    }
}

/// Analyses a PDF in this process (PDFium behind its global lock) and adds
/// it to a meeting; returns the paper's id.
pub fn add_paper(hub: &mut HubDir, meeting: &str, p: &Paper) -> Result<DocumentId> {
    let analysis = phonghop_pdf::analyze(&p.file)?;
    Ok(hub.add_paper(
        meeting,
        NewPaper {
            file: &p.file,
            analysis: &analysis,
            item_number: p.item,
            title: None,
            confidentiality: p.confidentiality.clone(),
        },
        Timestamp(1_000),
    )?)
}

/// The rules of [`TestHub::with_meeting`]'s meeting: no quorum, and a
/// ballot checks its voter in.
pub const NO_QUORUM: MeetingRules = MeetingRules {
    quorum: Threshold::Fraction {
        numerator: 0,
        denominator: 1,
        strict: false,
    },
    unchecked_ballot: UncheckedBallot::CheckIn,
};

/// Registers a person (id = name's stand-in).
pub fn add_person(hub: &mut HubDir, id: &str) -> Result<()> {
    hub.add_person(NewPerson {
        id: Some(id.into()),
        name: format!("Ông/Bà {id}"),
        title: None,
        unit: None,
    })?;
    Ok(())
}

impl TestHub {
    /// A hub whose meeting [`MEETING`] has a chair, a secretary,
    /// `delegates` delegates, two agenda items and `papers`, published —
    /// and, with `in_session`, opened (so speaker requests are accepted).
    pub fn with_meeting(delegates: usize, papers: &[Paper], in_session: bool) -> Result<TestHub> {
        let tmp = tempfile::tempdir()?;
        let data = tmp.path().join("hub");
        let mut hub = HubDir::init(&data)?;
        for p in [CHAIR.to_string(), SECRETARY.to_string()]
            .into_iter()
            .chain((1..=delegates).map(delegate))
        {
            add_person(&mut hub, &p)?;
        }
        hub.create_meeting(
            NewMeeting {
                id: Some(MEETING.into()),
                body: "HĐND tỉnh Sơn Hà".into(),
                title: "Kỳ họp thử nghiệm đồng bộ".into(),
                starts_at: Some(Timestamp(2_000_000_000_000)),
                place: Some("Hội trường tầng 2".into()),
            },
            Timestamp(1_000),
        )?;
        hub.add_member(MEETING, CHAIR, Role::Chair)?;
        hub.add_member(MEETING, SECRETARY, Role::Secretariat)?;
        for n in 1..=delegates {
            hub.add_member(MEETING, &delegate(n), Role::Delegate)?;
        }
        // Tests of other things than the quorum guard vote with whoever
        // paired, checked in or not (tests/safeguards.rs sets the law's
        // rules, `MeetingRules::default()`, and tests the guard).
        hub.set_meeting_rules(MEETING, NO_QUORUM)?;
        hub.add_agenda_item(MEETING, "1", "Khai mạc kỳ họp", None, Some(10))?;
        hub.add_agenda_item(MEETING, "2", "Xem xét các tờ trình", None, Some(60))?;
        for p in papers {
            add_paper(&mut hub, MEETING, p)?;
        }
        hub.publish(MEETING, Timestamp(2_000))?;
        if in_session {
            hub.append(
                &LogId::Meeting(MeetingId::new(MEETING)),
                &[Event::SessionStarted {
                    at: Timestamp(3_000),
                }],
            )?;
        }
        Ok(TestHub {
            tmp,
            data,
            port: 0,
            running: None,
            inbox: false,
            pdf_worker: None,
            clients: 0,
        })
    }

    /// The temp folder everything of this test lives in.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// The data folder: while the hub runs, a read-only view (as the CLI's
    /// reads open it); otherwise open for writing, as the CLI's writes do
    /// when no hub runs. Write to a running hub with [`TestHub::write`].
    pub fn hub(&self) -> Result<HubDir> {
        Ok(match &self.running {
            Some(_) => HubDir::open_read_only(&self.data)?,
            None => HubDir::open(&self.data)?,
        })
    }

    /// The running hub (the folder's one writer), if it runs.
    pub fn server(&self) -> Option<server::Hub> {
        self.running.as_ref().map(|r| r.hub.clone())
    }

    /// Runs `f` on the folder's one writer: through the running hub (which
    /// publishes what it appends to the devices at once), or on the folder
    /// opened here when no hub runs.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut HubDir) -> Result<T, E>) -> Result<T>
    where
        anyhow::Error: From<E> + From<HubError>,
    {
        Ok(match &self.running {
            Some(r) => r.hub.write_blocking(f)?,
            None => f(&mut HubDir::open(&self.data)?)?,
        })
    }

    /// One secretariat operation, as the CLI sends it: through this test's
    /// hub if it runs, else through whichever hub serves the folder (its
    /// admin endpoint), else on the folder directly.
    pub fn admin(&self, op: AdminOp) -> Result<AdminReply> {
        Ok(match &self.running {
            Some(r) => r.hub.write_blocking(|h| admin::execute(h, op, now()))?,
            None => admin::submit(&self.data, op, now())?,
        })
    }

    /// One-time invite codes for `people` (an hour each), made the way
    /// [`TestHub::admin`] writes.
    pub fn invite_codes(&self, people: &[String]) -> Result<Vec<String>> {
        let op = |p: &String| AdminOp::CreateInvite {
            person: p.clone(),
            ttl_ms: 3_600_000,
        };
        let code = |r: AdminReply| match r.done {
            admin::Done::InviteCreated { code, .. } => Ok(code),
            other => anyhow::bail!("not an invite: {other:?}"),
        };
        if let Some(r) = &self.running {
            return r.hub.write_blocking(|h| {
                people
                    .iter()
                    .map(|p| code(admin::execute(h, op(p), now())?))
                    .collect()
            });
        }
        match admin::route(&self.data)? {
            Route::Direct(mut h) => people
                .iter()
                .map(|p| code(admin::execute(&mut h, op(p), now())?))
                .collect(),
            Route::Served(remote) => people
                .iter()
                .map(|p| code(remote.send_blocking(op(p), now())?))
                .collect(),
        }
    }

    /// A read-only look at hub.db (a fresh connection: what is committed).
    pub fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.data.join("hub.db"))?)
    }

    /// Where the hub listens (port fixed after the first start).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts the server: on a free port the first time, then on the same
    /// port again (retrying while the old socket is released).
    pub fn start(&mut self) -> Result<()> {
        anyhow::ensure!(self.running.is_none(), "the hub is already running");
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e).context("cannot bind the hub's port again"),
            }
        };
        self.port = listener.local_addr()?.port();
        let mut config = ServerConfig::new(&self.data);
        config.inbox = self.inbox;
        // Never the test binary itself (the default is current_exe).
        config.pdf_worker = self.pdf_worker.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-hub")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let hub = server::Hub::open(config)?;
        rt.spawn(server::serve(hub.clone(), listener, async move {
            let _ = stopped.await;
        }));
        self.running = Some(Running {
            rt,
            _stop: stop,
            hub,
        });
        // Up once it has recorded itself for this computer's programs.
        let up = Instant::now() + Duration::from_secs(10);
        while phonghop_hub::serving::Serving::answering(&self.data)
            .is_none_or(|s| s.listen != self.addr())
        {
            anyhow::ensure!(Instant::now() < up, "the hub did not start within 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Kills the server: every task, connection and socket is dropped at
    /// once (no graceful shutdown), as if the process died.
    pub fn kill(&mut self) {
        if let Some(r) = self.running.take() {
            // Shutting a runtime down blocks; do it off any async context.
            // The hub (and the folder's lock) goes with its last task.
            let Running { rt, hub, .. } = r;
            drop(hub);
            let t = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(5)));
            let _ = t.join();
        }
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// A one-time invite string for `person`, pointing at `addr`.
    pub fn invite_at(&self, person: &str, addr: SocketAddr) -> Result<String> {
        let code = self.invite_codes(&[person.to_string()])?.remove(0);
        Ok(format!("phonghop:{code}@{addr}"))
    }

    /// A one-time invite string for `person`, pointing at this hub.
    pub fn invite(&self, person: &str) -> Result<String> {
        self.invite_at(person, self.addr())
    }

    /// A fresh client folder under this test's temp dir.
    pub fn client_dir(&mut self, person: &str) -> PathBuf {
        self.clients += 1;
        self.tmp
            .path()
            .join("clients")
            .join(format!("{person}-{}", self.clients))
    }

    /// Joins a new device of `person` to the hub (directly).
    pub async fn join(&mut self, person: &str) -> Result<Client> {
        let invite = self.invite(person)?;
        let dir = self.client_dir(person);
        Ok(Client::join(&dir, &invite, &format!("Máy của {person}")).await?)
    }

    /// Joins a new device of `person` through `addr` (a proxy).
    pub async fn join_via(&mut self, person: &str, addr: SocketAddr) -> Result<Client> {
        let invite = self.invite_at(person, addr)?;
        let dir = self.client_dir(person);
        Ok(Client::join(&dir, &invite, &format!("Máy của {person}")).await?)
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Wall-clock now (only for invite expiry; tests never assert on time).
pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

/// Every event of `log` in the hub's committed database (redacted ones are
/// impossible on the hub, so all are present).
pub fn events(store: &Store, log: &LogId) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for e in store.entries(log, 0)? {
        if let Some(ev) = e.event()? {
            out.push(ev);
        }
    }
    Ok(out)
}

/// The projection dump without the directory tables (`bodies`, `persons`,
/// `devices`): devices replicate only meeting and personal logs, never the
/// hub's directory log, so those tables are empty on every client by design.
pub fn meeting_projection(store: &Store) -> Result<String> {
    let dump = store.dump_projection()?;
    let mut out = String::new();
    let mut skip = false;
    for line in dump.lines() {
        if let Some(table) = line.strip_prefix("# ") {
            skip = matches!(table, "bodies" | "persons" | "devices");
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Polls `f` every 50 ms until it returns `Some`, or fails after `limit`.
pub async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            anyhow::bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An annotation by `author` on page 1 of version 1 of `document`.
pub fn note(id: &str, author: &str, document: &DocumentId, visibility: Visibility) -> Annotation {
    Annotation {
        id: AnnotationId::new(id),
        author: PersonId::new(author),
        document: document.clone(),
        version: 1,
        page: 0,
        shape: Shape::Note {
            at: Point { x: 72.0, y: 700.0 },
        },
        color: "#ffcc00".into(),
        text: Some(format!("Ghi chú {id}: cần làm rõ số liệu")),
        visibility,
        updated_at: Timestamp(0),
    }
}
