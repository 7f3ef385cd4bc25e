//! Invite codes, and how a device that has only the short code learns which
//! certificate to pin.
//!
//! A code is 16 Crockford base-32 symbols (80 bits), shown as
//! `ABCD-EFGH-JKMN-PQRS`. The hub keeps only its hash ([`code_hash`]).
//!
//! **Binding** (`POST /v1/pair/bind`). A device given the code alone (and
//! an address, typed or found on the local network) must not trust
//! whichever certificate answers there: anyone on the network could stand
//! in for the hub. So, before it sends anything that matters (never the
//! code itself), it opens TLS accepting any certificate, notes the
//! certificate's SHA-256, and sends a tag of the code ([`invite_tag`],
//! which reveals nothing usable) and a fresh nonce. The hub answers
//! [`bind_proof`]: an HMAC keyed by the code's hash over the nonce and the
//! hub's own certificate fingerprint. Only someone who knows the code can
//! make it, and it names the certificate: a stand-in that relays to the
//! real hub gets a proof for the real certificate, not for its own. The
//! device checks the proof against the certificate it saw, pins it, and
//! pairs as with a full invite.

use crate::protocol::Invite;
use crate::Hash;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::str::FromStr;

/// The DNS-SD service a hub advertises on the room's network.
pub const DNS_SD_SERVICE: &str = "_phonghop._tcp.local.";

/// The code alphabet: no I, L, O or U.
pub const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code (80 bits).
pub const CODE_SYMBOLS: usize = 16;

/// A code as typed, reduced to its 16 symbols: case, dashes and spaces do
/// not matter, and I/L are read as 1 and O as 0 (Crockford's rule for what
/// people type). `None` when it cannot be a code.
pub fn canonical_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_SYMBOLS);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) || out.len() == CODE_SYMBOLS {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_SYMBOLS).then_some(out)
}

/// What the hub stores for a code: SHA-256 of its canonical form, hex.
pub fn code_hash(canonical: &str) -> String {
    Hash::of(canonical.as_bytes()).to_hex()
}

/// The tag a device sends to name its code without giving it away: 128
/// bits of a hash of the stored hash, hex.
pub fn invite_tag(code_hash_hex: &str) -> String {
    let h = Hash::of(format!("phonghop-invite-tag-v1\0{code_hash_hex}").as_bytes());
    h.to_hex()[..32].to_string()
}

/// The hub's proof that it knows the code, bound to the certificate it
/// serves: HMAC-SHA-256 keyed by the code's hash.
pub fn bind_proof(code_hash_hex: &str, nonce: &[u8; 32], cert_sha256: &[u8; 32]) -> [u8; 32] {
    // An HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(code_hash_hex.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"phonghop-bind-v1\0");
    mac.update(nonce);
    mac.update(cert_sha256);
    mac.finalize().into_bytes().into()
}

/// Checks a proof in constant time.
pub fn proof_holds(
    code_hash_hex: &str,
    nonce: &[u8; 32],
    cert_sha256: &[u8; 32],
    proof: &[u8],
) -> bool {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(code_hash_hex.as_bytes()) else {
        return false;
    };
    mac.update(b"phonghop-bind-v1\0");
    mac.update(nonce);
    mac.update(cert_sha256);
    mac.verify_slice(proof).is_ok()
}

/// `POST /v1/pair/bind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindRequest {
    /// [`invite_tag`] of the code.
    pub tag: String,
    /// 32 random bytes, hex.
    pub nonce: String,
}

/// The hub's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindResponse {
    /// [`bind_proof`], hex.
    pub proof: String,
}

/// What the join screen accepts: a full invite (or its link, the same
/// string), or the short code with an address, or the code alone (the
/// device then looks for the hub on the local network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinInput {
    /// `phonghop:CODE@host:port/fingerprint`.
    Invite(Invite),
    /// The code as printed; `host:port` if given.
    Code {
        /// Canonical code.
        code: String,
        /// Where the hub is, if typed.
        address: Option<String>,
    },
}

impl FromStr for JoinInput {
    type Err = crate::protocol::BadInvite;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.to_ascii_lowercase().starts_with("phonghop:") {
            return t.parse().map(JoinInput::Invite);
        }
        let bad = |reason| crate::protocol::BadInvite {
            input: t.chars().take(120).collect(),
            reason,
        };
        let (code, address) = match t.split_once('@') {
            Some((c, a)) => (c.trim(), Some(a.trim())),
            None => (t, None),
        };
        let code = canonical_code(code)
            .ok_or_else(|| bad("a code has 16 letters and digits, e.g. ABCD-EFGH-JKMN-PQRS"))?;
        let address = match address.filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => {
                let ok = a
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok {
                    return Err(bad("the address must be host:port"));
                }
                Some(a.to_string())
            }
        };
        Ok(JoinInput::Code { code, address })
    }
}

/// A code for display: four groups of four.
pub fn grouped(canonical: &str) -> String {
    canonical
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_forgive_case_dashes_and_look_alikes() {
        let c = canonical_code("abcd-efgh-jkmn-pqrs").unwrap();
        assert_eq!(c, "ABCDEFGHJKMNPQRS");
        assert_eq!(
            canonical_code("ABCD EFGH JKMN PQRS").as_deref(),
            Some(c.as_str())
        );
        assert_eq!(
            canonical_code("0ILO-0000-0000-0000").as_deref(),
            Some("0110000000000000")
        );
        assert_eq!(canonical_code("ABCD-EFGH-JKMN-PQR"), None, "15 symbols");
        assert_eq!(canonical_code("ABCD-EFGH-JKMN-PQRSU"), None);
        assert_eq!(grouped(&c), "ABCD-EFGH-JKMN-PQRS");
    }

    #[test]
    fn the_proof_needs_the_code_and_names_the_certificate() {
        let h = code_hash("ABCDEFGHJKMNPQRS");
        let other = code_hash("ABCDEFGHJKMNPQRT");
        let nonce = [7u8; 32];
        let (cert, stand_in) = ([1u8; 32], [2u8; 32]);
        let proof = bind_proof(&h, &nonce, &cert);
        assert!(proof_holds(&h, &nonce, &cert, &proof));
        assert!(
            !proof_holds(&h, &nonce, &stand_in, &proof),
            "another certificate"
        );
        assert!(!proof_holds(&h, &[8u8; 32], &cert, &proof), "another nonce");
        assert!(!proof_holds(&other, &nonce, &cert, &proof), "another code");
        assert_ne!(invite_tag(&h), invite_tag(&other));
        assert_eq!(invite_tag(&h).len(), 32);
    }

    #[test]
    fn the_join_screen_takes_a_code_a_code_and_address_or_an_invite() {
        assert_eq!(
            "abcd-efgh-jkmn-pqrs".parse::<JoinInput>().unwrap(),
            JoinInput::Code {
                code: "ABCDEFGHJKMNPQRS".into(),
                address: None
            }
        );
        assert_eq!(
            " ABCD-EFGH-JKMN-PQRS @ 192.168.1.10:8443 "
                .parse::<JoinInput>()
                .unwrap(),
            JoinInput::Code {
                code: "ABCDEFGHJKMNPQRS".into(),
                address: Some("192.168.1.10:8443".into())
            }
        );
        assert!(matches!(
            "phonghop:ABCD-EFGH-JKMN-PQRS@127.0.0.1:9000".parse::<JoinInput>(),
            Ok(JoinInput::Invite(_))
        ));
        assert!("2I92-96PY-R6AB".parse::<JoinInput>().is_err());
        assert!("ABCD-EFGH-JKMN-PQRS@nowhere".parse::<JoinInput>().is_err());
    }
}
