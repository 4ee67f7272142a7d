//! Sync sessions on the office (protocol §11.8): a paired field device asks for a challenge, answers with a
//! signed `SyncHello`, and gets a short-lived bearer token. [`SyncDevice`] is the axum extractor every later
//! sync request uses: it refuses a missing, unknown or expired token, and re-reads the device's status on
//! each request so a revocation takes effect at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use protocol::{DeviceId, DeviceStatus};

use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// How long a challenge may be answered.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// How long a session token lives.
pub const TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Open challenges and tokens kept at most (oldest dropped first): bounds memory under a flood.
const MAX_OPEN: usize = 1024;

/// Open challenges and live session tokens (in memory: a restart only means a new hello).
#[derive(Default)]
pub struct SyncSessions {
    challenges: Mutex<HashMap<String, Instant>>,
    /// token hash → (device, expiry)
    tokens: Mutex<HashMap<String, (DeviceId, Instant)>>,
}

fn prune<V>(map: &mut HashMap<String, V>, expiry: impl Fn(&V) -> Instant) {
    let now = Instant::now();
    map.retain(|_, v| expiry(v) > now);
    while map.len() >= MAX_OPEN {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| expiry(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
}

impl SyncSessions {
    /// A fresh challenge: 32 random bytes as lower-case hex.
    pub fn challenge(&self) -> Result<String, ApiError> {
        let mut b = [0u8; protocol::SYNC_CHALLENGE_BYTES];
        crate::shared::keys::random_bytes(&mut b).map_err(ApiError::internal)?;
        let c = hex::encode(b);
        let mut map = self.challenges.lock().expect("challenges lock");
        prune(&mut map, |e| *e);
        map.insert(c.clone(), Instant::now() + CHALLENGE_TTL);
        Ok(c)
    }

    /// Spends `challenge`: true when it was issued here, is unexpired and was not spent before.
    pub fn spend_challenge(&self, challenge: &str) -> bool {
        let mut map = self.challenges.lock().expect("challenges lock");
        match map.remove(challenge) {
            Some(exp) => exp > Instant::now(),
            None => false,
        }
    }

    /// Opens a session for `device`: a new random token (only its hash is kept).
    pub fn open(&self, device: DeviceId) -> Result<String, ApiError> {
        let mut b = [0u8; 32];
        crate::shared::keys::random_bytes(&mut b).map_err(ApiError::internal)?;
        let token = hex::encode(b);
        let mut map = self.tokens.lock().expect("tokens lock");
        prune(&mut map, |(_, e)| *e);
        map.insert(
            crate::shared::auth::token_hash(&token),
            (device, Instant::now() + TOKEN_TTL),
        );
        Ok(token)
    }

    /// The device a live token belongs to.
    pub fn device_of(&self, token: &str) -> Option<DeviceId> {
        let map = self.tokens.lock().expect("tokens lock");
        // Looked up by hash: the comparison never runs over the secret itself.
        map.get(&crate::shared::auth::token_hash(token))
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(d, _)| d.clone())
    }
}

/// A field device calling with a live sync token. Its status is read from the store on every request.
#[derive(Debug, Clone)]
pub struct SyncDevice {
    pub device_id: DeviceId,
    pub name: String,
    pub status: DeviceStatus,
    /// For a device revoked from a sequence number: that cutoff (its envelopes below it are still
    /// accepted, one by one; those at or above are quarantined `device_revoked`).
    pub revoked_from: Option<u64>,
}

impl SyncDevice {
    /// Refuses the call unless the device is approved: `device_pending_approval` or `device_revoked`. A
    /// device revoked from a sequence number is refused too (e.g. the news: its key may be a thief's).
    pub fn require_approved(&self) -> Result<(), ApiError> {
        crate::shared::trust::status_gate(self.status)
    }

    /// Refuses an upload unless the device may upload: approved, or revoked from a sequence number (the
    /// cutoff is then enforced per envelope, §9 step 7). Otherwise as [`SyncDevice::require_approved`].
    pub fn require_upload(&self) -> Result<(), ApiError> {
        if self.may_upload() {
            return Ok(());
        }
        self.require_approved()
    }

    /// Whether the device's uploads are taken (approved, or revoked from a sequence number).
    pub fn may_upload(&self) -> bool {
        self.status == DeviceStatus::Approved || self.revoked_from.is_some()
    }

    /// The status told to the device in the hello and the holdings (protocol §11.1, §11.4): a device
    /// revoked from a sequence number is told `approved`, so that it uploads what it sealed below the
    /// cutoff (the stolen hub and the genuine one are the same device id: the office decides per envelope).
    pub fn wire_status(&self) -> DeviceStatus {
        wire_status(self.status, self.revoked_from)
    }
}

/// See [`SyncDevice::wire_status`].
pub fn wire_status(status: DeviceStatus, revoked_from: Option<u64>) -> DeviceStatus {
    if status == DeviceStatus::Revoked && revoked_from.is_some() {
        DeviceStatus::Approved
    } else {
        status
    }
}

/// Parses a stored status.
pub fn parse_status(s: &str) -> DeviceStatus {
    match s {
        "approved" => DeviceStatus::Approved,
        "pending_approval" => DeviceStatus::PendingApproval,
        _ => DeviceStatus::Revoked,
    }
}

/// A pinned field device's name and status, if it is one.
pub fn field_device_status(
    c: &rusqlite::Connection,
    id: &DeviceId,
) -> crate::shared::store::StoreResult<Option<(String, DeviceStatus)>> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT name, status FROM trusted_peers WHERE device_id = ?1 AND mode = 'field'",
        [id.as_str()],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                parse_status(&r.get::<_, String>(1)?),
            ))
        },
    )
    .optional()?)
}

