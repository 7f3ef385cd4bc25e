//! The room before the first step, and the hub process.
//!
//! [`Template`]: one hub folder with people, two published meetings (the
//! room's and another one only some people belong to), an agenda and three
//! real papers — public, members only, and named readers — plus seven
//! devices already paired and synced (chair, four delegates, an observer,
//! the secretary). Typesetting and analysing PDFs is slow, so the template
//! is built once per process and copied for every seed.
//!
//! [`HubProc`]: `phonghop_hub::server::run` on its own tokio runtime, on a
//! port fixed at its first start, with the simulation's clock; stopped
//! through its shutdown future or killed (the runtime dropped, as a crash
//! would).

use anyhow::{bail, Context, Result};
use phonghop_client::Client;
use phonghop_core::*;
use phonghop_hub::server::{self, ServerConfig};
use phonghop_hub::{HubDir, HubError, NewMeeting, NewPaper};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The room's meeting.
pub const MEETING: &str = "ky-hop-mo-phong";
/// Another meeting on the same hub, of which only some people are members.
pub const OTHER: &str = "hop-khac";
/// A meeting that does not exist.
pub const NOWHERE: &str = "khong-ton-tai";
/// The chair.
pub const CHAIR: &str = "chu-toa";
/// The secretary (a device; the secretariat also works on the hub itself).
pub const SECRETARY: &str = "thu-ky";
/// The observer.
pub const OBSERVER: &str = "quan-sat";
/// How many delegates.
pub const DELEGATES: usize = 4;
/// When the template's meeting was prepared (ms since the epoch).
pub const PREPARED_AT: i64 = 1_760_000_000_000;

/// Delegate `n` (1-based).
pub fn delegate(n: usize) -> String {
    format!("dai-bieu-{n}")
}

/// Who may read the named-readers paper (besides the secretariat).
pub fn named_readers() -> Vec<PersonId> {
    [CHAIR.to_string(), delegate(1), delegate(2)]
        .into_iter()
        .map(PersonId::new)
        .collect()
}

/// A paper of the room's meeting.
#[derive(Debug, Clone)]
pub struct PaperInfo {
    /// Its id.
    pub id: DocumentId,
    /// Its title.
    pub title: String,
    /// Who may read it.
    pub confidentiality: Confidentiality,
    /// Pages of each version.
    pub pages: Vec<u32>,
    /// Words found only inside this paper's text (one per version).
    pub salts: Vec<String>,
    /// Hex SHA-256 of each version's file and analysis.
    pub shas: Vec<String>,
}

/// A version kept aside for the secretariat to add during a run.
#[derive(Debug, Clone)]
pub struct Spare {
    /// Index of the paper in [`Template::papers`].
    pub paper: usize,
    /// The PDF.
    pub file: PathBuf,
    /// Its analysis.
    pub analysis: phonghop_pdf::Analysis,
    /// The word only its text holds.
    pub salt: String,
}

/// The prepared room, copied for every seed.
#[derive(Debug)]
pub struct Template {
    tmp: tempfile::TempDir,
    /// The hub's log key.
    pub hub_key: PublicKey,
    /// Members of the room's meeting with their roles.
    pub people: Vec<(PersonId, Role)>,
    /// Members of [`OTHER`].
    pub other_members: Vec<PersonId>,
    /// Agenda items of the room's meeting, in order.
    pub items: Vec<AgendaItemId>,
    /// Papers: public, members only, named readers.
    pub papers: Vec<PaperInfo>,
    /// Versions to add during a run.
    pub spares: Vec<Spare>,
    /// Heads of the meeting and personal logs when the template was made.
    pub heads: BTreeMap<LogId, u64>,
}

/// A temp folder for the simulation: on tmpfs (`/dev/shm`) when there is
/// one, where SQLite's fsyncs cost nothing; `PHONGHOP_SIM_TMP` overrides.
pub fn sim_tmp(prefix: &str) -> Result<tempfile::TempDir> {
    let base = std::env::var_os("PHONGHOP_SIM_TMP")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .or_else(|_| tempfile::Builder::new().prefix(prefix).tempdir())
        .context("cannot make a temp folder for the simulation")
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)
                .with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}

fn analyse(file: &Path) -> Result<phonghop_pdf::Analysis> {
    phonghop_pdf::analyze(file).with_context(|| format!("analysing {}", file.display()))
}

impl Template {
    /// The hub folder.
    pub fn hub_dir(&self) -> PathBuf {
        self.tmp.path().join("hub")
    }

    /// The template's folder of `person`'s device.
    pub fn device_dir(&self, person: &PersonId) -> PathBuf {
        self.tmp.path().join("devices").join(person.as_str())
    }

