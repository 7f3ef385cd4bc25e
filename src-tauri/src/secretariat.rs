//! The secretariat's side of the app: a hub embedded in this app (its data
//! in `<app data>/secretariat-hub/`), served to the room by the same axum
//! server as `phonghop hub`, and the commands behind the secretariat's
//! screens (meetings, agenda, papers, people, devices, invites).
//!
//! A hub folder has one writer. The embedded hub is a [`server::Hub`]: the
//! screens write through it — the same writer as the server's requests —
//! and what each write appends reaches the devices at once. Attached to
//! the folder of a `phonghop hub` running on this computer, the app reads
//! through a read-only view that catches up with that hub before each
//! read, and sends its writes to that hub's admin endpoint (or writes the
//! folder itself while no hub runs), exactly as the `phonghop` CLI does.
//! Every write is an [`AdminOp`], carried out by the hub's one
//! [`phonghop_hub::admin::execute`].

use crate::commands::now;
use crate::dto::CmdError;
use phonghop_core::*;
use phonghop_hub::admin::{AdminOp, Done};
use phonghop_hub::server::{self, ServerConfig};
use phonghop_hub::{HubDir, HubError, INVITE_TTL_MS};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Runtime, State};

type Res<T> = Result<T, CmdError>;

/// A paper whose analysis takes longer is refused (a hostile or broken file).
const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(60);

impl From<HubError> for CmdError {
    fn from(e: HubError) -> Self {
        CmdError::new(e.code(), e.to_string())
    }
}

/// How the embedded hub is served; saved next to the hub so the next
/// start serves it the same way.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServeSettings {
    /// TCP port.
    pub port: u16,
    /// Open to the room's network (HTTPS with the hub's pinned
    /// certificate) rather than this computer only (plain HTTP on loopback).
    pub lan: bool,
}

struct Serving {
    settings: ServeSettings,
    /// What goes after the `@` of an invite: `host:port[/fingerprint]`.
    invite_address: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// `<app data>/secretariat.json`: a hub folder this app works on without
/// serving it (a `phonghop hub` on this computer serves it).
#[derive(Debug, Serialize, Deserialize)]
struct Attachment {
    attach: PathBuf,
}

/// The hub folder the screens work on.
#[derive(Clone)]
enum Backing {
    /// This app's own hub: the folder's one writer.
    Embedded {
        hub: server::Hub,
        /// Opened to be served with TLS (a [`server::Hub`] is served once,
        /// with its own settings).
        tls: bool,
        /// Already handed to a server.
        served: bool,
    },
    /// A `phonghop hub` folder: read here, written through that hub.
    Attached {
        dir: PathBuf,
        view: Arc<Mutex<HubDir>>,
    },
}

/// The secretariat's state, managed by Tauri.
pub struct Secretariat {
    /// The embedded hub's folder.
    root: PathBuf,
    /// Where the attachment is recorded.
    attachment_file: PathBuf,
    /// The folder of a hub served by `phonghop hub`, when attached to one.
    attached: Mutex<Option<PathBuf>>,
    hub: Mutex<Option<Backing>>,
    serving: Mutex<Option<Serving>>,
    serve_error: Mutex<Option<CmdError>>,
}

fn no_hub() -> CmdError {
    CmdError::new(
        "no_hub",
        "this app has no meeting hub yet: create one first",
    )
}

impl Secretariat {
    /// The state for an app data folder; opens the embedded hub (or the
    /// attached folder) if this app already has one.
    pub fn new(data: &Path) -> Secretariat {
        let attachment_file = data.join("secretariat.json");
        let attached = std::fs::read(&attachment_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Attachment>(&b).ok())
            .map(|a| a.attach);
        let s = Secretariat {
            root: data.join("secretariat-hub"),
            attachment_file,
            attached: Mutex::new(attached.clone()),
            hub: Mutex::new(None),
            serving: Mutex::new(None),
            serve_error: Mutex::new(None),
        };
        let folder = attached.clone().unwrap_or_else(|| s.root.clone());
        if folder.join("hub.db").exists() {
            let opened = match attached {
                Some(dir) => HubDir::open_read_only(&dir).map(|v| Backing::Attached {
                    dir,
                    view: Arc::new(Mutex::new(v)),
                }),
                None => {
                    let tls = s.saved_settings().is_some_and(|st| st.lan);
                    server::Hub::open(s.config(tls)).map(|hub| Backing::Embedded {
                        hub,
                        tls,
                        served: false,
                    })
                }
            };
            match opened {
                Ok(b) => *s.hub.lock().unwrap_or_else(|p| p.into_inner()) = Some(b),
                Err(e) => *s.serve_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.into()),
            }
        }
        s
    }

    fn settings_path(&self) -> PathBuf {
        self.root.join("app-server.json")
    }

