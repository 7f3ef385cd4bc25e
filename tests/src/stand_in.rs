//! A stand-in for the hub: a TLS server on 127.0.0.1 with a certificate of
//! its own that answers a short code's binding request with the proof the
//! real hub would give for *its* certificate — what a relay between a
//! device and the real hub obtains — and notes every request it receives.
//! A device must refuse it after the binding request, sending nothing else
//! (never the code).

use anyhow::Result;
use axum::response::IntoResponse;
use phonghop_core::invite::{bind_proof, canonical_code, code_hash, BindRequest, BindResponse};
use phonghop_hub::server::tls::HubCert;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A running stand-in (stopped when dropped).
#[derive(Debug)]
pub struct StandIn {
    /// Where it answers.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl StandIn {
    /// Starts one on a port of its own for invite `code`, relaying proofs
    /// for the real hub's certificate `real_cert_der`.
    pub fn start(code: &str, real_cert_der: &[u8]) -> Result<StandIn> {
        Self::serve("127.0.0.1:0".parse()?, code, Some(real_cert_der))
    }

    /// Starts one at `addr` — the address the real hub will have, taken
    /// before the hub is there. It has no real hub to relay from, so its
    /// proofs are guesses.
    pub fn blind_at(addr: SocketAddr, code: &str) -> Result<StandIn> {
        Self::serve(addr, code, None)
    }

    fn serve(addr: SocketAddr, code: &str, real_cert_der: Option<&[u8]>) -> Result<StandIn> {
        let canonical =
            canonical_code(code).ok_or_else(|| anyhow::anyhow!("not a code: {code}"))?;
        let dir = tempfile::tempdir()?;
        let cert = HubCert::load_or_create(dir.path())?;
        let real_sha: Option<[u8; 32]> = real_cert_der.map(|d| phonghop_core::Hash::of(d).0);
        let hash = code_hash(&canonical);
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let log = log.clone();
            let hash = hash.clone();
            async move {
                let path = req.uri().path().to_string();
                let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap_or_default();
                log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("{path} {}", String::from_utf8_lossy(&body)));
                match serde_json::from_slice::<BindRequest>(&body) {
                    Ok(b) if path == "/v1/pair/bind" => {
                        let mut nonce = [0u8; 32];
                        let _ = hex::decode_to_slice(&b.nonce, &mut nonce);
                        let proof = match real_sha {
                            Some(real) => bind_proof(&hash, &nonce, &real).to_vec(),
                            None => phonghop_core::Hash::of(&nonce).0.to_vec(),
                        };
                        axum::Json(BindResponse {
                            proof: hex::encode(proof),
                        })
                        .into_response()
                    }
                    _ => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let listener = std::net::TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let tls = axum_server::tls_rustls::RustlsConfig::from_config(cert.server_config()?);
        let task = tokio::spawn(
            axum_server::from_tcp_rustls(listener, tls).serve(app.into_make_service()),
        );
        Ok(StandIn {
            addr,
            seen,
            task,
            _dir: dir,
        })
    }

    /// Every request so far: "PATH BODY".
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fails unless the stand-in received the binding request only, and
    /// nothing in it holds the code.
    pub fn received_only_the_binding(&self, code: &str) -> Result<()> {
        let seen = self.requests();
        let canonical = canonical_code(code).unwrap_or_default();
        anyhow::ensure!(
            seen.len() == 1 && seen[0].starts_with("/v1/pair/bind "),
            "the stand-in received more than the binding request: {seen:?}"
        );
        anyhow::ensure!(
            !seen[0].contains(&canonical) && !seen[0].contains(code),
            "the code itself reached the stand-in: {seen:?}"
        );
        Ok(())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}
