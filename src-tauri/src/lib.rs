//! The Phonghop desktop app: a thin Tauri 2 shell. Commands adapt
//! `phonghop-client` (sync engine, local store, outbox) and `phonghop-pdf`
//! (render service, export) to the UI's contract (`ui/src/lib/backend.ts`);
//! page images come through the `phonghop://` scheme from the render
//! service's caches, never as base64 over IPC.
//!
//! App data lives in the platform's app-data folder, or in
//! `$PHONGHOP_APP_DATA` (tests and the demo run several app instances side
//! by side, each with its own folder). `$PHONGHOP_INVITE` joins that hub on
//! first start (the demo).

mod commands;
mod dto;
mod lock;
mod scheme;
mod secretariat;

use phonghop_client::Client;
use phonghop_pdf::{RenderConfig, RenderService};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{Emitter, Manager};

/// What the commands share.
#[derive(Debug)]
pub struct AppState {
    /// The app's data folder.
    pub data: PathBuf,
    /// The sync engine, once joined.
    pub client: Mutex<Option<Arc<Client>>>,
    /// Page rendering (one PDFium thread), or why it is unavailable.
    pub render: Result<RenderService, String>,
    /// Stops the sync loop on exit.
    pub stop: tokio::sync::watch::Sender<bool>,
    /// The PIN lock ([`lock`]).
    pub lock: Mutex<lock::AppLock>,
}

impl AppState {
    /// The client, for reading the meetings: `app_locked` while the PIN
    /// lock is on, `not_joined` before joining.
    pub fn client(&self) -> Result<Arc<Client>, dto::CmdError> {
        if self
            .lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_locked()
        {
            return Err(dto::CmdError::new(
                "app_locked",
                "the app is locked: enter the PIN",
            ));
        }
        self.joined_client()
    }

    /// The client whatever the lock (the status line, joining, the lock's
    /// own idle time): nothing of the meetings' content goes out here.
    pub fn joined_client(&self) -> Result<Arc<Client>, dto::CmdError> {
        self.client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| dto::CmdError::new("not_joined", "this device has not joined a hub yet"))
    }
}

/// The render service's memory cache in the app (encoded page images): a
/// few pages. The disk cache reads a page back in about a millisecond, and
/// the reader keeps the pages near the view decoded itself; 16 MB here
/// measured no faster turns (`scripts/bench-app --release`).
const APP_PAGE_MEMORY: usize = 4 << 20;

/// Pages are still pictures laid over with text and marks: WebKit draws
/// them in software, as Evince draws its pages. Composited through GL, each
/// page became textures and tiles (twice the web process's memory), and a
/// frame took 90-160 ms where no GPU helps. `PHONGHOP_GPU=1` keeps
/// compositing. Set before GTK and WebKit start, so their processes
/// inherit it: the same setting changed on a running web view
/// (`hardware-acceleration-policy`) left WebDriver sessions waiting for
/// good when two apps started side by side.
fn software_painting() {
    #[cfg(target_os = "linux")]
    {
        const KEY: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
        if std::env::var_os("PHONGHOP_GPU").is_none_or(|v| v != "1")
            && std::env::var_os(KEY).is_none()
        {
            // Still one thread: nothing else reads the environment yet.
            std::env::set_var(KEY, "1");
        }
    }
}

/// The web view is a document viewer, not a browser: no memory cache of
/// resources already left behind (the page images have their own caches
/// in the render service).
fn reader_web_view<R: tauri::Runtime>(app: &tauri::App<R>) {
    let Some(w) = app.get_webview_window("main") else {
        return;
    };
    let set = w.with_webview(|_view| {
        #[cfg(target_os = "linux")]
        {
            use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
            if let Some(ctx) = _view.inner().context() {
                ctx.set_cache_model(CacheModel::DocumentViewer);
            }
        }
    });
    if let Err(e) = set {
        tracing::warn!(error = %e, "cannot set the web view's cache model");
    }
}

/// How the app starts its PDF worker: this same executable, reading only the
/// device's blob folder and writing only its exports folder (the keys beside
/// them stay out of its reach).
pub(crate) fn pdf_worker(
    data: &std::path::Path,
) -> Result<phonghop_pdf::WorkerSpec, phonghop_pdf::PdfError> {
    let exe = std::env::current_exe().map_err(|e| phonghop_pdf::PdfError::Crashed {
        name: "the PDF worker".into(),
        cause: format!("cannot find the app's own executable: {e}"),
    })?;
    let exports = data.join("exports");
    let _ = phonghop_fs::create_dir_all(&exports);
    Ok(phonghop_pdf::WorkerSpec::new(
        exe,
        vec![data.join("hub").join("blobs")],
        vec![exports],
    ))
}

fn data_dir(app: &tauri::App) -> PathBuf {
    std::env::var_os("PHONGHOP_APP_DATA")
        .map(PathBuf::from)
        .or_else(|| app.path().app_data_dir().ok())
        .unwrap_or_else(|| PathBuf::from(".phonghop-app"))
}

/// Starts the sync loop and forwards its state to the window as events.
pub(crate) fn start_client(app: &tauri::AppHandle, client: Arc<Client>) {
    start_client_generic(app, client)
}

