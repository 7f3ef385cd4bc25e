//! A device speaking the protocol by hand (plain reqwest), for the cases
//! the real client would never produce: forged signatures, other devices'
//! command ids, missing or bad tokens, WebSocket upgrades without a token.

use anyhow::{Context, Result};
use phonghop_core::protocol::*;
use phonghop_core::sign::context;
use phonghop_core::*;
use reqwest::StatusCode;
use std::net::SocketAddr;

/// A reqwest client for plain HTTP on loopback (reqwest is built without a
/// default TLS provider, so it always gets a rustls config).
pub fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("a plain reqwest client builds")
}

/// An answer: status and body (JSON error `code` when there is one).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The `{code}` of an error answer, or "".
    pub fn code(&self) -> String {
        serde_json::from_slice::<ApiError>(&self.body)
            .map(|e| e.code)
            .unwrap_or_default()
    }
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "answer {} is not the expected JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A device (or an impostor) talking to `base` by hand.
#[derive(Debug, Clone)]
pub struct RawDevice {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Device id it claims.
    pub device: DeviceId,
    /// Key it signs with.
    pub key: SecretKey,
    /// Session token, once signed in.
    pub token: Option<String>,
    http: reqwest::Client,
}

impl RawDevice {
    /// A device at `addr` with this id and key (not signed in).
    pub fn new(addr: SocketAddr, device: DeviceId, key: SecretKey) -> RawDevice {
        RawDevice {
            base: format!("http://{addr}"),
            device,
            key,
            token: None,
            http: http(),
        }
    }

    /// The device of a joined client folder (its real key).
    pub fn of(client: &phonghop_client::Client, addr: SocketAddr) -> RawDevice {
        let dir = client.dir();
        let d = dir.lock().unwrap_or_else(|p| p.into_inner());
        RawDevice::new(addr, client.pairing().device.clone(), d.key().clone())
    }

    /// Sends a request; `token` overrides the session token ("" = none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        match token.or(self.token.as_deref()) {
            Some("") | None => {}
            Some(t) => req = req.bearer_auth(t),
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.context("request to the hub")?;
        let status = resp.status();
        let body = resp.bytes().await?.to_vec();
        Ok(Answer { status, body })
    }

    /// GET with the session token.
    pub async fn get(&self, path: &str) -> Result<Answer> {
        self.send(reqwest::Method::GET, path, None, None, &[]).await
    }

    /// Challenge–response: signs in (fails if the hub refuses).
    pub async fn sign_in(&mut self) -> Result<Answer> {
        let ch = self
            .send(
                reqwest::Method::POST,
                "/v1/auth/challenge",
                Some(""),
                Some(serde_json::to_value(ChallengeRequest {
                    device: self.device.clone(),
                })?),
                &[],
            )
            .await?;
        if !ch.status.is_success() {
            return Ok(ch);
        }
        let ch: ChallengeResponse = ch.json()?;
        let nonce = hex::decode(&ch.nonce)?;
        let signature = self.key.sign(context::AUTH, &nonce);
        let s = self
            .send(
                reqwest::Method::POST,
                "/v1/auth/session",
                Some(""),
                Some(serde_json::to_value(SessionRequest {
                    device: self.device.clone(),
                    nonce: ch.nonce,
                    signature,
                })?),
                &[],
            )
            .await?;
        if s.status.is_success() {
            self.token = Some(s.json::<SessionResponse>()?.token);
        }
        Ok(s)
    }

    /// A command body signed with `key` (which may not be this device's).
    pub fn signed(&self, id: &str, command: Command, key: &SecretKey) -> SignedCommand {
        SignedCommand::sign(
            CommandBody {
                device: self.device.clone(),
                id: CommandId::new(id),
                issued_at: Timestamp(0),
                command,
            },
            key,
        )
        .expect("a command serializes")
    }

    /// POST /v1/commands.
    pub async fn command(&self, cmd: &SignedCommand) -> Result<Answer> {
        self.send(
            reqwest::Method::POST,
            "/v1/commands",
            None,
            Some(serde_json::to_value(cmd)?),
            &[],
        )
        .await
    }
}
