//! Routes and the read side: meetings, log entries (redacted per reader),
//! blobs with HTTP Range. Errors are JSON `{code, message}`.

use super::access::{self, Reader};
use super::{auth, commands, live, Shared};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use phonghop_core::protocol::{ApiError, EntriesResponse, FeedResponse, MeetingInfo};
use phonghop_core::*;
use serde::Deserialize;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// An error answer, with `Retry-After` (seconds) when waiting helps.
#[derive(Debug)]
pub(crate) struct Failure(pub StatusCode, pub ApiError, pub Option<u64>);

impl Failure {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Failure {
        Failure(
            status,
            ApiError {
                code: code.into(),
                message: message.into(),
            },
            None,
        )
    }
    /// Says when to try again.
    pub fn retry_after(mut self, secs: u64) -> Failure {
        self.2 = Some(secs);
        self
    }
    pub fn internal(e: impl std::fmt::Display) -> Failure {
        tracing::error!(error = %e, "internal error");
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut resp = (self.0, Json(self.1)).into_response();
        if let Some(secs) = self.2 {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        resp
    }
}

/// Pairing and sign-in requests per client address (a `tower_governor`
/// layer over governor's GCRA limiter, keyed by the peer address).
pub(crate) type PerAddress = tower_governor::governor::GovernorConfig<
    tower_governor::key_extractor::PeerIpKeyExtractor,
    governor::middleware::NoOpMiddleware<governor::clock::QuantaInstant>,
>;

/// The per-address limit for `limits`, if it applies to a hub listening on
/// `addr`: a hub on a loopback address answers only this computer's own
/// programs (tests, the demo, benchmarks pairing hundreds of devices from
/// one address), so there it is off unless `per_ip_on_loopback` is set.
pub(crate) fn per_address(
    limits: &super::Limits,
    addr: std::net::SocketAddr,
) -> Option<PerAddress> {
    if addr.ip().is_loopback() && !limits.per_ip_on_loopback {
        return None;
    }
    tower_governor::governor::GovernorConfigBuilder::default()
        .period(limits.per_ip_every.max(std::time::Duration::from_millis(1)))
        .burst_size(limits.per_ip_burst.max(1))
        .finish()
}

pub(crate) fn router(shared: Arc<Shared>, per_address: Option<Arc<PerAddress>>) -> Router {
    let mut open = Router::new()
        .route("/v1/pair", post(auth::pair))
        .route("/v1/pair/bind", post(auth::bind))
        .route("/v1/auth/challenge", post(auth::challenge))
        .route("/v1/auth/session", post(auth::session));
    if let Some(config) = per_address {
        let layer = tower_governor::GovernorLayer::new(config).error_handler(|e| match e {
            tower_governor::GovernorError::TooManyRequests { wait_time, .. } => auth::rate_limited(
                std::time::Duration::from_secs(wait_time),
                "pairing and sign-in requests from this address",
            )
            .into_response(),
            other => Failure::internal(other).into_response(),
        });
        open = open.layer(layer);
    }
    Router::new()
        .merge(open)
        .route("/v1/meetings", get(meetings))
        .route("/v1/meetings/{id}/events", get(events))
        .route("/v1/meetings/{id}/personal", get(personal))
        .route("/v1/meetings/{id}/feed", get(feed))
        .route("/v1/blobs/{sha}", get(blob))
        .route("/v1/commands", post(commands::submit))
        .route("/v1/live", get(live::upgrade))
        .fallback(|| async { Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            refuse_when_halted,
        ))
        .with_state(shared)
}

/// Fail closed: once the hub could not replay its folder, every request is
/// refused with the reason rather than answered from a stale state.
async fn refuse_when_halted(
    State(s): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match s.halted.get() {
        Some(reason) => Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "hub_halted",
            reason.clone(),
        )
        .into_response(),
        None => next.run(req).await,
    }
}

