//! HTTP plumbing: a reqwest client with the pinned certificate, JSON calls
//! that turn `{code, message}` answers into [`ClientError::Hub`], and the
//! WebSocket connection over a stream we open ourselves.

use crate::tls::pinned_config;
use crate::ClientError;
use phonghop_core::protocol::{ApiError, Invite};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// Refuses an invite that would talk plain HTTP to anything but this
/// computer (`127.0.0.0/8`, `::1`, `localhost`): TLS with the pinned
/// certificate is the only way to another host.
pub(crate) fn plain_only_on_loopback(invite: &Invite) -> Result<(), ClientError> {
    if invite.cert_sha256.is_some() {
        return Ok(());
    }
    let host = invite
        .address
        .rsplit_once(':')
        .map_or(invite.address.as_str(), |(h, _)| h);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(ClientError::PlainHttp {
            host: host.to_string(),
        })
    }
}

/// Builds the HTTP client for a hub.
pub(crate) fn http_client(cert_sha256: Option<&str>) -> Result<reqwest::Client, ClientError> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(8);
    // reqwest is built without a default TLS provider (ring only, no C
    // toolchain for aws-lc), so it always gets a config: the pinned one, or
    // for plain-HTTP hubs one that trusts nothing.
    let tls = match cert_sha256 {
        Some(fp) => pinned_config(fp).map_err(ClientError::Protocol)?,
        None => rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Protocol(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth(),
    };
    b = b.use_preconfigured_tls(tls);
    b.build().map_err(|e| ClientError::Protocol(e.to_string()))
}

/// Binds a short invite code to the hub at `address`: over TLS that
/// accepts any certificate, asks the hub to prove it knows the code for
/// the certificate it presented, and returns that certificate's SHA-256
/// (hex) to pin. The code itself is never sent; a stand-in that cannot
/// prove it is refused as a certificate mismatch.
pub(crate) async fn bind_code(code: &str, address: &str) -> Result<String, ClientError> {
    use phonghop_core::invite::{code_hash, invite_tag, proof_holds, BindRequest, BindResponse};
    let (tls, seen) = crate::tls::capturing_config().map_err(ClientError::Protocol)?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        // One connection, so the certificate seen is the one that answered.
        .pool_max_idle_per_host(0)
        .use_preconfigured_tls(tls)
        .build()
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    let hash = code_hash(code);
    let mut nonce = [0u8; 32];
    getrandom::getrandom(&mut nonce).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let base = format!("https://{address}");
    let resp: BindResponse = post(
        &http,
        &base,
        "/v1/pair/bind",
        None,
        &BindRequest {
            tag: invite_tag(&hash),
            nonce: hex::encode(nonce),
        },
    )
    .await?;
    let cert = seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or_else(|| ClientError::Protocol("the hub presented no certificate".into()))?;
    let proof = hex::decode(&resp.proof).unwrap_or_default();
    if !proof_holds(&hash, &nonce, &cert, &proof) {
        return Err(ClientError::CertificateMismatch { url: base });
    }
    Ok(hex::encode(cert))
}

/// Maps a transport error, recognising a certificate that is not the pinned one.
pub(crate) fn transport(url: &str, e: reqwest::Error) -> ClientError {
    let mut chain = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = src {
        chain.push_str(&s.to_string());
        chain.push(' ');
        src = s.source();
    }
    if chain.contains("certificate_mismatch") {
        return ClientError::CertificateMismatch {
            url: url.to_string(),
        };
    }
    ClientError::Unreachable {
        url: url.to_string(),
        cause: chain.trim().to_string(),
    }
}

/// Turns a non-success response into the hub's error.
pub(crate) async fn check(resp: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let err: ApiError = serde_json::from_str(&text).unwrap_or(ApiError {
        code: format!("http_{status}"),
        message: text.chars().take(200).collect(),
    });
    Err(ClientError::Hub {
        status,
        code: err.code,
        message: err.message,
    })
}

/// POSTs JSON, returns JSON.
pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: &B,
) -> Result<T, ClientError> {
    let url = format!("{base}{path}");
    let mut req = http.post(&url).json(body).timeout(Duration::from_secs(30));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| transport(base, e))?;
    let resp = check(resp).await?;
    resp.json().await.map_err(|e| transport(base, e))
}

