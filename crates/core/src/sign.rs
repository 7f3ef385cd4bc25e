//! Ed25519 keys and signatures (ed25519-dalek), always verified with
//! `verify_strict`, which refuses weak keys and malleable signatures.
//!
//! Every signed message is domain-separated: the signed bytes are
//! `"phonghop/v1/" ‖ context ‖ 0x00 ‖ message`, so a signature made for a log
//! entry can never be replayed as a command signature or the other way round.
//! Key generation takes the 32 seed bytes from the caller (core does no I/O).

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Contexts in use, so every signer and verifier names the same one.
pub mod context {
    /// The hub signing a log entry hash.
    pub const LOG_ENTRY: &str = "log-entry";
    /// A device signing a command it sends to the hub.
    pub const COMMAND: &str = "command";
    /// A device answering the hub's authentication challenge.
    pub const AUTH: &str = "auth";
    /// A program on the hub's computer (the `phonghop` CLI) sending the
    /// running hub a write, signed with the hub's own key (`hub.key`).
    pub const ADMIN: &str = "admin";
}

fn framed(context: &str, message: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + context.len() + message.len());
    m.extend_from_slice(b"phonghop/v1/");
    m.extend_from_slice(context.as_bytes());
    m.push(0);
    m.extend_from_slice(message);
    m
}

/// A signing key (hub or device). Its `Debug` never prints the secret.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// Builds the key from 32 random seed bytes supplied by the caller.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }
    /// The 32 seed bytes, for storing the key in a file only its owner reads.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
    /// Signs `message` under `context` (see [`context`]).
    pub fn sign(&self, context: &str, message: &[u8]) -> Signature {
        Signature(self.0.sign(&framed(context, message)))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public())
    }
}

/// A public key, serialized as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// Why a signature or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The signature does not match the message and key.
    #[error("signature does not verify")]
    BadSignature,
    /// The key bytes are not a valid Ed25519 public key.
    #[error("'{0}' is not an Ed25519 public key (64 hex digits)")]
    BadKey(String),
    /// The signature bytes are malformed.
    #[error("'{0}' is not an Ed25519 signature (128 hex digits)")]
    BadSignatureEncoding(String),
}

impl PublicKey {
    /// Verifies `sig` over `message` under `context`, strictly.
    pub fn verify(&self, context: &str, message: &[u8], sig: &Signature) -> Result<(), SignError> {
        self.0
            .verify_strict(&framed(context, message), &sig.0)
            .map_err(|_| SignError::BadSignature)
    }
    /// Raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }
    /// A short fingerprint for people to compare (first 8 bytes of SHA-256, hex).
    pub fn fingerprint(&self) -> String {
        crate::Hash::of(&self.to_bytes()).to_hex()[..16].to_string()
    }
    /// Whether `expected` names this key: its [`fingerprint`] or its full
    /// hex, in either case, spaces and colons ignored (as people copy them
    /// from a printout).
    ///
    /// [`fingerprint`]: PublicKey::fingerprint
    pub fn is_named_by(&self, expected: &str) -> bool {
        let given: String = expected
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .flat_map(char::to_lowercase)
            .collect();
        given == self.fingerprint() || given == self.to_hex()
    }
}

impl FromStr for PublicKey {
    type Err = SignError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut b = [0u8; 32];
        let short = || SignError::BadKey(s.chars().take(80).collect());
        hex::decode_to_slice(s, &mut b).map_err(|_| short())?;
        VerifyingKey::from_bytes(&b)
            .map(PublicKey)
            .map_err(|_| short())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// An Ed25519 signature, serialized as 128 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Raw 64 bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
    /// From raw 64 bytes.
    pub fn from_bytes(b: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(b))
    }
}

impl FromStr for Signature {
    type Err = SignError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut b = [0u8; 64];
        hex::decode_to_slice(s, &mut b)
            .map_err(|_| SignError::BadSignatureEncoding(s.chars().take(140).collect()))?;
        Ok(Self::from_bytes(&b))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", &hex::encode(self.to_bytes())[..16])
    }
}

macro_rules! hex_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.to_bytes()))
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
hex_serde!(PublicKey);
hex_serde!(Signature);

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    #[test]
    fn sign_verify_and_domain_separation() {
        let k = key(7);
        let sig = k.sign(context::COMMAND, b"hello");
        assert!(k.public().verify(context::COMMAND, b"hello", &sig).is_ok());
        assert_eq!(
            k.public().verify(context::LOG_ENTRY, b"hello", &sig),
            Err(SignError::BadSignature),
            "a command signature must not pass as a log entry signature"
        );
        assert!(k.public().verify(context::COMMAND, b"hellO", &sig).is_err());
        assert!(key(8)
            .public()
            .verify(context::COMMAND, b"hello", &sig)
            .is_err());
    }

    #[test]
    fn secret_debug_does_not_leak_seed() {
        let dbg = format!("{:?}", key(9));
        assert!(!dbg.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn serde_round_trip() {
        let k = key(1);
        let sig = k.sign("x", b"y");
        let pk: PublicKey =
            serde_json::from_str(&serde_json::to_string(&k.public()).unwrap()).unwrap();
        let sig2: Signature = serde_json::from_str(&serde_json::to_string(&sig).unwrap()).unwrap();
        assert_eq!(pk, k.public());
        assert_eq!(sig2, sig);
        assert!("00".parse::<PublicKey>().is_err());
    }
}