    fn saved_settings(&self) -> Option<ServeSettings> {
        let text = std::fs::read_to_string(self.settings_path()).ok()?;
        match serde_json::from_str::<ServeSettings>(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "unreadable app-server.json");
                None
            }
        }
    }

    /// The embedded hub's server settings.
    fn config(&self, tls: bool) -> ServerConfig {
        let mut config = ServerConfig::new(&self.root);
        config.tls = tls;
        config
    }

    fn attached(&self) -> Option<PathBuf> {
        self.attached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn backing(&self) -> Res<Backing> {
        self.hub
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(no_hub)
    }

    /// `host:port[/fp]` for invites: the embedded server's, or what the
    /// attached hub recorded in its `serving.json`.
    fn invite_address(&self) -> Option<String> {
        match self.attached() {
            Some(dir) => phonghop_hub::admin::running(&dir).map(|s| s.invite_address()),
            None => self
                .serving
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(|s| s.invite_address.clone()),
        }
    }

    /// Serves the embedded hub with its saved settings (at app start).
    pub fn resume(&self) {
        if self.attached().is_some() {
            return;
        }
        if let Some(settings) = self.saved_settings() {
            if let Err(e) = self.serve(settings) {
                tracing::error!(error = %e.message, "cannot serve the embedded hub");
                *self.serve_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
        }
    }

    fn serve(&self, settings: ServeSettings) -> Res<()> {
        if let Some(dir) = self.attached() {
            return Err(CmdError::new(
                "attached",
                format!(
                    "this app works on {}, served by `phonghop hub`: change the port there",
                    dir.display()
                ),
            ));
        }
        let mut serving = self.serving.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut old) = serving.take() {
            if let Some(stop) = old.stop.take() {
                let _ = stop.send(());
            }
            // Let the old listener close before binding the same port again.
            std::thread::sleep(Duration::from_millis(300));
        }
        let ip = if settings.lan { "0.0.0.0" } else { "127.0.0.1" };
        let listener = std::net::TcpListener::bind((ip, settings.port)).map_err(|e| {
            CmdError::new(
                "port_in_use",
                format!("cannot listen on {ip}:{}: {e}", settings.port),
            )
        })?;
        // Invites point here, as they point at a `phonghop hub` (same rule).
        let invite_address = phonghop_hub::serving::Serving {
            listen: listener
                .local_addr()
                .map_err(|e| CmdError::new("io", e.to_string()))?,
            tls: settings.lan,
            fingerprint: match settings.lan {
                true => Some(server::tls::HubCert::load_or_create(&self.root)?.fingerprint()),
                false => None,
            },
            admin: None,
            pid: None,
        }
        .invite_address();
        // A hub is served once, with its settings: another port or reach
        // gets the folder opened again, once the old server let it go.
        let hub = {
            let mut backing = self.hub.lock().unwrap_or_else(|p| p.into_inner());
            let hub = match backing.take() {
                Some(Backing::Embedded { hub, tls, served }) if !served && tls == settings.lan => {
                    hub
                }
                Some(Backing::Embedded { hub, .. }) => {
                    drop(hub);
                    server::Hub::open(self.config(settings.lan))?
                }
                other => {
                    *backing = other;
                    return Err(no_hub());
                }
            };
            *backing = Some(Backing::Embedded {
                hub: hub.clone(),
                tls: settings.lan,
                served: true,
            });
            hub
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tauri::async_runtime::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = server::serve(hub, listener, shutdown).await {
                tracing::error!(error = %e, "the embedded hub stopped");
            }
        });
        let json =
            serde_json::to_vec_pretty(&settings).map_err(|e| CmdError::new("io", e.to_string()))?;
        phonghop_fs::write(&self.settings_path(), &json)
            .map_err(|e| CmdError::new("io", format!("{}: {e}", self.settings_path().display())))?;
        *serving = Some(Serving {
            settings,
            invite_address,
            stop: Some(stop),
        });
        *self.serve_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// Stops serving (at app exit).
    pub fn shutdown(&self) {
        if let Some(mut s) = self
            .serving
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            if let Some(stop) = s.stop.take() {
                let _ = stop.send(());
            }
        }
    }

    /// Reads the hub folder off the UI thread: the embedded hub's state, or
    /// the attached folder after catching up with its hub.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&HubDir) -> Result<T, HubError> + Send + 'static,
    ) -> Res<T> {
        match self.backing()? {
            Backing::Embedded { hub, .. } => Ok(hub.read(f).await?),
            Backing::Attached { view, .. } => tauri::async_runtime::spawn_blocking(move || {
                let mut v = view.lock().unwrap_or_else(|p| p.into_inner());
                v.refresh()?;
                Ok(f(&v)?)
            })
            .await
            .map_err(|e| CmdError::new("internal", e.to_string()))?,
        }
    }

    /// A meeting's rules as the folder has them now.
    async fn rules_of(&self, meeting: &str) -> Res<MeetingRules> {
        let meeting = meeting.to_string();
        self.read(move |h| Ok(h.meeting(&meeting)?.rules)).await
    }

    /// One write through the folder's one writer: the embedded hub, or the
    /// attached folder's hub (its admin endpoint), as the CLI does.
    async fn write(&self, op: AdminOp) -> Res<Done> {
        match self.backing()? {
            Backing::Embedded { hub, .. } => Ok(hub.admin(op).await?.done),
            Backing::Attached { dir, .. } => tauri::async_runtime::spawn_blocking(move || {
                Ok(phonghop_hub::admin::submit(&dir, op, now())?.done)
            })
            .await
            .map_err(|e| CmdError::new("internal", e.to_string()))?,
        }
    }
}

