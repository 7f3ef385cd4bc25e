//! The live WebSocket: pushes new log entries to each connected device, as
//! that device may see them (redacted, personal logs to their owner only).
//! A device that falls behind the fan-out buffer is told to re-sync with
//! `meetings_changed`, and re-pulls "after N" as after any interruption.

use super::access::{self, Reader};
use super::{auth, Shared};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use phonghop_core::protocol::LiveMessage;
use phonghop_core::LogId;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

pub(crate) async fn upgrade(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, super::api::Failure> {
    let reader = auth::authenticate(&s, &headers, q.token).await?;
    Ok(ws.on_upgrade(move |socket| serve(s, reader, socket)))
}

async fn serve(s: Arc<Shared>, reader: Reader, socket: WebSocket) {
    let mut rx = s.live.subscribe();
    let (mut tx, mut incoming) = socket.split();
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let out = match msg {
                    Ok(appended) => render(&s, &reader, appended).await,
                    Err(RecvError::Lagged(_)) => Some(LiveMessage::MeetingsChanged),
                    Err(RecvError::Closed) => return,
                };
                let Some(out) = out else { continue };
                let Ok(text) = serde_json::to_string(&out) else { continue };
                if tx.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            msg = incoming.next() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// What this reader gets of an append, if anything.
async fn render(
    s: &Arc<Shared>,
    reader: &Reader,
    appended: super::Appended,
) -> Option<LiveMessage> {
    let person = reader.person.clone();
    let device = reader.device.clone();
    s.read_hub(move |hub, shared| {
        let state = hub.store().state();
        if state
            .directory
            .devices
            .get(&device)
            .is_none_or(|d| d.revoked_at.is_some())
        {
            return None;
        }
        match &appended.log {
            LogId::Directory => None,
            LogId::Personal {
                meeting,
                person: owner,
            } => (owner == &person).then(|| LiveMessage::Entries {
                meeting: meeting.clone(),
                entries: appended.entries.to_vec(),
            }),
            LogId::Meeting(mid) => {
                let m = state.meetings.get(mid)?;
                let Some(role) = access::role_in(m, &person) else {
                    // Newly published or newly a member: the device learns
                    // of the meeting through the list.
                    return m
                        .members
                        .contains_key(&person)
                        .then_some(LiveMessage::MeetingsChanged);
                };
                let docs = shared
                    .annotation_docs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let entries = access::redact(m, &appended.entries, &person, role, &docs);
                let first_visible = appended.entries.first().map(|e| e.seq) == Some(1)
                    || appended.entries.iter().any(|e| {
                        matches!(
                            e.event(),
                            Ok(Some(phonghop_core::Event::MeetingPublished { .. }))
                        )
                    });
                if first_visible {
                    return Some(LiveMessage::MeetingsChanged);
                }
                Some(LiveMessage::Entries {
                    meeting: mid.clone(),
                    entries,
                })
            }
        }
    })
    .await
}
