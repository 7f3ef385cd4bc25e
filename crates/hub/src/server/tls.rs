//! The hub's self-signed TLS certificate, made once at first start and kept
//! in `DIR/tls/`. Devices pin its SHA-256 (given in the invite string), so
//! no certificate authority is involved and the hub's name or IP address
//! may change without breaking trust.

use crate::HubError;
use phonghop_core::Hash;
use std::path::Path;
use std::sync::Arc;

/// Certificate and key, DER.
#[derive(Debug, Clone)]
pub struct HubCert {
    /// Certificate, DER.
    pub cert_der: Vec<u8>,
    /// PKCS#8 private key, DER.
    pub key_der: Vec<u8>,
}

impl HubCert {
    /// SHA-256 of the certificate, hex: what devices pin.
    pub fn fingerprint(&self) -> String {
        Hash::of(&self.cert_der).to_hex()
    }

    /// Loads `DIR/tls/`, making a new certificate on first use.
    pub fn load_or_create(dir: &Path) -> Result<HubCert, HubError> {
        let tls = dir.join("tls");
        let (c, k) = (tls.join("hub.crt.der"), tls.join("hub.key.der"));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| HubError::Io { path: p, source }
        };
        if c.is_file() && k.is_file() {
            return Ok(HubCert {
                cert_der: std::fs::read(&c).map_err(io(&c))?,
                key_der: std::fs::read(&k).map_err(io(&k))?,
            });
        }
        phonghop_fs::create_dir_all(&tls).map_err(io(&tls))?;
        let names = vec!["phonghop-hub".to_string(), "localhost".to_string()];
        let certified =
            rcgen::generate_simple_self_signed(names).map_err(|e| HubError::BadKey {
                path: c.clone(),
                reason: format!("cannot make the TLS certificate: {e}"),
            })?;
        let cert = HubCert {
            cert_der: certified.cert.der().to_vec(),
            key_der: certified.signing_key.serialize_der(),
        };
        write_private(&k, &cert.key_der)?;
        phonghop_fs::write(&c, &cert.cert_der).map_err(io(&c))?;
        Ok(cert)
    }

    /// A rustls server configuration serving this certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, HubError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(vec![self.cert_der.clone().into()], key)
            })
            .map_err(|e| HubError::BadKey {
                path: "tls/hub.key.der".into(),
                reason: format!("unusable TLS key: {e}"),
            })?;
        let mut cfg = cfg;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    use std::io::Write;
    let mut f = phonghop_fs::create(path)
        .and_then(|mut f| f.write_all(bytes).map(|()| f))
        .map_err(|source| HubError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    f.flush().map_err(|source| HubError::Io {
        path: path.to_path_buf(),
        source,
    })
}