/// The hub did something else than asked (never expected).
fn unexpected(done: Done) -> CmdError {
    CmdError::new(
        "internal",
        format!("unexpected answer from the hub: {done:?}"),
    )
}

// ------------------------------------------------------------------ DTOs

/// Whether this app holds a hub and how it is served.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecStatus {
    /// The app has an embedded hub.
    pub hub: bool,
    /// How it is served, if it is.
    pub serving: Option<ServingDto>,
    /// Why it is not served, if it failed.
    pub error: Option<CmdError>,
}

/// The running server.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServingDto {
    /// Port and reach.
    pub settings: ServeSettings,
    /// Served by a `phonghop hub` on this computer, not by this app.
    pub external: bool,
    /// `host:port[/fingerprint]`, the part of an invite after `@`.
    pub invite_address: String,
}

/// Everything the secretariat's screens show.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecOverview {
    /// Meetings, drafts included, newest first.
    pub meetings: Vec<SecMeeting>,
    /// The directory.
    pub people: Vec<SecPerson>,
}

/// One meeting as the secretariat edits it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecMeeting {
    pub id: String,
    pub body: String,
    pub title: String,
    pub starts_at: Option<i64>,
    pub place: String,
    /// draft, published, in_session, closed.
    pub status: String,
    pub agenda: Vec<SecItem>,
    /// Papers not attached to an item.
    pub loose_papers: Vec<SecPaper>,
    pub members: Vec<SecMember>,
    /// A ballot from a member not checked in: `check_in` (voting checks
    /// them in) or `refuse`.
    pub unchecked_ballot: &'static str,
    /// How long devices keep the pack.
    pub retention: RetentionForm,
    /// PDFs saved into this folder are attached to the meeting by the hub
    /// (a new file: a new paper; a known file name: its next version).
    pub inbox: String,
}

/// An agenda line, in display order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecItem {
    pub id: String,
    pub number: String,
    pub depth: usize,
    /// Number of the parent item, if any.
    pub parent: Option<String>,
    /// 1-based place among its siblings.
    pub position: usize,
    /// How many siblings it has, itself included.
    pub siblings: usize,
    pub title: String,
    pub presenter: String,
    pub planned_minutes: Option<u32>,
    pub papers: Vec<SecPaper>,
}

/// A paper.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecPaper {
    pub id: String,
    pub title: String,
    pub file_name: String,
    pub versions: usize,
    pub pages: Option<u32>,
    pub size: u64,
    /// public, members, named.
    pub confidentiality: String,
    /// Names of the people who may read a "named" paper.
    pub readers: Vec<String>,
}

/// A member of a meeting.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecMember {
    pub person: String,
    pub name: String,
    pub role: String,
}

/// A person and their devices.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecPerson {
    pub id: String,
    pub name: String,
    pub title: String,
    pub unit: String,
    pub devices: Vec<SecDevice>,
}

/// A paired device.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecDevice {
    pub id: String,
    pub label: String,
    pub paired_at: i64,
    pub revoked_at: Option<i64>,
}

/// An invite to hand to a person.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecInvite {
    /// The one-time code, e.g. `ABCD-EFGH-JKLM`.
    pub code: String,
    /// What the delegate pastes or scans: `phonghop:CODE@host:port[/fp]`.
    pub invite: String,
    /// `host:port`: typed with the code when the hub is not found by itself.
    pub hub_address: String,
    /// [`SecInvite::invite`] as a QR code, SVG.
    pub qr_svg: String,
    pub expires_at: i64,
}

/// One file of an import, as it goes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportProgress {
    pub file: String,
    /// 1-based.
    pub index: usize,
    pub total: usize,
    /// analysing, storing, done, failed.
    pub stage: &'static str,
    pub error: Option<CmdError>,
}

fn role_code(r: Role) -> &'static str {
    match r {
        Role::Secretariat => "secretariat",
        Role::Chair => "chair",
        Role::Delegate => "delegate",
        Role::Observer => "observer",
    }
}

fn parse_role(code: &str) -> Res<Role> {
    Ok(match code {
        "secretariat" => Role::Secretariat,
        "chair" => Role::Chair,
        "delegate" => Role::Delegate,
        "observer" => Role::Observer,
        other => return Err(CmdError::new("bad_role", format!("unknown role '{other}'"))),
    })
}