/// [`start_client`] for any runtime (commands are generic for testing).
pub(crate) fn start_client_generic<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    client: Arc<Client>,
) {
    let state = app.state::<AppState>();
    // Rendered pages and exported PDFs are copies of this hub's papers: a
    // revocation removes them with the client's own folder.
    client.wipe_also(vec![
        state.data.join("page-cache"),
        state.data.join("exports"),
    ]);
    *state.client.lock().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
    let stop = state.stop.subscribe();
    tauri::async_runtime::spawn(client.clone().run(stop));
    let (app2, c2) = (app.clone(), client.clone());
    tauri::async_runtime::spawn(async move {
        let mut rx = c2.connection();
        loop {
            let v = *rx.borrow_and_update();
            let _ = app2.emit("connection", v);
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
    let (app3, c3) = (app.clone(), client.clone());
    tauri::async_runtime::spawn(async move {
        let mut rx = c3.progress();
        while rx.changed().await.is_ok() {
            let v = *rx.borrow_and_update();
            let _ = app3.emit("sync-progress", v);
        }
    });
    let app4 = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut rx = client.changes();
        let mut known = commands::version_counts(&client).await;
        while rx.changed().await.is_ok() {
            // Coalesce bursts (a pull applies many entries).
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            rx.borrow_and_update();
            commands::emit_changes(&app4, &client, &mut known).await;
        }
    });
}

/// Runs the app.
pub fn run() {
    software_painting();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut builder = tauri::Builder::default();
    // One app per user — but tests and the demo run several instances with
    // their own PHONGHOP_APP_DATA, so the lock applies to the default only.
    if std::env::var_os("PHONGHOP_APP_DATA").is_none() {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }));
    }
    let result = builder
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .register_asynchronous_uri_scheme_protocol("phonghop", scheme::handle)
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::join,
            commands::lock_status,
            commands::set_pin,
            commands::unlock,
            commands::lock_now,
            commands::list_meetings,
            commands::get_meeting,
            commands::get_paper_pages,
            commands::get_page_text,
            commands::show_export,
            commands::search,
            commands::list_annotations,
            commands::save_annotation,
            commands::delete_annotation,
            commands::export_annotated,
            commands::get_session,
            commands::get_minutes,
            commands::session_command,
            commands::command_state,
            commands::list_outbox,
            commands::list_set_aside,
            commands::dismiss_refusal,
            secretariat::sec_status,
            secretariat::sec_create_hub,
            secretariat::sec_serve,
            secretariat::sec_attach_hub,
            secretariat::sec_overview,
            secretariat::sec_show_inbox,
            secretariat::sec_save_meeting,
            secretariat::sec_add_item,
            secretariat::sec_move_item,
            secretariat::sec_edit_item,
            secretariat::sec_add_person,
            secretariat::sec_add_member,
            secretariat::sec_publish,
            secretariat::sec_invite,
            secretariat::sec_cancel_invites,
            secretariat::sec_revoke_device,
            secretariat::sec_pick_pdfs,
            secretariat::sec_pick_people_file,
            secretariat::sec_preview_people,
            secretariat::sec_import_people,
            secretariat::sec_add_papers,
            secretariat::sec_add_version,
            secretariat::sec_retitle_paper,
        ])
        .setup(|app| {
            reader_web_view(app);
            let data = data_dir(app);
            phonghop_fs::restrict(&data)?;
            let render = pdf_worker(&data)
                .and_then(|spec| {
                    RenderService::start(RenderConfig {
                        cache_dir: Some(data.join("page-cache")),
                        // A few pages around the reader's; the disk cache
                        // keeps every page rendered, and reads back in a
                        // millisecond.
                        memory_bytes: APP_PAGE_MEMORY,
                        process: Some(spec),
                        ..RenderConfig::default()
                    })
                })
                .map_err(|e| e.to_string());
            if let Err(e) = &render {
                tracing::error!(error = %e, "page rendering unavailable");
            }
            let (stop, _) = tokio::sync::watch::channel(false);
            let sec = secretariat::Secretariat::new(&data);
            sec.resume();
            app.manage(sec);
            app.manage(AppState {
                data: data.clone(),
                client: Mutex::new(None),
                render,
                stop,
                lock: Mutex::new(lock::AppLock::load(&data)),
            });
            let handle = app.handle().clone();
            let hub_dir = data.join("hub");
            if hub_dir.join("client.db").exists() {
                match Client::open(&hub_dir) {
                    Ok(c) => start_client(&handle, Arc::new(c)),
                    Err(e) => tracing::warn!(error = %e, "not joined yet"),
                }
            } else if let Ok(invite) = std::env::var("PHONGHOP_INVITE") {
                tauri::async_runtime::spawn(async move {
                    match Client::join(&hub_dir, &invite, &commands::device_label()).await {
                        Ok(c) => {
                            start_client(&handle, Arc::new(c));
                            let _ = handle
                                .emit("meeting-changed", serde_json::json!({"meetingId": "*"}));
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "could not join with PHONGHOP_INVITE")
                        }
                    }
                });
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                let _ = app.state::<AppState>().stop.send(true);
                app.state::<secretariat::Secretariat>().shutdown();
            }
        }),
        Err(e) => {
            eprintln!("error: cannot start Phonghop: {e}");
            std::process::exit(1);
        }
    }
}
