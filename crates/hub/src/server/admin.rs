//! The admin endpoint: `POST /v1/admin` on a listener of its own, bound to
//! `127.0.0.1` and recorded in `serving.json`. Programs on the hub's
//! computer that can read `hub.key` (the `phonghop` CLI, the secretariat's
//! app attached to this hub) send the folder's writes here while the hub
//! runs, so the hub stays the folder's one writer (see [`crate::admin`]).

use super::api::Failure;
use super::Shared;
use crate::admin::{self, AdminRefusal, AdminReply, AdminRequest};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest admin request: a paper's analysis travels with it (character
/// boxes of every page).
const BODY_MAX: usize = 512 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/admin", post(admin))
        .fallback(|| async { Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .with_state(shared)
}

fn refused(r: AdminRefusal) -> Failure {
    let status = match r {
        AdminRefusal::NotLocal(_) => StatusCode::FORBIDDEN,
        AdminRefusal::Unreadable(_) => StatusCode::BAD_REQUEST,
        AdminRefusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    Failure::new(status, r.code(), r.message())
}

async fn admin(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<AdminReply>, Failure> {
    if !peer.ip().is_loopback() {
        return Err(refused(AdminRefusal::NotLocal(peer)));
    }
    if let Some(reason) = s.halted.get() {
        return Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "hub_halted",
            reason.clone(),
        ));
    }
    let req: AdminRequest = serde_json::from_slice(&body)
        .map_err(|e| refused(AdminRefusal::Unreadable(e.to_string())))?;
    let body = req.open(&s.admin.key).map_err(refused)?;
    s.admin
        .replays
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take(&body, s.now())
        .map_err(refused)?;
    let op = body.op;
    let done = s
        .with_hub(move |hub, shared| admin::execute(hub, op, shared.now()))
        .await;
    match done {
        Ok(reply) => Ok(Json(reply)),
        Err(e) => {
            let status = match e.code() {
                "io" | "sqlite" | "halted" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Err(Failure::new(status, e.code(), e.to_string()))
        }
    }
}

/// What the endpoint checks requests with.
pub(crate) struct AdminGuard {
    /// The hub's own public key.
    pub key: phonghop_core::PublicKey,
    /// Nonces taken.
    pub replays: std::sync::Mutex<admin::Replays>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_their_code_and_a_status() {
        let f = refused(AdminRefusal::NotLocal(SocketAddr::from((
            [192, 0, 2, 7],
            1,
        ))));
        assert_eq!(f.0, StatusCode::FORBIDDEN);
        assert_eq!(f.1.code, "admin_not_local");
        assert!(f.1.message.contains("192.0.2.7"), "{}", f.1.message);
        assert_eq!(refused(AdminRefusal::Replayed).0, StatusCode::UNAUTHORIZED);
    }
}
