//! Tauri commands: each takes the state, calls one library function, maps
//! the answer to a DTO and errors to `{code, message}`.

use crate::dto::*;
use crate::AppState;
use phonghop_client::Client;
use phonghop_core::protocol::Command;
use phonghop_core::*;
use std::collections::HashMap;
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Runtime, State};

type Res<T> = Result<T, CmdError>;

pub(crate) fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

/// A label the secretariat recognises in the device list.
pub fn device_label() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "Phonghop".into())
}

fn status_of(client: Option<&Arc<Client>>) -> AppStatus {
    match client {
        None => AppStatus {
            joined: false,
            hub_url: None,
            person: None,
            connection: phonghop_client::Connection::Offline,
            sync: Default::default(),
        },
        Some(c) => AppStatus {
            joined: true,
            hub_url: Some(c.pairing().base_url.clone()),
            person: Some(PersonDto {
                id: c.pairing().person.to_string(),
                name: c.pairing().person_name.clone(),
            }),
            connection: *c.connection().borrow(),
            sync: *c.progress().borrow(),
        },
    }
}

#[tauri::command]
pub fn app_status(state: State<'_, AppState>) -> AppStatus {
    status_of(state.joined_client().ok().as_ref())
}

#[tauri::command]
pub async fn join<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    invite: String,
) -> Res<AppStatus> {
    if state.joined_client().is_ok() {
        return Err(CmdError::new(
            "already_joined",
            "this device has already joined a hub",
        ));
    }
    let dir = state.data.join("hub");
    let client = Arc::new(Client::join(&dir, invite.trim(), &device_label()).await?);
    crate::start_client_generic(&app, client.clone());
    Ok(status_of(Some(&client)))
}