fn paper_dto(state: &reducer::State, d: &Document) -> SecPaper {
    let latest = d.versions.last();
    let (confidentiality, readers) = match &d.confidentiality {
        Confidentiality::Public => ("public", Vec::new()),
        Confidentiality::Members => ("members", Vec::new()),
        Confidentiality::Named(ids) => (
            "named",
            ids.iter()
                .map(|p| {
                    state
                        .directory
                        .persons
                        .get(p)
                        .map_or_else(|| p.to_string(), |x| x.name.clone())
                })
                .collect(),
        ),
    };
    SecPaper {
        id: d.id.to_string(),
        title: d.title.clone(),
        file_name: latest.map(|v| v.file_name.clone()).unwrap_or_default(),
        versions: d.versions.len(),
        pages: latest.and_then(|v| v.pages),
        size: latest.map_or(0, |v| v.size),
        confidentiality: confidentiality.into(),
        readers,
    }
}

fn overview(hub: &HubDir) -> SecOverview {
    let state = hub.store().state();
    let mut meetings: Vec<SecMeeting> = state
        .meetings
        .values()
        .map(|m| {
            let numbered = m.numbered_agenda();
            let number_of = |id: &AgendaItemId| {
                numbered
                    .iter()
                    .find(|n| &n.item.id == id)
                    .map(|n| n.number.clone())
            };
            let papers_of = |item: Option<&AgendaItemId>| -> Vec<SecPaper> {
                m.documents
                    .values()
                    .filter(|d| d.item.as_ref() == item)
                    .map(|d| paper_dto(state, d))
                    .collect()
            };
            let agenda = numbered
                .iter()
                .map(|n| {
                    let siblings = m.children.get(&n.item.parent).map_or(1, Vec::len);
                    let position = m
                        .children
                        .get(&n.item.parent)
                        .and_then(|k| k.iter().position(|k| k == &n.item.id))
                        .map_or(1, |p| p + 1);
                    SecItem {
                        id: n.item.id.to_string(),
                        number: n.number.clone(),
                        depth: n.depth,
                        parent: n.item.parent.as_ref().and_then(number_of),
                        position,
                        siblings,
                        title: n.item.title.clone(),
                        presenter: n.item.presenter.clone().unwrap_or_default(),
                        planned_minutes: n.item.planned_minutes,
                        papers: papers_of(Some(&n.item.id)),
                    }
                })
                .collect();
            SecMeeting {
                id: m.id.to_string(),
                body: m.body.clone(),
                title: m.title.clone(),
                starts_at: m.starts_at.map(|t| t.0),
                place: m.place.clone().unwrap_or_default(),
                status: m.status.code().into(),
                unchecked_ballot: unchecked_code(m.rules.unchecked_ballot),
                retention: m.retention.into(),
                agenda,
                loose_papers: papers_of(None),
                members: m
                    .members
                    .values()
                    .map(|x| SecMember {
                        person: x.person.to_string(),
                        name: x.name.clone(),
                        role: role_code(x.role).into(),
                    })
                    .collect(),
                inbox: hub.inbox(m.id.as_str()).display().to_string(),
            }
        })
        .collect();
    meetings.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then(a.title.cmp(&b.title)));
    let people = state
        .directory
        .persons
        .values()
        .map(|p| SecPerson {
            id: p.id.to_string(),
            name: p.name.clone(),
            title: p.title.clone().unwrap_or_default(),
            unit: p.unit.clone().unwrap_or_default(),
            devices: state
                .directory
                .devices
                .values()
                .filter(|d| d.person == p.id)
                .map(|d| SecDevice {
                    id: d.id.to_string(),
                    label: d.label.clone(),
                    paired_at: d.paired_at.0,
                    revoked_at: d.revoked_at.map(|t| t.0),
                })
                .collect(),
        })
        .collect();
    SecOverview { meetings, people }
}

fn non_empty(field: &str, v: &str) -> Res<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(CmdError::new(
            "empty_field",
            format!("{field} must not be empty"),
        ));
    }
    Ok(v.to_string())
}

fn optional(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

// -------------------------------------------------------------- commands

#[tauri::command]
pub fn sec_status(sec: State<'_, Secretariat>) -> SecStatus {
    let hub = sec.hub.lock().unwrap_or_else(|p| p.into_inner()).is_some();
    if let Some(dir) = sec.attached() {
        let running = phonghop_hub::admin::running(&dir);
        return SecStatus {
            hub,
            error: running.is_none().then(|| {
                CmdError::new(
                    "hub_not_running",
                    format!(
                        "no `phonghop hub` is serving {} right now: start it to make invites and let devices in",
                        dir.display()
                    ),
                )
            }),
            serving: running.map(|s| ServingDto {
                settings: ServeSettings {
                    port: s.listen.port(),
                    lan: !s.listen.ip().is_loopback(),
                },
                external: true,
                invite_address: s.invite_address(),
            }),
        };
    }
    let serving = sec.serving.lock().unwrap_or_else(|p| p.into_inner());
    SecStatus {
        hub,
        serving: serving.as_ref().map(|s| ServingDto {
            settings: s.settings,
            external: false,
            invite_address: s.invite_address.clone(),
        }),
        error: sec
            .serve_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    }
}

/// Works on the hub folder of a `phonghop hub` running on this computer
/// (instead of embedding one): remembered for the next start.
#[tauri::command]
pub async fn sec_attach_hub(sec: State<'_, Secretariat>, folder: String) -> Res<SecStatus> {
    let dir = PathBuf::from(folder.trim());
    let d = dir.clone();
    let view = tauri::async_runtime::spawn_blocking(move || HubDir::open_read_only(&d))
        .await
        .map_err(|e| CmdError::new("internal", e.to_string()))??;
    let json = serde_json::to_vec_pretty(&Attachment {
        attach: dir.clone(),
    })
    .map_err(|e| CmdError::new("io", e.to_string()))?;
    phonghop_fs::write(&sec.attachment_file, &json)
        .map_err(|e| CmdError::new("io", format!("{}: {e}", sec.attachment_file.display())))?;
    // This app's own hub (if any) stops: the attached folder's hub serves.
    sec.shutdown();
    *sec.attached.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir.clone());
    *sec.hub.lock().unwrap_or_else(|p| p.into_inner()) = Some(Backing::Attached {
        dir,
        view: Arc::new(Mutex::new(view)),
    });
    Ok(sec_status(sec))
}