    /// Builds the room (slow: PDFs are typeset and analysed). Runs its own
    /// runtime; call it outside any.
    pub fn build() -> Result<Template> {
        let tmp = sim_tmp("phonghop-sim-template-")?;
        let data = tmp.path().join("hub");
        let pdfs = tmp.path().join("pdf");
        let mut hub = HubDir::init(&data)?;
        let delegates: Vec<String> = (1..=DELEGATES).map(delegate).collect();
        let mut people = vec![
            (PersonId::new(CHAIR), Role::Chair),
            (PersonId::new(SECRETARY), Role::Secretariat),
            (PersonId::new(OBSERVER), Role::Observer),
        ];
        people.extend(
            delegates
                .iter()
                .map(|d| (PersonId::new(d.as_str()), Role::Delegate)),
        );
        for (p, _) in &people {
            crate::hub::add_person(&mut hub, p.as_str())?;
        }
        let at = Timestamp(PREPARED_AT);
        for (id, title) in [
            (MEETING, "Kỳ họp mô phỏng"),
            (OTHER, "Phiên họp thường trực"),
        ] {
            hub.create_meeting(
                NewMeeting {
                    id: Some(id.into()),
                    body: "HĐND tỉnh Sơn Hà".into(),
                    title: title.into(),
                    starts_at: Some(Timestamp(PREPARED_AT + 86_400_000)),
                    place: Some("Hội trường tầng 2".into()),
                },
                at,
            )?;
        }
        for (p, role) in &people {
            hub.add_member(MEETING, p.as_str(), *role)?;
        }
        let other_members = vec![
            PersonId::new(CHAIR),
            PersonId::new(SECRETARY),
            PersonId::new(delegate(1)),
        ];
        hub.add_member(OTHER, CHAIR, Role::Chair)?;
        hub.add_member(OTHER, SECRETARY, Role::Secretariat)?;
        hub.add_member(OTHER, &delegate(1), Role::Delegate)?;
        let mut items = Vec::new();
        for (n, title) in [
            ("1", "Khai mạc kỳ họp"),
            ("2", "Báo cáo kinh tế - xã hội"),
            ("3", "Nhân sự (mật)"),
        ] {
            items.push(hub.add_agenda_item(MEETING, n, title, None, Some(20))?);
        }
        hub.add_agenda_item(OTHER, "1", "Thông qua chương trình", None, None)?;
        let specs = [
            (
                "cong-khai",
                "simxq0congkhai",
                "Tờ trình công khai simxq0tieude",
                Confidentiality::Public,
                "1",
                18,
            ),
            (
                "thanh-vien",
                "simxq1thanhvien",
                "Báo cáo nội bộ simxq1tieude",
                Confidentiality::Members,
                "2",
                6,
            ),
            (
                "mat",
                "simxq2mat",
                "Tờ trình nhân sự mật simxq2tieude",
                Confidentiality::Named(named_readers()),
                "3",
                10,
            ),
        ];
        let mut papers = Vec::new();
        for (name, salt, title, conf, item, paragraphs) in specs {
            let file = crate::papers::text_pdf(&pdfs, name, salt, paragraphs)?;
            let analysis = analyse(&file)?;
            let id = hub.add_paper(
                MEETING,
                NewPaper {
                    file: &file,
                    analysis: &analysis,
                    item_number: Some(item),
                    title: Some(title.into()),
                    confidentiality: conf.clone(),
                },
                at,
            )?;
            let doc = hub
                .meeting(MEETING)?
                .documents
                .get(&id)
                .context("the paper just added")?;
            papers.push(PaperInfo {
                id: id.clone(),
                title: title.into(),
                confidentiality: conf,
                pages: doc.versions.iter().map(|v| v.pages.unwrap_or(1)).collect(),
                salts: vec![salt.into()],
                shas: doc
                    .versions
                    .iter()
                    .flat_map(|v| [Some(v.sha256), v.analysis])
                    .flatten()
                    .map(|h| h.to_hex())
                    .collect(),
            });
        }
        let mut spares = Vec::new();
        for (paper, name, salt) in [
            (0, "cong-khai-v2", "simxq0banhai"),
            (2, "mat-v2", "simxq2banhai"),
        ] {
            let file = crate::papers::text_pdf(&pdfs, name, salt, 8)?;
            let analysis = analyse(&file)?;
            spares.push(Spare {
                paper,
                file,
                analysis,
                salt: salt.into(),
            });
        }
        hub.publish(MEETING, at)?;
        hub.publish(OTHER, at)?;
        let hub_key = hub.public_key();
        let mut invites = Vec::new();
        for (p, _) in &people {
            invites.push((p.clone(), hub.create_invite(p.as_str(), 86_400_000, at)?));
        }
        let heads = hub
            .store()
            .heads()
            .iter()
            .filter(|(l, _)| **l != LogId::Directory)
            .map(|(l, h)| (l.clone(), h.0))
            .collect();
        drop(hub);

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let devices = tmp.path().join("devices");
        rt.block_on(async {
            let clock = Arc::new(AtomicI64::new(PREPARED_AT + 60_000));
            let mut proc = HubProc::new(&data, clock);
            proc.start().await?.map_err(anyhow::Error::msg)?;
            for (p, code) in &invites {
                let invite = format!("phonghop:{code}@{}", proc.addr());
                let c = Client::join(&devices.join(p.as_str()), &invite, &format!("Máy {p}"))
                    .await
                    .with_context(|| format!("pairing {p}'s device"))?;
                c.sync_once()
                    .await
                    .with_context(|| format!("first sync of {p}'s device"))?;
            }
            proc.stop().await.map_err(anyhow::Error::msg)?;
            Ok::<_, anyhow::Error>(())
        })?;
        drop(rt);
        let t = Template {
            tmp,
            hub_key,
            people,
            other_members,
            items,
            papers,
            spares,
            heads,
        };
        t.check_markers_visible()?;
        Ok(t)
    }