/// A pinned field device's name, status and revocation cutoff (protocol §9: revocation from a sequence
/// number), if it is one.
pub fn field_device_standing(
    c: &rusqlite::Connection,
    id: &DeviceId,
) -> crate::shared::store::StoreResult<Option<(String, DeviceStatus, Option<u64>)>> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT name, status, revoked_from_seq FROM trusted_peers WHERE device_id = ?1 AND mode = 'field'",
        [id.as_str()],
        |r| {
            let status = parse_status(&r.get::<_, String>(1)?);
            let from = r.get::<_, Option<i64>>(2)?.map(|n| n as u64);
            Ok((
                r.get::<_, String>(0)?,
                status,
                from.filter(|_| status == DeviceStatus::Revoked),
            ))
        },
    )
    .optional()?)
}

fn no_session() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "sync_session_required",
        "Phiên đồng bộ không hợp lệ hoặc đã hết hạn; hãy bắt đầu lại.",
        "The sync session is missing or has expired; start again.",
    )
    .with_field("authorization")
}

/// Refuses a sync call that would carry a session token (the hello that issues it, every call that presents
/// it) over plain HTTP from another machine: the token is bound to TLS (or to this machine's loopback),
/// so a listener on the LAN never sees one, and a token seen nowhere cannot be replayed.
pub fn require_sync_channel(parts: &Parts) -> Result<(), ApiError> {
    let ch = parts
        .extensions
        .get::<crate::shared::auth::channel::Channel>()
        .copied();
    if ch.is_some_and(|c| c.secure()) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "sync_https_required",
        "Văn phòng chỉ nhận phiên đồng bộ qua HTTPS (hoặc từ chính máy này). Trạm hiện trường cần cập nhật và đồng bộ qua địa chỉ HTTPS của văn phòng.",
        "The office accepts sync sessions over HTTPS only (or from this machine). The field hub must be updated and sync through the office's HTTPS address.",
    )
    .with_field("authorization"))
}

/// Extractor form of [`require_sync_channel`] (for the hello, which issues the token).
pub struct SyncChannel;

impl<S: Send + Sync> FromRequestParts<S> for SyncChannel {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        require_sync_channel(parts).map(|()| SyncChannel)
    }
}

impl FromRequestParts<AppState> for SyncDevice {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.mode != protocol::HubMode::Office {
            return Err(ApiError::wrong_mode());
        }
        require_sync_channel(parts)?;
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(no_session)?;
        let device = state
            .part::<SyncSessions>()
            .device_of(token.trim())
            .ok_or_else(no_session)?;
        let id = device.clone();
        let (name, status, revoked_from) = state
            .db
            .call(move |c| field_device_standing(c, &id))
            .await?
            .ok_or_else(no_session)?;
        Ok(SyncDevice {
            device_id: device,
            name,
            status,
            revoked_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_opens_at_most_one_session() {
        let s = SyncSessions::default();
        let c = s.challenge().unwrap();
        assert_eq!(c.len(), 64);
        assert!(s.spend_challenge(&c));
        assert!(!s.spend_challenge(&c), "spent");
        assert!(!s.spend_challenge(&"00".repeat(32)), "never issued");
    }

    #[test]
    fn tokens_name_their_device() {
        let s = SyncSessions::default();
        let dev = protocol::DeviceKey::from_seed([3; 32]).public().device_id();
        let t = s.open(dev.clone()).unwrap();
        assert_eq!(s.device_of(&t), Some(dev));
        assert_eq!(s.device_of("nope"), None);
    }

    #[test]
    fn a_device_revoked_from_a_seq_uploads_but_gets_no_news() {
        let dev = |status, revoked_from| SyncDevice {
            device_id: protocol::DeviceKey::from_seed([4; 32]).public().device_id(),
            name: "Trạm".into(),
            status,
            revoked_from,
        };
        let partial = dev(DeviceStatus::Revoked, Some(5));
        assert!(partial.require_upload().is_ok());
        assert!(
            partial.require_approved().is_err(),
            "news and the like stay refused"
        );
        assert_eq!(partial.wire_status(), DeviceStatus::Approved);
        let full = dev(DeviceStatus::Revoked, None);
        assert!(full.require_upload().is_err());
        assert_eq!(full.wire_status(), DeviceStatus::Revoked);
        let pending = dev(DeviceStatus::PendingApproval, None);
        assert!(pending.require_upload().is_err());
        assert!(dev(DeviceStatus::Approved, None).require_upload().is_ok());
    }

    #[test]
    fn flooding_keeps_memory_bounded() {
        let s = SyncSessions::default();
        for _ in 0..(MAX_OPEN + 50) {
            s.challenge().unwrap();
        }
        assert!(s.challenges.lock().unwrap().len() <= MAX_OPEN);
    }
}