/// Creates this app's hub (once) and serves it.
#[tauri::command]
pub async fn sec_create_hub(
    sec: State<'_, Secretariat>,
    settings: ServeSettings,
) -> Res<SecStatus> {
    {
        let mut hub = sec.hub.lock().unwrap_or_else(|p| p.into_inner());
        if hub.is_none() {
            *hub = Some(Backing::Embedded {
                hub: server::Hub::new(HubDir::init(&sec.root)?, sec.config(settings.lan))?,
                tls: settings.lan,
                served: false,
            });
        }
    }
    sec.serve(settings)?;
    Ok(sec_status(sec))
}

/// Serves the hub on another port or reach.
#[tauri::command]
pub async fn sec_serve(sec: State<'_, Secretariat>, settings: ServeSettings) -> Res<SecStatus> {
    sec.serve(settings)?;
    Ok(sec_status(sec))
}

#[tauri::command]
pub async fn sec_overview(sec: State<'_, Secretariat>) -> Res<SecOverview> {
    sec.read(|h| Ok(overview(h))).await
}

/// Shows a meeting's inbox folder in the system's file manager (made if
/// missing): the secretary drops PDFs there instead of reading a path.
#[tauri::command]
pub async fn sec_show_inbox(sec: State<'_, Secretariat>, meeting_id: String) -> Res<()> {
    let dir = sec
        .read(move |h| {
            h.meeting(&meeting_id)?;
            Ok(h.inbox(&meeting_id))
        })
        .await?;
    phonghop_fs::create_dir_all(&dir)
        .map_err(|e| CmdError::new("io", format!("{}: {e}", dir.display())))?;
    crate::commands::show_in_folder(dir).await
}

/// A meeting's retention rule as the editor shows and sends it (each part
/// optional: empty means no such rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionForm {
    pub delete_after_days: Option<u32>,
    pub lock_after_offline_days: Option<u32>,
    pub idle_lock_minutes: Option<u32>,
}

impl From<phonghop_core::Retention> for RetentionForm {
    fn from(r: phonghop_core::Retention) -> Self {
        RetentionForm {
            delete_after_days: r.delete_after_days,
            lock_after_offline_days: r.lock_after_offline_days,
            idle_lock_minutes: r.idle_lock_minutes,
        }
    }
}

impl From<RetentionForm> for phonghop_core::Retention {
    fn from(r: RetentionForm) -> Self {
        phonghop_core::Retention {
            delete_after_days: r.delete_after_days,
            lock_after_offline_days: r.lock_after_offline_days,
            idle_lock_minutes: r.idle_lock_minutes,
        }
    }
}

/// Meeting details as the editor sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingForm {
    /// None: a new meeting.
    pub id: Option<String>,
    /// For a new meeting: a short code to use as its id (e.g. `kh13`),
    /// which also names its inbox folder; generated when empty.
    #[serde(default)]
    pub code: Option<String>,
    pub body: String,
    pub title: String,
    pub starts_at: Option<i64>,
    pub place: Option<String>,
    /// `check_in` or `refuse` (see [`SecMeeting::unchecked_ballot`]); absent:
    /// unchanged (a new meeting: the default, `check_in`).
    #[serde(default)]
    pub unchecked_ballot: Option<String>,
    /// The retention rule; absent: unchanged.
    #[serde(default)]
    pub retention: Option<RetentionForm>,
}

fn unchecked_code(u: UncheckedBallot) -> &'static str {
    match u {
        UncheckedBallot::CheckIn => "check_in",
        UncheckedBallot::Refuse => "refuse",
    }
}