    /// The leak check greps a device's files for a paper's id, title, text
    /// and hashes: it must see them where they are, or it proves nothing.
    fn check_markers_visible(&self) -> Result<()> {
        let reader = super::check::device_bytes(&self.device_dir(&PersonId::new(CHAIR)))?;
        for p in &self.papers {
            let mut markers = vec![p.id.to_string(), p.title.clone()];
            markers.extend(p.salts.iter().cloned());
            markers.extend(p.shas.iter().cloned());
            for m in markers {
                if !super::check::contains(&reader, m.as_bytes()) {
                    bail!(
                        "the chair's device does not hold '{m}' of paper {} in a form the leak \
                         check can find; fix the leak check before trusting it",
                        p.id
                    );
                }
            }
        }
        Ok(())
    }
}

struct Running {
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), HubError>>,
    /// The folder's one writer, which the server serves.
    hub: server::Hub,
}

/// A hub serving a data folder, with an injectable clock.
pub struct HubProc {
    data: PathBuf,
    port: u16,
    clock: Arc<AtomicI64>,
    running: Option<Running>,
    http: reqwest::Client,
}

impl std::fmt::Debug for HubProc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubProc")
            .field("data", &self.data)
            .field("port", &self.port)
            .field("running", &self.running.is_some())
            .finish()
    }
}

impl Drop for HubProc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl HubProc {
    /// A hub for `data` whose clock reads `clock` (ms since the epoch).
    pub fn new(data: &Path, clock: Arc<AtomicI64>) -> HubProc {
        HubProc {
            data: data.to_path_buf(),
            port: 0,
            clock,
            running: None,
            http: crate::raw::http(),
        }
    }

    /// Where it listens (fixed after the first start).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Whether it runs.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The running hub (the folder's one writer), if it runs.
    pub fn handle(&self) -> Option<server::Hub> {
        self.running.as_ref().map(|r| r.hub.clone())
    }

    /// Starts the server and waits until it answers. The outer error is
    /// the harness's; the inner one is the hub failing to start (its
    /// folder does not open).
    pub async fn start(&mut self) -> Result<std::result::Result<(), String>> {
        anyhow::ensure!(self.running.is_none(), "the hub is already running");
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e).context("cannot bind the hub's port again"),
            }
        };
        self.port = listener.local_addr()?.port();
        let mut config = ServerConfig::new(&self.data);
        config.inbox = false;
        config.pdf_worker = None;
        let clock = self.clock.clone();
        config.clock = Arc::new(move || Timestamp(clock.load(Ordering::SeqCst)));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sim-hub")
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let hub = match tokio::task::spawn_blocking(move || server::Hub::open(config)).await? {
            Ok(hub) => hub,
            Err(e) => {
                shut(rt);
                return Ok(Err(e.to_string()));
            }
        };
        let task = rt.spawn(server::serve(hub.clone(), listener, async move {
            let _ = stopped.await;
        }));
        self.running = Some(Running {
            rt,
            stop: Some(stop),
            task,
            hub,
        });
        let url = format!("http://{}/v1/meetings", self.addr());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.running.as_ref().is_some_and(|r| r.task.is_finished()) {
                let r = self.running.take().context("running")?;
                let outcome = r.task.await;
                shut(r.rt);
                return Ok(Err(match outcome {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(())) => "the hub stopped at once".into(),
                    Err(e) => format!("the hub panicked: {e}"),
                }));
            }
            if self.http.get(&url).send().await.is_ok() {
                return Ok(Ok(()));
            }
            if Instant::now() > deadline {
                bail!("the hub did not answer within 20 s of starting");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops it through its shutdown future and waits for `run` to return;
    /// `Err` carries the error `run` returned.
    pub async fn stop(&mut self) -> std::result::Result<(), String> {
        let Some(mut r) = self.running.take() else {
            return Ok(());
        };
        if let Some(s) = r.stop.take() {
            let _ = s.send(());
        }
        let outcome = tokio::time::timeout(Duration::from_secs(15), &mut r.task).await;
        shut(r.rt);
        match outcome {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e.to_string()),
            Ok(Err(e)) => Err(format!("the hub panicked: {e}")),
            Err(_) => Err("the hub did not stop within 15 s of its shutdown".into()),
        }
    }

    /// Kills it: every task and socket dropped at once.
    pub fn kill(&mut self) {
        if let Some(r) = self.running.take() {
            shut(r.rt);
        }
    }
}

/// Drops a runtime from outside any async context (that blocks).
fn shut(rt: tokio::runtime::Runtime) {
    let t = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(5)));
    let _ = t.join();
}
