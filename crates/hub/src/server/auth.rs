//! Pairing (invite code + device key), challenge–response, and sessions.
//! Unknown, revoked or expired → 401 with a code saying which.
//!
//! Pairing and sign-in answer anyone on the network, so each request is
//! cheap before it is careful, and none of them waits for the hub lock
//! unless it carries a live invite code:
//!
//! - per client address, a rate limit on all three endpoints (the
//!   `tower_governor` layer in [`super::api::router`]);
//! - the invite code's shape, then its row, read on a connection of its
//!   own ([`Shared::invite_state`]); only a code that can pair takes the
//!   hub lock;
//! - challenges and sessions check the device in [`Shared::devices`], the
//!   directory's keys kept beside the hub state, never the hub itself;
//! - challenges wait in a bounded map ([`Challenges`]): a few per device,
//!   a fixed number in all (then `503 busy`);
//! - per device, a rate limit on sessions opened (governor, keyed by
//!   device): only the device's own key can spend it, so nobody else can
//!   lock a device out by asking for its challenges;
//! - a device keeps a few live sessions at most (its oldest are dropped).
//!
//! A limit answers `429 rate_limited` (or `503 busy`) with `Retry-After`.

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
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How long a challenge may wait for its answer.
const CHALLENGE_TTL_MS: i64 = 60_000;

fn unauthorized(code: &str, message: impl Into<String>) -> Failure {
    Failure::new(StatusCode::UNAUTHORIZED, code, message)
}

/// `429 rate_limited`, with the wait in `Retry-After` (whole seconds,
/// rounded up, at least 1).
pub(crate) fn rate_limited(wait: Duration, what: &str) -> Failure {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many {what}; try again in {} s", secs.max(1)),
    )
    .retry_after(secs.max(1))
}

fn random_hex() -> Result<String, Failure> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(Failure::internal)?;
    Ok(hex::encode(b))
}

/// What sign-in needs to know of a device, kept beside the hub state so
/// challenges and sessions never take the hub lock ([`Shared::devices`]).
#[derive(Debug, Clone)]
pub(crate) struct DeviceAuth {
    pub person: PersonId,
    pub key: PublicKey,
    pub revoked: bool,
}

impl DeviceAuth {
    pub fn of(d: &Device) -> DeviceAuth {
        DeviceAuth {
            person: d.person.clone(),
            key: d.public_key,
            revoked: d.revoked_at.is_some(),
        }
    }
}

/// Per-device rate limiter (governor's GCRA, keyed by device id).
pub(crate) type DeviceLimiter = governor::DefaultKeyedRateLimiter<DeviceId>;

/// Builds a keyed limiter: `burst` at once, then one per `every`.
pub(crate) fn device_limiter(burst: u32, every: Duration) -> DeviceLimiter {
    let quota = governor::Quota::with_period(every.max(Duration::from_millis(1)))
        .unwrap_or_else(|| governor::Quota::per_second(std::num::NonZeroU32::MIN))
        .allow_burst(std::num::NonZeroU32::new(burst).unwrap_or(std::num::NonZeroU32::MIN));
    governor::RateLimiter::keyed(quota)
}

/// Challenges waiting for their answer: at most `per_device` for one
/// device (its oldest is dropped for a new one) and `max` in all (expired
/// ones are dropped first; then a new one is refused).
#[derive(Debug)]
pub(crate) struct Challenges {
    by_nonce: HashMap<String, (DeviceId, Timestamp)>,
    by_device: HashMap<DeviceId, VecDeque<String>>,
    max: usize,
    per_device: usize,
}

/// The challenge map is full of unexpired challenges.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Full;