/// Creates a meeting (a draft) or changes one; returns its id.
#[tauri::command]
pub async fn sec_save_meeting(sec: State<'_, Secretariat>, form: MeetingForm) -> Res<String> {
    let body = non_empty("body", &form.body)?;
    let title = non_empty("title", &form.title)?;
    let place = optional(form.place);
    let starts_at = form.starts_at.map(Timestamp);
    let op = match form.id {
        Some(meeting) => AdminOp::EditMeeting {
            meeting,
            body: Some(body),
            title: Some(title),
            starts_at: Some(starts_at),
            place: Some(place),
        },
        // Its inbox folder (see SecMeeting::inbox) is made with it.
        None => AdminOp::CreateMeeting {
            id: optional(form.code),
            body,
            title,
            starts_at,
            place,
        },
    };
    let meeting = match sec.write(op).await? {
        Done::MeetingCreated { meeting } | Done::MeetingEdited { meeting } => meeting,
        other => return Err(unexpected(other)),
    };
    let unchecked = match form.unchecked_ballot.as_deref() {
        None => None,
        Some("check_in") => Some(UncheckedBallot::CheckIn),
        Some("refuse") => Some(UncheckedBallot::Refuse),
        Some(other) => {
            return Err(CmdError::new(
                "bad_request",
                format!("uncheckedBallot: '{other}' is neither check_in nor refuse"),
            ))
        }
    };
    if let Some(unchecked_ballot) = unchecked {
        let current = sec.rules_of(meeting.as_str()).await?;
        if current.unchecked_ballot != unchecked_ballot {
            let op = AdminOp::SetMeetingRules {
                meeting: meeting.to_string(),
                rules: MeetingRules {
                    unchecked_ballot,
                    ..current
                },
            };
            sec.write(op).await?;
        }
    }
    if let Some(form) = form.retention {
        let retention = phonghop_core::Retention::from(form);
        if !retention.is_valid() {
            return Err(CmdError::new(
                "bad_retention",
                format!(
                    "at most {} days, and an idle lock of 1 to {} minutes",
                    phonghop_core::retention::MAX_DAYS,
                    phonghop_core::retention::MAX_IDLE_MINUTES
                ),
            ));
        }
        let current = sec
            .read({
                let m = meeting.to_string();
                move |h| Ok(h.meeting(&m)?.retention)
            })
            .await?;
        if current != retention {
            sec.write(AdminOp::SetRetention {
                meeting: meeting.to_string(),
                retention,
            })
            .await?;
        }
    }
    Ok(meeting.to_string())
}

/// Adds an item at the end of `parent`'s children (numbered automatically).
#[tauri::command]
pub async fn sec_add_item(
    sec: State<'_, Secretariat>,
    meeting: String,
    parent: Option<String>,
    title: String,
    presenter: Option<String>,
    planned_minutes: Option<u32>,
) -> Res<String> {
    let title = non_empty("title", &title)?;
    let op = AdminOp::AddAgendaItem {
        meeting,
        number: None,
        under: parent,
        title,
        presenter: optional(presenter),
        planned_minutes,
    };
    match sec.write(op).await? {
        Done::AgendaItemAdded { number, .. } => Ok(number),
        other => Err(unexpected(other)),
    }
}

/// Rewords item `number`: title, presenter, planned minutes.
#[tauri::command]
pub async fn sec_edit_item(
    sec: State<'_, Secretariat>,
    meeting: String,
    number: String,
    title: String,
    presenter: Option<String>,
    planned_minutes: Option<u32>,
) -> Res<()> {
    let title = non_empty("title", &title)?;
    sec.write(AdminOp::EditAgendaItem {
        meeting,
        number,
        title: Some(title),
        presenter: Some(optional(presenter)),
        planned_minutes: Some(planned_minutes),
    })
    .await?;
    Ok(())
}

/// Moves item `number` to `position` under `parent` (None: top level).
#[tauri::command]
pub async fn sec_move_item(
    sec: State<'_, Secretariat>,
    meeting: String,
    number: String,
    parent: Option<String>,
    position: u32,
) -> Res<()> {
    sec.write(AdminOp::MoveAgendaItem {
        meeting,
        number,
        under: parent,
        position,
    })
    .await?;
    Ok(())
}

#[tauri::command]
pub async fn sec_add_person(
    sec: State<'_, Secretariat>,
    name: String,
    title: Option<String>,
    unit: Option<String>,
    code: Option<String>,
) -> Res<String> {
    let name = non_empty("name", &name)?;
    let op = AdminOp::AddPerson {
        id: optional(code),
        name,
        title: optional(title),
        unit: optional(unit),
    };
    match sec.write(op).await? {
        Done::PersonAdded { person } => Ok(person.to_string()),
        other => Err(unexpected(other)),
    }
}

#[tauri::command]
pub async fn sec_add_member(
    sec: State<'_, Secretariat>,
    meeting: String,
    person: String,
    role: String,
) -> Res<()> {
    let role = parse_role(&role)?;
    sec.write(AdminOp::AddMember {
        meeting,
        person,
        role,
    })
    .await?;
    Ok(())
}

#[tauri::command]
pub async fn sec_publish(sec: State<'_, Secretariat>, meeting: String) -> Res<()> {
    sec.write(AdminOp::Publish { meeting }).await?;
    Ok(())
}