/// GETs JSON.
pub(crate) async fn get<T: DeserializeOwned>(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> Result<T, ClientError> {
    let resp = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| transport(base, e))?;
    check(resp)
        .await?
        .json()
        .await
        .map_err(|e| transport(base, e))
}

/// A live WebSocket to the hub.
pub(crate) type Live = tokio_tungstenite::WebSocketStream<Box<dyn LiveIo>>;

/// A byte stream the WebSocket runs over (TCP or TLS).
pub(crate) trait LiveIo:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> LiveIo for T {}

/// Opens `/v1/live`.
pub(crate) async fn connect_live(
    address: &str,
    cert_sha256: Option<&str>,
    token: &str,
) -> Result<Live, ClientError> {
    let unreachable = |cause: String| ClientError::Unreachable {
        url: address.to_string(),
        cause,
    };
    let tcp = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(address),
    )
    .await
    .map_err(|_| unreachable("timed out".into()))?
    .map_err(|e| unreachable(e.to_string()))?;
    tcp.set_nodelay(true)
        .map_err(|e| unreachable(e.to_string()))?;
    let (scheme, io): (&str, Box<dyn LiveIo>) = match cert_sha256 {
        Some(fp) => {
            let cfg = pinned_config(fp).map_err(ClientError::Protocol)?;
            let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
            let name = rustls::pki_types::ServerName::try_from("phonghop-hub")
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            let tls = connector.connect(name, tcp).await.map_err(|e| {
                if e.to_string().contains("certificate_mismatch") {
                    ClientError::CertificateMismatch {
                        url: address.to_string(),
                    }
                } else {
                    unreachable(e.to_string())
                }
            })?;
            ("wss", Box::new(tls))
        }
        None => ("ws", Box::new(tcp)),
    };
    let url = format!("{scheme}://{address}/v1/live?token={token}");
    let (ws, _) = tokio_tungstenite::client_async(url, io)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invites_with_the_hubs_long_codes_parse() {
        // The hub's codes: 16 Crockford symbols in four groups (80 bits).
        let fp = "cd".repeat(32);
        let s = format!("phonghop:7K3M-Q9XA-H2PD-WR5T@192.168.1.10:8443/{fp}");
        let inv: Invite = s.parse().unwrap();
        assert_eq!(inv.code, "7K3M-Q9XA-H2PD-WR5T");
        assert_eq!(inv.to_string(), s);
        assert!(plain_only_on_loopback(&inv).is_ok());
        let typed: Invite = "phonghop:7k3mq9xah2pdwr5t@127.0.0.1:8080".parse().unwrap();
        assert_eq!(
            typed.code, "7K3MQ9XAH2PDWR5T",
            "typed without dashes, any case"
        );
    }

    #[test]
    fn plain_http_only_to_this_computer() {
        for ok in [
            "phonghop:ABCD@127.0.0.1:8080",
            "phonghop:ABCD@127.3.2.1:8080",
            "phonghop:ABCD@localhost:8080",
            "phonghop:ABCD@[::1]:8080",
        ] {
            let inv: Invite = ok.parse().unwrap();
            assert!(plain_only_on_loopback(&inv).is_ok(), "{ok}");
        }
        let fp = "ab".repeat(32);
        let tls: Invite = format!("phonghop:ABCD@192.168.1.10:8443/{fp}")
            .parse()
            .unwrap();
        assert!(
            plain_only_on_loopback(&tls).is_ok(),
            "TLS to the LAN is fine"
        );
        for bad in [
            "phonghop:ABCD@192.168.1.10:8080",
            "phonghop:ABCD@hub.local:8080",
            "phonghop:ABCD@127.0.0.1.evil.example:80",
            "phonghop:ABCD@0.0.0.0:8080",
        ] {
            let inv: Invite = bad.parse().unwrap();
            let e = plain_only_on_loopback(&inv).unwrap_err();
            let host = inv.address.rsplit_once(':').unwrap().0;
            assert_eq!(e.code(), "plain_http_refused", "{bad}");
            assert!(e.to_string().contains(host), "the error names {host}: {e}");
        }
    }
}