async fn meetings(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<Vec<MeetingInfo>>, Failure> {
    let reader = auth::authenticate(&s, &headers, None).await?;
    let list = s
        .with_hub(move |hub, _| {
            let state = hub.store().state();
            state
                .meetings
                .values()
                .filter_map(|m| {
                    let role = access::role_in(m, &reader.person)?;
                    Some(MeetingInfo {
                        id: m.id.clone(),
                        body: m.body.clone(),
                        title: m.title.clone(),
                        starts_at: m.starts_at,
                        place: m.place.clone(),
                        status: m.status,
                        role,
                        head: hub
                            .store()
                            .head(&LogId::Meeting(m.id.clone()))
                            .map_or(0, |h| h.0),
                    })
                })
                .collect::<Vec<_>>()
        })
        .await;
    Ok(Json(list))
}

#[derive(Debug, Deserialize)]
pub(crate) struct After {
    #[serde(default)]
    after: u64,
}

/// Most entries one answer carries; the client asks again for the rest.
const PAGE: usize = 2000;

async fn events(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> Result<Json<EntriesResponse>, Failure> {
    log_page(s, headers, id, q, false).await
}

async fn personal(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> Result<Json<EntriesResponse>, Failure> {
    log_page(s, headers, id, q, true).await
}

/// One page of a meeting's log (redacted for the reader) or of the
/// reader's own personal log for that meeting.
async fn log_page(
    s: Arc<Shared>,
    headers: HeaderMap,
    id: String,
    q: After,
    personal: bool,
) -> Result<Json<EntriesResponse>, Failure> {
    let reader = auth::authenticate(&s, &headers, None).await?;
    s.with_hub(move |hub, shared| {
        let (m, role) = readable_meeting(hub, &id, &reader.person)?;
        let mid = m.id.clone();
        let log = if personal {
            LogId::Personal {
                meeting: mid,
                person: reader.person.clone(),
            }
        } else {
            LogId::Meeting(mid)
        };
        let head = hub.store().head(&log).map_or(0, |h| h.0);
        let entries = hub
            .store()
            .entries_page(&log, q.after, PAGE)
            .map_err(Failure::internal)?;
        let entries = if personal {
            entries
        } else {
            let docs = shared
                .annotation_docs
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            access::redact(m, &entries, &reader.person, role, &docs)
        };
        Ok(Json(EntriesResponse { entries, head }))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct FeedQuery {
    #[serde(default)]
    meeting_after: u64,
    #[serde(default)]
    personal_after: u64,
}

/// The meeting's log (redacted for the reader) and the reader's personal
/// log together, in the hub's global order: what a device applies, in the
/// order the hub applied it.
async fn feed(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Result<Json<FeedResponse>, Failure> {
    let reader = auth::authenticate(&s, &headers, None).await?;
    s.with_hub(move |hub, shared| {
        let (m, role) = readable_meeting(hub, &id, &reader.person)?;
        let mid = m.id.clone();
        let logs = [
            (LogId::Meeting(mid.clone()), q.meeting_after),
            (
                LogId::Personal {
                    meeting: mid,
                    person: reader.person.clone(),
                },
                q.personal_after,
            ),
        ];
        let (entries, more) = hub
            .store()
            .entries_merged(&logs, PAGE)
            .map_err(Failure::internal)?;
        let docs = shared
            .annotation_docs
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // One redaction pass over the page; personal entries pass through
        // as they are: they are the reader's own.
        let redacted = access::redact(m, &entries, &reader.person, role, &docs);
        let entries = entries
            .into_iter()
            .zip(redacted)
            .map(|(e, r)| match e.log {
                LogId::Meeting(_) => r,
                _ => e,
            })
            .collect();
        Ok(Json(FeedResponse { entries, more }))
    })
    .await
}

/// The meeting `id` and the reader's role in it, if they may open it.
fn readable_meeting<'a>(
    hub: &'a crate::HubDir,
    id: &str,
    person: &PersonId,
) -> Result<(&'a phonghop_core::reducer::MeetingState, Role), Failure> {
    let m = hub
        .store()
        .state()
        .meetings
        .get(&MeetingId::new(id))
        .ok_or_else(|| no_meeting(id))?;
    let role = access::role_in(m, person).ok_or_else(|| no_meeting(id))?;
    Ok((m, role))
}

pub(crate) fn no_meeting(id: &str) -> Failure {
    // Same answer for "does not exist" and "not yours": no probing.
    Failure::new(
        StatusCode::NOT_FOUND,
        "no_meeting",
        format!("no meeting '{id}' for you on this hub"),
    )
}

/// Parses `bytes=N-` / `bytes=N-M`.
fn parse_range(h: &str, len: u64) -> Option<(u64, u64)> {
    let spec = h.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end: u64 = if b.trim().is_empty() {
        len.checked_sub(1)?
    } else {
        b.trim().parse::<u64>().ok()?.min(len.checked_sub(1)?)
    };
    (start <= end).then_some((start, end))
}

async fn blob(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, Failure> {
    let reader: Reader = auth::authenticate(&s, &headers, None).await?;
    let hash: Hash = sha.parse().map_err(|e: phonghop_core::hash::BadHash| {
        Failure::new(StatusCode::BAD_REQUEST, "bad_hash", e.to_string())
    })?;
    let allowed = s
        .with_hub(move |hub, _| access::may_read_blob(hub.store().state(), &hash, &reader.person))
        .await;
    let missing = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            "no_blob",
            format!("no paper {sha} for you on this hub"),
        )
    };
    if !allowed {
        return Err(missing());
    }
    let path = s.blobs.path(&hash);
    let mut file = tokio::fs::File::open(&path).await.map_err(|_| missing())?;
    let len = file.metadata().await.map_err(Failure::internal)?.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
        Some(r) => match parse_range(r, len) {
            Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
            None if len > 0
                && r.starts_with("bytes=")
                && r[6..].split('-').next().and_then(|a| a.parse::<u64>().ok()) == Some(len) =>
            {
                return Ok((
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response())
            }
            None => {
                return Err(Failure::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "bad_range",
                    format!("range '{r}' is outside the {len} bytes of this paper"),
                ))
            }
        },
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(Failure::internal)?;
    let stream = ReaderStream::with_capacity(file.take(count), 256 * 1024);
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, count)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{sha}\""));
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    resp.body(Body::from_stream(stream))
        .map_err(Failure::internal)
}