#[tauri::command]
pub async fn sec_invite(sec: State<'_, Secretariat>, person: String) -> Res<SecInvite> {
    let address = sec.invite_address().ok_or_else(|| {
        CmdError::new(
            "not_serving",
            "the hub is not running: start it before making invites",
        )
    })?;
    let op = AdminOp::CreateInvite {
        person,
        ttl_ms: INVITE_TTL_MS,
    };
    match sec.write(op).await? {
        Done::InviteCreated { code, expires_at } => {
            let invite = format!("phonghop:{code}@{address}");
            Ok(SecInvite {
                qr_svg: qr_svg(&invite)?,
                hub_address: address
                    .split_once('/')
                    .map_or(address.as_str(), |(a, _)| a)
                    .to_string(),
                invite,
                code,
                expires_at: expires_at.0,
            })
        }
        other => Err(unexpected(other)),
    }
}

/// The invite as a QR code, SVG (black modules on white, quiet zone
/// included): what a tablet's camera scans from the screen or the slip.
fn qr_svg(invite: &str) -> Res<String> {
    let code = qrcode::QrCode::with_error_correction_level(invite.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| CmdError::new("internal", format!("cannot make the QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// Cancels a person's unused invites (one shown on screen, or printed and
/// lost): pairing with one of them is refused from now on.
#[tauri::command]
pub async fn sec_cancel_invites(sec: State<'_, Secretariat>, person: String) -> Res<()> {
    sec.write(AdminOp::CancelInvites {
        person_or_code: person,
    })
    .await?;
    Ok(())
}

#[tauri::command]
pub async fn sec_revoke_device(sec: State<'_, Secretariat>, device: String) -> Res<()> {
    sec.write(AdminOp::RevokeDevice { device }).await?;
    Ok(())
}

/// Opens the system's file picker for PDFs; the chosen paths (none if
/// cancelled).
#[tauri::command]
pub async fn sec_pick_pdfs<R: Runtime>(app: AppHandle<R>) -> Res<Vec<String>> {
    use tauri_plugin_dialog::DialogExt;
    let picked = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .add_filter("PDF", &["pdf", "PDF"])
            .blocking_pick_files()
    })
    .await
    .map_err(|e| CmdError::new("internal", e.to_string()))?;
    Ok(picked
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.into_path().ok())
        .map(|p| p.display().to_string())
        .collect())
}

/// Opens the system's file picker for a list of people (a spreadsheet);
/// the chosen path, if any.
#[tauri::command]
pub async fn sec_pick_people_file<R: Runtime>(app: AppHandle<R>) -> Res<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let picked = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .add_filter(
                "XLSX, XLS, ODS, CSV",
                &["xlsx", "xls", "ods", "csv", "XLSX", "XLS", "ODS", "CSV"],
            )
            .blocking_pick_file()
    })
    .await
    .map_err(|e| CmdError::new("internal", e.to_string()))?;
    Ok(picked
        .and_then(|f| f.into_path().ok())
        .map(|p| p.display().to_string()))
}

/// A list of people read and checked, as the screen shows it before the
/// import (event `people-preview`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeoplePreview {
    /// The file, to import once confirmed.
    pub path: String,
    /// What would be added, and the rows left out.
    pub sheet: phonghop_hub::people_import::PeopleSheet,
}

/// Reads a list of people and checks every row against the directory:
/// what would be added, and each row left out with its problem. Nothing
/// is written; the screen shows it (event `people-preview`) until the
/// secretary confirms or cancels.
#[tauri::command]
pub async fn sec_preview_people<R: Runtime>(
    app: AppHandle<R>,
    sec: State<'_, Secretariat>,
    path: String,
) -> Res<PeoplePreview> {
    let sheet = read_sheet(&sec, &path).await?;
    let preview = PeoplePreview { path, sheet };
    let _ = app.emit("people-preview", &preview);
    Ok(preview)
}

async fn read_sheet(
    sec: &Secretariat,
    path: &str,
) -> Res<phonghop_hub::people_import::PeopleSheet> {
    let file = absolute(path);
    sec.read(move |h| phonghop_hub::people_import::read_people(&file, &h.store().state().directory))
        .await
}

/// Reads the list again (the directory may have changed since the
/// preview) and adds every row without a problem, together; returns what
/// was added and what was left out.
#[tauri::command]
pub async fn sec_import_people(
    sec: State<'_, Secretariat>,
    path: String,
) -> Res<phonghop_hub::people_import::PeopleSheet> {
    let sheet = read_sheet(&sec, &path).await?;
    let op = AdminOp::AddPeople {
        people: sheet
            .people
            .iter()
            .map(|p| phonghop_hub::admin::NewPersonOp {
                id: p.code.clone(),
                name: p.name.clone(),
                title: p.title.clone(),
                unit: p.unit.clone(),
            })
            .collect(),
    };
    match sec.write(op).await? {
        Done::PeopleAdded { .. } => Ok(sheet),
        other => Err(unexpected(other)),
    }
}

