//! Pairing (invite code + device key), challenge–response, and sessions.
//! Unknown, revoked or expired → 401 with a code saying which.

use super::access::Reader;
use super::api::Failure;
use super::Shared;
use crate::PairRefusal;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use phonghop_core::protocol::*;
use phonghop_core::sign::context;
use phonghop_core::*;
use std::sync::Arc;

fn unauthorized(code: &str, message: impl Into<String>) -> Failure {
    Failure::new(StatusCode::UNAUTHORIZED, code, message)
}

fn random_hex() -> Result<String, Failure> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(Failure::internal)?;
    Ok(hex::encode(b))
}

pub(crate) async fn pair(
    State(s): State<Arc<Shared>>,
    Json(req): Json<PairRequest>,
) -> Result<Json<PairResponse>, Failure> {
    s.with_hub(move |hub, shared| {
        let now = shared.now();
        let device = match hub.pair(&req.code, req.public_key, &req.label, now) {
            Ok(Ok(d)) => d,
            Ok(Err(PairRefusal::Unknown)) => {
                return Err(unauthorized(
                    "invite_unknown",
                    "this invite code is not known to the hub; check it with the secretariat",
                ))
            }
            Ok(Err(PairRefusal::Used)) => {
                return Err(unauthorized(
                    "invite_used",
                    "this invite code was already used; ask the secretariat for a new one",
                ))
            }
            Ok(Err(PairRefusal::Expired)) => {
                return Err(unauthorized(
                    "invite_expired",
                    "this invite code has expired; ask the secretariat for a new one",
                ))
            }
            Err(e) if e.code() == "duplicate" => {
                return Err(Failure::new(
                    StatusCode::CONFLICT,
                    "device_known",
                    "this device is already paired",
                ))
            }
            Err(e) => return Err(Failure::internal(e)),
        };
        let name = hub
            .store()
            .state()
            .directory
            .persons
            .get(&device.person)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        tracing::info!(device = %device.id, person = %device.person, "device paired");
        Ok(Json(PairResponse {
            device: device.id,
            person: device.person,
            person_name: name,
            hub_key: hub.public_key(),
        }))
    })
    .await
}

/// Checks that the device may talk to us: known and not revoked.
fn device_ok(state: &State_, device: &DeviceId) -> Result<Device, Failure> {
    let d = state.directory.devices.get(device).ok_or_else(|| {
        unauthorized(
            "unknown_device",
            format!("device '{device}' is not paired with this hub"),
        )
    })?;
    if d.revoked_at.is_some() {
        return Err(unauthorized(
            "device_revoked",
            "this device was revoked by the secretariat",
        ));
    }
    Ok(d.clone())
}

type State_ = phonghop_core::State;

pub(crate) async fn challenge(
    State(s): State<Arc<Shared>>,
    Json(req): Json<ChallengeRequest>,
) -> Result<Json<ChallengeResponse>, Failure> {
    s.with_hub(move |hub, shared| {
        device_ok(hub.store().state(), &req.device)?;
        let nonce = random_hex()?;
        let expires_at = Timestamp(shared.now().0 + 60_000);
        let mut ch = shared.challenges.lock().unwrap_or_else(|p| p.into_inner());
        let now = shared.now();
        ch.retain(|_, (_, exp)| *exp >= now);
        ch.insert(nonce.clone(), (req.device, expires_at));
        Ok(Json(ChallengeResponse { nonce, expires_at }))
    })
    .await
}

pub(crate) async fn session(
    State(s): State<Arc<Shared>>,
    Json(req): Json<SessionRequest>,
) -> Result<Json<SessionResponse>, Failure> {
    s.with_hub(move |hub, shared| {
        let now = shared.now();
        let taken = shared
            .challenges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&req.nonce);
        let Some((device, expires)) = taken else {
            return Err(unauthorized(
                "challenge_expired",
                "this challenge is unknown or was already used; ask for a new one",
            ));
        };
        if device != req.device || expires < now {
            return Err(unauthorized(
                "challenge_expired",
                "this challenge expired or belongs to another device",
            ));
        }
        let d = device_ok(hub.store().state(), &device)?;
        let nonce = hex::decode(&req.nonce)
            .map_err(|_| unauthorized("bad_signature", "malformed nonce"))?;
        d.public_key
            .verify(context::AUTH, &nonce, &req.signature)
            .map_err(|_| {
                unauthorized(
                    "bad_signature",
                    "the signature does not match this device's key",
                )
            })?;
        let token = random_hex()?;
        let ttl = i64::try_from(shared.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = Timestamp(now.0.saturating_add(ttl));
        let mut sessions = shared.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires_at >= now);
        sessions.insert(
            token.clone(),
            super::Session {
                device,
                person: d.person,
                expires_at,
            },
        );
        Ok(Json(SessionResponse { token, expires_at }))
    })
    .await
}

/// The reader behind a request's bearer token (or `?token=` for the
/// WebSocket).
pub(crate) async fn authenticate(
    s: &Arc<Shared>,
    headers: &HeaderMap,
    query_token: Option<String>,
) -> Result<Reader, Failure> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or(query_token)
        .ok_or_else(|| unauthorized("no_session", "sign in first (no session token)"))?;
    let now = s.now();
    let session = s
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&token)
        .cloned()
        .filter(|x| x.expires_at >= now)
        .ok_or_else(|| {
            unauthorized(
                "session_expired",
                "the session expired or is unknown; sign in again",
            )
        })?;
    let device = session.device.clone();
    s.with_hub(move |hub, _| device_ok(hub.store().state(), &device))
        .await?;
    Ok(Reader {
        person: session.person,
        device: session.device,
    })
}