impl Challenges {
    pub fn new(max: usize, per_device: usize) -> Challenges {
        Challenges {
            by_nonce: HashMap::new(),
            by_device: HashMap::new(),
            max: max.max(1),
            per_device: per_device.max(1),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_nonce.len()
    }

    /// Records `nonce` for `device` until `expires_at`.
    pub fn issue(
        &mut self,
        nonce: String,
        device: &DeviceId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), Full> {
        let by_nonce = &mut self.by_nonce;
        let mine = self.by_device.entry(device.clone()).or_default();
        mine.retain(|n| by_nonce.get(n).is_some_and(|(_, exp)| *exp >= now));
        while mine.len() >= self.per_device {
            if let Some(old) = mine.pop_front() {
                by_nonce.remove(&old);
            }
        }
        if self.by_nonce.len() >= self.max {
            self.by_nonce.retain(|_, (_, exp)| *exp >= now);
            let by_nonce = &self.by_nonce;
            self.by_device.retain(|_, q| {
                q.retain(|n| by_nonce.contains_key(n));
                !q.is_empty()
            });
            if self.by_nonce.len() >= self.max {
                return Err(Full);
            }
        }
        self.by_device
            .entry(device.clone())
            .or_default()
            .push_back(nonce.clone());
        self.by_nonce.insert(nonce, (device.clone(), expires_at));
        Ok(())
    }

    /// Takes a challenge (each is answered at most once).
    pub fn take(&mut self, nonce: &str) -> Option<(DeviceId, Timestamp)> {
        let (device, exp) = self.by_nonce.remove(nonce)?;
        if let Some(q) = self.by_device.get_mut(&device) {
            q.retain(|n| n != nonce);
            if q.is_empty() {
                self.by_device.remove(&device);
            }
        }
        Some((device, exp))
    }
}

pub(crate) async fn pair(
    State(s): State<Arc<Shared>>,
    Json(req): Json<PairRequest>,
) -> Result<Json<PairResponse>, Failure> {
    let refused = |r: PairRefusal| match r {
        PairRefusal::Unknown => unauthorized(
            "invite_unknown",
            "this invite code is not known to the hub; check it with the secretariat",
        ),
        PairRefusal::Used => unauthorized(
            "invite_used",
            "this invite code was already used; ask the secretariat for a new one",
        ),
        PairRefusal::Expired => unauthorized(
            "invite_expired",
            "this invite code has expired; ask the secretariat for a new one",
        ),
        PairRefusal::Cancelled => unauthorized(
            "invite_cancelled",
            "this invite code was cancelled by the secretariat; ask them for a new one",
        ),
    };
    // Before the hub lock: the code's shape, then its row.
    if crate::canonical_invite_code(&req.code).is_none() {
        return Err(refused(PairRefusal::Unknown));
    }
    s.invite_state(req.code.clone()).await?.map_err(refused)?;
    let paired = s
        .with_hub(move |hub, shared| {
            let now = shared.now();
            let device = match hub.pair(&req.code, req.public_key, &req.label, now) {
                Ok(Ok(d)) => d,
                Ok(Err(r)) => return Err(refused(r)),
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
            Ok((device, name, hub.public_key()))
        })
        .await?;
    let (device, person_name, hub_key) = paired;
    s.note_device(&device);
    tracing::info!(device = %device.id, person = %device.person, "device paired");
    Ok(Json(PairResponse {
        device: device.id,
        person: device.person,
        person_name,
        hub_key,
    }))
}

/// A device that has only the short code asks the hub to prove it knows
/// the code, for the certificate it serves (`phonghop_core::invite`).
pub(crate) async fn bind(
    State(s): State<Arc<Shared>>,
    Json(req): Json<phonghop_core::invite::BindRequest>,
) -> Result<Json<phonghop_core::invite::BindResponse>, Failure> {
    let Some(cert) = s.cert_sha256.get().copied() else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "no_tls",
            "this hub serves plain HTTP to this computer only: use the full invite",
        ));
    };
    let hex_of = |what: &str, v: &str, len: usize| {
        if v.len() == len && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("{what} must be {len} hex digits"),
            ))
        }
    };
    hex_of("tag", &req.tag, 32)?;
    hex_of("nonce", &req.nonce, 64)?;
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(&req.nonce, &mut nonce).map_err(Failure::internal)?;
    let hash = s
        .live_invite_by_tag(req.tag.to_ascii_lowercase())
        .await?
        .ok_or_else(|| {
            unauthorized(
                "invite_unknown",
                "this invite code is not known to the hub, or was used, cancelled or expired",
            )
        })?;
    let proof = phonghop_core::invite::bind_proof(&hash, &nonce, &cert);
    Ok(Json(phonghop_core::invite::BindResponse {
        proof: hex::encode(proof),
    }))
}

/// The device's sign-in record, if it is known and not revoked.
fn device_auth(s: &Shared, device: &DeviceId) -> Result<DeviceAuth, Failure> {
    let d = s
        .devices
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(device)
        .cloned()
        .ok_or_else(|| {
            unauthorized(
                "unknown_device",
                format!("device '{device}' is not paired with this hub"),
            )
        })?;
    if d.revoked {
        return Err(revoked());
    }
    Ok(d)
}

fn revoked() -> Failure {
    unauthorized(
        "device_revoked",
        "this device was revoked by the secretariat",
    )
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
        return Err(revoked());
    }
    Ok(d.clone())
}

type State_ = phonghop_core::State;

pub(crate) async fn challenge(
    State(s): State<Arc<Shared>>,
    Json(req): Json<ChallengeRequest>,
) -> Result<Json<ChallengeResponse>, Failure> {
    device_auth(&s, &req.device)?;
    let nonce = random_hex()?;
    let now = s.now();
    let expires_at = Timestamp(now.0.saturating_add(CHALLENGE_TTL_MS));
    s.challenges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .issue(nonce.clone(), &req.device, expires_at, now)
        .map_err(|Full| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the hub has too many sign-ins waiting; try again in a moment",
            )
            .retry_after(1)
        })?;
    Ok(Json(ChallengeResponse { nonce, expires_at }))
}