/// A chosen file's full path: the hub that stores it (a `phonghop hub`,
/// when attached) reads it from its own working folder.
fn absolute(path: &str) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path))
}

/// Analyses a PDF in a child process of this app (`pdf analyze-worker`),
/// off the async runtime: a broken or hostile file cannot take the app down.
async fn analyse(file: &Path) -> Res<phonghop_pdf::Analysis> {
    let worker = std::env::current_exe()
        .map_err(|e| CmdError::new("io", format!("cannot find the app's own executable: {e}")))?;
    let f = file.to_path_buf();
    tauri::async_runtime::spawn_blocking(move || {
        if !f.is_file() {
            return Err(CmdError::new(
                "no_such_file",
                format!("{}: no such file", f.display()),
            ));
        }
        Ok(phonghop_pdf::analyze_isolated(
            &worker,
            &f,
            ANALYSIS_TIMEOUT,
        )?)
    })
    .await
    .map_err(|e| CmdError::new("internal", e.to_string()))?
}

/// Who may read the papers being attached.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaperAccess {
    /// public, members, named.
    pub kind: String,
    /// For "named": person ids.
    #[serde(default)]
    pub readers: Vec<String>,
}

/// The result for one file of an import.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportResult {
    pub file: String,
    /// The new paper's id, or None if the file was refused.
    pub paper: Option<String>,
    pub error: Option<CmdError>,
}

/// Attaches PDF files to an agenda item (or to the meeting), one after the
/// other: each is analysed in a child process (a broken or hostile file
/// cannot take the app down), then stored and recorded. Progress goes to
/// the window as `paper-import` events. A refused file changes nothing and
/// does not stop the others.
#[tauri::command]
pub async fn sec_add_papers<R: Runtime>(
    app: AppHandle<R>,
    sec: State<'_, Secretariat>,
    meeting: String,
    item: Option<String>,
    paths: Vec<String>,
    access: PaperAccess,
) -> Res<Vec<ImportResult>> {
    let confidentiality = match access.kind.as_str() {
        "public" => Confidentiality::Public,
        "members" => Confidentiality::Members,
        "named" if !access.readers.is_empty() => {
            Confidentiality::Named(access.readers.iter().map(PersonId::new).collect())
        }
        "named" => {
            return Err(CmdError::new(
                "no_readers",
                "a confidential paper needs at least one named reader",
            ))
        }
        other => {
            return Err(CmdError::new(
                "bad_access",
                format!("unknown confidentiality '{other}'"),
            ))
        }
    };
    let total = paths.len();
    let mut out = Vec::with_capacity(total);
    for (i, path) in paths.into_iter().enumerate() {
        let file = absolute(&path);
        let name = file
            .file_name()
            .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        let progress = |stage: &'static str, error: Option<CmdError>| {
            let _ = app.emit(
                "paper-import",
                ImportProgress {
                    file: name.clone(),
                    index: i + 1,
                    total,
                    stage,
                    error,
                },
            );
        };
        progress("analysing", None);
        let analysis = analyse(&file).await;
        let stored = match analysis {
            Ok(a) => {
                progress("storing", None);
                let (m, it, c, f) = (
                    meeting.clone(),
                    item.clone(),
                    confidentiality.clone(),
                    file.clone(),
                );
                let op = AdminOp::AddPaper {
                    meeting: m,
                    file: f,
                    analysis: Box::new(a),
                    item: it,
                    title: None,
                    confidentiality: c,
                };
                match sec.write(op).await {
                    Ok(Done::PaperAdded { paper }) => Ok(paper),
                    Ok(other) => Err(unexpected(other)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match stored {
            Ok(id) => {
                progress("done", None);
                out.push(ImportResult {
                    file: name.clone(),
                    paper: Some(id.to_string()),
                    error: None,
                });
            }
            Err(e) => {
                progress("failed", Some(e.clone()));
                out.push(ImportResult {
                    file: name.clone(),
                    paper: None,
                    error: Some(e),
                });
            }
        }
    }
    Ok(out)
}

/// Gives a paper its proper title.
#[tauri::command]
pub async fn sec_retitle_paper(
    sec: State<'_, Secretariat>,
    meeting: String,
    paper: String,
    title: String,
) -> Res<()> {
    let title = non_empty("title", &title)?;
    sec.write(AdminOp::RenamePaper {
        meeting,
        paper: DocumentId::new(&paper),
        title,
    })
    .await?;
    Ok(())
}

/// Publishes a new version of a paper from a PDF file.
#[tauri::command]
pub async fn sec_add_version(
    sec: State<'_, Secretariat>,
    meeting: String,
    paper: String,
    path: String,
) -> Res<u32> {
    let file = absolute(&path);
    let analysis = analyse(&file).await?;
    let op = AdminOp::AddVersion {
        meeting,
        paper: DocumentId::new(&paper),
        file,
        analysis: Box::new(analysis),
    };
    match sec.write(op).await? {
        Done::VersionAdded { version, .. } => Ok(version),
        other => Err(unexpected(other)),
    }
}
