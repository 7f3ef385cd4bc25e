//! Client errors, with stable codes for the UI.

use phonghop_store::StoreError;

/// What can go wrong on a device.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The invite string is malformed.
    #[error(transparent)]
    BadInvite(#[from] phonghop_core::protocol::BadInvite),
    /// The hub answered with an error.
    #[error("the hub refused: {message}")]
    Hub {
        /// HTTP status.
        status: u16,
        /// Stable code from the hub.
        code: String,
        /// Its explanation.
        message: String,
    },
    /// The hub could not be reached.
    #[error("cannot reach the hub at {url}: {cause}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        cause: String,
    },
    /// The hub's certificate is not the one pinned at pairing.
    #[error("the hub at {url} presented a different certificate than the one in the invite; do not continue, and tell the secretariat")]
    CertificateMismatch {
        /// Where.
        url: String,
    },
    /// No hub on the local network proved it knows the short invite code
    /// (and none was typed).
    #[error("no meeting-room hub on this network answered for this invite code; type the hub's address printed on the invite")]
    HubNotFound,
    /// This device was revoked; its cached meetings were wiped.
    #[error("this device was revoked by the secretariat; its copies of the meetings were removed")]
    Revoked,
    /// Not paired yet.
    #[error("this device has not joined a hub yet")]
    NotJoined,
    /// Local storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something the hub sent does not make sense.
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
    /// A plain-HTTP invite to another computer: everything would cross the
    /// network unencrypted and unauthenticated.
    #[error("refusing to join {host} over plain HTTP: only a hub on this computer may be reached without TLS; ask the secretariat for an invite that ends with the hub's certificate fingerprint (…/<64 hex digits>)")]
    PlainHttp {
        /// The host named by the invite.
        host: String,
    },
    /// A command field over its size limit (`phonghop_core::limits`),
    /// refused before it was queued.
    #[error(transparent)]
    TooLarge(#[from] phonghop_core::limits::TooLarge),
}

impl ClientError {
    /// A stable code for the UI.
    pub fn code(&self) -> String {
        match self {
            ClientError::BadInvite(_) => "bad_invite".into(),
            ClientError::Hub { code, .. } => code.clone(),
            ClientError::Unreachable { .. } => "hub_unreachable".into(),
            ClientError::CertificateMismatch { .. } => "certificate_mismatch".into(),
            ClientError::HubNotFound => "hub_not_found".into(),
            ClientError::Revoked => "device_revoked".into(),
            ClientError::NotJoined => "not_joined".into(),
            ClientError::Store(e) => e.code().into(),
            ClientError::Protocol(_) => "protocol".into(),
            ClientError::PlainHttp { .. } => "plain_http_refused".into(),
            ClientError::TooLarge(_) => phonghop_core::limits::TooLarge::CODE.into(),
        }
    }

    /// Whether trying again later may help (network trouble), as opposed to
    /// a definite answer.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } => true,
            ClientError::Hub { status, .. } => *status >= 500 || *status == 401,
            _ => false,
        }
    }
}