pub(crate) async fn session(
    State(s): State<Arc<Shared>>,
    Json(req): Json<SessionRequest>,
) -> Result<Json<SessionResponse>, Failure> {
    let now = s.now();
    let taken = s
        .challenges
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take(&req.nonce);
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
    let d = device_auth(&s, &device)?;
    let nonce =
        hex::decode(&req.nonce).map_err(|_| unauthorized("bad_signature", "malformed nonce"))?;
    d.key
        .verify(context::AUTH, &nonce, &req.signature)
        .map_err(|_| {
            unauthorized(
                "bad_signature",
                "the signature does not match this device's key",
            )
        })?;
    if let Err(not_until) = s.session_limiter.check_key(&device) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        return Err(rate_limited(wait, "sign-ins from this device"));
    }
    let token = random_hex()?;
    let ttl = i64::try_from(s.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = Timestamp(now.0.saturating_add(ttl));
    let keep = s.config.limits.sessions_per_device.max(1);
    let mut sessions = s.sessions.lock().unwrap_or_else(|p| p.into_inner());
    sessions.retain(|_, x| x.expires_at >= now);
    let mut mine: Vec<(Timestamp, String)> = sessions
        .iter()
        .filter(|(_, x)| x.device == device)
        .map(|(t, x)| (x.expires_at, t.clone()))
        .collect();
    if mine.len() >= keep {
        mine.sort();
        for (_, old) in mine.iter().take(mine.len() + 1 - keep) {
            sessions.remove(old);
        }
    }
    sessions.insert(
        token.clone(),
        super::Session {
            device,
            person: d.person,
            expires_at,
        },
    );
    Ok(Json(SessionResponse { token, expires_at }))
}

/// The bearer token of a request (or `?token=` for the WebSocket).
fn bearer(headers: &HeaderMap, query_token: Option<String>) -> Result<String, Failure> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or(query_token)
        .ok_or_else(|| unauthorized("no_session", "sign in first (no session token)"))
}

/// Whether `token` is a live session of `device` (for sockets re-checking
/// theirs): `Err` with the reason it is not.
pub(crate) fn session_live(s: &Shared, token: &str, device: &DeviceId) -> Result<(), Failure> {
    let now = s.now();
    let live = s
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(token)
        .is_some_and(|x| x.expires_at >= now && x.device == *device);
    if !live {
        return Err(unauthorized(
            "session_expired",
            "the session expired or is unknown; sign in again",
        ));
    }
    device_auth(s, device).map(|_| ())
}

/// The reader behind a request's bearer token (or `?token=` for the
/// WebSocket).
pub(crate) async fn authenticate(
    s: &Arc<Shared>,
    headers: &HeaderMap,
    query_token: Option<String>,
) -> Result<Reader, Failure> {
    authenticate_token(s, headers, query_token)
        .await
        .map(|(reader, _)| reader)
}

/// [`authenticate`], also returning the token (a live socket re-checks it).
pub(crate) async fn authenticate_token(
    s: &Arc<Shared>,
    headers: &HeaderMap,
    query_token: Option<String>,
) -> Result<(Reader, String), Failure> {
    let token = bearer(headers, query_token)?;
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
    Ok((
        Reader {
            person: session.person,
            device: session.device,
        },
        token,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_map_is_bounded_per_device_and_in_all() {
        let t = Timestamp;
        let mut ch = Challenges::new(4, 2);
        let (a, b, c) = (DeviceId::new("a"), DeviceId::new("b"), DeviceId::new("c"));
        for n in ["a1", "a2", "a3"] {
            ch.issue(n.into(), &a, t(100), t(0)).unwrap();
        }
        assert_eq!(ch.len(), 2, "a device keeps its two newest challenges");
        assert!(ch.take("a1").is_none(), "its oldest was dropped");
        ch.issue("b1".into(), &b, t(100), t(0)).unwrap();
        ch.issue("b2".into(), &b, t(50), t(0)).unwrap();
        assert_eq!(
            ch.issue("c1".into(), &c, t(100), t(0)),
            Err(Full),
            "full of live challenges: refused, nobody else's dropped"
        );
        assert_eq!(ch.len(), 4);
        ch.issue("c1".into(), &c, t(100), t(60))
            .expect("an expired challenge makes room");
        assert!(ch.take("b2").is_none(), "the expired one is gone");
        assert_eq!(ch.take("a3").map(|x| x.0), Some(a.clone()));
        assert!(ch.take("a3").is_none(), "a challenge is answered once");
        assert_eq!(ch.len(), 3);
    }
}
