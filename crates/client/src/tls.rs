//! TLS with the hub's self-signed certificate pinned by its SHA-256 (from
//! the invite). The usual chain-of-trust and name checks are replaced by an
//! exact certificate match; the handshake signatures are still verified with
//! the ring provider, so only the holder of the pinned certificate's key
//! can answer.
//!
//! One other use: binding a short invite code (`phonghop_core::invite`),
//! where the certificate is not known yet. Then any certificate is
//! accepted and its SHA-256 recorded; the hub's proof decides whether it is
//! the one to pin, and nothing but the binding request goes over that
//! connection.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Where [`capturing_config`] puts the SHA-256 of the certificate it saw.
pub type SeenCertificate = Arc<std::sync::Mutex<Option<[u8; 32]>>>;

/// What to make of the server's certificate.
#[derive(Debug)]
enum Check {
    /// Exactly this one (SHA-256).
    Pinned([u8; 32]),
    /// Any: record it.
    Capture(SeenCertificate),
}

#[derive(Debug)]
struct HubCertificate {
    check: Check,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for HubCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        match &self.check {
            Check::Pinned(sha256) if got == *sha256 => Ok(ServerCertVerified::assertion()),
            Check::Pinned(_) => Err(rustls::Error::General("certificate_mismatch".into())),
            Check::Capture(seen) => {
                *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(got);
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn config(check: Check) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(HubCertificate { check, provider }))
            .with_no_client_auth(),
    )
}

/// A rustls client config that accepts exactly the certificate whose
/// SHA-256 is `fingerprint_hex`.
pub fn pinned_config(fingerprint_hex: &str) -> Result<rustls::ClientConfig, String> {
    let mut sha256 = [0u8; 32];
    hex::decode_to_slice(fingerprint_hex, &mut sha256)
        .map_err(|_| "bad certificate fingerprint".to_string())?;
    config(Check::Pinned(sha256))
}

/// A rustls client config that accepts any certificate and reports the
/// SHA-256 of the one it saw: only for binding a short invite code.
pub fn capturing_config() -> Result<(rustls::ClientConfig, SeenCertificate), String> {
    let seen: SeenCertificate = Arc::new(std::sync::Mutex::new(None));
    Ok((config(Check::Capture(seen.clone()))?, seen))
}