#[tauri::command]
pub async fn list_meetings(state: State<'_, AppState>) -> Res<Vec<MeetingSummary>> {
    let c = state.client()?;
    let now = now();
    c.with_dir(move |d| {
        let locked = d.locked_meetings(now)?;
        let mut v: Vec<_> = d
            .store()
            .state()
            .meetings
            .values()
            .filter(|m| m.status != MeetingStatus::Draft)
            .collect();
        v.sort_by_key(|m| m.starts_at.map_or(i64::MAX, |t| t.0));
        Ok(v.into_iter()
            .map(|m| {
                let mut s = MeetingSummary::from(m);
                s.locked = locked.contains(&m.id);
                s
            })
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn get_meeting(state: State<'_, AppState>, meeting_id: String) -> Res<MeetingDetail> {
    let c = state.client()?;
    c.with_dir(move |d| {
        let m = d
            .store()
            .state()
            .meetings
            .get(&MeetingId::new(&meeting_id))
            .ok_or_else(|| {
                CmdError::new(
                    "no_meeting",
                    format!("no meeting '{meeting_id}' on this device"),
                )
            })?;
        Ok(MeetingDetail::build(m, d.blobs()))
    })
    .await
}

/// Idle seconds before the app locks: `PHONGHOP_IDLE_LOCK_SECS` (tests),
/// else the shortest `idle_lock_minutes` of the meetings here, else the
/// default.
async fn idle_seconds(state: &AppState) -> u64 {
    if let Some(s) = std::env::var("PHONGHOP_IDLE_LOCK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
    {
        return s;
    }
    let minutes = match state.joined_client() {
        Ok(c) => {
            c.with_dir(|d| {
                d.store()
                    .state()
                    .meetings
                    .values()
                    .filter_map(|m| m.retention.idle_lock_minutes)
                    .min()
            })
            .await
        }
        Err(_) => None,
    };
    u64::from(minutes.unwrap_or(crate::lock::DEFAULT_IDLE_MINUTES)) * 60
}

fn lock_changed<R: Runtime>(app: &tauri::AppHandle<R>, status: &crate::lock::LockStatus) {
    let _ = app.emit("lock-changed", status);
}

/// The PIN lock's state and the idle time before it locks.
#[tauri::command]
pub async fn lock_status(state: State<'_, AppState>) -> Res<crate::lock::LockStatus> {
    let idle = idle_seconds(&state).await;
    Ok(state
        .lock
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .status(idle))
}

/// Sets or changes the PIN (changing asks for the current one).
#[tauri::command]
pub async fn set_pin<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    current: Option<String>,
    pin: String,
) -> Res<crate::lock::LockStatus> {
    let idle = idle_seconds(&state).await;
    let mut l = state.lock.lock().unwrap_or_else(|p| p.into_inner());
    l.set_pin(current.as_deref(), &pin)?;
    let s = l.status(idle);
    lock_changed(&app, &s);
    Ok(s)
}

/// Unlocks with the PIN; a wrong one counts towards the wait.
#[tauri::command]
pub async fn unlock<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    pin: String,
) -> Res<crate::lock::LockStatus> {
    let idle = idle_seconds(&state).await;
    let mut l = state.lock.lock().unwrap_or_else(|p| p.into_inner());
    let r = l.unlock(&pin, now().0);
    let s = l.status(idle);
    lock_changed(&app, &s);
    r.map(|()| s)
}

/// Locks now (the idle timer ran out, or the person asked).
#[tauri::command]
pub async fn lock_now<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
) -> Res<crate::lock::LockStatus> {
    let idle = idle_seconds(&state).await;
    let mut l = state.lock.lock().unwrap_or_else(|p| p.into_inner());
    l.lock();
    let s = l.status(idle);
    lock_changed(&app, &s);
    Ok(s)
}

/// A pack its retention rule locked (this device has not reached the hub
/// for too long) shows no paper until the device reaches the hub again.
fn unlocked(d: &phonghop_client::ClientDir, meeting: &MeetingId) -> Res<()> {
    if d.locked_meetings(now())?.contains(meeting) {
        return Err(CmdError::new(
            "pack_locked",
            format!("the papers of meeting '{meeting}' are locked: this device has not reached the hub for too long"),
        ));
    }
    Ok(())
}

#[tauri::command]
pub async fn get_paper_pages(
    state: State<'_, AppState>,
    meeting_id: String,
    document_id: String,
    version: u32,
) -> Res<PaperPages> {
    let c = state.client()?;
    c.with_dir(move |d| {
        unlocked(d, &MeetingId::new(&meeting_id))?;
        let layout = d.paper_layout(
            &MeetingId::new(meeting_id),
            &DocumentId::new(document_id),
            version,
        )?;
        Ok(PaperPages::from(layout))
    })
    .await
}

/// One page's text and character boxes: the reader asks for the pages
/// near the view only (a 300-page paper's text whole is tens of megabytes
/// the web view would keep).
#[tauri::command]
pub async fn get_page_text(
    state: State<'_, AppState>,
    meeting_id: String,
    document_id: String,
    version: u32,
    page: u32,
) -> Res<phonghop_client::PageText> {
    let c = state.client()?;
    c.with_dir(move |d| {
        unlocked(d, &MeetingId::new(&meeting_id))?;
        Ok(d.page_text(
            &MeetingId::new(meeting_id),
            &DocumentId::new(document_id),
            version,
            page,
        )?)
    })
    .await
}

#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    meeting_id: Option<String>,
) -> Res<Vec<SearchHit>> {
    let c = state.client()?;
    c.with_dir(move |d| {
        let m = meeting_id.map(MeetingId::new);
        if let Some(m) = &m {
            unlocked(d, m)?;
        }
        let locked = d.locked_meetings(now())?;
        Ok(d.search(&query, m.as_ref())?
            .into_iter()
            .filter(|h| !locked.contains(&h.0.meeting))
            .map(SearchHit::from)
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn list_annotations(
    state: State<'_, AppState>,
    meeting_id: String,
    document_id: String,
) -> Res<Vec<AnnotationView>> {
    let c = state.client()?;
    c.with_dir(move |d| {
        Ok(
            d.annotations(&MeetingId::new(meeting_id), &DocumentId::new(document_id))?
                .into_iter()
                .map(AnnotationView::from)
                .collect(),
        )
    })
    .await
}

#[tauri::command]
pub async fn save_annotation(
    state: State<'_, AppState>,
    meeting_id: String,
    annotation: AnnotationView,
) -> Res<AnnotationView> {
    let c = state.client()?;
    let me = c.pairing().person.clone();
    let a = annotation.to_annotation(&me, now())?;
    let meeting = MeetingId::new(&meeting_id);
    let (m2, doc, id) = (meeting.clone(), a.document.clone(), a.id.clone());
    let exists = c
        .with_dir(move |d| {
            d.annotations(&m2, &doc)
                .map(|l| l.iter().any(|x| x.annotation.id == id))
        })
        .await?;
    let command = if exists {
        Command::EditAnnotation {
            meeting,
            annotation: a.clone(),
        }
    } else {
        Command::AddAnnotation {
            meeting,
            annotation: a.clone(),
        }
    };
    c.submit(command).await?;
    Ok(AnnotationView::from(phonghop_client::LocalAnnotation {
        annotation: a,
        state: phonghop_client::PendingState::Saved,
        refusal: None,
    }))
}

#[tauri::command]
pub async fn delete_annotation(
    state: State<'_, AppState>,
    meeting_id: String,
    annotation_id: String,
) -> Res<()> {
    let c = state.client()?;
    c.submit(Command::DeleteAnnotation {
        meeting: MeetingId::new(meeting_id),
        annotation: AnnotationId::new(annotation_id),
    })
    .await?;
    Ok(())
}

#[tauri::command]
pub async fn export_annotated(
    state: State<'_, AppState>,
    meeting_id: String,
    document_id: String,
    version: u32,
) -> Res<String> {
    let c = state.client()?;
    let out_dir = state.data.join("exports");
    let data = state.data.clone();
    let me = c.pairing().person_name.clone();
    c.with_dir(move |d| {
        let mid = MeetingId::new(&meeting_id);
        let did = DocumentId::new(&document_id);
        let doc = d
            .store()
            .state()
            .meetings
            .get(&mid)
            .and_then(|m| m.documents.get(&did))
            .ok_or_else(|| CmdError::new("no_paper", format!("no paper '{document_id}' here")))?;
        let v = doc
            .versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| {
                CmdError::new("no_paper", format!("no version {version} of this paper"))
            })?;
        if !d.blobs().has(&v.sha256) {
            return Err(CmdError::new(
                "not_downloaded",
                "this paper has not been downloaded yet",
            ));
        }
        let notes: Vec<phonghop_pdf::ExportAnnotation> = d
            .annotations(&mid, &did)?
            .into_iter()
            .map(|l| l.annotation)
            .filter(|a| a.version == version)
            .map(to_export)
            .collect();
        phonghop_fs::create_dir_all(&out_dir)
            .map_err(|e| CmdError::new("io", format!("{}: {e}", out_dir.display())))?;
        let stem = phonghop_core::text::file_stem(&doc.title, 80);
        let dst = out_dir.join(format!("{stem} (v{version}, ghi chú).pdf"));
        let day = chrono_day(now());
        let watermark = format!("Bản của đại biểu {me} — {day}");
        let worker = crate::pdf_worker(&data)?;
        phonghop_pdf::export_isolated(
            &worker,
            &d.blobs().path(&v.sha256),
            &dst,
            &notes,
            Some(&watermark),
        )?;
        // The name only: the window offers "show in folder", never a path.
        Ok(dst
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default())
    })
    .await
}

/// Shows an exported copy (by its file name, as `export_annotated` gave
/// it) selected in the system's file manager.
#[tauri::command]
pub async fn show_export(state: State<'_, AppState>, name: String) -> Res<()> {
    let dir = state.data.join("exports");
    let plain = std::path::Path::new(&name)
        .file_name()
        .is_some_and(|n| n == name.as_str());
    if !plain {
        return Err(CmdError::new(
            "bad_name",
            format!("'{name}' is not the name of an exported copy"),
        ));
    }
    show_in_folder(dir.join(name)).await
}

/// Selects a file or folder in the system's file manager (off the async
/// runtime: the Linux way is a blocking D-Bus call).
pub(crate) async fn show_in_folder(path: std::path::PathBuf) -> Res<()> {
    if !path.exists() {
        return Err(CmdError::new(
            "not_found",
            format!("{} no longer exists", path.display()),
        ));
    }
    let shown = path.clone();
    tokio::task::spawn_blocking(move || tauri_plugin_opener::reveal_item_in_dir(&shown))
        .await
        .map_err(|e| CmdError::new("show_in_folder", e.to_string()))?
        .map_err(|e| {
            // No file manager answered (no desktop session, none installed):
            // the place itself, so the person can still find it.
            CmdError::new("show_in_folder", format!("{e} — {}", path.display()))
        })
}

/// dd/mm/yyyy in Vietnam time, without a date crate (civil-from-days).
fn chrono_day(t: Timestamp) -> String {
    let days = (t.0 / 1000 + 7 * 3600).div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{d:02}/{m:02}/{y}")
}

fn to_export(a: Annotation) -> phonghop_pdf::ExportAnnotation {
    use phonghop_pdf::ExportKind;
    let kind = match a.shape {
        Shape::Highlight { rects } => ExportKind::Highlight {
            rects: rects
                .iter()
                .map(|r| [r.left, r.bottom, r.right, r.top])
                .collect(),
        },
        Shape::Ink { strokes, width } => ExportKind::Ink {
            strokes: strokes
                .iter()
                .map(|s| s.iter().map(|p| [p.x, p.y]).collect())
                .collect(),
            width,
        },
        Shape::Note { at } => ExportKind::Note {
            x: at.x,
            y: at.y,
            text: a.text.clone().unwrap_or_default(),
        },
    };
    phonghop_pdf::ExportAnnotation {
        page: a.page,
        color: a.color,
        kind,
    }
}

#[tauri::command]
pub async fn get_session(state: State<'_, AppState>, meeting_id: String) -> Res<SessionView> {
    let c = state.client()?;
    let me = c.pairing().person.clone();
    c.with_dir(move |d| {
        let mid = MeetingId::new(&meeting_id);
        let ballots = d.my_ballots(&mid)?;
        let m = d.store().state().meetings.get(&mid).ok_or_else(|| {
            CmdError::new(
                "no_meeting",
                format!("no meeting '{meeting_id}' on this device"),
            )
        })?;
        Ok(SessionView::build(m, &me, &ballots))
    })
    .await
}

/// The draft minutes of a meeting as this device's copy of its log has
/// them (what this member may see), read-only: for the record after the
/// session closes.
#[tauri::command]
pub async fn get_minutes(state: State<'_, AppState>, meeting_id: String) -> Res<MinutesDto> {
    let c = state.client()?;
    c.with_dir(move |d| {
        let mid = MeetingId::new(&meeting_id);
        let order = phonghop_hub::minutes::poll_order(d.store(), &meeting_id)
            .map_err(|e| CmdError::new("store", e.to_string()))?;
        let st = d.store().state();
        let m = st.meetings.get(&mid).ok_or_else(|| {
            CmdError::new(
                "no_meeting",
                format!("no meeting '{meeting_id}' on this device"),
            )
        })?;
        let (title, paragraphs) = phonghop_hub::minutes::minutes_text(m, &st.directory, &order);
        Ok(MinutesDto { title, paragraphs })
    })
    .await
}

/// One command for every session action (check in, speak, vote, and the
/// chair's): each is a protocol command queued in the outbox, so one
/// adapter does it; the hub decides who may do what.
#[tauri::command]
pub async fn session_command(
    state: State<'_, AppState>,
    meeting_id: String,
    action: SessionAction,
) -> Res<CommandState> {
    let c = state.client()?;
    let command = action.into_command(MeetingId::new(meeting_id))?;
    let id = c.submit(command).await?;
    Ok(CommandState::new(&id, None))
}

/// Where a command made on this device stands (pending / applied / refused).
#[tauri::command]
pub async fn command_state(state: State<'_, AppState>, command_id: String) -> Res<CommandState> {
    let c = state.client()?;
    c.with_dir(move |d| {
        let id = CommandId::new(command_id);
        let ack = d.ack_of(&id)?;
        Ok(CommandState::new(&id, ack.as_ref()))
    })
    .await
}

/// A meeting's outbox commands that have not settled, oldest first:
/// waiting for the hub (with the last failure, if any) or refused and not
/// yet dismissed (with the hub's code and reason), each with what it
/// concerns, so the UI shows the reason next to that thing.
#[tauri::command]
pub async fn list_outbox(state: State<'_, AppState>, meeting_id: String) -> Res<Vec<OutboxItem>> {
    let c = state.client()?;
    c.with_dir(move |d| {
        Ok(d.unsettled(&MeetingId::new(meeting_id))?
            .into_iter()
            .map(OutboxItem::from)
            .collect())
    })
    .await
}

/// Entries of the meeting the hub sent that this device could not apply:
/// kept in their chain, not applied, syncing went on (each is a bug to
/// report to the secretariat).
#[tauri::command]
pub async fn list_set_aside(
    state: State<'_, AppState>,
    meeting_id: String,
) -> Res<Vec<SetAsideEntry>> {
    let c = state.client()?;
    c.with_dir(move |d| {
        let meeting = LogId::Meeting(MeetingId::new(&meeting_id)).key();
        let personal = format!("p/{meeting_id}/");
        Ok(d.store()
            .quarantined()
            .map_err(phonghop_client::ClientError::from)?
            .into_iter()
            .filter(|q| q.log == meeting || q.log.starts_with(&personal))
            .map(SetAsideEntry::from)
            .collect())
    })
    .await
}

/// The person has seen a refusal: it leaves the lists (the outbox row
/// stays as the device's record).
#[tauri::command]
pub async fn dismiss_refusal(state: State<'_, AppState>, command_id: String) -> Res<()> {
    let c = state.client()?;
    let dismissed = c
        .with_dir(move |d| d.dismiss(&CommandId::new(command_id), now()))
        .await?;
    if dismissed {
        c.touch();
    }
    Ok(())
}

/// Versions per (meeting, paper), to notice new versions.
pub(crate) async fn version_counts(c: &Arc<Client>) -> HashMap<(MeetingId, DocumentId), u32> {
    c.with_dir(|d| {
        d.store()
            .state()
            .meetings
            .values()
            .flat_map(|m| {
                m.documents
                    .values()
                    .map(move |doc| ((m.id.clone(), doc.id.clone()), doc.versions.len() as u32))
            })
            .collect()
    })
    .await
}

/// Tells the window what changed: meetings, annotations, new versions.
pub(crate) async fn emit_changes<R: Runtime>(
    app: &AppHandle<R>,
    c: &Arc<Client>,
    known: &mut HashMap<(MeetingId, DocumentId), u32>,
) {
    let now = version_counts(c).await;
    let meetings: std::collections::BTreeSet<&MeetingId> = now.keys().map(|(m, _)| m).collect();
    for m in &meetings {
        let _ = app.emit(
            "meeting-changed",
            serde_json::json!({ "meetingId": m.as_str() }),
        );
    }
    for ((m, d), n) in &now {
        let _ = app.emit(
            "annotations-changed",
            serde_json::json!({ "meetingId": m.as_str(), "documentId": d.as_str() }),
        );
        if known
            .get(&(m.clone(), d.clone()))
            .is_some_and(|old| old < n)
        {
            let _ = app.emit(
                "paper-updated",
                serde_json::json!({ "meetingId": m.as_str(), "documentId": d.as_str(), "version": n }),
            );
        }
    }
    if meetings.is_empty() {
        let _ = app.emit("meeting-changed", serde_json::json!({ "meetingId": "*" }));
    }
    *known = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnam_dates() {
        // 2026-11-23 20:00 UTC is already 24/11 in Vietnam.
        assert_eq!(chrono_day(Timestamp(1_795_464_000_000)), "24/11/2026");
        assert_eq!(chrono_day(Timestamp(0)), "01/01/1970");
    }
}
